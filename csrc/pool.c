/* pool.c: 2-D max and average pooling, forward and backward, parallel over the N*C planes.
 *
 * Windows are clipped to the real input: for max pooling the padding is -inf and never wins,
 * for average pooling it is zero and counts in the divisor only with count_include_pad. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "dl_kernels.h"

enum { PARALLEL_MIN_FLOATS = 1 << 15 };

static int mul_ok(int64_t a, int64_t b, int64_t *out)
{
    return a >= 0 && b >= 0 && !__builtin_mul_overflow(a, b, out);
}

/* Sizes of both planes and of the whole input and output fit int64. */
static int sizes_fit(const dl_pool2d_t *p)
{
    int64_t nc, t;
    return mul_ok(p->n, p->c, &nc) && mul_ok(p->h, p->w, &t) && mul_ok(nc, t, &t) &&
           mul_ok(p->oh, p->ow, &t) && mul_ok(nc, t, &t);
}

int dl_pool2d_check(dl_pool2d_t *p)
{
    const int64_t big = INT64_MAX / 4; /* keeps h + 2*ph and friends from overflowing */
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->kh < 1 || p->kw < 1 ||
        p->sh < 1 || p->sw < 1 || p->ph < 0 || p->pw < 0 || p->h > big || p->w > big ||
        p->kh > big || p->kw > big || 2 * p->ph > p->kh || 2 * p->pw > p->kw)
        return DL_EINVAL;
    if (p->h + 2 * p->ph < p->kh || p->w + 2 * p->pw < p->kw)
        return DL_EINVAL;
    p->oh = (p->h + 2 * p->ph - p->kh) / p->sh + 1;
    p->ow = (p->w + 2 * p->pw - p->kw) / p->sw + 1;
    return sizes_fit(p) ? DL_OK : DL_EINVAL;
}

/* The window of output (oy, ox) clipped to the input: rows [*y0, *y1), columns [*x0, *x1). */
static void window(const dl_pool2d_t *p, int64_t oy, int64_t ox, int64_t *y0, int64_t *y1,
                   int64_t *x0, int64_t *x1)
{
    const int64_t ys = oy * p->sh - p->ph, xs = ox * p->sw - p->pw;
    *y0 = ys > 0 ? ys : 0;
    *x0 = xs > 0 ? xs : 0;
    *y1 = ys + p->kh < p->h ? ys + p->kh : p->h;
    *x1 = xs + p->kw < p->w ? xs + p->kw : p->w;
}

/* Cells of the window of (oy, ox) the average divides by: the window clipped to the padded
 * input (count_include_pad), or to the real input. */
static int64_t divisor(const dl_pool2d_t *p, int count_include_pad, int64_t oy, int64_t ox)
{
    int64_t y0, y1, x0, x1;
    if (!count_include_pad) {
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        return (y1 - y0) * (x1 - x0);
    }
    const int64_t ys = oy * p->sh - p->ph, xs = ox * p->sw - p->pw;
    const int64_t ye = ys + p->kh < p->h + p->ph ? ys + p->kh : p->h + p->ph;
    const int64_t xe = xs + p->kw < p->w + p->pw ? xs + p->kw : p->w + p->pw;
    return (ye - ys) * (xe - xs);
}

/* The common 2x2 stride-2 unpadded pool: whole windows, unrolled in the plane loops. */
static int is_2x2_stride_2(const dl_pool2d_t *p)
{
    return p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2 && p->ph == 0 && p->pw == 0;
}

/* v replaces the running max: larger, or the first NaN (which then stays, like numpy.argmax). */
static inline int beats(float v, float best)
{
    return v > best || (isnan(v) && !isnan(best));
}

/* ---- 2x2 stride-2 max pooling, a row of outputs at a time --------------------------------
 * Forward: rows r0, r1 of x (W apart, flat index base of r0[0]) -> outputs 0..OW-1 of yr, ir.
 * Backward: dyr, ir -> the same two rows d0, d1 of dx, each 2x2 block written once; returns 1
 * when every index lies in its own block (else the caller redoes the plane by scattering).
 * Branch-free selects: the data decide every comparison, so branches would mispredict. */
