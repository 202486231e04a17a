/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <float.h>
#include <math.h>
#include <string.h>

#include "gaf-dopri.h"
#include "gaf-error.h"

/* Butcher tableau of Dormand-Prince 5(4). B5 is the propagated fifth-order solution (equal to the
 * seventh stage's row, hence FSAL); E = B5 - B4 weights the error estimate. */
static const double C2 = 1.0 / 5, C3 = 3.0 / 10, C4 = 4.0 / 5, C5 = 8.0 / 9;
static const double A21 = 1.0 / 5;
static const double A31 = 3.0 / 40, A32 = 9.0 / 40;
static const double A41 = 44.0 / 45, A42 = -56.0 / 15, A43 = 32.0 / 9;
static const double A51 = 19372.0 / 6561, A52 = -25360.0 / 2187, A53 = 64448.0 / 6561, A54 = -212.0 / 729;
static const double A61 = 9017.0 / 3168, A62 = -355.0 / 33, A63 = 46732.0 / 5247, A64 = 49.0 / 176,
                    A65 = -5103.0 / 18656;
static const double B1 = 35.0 / 384, B3 = 500.0 / 1113, B4 = 125.0 / 192, B5 = -2187.0 / 6784, B6 = 11.0 / 84;
static const double E1 = 71.0 / 57600, E3 = -71.0 / 16695, E4 = 71.0 / 1920, E5 = -17253.0 / 339200,
                    E6 = 22.0 / 525, E7 = -1.0 / 40;

void
gaf_dopri_config_init (GafDopriConfig *cfg)
{
  cfg->rtol = 1e-2;
  cfg->atol = 1e-2;
  cfg->h_init = 0.0;
  cfg->h_min = 0.0;
  cfg->h_max = 0.0;
  cfg->max_steps = 100000;
}

gboolean
gaf_dopri_config_check (const GafDopriConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (!(cfg->rtol >= 0.0) || !(cfg->atol >= 0.0) || !isfinite (cfg->rtol) || !isfinite (cfg->atol))
    what = "tolerances must be finite and not negative";
  else if (cfg->rtol == 0.0 && cfg->atol == 0.0)
    what = "at least one of the tolerances must be positive";
  else if (!(cfg->h_init >= 0.0) || !(cfg->h_min >= 0.0) || !(cfg->h_max >= 0.0)
           || !isfinite (cfg->h_init) || !isfinite (cfg->h_min) || !isfinite (cfg->h_max))
    what = "step sizes must be finite and not negative";
  else if (cfg->h_max > 0.0 && cfg->h_min > cfg->h_max)
    what = "the minimum step is larger than the maximum step";
  else if (cfg->max_steps < 1)
    what = "the step budget must be at least 1";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  return TRUE;
}

/* Largest block RMS of x_i / (atol + rtol max(|a_i|, |b_i|)); NaN propagates. */
static double
error_norm (const GafDopriConfig *cfg, const double *x, const double *a, const double *b, gsize dim, gsize groups)
{
  gsize m = dim / groups;
  double worst = 0.0;

  for (gsize g = 0; g < groups; g++)
    {
      double s = 0.0;
      for (gsize i = g * m; i < (g + 1) * m; i++)
        {
          double sc = cfg->atol + cfg->rtol * MAX (fabs (a[i]), fabs (b[i]));
          double r = x[i] / sc;
          s += r * r;
        }
      s = sqrt (s / (double) m);
      if (isnan (s))
        return NAN;
      worst = MAX (worst, s);
    }
  return worst;
}

/* Hairer, Nørsett & Wanner, II.4 "Automatic step size control", starting step size for order 5. */
static double
initial_step (const GafDopriConfig *cfg, GafOdeFunc f, gpointer user_data, double t0, double dir,
              const double *y0, const double *f0, double *y1, double *f1, gsize dim, gsize groups)
{
  double d0 = error_norm (cfg, y0, y0, y0, dim, groups);
  double d1 = error_norm (cfg, f0, y0, y0, dim, groups);
  double h0, h1, d2;

  h0 = (d0 < 1e-5 || d1 < 1e-5 || !isfinite (d0) || !isfinite (d1)) ? 1e-6 : 0.01 * d0 / d1;
  for (gsize i = 0; i < dim; i++)
    y1[i] = y0[i] + dir * h0 * f0[i];
  f (user_data, t0 + dir * h0, y1, f1, dim);
  for (gsize i = 0; i < dim; i++)
    y1[i] = f1[i] - f0[i];
  d2 = error_norm (cfg, y1, y0, y0, dim, groups) / h0;
  if (!isfinite (d2))
    return h0;
  if (MAX (d1, d2) <= 1e-15)
    h1 = MAX (1e-6, h0 * 1e-3);
  else
    h1 = pow (0.01 / MAX (d1, d2), 1.0 / 5.0);
  return MIN (100.0 * h0, h1);
}

