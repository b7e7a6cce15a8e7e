/* pool.c: 2-D max and average pooling, forward and backward, parallel over the N*C planes.
 *
 * Windows are clipped to the real input: for max pooling the padding is -inf and never wins,
 * for average pooling it is zero and counts in the divisor only with count_include_pad. */
#include <math.h>
#include <string.h>

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

/* One plane, x: (H, W) -> y, idx: (OH, OW); ties go to the first max in row-major order. */
static void maxpool_plane(const dl_pool2d_t *p, const float *x, float *y, int64_t *idx)
{
    if (is_2x2_stride_2(p)) {
        for (int64_t oy = 0; oy < p->oh; oy++) {
            const float *r0 = x + 2 * oy * p->w, *r1 = r0 + p->w;
            for (int64_t ox = 0; ox < p->ow; ox++) {
                const int64_t at0 = 2 * oy * p->w + 2 * ox;
                float best = r0[2 * ox];
                int64_t at = at0;
                if (beats(r0[2 * ox + 1], best)) { best = r0[2 * ox + 1]; at = at0 + 1; }
                if (beats(r1[2 * ox], best)) { best = r1[2 * ox]; at = at0 + p->w; }
                if (beats(r1[2 * ox + 1], best)) { best = r1[2 * ox + 1]; at = at0 + p->w + 1; }
                y[oy * p->ow + ox] = best;
                idx[oy * p->ow + ox] = at;
            }
        }
        return;
    }
    for (int64_t oy = 0; oy < p->oh; oy++)
        for (int64_t ox = 0; ox < p->ow; ox++) {
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
            y[oy * p->ow + ox] = best;
            idx[oy * p->ow + ox] = at;
        }
}

/* x: (N, C, H, W) -> y, idx: (N, C, OH, OW) */
int dl_maxpool2d_forward(const dl_pool2d_t *p_in, const float *x, float *y, int64_t *idx)
{
    dl_pool2d_t p = *p_in;
    if (dl_pool2d_check(&p) != DL_OK) return DL_EINVAL;
    const int64_t planes = p.n * p.c, hw = p.h * p.w, ohw = p.oh * p.ow;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * hw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        maxpool_plane(&p, x + t * hw, y + t * ohw, idx + t * ohw);
    return DL_OK;
}

/* dy, idx: (N, C, OH, OW) -> dx: (N, C, H, W) */
int dl_maxpool2d_backward(const dl_pool2d_t *p, const float *dy, const int64_t *idx, float *dx)
{
    if (p->n < 1 || p->c < 1 || p->h < 1 || p->w < 1 || p->oh < 1 || p->ow < 1 ||
        !sizes_fit(p))
        return DL_EINVAL;
    const int64_t planes = p->n * p->c, hw = p->h * p->w, ohw = p->oh * p->ow;
    int bad = 0;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) reduction(| : bad) \
    if (planes * ohw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes * ohw; t++)
        bad |= idx[t] < 0 || idx[t] >= hw;
    if (bad) return DL_EINVAL;
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * hw > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++) {
        float *plane = dx + t * hw;
        memset(plane, 0, sizeof(float) * hw);
        for (int64_t o = 0; o < ohw; o++) plane[idx[t * ohw + o]] += dy[t * ohw + o];
    }
    return DL_OK;
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