typedef void (*maxpool_row_fn)(int64_t w, int64_t ow, const float *r0,
                               const float *r1, int64_t base, float *yr, int64_t *ir);
typedef int (*unpool_row_fn)(int64_t w, int64_t ow, const float *dyr,
                             const int64_t *ir, int64_t base, float *d0, float *d1);

/* cond ? v : 0.0f, and cond ? a : b, without a branch */
static inline float keep_if(int cond, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    bits &= -(uint32_t)cond;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static inline float select_f(int cond, float a, float b)
{
    return keep_if(cond, a) + keep_if(!cond, b);
}

/* beats() for the selects: larger, or a NaN over a number (v != v is NaN) */
static inline int beats_nb(float v, float best)
{
    return (v > best) | ((v != v) & (best == best));
}

static void maxpool_row_2x2_generic(int64_t w, int64_t ow, const float *r0,
                                    const float *r1, int64_t base, float *yr, int64_t *ir)
{
    for (int64_t ox = 0; ox < ow; ox++) {
        const float cand[3] = {r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]};
        const int64_t offs[3] = {1, w, w + 1};
        float best = r0[2 * ox];
        int64_t off = 0;
        for (int k = 0; k < 3; k++) {
            const int m = beats_nb(cand[k], best);
            best = select_f(m, cand[k], best);
            off ^= (off ^ offs[k]) & -(int64_t)m;
        }
        yr[ox] = best;
        ir[ox] = base + 2 * ox + off;
    }
}

static int unpool_row_2x2_generic(int64_t w, int64_t ow, const float *dyr,
                                  const int64_t *ir, int64_t base, float *d0, float *d1)
{
    int ok = 1;
    for (int64_t ox = 0; ox < ow; ox++) {
        const float g = dyr[ox] + 0.0f; /* as 0 + dy in the scatter: -0 becomes +0 */
        const int64_t rel = ir[ox] - base - 2 * ox;
        ok &= (rel == 0) | (rel == 1) | (rel == w) | (rel == w + 1);
        d0[2 * ox] = keep_if(rel == 0, g);
        d0[2 * ox + 1] = keep_if(rel == 1, g);
        d1[2 * ox] = keep_if(rel == w, g);
        d1[2 * ox + 1] = keep_if(rel == w + 1, g);
    }
    return ok;
}

#if defined(__x86_64__) || defined(__i386__)
#define DL_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma")))

/* mask of the lanes where v beats best */
DL_TARGET_AVX512 static inline __mmask16 beats_avx512(__m512 v, __m512 best)
{
    return _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) |
           (_mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q));
}

/* Lane masks for the `rem` (1..16) outputs of a step and the 2*rem inputs of each row. */
typedef struct { __mmask16 out, in_lo, in_hi; } step_masks_t;

static inline step_masks_t step_masks(int64_t rem)
{
    const uint32_t in = rem >= 16 ? 0xFFFFFFFFu : (1u << (2 * rem)) - 1u;
    step_masks_t m = {(__mmask16)(rem >= 16 ? 0xFFFFu : (1u << rem) - 1u), (__mmask16)in,
                      (__mmask16)(in >> 16)};
    return m;
}

