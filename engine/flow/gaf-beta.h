/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The regularized incomplete beta function and the Dirichlet FM factor C(x, a) of docs/method.md §4.
 * Everything in double precision; a, b > 0, x in [0, 1]. */

/* Digamma psi(x) for x > 0 (recurrence up to x >= 10, then the asymptotic series; ~1e-15 relative). */
double gaf_digamma        (double x);
/* log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b). */
double gaf_log_beta       (double a, double b);
/* I_x(a, b) by the continued fraction (modified Lentz), on the side x < (a + 1) / (a + b + 2) where it
 * converges fast; the other side through I_x(a, b) = 1 - I_{1-x}(b, a). */
double gaf_beta_inc       (double x, double a, double b);
/* I_x(a, b) together with its partial derivatives in a and b (either pointer may be NULL): the
 * continued fraction is differentiated term by term (forward recurrence of the continuants and of
 * their derivatives, as in Boik and Robison-Cox 1998), so the derivatives are as accurate as I itself. */
double gaf_beta_inc_grad  (double x, double a, double b, double *d_da, double *d_db);
/* C(x, a) = -[d/da I_x(a, b)] B(a, b) / (x^{a-1} (1 - x)^b) with b = c - 1 (docs/method.md §4). Computed with the
 * prefactor x^a (1-x)^b / B(a, b) cancelled analytically, so it neither underflows nor overflows for
 * large c: C = -(x/a) (K L_a + K_a) below the switch point, C = (x/b) (K' L'_b + K'_b) above it,
 * K the continued fraction, L the log-derivative of the prefactor. C(0, a) = 0; C(1, a) is the limit. */
double gaf_dirichlet_c    (double x, double a, int c);

G_END_DECLS
