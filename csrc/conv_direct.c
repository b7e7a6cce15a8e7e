/* conv_direct.c: stride-1 convolution over shifted views (see conv_shifted.c): the forward
 * pass and dX as a direct convolution, and for few channels per group dW as dot tiles reading
 * the same views in place (conv.c dispatches).
 *
 * Below SHIFTED_MIN_CHANNELS the tap GEMMs are too shallow, and im2col's column matrix is what
 * costs (LeNet conv2: 150 x 100 floats per image, written and read again). On the same wide
 * grid the convolution is direct: with taps s = (i, input plane, j) at offsets src[s],
 *     out[r][q] = sum over s of wt[s][r] * in[src[s] + q],   q < rows * WP,
 * so each tap is a few vector loads of the padded planes and a broadcast weight per output
 * plane, accumulated in a block of `rows` x QB vector registers (rows 4, or 6 or 3 when that
 * divides the planes and 4 does not: dX of LeNet conv2 has 6). With many input planes the
 * AVX-512 path takes blocks of 8 rows x 3 vectors instead, which keep 24 of its 32 registers
 * accumulating over all KH*KW*planes taps: the tap GEMMs of conv_shifted.c reload their output
 * tile after every tap (ResNet's 3x3 forward and dX ran 1.1x faster this way). A block's
 * weights are contiguous, tap after tap, and the blocks of all rows run over one stretch of
 * the grid before the next, so that stretch of the planes stays in L1. dX is the same over dY's
 * padded planes with the taps (i, o, j) flipped, as in dl_conv_dx_shifted. A block of the
 * grid skips the kernel rows whose views see only zero rows of the padding (half of dX's work
 * for LeNet conv2); the rows are outermost in the tap order, so the live taps are one run.
 * A block stores straight into the output planes, with the bias: a vector's lanes on the
 * grid's first OW columns of a row are, in order, one contiguous run of outputs (on AVX-512 a
 * compress and a masked store), so no result grid goes through memory to be extracted (LeNet's
 * forward ran 1.08x faster). While a thread computes an image it prefetches its next one into
 * L2, which its embedding then reads (ResNet's 3x3 forward spent 4% embedding, now 3%). Each
 * image is computed by one thread start to end, so the result does not depend on the thread
 * count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "conv_internal.h"
#include "dl_kernels.h"

enum {
    TAP_PAD = 16,  /* grid row padding: a multiple of every vector width */
    DEEP_ROWS = 8, /* output planes of an AVX-512 block over many input planes */
};

typedef struct {
    int64_t planes, h, w;        /* input planes of one image and group: (planes, h, w) */
    int64_t hp, wp, top, left;   /* embedded at (top, left) in zeroed planes (hp, wp) */
    int64_t m, oh, ow;           /* output planes of one image and group: (m, oh, ow) */
    int64_t kh, kw;              /* kernel rows, and taps per kernel row and plane */
    int64_t ntaps, rows;         /* taps; output planes per register block */
    int64_t m_pad, nq;           /* m rounded up to rows; oh*wp up to TAP_PAD */
    int64_t *src;                /* (kh, planes, kw): offset of each tap's view */
    float *wt;                   /* (groups, m_pad/rows, ntaps, rows): zero past m */
} tap_conv_t;

/* Where a vector of grid floats goes in an output plane: its lanes in mask (count of them),
 * in order, to the outputs from at */
typedef struct {
    int64_t at;
    uint32_t mask, count;
} tap_lanes_t;

/* Where a block's results go: vector u of row r to out + r*ld by lanes[u], plus bias[r] (0
 * when bias is NULL); rows from `rows` on are padding past the output planes. */
typedef struct {
    float *out;
    int64_t ld, rows;
    const float *bias;
    const tap_lanes_t *lanes;
} tap_out_t;

