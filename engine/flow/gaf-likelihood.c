/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-likelihood.h"
#include "gaf-simplex.h"

#define LOG_2PI 1.8378770664093454836

/* ---- configuration ------------------------------------------------------------------------------ */

void
gaf_likelihood_config_init (GafLikelihoodConfig *cfg)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->model = GAF_LIKELIHOOD_ROUNDING;
  cfg->t_end = 15.0;
  gaf_dopri_config_init (&cfg->dopri);
  cfg->dopri.rtol = 1e-2;
  cfg->dopri.atol = 1e-2;
  cfg->dopri.max_steps = 10000;
  cfg->divergence = GAF_DIVERGENCE_EXACT;
  cfg->probe = GAF_PROBE_RADEMACHER;
  cfg->probes = 1;
  cfg->proposals = 100;
  cfg->coverage = 0.5;
  cfg->smoothing = 0.01;
  cfg->sample_integrator = GAF_INTEGRATOR_RK4;
  cfg->sample_step = 0.2;
  cfg->batch = 100;
}

gboolean
gaf_likelihood_config_check (const GafLikelihoodConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (!(cfg->t_end > 0.0) || !isfinite (cfg->t_end))
    what = "the end time T must be a positive number";
  else if (cfg->proposals < 1 || cfg->proposals > 100000000)
    what = "the number of proposals K must be from 1 to 10^8";
  else if (!(cfg->coverage > 0.0 && cfg->coverage < 1.0))
    what = "the proposal coverage P must lie strictly between 0 and 1";
  else if (!(cfg->smoothing > 0.0 && cfg->smoothing < 1.0))
    what = "the corner smoothing eps must lie strictly between 0 and 1";
  else if (cfg->divergence == GAF_DIVERGENCE_HUTCHINSON && (cfg->probes < 1 || cfg->probes > 100000))
    what = "the number of Hutchinson probes must be from 1 to 100000";
  else if (cfg->batch < 1 || cfg->batch > 1 << 20)
    what = "the likelihood batch must be from 1 to 1048576";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  if (!gaf_dopri_config_check (&cfg->dopri, error))
    return FALSE;
  if (cfg->model == GAF_LIKELIHOOD_NON_ROUNDING)
    {
      GafSamplerConfig sc = { cfg->sample_integrator, cfg->sample_step, cfg->t_end };
      return gaf_sampler_config_check (&sc, error);
    }
  return TRUE;
}

gboolean
gaf_likelihood_model_from_string (const char *name, GafLikelihoodModel *out)
{
  if (g_strcmp0 (name, "rounding") == 0)
    *out = GAF_LIKELIHOOD_ROUNDING;
  else if (g_strcmp0 (name, "non-rounding") == 0)
    *out = GAF_LIKELIHOOD_NON_ROUNDING;
  else
    return FALSE;
  return TRUE;
}

const char *
gaf_likelihood_model_to_string (GafLikelihoodModel model)
{
  return model == GAF_LIKELIHOOD_NON_ROUNDING ? "non-rounding" : "rounding";
}

/* ---- special functions -------------------------------------------------------------------------- */

/* P(a, x) by its power series e^{-x} x^a / Gamma(a + 1) sum_n x^n / ((a + 1) ... (a + n)); for x < a + 1. */
static double
gamma_p_series (double a, double x)
{
  double term = 1.0 / a, sum = term;

  for (int n = 1; n < 10000; n++)
    {
      term *= x / (a + n);
      sum += term;
      if (fabs (term) < fabs (sum) * 1e-17)
        break;
    }
  return sum * exp (-x + a * log (x) - lgamma (a));
}

/* Q(a, x) by the continued fraction of Gamma(a, x) (Legendre), evaluated with modified Lentz; for x >= a + 1. */
static double
gamma_q_cf (double a, double x)
{
  const double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;

  for (int i = 1; i < 10000; i++)
    {
      double an = -i * (i - a), del;
      b += 2.0;
      d = an * d + b;
      if (fabs (d) < tiny)
        d = tiny;
      c = b + an / c;
      if (fabs (c) < tiny)
        c = tiny;
      d = 1.0 / d;
      del = d * c;
      h *= del;
      if (fabs (del - 1.0) < 1e-16)
        break;
    }
  return exp (-x + a * log (x) - lgamma (a)) * h;
}

