/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-experiment"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-joint.h"
#include "gaf-jump.h"
#include "gaf-experiment.h"
#include "gaf-model.h"
#include "gaf-sampler.h"
#include "gaf-simplex.h"
#include "gaf-target.h"
#include "gaf-torch-map.h"

/* The app's EMA decay of every experiment's trainer. */
#define APP_EMA_DECAY 0.995
/* The group of a checkpoint with the experiment and its parameters. */
#define APP_GROUP "app"
/* Lattice subdivisions of the field grid (c = 3): interior points i + j + k = N, all >= 1. */
#define FIELD_LATTICE 11
#define FIELD_TIMES   16

void
gaf_job_free (GafJob *job)
{
  if (job != NULL)
    job->klass->free (job);
}

/* ---- registry helpers -------------------------------------------------------------------------------- */

const GafExperimentClass *
gaf_experiment_default (void)
{
  return gaf_experiments ()[0];
}

const GafExperimentClass *
gaf_experiment_lookup (const char *id)
{
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if (g_strcmp0 ((*k)->id, id) == 0)
      return *k;
  return NULL;
}

const GafExperimentClass *
gaf_experiment_lookup_legacy (const char *name)
{
  const GafExperimentClass *klass = gaf_experiment_lookup (name);
  char *end = NULL;
  gint64 index;

  if (klass != NULL || name == NULL)
    return klass;
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if ((*k)->legacy_name != NULL && strcmp ((*k)->legacy_name, name) == 0)
      return *k;
  index = g_ascii_strtoll (name, &end, 10);
  if (end == name || *end != '\0')
    return NULL;
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if ((*k)->legacy_index >= 0 && (*k)->legacy_index == index)
      return *k;
  return NULL;
}

char *
gaf_experiment_list_ids (const char *last_separator)
{
  GString *out = g_string_new (NULL);
  const GafExperimentClass *const *all = gaf_experiments ();

  for (guint i = 0; all[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, all[i + 1] == NULL ? last_separator : ", ");
      g_string_append (out, all[i]->id);
    }
  return g_string_free (out, FALSE);
}

char *
gaf_experiment_summary (const GafExperimentClass *klass, const GafPayload *payload)
{
  const GafRound *r = payload != NULL ? payload->round : NULL;

  if (r == NULL)
    return NULL;
  if (klass->summary != NULL)
    return klass->summary (payload);
  return g_strdup_printf (_("KL %.4f (uniform %.4f, floor %.4f) from %u samples"), r->kl, r->kl_uniform, r->kl_floor,
                          (guint) r->samples);
}

gboolean
gaf_experiment_uses (const GafExperimentClass *klass, GafParam param)
{
  g_return_val_if_fail (klass != NULL, FALSE);
  for (const GafParam *p = klass->params; *p != GAF_N_PARAMS; p++)
    if (*p == param)
      return TRUE;
  return FALSE;
}

GafMethod
gaf_runner_params_method (const GafRunnerParams *params)
{
  /* the choices of GAF_PARAM_METHOD, in order */
  static const GafMethod methods[] = { GAF_METHOD_GAF, GAF_METHOD_MASKED, GAF_METHOD_UNIFORM };
  int k;

  if (params->experiment == NULL || !gaf_experiment_uses (params->experiment, GAF_PARAM_METHOD))
    return GAF_METHOD_GAF;
  k = (int) gaf_param_clamp (GAF_PARAM_METHOD, params->value[GAF_PARAM_METHOD]);
  return methods[k];
}

gboolean
gaf_runner_params_applies (const GafRunnerParams *params, GafParam param)
{
  GafParamFor applies = gaf_param_info (param)->applies;
  gboolean jump = gaf_method_is_jump (gaf_runner_params_method (params));

  if (params->experiment == NULL || !gaf_experiment_uses (params->experiment, param))
    return FALSE;
  return applies == GAF_PARAM_FOR_ALL || (applies == GAF_PARAM_FOR_JUMP) == jump;
}

