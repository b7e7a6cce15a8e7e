/* conv_shifted.c: stride-1 convolution without a column matrix, for many channels per group:
 * the forward pass and dX as GEMMs over shifted views of padded planes, dW by a transposed
 * column matrix gathered from channels-last padded planes (below; conv.c dispatches).
 *
 * Embed an image's planes in zero-padded planes (HP, WP) and compute outputs on the wider grid
 * (OH, WP); then kernel tap (i, j) reads every output's input at one offset i*DH*WP + j*DW, so
 * the columns of tap (i, j) are a strided view (cg, OH*WP) of the padded planes and
 *     y_ext = sum over taps of W_ij · view_ij,   W_ij: (OC/g, cg) = w[:, :, i, j],
 * KH*KW GEMMs of depth cg, the last WP - OW columns of each output row being discarded. dX is
 * the same with dY embedded in planes padded by the kernel extent minus the padding, and the
 * taps flipped. No column matrix goes through memory, which is what bounds im2col for large
 * layers; it needs cg large enough (SHIFTED_MIN_CHANNELS) for GEMMs of depth cg to run well. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

/* wr: (KH*KW, OC, cg) = w: (OC, cg, KH, KW) with the tap index outermost */
static void repack_taps(const dl_conv2d_t *p, const conv_dims_t *d, const float *w, float *wr)
{
    const int64_t kk = p->kh * p->kw;
    for (int64_t t = 0; t < kk; t++)
        for (int64_t o = 0; o < p->oc; o++)
            for (int64_t c = 0; c < d->cg; c++)
                wr[(t * p->oc + o) * d->cg + c] = w[(o * d->cg + c) * kk + t];
}

/* embed_plane for each of `planes` planes, src: (planes, h, w) -> dst: (planes, ld_plane),
 * zero padded (alloc_padded) */
