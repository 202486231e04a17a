/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaf-baselines.h"
#include "gaf-beta.h"
#include "gaf-error.h"
#include "gaf-simplex.h"

/* ---- methods ------------------------------------------------------------------------------------- */

static const struct {
  const char *name;
  const char *title;
  const char *decoding;
} methods[GAF_N_METHODS] = {
  [GAF_METHOD_GAF]       = { "gaf", "GAF", "argmax of the final state W(T)" },
  [GAF_METHOD_DIRICHLET] = { "dirichlet", "Dirichlet FM", "argmax of the last predicted class probabilities" },
  [GAF_METHOD_LINEAR]    = { "linear", "linear FM", "argmax of the final state x(1)" },
  [GAF_METHOD_SPHERE]    = { "sphere", "sphere FM", "argmax of x(1)^2 (the final state on the simplex)" },
  [GAF_METHOD_MASKED]    = { "masked", "masked DFM", "the final state of the jump process (discrete, no decoding)" },
  [GAF_METHOD_UNIFORM]   = { "uniform", "uniform DFM", "the final state of the jump process (discrete, no decoding)" },
};

gboolean
gaf_method_from_string (const char *name, GafMethod *out)
{
  for (int m = 0; m < GAF_N_METHODS; m++)
    if (g_strcmp0 (name, methods[m].name) == 0)
      {
        *out = (GafMethod) m;
        return TRUE;
      }
  return FALSE;
}

const char *
gaf_method_to_string (GafMethod method)
{
  g_return_val_if_fail (method < GAF_N_METHODS, NULL);
  return methods[method].name;
}

const char *
gaf_method_title (GafMethod method)
{
  g_return_val_if_fail (method < GAF_N_METHODS, NULL);
  return methods[method].title;
}

const char *
gaf_method_decoding (GafMethod method)
{
  g_return_val_if_fail (method < GAF_N_METHODS, NULL);
  return methods[method].decoding;
}

int
gaf_method_in_channels (GafMethod method, int c)
{
  switch (method)
    {
    case GAF_METHOD_DIRICHLET:
      return 2 * c;
    case GAF_METHOD_MASKED:
    case GAF_METHOD_UNIFORM:
      return gaf_jump_in_channels (gaf_method_jump_source (method), c);
    default:
      return c;
    }
}

gboolean
gaf_method_is_jump (GafMethod method)
{
  return method == GAF_METHOD_MASKED || method == GAF_METHOD_UNIFORM;
}

GafJumpSource
gaf_method_jump_source (GafMethod method)
{
  g_return_val_if_fail (gaf_method_is_jump (method), GAF_JUMP_MASKED);
  return method == GAF_METHOD_MASKED ? GAF_JUMP_MASKED : GAF_JUMP_UNIFORM;
}

guint
gaf_baseline_evals (GafMethod method, const GafBaselineConfig *bcfg)
{
  switch (method)
    {
    case GAF_METHOD_LINEAR:
      return bcfg->linear_points - 1;
    case GAF_METHOD_DIRICHLET:
      return bcfg->dirichlet_points - 1;
    case GAF_METHOD_SPHERE:
      return bcfg->sphere_steps;
    case GAF_METHOD_MASKED:
    case GAF_METHOD_UNIFORM:
      return bcfg->jump.steps;
    default:
      g_return_val_if_reached (0);
    }
}

gboolean
gaf_method_list_parse (const char *list, GArray *out, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);
  gboolean seen[GAF_N_METHODS] = { FALSE };

  g_array_set_size (out, 0);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      GafMethod m;
      const char *name = g_strstrip (parts[i]);
      if (!gaf_method_from_string (name, &m))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "unknown method '%s' (available: gaf, dirichlet, linear, sphere, masked, uniform)", name);
          return FALSE;
        }
      if (seen[m])
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "method '%s' given twice", name);
          return FALSE;
        }
      seen[m] = TRUE;
      g_array_append_val (out, m);
    }
  if (out->len == 0)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "no methods given");
      return FALSE;
    }
  return TRUE;
}

void
gaf_baseline_config_init (GafBaselineConfig *cfg)
{
  cfg->linear_points = 20;
  cfg->alpha_scale = 2.0;
  cfg->alpha_max = 8.0;
  cfg->dirichlet_points = 20;
  cfg->pseudocount = 2.0;
  cfg->sphere_steps = 100;
  gaf_jump_config_init (&cfg->jump);
}

