/* recurrent.c: the pointwise half of one LSTM or GRU time step, forward and backward.
 *
 * The matrix products of a step (h W_hhᵀ, and in backward dgates W_hh) are dl_sgemm calls
 * made by the caller; what is left is a handful of passes of sigmoid/tanh and products over
 * (n, gates*h) values, fused here into one pass per step. Rows are n batch elements, gates
 * laid out as PyTorch does: LSTM [i | f | g | o], GRU [r | z | n], each block h wide.
 *
 * sigmoid uses dl_fast_exp (fast_exp.h) and tanh a rational function, so that
 * -O3 vectorises the loops: a call to libm's expf per element costs more than the step's
 * GEMM. */
#include <math.h>

#include "dl_kernels.h"
#include "fast_exp.h"

#if DL_OPENMP
#include <omp.h>
#endif

#define PARALLEL_MIN 65536 /* values per step below which one thread is faster */

#define INLINE static inline __attribute__((always_inline))

INLINE float sigmoid(float x) { return 1.0f / (1.0f + dl_fast_exp(-x)); }

/* tanh as a rational function of x (odd degree 13 over even degree 6, the fit Eigen uses),
 * saturated beyond |x| = 7.9: one division and no exp, within 4e-7 of tanh everywhere, and
 * x itself below |x| = 4e-4, where that is exact in float. */
INLINE float tanh_(float x)
{
    const float limit = 7.90531110763549805f;
    const float xc = x < -limit ? -limit : (x > limit ? limit : x);
    const float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    return fabsf(x) < 0.0004f ? x : xc * p / q;
}

/* ---- LSTM ------------------------------------------------------------------------------- */

INLINE void lstm_forward_row(int64_t h, float *restrict gates, const float *restrict c_prev,
                             float *restrict c, float *restrict h_out)
{
    float *restrict gi = gates, *restrict gf = gates + h, *restrict gg = gates + 2 * h,
                    *restrict go = gates + 3 * h;
    for (int64_t j = 0; j < h; j++) {
        const float i = sigmoid(gi[j]), f = sigmoid(gf[j]), g = tanh_(gg[j]),
                    o = sigmoid(go[j]);
        const float cj = f * c_prev[j] + i * g;
        gi[j] = i, gf[j] = f, gg[j] = g, go[j] = o;
        c[j] = cj;
        h_out[j] = o * tanh_(cj);
    }
}

INLINE void lstm_backward_row(int64_t h, const float *restrict gates,
                              const float *restrict c_prev, const float *restrict c,
                              const float *restrict dh, float *restrict dc,
                              float *restrict dgates)
{
    const float *restrict gi = gates, *restrict gf = gates + h, *restrict gg = gates + 2 * h,
                          *restrict go = gates + 3 * h;
    float *restrict di = dgates, *restrict df = dgates + h, *restrict dg = dgates + 2 * h,
                    *restrict dout = dgates + 3 * h;
    for (int64_t j = 0; j < h; j++) {
        const float i = gi[j], f = gf[j], g = gg[j], o = go[j];
        const float tc = tanh_(c[j]);
        const float dct = dc[j] + dh[j] * o * (1.0f - tc * tc);
        di[j] = dct * g * i * (1.0f - i);
        df[j] = dct * c_prev[j] * f * (1.0f - f);
        dg[j] = dct * i * (1.0f - g * g);
        dout[j] = dh[j] * tc * o * (1.0f - o);
        dc[j] = dct * f;
    }
}

/* ---- GRU -------------------------------------------------------------------------------- */

INLINE void gru_forward_row(int64_t h, const float *restrict gx, const float *restrict gh,
                            const float *restrict h_prev, float *restrict gates,
                            float *restrict h_out)
{
    for (int64_t j = 0; j < h; j++) {
        const float r = sigmoid(gx[j] + gh[j]);
        const float z = sigmoid(gx[h + j] + gh[h + j]);
        const float n = tanh_(gx[2 * h + j] + r * gh[2 * h + j]);
        gates[j] = r, gates[h + j] = z, gates[2 * h + j] = n;
        h_out[j] = (1.0f - z) * n + z * h_prev[j]; /* exact h_prev when z == 1 */
    }
}

INLINE void gru_backward_row(int64_t h, const float *restrict gates, const float *restrict gh,
                             const float *restrict h_prev, const float *restrict dh,
                             float *restrict dgx, float *restrict dgh, float *restrict dh_prev)
{
    for (int64_t j = 0; j < h; j++) {
        const float r = gates[j], z = gates[h + j], n = gates[2 * h + j], g = dh[j];
        const float dn = g * (1.0f - z) * (1.0f - n * n);
        const float dr = dn * gh[2 * h + j] * r * (1.0f - r);
        const float dz = g * (h_prev[j] - n) * z * (1.0f - z);
        dgx[j] = dr, dgx[h + j] = dz, dgx[2 * h + j] = dn;
        dgh[j] = dr, dgh[h + j] = dz, dgh[2 * h + j] = dn * r;
        dh_prev[j] = g * z;
    }
}

/* ---- one function per ISA, each a loop over rows --------------------------------------- */

typedef struct {
    int64_t n, h;
    const float *a, *b, *c, *d;
    float *w, *x, *y, *z;
} step_t;

#define ROWS(body)                                                                       \
    for (int64_t row = lo; row < hi; row++) {                                            \
        const int64_t h = s->h, one = row * h, three = row * 3 * h, four = row * 4 * h; \
        (void)one, (void)three, (void)four;                                              \
        body;                                                                            \
    }

