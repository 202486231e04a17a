/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-engine.h"

/* Likelihood of labelings (docs/method.md §2.4) against known answers:
 *  - Dormand-Prince on y' = -y and the harmonic oscillator (error shrinking with the tolerance, fifth
 *    order at fixed steps, backward in time, per-item error norm, step budget);
 *  - the special functions (regularized gamma, chi-square quantile) against closed forms and tables;
 *  - the CNF field on a linear flow f = A y (exactly A y, exact divergence tr A) and on a random MLP
 *    (divergence and e^T J e against central differences, Hutchinson against exact within its error);
 *  - log p_T on the linear flow against log N(e^{-AT} y_T) - T tr A;
 *  - the rounding model: a zero network (identity flow) gives (1/c)^n, a coupled linear flow the
 *    Gaussian orthant probability 1/4 +- asin(rho) / (2 pi); log-sum-exp finite when most proposals miss;
 *  - the non-rounding model against (1/c)^n and against a quadrature;
 *  - ROC AUC on hand cases and against brute force with ties.
 * Statistical checks use fixed seeds and a bound of 4 standard errors, and also require the standard
 * error to be small enough that the check means something. */

/* ---- test networks ---------------------------------------------------------------------------- */

/* F = 0: the flow is the identity, p_T = N(0, I). */
typedef struct {
  GafNet parent;
} ZeroNet;

static void
zero_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  memset (out, 0, (gsize) batch * net->n * net->out_channels * sizeof (float));
}

static void
zero_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  /* dF/dW = 0: nothing to accumulate. */
}

static void
plain_free (GafNet *net)
{
  g_free (net);
}

static const GafNetClass zero_class = { "zero", zero_forward, zero_forward, zero_backward, plain_free };

static GafNet *
zero_net_new (int n, int c)
{
  ZeroNet *z = g_new0 (ZeroNet, 1);

  z->parent.klass = &zero_class;
  z->parent.n = n;
  z->parent.in_channels = c;
  z->parent.out_channels = c;
  return GAF_NET (z);
}

/* F = M g with g = Pi_0 log W per row, flattened over the rows (M is (nc, nc), coupling the rows).
 * With W = softmax(Q y), g = Q y exactly; choosing M = Qb A Qb^T (Qb the block-diagonal Q) gives
 * f = Qb^T F = A y, a linear flow in tangent coordinates with divergence tr A. */
typedef struct {
  GafNet  parent;
  double *M;      /* (nc, nc) */
  float  *x;      /* last forward input (B, n, c) */
  int     batch;
} LinearNet;

static void
linear_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  LinearNet *l = (LinearNet *) net;
  int n = net->n, c = net->out_channels, nc = n * c;
  double *g = g_newa (double, nc);

  g_free (l->x);
  l->x = g_memdup2 (x, (gsize) batch * nc * sizeof (float));
  l->batch = batch;
  for (int b = 0; b < batch; b++)
    {
      const float *xb = x + (gsize) b * nc;
      for (int i = 0; i < n; i++)
        {
          double mean = 0.0;
          for (int j = 0; j < c; j++)
            mean += (g[i * c + j] = log (xb[i * c + j]));
          for (int j = 0; j < c; j++)
            g[i * c + j] -= mean / c;
        }
      for (int r = 0; r < nc; r++)
        {
          double s = 0.0;
          for (int k = 0; k < nc; k++)
            s += l->M[r * nc + k] * g[k];
          out[(gsize) b * nc + r] = (float) s;
        }
    }
}

static void
linear_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  LinearNet *l = (LinearNet *) net;
  int n = net->n, c = net->out_channels, nc = n * c;
  double *dg = g_newa (double, nc);

  if (dx == NULL)
    return;
  for (int b = 0; b < l->batch; b++)
    {
      /* dg = M^T dout; d/dW_j of Pi_0 log W: dx_j = (Pi_0 dg)_j / W_j */
      for (int k = 0; k < nc; k++)
        {
          double s = 0.0;
          for (int r = 0; r < nc; r++)
            s += l->M[r * nc + k] * dout[(gsize) b * nc + r];
          dg[k] = s;
        }
      for (int i = 0; i < n; i++)
        {
          double mean = 0.0;
          for (int j = 0; j < c; j++)
            mean += dg[i * c + j];
          for (int j = 0; j < c; j++)
            dx[(gsize) b * nc + i * c + j] += (float) ((dg[i * c + j] - mean / c) / l->x[(gsize) b * nc + i * c + j]);
        }
    }
}

static void
linear_free (GafNet *net)
{
  LinearNet *l = (LinearNet *) net;

  g_free (l->M);
  g_free (l->x);
  g_free (l);
}

static const GafNetClass linear_class = { "linear", linear_forward, linear_forward, linear_backward, linear_free };

/* A (D, D), D = n (c - 1). */
static GafNet *
linear_net_new (int n, int c, const double *A)
{
  LinearNet *l = g_new0 (LinearNet, 1);
  int m = c - 1, D = n * m, nc = n * c;
  double *q = g_new (double, c * m), *Qb = g_new0 (double, (gsize) nc * D);

  l->parent.klass = &linear_class;
  l->parent.n = n;
  l->parent.in_channels = c;
  l->parent.out_channels = c;
  gaf_tangent_basis (c, q);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < c; j++)
      for (int k = 0; k < m; k++)
        Qb[(i * c + j) * D + i * m + k] = q[j * m + k];
  l->M = g_new0 (double, (gsize) nc * nc);
  for (int r = 0; r < nc; r++)
    for (int s = 0; s < nc; s++)
      {
        double v = 0.0;
        for (int a = 0; a < D; a++)
          for (int b = 0; b < D; b++)
            v += Qb[r * D + a] * A[a * D + b] * Qb[s * D + b];
        l->M[r * nc + s] = v;
      }
  g_free (q);
  g_free (Qb);
  return GAF_NET (l);
}

static GafMlp *
small_mlp (int n, int c, guint64 seed)
{
  GafMlpConfig cfg;

  gaf_mlp_config_init (&cfg, n, c);
  cfg.hidden = 32;
  cfg.depth = 2;
  return gaf_mlp_new (&cfg, seed);
}

/* ---- small dense helpers ----------------------------------------------------------------------- */

