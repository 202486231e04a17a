/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-posterior.h"
#include "gaf-sweep.h"
#include "gaf-target.h"
#include "gaf-toy-cnn.h"

void
gaf_sweep_config_init (GafSweepConfig *cfg)
{
  static const int default_classes[] = { 5, 10, 20, 40, 60, 80, 100, 120, 140, 160 };

  /* Every field starts at zero, so one added later cannot be left uninitialised. */
  memset (cfg, 0, sizeof *cfg);
  cfg->classes = g_array_new (FALSE, FALSE, sizeof (int));
  g_array_append_vals (cfg->classes, default_classes, G_N_ELEMENTS (default_classes));
  /* The interactive budget: at most about 2.5 minutes per class count on 2 cores, also when the
   * machine is shared (docs/gaf-class-scaling.md). The reference (250,000 steps, RK4 h = 0.2, time input
   * unscaled) takes hours per c. Departures from the reference that make short runs work: sampling with
   * an exponential moving average of the weights; the time input rescaled by 0.02 (the Fourier features
   * of scale 30 then vary by about 4 rad per unit t instead of 190, so the field at unseen sampling
   * times interpolates); a per-position output bias; and GAF's affinity in the posterior form. */
  cfg->n = 4;
  cfg->steps = 5000;
  gaf_trainer_config_init (&cfg->train);
  cfg->train.ema_decay = 0.999;
  gaf_sampler_config_init (&cfg->sampler);
  cfg->sampler.integrator = GAF_INTEGRATOR_EULER;
  cfg->sampler.step_size = 0.5;
  cfg->samples = 50000;
  cfg->sample_chunk = 1024;
  cfg->time_scale = 0.02;
  cfg->input_scale = 1.0;
  cfg->position_bias = TRUE;
  cfg->posterior = TRUE;
  cfg->baseline_time_scale = 0.0;   /* 0: each baseline's reference time input */
  cfg->seed = 1;
  cfg->methods = g_array_new (FALSE, FALSE, sizeof (GafMethod));
  g_array_append_val (cfg->methods, (GafMethod) { GAF_METHOD_GAF });
  gaf_baseline_config_init (&cfg->baseline);
}

void
gaf_sweep_config_clear (GafSweepConfig *cfg)
{
  g_clear_pointer (&cfg->classes, g_array_unref);
  g_clear_pointer (&cfg->methods, g_array_unref);
}

gboolean
gaf_sweep_config_check (const GafSweepConfig *cfg, GError **error)
{
  if (cfg->classes == NULL || cfg->classes->len == 0)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "no class counts given");
      return FALSE;
    }
  for (guint i = 0; i < cfg->classes->len; i++)
    {
      int c = g_array_index (cfg->classes, int, i);
      if (c < 2 || c > 4096)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "class count must be between 2 and 4096, got %d", c);
          return FALSE;
        }
    }
  if (cfg->n < 1 || cfg->n > 64)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "positions must be between 1 and 64, got %d",
                   cfg->n);
      return FALSE;
    }
  if (cfg->samples < 1 || cfg->samples > G_GUINT64_CONSTANT (100000000))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "sample count must be between 1 and 10^8, got %" G_GUINT64_FORMAT, cfg->samples);
      return FALSE;
    }
  if (!(cfg->baseline_time_scale >= 0.0) || !isfinite (cfg->baseline_time_scale))
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "baseline time scale must be a non-negative number");
      return FALSE;
    }
  if (!(cfg->time_scale > 0.0) || !isfinite (cfg->time_scale))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "time scale must be a positive number");
      return FALSE;
    }
  if (cfg->methods == NULL || cfg->methods->len == 0)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "no methods given");
      return FALSE;
    }
  for (guint i = 0; i < cfg->methods->len; i++)
    if (g_array_index (cfg->methods, GafMethod, i) >= GAF_N_METHODS)
      {
        g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unknown method");
        return FALSE;
      }
  if (cfg->evals > 1000000)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "network evaluations per sample must be at most 10^6");
      return FALSE;
    }
  if (cfg->evals > 0 && cfg->evals % gaf_sampler_evals_per_step (cfg->sampler.integrator) != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%u network evaluations are not a whole number of %s steps (%u evaluations each)", cfg->evals,
                   gaf_integrator_to_string (cfg->sampler.integrator),
                   gaf_sampler_evals_per_step (cfg->sampler.integrator));
      return FALSE;
    }
  return gaf_trainer_config_check (&cfg->train, error) && gaf_sampler_config_check (&cfg->sampler, error) &&
         gaf_baseline_config_check (&cfg->baseline, error);
}

