/* conv_internal.h: what conv.c (dispatch, im2col + GEMM), conv_shifted.c (tap GEMMs over
 * shifted views) and conv_direct.c (direct convolution over those views) share: the pieces of
 * im2col.c, the layer's derived sizes, plane helpers, the dot tiles of a small dW, and each
 * algorithm's passes. */
#ifndef DL_CONV_INTERNAL_H
#define DL_CONV_INTERNAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dl_kernels.h"

/* The KH*KW rows of one channel's column matrix, rows ld floats apart from cols (row
 * i*KW + j, OH*OW floats each), from its input plane x_plane: (H, W). p must have passed
 * dl_conv2d_check. */
void dl_im2col_plane(const dl_conv2d_t *p, const float *x_plane, int64_t ld, float *cols);
/* Adjoint of dl_im2col_plane: accumulates those KH*KW rows into x_plane: (H, W). */
void dl_col2im_plane(const dl_conv2d_t *p, const float *cols, int64_t ld, float *x_plane);

/* Below this many floats of work a parallel region costs more than it saves. From this many
 * channels per group a stride-1 convolution's taps are deep enough for GEMMs (conv_shifted.c)
 * or, on AVX-512, for the direct convolution's deep blocks (conv_direct.c). Below
 * VIEWS_MIN_PIXELS output pixels per plane the shifted views work image by image on too few
 * columns: the im2col columns of a chunk of images make one wide GEMM instead (a VGG's 4x4
 * and 2x2 planes ran 2-3x faster so, 14x14 planes 1.3x slower; the default of
 * dl_conv_views_min_pixels). */
enum { PARALLEL_MIN_FLOATS = 1 << 15, SHIFTED_MIN_CHANNELS = 32, VIEWS_MIN_PIXELS = 100 };


/* A checked layer's derived sizes and algorithm (conv.c's conv_dims) */
typedef struct {
    int64_t cg, ocg;   /* channels and output channels per group */
    int64_t kdim;      /* cg*KH*KW: rows of the column matrix, columns of a weight group */
    int64_t hw, ohw;   /* input and output plane sizes */
    int64_t chunk;     /* images per chunk */
    int pointwise;     /* 1x1, stride 1, no padding: x's planes are the columns */
    int dense;         /* the kernel covers the unpadded input (output 1x1): one dense layer */
    int shifted;       /* many channels: by shifted views of padded planes (conv_shifted.c) */
    int direct;        /* few channels: by direct convolution over those views (conv_direct.c) */
    int deep_forward;  /* shifted, but the forward pass direct with deep blocks */
    int deep_dx;       /* shifted, but dX direct with deep blocks */
    int winograd;      /* 3x3, stride 1, undilated, many channels: F(2x2, 3x3) (all passes) */
} conv_dims_t;

/* GCC vectors of 4, 8, 16 floats: the generic, AVX2 and AVX-512 register widths */
typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef float f32x16 __attribute__((vector_size(64)));

/* n floats, 64-byte aligned (NULL when out of memory) */
static inline float *alloc_floats(int64_t n)
{
    size_t bytes = ((size_t)n * sizeof(float) + 63) / 64 * 64;
    return aligned_alloc(64, bytes ? bytes : 64);
}

/* src: (h, w) into dst's rows wp floats apart, at row top, column left. dst's other floats are
 * its zero padding, left as they are: a buffer is zeroed once (alloc_padded) and every image
 * embedded in it writes the same floats. */
static inline void embed_plane(int64_t h, int64_t w, const float *src, int64_t wp, int64_t top,
                               int64_t left, float *dst)
{
    for (int64_t r = 0; r < h; r++) {
        const float *restrict s = src + r * w;
        float *restrict d = dst + (top + r) * wp + left;
        for (int64_t k = 0; k < w; k++) d[k] = s[k];
    }
}

/* dst: (h, w) = the first w columns of the h rows of src, ld_row floats apart, plus b */
static inline void extract_plane(int64_t h, int64_t w, const float *src, int64_t ld_row,
                                 float b, float *dst)
{
    for (int64_t r = 0; r < h; r++) {
        const float *restrict s = src + r * ld_row;
        float *restrict o = dst + r * w;
        for (int64_t k = 0; k < w; k++) o[k] = s[k] + b;
    }
}

/* Prefetches part `part` of `parts` of the n floats at src into L2: spread over the blocks of
 * one image, the next image's input arrives while they compute, and its embedding reads L2
 * instead of memory. */
static inline void prefetch_part(const float *src, int64_t n, int64_t part, int64_t parts)
{
    enum { LINE_FLOATS = 16 };
    const int64_t lo = n * part / parts / LINE_FLOATS * LINE_FLOATS, hi = n * (part + 1) / parts;
    for (int64_t k = lo; k < hi; k += LINE_FLOATS) __builtin_prefetch(src + k, 0, 2);
}

/* The row width WP = W + max(PL, PR) of the padded planes of the direct convolution (and of
 * the in-place dW): rows share their zero columns, a view reaching left of a row reading the
 * zero tail of the row above, so the wide grid wastes max(PL, PR) columns a row, not PL + PR
 * (3% of ResNet's 32-wide rows). The layer must have passed dl_conv2d_check. */
