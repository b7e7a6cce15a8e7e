/* conv_winograd.c: 3x3 stride-1 undilated convolution by Winograd's minimal filtering
 * F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016).
 *
 * Each 2x2 block ("tile") of outputs is Y = A^T [(G g G^T) (.) (B^T d B)] A, where d is the
 * tile's 4x4 input patch and g the 3x3 kernel: 16 multiplies where the direct form takes 36.
 * Over channels the 16 element-wise products become 16 GEMMs,
 *     M_t (tiles, OCg) = V_t (tiles, Cg) · U_t (OCg, Cg)^T,   t = 0..15,
 * so 2.25x fewer flops go through dl_sgemm, and the data it streams (V, M: 4x the planes) is
 * less than im2col's 9x. The passes share the transforms:
 *   - dX is the forward pass over dY with the kernel flipped and its channels swapped, and the
 *     padding 2 - p (a stride-1 convolution's input gradient is a convolution);
 *   - dW: Y = A^T Z A with Z = U (.) V, so dZ = A dY A^T, dU_t = sum over tiles of
 *     dZ_t^T · V_t (16 GEMMs), and dW = G^T dU G.
 * The transformed planes are kept channels-last, V_t (tiles, Cg) and M_t = V_t · U_t^T, so
 * the transforms run along contiguous channels whatever the plane size.
 * The batch goes a chunk of images at a time, sized so that the transformed planes of a chunk
 * stay near WINO_BUDGET_BYTES; dW accumulates over chunks in order, and dl_sgemm is
 * bit-identical at any thread count, so results do not depend on it. */
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "conv_internal.h"
#include "dl_kernels.h"

enum { WINO_BUDGET_BYTES = 4 << 20, TAPS = 16 };

static int winograd_mode = DL_WINOGRAD_AUTO;

int dl_conv_winograd(int mode)
{
    const int previous = winograd_mode;
    if (mode >= DL_WINOGRAD_NEVER && mode <= DL_WINOGRAD_ALWAYS) winograd_mode = mode;
    return previous;
}

/* Measured on a Zen 4 EPYC, 1 and 2 threads, against the other algorithms (batch 16-128):
 * planes too small for shifted views (im2col's columns) gain 1.3-2.9x from 16 input channels on
 * (2x2 to 8x8 planes; 7x7 with 12 channels lost); larger planes, where the views run at GEMM
 * speed, gain 1.3-1.6x from 64 channels in and out, and lost with 12-32 outputs. Tiles must
 * be 60 % used: a 3x3 plane's four tiles compute 16 outputs for 9, which leaves 1.27x fewer
 * multiplies than the direct form's, and that lost to im2col at 128-192 channels. */
int dl_conv_winograd_fits(const dl_conv2d_t *p, int64_t cg, int64_t ocg, int views)
{
    const int fits = p->kh == 3 && p->kw == 3 && p->sh == 1 && p->sw == 1 && p->dh == 1 &&
                     p->dw == 1 && p->pt <= 2 && p->pb <= 2 && p->pl <= 2 && p->pr <= 2;
    if (!fits || winograd_mode == DL_WINOGRAD_NEVER) return 0;
    if (winograd_mode == DL_WINOGRAD_ALWAYS) return 1;
    const int64_t tile_cells = 4 * ((p->oh + 1) / 2) * ((p->ow + 1) / 2);
    if (10 * p->oh * p->ow < 6 * tile_cells) return 0;
    return views ? cg >= 64 && ocg >= 64 : cg >= 16 && ocg >= 8;
}

/* The planes that one pass reads and writes: src (N, src_c, sh, sw) -> dst (N, dst_c, dh, dw),
 * group channels src_g / dst_g per group, tiles (th, tw) of dst, the padding before the source
 * (top, left), and images per chunk. */
typedef struct {
    int64_t n, src_c, sh, sw, dst_c, dh, dw, src_g, dst_g;
    int64_t th, tw, top, left, chunk;
} wino_t;

