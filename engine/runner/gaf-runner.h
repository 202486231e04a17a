/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-sweep.h"

G_BEGIN_DECLS

/* The engine runner of ARCHITECTURE.md: one long-lived thread that owns the model, the trainer and the
 * sampler. No GTK here.
 *
 * Threading contract
 * - The owner is the thread that called gaf_runner_new; its thread-default main context at that moment
 *   is the owner's context. Every public function is for the owner only.
 * - Commands go from the owner to the engine thread through a GAsyncQueue; nothing the owner passes is
 *   kept by reference (specs, maps and class lists are copied).
 * - State goes back as immutable, reference-counted snapshots in a single slot swapped with
 *   g_atomic_pointer_exchange: gaf_runner_dup_snapshot never blocks on the engine and never sees a
 *   half-written snapshot. A snapshot may be read from any thread and outlives its runner.
 * - Discrete events ("finished", "failed", "sweep-finished") and the completions of the async save/load
 *   calls are delivered by a GSource attached to the owner's context: their handlers run on the owner's
 *   thread, only while it iterates that context, and never inline on the engine thread (the engine does
 *   not use g_main_context_invoke*, which would run a handler on the calling thread when no one owns the
 *   context). An owner that blocks (gaf_runner_sync) receives the events queued meanwhile at its next
 *   iteration. Each event holds a GWeakRef to the runner: one still pending when the runner is disposed
 *   is dropped, never emitted on a finalized object.
 * - Disposing the runner cancels the running work, joins the thread and frees what only it used. */

typedef enum {
  GAF_EXPERIMENT_SCALING,   /* class-scaling target (SPEC §5), learned by the toy CNN */
  GAF_EXPERIMENT_EXACT,     /* the same target sampled with its exact field: nothing to train */
  GAF_EXPERIMENT_COUPLED,   /* two binary variables equal with probability 0.9, learned by the MLP */
  GAF_EXPERIMENT_PINWHEEL,  /* the pinwheel density on a 16 x 16 grid (two variables, c = 16), by the MLP */
  GAF_EXPERIMENT_IMAGES,    /* label maps of an image dataset (GafRunnerParams.image_data), n = H W pixels,
                             * learned by the UNet */
  GAF_N_EXPERIMENTS
} GafExperiment;

/* Joint experiments (n = 2, c fixed by the data): the GAF_PARAM_CLASSES parameter does not apply. */
gboolean    gaf_experiment_is_joint    (GafExperiment experiment);

const char *gaf_experiment_to_string   (GafExperiment experiment);
gboolean    gaf_experiment_from_string (const char *name, GafExperiment *out);

/* What a parameter change costs: a new model (the UI asks first), the next training step, or nothing
 * (the next sampling round uses it). */
typedef enum {
  GAF_PARAM_KIND_MODEL,
  GAF_PARAM_KIND_TRAINING,
  GAF_PARAM_KIND_SAMPLER,
} GafParamKind;

typedef enum {
  GAF_PARAM_CLASSES,          /* c */
  GAF_PARAM_WIDTH,            /* hidden channels of the toy CNN */
  GAF_PARAM_SEED,
  GAF_PARAM_LAMBDA,           /* field magnitude */
  GAF_PARAM_TIME_RATE,        /* rate of the Gamma(1, rate) training times */
  GAF_PARAM_LEARNING_RATE,
  GAF_PARAM_BATCH,
  GAF_PARAM_BUDGET,           /* training steps, then the runner stops */
  GAF_PARAM_T_END,            /* sampler end time T */
  GAF_PARAM_STEP_SIZE,        /* sampler step h */
  GAF_PARAM_INTEGRATOR,       /* a GafIntegrator */
  GAF_PARAM_SAMPLES,          /* sequences drawn per sampling round */
  GAF_PARAM_IMAGE_WIDTH,      /* image experiments: base channels of the UNet */
  GAF_PARAM_IMAGE_BATCH,      /* image experiments: label maps per training step */
  GAF_N_PARAMS
} GafParam;

