/* conv.c: 2-D convolution (cross-correlation): the public entry points, the choice of
 * algorithm, and the general one, im2col + dl_sgemm per group.
 *
 * The batch is processed in chunks of images whose column matrices, side by side, form one
 * (cg*KH*KW, chunk*OH*OW) matrix of about 2 MB, so each group is one wide GEMM per chunk
 * (512 KB chunks, L2-resident, ran LeNet 1.2x faster on one thread but 1.2x slower on two).
 * The chunk size depends only on the geometry, never on the thread count: dW accumulates over
 * chunks in a fixed order, so results are bit-identical for any thread count.
 * A 1x1, stride-1, unpadded convolution needs no columns: the input plane is the matrix; nor
 * does one whose kernel covers the whole unpadded input (a 1x1 output): it is a dense layer.
 * Stride-1 convolutions of planes of at least dl_conv_views_min_pixels() output pixels (100
 * by default; smaller planes batch better as columns) skip the columns of the forward pass and
 * of dX too: with few channels
 * per group by a direct convolution over shifted views (conv_direct.c), whose dW (when small)
 * also reads the views in place; with many by GEMMs over the same views, or on AVX-512 (where
 * the planes fit its blocks) by the direct convolution's deep blocks, and dW by a transposed
 * column matrix or (AVX-512) tiles reading the views in place (conv_shifted.c). A small dW
 * of the im2col path is a grid of dot tiles (below). 3x3 stride-1 undilated convolutions with
 * enough channels take Winograd's F(2x2, 3x3) in all three passes instead (conv_winograd.c,
 * which says where it was measured to pay; dl_conv_winograd sets the choice). */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

enum { COLS_BUDGET_BYTES = 2 << 20 };

static int64_t views_min_pixels = VIEWS_MIN_PIXELS;

int64_t dl_conv_views_min_pixels(int64_t pixels)
{
    const int64_t previous = views_min_pixels;
    if (pixels >= 0) views_min_pixels = pixels;
    return previous;
}

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
    const int views = !d.pointwise && p->sh == 1 && p->sw == 1 && d.ohw >= views_min_pixels &&
                      p->pt <= (p->kh - 1) * p->dh && p->pb <= (p->kh - 1) * p->dh &&
                      p->pl <= (p->kw - 1) * p->dw && p->pr <= (p->kw - 1) * p->dw;
    d.dense = p->oh == 1 && p->ow == 1 && p->kh == p->h && p->kw == p->w && p->dh == 1 &&
              p->dw == 1 && p->pt == 0 && p->pb == 0 && p->pl == 0 && p->pr == 0;
    d.winograd = !d.dense && dl_conv_winograd_fits(p, d.cg, d.ocg, views);
    d.shifted = views && d.cg >= SHIFTED_MIN_CHANNELS;
    d.direct = views && d.cg < SHIFTED_MIN_CHANNELS;
    d.deep_forward = d.shifted && dl_conv_direct_deep(d.cg, d.ocg);
    d.deep_dx = d.shifted && dl_conv_direct_deep(d.ocg, d.cg);
    const int64_t per_image = d.kdim * d.ohw * (int64_t)sizeof(float);
    d.chunk = d.pointwise ? 1 : COLS_BUDGET_BYTES / per_image;
    if (d.chunk < 1) d.chunk = 1;
    if (d.chunk > p->n) d.chunk = p->n;
    return d;
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

/* ---- a kernel that covers the whole input ----------------------------------------------
 * A DCGAN discriminator's last 7x7 conv on 7x7 maps, a generator's first transposed conv from
 * 1x1 codes: the output is 1x1, so per group the conv is a dense layer over the flattened
 * planes, y (N, OCg) = x (N, Cg*H*W) · w (OCg, Cg*H*W)^T, and needs no columns (im2col made a
 * (Cg*H*W, N) copy of x for a GEMM one row high). x's rows are C*H*W apart, y's OC. */
static int dense_forward(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                         const float *w, const float *bias, float *y)
{
    int code = DL_OK;
    for (int64_t g = 0; g < p->groups && code == DL_OK; g++)
        code = dl_sgemm(0, 1, p->n, d->ocg, d->kdim, 1.0f, x + g * d->kdim, p->c * d->hw,
                        w + g * d->ocg * d->kdim, d->kdim, 0.0f, y + g * d->ocg, p->oc);
    if (bias && code == DL_OK)
        for (int64_t n = 0; n < p->n; n++)
            for (int64_t o = 0; o < p->oc; o++) y[n * p->oc + o] += bias[o];
    return code;
}

