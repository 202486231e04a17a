/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-experiment.h"

G_BEGIN_DECLS

/* The engine runner of ARCHITECTURE.md: one long-lived thread that owns the experiment (its model, trainer
 * and sampler, gaf-experiment.h) and runs jobs. It knows no experiment: everything it does to one goes
 * through the GafExperimentClass interface, and what an experiment shows travels in its payload. No GTK here.
 *
 * Threading contract
 * - The owner is the thread that called gaf_runner_new; its thread-default main context at that moment
 *   is the owner's context. Every public function is for the owner only.
 * - Commands go from the owner to the engine thread through a GAsyncQueue; nothing the owner passes is
 *   kept by reference (jobs and call data are taken).
 * - State goes back as immutable, reference-counted snapshots in a single slot swapped with
 *   g_atomic_pointer_exchange: gaf_runner_dup_snapshot never blocks on the engine and never sees a
 *   half-written snapshot. A snapshot may be read from any thread and outlives its runner.
 * - Discrete events ("published", "finished", "failed", "job-finished", "adjusted") and the completions of the
 *   async save/load calls are delivered by a GSource attached to the owner's context: their handlers run on the
 *   owner's thread, only while it iterates that context, and never inline on the engine thread (the engine
 *   does not use g_main_context_invoke*, which would run a handler on the calling thread when no one owns
 *   the context). An owner that blocks (gaf_runner_sync) receives the events queued meanwhile at its next
 *   iteration. Each event holds a GWeakRef to the runner: one still pending when the runner is disposed
 *   is dropped, never emitted on a finalized object.
 * - Disposing the runner cancels the running work, joins the thread and frees what only it used. */

typedef enum {
  GAF_RUNNER_PAUSED,
  GAF_RUNNER_TRAINING,
  GAF_RUNNER_DONE,           /* budget reached */
  GAF_RUNNER_EXACT,          /* the experiment has nothing to train */
  GAF_RUNNER_FAILED,         /* diverged or an error; see the "failed" signal */
} GafRunnerState;

/* The work that runs on the thread besides training (GafSnapshot.work) while the experiment's data are read. */
#define GAF_RUNNER_WORK_LOADING "loading"

typedef struct _GafSnapshot GafSnapshot;

struct _GafSnapshot {
  /*< private >*/
  gint             ref_count;
  /*< public, read-only >*/
  guint64          serial;
  guint64          commands;        /* how many commands the engine had handled (gaf_runner_is_current) */
  GafRunnerState   state;
  gboolean         sampling;        /* a sampling round is running */
  const char      *work;            /* a job's name or GAF_RUNNER_WORK_LOADING while it runs, else NULL */
  const char      *work_label;      /* what it does, untranslated (N_): the status line shows _(work_label) */
  double           work_fraction;   /* of that work, 0 .. 1 */
  GafRunnerParams  params;          /* as applied */
  guint64          step;
  double           loss;            /* last training loss, NAN before the first step */
  double           loss_smooth;     /* exponential average over about 100 steps */
  double           steps_per_second;
  double           elapsed;         /* seconds spent training */
  guint64          skipped;         /* steps skipped as loss spikes since the model was made (gaf-trainer.h) */
  /* Whole-run loss history in bins: loss_x is the step at the end of a bin, loss_y its mean. */
  guint            n_loss;
  double          *loss_x;
  double          *loss_y;
  const char      *model_kind;      /* the network's name ("toy-cnn", "mlp", ...; static), NULL without one */
  guint64          model_params;    /* its parameter count */
  gboolean         model_described; /* the parameters describe it (FALSE: opened from a file, a network the
                                     * panel has no parameters for, e.g. a DenseNet) */
  guint64          model_serial;    /* changes with every new model (reset, parameters, experiment, file) */
  GafPayload      *payload;         /* the experiment's (gaf-payload.h and its family's header); never NULL */
  GafPayload      *job;             /* the last runner job's (gaf_runner_run_job), NULL before any */
};