double
gaf_gamma_p (double a, double x)
{
  g_return_val_if_fail (a > 0.0, NAN);
  if (isnan (x))
    return NAN;
  if (x <= 0.0)
    return 0.0;
  if (isinf (x))
    return 1.0;
  return x < a + 1.0 ? gamma_p_series (a, x) : 1.0 - gamma_q_cf (a, x);
}

double
gaf_gamma_q (double a, double x)
{
  g_return_val_if_fail (a > 0.0, NAN);
  if (isnan (x))
    return NAN;
  if (x <= 0.0)
    return 1.0;
  if (isinf (x))
    return 0.0;
  return x < a + 1.0 ? 1.0 - gamma_p_series (a, x) : gamma_q_cf (a, x);
}

/* Upper-tail standard normal quantile z with 1 - Phi(z) = p, 0 < p <= 0.5, by Abramowitz & Stegun 26.2.23
 * (|error| < 4.5e-4): only a starting value here. */
static double
normal_isf_rough (double p)
{
  double t = sqrt (-2.0 * log (p));

  return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + 1.432788 * t + 0.189269 * t * t
                                                              + 0.001308 * t * t * t);
}

/* x with P(k/2, x/2) = p, given p and q = 1 - p both accurately; Newton on whichever of P, Q is
 * smaller (so the target is never swamped by rounding), kept inside a bracket with bisection. */
static double
chi2_solve (double p, double q, double k)
{
  double a = 0.5 * k, x, z, lo = 0.0, hi = INFINITY;
  gboolean lower = p <= q;

  if (p <= 0.0)
    return 0.0;
  if (q <= 0.0)
    return INFINITY;
  /* Wilson-Hilferty: (X / k)^(1/3) is close to normal with mean 1 - 2/(9k), variance 2/(9k). */
  z = lower ? -normal_isf_rough (p) : normal_isf_rough (q);
  x = k * pow (1.0 - 2.0 / (9.0 * k) + z * sqrt (2.0 / (9.0 * k)), 3.0);
  if (!(x > 0.0))
    /* far in the lower tail: P(a, x/2) ~ (x/2)^a / Gamma(a + 1) */
    x = 2.0 * exp ((log (p) + lgamma (a + 1.0)) / a);

  for (int it = 0; it < 200; it++)
    {
      double g, dens, nx;
      if (lower)
        g = gaf_gamma_p (a, 0.5 * x) - p;
      else
        g = q - gaf_gamma_q (a, 0.5 * x);   /* increasing in x as P - p is */
      if (g == 0.0)
        return x;
      if (g < 0.0)
        lo = x;
      else
        hi = x;
      /* density of chi2_k at x */
      dens = exp ((a - 1.0) * log (0.5 * x) - 0.5 * x - lgamma (a)) * 0.5;
      nx = x - g / dens;
      if (!(nx > lo && nx < hi) || !isfinite (nx))
        nx = isinf (hi) ? 2.0 * x + 1.0 : 0.5 * (lo + hi);
      if (fabs (nx - x) <= 1e-15 * x)
        return nx;
      x = nx;
    }
  return x;
}

double
gaf_chi2_quantile (double p, double k)
{
  g_return_val_if_fail (k > 0.0, NAN);
  if (isnan (p) || p < 0.0 || p > 1.0)
    return NAN;
  return chi2_solve (p, 1.0 - p, k);
}

double
gaf_chi2_isf (double q, double k)
{
  g_return_val_if_fail (k > 0.0, NAN);
  if (isnan (q) || q < 0.0 || q > 1.0)
    return NAN;
  return chi2_solve (1.0 - q, q, k);
}

