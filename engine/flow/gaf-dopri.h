/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Adaptive Dormand-Prince 5(4) (Dormand & Prince 1980; Hairer, Nørsett & Wanner, Solving ODEs I, II.4-5):
 * seven stages with FSAL, the fifth-order solution is propagated, the embedded fourth-order one only
 * estimates the error. State in double: the likelihood integrates a log-determinant next to the state
 * and the tests drive the tolerance down to 1e-10.
 *
 * The state of `dim` numbers is split into `groups` equal blocks (one per batch item). The error norm of
 * a step is the largest over the blocks of the block's RMS of err_i / (atol + rtol max(|y_i|, |y_new_i|)),
 * so that every item of a batch meets the tolerance (one RMS over the whole batch would let one hard item
 * hide among easy ones). A step is accepted when the norm is <= 1; the next step is
 * h * clamp(0.9 norm^(-1/5), 0.2, 10) (at most h right after a rejection). */

/* dy = f(t, y) for a state of `dim` numbers. */
typedef void (*GafOdeFunc) (gpointer user_data, double t, const double *y, double *dy, gsize dim);

typedef struct {
  double rtol;        /* 1e-2 */
  double atol;        /* 1e-2 */
  double h_init;      /* first step size; 0 chooses it (Hairer's starting-step algorithm, one extra evaluation) */
  double h_min;       /* 0; a step the controller wants below h_min is taken at h_min and accepted (forced) */
  double h_max;       /* 0 means no limit */
  guint  max_steps;   /* budget of attempted steps (accepted + rejected); exceeding it is a GError: 100000 */
} GafDopriConfig;

typedef struct {
  guint accepted;
  guint rejected;
  guint forced;       /* accepted at h_min although the error norm was above 1 */
  guint evals;        /* evaluations of f */
} GafDopriStats;

void     gaf_dopri_config_init  (GafDopriConfig *cfg);
gboolean gaf_dopri_config_check (const GafDopriConfig *cfg, GError **error);

/* Integrates y (dim) in place from t0 to t1; t1 < t0 integrates backward. Fails with GAF_ERROR_DIVERGED
 * when the step budget is exhausted, the step size underflows or the state stops being finite, and with
 * G_IO_ERROR_CANCELLED when cancelled (checked before every step). stats may be NULL. */
gboolean gaf_dopri_solve (const GafDopriConfig *cfg, GafOdeFunc f, gpointer user_data,
                          double t0, double t1, double *y, gsize dim, gsize groups,
                          GafDopriStats *stats, GCancellable *cancellable, GError **error);

G_END_DECLS