/* o's rows and vectors = the taps over in[q..], weights wt: (ntaps, ROWS) */
typedef void (*tap_block_fn)(int64_t ntaps, const int64_t *src, const float *in,
                             const float *wt, const tap_out_t *o);

/* out[0..count) = the lanes of v in mask, in order, plus b */
#define DEFINE_STORE_LANES(NAME, TARGET, VEC, LANES)                                           \
    TARGET static inline void NAME(float *out, VEC v, float b, uint32_t mask, uint32_t count) \
    {                                                                                         \
        v += b;                                                                               \
        if (count == (LANES)) {                                                               \
            memcpy(out, &v, sizeof(VEC));                                                     \
            return;                                                                           \
        }                                                                                     \
        for (int l = 0, k = 0; l < (LANES); l++)                                              \
            if (mask >> l & 1) out[k++] = v[l];                                               \
    }

#define DEFINE_TAP_BLOCK(NAME, TARGET, VEC, LANES, ROWS, QB, STORE)                            \
    TARGET static void NAME(int64_t ntaps, const int64_t *src, const float *in,               \
                            const float *wt, const tap_out_t *o)                              \
    {                                                                                         \
        VEC acc[ROWS][QB] = {{{0}}};                                                          \
        for (int64_t s = 0; s < ntaps; s++) {                                                 \
            const float *x = in + src[s], *ws = wt + s * (ROWS);                              \
            VEC v[QB];                                                                        \
            for (int u = 0; u < (QB); u++) memcpy(&v[u], x + u * (LANES), sizeof(VEC));       \
            for (int r = 0; r < (ROWS); r++)                                                  \
                for (int u = 0; u < (QB); u++) acc[r][u] += ws[r] * v[u];                     \
        }                                                                                     \
        for (int r = 0; r < (ROWS); r++)                                                      \
            for (int u = 0; u < (QB); u++)                                                    \
                if (r < o->rows && o->lanes[u].mask)                                          \
                    STORE(o->out + r * o->ld + o->lanes[u].at, acc[r][u],                     \
                          o->bias ? o->bias[r] : 0.0f, o->lanes[u].mask, o->lanes[u].count);  \
    }