/* Sixteen outputs a step (the last one masked): permutes split the even and odd columns. */
DL_TARGET_AVX512 static void maxpool_row_2x2_avx512(int64_t w, int64_t ow,
                                                    const float *r0, const float *r1,
                                                    int64_t base, float *yr, int64_t *ir)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26,
                                           28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    const __m512i lane2 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i offs[3] = {_mm512_set1_epi64(1), _mm512_set1_epi64(w),
                             _mm512_set1_epi64(w + 1)};
    for (int64_t ox = 0; ox < ow; ox += 16) {
        const step_masks_t s = step_masks(ow - ox);
        const __m512 l0 = _mm512_maskz_loadu_ps(s.in_lo, r0 + 2 * ox);
        const __m512 h0 = _mm512_maskz_loadu_ps(s.in_hi, r0 + 2 * ox + 16);
        const __m512 l1 = _mm512_maskz_loadu_ps(s.in_lo, r1 + 2 * ox);
        const __m512 h1 = _mm512_maskz_loadu_ps(s.in_hi, r1 + 2 * ox + 16);
        const __m512 cand[3] = {_mm512_permutex2var_ps(l0, odd, h0),
                                _mm512_permutex2var_ps(l1, even, h1),
                                _mm512_permutex2var_ps(l1, odd, h1)};
        __m512 best = _mm512_permutex2var_ps(l0, even, h0);
        __m512i off_lo = _mm512_setzero_si512(), off_hi = _mm512_setzero_si512();
        for (int k = 0; k < 3; k++) {
            const __mmask16 m = beats_avx512(cand[k], best);
            best = _mm512_mask_blend_ps(m, best, cand[k]);
            off_lo = _mm512_mask_blend_epi64((__mmask8)m, off_lo, offs[k]);
            off_hi = _mm512_mask_blend_epi64((__mmask8)(m >> 8), off_hi, offs[k]);
        }
        const __m512i at = _mm512_add_epi64(_mm512_set1_epi64(base + 2 * ox), lane2);
        const __m512i at_hi = _mm512_add_epi64(at, _mm512_set1_epi64(16));
        _mm512_mask_storeu_ps(yr + ox, s.out, best);
        _mm512_mask_storeu_epi64(ir + ox, (__mmask8)s.out, _mm512_add_epi64(at, off_lo));
        _mm512_mask_storeu_epi64(ir + ox + 8, (__mmask8)(s.out >> 8),
                                 _mm512_add_epi64(at_hi, off_hi));
    }
}

/* Sixteen outputs a step (the last one masked): dy masked per block cell, interleaved. */
DL_TARGET_AVX512 static int unpool_row_2x2_avx512(int64_t w, int64_t ow,
                                                  const float *dyr, const int64_t *ir,
                                                  int64_t base, float *d0, float *d1)
{
    const __m512i lo_half = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22,
                                              7, 23);
    const __m512i hi_half = _mm512_add_epi32(lo_half, _mm512_set1_epi32(8));
    const __m512i lane2 = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
    const __m512i cell[4] = {_mm512_setzero_si512(), _mm512_set1_epi64(1),
                             _mm512_set1_epi64(w), _mm512_set1_epi64(w + 1)};
    __mmask16 ok = 0xFFFF;
    for (int64_t ox = 0; ox < ow; ox += 16) {
        const step_masks_t s = step_masks(ow - ox);
        const __m512 g = _mm512_add_ps(_mm512_maskz_loadu_ps(s.out, dyr + ox),
                                       _mm512_setzero_ps()); /* -0 becomes +0 */
        const __m512i at = _mm512_add_epi64(_mm512_set1_epi64(base + 2 * ox), lane2);
        const __m512i at_hi = _mm512_add_epi64(at, _mm512_set1_epi64(16));
        const __m512i rel_lo = _mm512_sub_epi64(
            _mm512_maskz_loadu_epi64((__mmask8)s.out, ir + ox), at);
        const __m512i rel_hi = _mm512_sub_epi64(
            _mm512_maskz_loadu_epi64((__mmask8)(s.out >> 8), ir + ox + 8), at_hi);
        __m512 part[4];
        __mmask16 hit = (__mmask16)~s.out;
        for (int k = 0; k < 4; k++) {
            const __mmask16 m = (__mmask16)(_mm512_cmpeq_epi64_mask(rel_lo, cell[k]) |
                                            (_mm512_cmpeq_epi64_mask(rel_hi, cell[k]) << 8));
            part[k] = _mm512_maskz_mov_ps(m, g);
            hit |= m;
        }
        ok &= hit;
        _mm512_mask_storeu_ps(d0 + 2 * ox, s.in_lo,
                              _mm512_permutex2var_ps(part[0], lo_half, part[1]));
        _mm512_mask_storeu_ps(d0 + 2 * ox + 16, s.in_hi,
                              _mm512_permutex2var_ps(part[0], hi_half, part[1]));
        _mm512_mask_storeu_ps(d1 + 2 * ox, s.in_lo,
                              _mm512_permutex2var_ps(part[2], lo_half, part[3]));
        _mm512_mask_storeu_ps(d1 + 2 * ox + 16, s.in_hi,
                              _mm512_permutex2var_ps(part[2], hi_half, part[3]));
    }
    return ok == 0xFFFF;
}
#endif

