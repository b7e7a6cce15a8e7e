/* conv.c: 2-D convolution (cross-correlation) as im2col + dl_sgemm, per group.
 *
 * The batch is processed in chunks of images whose column matrices, side by side, form one
 * (cg*KH*KW, chunk*OH*OW) matrix of about 2 MB, so each group is one wide GEMM per chunk
 * (512 KB chunks, L2-resident, ran LeNet 1.2x faster on one thread but 1.2x slower on two).
 * The chunk size depends only on the geometry, never on the thread count: dW accumulates over
 * chunks in a fixed order, so results are bit-identical for any thread count.
 * A 1x1, stride-1, unpadded convolution needs no columns: the input plane is the matrix.
 * Stride-1 convolutions with many channels skip the columns of the forward pass and of dX
 * too: see "shifted views" below. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

enum { COLS_BUDGET_BYTES = 2 << 20, PARALLEL_MIN_FLOATS = 1 << 15, SHIFTED_MIN_CHANNELS = 32 };

typedef struct {
    int64_t cg, ocg;   /* channels and output channels per group */
    int64_t kdim;      /* cg*KH*KW: rows of the column matrix, columns of a weight group */
    int64_t hw, ohw;   /* input and output plane sizes */
    int64_t chunk;     /* images per chunk */
    int pointwise;     /* 1x1, stride 1, no padding: x's planes are the columns */
    int shifted;       /* forward and dX by shifted views of padded planes (see below) */
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
    d.shifted = !d.pointwise && p->sh == 1 && p->sw == 1 && d.cg >= SHIFTED_MIN_CHANNELS &&
                p->pt <= (p->kh - 1) * p->dh && p->pb <= (p->kh - 1) * p->dh &&
                p->pl <= (p->kw - 1) * p->dw && p->pr <= (p->kw - 1) * p->dw;
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
    const int64_t ld = bc * d->ohw, planes = bc * d->cg, kk = p->kh * p->kw;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * kk * d->ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++) {
        const int64_t b = t / d->cg, ci = t % d->cg;
        dl_im2col_plane(p, x + ((n0 + b) * p->c + c0 + ci) * d->hw, ld,
                        cols + ci * kk * ld + b * d->ohw);
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
        dl_col2im_plane(p, cols + ci * p->kh * p->kw * ld + b * d->ohw, ld,
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

/* ---- Shifted views: stride-1 convolution without a column matrix --------------------------
 * Embed an image's planes in zero-padded planes (HP, WP) and compute outputs on the wider grid
 * (OH, WP); then kernel tap (i, j) reads every output's input at one offset i*DH*WP + j*DW, so
 * the columns of tap (i, j) are a strided view (cg, OH*WP) of the padded planes and
 *     y_ext = sum over taps of W_ij · view_ij,   W_ij: (OC/g, cg) = w[:, :, i, j],
 * KH*KW GEMMs of depth cg, the last WP - OW columns of each output row being discarded. dX is
 * the same with dY embedded in planes padded by the kernel extent minus the padding, and the
 * taps flipped. No column matrix goes through memory, which is what bounds im2col for large
 * layers; it needs cg large enough (SHIFTED_MIN_CHANNELS) for GEMMs of depth cg to run well. */

/* wr: (KH*KW, OC, cg) = w: (OC, cg, KH, KW) with the tap index outermost */
static void repack_taps(const dl_conv2d_t *p, const conv_dims_t *d, const float *w, float *wr)
{
    const int64_t kk = p->kh * p->kw;
    for (int64_t t = 0; t < kk; t++)
        for (int64_t o = 0; o < p->oc; o++)
            for (int64_t c = 0; c < d->cg; c++)
                wr[(t * p->oc + o) * d->cg + c] = w[(o * d->cg + c) * kk + t];
}

/* dst: (planes, hp, wp) = zeros with src: (planes, h, w) at row top, column left */
static void embed_planes(int64_t planes, int64_t h, int64_t w, const float *src, int64_t hp,
                         int64_t wp, int64_t top, int64_t left, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * hp * wp > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++) {
        float *plane = dst + t * hp * wp;
        memset(plane, 0, sizeof(float) * hp * wp);
        for (int64_t r = 0; r < h; r++)
            memcpy(plane + (top + r) * wp + left, src + (t * h + r) * w, sizeof(float) * w);
    }
}

/* dst: (planes, h, w) = the first w columns of the rows of src: (planes, h*ld_row), plus
 * bias[t] on plane t when bias is not NULL */
static void extract_planes(int64_t planes, int64_t h, int64_t w, const float *src,
                           int64_t ld_row, const float *bias, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * h * w > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++) {
        const float b = bias ? bias[t] : 0.0f;
        for (int64_t r = 0; r < h; r++) {
            const float *restrict s = src + (t * h + r) * ld_row;
            float *restrict o = dst + (t * h + r) * w;
            for (int64_t k = 0; k < w; k++) o[k] = s[k] + b;
        }
    }
}