static void embed_planes(int64_t planes, int64_t h, int64_t w, const float *src, int64_t wp,
                         int64_t ld_plane, int64_t top, int64_t left, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * ld_plane > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        embed_plane(h, w, src + t * h * w, wp, top, left, dst + t * ld_plane);
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

/* The shifted-view passes give each thread whole images (and groups) with serial GEMMs: a
 * parallel region per GEMM costs a thread wake-up (OMP_WAIT_POLICY=PASSIVE) per tap and
 * image. A single image and group leaves the threads to the GEMMs. dl_sgemm gives the same
 * bits serially and threaded (and runs serially inside our parallel region), so neither
 * choice depends on the thread count. */

/* y_ext: (OC/g, OH*WP) of each image and group from the KH*KW tap GEMMs over the views of xp,
 * x's planes padded to (HP, WP). */
int dl_conv_forward_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
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
int dl_conv_dx_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
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

/* dW by the transposed column matrix of each image, taps outermost: row (oy, ox) of colt holds,
 * tap after tap, the cg channels of x's padded, channels-last planes at the tap's input
 * position, so each piece is one contiguous copy and
 *     dwt_g: (OC/g, KH*KW*cg) += dY_img: (OC/g, OH*OW) · colt: (OH*OW, KH*KW*cg)
 * is an NN GEMM reading colt in place (im2col's columns need a transposing pack: ResNet's 3x3
 * dW ran 1.3x faster this way). colt is built a block of output rows at a time (DW_COLT_BYTES,
 * L2-resident), each block one GEMM of depth rows*OW. The batch is cut into DW_PARTS fixed
 * parts, each summed in image order into its own partial by one thread with serial GEMMs (a
 * single image leaves the threads to its GEMMs), the partials then added in part order:
 * neither the cut nor any sum depends on the thread count.
 *
 * On AVX-512 (and with DW == 1, and tile-sized channel counts) there is no column matrix at
 * all: with xt's rows WP = grid_width wide, output (oy, ox) reads tap (i, j) at row
 * q + i*DH*WP + j of xt, q = oy*WP + ox its place on the wide grid of conv_direct.c, so the KW
 * taps of kernel row i are the KW*cg contiguous floats from row q + i*DH*WP, and
 *     dwt_g[:, i*KW*cg..] += dY: (OC/g, OH*OW) · xt's rows q + i*DH*WP: (OH*OW, KW*cg)
 * reads dY and xt in place, xt's rows cg apart: no embedded copy of dY, no work on the grid's
 * columns past OW. Tiles of DW_ROWS x DW_COLS keep 24 of the 32 registers accumulating over
 * an image's outputs (ResNet's 3x3 dW ran 1.15x faster than through colt), and prefetch the
 * next image's x and dY into L2 meanwhile. */
enum { DW_PARTS = 4, DW_COLT_BYTES = 512 << 10, DW_ROWS = 8, DW_COLS = 48 };

/* dst[q*ldd + c] = src[c*lds + q] for c < rows, q < cols */
static void transpose_block(const float *src, int64_t lds, int64_t rows, int64_t cols,
                            float *dst, int64_t ldd)
{
    for (int64_t c = 0; c < rows; c++)
        for (int64_t q = 0; q < cols; q++) dst[q * ldd + c] = src[c * lds + q];
}

enum { TRANSPOSE_TILE = 16 };

#if defined(__x86_64__) || defined(__i386__)
/* transpose_block of TRANSPOSE_TILE x TRANSPOSE_TILE floats in registers: four rounds of
 * two-source permutes, round b swapping the off-diagonal b x b blocks of every 2b x 2b block
 * (ResNet's 3x3 dW spent 6% transposing a float at a time, now 2%) */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
static void transpose_tile_avx512(const float *src, int64_t lds, float *dst, int64_t ldd)
{
    __m512 v[TRANSPOSE_TILE];
#pragma GCC unroll 16
    for (int i = 0; i < TRANSPOSE_TILE; i++) v[i] = _mm512_loadu_ps(src + i * lds);
#pragma GCC unroll 4
    for (int b = TRANSPOSE_TILE / 2; b >= 1; b /= 2) {
        int32_t lo[TRANSPOSE_TILE], hi[TRANSPOSE_TILE];
        for (int k = 0; k < TRANSPOSE_TILE; k++) {
            lo[k] = k & b ? TRANSPOSE_TILE + k - b : k;
            hi[k] = k & b ? TRANSPOSE_TILE + k : k + b;
        }
        const __m512i index_lo = _mm512_loadu_si512(lo), index_hi = _mm512_loadu_si512(hi);
#pragma GCC unroll 16
        for (int i = 0; i < TRANSPOSE_TILE; i++)
            if (!(i & b)) {
                const __m512 top = v[i], bottom = v[i + b];
                v[i] = _mm512_permutex2var_ps(top, index_lo, bottom);
                v[i + b] = _mm512_permutex2var_ps(top, index_hi, bottom);
            }
    }
#pragma GCC unroll 16
    for (int i = 0; i < TRANSPOSE_TILE; i++) _mm512_storeu_ps(dst + i * ldd, v[i]);
}
#endif

/* xt: (HP*WP, cg) = the cg planes x_g: (cg, H, W) embedded as in embed_plane (xt's padding
 * zero), channels last: tiles of TRANSPOSE_TILE planes and columns of a row at a time, whose
 * rows of xt stay in L1; whole tiles by transpose_tile_avx512 on that path */
static void embed_channels_last(const dl_conv2d_t *p, int64_t cg, const float *x_g, int64_t wp,
                                float *xt)
{
    const int64_t hw = p->h * p->w;
#if defined(__x86_64__) || defined(__i386__)
    const int avx512 = dl_cpu_path() == DL_CPU_AVX512;
#endif
    for (int64_t r = 0; r < p->h; r++)
        for (int64_t q0 = 0; q0 < p->w; q0 += TRANSPOSE_TILE)
            for (int64_t c0 = 0; c0 < cg; c0 += TRANSPOSE_TILE) {
                const int64_t cols = p->w - q0 < TRANSPOSE_TILE ? p->w - q0 : TRANSPOSE_TILE;
                const int64_t rows = cg - c0 < TRANSPOSE_TILE ? cg - c0 : TRANSPOSE_TILE;
                const float *src = x_g + c0 * hw + r * p->w + q0;
                float *dst = xt + ((r + p->pt) * wp + p->pl + q0) * cg + c0;
#if defined(__x86_64__) || defined(__i386__)
                if (avx512 && rows == TRANSPOSE_TILE && cols == TRANSPOSE_TILE) {
                    transpose_tile_avx512(src, hw, dst, cg);
                    continue;
                }
#endif
                transpose_block(src, hw, rows, cols, dst, cg);
            }
}

/* colt: (rows*OW, KH*KW*cg), the rows of the transposed column matrix for output rows
 * oy0..oy0+rows-1, from xt */
static void gather_tap_rows(const dl_conv2d_t *p, int64_t cg, const float *xt, int64_t wp,
                            int64_t oy0, int64_t rows, float *colt)
{
    const int64_t kk = p->kh * p->kw, kdim = kk * cg;
    for (int64_t oy = oy0; oy < oy0 + rows; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
            float *row = colt + ((oy - oy0) * p->ow + ox) * kdim;
            for (int64_t t = 0; t < kk; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                memcpy(row + t * cg, xt + ((oy + i * p->dh) * wp + ox + j * p->dw) * cg,
                       sizeof(float) * cg);
            }
        }
}

/* acc: (OC, KH*KW*cg) = the sum over images n0..n1-1, in order, of each group's dY_img · colt */
static int dw_part(const dl_conv2d_t *p, const conv_dims_t *d, const float *x, const float *dy,
                   int64_t n0, int64_t n1, int64_t rows, float *xt, float *colt, float *acc)
{
    const int64_t wp = p->w + p->pl + p->pr;
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            embed_channels_last(p, d->cg, x + (n * p->c + g * d->cg) * d->hw, wp, xt);
            for (int64_t oy0 = 0; oy0 < p->oh; oy0 += rows) {
                const int64_t r = oy0 + rows <= p->oh ? rows : p->oh - oy0;
                gather_tap_rows(p, d->cg, xt, wp, oy0, r, colt);
                const int code = dl_sgemm(
                    0, 0, d->ocg, d->kdim, r * p->ow, 1.0f,
                    dy + (n * p->oc + g * d->ocg) * d->ohw + oy0 * p->ow, d->ohw, colt, d->kdim,
                    n > n0 || oy0 > 0 ? 1.0f : 0.0f, acc + g * d->ocg * d->kdim, d->kdim);
                if (code != DL_OK) return code;
            }
        }
    return DL_OK;
}

