/* conv.c: 2-D convolution (cross-correlation) as im2col + dl_sgemm, per group.
 *
 * The batch is processed in chunks of images whose column matrices, side by side, form one
 * (cg*KH*KW, chunk*OH*OW) matrix of a few MB, so each group is one wide GEMM per chunk. The
 * chunk size depends only on the geometry, never on the thread count: dW accumulates over
 * chunks (beta = 1) in a fixed order, so results are bit-identical for any thread count.
 * A 1x1, stride-1, unpadded convolution needs no columns: the input plane is the matrix. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

enum { COLS_BUDGET_BYTES = 2 << 20, PARALLEL_MIN_FLOATS = 1 << 15 };

typedef struct {
    int64_t cg, ocg;   /* channels and output channels per group */
    int64_t kdim;      /* cg*KH*KW: rows of the column matrix, columns of a weight group */
    int64_t hw, ohw;   /* input and output plane sizes */
    int64_t chunk;     /* images per chunk */
    int pointwise;     /* 1x1, stride 1, no padding: x's planes are the columns */
} conv_dims_t;

static conv_dims_t conv_dims(const dl_conv2d_t *p)
{
    conv_dims_t d;
    d.cg = p->c / p->groups;
    d.ocg = p->oc / p->groups;
    d.kdim = d.cg * p->kh * p->kw;
    d.hw = p->h * p->w;
    d.ohw = p->oh * p->ow;
    d.pointwise = p->kh == 1 && p->kw == 1 && p->sh == 1 && p->sw == 1 &&
                  p->pt == 0 && p->pb == 0 && p->pl == 0 && p->pr == 0;
    const int64_t per_image = d.kdim * d.ohw * (int64_t)sizeof(float);
    d.chunk = d.pointwise ? 1 : COLS_BUDGET_BYTES / per_image;
    if (d.chunk < 1) d.chunk = 1;
    if (d.chunk > p->n) d.chunk = p->n;
    return d;
}

static float *alloc_floats(int64_t n)
{
    size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* cols: (kdim, bc*OH*OW) = the column matrices of images n0..n0+bc-1, channels c0.. */
static void im2col_chunk(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                         int64_t n0, int64_t bc, int64_t c0, float *cols)
{
    const int64_t ld = bc * d->ohw, rows = bc * d->kdim;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (rows * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t b = t / d->kdim, r = t % d->kdim;
        dl_im2col_row(p, x + (n0 + b) * p->c * d->hw, c0, r, cols + r * ld + b * d->ohw);
    }
}

/* Adjoint of im2col_chunk: accumulates cols into the planes of channels c0.. of dx. */
static void col2im_chunk(const dl_conv2d_t *p, const conv_dims_t *d, const float *cols,
                         int64_t n0, int64_t bc, int64_t c0, float *dx)
{
    const int64_t ld = bc * d->ohw, planes = bc * d->cg;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (bc * d->kdim * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++) {
        const int64_t b = t / d->cg, ci = t % d->cg;
        dl_col2im_plane(p, cols + b * d->ohw, ld, ci,
                        dx + ((n0 + b) * p->c + c0 + ci) * d->hw);
    }
}

/* Plane o of group g of image n0+b, an (OH*OW) row of a chunk matrix (ocg, bc*OH*OW). */
static int64_t plane_offset(const dl_conv2d_t *p, const conv_dims_t *d, int64_t n0, int64_t b,
                            int64_t g, int64_t o)
{
    return ((n0 + b) * p->oc + g * d->ocg + o) * d->ohw;
}

/* m: (ocg, bc*OH*OW) = the planes of group g of dy's images n0..n0+bc-1, side by side. */
static void gather_chunk(const dl_conv2d_t *p, const conv_dims_t *d, const float *dy,
                         int64_t n0, int64_t bc, int64_t g, float *m)
{
    const int64_t ld = bc * d->ohw, rows = bc * d->ocg;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (rows * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t b = t / d->ocg, o = t % d->ocg;
        memcpy(m + o * ld + b * d->ohw, dy + plane_offset(p, d, n0, b, g, o),
               sizeof(float) * d->ohw);
    }
}

/* The inverse of gather_chunk into y, plus the bias of each channel (bias may be NULL). */
static void scatter_chunk(const dl_conv2d_t *p, const conv_dims_t *d, const float *m,
                          const float *bias, int64_t n0, int64_t bc, int64_t g, float *y)
{
    const int64_t ld = bc * d->ohw, rows = bc * d->ocg;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (rows * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < rows; t++) {
        const int64_t b = t / d->ocg, o = t % d->ocg;
        const float *row = m + o * ld + b * d->ohw;
        float *plane = y + plane_offset(p, d, n0, b, g, o);
        const float bo = bias ? bias[g * d->ocg + o] : 0.0f;
        for (int64_t k = 0; k < d->ohw; k++) plane[k] = row[k] + bo;
    }
}

/* y: (N, OC, OH, OW) += bias per channel, for the output planes of image n, group g. */
static void add_bias(const conv_dims_t *d, const float *bias_g, float *y_g)
{
    for (int64_t o = 0; o < d->ocg; o++)
        for (int64_t k = 0; k < d->ohw; k++) y_g[o * d->ohw + k] += bias_g[o];
}

/* x: (N, C, H, W), w: (OC, C/groups, KH, KW), bias: (OC) or NULL -> y: (N, OC, OH, OW) */
int dl_conv2d_forward(const dl_conv2d_t *p_in, const float *x, const float *w,
                      const float *bias, float *y)
{
    dl_conv2d_t p = *p_in;
    if (dl_conv2d_check(&p) != DL_OK) return DL_EINVAL;
    const conv_dims_t d = conv_dims(&p);
    float *cols = d.pointwise ? NULL : alloc_floats(d.kdim * d.chunk * d.ohw);
    float *out = d.chunk > 1 ? alloc_floats(d.ocg * d.chunk * d.ohw) : NULL;
    int code = DL_OK;
    if ((!d.pointwise && !cols) || (d.chunk > 1 && !out)) code = DL_ENOMEM;
    for (int64_t n0 = 0; n0 < p.n && code == DL_OK; n0 += d.chunk) {
        const int64_t bc = n0 + d.chunk <= p.n ? d.chunk : p.n - n0, ld = bc * d.ohw;
        for (int64_t g = 0; g < p.groups && code == DL_OK; g++) {
            const float *b_mat = x + (n0 * p.c + g * d.cg) * d.hw;
            if (!d.pointwise) {
                im2col_chunk(&p, &d, x, n0, bc, g * d.cg, cols);
                b_mat = cols;
            }
            float *y_g = y + (n0 * p.oc + g * d.ocg) * d.ohw;
            code = dl_sgemm(0, 0, d.ocg, ld, d.kdim, 1.0f, w + g * d.ocg * d.kdim, d.kdim,
                            b_mat, ld, 0.0f, bc == 1 ? y_g : out, ld);
            if (bc > 1)
                scatter_chunk(&p, &d, out, bias, n0, bc, g, y);
            else if (bias)
                add_bias(&d, bias + g * d.ocg, y_g);
        }
    }
    free(cols);
    free(out);
    return code;
}

/* db[o] = sum of dy[:, o, :, :]; eight float lanes per plane (vectorisable), summed in double. */
static void bias_grad(const dl_conv2d_t *p, const conv_dims_t *d, const float *dy, float *db)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (p->n * p->oc * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t o = 0; o < p->oc; o++) {
        double total = 0.0;
        for (int64_t n = 0; n < p->n; n++) {
            const float *plane = dy + (n * p->oc + o) * d->ohw;
            float lane[8] = {0};
            int64_t k = 0;
            for (; k + 8 <= d->ohw; k += 8)
                for (int l = 0; l < 8; l++) lane[l] += plane[k + l];
            double s = 0.0;
            for (; k < d->ohw; k++) s += plane[k];
            for (int l = 0; l < 8; l++) s += lane[l];
            total += s;
        }
        db[o] = (float)total;
    }
}