static wino_t wino_plan(int64_t n, int64_t src_c, int64_t sh, int64_t sw, int64_t dst_c,
                        int64_t dh, int64_t dw, int64_t src_g, int64_t dst_g, int64_t top,
                        int64_t left)
{
    wino_t q = {n, src_c, sh, sw, dst_c, dh, dw, src_g, dst_g, (dh + 1) / 2, (dw + 1) / 2,
                top, left, 1};
    const int64_t per_image = TAPS * (src_g + dst_g) * q.th * q.tw * (int64_t)sizeof(float);
    q.chunk = WINO_BUDGET_BYTES / per_image;
    if (q.chunk < 1) q.chunk = 1;
    if (q.chunk > n) q.chunk = n;
    return q;
}

/* Channels-last copies: the transforms then run along channels, contiguous vectors of any
 * plane size (a VGG's 2x2 and 4x4 planes have a few tiles each, far too few to vectorise over).
 * The per-image work below is written once, inlined into a function per instruction set
 * (DEFINE_WINO_PATH) and picked at run time; the 8x8 register transposes of the AVX paths
 * replaced element-by-element copies that took a third of the input transform. */
#define WINO_INLINE static inline __attribute__((always_inline))

typedef void (*transpose_fn)(const float *src, int64_t ss, float *dst, int64_t ds,
                             int64_t rows, int64_t cols);

/* dst[j * ds + i] = src[i * ss + j] for i < rows, j < cols: eight rows at a time. */
static void transpose_generic(const float *restrict src, int64_t ss, float *restrict dst,
                              int64_t ds, int64_t rows, int64_t cols)
{
    for (int64_t i0 = 0; i0 < rows; i0 += 8) {
        const int64_t i1 = i0 + 8 < rows ? i0 + 8 : rows;
        for (int64_t j = 0; j < cols; j++)
            for (int64_t i = i0; i < i1; i++) dst[j * ds + i] = src[i * ss + j];
    }
}

#if defined(__x86_64__) || defined(__i386__)
#define DEFINE_TRANSPOSE_AVX(name, TARGET)                                                      \
    TARGET static void name(const float *restrict src, int64_t ss, float *restrict dst,         \
                            int64_t ds, int64_t rows, int64_t cols)                             \
    {                                                                                           \
        int64_t i0 = 0;                                                                         \
        for (; i0 + 8 <= rows; i0 += 8) {                                                       \
            const float *s = src + i0 * ss;                                                     \
            int64_t j0 = 0;                                                                     \
            for (; j0 + 8 <= cols; j0 += 8) {                                                   \
                __m256 r[8], t[8], u[8];                                                        \
                for (int k = 0; k < 8; k++) r[k] = _mm256_loadu_ps(s + k * ss + j0);           \
                for (int k = 0; k < 8; k += 2) {                                                \
                    t[k] = _mm256_unpacklo_ps(r[k], r[k + 1]);                                  \
                    t[k + 1] = _mm256_unpackhi_ps(r[k], r[k + 1]);                              \
                }                                                                               \
                for (int k = 0; k < 8; k += 4) {                                                \
                    u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));          \
                    u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));      \
                    u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));  \
                    u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));  \
                }                                                                               \
                for (int k = 0; k < 4; k++) {                                                   \
                    _mm256_storeu_ps(dst + (j0 + k) * ds + i0,                                  \
                                     _mm256_permute2f128_ps(u[k], u[k + 4], 0x20));             \
                    _mm256_storeu_ps(dst + (j0 + 4 + k) * ds + i0,                              \
                                     _mm256_permute2f128_ps(u[k], u[k + 4], 0x31));             \
                }                                                                               \
            }                                                                                   \
            for (; j0 < cols; j0++)                                                             \
                for (int k = 0; k < 8; k++) dst[j0 * ds + i0 + k] = s[k * ss + j0];             \
        }                                                                                       \
        for (; i0 < rows; i0++)                                                                 \
            for (int64_t j = 0; j < cols; j++) dst[j * ds + i0] = src[i0 * ss + j];             \
    }
#define WINO_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define WINO_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
DEFINE_TRANSPOSE_AVX(transpose_avx2, WINO_TARGET_AVX2)
DEFINE_TRANSPOSE_AVX(transpose_avx512, WINO_TARGET_AVX512)
#endif

/* B^T's combination of four rows d0..d3 (as rows, then as columns): d0 - d2, d1 + d2,
 * d2 - d1, d1 - d3. */
