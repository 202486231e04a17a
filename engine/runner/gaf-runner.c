/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runner"
#include "config.h"

#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <glib/gstdio.h>
#endif

#include "gaf-blas.h"
#include "gaf-checkpoint.h"
#include "gaf-dataset.h"
#include "gaf-error.h"
#include "gaf-joint.h"
#include "gaf-likelihood.h"
#include "gaf-mlp.h"
#include "gaf-model.h"
#include "gaf-params.h"
#include "gaf-rng.h"
#include "gaf-runner.h"
#include "gaf-sampler.h"
#include "gaf-simplex.h"
#include "gaf-target.h"
#include "gaf-torch-map.h"
#include "gaf-toy-cnn.h"
#include "gaf-trainer.h"

/* ---- parameters ------------------------------------------------------------------------------------ */

static const GafParamInfo param_info[GAF_N_PARAMS] = {
  [GAF_PARAM_CLASSES]       = { "classes",       GAF_PARAM_KIND_MODEL,    2,     12,      3,      TRUE,  FALSE },
  [GAF_PARAM_WIDTH]         = { "width",         GAF_PARAM_KIND_MODEL,    16,    256,     64,     TRUE,  FALSE },
  [GAF_PARAM_SEED]          = { "seed",          GAF_PARAM_KIND_MODEL,    1,     1000000, 1,      TRUE,  FALSE },
  [GAF_PARAM_LAMBDA]        = { "lambda",        GAF_PARAM_KIND_TRAINING, 0.05,  2.0,     0.5,    FALSE, FALSE },
  [GAF_PARAM_TIME_RATE]     = { "time-rate",     GAF_PARAM_KIND_TRAINING, 0.05,  2.0,     0.25,   FALSE, FALSE },
  [GAF_PARAM_LEARNING_RATE] = { "learning-rate", GAF_PARAM_KIND_TRAINING, 1e-5,  1e-2,    1e-3,   FALSE, TRUE  },
  [GAF_PARAM_BATCH]         = { "batch",         GAF_PARAM_KIND_TRAINING, 8,     512,     128,    TRUE,  FALSE },
  [GAF_PARAM_BUDGET]        = { "budget",        GAF_PARAM_KIND_TRAINING, 100,   200000,  20000,  TRUE,  FALSE },
  [GAF_PARAM_T_END]         = { "t-end",         GAF_PARAM_KIND_SAMPLER,  1.0,   40.0,    15.0,   FALSE, FALSE },
  [GAF_PARAM_STEP_SIZE]     = { "step-size",     GAF_PARAM_KIND_SAMPLER,  0.05,  1.0,     0.5,    FALSE, FALSE },
  [GAF_PARAM_INTEGRATOR]    = { "integrator",    GAF_PARAM_KIND_SAMPLER,  0,     1,       GAF_INTEGRATOR_RK4, TRUE, FALSE },
  [GAF_PARAM_SAMPLES]       = { "samples",       GAF_PARAM_KIND_SAMPLER,  16,    1024,    128,    TRUE,  FALSE },
  [GAF_PARAM_IMAGE_WIDTH]   = { "image-width",   GAF_PARAM_KIND_MODEL,    8,     64,      16,     TRUE,  FALSE },
  [GAF_PARAM_IMAGE_BATCH]   = { "image-batch",   GAF_PARAM_KIND_TRAINING, 4,     128,     16,     TRUE,  FALSE },
};

/* Sequences of each sampling round whose rows are recorded as trajectories. */
#define TRAJECTORY_SEQUENCES 32
/* Lattice subdivisions of the field grid (c = 3): interior points i + j + k = N, all >= 1. */
#define FIELD_LATTICE 11
#define FIELD_TIMES   16
/* The toy CNN as the app uses it: the time input rescaled (SPEC §3 allows it) so that t up to T = 15
 * is not a very high frequency for Fourier features of scale 30, and inputs scaled by c (mean 1). */
#define APP_TIME_SCALE 0.02
#define APP_EMA_DECAY  0.995
/* While training, a sampling round every this many microseconds. */
#define SAMPLE_INTERVAL_US (2 * G_USEC_PER_SEC)
/* A round of label maps costs more (every pixel of GAF_IMAGE_MAPS maps through the image network). */
#define IMAGE_SAMPLE_INTERVAL_US (8 * G_USEC_PER_SEC)
#define PUBLISH_INTERVAL_US (30 * 1000)
#define LOSS_BINS 1024

const GafParamInfo *
gaf_param_info (GafParam param)
{
  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  return &param_info[param];
}

void
gaf_runner_params_init (GafRunnerParams *params)
{
  params->experiment = GAF_EXPERIMENT_SCALING;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    params->value[i] = param_info[i].def;
  g_strlcpy (params->image_data, GAF_IMAGE_DATA_DEFAULT, sizeof params->image_data);
}

static double
clamp_param (GafParam param, double value)
{
  const GafParamInfo *info = &param_info[param];

  if (!isfinite (value))
    value = info->def;
  value = CLAMP (value, info->min, info->max);
  if (info->integer)
    value = round (value);
  if (param == GAF_PARAM_WIDTH || param == GAF_PARAM_IMAGE_WIDTH)
    value = 2.0 * round (value / 2.0);   /* the Fourier features need an even width */
  return value;
}

void
gaf_runner_params_clamp (GafRunnerParams *params)
{
  if ((guint) params->experiment >= GAF_N_EXPERIMENTS)
    params->experiment = GAF_EXPERIMENT_SCALING;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    params->value[i] = clamp_param (i, params->value[i]);
  params->image_data[sizeof params->image_data - 1] = '\0';
  if (params->image_data[0] == '\0')
    g_strlcpy (params->image_data, GAF_IMAGE_DATA_DEFAULT, sizeof params->image_data);
}

static const char *experiment_names[GAF_N_EXPERIMENTS] = { "scaling", "exact", "coupled", "pinwheel", "images" };

gboolean
gaf_param_applies (GafParam param, GafExperiment experiment)
{
  gboolean images = experiment == GAF_EXPERIMENT_IMAGES;
  gboolean exact = experiment == GAF_EXPERIMENT_EXACT;

  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, FALSE);
  switch (param)
    {
    case GAF_PARAM_CLASSES:
      return experiment == GAF_EXPERIMENT_SCALING || exact;
    case GAF_PARAM_WIDTH:
    case GAF_PARAM_BATCH:
      return !images && !exact;   /* the exact field has no network to train */
    case GAF_PARAM_TIME_RATE:
    case GAF_PARAM_LEARNING_RATE:
    case GAF_PARAM_BUDGET:
      return !exact;
    case GAF_PARAM_SAMPLES:
      return !images;
    case GAF_PARAM_IMAGE_WIDTH:
    case GAF_PARAM_IMAGE_BATCH:
      return images;
    default:
      return TRUE;
    }
}

gboolean
gaf_experiment_is_joint (GafExperiment experiment)
{
  return experiment == GAF_EXPERIMENT_COUPLED || experiment == GAF_EXPERIMENT_PINWHEEL;
}

const char *
gaf_experiment_to_string (GafExperiment experiment)
{
  g_return_val_if_fail ((guint) experiment < GAF_N_EXPERIMENTS, NULL);
  return experiment_names[experiment];
}

