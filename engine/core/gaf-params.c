/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises Adam's loop (square root, division and the
 * flush of tiny moments as blends); scalar, it took 11-14 % of a toy CNN training step. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-parallel.h"
#include "gaf-params.h"
#include "gaf-simd-private.h"

static void
clear_view (gpointer data)
{
  GafParamView *v = data;
  g_free (v->name);
}

GafParams *
gaf_params_new (void)
{
  GafParams *p = g_new0 (GafParams, 1);

  p->n_ranks = 1;
  p->views = g_array_new (FALSE, TRUE, sizeof (GafParamView));
  g_array_set_clear_func (p->views, clear_view);
  return p;
}

void
gaf_params_free (GafParams *params)
{
  if (params == NULL)
    return;
  g_free (params->data);
  g_free (params->grad);
  g_free (params->m);
  g_free (params->v);
  g_free (params->ema);
  g_clear_error (&params->reduce_error);
  g_array_unref (params->views);
  g_free (params);
}

gsize
gaf_params_add (GafParams *params, const char *name, gsize size)
{
  GafParamView v = { g_strdup (name), params->size, size };

  g_return_val_if_fail (params->data == NULL, 0);
  g_return_val_if_fail (params->trained == params->size, 0);
  g_array_append_val (params->views, v);
  params->size += size;
  params->trained += size;
  return v.offset;
}

gsize
gaf_params_add_buffer (GafParams *params, const char *name, gsize size)
{
  GafParamView v = { g_strdup (name), params->size, size };

  g_return_val_if_fail (params->data == NULL, 0);
  g_array_append_val (params->views, v);
  params->size += size;
  return v.offset;
}

void
gaf_params_alloc (GafParams *params)
{
  g_return_if_fail (params->data == NULL);
  params->data = g_new0 (float, MAX (params->size, 1));
  params->grad = g_new0 (float, params->size + 1);
  params->m = g_new0 (float, MAX (params->size, 1));
  params->v = g_new0 (float, MAX (params->size, 1));
  params->step = 0;
}

const GafParamView *
gaf_params_find (GafParams *params, const char *name)
{
  for (guint i = 0; i < params->views->len; i++)
    {
      const GafParamView *v = &g_array_index (params->views, GafParamView, i);
      if (g_strcmp0 (v->name, name) == 0)
        return v;
    }
  return NULL;
}

/* Passes over the whole arena are split over the engine threads above this many floats (as Adam's). */
#define PARALLEL_MIN 65536

static guint
arena_tasks (gsize n)
{
  return n > PARALLEL_MIN ? gaf_parallel_get_threads () : 1;
}

static void
zero_task (guint k, guint n_tasks, gpointer data)
{
  GafParams *params = data;
  gsize lo = params->size * k / n_tasks, hi = params->size * (k + 1) / n_tasks;

  memset (params->grad + lo, 0, (hi - lo) * sizeof (float));
}

void
gaf_params_zero_grad (GafParams *params)
{
  gaf_parallel_run (arena_tasks (params->size), zero_task, params);
}

void
gaf_params_set_reducer (GafParams *params, GafReduceFunc func, GafReduceF64Func func_f64, gpointer user_data,
                        int n_ranks)
{
  g_return_if_fail (params != NULL && (func == NULL || n_ranks >= 1));
  params->reduce = func;
  params->reduce_f64 = func != NULL ? func_f64 : NULL;
  params->reduce_data = func != NULL ? user_data : NULL;
  params->n_ranks = func != NULL ? n_ranks : 1;
  g_clear_error (&params->reduce_error);
}

gboolean
gaf_params_reduces_stats (const GafParams *params)
{
  return params->reduce_f64 != NULL && params->n_ranks > 1;
}

gboolean
gaf_params_reduce_stats (GafParams *params, double *data, gsize count)
{
  g_return_val_if_fail (params != NULL && data != NULL, FALSE);
  if (!gaf_params_reduces_stats (params))
    return TRUE;
  /* After a failure the collectives of this step are out of step between the processes: join no more of
   * them; the step fails at its gradient reduction and the run ends (gaflow-cli: MPI_Abort). */
  if (params->reduce_error != NULL)
    return FALSE;
  if (params->reduce_f64 (data, count, params->reduce_data, &params->reduce_error))
    return TRUE;
  if (params->reduce_error == NULL)
    g_set_error_literal (&params->reduce_error, GAF_ERROR, GAF_ERROR_IO,
                         "the reduction of a network's statistics over the processes failed");
  return FALSE;
}

gboolean
gaf_params_reduce_grad (GafParams *params, double *loss, GError **error)
{
  float inv;

  g_return_val_if_fail (params != NULL && params->grad != NULL && loss != NULL, FALSE);
  if (params->reduce_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&params->reduce_error));
      return FALSE;
    }
  if (params->reduce == NULL)
    return TRUE;
  /* One collective per step: the loss (in float; a non-finite loss stays non-finite in the sum) rides in
   * the slot after the gradient, so every rank sees the same mean loss and takes the same decision. */
  params->grad[params->size] = (float) *loss;
  if (!params->reduce (params->grad, params->size + 1, params->reduce_data, error))
    return FALSE;
  inv = 1.0f / (float) params->n_ranks;   /* exact for a power-of-two rank count */
  for (gsize i = 0; i <= params->size; i++)
    params->grad[i] *= inv;
  *loss = params->grad[params->size];
  return TRUE;
}

