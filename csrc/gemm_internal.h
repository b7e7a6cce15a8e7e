/* gemm_internal.h: the contract between the SGEMM driver (gemm.c) and its micro-kernels. */
#ifndef DL_GEMM_INTERNAL_H
#define DL_GEMM_INTERNAL_H

#include <stdint.h>

/* One register tile, c: (MR, NR) = alpha * a·b + beta * c; beta == 0 writes c without
 * reading it. a: (k, MR) packed, MR contiguous floats per step of k. b: (k, NR), NR
 * contiguous floats per row, rows ldb apart (ldb == NR for a packed panel; a panel of a
 * row-major B is read in place with its own row stride). */
typedef void (*dl_sgemm_micro_fn)(int64_t k, const float *a, const float *b, int64_t ldb,
                                  float alpha, float beta, float *c, int64_t ldc);

/* A partial or full tile read in place, for shapes too small to repay packing:
 * c: (rows, cols) = alpha * op(A)·b + beta * c, rows <= MR, cols <= NR, beta == 0 writes c
 * without reading it, nothing outside the (rows, cols) tile of c or of b is touched.
 * op(A)(i, p) = a[i*rs_a + p*cs_a] with rs_a == 1 (a stored Aᵀ) or cs_a == 1 (a stored A);
 * b: (k, cols), rows ldb apart. */
typedef void (*dl_sgemm_tile_fn)(int64_t k, const float *a, int64_t rs_a, int64_t cs_a,
                                 const float *b, int64_t ldb, float alpha, float beta,
                                 float *c, int64_t ldc, int64_t rows, int64_t cols);

/* dst: (k, w), rows ldd >= w apart, dst[p*ldd + r] = x[r*ldx + p] for r < rows <= w and 0
 * for rows <= r < w: packs MR rows of a stored A, NR rows of a stored Bᵀ or a slice of a
 * small Bᵀ, transposing them. */
typedef void (*dl_sgemm_pack_rows_fn)(const float *x, int64_t ldx, int64_t rows, int64_t k,
                                      int64_t w, float *dst, int64_t ldd);

#define DL_GEMM_GENERIC_MR 4
#define DL_GEMM_GENERIC_NR 8
void dl_sgemm_micro_generic(int64_t k, const float *a, const float *b, int64_t ldb,
                            float alpha, float beta, float *c, int64_t ldc);

#if defined(__x86_64__) || defined(__i386__)
#define DL_GEMM_AVX2_MR 6
#define DL_GEMM_AVX2_NR 16
void dl_sgemm_micro_avx2(int64_t k, const float *a, const float *b, int64_t ldb,
                         float alpha, float beta, float *c, int64_t ldc);

#define DL_GEMM_AVX512_MR 8
#define DL_GEMM_AVX512_NR 32
void dl_sgemm_micro_avx512(int64_t k, const float *a, const float *b, int64_t ldb,
                           float alpha, float beta, float *c, int64_t ldc);
void dl_sgemm_tile_avx512(int64_t k, const float *a, int64_t rs_a, int64_t cs_a,
                          const float *b, int64_t ldb, float alpha, float beta, float *c,
                          int64_t ldc, int64_t rows, int64_t cols);
void dl_sgemm_pack_rows_avx512(const float *x, int64_t ldx, int64_t rows, int64_t k, int64_t w,
                               float *dst, int64_t ldd);
#endif

#endif