gboolean
gaf_experiment_from_string (const char *name, GafExperiment *out)
{
  for (guint i = 0; i < GAF_N_EXPERIMENTS; i++)
    if (g_strcmp0 (name, experiment_names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

const char *
gaf_runner_state_to_string (GafRunnerState state)
{
  switch (state)
    {
    case GAF_RUNNER_PAUSED:   return "paused";
    case GAF_RUNNER_TRAINING: return "training";
    case GAF_RUNNER_DONE:     return "done";
    case GAF_RUNNER_EXACT:    return "exact";
    case GAF_RUNNER_FAILED:   return "failed";
    default:                  return "unknown";
    }
}

/* ---- immutable published data ---------------------------------------------------------------------- */

typedef struct {
  gint            ref_count;
  GafTrajectories t;
} TrajBox;

typedef struct {
  gint         ref_count;
  GafFieldGrid f;
} FieldBox;

static GafTrajectories *
trajectories_ref (GafTrajectories *t)
{
  TrajBox *box = (TrajBox *) ((char *) t - G_STRUCT_OFFSET (TrajBox, t));
  g_atomic_int_inc (&box->ref_count);
  return t;
}

static void
trajectories_unref (GafTrajectories *t)
{
  TrajBox *box;

  if (t == NULL)
    return;
  box = (TrajBox *) ((char *) t - G_STRUCT_OFFSET (TrajBox, t));
  if (g_atomic_int_dec_and_test (&box->ref_count))
    {
      g_free (t->times);
      g_free (t->w);
      g_free (t->labels);
      g_free (box);
    }
}

static GafFieldGrid *
field_ref (GafFieldGrid *f)
{
  FieldBox *box = (FieldBox *) ((char *) f - G_STRUCT_OFFSET (FieldBox, f));
  g_atomic_int_inc (&box->ref_count);
  return f;
}

static void
field_unref (GafFieldGrid *f)
{
  FieldBox *box;

  if (f == NULL)
    return;
  box = (FieldBox *) ((char *) f - G_STRUCT_OFFSET (FieldBox, f));
  if (g_atomic_int_dec_and_test (&box->ref_count))
    {
      g_free (f->points);
      g_free (f->times);
      g_free (f->velocity);
      g_free (box);
    }
}

typedef struct {
  gint         ref_count;
  GafJointTables j;
} JointBox;

static GafJointTables *
joint_view_ref (GafJointTables *j)
{
  JointBox *box = (JointBox *) ((char *) j - G_STRUCT_OFFSET (JointBox, j));
  g_atomic_int_inc (&box->ref_count);
  return j;
}

static void
joint_view_unref (GafJointTables *j)
{
  JointBox *box;

  if (j == NULL)
    return;
  box = (JointBox *) ((char *) j - G_STRUCT_OFFSET (JointBox, j));
  if (g_atomic_int_dec_and_test (&box->ref_count))
    {
      g_free (j->target);
      g_free (j->model);
      g_free (box);
    }
}

typedef struct {
  gint                ref_count;
  GafLikelihoodScores l;
} ScoresBox;

static GafLikelihoodScores *
scores_ref (GafLikelihoodScores *l)
{
  ScoresBox *box = (ScoresBox *) ((char *) l - G_STRUCT_OFFSET (ScoresBox, l));
  g_atomic_int_inc (&box->ref_count);
  return l;
}

static void
scores_unref (GafLikelihoodScores *l)
{
  ScoresBox *box;

  if (l == NULL)
    return;
  box = (ScoresBox *) ((char *) l - G_STRUCT_OFFSET (ScoresBox, l));
  if (g_atomic_int_dec_and_test (&box->ref_count))
    {
      g_free (l->held_out);
      g_free (l->held_out_bpd);
      g_free (box);
    }
}

/* A new set of scores: a copy of `from` (may be NULL) to change before it is published. */
static GafLikelihoodScores *
scores_new (const GafLikelihoodScores *from)
{
  ScoresBox *box = g_new0 (ScoresBox, 1);
  GafLikelihoodScores *l = &box->l;

  box->ref_count = 1;
  if (from != NULL)
    {
      *l = *from;
      l->held_out = g_memdup2 (from->held_out, sizeof (guint16) * from->n_held_out * from->height * from->width);
      l->held_out_bpd = g_memdup2 (from->held_out_bpd, sizeof (double) * from->n_held_out);
    }
  else
    {
      l->query_bpd = NAN;
      l->query_bpd_se = NAN;
      l->query_hit_fraction = NAN;
    }
  return l;
}

GafSnapshot *
gaf_snapshot_ref (GafSnapshot *snapshot)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_atomic_int_inc (&snapshot->ref_count);
  return snapshot;
}

void
gaf_snapshot_unref (GafSnapshot *snapshot)
{
  if (snapshot == NULL || !g_atomic_int_dec_and_test (&snapshot->ref_count))
    return;
  g_free (snapshot->target_q);
  g_free (snapshot->loss_x);
  g_free (snapshot->loss_y);
  g_free (snapshot->sweep_rows);
  g_free (snapshot->eval_freq);
  g_free (snapshot->palette);
  trajectories_unref (snapshot->trajectories);
  field_unref (snapshot->field);
  joint_view_unref (snapshot->joint);
  scores_unref (snapshot->likelihood);
  g_free (snapshot);
}

/* ---- commands and the state shared with the thread ------------------------------------------------- */

typedef enum {
  CMD_TRAIN,
  CMD_SAMPLE,
  CMD_RESET,
  CMD_EXPERIMENT,
  CMD_PARAM,
  CMD_IMAGE_DATA,
  CMD_SAVE_MODEL,
  CMD_LOAD_MODEL,
  CMD_SCORE_MAP,
  CMD_SCORE_HELD_OUT,
  CMD_SWEEP,
  CMD_SWEEP_CANCEL,
  CMD_SYNC,
  CMD_QUIT,
} CommandKind;

typedef struct _Shared Shared;

typedef struct {
  CommandKind     kind;
  int             param;
  double          value;
  GafSweepConfig *sweep;
  char           *text;
  guint16        *labels;         /* a map to score */
  guint64         id;
  GTask          *task;           /* save and load: completed on the owner's main context */
  Shared         *sync;
} Command;

/* Reference-counted: the owner, the thread and every pending event hold one, so that the slot, the
 * queue and the weak reference outlive whichever finishes last. */
struct _Shared {
  gint          ref_count;
  GAsyncQueue  *commands;
  gpointer      slot;            /* GafSnapshot *, swapped atomically; owned by whoever takes it */
  GWeakRef      owner;           /* the GafRunner, for events on the main context */
  GMainContext *context;
  GMutex        lock;            /* guards `work` and the sync counter */
  GCond         cond;
  GCancellable *work;            /* cancels the long loop that runs now (sampling, sweep) */
  guint         sync_sent, sync_done;
  gint          quit;
};

static Shared *
shared_ref (Shared *sh)
{
  g_atomic_int_inc (&sh->ref_count);
  return sh;
}

static void
command_free (Command *cmd)
{
  g_free (cmd->text);
  g_free (cmd->labels);
  if (cmd->task != NULL)
    {
      /* Never handled: the runner went away first. */
      g_task_return_new_error (cmd->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the engine stopped");
      g_object_unref (cmd->task);
    }
  if (cmd->sweep != NULL)
    {
      gaf_sweep_config_clear (cmd->sweep);
      g_free (cmd->sweep);
    }
  g_free (cmd);
}

static void
shared_unref (Shared *sh)
{
  Command *cmd;

  if (!g_atomic_int_dec_and_test (&sh->ref_count))
    return;
  while ((cmd = g_async_queue_try_pop (sh->commands)) != NULL)
    command_free (cmd);
  g_async_queue_unref (sh->commands);
  gaf_snapshot_unref (g_atomic_pointer_exchange (&sh->slot, NULL));
  g_weak_ref_clear (&sh->owner);
  g_main_context_unref (sh->context);
  g_mutex_clear (&sh->lock);
  g_cond_clear (&sh->cond);
  g_clear_object (&sh->work);
  g_free (sh);
}

/* ---- events to the main thread --------------------------------------------------------------------- */

enum {
  SIGNAL_FINISHED,
  SIGNAL_FAILED,
  SIGNAL_SWEEP_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef struct {
  Shared *sh;
  guint   signal;
  GError *error;
} Event;

static void
event_free (gpointer data)
{
  Event *ev = data;

  g_clear_error (&ev->error);
  shared_unref (ev->sh);
  g_free (ev);
}

static gboolean
event_dispatch (gpointer data)
{
  Event *ev = data;
  g_autoptr(GObject) owner = g_weak_ref_get (&ev->sh->owner);

  if (owner == NULL)
    return G_SOURCE_REMOVE;   /* the runner went away meanwhile */
  if (ev->signal == SIGNAL_FAILED)
    g_signal_emit (owner, signals[SIGNAL_FAILED], 0, ev->error);
  else
    g_signal_emit (owner, signals[ev->signal], 0);
  return G_SOURCE_REMOVE;
}

static void
send_event (Shared *sh, guint signal, const GError *error)
{
  g_autoptr(GSource) source = NULL;
  Event *ev = g_new0 (Event, 1);

  ev->sh = shared_ref (sh);
  ev->signal = signal;
  ev->error = error ? g_error_copy (error) : NULL;
  /* A source attached to the owner's context, never g_main_context_invoke*: when nobody iterates that
   * context at this moment (the owner blocked in gaf_runner_sync, a CLI between iterations), invoke
   * acquires it and runs the handler inline, on this engine thread, racing with the owner. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, event_dispatch, ev, event_free);
  g_source_set_static_name (source, "[gaflow] runner event");
  g_source_attach (source, sh->context);
}

/* ---- the engine, owned by the thread ---------------------------------------------------------------- */

/* The label maps of an image experiment: both splits of a spec and what the metric compares with. */
typedef struct {
  char       *spec;           /* as the app names it (no split=) */
  GafDataset *train;
  GafDataset *test;           /* held-out maps (a folder's own maps: it has no split) */
  double     *q;              /* (H W, c) pixel class frequencies of the training maps */
  guint8     *palette;        /* (c, 3) */
  double      kl_uniform;     /* the metric for GAF_IMAGE_MAPS maps of uniform random pixels */
  double      kl_floor;       /* for GAF_IMAGE_MAPS held-out maps */
  double      agreement;      /* 4-neighbour agreement of the held-out maps */
} ImageData;

static void
image_data_free (ImageData *d)
{
  if (d == NULL)
    return;
  g_free (d->spec);
  gaf_dataset_free (d->train);
  gaf_dataset_free (d->test);
  g_free (d->q);
  g_free (d->palette);
  g_free (d);
}

typedef struct {
  Shared          *sh;
  int              threads;
  GafRunnerParams  p;
  gboolean         want_train;
  GafRunnerState   state;
  gboolean         dirty;          /* something to publish */
  guint64          serial;

  GafClassTarget  *target;
  GafNet          *net;            /* the toy CNN (class scaling, images) or the MLP (joints) */
  guint64          net_seed;       /* the seed the network was made with (its [model] group has it) */
  GafJoint        *joint;          /* joint experiments: the target; NULL otherwise */
  double          *joint_target;   /* (c, c) dense target of a joint */
  int              n, c;
  const double    *q;              /* (n, c) target marginals, owned by target or joint */
  GafTrainer      *trainer;
  int              trainer_batch;
  guint64          reset_count;

  /* Image experiments: the data of e->p.image_data (kept while the spec stays the same). */
  ImageData       *data;
  double           agreement;      /* of the last round's maps */
  gboolean         loading_data;

  /* Likelihood of label maps (image experiments). */
  GafNet          *lik_net;        /* the EMA weights frozen for this model's scores; NULL until asked */
  GafLikelihoodScores *lik;        /* published scores of the current model, NULL before any */
  guint16         *lik_query;      /* a map waiting to be scored, NULL for none */
  guint64          lik_query_id;
  gboolean         lik_held_out_wanted;
  int              lik_busy;
  double           lik_fraction;

  double           loss, loss_smooth;
  double           elapsed;
  double           rate;
  gint64           rate_t0;
  guint64          rate_step0;
  gint64           last_sample, last_publish;
  gboolean         sample_pending;
  gboolean         sampling;
  GArray          *bin_x, *bin_y;  /* double */
  guint64          bin_stride, bin_count;
  double           bin_sum;

  GafTrajectories *traj;
  GafFieldGrid    *field;
  GafJointTables    *joint_view;
  guint64          eval_step, eval_samples;
  double           eval_kl, eval_kl_uniform, eval_kl_floor;
  double          *eval_freq;      /* (n, c) */

  GafSweepConfig  *sweep;          /* pending or running */
  GArray          *sweep_rows;     /* GafSweepRow */
  guint            sweep_total;
  double           sweep_fraction;
  int              sweep_classes;
  int              sweep_method;
  gboolean         sweeping;
  gboolean         sweep_cancel;
} Engine;

static gboolean
engine_images (Engine *e)
{
  return e->p.experiment == GAF_EXPERIMENT_IMAGES;
}

static int
pint (Engine *e, GafParam p)
{
  return (int) e->p.value[p];
}

static double
pdbl (Engine *e, GafParam p)
{
  return e->p.value[p];
}

static void
target_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  gaf_class_target_sample (user_data, rng, labels, batch);
}

static GafLabelFunc
engine_labels (Engine *e)
{
  if (e->data != NULL && engine_images (e))
    return gaf_dataset_sample;
  return e->joint != NULL ? gaf_joint_sample : target_labels;
}

static gpointer
engine_label_data (Engine *e)
{
  if (e->data != NULL && engine_images (e))
    return e->data->train;
  return e->joint != NULL ? (gpointer) e->joint : (gpointer) e->target;
}

static void
engine_trainer_config (Engine *e, GafTrainerConfig *cfg)
{
  gaf_trainer_config_init (cfg);
  cfg->batch = pint (e, engine_images (e) ? GAF_PARAM_IMAGE_BATCH : GAF_PARAM_BATCH);
  cfg->adam.lr = pdbl (e, GAF_PARAM_LEARNING_RATE);
  cfg->path.lambda = pdbl (e, GAF_PARAM_LAMBDA);
  cfg->path.time_rate = pdbl (e, GAF_PARAM_TIME_RATE);
  cfg->ema_decay = APP_EMA_DECAY;
  /* A new trainer (batch change) gets a fresh stream, so it does not replay the first batches. */
  cfg->seed = (guint64) pint (e, GAF_PARAM_SEED) * 1000003ull + (e->net ? gaf_net_get_params (e->net)->step : 0);
}

static void
engine_clear_history (Engine *e)
{
  g_array_set_size (e->bin_x, 0);
  g_array_set_size (e->bin_y, 0);
  e->bin_stride = 1;
  e->bin_count = 0;
  e->bin_sum = 0.0;
  e->loss = NAN;
  e->loss_smooth = NAN;
  e->elapsed = 0.0;
  e->rate = 0.0;
  e->rate_t0 = 0;
  g_clear_pointer (&e->traj, trajectories_unref);
  g_clear_pointer (&e->field, field_unref);
  g_clear_pointer (&e->joint_view, joint_view_unref);
  e->eval_samples = 0;
  g_clear_pointer (&e->eval_freq, g_free);
}

static void engine_publish (Engine *e);

/* Label maps of the app: at most this many pixels per map and classes (GAF_IMAGE_MAPS maps of
 * trajectories are kept in every snapshot). */
#define IMAGE_MAX_PIXELS  4096
#define IMAGE_MAX_CLASSES 32

static void
engine_clear_image_data (Engine *e)
{
  g_clear_pointer (&e->data, image_data_free);
}

/* The training and held-out splits of a dataset spec: Fashion-MNIST and the scenes take ",split=..."; a
 * folder has no split, so its maps are also the held-out ones. */
static char *
split_spec (const char *spec, const char *split)
{
  if (g_str_has_prefix (spec, "folder:"))
    return g_strdup (spec);
  return g_strdup_printf ("%s%ssplit=%s", spec, strchr (spec, ':') ? "," : ":", split);
}

/* Mean per-pixel KL (smoothed) of GAF_IMAGE_MAPS maps drawn by `draw` against the held-out maps. */
static double
reference_kl (const GafDataset *test, GafLabelFunc draw, gpointer data, guint64 seed)
{
  gsize n = gaf_dataset_pixels (test);
  g_autofree guint16 *maps = g_new (guint16, (gsize) GAF_IMAGE_MAPS * n);
  GafRng rng;

  gaf_rng_init (&rng, seed);
  draw (data, &rng, maps, GAF_IMAGE_MAPS);
  return gaf_label_maps_marginal_kl (maps, GAF_IMAGE_MAPS, test->labels, test->count, n, test->c);
}

/* Reads both splits of a spec with their palette, pixel frequencies and the reference values of the
 * metric. Touches no engine state. */
static ImageData *
image_data_load (const char *spec, GError **error)
{
  g_autofree char *train_spec = NULL, *test_spec = NULL;
  g_autoptr(GafDataset) train = NULL, test = NULL;
  g_autofree double *uniform = NULL;
  g_autoptr(GafIndependentSampler) noise = NULL;
  ImageData *d;
  gsize n;

  if (strstr (spec, "split=") != NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "image data “%s”: the app takes the training and the held-out split itself (no split=)", spec);
      return NULL;
    }
  train_spec = split_spec (spec, "train");
  test_spec = split_spec (spec, "test");
  train = gaf_dataset_new_from_spec (train_spec, error);
  if (train == NULL)
    return NULL;
  test = gaf_dataset_new_from_spec (test_spec, error);
  if (test == NULL)
    return NULL;
  if (gaf_dataset_pixels (train) > IMAGE_MAX_PIXELS || train->c > IMAGE_MAX_CLASSES || train->count == 0 ||
      test->count == 0 || test->c != train->c || test->height != train->height || test->width != train->width)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "image data “%s”: the app shows maps of at most %d pixels with at most %d classes "
                   "(these have %d x %d pixels, %d classes)", spec, IMAGE_MAX_PIXELS, IMAGE_MAX_CLASSES,
                   train->width, train->height, train->c);
      return NULL;
    }
  d = g_new0 (ImageData, 1);
  d->spec = g_strdup (spec);
  d->train = g_steal_pointer (&train);
  d->test = g_steal_pointer (&test);
  d->q = gaf_dataset_marginals (d->train);
  d->palette = gaf_dataset_new_palette (d->train);
  n = gaf_dataset_pixels (d->test);
  uniform = g_new (double, n * d->test->c);
  for (gsize i = 0; i < n * d->test->c; i++)
    uniform[i] = 1.0 / d->test->c;
  noise = gaf_independent_sampler_new (uniform, n, d->test->c);
  d->kl_uniform = reference_kl (d->test, gaf_independent_sampler_sample, noise, 17);
  d->kl_floor = reference_kl (d->test, gaf_dataset_sample, d->test, 18);
  d->agreement = gaf_label_maps_neighbour_agreement (d->test->labels, d->test->count, d->test->height,
                                                     d->test->width);
  return d;
}

static const double placeholder_q[2] = { 0.5, 0.5 };

/* Reads the image data of e->p.image_data unless they are loaded already. */
static gboolean
engine_load_image_data (Engine *e, GError **error)
{
  ImageData *d;

  if (e->data != NULL && g_strcmp0 (e->data->spec, e->p.image_data) == 0)
    return TRUE;
  engine_clear_image_data (e);
  /* Reading Fashion-MNIST takes a second or two: say so meanwhile (a placeholder shape, nothing to draw). */
  e->loading_data = TRUE;
  e->n = 1;
  e->c = 2;
  e->q = placeholder_q;
  engine_publish (e);
  d = image_data_load (e->p.image_data, error);
  e->loading_data = FALSE;
  e->dirty = TRUE;
  if (d == NULL)
    return FALSE;
  e->data = d;
  return TRUE;
}

/* The image network from the model factory: the UNet of SPEC §3 at the app's size (base channels from
 * GAF_PARAM_IMAGE_WIDTH, multipliers 1, 2, 2, one residual block per level, attention in the middle only). */
static GafNet *
engine_image_net (Engine *e, guint64 seed, GError **error)
{
  GafModelConfig cfg;

  gaf_model_config_init (&cfg, GAF_MODEL_UNET, e->n, e->c, seed);
  cfg.unet.height = e->data->train->height;
  cfg.unet.width = e->data->train->width;
  cfg.unet.channels = pint (e, GAF_PARAM_IMAGE_WIDTH);
  cfg.unet.n_levels = 3;
  cfg.unet.mult[0] = 1;
  cfg.unet.mult[1] = 2;
  cfg.unet.mult[2] = 2;
  cfg.unet.blocks = 1;
  cfg.unet.n_attn = 0;
  return gaf_model_new (&cfg, error);
}

/* Scores belong to one model: a new model starts without them. (A scoring running now holds its own
 * network and notices the new model when it ends.) */
static void
engine_clear_likelihood (Engine *e)
{
  g_clear_pointer (&e->lik_net, gaf_net_free);
  g_clear_pointer (&e->lik, scores_unref);
  g_clear_pointer (&e->lik_query, g_free);
  e->lik_held_out_wanted = FALSE;
}

static void
engine_clear_model (Engine *e)
{
  g_clear_pointer (&e->trainer, gaf_trainer_free);
  g_clear_pointer (&e->net, gaf_net_free);
  g_clear_pointer (&e->target, gaf_class_target_free);
  g_clear_pointer (&e->joint, gaf_joint_free);
  g_clear_pointer (&e->joint_target, g_free);
}

/* (Re)builds target, network and trainer from the parameters. The experiment decides what trains.
 * `loaded` (taken), when not NULL, is the network to train instead of a fresh one (made with net_seed),
 * with its trainer's configuration `tcfg`: a model read from a checkpoint. */
static void
engine_build_with (Engine *e, GafNet *loaded, guint64 loaded_seed, const GafTrainerConfig *loaded_tcfg)
{
  guint64 seed = (guint64) pint (e, GAF_PARAM_SEED);
  g_autoptr(GError) error = NULL;
  GafTrainerConfig tcfg;

  engine_clear_model (e);
  engine_clear_history (e);
  engine_clear_likelihood (e);
  e->reset_count++;
  e->dirty = TRUE;

  if (engine_images (e))
    {
      if (!engine_load_image_data (e, &error))
        {
          engine_clear_image_data (e);
          e->n = 1;
          e->c = 2;
          e->q = placeholder_q;
          e->state = GAF_RUNNER_FAILED;
          e->want_train = FALSE;
          e->sample_pending = FALSE;
          send_event (e->sh, SIGNAL_FAILED, error);
          gaf_net_free (loaded);
          return;
        }
      e->n = (int) gaf_dataset_pixels (e->data->train);
      e->c = e->data->train->c;
      e->q = e->data->q;
      e->net_seed = seed ^ 0x1a9e5ull;
      e->net = loaded != NULL ? NULL : engine_image_net (e, e->net_seed, &error);
      if (e->net == NULL && loaded == NULL)
        {
          /* Sizes the UNet cannot take (sides not divisible by 4). */
          e->state = GAF_RUNNER_FAILED;
          e->want_train = FALSE;
          e->sample_pending = FALSE;
          send_event (e->sh, SIGNAL_FAILED, error);
          return;
        }
    }
  else if (gaf_experiment_is_joint (e->p.experiment))
    {
      GafMlpConfig mcfg;

      /* SPEC §5 coupled joints: P(equal) = 0.9 for two binary variables; the pinwheel on a 16 x 16 grid,
       * small enough for the app's rounds of samples to show its histogram. */
      e->joint = e->p.experiment == GAF_EXPERIMENT_COUPLED ? gaf_joint_new_coupled_binary (0.9)
                                                            : gaf_joint_new_pinwheel (16);
      e->n = e->joint->n;
      e->c = e->joint->c;
      e->q = e->joint->marginals;
      e->joint_target = gaf_joint_dense2 (e->joint);
      gaf_mlp_config_init (&mcfg, e->n, e->c);
      mcfg.hidden = pint (e, GAF_PARAM_WIDTH);
      mcfg.input_scale = e->c;   /* mean-1 inputs, as gaflow-cli train does for the MLP */
      e->net_seed = seed ^ 0x3a1full;
      e->net = loaded != NULL ? NULL : GAF_NET (gaf_mlp_new (&mcfg, e->net_seed));
    }
  else
    {
      /* The target is drawn from the seed as the sweep does for this c, so the app and the CLI agree. */
      e->n = 4;
      e->c = pint (e, GAF_PARAM_CLASSES);
      e->target = gaf_class_target_new (e->n, e->c, seed + 1000003ull * e->c);
      e->q = e->target->q;
      if (e->p.experiment == GAF_EXPERIMENT_SCALING)
        {
          GafToyCnnConfig ncfg;
          gaf_toy_cnn_config_init (&ncfg, e->n, e->c);
          ncfg.hidden = pint (e, GAF_PARAM_WIDTH);
          ncfg.fourier_half = ncfg.hidden / 2;
          ncfg.time_scale = APP_TIME_SCALE;
          ncfg.input_scale = e->c;
          e->net_seed = seed ^ (0x9e37ull * e->c);
          e->net = loaded != NULL ? NULL : GAF_NET (gaf_toy_cnn_new (&ncfg, e->net_seed));
        }
    }
  if (loaded != NULL)
    {
      e->net = loaded;
      e->net_seed = loaded_seed;
    }
  if (e->net != NULL)
    {
      engine_trainer_config (e, &tcfg);
      if (loaded_tcfg != NULL)
        tcfg = *loaded_tcfg;
      e->trainer = gaf_trainer_new (e->net, engine_labels (e), engine_label_data (e), &tcfg);
      e->trainer_batch = tcfg.batch;
      e->state = e->want_train ? GAF_RUNNER_TRAINING : GAF_RUNNER_PAUSED;
    }
  else
    e->state = GAF_RUNNER_EXACT;
  e->sample_pending = TRUE;   /* trajectories at once, even from an untrained network */
}

static void
engine_build (Engine *e)
{
  engine_build_with (e, NULL, 0, NULL);
}

/* ---- model files ------------------------------------------------------------------------------------ */

/* A checkpoint of the app: [model] (gaf-model.h), [train] (gaf-trainer.h), and [app] with the experiment and
 * every runner parameter, so that opening it gives the same experiment (the class-scaling target is drawn
 * from the seed and c). Image experiments also write [data] as gaflow-cli's image `train` does (spec of
 * the training split, classes, height, width, maps, palette, description), so `gaflow-cli sample` reads
 * the app's files, and the app opens that command's checkpoints (which have no [app]). */
#define APP_GROUP  "app"
#define DATA_GROUP "data"

static const char *const palette_names[] = { "gray", "scenes", "classes" };

static void
params_to_keyfile (const GafRunnerParams *p, GKeyFile *kf)
{
  g_key_file_remove_group (kf, APP_GROUP, NULL);
  g_key_file_set_string (kf, APP_GROUP, "experiment", experiment_names[p->experiment]);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    g_key_file_set_double (kf, APP_GROUP, param_info[i].key, p->value[i]);
  g_key_file_set_string (kf, APP_GROUP, "image-data", p->image_data);
}

/* Keys that are absent keep p's values; every present one must parse. */
static gboolean
params_from_keyfile (GafRunnerParams *p, GKeyFile *kf, const char *path, GError **error)
{
  g_autofree char *experiment = g_key_file_get_string (kf, APP_GROUP, "experiment", NULL);
  g_autofree char *image_data = g_key_file_get_string (kf, APP_GROUP, "image-data", NULL);

  if (experiment == NULL || !gaf_experiment_from_string (g_strstrip (experiment), &p->experiment))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [" APP_GROUP "] experiment = %s is not an experiment of the app",
                   path, experiment ? experiment : "(missing)");
      return FALSE;
    }
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (g_key_file_has_key (kf, APP_GROUP, param_info[i].key, NULL))
      {
        GError *local = NULL;
        double v = g_key_file_get_double (kf, APP_GROUP, param_info[i].key, &local);
        if (local != NULL)
          {
            g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [" APP_GROUP "] %s: %s", path, param_info[i].key,
                         local->message);
            g_error_free (local);
            return FALSE;
          }
        p->value[i] = v;
      }
  if (image_data != NULL)
    {
      if (image_data[0] == '\0' || strlen (image_data) >= sizeof p->image_data)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [" APP_GROUP "] image-data is empty or too long", path);
          return FALSE;
        }
      g_strlcpy (p->image_data, image_data, sizeof p->image_data);
    }
  gaf_runner_params_clamp (p);
  return TRUE;
}