WINO_INLINE void bt_rows(const float *restrict d0, const float *restrict d1,
                         const float *restrict d2, const float *restrict d3, float *restrict a0,
                         float *restrict a1, float *restrict a2, float *restrict a3, int64_t len)
{
    for (int64_t k = 0; k < len; k++) {
        a0[k] = d0[k] - d2[k];
        a1[k] = d1[k] + d2[k];
        a2[k] = d2[k] - d1[k];
        a3[k] = d1[k] - d3[k];
    }
}

/* A^T's: m0 + m1 + m2, m1 - m2 - m3. */
WINO_INLINE void at_rows(const float *restrict m0, const float *restrict m1,
                         const float *restrict m2, const float *restrict m3, float *restrict s0,
                         float *restrict s1, int64_t len)
{
    for (int64_t k = 0; k < len; k++) {
        s0[k] = m0[k] + m1[k] + m2[k];
        s1[k] = m1[k] - m2[k] - m3[k];
    }
}

/* A's of a pair (u, v): u, u + v, u - v, -v. */
WINO_INLINE void a_rows(const float *restrict u, const float *restrict v, float *restrict z0,
                        float *restrict z1, float *restrict z2, float *restrict z3, int64_t len)
{
    for (int64_t k = 0; k < len; k++) {
        z0[k] = u[k];
        z1[k] = u[k] + v[k];
        z2[k] = u[k] - v[k];
        z3[k] = -v[k];
    }
}

/* G's combination of three rows: g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2. */
WINO_INLINE void g_rows(const float *restrict g0, const float *restrict g1,
                        const float *restrict g2, float *restrict a0, float *restrict a1,
                        float *restrict a2, float *restrict a3, int64_t len)
{
    for (int64_t k = 0; k < len; k++) {
        a0[k] = g0[k];
        a1[k] = 0.5f * (g0[k] + g1[k] + g2[k]);
        a2[k] = 0.5f * (g0[k] - g1[k] + g2[k]);
        a3[k] = g2[k];
    }
}

/* G^T's of four: z0 + (z1 + z2) / 2, (z1 - z2) / 2, (z1 + z2) / 2 + z3. */
WINO_INLINE void gt_rows(const float *restrict z0, const float *restrict z1,
                         const float *restrict z2, const float *restrict z3, float *restrict a0,
                         float *restrict a1, float *restrict a2, int64_t len)
{
    for (int64_t k = 0; k < len; k++) {
        a0[k] = z0[k] + 0.5f * (z1[k] + z2[k]);
        a1[k] = 0.5f * (z1[k] - z2[k]);
        a2[k] = 0.5f * (z1[k] + z2[k]) + z3[k];
    }
}

/* Row r of u: (16, rows, cols): u_t[r][k] = (G g G^T)_t of the kernel g = w[r][k] (OCg, Cg,
 * 3, 3), or, `flipped`, of w[k][r] turned by 180 degrees. The row's kernels are turned into
 * nine rows of `cols` (element e of each kernel), so G's combinations run along them; work
 * holds 21 * cols floats. */
WINO_INLINE void filter_row(const float *w, int64_t ocg, int64_t cg, int flipped, int64_t r,
                            float *work, float *u, transpose_fn transpose)
{
    const int64_t rows = flipped ? cg : ocg, cols = flipped ? ocg : cg;
    float *g9 = work, *a = work + 9 * cols;
    if (flipped)
        transpose(w + r * 9, cg * 9, g9, cols, cols, 9);
    else
        transpose(w + r * cg * 9, 9, g9, cols, cols, 9);
#define G9(e) (g9 + (flipped ? 8 - (e) : (e)) * cols)
#define A(i, j) (a + (3 * (i) + (j)) * cols)
    for (int j = 0; j < 3; j++) /* G g, column by column */
        g_rows(G9(j), G9(3 + j), G9(6 + j), A(0, j), A(1, j), A(2, j), A(3, j), cols);
    for (int i = 0; i < 4; i++) { /* then (G g) G^T, row by row */
        float *out = u + (4 * i) * rows * cols + r * cols;
        g_rows(A(i, 0), A(i, 1), A(i, 2), out, out + rows * cols, out + 2 * rows * cols,
               out + 3 * rows * cols, cols);
    }
#undef G9
#undef A
}

