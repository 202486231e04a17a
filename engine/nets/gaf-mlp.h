/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-net.h"
#include "gaf-params.h"

G_BEGIN_DECLS

/* The small dense network of docs/method.md §3 for joint toys ("any equally small MLP with a time input"):
 *   in = [input_scale flatten(W) (n c), time features (1 + 2 F)]
 *   h_1 = ReLU(LN(Linear(in -> H))), h_l = ReLU(LN(Linear(h_{l-1} -> H))) for l = 2..depth,
 *   out = Linear(h_depth -> n c_out).
 * LayerNorm (per sample, so a batch of one gives the same answer as any batch) stands in for the
 * reference's BatchNorm and can be switched off. With depth 2 there are three Linear layers, as in the
 * reference (71,428 parameters for n = c = 2, H = 256, against the reference's 69,390); the default
 * depth is 3, which learned the 91 x 91 densities clearly better for the same number of steps
 * (docs/joint.md).
 * Time features of tau = log(1 + t) (training times are Gamma distributed with mean 4, sampling runs
 * to T = 15: tau stays in [0, 2.8] and keeps its resolution at small t, where the field changes
 * fastest): [tau, sin(k tau), cos(k tau) for k = 1..F]. */
typedef struct {
  int      n;              /* variables */
  int      in_channels;    /* c for GAF */
  int      out_channels;   /* c for GAF */
  int      hidden;         /* H, 256 */
  int      depth;          /* hidden layers, 3 */
  gboolean layernorm;      /* TRUE */
  int      time_freqs;     /* F, 4 */
  double   input_scale;    /* the network sees W * input_scale: 1 */
} GafMlpConfig;

typedef struct _GafMlp GafMlp;

#define GAF_MLP_MAX_DEPTH 8

void        gaf_mlp_config_init  (GafMlpConfig *cfg, int n, int c);
gboolean    gaf_mlp_config_check (const GafMlpConfig *cfg, GError **error);
gsize       gaf_mlp_param_count  (const GafMlpConfig *cfg);
/* Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch initialises Linear; LayerNorm 1, 0. */
GafMlp     *gaf_mlp_new          (const GafMlpConfig *cfg, guint64 seed);
void        gaf_mlp_free         (GafMlp *net);
GafParams  *gaf_mlp_get_params   (GafMlp *net);
const GafMlpConfig *gaf_mlp_get_config (GafMlp *net);

/* x (B, n, in_ch), t (B) -> out (B, n, out_ch); saves activations for backward. The batch is split
 * over the engine's threads (gaf_parallel_set_threads). */
void        gaf_mlp_forward      (GafMlp *net, const float *x, const float *t, int batch, float *out);
/* The same output without keeping activations for backward (in cache-sized tiles): for sampling. */
void        gaf_mlp_infer        (GafMlp *net, const float *x, const float *t, int batch, float *out);
/* Accumulates parameter gradients of the last forward from dout (B, n, out_ch); dx (B, n, in_ch) and
 * dt (B) are accumulated when not NULL. */
void        gaf_mlp_backward     (GafMlp *net, const float *dout, float *dx, float *dt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafMlp, gaf_mlp_free)

G_END_DECLS