/* The 2x2 row kernels for the dispatch path in use (AVX2 runs the generic ones). */
static void pool_2x2_kernels(maxpool_row_fn *fwd, unpool_row_fn *bwd)
{
    *fwd = maxpool_row_2x2_generic;
    *bwd = unpool_row_2x2_generic;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() == DL_CPU_AVX512) {
        *fwd = maxpool_row_2x2_avx512;
        *bwd = unpool_row_2x2_avx512;
    }
#endif
}

/* Outputs ox0..ox1-1 of row oy, one window at a time; ties go to the first max in row-major
 * order. The edge columns, whose windows the padding clips. */
static void maxpool_cells(const dl_pool2d_t *p, const float *x, int64_t oy, int64_t ox0,
                          int64_t ox1, float *yr, int64_t *ir)
{
    for (int64_t ox = ox0; ox < ox1; ox++) {
        int64_t y0, y1, x0, x1;
        window(p, oy, ox, &y0, &y1, &x0, &x1);
        int64_t at = y0 * p->w + x0;
        float best = x[at];
        for (int64_t iy = y0; iy < y1; iy++)
            for (int64_t ix = x0; ix < x1; ix++) {
                const float v = x[iy * p->w + ix];
                if (beats(v, best)) {
                    best = v;
                    at = iy * p->w + ix;
                }
            }
        yr[ox] = best;
        ir[ox] = at;
    }
}

/* The interior outputs lo..hi-1 of a row (whole windows across; rows y0..y1-1 after
 * clipping), a window cell at a time across the row: branch-free selects the compiler
 * vectorises, the cells in the scalar order, so the same max and index win. best and cell
 * are scratch rows of OW; cell holds the flat index less ox*stride, which fits an int32
 * (planes under 2^31 cells). The 3x3 stride-1 pool of an Inception branch took 30 % of a
 * GoogLeNet step on the scalar loop, its data-dependent branches mispredicting. */
#define DEFINE_MAXPOOL_SPAN(NAME, TARGET)                                                     \
    TARGET static void NAME(const dl_pool2d_t *p, const float *x, int64_t y0, int64_t y1,     \
                            int64_t lo, int64_t hi, float *restrict best,                     \
                            int32_t *restrict cell, float *restrict yr, int64_t *restrict ir) \
    {                                                                                         \
        const int64_t sw = p->sw, first = y0 * p->w - p->pw;                                  \
        for (int64_t ox = lo; ox < hi; ox++) {                                                \
            best[ox] = x[first + ox * sw];                                                    \
            cell[ox] = (int32_t)first;                                                        \
        }                                                                                     \
        for (int64_t iy = y0; iy < y1; iy++)                                                  \
            for (int64_t kx = iy == y0; kx < p->kw; kx++) {                                   \
                const int32_t c = (int32_t)(iy * p->w + kx - p->pw);                          \
                const float *restrict src = x + c;                                            \
                for (int64_t ox = lo; ox < hi; ox++) {                                        \
                    const float v = src[ox * sw], b = best[ox];                               \
                    const int m = (v > b) | ((v != v) & (b == b));                            \
                    best[ox] = m ? v : b;                                                     \
                    cell[ox] = m ? c : cell[ox];                                              \
                }                                                                             \
            }                                                                                 \
        for (int64_t ox = lo; ox < hi; ox++) {                                                \
            yr[ox] = best[ox];                                                                \
            ir[ox] = cell[ox] + ox * sw;                                                      \
        }                                                                                     \
    }