void
gaf_baseline_config_set_evals (GafBaselineConfig *cfg, guint evals)
{
  g_return_if_fail (evals >= 1 && evals <= 1000000);
  cfg->linear_points = (int) evals + 1;
  cfg->dirichlet_points = (int) evals + 1;
  cfg->sphere_steps = (int) evals;
  cfg->jump.steps = (int) evals;
}

gboolean
gaf_baseline_config_check (const GafBaselineConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (cfg->linear_points < 2 || cfg->linear_points > 100000)
    what = "linear FM grid must have 2 to 100000 points";
  else if (cfg->dirichlet_points < 2 || cfg->dirichlet_points > 100000)
    what = "Dirichlet FM grid must have 2 to 100000 points";
  else if (!(cfg->alpha_max > 1.0) || !isfinite (cfg->alpha_max) || cfg->alpha_max > 1e4)
    what = "Dirichlet FM alpha_max must be a number above 1 and at most 10^4";
  else if (!(cfg->alpha_scale > 0.0) || !isfinite (cfg->alpha_scale) || cfg->alpha_scale > 1e4)
    what = "Dirichlet FM alpha scale must be a positive number";
  else if (!(cfg->pseudocount > 0.0) || !isfinite (cfg->pseudocount))
    what = "Dirichlet FM pseudocount must be a positive number";
  else if (cfg->sphere_steps < 1 || cfg->sphere_steps > 1000000)
    what = "sphere FM steps must be between 1 and 10^6";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  return gaf_jump_config_check (&cfg->jump, error);
}

/* ---- paths --------------------------------------------------------------------------------------- */

/* Dir(1) row: normalised standard exponentials. */
static void
dirichlet_ones (GafRng *rng, float *x, int c)
{
  double sum = 0.0;

  for (int j = 0; j < c; j++)
    {
      double e = -log1p (-gaf_rng_uniform (rng));
      x[j] = (float) e;
      sum += e;
    }
  for (int j = 0; j < c; j++)
    x[j] = (float) (x[j] / sum);
}

void
gaf_linear_path_sample (GafRng *rng, const guint16 *labels, int batch, int n, int c, float *t, float *x)
{
  for (int b = 0; b < batch; b++)
    {
      double tb = gaf_rng_uniform (rng);
      t[b] = (float) tb;
      for (int i = 0; i < n; i++)
        {
          float *row = x + ((gsize) b * n + i) * c;
          int k = labels[b * n + i];
          g_assert (k < c);
          dirichlet_ones (rng, row, c);
          for (int j = 0; j < c; j++)
            row[j] = (float) ((1.0 - tb) * row[j] + (j == k ? tb : 0.0));
        }
    }
}

void
gaf_dirichlet_cond_sample (GafRng *rng, const float *alpha, const guint16 *labels, int batch, int n, int c,
                           float *x)
{
  g_autofree double *g = g_new (double, c);

  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      {
        float *row = x + ((gsize) b * n + i) * c;
        int k = labels[b * n + i];
        double sum = 0.0;
        g_assert (k < c);
        /* normalised Gamma(1 + (alpha - 1) [j = k], 1) draws; Gamma(1) is the exponential */
        for (int j = 0; j < c; j++)
          {
            g[j] = j == k ? gaf_rng_gamma (rng, alpha[b], 1.0) : -log1p (-gaf_rng_uniform (rng));
            sum += g[j];
          }
        for (int j = 0; j < c; j++)
          row[j] = (float) (g[j] / sum);
      }
}

void
gaf_dirichlet_path_sample (GafRng *rng, double alpha_scale, const guint16 *labels, int batch, int n, int c,
                           float *alpha, float *x)
{
  /* alpha = 1 + scale Exp(1), as the reference (scipy.stats.expon) */
  for (int b = 0; b < batch; b++)
    alpha[b] = (float) (1.0 + alpha_scale * -log1p (-gaf_rng_uniform (rng)));
  gaf_dirichlet_cond_sample (rng, alpha, labels, batch, n, c, x);
}

void
gaf_dirichlet_expand (const float *x, const float *alpha, double pseudocount, int batch, int n, int c,
                      float *out)
{
  for (int b = 0; b < batch; b++)
    {
      float w = (float) (pseudocount / (alpha[b] + pseudocount - 1.0));
      for (int i = 0; i < n; i++)
        {
          const float *row = x + ((gsize) b * n + i) * c;
          float *o = out + ((gsize) b * n + i) * 2 * c;
          for (int j = 0; j < c; j++)
            {
              o[j] = row[j] * (1.0f - w);
              o[c + j] = row[j] * w;
            }
        }
    }
}

