/* elementwise.c: streaming kernels, threaded over fixed contiguous blocks: ReLU and leaky ReLU
 * forward and backward, the fused add+ReLU of residual blocks, GELU with its derivative, and the
 * optimizers' in-place y = alpha*x + beta*y. Plain C that -O3 vectorises on every path. */
#include <math.h>

#include "dl_kernels.h"
#include "fast_exp.h"

#define PARALLEL_MIN 65536 /* below this a second thread costs more than it saves */

/* restrict and branch-free selects let -O3 vectorise: a branch per element mispredicts on
 * the random signs of real activations and costs ten times more. */
static void relu_block(int64_t n, const float *restrict x, float *restrict y)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = v > 0.0f || v != v ? v : 0.0f;
    }
}

static void add_relu_block(int64_t n, const float *restrict a, const float *restrict b,
                           float *restrict y)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f || v != v ? v : 0.0f;
    }
}

static void relu_grad_block(int64_t n, const float *restrict y, const float *restrict dy,
                            float *restrict dx)
{
    for (int64_t i = 0; i < n; i++) {
        const float g = dy[i]; /* read unconditionally, or gcc keeps the branch */
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

static void leaky_relu_block(int64_t n, const float *restrict x, float slope,
                             float *restrict y)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        y[i] = v > 0.0f ? v : slope * v; /* NaN: slope * NaN is NaN */
    }
}

static void leaky_relu_grad_block(int64_t n, const float *restrict x, const float *restrict dy,
                                  float slope, float *restrict dx)
{
    for (int64_t i = 0; i < n; i++) {
        const float g = dy[i];
        dx[i] = x[i] > 0.0f ? g : slope * g;
    }
}

#define BLOCK 16384 /* floats per work item: whole cache lines, a fixed split */

/* x: (n) -> y: (n), y = max(x, 0); NaN stays NaN, like PyTorch */
int dl_relu_forward(int64_t n, const float *x, float *y)
{
    if (n < 0 || (n > 0 && (!x || !y))) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        relu_block(n - b < BLOCK ? n - b : BLOCK, x + b, y + b);
    return DL_OK;
}

/* x: (n) -> y: (n), y = x where x > 0, else slope * x (a GAN discriminator's activation) */
int dl_leaky_relu_forward(int64_t n, const float *x, float slope, float *y)
{
    if (n < 0 || (n > 0 && (!x || !y))) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        leaky_relu_block(n - b < BLOCK ? n - b : BLOCK, x + b, slope, y + b);
    return DL_OK;
}

/* x: (n) the input, dy: (n) -> dx: (n), dx = dy where x > 0, else slope * dy */
int dl_leaky_relu_backward(int64_t n, const float *x, const float *dy, float slope, float *dx)
{
    if (n < 0 || (n > 0 && (!x || !dy || !dx))) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        leaky_relu_grad_block(n - b < BLOCK ? n - b : BLOCK, x + b, dy + b, slope, dx + b);
    return DL_OK;
}

/* a, b: (n) -> y: (n), y = max(a + b, 0): one pass where add then ReLU make three */
int dl_add_relu_forward(int64_t n, const float *a, const float *b, float *y)
{
    if (n < 0 || (n > 0 && (!a || !b || !y))) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t i = 0; i < n; i += BLOCK)
        add_relu_block(n - i < BLOCK ? n - i : BLOCK, a + i, b + i, y + i);
    return DL_OK;
}

/* y: (n) ReLU output, dy: (n) -> dx: (n), dx = dy where y > 0 (the derivative at 0 is 0) */
int dl_relu_backward(int64_t n, const float *y, const float *dy, float *dx)
{
    if (n < 0 || (n > 0 && (!y || !dy || !dx))) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        relu_grad_block(n - b < BLOCK ? n - b : BLOCK, y + b, dy + b, dx + b);
    return DL_OK;
}

/* Inlined into one function per ISA: the loop is memory-bound, so the widest vectors the CPU
 * has (AVX-512 moves 4x the bytes per instruction of the baseline SSE2) set its speed. */