/* A path's blocks of 4, 6 and 3 rows: wide (QB vectors) and one vector for a row's tail. */
#define DEFINE_TAP_BLOCKS(ISA, TARGET, VEC, LANES, QB, STORE)                                  \
    DEFINE_TAP_BLOCK(tap_wide4_##ISA, TARGET, VEC, LANES, 4, QB, STORE)                       \
    DEFINE_TAP_BLOCK(tap_vector4_##ISA, TARGET, VEC, LANES, 4, 1, STORE)                      \
    DEFINE_TAP_BLOCK(tap_wide6_##ISA, TARGET, VEC, LANES, 6, QB, STORE)                       \
    DEFINE_TAP_BLOCK(tap_vector6_##ISA, TARGET, VEC, LANES, 6, 1, STORE)                      \
    DEFINE_TAP_BLOCK(tap_wide3_##ISA, TARGET, VEC, LANES, 3, QB, STORE)                       \
    DEFINE_TAP_BLOCK(tap_vector3_##ISA, TARGET, VEC, LANES, 3, 1, STORE)

typedef struct {
    tap_block_fn wide, narrow;
    int64_t wide_floats, lanes;
} tap_kernels_t;

#define TAP_KERNELS(ISA, ROWS, LANES, QB)                                                      \
    ((ROWS) == 3   ? (tap_kernels_t){tap_wide3_##ISA, tap_vector3_##ISA, (LANES) * (QB), LANES} \
     : (ROWS) == 6 ? (tap_kernels_t){tap_wide6_##ISA, tap_vector6_##ISA, (LANES) * (QB), LANES} \
                   : (tap_kernels_t){tap_wide4_##ISA, tap_vector4_##ISA, (LANES) * (QB), LANES})

DEFINE_STORE_LANES(store_lanes_generic, , f32x4, 4)
DEFINE_TAP_BLOCKS(generic, , f32x4, 4, 2, store_lanes_generic)
#if defined(__x86_64__) || defined(__i386__)
#define AVX2_TARGET __attribute__((target("avx2,fma")))
DEFINE_STORE_LANES(store_lanes_avx2, AVX2_TARGET, f32x8, 8)
DEFINE_TAP_BLOCKS(avx2, AVX2_TARGET, f32x8, 8, 2, store_lanes_avx2)
#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

/* store_lanes by a compress and a masked store */
AVX512_TARGET static inline void store_lanes_avx512(float *out, f32x16 v, float b,
                                                    uint32_t mask, uint32_t count)
{
    const __m512 sum = _mm512_add_ps((__m512)v, _mm512_set1_ps(b));
    _mm512_mask_storeu_ps(out, (__mmask16)((1u << count) - 1),
                          _mm512_maskz_compress_ps((__mmask16)mask, sum));
}

DEFINE_TAP_BLOCKS(avx512, AVX512_TARGET, f32x16, 16, 4, store_lanes_avx512)
DEFINE_TAP_BLOCK(tap_wide8_avx512, AVX512_TARGET, f32x16, 16, DEEP_ROWS, 3, store_lanes_avx512)
DEFINE_TAP_BLOCK(tap_vector8_avx512, AVX512_TARGET, f32x16, 16, DEEP_ROWS, 1, store_lanes_avx512)
#endif

int dl_conv_direct_deep(int64_t planes, int64_t m)
{
#if defined(__x86_64__) || defined(__i386__)
    return planes >= SHIFTED_MIN_CHANNELS && m % DEEP_ROWS == 0 && dl_cpu_path() == DL_CPU_AVX512;
#else
    (void)planes, (void)m;
    return 0;
#endif
}

static tap_kernels_t tap_kernels(int64_t rows)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512:
        if (rows == DEEP_ROWS) return (tap_kernels_t){tap_wide8_avx512, tap_vector8_avx512, 48, 16};
        return TAP_KERNELS(avx512, rows, 16, 4);
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
    if (dl_conv_direct_deep(t->planes, t->m))
        t->rows = DEEP_ROWS;
    else
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

/* The weight of tap s for output plane o of group g in t->wt */
static float *tap_weight(const tap_conv_t *t, int64_t g, int64_t s, int64_t o)
{
    return t->wt + (g * t->m_pad + o / t->rows * t->rows) * t->ntaps + s * t->rows + o % t->rows;
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

/* lanes: (nq/width) = where each vector of `width` grid floats goes. A grid float is output
 * oy*ow + ox when it is row oy < oh, column ox < ow of the grid's rows wp floats apart, and
 * the outputs before it are as many as such floats before it. */
static void tap_lanes(const tap_conv_t *t, int64_t width, tap_lanes_t *lanes)
{
    for (int64_t v = 0; v < t->nq / width; v++) {
        int64_t row = v * width / t->wp, col = v * width % t->wp;
        tap_lanes_t *l = lanes + v;
        *l = (tap_lanes_t){.at = row * t->ow + (col < t->ow ? col : t->ow)};
        for (int64_t k = 0; k < width; k++) {
            if (row < t->oh && col < t->ow) {
                l->mask |= 1u << k;
                l->count++;
            }
            if (++col == t->wp) row++, col = 0;
        }
    }
}

/* The blocks of all output planes of group g by qb vectors of grid floats from q (vector
 * q/width of lanes), over the live taps, stored into out_g: (m, oh, ow) plus bias_g: (m) or
 * NULL. */
static void tap_blocks(const tap_conv_t *t, tap_block_fn fn, int64_t qb, int64_t width,
                       const tap_lanes_t *lanes, const float *buf, int64_t g, int64_t q,
                       const float *bias_g, float *out_g)
{
    int64_t s_lo, s_hi;
    live_taps(t, q, q + qb * width, &s_lo, &s_hi);
    tap_out_t o = {.ld = t->oh * t->ow, .lanes = lanes + q / width};
    for (int64_t r = 0; r < t->m_pad; r += t->rows) {
        o.out = out_g + r * o.ld;
        o.rows = t->m - r < t->rows ? t->m - r : t->rows;
        o.bias = bias_g ? bias_g + r : NULL;
        fn(s_hi - s_lo, t->src + s_lo, buf + q, tap_weight(t, g, s_lo, r), &o);
    }
}

static void tap_conv_free(tap_conv_t *t)
{
    free(t->src);
    free(t->wt);
}

/* out: (N, groups*m, oh, ow) = t's taps over each image and group of in: (N, groups*planes,
 * h, w), plus bias: (groups*m) or NULL. Threads split the images and groups, and each image's
 * grid into as many strips as there are threads when there are fewer images and groups than
 * threads; every output is computed within one block whatever the split. */
static int tap_conv_run(const tap_conv_t *t, int64_t n, int64_t groups, const float *in,
                        const float *bias, float *out)
{
    const tap_kernels_t k = tap_kernels(t->rows);
    const int64_t in_plane = t->planes * t->h * t->w;
    const int64_t out_plane = t->m * t->oh * t->ow, reach = tap_reach(t);
    const int64_t threads = dl_num_threads(), wide_blocks = t->nq / k.wide_floats;
    const int64_t strips = n * groups >= threads ? 1 : threads;
    tap_lanes_t *lanes = malloc(sizeof(tap_lanes_t) * (t->nq / k.lanes));
    if (!lanes) return DL_ENOMEM;
    tap_lanes(t, k.lanes, lanes);
    int failed = 0;
#pragma omp parallel num_threads(threads) \
    if (n * groups * t->ntaps * t->m_pad * t->nq > PARALLEL_MIN_FLOATS * 16)
    {
        float *buf = alloc_padded(t->planes, t->hp, t->wp, reach);
        int64_t embedded = -1; /* the image and group in buf */
        if (!buf) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (int64_t item = 0; item < n * groups * strips; item++) {
            if (!buf) continue;
            const int64_t img = item / strips, strip = item % strips, g = img % groups;
            if (img != embedded)
                for (int64_t c = 0; c < t->planes; c++)
                    embed_plane(t->h, t->w, in + img * in_plane + c * t->h * t->w, t->wp,
                                t->top, t->left, buf + c * t->hp * t->wp);
            embedded = img;
            const int64_t q0 = wide_blocks * strip / strips * k.wide_floats;
            const int64_t q1 = strip == strips - 1
                                   ? t->nq
                                   : wide_blocks * (strip + 1) / strips * k.wide_floats;
            const float *bias_g = bias ? bias + g * t->m : NULL;
            float *out_img = out + img * out_plane;
            /* the next image's input, when this thread takes it next, a slice per wide block */
            const float *next = strips == 1 && item + 1 < n * groups ? in + (img + 1) * in_plane
                                                                     : NULL;
            const int64_t parts = (q1 - q0) / k.wide_floats;
            int64_t q = q0;
            for (; q + k.wide_floats <= q1; q += k.wide_floats) {
                tap_blocks(t, k.wide, k.wide_floats / k.lanes, k.lanes, lanes, buf, g, q, bias_g,
                           out_img);
                if (next) prefetch_part(next, in_plane, (q - q0) / k.wide_floats, parts);
            }
            for (; q < q1; q += k.lanes)
                tap_blocks(t, k.narrow, 1, k.lanes, lanes, buf, g, q, bias_g, out_img);
        }
        free(buf);
    }
    free(lanes);
    return failed ? DL_ENOMEM : DL_OK;
}

/* *t = the forward taps: (i, c, j) over x's planes padded to (H + PT + PB, W + PL + PR), with
 * `groups` weight groups (0: none); t must be freed whatever the result. */
static int forward_taps(const dl_conv2d_t *p, const conv_dims_t *d, int64_t groups,
                        tap_conv_t *t)
{
    *t = (tap_conv_t){.planes = d->cg, .h = p->h, .w = p->w, .hp = p->h + p->pt + p->pb,
                      .wp = grid_width(p), .top = p->pt, .left = p->pl, .m = d->ocg,
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

/* t's weights from w: (OC, C/groups, KH, KW): tap (i, c, j) of output plane o for the
 * forward pass, or flipped for dX, tap (i, o, j) of input plane c. */
static void load_weights(tap_conv_t *t, const dl_conv2d_t *p, const conv_dims_t *d,
                         const float *w, int flipped)
{
    for (int64_t g = 0; g < p->groups; g++)
        for (int64_t o = 0; o < d->ocg; o++)
            for (int64_t c = 0; c < d->cg; c++) {
                /* weights of t's output plane `row` from its input plane `plane`, kernel
                 * row i a step of planes*kw taps, rows floats each */
                const int64_t row = flipped ? c : o, plane = flipped ? o : c;
                float *dst = tap_weight(t, g, tap_index(t, 0, plane, 0), row);
                for (int64_t i = 0; i < p->kh; i++)
                    for (int64_t j = 0; j < p->kw; j++)
                        dst[(i * t->planes * t->kw + j) * t->rows] = *w++;
            }
}

int dl_conv_forward_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                          const float *w, const float *bias, float *y)
{
    tap_conv_t t;
    int code = forward_taps(p, d, p->groups, &t);
    if (code == DL_OK) {
        load_weights(&t, p, d, w, 0);
        code = tap_conv_run(&t, p->n, p->groups, x, bias, y);
    }
    tap_conv_free(&t);
    return code;
}

/* The dX taps: (o, i, j) flipped over dy's planes. A plane's rows are grid_width wide,
 * WP = OW + (KW-1)*DW - min(PL, PR), dy's rows at their left edge: a view reaching left of a
 * row reads the zero tail of the row above, so the grid is WP wide, not OW + 2*(KW-1)*DW as in
 * dl_conv_dx_shifted. Above dy go the kernel extent minus PT zero rows, plus one for the first
 * row's reach. */
int dl_conv_dx_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                      const float *dy, float *dx)
{
    const int64_t ey = (p->kh - 1) * p->dh;
    tap_conv_t t = {.planes = d->ocg, .h = p->oh, .w = p->ow, .hp = p->h + ey + 1,
                    .wp = grid_width(p), .top = ey - p->pt + 1, .left = 0, .m = d->cg,
                    .oh = p->h, .ow = p->w, .kh = p->kh, .kw = p->kw};
    int code = tap_conv_alloc(&t, p->groups);
    if (code == DL_OK) {
        for (int64_t i = 0; i < p->kh; i++)
            for (int64_t o = 0; o < d->ocg; o++)
                for (int64_t j = 0; j < p->kw; j++)
                    t.src[tap_index(&t, i, o, j)] =
                        o * t.hp * t.wp + (ey - i * p->dh + 1) * t.wp + p->pl - j * p->dw;
        load_weights(&t, p, d, w, 1);
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
        /* zero padded planes (alloc_padded), DIRECT_DW_CHUNK images and groups of x's, of dY's */
        float *xp = failed ? NULL : alloc_padded(DIRECT_DW_CHUNK * p->groups, 1, x_block, 0);
        float *dye = failed ? NULL : alloc_padded(DIRECT_DW_CHUNK * p->oc, 1, t.nq, 0);
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
                                t.wp, t.top, t.left, block + c * t.hp * t.wp);
            }
            for (int64_t o = 0; o < bc * p->oc; o++)
                embed_plane(p->oh, p->ow, dy + (n0 * p->oc + o) * d->ohw, t.wp, 0, 0,
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