guint
gaf_sweep_method_sampling (const GafSweepConfig *cfg, GafMethod method, GafSamplerConfig *sampler,
                           GafBaselineConfig *baseline)
{
  guint per_step = gaf_sampler_evals_per_step (cfg->sampler.integrator);

  *sampler = cfg->sampler;
  *baseline = cfg->baseline;
  if (cfg->evals > 0)
    {
      guint steps = MAX (1u, cfg->evals / per_step);
      /* h = T / steps: gaf_sampler_n_steps gives back exactly `steps` (its tolerance absorbs the rounding) */
      sampler->step_size = sampler->t_end / steps;
      gaf_baseline_config_set_evals (baseline, cfg->evals);
    }
  if (method == GAF_METHOD_GAF)
    return gaf_sampler_n_steps (sampler) * per_step;
  return gaf_baseline_evals (method, baseline);
}

static void
target_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  gaf_class_target_sample (user_data, rng, labels, batch);
}

typedef struct {
  GafProgressFunc func;
  gpointer        data;
  guint           item, n_items;
} ProgressRelay;

static void
relay (const GafProgress *p, gpointer user_data)
{
  ProgressRelay *r = user_data;
  GafProgress q = *p;

  q.item = r->item;
  q.n_items = r->n_items;
  r->func (&q, r->data);
}

/* ---- the recipe of one class count ----------------------------------------------------------------- */

GafClassTarget *
gaf_scaling_target_new (int n, int classes, guint64 seed)
{
  return gaf_class_target_new (n, classes, seed + 1000003ull * (guint64) classes);
}

guint64
gaf_scaling_net_seed (guint64 seed, int classes)
{
  return seed ^ (0x9e37ull * (guint64) classes);
}

guint64
gaf_scaling_trainer_seed (guint64 seed, int classes)
{
  return seed * 7919ull + (guint64) classes;
}

GafNet *
gaf_scaling_net_new (const GafSweepConfig *cfg, GafMethod method, int classes)
{
  GafToyCnnConfig ncfg;
  GafNet *net;

  g_return_val_if_fail (method < GAF_N_METHODS && classes >= 2, NULL);
  gaf_toy_cnn_config_init (&ncfg, cfg->n, classes);
  /* only the input width and the head's meaning differ between methods */
  ncfg.in_channels = gaf_method_in_channels (method, classes);
  /* time_scale rescales GAF's long time horizon; the baselines' time variables are already on the
   * range their references feed to the same network */
  if (method == GAF_METHOD_GAF)
    ncfg.time_scale = cfg->time_scale;
  else if (cfg->baseline_time_scale > 0.0)
    ncfg.time_scale = cfg->baseline_time_scale / (method == GAF_METHOD_DIRICHLET ? cfg->baseline.alpha_max : 1.0);
  else
    ncfg.time_scale = 1.0;
  /* input_scale 0: entries of mean (root-mean-square for the sphere's sqrt(p) and the jump flows' one-hot
   * states) about 1 */
  if (cfg->input_scale > 0.0)
    ncfg.input_scale = cfg->input_scale;
  else
    ncfg.input_scale = method == GAF_METHOD_SPHERE || gaf_method_is_jump (method) ? sqrt ((double) classes) : classes;
  ncfg.position_bias = cfg->position_bias;
  net = GAF_NET (gaf_toy_cnn_new (&ncfg, gaf_scaling_net_seed (cfg->seed, classes)));
  if (method == GAF_METHOD_GAF && cfg->posterior)
    net = gaf_posterior_net_new (net, cfg->train.path.lambda);
  return net;
}

