/* conv_internal.h: the pieces of im2col.c that conv.c drives over a chunk of images. */
#ifndef DL_CONV_INTERNAL_H
#define DL_CONV_INTERNAL_H

#include <stdint.h>

#include "dl_kernels.h"

/* Row r of one image's column matrix, row r = (ci*KH + i)*KW + j of channels c0.., OH*OW
 * floats at cols_row. p must have passed dl_conv2d_check. */
void dl_im2col_row(const dl_conv2d_t *p, const float *x_img, int64_t c0, int64_t r,
                   float *cols_row);
/* Accumulates the KH*KW rows of channel ci (rows `ld` floats apart, starting at the image's
 * first row `cols`) into its input plane x_plane: (H, W). */
void dl_col2im_plane(const dl_conv2d_t *p, const float *cols, int64_t ld, int64_t ci,
                     float *x_plane);

#endif
