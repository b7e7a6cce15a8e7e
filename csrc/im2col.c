/* im2col.c: convolution geometry, and the patch (column) matrix of an image and its adjoint.
 *
 * Column matrix of channels c0..c0+cg-1: (cg*KH*KW, OH*OW), row (ci*KH + i)*KW + j holds
 * x[c0+ci][oy*SH - PT + i*DH][ox*SW - PL + j*DW] (0 in the padding) at column oy*OW + ox.
 * Work goes by channel plane: the valid output ranges of each kernel row and column are found
 * once, then each output row is one contiguous copy (stride 1) between zeroed margins. */
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

/* *out = a * b, 0 when it overflows int64 (or an operand is negative). */
static int mul_ok(int64_t a, int64_t b, int64_t *out)
{
    return a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, out);
}

static int fits(int64_t a, int64_t b, int64_t c, int64_t d)
{
    int64_t t;
    return mul_ok(a, b, &t) && mul_ok(t, c, &t) && mul_ok(t, d, &t);
}

/* Output length of one axis: (size + pads - dil*(k-1) - 1)/stride + 1, or 0 if none fits. */
static int64_t out_len(int64_t size, int64_t pad_a, int64_t pad_b, int64_t k, int64_t dil,
                       int64_t stride)
{
    int64_t span, padded;
    if (!mul_ok(dil, k - 1, &span) || __builtin_add_overflow(size, pad_a, &padded) ||
        __builtin_add_overflow(padded, pad_b, &padded) || padded - 1 < span)
        return 0;
    return (padded - 1 - span) / stride + 1;
}

int dl_conv2d_check(dl_conv2d_t *p)
{
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->oc < 1 || p->kh < 1 ||
        p->kw < 1 || p->sh < 1 || p->sw < 1 || p->dh < 1 || p->dw < 1 || p->groups < 1)
        return DL_EINVAL;
    if (p->pt < 0 || p->pb < 0 || p->pl < 0 || p->pr < 0)
        return DL_EINVAL;
    if (p->c % p->groups || p->oc % p->groups)
        return DL_EINVAL;
    p->oh = out_len(p->h, p->pt, p->pb, p->kh, p->dh, p->sh);
    p->ow = out_len(p->w, p->pl, p->pr, p->kw, p->dw, p->sw);
    if (p->oh < 1 || p->ow < 1)
        return DL_EINVAL;
    /* every array and work buffer the kernels index: x, y, w, and the columns of the batch */
    int64_t kk, ckk;
    if (!mul_ok(p->kh, p->kw, &kk) || !mul_ok(p->c, kk, &ckk) ||
        !fits(p->n, p->c, p->h, p->w) || !fits(p->n, p->oc, p->oh, p->ow) ||
        !fits(p->oc, ckk, 1, 1) || !fits(p->n, ckk, p->oh, p->ow))
        return DL_EINVAL;
    return DL_OK;
}

/* [*lo, *hi): the outputs o in [0, n) whose input o*stride + off lies in [0, size). */
static void valid_range(int64_t n, int64_t size, int64_t stride, int64_t off, int64_t *lo,
                        int64_t *hi)
{
    int64_t a = off >= 0 ? 0 : stride == 1 ? -off : (-off + stride - 1) / stride;
    int64_t b = size - off <= 0 ? 0 : stride == 1 ? size - off : (size - off - 1) / stride + 1;
    *lo = a < n ? a : n;
    *hi = b < n ? b : n;
    if (*hi < *lo) *hi = *lo;
}

/* dst[0..n) = src[0..n): the runs are short (an output row), so fixed-size block copies the
 * compiler inlines beat a call to memcpy. */
static inline void copy_floats(float *restrict dst, const float *restrict src, int64_t n)
{
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) memcpy(dst + k, src + k, 8 * sizeof(float));
    if (n - k >= 4) {
        memcpy(dst + k, src + k, 4 * sizeof(float));
        k += 4;
    }
    if (n - k >= 2) {
        memcpy(dst + k, src + k, 2 * sizeof(float));
        k += 2;
    }
    if (k < n) dst[k] = src[k];
}