static int
cmp_desc (const void *a, const void *b)
{
  float x = *(const float *) a, y = *(const float *) b;
  return (x < y) - (x > y);
}

void
gaf_simplex_project_rows (float *x, gsize rows, gsize c)
{
  float *s = g_new (float, c);

  for (gsize r = 0; r < rows; r++)
    {
      float *row = x + r * c;
      double cum = 0.0, tau = 0.0;

      /* argmin |y - x| on the simplex is max(x - tau, 0), tau from the sorted entries */
      memcpy (s, row, c * sizeof (float));
      qsort (s, c, sizeof (float), cmp_desc);
      for (gsize j = 0; j < c; j++)
        {
          double tj;
          cum += s[j];
          tj = (cum - 1.0) / (double) (j + 1);
          if (s[j] - tj > 0.0)
            tau = tj;
        }
      for (gsize j = 0; j < c; j++)
        row[j] = (float) MAX (row[j] - tau, 0.0);
    }
  g_free (s);
}

void
gaf_sphere_exp (const float *x, const float *v, float *out, gsize c)
{
  double nv = 0.0, cs, sn;

  for (gsize j = 0; j < c; j++)
    nv += (double) v[j] * v[j];
  nv = sqrt (nv);
  if (nv < 1e-12)
    {
      for (gsize j = 0; j < c; j++)
        out[j] = x[j] + v[j];
      return;
    }
  cs = cos (nv);
  sn = sin (nv) / nv;
  for (gsize j = 0; j < c; j++)
    out[j] = (float) (cs * x[j] + sn * v[j]);
}

void
gaf_sphere_log (const float *x, const float *y, float *out, gsize c)
{
  double dot = 0.0, nw = 0.0, theta;

  for (gsize j = 0; j < c; j++)
    dot += (double) x[j] * y[j];
  /* w = y - <x, y> x, orthogonal to x; theta = atan2(|w|, <x, y>) is accurate at small and large angles */
  for (gsize j = 0; j < c; j++)
    {
      double w = y[j] - dot * x[j];
      nw += w * w;
    }
  nw = sqrt (nw);
  theta = atan2 (nw, dot);
  for (gsize j = 0; j < c; j++)
    out[j] = nw > 1e-15 ? (float) (theta * (y[j] - dot * x[j]) / nw) : 0.0f;
}

void
gaf_sphere_path_sample (GafRng *rng, const guint16 *labels, int batch, int n, int c, float *t, float *x, float *u)
{
  g_autofree double *x0 = g_new (double, c);

  for (int b = 0; b < batch; b++)
    {
      double tb = gaf_rng_uniform (rng);
      t[b] = (float) tb;
      for (int i = 0; i < n; i++)
        {
          gsize off = ((gsize) b * n + i) * c;
          int k = labels[b * n + i];
          double norm = 0.0, rest = 0.0, theta, st;
          g_assert (k < c);
          for (int j = 0; j < c; j++)
            {
              x0[j] = fabs (gaf_rng_normal (rng));
              norm += x0[j] * x0[j];
            }
          norm = sqrt (norm);
          for (int j = 0; j < c; j++)
            {
              x0[j] /= norm;
              if (j != k)
                rest += x0[j] * x0[j];
            }
          /* angle between x0 and e_k */
          theta = atan2 (sqrt (rest), x0[k]);
          st = sin (theta);
          if (st < 1e-7)
            {
              for (int j = 0; j < c; j++)
                {
                  double e = j == k ? 1.0 : 0.0;
                  x[off + j] = (float) ((1.0 - tb) * x0[j] + tb * e);
                  u[off + j] = (float) (e - x0[j]);
                }
              continue;
            }
          {
            /* slerp and its time derivative */
            double a = sin ((1.0 - tb) * theta) / st, bb = sin (tb * theta) / st;
            double da = -theta * cos ((1.0 - tb) * theta) / st, db = theta * cos (tb * theta) / st;
            for (int j = 0; j < c; j++)
              {
                double e = j == k ? 1.0 : 0.0;
                x[off + j] = (float) (a * x0[j] + bb * e);
                u[off + j] = (float) (da * x0[j] + db * e);
              }
          }
        }
    }
}

/* ---- losses -------------------------------------------------------------------------------------- */

