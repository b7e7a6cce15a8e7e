/* conv_direct.c: stride-1 convolution over shifted views (see conv_shifted.c) for few
 * channels per group: the forward pass and dX as a direct convolution, and dW as dot tiles
 * reading the same views in place (conv.c dispatches).
 *
 * Below SHIFTED_MIN_CHANNELS the tap GEMMs are too shallow, and im2col's column matrix is what
 * costs (LeNet conv2: 150 x 100 floats per image, written and read again). On the same wide
 * grid the convolution is direct: with taps s = (i, input plane, j) at offsets src[s],
 *     out[r][q] = sum over s of wt[s][r] * in[src[s] + q],   q < rows * WP,
 * so each tap is a few vector loads of the padded planes and a broadcast weight per output
 * plane, accumulated in a block of `rows` x QB vector registers (rows 4, or 6 or 3 when that
 * divides the planes and 4 does not: dX of LeNet conv2 has 6). dX is the same over dY's
 * padded planes with the taps (i, o, j) flipped, as in dl_conv_dx_shifted. A block of the
 * grid skips the kernel rows whose views see only zero rows of the padding (half of dX's work
 * for LeNet conv2); the rows are outermost in the tap order, so the live taps are one run.
 * Each image is computed by one thread start to end, so the result does not depend on the
 * thread count. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

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

int dl_conv_forward_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
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
 * zero tail of the row above, so the grid is WP wide, not WP + (KW-1)*DW as in
 * dl_conv_dx_shifted. Above dy go the kernel extent minus PT zero rows, plus one for the first
 * row's reach. */
int dl_conv_dx_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
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

/* dW of a direct convolution: dW[o][(c, i, j)] = sum over images of dY's grid row o, zero
 * past OW (the wide grid of dl_conv_forward_direct), dotted with the forward tap's view of x's
 * padded planes. No column matrix: a dot tile reads the views in place. Each thread embeds
 * DIRECT_DW_CHUNK images at a time (L1-sized) and runs its own tiles over them, their sums
 * kept between chunks; every thread embeds every image, and a tile is always summed by
 * the same sequence of operations, so dW does not depend on the thread count. */
enum { DIRECT_DW_CHUNK = 8 };

int dl_conv_dw_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                      const float *dy, float *dw)
{
    tap_conv_t t;
    int code = forward_taps(p, d, 0, &t);
    if (code != DL_OK) {
        tap_conv_free(&t);
        return code;
    }
    const dot_kernel_t kern = dl_conv_dot_kernel();
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
                dl_conv_dot_tile_rows(d->ocg, d->kdim, k % per_group, dye + g * d->ocg * t.nq,
                                      t.nq, xp + g * x_block, 0, views, ra, rb);
                kern.tile((dot_span_t){t.nq, bc, p->oc * t.nq, p->groups * x_block}, ra, rb,
                          sums + k);
            }
        }
        free(xp);
        free(dye);
    }
    if (!failed)
        for (int64_t k = 0; k < tiles; k++)
            dl_conv_dot_tile_store(d->ocg, d->kdim, k % per_group, sums + k, kern.lanes, 0,
                                   dw + k / per_group * d->ocg * d->kdim, d->kdim);
    free(sums);
    free(views);
    tap_conv_free(&t);
    return failed ? DL_ENOMEM : DL_OK;
}