double
gaf_log_mean_exp (const double *logw, gsize count, gsize total, double *se)
{
  double mx = -INFINITY, s = 0.0, s2 = 0.0, mean, var;

  g_return_val_if_fail (count <= total && total > 0, NAN);
  for (gsize k = 0; k < count; k++)
    mx = MAX (mx, logw[k]);
  if (count == 0 || mx == -INFINITY)
    {
      if (se != NULL)
        *se = INFINITY;
      return -INFINITY;
    }
  if (isnan (mx) || isinf (mx))
    {
      if (se != NULL)
        *se = NAN;
      return isinf (mx) ? mx : NAN;
    }
  /* weights scaled by e^{-max}: the largest is 1, so neither sum overflows, and small ones underflow
   * harmlessly to zero. */
  for (gsize k = 0; k < count; k++)
    s += exp (logw[k] - mx);
  mean = s / (double) total;
  if (se != NULL)
    {
      if (total < 2)
        *se = INFINITY;
      else
        {
          /* sample variance of the K weights, the total - count zero weights included (two passes) */
          for (gsize k = 0; k < count; k++)
            {
              double d = exp (logw[k] - mx) - mean;
              s2 += d * d;
            }
          var = (s2 + (double) (total - count) * mean * mean) / (double) (total - 1);
          *se = sqrt (var / (double) total) / mean;
        }
    }
  return mx + log (mean);
}

typedef struct {
  double v;
  int    from_a;
} Score;

static int
score_cmp (const void *pa, const void *pb)
{
  const Score *a = pa, *b = pb;

  return (a->v > b->v) - (a->v < b->v);
}

double
gaf_roc_auc (const double *a, gsize n_a, const double *b, gsize n_b)
{
  gsize n = n_a + n_b;
  Score *s;
  double rank_sum = 0.0, u;

  if (n_a == 0 || n_b == 0)
    return NAN;
  s = g_new (Score, n);
  for (gsize i = 0; i < n_a; i++)
    {
      g_return_val_if_fail (!isnan (a[i]), (g_free (s), NAN));
      s[i] = (Score) { a[i], 1 };
    }
  for (gsize i = 0; i < n_b; i++)
    {
      g_return_val_if_fail (!isnan (b[i]), (g_free (s), NAN));
      s[n_a + i] = (Score) { b[i], 0 };
    }
  qsort (s, n, sizeof *s, score_cmp);
  for (gsize i = 0; i < n;)
    {
      gsize j = i, in_a = 0;
      while (j < n && s[j].v == s[i].v)
        in_a += s[j++].from_a;
      /* ranks i+1 .. j share the midrank */
      rank_sum += in_a * 0.5 * ((double) (i + 1) + (double) j);
      i = j;
    }
  u = rank_sum - 0.5 * (double) n_a * (double) (n_a + 1);
  g_free (s);
  return u / ((double) n_a * (double) n_b);
}

double
gaf_proposal_sigma (int n, int c, double eps, double coverage)
{
  double a, r, q;

  g_return_val_if_fail (n >= 1 && c >= 2 && eps > 0.0 && eps < 1.0 && coverage > 0.0 && coverage < 1.0, NAN);
  /* The smoothed corner (1 - eps) e_alpha + eps/c has Pi_0 log = a (e_alpha - 1/c); its distance to the
   * cone boundary v_alpha = v_j is a / sqrt 2. A row's proposal stays in that ball with probability
   * P(chi2_{c-1} <= r^2 / sigma^2) = P^{1/n}; the tail 1 - P^{1/n} is taken as -expm1(log P / n). */
  a = log ((1.0 - eps + eps / c) / (eps / c));
  r = a / G_SQRT2;
  q = -expm1 (log (coverage) / n);
  return r / sqrt (gaf_chi2_isf (q, c - 1));
}

/* ---- the CNF ------------------------------------------------------------------------------------ */

struct _GafCnf {
  GafNet  *net;
  int      n, c, m, D;
  int      capacity;
  double  *q;        /* (c, m) */
  float   *w;        /* (cap, n, c) network input */
  float   *t;        /* (cap) */
  float   *F;        /* (cap, n, c) network output */
  float   *a;        /* (cap, n, c) reverse-pass seed Q e */
  float   *dw;       /* (cap, n, c) d<a, F>/dW */
  guint64  evals;
  /* the ODE of one solve: state (B, D + 1) = (y, L) */
  int           batch;
  double       *y, *f, *div;          /* (cap, D), (cap, D), (cap) */
  const double *probes;               /* (n_probes, B, D) or NULL */
  guint         n_probes;
};

