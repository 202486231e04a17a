/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-baselines.h"
#include "gaf-checkpoint.h"
#include "gaf-net.h"
#include "gaf-parameters.h"
#include "gaf-payload.h"
#include "gaf-rng.h"
#include "gaf-sampler.h"
#include "gaf-trainer.h"

G_BEGIN_DECLS

/* An experiment of the app: what it learns, from which data, with which network, how a sampling round
 * is judged and what it publishes. A plain C interface like GafNetClass: a class struct of facts and
 * function pointers (one static instance per experiment, listed in the registry, gaf-experiments.c) and an
 * instance that embeds GafExperiment first. The runner drives any experiment through this interface on its
 * thread, and so can a test or a command-line tool without a thread (gaf_experiment_new, _train_step,
 * _sample). Nothing here is shared between threads except the published payloads. */

typedef struct _GafExperiment GafExperiment;
typedef struct _GafJob GafJob;
typedef struct _GafWork GafWork;

struct _GafExperimentClass {
  const char     *id;             /* stable key: GSettings, checkpoints, --experiment */
  const char     *label;          /* N_(): the window's experiment list */
  const char     *description;    /* N_(): one sentence, for --experiment's help and tooltips */
  const char     *default_view;   /* the window's view that shows it best */
  const char     *legacy_name;    /* the name of earlier versions when it differs, else NULL */
  int             legacy_index;   /* its value in the experiment enum of earlier versions, -1 if none */
  gsize           instance_size;
  const GafParam *params;         /* the parameters that apply, ended by GAF_N_PARAMS */
  GafParam        batch_param;    /* the training batch among them */
  gboolean        reads_data;     /* building may read files for a while (the runner says so first) */
  gboolean        untrained;      /* nothing to train (an exact field): the window offers no Train */
  const char     *default_model;  /* a model file shipped with the app that it opens first while the
                                   * experiment's data parameters are at their defaults, or NULL */
  gint64          sample_interval_us;   /* while training, a sampling round this often (0: 2 s) */
  gconstpointer   family_data;    /* what the family's module knows of this member (a joint's target), or NULL */
  const char     *opens;          /* the data of the files it opens without an [app] group (claims), for the
                                   * message when no experiment opens one: a data spec or a few words; NULL */

  /* A new model from self->p (called again for every new model of the same instance, which may keep
   * the data it read). `loaded`, when not NULL, is the network to use instead of a fresh one (taken, also
   * on failure). Sets n, c, q, labels (+ data), net (NULL: nothing to train) and net_seed, and a first
   * payload; the trainer is made by the caller. */
  gboolean    (*build)         (GafExperiment *self, GafNet *loaded, GError **error);
  /* One training step (NULL: gaf_trainer_step). */
  gboolean    (*train_step)    (GafExperiment *self, double *loss, GError **error);
  /* One sampling round with the sampler parameters: publishes a payload with a new GafRound. */
  gboolean    (*sample)        (GafExperiment *self, GafRng *rng, GCancellable *cancellable, GError **error);
  /* A parameter that applies changed and was not a model parameter (after the trainer took it). */
  void        (*param_changed) (GafExperiment *self, GafParam param);
  /* Background work the experiment wants done now (NULL: none); the job is self-contained, so the model
   * may change while it runs; job_done hears of its end (on this or a newer model: compare the serial). */
  GafJob     *(*next_job)      (GafExperiment *self);
  void        (*job_done)      (GafExperiment *self, GafJob *job, gboolean ok, const GError *error);
  /* Groups of its own in a saved checkpoint (besides [model], [train] and [app]). */
  void        (*save)          (GafExperiment *self, GKeyFile *kf);
  /* Whether it opens a checkpoint without an [app] group (written by another tool); if so fills params. */
  gboolean    (*claims)        (GKeyFile *kf, GafRunnerParams *params);
  /* Takes what it can keep from an instance of the same class (data read already) before a build. */
  void        (*adopt)         (GafExperiment *self, GafExperiment *from);
  void        (*finalize)      (GafExperiment *self);
  /* The status line's account of the last round (translated), NULL before one; NULL hook: the KL with
   * its uniform and floor references. */
  char       *(*summary)       (const GafPayload *payload);
};