double
gaf_cross_entropy_loss (const float *logits, const guint16 *labels, int batch, int n, int c, float *dlogits)
{
  double total = 0.0;
  gsize rows = (gsize) batch * n;

  for (gsize r = 0; r < rows; r++)
    {
      const float *l = logits + r * c;
      double mx = l[0], sum = 0.0, lse;
      int k = labels[r];
      for (int j = 1; j < c; j++)
        mx = MAX (mx, l[j]);
      for (int j = 0; j < c; j++)
        sum += exp (l[j] - mx);
      lse = mx + log (sum);
      total += lse - l[k];
      if (dlogits != NULL)
        for (int j = 0; j < c; j++)
          dlogits[r * c + j] = (float) ((exp (l[j] - lse) - (j == k ? 1.0 : 0.0)) / batch);
    }
  return total / batch;
}

double
gaf_sphere_loss (const float *x, const float *v, const float *u, int batch, int n, int c, float *dv)
{
  double total = 0.0;
  gsize rows = (gsize) batch * n;
  g_autofree double *r = g_new (double, c);

  for (gsize row = 0; row < rows; row++)
    {
      const float *xr = x + row * c, *vr = v + row * c, *ur = u + row * c;
      double vx = 0.0, rx = 0.0;
      for (int j = 0; j < c; j++)
        vx += (double) vr[j] * xr[j];
      for (int j = 0; j < c; j++)
        {
          r[j] = vr[j] - vx * xr[j] - ur[j];   /* P v - u */
          total += r[j] * r[j];
          rx += r[j] * xr[j];
        }
      if (dv != NULL)
        for (int j = 0; j < c; j++)
          dv[row * c + j] = (float) (2.0 * (r[j] - rx * xr[j]) / batch);
    }
  return total / batch;
}

/* ---- trainer ------------------------------------------------------------------------------------- */

struct _GafBaselineTrainer {
  GafMethod         method;
  GafBaselineConfig bcfg;
  GafNet           *net;
  GafLabelFunc      labels_func;
  gpointer          labels_data;
  GafTrainerConfig  cfg;
  GafRng            rng;
  GafLossWatch      watch;
  int               n, c, in_ch;
  guint16          *labels;
  guint16          *xt;       /* jump flows: the state x_t (B, n) */
  float            *t, *x, *in, *u, *out, *dout;
  double            cosine_lr;
  guint64           cosine_start, cosine_total;
};

GafBaselineTrainer *
gaf_baseline_trainer_new (GafMethod method, const GafBaselineConfig *bcfg, GafNet *net,
                          GafLabelFunc labels, gpointer labels_data, const GafTrainerConfig *cfg)
{
  GafBaselineTrainer *tr;
  gsize size;

  g_return_val_if_fail (method != GAF_METHOD_GAF && method < GAF_N_METHODS, NULL);
  g_return_val_if_fail (gaf_trainer_config_check (cfg, NULL), NULL);
  g_return_val_if_fail (gaf_baseline_config_check (bcfg, NULL), NULL);
  g_return_val_if_fail (net->in_channels == gaf_method_in_channels (method, net->out_channels), NULL);
  tr = g_new0 (GafBaselineTrainer, 1);
  tr->method = method;
  tr->bcfg = *bcfg;
  tr->net = net;
  tr->labels_func = labels;
  tr->labels_data = labels_data;
  tr->cfg = *cfg;
  tr->n = net->n;
  tr->c = net->out_channels;
  tr->in_ch = net->in_channels;
  gaf_rng_init_stream (&tr->rng, cfg->seed, 0xba5e + method);
  size = (gsize) cfg->batch * tr->n * tr->c;
  tr->labels = g_new (guint16, (gsize) cfg->batch * tr->n);
  tr->t = g_new (float, cfg->batch);
  tr->x = g_new (float, size);
  tr->in = method == GAF_METHOD_DIRICHLET ? g_new (float, 2 * size)
           : gaf_method_is_jump (method) ? g_new (float, (gsize) cfg->batch * tr->n * tr->in_ch) : NULL;
  tr->xt = gaf_method_is_jump (method) ? g_new (guint16, (gsize) cfg->batch * tr->n) : NULL;
  tr->u = method == GAF_METHOD_SPHERE ? g_new (float, size) : NULL;
  tr->out = g_new (float, size);
  tr->dout = g_new (float, size);
  return tr;
}