/* True when dW takes the in-place tiles: on AVX-512, for a tile grid that fits, and more than
 * one image (one image leaves the threads to the GEMMs over colt). */
static int dw_in_place(const dl_conv2d_t *p, const conv_dims_t *d)
{
#if defined(__x86_64__) || defined(__i386__)
    return dl_cpu_path() == DL_CPU_AVX512 && p->dw == 1 && p->kw * d->cg % DW_COLS == 0 &&
           d->ocg % DW_ROWS == 0 && p->n > 1;
#else
    (void)p, (void)d;
    return 0;
#endif
}

#if defined(__x86_64__) || defined(__i386__)
/* c: (DW_ROWS, DW_COLS), rows ldc apart, += a: (DW_ROWS, oh*ow), rows lda apart, · the rows
 * q = oy*wp + ox of b: (oh*wp, DW_COLS), rows ldb apart, for oy < oh, ox < ow */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
static void dw_tile_avx512(int64_t oh, int64_t ow, int64_t wp, const float *a, int64_t lda,
                           const float *b, int64_t ldb, float *c, int64_t ldc)
{
    enum { VECS = DW_COLS / 16 };
    f32x16 acc[DW_ROWS][VECS];
    for (int r = 0; r < DW_ROWS; r++)
        for (int u = 0; u < VECS; u++) memcpy(&acc[r][u], c + r * ldc + 16 * u, sizeof(f32x16));
    for (int64_t oy = 0; oy < oh; oy++) {
        const float *a_row = a + oy * ow, *b_row = b + oy * wp * ldb;
        for (int64_t ox = 0; ox < ow; ox++) {
            f32x16 v[VECS];
            for (int u = 0; u < VECS; u++)
                memcpy(&v[u], b_row + ox * ldb + 16 * u, sizeof(f32x16));
            for (int r = 0; r < DW_ROWS; r++)
                for (int u = 0; u < VECS; u++) acc[r][u] += a_row[r * lda + ox] * v[u];
        }
    }
    for (int r = 0; r < DW_ROWS; r++)
        for (int u = 0; u < VECS; u++) memcpy(c + r * ldc + 16 * u, &acc[r][u], sizeof(f32x16));
}
#endif

/* As dw_part, by the in-place tiles (dw_in_place must hold): xt with (KW-1)*cg zero floats of
 * slack */
