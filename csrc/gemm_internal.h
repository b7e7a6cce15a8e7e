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
#endif

#endif