/* x, w, dy: as in the forward pass -> dx: (N, C, H, W), dw: (OC, C/groups, KH, KW),
 * db: (OC), each optional (NULL) and overwritten. */
int dl_conv2d_backward(const dl_conv2d_t *p_in, const float *x, const float *w,
                       const float *dy, float *dx, float *dw, float *db)
{
    dl_conv2d_t p = *p_in;
    if (dl_conv2d_check(&p) != DL_OK) return DL_EINVAL;
    const conv_dims_t d = conv_dims(&p);
    if (db) bias_grad(&p, &d, dy, db);
    if (!dx && !dw) return DL_OK;
    float *cols = d.pointwise ? NULL : alloc_floats(d.kdim * d.chunk * d.ohw);
    float *dyc = d.chunk > 1 ? alloc_floats(d.ocg * d.chunk * d.ohw) : NULL;
    int code = DL_OK;
    if ((!d.pointwise && !cols) || (d.chunk > 1 && !dyc)) code = DL_ENOMEM;
    if (dx && !d.pointwise && code == DL_OK)
        memset(dx, 0, sizeof(float) * p.n * p.c * d.hw);
    for (int64_t n0 = 0; n0 < p.n && code == DL_OK; n0 += d.chunk) {
        const int64_t bc = n0 + d.chunk <= p.n ? d.chunk : p.n - n0, ld = bc * d.ohw;
        for (int64_t g = 0; g < p.groups && code == DL_OK; g++) {
            const float *dy_g = dy + (n0 * p.oc + g * d.ocg) * d.ohw;
            if (bc > 1) {
                gather_chunk(&p, &d, dy, n0, bc, g, dyc);
                dy_g = dyc;
            }
            const float *w_g = w + g * d.ocg * d.kdim;
            if (dw) {
                const float *cols_g = x + (n0 * p.c + g * d.cg) * d.hw;
                if (!d.pointwise) {
                    im2col_chunk(&p, &d, x, n0, bc, g * d.cg, cols);
                    cols_g = cols;
                }
                code = dl_sgemm(0, 1, d.ocg, d.kdim, ld, 1.0f, dy_g, ld, cols_g, ld,
                                n0 == 0 ? 0.0f : 1.0f, dw + g * d.ocg * d.kdim, d.kdim);
            }
            if (dx && code == DL_OK) {
                float *dx_g = dx + (n0 * p.c + g * d.cg) * d.hw;
                code = dl_sgemm(1, 0, d.kdim, ld, d.ocg, 1.0f, w_g, d.kdim, dy_g, ld, 0.0f,
                                d.pointwise ? dx_g : cols, ld);
                if (!d.pointwise && code == DL_OK)
                    col2im_chunk(&p, &d, cols, n0, bc, g * d.cg, dx);
            }
        }
    }
    free(cols);
    free(dyc);
    return code;
}
