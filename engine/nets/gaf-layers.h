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
/* The same with din written instead of added to when din_add is FALSE. */
void gaf_linear_backward_ex (float *din, gboolean din_add, float *dw, float *db, const float *dout, const float *in,
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
/* The input gradient alone, written to din (not added): no clearing first. */
void gaf_layernorm_backward_input (float *din, const float *dout, const float *in, const float *mean,
                                   const float *rstd, const float *g, int m, int c);

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

/* Taps that see only padding are skipped. When exactly one tap per output is inside the sequence, at the
 * output's own position, the layer is one product (B L, Cin) x (Cin, Cout); otherwise each output position p
 * is one product of the inputs its taps see with those taps stacked (dilation 1; a product per tap with a
 * larger dilation). The products read in, w and dout in place. The input gradient reads the weights with
 * each tap transposed and the taps reversed, wr[K-1-k] = w[k]^T (Cout, Cin), built by
 * gaf_conv1d_prepare_backward from the current weights. */
typedef struct {
  float *wr;         /* (K, Cout, Cin), taps that see data only; read-only once built */
  gsize  wr_len;
} GafConv1dWork;

int   gaf_conv1d_out_len    (const GafConv1dShape *s, int len);
/* Floats of a work's wr (K Cin Cout). */
gsize gaf_conv1d_work_len   (const GafConv1dShape *s);
void  gaf_conv1d_work_clear (GafConv1dWork *work);
/* Builds work->wr from w: after every weight change, before a gaf_conv1d_backward that asks for din.
 * Several threads may then run backward on different batch parts with the same work. */
void  gaf_conv1d_prepare_backward (GafConv1dWork *work, const float *w, int len, const GafConv1dShape *s);
/* in (B, L, Cin), w (K, Cin, Cout), bias (Cout) -> out (B, Lout, Cout) */
void  gaf_conv1d_forward    (float *out, const float *in, const float *w, const float *bias,
                             int batch, int len, const GafConv1dShape *s);
/* Accumulates into din (B, L, Cin), dw (K, Cin, Cout), dbias (Cout), each may be NULL; work is read only
 * when din is asked for. */
void  gaf_conv1d_backward   (float *din, float *dw, float *dbias, const float *dout, const float *in,
                             const float *w, int batch, int len, const GafConv1dShape *s,
                             const GafConv1dWork *work);
/* The input gradient alone, written to din (B, L, Cin) (not added): no clearing first. */
void  gaf_conv1d_backward_input (float *din, const float *dout, int batch, int len, const GafConv1dShape *s,
                                 const GafConv1dWork *work);
void gaf_conv1d_forward_naive  (float *out, const float *in, const float *w, const float *bias,
                                int batch, int len, const GafConv1dShape *s);
void gaf_conv1d_backward_naive (float *din, float *dw, float *dbias, const float *dout, const float *in,
                                const float *w, int batch, int len, const GafConv1dShape *s);

/* Sum over rows: dbias (N) += sum_m dout (M, N). */
void gaf_bias_backward (float *db, const float *dout, int m, int n);

G_END_DECLS