static gboolean
is_image_spec (const char *spec)
{
  return g_str_has_prefix (spec, "fashion-mnist") || g_str_has_prefix (spec, "scenes") ||
         g_str_has_prefix (spec, "folder:");
}

/* A training split's spec as the app names the data: without split= (a folder's spec as it is). */
static char *
app_image_spec (const char *spec)
{
  const char *colon = strchr (spec, ':');
  g_auto(GStrv) tokens = NULL;
  GString *out;

  if (colon == NULL || g_str_has_prefix (spec, "folder:"))
    return g_strdup (spec);
  out = g_string_new_len (spec, colon - spec);
  tokens = g_strsplit (colon + 1, ",", -1);
  for (guint i = 0, n = 0; tokens[i] != NULL; i++)
    if (tokens[i][0] != '\0' && !g_str_has_prefix (tokens[i], "split="))
      g_string_append_printf (out, "%s%s", n++ ? "," : ":", tokens[i]);
  return g_string_free (out, FALSE);
}

static void
ignore_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  g_assert_not_reached ();   /* a trainer only restored into, never stepped */
}

/* The variables and classes of an experiment's sequences. */
static void
experiment_shape (const GafRunnerParams *p, const ImageData *data, int *n, int *c)
{
  switch (p->experiment)
    {
    case GAF_EXPERIMENT_IMAGES:
      *n = (int) gaf_dataset_pixels (data->train);
      *c = data->train->c;
      break;
    case GAF_EXPERIMENT_COUPLED:
      *n = 2;
      *c = 2;
      break;
    case GAF_EXPERIMENT_PINWHEEL:
      *n = 2;
      *c = 16;
      break;
    default:
      *n = 4;
      *c = (int) p->value[GAF_PARAM_CLASSES];
    }
}