typedef void (*maxpool_span_fn)(const dl_pool2d_t *, const float *, int64_t, int64_t, int64_t,
                                int64_t, float *, int32_t *, float *, int64_t *);
DEFINE_MAXPOOL_SPAN(maxpool_span_generic, )
#if defined(__x86_64__) || defined(__i386__)
DEFINE_MAXPOOL_SPAN(maxpool_span_avx2, __attribute__((target("avx2,fma"))))
DEFINE_MAXPOOL_SPAN(maxpool_span_avx512, DL_TARGET_AVX512)
#endif

/* A stride-1 pool of the plane copied into xp, padded with -inf to (H+2PH, W+2PW): every
 * output j = oy*WP + ox of the padded plane's flat layout is one lane of one loop per window
 * cell (the WP-OW lanes between rows are computed and dropped), so a 7x7 plane fills vectors
 * that its 5 interior columns would not. cell[j] gets the winning cell's offset ky*WP+kx. */
#define DEFINE_MAXPOOL_FLAT(NAME, TARGET)                                                     \
    TARGET static void NAME(int64_t span, int64_t kh, int64_t kw, int64_t wp,                 \
                            const float *restrict xp, float *restrict best,                   \
                            int32_t *restrict cell)                                           \
    {                                                                                         \
        for (int64_t j = 0; j < span; j++) {                                                  \
            best[j] = xp[j];                                                                  \
            cell[j] = 0;                                                                      \
        }                                                                                     \
        for (int64_t ky = 0; ky < kh; ky++)                                                   \
            for (int64_t kx = ky == 0; kx < kw; kx++) {                                       \
                const int32_t c = (int32_t)(ky * wp + kx);                                    \
                const float *restrict src = xp + c;                                           \
                for (int64_t j = 0; j < span; j++) {                                          \
                    const float v = src[j], b = best[j];                                      \
                    const int m = (v > b) | ((v != v) & (b == b));                            \
                    best[j] = m ? v : b;                                                      \
                    cell[j] = m ? c : cell[j];                                                \
                }                                                                             \
            }                                                                                 \
    }

typedef void (*maxpool_flat_fn)(int64_t, int64_t, int64_t, int64_t, const float *, float *,
                                int32_t *);
DEFINE_MAXPOOL_FLAT(maxpool_flat_generic, )
#if defined(__x86_64__) || defined(__i386__)
DEFINE_MAXPOOL_FLAT(maxpool_flat_avx2, __attribute__((target("avx2,fma"))))
DEFINE_MAXPOOL_FLAT(maxpool_flat_avx512, DL_TARGET_AVX512)
#endif

typedef struct {
    maxpool_span_fn span;
    maxpool_flat_fn flat;
} maxpool_kernels_t;

static maxpool_kernels_t maxpool_kernels(void)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (dl_cpu_path()) {
    case DL_CPU_AVX512: return (maxpool_kernels_t){maxpool_span_avx512, maxpool_flat_avx512};
    case DL_CPU_AVX2: return (maxpool_kernels_t){maxpool_span_avx2, maxpool_flat_avx2};
    }
#endif
    return (maxpool_kernels_t){maxpool_span_generic, maxpool_flat_generic};
}

/* Stride 1 with every window inside the padded plane: the flat kernel (planes under 2^31). */
static int flat_pool(const dl_pool2d_t *p)
{
    const int64_t hp = p->h + 2 * p->ph, wp = p->w + 2 * p->pw;
    return p->sh == 1 && p->sw == 1 && p->oh - 1 + p->kh <= hp && p->ow - 1 + p->kw <= wp &&
           hp * wp < INT32_MAX;
}

/* Floats of scratch per thread: the span kernel's two rows, or the flat kernel's padded plane
 * and its two flat rows. */
static int64_t maxpool_scratch(const dl_pool2d_t *p)
{
    const int64_t wp = p->w + 2 * p->pw;
    return flat_pool(p) ? (p->h + 2 * p->ph) * wp + 2 * ((p->oh - 1) * wp + p->ow)
                        : 2 * p->ow;
}