enum { FILTER_BLOCK = 64 };

/* Kernels t0..t0+len-1 (len <= FILTER_BLOCK) of dw = G^T du G, du: (16, stride): the 16 taps
 * are rows along the kernels already; the nine results are turned back kernel by kernel.
 * work holds 21 * FILTER_BLOCK floats. */
WINO_INLINE void filter_gradient_block(const float *du, int64_t stride, int64_t t0, int64_t len,
                                       float *work, float *dw, transpose_fn transpose)
{
    float *a = work, *res = work + 12 * FILTER_BLOCK;
#define Z(i, j) (du + (4 * (i) + (j)) * stride + t0)
#define A(i, j) (a + (4 * (i) + (j)) * FILTER_BLOCK)
    for (int j = 0; j < 4; j++) /* G^T z, column by column */
        gt_rows(Z(0, j), Z(1, j), Z(2, j), Z(3, j), A(0, j), A(1, j), A(2, j), len);
    for (int i = 0; i < 3; i++) /* then (G^T z) G, row by row */
        gt_rows(A(i, 0), A(i, 1), A(i, 2), A(i, 3), res + (3 * i) * FILTER_BLOCK,
                res + (3 * i + 1) * FILTER_BLOCK, res + (3 * i + 2) * FILTER_BLOCK, len);
#undef Z
#undef A
    transpose(res, FILTER_BLOCK, dw + t0 * 9, 9, 9, len);
}

/* buf (hp, wp, cn) = the cn planes of src (cn, h, w) placed at row top, column left, the rest
 * zero; tmp holds h * w * cn floats (unused when the planes fill buf). */
WINO_INLINE void to_channels_last(const float *src, int64_t h, int64_t w, int64_t cn,
                                  int64_t hp, int64_t wp, int64_t top, int64_t left, float *tmp,
                                  float *buf, transpose_fn transpose)
{
    if (top == 0 && left == 0 && hp == h && wp == w) {
        transpose(src, h * w, buf, cn, cn, h * w);
        return;
    }
    transpose(src, h * w, tmp, cn, cn, h * w);
    memset(buf, 0, sizeof(float) * hp * wp * cn);
    for (int64_t r = 0; r < h; r++)
        memcpy(buf + ((top + r) * wp + left) * cn, tmp + r * w * cn, sizeof(float) * w * cn);
}

/* The floats of scratch each thread needs for one image of each transform. */
static int64_t input_scratch(const wino_t *q)
{
    return q->sh * q->sw * q->src_g + (2 * q->th + 6) * (2 * q->tw + 2) * q->src_g;
}

static int64_t output_scratch(const wino_t *q) { return (2 * q->th * 2 * q->tw + 8) * q->dst_g; }

static int64_t gradient_scratch(const wino_t *q, int64_t oh, int64_t ow, int64_t ocg)
{
    return (oh * ow + 2 * q->th * 2 * q->tw + 8) * ocg;
}

/* v: (16, P, src_g) for image b of the chunk (P = tap / src_g tiles): B^T d B of
 * the 4x4 patch at source row 2ty - top, column 2tx - left (zero outside the plane) of the
 * planes `img` (src_g, sh, sw). B^T's combinations of a tile row's four rows first (whole
 * rows), then of their columns. */
WINO_INLINE void input_image(const wino_t *q, const float *img, int64_t b, int64_t tap,
                             float *work, float *v, transpose_fn transpose)
{
    const int64_t hp = 2 * q->th + 2, wp = 2 * q->tw + 2, cn = q->src_g, row = wp * cn;
    float *buf = work + q->sh * q->sw * cn, *comb = buf + hp * row;
    to_channels_last(img, q->sh, q->sw, cn, hp, wp, q->top, q->left, work, buf, transpose);
    for (int64_t ty = 0; ty < q->th; ty++) {
        const float *r0 = buf + 2 * ty * row;
        bt_rows(r0, r0 + row, r0 + 2 * row, r0 + 3 * row, comb, comb + row, comb + 2 * row,
                comb + 3 * row, row);
        for (int64_t tx = 0; tx < q->tw; tx++) {
            float *vp = v + (b * q->th * q->tw + ty * q->tw + tx) * cn;
            for (int i = 0; i < 4; i++) {
                const float *e = comb + i * row + 2 * tx * cn;
                float *o = vp + (i * 4) * tap;
                bt_rows(e, e + cn, e + 2 * cn, e + 3 * cn, o, o + tap, o + 2 * tap, o + 3 * tap,
                        cn);
            }
        }
    }
}