/* ---- instances --------------------------------------------------------------------------------------- */

gboolean
gaf_experiment_trainable (GafExperiment *self)
{
  return self->trainer != NULL || self->jump_trainer != NULL;
}

int
gaf_experiment_in_channels (GafExperiment *self)
{
  return gaf_method_in_channels (self->method, self->c);
}

double
gaf_experiment_input_scale (GafExperiment *self, double gaf_scale)
{
  return gaf_method_is_jump (self->method) ? sqrt ((double) self->c) : gaf_scale;
}

/* A jump flow's configuration from the parameters. */
static void
jump_config (GafExperiment *self, GafBaselineConfig *bcfg)
{
  gaf_baseline_config_init (bcfg);
  bcfg->jump.kappa = (GafKappa) gaf_param_clamp (GAF_PARAM_KAPPA, self->p.value[GAF_PARAM_KAPPA]);
  bcfg->jump.steps = (int) gaf_param_clamp (GAF_PARAM_JUMP_STEPS, self->p.value[GAF_PARAM_JUMP_STEPS]);
}

/* The trainer of the method built (the network, its Adam moments and weight average are the net's). */
static void
new_trainer (GafExperiment *self, const GafTrainerConfig *cfg)
{
  GafBaselineConfig bcfg;

  g_clear_pointer (&self->trainer, gaf_trainer_free);
  g_clear_pointer (&self->jump_trainer, gaf_baseline_trainer_free);
  if (self->method == GAF_METHOD_GAF)
    {
      self->trainer = gaf_trainer_new (self->net, self->labels, self->labels_data, cfg);
      return;
    }
  jump_config (self, &bcfg);
  self->jump_trainer = gaf_baseline_trainer_new (self->method, &bcfg, self->net, self->labels, self->labels_data,
                                                 cfg);
}

static gint next_model_serial = 0;

void
gaf_experiment_trainer_config (GafExperiment *self, GafTrainerConfig *cfg)
{
  const double *v = self->p.value;

  gaf_trainer_config_init (cfg);
  cfg->batch = (int) v[self->klass->batch_param];
  cfg->adam.lr = v[GAF_PARAM_LEARNING_RATE];
  cfg->path.lambda = v[GAF_PARAM_LAMBDA];
  cfg->path.time_rate = v[GAF_PARAM_TIME_RATE];
  cfg->ema_decay = APP_EMA_DECAY;
  /* A new trainer (batch change) gets a fresh stream, so it does not replay the first batches. */
  cfg->seed = (guint64) v[GAF_PARAM_SEED] * 1000003ull + gaf_experiment_step (self);
}

static void
clear_model (GafExperiment *self)
{
  g_clear_pointer (&self->trainer, gaf_trainer_free);
  g_clear_pointer (&self->jump_trainer, gaf_baseline_trainer_free);
  g_clear_pointer (&self->net, gaf_net_free);
}

void
gaf_experiment_describe_loaded (GafExperiment *self, GafNet *loaded, int kind, GafParam width)
{
  GafModelConfig mc;
  GafMlpConfig def;
  int w = -1;

  if (!gaf_model_config_from_net (&mc, loaded, 0) || (int) mc.kind != kind)
    {
      self->net_described = FALSE;
      return;
    }
  gaf_mlp_config_init (&def, 1, 2);
  if (mc.kind == GAF_MODEL_TOY_CNN)
    w = mc.toy_cnn.hidden;
  else if (mc.kind == GAF_MODEL_MLP && mc.mlp.depth == def.depth && mc.mlp.layernorm == def.layernorm &&
           mc.mlp.time_freqs == def.time_freqs)
    w = mc.mlp.hidden;
  else if (mc.kind == GAF_MODEL_UNET)
    w = mc.unet.channels;
  if (w > 0)
    self->p.value[width] = gaf_param_clamp (width, w);
  self->net_described = w > 0 && self->p.value[width] == w;
}

