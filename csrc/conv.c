/* conv.c: 2-D convolution (cross-correlation) as im2col + dl_sgemm, per group.
 *
 * The batch is processed in chunks of images whose column matrices, side by side, form one
 * (cg*KH*KW, chunk*OH*OW) matrix of about 2 MB, so each group is one wide GEMM per chunk
 * (512 KB chunks, L2-resident, ran LeNet 1.2x faster on one thread but 1.2x slower on two).
 * The chunk size depends only on the geometry, never on the thread count: dW accumulates over
 * chunks in a fixed order, so results are bit-identical for any thread count.
 * A 1x1, stride-1, unpadded convolution needs no columns: the input plane is the matrix.
 * Stride-1 convolutions skip the columns of the forward pass and of dX too: with many
 * channels per group by GEMMs over shifted views, with few by a direct convolution over the
 * same views, whose dW (when small) also reads the views in place; see below. */
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
    int direct;        /* forward and dX by direct convolution over those views (see below) */
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
    const int views = !d.pointwise && p->sh == 1 && p->sw == 1 &&
                      p->pt <= (p->kh - 1) * p->dh && p->pb <= (p->kh - 1) * p->dh &&
                      p->pl <= (p->kw - 1) * p->dw && p->pr <= (p->kw - 1) * p->dw;
    d.shifted = views && d.cg >= SHIFTED_MIN_CHANNELS;
    d.direct = views && d.cg < SHIFTED_MIN_CHANNELS;
    const int64_t per_image = d.kdim * d.ohw * (int64_t)sizeof(float);
    d.chunk = d.pointwise ? 1 : COLS_BUDGET_BYTES / per_image;
    if (d.chunk < 1) d.chunk = 1;
    if (d.chunk > p->n) d.chunk = p->n;
    return d;
}

/* GCC vectors of 4, 8, 16 floats: the generic, AVX2 and AVX-512 register widths */
typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x16 __attribute__((vector_size(64)));

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

/* dst: (ld_plane) = zeros with src: (h, w) at row top, column left of rows wp floats apart
 * (top + h rows of wp fit in ld_plane) */
static void embed_plane(int64_t h, int64_t w, const float *src, int64_t wp, int64_t ld_plane,
                        int64_t top, int64_t left, float *dst)
{
    memset(dst, 0, sizeof(float) * ld_plane);
    for (int64_t r = 0; r < h; r++)
        memcpy(dst + (top + r) * wp + left, src + r * w, sizeof(float) * w);
}

/* embed_plane for each of `planes` planes, src: (planes, h, w) -> dst: (planes, ld_plane) */
static void embed_planes(int64_t planes, int64_t h, int64_t w, const float *src, int64_t wp,
                         int64_t ld_plane, int64_t top, int64_t left, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * ld_plane > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        embed_plane(h, w, src + t * h * w, wp, ld_plane, top, left, dst + t * ld_plane);
}

/* dst: (h, w) = the first w columns of the h rows of src, ld_row floats apart, plus b */
static void extract_plane(int64_t h, int64_t w, const float *src, int64_t ld_row, float b,
                          float *dst)
{
    for (int64_t r = 0; r < h; r++) {
        const float *restrict s = src + r * ld_row;
        float *restrict o = dst + r * w;
        for (int64_t k = 0; k < w; k++) o[k] = s[k] + b;
    }
}

/* extract_plane for each of `planes` planes, src: (planes, ld_plane) -> dst: (planes, h, w),
 * with bias[t] on plane t when bias is not NULL */
static void extract_planes(int64_t planes, int64_t h, int64_t w, const float *src,
                           int64_t ld_row, int64_t ld_plane, const float *bias, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * h * w > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        extract_plane(h, w, src + t * ld_plane, ld_row, bias ? bias[t] : 0.0f,
                      dst + t * h * w);
}