/* The planes `out` (dst_g, dh, dw) of image b of the chunk: A^T m A of m: (16, P, dst_g),
 * plus bias (NULL: none); a tile's cells past the plane's edge are dropped. The tiles are
 * assembled channels-last in work, then turned into planes. */
WINO_INLINE void output_image(const wino_t *q, const float *m, const float *bias, int64_t b,
                              int64_t tap, float *work, float *out, transpose_fn transpose)
{
    const int64_t cn = q->dst_g, wo = 2 * q->tw, row = wo * cn, plane = q->dh * q->dw;
    float *s = work + 2 * q->th * row; /* m A of a tile: 4 rows of 2 vectors */
    for (int64_t ty = 0; ty < q->th; ty++)
        for (int64_t tx = 0; tx < q->tw; tx++) {
            const float *mp = m + (b * q->th * q->tw + ty * q->tw + tx) * cn;
            for (int i = 0; i < 4; i++) {
                const float *e = mp + (i * 4) * tap;
                at_rows(e, e + tap, e + 2 * tap, e + 3 * tap, s + 2 * i * cn,
                        s + (2 * i + 1) * cn, cn);
            }
            float *y0 = work + (2 * ty * wo + 2 * tx) * cn, *y1 = y0 + row;
            for (int j = 0; j < 2; j++)
                at_rows(s + j * cn, s + (2 + j) * cn, s + (4 + j) * cn, s + (6 + j) * cn,
                        y0 + j * cn, y1 + j * cn, cn);
        }
    if (wo == q->dw)
        transpose(work, cn, out, plane, plane, cn);
    else
        for (int64_t r = 0; r < q->dh; r++)
            transpose(work + r * row, cn, out + r * q->dw, plane, q->dw, cn);
    if (bias)
        for (int64_t c = 0; c < cn; c++) {
            float *restrict pl = out + c * plane;
            const float bo = bias[c];
            for (int64_t k = 0; k < plane; k++) pl[k] += bo;
        }
}

/* z: (16, P, ocg) for image b of the chunk: A y A^T of each 2x2 tile y of the planes `img`
 * (ocg, oh, ow; zero past the edge), on the tiles of q. */
WINO_INLINE void gradient_image(const wino_t *q, const float *img, int64_t oh, int64_t ow,
                                int64_t ocg, int64_t b, int64_t tap, float *work, float *z,
                                transpose_fn transpose)
{
    const int64_t hp = 2 * q->th, wp = 2 * q->tw, row = wp * ocg;
    float *buf = work + oh * ow * ocg, *ay = buf + hp * row;
    to_channels_last(img, oh, ow, ocg, hp, wp, 0, 0, work, buf, transpose);
    for (int64_t ty = 0; ty < q->th; ty++)
        for (int64_t tx = 0; tx < q->tw; tx++) {
            const float *ya = buf + (2 * ty * wp + 2 * tx) * ocg, *yc = ya + row;
            float *zp = z + (b * q->th * q->tw + ty * q->tw + tx) * ocg;
            /* A y: rows (ya, yb), (ya + yc, yb + yd), (ya - yc, yb - yd), (-yc, -yd) */
            a_rows(ya, yc, ay, ay + 2 * ocg, ay + 4 * ocg, ay + 6 * ocg, ocg);
            a_rows(ya + ocg, yc + ocg, ay + ocg, ay + 3 * ocg, ay + 5 * ocg, ay + 7 * ocg, ocg);
            for (int i = 0; i < 4; i++) { /* then (A y) A^T, row by row */
                const float *u = ay + 2 * i * ocg;
                float *o = zp + (i * 4) * tap;
                a_rows(u, u + ocg, o, o + tap, o + 2 * tap, o + 3 * tap, ocg);
            }
        }
}