void dl_im2col_plane(const dl_conv2d_t *p, const float *x_plane, int64_t ld, float *cols)
{
    const int64_t oh = p->oh, ow = p->ow;
    for (int64_t i = 0; i < p->kh; i++) {
        const int64_t off_y = i * p->dh - p->pt;
        int64_t oy_lo, oy_hi;
        valid_range(oh, p->h, p->sh, off_y, &oy_lo, &oy_hi);
        for (int64_t j = 0; j < p->kw; j++) {
            float *row = cols + (i * p->kw + j) * ld;
            const int64_t off_x = j * p->dw - p->pl;
            int64_t lo, hi;
            valid_range(ow, p->w, p->sw, off_x, &lo, &hi);
            memset(row, 0, sizeof(float) * oy_lo * ow);
            for (int64_t oy = oy_lo; oy < oy_hi; oy++) {
                float *restrict dst = row + oy * ow;
                const float *restrict src = x_plane + (oy * p->sh + off_y) * p->w + off_x;
                for (int64_t ox = 0; ox < lo; ox++) dst[ox] = 0.0f;
                if (p->sw == 1)
                    copy_floats(dst + lo, src + lo, hi - lo);
                else
                    for (int64_t ox = lo; ox < hi; ox++) dst[ox] = src[ox * p->sw];
                for (int64_t ox = hi; ox < ow; ox++) dst[ox] = 0.0f;
            }
            memset(row + oy_hi * ow, 0, sizeof(float) * (oh - oy_hi) * ow);
        }
    }
}

void dl_col2im_plane(const dl_conv2d_t *p, const float *cols, int64_t ld, float *x_plane)
{
    for (int64_t i = 0; i < p->kh; i++) {
        const int64_t off_y = i * p->dh - p->pt;
        int64_t oy_lo, oy_hi;
        valid_range(p->oh, p->h, p->sh, off_y, &oy_lo, &oy_hi);
        for (int64_t j = 0; j < p->kw; j++) {
            const float *row = cols + (i * p->kw + j) * ld;
            const int64_t off_x = j * p->dw - p->pl;
            int64_t lo, hi;
            valid_range(p->ow, p->w, p->sw, off_x, &lo, &hi);
            for (int64_t oy = oy_lo; oy < oy_hi; oy++) {
                const float *restrict src = row + oy * p->ow;
                float *restrict dst = x_plane + (oy * p->sh + off_y) * p->w + off_x;
                if (p->sw == 1)
                    for (int64_t ox = lo; ox < hi; ox++) dst[ox] += src[ox];
                else
                    for (int64_t ox = lo; ox < hi; ox++) dst[ox * p->sw] += src[ox];
            }
        }
    }
}

/* The geometry checked again, and c0..c0+cg-1 a channel range of it. */
static int check_channels(const dl_conv2d_t *p, int64_t c0, int64_t cg, dl_conv2d_t *q)
{
    *q = *p;
    if (dl_conv2d_check(q) != DL_OK || c0 < 0 || cg < 1 || c0 > q->c - cg)
        return DL_EINVAL;
    return DL_OK;
}

/* x_img: (C, H, W) -> cols: (cg*KH*KW, OH*OW) */
int dl_im2col(const dl_conv2d_t *p, const float *x_img, int64_t c0, int64_t cg, float *cols)
{
    dl_conv2d_t q;
    if (check_channels(p, c0, cg, &q) != DL_OK) return DL_EINVAL;
    const int64_t kk = q.kh * q.kw, ohw = q.oh * q.ow;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (cg * kk * ohw > 65536)
    for (int64_t ci = 0; ci < cg; ci++)
        dl_im2col_plane(&q, x_img + (c0 + ci) * q.h * q.w, ohw, cols + ci * kk * ohw);
    return DL_OK;
}

/* cols: (cg*KH*KW, OH*OW) -> x_img: (C, H, W), channels c0.. accumulated */
int dl_col2im(const dl_conv2d_t *p, const float *cols, int64_t c0, int64_t cg, float *x_img)
{
    dl_conv2d_t q;
    if (check_channels(p, c0, cg, &q) != DL_OK) return DL_EINVAL;
    const int64_t ohw = q.oh * q.ow;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (cg * q.kh * q.kw * ohw > 65536)
    for (int64_t ci = 0; ci < cg; ci++)
        dl_col2im_plane(&q, cols + ci * q.kh * q.kw * ohw, ohw, x_img + (c0 + ci) * q.h * q.w);
    return DL_OK;
}
