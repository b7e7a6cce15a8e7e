/* gemm.c: single-precision GEMM, BLIS-style.
 *
 * Loop nest NC -> KC -> MC -> NR -> MR around a register-tile micro-kernel. Each (KC, NR)
 * panel of op(B) and (MC, KC) block of op(A) is packed into an aligned buffer, edge panels
 * padded with zeros, so the micro-kernel never branches; edge tiles of C go through a small
 * temporary tile so nothing past C's bounds is read or written. A row-major B with few rows
 * of A to serve is read in place instead of packed.
 *
 * Small and skinny products (the DL shapes: a batch of 64 rows, a 10-way classifier), when
 * the kernel offers it, skip all that: each tile of C is computed straight from A and B in
 * place over all of k, its edges masked, and only a transposed B is first copied row-major.
 *
 * Threads split C into parts along the MR x NR tile grid and run either path on their part
 * with their own buffers: a tile is always computed by the same sequence of operations, so
 * results do not depend on the thread count. */
#include <stdint.h>
#include <stdlib.h>

#include "dl_kernels.h"
#include "gemm_internal.h"

#if DL_OPENMP
#include <omp.h>
#endif

/* Called from inside a parallel region (e.g. a caller threading over images), run serially:
 * a nested team would have one thread and leave the other threads' tiles undone. */
static int in_parallel(void)
{
#if DL_OPENMP
    return omp_in_parallel();
#else
    return 0;
#endif
}

typedef struct {
    dl_sgemm_micro_fn fn;
    dl_sgemm_tile_fn tile;           /* NULL: small products are packed too */
    dl_sgemm_pack_rows_fn pack_rows; /* NULL: transposing packs are scalar gathers */
    int64_t mr, nr; /* register tile */
    int64_t kc;     /* a (KC, NR) panel of B stays in L1 while the MC rows of A stream by */
    int64_t mc;     /* the packed (MC, KC) block of A stays in L2 */
    int64_t nc;     /* the packed (KC, NC) block of B stays in L3 */
} gemm_kernel_t;

enum { TILE_MAX = 16 * 32 }; /* floats in the largest register tile */

static const gemm_kernel_t KERNEL_GENERIC = {
    dl_sgemm_micro_generic, NULL, NULL, DL_GEMM_GENERIC_MR, DL_GEMM_GENERIC_NR, 256, 128, 2048};
#if defined(__x86_64__) || defined(__i386__)
static const gemm_kernel_t KERNEL_AVX2 = {
    dl_sgemm_micro_avx2, NULL, NULL, DL_GEMM_AVX2_MR, DL_GEMM_AVX2_NR, 256, 120, 4096};
static const gemm_kernel_t KERNEL_AVX512 = {
    dl_sgemm_micro_avx512, dl_sgemm_tile_avx512, dl_sgemm_pack_rows_avx512,
    DL_GEMM_AVX512_MR, DL_GEMM_AVX512_NR, 256, 192, 4096};
_Static_assert(DL_GEMM_AVX512_MR * DL_GEMM_AVX512_NR <= TILE_MAX, "tile too large");
_Static_assert(DL_GEMM_AVX2_MR * DL_GEMM_AVX2_NR <= TILE_MAX, "tile too large");
#endif
_Static_assert(DL_GEMM_GENERIC_MR * DL_GEMM_GENERIC_NR <= TILE_MAX, "tile too large");

/* Below this many flops a second thread costs more than it saves (waking a sleeping OpenMP
 * thread takes from microseconds to tens of them on a VM). */
#define PARALLEL_MIN_FLOPS (4.0 * 128 * 128 * 128)
/* Limits of the in-place path (small_enough_in_place). */
#define IN_PLACE_MAX_K 1024
#define IN_PLACE_MAX_FLOATS (256 * 1024)
#define IN_PLACE_MAX_MACS (2 * 128 * 128 * 128)
#define STACK_BUFFER_FLOATS 4096 /* work buffers up to this size live on the stack */
/* A packed B block up to this size stays in L2 while every row strip of tiles reads it: C is
 * then written row by row, which the prefetchers follow (a product with a short k, such as a
 * weight gradient, is bound by its writes to C). Larger blocks go panel by panel, each panel
 * in L1 while the block of A streams by. */