/* build, then the trainer (with tcfg when not NULL). */
static gboolean
build_with (GafExperiment *self, GafNet *loaded, const GafTrainerConfig *tcfg, GError **error)
{
  GafTrainerConfig cfg;

  clear_model (self);
  self->model_serial = (guint64) (guint) g_atomic_int_add (&next_model_serial, 1) + 1;
  self->wants_sample = FALSE;
  self->method = gaf_runner_params_method (&self->p);
  self->net_described = TRUE;
  if (!self->klass->build (self, loaded, error))
    {
      clear_model (self);
      return FALSE;
    }
  if (self->net != NULL && (self->net->n != self->n || self->net->out_channels != self->c ||
                            self->net->in_channels != gaf_experiment_in_channels (self)))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "the network takes %d variables of %d channels to %d classes; the experiment “%s” with %s has "
                   "%d variables of %d channels to %d classes", self->net->n, self->net->in_channels,
                   self->net->out_channels, self->klass->id, gaf_method_title (self->method), self->n,
                   gaf_experiment_in_channels (self), self->c);
      clear_model (self);
      return FALSE;
    }
  if (self->net != NULL)
    {
      gaf_experiment_trainer_config (self, &cfg);
      if (tcfg != NULL)
        cfg = *tcfg;
      new_trainer (self, &cfg);
    }
  return TRUE;
}

GafExperiment *
gaf_experiment_new (const GafExperimentClass *klass, const GafRunnerParams *params, GafExperiment *from,
                    GError **error)
{
  GafExperiment *self;

  g_return_val_if_fail (klass != NULL && klass->instance_size >= sizeof (GafExperiment), NULL);
  self = g_malloc0 (klass->instance_size);
  self->klass = klass;
  self->p = *params;
  self->p.experiment = klass;
  gaf_runner_params_clamp (&self->p);
  self->payload = gaf_payload_new (&gaf_payload_base_type, klass->id, 0, 0, NULL);
  if (from != NULL && from->klass == klass && klass->adopt != NULL)
    klass->adopt (self, from);
  if (!build_with (self, NULL, NULL, error))
    {
      gaf_experiment_free (self);
      return NULL;
    }
  return self;
}

void
gaf_experiment_free (GafExperiment *self)
{
  if (self == NULL)
    return;
  clear_model (self);
  if (self->klass->finalize != NULL)
    self->klass->finalize (self);
  gaf_payload_unref (self->payload);
  g_clear_error (&self->adjusted_why);
  g_free (self);
}

gboolean
gaf_experiment_rebuild (GafExperiment *self, GError **error)
{
  return build_with (self, NULL, NULL, error);
}

guint64
gaf_experiment_step (GafExperiment *self)
{
  return self->net != NULL ? gaf_net_get_params (self->net)->step : 0;
}

gboolean
gaf_experiment_train_step (GafExperiment *self, double *loss, GError **error)
{
  g_return_val_if_fail (gaf_experiment_trainable (self), FALSE);
  if (self->jump_trainer != NULL)
    return gaf_baseline_trainer_step (self->jump_trainer, loss, error);
  if (self->klass->train_step != NULL)
    return self->klass->train_step (self, loss, error);
  return gaf_trainer_step (self->trainer, loss, error);
}

gboolean
gaf_experiment_sample (GafExperiment *self, GafRng *rng, GCancellable *cancellable, GError **error)
{
  self->wants_sample = FALSE;
  if (self->n == 0)
    return TRUE;   /* nothing built */
  return self->klass->sample (self, rng, cancellable, error);
}