static void
matmul (const double *a, const double *b, double *out, int d)
{
  double *tmp = g_new (double, d * d);

  for (int i = 0; i < d; i++)
    for (int j = 0; j < d; j++)
      {
        double s = 0.0;
        for (int k = 0; k < d; k++)
          s += a[i * d + k] * b[k * d + j];
        tmp[i * d + j] = s;
      }
  memcpy (out, tmp, d * d * sizeof (double));
  g_free (tmp);
}

/* e^{s A} by scaling and squaring with a 30-term Taylor series (ample for the small ||s A|| here). */
static void
expm (const double *A, double s, double *out, int d)
{
  int squarings = 8;
  double scale = s / (1 << squarings);
  double *term = g_new (double, d * d), *X = g_new (double, d * d);

  for (int i = 0; i < d * d; i++)
    X[i] = A[i] * scale;
  for (int i = 0; i < d * d; i++)
    out[i] = term[i] = (i % (d + 1) == 0) ? 1.0 : 0.0;
  for (int k = 1; k <= 30; k++)
    {
      matmul (term, X, term, d);
      for (int i = 0; i < d * d; i++)
        {
          term[i] /= k;
          out[i] += term[i];
        }
    }
  for (int k = 0; k < squarings; k++)
    matmul (out, out, out, d);
  g_free (term);
  g_free (X);
}

/* ---- Dormand-Prince -------------------------------------------------------------------------------- */

static void
ode_decay (gpointer data, double t, const double *y, double *dy, gsize dim)
{
  for (gsize i = 0; i < dim; i++)
    dy[i] = -y[i];
}

static void
ode_oscillator (gpointer data, double t, const double *y, double *dy, gsize dim)
{
  dy[0] = y[1];
  dy[1] = -y[0];
}

static void
test_dopri_decay (void)
{
  GafDopriConfig cfg;
  double tols[] = { 1e-3, 1e-6, 1e-9 }, prev = INFINITY;
  guint prev_steps = 0;

  gaf_dopri_config_init (&cfg);
  for (int k = 0; k < 3; k++)
    {
      GafDopriStats st;
      double y = 1.0, err;
      g_autoptr (GError) error = NULL;

      cfg.rtol = cfg.atol = tols[k];
      g_assert_true (gaf_dopri_solve (&cfg, ode_decay, NULL, 0.0, 5.0, &y, 1, 1, &st, NULL, &error));
      g_assert_no_error (error);
      err = fabs (y - exp (-5.0));
      g_test_message ("y' = -y, tol %g: error %.3g, %u steps (%u rejected), %u evaluations", tols[k], err,
                      st.accepted, st.rejected, st.evals);
      g_assert_cmpfloat (err, <, 10.0 * tols[k]);
      g_assert_cmpfloat (err, <, prev);
      g_assert_cmpuint (st.accepted, >, prev_steps);
      prev = err;
      prev_steps = st.accepted;

      /* backward: from y(5) = e^{-5} to y(0) = 1 */
      y = exp (-5.0);
      g_assert_true (gaf_dopri_solve (&cfg, ode_decay, NULL, 5.0, 0.0, &y, 1, 1, &st, NULL, &error));
      g_test_message ("backward from t = 5: error %.3g, %u steps", fabs (y - 1.0), st.accepted);
      g_assert_cmpfloat (fabs (y - 1.0), <, 50.0 * tols[k]);
    }
  g_assert_cmpfloat (prev, <, 1e-9);
}

static void
test_dopri_oscillator (void)
{
  GafDopriConfig cfg;
  double tols[] = { 1e-3, 1e-6, 1e-9 }, prev = INFINITY, T = 6.0 * G_PI;

  gaf_dopri_config_init (&cfg);
  for (int k = 0; k < 3; k++)
    {
      GafDopriStats st;
      double y[2] = { 1.0, 0.0 }, err;
      g_autoptr (GError) error = NULL;

      cfg.rtol = cfg.atol = tols[k];
      g_assert_true (gaf_dopri_solve (&cfg, ode_oscillator, NULL, 0.0, T, y, 2, 1, &st, NULL, &error));
      /* three periods: back at (1, 0) */
      err = hypot (y[0] - 1.0, y[1]);
      g_test_message ("oscillator over 3 periods, tol %g: error %.3g, %u steps", tols[k], err, st.accepted);
      g_assert_cmpfloat (err, <, 100.0 * tols[k]);
      g_assert_cmpfloat (err, <, 0.1 * prev);
      prev = err;
    }
}

/* Fixed steps (h_init = h_max = h, tolerances too loose to reject): the global error of a fifth-order
 * method drops by 2^5 = 32 when h is halved. This checks the tableau itself. */
static void
test_dopri_order (void)
{
  GafDopriConfig cfg;
  double err[2];

  gaf_dopri_config_init (&cfg);
  cfg.rtol = cfg.atol = 1e3;
  for (int k = 0; k < 2; k++)
    {
      GafDopriStats st;
      double y[2] = { 1.0, 0.0 };
      cfg.h_init = cfg.h_max = k == 0 ? 0.4 : 0.2;
      g_assert_true (gaf_dopri_solve (&cfg, ode_oscillator, NULL, 0.0, 4.0, y, 2, 1, &st, NULL, NULL));
      g_assert_cmpuint (st.accepted, ==, k == 0 ? 10 : 20);
      g_assert_cmpuint (st.rejected, ==, 0);
      err[k] = hypot (y[0] - cos (4.0), y[1] + sin (4.0));
    }
  g_test_message ("fixed steps 0.4, 0.2: errors %.3g, %.3g, ratio %.2f", err[0], err[1], err[0] / err[1]);
  g_assert_cmpfloat (err[0] / err[1], >, 24.0);
  g_assert_cmpfloat (err[0] / err[1], <, 40.0);
}

/* The error norm is the largest per-item RMS: an item solved beside 99 trivial ones (y' = -0 y ... the
 * decay of zero) takes exactly the steps it takes alone; one pooled RMS would take fewer. */
