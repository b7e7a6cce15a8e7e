/* gemm_micro_avx512.c: the AVX-512 register tile, MR rows x 32 columns (2 zmm per row). */
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define MR DL_GEMM_AVX512_MR

/* c: (MR, 32) = alpha * a: (k, MR packed) · b: (k, 32, rows ldb apart) + beta * c */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))
void dl_sgemm_micro_avx512(int64_t k, const float *a, const float *b, int64_t ldb,
                           float alpha, float beta, float *c, int64_t ldc)
{
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++, a += MR, b += ldb) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int i = 0; i < MR; i++, c += ldc)
        for (int h = 0; h < 2; h++) {
            __m512 r = _mm512_mul_ps(va, acc[i][h]);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_loadu_ps(c + 16 * h), r);
            _mm512_storeu_ps(c + 16 * h, r);
        }
}
#endif