void
gaf_experiment_set_param (GafExperiment *self, GafParam param, double value)
{
  GafTrainerConfig cfg;

  self->p.value[param] = gaf_param_clamp (param, value);
  if (self->jump_trainer != NULL && gaf_param_info (param)->section == GAF_PARAM_SECTION_TRAINING)
    {
      gaf_experiment_trainer_config (self, &cfg);
      if (param == GAF_PARAM_LEARNING_RATE)
        gaf_baseline_trainer_set_lr (self->jump_trainer, cfg.adam.lr);
      else if (param == self->klass->batch_param || param == GAF_PARAM_KAPPA)
        new_trainer (self, &cfg);   /* per-batch buffers, the path's scheduler; the network carries over */
    }
  if (self->trainer != NULL && gaf_param_info (param)->section == GAF_PARAM_SECTION_TRAINING)
    {
      gaf_experiment_trainer_config (self, &cfg);
      if (param == GAF_PARAM_LEARNING_RATE)
        gaf_trainer_set_lr (self->trainer, cfg.adam.lr);
      else if (param == GAF_PARAM_LAMBDA || param == GAF_PARAM_TIME_RATE)
        gaf_trainer_set_path (self->trainer, &cfg.path);
      else if (param == self->klass->batch_param)
        {
          /* The trainer owns per-batch buffers; the network, its Adam moments and EMA carry over. */
          gaf_trainer_free (self->trainer);
          self->trainer = gaf_trainer_new (self->net, self->labels, self->labels_data, &cfg);
        }
    }
  if (self->klass->param_changed != NULL)
    self->klass->param_changed (self, param);
}

void
gaf_experiment_publish (GafExperiment *self, GafPayload *payload)
{
  g_return_if_fail (payload != NULL);
  gaf_payload_unref (self->payload);
  self->payload = payload;
}

void
gaf_experiment_adjust_param (GafExperiment *self, GafParam param, double value, GError *why)
{
  g_return_if_fail ((guint) param < GAF_N_PARAMS && gaf_param_info (param)->type != GAF_PARAM_TEXT);
  g_return_if_fail (why != NULL);
  self->p.value[param] = gaf_param_clamp (param, value);
  self->adjusted = param;
  g_clear_error (&self->adjusted_why);
  self->adjusted_why = why;
}

GError *
gaf_experiment_take_adjusted (GafExperiment *self, GafParam *param)
{
  if (self->adjusted_why != NULL && param != NULL)
    *param = self->adjusted;
  return g_steal_pointer (&self->adjusted_why);
}

/* ---- model files ------------------------------------------------------------------------------------- */

gboolean
gaf_experiment_save (GafExperiment *self, const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafModelConfig mc;

  if (self->net == NULL || !gaf_experiment_trainable (self))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the experiment “%s” has no network to save",
                   self->klass->id);
      return FALSE;
    }
  if (!gaf_model_config_from_net (&mc, self->net, self->net_seed))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the %s network cannot be saved",
                   self->net->klass->name);
      return FALSE;
    }
  gaf_model_config_to_keyfile (&mc, kf);
  gaf_runner_params_to_keyfile (&self->p, kf, APP_GROUP);
  if (self->klass->save != NULL)
    self->klass->save (self, kf);
  if (self->jump_trainer != NULL)
    return gaf_baseline_trainer_save_checkpoint (self->jump_trainer, path, kf, error);
  return gaf_trainer_save_checkpoint (self->trainer, path, kf, error);
}

/* "coupled-binary, pinwheel:bins=16 or label maps (...)": what the experiments that open files of other tools
 * open (GafExperimentClass.opens). */
static char *
opened_data (void)
{
  g_autoptr(GPtrArray) all = g_ptr_array_new ();
  GString *s = g_string_new (NULL);

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if ((*k)->claims != NULL && (*k)->opens != NULL)
      g_ptr_array_add (all, (gpointer) (*k)->opens);
  for (guint i = 0; i < all->len; i++)
    g_string_append_printf (s, "%s%s", i == 0 ? "" : i + 1 < all->len ? ", " : " or ",
                            (const char *) g_ptr_array_index (all, i));
  return g_string_free (s, FALSE);
}

/* The parameters of a checkpoint: its [app] group, else what an experiment that claims it says. name: the
 * file as the user knows it (an imported .safetensors, not the checkpoint made of it). */