GafCnf *
gaf_cnf_new (GafNet *net, int capacity)
{
  GafCnf *cnf;
  gsize nc;

  g_return_val_if_fail (net != NULL && capacity >= 1, NULL);
  g_return_val_if_fail (net->in_channels == net->out_channels && net->out_channels >= 2, NULL);
  cnf = g_new0 (GafCnf, 1);
  cnf->net = net;
  cnf->n = net->n;
  cnf->c = net->out_channels;
  cnf->m = cnf->c - 1;
  cnf->D = cnf->n * cnf->m;
  cnf->capacity = capacity;
  nc = (gsize) capacity * cnf->n * cnf->c;
  cnf->q = g_new (double, (gsize) cnf->c * cnf->m);
  gaf_tangent_basis (cnf->c, cnf->q);
  cnf->w = g_new (float, nc);
  cnf->t = g_new (float, capacity);
  cnf->F = g_new (float, nc);
  cnf->a = g_new0 (float, nc);
  cnf->dw = g_new (float, nc);
  cnf->y = g_new (double, (gsize) capacity * cnf->D);
  cnf->f = g_new (double, (gsize) capacity * cnf->D);
  cnf->div = g_new (double, capacity);
  return cnf;
}

void
gaf_cnf_free (GafCnf *cnf)
{
  if (cnf == NULL)
    return;
  g_free (cnf->q);
  g_free (cnf->w);
  g_free (cnf->t);
  g_free (cnf->F);
  g_free (cnf->a);
  g_free (cnf->dw);
  g_free (cnf->y);
  g_free (cnf->f);
  g_free (cnf->div);
  g_free (cnf);
}

int
gaf_cnf_dim (GafCnf *cnf)
{
  return cnf->D;
}

guint64
gaf_cnf_evals (GafCnf *cnf)
{
  return cnf->evals;
}

void
gaf_cnf_corner (GafCnf *cnf, const guint16 *labels, double eps, double *m)
{
  int c = cnf->c, M = cnf->m;
  double a = log ((1.0 - eps + eps / c) / (eps / c));

  /* Pi_0 log((1 - eps) e_alpha + eps/c) = a (e_alpha - 1/c), and Q^T 1 = 0. */
  for (int i = 0; i < cnf->n; i++)
    {
      g_return_if_fail (labels[i] < c);
      for (int k = 0; k < M; k++)
        m[i * M + k] = a * cnf->q[labels[i] * M + k];
    }
}

/* v = Q y per row, in double. */
static inline void
tangent_to_logits (const double *q, const double *y, double *v, int c, int m)
{
  for (int j = 0; j < c; j++)
    {
      double s = 0.0;
      for (int k = 0; k < m; k++)
        s += q[j * m + k] * y[k];
      v[j] = s;
    }
}