typedef void (*input_image_fn)(const wino_t *, const float *, int64_t, int64_t, float *,
                               float *);
typedef void (*output_image_fn)(const wino_t *, const float *, const float *, int64_t, int64_t,
                                float *, float *);
typedef void (*gradient_image_fn)(const wino_t *, const float *, int64_t, int64_t, int64_t,
                                  int64_t, int64_t, float *, float *);
typedef void (*filter_row_fn)(const float *, int64_t, int64_t, int, int64_t, float *, float *);
typedef void (*filter_gradient_fn)(const float *, int64_t, int64_t, int64_t, float *, float *);
typedef struct {
    input_image_fn input;
    output_image_fn output;
    gradient_image_fn gradient;
    filter_row_fn filter;
    filter_gradient_fn filter_gradient;
} wino_path_t;

#define DEFINE_WINO_PATH(sfx, TARGET, transpose)                                                \
    TARGET static void input_image_##sfx(const wino_t *q, const float *img, int64_t b,         \
                                         int64_t tap, float *work, float *v)                    \
    {                                                                                           \
        input_image(q, img, b, tap, work, v, transpose);                                        \
    }                                                                                           \
    TARGET static void output_image_##sfx(const wino_t *q, const float *m, const float *bias,  \
                                          int64_t b, int64_t tap, float *work, float *out)      \
    {                                                                                           \
        output_image(q, m, bias, b, tap, work, out, transpose);                                 \
    }                                                                                           \
    TARGET static void gradient_image_##sfx(const wino_t *q, const float *img, int64_t oh,     \
                                            int64_t ow, int64_t ocg, int64_t b, int64_t tap,    \
                                            float *work, float *z)                              \
    {                                                                                           \
        gradient_image(q, img, oh, ow, ocg, b, tap, work, z, transpose);                        \
    }                                                                                           \
    TARGET static void filter_row_##sfx(const float *w, int64_t ocg, int64_t cg, int flipped,   \
                                        int64_t r, float *work, float *u)                       \
    {                                                                                           \
        filter_row(w, ocg, cg, flipped, r, work, u, transpose);                                 \
    }                                                                                           \
    TARGET static void filter_gradient_##sfx(const float *du, int64_t stride, int64_t t0,       \
                                             int64_t len, float *work, float *dw)               \
    {                                                                                           \
        filter_gradient_block(du, stride, t0, len, work, dw, transpose);                        \
    }

DEFINE_WINO_PATH(generic, , transpose_generic)
#if defined(__x86_64__) || defined(__i386__)
DEFINE_WINO_PATH(avx2, WINO_TARGET_AVX2, transpose_avx2)
DEFINE_WINO_PATH(avx512, WINO_TARGET_AVX512, transpose_avx512)
#endif

static wino_path_t wino_path(void)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512:
        return (wino_path_t){input_image_avx512, output_image_avx512, gradient_image_avx512,
                             filter_row_avx512, filter_gradient_avx512};
    case DL_CPU_AVX2:
        return (wino_path_t){input_image_avx2, output_image_avx2, gradient_image_avx2,
                             filter_row_avx2, filter_gradient_avx2};
    }
#endif
    return (wino_path_t){input_image_generic, output_image_generic, gradient_image_generic,
                             filter_row_generic, filter_gradient_generic};
}

/* u: (16, rows, cols) of the kernels w (OCg, Cg, 3, 3): (r, k) = (o, c), or, `flipped`, the
 * kernels turned by 180 degrees with (r, k) = (c, o) (see filter_row). */