/* Opens a checkpoint and makes it the model: everything that can fail (the file, its groups, the network,
 * the data it names, the shapes) is checked before anything is replaced, so a bad file leaves the model
 * as it was. Training resumes from the saved step, Adam state, EMA and RNG. */
static gboolean engine_load_checkpoint (Engine *e, const char *path, GError **error);

/* A checkpoint or a model trained elsewhere (.safetensors, gaf-torch-map.h), imported through a temporary
 * checkpoint; a file that names no data gets the current image data (the window asked first). */
static gboolean
engine_load_model (Engine *e, const char *path, GError **error)
{
  g_autofree char *dir = NULL, *base = NULL, *tmp = NULL;
  gboolean ok;

  if (!g_str_has_suffix (path, ".safetensors"))
    return engine_load_checkpoint (e, path, error);
  dir = g_dir_make_tmp ("gaflow-import-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  base = g_path_get_basename (path);
  tmp = g_strconcat (dir, G_DIR_SEPARATOR_S, base, ".gafck", NULL);
  ok = gaf_torch_write_checkpoint (path, e->p.image_data, tmp, error) && engine_load_checkpoint (e, tmp, error);
  g_unlink (tmp);
  g_rmdir (dir);
  return ok;
}

static gboolean
engine_load_checkpoint (Engine *e, const char *path, GError **error)
{
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GafTrainer) probe = NULL;
  GafRunnerParams p = e->p;
  GafModelConfig mc;
  GafTrainerConfig tcfg;
  ImageData *data = NULL;
  GafNet *net = NULL;
  GKeyFile *kf;
  guint64 step;
  int n, c;

  ck = gaf_checkpoint_load (path, error);
  if (ck == NULL)
    return FALSE;
  kf = gaf_checkpoint_get_config (ck);
  if (g_key_file_has_group (kf, APP_GROUP))
    {
      if (!params_from_keyfile (&p, kf, path, error))
        return FALSE;
    }
  else
    {
      g_autofree char *spec = g_key_file_get_string (kf, DATA_GROUP, "spec", NULL);
      g_autofree char *app_spec = NULL;

      if (spec == NULL || !is_image_spec (spec))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: not a model of an experiment of the app (no [" APP_GROUP "] group, no image [" DATA_GROUP "] spec)",
                       path);
          return FALSE;
        }
      app_spec = app_image_spec (spec);
      if (strlen (app_spec) >= sizeof p.image_data)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [" DATA_GROUP "] spec is too long", path);
          return FALSE;
        }
      p.experiment = GAF_EXPERIMENT_IMAGES;
      g_strlcpy (p.image_data, app_spec, sizeof p.image_data);
    }
  if (p.experiment == GAF_EXPERIMENT_EXACT)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: the exact field has no network to open", path);
      return FALSE;
    }
  if (!gaf_model_config_from_keyfile (&mc, kf, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (p.experiment == GAF_EXPERIMENT_IMAGES && (e->data == NULL || g_strcmp0 (e->data->spec, p.image_data) != 0))
    {
      data = image_data_load (p.image_data, error);
      if (data == NULL)
        goto fail;
    }
  experiment_shape (&p, data ? data : e->data, &n, &c);
  net = gaf_model_new (&mc, error);
  if (net == NULL)
    goto fail;
  if (net->n != n || net->in_channels != c || net->out_channels != c)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "the network takes %d variables of %d classes; its experiment (%s) has %d of %d",
                   net->n, net->in_channels, experiment_names[p.experiment], n, c);
      goto fail;
    }
  /* The trainer's configuration: the parameters' values, then whatever [train] says. */
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = (int) p.value[p.experiment == GAF_EXPERIMENT_IMAGES ? GAF_PARAM_IMAGE_BATCH : GAF_PARAM_BATCH];
  tcfg.adam.lr = p.value[GAF_PARAM_LEARNING_RATE];
  tcfg.path.lambda = p.value[GAF_PARAM_LAMBDA];
  tcfg.path.time_rate = p.value[GAF_PARAM_TIME_RATE];
  tcfg.ema_decay = APP_EMA_DECAY;
  if (!gaf_trainer_config_from_keyfile (&tcfg, kf, error))
    goto fail;
  probe = gaf_trainer_new (net, ignore_labels, NULL, &tcfg);
  if (!gaf_trainer_restore_checkpoint (probe, ck, error))
    goto fail;
  g_clear_pointer (&probe, gaf_trainer_free);
  step = gaf_checkpoint_get_step (ck);

  /* The panel shows what trains now. */
  p.value[GAF_PARAM_LEARNING_RATE] = tcfg.adam.lr;
  p.value[GAF_PARAM_LAMBDA] = tcfg.path.lambda;
  p.value[GAF_PARAM_TIME_RATE] = tcfg.path.time_rate;
  p.value[p.experiment == GAF_EXPERIMENT_IMAGES ? GAF_PARAM_IMAGE_BATCH : GAF_PARAM_BATCH] = tcfg.batch;
  if (mc.kind == GAF_MODEL_UNET)
    p.value[GAF_PARAM_IMAGE_WIDTH] = mc.unet.channels;
  gaf_runner_params_clamp (&p);

  /* Nothing can fail from here on. */
  e->p = p;
  if (data != NULL)
    {
      engine_clear_image_data (e);
      e->data = data;
    }
  engine_build_with (e, net, mc.seed, &tcfg);
  if (!gaf_trainer_restore_checkpoint (e->trainer, ck, error))
    g_assert_not_reached ();   /* it did restore into the same network above */
  if (step >= (guint64) pint (e, GAF_PARAM_BUDGET))
    e->state = GAF_RUNNER_DONE;
  e->dirty = TRUE;
  return TRUE;

fail:
  g_prefix_error (error, "%s: ", path);
  gaf_net_free (net);
  image_data_free (data);
  return FALSE;
}

static gboolean
engine_save_model (Engine *e, const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafModelConfig mc;

  if (e->net == NULL || e->trainer == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   e->state == GAF_RUNNER_EXACT ? "the exact field has no network to save" : "there is no model to save");
      return FALSE;
    }
  if (!gaf_model_config_from_net (&mc, e->net, e->net_seed))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the %s network cannot be saved", e->net->klass->name);
      return FALSE;
    }
  gaf_model_config_to_keyfile (&mc, kf);
  params_to_keyfile (&e->p, kf);
  if (engine_images (e) && e->data != NULL)
    {
      const GafDataset *d = e->data->train;
      g_key_file_set_string (kf, DATA_GROUP, "spec", d->name);
      g_key_file_set_integer (kf, DATA_GROUP, "classes", d->c);
      g_key_file_set_integer (kf, DATA_GROUP, "height", d->height);
      g_key_file_set_integer (kf, DATA_GROUP, "width", d->width);
      g_key_file_set_uint64 (kf, DATA_GROUP, "maps", d->count);
      g_key_file_set_string (kf, DATA_GROUP, "palette", palette_names[d->palette]);
      g_key_file_set_string (kf, DATA_GROUP, "description", d->description);
    }
  return gaf_trainer_save_checkpoint (e->trainer, path, kf, error);
}