/* One stride-1 plane by the flat kernel: pad, pool, then map each winner back to the plane.
 * A winner in the padding means the window holds -inf only (anything else beats the pad);
 * its index is then the window's first real cell, as in the scalar loop and PyTorch. */
static void maxpool_plane_flat(const dl_pool2d_t *p, maxpool_flat_fn flat, const float *x,
                               float *y, int64_t *idx, float *scratch)
{
    const int64_t hp = p->h + 2 * p->ph, wp = p->w + 2 * p->pw;
    const int64_t span = (p->oh - 1) * wp + p->ow;
    float *xp = scratch, *best = xp + hp * wp;
    int32_t *cell = (int32_t *)(best + span);
    for (int64_t i = 0; i < hp * wp; i++) xp[i] = -INFINITY;
    for (int64_t r = 0; r < p->h; r++)
        memcpy(xp + (r + p->ph) * wp + p->pw, x + r * p->w, sizeof(float) * p->w);
    flat(span, p->kh, p->kw, wp, xp, best, cell);
    for (int64_t oy = 0; oy < p->oh; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
            const int64_t j = oy * wp + ox, q = j + cell[j];
            int64_t r = q / wp - p->ph, c = q % wp - p->pw;
            if (r < 0 || r >= p->h || c < 0 || c >= p->w) {
                r = oy > p->ph ? oy - p->ph : 0;
                c = ox > p->pw ? ox - p->pw : 0;
            }
            y[oy * p->ow + ox] = best[j];
            idx[oy * p->ow + ox] = r * p->w + c;
        }
}

/* One plane, x: (H, W) -> y, idx: (OH, OW), in any window geometry: per output row the
 * interior columns by the span kernel, the clipped edges one window at a time (stride 1: the
 * flat kernel). scratch holds maxpool_scratch(p) floats. */
static void maxpool_plane(const dl_pool2d_t *p, maxpool_kernels_t k, const float *x, float *y,
                          int64_t *idx, float *scratch)
{
    if (flat_pool(p)) {
        maxpool_plane_flat(p, k.flat, x, y, idx, scratch);
        return;
    }
    /* interior: xs = ox*sw - pw >= 0 and xs + kw <= w */
    int64_t lo = (p->pw + p->sw - 1) / p->sw, hi = (p->w - p->kw + p->pw) / p->sw + 1;
    if (p->w - p->kw + p->pw < 0 || p->h * p->w > INT32_MAX) hi = 0;
    if (hi > p->ow) hi = p->ow;
    if (lo > hi) lo = hi;
    for (int64_t oy = 0; oy < p->oh; oy++) {
        float *yr = y + oy * p->ow;
        int64_t *ir = idx + oy * p->ow;
        int64_t y0, y1, x0, x1;
        window(p, oy, 0, &y0, &y1, &x0, &x1);
        maxpool_cells(p, x, oy, 0, lo, yr, ir);
        if (lo < hi) k.span(p, x, y0, y1, lo, hi, scratch, (int32_t *)(scratch + p->ow), yr, ir);
        maxpool_cells(p, x, oy, hi, p->ow, yr, ir);
    }
}

/* x: (N, C, H, W) -> y, idx: (N, C, OH, OW) */
int dl_maxpool2d_forward(const dl_pool2d_t *p_in, const float *x, float *y, int64_t *idx)
{
    dl_pool2d_t p = *p_in;
    if (dl_pool2d_check(&p) != DL_OK) return DL_EINVAL;
    const int64_t planes = p.n * p.c, hw = p.h * p.w, ohw = p.oh * p.ow;
    const int fast = is_2x2_stride_2(&p);
    maxpool_row_fn row_2x2;
    unpool_row_fn unused;
    pool_2x2_kernels(&row_2x2, &unused);
    const maxpool_kernels_t kernels = maxpool_kernels();
    int failed = 0;
#pragma omp parallel num_threads(dl_num_threads()) if (planes * hw > PARALLEL_MIN_FLOATS) \
    reduction(| : failed)
    {
        float *scratch = fast ? NULL : malloc(sizeof(float) * (size_t)maxpool_scratch(&p));
        failed = !fast && !scratch;
#pragma omp for schedule(static)
        for (int64_t t = 0; t < planes; t++) {
            if (fast)
                for (int64_t oy = 0; oy < p.oh; oy++)
                    row_2x2(p.w, p.ow, x + (t * p.h + 2 * oy) * p.w,
                            x + (t * p.h + 2 * oy + 1) * p.w, 2 * oy * p.w,
                            y + t * ohw + oy * p.ow, idx + t * ohw + oy * p.ow);
            else if (scratch)
                maxpool_plane(&p, kernels, x + t * hw, y + t * ohw, idx + t * ohw, scratch);
        }
        free(scratch);
    }
    return failed ? DL_ENOMEM : DL_OK;
}

