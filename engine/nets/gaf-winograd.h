/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-layers2d.h"

G_BEGIN_DECLS

/* ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) for 3x3, stride 1, pad 1 convolutions ------------
 * The same layer as gaf_conv2d_* with fewer multiplications: each m x m output tile (m = 2 or 4) is
 * Y = A^T [ (G g G^T) ⊙ (B^T d B) ] A over the (m + 2)^2 input tile d around it, i.e. (m + 2)^2 products
 * (tiles, Cin) x (Cin, Cout), one per point of the transformed tile: 2.25x (m = 2) or 4x (m = 4) fewer
 * multiplications than direct. Exact in exact arithmetic; in float its error is a small multiple of the
 * direct product's. Backward runs in the same domain: din is the Winograd convolution of dout with the
 * flipped kernel, and dw = G^T [ sum_tiles (B^T d B)^T (A dY A^T) ] G. Sides must be multiples of m. */
typedef struct {
  float *u;        /* ((m + 2)^2, Cin, Cout) G g G^T of the current weights */
  float *u_flip;   /* ((m + 2)^2, Cout, Cin) the same for the flipped, transposed kernel (din) */
  int    cin, cout;
  int    m;        /* output tile side, 2 or 4 */
  /* TRUE: forward and the weight gradient read their input at half the side, as its nearest 2x upsampling
   * (an upsampling layer's convolution without the upsampled image); din stays at the full side */
  gboolean up;
} GafWinograd;

/* The largest tile the shape allows: 4 (sides divisible by 4), 2 (even sides), 0 (not a 3x3 "same" conv). */
int      gaf_winograd_tile      (const GafConv2dShape *s, int height, int width);
gboolean gaf_winograd_supported (const GafConv2dShape *s, int height, int width);
/* Transforms the weights for output tiles of side `tile`; call after every weight change. Several
 * threads may then use it. flipped: also the kernel din needs. */
void  gaf_winograd_prepare      (GafWinograd *wg, const float *w, const GafConv2dShape *s, int tile,
                                 gboolean flipped);
void  gaf_winograd_clear        (GafWinograd *wg);
/* Floats of per-thread scratch, for either tile. */
gsize gaf_winograd_scratch_len  (const GafConv2dShape *s, int height, int width);
void  gaf_winograd_forward      (float *out, const float *in, const GafWinograd *wg, const float *bias,
                                 int batch, int height, int width, float *scratch);
/* bias_stride and residual as gaf_conv2d_forward_ex */
void  gaf_winograd_forward_ex   (float *out, const float *in, const GafWinograd *wg, const float *bias,
                                 gsize bias_stride, const float *residual, int batch, int height, int width,
                                 float *scratch);
/* The same, also writing sums (B, 2, Cout): the per-channel sums of out as gaf_channel_sums gives them (the
 * GroupNorm statistics of out), formed in the output transform while each tile is in L1. */
void  gaf_winograd_forward_sums (float *out, double *sums, const float *in, const GafWinograd *wg,
                                 const float *bias, gsize bias_stride, const float *residual, int batch,
                                 int height, int width, float *scratch);
/* Forms images b0 .. b0 + n - 1 (n, height, width, Cin) of a convolution's input (an activation computed on the
 * fly, such as GroupNorm + SiLU of the layer before) in act, which has room for n images, or in an array of
 * its own; returns where they are. */
typedef const float *(*GafWinogradActFn) (float *act, int b0, int n, gpointer data);
/* gaf_winograd_forward_sums of an input that act_fn forms a group of images at a time (into the scratch, in
 * L2 when the group's tiles read it) instead of one written whole beforehand; sums may be NULL. Not for an
 * upsampling convolution (wg->up). */
void  gaf_winograd_forward_act  (float *out, double *sums, GafWinogradActFn act_fn, gpointer act_data,
                                 const GafWinograd *wg, const float *bias, gsize bias_stride,
                                 const float *residual, int batch, int height, int width, float *scratch);
/* Needs gaf_winograd_prepare (…, flipped = TRUE) when din != NULL. */
void  gaf_winograd_backward     (float *din, float *dw, float *dbias, const float *dout, const float *in,
                                 const GafWinograd *wg, int batch, int height, int width, float *scratch);
/* The same with din_add FALSE: din is written, not added to (its old contents are never read). */
void  gaf_winograd_backward_ex  (float *din, float *dw, float *dbias, const float *dout, const float *in,
                                 const GafWinograd *wg, int batch, int height, int width, gboolean din_add,
                                 float *scratch);
/* Takes din (n, height, width, Cin), the input gradient of images b0 .. b0 + n - 1 (the callback may overwrite
 * it) */
typedef void (*GafWinogradDinFn) (float *din, int b0, int n, gpointer data);
/* The input gradient of gaf_winograd_backward_ex (with the flipped kernels) a group of images at a time, each
 * group handed to fn while it is in L2 (the next layer's backward), never written whole; the weight and bias
 * gradients are gaf_winograd_backward_ex's with din NULL. Not for an upsampling convolution. */
void  gaf_winograd_backward_din_groups (const float *dout, const GafWinograd *wg, int batch, int height,
                                        int width, GafWinogradDinFn fn, gpointer data, float *scratch);

G_END_DECLS
