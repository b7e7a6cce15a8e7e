/* gemm.c: single-precision GEMM, BLIS-style.
 *
 * Loop nest NC -> KC -> MC -> NR -> MR around a register-tile micro-kernel. Each (KC, NR)
 * panel of op(B) and (MC, KC) block of op(A) is packed into an aligned buffer, edge panels
 * padded with zeros, so the micro-kernel never branches; edge tiles of C go through a small
 * temporary tile so nothing past C's bounds is read or written. A row-major B with few rows
 * of A to serve is read in place instead of packed (the small DL shapes). Threads share the
 * packed B block and split (MC block, NR-panel range) units: a C tile is always computed by
 * the same sequence of operations, so results do not depend on the thread count. */
#include <stdlib.h>

#include "dl_kernels.h"
#include "gemm_internal.h"

#if DL_OPENMP
#include <omp.h>
#endif

typedef struct {
    dl_sgemm_micro_fn fn;
    int64_t mr, nr; /* register tile */
    int64_t kc;     /* a (KC, NR) panel of B stays in L1 while the MC rows of A stream by */
    int64_t mc;     /* the packed (MC, KC) block of A stays in L2 */
    int64_t nc;     /* the packed (KC, NC) block of B stays in L3 */
} gemm_kernel_t;

enum { TILE_MAX = 16 * 32 }; /* floats in the largest register tile */

static const gemm_kernel_t KERNEL_GENERIC = {
    dl_sgemm_micro_generic, DL_GEMM_GENERIC_MR, DL_GEMM_GENERIC_NR, 256, 128, 2048};
#if defined(__x86_64__) || defined(__i386__)
static const gemm_kernel_t KERNEL_AVX2 = {
    dl_sgemm_micro_avx2, DL_GEMM_AVX2_MR, DL_GEMM_AVX2_NR, 256, 120, 4096};
static const gemm_kernel_t KERNEL_AVX512 = {
    dl_sgemm_micro_avx512, DL_GEMM_AVX512_MR, DL_GEMM_AVX512_NR, 256, 192, 4096};
_Static_assert(DL_GEMM_AVX512_MR * DL_GEMM_AVX512_NR <= TILE_MAX, "tile too large");
_Static_assert(DL_GEMM_AVX2_MR * DL_GEMM_AVX2_NR <= TILE_MAX, "tile too large");
#endif
_Static_assert(DL_GEMM_GENERIC_MR * DL_GEMM_GENERIC_NR <= TILE_MAX, "tile too large");

/* Below this many flops a second thread costs more than it saves. */
#define PARALLEL_MIN_FLOPS (2.0 * 96 * 96 * 96)

static const gemm_kernel_t *gemm_kernel(void)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512: return &KERNEL_AVX512;
    case DL_CPU_AVX2: return &KERNEL_AVX2;
    }
#endif
    return &KERNEL_GENERIC;
}

typedef struct { /* the problem as dl_sgemm received it */
    int ta, tb;
    int64_t m, n, k;
    float alpha, beta;
    const float *a, *b;
    int64_t lda, ldb;
    float *c;
    int64_t ldc;
} gemm_t;

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static int64_t ceil_div(int64_t x, int64_t y) { return (x + y - 1) / y; }
static int64_t round_up(int64_t x, int64_t y) { return ceil_div(x, y) * y; }

static int thread_id(void)
{
#if DL_OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* dst: (kc, w) = the transpose of a (rows, kc) strip of x, x(r, p) = x[r*rs + p*cs], with
 * zeros for rows >= `rows`. Packs a row panel of A (w = MR) or a column panel of B (w = NR). */
static void pack_strip(const float *x, int64_t rs, int64_t cs, int64_t rows, int64_t kc,
                       int64_t w, float *dst)
{
    for (int64_t p = 0; p < kc; p++, dst += w) {
        const float *xp = x + p * cs;
        if (rs == 1) /* a contiguous copy the compiler vectorises */
            for (int64_t r = 0; r < rows; r++) dst[r] = xp[r];
        else
            for (int64_t r = 0; r < rows; r++) dst[r] = xp[r * rs];
        for (int64_t r = rows; r < w; r++) dst[r] = 0.0f;
    }
}

/* c: (rows, cols) = alpha * a·b + beta * c for a partial tile: the micro-kernel writes a full
 * tile to the stack and only the valid part is merged into C. */
static void edge_tile(const gemm_kernel_t *kr, int64_t kc, const float *a, const float *b,
                      int64_t ldb, float alpha, float beta, float *c, int64_t ldc,
                      int64_t rows, int64_t cols)
{
    float tile[TILE_MAX] __attribute__((aligned(64)));
    kr->fn(kc, a, b, ldb, alpha, 0.0f, tile, kr->nr);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) {
            float t = tile[i * kr->nr + j];
            c[i * ldc + j] = beta == 0.0f ? t : t + beta * c[i * ldc + j];
        }
}