INLINE void lstm_fwd(const step_t *s, int64_t lo, int64_t hi)
{
    ROWS(lstm_forward_row(h, s->w + four, s->a + one, s->x + one, s->y + one))
}
INLINE void lstm_bwd(const step_t *s, int64_t lo, int64_t hi)
{
    ROWS(lstm_backward_row(h, s->a + four, s->b + one, s->c + one, s->d + one, s->w + one,
                           s->x + four))
}
INLINE void gru_fwd(const step_t *s, int64_t lo, int64_t hi)
{
    ROWS(gru_forward_row(h, s->a + three, s->b + three, s->c + one, s->w + three, s->x + one))
}
INLINE void gru_bwd(const step_t *s, int64_t lo, int64_t hi)
{
    ROWS(gru_backward_row(h, s->a + three, s->b + three, s->c + one, s->d + one, s->w + three,
                          s->x + three, s->y + one))
}

typedef void (*rows_fn)(const step_t *, int64_t, int64_t);
enum { LSTM_FWD, LSTM_BWD, GRU_FWD, GRU_BWD, KINDS };

#define VARIANT(suffix, attr)                                                                 \
    attr static void lstm_fwd_##suffix(const step_t *s, int64_t lo, int64_t hi)              \
    { lstm_fwd(s, lo, hi); }                                                                  \
    attr static void lstm_bwd_##suffix(const step_t *s, int64_t lo, int64_t hi)              \
    { lstm_bwd(s, lo, hi); }                                                                  \
    attr static void gru_fwd_##suffix(const step_t *s, int64_t lo, int64_t hi)               \
    { gru_fwd(s, lo, hi); }                                                                   \
    attr static void gru_bwd_##suffix(const step_t *s, int64_t lo, int64_t hi)               \
    { gru_bwd(s, lo, hi); }                                                                   \
    static const rows_fn suffix##_fns[KINDS] = {lstm_fwd_##suffix, lstm_bwd_##suffix,        \
                                                gru_fwd_##suffix, gru_bwd_##suffix};

VARIANT(generic, )
#if defined(__x86_64__) || defined(__i386__)
VARIANT(avx2, __attribute__((target("avx2,fma"))))
VARIANT(avx512, __attribute__((target("avx512f,avx512dq,prefer-vector-width=512"))))
#endif

static int run(int kind, const step_t *s, int gates)
{
    int64_t values;
    if (s->n < 1 || s->h < 1 || __builtin_mul_overflow(s->n, s->h * (int64_t)gates, &values) ||
        s->h > INT64_MAX / 4)
        return DL_EINVAL;
    const rows_fn *fns = generic_fns;
#if defined(__x86_64__) || defined(__i386__)
    if (dl_cpu_path() == DL_CPU_AVX512) fns = avx512_fns;
    else if (dl_cpu_path() == DL_CPU_AVX2) fns = avx2_fns;
#endif
    const rows_fn fn = fns[kind];
    const int threads = values >= PARALLEL_MIN ? dl_num_threads() : 1;
    if (threads <= 1) {
        fn(s, 0, s->n);
        return DL_OK;
    }
#pragma omp parallel num_threads(threads)
    {
#if DL_OPENMP
        const int64_t t = omp_get_thread_num(), count = omp_get_num_threads();
#else
        const int64_t t = 0, count = 1;
#endif
        fn(s, s->n * t / count, s->n * (t + 1) / count);
    }
    return DL_OK;
}

int dl_lstm_cell_forward(int64_t n, int64_t h, float *gates, const float *c_prev, float *c,
                         float *h_out)
{
    if (!gates || !c_prev || !c || !h_out) return DL_EINVAL;
    const step_t s = {.n = n, .h = h, .a = c_prev, .w = gates, .x = c, .y = h_out};
    return run(LSTM_FWD, &s, 4);
}

int dl_lstm_cell_backward(int64_t n, int64_t h, const float *gates, const float *c_prev,
                          const float *c, const float *dh, float *dc, float *dgates)
{
    if (!gates || !c_prev || !c || !dh || !dc || !dgates) return DL_EINVAL;
    const step_t s = {.n = n, .h = h, .a = gates, .b = c_prev, .c = c, .d = dh, .w = dc,
                      .x = dgates};
    return run(LSTM_BWD, &s, 4);
}

int dl_gru_cell_forward(int64_t n, int64_t h, const float *gx, const float *gh,
                        const float *h_prev, float *gates, float *h_out)
{
    if (!gx || !gh || !h_prev || !gates || !h_out) return DL_EINVAL;
    const step_t s = {.n = n, .h = h, .a = gx, .b = gh, .c = h_prev, .w = gates, .x = h_out};
    return run(GRU_FWD, &s, 3);
}

int dl_gru_cell_backward(int64_t n, int64_t h, const float *gates, const float *gh,
                         const float *h_prev, const float *dh, float *dgx, float *dgh,
                         float *dh_prev)
{
    if (!gates || !gh || !h_prev || !dh || !dgx || !dgh || !dh_prev) return DL_EINVAL;
    const step_t s = {.n = n, .h = h, .a = gates, .b = gh, .c = h_prev, .d = dh, .w = dgx,
                      .x = dgh, .y = dh_prev};
    return run(GRU_BWD, &s, 3);
}
