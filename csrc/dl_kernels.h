/* dl_kernels.h: the whole C API of dlcore's kernels.
 *
 * float32, row-major, explicit sizes. Every function validates its sizes and returns
 * DL_OK (0) or a negative DL_E* code before touching memory; the Cython layer validates
 * array shapes first, so a negative return means a bug in the binding. */
#ifndef DL_KERNELS_H
#define DL_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { DL_OK = 0, DL_EINVAL = -1, DL_ENOMEM = -2 };

/* ---- cpu.c: feature detection, dispatch, threads ------------------------------------ */
enum { DL_CPU_GENERIC = 0, DL_CPU_AVX2 = 1, DL_CPU_AVX512 = 2 };

int dl_cpu_best(void);                 /* best path this CPU (and OS) supports */
int dl_cpu_path(void);                 /* path in use: DL_CPU env var or best, clamped */
int dl_cpu_set_path(int path);         /* clamps to dl_cpu_best(); returns the path in use */
const char *dl_cpu_path_name(int path);
int dl_openmp(void);                   /* 1 when built with OpenMP */
const char *dl_compiler(void);         /* e.g. "gcc 12.2.0" */
const char *dl_cpu_features(void);     /* the SIMD features seen, e.g. "sse4.2 avx avx2 fma" */
int dl_num_threads(void);
void dl_set_num_threads(int n);        /* n < 1 means 1 */
/* Sustained FMA throughput of one thread on `path`, GFLOP/s, measured for ~`seconds`. */
double dl_peak_gflops(int path, double seconds);

/* ---- gemm.c: C = alpha * op(A) * op(B) + beta * C ------------------------------------
 * op(A): (m, k), op(B): (k, n), C: (m, n). lda/ldb/ldc are row strides in elements of the
 * stored (untransposed) matrices. beta == 0 overwrites C without reading it. Threads split
 * M/N tiles, never K, so results are bit-identical for any thread count. */
int dl_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
             float alpha, const float *a, int64_t lda, const float *b, int64_t ldb,
             float beta, float *c, int64_t ldc);

/* ---- im2col.c, conv.c: 2-D convolution (cross-correlation) through GEMM -------------- */
typedef struct {
    int64_t n, c, h, w;       /* input  x: (N, C, H, W) */
    int64_t oc, kh, kw;       /* weight w: (OC, C/groups, KH, KW) */
    int64_t sh, sw;           /* stride */
    int64_t pt, pb, pl, pr;   /* zero padding: top, bottom, left, right */
    int64_t dh, dw;           /* dilation */
    int64_t groups;
    int64_t oh, ow;           /* output y: (N, OC, OH, OW); set by dl_conv2d_check */
} dl_conv2d_t;

/* Validates the geometry (positive sizes, divisibility by groups, output >= 1, no overflow)
 * and fills oh/ow. Every conv entry point calls it again. */
int dl_conv2d_check(dl_conv2d_t *p);
/* One image, channels c0..c0+cg-1 -> cols: (cg*KH*KW, OH*OW). */
int dl_im2col(const dl_conv2d_t *p, const float *x_img, int64_t c0, int64_t cg, float *cols);
/* Adjoint of dl_im2col: accumulates (+=) cols into x_img's channels c0..c0+cg-1. */
int dl_col2im(const dl_conv2d_t *p, const float *cols, int64_t c0, int64_t cg, float *x_img);
int dl_conv2d_forward(const dl_conv2d_t *p, const float *x, const float *w,
                      const float *bias /* (OC) or NULL */, float *y);
/* Any of dx (N,C,H,W), dw (OC,C/g,KH,KW), db (OC) may be NULL; the others are overwritten. */
int dl_conv2d_backward(const dl_conv2d_t *p, const float *x, const float *w, const float *dy,
                       float *dx, float *dw, float *db);
/* Stride-1 convolutions of planes with at least this many output pixels use shifted views
 * (no column matrix); smaller ones im2col chunks of images (the faster choice). Sets it when
 * pixels >= 0 (tests use 0 to reach the view paths on small shapes); returns the old value. */
int64_t dl_conv_views_min_pixels(int64_t pixels);
/* When 3x3 stride-1 undilated convolutions run by Winograd's F(2x2, 3x3): never, where it
 * was measured faster (the default), or always; sets the mode when it is one of these and
 * returns the mode before. */
enum { DL_WINOGRAD_NEVER = 0, DL_WINOGRAD_AUTO = 1, DL_WINOGRAD_ALWAYS = 2 };
int dl_conv_winograd(int mode);

/* ---- pool.c: 2-D max / average pooling ------------------------------------------------ */
typedef struct {
    int64_t n, c, h, w;       /* input (N, C, H, W) */
    int64_t kh, kw, sh, sw;   /* window and stride */
    int64_t ph, pw;           /* symmetric padding, at most half the window */
    int64_t oh, ow;           /* output (N, C, OH, OW); set by dl_pool2d_check */
} dl_pool2d_t;

int dl_pool2d_check(dl_pool2d_t *p);
/* idx[i] = h*W + w of the max within its input plane (PyTorch's convention). */
int dl_maxpool2d_forward(const dl_pool2d_t *p, const float *x, float *y, int64_t *idx);
/* Uses only n, c, h, w, oh, ow of p; DL_EINVAL for an index outside [0, H*W). */
int dl_maxpool2d_backward(const dl_pool2d_t *p, const float *dy, const int64_t *idx, float *dx);
int dl_avgpool2d_forward(const dl_pool2d_t *p, int count_include_pad, const float *x, float *y);
int dl_avgpool2d_backward(const dl_pool2d_t *p, int count_include_pad, const float *dy,
                          float *dx);
