/* batchnorm.c: batch normalisation of x viewed as (N, C, S), forward and backward.
 *
 * Threads split the channels. One thread makes all of a channel's passes, its sums and then
 * its outputs, the latter walking the rows backwards so that it starts on the rows the sums
 * left in cache (a fifth faster at 28x28 than walking forwards). It sums in double in a
 * fixed order: lane l of LANES takes the row positions i with i % LANES == l, rows in n order,
 * the lanes added last in lane order. So results do not depend on the thread count. The
 * AVX2 path is the same C compiled for 4-double vectors, on which one thread runs a fifth
 * faster (the double sums are compute-bound on SSE2's 2-double ones). */
#include <math.h>

#include "dl_kernels.h"

enum { LANES = 8, PARALLEL_MIN_FLOATS = 1 << 15 };

/* Both directions' arguments. Forward reads mean, var (evaluation) and fills mean_out,
 * var_out (training), inv_std_out, y; backward reads dy, mean, inv_std and fills dx, dweight,
 * dbias where not NULL. */
typedef struct {
    int64_t n, c, s;
    const float *x, *dy, *weight, *bias, *mean, *var, *inv_std;
    double eps;
    int training;
    float *mean_out, *var_out, *inv_std_out, *y, *dx, *dweight, *dbias;
} bn_t;

#define INLINE static inline __attribute__((always_inline))

/* *sum = Σ (p - ps) and *sum_prod = Σ (p - ps)(q - qs) over one channel whose first rows
 * start at p and q, in double and in the order above. */
INLINE void channel_sums(const bn_t *b, const float *p, double ps, const float *q, double qs,
                         double *sum, double *sum_prod)
{
    double s1[LANES] = {0}, s2[LANES] = {0};
    const int64_t stride = b->c * b->s;
    for (int64_t r = 0; r < b->n; r++, p += stride, q += stride) {
        int64_t i = 0;
        for (; i + LANES <= b->s; i += LANES)
            for (int l = 0; l < LANES; l++) {
                const double d = (double)p[i + l] - ps;
                s1[l] += d;
                s2[l] += d * ((double)q[i + l] - qs);
            }
        for (; i < b->s; i++) {
            const double d = (double)p[i] - ps;
            s1[i % LANES] += d;
            s2[i % LANES] += d * ((double)q[i] - qs);
        }
    }
    *sum = *sum_prod = 0.0;
    for (int l = 0; l < LANES; l++) {
        *sum += s1[l];
        *sum_prod += s2[l];
    }
}

INLINE float weight_of(const bn_t *b, int64_t ch)
{
    return b->weight ? b->weight[ch] : 1.0f;
}

/* Channel ch: statistics (training; shifted by the channel's first value, which lies near the
 * mean, so E[x²] - E[x]² does not cancel), inv_std, then y = (x - mean) * scale + bias. */
INLINE void forward_channel(const bn_t *b, int64_t ch)
{
    const int64_t stride = b->c * b->s;
    const float *x = b->x + ch * b->s;
    float mean, var;
    if (b->training) {
        const double shift = x[0], count = (double)(b->n * b->s);
        double s1, s2;
        channel_sums(b, x, shift, x, shift, &s1, &s2);
        const double d = s1 / count, v = s2 / count - d * d;
        b->mean_out[ch] = mean = (float)(shift + d);
        b->var_out[ch] = var = (float)(v > 0.0 ? v : 0.0);
    } else {
        mean = b->mean[ch];
        var = b->var[ch];
    }
    const double inv_std = 1.0 / sqrt((double)var + b->eps);
    b->inv_std_out[ch] = (float)inv_std;
    const float scale = (float)(inv_std * weight_of(b, ch));
    const float shift = b->bias ? b->bias[ch] : 0.0f;
    float *y = b->y + ch * b->s;
    for (int64_t r = b->n - 1; r >= 0; r--) { /* backwards: see the top of the file */
        const float *xr = x + r * stride;
        float *yr = y + r * stride;
        for (int64_t i = 0; i < b->s; i++) yr[i] = (xr[i] - mean) * scale + shift;
    }
}

/* Channel ch: Σ dy and Σ dy (x - mean) when any output needs them, then
 * dx = w inv_std dy + k_x (x - mean) + k_0 (training) or w inv_std dy (evaluation). */