static gboolean
checkpoint_params (GKeyFile *kf, const char *name, GafRunnerParams *p, GError **error)
{
  g_autofree char *spec = NULL, *norm = NULL, *opened = NULL;

  if (g_key_file_has_group (kf, APP_GROUP))
    return gaf_runner_params_from_keyfile (p, kf, APP_GROUP, name, error);
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if ((*k)->claims != NULL && (*k)->claims (kf, p))
      {
        p->experiment = *k;
        gaf_runner_params_clamp (p);
        return TRUE;
      }
  spec = g_key_file_get_string (kf, "data", "spec", NULL);
  norm = spec != NULL ? gaf_joint_spec_normalize (spec) : NULL;
  opened = opened_data ();
  if (spec == NULL)
    g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                 "%s: the file does not say which data its model was trained on (no [" APP_GROUP "] group, no "
                 "[data] spec); the app opens models trained on %s (gaflow-cli import FILE --data SPEC --out "
                 "MODEL.gafck writes one that says)", name, opened);
  else
    g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                 "%s: no experiment of the app shows the data this model was trained on, '%s'%s%s%s; the app opens "
                 "models trained on %s", name, spec, norm != NULL && strcmp (norm, spec) != 0 ? " (" : "",
                 norm != NULL && strcmp (norm, spec) != 0 ? norm : "", norm != NULL && strcmp (norm, spec) != 0 ? ")" : "",
                 opened);
  return FALSE;
}

/* gaf_experiment_load of the checkpoint at path, its errors under name (the file the user opened). */
static GafExperiment *
load_as (const char *path, const char *name, GafExperiment *current, GError **error)
{
  g_autoptr(GafCheckpoint) ck = NULL;
  GafRunnerParams p;
  GafModelConfig mc;
  GafTrainerConfig tcfg;
  GafExperiment *self = NULL;
  GafNet *net = NULL;
  GafMethod method;
  GKeyFile *kf;

  gaf_runner_params_init (&p);
  if (current != NULL)
    p = current->p;
  ck = gaf_checkpoint_load (path, error);
  if (ck == NULL)
    return NULL;
  kf = gaf_checkpoint_get_config (ck);
  if (!checkpoint_params (kf, name, &p, error))
    return NULL;
  if (!gaf_model_config_from_keyfile (&mc, kf, error))
    goto fail;
  /* The trainer's configuration: the parameters' values, then whatever [train] says. */
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = (int) p.value[p.experiment->batch_param];
  tcfg.adam.lr = p.value[GAF_PARAM_LEARNING_RATE];
  tcfg.path.lambda = p.value[GAF_PARAM_LAMBDA];
  tcfg.path.time_rate = p.value[GAF_PARAM_TIME_RATE];
  tcfg.ema_decay = APP_EMA_DECAY;
  if (!gaf_trainer_config_from_keyfile (&tcfg, kf, error))
    goto fail;
  net = gaf_model_new (&mc, error);
  if (net == NULL)
    goto fail;
  /* The parameters show what trains now. */
  p.value[GAF_PARAM_LEARNING_RATE] = tcfg.adam.lr;
  p.value[GAF_PARAM_LAMBDA] = tcfg.path.lambda;
  p.value[GAF_PARAM_TIME_RATE] = tcfg.path.time_rate;
  p.value[p.experiment->batch_param] = tcfg.batch;
  gaf_runner_params_clamp (&p);

  self = g_malloc0 (p.experiment->instance_size);
  self->klass = p.experiment;
  self->p = p;
  self->payload = gaf_payload_new (&gaf_payload_base_type, self->klass->id, 0, 0, NULL);
  if (current != NULL && current->klass == self->klass && self->klass->adopt != NULL)
    self->klass->adopt (self, current);
  /* The method is the one the network was trained with, [train] method (absent: GAF, as in files written before
   * the key and before the app had jump flows): the method parameter follows it. */
  if (!gaf_method_from_keyfile (kf, &method, error))
    goto fail;
  if (gaf_experiment_uses (p.experiment, GAF_PARAM_METHOD))
    for (int k = 0; k <= (int) gaf_param_info (GAF_PARAM_METHOD)->max; k++)
      {
        p.value[GAF_PARAM_METHOD] = k;
        if (gaf_runner_params_method (&p) == method)
          break;
      }
  if (gaf_runner_params_method (&p) != method)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "the experiment “%s” of the app does not train with %s",
                   p.experiment->id, gaf_method_title (method));
      goto fail;
    }
  self->p = p;
  if (!build_with (self, g_steal_pointer (&net), &tcfg, error))
    goto fail;
  if (self->net == NULL || !gaf_experiment_trainable (self))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "the experiment “%s” has no network to open", self->klass->id);
      goto fail;
    }
  if (self->jump_trainer != NULL ? !gaf_baseline_trainer_restore_checkpoint (self->jump_trainer, ck, error)
                                 : !gaf_trainer_restore_checkpoint (self->trainer, ck, error))
    goto fail;
  /* The app trains at the learning rate its panel shows: a schedule the file was trained with (gaflow-cli
   * --schedule cosine) stops here, and training goes on at the file's last rate clamped to the slider's range
   * (a finished cosine run's 3e-12 becomes the slider's 1e-5), not at a rate the panel cannot show. */
  if (self->jump_trainer != NULL)
    {
      gaf_baseline_trainer_set_cosine_schedule (self->jump_trainer, 0.0, 0);
      gaf_baseline_trainer_set_lr (self->jump_trainer, self->p.value[GAF_PARAM_LEARNING_RATE]);
    }
  else
    {
      gaf_trainer_set_cosine_schedule (self->trainer, 0.0, 0);
      gaf_trainer_set_lr (self->trainer, self->p.value[GAF_PARAM_LEARNING_RATE]);
    }
  return self;