/* One plane, dy, idx: (OH, OW) -> dx: (H, W), overwritten. Indices in their own 2x2 blocks
 * (a 2x2 stride-2 pool) write each block once; otherwise the plane is zeroed and scattered
 * into. Returns 1 for an index outside [0, H*W), which is skipped. */
static int maxpool_plane_backward(const dl_pool2d_t *p, unpool_row_fn row_2x2, const float *dy,
                                  const int64_t *idx, float *dx)
{
    const int64_t w = p->w, hw = p->h * p->w, ohw = p->oh * p->ow;
    if (2 * p->oh <= p->h && 2 * p->ow <= w) {
        int ok = 1;
        for (int64_t oy = 0; oy < p->oh; oy++) {
            float *d0 = dx + 2 * oy * w, *d1 = d0 + w;
            ok &= row_2x2(w, p->ow, dy + oy * p->ow, idx + oy * p->ow, 2 * oy * w, d0, d1);
            for (int64_t x = 2 * p->ow; x < w; x++) d0[x] = d1[x] = 0.0f;
        }
        if (ok) {
            memset(dx + 2 * p->oh * w, 0, sizeof(float) * (hw - 2 * p->oh * w));
            return 0;
        }
    }
    int bad = 0;
    memset(dx, 0, sizeof(float) * hw);
    for (int64_t o = 0; o < ohw; o++) {
        if (idx[o] < 0 || idx[o] >= hw)
            bad = 1;
        else
            dx[idx[o]] += dy[o];
    }
    return bad;
}

/* dy, idx: (N, C, OH, OW) -> dx: (N, C, H, W) */
int dl_maxpool2d_backward(const dl_pool2d_t *p, const float *dy, const int64_t *idx, float *dx)
{
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->oh < 1 || p->ow < 1 ||
        !sizes_fit(p))
        return DL_EINVAL;
    const int64_t planes = p->n * p->c, hw = p->h * p->w, ohw = p->oh * p->ow;
    maxpool_row_fn unused;
    unpool_row_fn row_2x2;
    pool_2x2_kernels(&unused, &row_2x2);
    int bad = 0;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) reduction(| : bad) \
    if (planes * hw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        bad |= maxpool_plane_backward(p, row_2x2, dy + t * ohw, idx + t * ohw, dx + t * hw);
    return bad ? DL_EINVAL : DL_OK;
}

/* One plane, x: (H, W) -> y: (OH, OW) */
static void avgpool_plane(const dl_pool2d_t *p, int count_include_pad, const float *x, float *y)
{
    if (is_2x2_stride_2(p)) {
        for (int64_t oy = 0; oy < p->oh; oy++) {
            const float *r0 = x + 2 * oy * p->w, *r1 = r0 + p->w;
            for (int64_t ox = 0; ox < p->ow; ox++)
                y[oy * p->ow + ox] = (r0[2 * ox] + r0[2 * ox + 1] + r1[2 * ox] + r1[2 * ox + 1]) / 4.0f;
        }
        return;
    }
    for (int64_t oy = 0; oy < p->oh; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
            int64_t y0, y1, x0, x1;
            window(p, oy, ox, &y0, &y1, &x0, &x1);
            float sum = 0.0f;
            for (int64_t iy = y0; iy < y1; iy++)
                for (int64_t ix = x0; ix < x1; ix++) sum += x[iy * p->w + ix];
            y[oy * p->ow + ox] = sum / (float)divisor(p, count_include_pad, oy, ox);
        }
}