gboolean
gaf_sweep_run_one (const GafSweepConfig *cfg, int classes, guint item, guint n_items,
                   GafSweepRow *row, GafProgressFunc progress, gpointer progress_data,
                   GCancellable *cancellable, GError **error)
{
  return gaf_sweep_run_method (cfg, GAF_METHOD_GAF, classes, item, n_items, row, progress, progress_data,
                               cancellable, error);
}

gboolean
gaf_sweep_run_method (const GafSweepConfig *cfg, GafMethod method, int classes, guint item, guint n_items,
                      GafSweepRow *row, GafProgressFunc progress, gpointer progress_data,
                      GCancellable *cancellable, GError **error)
{
  g_autoptr(GafClassTarget) target = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafTrainer) trainer = NULL;
  g_autoptr(GafBaselineTrainer) btrainer = NULL;
  g_autoptr(GArray) losses = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree guint16 *labels = NULL;
  g_autofree guint64 *counts = NULL;
  GafTrainerConfig tcfg = cfg->train;
  GafSamplerConfig scfg;
  GafBaselineConfig bcfg;
  ProgressRelay r = { progress, progress_data, item, n_items };
  GafRng rng;
  gint64 t0, t1, t2;
  double tail = 0.0;
  guint tail_n;

  g_return_val_if_fail (method < GAF_N_METHODS && classes >= 2, FALSE);
  gaf_sweep_method_sampling (cfg, method, &scfg, &bcfg);
  if (method != GAF_METHOD_GAF && !gaf_baseline_config_check (&bcfg, error))
    return FALSE;
  if (method == GAF_METHOD_GAF && !gaf_sampler_config_check (&scfg, error))
    return FALSE;

  /* Every c has its own target, network and streams, all derived from the one seed (the recipe
   * functions above); every method gets the same target, the same trunk, the same seeds and the same
   * training and sampling budget. */
  target = gaf_scaling_target_new (cfg->n, classes, cfg->seed);
  net = gaf_scaling_net_new (cfg, method, classes);
  tcfg.seed = gaf_scaling_trainer_seed (cfg->seed, classes);
  if (method == GAF_METHOD_GAF)
    trainer = gaf_trainer_new (net, target_labels, target, &tcfg);
  else
    btrainer = gaf_baseline_trainer_new (method, &bcfg, net, target_labels, target, &tcfg);

  t0 = g_get_monotonic_time ();
  if (trainer != NULL)
    {
      if (cfg->cosine)
        gaf_trainer_set_cosine_schedule (trainer, cfg->train.adam.lr, cfg->steps);
      if (!gaf_trainer_run (trainer, cfg->steps, losses, progress ? relay : NULL, &r, cancellable, error))
        return FALSE;
    }
  else
    {
      if (cfg->cosine)
        gaf_baseline_trainer_set_cosine_schedule (btrainer, cfg->train.adam.lr, cfg->steps);
      if (!gaf_baseline_trainer_run (btrainer, cfg->steps, losses, progress ? relay : NULL, &r, cancellable,
                                     error))
        return FALSE;
    }
  t1 = g_get_monotonic_time ();

  labels = g_new (guint16, cfg->samples * cfg->n);
  gaf_rng_init_stream (&rng, cfg->seed, GAF_SCALING_SAMPLE_STREAM + classes);
  gaf_params_swap_ema (gaf_net_get_params (net));   /* sample with the averaged weights (every method) */
  if (method == GAF_METHOD_GAF)
    {
      if (!gaf_sample_flow (net, &scfg, &rng, cfg->samples, cfg->sample_chunk, labels, NULL,
                            NULL, progress ? relay : NULL, &r, cancellable, error))
        return FALSE;
    }
  else if (!gaf_baseline_sample (method, &bcfg, net, &rng, cfg->samples, cfg->sample_chunk,
                                 labels, NULL, progress ? relay : NULL, &r, cancellable, error))
    return FALSE;
  t2 = g_get_monotonic_time ();

  counts = g_new (guint64, (gsize) cfg->n * classes);
  gaf_histogram (labels, cfg->samples, cfg->n, classes, counts);

  memset (row, 0, sizeof *row);
  g_strlcpy (row->method, gaf_method_to_string (method), sizeof row->method);
  row->classes = classes;
  row->steps = cfg->steps;
  row->samples = cfg->samples;
  row->kl = gaf_kl_from_counts (counts, cfg->samples, target->q, cfg->n, classes);
  row->kl_uniform = gaf_class_target_kl_uniform (target);
  row->kl_floor = gaf_kl_floor (classes, cfg->samples);
  row->train_seconds = (t1 - t0) * 1e-6;
  row->sample_seconds = (t2 - t1) * 1e-6;
  tail_n = MIN (losses->len, 100);
  for (guint i = losses->len - tail_n; i < losses->len; i++)
    tail += g_array_index (losses, double, i);
  row->final_loss = tail_n ? tail / tail_n : NAN;
  return TRUE;
}