fail:
  g_prefix_error (error, "%s: ", name);
  gaf_net_free (net);
  gaf_experiment_free (self);
  return NULL;
}

GafExperiment *
gaf_experiment_load (const char *path, GafExperiment *current, GError **error)
{
  return load_as (path, path, current, error);
}

/* ---- what modules share -------------------------------------------------------------------------------- */

void
gaf_experiment_sampler_config (GafExperiment *self, GafSamplerConfig *cfg)
{
  gaf_sampler_config_init (cfg);
  cfg->integrator = (GafIntegrator) self->p.value[GAF_PARAM_INTEGRATOR];
  cfg->step_size = self->p.value[GAF_PARAM_STEP_SIZE];
  cfg->t_end = self->p.value[GAF_PARAM_T_END];
}

/* Copies a recording into a round's trajectories. */
static void
round_set_trajectories (GafRound *round, GafExperiment *self, const GafTrajectory *rec, const guint16 *labels,
                        guint n_rows)
{
  GafTrajectories *tr = &round->trajectories;

  tr->n = self->n;
  tr->c = self->c;
  tr->n_rows = n_rows;
  tr->n_times = rec->times->len;
  tr->times = g_memdup2 (rec->times->data, sizeof (double) * tr->n_times);
  tr->w = g_memdup2 (rec->w->data, sizeof (float) * rec->w->len);
  tr->labels = g_memdup2 (labels, sizeof (guint16) * n_rows);
  tr->step = gaf_experiment_step (self);
  round->step = tr->step;
}

/* A jump flow's round: the chain from its source, every step of the first `record` sequences' rows recorded
 * (times in [0, 1], the denoiser's prediction as w, the state). */