void
gaf_baseline_trainer_free (GafBaselineTrainer *tr)
{
  if (tr == NULL)
    return;
  g_free (tr->labels);
  g_free (tr->xt);
  g_free (tr->t);
  g_free (tr->x);
  g_free (tr->in);
  g_free (tr->u);
  g_free (tr->out);
  g_free (tr->dout);
  g_free (tr);
}

void
gaf_baseline_trainer_set_lr (GafBaselineTrainer *tr, double lr)
{
  tr->cfg.adam.lr = lr;
}

void
gaf_baseline_trainer_set_cosine_schedule (GafBaselineTrainer *tr, double base_lr, guint64 total)
{
  tr->cosine_lr = base_lr;
  tr->cosine_start = tr->net->params->step;
  tr->cosine_total = total;
}

gboolean
gaf_baseline_trainer_step (GafBaselineTrainer *tr, double *loss_out, GError **error)
{
  GafParams *params = tr->net->params;
  int B = tr->cfg.batch, n = tr->n, c = tr->c;
  double loss;
  gboolean ok;

  if (tr->cosine_lr > 0.0 && tr->cosine_total > 0)
    {
      guint64 s = params->step - tr->cosine_start;
      if (s < tr->cosine_total)
        tr->cfg.adam.lr = tr->cosine_lr * 0.5 * (1.0 + cos (G_PI * (double) s / (double) tr->cosine_total));
    }
  tr->labels_func (tr->labels_data, &tr->rng, tr->labels, B);
  switch (tr->method)
    {
    case GAF_METHOD_LINEAR:
      gaf_linear_path_sample (&tr->rng, tr->labels, B, n, c, tr->t, tr->x);
      gaf_net_forward (tr->net, tr->x, tr->t, B, tr->out);
      loss = gaf_cross_entropy_loss (tr->out, tr->labels, B, n, c, tr->dout);
      break;
    case GAF_METHOD_DIRICHLET:
      gaf_dirichlet_path_sample (&tr->rng, tr->bcfg.alpha_scale, tr->labels, B, n, c, tr->t, tr->x);
      gaf_dirichlet_expand (tr->x, tr->t, tr->bcfg.pseudocount, B, n, c, tr->in);
      gaf_net_forward (tr->net, tr->in, tr->t, B, tr->out);
      loss = gaf_cross_entropy_loss (tr->out, tr->labels, B, n, c, tr->dout);
      break;
    case GAF_METHOD_SPHERE:
      gaf_sphere_path_sample (&tr->rng, tr->labels, B, n, c, tr->t, tr->x, tr->u);
      gaf_net_forward (tr->net, tr->x, tr->t, B, tr->out);
      loss = gaf_sphere_loss (tr->x, tr->out, tr->u, B, n, c, tr->dout);
      break;
    case GAF_METHOD_MASKED:
    case GAF_METHOD_UNIFORM:
      {
        GafJumpSource source = gaf_method_jump_source (tr->method);
        gaf_jump_path_sample (&tr->bcfg.jump, source, &tr->rng, tr->labels, B, n, c, tr->t, tr->xt);
        gaf_jump_encode (tr->xt, (gsize) B * n, tr->in_ch, tr->in);
        gaf_net_forward (tr->net, tr->in, tr->t, B, tr->out);
        loss = gaf_jump_cross_entropy (tr->out, tr->labels, source == GAF_JUMP_MASKED ? tr->xt : NULL, B, n, c,
                                       tr->dout);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  ok = gaf_net_optimizer_step (tr->net, tr->dout, &loss, &tr->cfg.adam, tr->cfg.ema_decay, &tr->watch, error);
  if (loss_out != NULL)
    *loss_out = loss;
  return ok;
}

gboolean
gaf_baseline_trainer_run (GafBaselineTrainer *tr, guint64 steps, GArray *loss_trace,
                          GafProgressFunc progress, gpointer progress_data,
                          GCancellable *cancellable, GError **error)
{
  double loss = NAN;

  for (guint64 s = 0; s < steps; s++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!gaf_baseline_trainer_step (tr, &loss, error))
        return FALSE;
      if (loss_trace != NULL)
        g_array_append_val (loss_trace, loss);
      if (progress != NULL && ((s + 1) % 25 == 0 || s + 1 == steps))
        {
          GafProgress p = { "train", s + 1, steps, loss, tr->c, 0, 0 };
          progress (&p, progress_data);
        }
    }
  return TRUE;
}

guint64
gaf_baseline_trainer_get_step (GafBaselineTrainer *tr)
{
  return tr->net->params->step;
}

gboolean
gaf_baseline_trainer_save_checkpoint (GafBaselineTrainer *tr, const char *path, GKeyFile *config, GError **error)
{
  g_return_val_if_fail (tr != NULL && path != NULL && config != NULL, FALSE);

  g_key_file_set_string (config, "train", "method", gaf_method_to_string (tr->method));
  return gaf_train_state_save (tr->net, &tr->cfg, &tr->rng, tr->cosine_lr, tr->cosine_start, tr->cosine_total, path,
                               config, error);
}

gboolean
gaf_baseline_trainer_restore_checkpoint (GafBaselineTrainer *tr, GafCheckpoint *ck, GError **error)
{
  GafMethod m;

  g_return_val_if_fail (tr != NULL && ck != NULL, FALSE);
  if (!gaf_method_from_keyfile (gaf_checkpoint_get_config (ck), &m, error))
    return FALSE;
  if (m != tr->method)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the checkpoint was trained with %s, not %s",
                   gaf_method_to_string (m), gaf_method_to_string (tr->method));
      return FALSE;
    }
  return gaf_train_state_restore (tr->net, &tr->rng, &tr->cosine_lr, &tr->cosine_start, &tr->cosine_total, ck,
                                  error);
}

