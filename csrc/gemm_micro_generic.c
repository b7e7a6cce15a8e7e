/* gemm_micro_generic.c: the portable register tile, plain C the compiler vectorises. */
#include "gemm_internal.h"

#define MR DL_GEMM_GENERIC_MR
#define NR DL_GEMM_GENERIC_NR

/* c: (MR, NR) = alpha * a: (k, MR packed) · b: (k, NR, rows ldb apart) + beta * c */
void dl_sgemm_micro_generic(int64_t k, const float *a, const float *b, int64_t ldb,
                            float alpha, float beta, float *c, int64_t ldc)
{
    float acc[MR][NR] = {{0}};
    for (int64_t p = 0; p < k; p++, a += MR, b += ldb)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++)
                acc[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; i++, c += ldc)
        for (int j = 0; j < NR; j++)
            c[j] = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * c[j];
}