static GafRound *
sample_jump (GafExperiment *self, GafRng *rng, guint64 count, guint n_rows, const guint *rows, guint16 *labels,
             GCancellable *cancellable, GError **error)
{
  g_autoptr(GafJumpTrace) trace = gaf_jump_trace_new (rows, n_rows);
  GafParams *params = gaf_net_get_params (self->net);
  GafTrajectories *tr;
  GafBaselineConfig bcfg;
  GafRound *round;
  gboolean ok;

  jump_config (self, &bcfg);
  gaf_params_swap_ema (params);   /* sample with the averaged weights */
  ok = gaf_jump_sample (gaf_method_jump_source (self->method), &bcfg.jump, self->net, rng, count, (int) count, labels,
                        NULL, trace, NULL, NULL, cancellable, error);
  gaf_params_swap_ema (params);
  if (!ok)
    return NULL;
  round = gaf_round_new ();
  round->samples = count;
  tr = &round->trajectories;
  tr->n = self->n;
  tr->c = self->c;
  tr->n_rows = n_rows;
  tr->n_times = trace->times->len;
  tr->times = g_memdup2 (trace->times->data, sizeof (double) * tr->n_times);
  tr->w = g_memdup2 (trace->p->data, sizeof (float) * trace->p->len);
  tr->state = g_memdup2 (trace->state->data, sizeof (guint16) * trace->state->len);
  /* Masked source: the step from an unmasked state does not ask the network (its exact denoiser is delta_x,
   * rate 0; the network is not trained there), so what the step used is the state itself. */
  for (guint j = 1; self->method == GAF_METHOD_MASKED && j < tr->n_times; j++)
    for (guint r = 0; r < n_rows; r++)
      {
        guint16 x = tr->state[(gsize) (j - 1) * n_rows + r];
        float *p = tr->w + ((gsize) j * n_rows + r) * tr->c;
        if (x == GAF_JUMP_MASK (tr->c))
          continue;
        for (int y = 0; y < tr->c; y++)
          p[y] = y == x ? 1.0f : 0.0f;
      }
  tr->labels = g_memdup2 (labels, sizeof (guint16) * n_rows);
  tr->step = gaf_experiment_step (self);
  round->step = tr->step;
  return round;
}

GafRound *
gaf_experiment_sample_net (GafExperiment *self, GafRng *rng, guint64 count, guint record, guint16 *labels,
                           GCancellable *cancellable, GError **error)
{
  guint n_rows = (guint) MIN (record, count) * self->n;
  g_autofree guint *rows = g_new (guint, MAX (n_rows, 1));
  g_autoptr(GafTrajectory) rec = NULL;
  GafSamplerConfig scfg;
  GafParams *params = gaf_net_get_params (self->net);
  GafRound *round;
  gboolean ok;

  for (guint r = 0; r < n_rows; r++)
    rows[r] = r;
  if (gaf_method_is_jump (self->method))
    return sample_jump (self, rng, count, n_rows, rows, labels, cancellable, error);
  rec = gaf_trajectory_new (1, rows, n_rows);
  gaf_experiment_sampler_config (self, &scfg);
  gaf_params_swap_ema (params);   /* sample with the averaged weights */
  ok = gaf_sample_flow (self->net, &scfg, rng, count, (int) count, labels, NULL, rec, NULL, NULL, cancellable,
                        error);
  gaf_params_swap_ema (params);
  if (!ok)
    return NULL;
  round = gaf_round_new ();
  round->samples = count;
  round_set_trajectories (round, self, rec, labels, n_rows);
  return round;
}

void
gaf_round_set_histogram (GafRound *round, const guint16 *labels, guint64 count, int n, int c, const double *q)
{
  g_autofree guint64 *counts = g_new (guint64, (gsize) n * c);

  gaf_histogram (labels, count, n, c, counts);
  g_free (round->freq);
  round->freq = g_new (double, (gsize) n * c);
  for (gsize i = 0; i < (gsize) n * c; i++)
    round->freq[i] = (double) counts[i] / count;
  round->samples = count;
  if (q != NULL)
    {
      round->kl = gaf_kl_from_counts (counts, count, q, n, c);
      round->kl_floor = gaf_kl_floor (c, count);
    }
}

static void
net_field (gpointer data, double t, const float *logits, float *out, int batch)
{
  GafExperiment *self = data;
  g_autofree float *x = g_new (float, (gsize) batch * self->n * self->c);
  g_autofree float *tt = g_new (float, batch);
  GafParams *params = gaf_net_get_params (self->net);

  /* The network reads W = softmax(logits), as the sampler gives it. */
  gaf_softmax_rows (logits, x, (gsize) batch * self->n, self->c);
  for (int b = 0; b < batch; b++)
    tt[b] = (float) t;
  gaf_params_swap_ema (params);
  gaf_net_infer (self->net, x, tt, batch, out);
  gaf_params_swap_ema (params);
}