gboolean
gaf_method_from_keyfile (GKeyFile *kf, GafMethod *out, GError **error)
{
  g_autofree char *name = g_key_file_get_string (kf, "train", "method", NULL);

  if (name == NULL)
    {
      *out = GAF_METHOD_GAF;
      return TRUE;
    }
  if (!gaf_method_from_string (g_strstrip (name), out))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "[train] method = %s is not a known method (gaf, dirichlet, linear, sphere, masked, uniform)", name);
      return FALSE;
    }
  return TRUE;
}

/* ---- Dirichlet C table --------------------------------------------------------------------------- */

#define TABLE_X_MIN 1e-12

void
gaf_dirichlet_table_init (GafDirichletTable *table, int c, double alpha, int size)
{
  /* an empty table first, so that a refused call still leaves something _clear and _eval can take */
  memset (table, 0, sizeof *table);
  g_return_if_fail (size >= 2 && c >= 2 && alpha > 0.0);
  table->c = c;
  table->alpha = alpha;
  table->size = size;
  table->s_min = log (TABLE_X_MIN);
  table->ds = -table->s_min / (size - 1);
  table->g = g_new (double, size);
  for (int i = 0; i < size; i++)
    {
      double s = i == size - 1 ? 0.0 : table->s_min + i * table->ds;
      double x = i == size - 1 ? 1.0 : exp (s);
      table->g[i] = gaf_dirichlet_c (x, alpha, c) / x;
    }
}

void
gaf_dirichlet_table_clear (GafDirichletTable *table)
{
  g_clear_pointer (&table->g, g_free);
}

double
gaf_dirichlet_table_eval (const GafDirichletTable *table, double x)
{
  double pos, f;
  int i;

  g_return_val_if_fail (table->g != NULL, NAN);
  if (!(x > TABLE_X_MIN))
    return x > 0.0 ? gaf_dirichlet_c (x, table->alpha, table->c) : 0.0;
  if (x >= 1.0)
    return table->g[table->size - 1];
  pos = (log (x) - table->s_min) / table->ds;
  i = (int) pos;
  if (i >= table->size - 1)
    i = table->size - 2;
  f = pos - i;
  return x * ((1.0 - f) * table->g[i] + f * table->g[i + 1]);
}

/* ---- samplers ------------------------------------------------------------------------------------ */

typedef struct {
  GafMethod                method;
  const GafBaselineConfig *bcfg;
  GafNet                  *net;
  int                      n, c;
  float                   *x;      /* state (B, n, c) */
  float                   *in;     /* network input (B, n, in_ch) */
  float                   *out;    /* network output (B, n, c) */
  float                   *step;   /* (B, n, c) */
  float                   *t;      /* (B) */
  guint16                 *last;   /* Dirichlet: argmax of the last prediction (B, n) */
  guint64                  evals_per_seq;
  guint64                  done_before, total_seqs, evals;
  GafProgressFunc          progress;
  gpointer                 progress_data;
} Sampler;