#define ROW_STRIPS_MAX_FLOATS (128 * 1024)
/* transposed_nt's limit: T's columns (C's rows) are few NR-wide panels, each reading W once. */
#define TRANSPOSED_MAX_M 128
#define TRANSPOSED_MIN_M 8 /* below, a matrix-vector product: transposing x costs more */
/* Up to this k an in-place product is bound by its stores to C (see panel_shift). */
#define STORE_BOUND_K 32

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

static int thread_count(void) /* in the current parallel region */
{
#if DL_OPENMP
    return omp_get_num_threads();
#else
    return 1;
#endif
}

/* dst: (kc, w) = the transpose of a (rows, kc) strip of x, x(r, p) = x[r*rs + p*cs], with
 * zeros for rows >= `rows`. Packs a row panel of A (w = MR) or a column panel of B (w = NR).
 * Rows contiguous in memory (cs == 1) go through the kernel's SIMD transpose when it has one:
 * a scalar strided gather would cost a third of a small product. */
static void pack_strip(const gemm_kernel_t *kr, const float *x, int64_t rs, int64_t cs,
                       int64_t rows, int64_t kc, int64_t w, float *dst)
{
    if (rs != 1 && cs == 1 && kr->pack_rows) {
        kr->pack_rows(x, rs, rows, kc, w, dst, w);
        return;
    }
    for (int64_t p = 0; p < kc; p++, dst += w) {
        const float *xp = x + p * cs;
        if (rs == 1) /* a contiguous copy the compiler vectorises */
            for (int64_t r = 0; r < rows; r++) dst[r] = xp[r];
        else
            for (int64_t r = 0; r < rows; r++) dst[r] = xp[r * rs];
        for (int64_t r = rows; r < w; r++) dst[r] = 0.0f;
    }
}

/* c: (rows, cols) = alpha * a·b + beta * c for a partial tile: the micro-kernel runs on a full
 * tile on the stack holding the valid part of C, then copied back, so that each element is
 * computed exactly as in a full tile (where the panels fall depends on B's alignment). */
static void edge_tile(const gemm_kernel_t *kr, int64_t kc, const float *a, const float *b,
                      int64_t ldb, float alpha, float beta, float *c, int64_t ldc,
                      int64_t rows, int64_t cols)
{
    float tile[TILE_MAX] __attribute__((aligned(64)));
    if (beta != 0.0f)
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) tile[i * kr->nr + j] = c[i * ldc + j];
    kr->fn(kc, a, b, ldb, alpha, beta, tile, kr->nr);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++) c[i * ldc + j] = tile[i * kr->nr + j];
}

/* c: (m, n) = beta * c, without reading c when beta == 0 (the k == 0 product). */
static void scale_c(int64_t m, int64_t n, float beta, float *c, int64_t ldc)
{
    if (beta == 1.0f) return;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++)
            c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

/* Columns by which the NR-wide column panels of a row-major B read in place are shifted left so
 * that all but the first start on a 64-byte boundary (or an NR-float one, if smaller): a
 * misaligned panel splits loads of the micro-kernel across two cache lines, which costs a
 * sixth of the product. */
static int64_t b_panel_shift(const gemm_t *g, const gemm_kernel_t *kr)
{
    const int64_t line = min64(kr->nr, 16);
    const int64_t head = (int64_t)((0 - (uintptr_t)g->b) / sizeof(float)) % line;
    return head == 0 || g->ldb % line != 0 ? 0 : kr->nr - head;
}

/* First column of NR-wide column panel q of n columns shifted left by `shift` < NR. */
static int64_t panel_start(int64_t q, int64_t nr, int64_t shift, int64_t n)
{
    return q * nr > shift ? min64(q * nr - shift, n) : 0;
}

