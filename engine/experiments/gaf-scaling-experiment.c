/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-scaling"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "gaf-model.h"
#include "gaf-scaling-experiment.h"
#include "gaf-simplex.h"

/* Sequences of each sampling round whose rows are recorded as trajectories. */
#define TRAJECTORY_SEQUENCES 32

typedef struct {
  GafExperiment   parent;
  GafClassTarget *target;
} Scaling;

static void
target_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  gaf_class_target_sample (user_data, rng, labels, batch);
}

static void
scaling_publish (Scaling *self, GafRound *round)
{
  GafExperiment *e = &self->parent;
  GafPayload *payload = gaf_payload_new (&gaf_payload_base_type, e->klass->id, e->n, e->c, e->q);

  gaf_payload_set_round (payload, round);
  gaf_experiment_publish (e, payload);
}

static gboolean
scaling_build (GafExperiment *e, GafNet *loaded, GError **error)
{
  Scaling *self = (Scaling *) e;
  guint64 seed = (guint64) e->p.value[GAF_PARAM_SEED];

  g_clear_pointer (&self->target, gaf_class_target_free);
  e->n = GAF_SCALING_POSITIONS;
  e->c = (int) e->p.value[GAF_PARAM_CLASSES];
  self->target = gaf_scaling_target_new (e->n, e->c, seed);
  e->q = self->target->q;
  e->labels = target_labels;
  e->labels_data = self->target;
  if (e->klass == &gaf_scaling_experiment)
    {
      GafToyCnnConfig ncfg;

      gaf_toy_cnn_config_init (&ncfg, e->n, e->c);
      ncfg.hidden = (int) e->p.value[GAF_PARAM_WIDTH];
      ncfg.fourier_half = ncfg.hidden / 2;
      ncfg.time_scale = GAF_SCALING_TIME_SCALE;
      ncfg.in_channels = gaf_experiment_in_channels (e);
      ncfg.input_scale = gaf_experiment_input_scale (e, e->c);
      e->net_seed = gaf_scaling_net_seed (seed, e->c);
      e->net = loaded != NULL ? loaded : GAF_NET (gaf_toy_cnn_new (&ncfg, e->net_seed));
      if (loaded != NULL)
        gaf_experiment_describe_loaded (e, loaded, GAF_MODEL_TOY_CNN, GAF_PARAM_WIDTH);
    }
  else
    gaf_net_free (loaded);   /* the exact field has no network */
  scaling_publish (self, NULL);
  return TRUE;
}

static void
oracle_field (gpointer data, double t, const float *logits, float *out, int batch)
{
  Scaling *self = data;
  gaf_class_target_oracle_field (self->target, self->parent.p.value[GAF_PARAM_LAMBDA], t, logits, out, batch);
}

static void
exact_dv (gpointer user_data, double t, const float *v, float *dv, gsize count)
{
  Scaling *self = user_data;
  int rows = (int) (count / ((gsize) self->parent.n * self->parent.c));
  oracle_field (self, t, v, dv, rows);
}

/* The exact field's round: the sampler's integration of the oracle from Gaussian tangent vectors. */
static GafRound *
exact_round (Scaling *self, GafRng *rng, guint64 count, guint16 *labels, GCancellable *cancellable, GError **error)
{
  GafExperiment *e = &self->parent;
  gsize total = (gsize) count * e->n;
  guint n_rows = (guint) MIN (count, TRAJECTORY_SEQUENCES) * e->n;
  g_autofree guint *rows = g_new (guint, n_rows);
  g_autofree float *v = g_new (float, total * e->c);
  g_autoptr(GafTrajectory) rec = NULL;
  GafSamplerConfig scfg;
  GafTrajectories *tr;
  GafRound *round;

  for (guint r = 0; r < n_rows; r++)
    rows[r] = r;
  rec = gaf_trajectory_new (1, rows, n_rows);
  gaf_experiment_sampler_config (e, &scfg);
  for (gsize i = 0; i < total * e->c; i++)
    v[i] = (float) gaf_rng_normal (rng);
  gaf_project_tangent_rows (v, total, e->c);
  if (!gaf_integrate (&scfg, exact_dv, self, v, total, e->c, rec, cancellable, error))
    return NULL;
  for (gsize r = 0; r < total; r++)
    labels[r] = (guint16) gaf_argmax (v + r * e->c, e->c);
  round = gaf_round_new ();
  tr = &round->trajectories;
  tr->n = e->n;
  tr->c = e->c;
  tr->n_rows = n_rows;
  tr->n_times = rec->times->len;
  tr->times = g_memdup2 (rec->times->data, sizeof (double) * tr->n_times);
  tr->w = g_memdup2 (rec->w->data, sizeof (float) * rec->w->len);
  tr->labels = g_memdup2 (labels, sizeof (guint16) * n_rows);
  return round;
}

