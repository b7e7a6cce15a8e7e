/* softmax_xent.c: fused, numerically stable softmax cross-entropy with label smoothing.
 *
 * Per row z (C logits), target t, smoothing e: with m = max(z) and s = sum exp(z - m),
 *   loss = log s - (1-e)(z_t - m) - e * mean_k(z_k - m)      (= (1-e) nll + e mean_k(-log p_k))
 *   grad = scale * (exp(z - m)/s - e/C - (1-e) onehot(t))
 * One pass finds the max, one stores exp in the gradient row, one sums it, one scales it: each
 * a loop the compiler vectorises (LANES partial maxima and sums, an exp in plain arithmetic),
 * compiled for the baseline, AVX2 and AVX-512. Rows are independent and run in parallel; the
 * reduction sums row losses in row order. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dl_kernels.h"
#include "fast_exp.h"

enum {
    PARALLEL_MIN_FLOATS = 1 << 14,
    LANES = 16, /* partial maxima and sums: independent lanes that -O3 vectorises */
};

/* The loss of one row; writes its gradient times `scale` when grad is not NULL, and uses it
 * (or `work`: C floats) for the row's exponentials. */
static inline __attribute__((always_inline)) double
xent_row(int64_t c, const float *z, int64_t t, float eps, float scale, float *grad,
         float *work)
{
    float *e = grad ? grad : work;
    float m = z[0];
    int64_t k = 0;
    if (c >= LANES) {
        float peak[LANES];
        for (int l = 0; l < LANES; l++) peak[l] = z[l];
        for (k = LANES; k + LANES <= c; k += LANES)
            for (int l = 0; l < LANES; l++) peak[l] = z[k + l] > peak[l] ? z[k + l] : peak[l];
        for (int l = 0; l < LANES; l++) m = peak[l] > m ? peak[l] : m;
    }
    for (; k < c; k++) m = z[k] > m ? z[k] : m;
    for (k = 0; k < c; k++) e[k] = dl_fast_exp(z[k] - m);
    double s = 0.0, shifted_sum = 0.0;
    k = 0;
    if (c >= LANES) {
        double sum[LANES] = {0}, shifted[LANES] = {0};
        for (; k + LANES <= c; k += LANES)
            for (int l = 0; l < LANES; l++) {
                sum[l] += e[k + l];
                shifted[l] += z[k + l] - m;
            }
        for (int l = 0; l < LANES; l++) {
            s += sum[l];
            shifted_sum += shifted[l];
        }
    }
    for (; k < c; k++) {
        s += e[k];
        shifted_sum += z[k] - m;
    }
    if (grad) {
        const float inv = (float)(scale / s), smooth = scale * eps / (float)c;
        for (k = 0; k < c; k++) grad[k] = grad[k] * inv - smooth;
        grad[t] -= scale * (1.0f - eps);
    }
    const double nll = log(s) - (z[t] - m);
    /* a -inf logit (a masked class) makes shifted_sum -inf: it counts only with smoothing */
    return eps == 0.0f ? nll : nll + eps * ((z[t] - m) - shifted_sum / (double)c);
}

typedef double (*xent_row_fn)(int64_t c, const float *z, int64_t t, float eps, float scale,
                              float *grad, float *work);

/* xent_row compiled for one ISA: its loops vectorise to that ISA's widest vectors */
#define DEFINE_XENT_ROW(NAME, TARGET)                                                         \
    TARGET static double NAME(int64_t c, const float *z, int64_t t, float eps, float scale,   \
                              float *grad, float *work)                                       \
    {                                                                                         \
        return xent_row(c, z, t, eps, scale, grad, work);                                     \
    }
DEFINE_XENT_ROW(xent_row_generic, )
#if defined(__x86_64__) || defined(__i386__)
DEFINE_XENT_ROW(xent_row_avx2, __attribute__((target("avx2,fma"))))
DEFINE_XENT_ROW(xent_row_avx512,
                __attribute__((target("avx512f,avx512vl,avx512dq,prefer-vector-width=512"))))
#endif

/* logits: (N, C), target: (N) -> loss: (N) for NONE else (1), dlogits: (N, C) or NULL */
int dl_softmax_xent(int64_t n, int64_t c, const float *logits, const int64_t *target,
                    int64_t ignore_index, float label_smoothing, int reduction,
                    float *loss, float *dlogits)
{
    int64_t total;
    if (n < 0 || c < 1 || __builtin_mul_overflow(n, c, &total) ||
        !(label_smoothing >= 0.0f && label_smoothing <= 1.0f) ||
        (reduction != DL_REDUCE_NONE && reduction != DL_REDUCE_MEAN &&
         reduction != DL_REDUCE_SUM))
        return DL_EINVAL;
    int64_t count = 0;
    for (int64_t i = 0; i < n; i++) {
        if (target[i] == ignore_index) continue;
        if (target[i] < 0 || target[i] >= c) return DL_EINVAL;
        count++;
    }
    const float scale = reduction == DL_REDUCE_MEAN ? (count ? 1.0f / (float)count : 0.0f)
                                                    : 1.0f;
    double *row_loss = reduction == DL_REDUCE_NONE ? NULL : malloc(sizeof(double) * (n ? n : 1));
    if (reduction != DL_REDUCE_NONE && !row_loss) return DL_ENOMEM;
    xent_row_fn row = xent_row_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() == DL_CPU_AVX2) row = xent_row_avx2;
    if (dl_cpu_path() == DL_CPU_AVX512) row = xent_row_avx512;
#endif
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) if (total > PARALLEL_MIN_FLOATS)
    {
        float *work = dlogits ? NULL : malloc(sizeof(float) * c); /* exponentials of a row */
        if (!dlogits && !work) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t i = 0; i < n; i++) {
            float *grad = dlogits ? dlogits + i * c : NULL;
            double l = 0.0;
            if (target[i] == ignore_index) {
                if (grad) memset(grad, 0, sizeof(float) * c);
            } else if (grad || work) {
                l = row(c, logits + i * c, target[i], label_smoothing, scale, grad, work);
            }
            if (row_loss) row_loss[i] = l;
            else loss[i] = (float)l;
        }
        free(work);
    }
    if (failed) {
        free(row_loss);
        return DL_ENOMEM;
    }
    if (row_loss) {
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) sum += row_loss[i];
        if (reduction == DL_REDUCE_MEAN) sum = count ? sum / (double)count : NAN;
        loss[0] = (float)sum;
        free(row_loss);
    }
    return DL_OK;
}
