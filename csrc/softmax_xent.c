/* softmax_xent.c: fused, numerically stable softmax cross-entropy with label smoothing.
 *
 * Per row z (C logits), target t, smoothing e: with m = max(z) and s = sum exp(z - m),
 *   loss = log s - (1-e)(z_t - m) - e * mean_k(z_k - m)      (= (1-e) nll + e mean_k(-log p_k))
 *   grad = scale * (exp(z - m)/s - e/C - (1-e) onehot(t))
 * One pass finds the max, one sums exp (storing it in the gradient row), one scales it.
 * Rows are independent and run in parallel; the reduction sums row losses in row order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dl_kernels.h"

enum { PARALLEL_MIN_FLOATS = 1 << 14 };

/* The loss of one row; writes its gradient times `scale` when grad is not NULL. */
static double xent_row(int64_t c, const float *z, int64_t t, float eps, float scale,
                       float *grad)
{
    float m = z[0];
    for (int64_t k = 1; k < c; k++) m = z[k] > m ? z[k] : m;
    double s = 0.0, shifted_sum = 0.0;
    for (int64_t k = 0; k < c; k++) {
        const float e = expf(z[k] - m);
        s += e;
        shifted_sum += z[k] - m;
        if (grad) grad[k] = e;
    }
    if (grad) {
        const float inv = (float)(scale / s), smooth = scale * eps / (float)c;
        for (int64_t k = 0; k < c; k++) grad[k] = grad[k] * inv - smooth;
        grad[t] -= scale * (1.0f - eps);
    }
    return log(s) - (1.0 - eps) * (z[t] - m) - eps * shifted_sum / (double)c;
}

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
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (total > PARALLEL_MIN_FLOATS)
    for (int64_t i = 0; i < n; i++) {
        float *grad = dlogits ? dlogits + i * c : NULL;
        double l = 0.0;
        if (target[i] == ignore_index) {
            if (grad) memset(grad, 0, sizeof(float) * c);
        } else {
            l = xent_row(c, logits + i * c, target[i], label_smoothing, scale, grad);
        }
        if (row_loss) row_loss[i] = l;
        else loss[i] = (float)l;
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
