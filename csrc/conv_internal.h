/* conv_internal.h: the pieces of im2col.c that conv.c drives over a chunk of images. */
#ifndef DL_CONV_INTERNAL_H
#define DL_CONV_INTERNAL_H

#include <stdint.h>

#include "dl_kernels.h"

/* The KH*KW rows of one channel's column matrix, rows ld floats apart from cols (row
 * i*KW + j, OH*OW floats each), from its input plane x_plane: (H, W). p must have passed
 * dl_conv2d_check. */
void dl_im2col_plane(const dl_conv2d_t *p, const float *x_plane, int64_t ld, float *cols);
/* Adjoint of dl_im2col_plane: accumulates those KH*KW rows into x_plane: (H, W). */
void dl_col2im_plane(const dl_conv2d_t *p, const float *cols, int64_t ld, float *x_plane);

#endif
