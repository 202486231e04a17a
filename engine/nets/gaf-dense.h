/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-net.h"
#include "gaf-params.h"

G_BEGIN_DECLS

/* The authors' DenseNet (IPA-HD/generative-af, architecture/dense.py; docs/method.md §3 "Dense MLP"),
 * exactly, so that its weights move both ways under its PyTorch names (gaf-torch-map.h):
 *
 *   features d_0 = c_in n + 1, d_1..d_H = hidden widths, d_{H+1} = c_out n
 *   in  = [W flattened channels first (feature k n + i holds W[i, k], PyTorch's (B, c, n) reshaped), t]
 *   layer l = 0..H: h_{l+1} = ReLU(Linear(BatchNorm(h_l)))      (H >= 1: every layer, the last one too,
 *                                                                 so the output is never negative)
 *   H = 0: out = Linear(in)                                      (no BatchNorm, no ReLU)
 *   out (B, n, c_out) with out[i, k] = h_{H+1}[k n + i]
 *
 * BatchNorm1d as PyTorch computes it (eps 1e-5, momentum 0.1): in training mode (gaf_net_set_training,
 * the default) it normalises with the batch's mean and biased variance and moves the running statistics,
 * running = 0.9 running + 0.1 batch, the variance unbiased (B / (B - 1)); num_batches_tracked counts the
 * training forwards. Otherwise, and always in infer, it uses the running statistics. A batch of one,
 * which PyTorch refuses in training, normalises every feature to its shift and leaves the running
 * variance as it was.
 *
 * The running statistics and the counter are buffers of the arena (gaf_params_add_buffer): saved in
 * checkpoints, exported and imported, never trained. The counter is a float: exact up to 2^24 forwards.
 * Training normalises over the whole batch, so the training forward runs as one part (its products on
 * one thread); infer splits the batch over the engine's threads. Under data parallelism (a statistics
 * reducer on the arena: gaf_trainer_set_data_parallel) the training BatchNorm is synchronised, as PyTorch's
 * SyncBatchNorm: the batch statistics are those of the global batch (per-feature sums reduced over the
 * processes in the forward, and the two sums of the backward), so R processes compute what one process
 * computes on the whole batch, running statistics included. */

#define GAF_DENSE_MAX_HIDDEN 8

typedef struct {
  int      n;              /* variables */
  int      in_channels;    /* c for GAF */
  int      out_channels;   /* c for GAF */
  int      n_hidden;       /* H, 0 .. GAF_DENSE_MAX_HIDDEN */
  int      hidden[GAF_DENSE_MAX_HIDDEN];   /* the authors' hidden_dims: 256, 256 */
  gboolean bias;           /* Linear biases: TRUE */
} GafDenseConfig;

typedef struct _GafDense GafDense;

void        gaf_dense_config_init  (GafDenseConfig *cfg, int n, int c);
gboolean    gaf_dense_config_check (const GafDenseConfig *cfg, GError **error);
/* "256,256", "256;256", "[256, 256]" or "" / "[]" (no hidden layer) -> cfg->hidden. */
gboolean    gaf_dense_config_parse_hidden (GafDenseConfig *cfg, const char *text, GError **error);
/* "256,256" (the widths, comma-separated; "" without hidden layers) */
char       *gaf_dense_config_hidden_string (const GafDenseConfig *cfg);
/* Trained parameters (69,390 for n = c = 2 with 256, 256, as docs/method.md §3) and buffer values. */
gsize       gaf_dense_param_count  (const GafDenseConfig *cfg);
gsize       gaf_dense_buffer_count (const GafDenseConfig *cfg);
/* Linear weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as PyTorch initialises them; BatchNorm
 * weight 1, bias 0, running mean 0, running variance 1, counter 0. */
GafDense   *gaf_dense_new          (const GafDenseConfig *cfg, guint64 seed);
void        gaf_dense_free         (GafDense *net);
GafParams  *gaf_dense_get_params   (GafDense *net);
const GafDenseConfig *gaf_dense_get_config (GafDense *net);

/* x (B, n, in_ch), t (B) -> out (B, n, out_ch); saves activations for backward. */
void        gaf_dense_forward      (GafDense *net, const float *x, const float *t, int batch, float *out);
/* Running statistics, no activations kept; tiles split over the engine's threads. */
void        gaf_dense_infer        (GafDense *net, const float *x, const float *t, int batch, float *out);
/* Accumulates parameter gradients of the last forward from dout (B, n, out_ch); dx (B, n, in_ch) and
 * dt (B) are accumulated when not NULL. */
void        gaf_dense_backward     (GafDense *net, const float *dout, float *dx, float *dt);
void        gaf_dense_set_training (GafDense *net, gboolean training);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafDense, gaf_dense_free)

G_END_DECLS
