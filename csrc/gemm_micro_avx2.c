/* gemm_micro_avx2.c: the AVX2+FMA register tile, 6 rows x 16 columns in 12 ymm accumulators. */
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define MR DL_GEMM_AVX2_MR

/* c: (MR, 16) = alpha * a: (k, MR packed) · b: (k, 16, rows ldb apart) + beta * c */
__attribute__((target("avx2,fma")))
void dl_sgemm_micro_avx2(int64_t k, const float *a, const float *b, int64_t ldb,
                         float alpha, float beta, float *c, int64_t ldc)
{
    __m256 acc[MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++, a += MR, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) {
            __m256 ai = _mm256_broadcast_ss(a + i);
            acc[i][0] = _mm256_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++, c += ldc)
#pragma GCC unroll 2
        for (int h = 0; h < 2; h++) {
            __m256 r = _mm256_mul_ps(va, acc[i][h]);
            if (beta != 0.0f) r = _mm256_fmadd_ps(vb, _mm256_loadu_ps(c + 8 * h), r);
            _mm256_storeu_ps(c + 8 * h, r);
        }
}
#endif
