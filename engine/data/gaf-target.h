/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-rng.h"

G_BEGIN_DECLS

/* The class-scaling target of docs/method.md §5: n independent positions, q_i = softmax(U_i),
 * U_i ~ Uniform[0,1)^c, drawn once from a seed. */
typedef struct {
  int     n;
  int     c;
  double *q;     /* (n, c) */
  double *cdf;   /* (n, c) cumulative, last entry exactly 1 */
} GafClassTarget;

GafClassTarget *gaf_class_target_new    (int n, int c, guint64 seed);
void            gaf_class_target_free   (GafClassTarget *target);
/* labels (batch, n), each position drawn from its q_i. */
void            gaf_class_target_sample (const GafClassTarget *target, GafRng *rng, guint16 *labels, int batch);
/* KL(uniform || q) averaged over positions: the KL of a sampler that ignores the data, in the limit of
 * infinitely many samples. */
double          gaf_class_target_kl_uniform (const GafClassTarget *target);

/* The exact marginal GAF field for this target (the optimum of the loss), in logit coordinates:
 * dV_i/dt = lambda s (post_i - 1/c), post_ik ∝ q_ik exp(lambda t s V_ik), s = sqrt(c/(c-1)).
 * v, dv (batch, n, c). A known answer for the samplers, and the field a perfect network would learn. */
void            gaf_class_target_oracle_field (const GafClassTarget *target, double lambda, double t,
                                               const float *v, float *dv, int batch);

/* Per-position histograms counts (n, c) of labels (count, n). */
void            gaf_histogram        (const guint16 *labels, guint64 count, int n, int c, guint64 *counts);
/* (1/n) sum_i sum_j qhat_ij log(qhat_ij / q_ij), qhat = counts / total, 0 log 0 = 0. */
double          gaf_kl_from_counts   (const guint64 *counts, guint64 total, const double *q, int n, int c);
/* The first-order finite-sample floor (c - 1) / (2 N): the expected KL of a perfect sampler's histogram. */
double          gaf_kl_floor         (int c, guint64 samples);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafClassTarget, gaf_class_target_free)

G_END_DECLS