static void
test_dopri_groups (void)
{
  GafDopriConfig cfg;
  GafDopriStats alone, grouped, pooled;
  double y1 = 1.0, *y = g_new0 (double, 100), *yp = g_new0 (double, 100);

  gaf_dopri_config_init (&cfg);
  cfg.rtol = cfg.atol = 1e-6;
  cfg.h_init = 0.01;
  y[0] = yp[0] = 1.0;
  g_assert_true (gaf_dopri_solve (&cfg, ode_decay, NULL, 0.0, 5.0, &y1, 1, 1, &alone, NULL, NULL));
  g_assert_true (gaf_dopri_solve (&cfg, ode_decay, NULL, 0.0, 5.0, y, 100, 100, &grouped, NULL, NULL));
  g_assert_true (gaf_dopri_solve (&cfg, ode_decay, NULL, 0.0, 5.0, yp, 100, 1, &pooled, NULL, NULL));
  g_test_message ("steps alone %u, grouped %u, pooled %u", alone.accepted, grouped.accepted, pooled.accepted);
  g_assert_cmpuint (grouped.accepted, ==, alone.accepted);
  g_assert_cmpfloat (y[0], ==, y1);
  g_assert_cmpuint (pooled.accepted, <, alone.accepted);
  g_free (y);
  g_free (yp);
}