static inline __attribute__((always_inline)) void axpby_loop(int64_t n, float alpha,
                                                             const float *restrict x, float beta,
                                                             float *restrict y)
{
    if (beta == 1.0f)
        for (int64_t i = 0; i < n; i++) y[i] += alpha * x[i];
    else if (beta == 0.0f)
        for (int64_t i = 0; i < n; i++) y[i] = alpha * x[i];
    else
        for (int64_t i = 0; i < n; i++) y[i] = alpha * x[i] + beta * y[i];
}

static void axpby_generic(int64_t n, float alpha, const float *x, float beta, float *y)
{
    axpby_loop(n, alpha, x, beta, y);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,prefer-vector-width=512")))
static void axpby_avx512(int64_t n, float alpha, const float *x, float beta, float *y)
{
    axpby_loop(n, alpha, x, beta, y);
}
#endif

/* x: (n), y: (n) -> y = alpha*x + beta*y in place, one pass (NumPy needs two and a temporary);
 * beta == 0 writes y without reading it. x and y must not overlap. */
int dl_axpby(int64_t n, float alpha, const float *x, float beta, float *y)
{
    if (n < 0 || (n > 0 && (!x || !y))) return DL_EINVAL;
    void (*block)(int64_t, float, const float *, float, float *) = axpby_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() == DL_CPU_AVX512) block = axpby_avx512;
#endif
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        block(n - b < BLOCK ? n - b : BLOCK, alpha, x + b, beta, y + b);
    return DL_OK;
}

/* GELU's exact form x Phi(x), Phi the standard normal CDF, with its derivative
 * Phi(x) + x phi(x) for the backward pass. Phi(-|x|) = erfc(|x|/sqrt 2) / 2 by Numerical
 * Recipes' Chebyshev fit of erfc (relative error 1.2e-7, so the far tail stays accurate), its
 * exp vectorisable: no libm call in the loop. */
static inline __attribute__((always_inline)) void gelu_loop(int64_t n, const float *restrict x,
                                                            float *restrict y,
                                                            float *restrict slope)
{
    for (int64_t i = 0; i < n; i++) {
        const float v = x[i];
        const float z = fabsf(v) * 0.70710678f;
        const float t = 1.0f / (1.0f + 0.5f * z);
        const float poly = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (
            0.09678418f + t * (-0.18628806f + t * (0.27886807f + t * (-1.13520398f + t * (
            1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
        const float tail = 0.5f * t * dl_fast_exp(poly - z * z); /* Phi(-|v|) */
        const float cdf = v < 0.0f ? tail : 1.0f - tail;
        y[i] = v * cdf;
        slope[i] = cdf + v * 0.39894228f * dl_fast_exp(-0.5f * v * v);
    }
}

static void gelu_generic(int64_t n, const float *x, float *y, float *slope)
{
    gelu_loop(n, x, y, slope);
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma")))
static void gelu_avx2(int64_t n, const float *x, float *y, float *slope)
{
    gelu_loop(n, x, y, slope);
}

__attribute__((target("avx512f,prefer-vector-width=512")))
static void gelu_avx512(int64_t n, const float *x, float *y, float *slope)
{
    gelu_loop(n, x, y, slope);
}
#endif

/* x: (n) -> y = x Phi(x) and slope = dy/dx, (n) each; no argument may overlap another. */
int dl_gelu_forward(int64_t n, const float *x, float *y, float *slope)
{
    if (n < 0 || (n > 0 && (!x || !y || !slope))) return DL_EINVAL;
    void (*block)(int64_t, const float *, float *, float *) = gelu_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() == DL_CPU_AVX512) block = gelu_avx512;
    else if (dl_cpu_path() == DL_CPU_AVX2) block = gelu_avx2;
#endif
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) if (n > PARALLEL_MIN)
    for (int64_t b = 0; b < n; b += BLOCK)
        block(n - b < BLOCK ? n - b : BLOCK, x + b, y + b, slope + b);
    return DL_OK;
}
