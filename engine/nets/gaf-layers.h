/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Layers as paired forward/backward functions on flat row-major float buffers.
 * Backward functions accumulate (+=) into every gradient they are given; pass NULL for a
 * gradient that is not needed. A separate zero-grad clears (gaf_params_zero_grad). */

/* in (M, K), w (K, N), b (N) or NULL -> out (M, N) */
void gaf_linear_forward  (float *out, const float *in, const float *w, const float *b, int m, int k, int n);
void gaf_linear_backward (float *din, float *dw, float *db, const float *dout, const float *in,
                          const float *w, int m, int k, int n);

/* out = max(in, 0); in and out may alias. Backward uses the forward output as the mask. */
void gaf_relu_forward  (float *out, const float *in, gsize count);
void gaf_relu_backward (float *din, const float *dout, const float *out, gsize count);

/* LayerNorm over the last axis: in (M, C), gain g (C), bias b (C) -> out (M, C);
 * mean and rstd (M) are saved for backward. eps = 1e-5 as in PyTorch. */
#define GAF_LAYERNORM_EPS 1e-5f
void gaf_layernorm_forward  (float *out, float *mean, float *rstd, const float *in,
                             const float *g, const float *b, int m, int c);
void gaf_layernorm_backward (float *din, float *dg, float *db, const float *dout, const float *in,
                             const float *mean, const float *rstd, const float *g, int m, int c);

/* Gaussian Fourier time features: t (B), fixed frequencies w (H) -> out (B, 2H) =
 * [sin(2 pi t w), cos(2 pi t w)]. Backward gives dt (the frequencies are not trained). */
void gaf_fourier_forward  (float *out, const float *t, const float *w, int b, int h);
void gaf_fourier_backward (float *dt, const float *dout, const float *t, const float *w, int b, int h);

/* 1-D convolution with dilation and zero padding, channels innermost:
 * in (B, L, Cin), w (K, Cin, Cout), bias (Cout) -> out (B, Lout, Cout),
 * Lout = L + 2 pad - dil (K - 1); out[b,p,o] = bias[o] + sum_{k,i} w[k,i,o] in[b, p - pad + k dil, i]
 * over the taps that fall inside [0, L). (Weights are stored (K, Cin, Cout), not PyTorch's (Cout, Cin, K).) */
typedef struct {
  int cin;
  int cout;
  int kernel;
  int dilation;
  int padding;
} GafConv1dShape;

/* Scratch for the fast path. Taps that see only padding are skipped: when exactly one tap per output
 * is inside the sequence at the same position, the layer is a pointwise product (B L, Cin) x (Cin, Cout);
 * otherwise the layer is one product with the block matrix (L Cin, Lout Cout) assembled from the taps
 * that see data. The block form is exact for any length; it is efficient when L is comparable to K. */
typedef struct {
  float *block;      /* assembled by gaf_conv1d_prepare from the current weights; read-only after */
  gsize  block_len;
} GafConv1dWork;

int   gaf_conv1d_out_len    (const GafConv1dShape *s, int len);
/* Floats of scratch gaf_conv1d_backward needs (0 on the pointwise path). */
gsize gaf_conv1d_block_len  (const GafConv1dShape *s, int len);
void  gaf_conv1d_work_clear (GafConv1dWork *work);
/* Assembles the block matrix from w; call after every weight change, before forward/backward.
 * Several threads may then run forward/backward on different batch parts with the same work. */
void  gaf_conv1d_prepare    (GafConv1dWork *work, const float *w, int len, const GafConv1dShape *s);
void  gaf_conv1d_forward    (float *out, const float *in, const float *w, const float *bias,
                             int batch, int len, const GafConv1dShape *s, const GafConv1dWork *work);
/* scratch: gaf_conv1d_block_len floats (may be NULL on the pointwise path). */
void  gaf_conv1d_backward   (float *din, float *dw, float *dbias, const float *dout, const float *in,
                             const float *w, int batch, int len, const GafConv1dShape *s,
                             const GafConv1dWork *work, float *scratch);
void gaf_conv1d_forward_naive  (float *out, const float *in, const float *w, const float *bias,
                                int batch, int len, const GafConv1dShape *s);
void gaf_conv1d_backward_naive (float *din, float *dw, float *dbias, const float *dout, const float *in,
                                const float *w, int batch, int len, const GafConv1dShape *s);

/* Sum over rows: dbias (N) += sum_m dout (M, N). */
void gaf_bias_backward (float *db, const float *dout, int m, int n);

G_END_DECLS
