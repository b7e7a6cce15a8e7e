/* gemm_micro_avx512.c: the AVX-512 register tiles, up to MR rows x 32 columns (2 zmm per row).
 *
 * One inlined body serves both contracts of gemm_internal.h: the packed micro-kernel and the
 * in-place tile of the small-shape path. Column tails use masked loads and stores (masked-off
 * lanes are never accessed), so a 10-column C costs one 16-lane vector per row, not 32. */
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define MR DL_GEMM_AVX512_MR
#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

/* c: (rows, cols) = alpha * a·b + beta * c, cols in (16 * (nv - 1), 16 * nv]. a(i, p) is
 * a[i * rs + p * cs]: rs == 1 steps through a packed panel or the columns of a stored Aᵀ,
 * cs == 1 through the rows of a stored A. Inlined with constant rows, nv and (rs or cs), the
 * loops unroll into `rows * nv` accumulators and broadcasts at fixed offsets. */
static inline __attribute__((always_inline)) AVX512_TARGET void
tile_avx512(const int rows, const int nv, int64_t k, const float *a, int64_t rs, int64_t cs,
            const float *b, int64_t ldb, __mmask16 tail, float alpha, float beta, float *c,
            int64_t ldc)
{
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    const __mmask16 first = nv == 2 ? 0xffff : tail, last = tail;
#pragma GCC unroll 4
    for (int64_t p = 0; p < k; p++, a += cs, b += ldb) {
        __m512 b0 = _mm512_maskz_loadu_ps(first, b);
        __m512 b1 = nv == 2 ? _mm512_maskz_loadu_ps(last, b + 16) : b0;
#pragma GCC unroll 8
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[i * rs]);
            acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
            if (nv == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
        }
    }
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++, c += ldc)
#pragma GCC unroll 2
        for (int h = 0; h < nv; h++) {
            const __mmask16 m = h == 0 ? first : last;
            __m512 r = alpha == 1.0f ? acc[i][h] : _mm512_mul_ps(va, acc[i][h]);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, c + 16 * h), r);
            _mm512_mask_storeu_ps(c + 16 * h, m, r);
        }
}

/* c: (MR, 32) = alpha * a: (k, MR packed) · b: (k, 32, rows ldb apart) + beta * c */
AVX512_TARGET
void dl_sgemm_micro_avx512(int64_t k, const float *a, const float *b, int64_t ldb,
                           float alpha, float beta, float *c, int64_t ldc)
{
    tile_avx512(MR, 2, k, a, 1, MR, b, ldb, 0xffff, alpha, beta, c, ldc);
}

/* One instance per (rows, vectors per row) for an A read along its columns (rs == 1) or
 * along its rows (cs == 1). */
#define TILE_CASE(R, NV)                                                                      \
    case R:                                                                                   \
        if (rs == 1)                                                                          \
            tile_avx512(R, NV, k, a, 1, cs, b, ldb, tail, alpha, beta, c, ldc);               \
        else                                                                                  \
            tile_avx512(R, NV, k, a, rs, 1, b, ldb, tail, alpha, beta, c, ldc);               \
        break;
#define TILE_SWITCH(NV)                                                                       \
    switch (rows) {                                                                           \
        TILE_CASE(1, NV) TILE_CASE(2, NV) TILE_CASE(3, NV) TILE_CASE(4, NV)                   \
        TILE_CASE(5, NV) TILE_CASE(6, NV) TILE_CASE(7, NV) TILE_CASE(8, NV)                   \
    }
_Static_assert(MR == 8, "TILE_SWITCH lists the rows 1..MR");

/* c: (rows, cols) = alpha * op(A)·b + beta * c, op(A)(i, p) = a[i*rs + p*cs], rows <= MR,
 * cols <= 32, b: (k, cols, rows ldb apart). */
AVX512_TARGET
void dl_sgemm_tile_avx512(int64_t k, const float *a, int64_t rs, int64_t cs, const float *b,
                          int64_t ldb, float alpha, float beta, float *c, int64_t ldc,
                          int64_t rows, int64_t cols)
{
    const __mmask16 tail = (__mmask16)(0xffffu >> (15 - ((cols - 1) & 15)));
    if (cols > 16) {
        TILE_SWITCH(2)
    } else {
        TILE_SWITCH(1)
    }
}

/* r[0..15]: 16 rows of 16 floats, transposed in place (4 rounds of 16 in-lane or
 * cross-lane shuffles). */
static inline __attribute__((always_inline)) AVX512_TARGET void transpose16_avx512(__m512 r[16])
{
    __m512 t[16];
    for (int i = 0; i < 16; i += 2) { /* pairs of rows interleaved, per 128-bit lane */
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) { /* r[i + c], lane L: column 4L + c of rows i..i+3 */
        __m512d t0 = _mm512_castps_pd(t[i]), t1 = _mm512_castps_pd(t[i + 1]);
        __m512d t2 = _mm512_castps_pd(t[i + 2]), t3 = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(t0, t2));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(t0, t2));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(t1, t3));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(t1, t3));
    }
    for (int c = 0; c < 4; c++) { /* gather lane L of r[c], r[4+c], r[8+c], r[12+c] */
        t[c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x44);
        t[4 + c] = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xee);
        t[8 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x44);
        t[12 + c] = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xee);
    }
    for (int c = 0; c < 4; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
        r[8 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xdd);
    }
}

static __mmask16 lanes_avx512(int64_t count) /* the first min(count, 16) lanes */
{
    return count >= 16 ? 0xffff : (__mmask16)((1u << count) - 1);
}

/* dst: (k, w), rows ldd apart, dst[p*ldd + r] = x[r*ldx + p] for r < rows, 0 for
 * rows <= r < w: the transpose of a (rows, k) block of a row-major matrix, in 16x16 blocks. */
AVX512_TARGET
void dl_sgemm_pack_rows_avx512(const float *x, int64_t ldx, int64_t rows, int64_t k, int64_t w,
                               float *dst, int64_t ldd)
{
    for (int64_t r0 = 0; r0 < w; r0 += 16) {
        const __mmask16 out = lanes_avx512(w - r0);
        for (int64_t p0 = 0; p0 < k; p0 += 16) {
            const __mmask16 in = lanes_avx512(k - p0);
            __m512 v[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                v[i] = r0 + i < rows ? _mm512_maskz_loadu_ps(in, x + (r0 + i) * ldx + p0)
                                     : _mm512_setzero_ps();
            transpose16_avx512(v);
            const int64_t pn = k - p0 < 16 ? k - p0 : 16;
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++)
                if (i < pn) _mm512_mask_storeu_ps(dst + (p0 + i) * ldd + r0, out, v[i]);
        }
    }
}
#endif