/* x: (N, C, H, W) -> y: (N, C, OH, OW) */
int dl_avgpool2d_forward(const dl_pool2d_t *p_in, int count_include_pad, const float *x,
                         float *y)
{
    dl_pool2d_t p = *p_in;
    if (dl_pool2d_check(&p) != DL_OK) return DL_EINVAL;
    const int64_t planes = p.n * p.c, hw = p.h * p.w, ohw = p.oh * p.ow;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * hw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        avgpool_plane(&p, count_include_pad, x + t * hw, y + t * ohw);
    return DL_OK;
}

/* One plane, dy: (OH, OW) -> dx: (H, W), overwritten */
static void avgpool_plane_backward(const dl_pool2d_t *p, int count_include_pad,
                                   const float *dy, float *dx)
{
    if (is_2x2_stride_2(p)) {
        if (p->h % 2 || p->w % 2) /* the last row / column no window covers */
            memset(dx, 0, sizeof(float) * p->h * p->w);
        for (int64_t oy = 0; oy < p->oh; oy++) {
            float *r0 = dx + 2 * oy * p->w, *r1 = r0 + p->w;
            for (int64_t ox = 0; ox < p->ow; ox++) {
                const float g = dy[oy * p->ow + ox] / 4.0f;
                r0[2 * ox] = r0[2 * ox + 1] = r1[2 * ox] = r1[2 * ox + 1] = g;
            }
        }
        return;
    }
    memset(dx, 0, sizeof(float) * p->h * p->w);
    for (int64_t oy = 0; oy < p->oh; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
            int64_t y0, y1, x0, x1;
            window(p, oy, ox, &y0, &y1, &x0, &x1);
            const float g = dy[oy * p->ow + ox] / (float)divisor(p, count_include_pad, oy, ox);
            for (int64_t iy = y0; iy < y1; iy++)
                for (int64_t ix = x0; ix < x1; ix++) dx[iy * p->w + ix] += g;
        }
}

/* dy: (N, C, OH, OW) -> dx: (N, C, H, W) */
int dl_avgpool2d_backward(const dl_pool2d_t *p_in, int count_include_pad, const float *dy,
                          float *dx)
{
    dl_pool2d_t p = *p_in;
    if (dl_pool2d_check(&p) != DL_OK) return DL_EINVAL;
    const int64_t planes = p.n * p.c, hw = p.h * p.w, ohw = p.oh * p.ow;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * hw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        avgpool_plane_backward(&p, count_include_pad, dy + t * ohw, dx + t * hw);
    return DL_OK;
}

/* x: (NC, HW) -> y: (NC), summed in double */
int dl_global_avgpool2d_forward(int64_t nc, int64_t hw, const float *x, float *y)
{
    int64_t total;
    if (nc < 1 || hw < 1 || !mul_ok(nc, hw, &total)) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (total > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < nc; t++) {
        const float *row = x + t * hw;
        double lane[4] = {0.0, 0.0, 0.0, 0.0};
        int64_t k = 0;
        for (; k + 4 <= hw; k += 4)
            for (int l = 0; l < 4; l++) lane[l] += row[k + l];
        for (; k < hw; k++) lane[0] += row[k];
        y[t] = (float)((lane[0] + lane[1] + lane[2] + lane[3]) / (double)hw);
    }
    return DL_OK;
}

/* dy: (NC) -> dx: (NC, HW) */
int dl_global_avgpool2d_backward(int64_t nc, int64_t hw, const float *dy, float *dx)
{
    int64_t total;
    if (nc < 1 || hw < 1 || !mul_ok(nc, hw, &total)) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (total > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < nc; t++) {
        const float g = (float)((double)dy[t] / (double)hw);
        for (int64_t k = 0; k < hw; k++) dx[t * hw + k] = g;
    }
    return DL_OK;
}
