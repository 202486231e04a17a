/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Layers on images, for the UNet of docs/method.md §3. Activations are NHWC, channel innermost:
 * (B, H, W, C) row-major, the same memory as the GafNet (B, n = H W, c) of the flows.
 * As in gaf-layers.h: paired forward/backward on flat float buffers; backward accumulates (+=)
 * into every gradient it is given (NULL skips one). */

/* ---- conv2d ----------------------------------------------------------------------------------
 * in (B, H, W, Cin), w (K, K, Cin, Cout), bias (Cout) or NULL -> out (B, Ho, Wo, Cout),
 * Ho = (H + 2 pad - K) / stride + 1;
 * out[b,y,x,o] = bias[o] + sum_{ky,kx,i} w[ky,kx,i,o] in[b, y stride - pad + ky, x stride - pad + kx, i]
 * over the taps inside the image (zero padding). The weight rows are ordered as the im2col rows
 * (tap-major, then input channel), so the layer is one product col (B Ho Wo, K K Cin) x w.
 * (PyTorch stores (Cout, Cin, K, K).) */
typedef struct {
  int cin;
  int cout;
  int kernel;   /* 1 or 3 (any odd size works) */
  int stride;   /* 1 or 2 */
  int pad;
} GafConv2dShape;

int   gaf_conv2d_out_size     (const GafConv2dShape *s, int size);
/* Floats of per-thread scratch the forward and backward need (im2col tiles). */
gsize gaf_conv2d_scratch_len  (const GafConv2dShape *s, int height, int width);
/* im2col in tiles of output rows that stay in cache, one sgemm per tile. */
void  gaf_conv2d_forward      (float *out, const float *in, const float *w, const float *bias,
                               int batch, int height, int width, const GafConv2dShape *s, float *scratch);
/* The same with the epilogues of a residual block fused in: the bias is shared (bias_stride 0) or per image
 * (bias + b bias_stride, e.g. a conv bias plus a time embedding), and residual (NULL, or the layout of out,
 * possibly out itself) is added. */
void  gaf_conv2d_forward_ex   (float *out, const float *in, const float *w, const float *bias, gsize bias_stride,
                               const float *residual, int batch, int height, int width, const GafConv2dShape *s,
                               float *scratch);
/* dw += col^T dout (tiled); din += the transposed convolution of dout (for stride 1 a convolution of
 * dout with the flipped kernel, so din is written row by row with no scatter). */
void  gaf_conv2d_backward     (float *din, float *dw, float *dbias, const float *dout, const float *in,
                               const float *w, int batch, int height, int width, const GafConv2dShape *s,
                               float *scratch);
/* wf (K, K, Cout, Cin): wf[ky,kx,o,i] = w[K-1-ky, K-1-kx, i, o], the kernel of din = conv (dout). */
void  gaf_conv2d_flip_kernel  (float *wf, const float *w, int K, int cin, int cout);
/* Plain loops with double accumulation: the reference for the tests. */
void  gaf_conv2d_forward_naive  (float *out, const float *in, const float *w, const float *bias,
                                 int batch, int height, int width, const GafConv2dShape *s);
void  gaf_conv2d_backward_naive (float *din, float *dw, float *dbias, const float *dout, const float *in,
                                 const float *w, int batch, int height, int width, const GafConv2dShape *s);

/* ---- GroupNorm ------------------------------------------------------------------------------
 * in (B, N, C) -> out (B, N, C), statistics per sample over the N pixels and the C/G channels of each
 * group; gain g (C), bias b (C); mean, rstd (B, G) saved for backward (may be NULL in forward when not
 * needed). eps 1e-5 as PyTorch. Statistics are accumulated in double. */
#define GAF_GROUPNORM_EPS 1e-5f
/* The largest divisor of channels that is at most 32 (32 groups when channels allow). */
int   gaf_groupnorm_groups          (int channels);
/* The largest divisor of channels that is at most max_groups. */
int   gaf_groupnorm_groups_max      (int channels, int max_groups);
void  gaf_groupnorm_forward         (float *out, float *mean, float *rstd, const float *in, const float *g,
                                     const float *b, int batch, int n, int c, int groups);
void  gaf_groupnorm_backward        (float *din, float *dg, float *db, const float *dout, const float *in,
                                     const float *mean, const float *rstd, const float *g,
                                     int batch, int n, int c, int groups);
/* out = SiLU(GroupNorm(in)) in two passes over the data (the UNet's "GN, SiLU" pairs). */
void  gaf_groupnorm_silu_forward    (float *out, float *mean, float *rstd, const float *in, const float *g,
                                     const float *b, int batch, int n, int c, int groups);
/* Per-channel sums of one sample's pixels: in (B, N, C) -> sums (B, 2, C) doubles, [sum x | sum x^2] per
 * sample. The statistics GroupNorm needs; a layer that writes its output can form them on the way
 * (gaf_winograd_forward_sums) so the normalisation does not read its input twice. */
void  gaf_channel_sums              (double *sums, const float *in, int batch, int n, int c);
/* out (B, N, ca + cb) = SiLU (GroupNorm ([a | b])) with a (B, N, ca) and b (B, N, cb) side by side as one
 * input of ca + cb channels (b NULL, cb ignored: a alone), so a channel concatenation is never written;
 * sums (B, 2, ca + cb) the per-channel sums of [a | b] as gaf_channel_sums gives them, or NULL (formed
 * here). With the sums given it is one pass: the affine and SiLU, nothing else reads the input. */