void
gaf_cnf_field (GafCnf *cnf, const double *y, double t, int batch, double *f, double *div,
               const double *probes, guint n_probes)
{
  int n = cnf->n, c = cnf->c, M = cnf->m, D = cnf->D;
  gsize rows = (gsize) batch * n, nc = rows * c;
  const double *q = cnf->q;
  double *v = g_newa (double, c);

  g_return_if_fail (batch >= 1 && batch <= cnf->capacity);

  /* W = softmax(Q y) per row, max-subtracted, in double; the network sees it in float. */
  for (gsize r = 0; r < rows; r++)
    {
      double mx = -INFINITY, s = 0.0;
      tangent_to_logits (q, y + r * M, v, c, M);
      for (int j = 0; j < c; j++)
        mx = MAX (mx, v[j]);
      for (int j = 0; j < c; j++)
        s += (v[j] = exp (v[j] - mx));
      for (int j = 0; j < c; j++)
        cnf->w[r * c + j] = (float) (v[j] / s);
    }
  for (int b = 0; b < batch; b++)
    cnf->t[b] = (float) t;
  if (div != NULL)
    {
      /* The trained model's density: BatchNorm with its running statistics, not this batch's. */
      gaf_net_set_training (cnf->net, FALSE);
      gaf_net_forward (cnf->net, cnf->w, cnf->t, batch, cnf->F);
      gaf_net_set_training (cnf->net, TRUE);
    }
  else
    gaf_net_infer (cnf->net, cnf->w, cnf->t, batch, cnf->F);
  cnf->evals++;

  /* f = Q^T F per row. */
  for (gsize r = 0; r < rows; r++)
    for (int k = 0; k < M; k++)
      {
        double s = 0.0;
        for (int j = 0; j < c; j++)
          s += q[j * M + k] * cnf->F[r * c + j];
        f[r * M + k] = s;
      }
  if (div == NULL)
    return;

  memset (div, 0, batch * sizeof (double));
  if (probes == NULL)
    {
      /* Exact: e = e_k for k = (row i, coordinate kk); a = Q e_k is column kk of Q in row i of every item. */
      for (int i = 0; i < n; i++)
        for (int kk = 0; kk < M; kk++)
          {
            for (int b = 0; b < batch; b++)
              for (int j = 0; j < c; j++)
                cnf->a[((gsize) b * n + i) * c + j] = (float) q[j * M + kk];
            memset (cnf->dw, 0, nc * sizeof (float));
            gaf_net_backward (cnf->net, cnf->a, cnf->dw, NULL);
            for (int b = 0; b < batch; b++)
              {
                gsize o = ((gsize) b * n + i) * c;
                const float *w = cnf->w + o, *dw = cnf->dw + o;
                double s = 0.0, e = 0.0;
                for (int j = 0; j < c; j++)
                  s += (double) w[j] * dw[j];
                /* e_k^T Q^T S dW = sum_j Q_{j kk} W_j (dW_j - <W, dW>) */
                for (int j = 0; j < c; j++)
                  e += q[j * M + kk] * w[j] * (dw[j] - s);
                div[b] += e;
                memset (cnf->a + o, 0, c * sizeof (float));
              }
          }
    }
  else
    {
      for (guint p = 0; p < n_probes; p++)
        {
          const double *ep = probes + (gsize) p * batch * D;
          for (gsize r = 0; r < rows; r++)
            {
              tangent_to_logits (q, ep + r * M, v, c, M);
              for (int j = 0; j < c; j++)
                cnf->a[r * c + j] = (float) v[j];
            }
          memset (cnf->dw, 0, nc * sizeof (float));
          gaf_net_backward (cnf->net, cnf->a, cnf->dw, NULL);
          for (gsize r = 0; r < rows; r++)
            {
              const float *w = cnf->w + r * c, *dw = cnf->dw + r * c;
              double s = 0.0, e = 0.0;
              for (int j = 0; j < c; j++)
                s += (double) w[j] * dw[j];
              /* <Q e, S dW> = e^T Q^T S dW */
              tangent_to_logits (q, ep + r * M, v, c, M);
              for (int j = 0; j < c; j++)
                e += v[j] * w[j] * (dw[j] - s);
              div[r / n] += e / n_probes;
            }
        }
      memset (cnf->a, 0, nc * sizeof (float));
    }
  if (cnf->net->params != NULL)
    gaf_params_zero_grad (cnf->net->params);
}

static void
cnf_ode (gpointer user_data, double t, const double *z, double *dz, gsize dim)
{
  GafCnf *cnf = user_data;
  int B = cnf->batch, D = cnf->D;

  g_assert (dim == (gsize) B * (D + 1));
  for (int b = 0; b < B; b++)
    memcpy (cnf->y + (gsize) b * D, z + (gsize) b * (D + 1), D * sizeof (double));
  gaf_cnf_field (cnf, cnf->y, t, B, cnf->f, cnf->div, cnf->probes, cnf->n_probes);
  for (int b = 0; b < B; b++)
    {
      memcpy (dz + (gsize) b * (D + 1), cnf->f + (gsize) b * D, D * sizeof (double));
      dz[(gsize) b * (D + 1) + D] = cnf->div[b];
    }
}