static void dw_part_in_place(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                             const float *dy, int64_t n0, int64_t n1, float *xt, float *acc)
{
#if defined(__x86_64__) || defined(__i386__)
    const int64_t wp = grid_width(p);
    const int64_t span = p->kw * d->cg; /* dwt's columns of one kernel row */
    memset(acc, 0, sizeof(float) * p->oc * d->kdim);
    const int64_t x_size = d->cg * d->hw, dy_size = d->ocg * d->ohw; /* one image and group */
    const int64_t tiles = d->ocg / DW_ROWS * p->kh * (span / DW_COLS);
    for (int64_t n = n0; n < n1; n++)
        for (int64_t g = 0; g < p->groups; g++) {
            const float *x_g = x + (n * p->c + g * d->cg) * d->hw;
            const float *dy_g = dy + (n * p->oc + g * d->ocg) * d->ohw;
            const int last = n == n1 - 1 && g == p->groups - 1; /* the next follows in memory */
            embed_channels_last(p, d->cg, x_g, wp, xt);
            int64_t tile = 0;
            for (int64_t o = 0; o < d->ocg; o += DW_ROWS)
                for (int64_t i = 0; i < p->kh; i++)
                    for (int64_t col = 0; col < span; col += DW_COLS, tile++) {
                        dw_tile_avx512(p->oh, p->ow, wp, dy_g + o * d->ohw, d->ohw,
                                       xt + i * p->dh * wp * d->cg + col, d->cg,
                                       acc + (g * d->ocg + o) * d->kdim + i * span + col,
                                       d->kdim);
                        if (!last) {
                            prefetch_part(x_g + x_size, x_size, tile, tiles);
                            prefetch_part(dy_g + dy_size, dy_size, tile, tiles);
                        }
                    }
        }
#endif
}

/* dw: (OC, cg, KH, KW) = the sum, in order, of the `parts` partials dwt: (parts, OC, KH*KW, cg) */
static void sum_parts(const dl_conv2d_t *p, const conv_dims_t *d, int64_t parts,
                      const float *dwt, float *dw)
{
    const int64_t kk = p->kh * p->kw, size = p->oc * d->kdim;
    for (int64_t o = 0; o < p->oc; o++)
        for (int64_t t = 0; t < kk; t++)
            for (int64_t c = 0; c < d->cg; c++) {
                const int64_t at = (o * kk + t) * d->cg + c;
                float s = dwt[at];
                for (int64_t q = 1; q < parts; q++) s += dwt[q * size + at];
                dw[(o * d->cg + c) * kk + t] = s;
            }
}

int dl_conv_dw_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                       const float *dy, float *dw)
{
    const int64_t hp = p->h + p->pt + p->pb, wp = p->w + p->pl + p->pr;
    const int64_t parts = p->n < DW_PARTS ? p->n : DW_PARTS;
    int64_t rows = DW_COLT_BYTES / ((int64_t)sizeof(float) * p->ow * d->kdim);
    rows = rows < 1 ? 1 : rows > p->oh ? p->oh : rows;
    const int in_place = dw_in_place(p, d);
    float *dwt = alloc_floats(parts * p->oc * d->kdim);
    int failed = !dwt;
#pragma omp parallel num_threads(dl_num_threads()) if (dwt && parts > 1)
    {
        float *xt = in_place ? alloc_padded(1, hp * grid_width(p), d->cg, (p->kw - 1) * d->cg)
                             : alloc_padded(1, hp * wp, d->cg, 0);
        float *colt = in_place ? NULL : alloc_floats(rows * p->ow * d->kdim);
        int code = dwt && xt && (in_place || colt) ? DL_OK : DL_ENOMEM;
#pragma omp for schedule(static)
        for (int64_t q = 0; q < parts; q++) {
            const int64_t n0 = p->n * q / parts, n1 = p->n * (q + 1) / parts;
            float *acc = dwt + q * p->oc * d->kdim;
            if (code == DL_OK && in_place)
                dw_part_in_place(p, d, x, dy, n0, n1, xt, acc);
            else if (code == DL_OK)
                code = dw_part(p, d, x, dy, n0, n1, rows, xt, colt, acc);
        }
        if (code != DL_OK) {
#pragma omp atomic write
            failed = 1;
        }
        free(xt);
        free(colt);
    }
    if (!failed) sum_parts(p, d, parts, dwt, dw);
    free(dwt);
    return failed ? DL_ENOMEM : DL_OK;
}