static gboolean
scaling_sample (GafExperiment *e, GafRng *rng, GCancellable *cancellable, GError **error)
{
  Scaling *self = (Scaling *) e;
  guint64 count = (guint64) e->p.value[GAF_PARAM_SAMPLES];
  g_autofree guint16 *labels = g_new (guint16, count * e->n);
  g_autoptr(GafRound) round = NULL;
  double t_end = e->p.value[GAF_PARAM_T_END];

  if (e->net != NULL)
    round = gaf_experiment_sample_net (e, rng, count, TRAJECTORY_SEQUENCES, labels, cancellable, error);
  else
    round = exact_round (self, rng, count, labels, cancellable, error);
  if (round == NULL)
    return FALSE;
  round->field = e->net != NULL ? gaf_experiment_field_grid (e, t_end, NULL, NULL)
                                : gaf_experiment_field_grid (e, t_end, oracle_field, self);
  gaf_round_set_histogram (round, labels, count, e->n, e->c, e->q);
  round->kl_uniform = gaf_class_target_kl_uniform (self->target);
  scaling_publish (self, round);
  return TRUE;
}

static void
scaling_param_changed (GafExperiment *e, GafParam param)
{
  if (e->net == NULL && param == GAF_PARAM_LAMBDA)
    e->wants_sample = TRUE;   /* the exact field depends on lambda */
}

static void
scaling_finalize (GafExperiment *e)
{
  Scaling *self = (Scaling *) e;
  g_clear_pointer (&self->target, gaf_class_target_free);
}

static const GafParam scaling_params[] = {
  GAF_PARAM_METHOD, GAF_PARAM_CLASSES, GAF_PARAM_WIDTH, GAF_PARAM_SEED, GAF_PARAM_LAMBDA, GAF_PARAM_TIME_RATE,
  GAF_PARAM_KAPPA, GAF_PARAM_LEARNING_RATE, GAF_PARAM_BATCH, GAF_PARAM_BUDGET, GAF_PARAM_T_END, GAF_PARAM_STEP_SIZE,
  GAF_PARAM_INTEGRATOR, GAF_PARAM_JUMP_STEPS, GAF_PARAM_SAMPLES, GAF_N_PARAMS
};

static const GafParam exact_params[] = {
  GAF_PARAM_CLASSES, GAF_PARAM_SEED, GAF_PARAM_LAMBDA, GAF_PARAM_T_END, GAF_PARAM_STEP_SIZE,
  GAF_PARAM_INTEGRATOR, GAF_PARAM_SAMPLES, GAF_N_PARAMS
};

const GafExperimentClass gaf_scaling_experiment = {
  .id = "scaling",
  .label = N_("Class scaling · learned"),
  .description = N_("Four independent positions with c classes each, learned by the toy CNN"),
  .default_view = "simplex",
  .legacy_index = 0,
  .instance_size = sizeof (Scaling),
  .params = scaling_params,
  .batch_param = GAF_PARAM_BATCH,
  .build = scaling_build,
  .sample = scaling_sample,
  .param_changed = scaling_param_changed,
  .finalize = scaling_finalize,
};

const GafExperimentClass gaf_exact_experiment = {
  .id = "exact",
  .untrained = TRUE,
  .label = N_("Class scaling · exact field"),
  .description = N_("The same target moved by its exact field: nothing to train"),
  .default_view = "simplex",
  .legacy_index = 1,
  .instance_size = sizeof (Scaling),
  .params = exact_params,
  .batch_param = GAF_PARAM_BATCH,
  .build = scaling_build,
  .sample = scaling_sample,
  .param_changed = scaling_param_changed,
  .finalize = scaling_finalize,
};