static guint64
engine_step (Engine *e)
{
  return e->net ? gaf_net_get_params (e->net)->step : 0;
}

static void
history_add (Engine *e, double loss)
{
  e->bin_sum += loss;
  e->bin_count++;
  if (e->bin_count < e->bin_stride)
    return;
  {
    double x = (double) engine_step (e), y = e->bin_sum / e->bin_count;
    g_array_append_val (e->bin_x, x);
    g_array_append_val (e->bin_y, y);
  }
  e->bin_sum = 0.0;
  e->bin_count = 0;
  if (e->bin_x->len >= LOSS_BINS)
    {
      /* Merge neighbours: the history stays bounded and covers the whole run. */
      guint half = e->bin_x->len / 2;
      for (guint i = 0; i < half; i++)
        {
          g_array_index (e->bin_x, double, i) = g_array_index (e->bin_x, double, 2 * i + 1);
          g_array_index (e->bin_y, double, i) =
            0.5 * (g_array_index (e->bin_y, double, 2 * i) + g_array_index (e->bin_y, double, 2 * i + 1));
        }
      g_array_set_size (e->bin_x, half);
      g_array_set_size (e->bin_y, half);
      e->bin_stride *= 2;
    }
}

static void
engine_publish (Engine *e)
{
  GafSnapshot *s = g_new0 (GafSnapshot, 1);
  int n = e->n, c = e->c;

  s->ref_count = 1;
  s->serial = ++e->serial;
  s->state = e->state;
  s->sampling = e->sampling;
  s->params = e->p;
  s->n = n;
  s->c = c;
  s->target_q = g_memdup2 (e->q, sizeof (double) * n * c);
  s->step = engine_step (e);
  s->loss = e->loss;
  s->loss_smooth = e->loss_smooth;
  s->steps_per_second = e->rate;
  s->elapsed = e->elapsed;
  s->n_loss = e->bin_x->len;
  s->loss_x = g_memdup2 (e->bin_x->data, sizeof (double) * MAX (1, s->n_loss));
  s->loss_y = g_memdup2 (e->bin_y->data, sizeof (double) * MAX (1, s->n_loss));
  s->eval_step = e->eval_step;
  s->eval_samples = e->eval_samples;
  s->eval_kl = e->eval_kl;
  s->eval_kl_uniform = e->eval_kl_uniform;
  s->eval_kl_floor = e->eval_kl_floor;
  s->eval_freq = e->eval_freq ? g_memdup2 (e->eval_freq, sizeof (double) * n * c) : NULL;
  s->trajectories = e->traj ? trajectories_ref (e->traj) : NULL;
  s->field = e->field ? field_ref (e->field) : NULL;
  s->joint = e->joint_view ? joint_view_ref (e->joint_view) : NULL;
  s->sweeping = e->sweeping;
  s->sweep_total = e->sweep_total;
  s->sweep_fraction = e->sweep_fraction;
  s->sweep_classes = e->sweep_classes;
  s->sweep_method = e->sweep_method;
  s->n_sweep_rows = e->sweep_rows->len;
  s->sweep_rows = g_memdup2 (e->sweep_rows->data, sizeof (GafSweepRow) * MAX (1, s->n_sweep_rows));
  s->loading_data = e->loading_data;
  if (engine_images (e) && e->data != NULL)
    {
      s->height = e->data->train->height;
      s->width = e->data->train->width;
      s->palette = g_memdup2 (e->data->palette, (gsize) 3 * e->data->train->c);
      s->agreement_data = e->data->agreement;
    }
  s->agreement = e->agreement;
  if (e->net != NULL)
    {
      s->model_kind = e->net->klass->name;
      s->model_params = gaf_net_get_params (e->net)->size;
    }
  s->model_serial = e->reset_count;
  s->likelihood = e->lik ? scores_ref (e->lik) : NULL;
  s->likelihood_busy = e->lik_busy;
  s->likelihood_fraction = e->lik_fraction;

  /* The slot holds at most one snapshot nobody took yet; a newer one replaces it. */
  gaf_snapshot_unref (g_atomic_pointer_exchange (&e->sh->slot, s));
  e->last_publish = g_get_monotonic_time ();
  e->dirty = FALSE;
}

static GCancellable *
engine_begin_work (Engine *e)
{
  GCancellable *c = g_cancellable_new ();

  g_mutex_lock (&e->sh->lock);
  g_set_object (&e->sh->work, c);
  if (g_atomic_int_get (&e->sh->quit))
    g_cancellable_cancel (c);
  g_mutex_unlock (&e->sh->lock);
  return c;
}

static void
engine_end_work (Engine *e, GCancellable *c)
{
  g_mutex_lock (&e->sh->lock);
  g_clear_object (&e->sh->work);
  g_mutex_unlock (&e->sh->lock);
  g_object_unref (c);
}

typedef struct {
  GafClassTarget *target;
  double          lambda;
} ExactField;

static void
exact_field (gpointer user_data, double t, const float *v, float *dv, gsize count)
{
  ExactField *x = user_data;
  gaf_class_target_oracle_field (x->target, x->lambda, t, v, dv, (int) (count / (x->target->n * x->target->c)));
}

/* The field dW/dt = R_W F on the interior lattice of S_3, for position 0, at FIELD_TIMES times in [0, T]. */
static GafFieldGrid *
engine_field_grid (Engine *e, double t_end)
{
  int n = e->n, c = e->c;
  FieldBox *box;
  GafFieldGrid *f;
  guint np = 0;
  float *x, *t, *out;

  if (c != 3 || engine_images (e))
    return NULL;
  box = g_new0 (FieldBox, 1);
  box->ref_count = 1;
  f = &box->f;
  f->c = c;
  f->position = 0;
  f->n_times = FIELD_TIMES;
  f->n_points = (FIELD_LATTICE - 1) * (FIELD_LATTICE - 2) / 2;
  f->points = g_new (float, (gsize) f->n_points * c);
  f->times = g_new (double, f->n_times);
  f->velocity = g_new (float, (gsize) f->n_times * f->n_points * c);
  for (int i = 1; i < FIELD_LATTICE; i++)
    for (int j = 1; i + j < FIELD_LATTICE; j++)
      {
        int k = FIELD_LATTICE - i - j;
        f->points[np * 3 + 0] = (float) i / FIELD_LATTICE;
        f->points[np * 3 + 1] = (float) j / FIELD_LATTICE;
        f->points[np * 3 + 2] = (float) k / FIELD_LATTICE;
        np++;
      }
  g_assert (np == f->n_points);

  /* Sequences (n_points, n, c): position 0 on the lattice, the others at the barycentre. */
  x = g_new (float, (gsize) np * n * c);
  t = g_new (float, np);
  out = g_new (float, (gsize) np * n * c);
  for (guint g = 0; g < np; g++)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < c; j++)
        x[((gsize) g * n + i) * c + j] = i == 0 ? f->points[g * c + j] : 1.0f / c;
  for (guint k = 0; k < f->n_times; k++)
    {
      double tk = t_end * k / (f->n_times - 1);
      f->times[k] = tk;
      if (e->net != NULL)
        {
          for (guint g = 0; g < np; g++)
            t[g] = (float) tk;
          gaf_net_infer (e->net, x, t, (int) np, out);
        }
      else
        {
          /* The oracle reads logits: log W differs from Pi_0 log W by a per-row constant it ignores. */
          float *v = g_new (float, (gsize) np * n * c);
          for (gsize i = 0; i < (gsize) np * n * c; i++)
            v[i] = logf (x[i]);
          gaf_class_target_oracle_field (e->target, pdbl (e, GAF_PARAM_LAMBDA), tk, v, out, (int) np);
          g_free (v);
        }
      for (guint g = 0; g < np; g++)
        gaf_replicator (f->points + g * c, out + (gsize) g * n * c, f->velocity + ((gsize) k * np + g) * c, c);
    }
  g_free (x);
  g_free (t);
  g_free (out);
  return f;
}

/* One sampling round: `samples` sequences with the user's sampler; the rows of the first
 * TRAJECTORY_SEQUENCES recorded; the histogram KL as the evaluation metric; the field grid. */