static int filter_transform(const float *w, int64_t ocg, int64_t cg, int flipped, float *u)
{
    const wino_path_t path = wino_path();
    const int64_t rows = flipped ? cg : ocg, cols = flipped ? ocg : cg;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (rows * cols * TAPS > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *work = alloc_floats(21 * cols);
        failed = !work;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++)
            if (work) path.filter(w, ocg, cg, flipped, r, work, u);
        free(work);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* dw: (OCg, Cg, 3, 3) = G^T du G of du: (16, OCg, Cg), a block of kernels at a time. */
static void filter_gradient(const float *du, int64_t ocg, int64_t cg, float *dw)
{
    const wino_path_t path = wino_path();
    const int64_t stride = ocg * cg;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (stride * TAPS > PARALLEL_MIN_FLOATS)
    for (int64_t t0 = 0; t0 < stride; t0 += FILTER_BLOCK) {
        float work[21 * FILTER_BLOCK];
        path.filter_gradient(du, stride, t0, stride - t0 < FILTER_BLOCK ? stride - t0 : FILTER_BLOCK,
                             work, dw);
    }
}

/* v: (16, P, src_g), tile p = b*th*tw + ty*tw + tx of the chunk, from channels c0.. of images
 * n0..n0+bc-1; threads take images. */
static int input_transform(const wino_t *q, const float *src, int64_t c0, int64_t n0, int64_t bc,
                           float *v)
{
    const wino_path_t path = wino_path();
    const int64_t plane = q->sh * q->sw, tap = bc * q->th * q->tw * q->src_g;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (tap * TAPS > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *work = alloc_floats(input_scratch(q));
        failed = !work;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++)
            if (work) path.input(q, src + ((n0 + b) * q->src_c + c0) * plane, b, tap, work, v);
        free(work);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* The destination planes of channels o0.. of images n0..: A^T m A of m: (16, P, dst_g), plus
 * bias[o] (bias may be NULL). */
static int output_transform(const wino_t *q, const float *m, const float *bias, int64_t o0,
                            int64_t n0, int64_t bc, float *dst)
{
    const wino_path_t path = wino_path();
    const int64_t tap = bc * q->th * q->tw * q->dst_g, plane = q->dh * q->dw;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (tap * TAPS > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *work = alloc_floats(output_scratch(q));
        failed = !work;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++)
            if (work)
                path.output(q, m, bias ? bias + o0 : NULL, b, tap, work,
                            dst + ((n0 + b) * q->dst_c + o0) * plane);
        free(work);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* z: (16, P, ocg) = A y A^T of each 2x2 tile y of dY's planes (OC, OH, OW; zero past the
 * edge), channels o0.. of images n0..; the tiles of q (the forward pass's output tiles). */
static int gradient_transform(const wino_t *q, const float *dy, int64_t oc, int64_t oh,
                              int64_t ow, int64_t o0, int64_t ocg, int64_t n0, int64_t bc,
                              float *z)
{
    const wino_path_t path = wino_path();
    const int64_t tap = bc * q->th * q->tw * ocg;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (tap * TAPS > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *work = alloc_floats(gradient_scratch(q, oh, ow, ocg));
        failed = !work;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++)
            if (work)
                path.gradient(q, dy + ((n0 + b) * oc + o0) * oh * ow, oh, ow, ocg, b, tap, work,
                              z);
        free(work);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* The 16 GEMMs of a chunk, c_t = op(a_t) · op(b_t) (+ c_t when beta = 1), matrix t of each
 * operand `step` floats after matrix t - 1. Threads take whole taps with serial GEMMs: 16
 * GEMMs of a few hundred rows split evenly, where threading each one cut it too finely (a
 * VGG step gained 1.05x from a second thread so, against 1.3x now). Each c_t is one GEMM's,
 * whatever the thread count. */
typedef struct {
    int trans_a, trans_b;
    int64_t m, n, k;
    const float *a;
    int64_t lda, a_step;
    const float *b;
    int64_t ldb, b_step;
    float beta;
    float *c;
    int64_t ldc, c_step;
} tap_gemms_t;

static int tap_gemms(const tap_gemms_t *g)
{
    int code = DL_OK;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) reduction(min : code) \
    if (2 * g->m * g->n * g->k * TAPS > PARALLEL_MIN_FLOATS * 64)
    for (int t = 0; t < TAPS; t++) {
        const int r = dl_sgemm(g->trans_a, g->trans_b, g->m, g->n, g->k, 1.0f,
                               g->a + t * g->a_step, g->lda, g->b + t * g->b_step, g->ldb,
                               g->beta, g->c + t * g->c_step, g->ldc);
        code = r < code ? r : code;
    }
    return code;
}

/* dst = the convolution of src by the transformed kernels u: (16, dst_g, src_g) per group
 * (u_of(g) computes them into u), plus bias: the forward pass and dX. */
static int winograd_conv(const wino_t *q, int64_t groups, const float *w, int64_t wocg,
                         int64_t wcg, int flipped, const float *src, const float *bias, float *dst)
{
    const int64_t tiles = q->th * q->tw, cap = q->chunk * tiles;
    float *u = alloc_floats(TAPS * q->dst_g * q->src_g);
    float *v = alloc_floats(TAPS * q->src_g * cap), *m = alloc_floats(TAPS * q->dst_g * cap);
    int code = u && v && m ? DL_OK : DL_ENOMEM;
    for (int64_t g = 0; g < groups && code == DL_OK; g++) {
        code = filter_transform(w + g * wocg * wcg * 9, wocg, wcg, flipped, u);
        for (int64_t n0 = 0; n0 < q->n && code == DL_OK; n0 += q->chunk) {
            const int64_t bc = n0 + q->chunk <= q->n ? q->chunk : q->n - n0, pn = bc * tiles;
            code = input_transform(q, src, g * q->src_g, n0, bc, v);
            if (code == DL_OK)  /* m_t (P, dst_g) = v_t · u_t^T */
                code = tap_gemms(&(tap_gemms_t){0, 1, pn, q->dst_g, q->src_g,
                                                v, q->src_g, pn * q->src_g,
                                                u, q->src_g, q->dst_g * q->src_g,
                                                0.0f, m, q->dst_g, pn * q->dst_g});
            if (code == DL_OK) code = output_transform(q, m, bias, g * q->dst_g, n0, bc, dst);
        }
    }
    free(u);
    free(v);
    free(m);
    return code;
}

int dl_conv_forward_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                             const float *w, const float *bias, float *y)
{
    const wino_t q = wino_plan(p->n, p->c, p->h, p->w, p->oc, p->oh, p->ow, d->cg, d->ocg,
                               p->pt, p->pl);
    return winograd_conv(&q, p->groups, w, d->ocg, d->cg, 0, x, bias, y);
}

int dl_conv_dx_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                        const float *dy, float *dx)
{
    const wino_t q = wino_plan(p->n, p->oc, p->oh, p->ow, p->c, p->h, p->w, d->ocg, d->cg,
                               2 - p->pt, 2 - p->pl);
    return winograd_conv(&q, p->groups, w, d->ocg, d->cg, 1, dy, NULL, dx);
}

int dl_conv_dw_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                        const float *dy, float *dw)
{
    const wino_t q = wino_plan(p->n, p->c, p->h, p->w, p->oc, p->oh, p->ow, d->cg, d->ocg,
                               p->pt, p->pl);
    const int64_t tiles = q.th * q.tw, cap = q.chunk * tiles;
    float *du = alloc_floats(TAPS * d->ocg * d->cg);
    float *v = alloc_floats(TAPS * d->cg * cap), *z = alloc_floats(TAPS * d->ocg * cap);
    int code = du && v && z ? DL_OK : DL_ENOMEM;
    for (int64_t g = 0; g < p->groups && code == DL_OK; g++) {
        for (int64_t n0 = 0; n0 < p->n && code == DL_OK; n0 += q.chunk) {
            const int64_t bc = n0 + q.chunk <= p->n ? q.chunk : p->n - n0, pn = bc * tiles;
            code = input_transform(&q, x, g * d->cg, n0, bc, v);
            if (code != DL_OK) break;
            code = gradient_transform(&q, dy, p->oc, p->oh, p->ow, g * d->ocg, d->ocg, n0, bc, z);
            if (code == DL_OK)  /* du_t += z_t^T · v_t */
                code = tap_gemms(&(tap_gemms_t){1, 0, d->ocg, d->cg, pn,
                                                z, d->ocg, pn * d->ocg, v, d->cg, pn * d->cg,
                                                n0 == 0 ? 0.0f : 1.0f, du, d->cg,
                                                d->ocg * d->cg});
        }
        if (code == DL_OK) filter_gradient(du, d->ocg, d->cg, dw + g * d->ocg * d->cg * 9);
    }
    free(du);
    free(v);
    free(z);
    return code;
}
