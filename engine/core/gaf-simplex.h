/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Geometry of the probability simplex S_c and the assignment manifold (docs/method.md §1).
 * Arrays are row-major with the class index innermost: (rows, c). Every operation is per row;
 * reductions accumulate in double. */

/* w = softmax(v) per row, max-subtracted. v and w may alias. */
void   gaf_softmax_rows          (const float *v, float *w, gsize rows, gsize c);
/* Pi_0 v = v - mean(v) per row, in place. */
void   gaf_project_tangent_rows  (float *v, gsize rows, gsize c);
/* R_p x = p ⊙ x - <p, x> p, one row. out may alias x. */
void   gaf_replicator            (const float *p, const float *x, float *out, gsize c);
/* Squared Fisher-Rao norm sum_j v_j^2 / p_j of a tangent vector v at p. */
double gaf_fisher_rao_sq         (const float *p, const float *v, gsize c);
/* Var_{j~p}(x_j) = <x, R_p x> = g_p(R_p x, R_p x), the variance form. */
double gaf_variance_form         (const float *p, const float *x, gsize c);
/* Lifting map exp_p(v) = p ⊙ e^v / <p, e^v> = softmax(log p + v), one row. */
void   gaf_lift                  (const float *p, const float *v, float *out, gsize c);
/* Point of the e-geodesic softmax(v0 + t u), one row. */
void   gaf_e_geodesic_point      (const float *v0, const float *u, double t, float *out, gsize c);
/* GAF target direction u = sqrt(c/(c-1)) (e_label - 1/c): unit norm, in T_0. */
void   gaf_target_direction      (guint label, float *u, gsize c);
/* Orthonormal basis Q (c x (c-1), row-major) of T_0: Q factor of [I_{c-1}; -1^T]. */
void   gaf_tangent_basis         (gsize c, double *q);
/* Mean over rows of the normalised entropy H(w_i) / log c, in [0, 1]. */
double gaf_mean_normalized_entropy (const float *w, gsize rows, gsize c);
/* Index of the largest entry of a row (first on ties). */
guint  gaf_argmax                (const float *v, gsize c);

G_END_DECLS
