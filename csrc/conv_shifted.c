/* conv_shifted.c: stride-1 convolution without a column matrix, for many channels per group:
 * the forward pass and dX as GEMMs over shifted views of padded planes (conv.c dispatches).
 *
 * Embed an image's planes in zero-padded planes (HP, WP) and compute outputs on the wider grid
 * (OH, WP); then kernel tap (i, j) reads every output's input at one offset i*DH*WP + j*DW, so
 * the columns of tap (i, j) are a strided view (cg, OH*WP) of the padded planes and
 *     y_ext = sum over taps of W_ij · view_ij,   W_ij: (OC/g, cg) = w[:, :, i, j],
 * KH*KW GEMMs of depth cg, the last WP - OW columns of each output row being discarded. dX is
 * the same with dY embedded in planes padded by the kernel extent minus the padding, and the
 * taps flipped. No column matrix goes through memory, which is what bounds im2col for large
 * layers; it needs cg large enough (SHIFTED_MIN_CHANNELS) for GEMMs of depth cg to run well. */
#include <stdlib.h>
#include <string.h>

#include "conv_internal.h"
#include "dl_kernels.h"

/* wr: (KH*KW, OC, cg) = w: (OC, cg, KH, KW) with the tap index outermost */
static void repack_taps(const dl_conv2d_t *p, const conv_dims_t *d, const float *w, float *wr)
{
    const int64_t kk = p->kh * p->kw;
    for (int64_t t = 0; t < kk; t++)
        for (int64_t o = 0; o < p->oc; o++)
            for (int64_t c = 0; c < d->cg; c++)
                wr[(t * p->oc + o) * d->cg + c] = w[(o * d->cg + c) * kk + t];
}

/* embed_plane for each of `planes` planes, src: (planes, h, w) -> dst: (planes, ld_plane) */
static void embed_planes(int64_t planes, int64_t h, int64_t w, const float *src, int64_t wp,
                         int64_t ld_plane, int64_t top, int64_t left, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * ld_plane > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        embed_plane(h, w, src + t * h * w, wp, ld_plane, top, left, dst + t * ld_plane);
}

/* extract_plane for each of `planes` planes, src: (planes, ld_plane) -> dst: (planes, h, w),
 * with bias[t] on plane t when bias is not NULL */
static void extract_planes(int64_t planes, int64_t h, int64_t w, const float *src,
                           int64_t ld_row, int64_t ld_plane, const float *bias, float *dst)
{
#pragma omp parallel for schedule(static) num_threads(dl_num_threads()) \
    if (planes * h * w > PARALLEL_MIN_FLOATS)
    for (int64_t t = 0; t < planes; t++)
        extract_plane(h, w, src + t * ld_plane, ld_row, bias ? bias[t] : 0.0f,
                      dst + t * h * w);
}

/* The shifted-view passes give each thread whole images (and groups) with serial GEMMs: a
 * parallel region per GEMM costs a thread wake-up (OMP_WAIT_POLICY=PASSIVE) per tap and
 * image. A single image and group leaves the threads to the GEMMs. dl_sgemm gives the same
 * bits serially and threaded (and runs serially inside our parallel region), so neither
 * choice depends on the thread count. */

/* y_ext: (OC/g, OH*WP) of each image and group from the KH*KW tap GEMMs over the views of xp,
 * x's planes padded to (HP, WP). */
int dl_conv_forward_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                           const float *w, const float *bias, float *y)
{
    const int64_t hp = p->h + p->pt + p->pb, wp = p->w + p->pl + p->pr, kk = p->kh * p->kw;
    const int64_t n_ext = p->oh * wp;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    int failed = !wr;
    if (wr) repack_taps(p, d, w, wr);
#pragma omp parallel num_threads(dl_num_threads()) if (wr && p->n * p->groups > 1)
    {
        float *xp = alloc_padded(d->cg, hp, wp, (p->kw - 1) * p->dw);
        float *ye = alloc_floats(d->ocg * n_ext);
        int code = wr && xp && ye ? DL_OK : DL_ENOMEM;
#pragma omp for schedule(static)
        for (int64_t ng = 0; ng < p->n * p->groups; ng++) {
            if (code != DL_OK) continue;
            const int64_t n = ng / p->groups, g = ng % p->groups;
            embed_planes(d->cg, p->h, p->w, x + (n * p->c + g * d->cg) * d->hw, wp, hp * wp, p->pt,
                         p->pl, xp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(0, 0, d->ocg, n_ext, d->cg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                xp + i * p->dh * wp + j * p->dw, hp * wp, t ? 1.0f : 0.0f, ye,
                                n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->ocg, p->oh, p->ow, ye, wp, n_ext, bias ? bias + g * d->ocg : NULL,
                               y + (n * p->oc + g * d->ocg) * d->ohw);
        }
        if (code != DL_OK) {
#pragma omp atomic write
            failed = 1;
        }
        free(xp);
        free(ye);
    }
    free(wr);
    return failed ? DL_ENOMEM : DL_OK;
}

/* dx_ext: (cg, H*WQ) of each image and group from the flipped taps over the views of dyp, dy
 * embedded at ((KH-1)*DH - PT, (KW-1)*DW - PL) in planes (HQ, WQ) = (H, W) + kernel extent. */
int dl_conv_dx_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                      const float *dy, float *dx)
{
    const int64_t ey = (p->kh - 1) * p->dh, ex = (p->kw - 1) * p->dw, kk = p->kh * p->kw;
    const int64_t hq = p->h + ey, wq = p->w + ex, n_ext = p->h * wq;
    float *wr = alloc_floats(kk * p->oc * d->cg);
    int failed = !wr;
    if (wr) repack_taps(p, d, w, wr);
#pragma omp parallel num_threads(dl_num_threads()) if (wr && p->n * p->groups > 1)
    {
        float *dyp = alloc_padded(d->ocg, hq, wq, ex);
        float *xe = alloc_floats(d->cg * n_ext);
        int code = wr && dyp && xe ? DL_OK : DL_ENOMEM;
#pragma omp for schedule(static)
        for (int64_t ng = 0; ng < p->n * p->groups; ng++) {
            if (code != DL_OK) continue;
            const int64_t n = ng / p->groups, g = ng % p->groups;
            embed_planes(d->ocg, p->oh, p->ow, dy + (n * p->oc + g * d->ocg) * d->ohw, wq, hq * wq,
                         ey - p->pt, ex - p->pl, dyp);
            for (int64_t t = 0; t < kk && code == DL_OK; t++) {
                const int64_t i = t / p->kw, j = t % p->kw;
                code = dl_sgemm(1, 0, d->cg, n_ext, d->ocg, 1.0f,
                                wr + (t * p->oc + g * d->ocg) * d->cg, d->cg,
                                dyp + (ey - i * p->dh) * wq + ex - j * p->dw, hq * wq,
                                t ? 1.0f : 0.0f, xe, n_ext);
            }
            if (code == DL_OK)
                extract_planes(d->cg, p->h, p->w, xe, wq, n_ext, NULL,
                               dx + (n * p->c + g * d->cg) * d->hw);
        }
        if (code != DL_OK) {
#pragma omp atomic write
            failed = 1;
        }
        free(dyp);
        free(xe);
    }
    free(wr);
    return failed ? DL_ENOMEM : DL_OK;
}