static void
engine_sample (Engine *e)
{
  int n = e->n, c = e->c;
  /* A joint's histogram has c^2 cells: at least 8 samples a cell on average (at most 4096 sequences).
   * Label maps: the grid of GAF_IMAGE_MAPS, every pixel recorded. */
  guint64 count = engine_images (e) ? GAF_IMAGE_MAPS
                : e->joint != NULL ? MAX ((guint64) pint (e, GAF_PARAM_SAMPLES), MIN (8ull * c * c, 4096ull))
                                   : (guint64) pint (e, GAF_PARAM_SAMPLES);
  guint n_seq = engine_images (e) ? (guint) count : (guint) MIN (count, TRAJECTORY_SEQUENCES);
  guint n_rows = n_seq * n;
  g_autofree guint *rows = g_new (guint, n_rows);
  g_autofree guint16 *labels = g_new (guint16, count * n);
  g_autofree guint64 *counts = g_new (guint64, (gsize) n * c);
  g_autoptr(GafTrajectory) rec = NULL;
  g_autoptr(GError) error = NULL;
  GafSamplerConfig scfg;
  GCancellable *cancel;
  GafRng rng;
  gboolean ok;
  TrajBox *box;
  GafTrajectories *tr;

  e->sample_pending = FALSE;
  if (e->net == NULL && e->target == NULL)
    return;   /* no model (the data could not be read) */
  e->sampling = TRUE;
  engine_publish (e);

  for (guint r = 0; r < n_rows; r++)
    rows[r] = r;
  rec = gaf_trajectory_new (1, rows, n_rows);
  gaf_sampler_config_init (&scfg);
  scfg.integrator = (GafIntegrator) pint (e, GAF_PARAM_INTEGRATOR);
  scfg.step_size = pdbl (e, GAF_PARAM_STEP_SIZE);
  scfg.t_end = pdbl (e, GAF_PARAM_T_END);
  /* A new stream per round, reproducible from the seed, the model generation and the step. */
  gaf_rng_init_stream (&rng, (guint64) pint (e, GAF_PARAM_SEED) * 31 + e->reset_count, 0x5a3e00 + engine_step (e));

  cancel = engine_begin_work (e);
  if (e->net != NULL)
    {
      GafParams *params = gaf_net_get_params (e->net);
      gaf_params_swap_ema (params);   /* sample with the averaged weights */
      ok = gaf_sample_flow (e->net, &scfg, &rng, count, (int) count, labels, NULL, rec,
                            NULL, NULL, cancel, &error);
      if (ok)
        {
          g_clear_pointer (&e->field, field_unref);
          e->field = engine_field_grid (e, scfg.t_end);
        }
      gaf_params_swap_ema (params);
    }
  else
    {
      ExactField xf = { e->target, pdbl (e, GAF_PARAM_LAMBDA) };
      gsize total = (gsize) count * n;
      g_autofree float *v = g_new (float, total * c);

      for (gsize i = 0; i < total * c; i++)
        v[i] = (float) gaf_rng_normal (&rng);
      gaf_project_tangent_rows (v, total, c);
      ok = gaf_integrate (&scfg, exact_field, &xf, v, total, c, rec, cancel, &error);
      for (gsize r = 0; ok && r < total; r++)
        labels[r] = (guint16) gaf_argmax (v + r * c, c);
      if (ok)
        {
          g_clear_pointer (&e->field, field_unref);
          e->field = engine_field_grid (e, scfg.t_end);
        }
    }
  engine_end_work (e, cancel);
  e->sampling = FALSE;
  e->last_sample = g_get_monotonic_time ();
  e->dirty = TRUE;

  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          e->state = GAF_RUNNER_FAILED;
          send_event (e->sh, SIGNAL_FAILED, error);
        }
      return;
    }

  box = g_new0 (TrajBox, 1);
  box->ref_count = 1;
  tr = &box->t;
  tr->n = n;
  tr->c = c;
  tr->n_rows = n_rows;
  tr->n_times = rec->times->len;
  tr->times = g_memdup2 (rec->times->data, sizeof (double) * tr->n_times);
  tr->w = g_memdup2 (rec->w->data, sizeof (float) * rec->w->len);
  tr->labels = g_memdup2 (labels, sizeof (guint16) * n_rows);
  tr->step = engine_step (e);
  g_clear_pointer (&e->traj, trajectories_unref);
  e->traj = tr;

  gaf_histogram (labels, count, n, c, counts);
  if (e->joint != NULL)
    {
      /* The joint metric of SPEC §5: KL between the empirical joint of the samples and the target, beside
       * a uniform sampler's KL over the c^2 cells and the finite-sample floor (c^2 - 1)/(2N). */
      g_autoptr(GafJoint) model = gaf_joint_new_empirical (n, c, labels, count, "samples");
      GafJointMetrics m;
      JointBox *jb = g_new0 (JointBox, 1);
      double uniform = 0.0;

      gaf_joint_compare (model, e->joint, &m);
      for (int i = 0; i < c * c; i++)
        uniform += log ((1.0 / (c * c)) / e->joint_target[i]) / (c * c);
      jb->ref_count = 1;
      jb->j.c = c;
      jb->j.target = g_memdup2 (e->joint_target, sizeof (double) * c * c);
      jb->j.model = gaf_joint_dense2 (model);
      jb->j.samples = count;
      jb->j.step = engine_step (e);
      jb->j.kl = m.kl;
      jb->j.kl_marginal = m.kl_marginal;
      jb->j.mi_model = m.mi_model;
      jb->j.mi_target = m.mi_target;
      g_clear_pointer (&e->joint_view, joint_view_unref);
      e->joint_view = &jb->j;
      e->eval_kl = m.kl;
      e->eval_kl_uniform = uniform;
      e->eval_kl_floor = (double) (c * c - 1) / (2.0 * count);
    }
  else if (engine_images (e))
    {
      e->eval_kl = gaf_label_maps_marginal_kl (labels, (guint) count, e->data->test->labels, e->data->test->count,
                                               (gsize) n, c);
      e->eval_kl_uniform = e->data->kl_uniform;
      e->eval_kl_floor = e->data->kl_floor;
      e->agreement = gaf_label_maps_neighbour_agreement (labels, (guint) count, e->data->train->height,
                                                         e->data->train->width);
    }
  else
    {
      e->eval_kl = gaf_kl_from_counts (counts, count, e->q, n, c);
      e->eval_kl_uniform = gaf_class_target_kl_uniform (e->target);
      e->eval_kl_floor = gaf_kl_floor (c, count);
    }
  e->eval_samples = count;
  g_free (e->eval_freq);
  e->eval_freq = g_new (double, (gsize) n * c);
  for (gsize i = 0; i < (gsize) n * c; i++)
    e->eval_freq[i] = (double) counts[i] / count;
  e->eval_step = tr->step;
}

static void
engine_train_step (Engine *e)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time (), t1;
  double loss;

  if (!gaf_trainer_step (e->trainer, &loss, &error))
    {
      e->state = GAF_RUNNER_FAILED;
      e->want_train = FALSE;
      e->dirty = TRUE;
      send_event (e->sh, SIGNAL_FAILED, error);
      return;
    }
  t1 = g_get_monotonic_time ();
  e->elapsed += (t1 - t0) * 1e-6;
  e->loss = loss;
  e->loss_smooth = isfinite (e->loss_smooth) ? 0.99 * e->loss_smooth + 0.01 * loss : loss;
  history_add (e, loss);

  /* Steps per second over windows of about one second of wall time (sampling rounds included). */
  if (e->rate_t0 == 0)
    {
      e->rate_t0 = t0;
      e->rate_step0 = engine_step (e) - 1;
    }
  else if (t1 - e->rate_t0 >= G_USEC_PER_SEC / 2)
    {
      e->rate = (engine_step (e) - e->rate_step0) / ((t1 - e->rate_t0) * 1e-6);
      e->rate_t0 = t1;
      e->rate_step0 = engine_step (e);
    }
  if (engine_step (e) >= (guint64) pint (e, GAF_PARAM_BUDGET))
    {
      e->state = GAF_RUNNER_DONE;
      e->want_train = FALSE;
      e->sample_pending = TRUE;   /* the final model's trajectories */
      send_event (e->sh, SIGNAL_FINISHED, NULL);
    }
  else if (t1 - e->last_sample >= (engine_images (e) ? IMAGE_SAMPLE_INTERVAL_US : SAMPLE_INTERVAL_US))
    e->sample_pending = TRUE;
  e->dirty = TRUE;
}

static void
engine_set_training (Engine *e, gboolean train)
{
  e->want_train = train;
  if (e->state == GAF_RUNNER_PAUSED || e->state == GAF_RUNNER_TRAINING)
    e->state = train ? GAF_RUNNER_TRAINING : GAF_RUNNER_PAUSED;
  else if (train && e->state == GAF_RUNNER_DONE && engine_step (e) < (guint64) pint (e, GAF_PARAM_BUDGET))
    e->state = GAF_RUNNER_TRAINING;   /* the budget was raised */
  if (e->state != GAF_RUNNER_TRAINING)
    {
      e->rate_t0 = 0;
      e->rate = 0.0;
    }
  e->dirty = TRUE;
}