typedef struct {
  const char  *key;           /* the GSettings key */
  GafParamKind kind;
  double       min, max, def;
  gboolean     integer;
  gboolean     log_scale;
} GafParamInfo;

const GafParamInfo *gaf_param_info (GafParam param);
/* Whether a parameter means anything for an experiment (the panel hides the others): classes only where
 * c is free (scaling, exact); width and batch for the sequence networks, image width and image batch for
 * label maps; none of the training parameters but lambda for the exact field (lambda shapes its field);
 * samples per round not for label maps (a grid of GAF_IMAGE_MAPS). */
gboolean            gaf_param_applies (GafParam param, GafExperiment experiment);

/* Label maps drawn per sampling round of an image experiment, every pixel's trajectory recorded. */
#define GAF_IMAGE_MAPS 16
#define GAF_IMAGE_DATA_MAX 256
/* The default data of the image experiment (gaf-dataset.h spec; train and test splits are taken from it). */
#define GAF_IMAGE_DATA_DEFAULT "fashion-mnist:levels=2,size=16"

typedef struct {
  GafExperiment experiment;
  double        value[GAF_N_PARAMS];
  char          image_data[GAF_IMAGE_DATA_MAX];   /* dataset spec of GAF_EXPERIMENT_IMAGES, NUL-terminated */
} GafRunnerParams;

void     gaf_runner_params_init (GafRunnerParams *params);
/* Clamps every value into its range (integers rounded). */
void     gaf_runner_params_clamp (GafRunnerParams *params);

typedef enum {
  GAF_RUNNER_PAUSED,
  GAF_RUNNER_TRAINING,
  GAF_RUNNER_DONE,           /* budget reached */
  GAF_RUNNER_EXACT,          /* exact field: nothing to train */
  GAF_RUNNER_FAILED,         /* diverged or an error; see the "failed" signal */
} GafRunnerState;

/* W(t) of recorded rows from one sampling round. Immutable once published. */
typedef struct {
  int      n, c;            /* positions per sequence, classes */
  guint    n_rows;          /* recorded rows; row r is position r % n of sequence r / n */
  guint    n_times;
  double  *times;           /* (n_times), 0 .. t_end */
  float   *w;               /* (n_times, n_rows, c) */
  guint16 *labels;          /* (n_rows): argmax at T, the sample */
  guint64  step;            /* training step of the weights used */
} GafTrajectories;

/* The learned field dW/dt = R_W F(W, t) of one position on a lattice of the simplex (c = 3 only), at a
 * few times; the other positions of the sequence sit at the barycentre. Immutable once published. */
typedef struct {
  int      c;
  int      position;
  guint    n_points;
  guint    n_times;
  float   *points;          /* (n_points, c) */
  double  *times;           /* (n_times) */
  float   *velocity;        /* (n_times, n_points, c), in T_0 */
} GafFieldGrid;

/* Joint experiments: the target and the empirical joint of the last sampling round as dense c x c
 * tables (row = first variable) with their comparison. Immutable once published. */
typedef struct {
  int      c;
  double  *target;          /* (c, c) */
  double  *model;           /* (c, c) */
  guint64  samples;
  guint64  step;
  double   kl;              /* KL(model || target) */
  double   kl_marginal;     /* mean over both variables */
  double   mi_model;        /* mutual information, nats */
  double   mi_target;
} GafJointTables;

/* Likelihood of label maps under the image model: the rounding model of SPEC §2.4 with Hutchinson's
 * divergence, T = GAF_LIKELIHOOD_T_END, GAF_LIKELIHOOD_PROPOSALS importance samples, EMA weights frozen once per
 * model (so every score of one model is comparable): the bits/dim of GAF_LIKELIHOOD_HELD_OUT held-out maps (a
 * histogram to compare with) and of the last map asked about. Immutable once published. */
#define GAF_LIKELIHOOD_HELD_OUT  48
#define GAF_LIKELIHOOD_PROPOSALS 16
#define GAF_LIKELIHOOD_T_END     10.0

