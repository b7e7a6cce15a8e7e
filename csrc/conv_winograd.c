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

/* out[t * stride + k], t = 0..15: (G g G^T)_t of the kernels g_k (k < len) held as nine rows,
 * g9[e * len + k] = element e of kernel k: a vector over kernels at each step. */
static void filter_rows(const float *restrict g9, int64_t len, float *restrict out,
                        int64_t stride)
{
    for (int64_t k = 0; k < len; k++) {
        float g[3][3], a[4][3];
        for (int e = 0; e < 9; e++) g[e / 3][e % 3] = g9[e * len + k];
        for (int j = 0; j < 3; j++) { /* G g: rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2 */
            a[0][j] = g[0][j];
            a[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
            a[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
            a[3][j] = g[2][j];
        }
        for (int i = 0; i < 4; i++) { /* (G g) G^T */
            out[(i * 4) * stride + k] = a[i][0];
            out[(i * 4 + 1) * stride + k] = 0.5f * (a[i][0] + a[i][1] + a[i][2]);
            out[(i * 4 + 2) * stride + k] = 0.5f * (a[i][0] - a[i][1] + a[i][2]);
            out[(i * 4 + 3) * stride + k] = a[i][2];
        }
    }
}

/* u: (16, rows, cols), u_t[r][k] = (G g G^T)_t of the kernel g = w[o][c] (OCg, Cg, 3, 3)
 * with (r, k) = (o, c); or, `flipped`, of w[o][c] turned by 180 degrees with (r, k) = (c, o).
 * Row r's kernels are gathered as nine contiguous rows first, so filter_rows runs along them. */
static int filter_transform(const float *w, int64_t ocg, int64_t cg, int flipped, float *u)
{
    const int64_t rows = flipped ? cg : ocg, cols = flipped ? ocg : cg;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (rows * cols * TAPS > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *g9 = alloc_floats(9 * cols);
        failed = !g9;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            if (!g9) continue;
            for (int64_t k = 0; k < cols; k++) {
                const float *kernel = w + (flipped ? k * cg + r : r * cg + k) * 9;
                for (int e = 0; e < 9; e++) g9[e * cols + k] = kernel[flipped ? 8 - e : e];
            }
            filter_rows(g9, cols, u + r * cols, rows * cols);
        }
        free(g9);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* dw: (OCg, Cg, 3, 3) = G^T du G of du: (16, OCg, Cg), a block of kernels at a time: each
 * step a vector along the block, the nine results then stored kernel by kernel. */
static void filter_gradient(const float *du, int64_t ocg, int64_t cg, float *dw)
{
    enum { BLOCK = 64 };
    const int64_t stride = ocg * cg;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (stride * TAPS > PARALLEL_MIN_FLOATS)
    for (int64_t t0 = 0; t0 < stride; t0 += BLOCK) {
        const int64_t len = stride - t0 < BLOCK ? stride - t0 : BLOCK;
        float res[9][BLOCK];
        for (int64_t k = 0; k < len; k++) {
            float z[4][4], a[3][4];
            for (int e = 0; e < TAPS; e++) z[e / 4][e % 4] = du[e * stride + t0 + k];
            for (int j = 0; j < 4; j++) { /* G^T z: z0 + (z1+z2)/2, (z1-z2)/2, (z1+z2)/2 + z3 */
                a[0][j] = z[0][j] + 0.5f * (z[1][j] + z[2][j]);
                a[1][j] = 0.5f * (z[1][j] - z[2][j]);
                a[2][j] = 0.5f * (z[1][j] + z[2][j]) + z[3][j];
            }
            for (int i = 0; i < 3; i++) {
                res[i * 3][k] = a[i][0] + 0.5f * (a[i][1] + a[i][2]);
                res[i * 3 + 1][k] = 0.5f * (a[i][1] - a[i][2]);
                res[i * 3 + 2][k] = 0.5f * (a[i][1] + a[i][2]) + a[i][3];
            }
        }
        for (int64_t k = 0; k < len; k++)
            for (int e = 0; e < 9; e++) dw[(t0 + k) * 9 + e] = res[e][k];
    }
}

/* Channels-last copies: the transforms then run along channels, contiguous vectors of any
 * plane size (a VGG's 2x2 and 4x4 planes have a few tiles each, far too few to vectorise over).
 * to_channels_last: buf (hp, wp, cn) = planes c0..c0+cn-1 of src (C, h, w) placed at row top,
 * column left, the rest of buf zero. */
static void to_channels_last(const float *src, int64_t h, int64_t w, int64_t c0, int64_t cn,
                             int64_t hp, int64_t wp, int64_t top, int64_t left, float *buf)
{
    memset(buf, 0, sizeof(float) * hp * wp * cn);
    for (int64_t c = 0; c < cn; c++) {
        const float *plane = src + (c0 + c) * h * w;
        for (int64_t r = 0; r < h; r++) {
            float *row = buf + ((top + r) * wp + left) * cn + c;
            for (int64_t k = 0; k < w; k++) row[k * cn] = plane[r * w + k];
        }
    }
}

/* v: (16, P, src_g), tile p = b*th*tw + ty*tw + tx of the chunk: B^T d B of the 4x4 patch at
 * source row 2ty - top, column 2tx - left (zero outside the plane) of channels c0.. of images
 * n0..n0+bc-1. B^T's combinations of a tile row's four rows first (whole rows), then of their
 * columns. Threads take images; each holds its image channels-last, plus the combined rows. */
static int input_transform(const wino_t *q, const float *src, int64_t c0, int64_t n0, int64_t bc,
                           float *v)
{
    const int64_t hp = 2 * q->th + 2, wp = 2 * q->tw + 2, tiles = q->th * q->tw, cn = q->src_g;
    const int64_t pn = bc * tiles, row = wp * cn, tap = pn * cn;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (bc * tiles * TAPS * cn > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *buf = alloc_floats(hp * row + 4 * row);
        failed = !buf;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++) {
            if (!buf) continue;
            to_channels_last(src + (n0 + b) * q->src_c * q->sh * q->sw, q->sh, q->sw, c0, cn,
                             hp, wp, q->top, q->left, buf);
            float *comb = buf + hp * row;
            for (int64_t ty = 0; ty < q->th; ty++) {
                const float *restrict r0 = buf + 2 * ty * row, *restrict r1 = r0 + row;
                const float *restrict r2 = r1 + row, *restrict r3 = r2 + row;
                float *restrict a0 = comb, *restrict a1 = a0 + row, *restrict a2 = a1 + row;
                float *restrict a3 = a2 + row;
                for (int64_t k = 0; k < row; k++) {
                    a0[k] = r0[k] - r2[k];
                    a1[k] = r1[k] + r2[k];
                    a2[k] = r2[k] - r1[k];
                    a3[k] = r1[k] - r3[k];
                }
                for (int64_t tx = 0; tx < q->tw; tx++) {
                    const int64_t p = b * tiles + ty * q->tw + tx;
                    for (int i = 0; i < 4; i++) {
                        const float *restrict e0 = comb + i * row + 2 * tx * cn;
                        const float *restrict e1 = e0 + cn, *restrict e2 = e1 + cn;
                        const float *restrict e3 = e2 + cn;
                        float *restrict o0 = v + (i * 4) * tap + p * cn, *restrict o1 = o0 + tap;
                        float *restrict o2 = o1 + tap, *restrict o3 = o2 + tap;
                        for (int64_t c = 0; c < cn; c++) {
                            o0[c] = e0[c] - e2[c];
                            o1[c] = e1[c] + e2[c];
                            o2[c] = e2[c] - e1[c];
                            o3[c] = e1[c] - e3[c];
                        }
                    }
                }
            }
        }
        free(buf);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* The destination planes of channels o0.. of images n0..: A^T m A of m: (16, P, dst_g), plus
 * bias[o] (bias may be NULL); a tile's cells past the plane's edge are dropped. Each thread
 * assembles an image's tiles channels-last, then writes its planes. */
static int output_transform(const wino_t *q, const float *m, const float *bias, int64_t o0,
                            int64_t n0, int64_t bc, float *dst)
{
    const int64_t tiles = q->th * q->tw, cn = q->dst_g, pn = bc * tiles, tap = pn * cn;
    const int64_t wo = 2 * q->tw, row = wo * cn;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (bc * tiles * TAPS * cn > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *buf = alloc_floats(2 * q->th * row + 8 * cn);
        failed = !buf;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++) {
            if (!buf) continue;
            float *restrict s = buf + 2 * q->th * row; /* m A of a tile: 4 rows of 2 vectors */
            for (int64_t ty = 0; ty < q->th; ty++)
                for (int64_t tx = 0; tx < q->tw; tx++) {
                    const float *mp = m + (b * tiles + ty * q->tw + tx) * cn;
                    for (int i = 0; i < 4; i++) { /* rows of m A: m0 + m1 + m2, m1 - m2 - m3 */
                        const float *restrict e0 = mp + (i * 4) * tap, *restrict e1 = e0 + tap;
                        const float *restrict e2 = e1 + tap, *restrict e3 = e2 + tap;
                        float *restrict s0 = s + 2 * i * cn, *restrict s1 = s0 + cn;
                        for (int64_t c = 0; c < cn; c++) {
                            s0[c] = e0[c] + e1[c] + e2[c];
                            s1[c] = e1[c] - e2[c] - e3[c];
                        }
                    }
                    float *restrict y0 = buf + (2 * ty * wo + 2 * tx) * cn;
                    float *restrict y1 = y0 + row;
                    for (int j = 0; j < 2; j++)
                        for (int64_t c = 0; c < cn; c++) {
                            const float a = s[j * cn + c], bb = s[(2 + j) * cn + c];
                            const float cc = s[(4 + j) * cn + c], d = s[(6 + j) * cn + c];
                            y0[j * cn + c] = a + bb + cc;
                            y1[j * cn + c] = bb - cc - d;
                        }
                }
            for (int64_t c = 0; c < cn; c++) {
                float *plane = dst + ((n0 + b) * q->dst_c + o0 + c) * q->dh * q->dw;
                const float bo = bias ? bias[o0 + c] : 0.0f;
                for (int64_t r = 0; r < q->dh; r++)
                    for (int64_t k = 0; k < q->dw; k++)
                        plane[r * q->dw + k] = buf[(r * wo + k) * cn + c] + bo;
            }
        }
        free(buf);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* z: (16, P, ocg) = A y A^T of each 2x2 tile y of dY's planes (OC, OH, OW; zero past the
 * edge), channels o0.. of images n0..; the tiles of q (the forward pass's output tiles). */
static int gradient_transform(const wino_t *q, const float *dy, int64_t oc, int64_t oh,
                              int64_t ow, int64_t o0, int64_t ocg, int64_t n0, int64_t bc,
                              float *z)
{
    const int64_t tiles = q->th * q->tw, pn = bc * tiles, tap = pn * ocg;
    const int64_t hp = 2 * q->th, wp = 2 * q->tw, row = wp * ocg;
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) \
    if (bc * tiles * TAPS * ocg > PARALLEL_MIN_FLOATS) reduction(| : failed)
    {
        float *buf = alloc_floats(hp * row + 8 * ocg), *ay = buf ? buf + hp * row : NULL;
        failed = !buf;
#pragma omp for schedule(static)
        for (int64_t b = 0; b < bc; b++) {
            if (!buf) continue;
            to_channels_last(dy + (n0 + b) * oc * oh * ow, oh, ow, o0, ocg, hp, wp, 0, 0, buf);
            for (int64_t ty = 0; ty < q->th; ty++)
                for (int64_t tx = 0; tx < q->tw; tx++) {
                    const float *restrict ya = buf + (2 * ty * wp + 2 * tx) * ocg;
                    const float *restrict yb = ya + ocg, *restrict yc = ya + row;
                    const float *restrict yd = yc + ocg;
                    float *restrict zp = z + (b * tiles + ty * q->tw + tx) * ocg;
                    /* A y: rows y0, y0 + y1, y0 - y1, -y1, each of two channel vectors */
                    for (int64_t c = 0; c < ocg; c++) {
                        ay[c] = ya[c];
                        ay[ocg + c] = yb[c];
                        ay[2 * ocg + c] = ya[c] + yc[c];
                        ay[3 * ocg + c] = yb[c] + yd[c];
                        ay[4 * ocg + c] = ya[c] - yc[c];
                        ay[5 * ocg + c] = yb[c] - yd[c];
                        ay[6 * ocg + c] = -yc[c];
                        ay[7 * ocg + c] = -yd[c];
                    }
                    for (int i = 0; i < 4; i++) { /* each row (u, v) -> u, u + v, u - v, -v */
                        const float *restrict u = ay + 2 * i * ocg, *restrict w = u + ocg;
                        float *restrict z0 = zp + (i * 4) * tap, *restrict z1 = z0 + tap;
                        float *restrict z2 = z1 + tap, *restrict z3 = z2 + tap;
                        for (int64_t c = 0; c < ocg; c++) {
                            z0[c] = u[c];
                            z1[c] = u[c] + w[c];
                            z2[c] = u[c] - w[c];
                            z3[c] = -w[c];
                        }
                    }
                }
        }
        free(buf);
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