GafFieldGrid *
gaf_experiment_field_grid (GafExperiment *self, double t_end, GafLogitField field, gpointer data)
{
  int n = self->n, c = self->c;
  guint np = (FIELD_LATTICE - 1) * (FIELD_LATTICE - 2) / 2, g = 0;
  g_autofree float *v = NULL, *out = NULL;
  GafFieldGrid *f;

  /* GAF's field only: a jump flow has rates between vertices, no field inside the simplex */
  if (c != 3 || (field == NULL && (self->net == NULL || self->method != GAF_METHOD_GAF)))
    return NULL;
  if (field == NULL)
    {
      field = net_field;
      data = self;
    }
  f = gaf_field_grid_new (c, np, FIELD_TIMES);
  for (int i = 1; i < FIELD_LATTICE; i++)
    for (int j = 1; i + j < FIELD_LATTICE; j++, g++)
      {
        f->points[g * 3 + 0] = (float) i / FIELD_LATTICE;
        f->points[g * 3 + 1] = (float) j / FIELD_LATTICE;
        f->points[g * 3 + 2] = (float) (FIELD_LATTICE - i - j) / FIELD_LATTICE;
      }
  g_assert (g == np);
  /* Sequences (np, n, c) as logits: position 0 on the lattice, the others at the barycentre. */
  v = g_new (float, (gsize) np * n * c);
  out = g_new (float, (gsize) np * n * c);
  for (g = 0; g < np; g++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < c; j++)
        v[((gsize) g * n + i) * c + j] = i == 0 ? logf (f->points[g * c + j]) : 0.0f;
  for (guint k = 0; k < f->n_times; k++)
    {
      f->times[k] = t_end * k / (f->n_times - 1);
      field (data, f->times[k], v, out, (int) np);
      for (g = 0; g < np; g++)
        gaf_replicator (f->points + g * c, out + (gsize) g * n * c, f->velocity + ((gsize) k * np + g) * c, c);
    }
  return f;
}

/* A model trained elsewhere (.safetensors, gaf-torch-map.h) comes in through a temporary checkpoint; one
 * whose file names no data gets the current label maps' (the window asked first). */
GafExperiment *
gaf_experiment_open (const char *path, GafExperiment *current, GError **error)
{
  g_autofree char *dir = NULL, *base = NULL, *tmp = NULL;
  g_autoptr(GafSafetensors) header = NULL;
  GafExperiment *exp;
  const char *data = current != NULL ? current->p.text[GAF_PARAM_IMAGE_DATA] : NULL;

  g_return_val_if_fail (path != NULL, NULL);
  if (!g_str_has_suffix (path, ".safetensors"))
    return gaf_experiment_load (path, current, error);
  /* Only an image model (the UNet) takes the current label maps for data it does not name (the window
   * asked); any other network without data is refused by checkpoint_params, saying so. */
  header = gaf_safetensors_load_header (path, error);
  if (header == NULL)
    return NULL;
  if (g_strcmp0 (gaf_safetensors_get_metadata (header, "network"), "unet") != 0)
    data = NULL;
  else if (data == NULL)
    data = gaf_param_info (GAF_PARAM_IMAGE_DATA)->def_text;
  dir = g_dir_make_tmp ("gaflow-import-XXXXXX", error);
  if (dir == NULL)
    return NULL;
  base = g_path_get_basename (path);
  tmp = g_strconcat (dir, G_DIR_SEPARATOR_S, base, ".gafck", NULL);
  exp = gaf_torch_write_checkpoint (path, data, tmp, error) ? load_as (tmp, path, current, error) : NULL;
  g_unlink (tmp);
  g_rmdir (dir);
  return exp;
}