typedef struct {
  guint64  model;            /* GafSnapshot.model_serial of the model scored */
  guint64  step;             /* training step of the frozen weights */
  int      height, width, c;
  guint    n_held_out;       /* 0 until the held-out maps are scored */
  guint16 *held_out;         /* (n_held_out, height * width): the maps */
  double  *held_out_bpd;     /* (n_held_out), +inf when no proposal rounded to the map */
  guint64  query;            /* id of the last answered map (gaf_runner_score_map), 0 for none */
  double   query_bpd;        /* +inf when no proposal rounded to the map */
  double   query_bpd_se;
  double   query_hit_fraction;
} GafLikelihoodScores;

typedef struct _GafSnapshot GafSnapshot;

struct _GafSnapshot {
  /*< private >*/
  gint             ref_count;
  /*< public, read-only >*/
  guint64          serial;
  GafRunnerState   state;
  gboolean         sampling;        /* a sampling round is running */
  GafRunnerParams  params;          /* as applied */
  int              n, c;
  double          *target_q;        /* (n, c) target marginals q_i */
  guint64          step;
  double           loss;            /* last training loss, NAN before the first step */
  double           loss_smooth;     /* exponential average over about 100 steps */
  double           steps_per_second;
  double           elapsed;         /* seconds spent training */
  /* Whole-run loss history in bins: loss_x is the step at the end of a bin, loss_y its mean. */
  guint            n_loss;
  double          *loss_x;
  double          *loss_y;
  /* The evaluation metric from the last sampling round: per-position histogram KL. */
  guint64          eval_step;
  guint64          eval_samples;    /* 0: none yet */
  double           eval_kl;
  double           eval_kl_uniform;
  double           eval_kl_floor;
  double          *eval_freq;       /* (n, c) label frequencies per position, NULL before the first round */
  GafTrajectories *trajectories;    /* NULL until the first round */
  GafFieldGrid    *field;           /* NULL for c != 3 or before the first round */
  GafJointTables    *joint;           /* joint experiments after the first round; NULL otherwise */
  /* Image experiments (height > 0): the trajectories are those of every pixel of GAF_IMAGE_MAPS maps
   * (n = height * width, row r is pixel r % n of map r / n); eval_kl is the mean per-pixel KL between the
   * class frequencies of the maps and of the held-out maps (gaf_label_maps_marginal_kl), beside the same
   * for maps of uniform random pixels (eval_kl_uniform) and for GAF_IMAGE_MAPS held-out maps (eval_kl_floor). */
  int              height, width;   /* 0 for the other experiments */
  guint8          *palette;         /* (c, 3) of the data; NULL for the other experiments */
  gboolean         loading_data;    /* the image data are being read */
  double           agreement;       /* 4-neighbour label agreement of the last round's maps (NAN before) */
  double           agreement_data;  /* of the held-out maps */
  const char      *model_kind;      /* the network's name ("toy-cnn", "mlp", ...; static), NULL without one */
  guint64          model_params;    /* its parameter count */
  guint64          model_serial;    /* changes with every new model (reset, parameters, experiment, file) */
  /* Image experiments: likelihood scores of the current model (NULL before any), and the work on them. */
  GafLikelihoodScores *likelihood;
  int              likelihood_busy; /* 0 idle, 1 scoring the held-out maps, 2 scoring the asked map */
  double           likelihood_fraction;   /* of the running work, 0 .. 1 */
  /* Class-scaling sweep. */
  gboolean         sweeping;
  guint            sweep_total;     /* class counts in the running or last sweep */
  double           sweep_fraction;  /* of the running sweep, 0 .. 1 */
  int              sweep_classes;   /* class count being worked on */
  int              sweep_method;    /* GafMethod being worked on */
  guint            n_sweep_rows;
  GafSweepRow     *sweep_rows;
};

GafSnapshot *gaf_snapshot_ref   (GafSnapshot *snapshot);
void         gaf_snapshot_unref (GafSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafSnapshot, gaf_snapshot_unref)

const char  *gaf_runner_state_to_string (GafRunnerState state);