/* Padded planes (planes, hp, wp) plus the slack the last tap's view reaches past them. */
static float *alloc_padded(int64_t planes, int64_t hp, int64_t wp, int64_t slack)
{
    float *buf = alloc_floats(planes * hp * wp + slack);
    if (buf) memset(buf + planes * hp * wp, 0, sizeof(float) * slack);
    return buf;
}

/* y_ext: (OC/g, OH*WP) of each image and group from the KH*KW tap GEMMs over the views of xp,
 * x's planes padded to (HP, WP). The GEMMs split their own work between the threads. */
static int forward_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                           const float *w, const float *bias, float *y)
{
    const int64_t hp = p->h + p->pt + p->pb, wp = p->w + p->pl + p->pr, kk = p->kh * p->kw;
    const int64_t n_ext = p->oh * wp;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    float *xp = alloc_padded(d->cg, hp, wp, (p->kw - 1) * p->dw);
    float *ye = alloc_floats(d->ocg * n_ext);
    int code = wr && xp && ye ? DL_OK : DL_ENOMEM;
    if (code == DL_OK) repack_taps(p, d, w, wr);
    for (int64_t n = 0; n < p->n && code == DL_OK; n++)
        for (int64_t g = 0; g < p->groups && code == DL_OK; g++) {
            embed_planes(d->cg, p->h, p->w, x + (n * p->c + g * d->cg) * d->hw, hp, wp, p->pt,
                         p->pl, xp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(0, 0, d->ocg, n_ext, d->cg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                xp + i * p->dh * wp + j * p->dw, hp * wp, t ? 1.0f : 0.0f, ye,
                                n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->ocg, p->oh, p->ow, ye, wp, bias ? bias + g * d->ocg : NULL,
                               y + (n * p->oc + g * d->ocg) * d->ohw);
        }
    free(wr);
    free(xp);
    free(ye);
    return code;
}

/* dx_ext: (cg, H*WQ) of each image and group from the flipped taps over the views of dyp, dy
 * embedded at ((KH-1)*DH - PT, (KW-1)*DW - PL) in planes (HQ, WQ) = (H, W) + kernel extent. */
static int dx_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                      const float *dy, float *dx)
{
    const int64_t ey = (p->kh - 1) * p->dh, ex = (p->kw - 1) * p->dw, kk = p->kh * p->kw;
    const int64_t hq = p->h + ey, wq = p->w + ex, n_ext = p->h * wq;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    float *dyp = alloc_padded(d->ocg, hq, wq, ex);
    float *xe = alloc_floats(d->cg * n_ext);
    int code = wr && dyp && xe ? DL_OK : DL_ENOMEM;
    if (code == DL_OK) repack_taps(p, d, w, wr);
    for (int64_t n = 0; n < p->n && code == DL_OK; n++)
        for (int64_t g = 0; g < p->groups && code == DL_OK; g++) {
            embed_planes(d->ocg, p->oh, p->ow, dy + (n * p->oc + g * d->ocg) * d->ohw, hq, wq,
                         ey - p->pt, ex - p->pl, dyp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(1, 0, d->cg, n_ext, d->ocg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                dyp + (ey - i * p->dh) * wq + ex - j * p->dw, hq * wq,
                                t ? 1.0f : 0.0f, xe, n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->cg, p->h, p->w, xe, wq, NULL,
                               dx + (n * p->c + g * d->cg) * d->hw);
        }
    free(wr);
    free(dyp);
    free(xe);
    return code;
}

/* x: (N, C, H, W), w: (OC, C/groups, KH, KW), bias: (OC) or NULL -> y: (N, OC, OH, OW) */
int dl_conv2d_forward(const dl_conv2d_t *p_in, const float *x, const float *w,
                      const float *bias, float *y)
{
    dl_conv2d_t p = *p_in;
    if (dl_conv2d_check(&p) != DL_OK) return DL_EINVAL;
    const conv_dims_t d = conv_dims(&p);
    if (d.shifted) return forward_shifted(&p, &d, x, w, bias, y);
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

/* ---- dW for small weights: a tile of dot products ---------------------------------------
 * When OC/g * kdim is small and the batch long (LeNet-sized layers), dW = dY · cols^T is a few
 * hundred dot products of length chunk*OH*OW, which GEMM's packing serves badly. A tile of
 * DOT_TILE x DOT_TILE dots keeps DOT_TILE^2 vector accumulators in registers; each dot sums
 * lane-wise, then its lanes in order, so the result is fixed for a path at any thread count. */
enum { DOT_TILE = 4, DOT_MAX_OUTPUTS = 4096 };

typedef void (*dot_tile_fn)(int64_t k, const float *const a[DOT_TILE],
                            const float *const b[DOT_TILE], float out[DOT_TILE][DOT_TILE]);

/* out[t][u] = a[t][0..k) . b[u][0..k); VEC is a GCC vector type of LANES floats. */
#define DEFINE_DOT_TILE(NAME, TARGET, VEC, LANES)                                             \
    TARGET static void NAME(int64_t k, const float *const a[DOT_TILE],                        \
                            const float *const b[DOT_TILE], float out[DOT_TILE][DOT_TILE])    \
    {                                                                                         \
        VEC acc[DOT_TILE][DOT_TILE] = {{{0}}};                                                \
        int64_t kk = 0;                                                                       \
        for (; kk + (LANES) <= k; kk += (LANES)) {                                            \
            VEC va[DOT_TILE], vb[DOT_TILE];                                                   \
            for (int t = 0; t < DOT_TILE; t++) {                                              \
                memcpy(&va[t], a[t] + kk, sizeof(VEC));                                       \
                memcpy(&vb[t], b[t] + kk, sizeof(VEC));                                       \
            }                                                                                 \
            for (int t = 0; t < DOT_TILE; t++)                                                \
                for (int u = 0; u < DOT_TILE; u++) acc[t][u] += va[t] * vb[u];                \
        }                                                                                     \
        for (int t = 0; t < DOT_TILE; t++)                                                    \
            for (int u = 0; u < DOT_TILE; u++) {                                              \
                float s = 0.0f;                                                               \
                for (int64_t r = kk; r < k; r++) s += a[t][r] * b[u][r];                      \
                for (int l = 0; l < (LANES); l++) s += acc[t][u][l];                          \
                out[t][u] = s;                                                                \
            }                                                                                 \
    }

typedef float dot_v4 __attribute__((vector_size(16)));
DEFINE_DOT_TILE(dot_tile_generic, , dot_v4, 4)
#if defined(__x86_64__) || defined(__i386__)
typedef float dot_v8 __attribute__((vector_size(32)));
typedef float dot_v16 __attribute__((vector_size(64)));
DEFINE_DOT_TILE(dot_tile_avx2, __attribute__((target("avx2,fma"))), dot_v8, 8)
DEFINE_DOT_TILE(dot_tile_avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))),
                dot_v16, 16)
