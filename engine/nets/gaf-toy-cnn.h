/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-net.h"
#include "gaf-params.h"

G_BEGIN_DECLS

/* The toy CNN of docs/method.md §3 (from the Dirichlet FM work), used for the class-scaling benchmark:
 * in (B, n, in_ch) -> Conv1d(in_ch -> H, k 9, pad 4) -> ReLU;
 * time: Fourier(64 fixed w ~ N(0, scale^2)) -> Linear(H, H) -> ReLU;
 * five residual layers: h = feat + Linear_i(temb); h = LayerNorm(h); h = ReLU(Conv1d(H -> H, k 9,
 * dilation 1,1,4,16,64, same padding)); feat += h;
 * head: 1x1 conv H -> H, ReLU, 1x1 conv H -> out_ch. */
#define GAF_TOY_CNN_LAYERS 5
/* At most this many Fourier frequencies given explicitly (GafToyCnnConfig.freqs). */
#define GAF_TOY_CNN_MAX_FREQS 512
/* ... each at most this large in magnitude (times t and time_scale it stays far below float overflow). */
#define GAF_TOY_CNN_MAX_FREQ_ABS 1e30

typedef struct {
  int    n;              /* sequence length (variables) */
  int    in_channels;    /* c for GAF */
  int    out_channels;   /* c for GAF */
  int    hidden;         /* 128 in the reference */
  int    fourier_half;   /* number of frequencies; 2 * fourier_half must equal hidden (64 in the reference) */
  double fourier_scale;  /* std of the frequencies (30 in the reference) */
  double time_scale;     /* the network sees t * time_scale (1 in the reference) */
  double input_scale;    /* the network sees x * input_scale (1 in the reference): a fixed
                          * preconditioning of the input, the same function class */
  gboolean position_bias; /* FALSE in the reference. TRUE adds a learned bias per position and output
                           * channel (n out_ch parameters, zero at the start) after the head: the trunk
                           * is translation-equivariant, so position-specific class preferences (the
                           * class-scaling target's q_i) otherwise have to be derived from padding */
  int    n_freqs;        /* 0: the frequencies are drawn from the seed (N(0, fourier_scale^2)); else
                          * fourier_half frequencies given in freqs (a model trained elsewhere, whose
                          * frequencies came from another generator) */
  float  freqs[GAF_TOY_CNN_MAX_FREQS];
} GafToyCnnConfig;

/* A GafNet (GAF_NET (cnn) gives the generic interface). */
typedef struct _GafToyCnn GafToyCnn;

#define GAF_TOY_CNN_MAX_N        (1 << 20)
#define GAF_TOY_CNN_MAX_CHANNELS 65536
#define GAF_TOY_CNN_MAX_HIDDEN   16384

void        gaf_toy_cnn_config_init   (GafToyCnnConfig *cfg, int n, int c);
/* Every field in range, and gaf_toy_cnn_memory within the memory budget (gaf-budget.h): an error naming
 * the size and the limit rather than a huge allocation. */
gboolean    gaf_toy_cnn_config_check  (const GafToyCnnConfig *cfg, GError **error);
/* Bytes of the network without a batch: parameters with gradients, Adam moments and EMA, the transposed
 * taps of its convolutions, and the activations of one tile of 256 sequences, the least a forward pass
 * holds (saturating at G_MAXUINT64). */
guint64     gaf_toy_cnn_memory        (const GafToyCnnConfig *cfg);
/* Parameters initialised as PyTorch does (U(-1/sqrt(fan_in), 1/sqrt(fan_in)); LayerNorm 1, 0);
 * the Fourier frequencies from the same seed. */
GafToyCnn  *gaf_toy_cnn_new           (const GafToyCnnConfig *cfg, guint64 seed);
void        gaf_toy_cnn_free          (GafToyCnn *net);
GafParams  *gaf_toy_cnn_get_params    (GafToyCnn *net);
const GafToyCnnConfig *gaf_toy_cnn_get_config (GafToyCnn *net);
gsize       gaf_toy_cnn_param_count   (const GafToyCnnConfig *cfg);
/* The fixed Fourier frequencies in use (fourier_half values, owned by net). */
const float *gaf_toy_cnn_get_freqs    (GafToyCnn *net);
/* Forward FLOPs per sequence (sgemm work actually done, taps on padding skipped). */
double      gaf_toy_cnn_flops_per_seq (const GafToyCnnConfig *cfg);

/* x (B, n, in_ch), t (B) -> out (B, n, out_ch). Saves activations for backward. When every t is
 * equal (sampling), the time path is computed once and shared. */
void        gaf_toy_cnn_forward       (GafToyCnn *net, const float *x, const float *t, int batch, float *out);
/* The same output without saving activations for backward (in cache-sized tiles): for sampling. */
void        gaf_toy_cnn_infer         (GafToyCnn *net, const float *x, const float *t, int batch, float *out);
/* Accumulates parameter gradients from dout (B, n, out_ch) of the last forward; dx (B, n, in_ch)
 * and dt (B) are accumulated when not NULL. */
void        gaf_toy_cnn_backward      (GafToyCnn *net, const float *dout, float *dx, float *dt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafToyCnn, gaf_toy_cnn_free)

G_END_DECLS