void  gaf_groupnorm_silu_forward_sums (float *out, float *mean, float *rstd, const float *a, int ca,
                                       const float *b_in, int cb, const double *sums, const float *g,
                                       const float *b, int batch, int n, int groups);
/* The GroupNorm output is recomputed from in, mean, rstd. dout is OVERWRITTEN (with d GroupNorm-output). */
void  gaf_groupnorm_silu_backward   (float *din, float *dg, float *db, float *dout, const float *in,
                                     const float *mean, const float *rstd, const float *g, const float *b,
                                     int batch, int n, int c, int groups);
/* The same with din_add FALSE: din is written, not added to. */
void  gaf_groupnorm_silu_backward_ex (float *din, float *dg, float *db, float *dout, const float *in,
                                      const float *mean, const float *rstd, const float *g, const float *b,
                                      int batch, int n, int c, int groups, gboolean din_add);
/* The same for an input [a | b_in] of ca + cb channels given as its two halves (as
 * gaf_groupnorm_silu_forward_sums takes it): their gradients are added to din_a (B, n, ca) and din_b
 * (B, n, cb); dout is (B, n, ca + cb). */
void  gaf_groupnorm_silu_backward_split (float *din_a, float *din_b, float *dg, float *db, float *dout,
                                         const float *a, int ca, const float *b_in, int cb, const float *mean,
                                         const float *rstd, const float *g, const float *b, int batch, int n,
                                         int groups);

/* ---- SiLU: out = x sigmoid(x); in and out may alias in forward. Backward needs the input. -------- */
void  gaf_silu_forward   (float *out, const float *in, gsize count);
void  gaf_silu_backward  (float *din, const float *dout, const float *in, gsize count);

/* ---- nearest-neighbour upsampling x2: in (B, H, W, C) -> out (B, 2H, 2W, C) ------------------ */
void  gaf_upsample2x_forward  (float *out, const float *in, int batch, int height, int width, int c);
void  gaf_upsample2x_backward (float *din, const float *dout, int batch, int height, int width, int c);

/* ---- channel concatenation: a (M, Ca), b (M, Cb) -> out (M, Ca + Cb) ---------------------------- */
void  gaf_concat_forward  (float *out, const float *a, int ca, const float *b, int cb, gsize m);
void  gaf_concat_backward (float *da, float *db, const float *dout, int ca, int cb, gsize m);

/* ---- single-head self-attention over the N tokens of each sample -----------------------------
 * qkv (B, N, 3C) holding [q | k | v] per token -> out (B, N, C), out = softmax(q k^T / sqrt(C)) v.
 * Everything runs in tiles of query rows with per-thread scratch of gaf_attention_scratch_len (n, c) floats,
 * linear in N: no (N, N) buffer, forward or backward. Training saves lse (B, N), the log-sum-exp of each
 * query row's scaled scores, and backward recomputes the probabilities a tile at a time from it. */
gsize gaf_attention_scratch_len    (int n, int c);
void  gaf_attention_forward        (float *out, float *lse, const float *qkv, int batch, int n, int c,
                                    float *scratch);
void  gaf_attention_infer          (float *out, const float *qkv, int batch, int n, int c, float *scratch);
/* Sampling's whole attention block: out (B, N, C) = x + attention (GN (x) wqkv + bqkv) wo + bo for x (B, N, C),
 * GN from x's per-channel sums (B, 2, C) (gaf_channel_sums) with gn_g, gn_b, groups; wqkv (C, 3C), wo (C, C)
 * given folded: fold (gaf_attention_fold_len (c) floats) from gaf_attention_fold, which only the weights
 * change. out_sums (B, 2, C), if not NULL, receives the sums of out. The same function as
 * gaf_groupnorm_forward, the QKV product, gaf_attention_infer and the projection, with fewer flops (other
 * rounding). Scratch: gaf_attention_block_scratch_len (n, c) floats, one per thread. */
gsize gaf_attention_fold_len       (int c);
void  gaf_attention_fold           (float *fold, const float *wqkv, const float *bqkv, const float *wo,
                                    const float *bo, int c);
gsize gaf_attention_block_scratch_len (int n, int c);
/* bf16: the three products (x [A | B], the scores, the weighted sum) with inputs rounded to bf16 and sums in
 * float (gaf_gemm_bf16; needs gaf_bf16_available); the softmax, the fold and the residual stay in float. */
void  gaf_attention_block_infer    (float *out, double *out_sums, const float *x, const double *sums,
                                    const float *gn_g, const float *gn_b, int groups, const float *fold, int batch,
                                    int n, int c, gboolean bf16, float *scratch);
/* dqkv += the gradient from dout, given the forward's out and lse. */
void  gaf_attention_backward       (float *dqkv, const float *dout, const float *out, const float *qkv,
                                    const float *lse, int batch, int n, int c, float *scratch);
void  gaf_attention_forward_naive  (float *out, const float *qkv, int batch, int n, int c);

/* ---- sinusoidal time embedding (guided diffusion's timestep_embedding) -----------------------
 * t (B) -> out (B, dim) = [sin(t f_k), cos(t f_k)], f_k = exp(-ln(10000) k / half), k < half = dim/2;
 * a zero column last when dim is odd. Backward gives dt. (Guided diffusion puts the cosines first;
 * sines first is the project's PyTorch reference. The order only permutes the rows of the next Linear.) */
void  gaf_timestep_embedding_forward  (float *out, const float *t, int batch, int dim);
void  gaf_timestep_embedding_backward (float *dt, const float *dout, const float *t, int batch, int dim);

G_END_DECLS