/* x: (NC, HW) -> y: (NC) and back. */
int dl_global_avgpool2d_forward(int64_t nc, int64_t hw, const float *x, float *y);
int dl_global_avgpool2d_backward(int64_t nc, int64_t hw, const float *dy, float *dx);

/* ---- batchnorm.c: batch normalisation per channel of x (N, C, S), S the spatial size --
 * Training writes mean and var (C): the batch mean and biased variance, summed in double;
 * evaluation reads them (the running statistics). Both write inv_std (C) = 1/sqrt(var + eps)
 * and y = (x - mean) * inv_std * weight + bias, weight and bias (C) or NULL (1 and 0).
 * Threads split the channels, so results are bit-identical for any thread count. */
int dl_batchnorm_forward(int64_t n, int64_t c, int64_t s, const float *x, const float *weight,
                         const float *bias, double eps, int training, float *mean, float *var,
                         float *inv_std, float *y);
/* Gradients from forward's mean and inv_std, xhat = (x - mean) * inv_std recomputed from x.
 * Training: dx = w*inv_std*(dy - mean(dy) - xhat*mean(dy*xhat)), the means over N and S;
 * evaluation: dx = w*inv_std*dy. dweight = sum(dy*xhat), dbias = sum(dy). Any of
 * dx (N, C, S), dweight (C), dbias (C) may be NULL. */
int dl_batchnorm_backward(int64_t n, int64_t c, int64_t s, const float *x, const float *dy,
                          const float *mean, const float *inv_std, const float *weight,
                          int training, float *dx, float *dweight, float *dbias);

/* ---- elementwise.c: ReLU, add+ReLU, axpby ---------------------------------------------- */
int dl_relu_forward(int64_t n, const float *x, float *y);
int dl_relu_backward(int64_t n, const float *y, const float *dy, float *dx);
/* y = x where x > 0, else slope * x; its backward reads the input x (slope may be <= 0). */
int dl_leaky_relu_forward(int64_t n, const float *x, float slope, float *y);
int dl_leaky_relu_backward(int64_t n, const float *x, const float *dy, float slope, float *dx);
/* y = max(a + b, 0), a residual block's join in one pass; its backward is dl_relu_backward. */
int dl_add_relu_forward(int64_t n, const float *a, const float *b, float *y);
/* x: (n) -> y = x Phi(x) (GELU), slope = Phi(x) + x phi(x) its derivative; no overlap. */
int dl_gelu_forward(int64_t n, const float *x, float *y, float *slope);
/* y = alpha*x + beta*y in place (x and y do not overlap); beta == 0 does not read y. */
int dl_axpby(int64_t n, float alpha, const float *x, float beta, float *y);

/* ---- recurrent.c: the pointwise part of one LSTM / GRU time step ------------------------
 * n rows (the batch) of hidden size h, every array C-contiguous. The caller adds the hidden
 * projection h_prev W_hhᵀ (+ b_hh) by dl_sgemm; these fuse what follows.
 * LSTM gates (n, 4h) [i|f|g|o]: pre-activations in, activations sigmoid/sigmoid/tanh/sigmoid
 * out; c = f c_prev + i g, h_out = o tanh(c). Backward from those activations: dh (n, h) and
 * dc (n, h), the gradient of c on entry, of c_prev on return; dgates (n, 4h) the gradient of
 * the pre-activations. */
int dl_lstm_cell_forward(int64_t n, int64_t h, float *gates, const float *c_prev, float *c,
                         float *h_out);
int dl_lstm_cell_backward(int64_t n, int64_t h, const float *gates, const float *c_prev,
                          const float *c, const float *dh, float *dc, float *dgates);
/* GRU, PyTorch's form: gx (n, 3h) = x W_ihᵀ + b_ih, gh (n, 3h) = h_prev W_hhᵀ + b_hh;
 * r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r gh_n), h_out = (1-z) n + z h_prev;
 * gates (n, 3h) receives [r|z|n]. Backward: dgx, dgh (n, 3h), the gradients of gx and gh, and
 * dh_prev (n, h) = dh z, the part that does not pass through gh. */
int dl_gru_cell_forward(int64_t n, int64_t h, const float *gx, const float *gh,
                        const float *h_prev, float *gates, float *h_out);
int dl_gru_cell_backward(int64_t n, int64_t h, const float *gates, const float *gh,
                         const float *h_prev, const float *dh, float *dgx, float *dgh,
                         float *dh_prev);

/* ---- softmax_xent.c: fused, stable softmax cross-entropy ------------------------------ */
enum { DL_REDUCE_NONE = 0, DL_REDUCE_MEAN = 1, DL_REDUCE_SUM = 2 };

/* logits (N, C), target (N) class ids in [0, C) or ignore_index. loss: N floats for NONE,
 * else 1. dlogits (N, C) or NULL: gradient of the reduced loss (for NONE, of each row's own
 * loss). MEAN divides by the number of rows not ignored (NaN loss when there are none,
 * like PyTorch). label_smoothing e mixes the one-hot target with the uniform 1/C.
 * Returns DL_EINVAL for a target outside [0, C) that is not ignore_index. */
int dl_softmax_xent(int64_t n, int64_t c, const float *logits, const int64_t *target,
                    int64_t ignore_index, float label_smoothing, int reduction,
                    float *loss, float *dlogits);

#ifdef __cplusplus
}
#endif
#endif