gboolean
gaf_cnf_log_density (GafCnf *cnf, const GafLikelihoodConfig *cfg, GafRng *rng,
                     const double *y, int batch, double *log_p, GafDopriStats *stats,
                     GCancellable *cancellable, GError **error)
{
  int D = cnf->D;
  gsize dim = (gsize) batch * (D + 1);
  double *z, *probes = NULL;
  gboolean ok;

  g_return_val_if_fail (batch >= 1 && batch <= cnf->capacity, FALSE);
  z = g_new (double, dim);
  for (int b = 0; b < batch; b++)
    {
      memcpy (z + (gsize) b * (D + 1), y + (gsize) b * D, D * sizeof (double));
      z[(gsize) b * (D + 1) + D] = 0.0;
    }
  if (cfg->divergence == GAF_DIVERGENCE_HUTCHINSON)
    {
      gsize np = (gsize) cfg->probes * batch * D;
      g_return_val_if_fail (rng != NULL, (g_free (z), FALSE));
      probes = g_new (double, np);
      for (gsize i = 0; i < np; i++)
        probes[i] = cfg->probe == GAF_PROBE_GAUSSIAN ? gaf_rng_normal (rng)
                                                     : ((gaf_rng_next (rng) >> 63) ? 1.0 : -1.0);
    }
  cnf->batch = batch;
  cnf->probes = probes;
  cnf->n_probes = probes != NULL ? cfg->probes : 0;

  /* Backward from T to 0: L(0) = int_T^0 div f dt = -int_0^T div f dt. */
  ok = gaf_dopri_solve (&cfg->dopri, cnf_ode, cnf, cfg->t_end, 0.0, z, dim, batch, stats, cancellable, error);
  if (ok)
    for (int b = 0; b < batch; b++)
      {
        const double *zb = z + (gsize) b * (D + 1);
        double sq = 0.0;
        for (int k = 0; k < D; k++)
          sq += zb[k] * zb[k];
        log_p[b] = -0.5 * D * LOG_2PI - 0.5 * sq + zb[D];
        if (!isfinite (log_p[b]))
          {
            g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED, "the likelihood solve produced a non-finite density");
            ok = FALSE;
            break;
          }
      }
  cnf->probes = NULL;
  cnf->n_probes = 0;
  g_free (probes);
  g_free (z);
  return ok;
}

/* ---- estimators over labelings ------------------------------------------------------------------ */

static void
report (GafProgressFunc progress, gpointer data, guint64 done, guint64 total)
{
  if (progress != NULL)
    {
      GafProgress p = { "likelihood", done, total, NAN, 0, 0, 0 };
      progress (&p, data);
    }
}

static gboolean
rounding_evaluate (GafNet *net, const GafLikelihoodConfig *cfg, GafRng *rng, const guint16 *labels, guint count,
                   GafLikelihoodItem *items, GafLikelihoodSummary *sum,
                   GafProgressFunc progress, gpointer progress_data, GCancellable *cancellable, GError **error)
{
  int n = net->n, c = net->out_channels, M = c - 1, D = n * M;
  guint K = cfg->proposals;
  int cap = (int) MIN ((guint) cfg->batch, K);
  g_autoptr (GafCnf) cnf = gaf_cnf_new (net, cap);
  double sigma = gaf_proposal_sigma (n, c, cfg->smoothing, cfg->coverage);
  double log_rho0 = -0.5 * D * LOG_2PI - D * log (sigma);
  double *m = g_new (double, D), *yh = g_new (double, (gsize) K * D), *logw = g_new (double, K);
  double *lp = g_new (double, cap), *v = g_new (double, c);
  gboolean ok = TRUE;

  for (guint it = 0; it < count && ok; it++)
    {
      const guint16 *alpha = labels + (gsize) it * n;
      guint hits = 0;

      gaf_cnf_corner (cnf, alpha, cfg->smoothing, m);
      /* Proposals y = m + sigma z; keep those whose argmax rounds to alpha in every row. */
      for (guint k = 0; k < K; k++)
        {
          double *y = yh + (gsize) hits * D, sq = 0.0;
          gboolean hit = TRUE;
          for (int d = 0; d < D; d++)
            {
              double zz = gaf_rng_normal (rng);
              sq += zz * zz;
              y[d] = m[d] + sigma * zz;
            }
          for (int i = 0; i < n && hit; i++)
            {
              int best = 0;
              tangent_to_logits (cnf->q, y + i * M, v, c, M);
              for (int j = 1; j < c; j++)
                if (v[j] > v[best])
                  best = j;
              hit = best == alpha[i];
            }
          if (hit)
            logw[hits++] = -(log_rho0 - 0.5 * sq);   /* - log rho(y); log p_T added below */
        }
      report (progress, progress_data, (guint64) it * K + (K - hits), (guint64) count * K);

      for (guint start = 0; start < hits && ok; start += cap)
        {
          int b = (int) MIN ((guint) cap, hits - start);
          GafDopriStats st;
          ok = gaf_cnf_log_density (cnf, cfg, rng, yh + (gsize) start * D, b, lp, &st, cancellable, error);
          if (!ok)
            break;
          for (int j = 0; j < b; j++)
            logw[start + j] += lp[j];
          sum->solves++;
          sum->steps += st.accepted;
          report (progress, progress_data, (guint64) it * K + (K - hits) + start + b, (guint64) count * K);
        }
      if (!ok)
        break;
      items[it].log_p = gaf_log_mean_exp (logw, hits, K, &items[it].log_p_se);
      items[it].hit_fraction = (double) hits / K;
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        ok = FALSE;
    }
  sum->evals += gaf_cnf_evals (cnf);
  g_free (m);
  g_free (yh);
  g_free (logw);
  g_free (lp);
  g_free (v);
  return ok;
}