typedef struct {
  const GafParams *params;
  gboolean         finite[GAF_MAX_THREADS];
} FiniteJob;

GAF_SIMD_CLONES static void
finite_task (guint k, guint n_tasks, gpointer data)
{
  FiniteJob *job = data;
  /* g * 0 is 0 for a finite g and NaN otherwise; eight independent sums (one vector register) keep the
   * loop a single pass at memory speed without reassociating float additions */
  float acc[8] = { 0 };
  const float *g = job->params->grad;
  gsize n = job->params->trained;   /* buffers have no gradient */
  gsize i = n * k / n_tasks, hi = n * (k + 1) / n_tasks;

  for (; i + 8 <= hi; i += 8)
    for (int l = 0; l < 8; l++)
      acc[l] += g[i + l] * 0.0f;
  for (; i < hi; i++)
    acc[0] += g[i] * 0.0f;
  for (int l = 1; l < 8; l++)
    acc[0] += acc[l];
  job->finite[k] = acc[0] == 0.0f;
}

gboolean
gaf_params_grad_finite (const GafParams *params)
{
  FiniteJob job = { params, { FALSE } };
  guint n_tasks = arena_tasks (params->trained);

  gaf_parallel_run (n_tasks, finite_task, &job);
  for (guint k = 0; k < n_tasks; k++)
    if (!job.finite[k])
      return FALSE;
  return TRUE;
}

gboolean
gaf_params_reduce_flags (GafParams *params, float *flags, gsize n, GError **error)
{
  g_return_val_if_fail (params != NULL && flags != NULL && n > 0, FALSE);
  /* sums of up to 2^24 ones are exact in float */
  return params->reduce == NULL || params->reduce (flags, n, params->reduce_data, error);
}

typedef struct {
  GafParams *params;
  float      b1, b2, step_size, eps, inv_sqrt_bc2;
} AdamJob;

GAF_SIMD_CLONES static void
adam_task (guint k, guint n_tasks, gpointer data)
{
  AdamJob *job = data;
  GafParams *params = job->params;
  gsize lo = params->trained * k / n_tasks, hi = params->trained * (k + 1) / n_tasks;
  const float b1 = job->b1, b2 = job->b2, step_size = job->step_size, eps_hat = job->eps;
  const float inv_sqrt_bc2 = job->inv_sqrt_bc2;
  float *restrict w = params->data, *restrict g = params->grad;
  float *restrict m = params->m, *restrict v = params->v;

  /* Moments below 1e-30 are flushed to zero: a parameter whose gradient is tiny or has stopped (a class
   * the posterior form has ruled out, say) would otherwise drive g^2 and the decaying moments into
   * subnormal numbers, which this loop then handles 10 to 100 times slower (measured: Adam went from 11 %
   * to 18 % of a training step). The effect on the update is below float resolution: sqrt(1e-30) =
   * 1e-15 against eps = 1e-8 in the denominator, and a numerator of 1e-30 moves w by 1e-22 lr. */
  for (gsize i = lo; i < hi; i++)
    {
      float mi = b1 * m[i] + (1.0f - b1) * g[i];
      float vi = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
      mi = fabsf (mi) > 1e-30f ? mi : 0.0f;
      vi = vi > 1e-30f ? vi : 0.0f;
      m[i] = mi;
      v[i] = vi;
      w[i] -= step_size * mi / (sqrtf (vi) * inv_sqrt_bc2 + eps_hat);
    }
}

void
gaf_adam_step (GafParams *params, const GafAdamConfig *cfg)
{
  AdamJob job;
  double bc1, bc2;

  params->step++;
  bc1 = 1.0 - pow (cfg->beta1, (double) params->step);
  bc2 = 1.0 - pow (cfg->beta2, (double) params->step);
  /* w -= lr (m / bc1) / (sqrt(v / bc2) + eps), arranged as in PyTorch's Adam:
   * w -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps). */
  job.params = params;
  job.b1 = (float) cfg->beta1;
  job.b2 = (float) cfg->beta2;
  job.step_size = (float) (cfg->lr / bc1);
  job.eps = (float) cfg->eps;
  job.inv_sqrt_bc2 = (float) (1.0 / sqrt (bc2));
  gaf_parallel_run (arena_tasks (params->trained), adam_task, &job);
}

void
gaf_params_ema_update (GafParams *params, double decay)
{
  float d, e;

  if (params->ema == NULL)
    {
      params->ema = g_memdup2 (params->data, MAX (params->size, 1) * sizeof (float));
      return;
    }
  d = (float) MIN (decay, (1.0 + params->step) / (10.0 + params->step));
  e = 1.0f - d;
  for (gsize i = 0; i < params->trained; i++)
    params->ema[i] = d * params->ema[i] + e * params->data[i];
  if (params->size > params->trained)
    memcpy (params->ema + params->trained, params->data + params->trained,
            (params->size - params->trained) * sizeof (float));
}

void
gaf_params_swap_ema (GafParams *params)
{
  float *tmp;

  if (params->ema == NULL)
    return;
  tmp = params->data;
  params->data = params->ema;
  params->ema = tmp;
}