static void
engine_set_param (Engine *e, GafParam param, double value)
{
  double old = e->p.value[param];

  value = clamp_param (param, value);
  if (value == old)
    return;
  e->p.value[param] = value;
  e->dirty = TRUE;
  if (!gaf_param_applies (param, e->p.experiment))
    return;   /* kept for when an experiment it applies to is chosen */
  switch (param_info[param].kind)
    {
    case GAF_PARAM_KIND_MODEL:
      engine_build (e);
      break;
    case GAF_PARAM_KIND_TRAINING:
      if (e->trainer == NULL)
        {
          if (param == GAF_PARAM_LAMBDA)
            e->sample_pending = TRUE;   /* the exact field depends on lambda */
          break;
        }
      if (param == GAF_PARAM_LEARNING_RATE)
        gaf_trainer_set_lr (e->trainer, value);
      else if (param == GAF_PARAM_LAMBDA || param == GAF_PARAM_TIME_RATE)
        {
          GafTrainerConfig cfg;
          engine_trainer_config (e, &cfg);
          gaf_trainer_set_path (e->trainer, &cfg.path);
        }
      else if (param == GAF_PARAM_BATCH || param == GAF_PARAM_IMAGE_BATCH)
        {
          /* The trainer owns per-batch buffers; the network, its Adam moments and EMA carry over. */
          GafTrainerConfig cfg;
          engine_trainer_config (e, &cfg);
          gaf_trainer_free (e->trainer);
          e->trainer = gaf_trainer_new (e->net, engine_labels (e), engine_label_data (e), &cfg);
          e->trainer_batch = cfg.batch;
        }
      else if (param == GAF_PARAM_BUDGET)
        {
          if (e->state == GAF_RUNNER_TRAINING && engine_step (e) >= (guint64) value)
            {
              e->state = GAF_RUNNER_DONE;
              e->want_train = FALSE;
            }
          else if (e->state == GAF_RUNNER_DONE && engine_step (e) < (guint64) value)
            e->state = GAF_RUNNER_PAUSED;
        }
      break;
    case GAF_PARAM_KIND_SAMPLER:
      e->sample_pending = TRUE;   /* show the effect at once */
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
engine_sweep_progress (const GafProgress *p, gpointer user_data);

static gboolean engine_handle (Engine *e, Command *cmd);

static void
engine_drain (Engine *e)
{
  Command *cmd;

  while ((cmd = g_async_queue_try_pop (e->sh->commands)) != NULL)
    engine_handle (e, cmd);
}

static void
engine_run_sweep (Engine *e)
{
  GafSweepConfig *cfg = e->sweep;
  g_autoptr(GError) error = NULL;
  GCancellable *cancel;
  gboolean ok = TRUE;

  e->sweeping = TRUE;
  e->sweep_cancel = FALSE;
  e->sweep_total = cfg->classes->len * cfg->methods->len;
  e->sweep_fraction = 0.0;
  g_array_set_size (e->sweep_rows, 0);
  engine_publish (e);

  cancel = engine_begin_work (e);
  if (!gaf_sweep_config_check (cfg, &error))
    ok = FALSE;
  /* Class counts in order, every method for each (as gaf_sweep_run does), a row published as each ends. */
  for (guint i = 0; ok && i < e->sweep_total; i++)
    {
      GafSweepRow row;
      guint n_methods = cfg->methods->len;
      e->sweep_classes = g_array_index (cfg->classes, int, i / n_methods);
      e->sweep_method = g_array_index (cfg->methods, GafMethod, i % n_methods);
      ok = gaf_sweep_run_method (cfg, e->sweep_method, e->sweep_classes, i, e->sweep_total, &row,
                                 engine_sweep_progress, e, cancel, &error);
      if (ok)
        {
          g_array_append_val (e->sweep_rows, row);
          e->sweep_fraction = (double) (i + 1) / e->sweep_total;
          engine_publish (e);
        }
      if (e->sweep_cancel || g_atomic_int_get (&e->sh->quit))
        break;
    }
  engine_end_work (e, cancel);
  e->sweeping = FALSE;
  e->sweep_classes = 0;
  gaf_sweep_config_clear (e->sweep);
  g_clear_pointer (&e->sweep, g_free);
  e->dirty = TRUE;
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    send_event (e->sh, SIGNAL_FAILED, error);
  else
    send_event (e->sh, SIGNAL_SWEEP_FINISHED, NULL);
}

/* Runs on the thread inside the sweep: keeps the runner answering commands (parameter changes, sync,
 * cancel) while a sweep item trains. The sweep builds its own networks, so even a model rebuild is safe. */
static void
engine_sweep_progress (const GafProgress *p, gpointer user_data)
{
  Engine *e = user_data;
  guint n_items = MAX (p->n_items, 1);
  double within = p->total ? (double) p->done / p->total : 0.0;

  /* Training is most of an item's time; sampling the rest. */
  within = g_strcmp0 (p->stage, "train") == 0 ? 0.8 * within : 0.8 + 0.2 * within;
  e->sweep_fraction = (p->item + within) / n_items;
  e->dirty = TRUE;
  engine_drain (e);
  if (e->sweep_cancel)
    {
      g_mutex_lock (&e->sh->lock);
      if (e->sh->work)
        g_cancellable_cancel (e->sh->work);
      g_mutex_unlock (&e->sh->lock);
    }
  if (g_get_monotonic_time () - e->last_publish >= 4 * PUBLISH_INTERVAL_US)
    engine_publish (e);
}

/* ---- likelihood of label maps ---------------------------------------------------------------------- */

static gboolean
labels_below (const guint16 *labels, gsize n, int c)
{
  for (gsize i = 0; i < n; i++)
    if (labels[i] >= c)
      return FALSE;
  return TRUE;
}

static gboolean
engine_likelihood_pending (Engine *e)
{
  if (!engine_images (e) || e->data == NULL || e->net == NULL)
    return FALSE;
  return e->lik_query != NULL || (e->lik_held_out_wanted && (e->lik == NULL || e->lik->n_held_out == 0));
}

/* A copy of the network with its averaged weights, for scores that stay comparable while training goes on. */
static GafNet *
engine_frozen_net (Engine *e)
{
  GafModelConfig mc;
  GafParams *from = gaf_net_get_params (e->net), *to;
  GafNet *copy;

  if (!gaf_model_config_from_net (&mc, e->net, e->net_seed) || (copy = gaf_model_new (&mc, NULL)) == NULL)
    return NULL;
  to = gaf_net_get_params (copy);
  g_assert (to->size == from->size);
  memcpy (to->data, from->ema != NULL ? from->ema : from->data, sizeof (float) * from->size);
  return copy;
}

static void
engine_likelihood_progress (const GafProgress *p, gpointer user_data)
{
  Engine *e = user_data;

  e->lik_fraction = p->total ? (double) p->done / p->total : 0.0;
  e->dirty = TRUE;
  /* Commands keep working meanwhile (the scores use their own copy of the network). */
  engine_drain (e);
  if (g_get_monotonic_time () - e->last_publish >= 4 * PUBLISH_INTERVAL_US)
    engine_publish (e);
}

/* Scores the waiting map, else the held-out maps, with the frozen network of this model. */
static void
engine_likelihood_work (Engine *e)
{
  guint64 model = e->reset_count;
  gboolean query = e->lik_query != NULL;
  gsize n = gaf_dataset_pixels (e->data->train);
  guint count = query ? 1 : GAF_LIKELIHOOD_HELD_OUT;
  g_autofree guint16 *labels = NULL;
  g_autofree GafLikelihoodItem *items = g_new0 (GafLikelihoodItem, count);
  g_autoptr(GError) error = NULL;
  guint64 query_id = e->lik_query_id;
  GafLikelihoodConfig cfg;
  GafLikelihoodScores *l;
  GCancellable *cancel;
  GafNet *net;
  GafRng rng;
  gboolean ok;

  if (e->lik_net == NULL)
    {
      e->lik_net = engine_frozen_net (e);
      if (e->lik_net == NULL)
        {
          e->lik_held_out_wanted = FALSE;
          g_clear_pointer (&e->lik_query, g_free);
          return;
        }
      g_clear_pointer (&e->lik, scores_unref);
      e->lik = scores_new (NULL);
      e->lik->model = model;
      e->lik->step = engine_step (e);
      e->lik->height = e->data->train->height;
      e->lik->width = e->data->train->width;
      e->lik->c = e->data->train->c;
    }
  if (query)
    labels = g_steal_pointer (&e->lik_query);
  else
    {
      /* The same held-out maps for every model of these data. */
      labels = g_new (guint16, (gsize) count * n);
      gaf_rng_init (&rng, 0x4e1d0u);
      gaf_dataset_sample (e->data->test, &rng, labels, (int) count);
    }
  gaf_likelihood_config_init (&cfg);
  cfg.t_end = GAF_LIKELIHOOD_T_END;
  cfg.divergence = GAF_DIVERGENCE_HUTCHINSON;
  cfg.proposals = GAF_LIKELIHOOD_PROPOSALS;
  cfg.batch = GAF_LIKELIHOOD_PROPOSALS;   /* one map per solve: progress (and commands) after each */
  gaf_rng_init_stream (&rng, (guint64) pint (e, GAF_PARAM_SEED) * 131 + model, query ? 0x11c0 + query_id : 0x11b0);

  e->lik_busy = query ? 2 : 1;
  e->lik_fraction = 0.0;
  engine_publish (e);
  net = g_steal_pointer (&e->lik_net);   /* a new model meanwhile must not free it under us */
  cancel = engine_begin_work (e);
  ok = gaf_likelihood_evaluate (net, &cfg, &rng, labels, count, items, NULL, engine_likelihood_progress, e,
                                cancel, &error);
  engine_end_work (e, cancel);
  e->lik_busy = 0;
  e->dirty = TRUE;
  if (e->reset_count != model || e->lik == NULL)
    {
      /* Another model now: these scores are of no use. */
      gaf_net_free (net);
      return;
    }
  e->lik_net = net;
  if (!ok)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        send_event (e->sh, SIGNAL_FAILED, error);
      e->lik_held_out_wanted = FALSE;
      return;
    }
  l = scores_new (e->lik);
  if (query)
    {
      l->query = query_id;
      l->query_bpd = items[0].bits_per_dim;
      l->query_bpd_se = items[0].log_p_se / (n * G_LN2);
      l->query_hit_fraction = items[0].hit_fraction;
    }
  else
    {
      g_free (l->held_out);
      g_free (l->held_out_bpd);
      l->n_held_out = count;
      l->held_out = g_steal_pointer (&labels);
      l->held_out_bpd = g_new (double, count);
      for (guint i = 0; i < count; i++)
        l->held_out_bpd[i] = items[i].bits_per_dim;
      e->lik_held_out_wanted = FALSE;
    }
  scores_unref (e->lik);
  e->lik = l;
}

static void
engine_sync_done (Engine *e)
{
  engine_publish (e);
  g_mutex_lock (&e->sh->lock);
  e->sh->sync_done++;
  g_cond_broadcast (&e->sh->cond);
  g_mutex_unlock (&e->sh->lock);
}

/* Returns FALSE on quit. */
static gboolean
engine_handle (Engine *e, Command *cmd)
{
  gboolean go_on = TRUE;

  switch (cmd->kind)
    {
    case CMD_TRAIN:
      engine_set_training (e, cmd->value != 0.0);
      break;
    case CMD_SAMPLE:
      e->sample_pending = TRUE;
      break;
    case CMD_RESET:
      engine_build (e);
      break;
    case CMD_EXPERIMENT:
      if ((GafExperiment) cmd->param != e->p.experiment)
        {
          e->p.experiment = (GafExperiment) cmd->param;
          engine_build (e);
        }
      break;
    case CMD_PARAM:
      engine_set_param (e, (GafParam) cmd->param, cmd->value);
      break;
    case CMD_IMAGE_DATA:
      if (g_strcmp0 (cmd->text, e->p.image_data) != 0)
        {
          g_strlcpy (e->p.image_data, cmd->text, sizeof e->p.image_data);
          if (engine_images (e))
            engine_build (e);
          e->dirty = TRUE;
        }
      break;
    case CMD_SWEEP:
      if (e->sweep == NULL)
        {
          e->sweep = cmd->sweep;
          cmd->sweep = NULL;
        }
      break;
    case CMD_SWEEP_CANCEL:
      e->sweep_cancel = TRUE;
      break;
    case CMD_SAVE_MODEL:
      {
        GError *error = NULL;
        if (engine_save_model (e, cmd->text, &error))
          g_task_return_boolean (cmd->task, TRUE);
        else
          g_task_return_error (cmd->task, error);
        g_clear_object (&cmd->task);
      }
      break;
    case CMD_LOAD_MODEL:
      {
        GError *error = NULL;
        gboolean ok = engine_load_model (e, cmd->text, &error);
        /* The new model's first snapshot is there before the owner hears of it. */
        engine_publish (e);
        if (ok)
          g_task_return_pointer (cmd->task, g_memdup2 (&e->p, sizeof e->p), g_free);
        else
          g_task_return_error (cmd->task, error);
        g_clear_object (&cmd->task);
      }
      break;
    case CMD_SCORE_MAP:
      if (engine_images (e) && e->data != NULL && cmd->labels != NULL && cmd->param == e->data->train->height &&
          (int) cmd->value == e->data->train->width && labels_below (cmd->labels, gaf_dataset_pixels (e->data->train),
                                                                     e->data->train->c))
        {
          g_clear_pointer (&e->lik_query, g_free);
          e->lik_query = g_steal_pointer (&cmd->labels);
          e->lik_query_id = cmd->id;
          e->lik_held_out_wanted = TRUE;
        }
      break;
    case CMD_SCORE_HELD_OUT:
      if (engine_images (e))
        {
          if (cmd->value != 0.0 && e->lik_busy == 0)
            {
              /* The weights of now: a new frozen copy and new scores. */
              g_clear_pointer (&e->lik_net, gaf_net_free);
              g_clear_pointer (&e->lik, scores_unref);
            }
          e->lik_held_out_wanted = TRUE;
          e->dirty = TRUE;
        }
      break;
    case CMD_SYNC:
      engine_sync_done (e);
      break;
    case CMD_QUIT:
      go_on = FALSE;
      break;
    default:
      g_assert_not_reached ();
    }
  command_free (cmd);
  return go_on;
}

static gpointer
runner_thread (gpointer data)
{
  Engine *e = data;
  gboolean go_on = TRUE;

#ifdef __linux__
  /* A lower priority for the engine thread (and the workers it starts, which inherit it): when the cores
   * are contended, the thread that draws frames wins. Linux applies nice values per thread. */
  if (setpriority (PRIO_PROCESS, (id_t) syscall (SYS_gettid), 5) != 0)
    g_debug ("could not lower the engine thread's priority");
#endif
  gaf_blas_set_threads (e->threads);
  engine_build (e);
  engine_publish (e);

  while (go_on && !g_atomic_int_get (&e->sh->quit))
    {
      gboolean busy = e->state == GAF_RUNNER_TRAINING || e->sample_pending || e->sweep != NULL ||
                      engine_likelihood_pending (e);
      Command *cmd;

      /* Idle: block on the queue (with a timeout, to publish what is dirty). Busy: only peek. */
      cmd = busy ? g_async_queue_try_pop (e->sh->commands)
                 : g_async_queue_timeout_pop (e->sh->commands, 200 * 1000);
      if (cmd != NULL)
        {
          go_on = engine_handle (e, cmd);
          continue;
        }
      if (e->sweep != NULL)
        engine_run_sweep (e);
      else if (e->sample_pending)
        engine_sample (e);
      else if (engine_likelihood_pending (e))
        engine_likelihood_work (e);
      else if (e->state == GAF_RUNNER_TRAINING)
        engine_train_step (e);
      if (e->dirty && (g_get_monotonic_time () - e->last_publish >= PUBLISH_INTERVAL_US || !busy))
        engine_publish (e);
    }

  /* Wake anybody waiting in gaf_runner_sync. */
  g_mutex_lock (&e->sh->lock);
  e->sh->sync_done = e->sh->sync_sent;
  g_cond_broadcast (&e->sh->cond);
  g_mutex_unlock (&e->sh->lock);

  engine_clear_model (e);
  engine_clear_likelihood (e);
  engine_clear_image_data (e);
  g_clear_pointer (&e->joint_view, joint_view_unref);
  g_clear_pointer (&e->traj, trajectories_unref);
  g_clear_pointer (&e->field, field_unref);
  g_clear_pointer (&e->eval_freq, g_free);
  if (e->sweep != NULL)
    {
      gaf_sweep_config_clear (e->sweep);
      g_free (e->sweep);
    }
  g_array_unref (e->bin_x);
  g_array_unref (e->bin_y);
  g_array_unref (e->sweep_rows);
  shared_unref (e->sh);
  g_free (e);
  return NULL;
}

/* ---- the GObject, on the owner's thread -------------------------------------------------------------- */

struct _GafRunner {
  GObject          parent_instance;
  Shared          *sh;
  GThread         *thread;
  GafRunnerParams  params;
  gboolean         training;
  GafSnapshot     *current;
  guint64          next_query;
};

G_DEFINE_FINAL_TYPE (GafRunner, gaf_runner, G_TYPE_OBJECT)

static void
push (GafRunner *self, CommandKind kind, int param, double value, GafSweepConfig *sweep)
{
  Command *cmd = g_new0 (Command, 1);

  cmd->kind = kind;
  cmd->param = param;
  cmd->value = value;
  cmd->sweep = sweep;
  g_async_queue_push (self->sh->commands, cmd);
}

static void
gaf_runner_dispose (GObject *object)
{
  GafRunner *self = GAF_RUNNER (object);

  if (self->thread != NULL)
    {
      g_atomic_int_set (&self->sh->quit, 1);
      g_mutex_lock (&self->sh->lock);
      if (self->sh->work != NULL)
        g_cancellable_cancel (self->sh->work);
      g_mutex_unlock (&self->sh->lock);
      push (self, CMD_QUIT, 0, 0.0, NULL);
      g_thread_join (self->thread);
      self->thread = NULL;
    }
  g_clear_pointer (&self->current, gaf_snapshot_unref);
  G_OBJECT_CLASS (gaf_runner_parent_class)->dispose (object);
}

static void
gaf_runner_finalize (GObject *object)
{
  GafRunner *self = GAF_RUNNER (object);

  g_clear_pointer (&self->sh, shared_unref);
  G_OBJECT_CLASS (gaf_runner_parent_class)->finalize (object);
}

static void
gaf_runner_class_init (GafRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gaf_runner_dispose;
  object_class->finalize = gaf_runner_finalize;

  /* Training reached its budget. */
  signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
  /* Training diverged (GAF_ERROR_DIVERGED), or sampling or a sweep failed. */
  signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SIGNAL_SWEEP_FINISHED] =
    g_signal_new ("sweep-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static void
gaf_runner_init (GafRunner *self)
{
}

GafRunner *
gaf_runner_new (const GafRunnerParams *params, int engine_threads)
{
  GafRunner *self = g_object_new (GAF_TYPE_RUNNER, NULL);
  Shared *sh = g_new0 (Shared, 1);
  Engine *e = g_new0 (Engine, 1);

  sh->ref_count = 1;
  sh->commands = g_async_queue_new ();
  g_weak_ref_init (&sh->owner, self);
  sh->context = g_main_context_ref_thread_default ();
  g_mutex_init (&sh->lock);
  g_cond_init (&sh->cond);
  self->sh = sh;

  self->params = *params;
  gaf_runner_params_clamp (&self->params);
  e->sh = shared_ref (sh);
  e->threads = MAX (engine_threads, 1);
  e->p = self->params;
  e->bin_x = g_array_new (FALSE, FALSE, sizeof (double));
  e->bin_y = g_array_new (FALSE, FALSE, sizeof (double));
  e->sweep_rows = g_array_new (FALSE, FALSE, sizeof (GafSweepRow));
  e->bin_stride = 1;
  self->thread = g_thread_new ("gaflow-engine", runner_thread, e);
  return self;
}

void
gaf_runner_train (GafRunner *self, gboolean train)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  self->training = train;
  push (self, CMD_TRAIN, 0, train ? 1.0 : 0.0, NULL);
}

gboolean
gaf_runner_get_training (GafRunner *self)
{
  g_return_val_if_fail (GAF_IS_RUNNER (self), FALSE);
  return self->training;
}

void
gaf_runner_sample (GafRunner *self)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  push (self, CMD_SAMPLE, 0, 0.0, NULL);
}