GafSnapshot *gaf_snapshot_ref   (GafSnapshot *snapshot);
void         gaf_snapshot_unref (GafSnapshot *snapshot);
/* Whether the engine is doing anything the views should follow (training, sampling, a job). */
gboolean     gaf_snapshot_busy  (const GafSnapshot *snapshot);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafSnapshot, gaf_snapshot_unref)

const char  *gaf_runner_state_to_string (GafRunnerState state);

/* Runs on the engine thread with the experiment that runs now (NULL when none could be built). */
typedef void (*GafExperimentCall) (GafExperiment *experiment, gpointer data);

#define GAF_TYPE_RUNNER (gaf_runner_get_type ())
G_DECLARE_FINAL_TYPE (GafRunner, gaf_runner, GAF, RUNNER, GObject)

/* Starts the thread, builds the experiment and publishes a first snapshot; paused until gaf_runner_train.
 * engine_threads is passed to gaf_blas_set_threads (the app uses 1, leaving a core to the UI). */
GafRunner   *gaf_runner_new            (const GafRunnerParams *params, int engine_threads);
void         gaf_runner_train          (GafRunner *self, gboolean train);
gboolean     gaf_runner_get_training   (GafRunner *self);
/* The snapshot shows the effect of every command sent so far (a Train pressed after a failure, say): one
 * published before the engine took them may still show the state they change. */
gboolean     gaf_runner_is_current     (GafRunner *self, const GafSnapshot *snapshot);
/* A sampling round now. Training triggers one every few seconds too. */
void         gaf_runner_sample         (GafRunner *self);
/* A fresh model with the current parameters (training state kept). */
void         gaf_runner_reset          (GafRunner *self);
void         gaf_runner_set_experiment (GafRunner *self, const GafExperimentClass *experiment);
/* Model parameters rebuild the model; training ones apply at the next step; sampler ones to the next
 * round. A parameter the experiment does not use is kept for one that does. */
void         gaf_runner_set_param      (GafRunner *self, GafParam param, double value);
/* A text parameter (a data spec): a new model when the experiment uses it; data that cannot be read fail
 * the runner ("failed"). */
void         gaf_runner_set_text       (GafRunner *self, GafParam param, const char *text);
/* The parameters as last requested (the snapshot has them as applied). */
const GafRunnerParams *gaf_runner_get_params (GafRunner *self);
/* Runs a job in the background (training waits meanwhile); its payload is published as GafSnapshot.job.
 * Takes the job; one already running or pending wins (this one is dropped). */
void         gaf_runner_run_job        (GafRunner *self, GafJob *job);
void         gaf_runner_cancel_job     (GafRunner *self);
/* Runs func (experiment, data) on the engine thread in command order, then data_free (data). */
void         gaf_runner_call           (GafRunner *self, GafExperimentCall func, gpointer data,
                                        GDestroyNotify data_free);
/* Model files (gaf-checkpoint.h; the app uses the suffix .gafck), on the engine thread: see
 * gaf_experiment_save and gaf_experiment_load; .safetensors files whose metadata says what they are are
 * imported (gaf_torch_write_checkpoint; one that names no data takes the current image data). A bad file leaves the model as it was and the error names the
 * file. After a successful open gaf_runner_get_params has the model's parameters (but
 * for those set after the open was asked for: the engine applies them next). The callback runs on the
 * thread that made the runner; a runner disposed before the command ran completes it with
 * G_IO_ERROR_CANCELLED. */
void         gaf_runner_save_model_async  (GafRunner *self, const char *path, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean     gaf_runner_save_model_finish (GafRunner *self, GAsyncResult *result, GError **error);
void         gaf_runner_load_model_async  (GafRunner *self, const char *path, GCancellable *cancellable,
                                           GAsyncReadyCallback callback, gpointer user_data);
gboolean     gaf_runner_load_model_finish (GafRunner *self, GAsyncResult *result, GError **error);
/* The newest snapshot (a new reference). Never NULL. */
GafSnapshot *gaf_runner_dup_snapshot   (GafRunner *self);
/* Blocks until the runner has handled every command sent so far and published (tests, screenshots). */
void         gaf_runner_sync           (GafRunner *self);

G_END_DECLS
