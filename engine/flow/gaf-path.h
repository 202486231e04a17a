/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-rng.h"

G_BEGIN_DECLS

/* The GAF conditional path (docs/method.md §2.1) and flow-matching loss (docs/method.md §2.2). */
typedef struct {
  double lambda;       /* field magnitude, 0.5 */
  double time_shape;   /* t ~ Gamma(shape, rate): 1 */
  double time_rate;    /* 0.25 (mean 4) */
} GafPathConfig;

/* The ranges every path configuration is held to where it enters (options, a checkpoint's [train] group, a
 * safetensors file's metadata): lambda t u and Gamma(shape, rate) draws stay far from float overflow. */
#define GAF_PATH_LAMBDA_MIN     1e-6
#define GAF_PATH_LAMBDA_MAX     1e3
#define GAF_PATH_TIME_RATE_MIN  1e-6
#define GAF_PATH_TIME_RATE_MAX  1e6
#define GAF_PATH_TIME_SHAPE_MIN 1e-3
#define GAF_PATH_TIME_SHAPE_MAX 1e3

void   gaf_path_config_init (GafPathConfig *cfg);

/* labels (B, n) -> t (B), W_t (B, n, c) = softmax(Pi_0 xi + lambda t u_beta), u (B, n, c) = u_beta. */
void   gaf_path_sample (const GafPathConfig *cfg, GafRng *rng, const guint16 *labels,
                        int batch, int n, int c, float *t, float *w, float *u);

/* Mean over the batch of sum over rows of Var_{W_i}(F_i - lambda u_i); df (B, n, c) is set to its
 * gradient 2 W (d - <W, d>) / B. Returns the loss. */
double gaf_path_loss   (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
                        int batch, int n, int c, float *df);
/* The same over rows [r0, r1) of a batch of `batch` samples (rows of n c values): returns the sum over those
 * rows (not divided by the batch) and sets their df, so that parts of a batch can be formed apart. */
double gaf_path_loss_rows (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
                           int batch, gsize r0, gsize r1, int c, float *df);

G_END_DECLS