/* Padded planes (planes, hp, wp) plus the slack the last tap's view reaches past them. */
static float *alloc_padded(int64_t planes, int64_t hp, int64_t wp, int64_t slack)
{
    float *buf = alloc_floats(planes * hp * wp + slack);
    if (buf) memset(buf + planes * hp * wp, 0, sizeof(float) * slack);
    return buf;
}

/* The shifted-view passes give each thread whole images (and groups) with serial GEMMs: a
 * parallel region per GEMM costs a thread wake-up (OMP_WAIT_POLICY=PASSIVE) per tap and
 * image. A single image and group leaves the threads to the GEMMs. dl_sgemm gives the same
 * bits serially and threaded (and runs serially inside our parallel region), so neither
 * choice depends on the thread count. */

/* y_ext: (OC/g, OH*WP) of each image and group from the KH*KW tap GEMMs over the views of xp,
 * x's planes padded to (HP, WP). */
static int forward_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                           const float *w, const float *bias, float *y)
{
    const int64_t hp = p->h + p->pt + p->pb, wp = p->w + p->pl + p->pr, kk = p->kh * p->kw;
    const int64_t n_ext = p->oh * wp;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    int failed = !wr;
    if (wr) repack_taps(p, d, w, wr);
#pragma omp parallel num_threads(dl_num_threads()) if (wr && p->n * p->groups > 1)
    {
        float *xp = alloc_padded(d->cg, hp, wp, (p->kw - 1) * p->dw);
        float *ye = alloc_floats(d->ocg * n_ext);
        int code = wr && xp && ye ? DL_OK : DL_ENOMEM;
#pragma omp for schedule(static)
        for (int64_t ng = 0; ng < p->n * p->groups; ng++) {
            if (code != DL_OK) continue;
            const int64_t n = ng / p->groups, g = ng % p->groups;
            embed_planes(d->cg, p->h, p->w, x + (n * p->c + g * d->cg) * d->hw, wp, hp * wp, p->pt,
                         p->pl, xp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(0, 0, d->ocg, n_ext, d->cg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                xp + i * p->dh * wp + j * p->dw, hp * wp, t ? 1.0f : 0.0f, ye,
                                n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->ocg, p->oh, p->ow, ye, wp, n_ext, bias ? bias + g * d->ocg : NULL,
                               y + (n * p->oc + g * d->ocg) * d->ohw);
        }
        if (code != DL_OK) {
#pragma omp atomic write
            failed = 1;
        }
        free(xp);
        free(ye);
    }
    free(wr);
    return failed ? DL_ENOMEM : DL_OK;
}

/* dx_ext: (cg, H*WQ) of each image and group from the flipped taps over the views of dyp, dy
 * embedded at ((KH-1)*DH - PT, (KW-1)*DW - PL) in planes (HQ, WQ) = (H, W) + kernel extent. */
static int dx_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                      const float *dy, float *dx)
{
    const int64_t ey = (p->kh - 1) * p->dh, ex = (p->kw - 1) * p->dw, kk = p->kh * p->kw;
    const int64_t hq = p->h + ey, wq = p->w + ex, n_ext = p->h * wq;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    int failed = !wr;
    if (wr) repack_taps(p, d, w, wr);
#pragma omp parallel num_threads(dl_num_threads()) if (wr && p->n * p->groups > 1)
    {
        float *dyp = alloc_padded(d->ocg, hq, wq, ex);
        float *xe = alloc_floats(d->cg * n_ext);
        int code = wr && dyp && xe ? DL_OK : DL_ENOMEM;
#pragma omp for schedule(static)
        for (int64_t ng = 0; ng < p->n * p->groups; ng++) {
            if (code != DL_OK) continue;
            const int64_t n = ng / p->groups, g = ng % p->groups;
            embed_planes(d->ocg, p->oh, p->ow, dy + (n * p->oc + g * d->ocg) * d->ohw, wq, hq * wq,
                         ey - p->pt, ex - p->pl, dyp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(1, 0, d->cg, n_ext, d->ocg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                dyp + (ey - i * p->dh) * wq + ex - j * p->dw, hq * wq,
                                t ? 1.0f : 0.0f, xe, n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->cg, p->h, p->w, xe, wq, n_ext, NULL,
                               dx + (n * p->c + g * d->cg) * d->hw);
        }
        if (code != DL_OK) {
#pragma omp atomic write
            failed = 1;
        }
        free(dyp);
        free(xe);
    }
    free(wr);
    return failed ? DL_ENOMEM : DL_OK;
}

/* ---- Direct convolution over shifted views, for few channels per group ---------------------
 * Below SHIFTED_MIN_CHANNELS the tap GEMMs are too shallow, and im2col's column matrix is what
 * costs (LeNet conv2: 150 x 100 floats per image, written and read again). On the same wide
 * grid the convolution is direct: with taps s = (i, input plane, j) at offsets src[s],
 *     out[r][q] = sum over s of wt[s][r] * in[src[s] + q],   q < rows * WP,
 * so each tap is a few vector loads of the padded planes and a broadcast weight per output
 * plane, accumulated in a block of `rows` x QB vector registers (rows 4, or 6 or 3 when that
 * divides the planes and 4 does not: dX of LeNet conv2 has 6). dX is the same over dY's
 * padded planes with the taps (i, o, j) flipped, as in dx_shifted. A block of the grid skips
 * the kernel rows whose views see only zero rows of the padding (half of dX's work for LeNet
 * conv2); the rows are outermost in the tap order, so the live taps are one run. Each image
 * is computed by one thread start to end, so the result does not depend on the thread
 * count. */
enum { TAP_PAD = 16 /* grid row padding: a multiple of every vector width */ };

typedef struct {
    int64_t planes, h, w;        /* input planes of one image and group: (planes, h, w) */
    int64_t hp, wp, top, left;   /* embedded at (top, left) in zeroed planes (hp, wp) */
    int64_t m, oh, ow;           /* output planes of one image and group: (m, oh, ow) */
    int64_t kh, kw;              /* kernel rows, and taps per kernel row and plane */
    int64_t ntaps, rows;         /* taps; output planes per register block */
    int64_t m_pad, nq;           /* m rounded up to rows; oh*wp up to TAP_PAD */
    int64_t *src;                /* (kh, planes, kw): offset of each tap's view */
    float *wt;                   /* (groups, ntaps, m_pad): zero past m */
} tap_conv_t;

/* out: (ROWS, QB*LANES), rows ldo apart = the taps over in[q..], weights wt: (ntaps, ldw) */
typedef void (*tap_block_fn)(int64_t ntaps, const int64_t *src, const float *in,
                             const float *wt, int64_t ldw, float *out, int64_t ldo);

#define DEFINE_TAP_BLOCK(NAME, TARGET, VEC, LANES, ROWS, QB)                                   \
    TARGET static void NAME(int64_t ntaps, const int64_t *src, const float *in,               \
                            const float *wt, int64_t ldw, float *out, int64_t ldo)            \
    {                                                                                         \
        VEC acc[ROWS][QB] = {{{0}}};                                                          \
        for (int64_t s = 0; s < ntaps; s++) {                                                 \
            const float *x = in + src[s], *ws = wt + s * ldw;                                 \
            VEC v[QB];                                                                        \
            for (int u = 0; u < (QB); u++) memcpy(&v[u], x + u * (LANES), sizeof(VEC));       \
            for (int r = 0; r < (ROWS); r++)                                                  \
                for (int u = 0; u < (QB); u++) acc[r][u] += ws[r] * v[u];                     \
        }                                                                                     \
        for (int r = 0; r < (ROWS); r++)                                                      \
            for (int u = 0; u < (QB); u++)                                                    \
                memcpy(out + r * ldo + u * (LANES), &acc[r][u], sizeof(VEC));                 \
    }

/* A path's blocks of 4, 6 and 3 rows: wide (QB vectors) and one vector for a row's tail. */
#define DEFINE_TAP_BLOCKS(ISA, TARGET, VEC, LANES, QB)                                         \
    DEFINE_TAP_BLOCK(tap_wide4_##ISA, TARGET, VEC, LANES, 4, QB)                              \
    DEFINE_TAP_BLOCK(tap_vector4_##ISA, TARGET, VEC, LANES, 4, 1)                             \
    DEFINE_TAP_BLOCK(tap_wide6_##ISA, TARGET, VEC, LANES, 6, QB)                              \
    DEFINE_TAP_BLOCK(tap_vector6_##ISA, TARGET, VEC, LANES, 6, 1)                             \
    DEFINE_TAP_BLOCK(tap_wide3_##ISA, TARGET, VEC, LANES, 3, QB)                              \
    DEFINE_TAP_BLOCK(tap_vector3_##ISA, TARGET, VEC, LANES, 3, 1)

typedef struct {
    tap_block_fn wide, narrow;
    int64_t wide_floats, lanes;
} tap_kernels_t;

#define TAP_KERNELS(ISA, ROWS, LANES, QB)                                                      \
    ((ROWS) == 3   ? (tap_kernels_t){tap_wide3_##ISA, tap_vector3_##ISA, (LANES) * (QB), LANES} \
     : (ROWS) == 6 ? (tap_kernels_t){tap_wide6_##ISA, tap_vector6_##ISA, (LANES) * (QB), LANES} \
                   : (tap_kernels_t){tap_wide4_##ISA, tap_vector4_##ISA, (LANES) * (QB), LANES})

DEFINE_TAP_BLOCKS(generic, , f32x4, 4, 2)
#if defined(__x86_64__) || defined(__i386__)
DEFINE_TAP_BLOCKS(avx2, __attribute__((target("avx2,fma"))), f32x8, 8, 2)
DEFINE_TAP_BLOCKS(avx512, __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma"))),
                  f32x16, 16, 4)
#endif

static tap_kernels_t tap_kernels(int64_t rows)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512: return TAP_KERNELS(avx512, rows, 16, 4);
    case DL_CPU_AVX2: return TAP_KERNELS(avx2, rows, 8, 2);
    }
#endif
    return TAP_KERNELS(generic, rows, 4, 2);
}

/* Sizes t's grid for its kh*planes*kw taps and allocates src, and wt (zeroed) for `groups`
 * weight groups when groups > 0; DL_ENOMEM on failure. */
static int tap_conv_alloc(tap_conv_t *t, int64_t groups)
{
    const int64_t ntaps = t->kh * t->planes * t->kw;
    t->ntaps = ntaps;
    t->rows = t->m % 4 == 0 || t->m % 3 ? 4 : t->m % 6 == 0 ? 6 : 3;
    t->m_pad = (t->m + t->rows - 1) / t->rows * t->rows;
    t->nq = (t->oh * t->wp + TAP_PAD - 1) / TAP_PAD * TAP_PAD;
    t->src = malloc(sizeof(int64_t) * ntaps);
    t->wt = groups > 0 ? alloc_floats(groups * ntaps * t->m_pad) : NULL;
    if (!t->src || (groups > 0 && !t->wt)) return DL_ENOMEM;
    if (t->wt) memset(t->wt, 0, sizeof(float) * groups * ntaps * t->m_pad);
    return DL_OK;
}

/* How far the farthest view (a grid row of nq floats) reaches past the padded planes. */
static int64_t tap_reach(const tap_conv_t *t)
{
    int64_t reach = 0;
    for (int64_t s = 0; s < t->ntaps; s++) {
        const int64_t past = t->src[s] + t->nq - t->planes * t->hp * t->wp;
        if (past > reach) reach = past;
    }
    return reach;
}

static int64_t tap_index(const tap_conv_t *t, int64_t i, int64_t plane, int64_t j)
{
    return (i * t->planes + plane) * t->kw + j;
}

/* [*s_lo, *s_hi): the taps whose views of grid block [q0, q1) can see a nonzero input: those
 * of the kernel rows from the first to the last that reach the embedded rows. */
static void live_taps(const tap_conv_t *t, int64_t q0, int64_t q1, int64_t *s_lo,
                      int64_t *s_hi)
{
    const int64_t lo = t->top * t->wp + t->left, hi = (t->top + t->h - 1) * t->wp + t->left + t->w;
    int64_t i_lo = t->kh, i_hi = 0;
    for (int64_t i = 0; i < t->kh; i++)
        for (int64_t j = 0; j < t->kw; j++) {
            const int64_t off = t->src[tap_index(t, i, 0, j)];
            if (q0 + off < hi && q1 + off > lo) {
                i_lo = i < i_lo ? i : i_lo;
                i_hi = i + 1;
            }
        }
    *s_lo = i_hi > i_lo ? tap_index(t, i_lo, 0, 0) : 0;
    *s_hi = i_hi > i_lo ? tap_index(t, i_hi, 0, 0) : 0;
}

/* One block of `rows` output planes by `width` grid floats from q, over the live taps. */
static void tap_block(const tap_conv_t *t, tap_block_fn fn, int64_t width, const float *buf,
                      const float *wt, int64_t q, float *row)
{
    int64_t s_lo, s_hi;
    live_taps(t, q, q + width, &s_lo, &s_hi);
    fn(s_hi - s_lo, t->src + s_lo, buf + q, wt + s_lo * t->m_pad, t->m_pad, row + q, t->nq);
}

static void tap_conv_free(tap_conv_t *t)
{
    free(t->src);
    free(t->wt);
}

/* out: (N, groups*m, oh, ow) = t's taps over each image and group of in: (N, groups*planes,
 * h, w), plus bias: (groups*m) or NULL. Threads split the images and groups. */
static int tap_conv_run(const tap_conv_t *t, int64_t n, int64_t groups, const float *in,
                        const float *bias, float *out)
{
    const tap_kernels_t k = tap_kernels(t->rows);
    const int64_t in_plane = t->planes * t->h * t->w;
    const int64_t out_plane = t->m * t->oh * t->ow, reach = tap_reach(t);
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (n * groups * t->ntaps * t->m_pad * t->nq > PARALLEL_MIN_FLOATS * 16)
    {
        float *buf = alloc_padded(t->planes, t->hp, t->wp, reach);
        float *res = alloc_floats(t->m_pad * t->nq);
        if (!buf || !res) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t img = 0; img < n * groups; img++) {
            if (!buf || !res) continue;
            const int64_t g = img % groups;
            for (int64_t c = 0; c < t->planes; c++)
                embed_plane(t->h, t->w, in + img * in_plane + c * t->h * t->w, t->wp,
                            t->hp * t->wp, t->top, t->left, buf + c * t->hp * t->wp);
            for (int64_t r = 0; r < t->m_pad; r += t->rows) {
                const float *wt = t->wt + g * t->ntaps * t->m_pad + r;
                float *row = res + r * t->nq;
                int64_t q = 0;
                for (; q + k.wide_floats <= t->nq; q += k.wide_floats)
                    tap_block(t, k.wide, k.wide_floats, buf, wt, q, row);
                for (; q < t->nq; q += k.lanes)
                    tap_block(t, k.narrow, k.lanes, buf, wt, q, row);
            }
            for (int64_t o = 0; o < t->m; o++)
                extract_plane(t->oh, t->ow, res + o * t->nq, t->wp,
                              bias ? bias[g * t->m + o] : 0.0f,
                              out + img * out_plane + o * t->oh * t->ow);
        }
        free(buf);
        free(res);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* *t = the forward taps: (i, c, j) over x's planes padded to (H + PT + PB, W + PL + PR), with
 * `groups` weight groups (0: none); t must be freed whatever the result. */
static int forward_taps(const dl_conv2d_t *p, const conv_dims_t *d, int64_t groups,
                        tap_conv_t *t)
{
    *t = (tap_conv_t){.planes = d->cg, .h = p->h, .w = p->w, .hp = p->h + p->pt + p->pb,
                      .wp = p->w + p->pl + p->pr, .top = p->pt, .left = p->pl, .m = d->ocg,
                      .oh = p->oh, .ow = p->ow, .kh = p->kh, .kw = p->kw};
    const int code = tap_conv_alloc(t, groups);
    if (code == DL_OK)
        for (int64_t i = 0; i < p->kh; i++)
            for (int64_t c = 0; c < d->cg; c++)
                for (int64_t j = 0; j < p->kw; j++)
                    t->src[tap_index(t, i, c, j)] =
                        c * t->hp * t->wp + i * p->dh * t->wp + j * p->dw;
    return code;
}

static int forward_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                          const float *w, const float *bias, float *y)
{
    tap_conv_t t;
    int code = forward_taps(p, d, p->groups, &t);
    if (code == DL_OK) {
        for (int64_t g = 0; g < p->groups; g++)
            for (int64_t o = 0; o < d->ocg; o++)
                for (int64_t c = 0; c < d->cg; c++)
                    for (int64_t i = 0; i < p->kh; i++)
                        for (int64_t j = 0; j < p->kw; j++)
                            t.wt[(g * t.ntaps + tap_index(&t, i, c, j)) * t.m_pad + o] =
                                w[(((g * d->ocg + o) * d->cg + c) * p->kh + i) * p->kw + j];
        code = tap_conv_run(&t, p->n, p->groups, x, bias, y);
    }
    tap_conv_free(&t);
    return code;
}

/* The dX taps: (o, i, j) flipped over dy's planes. A plane is as wide as the padded input,
 * WP = OW + (KW-1)*DW, dy's rows at its left edge: a view reaching left of a row reads the
 * zero tail of the row above, so the grid is WP wide, not WP + (KW-1)*DW as in dx_shifted.
 * Above dy go the kernel extent minus PT zero rows, plus one for the first row's reach. */
static int dx_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                     const float *dy, float *dx)
{
    const int64_t ey = (p->kh - 1) * p->dh;
    tap_conv_t t = {.planes = d->ocg, .h = p->oh, .w = p->ow, .hp = p->h + ey + 1,
                    .wp = p->w + p->pl + p->pr, .top = ey - p->pt + 1, .left = 0, .m = d->cg,
                    .oh = p->h, .ow = p->w, .kh = p->kh, .kw = p->kw};
    int code = tap_conv_alloc(&t, p->groups);
    if (code == DL_OK) {
        for (int64_t i = 0; i < p->kh; i++)
            for (int64_t o = 0; o < d->ocg; o++)
                for (int64_t j = 0; j < p->kw; j++)
                    t.src[tap_index(&t, i, o, j)] =
                        o * t.hp * t.wp + (ey - i * p->dh + 1) * t.wp + p->pl - j * p->dw;
        for (int64_t g = 0; g < p->groups; g++)
            for (int64_t o = 0; o < d->ocg; o++)
                for (int64_t c = 0; c < d->cg; c++)
                    for (int64_t i = 0; i < p->kh; i++)
                        for (int64_t j = 0; j < p->kw; j++)
                            t.wt[(g * t.ntaps + tap_index(&t, i, o, j)) * t.m_pad + c] =
                                w[(((g * d->ocg + o) * d->cg + c) * p->kh + i) * p->kw + j];
        code = tap_conv_run(&t, p->n, p->groups, dy, NULL, dx);
    }
    tap_conv_free(&t);
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
    if (d.direct) return forward_direct(&p, &d, x, w, bias, y);
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
enum { DOT_TILE = 4, DOT_MAX_OUTPUTS = 4096, DOT_MAX_LANES = 16 };

/* The k floats of a row and of each of the nseg - 1 segments after it, a_step (b_step)
 * floats apart: one dot product over separate pieces, e.g. one per image. */
typedef struct {
    int64_t k, nseg, a_step, b_step;
} dot_span_t;

/* A tile's running sums: lane-wise vectors, and the products past each segment's last whole
 * vector (in order); a dot is tail + its lanes in order (dot_total). */
typedef struct {
    float lanes[DOT_TILE][DOT_TILE][DOT_MAX_LANES];
    float tail[DOT_TILE][DOT_TILE];
} dot_sums_t;

typedef void (*dot_tile_fn)(dot_span_t sp, const float *const a[DOT_TILE],
                            const float *const b[DOT_TILE], dot_sums_t *sums);

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

typedef struct {
    dot_tile_fn tile;
    int lanes;
} dot_kernel_t;

static dot_kernel_t dot_kernel(void)
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

/* Tile t of c: (m, n) in the order dot_gemm_nt and dw_direct share: down a column of tiles
 * first. Its rows of a (of c) and of b: lda apart, and at b_rows[j] or else j*ldb. Edge tiles
 * repeat the last row. */
static void dot_tile_rows(int64_t m, int64_t n, int64_t t, const float *a, int64_t lda,
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

/* The valid part of tile t of c: (m, n), rows ldc apart, from its sums; added to c's old
 * values when `accumulate`. */
static void dot_tile_store(int64_t m, int64_t n, int64_t t, const dot_sums_t *sums, int lanes,
                           int accumulate, float *c, int64_t ldc)
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

static int64_t dot_tiles(int64_t m, int64_t n)
{
    return (m + DOT_TILE - 1) / DOT_TILE * ((n + DOT_TILE - 1) / DOT_TILE);
}

/* c: (m, n) = a: (m, k) · b: (n, k)^T, plus c's old values when `accumulate`; rows as in
 * dot_tile_rows. Threads split tiles, never k; tiles go down a column of c first, so each
 * thread reads its own rows of b (the long column matrix) and they do not share its cache
 * lines. */
static void dot_gemm_nt(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                        const float *b, int64_t ldb, int accumulate, float *c, int64_t ldc)
{
    const dot_kernel_t kern = dot_kernel();
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (m * n * k > PARALLEL_MIN_FLOATS * 8)
    for (int64_t t = 0; t < dot_tiles(m, n); t++) {
        const float *ra[DOT_TILE], *rb[DOT_TILE];
        dot_tile_rows(m, n, t, a, lda, b, ldb, NULL, ra, rb);
        dot_sums_t sums = {0};
        kern.tile((dot_span_t){k, 1, 0, 0}, ra, rb, &sums);
        dot_tile_store(m, n, t, &sums, kern.lanes, accumulate, c, ldc);
    }
}

/* dW of a direct convolution: dW[o][(c, i, j)] = sum over images of dY's grid row o, zero
 * past OW (the wide grid of forward_direct), dotted with the forward tap's view of x's padded
 * planes. No column matrix: a dot tile reads the views in place. Each thread embeds
 * DIRECT_DW_CHUNK images at a time (L1-sized) and runs its own tiles over them, their sums
 * kept between chunks; every thread embeds every image, and a tile is always summed by
 * the same sequence of operations, so dW does not depend on the thread count. */
enum { DIRECT_DW_CHUNK = 8 };

static int dw_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                     const float *dy, float *dw)
{
    tap_conv_t t;
    int code = forward_taps(p, d, 0, &t);
    if (code != DL_OK) {
        tap_conv_free(&t);
        return code;
    }
    const dot_kernel_t kern = dot_kernel();
    const int64_t padded = t.planes * t.hp * t.wp;
    const int64_t x_block = padded + tap_reach(&t); /* one image and group */
    const int64_t per_group = dot_tiles(d->ocg, d->kdim), tiles = p->groups * per_group;
    dot_sums_t *sums = aligned_alloc(64, sizeof(dot_sums_t) * tiles);
    int64_t *views = malloc(sizeof(int64_t) * d->kdim); /* by dW column */
    int failed = !sums || !views;
    if (sums) memset(sums, 0, sizeof(dot_sums_t) * tiles);
    for (int64_t c = 0; c < d->cg && views; c++)
        for (int64_t i = 0; i < p->kh; i++)
            for (int64_t j = 0; j < p->kw; j++)
                views[(c * p->kh + i) * p->kw + j] = t.src[tap_index(&t, i, c, j)];
#pragma omp parallel num_threads(dl_num_threads()) \
    if (!failed && p->n * d->ocg * d->kdim * t.nq > PARALLEL_MIN_FLOATS * 16)
    {
        float *xp = failed ? NULL : alloc_floats(DIRECT_DW_CHUNK * p->groups * x_block);
        float *dye = failed ? NULL : alloc_floats(DIRECT_DW_CHUNK * p->oc * t.nq);
        if (!xp || !dye) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp barrier
        int any_failed; /* all threads take the same branch, so all meet the same loops */
#pragma omp atomic read
        any_failed = failed;
        /* static schedules of equal length give each thread the same tiles in every chunk */
        for (int64_t n0 = 0; n0 < p->n && !any_failed; n0 += DIRECT_DW_CHUNK) {
            const int64_t bc = n0 + DIRECT_DW_CHUNK <= p->n ? DIRECT_DW_CHUNK : p->n - n0;
            for (int64_t b = 0; b < bc * p->groups; b++) {
                float *block = xp + b * x_block;
                for (int64_t c = 0; c < t.planes; c++)
                    embed_plane(t.h, t.w, x + ((n0 * p->groups + b) * t.planes + c) * d->hw,
                                t.wp, t.hp * t.wp, t.top, t.left, block + c * t.hp * t.wp);
                memset(block + padded, 0, sizeof(float) * (x_block - padded));
            }
            for (int64_t o = 0; o < bc * p->oc; o++)
                embed_plane(p->oh, p->ow, dy + (n0 * p->oc + o) * d->ohw, t.wp, t.nq, 0, 0,
                            dye + o * t.nq);
#pragma omp for schedule(static) nowait
            for (int64_t k = 0; k < tiles; k++) {
                const int64_t g = k / per_group;
                const float *ra[DOT_TILE], *rb[DOT_TILE];
                dot_tile_rows(d->ocg, d->kdim, k % per_group, dye + g * d->ocg * t.nq, t.nq,
                              xp + g * x_block, 0, views, ra, rb);
                kern.tile((dot_span_t){t.nq, bc, p->oc * t.nq, p->groups * x_block}, ra, rb,
                          sums + k);
            }
        }
        free(xp);
        free(dye);
    }
    if (!failed)
        for (int64_t k = 0; k < tiles; k++)
            dot_tile_store(d->ocg, d->kdim, k % per_group, sums + k, kern.lanes, 0,
                           dw + k / per_group * d->ocg * d->kdim, d->kdim);
    free(sums);
    free(views);
    tap_conv_free(&t);
    return failed ? DL_ENOMEM : DL_OK;
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
    if (dx && (d.shifted || d.direct)) {
        const int code = d.shifted ? dx_shifted(&p, &d, w, dy, dx) : dx_direct(&p, &d, w, dy, dx);
        if (code != DL_OK) return code;
        dx = NULL; /* done: the loop below computes dW only */
    }
    if (dw && d.direct && d.ocg * d.kdim <= DOT_MAX_OUTPUTS) {
        const int code = dw_direct(&p, &d, x, dy, dw);
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