struct _GafExperiment {
  const GafExperimentClass *klass;
  GafRunnerParams  p;             /* as applied */
  guint64          model_serial;  /* changes with every model built */
  int              n, c;          /* 0 until built */
  const double    *q;             /* (n, c) target marginals, owned by the experiment */
  GafLabelFunc     labels;        /* the training data */
  gpointer         labels_data;
  GafNet          *net;           /* NULL: nothing to train (an exact field) */
  guint64          net_seed;
  gboolean         net_described; /* the parameters describe the network (FALSE for one opened from a file
                                   * that they cannot: a DenseNet, an MLP of another depth) */
  GafTrainer      *trainer;       /* GAF's, NULL for a jump flow */
  GafBaselineTrainer *jump_trainer; /* a jump flow's (GAF_PARAM_METHOD), NULL for GAF */
  GafMethod        method;        /* of the model built: GAF_METHOD_GAF, _MASKED or _UNIFORM */
  GafPayload      *payload;       /* the newest payload; never NULL */
  gboolean         wants_sample;  /* set by param_changed: a round would show the change */
  GafParam         adjusted;      /* a parameter the model could not take and set to another value ... */
  GError          *adjusted_why;  /* ... and why (NULL: none since the runner last asked) */
};

/* ---- jobs: background work on the runner's thread --------------------------------------------------- */

/* What the thread gives a job: its cancellation and a progress report (which also lets the runner answer
 * commands and publish meanwhile). */
struct _GafWork {
  GCancellable *cancellable;
  void        (*progress) (GafWork *work, double fraction);
  gpointer      data;
};

typedef struct {
  const char  *name;                               /* static, shown in snapshots while it runs */
  const char  *label;                              /* N_(): what it does, for the status line */
  gboolean   (*run)     (GafJob *job, GafWork *work, GError **error);
  /* What it has to show (sweep rows as they come), a new reference or NULL. */
  GafPayload *(*payload) (GafJob *job);
  void       (*free)    (GafJob *job);
} GafJobClass;

struct _GafJob {
  const GafJobClass *klass;
  guint64            model_serial;  /* of the experiment's model it was made for (0 for none) */
};

static inline void
gaf_work_progress (GafWork *work, double fraction)
{
  if (work->progress != NULL)
    work->progress (work, fraction);
}

void        gaf_job_free (GafJob *job);

/* ---- the registry ---------------------------------------------------------------------------------- */

/* Every experiment, in the order the app lists them; NULL-terminated. */
const GafExperimentClass *const *gaf_experiments (void);
const GafExperimentClass *gaf_experiment_default (void);
/* By id, or NULL. */
const GafExperimentClass *gaf_experiment_lookup  (const char *id);
/* By id, by an earlier version's name or by the decimal index of the earlier experiment enum, or NULL. */
const GafExperimentClass *gaf_experiment_lookup_legacy (const char *name);
/* The ids, for messages ("scaling, exact, ... or text"). */
char       *gaf_experiment_list_ids (const char *last_separator);
/* The status line's account of a payload's last round (translated), NULL before one. */
char       *gaf_experiment_summary  (const GafExperimentClass *klass, const GafPayload *payload);

/* ---- instances --------------------------------------------------------------------------------------- */

gboolean    gaf_experiment_uses       (const GafExperimentClass *klass, GafParam param);
/* The method the parameters choose: GAF unless the experiment has the method parameter and it names a jump
 * flow. */
GafMethod   gaf_runner_params_method  (const GafRunnerParams *params);
/* Whether a parameter means something under params: its experiment uses it and it is for the chosen method
 * (GafParamInfo.applies). */
gboolean    gaf_runner_params_applies (const GafRunnerParams *params, GafParam param);
/* Whether the model trains (a network with its trainer, GAF's or a jump flow's). */
gboolean    gaf_experiment_trainable  (GafExperiment *self);
/* For modules, when a network was opened from a file: if it is of `kind`, whose width the parameter
 * `width` sets (toy CNN: hidden, MLP of the default depth: hidden, UNet: channels), the parameter takes
 * the file's width, so the panel shows it; otherwise, or for a width the parameter cannot take,
 * net_described is FALSE (the window says which network is open). */
