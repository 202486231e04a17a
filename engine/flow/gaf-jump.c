/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-jump.h"
#include "gaf-simplex.h"

static const char *const kappa_names[GAF_N_KAPPAS] = { "linear", "poly", "cosine" };

void
gaf_jump_config_init (GafJumpConfig *cfg)
{
  cfg->kappa = GAF_KAPPA_LINEAR;
  cfg->exponent = 2.0;
  cfg->steps = 20;
}

gboolean
gaf_jump_config_check (const GafJumpConfig *cfg, GError **error)
{
  const char *what = NULL;

  if ((guint) cfg->kappa >= GAF_N_KAPPAS)
    what = "jump flows: unknown scheduler kappa";
  else if (!(cfg->exponent > 0.0 && cfg->exponent <= 100.0))
    what = "jump flows: the exponent of the poly scheduler must be in (0, 100]";
  else if (cfg->steps < 1 || cfg->steps > 1000000)
    what = "jump flows: sampler steps must be between 1 and 10^6";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
gaf_kappa_from_string (const char *name, GafKappa *out)
{
  for (int k = 0; k < GAF_N_KAPPAS; k++)
    if (g_strcmp0 (name, kappa_names[k]) == 0)
      {
        *out = (GafKappa) k;
        return TRUE;
      }
  return FALSE;
}

const char *
gaf_kappa_to_string (GafKappa kappa)
{
  g_return_val_if_fail ((guint) kappa < GAF_N_KAPPAS, NULL);
  return kappa_names[kappa];
}

double
gaf_kappa_value (const GafJumpConfig *cfg, double t)
{
  t = CLAMP (t, 0.0, 1.0);
  switch (cfg->kappa)
    {
    case GAF_KAPPA_POLY:
      return pow (t, cfg->exponent);
    case GAF_KAPPA_COSINE:
      {
        double s = sin (G_PI * t / 2.0);
        return s * s;
      }
    case GAF_KAPPA_LINEAR:
    default:
      return t;
    }
}

double
gaf_kappa_rate (const GafJumpConfig *cfg, double t)
{
  t = CLAMP (t, 0.0, 1.0);
  switch (cfg->kappa)
    {
    case GAF_KAPPA_POLY:
      return t > 0.0 ? cfg->exponent * pow (t, cfg->exponent - 1.0) : (cfg->exponent < 1.0 ? INFINITY : cfg->exponent == 1.0);
    case GAF_KAPPA_COSINE:
      /* d/dt sin^2(pi t / 2) = (pi / 2) sin(pi t) */
      return G_PI / 2.0 * sin (G_PI * t);
    case GAF_KAPPA_LINEAR:
    default:
      return 1.0;
    }
}

double
gaf_jump_probability (const GafJumpConfig *cfg, double t, double h)
{
  double k = gaf_kappa_value (cfg, t), j;

  /* the last step (t + h reaches 1 up to rounding of the grid) and a finished schedule jump surely */
  if (t + h >= 1.0 - 1e-9 || k >= 1.0)
    return 1.0;
  j = h * gaf_kappa_rate (cfg, t) / (1.0 - k);
  return isfinite (j) ? CLAMP (j, 0.0, 1.0) : 1.0;
}

int
gaf_jump_in_channels (GafJumpSource source, int c)
{
  return source == GAF_JUMP_MASKED ? c + 1 : c;
}

/* ---- path and loss ------------------------------------------------------------------------------- */

void
gaf_jump_path_sample (const GafJumpConfig *cfg, GafJumpSource source, GafRng *rng, const guint16 *labels,
                      int batch, int n, int c, float *t, guint16 *xt)
{
  for (int b = 0; b < batch; b++)
    {
      double tb = gaf_rng_uniform (rng), k = gaf_kappa_value (cfg, tb);
      t[b] = (float) tb;
      for (int i = 0; i < n; i++)
        {
          gsize r = (gsize) b * n + i;
          g_assert (labels[r] < c);
          if (gaf_rng_uniform (rng) < k)
            xt[r] = labels[r];
          else
            xt[r] = source == GAF_JUMP_MASKED ? GAF_JUMP_MASK (c) : (guint16) gaf_rng_below (rng, (guint32) c);
        }
    }
}

void
gaf_jump_encode (const guint16 *xt, gsize rows, int in_ch, float *out)
{
  /* xt (rows) -> out (rows, in_ch) */
  memset (out, 0, rows * in_ch * sizeof (float));
  for (gsize r = 0; r < rows; r++)
    {
      g_assert (xt[r] < in_ch);
      out[r * in_ch + xt[r]] = 1.0f;
    }
}

double
gaf_jump_cross_entropy (const float *logits, const guint16 *labels, const guint16 *xt, int batch, int n, int c,
                        float *dlogits)
{
  /* logits (B, n, c), labels (B, n), xt (B, n) or NULL -> mean over b of sum over counted i of
   * -log softmax(logits_bi)[label]; d/dlogits = (softmax - onehot) / B on counted rows */
  gsize rows = (gsize) batch * n;
  double total = 0.0;

  for (gsize r = 0; r < rows; r++)
    {
      const float *z = logits + r * c;
      float *d = dlogits != NULL ? dlogits + r * c : NULL;
      int k = labels[r];
      double m = z[0], s = 0.0;

      g_assert (k < c);
      if (xt != NULL && xt[r] != GAF_JUMP_MASK (c))
        {
          if (d != NULL)
            memset (d, 0, c * sizeof (float));
          continue;
        }
      for (int j = 1; j < c; j++)
        m = MAX (m, (double) z[j]);
      for (int j = 0; j < c; j++)
        s += exp (z[j] - m);
      total += m + log (s) - z[k];
      if (d != NULL)
        for (int j = 0; j < c; j++)
          d[j] = (float) ((exp (z[j] - m) / s - (j == k)) / batch);
    }
  return total / batch;
}

/* ---- sampler ------------------------------------------------------------------------------------- */

GafJumpTrace *
gaf_jump_trace_new (const guint *rows, guint n_rows)
{
  GafJumpTrace *tr = g_new0 (GafJumpTrace, 1);

  tr->rows = rows;
  tr->n_rows = n_rows;
  tr->times = g_array_new (FALSE, FALSE, sizeof (double));
  tr->p = g_array_new (FALSE, FALSE, sizeof (float));
  tr->state = g_array_new (FALSE, FALSE, sizeof (guint16));
  return tr;
}

void
gaf_jump_trace_free (GafJumpTrace *tr)
{
  if (tr == NULL)
    return;
  g_array_unref (tr->times);
  g_array_unref (tr->p);
  g_array_unref (tr->state);
  g_free (tr);
}

static void
trace_record (GafJumpTrace *tr, double t, const float *p, const guint16 *x, gsize rows, int c)
{
  g_array_append_val (tr->times, t);
  for (guint k = 0; k < tr->n_rows; k++)
    {
      guint r = tr->rows[k];
      g_assert (r < rows);
      if (p != NULL)
        g_array_append_vals (tr->p, p + (gsize) r * c, c);
      else
        for (int j = 0; j < c; j++)
          g_array_append_val (tr->p, (float) { 1.0f / c });
      g_array_append_val (tr->state, x[r]);
    }
}

/* y ~ Categorical(p), p (c) summing to 1 up to rounding (the last class takes the remainder). */
static guint16
draw_class (GafRng *rng, const float *p, int c)
{
  double u = gaf_rng_uniform (rng), acc = 0.0;

  for (int j = 0; j < c - 1; j++)
    {
      acc += p[j];
      if (u < acc)
        return (guint16) j;
    }
  return (guint16) (c - 1);
}

gboolean
gaf_jump_sample (GafJumpSource source, const GafJumpConfig *cfg, GafNet *net, GafRng *rng,
                 guint64 count, int chunk, guint16 *labels, float *p_final,
                 GafJumpTrace *trace, GafProgressFunc progress, gpointer progress_data,
                 GCancellable *cancellable, GError **error)
{
  int n = net->n, c = net->out_channels, in_ch = net->in_channels, steps;
  g_autofree guint16 *x = NULL;
  g_autofree float *in = NULL, *out = NULL, *t = NULL;
  double h;

  g_return_val_if_fail (in_ch == gaf_jump_in_channels (source, c), FALSE);
  g_return_val_if_fail (c >= 2 && c < G_MAXUINT16, FALSE);
  if (!gaf_jump_config_check (cfg, error))
    return FALSE;
  steps = cfg->steps;
  h = 1.0 / steps;
  chunk = (int) MAX (1, MIN ((guint64) chunk, count));
  x = g_new (guint16, (gsize) chunk * n);
  in = g_new (float, (gsize) chunk * n * in_ch);
  out = g_new (float, (gsize) chunk * n * c);
  t = g_new (float, chunk);

  for (guint64 start = 0; start < count; start += chunk)
    {
      int b = (int) MIN ((guint64) chunk, count - start);
      gsize rows = (gsize) b * n;
      GafJumpTrace *tr = start == 0 ? trace : NULL;

      /* x_0 ~ p_0 */
      for (gsize r = 0; r < rows; r++)
        x[r] = source == GAF_JUMP_MASKED ? GAF_JUMP_MASK (c) : (guint16) gaf_rng_below (rng, (guint32) c);
      if (tr != NULL)
        trace_record (tr, 0.0, NULL, x, rows, c);
      for (int k = 0; k < steps; k++)
        {
          double tk = k * h, j = gaf_jump_probability (cfg, tk, h);

          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return FALSE;
          for (int i = 0; i < b; i++)
            t[i] = (float) tk;
          gaf_jump_encode (x, rows, in_ch, in);
          gaf_net_infer (net, in, t, b, out);
          for (gsize q = 0; q < rows * c; q++)
            if (!isfinite (out[q]))
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                             "sampling: the denoiser gave a non-finite output at t = %g", tk);
                return FALSE;
              }
          gaf_softmax_rows (out, out, rows, c);
          for (gsize r = 0; r < rows; r++)
            {
              /* masked source: unmasked positions stay (their rate is 0); one uniform draw per position and
               * step keeps the stream independent of which positions move */
              double u = gaf_rng_uniform (rng);
              if (source == GAF_JUMP_MASKED && x[r] != GAF_JUMP_MASK (c))
                continue;
              if (u < j)
                x[r] = draw_class (rng, out + r * c, c);
            }
          if (tr != NULL)
            trace_record (tr, tk + h, out, x, rows, c);
          if (progress != NULL)
            {
              GafProgress p = { "sample", 0, 0, NAN, c, 0, 0 };
              p.done = start * steps + (guint64) b * (k + 1);
              p.total = count * steps;
              progress (&p, progress_data);
            }
        }
      for (gsize r = 0; r < rows; r++)
        g_assert (x[r] < c);   /* the last step draws every masked position */
      memcpy (labels + start * n, x, rows * sizeof (guint16));
      if (p_final != NULL)
        memcpy (p_final + start * n * c, out, rows * c * sizeof (float));
    }
  return TRUE;
}