INLINE void backward_channel(const bn_t *b, int64_t ch)
{
    const int64_t stride = b->c * b->s, off = ch * b->s;
    const float mean = b->mean[ch];
    const double inv_std = b->inv_std[ch], count = (double)(b->n * b->s);
    double sdy = 0.0, sdyx = 0.0;
    if (b->dweight || b->dbias || (b->dx && b->training))
        channel_sums(b, b->dy + off, 0.0, b->x + off, mean, &sdy, &sdyx);
    if (b->dbias) b->dbias[ch] = (float)sdy;
    if (b->dweight) b->dweight[ch] = (float)(sdyx * inv_std);
    if (!b->dx) return;
    const double g = weight_of(b, ch) * inv_std;
    const float k_dy = (float)g;
    const float *x = b->x + off, *dy = b->dy + off;
    float *dx = b->dx + off;
    const float k_x = (float)(-g * inv_std * inv_std * sdyx / count);
    const float k_0 = (float)(-g * sdy / count);
    for (int64_t r = b->n - 1; r >= 0; r--) {
        const float *xr = x + r * stride, *dyr = dy + r * stride;
        float *dxr = dx + r * stride;
        if (b->training)
            for (int64_t i = 0; i < b->s; i++)
                dxr[i] = k_dy * dyr[i] + k_x * (xr[i] - mean) + k_0;
        else
            for (int64_t i = 0; i < b->s; i++) dxr[i] = k_dy * dyr[i];
    }
}

typedef void (*channel_fn)(const bn_t *b, int64_t ch);

static void forward_channel_generic(const bn_t *b, int64_t ch) { forward_channel(b, ch); }
static void backward_channel_generic(const bn_t *b, int64_t ch) { backward_channel(b, ch); }

#if defined(__x86_64__) || defined(__i386__)
#define DL_TARGET_AVX2 __attribute__((target("avx2,fma")))
DL_TARGET_AVX2 static void forward_channel_avx2(const bn_t *b, int64_t ch)
{
    forward_channel(b, ch);
}

DL_TARGET_AVX2 static void backward_channel_avx2(const bn_t *b, int64_t ch)
{
    backward_channel(b, ch);
}
#endif

/* Positive sizes whose product fits int64. */
static int sizes_ok(int64_t n, int64_t c, int64_t s)
{
    int64_t t;
    return n >= 1 && c >= 1 && s >= 1 && !__builtin_mul_overflow(n, c, &t) &&
           !__builtin_mul_overflow(t, s, &t);
}

/* Every channel through the forward or backward kernel of the path in use (the AVX2 one on
 * the AVX-512 path too). */
static void each_channel(const bn_t *b, int backward)
{
    channel_fn fn = backward ? backward_channel_generic : forward_channel_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() >= DL_CPU_AVX2) fn = backward ? backward_channel_avx2 : forward_channel_avx2;
#endif
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (b->n * b->c * b->s > PARALLEL_MIN_FLOATS)
    for (int64_t ch = 0; ch < b->c; ch++) fn(b, ch);
}

int dl_batchnorm_forward(int64_t n, int64_t c, int64_t s, const float *x, const float *weight,
                         const float *bias, double eps, int training, float *mean, float *var,
                         float *inv_std, float *y)
{
    if (!sizes_ok(n, c, s) || !(eps >= 0.0) || !x || !mean || !var || !inv_std || !y)
        return DL_EINVAL;
    const bn_t b = {.n = n, .c = c, .s = s, .x = x, .weight = weight, .bias = bias, .mean = mean,
                    .var = var, .eps = eps, .training = training, .mean_out = mean,
                    .var_out = var, .inv_std_out = inv_std, .y = y};
    each_channel(&b, 0);
    return DL_OK;
}

int dl_batchnorm_backward(int64_t n, int64_t c, int64_t s, const float *x, const float *dy,
                          const float *mean, const float *inv_std, const float *weight,
                          int training, float *dx, float *dweight, float *dbias)
{
    if (!sizes_ok(n, c, s) || !x || !dy || !mean || !inv_std) return DL_EINVAL;
    const bn_t b = {.n = n, .c = c, .s = s, .x = x, .dy = dy, .weight = weight,
                    .mean = mean, .inv_std = inv_std, .training = training, .dx = dx,
                    .dweight = dweight, .dbias = dbias};
    each_channel(&b, 1);
    return DL_OK;
}