void
gaf_runner_reset (GafRunner *self)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  push (self, CMD_RESET, 0, 0.0, NULL);
}

void
gaf_runner_set_experiment (GafRunner *self, GafExperiment experiment)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail ((guint) experiment < GAF_N_EXPERIMENTS);
  self->params.experiment = experiment;
  push (self, CMD_EXPERIMENT, experiment, 0.0, NULL);
}

void
gaf_runner_set_image_data (GafRunner *self, const char *spec)
{
  Command *cmd;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (spec != NULL && spec[0] != '\0' && strlen (spec) < GAF_IMAGE_DATA_MAX);
  if (strcmp (self->params.image_data, spec) == 0)
    return;
  g_strlcpy (self->params.image_data, spec, sizeof self->params.image_data);
  cmd = g_new0 (Command, 1);
  cmd->kind = CMD_IMAGE_DATA;
  cmd->text = g_strdup (spec);
  g_async_queue_push (self->sh->commands, cmd);
}

void
gaf_runner_set_param (GafRunner *self, GafParam param, double value)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail ((guint) param < GAF_N_PARAMS);
  value = clamp_param (param, value);
  if (self->params.value[param] == value)
    return;
  self->params.value[param] = value;
  push (self, CMD_PARAM, param, value, NULL);
}

const GafRunnerParams *
gaf_runner_get_params (GafRunner *self)
{
  g_return_val_if_fail (GAF_IS_RUNNER (self), NULL);
  return &self->params;
}

void
gaf_runner_start_sweep (GafRunner *self, const int *classes, guint n_classes, const int *methods,
                        guint n_methods, guint64 steps, guint64 samples)
{
  GafSweepConfig *cfg;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (classes != NULL && n_classes > 0);
  g_return_if_fail (methods != NULL && n_methods > 0);
  cfg = g_new0 (GafSweepConfig, 1);
  gaf_sweep_config_init (cfg);
  g_array_set_size (cfg->classes, 0);
  g_array_append_vals (cfg->classes, classes, n_classes);
  g_array_set_size (cfg->methods, 0);
  for (guint m = 0; m < n_methods; m++)
    g_array_append_val (cfg->methods, (GafMethod) { methods[m] });
  cfg->steps = steps;
  cfg->samples = samples;
  cfg->time_scale = APP_TIME_SCALE;
  cfg->input_scale = 0.0;    /* c */
  cfg->cosine = TRUE;
  cfg->train.ema_decay = 0.999;
  cfg->seed = (guint64) self->params.value[GAF_PARAM_SEED];
  push (self, CMD_SWEEP, 0, 0.0, cfg);
}

void
gaf_runner_cancel_sweep (GafRunner *self)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  /* The thread drains commands at every progress report of the sweep (every 25 steps) and cancels. */
  push (self, CMD_SWEEP_CANCEL, 0, 0.0, NULL);
}

static void
push_file_command (GafRunner *self, CommandKind kind, const char *path, gpointer source_tag,
                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Command *cmd = g_new0 (Command, 1);

  cmd->kind = kind;
  cmd->text = g_strdup (path);
  /* No source object: the task must not keep the runner alive (its last reference could then drop on the
   * engine thread, which would have to join itself). */
  cmd->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (cmd->task, source_tag);
  g_async_queue_push (self->sh->commands, cmd);
}

void
gaf_runner_save_model_async (GafRunner *self, const char *path, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (path != NULL);
  push_file_command (self, CMD_SAVE_MODEL, path, gaf_runner_save_model_async, cancellable, callback, user_data);
}

gboolean
gaf_runner_save_model_finish (GafRunner *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (GAF_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaf_runner_save_model_async, FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
gaf_runner_load_model_async (GafRunner *self, const char *path, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (path != NULL);
  push_file_command (self, CMD_LOAD_MODEL, path, gaf_runner_load_model_async, cancellable, callback, user_data);
}

gboolean
gaf_runner_load_model_finish (GafRunner *self, GAsyncResult *result, GError **error)
{
  g_autofree GafRunnerParams *params = NULL;

  g_return_val_if_fail (GAF_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaf_runner_load_model_async, FALSE);
  params = g_task_propagate_pointer (G_TASK (result), error);
  if (params == NULL)
    return FALSE;
  /* What the engine runs now is what was asked for. */
  self->params = *params;
  return TRUE;
}

guint64
gaf_runner_score_map (GafRunner *self, const guint16 *labels, int height, int width)
{
  Command *cmd;

  g_return_val_if_fail (GAF_IS_RUNNER (self), 0);
  g_return_val_if_fail (labels != NULL && height > 0 && width > 0, 0);
  cmd = g_new0 (Command, 1);
  cmd->kind = CMD_SCORE_MAP;
  cmd->param = height;
  cmd->value = width;
  cmd->labels = g_memdup2 (labels, sizeof (guint16) * height * width);
  cmd->id = ++self->next_query;
  g_async_queue_push (self->sh->commands, cmd);
  return cmd->id;
}

void
gaf_runner_score_held_out (GafRunner *self, gboolean refresh)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  push (self, CMD_SCORE_HELD_OUT, 0, refresh ? 1.0 : 0.0, NULL);
}

GafSnapshot *
gaf_runner_dup_snapshot (GafRunner *self)
{
  GafSnapshot *newest;

  g_return_val_if_fail (GAF_IS_RUNNER (self), NULL);
  /* Take ownership of whatever is waiting in the slot; the thread never touches it again. */
  newest = g_atomic_pointer_exchange (&self->sh->slot, NULL);
  if (newest != NULL)
    {
      g_clear_pointer (&self->current, gaf_snapshot_unref);
      self->current = newest;
    }
  while (self->current == NULL)
    {
      /* Only before the first publish: wait for it (the thread publishes right after building). */
      gaf_runner_sync (self);
      newest = g_atomic_pointer_exchange (&self->sh->slot, NULL);
      if (newest != NULL)
        self->current = newest;
    }
  return gaf_snapshot_ref (self->current);
}

void
gaf_runner_sync (GafRunner *self)
{
  guint ticket;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_mutex_lock (&self->sh->lock);
  ticket = ++self->sh->sync_sent;
  g_mutex_unlock (&self->sh->lock);
  push (self, CMD_SYNC, 0, 0.0, NULL);
  g_mutex_lock (&self->sh->lock);
  while (self->sh->sync_done < ticket && !g_atomic_int_get (&self->sh->quit))
    g_cond_wait (&self->sh->cond, &self->sh->lock);
  g_mutex_unlock (&self->sh->lock);
}
