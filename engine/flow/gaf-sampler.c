/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-sampler.h"
#include "gaf-simplex.h"

void
gaf_sampler_config_init (GafSamplerConfig *cfg)
{
  cfg->integrator = GAF_INTEGRATOR_RK4;
  cfg->step_size = 0.2;
  cfg->t_end = 15.0;
}

gboolean
gaf_sampler_config_check (const GafSamplerConfig *cfg, GError **error)
{
  if (!(cfg->step_size > 0.0) || !isfinite (cfg->step_size))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "step size must be a positive number, got %g",
                   cfg->step_size);
      return FALSE;
    }
  if (!(cfg->t_end > 0.0) || !isfinite (cfg->t_end))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "end time must be a positive number, got %g",
                   cfg->t_end);
      return FALSE;
    }
  if (cfg->t_end / cfg->step_size > 1e7)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "end time %g with step size %g needs more than 10^7 steps", cfg->t_end, cfg->step_size);
      return FALSE;
    }
  return TRUE;
}

guint
gaf_sampler_n_steps (const GafSamplerConfig *cfg)
{
  /* A tolerance so that T = 15, h = 0.2 gives 75 steps, not 76 through rounding. */
  return (guint) MAX (1.0, ceil (cfg->t_end / cfg->step_size - 1e-9));
}

guint
gaf_sampler_evals_per_step (GafIntegrator integrator)
{
  return integrator == GAF_INTEGRATOR_RK4 ? 4 : 1;
}

gboolean
gaf_integrator_from_string (const char *name, GafIntegrator *out)
{
  if (g_strcmp0 (name, "euler") == 0)
    *out = GAF_INTEGRATOR_EULER;
  else if (g_strcmp0 (name, "rk4") == 0)
    *out = GAF_INTEGRATOR_RK4;
  else
    return FALSE;
  return TRUE;
}

const char *
gaf_integrator_to_string (GafIntegrator integrator)
{
  return integrator == GAF_INTEGRATOR_RK4 ? "rk4" : "euler";
}

GafTrajectory *
gaf_trajectory_new (guint every, const guint *rows, guint n_rows)
{
  GafTrajectory *traj = g_new0 (GafTrajectory, 1);

  traj->every = MAX (every, 1);
  traj->rows = rows;
  traj->n_rows = n_rows;
  traj->times = g_array_new (FALSE, FALSE, sizeof (double));
  traj->w = g_array_new (FALSE, FALSE, sizeof (float));
  return traj;
}

void
gaf_trajectory_free (GafTrajectory *traj)
{
  if (traj == NULL)
    return;
  g_array_unref (traj->times);
  g_array_unref (traj->w);
  g_free (traj);
}

static void
record (GafTrajectory *traj, double t, const float *v, gsize rows, gsize c)
{
  float *w = g_newa (float, c);

  g_array_append_val (traj->times, t);
  for (guint k = 0; k < traj->n_rows; k++)
    {
      guint r = traj->rows[k];
      g_assert (r < rows);
      gaf_softmax_rows (v + (gsize) r * c, w, 1, c);
      g_array_append_vals (traj->w, w, c);
    }
}

gboolean
gaf_integrate (const GafSamplerConfig *cfg, GafFieldFunc field, gpointer user_data,
               float *v, gsize rows, gsize c, GafTrajectory *traj,
               GCancellable *cancellable, GError **error)
{
  gsize count = rows * c;
  guint n_steps;
  gboolean rk4, ok = TRUE;
  double step_size, t_end;
  g_autofree float *buf = NULL;
  float *k1, *k2, *k3, *k4, *y;

  if (!gaf_sampler_config_check (cfg, error))
    return FALSE;
  /* The configuration is read once: the field callback gets no say in which buffers a step uses. Euler
   * needs k1 only; RK4 k1..k4 and the stage point y, in one block. */
  n_steps = gaf_sampler_n_steps (cfg);
  rk4 = cfg->integrator == GAF_INTEGRATOR_RK4;
  step_size = cfg->step_size;
  t_end = cfg->t_end;
  buf = g_new (float, count * (rk4 ? 5 : 1));
  k1 = buf;
  k2 = rk4 ? buf + count : NULL;
  k3 = rk4 ? buf + 2 * count : NULL;
  k4 = rk4 ? buf + 3 * count : NULL;
  y = rk4 ? buf + 4 * count : NULL;
  if (traj != NULL)
    record (traj, 0.0, v, rows, c);

  for (guint s = 0; s < n_steps; s++)
    {
      double t = s * step_size;
      double h = MIN (step_size, t_end - t);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (!rk4)
        {
          field (user_data, t, v, k1, count);
          for (gsize i = 0; i < count; i++)
            v[i] += (float) h * k1[i];
        }
      else
        {
          /* 3/8 rule: k1 = f(t, y); k2 = f(t + h/3, y + h k1/3); k3 = f(t + 2h/3, y + h (k2 - k1/3));
           * k4 = f(t + h, y + h (k1 - k2 + k3)); y += h (k1 + 3 k2 + 3 k3 + k4) / 8. */
          float hf = (float) h;
          field (user_data, t, v, k1, count);
          for (gsize i = 0; i < count; i++)
            y[i] = v[i] + hf * k1[i] / 3.0f;
          field (user_data, t + h / 3.0, y, k2, count);
          for (gsize i = 0; i < count; i++)
            y[i] = v[i] + hf * (k2[i] - k1[i] / 3.0f);
          field (user_data, t + 2.0 * h / 3.0, y, k3, count);
          for (gsize i = 0; i < count; i++)
            y[i] = v[i] + hf * (k1[i] - k2[i] + k3[i]);
          field (user_data, t + h, y, k4, count);
          for (gsize i = 0; i < count; i++)
            v[i] += hf * (k1[i] + 3.0f * (k2[i] + k3[i]) + k4[i]) / 8.0f;
        }
      if (traj != NULL && ((s + 1) % traj->every == 0 || s + 1 == n_steps))
        record (traj, MIN (t + h, t_end), v, rows, c);
    }
  return ok;
}