#endif

static dot_tile_fn dot_tile_kernel(void)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512: return dot_tile_avx512;
    case DL_CPU_AVX2: return dot_tile_avx2;
    }
#endif
    return dot_tile_generic;
}

/* c: (m, n) = a: (m, k) · b: (n, k)^T, plus c's old values when `accumulate`; rows of a, b,
 * c are lda, ldb, ldc floats apart. Edge tiles repeat the last row and store only the valid
 * part. Threads split tiles, never k; tiles go down a column of c first, so each thread
 * reads its own rows of b (the long column matrix) and they do not share its cache lines. */
static void dot_gemm_nt(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const dot_tile_fn tile = dot_tile_kernel();
    const int64_t tiles_m = (m + DOT_TILE - 1) / DOT_TILE, tiles_n = (n + DOT_TILE - 1) / DOT_TILE;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (m * n * k > PARALLEL_MIN_FLOATS * 8)
    for (int64_t t = 0; t < tiles_m * tiles_n; t++) {
        const int64_t i0 = t % tiles_m * DOT_TILE, j0 = t / tiles_m * DOT_TILE;
        const float *ra[DOT_TILE], *rb[DOT_TILE];
        for (int q = 0; q < DOT_TILE; q++) {
            ra[q] = a + (i0 + q < m ? i0 + q : m - 1) * lda;
            rb[q] = b + (j0 + q < n ? j0 + q : n - 1) * ldb;
        }
        float out[DOT_TILE][DOT_TILE];
        tile(k, ra, rb, out);
        for (int q = 0; q < DOT_TILE && i0 + q < m; q++)
            for (int r = 0; r < DOT_TILE && j0 + r < n; r++) {
                float *cij = c + (i0 + q) * ldc + j0 + r;
                *cij = accumulate ? *cij + out[q][r] : out[q][r];
            }
    }
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
    if (dx && d.shifted) {
        const int code = dx_shifted(&p, &d, w, dy, dx);
        if (code != DL_OK) return code;
        dx = NULL; /* done: the loop below computes dW only */
    }
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
                float *dw_g = dw + g * d.ocg * d.kdim;
                if (d.ocg * d.kdim <= DOT_MAX_OUTPUTS)
                    dot_gemm_nt(d.ocg, d.kdim, ld, dy_g, ld, cols_g, ld, n0 > 0, dw_g, d.kdim);
                else
                    code = dl_sgemm(0, 1, d.ocg, d.kdim, ld, 1.0f, dy_g, ld, cols_g, ld,
                                    n0 == 0 ? 0.0f : 1.0f, dw_g, d.kdim);
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