static void
test_dopri_budget (void)
{
  GafDopriConfig cfg;
  double y[2] = { 1.0, 0.0 };
  g_autoptr (GError) error = NULL;
  GCancellable *cancel;

  gaf_dopri_config_init (&cfg);
  cfg.rtol = cfg.atol = 1e-10;
  cfg.max_steps = 5;
  g_assert_false (gaf_dopri_solve (&cfg, ode_oscillator, NULL, 0.0, 10.0, y, 2, 1, NULL, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_DIVERGED);
  g_assert_nonnull (strstr (error->message, "budget of 5 steps"));
  g_clear_error (&error);

  cfg.max_steps = 0;
  g_assert_false (gaf_dopri_solve (&cfg, ode_oscillator, NULL, 0.0, 10.0, y, 2, 1, NULL, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  gaf_dopri_config_init (&cfg);
  cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_false (gaf_dopri_solve (&cfg, ode_oscillator, NULL, 0.0, 10.0, y, 2, 1, NULL, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_object_unref (cancel);
}

/* ---- special functions ------------------------------------------------------------------------- */

static void
test_gamma (void)
{
  for (double x = 0.01; x < 60.0; x *= 1.7)
    {
      double e3 = exp (-x) * (1.0 + x + 0.5 * x * x);
      g_assert_cmpfloat_with_epsilon (gaf_gamma_p (1.0, x), -expm1 (-x), 1e-14);
      g_assert_cmpfloat_with_epsilon (gaf_gamma_p (0.5, x), erf (sqrt (x)), 1e-14);
      g_assert_cmpfloat_with_epsilon (gaf_gamma_p (3.0, x), 1.0 - e3, 1e-14);
      /* the upper tail keeps its relative accuracy where 1 - P would be all rounding */
      g_assert_cmpfloat (fabs (gaf_gamma_q (0.5, x) / erfc (sqrt (x)) - 1.0), <, 1e-12);
      g_assert_cmpfloat (fabs (gaf_gamma_q (3.0, x) / e3 - 1.0), <, 1e-12);
    }
  g_assert_cmpfloat (gaf_gamma_p (2.0, 0.0), ==, 0.0);
  g_assert_cmpfloat (gaf_gamma_q (2.0, 0.0), ==, 1.0);
}

static void
test_chi2_quantile (void)
{
  /* 95 % points from the standard tables */
  const struct { double k, x; } table[] = {
    { 1, 3.841458820694124 }, { 2, 5.991464547107979 }, { 3, 7.814727903251178 },
    { 4, 9.487729036781154 }, { 10, 18.307038053275146 }, { 100, 124.34211340400407 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (table); i++)
    g_assert_cmpfloat (fabs (gaf_chi2_quantile (0.95, table[i].k) / table[i].x - 1.0), <, 1e-9);
  /* k = 2 is exponential: x = -2 log(1 - p) */
  for (double p = 1e-6; p < 1.0; p += 0.0731)
    g_assert_cmpfloat (fabs (gaf_chi2_quantile (p, 2.0) / (-2.0 * log1p (-p)) - 1.0), <, 1e-10);
  g_assert_cmpfloat (fabs (gaf_chi2_isf (1e-12, 2.0) / (-2.0 * log (1e-12)) - 1.0), <, 1e-10);
  /* round trips over k and both tails, the deep upper tail through Q */
  for (double k = 0.5; k < 300.0; k *= 2.3)
    for (double p = 0.001; p < 1.0; p += 0.0997)
      {
        double x = gaf_chi2_quantile (p, k);
        g_assert_cmpfloat (fabs (gaf_gamma_p (0.5 * k, 0.5 * x) - p), <, 1e-12);
      }
  for (double k = 1.0; k < 2000.0; k *= 3.0)
    for (double q = 1e-3; q > 1e-14; q *= 1e-2)
      {
        double x = gaf_chi2_isf (q, k);
        g_assert_cmpfloat (fabs (gaf_gamma_q (0.5 * k, 0.5 * x) / q - 1.0), <, 1e-9);
      }
  g_assert_cmpfloat (gaf_chi2_quantile (0.0, 3.0), ==, 0.0);
  g_assert_true (isinf (gaf_chi2_quantile (1.0, 3.0)));
}

static void
test_proposal_sigma (void)
{
  double eps = 0.01;

  /* c = 2, n = 1, P = 0.5: the ball is the interval of radius r = a / sqrt 2 and
   * P(|sigma z| < r) = 0.5 gives r / sigma = Phi^{-1}(0.75) = 0.6744897501960817. */
  {
    double a = log ((1.0 - eps + eps / 2) / (eps / 2));
    g_assert_cmpfloat (fabs (gaf_proposal_sigma (1, 2, eps, 0.5) / (a / G_SQRT2 / 0.6744897501960817) - 1.0), <,
                       1e-10);
  }
  /* In general every row is in its ball with probability P^{1/n}. */
  for (int c = 2; c <= 64; c *= 2)
    for (int n = 1; n <= 4096; n *= 8)
      {
        double a = log ((1.0 - eps + eps / c) / (eps / c)), r = a / G_SQRT2;
        double s = gaf_proposal_sigma (n, c, eps, 0.5);
        double inside = gaf_gamma_p (0.5 * (c - 1), 0.5 * r * r / (s * s));
        g_assert_cmpfloat (fabs (pow (inside, n) - 0.5), <, 1e-9);
      }
}

static void
test_log_mean_exp (void)
{
  double w[] = { -1000.0, -1001.0 }, se, want;
  double one[] = { -2000.0 };

  /* log((e^-1000 + e^-1001) / 100): a naive exp would be 0 and give -inf */
  want = -1000.0 + log1p (exp (-1.0)) - log (100.0);
  g_assert_cmpfloat_with_epsilon (gaf_log_mean_exp (w, 2, 100, &se), want, 1e-12);
  g_assert_true (isfinite (se) && se > 0.0);
  /* weights {1, 0, 0, 0}: mean 1/4, sample variance 1/4, se(mean) = 1/4, se(log) = 1; the offset
   * e^-2000 changes nothing */
  g_assert_cmpfloat_with_epsilon (gaf_log_mean_exp (one, 1, 4, &se), -2000.0 - log (4.0), 1e-12);
  g_assert_cmpfloat_with_epsilon (se, 1.0, 1e-12);
  /* all equal: se 0 */
  {
    double eq[] = { -3.0, -3.0, -3.0 };
    g_assert_cmpfloat_with_epsilon (gaf_log_mean_exp (eq, 3, 3, &se), -3.0, 1e-14);
    g_assert_cmpfloat (se, <, 1e-7);
  }
  /* no hit: -inf, infinite error */
  g_assert_true (isinf (gaf_log_mean_exp (NULL, 0, 100, &se)) && gaf_log_mean_exp (NULL, 0, 100, NULL) < 0.0);
  g_assert_true (isinf (se));
}

static void
test_roc_auc (void)
{
  const double pos[] = { 0.35, 0.8 }, neg[] = { 0.1, 0.4 };
  const double a[] = { 1, 2 }, b[] = { 1, 1 };
  const double lo[] = { 0, 1, 2 }, hi[] = { 3, 4 };
  GafRng rng;

  g_assert_cmpfloat (gaf_roc_auc (pos, 2, neg, 2), ==, 0.75);
  g_assert_cmpfloat (gaf_roc_auc (a, 2, b, 2), ==, 0.75);   /* two ties count 1/2 each */
  g_assert_cmpfloat (gaf_roc_auc (hi, 2, lo, 3), ==, 1.0);
  g_assert_cmpfloat (gaf_roc_auc (lo, 3, hi, 2), ==, 0.0);
  g_assert_cmpfloat (gaf_roc_auc (b, 2, b, 2), ==, 0.5);
  g_assert_true (isnan (gaf_roc_auc (a, 2, b, 0)));

  /* against the pair count on integer scores with many ties */
  gaf_rng_init (&rng, 11);
  for (int rep = 0; rep < 20; rep++)
    {
      gsize na = 1 + gaf_rng_below (&rng, 60), nb = 1 + gaf_rng_below (&rng, 60);
      double *x = g_new (double, na), *y = g_new (double, nb), pairs = 0.0;
      for (gsize i = 0; i < na; i++)
        x[i] = gaf_rng_below (&rng, 7);
      for (gsize j = 0; j < nb; j++)
        y[j] = gaf_rng_below (&rng, 5) + 1;
      for (gsize i = 0; i < na; i++)
        for (gsize j = 0; j < nb; j++)
          pairs += x[i] > y[j] ? 1.0 : x[i] == y[j] ? 0.5 : 0.0;
      g_assert_cmpfloat_with_epsilon (gaf_roc_auc (x, na, y, nb), pairs / (na * nb), 1e-12);
      g_assert_cmpfloat_with_epsilon (gaf_roc_auc (x, na, y, nb) + gaf_roc_auc (y, nb, x, na), 1.0, 1e-12);
      g_free (x);
      g_free (y);
    }
}

/* ---- the CNF field ----------------------------------------------------------------------------- */

/* A (4 x 4) for n = 2, c = 3, coupling the rows; tr A = 0.8 - 0.3 + 0.5 - 0.2 = 0.8. */
static const double A4[16] = {
  0.8, -0.4, 0.3, 0.0,
  0.5, -0.3, 0.0, 0.2,
  -0.2, 0.1, 0.5, 0.6,
  0.0, 0.3, -0.7, -0.2,
};

static void
test_field_linear (void)
{
  g_autoptr (GafNet) net = linear_net_new (2, 3, A4);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (net, 3);
  double y[12], f[12], div[3], probe[12];
  GafRng rng;

  g_assert_cmpint (gaf_cnf_dim (cnf), ==, 4);
  gaf_rng_init (&rng, 3);
  for (int i = 0; i < 12; i++)
    y[i] = 2.0 * gaf_rng_normal (&rng);
  gaf_cnf_field (cnf, y, 0.7, 3, f, div, NULL, 0);
  for (int b = 0; b < 3; b++)
    {
      for (int k = 0; k < 4; k++)
        {
          double want = 0.0;
          for (int l = 0; l < 4; l++)
            want += A4[k * 4 + l] * y[b * 4 + l];
          g_assert_cmpfloat (fabs (f[b * 4 + k] - want), <, 1e-5 * (1.0 + fabs (want)));
        }
      g_assert_cmpfloat (fabs (div[b] - 0.8), <, 1e-5);
    }
  /* Rademacher probes: e^T A e = tr A + sum_{k != l} e_k e_l A_kl; with A diagonal it is exactly tr A,
   * for a general A it averages to tr A. Here: one probe against the hand formula. */
  for (int i = 0; i < 12; i++)
    probe[i] = (gaf_rng_next (&rng) >> 63) ? 1.0 : -1.0;
  gaf_cnf_field (cnf, y, 0.7, 3, f, div, probe, 1);
  for (int b = 0; b < 3; b++)
    {
      double want = 0.0;
      for (int k = 0; k < 4; k++)
        for (int l = 0; l < 4; l++)
          want += probe[b * 4 + k] * A4[k * 4 + l] * probe[b * 4 + l];
      g_assert_cmpfloat (fabs (div[b] - want), <, 1e-5);
    }
}

/* The VJP chain (reverse pass, softmax Jacobian, Q) on a random MLP: exact divergence against the
 * trace of the central-difference Jacobian, and e^T J e for a random e against the directional
 * difference e^T (f(y + h e) - f(y - h e)) / 2h. */
static void
test_divergence_fd (void)
{
  const int n = 3, c = 4, D = 9, B = 2;
  g_autoptr (GafMlp) mlp = small_mlp (n, c, 5);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (GAF_NET (mlp), B);
  double y[18], yp[18], ym[18], f[18], fp[18], fm[18], div[2], e[18], dirv[2], fd_div[2] = { 0 }, fd_dir[2] = { 0 };
  double h = 1e-2, t = 1.3;
  GafRng rng;

  gaf_rng_init (&rng, 8);
  for (int i = 0; i < B * D; i++)
    {
      y[i] = 1.5 * gaf_rng_normal (&rng);
      e[i] = gaf_rng_normal (&rng);
    }
  gaf_cnf_field (cnf, y, t, B, f, div, NULL, 0);
  gaf_cnf_field (cnf, y, t, B, f, dirv, e, 1);
  for (int k = 0; k < D; k++)
    {
      memcpy (yp, y, sizeof y);
      memcpy (ym, y, sizeof y);
      for (int b = 0; b < B; b++)
        {
          yp[b * D + k] += h;
          ym[b * D + k] -= h;
        }
      gaf_cnf_field (cnf, yp, t, B, fp, NULL, NULL, 0);
      gaf_cnf_field (cnf, ym, t, B, fm, NULL, NULL, 0);
      for (int b = 0; b < B; b++)
        fd_div[b] += (fp[b * D + k] - fm[b * D + k]) / (2.0 * h);
    }
  for (int i = 0; i < B * D; i++)
    {
      yp[i] = y[i] + h * e[i];
      ym[i] = y[i] - h * e[i];
    }
  gaf_cnf_field (cnf, yp, t, B, fp, NULL, NULL, 0);
  gaf_cnf_field (cnf, ym, t, B, fm, NULL, NULL, 0);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < D; k++)
      fd_dir[b] += e[b * D + k] * (fp[b * D + k] - fm[b * D + k]) / (2.0 * h);
  for (int b = 0; b < B; b++)
    {
      g_test_message ("item %d: div %.6f (central differences %.6f), e^T J e %.6f (%.6f)", b, div[b], fd_div[b],
                      dirv[b], fd_dir[b]);
      g_assert_cmpfloat (fabs (div[b]), >, 1e-2);   /* a divergence of zero would prove nothing */
      g_assert_cmpfloat (fabs (div[b] - fd_div[b]), <, 2e-3 * MAX (1.0, fabs (fd_div[b])));
      g_assert_cmpfloat (fabs (dirv[b] - fd_dir[b]), <, 2e-3 * MAX (1.0, fabs (fd_dir[b])));
    }
}

/* Hutchinson against exact at one point: the mean of 4000 single-probe estimates within 4 standard
 * errors, for Gaussian and Rademacher probes. */
static void
test_hutchinson_point (void)
{
  const int n = 3, c = 4, D = 9;
  g_autoptr (GafMlp) mlp = small_mlp (n, c, 6);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (GAF_NET (mlp), 1);
  double y[9], f[9], exact, e[9];
  GafRng rng;

  gaf_rng_init (&rng, 9);
  for (int i = 0; i < D; i++)
    y[i] = gaf_rng_normal (&rng);
  gaf_cnf_field (cnf, y, 0.5, 1, f, &exact, NULL, 0);
  for (int kind = 0; kind < 2; kind++)
    {
      double s = 0.0, s2 = 0.0, mean, se;
      const int P = 4000;
      for (int p = 0; p < P; p++)
        {
          double d;
          for (int i = 0; i < D; i++)
            e[i] = kind == 0 ? gaf_rng_normal (&rng) : ((gaf_rng_next (&rng) >> 63) ? 1.0 : -1.0);
          gaf_cnf_field (cnf, y, 0.5, 1, f, &d, e, 1);
          s += d;
          s2 += d * d;
        }
      mean = s / P;
      se = sqrt ((s2 / P - mean * mean) / (P - 1));
      g_test_message ("%s probes: mean %.5f +- %.5f, exact %.5f", kind == 0 ? "Gaussian" : "Rademacher", mean, se,
                      exact);
      g_assert_cmpfloat (se, >, 0.0);
      g_assert_cmpfloat (se, <, 0.1 * MAX (fabs (exact), 0.1));
      g_assert_cmpfloat (fabs (mean - exact), <, 4.0 * se);
    }
}

/* ---- log p_T ------------------------------------------------------------------------------------ */

/* Linear flow y' = A y: y_0 = e^{-AT} y_T and log p_T(y_T) = log N(y_0; 0, I) - T tr A. */
static void
test_log_density_linear (void)
{
  const int D = 4, B = 5;
  double T = 2.0, E[16], y[20], lp[5];
  g_autoptr (GafNet) net = linear_net_new (2, 3, A4);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (net, B);
  GafLikelihoodConfig cfg;
  GafDopriStats st;
  g_autoptr (GError) error = NULL;
  GafRng rng;

  gaf_likelihood_config_init (&cfg);
  cfg.t_end = T;
  cfg.dopri.rtol = cfg.dopri.atol = 1e-8;
  expm (A4, -T, E, D);
  gaf_rng_init (&rng, 4);
  for (int i = 0; i < B * D; i++)
    y[i] = 2.0 * gaf_rng_normal (&rng);
  g_assert_true (gaf_cnf_log_density (cnf, &cfg, &rng, y, B, lp, &st, NULL, &error));
  g_assert_no_error (error);
  for (int b = 0; b < B; b++)
    {
      double sq = 0.0, want;
      for (int k = 0; k < D; k++)
        {
          double y0 = 0.0;
          for (int l = 0; l < D; l++)
            y0 += E[k * D + l] * y[b * D + l];
          sq += y0 * y0;
        }
      want = -0.5 * D * log (2.0 * G_PI) - 0.5 * sq - T * 0.8;
      g_test_message ("item %d: log p_T %.7f, closed form %.7f", b, lp[b], want);
      g_assert_cmpfloat (fabs (lp[b] - want), <, 1e-4);
    }
  g_test_message ("%u steps, %u rejected", st.accepted, st.rejected);
  g_assert_cmpuint (st.accepted, >, 3);

  /* The default tolerance 1e-2 is coarser but still close. */
  cfg.dopri.rtol = cfg.dopri.atol = 1e-2;
  {
    double lp2[5];
    g_assert_true (gaf_cnf_log_density (cnf, &cfg, &rng, y, B, lp2, NULL, NULL, &error));
    for (int b = 0; b < B; b++)
      g_assert_cmpfloat (fabs (lp2[b] - lp[b]), <, 0.05);
  }
}

/* On a random MLP: a batch gives the items' solo answers (shared steps, tight tolerance), and
 * Hutchinson solves average to the exact solve. */
static void
test_log_density_mlp (void)
{
  const int n = 2, c = 3, D = 4, B = 3;
  g_autoptr (GafMlp) mlp = small_mlp (n, c, 12);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (GAF_NET (mlp), B);
  GafLikelihoodConfig cfg;
  double y[12], lp[3], solo, s = 0.0, s2 = 0.0, mean, se;
  const int R = 60;
  GafRng rng;

  gaf_likelihood_config_init (&cfg);
  cfg.t_end = 3.0;
  /* The MLP's ReLUs make the field only piecewise smooth: the solver converges slowly (about 1e-3 at
   * tolerance 1e-5, 1e-6 at 1e-9, measured), hence the tight tolerance for the batch-against-solo check. */
  cfg.dopri.rtol = cfg.dopri.atol = 1e-9;
  gaf_rng_init (&rng, 21);
  for (int i = 0; i < B * D; i++)
    y[i] = 2.0 * gaf_rng_normal (&rng);
  g_assert_true (gaf_cnf_log_density (cnf, &cfg, &rng, y, B, lp, NULL, NULL, NULL));
  for (int b = 0; b < B; b++)
    {
      g_assert_true (gaf_cnf_log_density (cnf, &cfg, &rng, y + b * D, 1, &solo, NULL, NULL, NULL));
      g_assert_cmpfloat (fabs (solo - lp[b]), <, 2e-5);
    }

  cfg.divergence = GAF_DIVERGENCE_HUTCHINSON;
  cfg.probe = GAF_PROBE_GAUSSIAN;
  cfg.probes = 2;
  cfg.dopri.rtol = cfg.dopri.atol = 1e-6;
  for (int r = 0; r < R; r++)
    {
      double h;
      g_assert_true (gaf_cnf_log_density (cnf, &cfg, &rng, y, 1, &h, NULL, NULL, NULL));
      s += h;
      s2 += h * h;
    }
  mean = s / R;
  se = sqrt ((s2 / R - mean * mean) / (R - 1));
  g_test_message ("exact log p %.5f, Hutchinson (2 Gaussian probes, %d solves) %.5f +- %.5f", lp[0], R, mean, se);
  g_assert_cmpfloat (se, >, 0.0);
  g_assert_cmpfloat (fabs (mean - lp[0]), <, 4.0 * se + 2e-3);
}

/* ---- the rounding model ----------------------------------------------------------------------- */

static void
check_rounding (GafNet *net, const GafLikelihoodConfig *cfg, const guint16 *labels, const double *want_log_p,
                guint count, double max_se, guint64 seed)
{
  GafLikelihoodItem *items = g_new (GafLikelihoodItem, count);
  GafLikelihoodSummary sum;
  g_autoptr (GError) error = NULL;
  GafRng rng;

  gaf_rng_init (&rng, seed);
  g_assert_true (gaf_likelihood_evaluate (net, cfg, &rng, labels, count, items, &sum, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sum.count, ==, count);
  g_assert_cmpuint (sum.n_finite, ==, count);
  for (guint i = 0; i < count; i++)
    {
      g_test_message ("labeling %u: log p %.4f +- %.4f (want %.4f), %.4f bits/dim, hits %.3f", i, items[i].log_p,
                      items[i].log_p_se, want_log_p[i], items[i].bits_per_dim, items[i].hit_fraction);
      g_assert_cmpfloat (items[i].log_p_se, <, max_se);
      g_assert_cmpfloat (fabs (items[i].log_p - want_log_p[i]), <, 4.0 * items[i].log_p_se);
      g_assert_cmpfloat_with_epsilon (items[i].bits_per_dim, -items[i].log_p / (net->n * G_LN2), 1e-12);
      g_assert_cmpfloat (items[i].hit_fraction, >, 0.0);
      g_assert_cmpfloat (items[i].hit_fraction, <=, 1.0);
    }
  g_test_message ("mean %.4f bits/dim +- %.4f, %" G_GUINT64_FORMAT " evaluations, %" G_GUINT64_FORMAT " solves",
                  sum.mean_bpd, sum.se_bpd, sum.evals, sum.solves);
  g_free (items);
}

/* Zero network: the identity flow, p_T = N(0, I), and by symmetry each row rounds to each class with
 * probability 1/c: p(alpha) = (1/c)^n. This flow is the hard case for the estimator: its mass sits at
 * the origin, the apex of every cone, far from the proposals around the corners, so the weights are
 * heavy tailed (with the reference eps = 0.01 and n = 3, c = 5, K = 3000 the estimate came out 6 to 11
 * nats low, measured). The first case keeps the reference eps and P and takes K = 10^5; the others
 * move the proposal towards the origin (eps = 0.3, smaller P), which the options allow. */
static void
test_rounding_zero (void)
{
  const struct { int n, c; double eps, coverage, max_se; guint K; } cases[] = {
    { 2, 3, 0.01, 0.5, 0.15, 100000 },
    { 4, 2, 0.3, 0.2, 0.15, 3000 },
    { 3, 5, 0.3, 0.05, 0.4, 3000 },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      int n = cases[k].n, c = cases[k].c;
      g_autoptr (GafNet) net = zero_net_new (n, c);
      GafLikelihoodConfig cfg;
      guint16 labels[2 * 4];
      double want[2];

      gaf_likelihood_config_init (&cfg);
      cfg.proposals = cases[k].K;
      cfg.smoothing = cases[k].eps;
      cfg.coverage = cases[k].coverage;
      cfg.batch = 2000;
      for (int i = 0; i < 2 * n; i++)
        labels[i] = (guint16) ((i * 7 + i / n) % c);
      want[0] = want[1] = -n * log (c);
      check_rounding (net, &cfg, labels, want, 2, cases[k].max_se, 100 + k);
    }
}

/* Coupled linear flow, n = 2, c = 2: y (2) = e^{AT} y_0 is Gaussian with covariance S = e^{AT} e^{A^T T};
 * for c = 2, Q = (1, -1)^T / sqrt 2, so row i rounds to class 0 iff y_i > 0, and the orthant
 * probabilities are P(y_1 > 0, y_2 > 0) = 1/4 + asin(rho) / (2 pi), P(y_1 > 0, y_2 < 0) = 1/4 - asin(rho) / (2 pi).
 * A wrong sign or size of the divergence integral would scale the density by e^{+-2 T tr A}. */
static void
test_rounding_linear (void)
{
  const double A[4] = { 0.3, 0.6, 0.2, 0.1 };   /* tr A = 0.4 */
  double T = 1.5, E[4], S[4], rho, want[3];
  g_autoptr (GafNet) net = linear_net_new (2, 2, A);
  GafLikelihoodConfig cfg;
  const guint16 labels[6] = { 0, 0, 0, 1, 1, 0 };

  expm (A, T, E, 2);
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++)
      S[i * 2 + j] = E[i * 2] * E[j * 2] + E[i * 2 + 1] * E[j * 2 + 1];
  rho = S[1] / sqrt (S[0] * S[3]);
  g_test_message ("rho = %.4f", rho);
  g_assert_cmpfloat (rho, >, 0.3);
  want[0] = log (0.25 + asin (rho) / (2.0 * G_PI));
  want[1] = want[2] = log (0.25 - asin (rho) / (2.0 * G_PI));
  gaf_likelihood_config_init (&cfg);
  cfg.t_end = T;
  cfg.proposals = 10000;
  cfg.batch = 2000;
  cfg.dopri.rtol = cfg.dopri.atol = 1e-4;
  check_rounding (net, &cfg, labels, want, 3, 0.15, 7);
}

/* Most proposals miss and log p is far below the smallest double's logarithm (-745): n = 1200 binary
 * variables, P = 0.02. The estimate stays finite and the hit fraction is reported. With the identity
 * flow in 1200 dimensions the importance weights are hopelessly degenerate (the estimate came out
 * thousands of nats low, measured), but p_hat is unbiased, so by Markov's inequality
 * P(log p_hat > log p + 5) <= e^-5: the upper bound is a real check. */
static void
test_rounding_misses (void)
{
  const int n = 1200;
  g_autoptr (GafNet) net = zero_net_new (n, 2);
  GafLikelihoodConfig cfg;
  GafLikelihoodItem item;
  guint16 *labels = g_new (guint16, n);
  g_autoptr (GError) error = NULL;
  GafRng rng;

  for (int i = 0; i < n; i++)
    labels[i] = (guint16) (i % 3 == 0);
  gaf_likelihood_config_init (&cfg);
  cfg.coverage = 0.02;
  cfg.proposals = 200;
  cfg.divergence = GAF_DIVERGENCE_HUTCHINSON;
  gaf_rng_init (&rng, 5);
  g_assert_true (gaf_likelihood_evaluate (net, &cfg, &rng, labels, 1, &item, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("log p %.2f +- %.2f (true %.2f), hit fraction %.3f, %.4f bits/dim", item.log_p, item.log_p_se,
                  -n * G_LN2, item.hit_fraction, item.bits_per_dim);
  g_assert_cmpfloat (item.hit_fraction, >, 0.0);
  g_assert_cmpfloat (item.hit_fraction, <, 0.5);
  g_assert_true (isfinite (item.log_p));
  g_assert_cmpfloat (item.log_p, <, -745.0);
  g_assert_cmpfloat (item.log_p, <, -n * G_LN2 + 5.0);
  g_assert_cmpfloat (exp (item.log_p), ==, 0.0);
  g_free (labels);
}

/* ---- the non-rounding model ------------------------------------------------------------------- */

/* Zero network: rows independent and exchangeable in the classes: E prod_i softmax(V_i)_{alpha_i} = (1/c)^n. */
static void
test_non_rounding_zero (void)
{
  const int n = 3, c = 4;
  g_autoptr (GafNet) net = zero_net_new (n, c);
  GafLikelihoodConfig cfg;
  GafLikelihoodItem items[2];
  GafLikelihoodSummary sum;
  const guint16 labels[6] = { 0, 1, 2, 3, 3, 0 };
  GafRng rng;

  gaf_likelihood_config_init (&cfg);
  cfg.model = GAF_LIKELIHOOD_NON_ROUNDING;
  cfg.proposals = 20000;
  cfg.batch = 2000;
  gaf_rng_init (&rng, 31);
  g_assert_true (gaf_likelihood_evaluate (net, &cfg, &rng, labels, 2, items, &sum, NULL, NULL, NULL, NULL));
  for (int i = 0; i < 2; i++)
    {
      g_test_message ("log p %.4f +- %.4f, want %.4f", items[i].log_p, items[i].log_p_se, -n * log (c));
      g_assert_cmpfloat (items[i].log_p_se, <, 0.05);
      g_assert_cmpfloat (fabs (items[i].log_p + n * log (c)), <, 4.0 * items[i].log_p_se);
      g_assert_cmpfloat (items[i].hit_fraction, ==, 1.0);
    }
  /* the sampler ran: 75 RK4 steps of 4 evaluations per batch of 2000 */
  g_assert_cmpuint (sum.evals, ==, 10 * 75 * 4);
}

/* Linear flow, c = 2, n = 2: softmax(Q y_i)_0 = sigmoid(sqrt 2 y_i) with y ~ N(0, S) as above, so
 * p(0, 0) = E[sigmoid(sqrt 2 y_1) sigmoid(sqrt 2 y_2)], here by a fine grid over the standard normal
 * (the trapezoid rule is spectrally accurate for it). */
static void
test_non_rounding_linear (void)
{
  const double A[4] = { 0.3, 0.6, 0.2, 0.1 };
  double T = 1.5, E[4], want = 0.0, hz = 0.01;
  g_autoptr (GafNet) net = linear_net_new (2, 2, A);
  GafLikelihoodConfig cfg;
  GafLikelihoodItem item;
  const guint16 labels[2] = { 0, 0 };
  GafRng rng;

  expm (A, T, E, 2);
  for (double z1 = -9.0; z1 <= 9.0; z1 += hz)
    for (double z2 = -9.0; z2 <= 9.0; z2 += hz)
      {
        double y1 = E[0] * z1 + E[1] * z2, y2 = E[2] * z1 + E[3] * z2;
        double w = exp (-0.5 * (z1 * z1 + z2 * z2)) / (2.0 * G_PI) * hz * hz;
        want += w / ((1.0 + exp (-G_SQRT2 * y1)) * (1.0 + exp (-G_SQRT2 * y2)));
      }
  gaf_likelihood_config_init (&cfg);
  cfg.model = GAF_LIKELIHOOD_NON_ROUNDING;
  cfg.t_end = T;
  cfg.sample_step = 0.05;
  cfg.proposals = 20000;
  cfg.batch = 2000;
  gaf_rng_init (&rng, 32);
  g_assert_true (gaf_likelihood_evaluate (net, &cfg, &rng, labels, 1, &item, NULL, NULL, NULL, NULL, NULL));
  g_test_message ("log p %.4f +- %.4f, quadrature %.4f (independent rows would give %.4f)", item.log_p,
                  item.log_p_se, log (want), log (0.25));
  g_assert_cmpfloat (fabs (log (want) - log (0.25)), >, 0.1);   /* the coupling matters */
  g_assert_cmpfloat (fabs (item.log_p - log (want)), <, 4.0 * item.log_p_se);
}

/* ---- errors, cancellation, progress ------------------------------------------------------------ */

static void
count_progress (const GafProgress *p, gpointer data)
{
  GafProgress *last = data;

  g_assert_cmpstr (p->stage, ==, "likelihood");
  g_assert_cmpuint (p->done, <=, p->total);
  g_assert_cmpuint (p->done, >=, last->done);
  *last = *p;
}

static void
test_evaluate_errors (void)
{
  const int n = 2, c = 3;
  g_autoptr (GafMlp) mlp = small_mlp (n, c, 3);
  GafLikelihoodConfig cfg;
  GafLikelihoodItem items[2];
  guint16 labels[4] = { 0, 1, 2, 3 };
  GafProgress last = { 0 };
  g_autoptr (GError) error = NULL;
  GCancellable *cancel;
  GafRng rng;

  gaf_rng_init (&rng, 1);
  gaf_likelihood_config_init (&cfg);
  cfg.proposals = 20;
  /* class 3 of 3 */
  g_assert_false (gaf_likelihood_evaluate (GAF_NET (mlp), &cfg, &rng, labels, 2, items, NULL, NULL, NULL, NULL,
                                           &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  labels[3] = 0;

  cfg.coverage = 1.0;
  g_assert_false (gaf_likelihood_evaluate (GAF_NET (mlp), &cfg, &rng, labels, 2, items, NULL, NULL, NULL, NULL,
                                           &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  cfg.coverage = 0.5;

  /* a step budget too small for the network's flow */
  cfg.dopri.rtol = cfg.dopri.atol = 1e-9;
  cfg.dopri.max_steps = 3;
  g_assert_false (gaf_likelihood_evaluate (GAF_NET (mlp), &cfg, &rng, labels, 2, items, NULL, NULL, NULL, NULL,
                                           &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_DIVERGED);
  g_clear_error (&error);
  gaf_likelihood_config_init (&cfg);
  cfg.proposals = 20;

  cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_false (gaf_likelihood_evaluate (GAF_NET (mlp), &cfg, &rng, labels, 2, items, NULL, NULL, NULL, cancel,
                                           &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_object_unref (cancel);

  g_assert_true (gaf_likelihood_evaluate (GAF_NET (mlp), &cfg, &rng, labels, 2, items, NULL, count_progress, &last,
                                          NULL, &error));
  g_assert_cmpuint (last.total, ==, 40);
  g_assert_cmpuint (last.done, ==, 40);
  for (int i = 0; i < 2; i++)
    g_assert_true (isfinite (items[i].log_p) && items[i].log_p < 0.0);
  /* the gradient buffer is left zeroed */
  {
    GafParams *p = gaf_mlp_get_params (mlp);
    for (gsize i = 0; i < p->size; i++)
      g_assert_cmpfloat (p->grad[i], ==, 0.0f);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/dopri/decay", test_dopri_decay);
  g_test_add_func ("/engine/dopri/oscillator", test_dopri_oscillator);
  g_test_add_func ("/engine/dopri/order", test_dopri_order);
  g_test_add_func ("/engine/dopri/groups", test_dopri_groups);
  g_test_add_func ("/engine/dopri/budget", test_dopri_budget);
  g_test_add_func ("/engine/likelihood/gamma", test_gamma);
  g_test_add_func ("/engine/likelihood/chi2-quantile", test_chi2_quantile);
  g_test_add_func ("/engine/likelihood/proposal-sigma", test_proposal_sigma);
  g_test_add_func ("/engine/likelihood/log-mean-exp", test_log_mean_exp);
  g_test_add_func ("/engine/likelihood/roc-auc", test_roc_auc);
  g_test_add_func ("/engine/likelihood/field-linear", test_field_linear);
  g_test_add_func ("/engine/likelihood/divergence-fd", test_divergence_fd);
  g_test_add_func ("/engine/likelihood/hutchinson-point", test_hutchinson_point);
  g_test_add_func ("/engine/likelihood/log-density-linear", test_log_density_linear);
  g_test_add_func ("/engine/likelihood/log-density-mlp", test_log_density_mlp);
  g_test_add_func ("/engine/likelihood/rounding-zero", test_rounding_zero);
  g_test_add_func ("/engine/likelihood/rounding-linear", test_rounding_linear);
  g_test_add_func ("/engine/likelihood/rounding-misses", test_rounding_misses);
  g_test_add_func ("/engine/likelihood/non-rounding-zero", test_non_rounding_zero);
  g_test_add_func ("/engine/likelihood/non-rounding-linear", test_non_rounding_linear);
  g_test_add_func ("/engine/likelihood/evaluate-errors", test_evaluate_errors);
  return g_test_run ();
}