typedef struct {
  GafNet *net;
  int     batch, n, c;
  float  *w, *t;
  guint64 evals;
} SampleField;

static void
sample_field (gpointer user_data, double t, const float *v, float *dv, gsize count)
{
  SampleField *s = user_data;

  gaf_softmax_rows (v, s->w, (gsize) s->batch * s->n, s->c);
  for (int b = 0; b < s->batch; b++)
    s->t[b] = (float) t;
  gaf_net_infer (s->net, s->w, s->t, s->batch, dv);
  gaf_project_tangent_rows (dv, (gsize) s->batch * s->n, s->c);
  s->evals++;
}

static gboolean
non_rounding_evaluate (GafNet *net, const GafLikelihoodConfig *cfg, GafRng *rng, const guint16 *labels, guint count,
                       GafLikelihoodItem *items, GafLikelihoodSummary *sum,
                       GafProgressFunc progress, gpointer progress_data, GCancellable *cancellable, GError **error)
{
  int n = net->n, c = net->out_channels;
  guint K = cfg->proposals;
  int cap = (int) MIN ((guint) cfg->batch, K);
  GafSamplerConfig sc = { cfg->sample_integrator, cfg->sample_step, cfg->t_end };
  SampleField sf = { net, cap, n, c, NULL, NULL, 0 };
  float *v = g_new (float, (gsize) cap * n * c);
  double *ls = g_new (double, (gsize) cap * n * c);
  double *score = g_new0 (double, (gsize) count * K);   /* (count, K): sum_i log softmax(V_k,i)_alpha_i */
  gboolean ok = TRUE;

  sf.w = g_new (float, (gsize) cap * n * c);
  sf.t = g_new (float, cap);
  for (guint start = 0; start < K && ok; start += cap)
    {
      int b = (int) MIN ((guint) cap, K - start);
      gsize rows = (gsize) b * n;

      sf.batch = b;
      /* V(0) = Pi_0 xi, integrated to T with the sampler's integrator. */
      for (gsize i = 0; i < rows * c; i++)
        v[i] = (float) gaf_rng_normal (rng);
      gaf_project_tangent_rows (v, rows, c);
      ok = gaf_integrate (&sc, sample_field, &sf, v, rows, c, NULL, cancellable, error);
      if (!ok)
        break;
      /* log softmax in double from the logits, so tiny probabilities keep their logarithm. */
      for (gsize r = 0; r < rows; r++)
        {
          double mx = -INFINITY, s = 0.0;
          for (int j = 0; j < c; j++)
            mx = MAX (mx, (double) v[r * c + j]);
          for (int j = 0; j < c; j++)
            s += exp (v[r * c + j] - mx);
          if (!isfinite (mx) || !isfinite (s))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED, "sampling produced a non-finite state");
              ok = FALSE;
              break;
            }
          for (int j = 0; j < c; j++)
            ls[r * c + j] = v[r * c + j] - mx - log (s);
        }
      if (!ok)
        break;
      for (guint it = 0; it < count; it++)
        {
          const guint16 *alpha = labels + (gsize) it * n;
          for (int k = 0; k < b; k++)
            {
              double s = 0.0;
              for (int i = 0; i < n; i++)
                s += ls[((gsize) k * n + i) * c + alpha[i]];
              score[(gsize) it * K + start + k] = s;
            }
        }
      report (progress, progress_data, (guint64) (start + b) * count, (guint64) count * K);
    }
  if (ok)
    for (guint it = 0; it < count; it++)
      {
        items[it].log_p = gaf_log_mean_exp (score + (gsize) it * K, K, K, &items[it].log_p_se);
        items[it].hit_fraction = 1.0;
      }
  sum->evals += sf.evals;
  g_free (v);
  g_free (ls);
  g_free (score);
  g_free (sf.w);
  g_free (sf.t);
  return ok;
}