void        gaf_experiment_describe_loaded (GafExperiment *self, GafNet *loaded, int kind, GafParam width);
/* What modules give their network for the method of the model being built: the input width (c, or c + 1
 * with the mask channel) and the input scale (GAF's own for GAF; sqrt(c) for a jump flow's one-hot input,
 * root-mean-square entry 1). */
int         gaf_experiment_in_channels (GafExperiment *self);
double      gaf_experiment_input_scale (GafExperiment *self, double gaf_scale);
/* An instance of klass with params (their experiment is klass) and a first model; NULL and the error when
 * it cannot be built (data that cannot be read, a network the data do not fit). `from` (may be NULL) is the
 * instance it replaces, whose data it may keep. */
GafExperiment *gaf_experiment_new     (const GafExperimentClass *klass, const GafRunnerParams *params,
                                       GafExperiment *from, GError **error);
void        gaf_experiment_free       (GafExperiment *self);
/* A new model with the current parameters (FALSE: the experiment has no model now, only a payload). */
gboolean    gaf_experiment_rebuild    (GafExperiment *self, GError **error);
guint64     gaf_experiment_step       (GafExperiment *self);
gboolean    gaf_experiment_train_step (GafExperiment *self, double *loss, GError **error);
gboolean    gaf_experiment_sample     (GafExperiment *self, GafRng *rng, GCancellable *cancellable,
                                       GError **error);
/* A changed value (clamped) that is not a model parameter: applied to the trainer and told the class. */
void        gaf_experiment_set_param  (GafExperiment *self, GafParam param, double value);
/* The trainer's configuration from the parameters. */
void        gaf_experiment_trainer_config (GafExperiment *self, GafTrainerConfig *cfg);
/* Replaces the published payload (takes it). */
void        gaf_experiment_publish    (GafExperiment *self, GafPayload *payload);
/* For modules: a value the model cannot take (bf16 sampling on a CPU without AVX-512 BF16) is replaced by one it
 * can, and `why` (taken; translated, a sentence) is kept for the runner, which reports it to its owner once: the
 * parameters never claim what the model does not do. */
void        gaf_experiment_adjust_param (GafExperiment *self, GafParam param, double value, GError *why);
/* The last adjustment's reason (transfer full) and its parameter, or NULL; it is reported once. */
GError     *gaf_experiment_take_adjusted (GafExperiment *self, GafParam *param);

/* Model files: [model], [train], [app] (experiment and parameters) and the experiment's own groups,
 * atomically. */
gboolean    gaf_experiment_save       (GafExperiment *self, const char *path, GError **error);
/* A new instance from a checkpoint, its training state restored; everything is checked before it is
 * returned, so a bad file changes nothing. `current` (may be NULL) lends its data. */
GafExperiment *gaf_experiment_load    (const char *path, GafExperiment *current, GError **error);
/* gaf_experiment_load, or a .safetensors file whose metadata says what it is, imported (the label maps'
 * data of `current` for one that names none). */
GafExperiment *gaf_experiment_open    (const char *path, GafExperiment *current, GError **error);

/* ---- what modules share ---------------------------------------------------------------------------- */

/* The sampler configuration of the parameters. */
void        gaf_experiment_sampler_config (GafExperiment *self, GafSamplerConfig *cfg);
/* A sampling round of the network (EMA weights) of `count` sequences, every row of the first
 * `record` sequences recorded: labels (count, n) and a new round with its trajectories. */
GafRound   *gaf_experiment_sample_net (GafExperiment *self, GafRng *rng, guint64 count, guint record,
                                       guint16 *labels, GCancellable *cancellable, GError **error);
/* Fills a round's per-position frequencies and the per-position histogram KL against self->q. */
void        gaf_round_set_histogram   (GafRound *round, const guint16 *labels, guint64 count, int n, int c,
                                       const double *q);
/* The field of position 0 on the interior lattice of S_3 (c = 3 only, else NULL) at a few times in [0, T],
 * the other positions at the barycentre; `field` (NULL: the network) gives F from logits. */
typedef void (*GafLogitField) (gpointer data, double t, const float *logits, float *out, int batch);
GafFieldGrid *gaf_experiment_field_grid (GafExperiment *self, double t_end, GafLogitField field, gpointer data);

G_END_DECLS