/* ---- GAF sampling with a network -------------------------------------------------------------------- */

typedef struct {
  GafNet    *net;
  int        batch;
  int        n;
  int        c;
  float     *w;      /* (B, n, c) */
  float     *t;      /* (B) */
  guint64    evals;
  guint64    total_evals;
  guint64    done_before;
  guint64    total_seqs;
  GafProgressFunc progress;
  gpointer   progress_data;
} GafField;

static void
gaf_field (gpointer user_data, double t, const float *v, float *dv, gsize count)
{
  GafField *f = user_data;

  gaf_softmax_rows (v, f->w, (gsize) f->batch * f->n, f->c);
  for (int b = 0; b < f->batch; b++)
    f->t[b] = (float) t;
  gaf_net_infer (f->net, f->w, f->t, f->batch, dv);
  gaf_project_tangent_rows (dv, (gsize) f->batch * f->n, f->c);
  f->evals++;
  if (f->progress != NULL)
    {
      GafProgress p = { "sample", 0, 0, NAN, f->c, 0, 0 };
      /* progress in sequence-evaluations over the whole request */
      p.done = f->done_before * f->total_evals + (guint64) f->batch * f->evals;
      p.total = f->total_seqs * f->total_evals;
      f->progress (&p, f->progress_data);
    }
}

gboolean
gaf_sample_flow (GafNet *net, const GafSamplerConfig *cfg, GafRng *rng,
                    guint64 count, int chunk, guint16 *labels, float *w_final,
                    GafTrajectory *traj, GafProgressFunc progress, gpointer progress_data,
                    GCancellable *cancellable, GError **error)
{
  int n = net->n, c = net->out_channels;
  GafField f = { 0 };
  float *v;
  gboolean ok = TRUE;

  g_return_val_if_fail (net->in_channels == net->out_channels, FALSE);
  if (!gaf_sampler_config_check (cfg, error))
    return FALSE;
  chunk = (int) MAX (1, MIN ((guint64) chunk, count));
  v = g_new (float, (gsize) chunk * n * c);
  f.net = net;
  f.n = n;
  f.c = c;
  f.w = g_new (float, (gsize) chunk * n * c);
  f.t = g_new (float, chunk);
  f.total_evals = (guint64) gaf_sampler_n_steps (cfg) * gaf_sampler_evals_per_step (cfg->integrator);
  f.total_seqs = count;
  f.progress = progress;
  f.progress_data = progress_data;

  for (guint64 start = 0; start < count && ok; start += chunk)
    {
      int b = (int) MIN ((guint64) chunk, count - start);
      gsize rows = (gsize) b * n;

      f.batch = b;
      f.evals = 0;
      f.done_before = start;
      for (gsize i = 0; i < rows * c; i++)
        v[i] = (float) gaf_rng_normal (rng);
      gaf_project_tangent_rows (v, rows, c);
      ok = gaf_integrate (cfg, gaf_field, &f, v, rows, c, start == 0 ? traj : NULL, cancellable, error);
      if (!ok)
        break;
      for (gsize r = 0; r < rows; r++)
        {
          if (!isfinite (v[r * c]))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED, "sampling produced a non-finite state");
              ok = FALSE;
              break;
            }
          labels[start * n + r] = (guint16) gaf_argmax (v + r * c, c);
        }
      if (ok && w_final != NULL)
        gaf_softmax_rows (v, w_final + start * n * c, rows, c);
    }

  g_free (v);
  g_free (f.w);
  g_free (f.t);
  return ok;
}