/* dx (N, Cg*H*W) = dy (N, OCg) · w (OCg, Cg*H*W); dw (OCg, Cg*H*W) = dy^T · x, per group. */
static int dense_backward(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                          const float *w, const float *dy, float *dx, float *dw)
{
    int code = DL_OK;
    for (int64_t g = 0; g < p->groups && code == DL_OK; g++) {
        const float *dy_g = dy + g * d->ocg, *w_g = w + g * d->ocg * d->kdim;
        if (dx)
            code = dl_sgemm(0, 0, p->n, d->kdim, d->ocg, 1.0f, dy_g, p->oc, w_g, d->kdim, 0.0f,
                            dx + g * d->kdim, p->c * d->hw);
        if (dw && code == DL_OK)
            code = dl_sgemm(1, 0, d->ocg, d->kdim, p->n, 1.0f, dy_g, p->oc, x + g * d->kdim,
                            p->c * d->hw, 0.0f, dw + g * d->ocg * d->kdim, d->kdim);
    }
    return code;
}

/* x: (N, C, H, W), w: (OC, C/groups, KH, KW), bias: (OC) or NULL -> y: (N, OC, OH, OW) */
int dl_conv2d_forward(const dl_conv2d_t *p_in, const float *x, const float *w,
                      const float *bias, float *y)
{
    dl_conv2d_t p = *p_in;
    if (dl_conv2d_check(&p) != DL_OK) return DL_EINVAL;
    const conv_dims_t d = conv_dims(&p);
    if (d.dense) return dense_forward(&p, &d, x, w, bias, y);
    if (d.winograd) return dl_conv_forward_winograd(&p, &d, x, w, bias, y);
    if (d.direct || d.deep_forward) return dl_conv_forward_direct(&p, &d, x, w, bias, y);
    if (d.shifted) return dl_conv_forward_shifted(&p, &d, x, w, bias, y);
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
/* sums += a[t] . b[u] over the span; VEC is a GCC vector type of LANES floats. */
#define DEFINE_DOT_TILE(NAME, TARGET, VEC, LANES)                                             \
    TARGET static void NAME(dot_span_t sp, const float *const a[DOT_TILE],                    \
                            const float *const b[DOT_TILE], dot_sums_t *sums)                 \
    {                                                                                         \
        VEC acc[DOT_TILE][DOT_TILE];                                                          \
        for (int t = 0; t < DOT_TILE; t++)                                                    \
            for (int u = 0; u < DOT_TILE; u++)                                                \
                memcpy(&acc[t][u], sums->lanes[t][u], sizeof(VEC));                           \
        for (int64_t g = 0; g < sp.nseg; g++) {                                               \
            const float *sa[DOT_TILE], *sb[DOT_TILE];                                         \
            for (int t = 0; t < DOT_TILE; t++) {                                              \
                sa[t] = a[t] + g * sp.a_step;                                                 \
                sb[t] = b[t] + g * sp.b_step;                                                 \
            }                                                                                 \
            int64_t kk = 0;                                                                   \
            for (; kk + (LANES) <= sp.k; kk += (LANES)) {                                     \
                VEC va[DOT_TILE], vb[DOT_TILE];                                               \
                for (int t = 0; t < DOT_TILE; t++) {                                          \
                    memcpy(&va[t], sa[t] + kk, sizeof(VEC));                                  \
                    memcpy(&vb[t], sb[t] + kk, sizeof(VEC));                                  \
                }                                                                             \
                for (int t = 0; t < DOT_TILE; t++)                                            \
                    for (int u = 0; u < DOT_TILE; u++) acc[t][u] += va[t] * vb[u];            \
            }                                                                                 \
            for (int t = 0; t < DOT_TILE; t++)                                                \
                for (int u = 0; u < DOT_TILE; u++)                                            \
                    for (int64_t r = kk; r < sp.k; r++)                                       \
                        sums->tail[t][u] += sa[t][r] * sb[u][r];                              \
        }                                                                                     \
        for (int t = 0; t < DOT_TILE; t++)                                                    \
            for (int u = 0; u < DOT_TILE; u++)                                                \
                memcpy(sums->lanes[t][u], &acc[t][u], sizeof(VEC));                           \
    }

DEFINE_DOT_TILE(dot_tile_generic, , f32x4, 4)
#if defined(__x86_64__) || defined(__i386__)
DEFINE_DOT_TILE(dot_tile_avx2, __attribute__((target("avx2,fma"))), f32x8, 8)
DEFINE_DOT_TILE(dot_tile_avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))),
                f32x16, 16)
#endif