static void
sampler_eval (Sampler *s, int b, const float *in, double t)
{
  for (int i = 0; i < b; i++)
    s->t[i] = (float) t;
  gaf_net_infer (s->net, in, s->t, b, s->out);
  s->evals++;
  if (s->progress != NULL)
    {
      GafProgress p = { "sample", 0, 0, NAN, s->c, 0, 0 };
      p.done = s->done_before * s->evals_per_seq + (guint64) b * s->evals;
      p.total = s->total_seqs * s->evals_per_seq;
      s->progress (&p, s->progress_data);
    }
}

static gboolean
run_linear (Sampler *s, int b, GafRng *rng, GCancellable *cancellable, GError **error)
{
  int n = s->n, c = s->c, P = s->bcfg->linear_points;
  gsize rows = (gsize) b * n;

  for (gsize r = 0; r < rows; r++)
    dirichlet_ones (rng, s->x + r * c, c);
  for (int i = 0; i < P - 1; i++)
    {
      double t0 = (double) i / (P - 1), t1 = (double) (i + 1) / (P - 1);
      float h = (float) ((t1 - t0) / (1.0 - t0));
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      sampler_eval (s, b, s->x, t0);
      gaf_softmax_rows (s->out, s->out, rows, c);
      /* v = sum_k p_k (e_k - x) / (1 - t) = (p - x) / (1 - t) */
      for (gsize j = 0; j < rows * c; j++)
        s->x[j] += h * (s->out[j] - s->x[j]);
    }
  for (gsize r = 0; r < rows; r++)
    s->last[r] = (guint16) gaf_argmax (s->x + r * c, c);
  return TRUE;
}

#define DIRICHLET_TABLE_SIZE 4096

static gboolean
run_dirichlet (Sampler *s, int b, GafRng *rng, GCancellable *cancellable, GError **error)
{
  int n = s->n, c = s->c, P = s->bcfg->dirichlet_points;
  gsize rows = (gsize) b * n;
  double amax = s->bcfg->alpha_max;
  g_autofree double *cc = g_new (double, c);

  for (gsize r = 0; r < rows; r++)
    dirichlet_ones (rng, s->x + r * c, c);
  for (int i = 0; i < P - 1; i++)
    {
      double a0 = 1.0 + (amax - 1.0) * i / (P - 1), a1 = 1.0 + (amax - 1.0) * (i + 1) / (P - 1);
      float alpha = (float) a0;
      GafDirichletTable table;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      for (int j = 0; j < b; j++)
        s->t[j] = alpha;
      gaf_dirichlet_expand (s->x, s->t, s->bcfg->pseudocount, b, n, c, s->in);
      sampler_eval (s, b, s->in, a0);
      for (gsize r = 0; r < rows; r++)
        s->last[r] = (guint16) gaf_argmax (s->out + r * c, c);
      gaf_softmax_rows (s->out, s->out, rows, c);
      gaf_dirichlet_table_init (&table, c, a0, DIRICHLET_TABLE_SIZE);
      for (gsize r = 0; r < rows; r++)
        {
          float *x = s->x + r * c;
          const float *p = s->out + r * c;
          double sum_pc = 0.0, total = 0.0;
          gboolean off = FALSE;
          /* v_j = sum_k p_k C(x_k) (delta_jk - x_j) = p_j C(x_j) - x_j sum_k p_k C(x_k) */
          for (int j = 0; j < c; j++)
            {
              cc[j] = gaf_dirichlet_table_eval (&table, x[j]);
              sum_pc += p[j] * cc[j];
            }
          for (int j = 0; j < c; j++)
            {
              x[j] = (float) (x[j] + (a1 - a0) * (p[j] * cc[j] - x[j] * sum_pc));
              off = off || x[j] < 0.0f;
              total += x[j];
            }
          /* project back when the step left the simplex (the reference's tolerance, 1e-5) */
          if (off || fabs (total - 1.0) > 1e-5)
            gaf_simplex_project_rows (x, 1, c);
        }
      gaf_dirichlet_table_clear (&table);
    }
  return TRUE;
}