gboolean
gaf_dopri_solve (const GafDopriConfig *cfg, GafOdeFunc f, gpointer user_data,
                 double t0, double t1, double *y, gsize dim, gsize groups,
                 GafDopriStats *stats, GCancellable *cancellable, GError **error)
{
  GafDopriStats st = { 0 };
  double *buf, *k1, *k2, *k3, *k4, *k5, *k6, *k7, *yt, *yn, *err;
  double dir = t1 >= t0 ? 1.0 : -1.0, span = fabs (t1 - t0);
  double t = t0, h;
  gboolean ok = TRUE, rejected_last = FALSE;

  g_return_val_if_fail (cfg != NULL && f != NULL && y != NULL, FALSE);
  g_return_val_if_fail (dim > 0 && groups > 0 && dim % groups == 0, FALSE);
  if (!gaf_dopri_config_check (cfg, error))
    return FALSE;
  if (!isfinite (t0) || !isfinite (t1))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "integration bounds must be finite");
      return FALSE;
    }
  if (stats != NULL)
    *stats = st;
  if (span == 0.0)
    return TRUE;

  buf = g_new (double, 10 * dim);
  k1 = buf; k2 = k1 + dim; k3 = k2 + dim; k4 = k3 + dim; k5 = k4 + dim;
  k6 = k5 + dim; k7 = k6 + dim; yt = k7 + dim; yn = yt + dim; err = yn + dim;

  f (user_data, t, y, k1, dim);
  st.evals++;
  if (cfg->h_init > 0.0)
    h = cfg->h_init;
  else
    {
      h = initial_step (cfg, f, user_data, t, dir, y, k1, yt, k2, dim, groups);
      st.evals++;
    }

  while (dir * (t1 - t) > 0.0)
    {
      gboolean last = FALSE, forced;
      double norm, hs, factor;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (st.accepted + st.rejected >= cfg->max_steps)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                       "adaptive integration used its budget of %u steps and reached t = %g of %g "
                       "(last step %.3g); loosen the tolerances or raise the step budget",
                       cfg->max_steps, t, t1, h);
          ok = FALSE;
          break;
        }
      if (cfg->h_max > 0.0)
        h = MIN (h, cfg->h_max);
      h = MAX (h, cfg->h_min);
      if (h < 16.0 * DBL_EPSILON * MAX (fabs (t), 1.0))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                       "adaptive integration step size underflow at t = %g (the field is stiff or not finite)", t);
          ok = FALSE;
          break;
        }
      /* Land exactly on t1; also stretch a step that would leave a sliver shorter than 1e-10 h. */
      if (h >= fabs (t1 - t) * (1.0 - 1e-10))
        {
          h = fabs (t1 - t);
          last = TRUE;
        }
      hs = dir * h;

      for (gsize i = 0; i < dim; i++)
        yt[i] = y[i] + hs * A21 * k1[i];
      f (user_data, t + C2 * hs, yt, k2, dim);
      for (gsize i = 0; i < dim; i++)
        yt[i] = y[i] + hs * (A31 * k1[i] + A32 * k2[i]);
      f (user_data, t + C3 * hs, yt, k3, dim);
      for (gsize i = 0; i < dim; i++)
        yt[i] = y[i] + hs * (A41 * k1[i] + A42 * k2[i] + A43 * k3[i]);
      f (user_data, t + C4 * hs, yt, k4, dim);
      for (gsize i = 0; i < dim; i++)
        yt[i] = y[i] + hs * (A51 * k1[i] + A52 * k2[i] + A53 * k3[i] + A54 * k4[i]);
      f (user_data, t + C5 * hs, yt, k5, dim);
      for (gsize i = 0; i < dim; i++)
        yt[i] = y[i] + hs * (A61 * k1[i] + A62 * k2[i] + A63 * k3[i] + A64 * k4[i] + A65 * k5[i]);
      f (user_data, t + hs, yt, k6, dim);
      for (gsize i = 0; i < dim; i++)
        yn[i] = y[i] + hs * (B1 * k1[i] + B3 * k3[i] + B4 * k4[i] + B5 * k5[i] + B6 * k6[i]);
      f (user_data, t + hs, yn, k7, dim);
      st.evals += 6;
      for (gsize i = 0; i < dim; i++)
        err[i] = hs * (E1 * k1[i] + E3 * k3[i] + E4 * k4[i] + E5 * k5[i] + E6 * k6[i] + E7 * k7[i]);
      norm = error_norm (cfg, err, y, yn, dim, groups);
      if (isnan (norm))
        {
          /* A non-finite state or field: shrink hard; the underflow check ends a hopeless case. */
          st.rejected++;
          if (h <= cfg->h_min)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                           "adaptive integration produced a non-finite state at t = %g", t);
              ok = FALSE;
              break;
            }
          h *= 0.2;
          rejected_last = TRUE;
          continue;
        }

      forced = norm > 1.0 && h <= cfg->h_min;
      factor = norm == 0.0 ? 10.0 : CLAMP (0.9 * pow (norm, -0.2), 0.2, 10.0);
      if (norm <= 1.0 || forced)
        {
          st.accepted++;
          st.forced += forced;
          t = last ? t1 : t + hs;
          memcpy (y, yn, dim * sizeof (double));
          memcpy (k1, k7, dim * sizeof (double));
          h *= rejected_last ? MIN (factor, 1.0) : factor;
          rejected_last = FALSE;
        }
      else
        {
          st.rejected++;
          h *= factor;
          rejected_last = TRUE;
        }
    }

  g_free (buf);
  if (stats != NULL)
    *stats = st;
  return ok;
}