/* The NC -> KC -> MC nest over all of g, by one thread. The full-width column panels of a
 * row-major B with at most MC rows of A to serve are read in place (packing them would not
 * pay), shifted by b_panel_shift, and only its first and last panels are packed, into slots
 * 0 and 1 of bbuf; otherwise panel q is packed into slot q. abuf holds the packed block of A. */
static void gemm_blocked(const gemm_t *g, const gemm_kernel_t *kr, float *bbuf, float *abuf)
{
    const int64_t mr = kr->mr, nr = kr->nr;
    const int direct_b = !g->tb && g->m <= kr->mc;
    const int64_t shift = direct_b ? b_panel_shift(g, kr) : 0;
    const int64_t rs_a = g->ta ? 1 : g->lda, cs_a = g->ta ? g->lda : 1;
    /* op(A)(i, p) = a[i*rs_a + p*cs_a], op(B)(p, j) = b[j*rs_b + p*cs_b] */
    const int64_t rs_b = g->tb ? g->ldb : 1, cs_b = g->tb ? 1 : g->ldb;
    for (int64_t jc = 0; jc < g->n; jc += kr->nc) {
        const int64_t nc = min64(kr->nc, g->n - jc), np = ceil_div(nc + shift, nr);
        for (int64_t pc = 0; pc < g->k; pc += kr->kc) {
            const int64_t kc = min64(kr->kc, g->k - pc);
            const float beta = pc == 0 ? g->beta : 1.0f;
            const int row_strips = kc * (np * nr) <= ROW_STRIPS_MAX_FLOATS;
            for (int64_t q = 0; q < np; q++) {
                const int64_t j = panel_start(q, nr, shift, nc);
                const int64_t cols = panel_start(q + 1, nr, shift, nc) - j;
                if (!direct_b || cols < nr)
                    pack_strip(kr, g->b + (jc + j) * rs_b + pc * cs_b, rs_b, cs_b, cols, kc,
                               nr, bbuf + (direct_b ? q > 0 : q) * kc * nr);
            }
            for (int64_t ic = 0; ic < g->m; ic += kr->mc) {
                const int64_t mc = min64(kr->mc, g->m - ic);
                for (int64_t ir = 0; ir < mc; ir += mr)
                    pack_strip(kr, g->a + (ic + ir) * rs_a + pc * cs_a, rs_a, cs_a,
                               min64(mr, mc - ir), kc, mr, abuf + ir * kc);
                const int64_t mb = ceil_div(mc, mr);
                for (int64_t u = 0; u < mb * np; u++) {
                    const int64_t ir = (row_strips ? u / np : u % mb) * mr;
                    const int64_t q = row_strips ? u % np : u / mb;
                    const int64_t j = panel_start(q, nr, shift, nc);
                    const int64_t cols = panel_start(q + 1, nr, shift, nc) - j;
                    const int in_place = direct_b && cols == nr;
                    const float *bp = in_place ? g->b + pc * g->ldb + jc + j
                                               : bbuf + (direct_b ? q > 0 : q) * kc * nr;
                    const int64_t ldbp = in_place ? g->ldb : nr;
                    float *ct = g->c + (ic + ir) * g->ldc + jc + j;
                    const int64_t rows = min64(mr, mc - ir);
                    if (rows == mr && cols == nr)
                        kr->fn(kc, abuf + ir * kc, bp, ldbp, g->alpha, beta, ct, g->ldc);
                    else
                        edge_tile(kr, kc, abuf + ir * kc, bp, ldbp, g->alpha, beta, ct, g->ldc,
                                  rows, cols);
                }
            }
        }
    }
}

/* True when packing would cost more than it saves: for a product too small to amortise it,
 * or one whose C has fewer than NR rows or columns (packing would pad them to NR, and each
 * element of A or B is reused only that few times). op(A) and op(B) must fit in L2 together,
 * as every tile reads them from there. */
static int small_enough_in_place(const gemm_kernel_t *kr, int64_t m, int64_t n, int64_t k)
{
    const int narrow = min64(m, n) < kr->nr;
    return kr->tile && kr->pack_rows && k <= IN_PLACE_MAX_K &&
           (m + n) * k <= IN_PLACE_MAX_FLOATS && (narrow || m * n * k <= IN_PLACE_MAX_MACS);
}