static inline int64_t grid_width(const dl_conv2d_t *p)
{
    return p->w + (p->pl > p->pr ? p->pl : p->pr);
}

/* Padded planes (planes, hp, wp) plus the slack the last tap's view reaches past them, all
 * zero (NULL when out of memory) */
static inline float *alloc_padded(int64_t planes, int64_t hp, int64_t wp, int64_t slack)
{
    float *buf = alloc_floats(planes * hp * wp + slack);
    if (buf) memset(buf, 0, sizeof(float) * (planes * hp * wp + slack));
    return buf;
}

/* ---- Dot tiles for a small dW (conv.c; see there) ---------------------------------------- */
enum { DOT_TILE = 4, DOT_MAX_OUTPUTS = 4096, DOT_MAX_LANES = 16 };

/* The k floats of a row and of each of the nseg - 1 segments after it, a_step (b_step)
 * floats apart: one dot product over separate pieces, e.g. one per image. */
typedef struct {
    int64_t k, nseg, a_step, b_step;
} dot_span_t;

/* A tile's running sums: lane-wise vectors, and the products past each segment's last whole
 * vector (in order); a dot is tail + its lanes in order (dot_total). */
typedef struct {
    float lanes[DOT_TILE][DOT_TILE][DOT_MAX_LANES];
    float tail[DOT_TILE][DOT_TILE];
} dot_sums_t;

typedef void (*dot_tile_fn)(dot_span_t sp, const float *const a[DOT_TILE],
                            const float *const b[DOT_TILE], dot_sums_t *sums);

typedef struct {
    dot_tile_fn tile;
    int lanes;
} dot_kernel_t;

/* The tile kernel of the run-time CPU path and its vector width */
dot_kernel_t dl_conv_dot_kernel(void);

/* Tile t of c: (m, n) in the order dot_gemm_nt and dl_conv_dw_direct share: down a column of tiles
 * first. Its rows of a (of c) and of b: lda apart, and at b_rows[j] or else j*ldb. Edge tiles
 * repeat the last row. */
void dl_conv_dot_tile_rows(int64_t m, int64_t n, int64_t t, const float *a, int64_t lda,
                           const float *b, int64_t ldb, const int64_t *b_rows,
                           const float *ra[DOT_TILE], const float *rb[DOT_TILE]);
/* The valid part of tile t of c: (m, n), rows ldc apart, from its sums; added to c's old
 * values when `accumulate`. */
void dl_conv_dot_tile_store(int64_t m, int64_t n, int64_t t, const dot_sums_t *sums,
                            int lanes, int accumulate, float *c, int64_t ldc);

/* The tiles of c: (m, n) */
static inline int64_t dot_tiles(int64_t m, int64_t n)
{
    return (m + DOT_TILE - 1) / DOT_TILE * ((n + DOT_TILE - 1) / DOT_TILE);
}

/* conv_winograd.c: whether p (3x3, stride 1, undilated, padding <= 2) with cg / ocg channels
 * per group takes the Winograd passes (views: the planes are large enough for shifted views),
 * and the passes */
int dl_conv_winograd_fits(const dl_conv2d_t *p, int64_t cg, int64_t ocg, int views);
int dl_conv_forward_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                             const float *w, const float *bias, float *y);
int dl_conv_dx_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                        const float *dy, float *dx);
int dl_conv_dw_winograd(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                        const float *dy, float *dw);

/* ---- The passes of each algorithm; p has passed dl_conv2d_check, d = its sizes ---------- */
/* conv_shifted.c: y: (N, OC, OH, OW) from x: (N, C, H, W), w, bias (or NULL) */
int dl_conv_forward_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                            const float *w, const float *bias, float *y);
/* conv_shifted.c: dx: (N, C, H, W) from w and dy: (N, OC, OH, OW), overwritten */
int dl_conv_dx_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                       const float *dy, float *dx);
/* conv_shifted.c: dw: (OC, C/groups, KH, KW), overwritten, from x and dy */
int dl_conv_dw_shifted(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                       const float *dy, float *dw);
/* conv_direct.c: 1 when the direct convolution of `planes` input planes into m output planes
 * takes the deep blocks of the run-time CPU path, which beat the tap GEMMs */
int dl_conv_direct_deep(int64_t planes, int64_t m);
/* conv_direct.c: as dl_conv_forward_shifted, by a direct convolution */
int dl_conv_forward_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                           const float *w, const float *bias, float *y);
/* conv_direct.c: as dl_conv_dx_shifted, by a direct convolution */
int dl_conv_dx_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *w,
                      const float *dy, float *dx);
/* conv_direct.c: dw: (OC, C/groups, KH, KW), overwritten, when OC/g * kdim <= DOT_MAX_OUTPUTS */
int dl_conv_dw_direct(const dl_conv2d_t *p, const conv_dims_t *d, const float *x,
                      const float *dy, float *dw);

#endif