#define GAF_TYPE_RUNNER (gaf_runner_get_type ())
G_DECLARE_FINAL_TYPE (GafRunner, gaf_runner, GAF, RUNNER, GObject)

/* Starts the thread, builds the model and publishes a first snapshot; paused until gaf_runner_train.
 * engine_threads is passed to gaf_blas_set_threads (the app uses 1, leaving a core to the UI). */
GafRunner   *gaf_runner_new            (const GafRunnerParams *params, int engine_threads);
void         gaf_runner_train          (GafRunner *self, gboolean train);
gboolean     gaf_runner_get_training   (GafRunner *self);
/* A sampling round now (trajectories, field, metric). Training triggers one every few seconds too. */
void         gaf_runner_sample         (GafRunner *self);
/* A fresh model with the current parameters (training state kept). */
void         gaf_runner_reset          (GafRunner *self);
void         gaf_runner_set_experiment (GafRunner *self, GafExperiment experiment);
/* Model parameters rebuild the model; training ones apply at the next step; sampler ones to the next round. */
void         gaf_runner_set_param      (GafRunner *self, GafParam param, double value);
/* The data of the image experiment (a gaf-dataset.h spec without split=, shorter than GAF_IMAGE_DATA_MAX):
 * a new model when the image experiment is on; a spec that cannot be read fails the runner ("failed"). */
void         gaf_runner_set_image_data (GafRunner *self, const char *spec);
/* The parameters as last requested (the snapshot has them as applied). */
const GafRunnerParams *gaf_runner_get_params (GafRunner *self);
/* Runs a class-scaling sweep in the background (training pauses meanwhile): the sweep defaults
 * (gaf_sweep_config_init) with these class counts, methods (GafMethod), steps and samples, the app's
 * time scale, input scale c, EMA and cosine schedule. A sweep already running or pending wins. */
void         gaf_runner_start_sweep    (GafRunner *self, const int *classes, guint n_classes,
                                        const int *methods, guint n_methods, guint64 steps, guint64 samples);
void         gaf_runner_cancel_sweep   (GafRunner *self);
/* Model files (gaf-checkpoint.h; the app uses the suffix .gafck), on the engine thread. Saving writes the
 * network, the trainer's state and the experiment with its parameters, atomically. Opening replaces the
 * model (and the experiment, its parameters and data) only when everything in the file checks out; else
 * the error (GAF_ERROR_FORMAT, GAF_ERROR_IO, ...) names the file and the model stays as it was. It opens
 * the app's files and gaflow-cli's image checkpoints, and .safetensors files whose metadata says what they are
 * (gaf_torch_write_checkpoint; one that names no data takes the current image data). After a successful open gaf_runner_get_params has
 * the model's parameters. The callback runs on the thread that made the runner; a runner disposed before
 * the command ran completes it with G_IO_ERROR_CANCELLED. */
void         gaf_runner_save_model_async  (GafRunner *self, const char *path, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean     gaf_runner_save_model_finish (GafRunner *self, GAsyncResult *result, GError **error);
void         gaf_runner_load_model_async  (GafRunner *self, const char *path, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean     gaf_runner_load_model_finish (GafRunner *self, GAsyncResult *result, GError **error);
/* Image experiments: the bits/dim of one map (height x width labels of the experiment's size, each below
 * its c; anything else is ignored), published as GafLikelihoodScores.query with the id returned (ids start at
 * 1). The held-out maps are scored after it when they are not yet. Training waits while the engine scores. */
guint64      gaf_runner_score_map      (GafRunner *self, const guint16 *labels, int height, int width);
/* Scores the held-out maps for the current model if they are not yet; with refresh, again with the weights
 * of now (the earlier scores are dropped). */
void         gaf_runner_score_held_out (GafRunner *self, gboolean refresh);
/* The newest snapshot (a new reference). Never NULL. */
GafSnapshot *gaf_runner_dup_snapshot   (GafRunner *self);
/* Blocks until the runner has handled every command sent so far and published (tests, screenshots). */
void         gaf_runner_sync           (GafRunner *self);

G_END_DECLS