/* Columns by which the NR-wide column panels of C are shifted left so that all but the first
 * start on a 64-byte boundary, when every row of C is misaligned alike and a short k makes
 * the product bound by its stores to C: a store split across two cache lines costs twice.
 * Per element the arithmetic does not depend on the panels, so neither do the results. */
static int64_t panel_shift(const gemm_t *g, const gemm_kernel_t *kr)
{
    const int64_t head = (int64_t)((0 - (uintptr_t)g->c) / sizeof(float)) % 16;
    if (g->k > STORE_BOUND_K || g->ldc % 16 != 0 || head == 0 || head >= g->n) return 0;
    return kr->nr - head;
}

/* Tiles u0..u1-1 of C in column-panel-major order (B's panel stays in L1 while the row
 * blocks of A go by), each from A and b: (k, n) in place, in one call over all of k. */
static void in_place_tiles(const gemm_t *g, const gemm_kernel_t *kr, const float *b,
                           int64_t ldb, int64_t shift, int64_t u0, int64_t u1)
{
    const int64_t rs_a = g->ta ? 1 : g->lda, cs_a = g->ta ? g->lda : 1;
    const int64_t mb = ceil_div(g->m, kr->mr);
    int64_t i = (u0 % mb) * kr->mr, q = u0 / mb;
    for (int64_t u = u0; u < u1; u++) {
        const int64_t j = q * kr->nr > shift ? q * kr->nr - shift : 0;
        const int64_t cols = min64((q + 1) * kr->nr - shift, g->n) - j;
        kr->tile(g->k, g->a + i * rs_a, rs_a, cs_a, b + j, ldb, g->alpha, g->beta,
                 g->c + i * g->ldc + j, g->ldc, min64(kr->mr, g->m - i), cols);
        if ((i += kr->mr) >= g->m) {
            i = 0;
            q++;
        }
    }
}

/* The small-shape path: every tile of C straight from A and B in place, except a transposed
 * B, which is first packed into bt: (k, n), rows round_up(n, 16) apart (on cache lines). */
static void gemm_in_place(const gemm_t *g, const gemm_kernel_t *kr, float *bt)
{
    const int64_t ldbt = round_up(g->n, 16), shift = panel_shift(g, kr);
    if (g->tb) kr->pack_rows(g->b, g->ldb, g->n, g->k, g->n, bt, ldbt);
    in_place_tiles(g, kr, g->tb ? bt : g->b, g->tb ? ldbt : g->ldb, shift, 0,
                   ceil_div(g->m, kr->mr) * ceil_div(g->n + shift, kr->nr));
}

/* Floats of the packed B block of gemm_blocked for g or any part of it, in cache lines: one
 * panel more than the block spans, for a shifted first panel. */
static int64_t b_block_floats(const gemm_t *g, const gemm_kernel_t *kr)
{
    return round_up(min64(kr->kc, g->k) * (round_up(min64(kr->nc, g->n), kr->nr) + kr->nr), 16);
}

/* Floats of work buffer one thread needs for g or any part of it, in whole cache lines. */
static int64_t buffer_floats(const gemm_t *g, const gemm_kernel_t *kr, int in_place)
{
    if (in_place) return g->tb ? g->k * round_up(g->n, 16) : 0;
    const int64_t a_block = min64(kr->kc, g->k) * round_up(min64(kr->mc, g->m), kr->mr);
    return b_block_floats(g, kr) + round_up(a_block, 16);
}

/* Part t of nt of the product: NR-wide column panels of C shared out when there are enough,
 * else MR-high row blocks. Its tiles keep their places on the whole product's MR x NR grid,
 * so each is computed exactly as by one thread. */