gboolean
gaf_sweep_run (const GafSweepConfig *cfg, GafSweepRowFunc on_row, GafProgressFunc progress,
               gpointer user_data, GCancellable *cancellable, GError **error)
{
  if (!gaf_sweep_config_check (cfg, error))
    return FALSE;
  for (guint i = 0; i < cfg->classes->len; i++)
    for (guint m = 0; m < cfg->methods->len; m++)
      {
        GafSweepRow row;
        guint n_methods = cfg->methods->len;
        if (!gaf_sweep_run_method (cfg, g_array_index (cfg->methods, GafMethod, m),
                                   g_array_index (cfg->classes, int, i), i * n_methods + m,
                                   cfg->classes->len * n_methods, &row, progress, user_data, cancellable, error))
          return FALSE;
        if (on_row != NULL)
          on_row (&row, user_data);
      }
  return TRUE;
}

typedef struct {
  guint item;
  int   classes;
} DealItem;

static int
deal_order (gconstpointer a, gconstpointer b)
{
  const DealItem *x = a, *y = b;

  if (x->classes != y->classes)
    return x->classes > y->classes ? -1 : 1;   /* largest first */
  return x->item < y->item ? -1 : x->item > y->item;
}

GArray *
gaf_sweep_deal (const GafSweepConfig *cfg, int n_ranks, int rank)
{
  guint n_methods = cfg->methods->len, n_items = cfg->classes->len * n_methods;
  g_autofree DealItem *items = g_new (DealItem, MAX (n_items, 1));
  g_autofree double *load = NULL;
  GArray *mine = g_array_new (FALSE, FALSE, sizeof (guint));

  g_return_val_if_fail (n_ranks >= 1 && rank >= 0 && rank < n_ranks, mine);
  load = g_new0 (double, n_ranks);
  for (guint i = 0; i < n_items; i++)
    {
      items[i].item = i;
      items[i].classes = g_array_index (cfg->classes, int, i / n_methods);
    }
  qsort (items, n_items, sizeof (DealItem), deal_order);
  /* Longest processing time first: each item to the least loaded process. The training time of the toy
   * CNN at 1,000 steps grew from 9.4 s at c = 5 to 14.3 s at c = 160 (docs/class-scaling.csv): about
   * 300 + c in units of 0.032 s. */
  for (guint i = 0; i < n_items; i++)
    {
      int best = 0;
      for (int r = 1; r < n_ranks; r++)
        if (load[r] < load[best])
          best = r;
      load[best] += 300.0 + items[i].classes;
      if (best == rank)
        g_array_append_val (mine, items[i].item);
    }
  return mine;
}