dot_kernel_t dl_conv_dot_kernel(void)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512: return (dot_kernel_t){dot_tile_avx512, 16};
    case DL_CPU_AVX2: return (dot_kernel_t){dot_tile_avx2, 8};
    }
#endif
    return (dot_kernel_t){dot_tile_generic, 4};
}

static float dot_total(const dot_sums_t *sums, int lanes, int t, int u)
{
    float s = sums->tail[t][u];
    for (int l = 0; l < lanes; l++) s += sums->lanes[t][u][l];
    return s;
}

void dl_conv_dot_tile_rows(int64_t m, int64_t n, int64_t t, const float *a, int64_t lda,
                           const float *b, int64_t ldb, const int64_t *b_rows,
                           const float *ra[DOT_TILE], const float *rb[DOT_TILE])
{
    const int64_t tiles_m = (m + DOT_TILE - 1) / DOT_TILE;
    const int64_t i0 = t % tiles_m * DOT_TILE, j0 = t / tiles_m * DOT_TILE;
    for (int q = 0; q < DOT_TILE; q++) {
        ra[q] = a + (i0 + q < m ? i0 + q : m - 1) * lda;
        const int64_t j = j0 + q < n ? j0 + q : n - 1;
        rb[q] = b + (b_rows ? b_rows[j] : j * ldb);
    }
}

void dl_conv_dot_tile_store(int64_t m, int64_t n, int64_t t, const dot_sums_t *sums,
                            int lanes, int accumulate, float *c, int64_t ldc)
{
    const int64_t tiles_m = (m + DOT_TILE - 1) / DOT_TILE;
    const int64_t i0 = t % tiles_m * DOT_TILE, j0 = t / tiles_m * DOT_TILE;
    for (int q = 0; q < DOT_TILE && i0 + q < m; q++)
        for (int r = 0; r < DOT_TILE && j0 + r < n; r++) {
            float *cij = c + (i0 + q) * ldc + j0 + r;
            const float v = dot_total(sums, lanes, q, r);
            *cij = accumulate ? *cij + v : v;
        }
}


/* c: (m, n) = a: (m, k) · b: (n, k)^T, plus c's old values when `accumulate`; rows as in
 * dl_conv_dot_tile_rows. Threads split tiles, never k; tiles go down a column of c first, so
 * each thread reads its own rows of b (the long column matrix) and they do not share its
 * cache lines. */
static void dot_gemm_nt(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const dot_kernel_t kern = dl_conv_dot_kernel();
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (m * n * k > PARALLEL_MIN_FLOATS * 8)
    for (int64_t t = 0; t < dot_tiles(m, n); t++) {
        const float *ra[DOT_TILE], *rb[DOT_TILE];
        dl_conv_dot_tile_rows(m, n, t, a, lda, b, ldb, NULL, ra, rb);
        dot_sums_t sums = {0};
        kern.tile((dot_span_t){k, 1, 0, 0}, ra, rb, &sums);
        dl_conv_dot_tile_store(m, n, t, &sums, kern.lanes, accumulate, c, ldc);
    }
}


/* db[o] = sum of dy[:, o, :, :]; eight float lanes per plane (vectorisable), summed in double.
 * A second thread pays only past ~0.5M floats: waking it (OMP_WAIT_POLICY=PASSIVE) costs more. */
static void bias_grad(const dl_conv2d_t *p, const conv_dims_t *d, const float *dy, float *db)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (p->n * p->oc * d->ohw > PARALLEL_MIN_FLOATS * 16)
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
    if (d.dense) return dense_backward(&p, &d, x, w, dy, dx, dw);
    if (d.winograd) {
        int code = dx ? dl_conv_dx_winograd(&p, &d, w, dy, dx) : DL_OK;
        if (dw && code == DL_OK) code = dl_conv_dw_winograd(&p, &d, x, dy, dw);
        return code;
    }
    if (dx && (d.shifted || d.direct)) {
        const int code = d.direct || d.deep_dx ? dl_conv_dx_direct(&p, &d, w, dy, dx)
                                               : dl_conv_dx_shifted(&p, &d, w, dy, dx);
        if (code != DL_OK) return code;
        dx = NULL; /* done: the loop below computes dW only */
    }
    if (dw && (d.shifted || (d.direct && d.ocg * d.kdim <= DOT_MAX_OUTPUTS))) {
        const int code = d.shifted ? dl_conv_dw_shifted(&p, &d, x, dy, dw)
                                   : dl_conv_dw_direct(&p, &d, x, dy, dw);
        if (code != DL_OK) return code;
        dw = NULL; /* done */
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