static gemm_t gemm_part(const gemm_t *g, const gemm_kernel_t *kr, int64_t t, int64_t nt)
{
    gemm_t part = *g;
    const int64_t panels = ceil_div(g->n, kr->nr), blocks = ceil_div(g->m, kr->mr);
    if (panels >= nt) {
        const int64_t j0 = panels * t / nt * kr->nr;
        part.n = min64(g->n, panels * (t + 1) / nt * kr->nr) - j0;
        part.b += g->tb ? j0 * g->ldb : j0;
        part.c += j0;
    } else {
        const int64_t i0 = blocks * t / nt * kr->mr;
        part.m = min64(g->m, blocks * (t + 1) / nt * kr->mr) - i0;
        part.a += g->ta ? i0 : i0 * g->lda;
        part.c += i0 * g->ldc;
    }
    return part;
}

/* One thread's part of the product, with its own slice of buf: there is no barrier, as idle
 * OpenMP threads may sleep and each wake-up costs microseconds. */
static void gemm_thread(const gemm_t *g, const gemm_kernel_t *kr, int in_place, float *buf,
                        int64_t per_thread, int t, int nt)
{
    const gemm_t part = gemm_part(g, kr, t, nt);
    float *mine = buf + t * per_thread;
    if (part.m <= 0 || part.n <= 0) return;
    if (in_place)
        gemm_in_place(&part, kr, mine);
    else
        gemm_blocked(&part, kr, mine, mine + b_block_floats(g, kr));
}

/* g by nt threads, on the in-place path or the blocked one. */
static int run(const gemm_t *g, const gemm_kernel_t *kr, int in_place, int nt)
{
    const int64_t per_thread = buffer_floats(g, kr, in_place);
    /* Small buffers live on the stack: a malloc would cost a few percent of a small product. */
    float small[STACK_BUFFER_FLOATS] __attribute__((aligned(64)));
    const int on_heap = per_thread * nt > STACK_BUFFER_FLOATS;
    float *buf = on_heap ? aligned_alloc(64, (size_t)(per_thread * nt) * sizeof(float)) : small;
    if (!buf) return DL_ENOMEM;
    if (nt == 1) { /* also inside a caller's parallel region: its team is not ours */
        gemm_thread(g, kr, in_place, buf, per_thread, 0, 1);
    } else {
#pragma omp parallel num_threads(nt)
        gemm_thread(g, kr, in_place, buf, per_thread, thread_id(), thread_count());
    }
    if (on_heap) free(buf);
    return DL_OK;
}

/* True for C = x·Wᵀ with a batch x of few rows and a wider W (a linear layer's forward),
 * which is better computed as its transpose W·xᵀ on the in-place path: that path transposes
 * its second operand first, and x is much the smaller to transpose; W's rows are then read in
 * place as they lie. (For the blocked path one of the two must be transposed while packed.) */
static int transposed_nt(const gemm_kernel_t *kr, const gemm_t *g)
{
    return g->tb && !g->ta && g->beta == 0.0f && g->m < g->n && g->m >= TRANSPOSED_MIN_M &&
           g->m <= TRANSPOSED_MAX_M &&
           kr->tile && kr->pack_rows && g->k <= IN_PLACE_MAX_K &&
           (g->m + g->n) * g->k <= IN_PLACE_MAX_FLOATS;
}

/* C = (W·xᵀ)ᵀ for transposed_nt's products, through a buffer T: (n, m). */
static int run_transposed(const gemm_t *g, const gemm_kernel_t *kr, int nt)
{
    float *t = aligned_alloc(64, (size_t)round_up(g->n * g->m, 16) * sizeof(float));
    if (!t) return DL_ENOMEM;
    const gemm_t tg = {0, 1, g->n, g->m, g->k, g->alpha, 0.0f, g->b, g->a, g->ldb, g->lda, t, g->m};
    const int code = run(&tg, kr, 1, nt);
    if (code == DL_OK) kr->pack_rows(t, g->m, g->n, g->m, g->n, g->c, g->ldc);
    free(t);
    return code;
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
    const int nt = 2.0 * m * n * k < PARALLEL_MIN_FLOPS || in_parallel() ? 1 : dl_num_threads();
    if (transposed_nt(kr, &g)) return run_transposed(&g, kr, nt);
    return run(&g, kr, small_enough_in_place(kr, m, n, k), nt);
}