static gboolean
run_sphere (Sampler *s, int b, GafRng *rng, GCancellable *cancellable, GError **error)
{
  int n = s->n, c = s->c, K = s->bcfg->sphere_steps;
  gsize rows = (gsize) b * n;
  float h = 1.0f / K;

  for (gsize r = 0; r < rows; r++)
    {
      float *x = s->x + r * c;
      double norm = 0.0;
      for (int j = 0; j < c; j++)
        {
          x[j] = (float) fabs (gaf_rng_normal (rng));
          norm += (double) x[j] * x[j];
        }
      norm = sqrt (norm);
      for (int j = 0; j < c; j++)
        x[j] = (float) (x[j] / norm);
    }
  for (int i = 0; i < K; i++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      sampler_eval (s, b, s->x, (double) i / K);
      for (gsize r = 0; r < rows; r++)
        {
          float *x = s->x + r * c, *v = s->out + r * c, *y = s->step + r * c;
          double vx = 0.0, norm = 0.0;
          for (int j = 0; j < c; j++)
            vx += (double) v[j] * x[j];
          for (int j = 0; j < c; j++)
            v[j] = (float) (h * (v[j] - vx * x[j]));
          gaf_sphere_exp (x, v, y, c);
          /* renormalise: float rounding drifts off the sphere over many steps */
          for (int j = 0; j < c; j++)
            norm += (double) y[j] * y[j];
          norm = sqrt (norm);
          for (int j = 0; j < c; j++)
            x[j] = (float) (y[j] / norm);
        }
    }
  for (gsize r = 0; r < rows; r++)
    {
      float *x = s->x + r * c;
      for (int j = 0; j < c; j++)
        x[j] *= x[j];
      s->last[r] = (guint16) gaf_argmax (x, c);
    }
  return TRUE;
}

gboolean
gaf_baseline_sample (GafMethod method, const GafBaselineConfig *bcfg, GafNet *net, GafRng *rng,
                     guint64 count, int chunk, guint16 *labels, float *x_final,
                     GafProgressFunc progress, gpointer progress_data,
                     GCancellable *cancellable, GError **error)
{
  Sampler s = { 0 };
  int n = net->n, c = net->out_channels;
  gboolean ok = TRUE;

  g_return_val_if_fail (method != GAF_METHOD_GAF && method < GAF_N_METHODS, FALSE);
  g_return_val_if_fail (net->in_channels == gaf_method_in_channels (method, c), FALSE);
  if (!gaf_baseline_config_check (bcfg, error))
    return FALSE;
  if (gaf_method_is_jump (method))
    return gaf_jump_sample (gaf_method_jump_source (method), &bcfg->jump, net, rng, count, chunk, labels, x_final,
                            NULL, progress, progress_data, cancellable, error);
  chunk = (int) MAX (1, MIN ((guint64) chunk, count));
  s.method = method;
  s.bcfg = bcfg;
  s.net = net;
  s.n = n;
  s.c = c;
  s.x = g_new (float, (gsize) chunk * n * c);
  s.in = method == GAF_METHOD_DIRICHLET ? g_new (float, (gsize) chunk * n * 2 * c) : NULL;
  s.out = g_new (float, (gsize) chunk * n * c);
  s.step = method == GAF_METHOD_SPHERE ? g_new (float, (gsize) chunk * n * c) : NULL;
  s.t = g_new (float, chunk);
  s.last = g_new (guint16, (gsize) chunk * n);
  s.evals_per_seq = gaf_baseline_evals (method, bcfg);
  s.total_seqs = count;
  s.progress = progress;
  s.progress_data = progress_data;

  for (guint64 start = 0; start < count && ok; start += chunk)
    {
      int b = (int) MIN ((guint64) chunk, count - start);
      gsize rows = (gsize) b * n;

      s.done_before = start;
      s.evals = 0;
      switch (method)
        {
        case GAF_METHOD_LINEAR:
          ok = run_linear (&s, b, rng, cancellable, error);
          break;
        case GAF_METHOD_DIRICHLET:
          ok = run_dirichlet (&s, b, rng, cancellable, error);
          break;
        case GAF_METHOD_SPHERE:
          ok = run_sphere (&s, b, rng, cancellable, error);
          break;
        default:
          g_assert_not_reached ();
        }
      if (!ok)
        break;
      for (gsize j = 0; j < rows * c; j++)
        if (!isfinite (s.x[j]))
          {
            g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED, "sampling produced a non-finite state");
            ok = FALSE;
            break;
          }
      if (!ok)
        break;
      memcpy (labels + start * n, s.last, rows * sizeof (guint16));
      if (x_final != NULL)
        memcpy (x_final + start * n * c, s.x, rows * c * sizeof (float));
    }

  g_free (s.x);
  g_free (s.in);
  g_free (s.out);
  g_free (s.step);
  g_free (s.t);
  g_free (s.last);
  return ok;
}