gboolean
gaf_likelihood_evaluate (GafNet *net, const GafLikelihoodConfig *cfg, GafRng *rng,
                         const guint16 *labels, guint count,
                         GafLikelihoodItem *items, GafLikelihoodSummary *summary,
                         GafProgressFunc progress, gpointer progress_data,
                         GCancellable *cancellable, GError **error)
{
  GafLikelihoodSummary sum = { 0 };
  int n, c;
  gboolean ok;
  double s = 0.0, s2 = 0.0, sl = 0.0, sh = 0.0;

  g_return_val_if_fail (net != NULL && cfg != NULL && rng != NULL && items != NULL, FALSE);
  g_return_val_if_fail (labels != NULL || count == 0, FALSE);
  g_return_val_if_fail (net->in_channels == net->out_channels, FALSE);
  if (!gaf_likelihood_config_check (cfg, error))
    return FALSE;
  n = net->n;
  c = net->out_channels;
  if (c < 2)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "a likelihood needs at least two classes");
      return FALSE;
    }
  for (gsize i = 0; i < (gsize) count * n; i++)
    if (labels[i] >= c)
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                     "labeling %" G_GSIZE_FORMAT " has class %u at position %" G_GSIZE_FORMAT
                     " but the model has %d classes", i / n, labels[i], i % n, c);
        return FALSE;
      }
  if (count == 0)
    {
      if (summary != NULL)
        *summary = sum;
      return TRUE;
    }

  if (cfg->model == GAF_LIKELIHOOD_ROUNDING)
    ok = rounding_evaluate (net, cfg, rng, labels, count, items, &sum, progress, progress_data, cancellable, error);
  else
    ok = non_rounding_evaluate (net, cfg, rng, labels, count, items, &sum, progress, progress_data, cancellable,
                                error);
  if (!ok)
    return FALSE;

  sum.count = count;
  for (guint it = 0; it < count; it++)
    {
      GafLikelihoodItem *item = &items[it];
      item->bits_per_dim = -item->log_p / (n * G_LN2);
      sum.n_finite += isfinite (item->log_p);
      s += item->bits_per_dim;
      sl += item->log_p;
      sh += item->hit_fraction;
    }
  sum.mean_log_p = sl / count;
  sum.mean_bpd = s / count;
  sum.mean_hit_fraction = sh / count;
  if (count >= 2 && isfinite (sum.mean_bpd))
    {
      for (guint it = 0; it < count; it++)
        s2 += (items[it].bits_per_dim - sum.mean_bpd) * (items[it].bits_per_dim - sum.mean_bpd);
      sum.se_bpd = sqrt (s2 / (count - 1) / count);
    }
  else
    sum.se_bpd = NAN;
  report (progress, progress_data, (guint64) count * cfg->proposals, (guint64) count * cfg->proposals);
  if (summary != NULL)
    *summary = sum;
  return TRUE;
}