/* c: (m, n) = beta * c, without reading c when beta == 0 (the k == 0 product). */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc)
{
    if (beta == 1.0f) return;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* The NC -> KC -> MC nest, run by each of `nt` threads (an orphaned worksharing loop when
 * called outside a parallel region). Panels q < nfull of each B block are read in place
 * (direct_b), the rest are packed into the shared bbuf; abuf is this thread's A buffer. */
static void gemm_blocked(const gemm_t *g, const gemm_kernel_t *kr, int direct_b, int nt,
                         float *bbuf, float *abuf)
{
    const int64_t mr = kr->mr, nr = kr->nr;
    const int64_t rs_a = g->ta ? 1 : g->lda, cs_a = g->ta ? g->lda : 1;
    /* op(A)(i, p) = a[i*rs_a + p*cs_a], op(B)(p, j) = b[j*rs_b + p*cs_b] */
    const int64_t rs_b = g->tb ? g->ldb : 1, cs_b = g->tb ? 1 : g->ldb;
    const int64_t n_ic = ceil_div(g->m, kr->mc);
    for (int64_t jc = 0; jc < g->n; jc += kr->nc) {
        const int64_t nc = min64(kr->nc, g->n - jc), np = ceil_div(nc, nr);
        const int64_t nfull = direct_b ? nc / nr : 0, jchunks = min64(nt, np);
        for (int64_t pc = 0; pc < g->k; pc += kr->kc) {
            const int64_t kc = min64(kr->kc, g->k - pc);
            const float beta = pc == 0 ? g->beta : 1.0f;
#pragma omp for schedule(static)
            for (int64_t q = nfull; q < np; q++)
                pack_strip(g->b + (jc + q * nr) * rs_b + pc * cs_b, rs_b, cs_b,
                           min64(nr, nc - q * nr), kc, nr, bbuf + (q - nfull) * kc * nr);
#pragma omp for schedule(static)
            for (int64_t u = 0; u < n_ic * jchunks; u++) {
                const int64_t ic = (u % n_ic) * kr->mc, mc = min64(kr->mc, g->m - ic);
                const int64_t chunk = u / n_ic;
                for (int64_t ir = 0; ir < mc; ir += mr)
                    pack_strip(g->a + (ic + ir) * rs_a + pc * cs_a, rs_a, cs_a,
                               min64(mr, mc - ir), kc, mr, abuf + ir * kc);
                for (int64_t q = np * chunk / jchunks; q < np * (chunk + 1) / jchunks; q++) {
                    const float *bp = q < nfull ? g->b + pc * g->ldb + jc + q * nr
                                                : bbuf + (q - nfull) * kc * nr;
                    const int64_t ldbp = q < nfull ? g->ldb : nr;
                    const int64_t cols = min64(nr, nc - q * nr);
                    for (int64_t ir = 0; ir < mc; ir += mr) {
                        float *ct = g->c + (ic + ir) * g->ldc + jc + q * nr;
                        const int64_t rows = min64(mr, mc - ir);
                        if (rows == mr && cols == nr)
                            kr->fn(kc, abuf + ir * kc, bp, ldbp, g->alpha, beta, ct, g->ldc);
                        else
                            edge_tile(kr, kc, abuf + ir * kc, bp, ldbp, g->alpha, beta, ct,
                                      g->ldc, rows, cols);
                    }
                }
            }
        }
    }
}

/* op(A): (m, k), op(B): (k, n), C: (m, n) */
int dl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
             float beta, float *c, int64_t ldc)
{
    if (m < 0 || n < 0 || k < 0) return DL_EINVAL;
    if (lda < (trans_a ? m : k) || ldb < (trans_b ? k : n) || ldc < n ||
        lda < 1 || ldb < 1 || ldc < 1)
        return DL_EINVAL;
    if (m == 0 || n == 0) return DL_OK;
    if (!c || (k > 0 && (!a || !b))) return DL_EINVAL;
    if (k == 0) {
        scale_c(m, n, beta, c, ldc);
        return DL_OK;
    }

    const gemm_kernel_t *kr = gemm_kernel();
    const gemm_t g = {trans_a != 0, trans_b != 0, m, n, k, alpha, beta, a, b, lda, ldb, c, ldc};
    /* Few rows of A reuse each B panel only a few times: packing B would not pay. */
    const int direct_b = !g.tb && m <= kr->mc;
    int nt = dl_num_threads();
    if (2.0 * m * n * k < PARALLEL_MIN_FLOPS) nt = 1;

    const int64_t kc = min64(kr->kc, k);
    /* Sizes in whole cache lines (16 floats) keep every thread's A buffer aligned. */
    const int64_t bcols = direct_b ? kr->nr : round_up(min64(kr->nc, n), kr->nr);
    const int64_t bsize = round_up(kc * bcols, 16);
    const int64_t asize = round_up(kc * round_up(min64(kr->mc, m), kr->mr), 16);
    const size_t bytes = (size_t)(bsize + nt * asize) * sizeof(float);
    float *buf = aligned_alloc(64, bytes);
    if (!buf) return DL_ENOMEM;
    if (nt == 1) {
        gemm_blocked(&g, kr, direct_b, 1, buf, buf + bsize);
    } else {
#pragma omp parallel num_threads(nt)
        gemm_blocked(&g, kr, direct_b, nt, buf, buf + bsize + thread_id() * asize);
    }
    free(buf);
    return DL_OK;
}
