/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runner"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>
#ifdef __linux__
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "gaf-blas.h"
#include "gaf-error.h"
#include "gaf-runner-private.h"
#include "gaf-training-log.h"
#include "gaf-tsan.h"

/* While training, a sampling round this often unless the experiment says otherwise. */
#define SAMPLE_INTERVAL_US (2 * G_USEC_PER_SEC)
#define PUBLISH_INTERVAL_US (30 * 1000)
/* At most one "published" event this often: followers that tick see every snapshot meanwhile (they stay awake
 * a second after an event), and a busy engine must not flood the main loop. */
#define PUBLISHED_EVENT_INTERVAL_US (250 * 1000)

/* ---- the engine, owned by the thread ---------------------------------------------------------------- */

typedef struct {
  Shared          *sh;
  int              threads;
  GafRunnerParams  p;
  GafExperiment   *exp;            /* NULL when it could not be built */
  GafPayload      *failed_payload; /* shown while exp is NULL */
  gboolean         want_train;
  GafRunnerState   state;
  gboolean         dirty;          /* something to publish */
  guint64          serial;
  guint64          commands;       /* handled */

  GafTrainingLog   log;
  gint64           last_sample, last_publish, last_published_event;
  gboolean         sample_pending;
  gboolean         sampling;

  GafJob          *job;            /* a runner job pending or running */
  GafPayload      *job_payload;    /* the last one's */
  gboolean         job_cancel;
  const char      *work;           /* see GafSnapshot.work */
  const char      *work_label;
  double           work_fraction;
} Engine;

static guint64
engine_step (Engine *e)
{
  return e->exp != NULL ? gaf_experiment_step (e->exp) : 0;
}

static gboolean
engine_has_budget (Engine *e)
{
  return engine_step (e) < (guint64) e->p.value[GAF_PARAM_BUDGET];
}

static void
engine_publish (Engine *e)
{
  GafSnapshot *s = g_new0 (GafSnapshot, 1);

  s->ref_count = 1;
  s->serial = ++e->serial;
  s->commands = e->commands;
  s->state = e->state;
  s->sampling = e->sampling;
  s->work = e->work;
  s->work_label = e->work_label;
  s->work_fraction = e->work_fraction;
  s->params = e->p;
  s->step = engine_step (e);
  s->loss = e->log.loss;
  s->loss_smooth = e->log.loss_smooth;
  s->steps_per_second = e->log.rate;
  s->elapsed = e->log.elapsed;
  s->skipped = e->log.skipped;
  s->n_loss = e->log.x->len;
  s->loss_x = g_memdup2 (e->log.x->data, sizeof (double) * MAX (1, s->n_loss));
  s->loss_y = g_memdup2 (e->log.y->data, sizeof (double) * MAX (1, s->n_loss));
  if (e->exp != NULL && e->exp->net != NULL)
    {
      s->model_kind = e->exp->net->klass->name;
      s->model_params = gaf_net_get_params (e->exp->net)->size;
      s->model_described = e->exp->net_described;
    }
  s->model_serial = e->exp != NULL ? e->exp->model_serial : 0;
  s->payload = gaf_payload_ref (e->exp != NULL ? e->exp->payload : e->failed_payload);
  s->job = e->job_payload != NULL ? gaf_payload_ref (e->job_payload) : NULL;

  /* The slot holds at most one snapshot nobody took yet; a newer one replaces it. */
  gaf_snapshot_unref (g_atomic_pointer_exchange (&e->sh->slot, s));
  e->last_publish = g_get_monotonic_time ();
  e->dirty = FALSE;
  /* Followers that sleep hear of it: one event at a time, at most one per PUBLISHED_EVENT_INTERVAL_US, below
   * the priority of redraws. */
  if (e->last_publish - e->last_published_event >= PUBLISHED_EVENT_INTERVAL_US &&
      g_atomic_int_compare_and_exchange (&e->sh->published_pending, 0, 1))
    {
      e->last_published_event = e->last_publish;
      gaf_runner_send_event_full (e->sh, SIGNAL_PUBLISHED, NULL, NULL, G_PRIORITY_DEFAULT_IDLE);
    }
}

static void
engine_fail (Engine *e, const GError *error)
{
  e->state = GAF_RUNNER_FAILED;
  e->want_train = FALSE;
  e->sample_pending = FALSE;
  e->dirty = TRUE;
  gaf_runner_send_event (e->sh, SIGNAL_FAILED, error);
}

/* The state after a new model: training, paused, or nothing to train. */
static void
engine_model_changed (Engine *e)
{
  gaf_training_log_reset (&e->log);
  e->dirty = TRUE;
  if (e->exp == NULL || e->exp->n == 0)
    return;
  if (!gaf_experiment_trainable (e->exp))
    e->state = GAF_RUNNER_EXACT;
  else if (!engine_has_budget (e))
    e->state = GAF_RUNNER_DONE;
  else
    e->state = e->want_train ? GAF_RUNNER_TRAINING : GAF_RUNNER_PAUSED;
  e->sample_pending = TRUE;   /* trajectories at once, even from an untrained network */
}

/* A new model of the current parameters: a new instance when the experiment changed (it may keep the data
 * of the one it replaces), else a rebuild of the same. */
static void
engine_build (Engine *e)
{
  g_autoptr(GError) error = NULL;
  const GafExperimentClass *klass = e->p.experiment;

  if (klass->reads_data)
    {
      e->work = GAF_RUNNER_WORK_LOADING;
      e->work_label = N_("reading the data");
      engine_publish (e);
    }
  if (e->exp != NULL && e->exp->klass == klass)
    {
      e->exp->p = e->p;
      if (!gaf_experiment_rebuild (e->exp, &error))
        g_clear_pointer (&e->exp, gaf_experiment_free);
    }
  else
    {
      GafExperiment *exp = gaf_experiment_new (klass, &e->p, e->exp, &error);
      gaf_experiment_free (e->exp);
      e->exp = exp;
    }
  e->work = e->work_label = NULL;
  if (e->exp != NULL)
    e->p = e->exp->p;
  gaf_payload_unref (e->failed_payload);
  e->failed_payload = gaf_payload_new (&gaf_payload_base_type, klass->id, 0, 0, NULL);
  engine_model_changed (e);
  if (error != NULL)
    engine_fail (e, error);
}

static GCancellable *
engine_begin_work (Engine *e)
{
  GCancellable *c = g_cancellable_new ();

  gaf_mutex_lock (&e->sh->lock);
  g_set_object (&e->sh->work, c);
  if (g_atomic_int_get (&e->sh->quit))
    g_cancellable_cancel (c);
  gaf_mutex_unlock (&e->sh->lock);
  return c;
}

static void
engine_end_work (Engine *e, GCancellable *c)
{
  gaf_mutex_lock (&e->sh->lock);
  g_clear_object (&e->sh->work);
  gaf_mutex_unlock (&e->sh->lock);
  g_object_unref (c);
}

static void
engine_sample (Engine *e)
{
  g_autoptr(GError) error = NULL;
  GCancellable *cancel;
  GafRng rng;
  gboolean ok;

  e->sample_pending = FALSE;
  if (e->exp == NULL)
    return;
  e->sampling = TRUE;
  engine_publish (e);
  /* A new stream per round, reproducible from the seed, the model and the step. */
  gaf_rng_init_stream (&rng, (guint64) e->p.value[GAF_PARAM_SEED] * 31 + e->exp->model_serial,
                       0x5a3e00 + engine_step (e));
  cancel = engine_begin_work (e);
  ok = gaf_experiment_sample (e->exp, &rng, cancel, &error);
  engine_end_work (e, cancel);
  e->sampling = FALSE;
  e->last_sample = g_get_monotonic_time ();
  e->dirty = TRUE;
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    engine_fail (e, error);
}

static void
engine_train_step (Engine *e)
{
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time (), t1, interval = e->exp->klass->sample_interval_us;
  guint64 before = engine_step (e);
  double loss;

  if (!gaf_experiment_train_step (e->exp, &loss, &error))
    {
      engine_fail (e, error);
      return;
    }
  t1 = g_get_monotonic_time ();
  if (engine_step (e) == before)
    {
      /* a spike of the loss: the step was not applied and the next batch tries again (gaf-trainer.h);
       * its loss stays out of the history the Training view plots */
      gaf_training_log_skip (&e->log, t0, t1);
      e->dirty = TRUE;
      return;
    }
  gaf_training_log_add (&e->log, engine_step (e), loss, t0, t1);
  if (!engine_has_budget (e))
    {
      e->state = GAF_RUNNER_DONE;
      e->want_train = FALSE;
      e->sample_pending = TRUE;   /* the final model's trajectories */
      gaf_runner_send_event (e->sh, SIGNAL_FINISHED, NULL);
    }
  else if (t1 - e->last_sample >= (interval > 0 ? interval : SAMPLE_INTERVAL_US))
    e->sample_pending = TRUE;
  e->dirty = TRUE;
}

static void
engine_set_training (Engine *e, gboolean train)
{
  e->want_train = train;
  if (e->state == GAF_RUNNER_PAUSED || e->state == GAF_RUNNER_TRAINING)
    e->state = train ? GAF_RUNNER_TRAINING : GAF_RUNNER_PAUSED;
  else if (train && e->state == GAF_RUNNER_DONE && engine_has_budget (e))
    e->state = GAF_RUNNER_TRAINING;   /* the budget was raised */
  else if (train && e->state == GAF_RUNNER_FAILED)
    {
      /* Train again (the window's hint says so): a model that could not be built is built again (it may
       * fail again, with a new event); a run that diverged goes on from its last good weights, with the
       * parameters of now (a lower learning rate, say). */
      if (e->exp == NULL)
        engine_build (e);
      else if (!gaf_experiment_trainable (e->exp))
        e->state = GAF_RUNNER_EXACT;
      else
        e->state = engine_has_budget (e) ? GAF_RUNNER_TRAINING : GAF_RUNNER_DONE;
    }
  if (e->state != GAF_RUNNER_TRAINING)
    gaf_training_log_pause (&e->log);
  e->dirty = TRUE;
}

/* The budget is the runner's own: it decides when training stops. */
static void
engine_budget_changed (Engine *e)
{
  if (e->state == GAF_RUNNER_TRAINING && !engine_has_budget (e))
    {
      e->state = GAF_RUNNER_DONE;
      e->want_train = FALSE;
    }
  else if (e->state == GAF_RUNNER_DONE && engine_has_budget (e))
    e->state = GAF_RUNNER_PAUSED;
}

static void
engine_set_param (Engine *e, GafParam param, double value, const char *text)
{
  const GafParamInfo *info = gaf_param_info (param);

  if (info->type == GAF_PARAM_TEXT)
    {
      if (text == e->p.text[param])
        return;
      e->p.text[param] = text;
    }
  else
    {
      value = gaf_param_clamp (param, value);
      if (value == e->p.value[param])
        return;
      e->p.value[param] = value;
    }
  e->dirty = TRUE;
  if (!gaf_experiment_uses (e->p.experiment, param))
    return;   /* kept for when an experiment it applies to is chosen */
  if (info->section == GAF_PARAM_SECTION_MODEL || e->exp == NULL)
    engine_build (e);
  else if (info->section == GAF_PARAM_SECTION_SAMPLER)
    {
      gaf_experiment_set_param (e->exp, param, value);   /* read by the next round; the precision at once */
      e->sample_pending = TRUE;   /* show the effect at once */
    }
  else
    {
      gaf_experiment_set_param (e->exp, param, value);
      if (param == GAF_PARAM_BUDGET)
        engine_budget_changed (e);
      e->sample_pending |= e->exp->wants_sample;
    }
}

/* A value the experiment could not take and replaced (gaf_experiment_adjust_param: bf16 sampling on a CPU without
 * it): the parameters as applied say what runs, and the owner hears why, once ("adjusted"). */
static void
engine_take_adjusted (Engine *e)
{
  g_autoptr(GError) why = NULL;
  GafParam param = GAF_N_PARAMS;

  if (e->exp == NULL || (why = gaf_experiment_take_adjusted (e->exp, &param)) == NULL)
    return;
  e->p.value[param] = e->exp->p.value[param];
  e->dirty = TRUE;
  gaf_runner_send_adjusted (e->sh, param, e->p.value[param], why);
}

static gboolean engine_handle (Engine *e, Command *cmd);

static void
engine_drain (Engine *e)
{
  Command *cmd;

  while ((cmd = command_receive (g_async_queue_try_pop (e->sh->commands))) != NULL)
    engine_handle (e, cmd);
}

/* A job's progress, on the thread inside the job: keeps the runner answering commands (parameter changes,
 * sync, cancel) meanwhile. Jobs are self-contained, so even a new model is safe. */
static void
engine_job_progress (GafWork *work, double fraction)
{
  Engine *e = work->data;

  e->work_fraction = CLAMP (fraction, 0.0, 1.0);
  e->dirty = TRUE;
  engine_drain (e);
  if (e->job_cancel || g_atomic_int_get (&e->sh->quit))
    g_cancellable_cancel (work->cancellable);
  if (e->job != NULL && e->job->klass->payload != NULL)
    {
      gaf_payload_unref (e->job_payload);
      e->job_payload = e->job->klass->payload (e->job);
    }
  if (g_get_monotonic_time () - e->last_publish >= 4 * PUBLISH_INTERVAL_US)
    engine_publish (e);
}

/* Runs a job to its end; runner jobs (job == e->job) publish their payload and end with "job-finished". */
static gboolean
engine_run_job (Engine *e, GafJob *job, GError **error)
{
  GafWork work = { NULL, engine_job_progress, e };
  gboolean ok;

  e->job_cancel = FALSE;
  e->work = job->klass->name;
  e->work_label = job->klass->label;
  e->work_fraction = 0.0;
  engine_publish (e);
  work.cancellable = engine_begin_work (e);
  ok = job->klass->run (job, &work, error);
  engine_end_work (e, work.cancellable);
  e->work = e->work_label = NULL;
  e->dirty = TRUE;
  return ok;
}

static void
engine_runner_job (Engine *e)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = engine_run_job (e, e->job, &error);

  if (e->job->klass->payload != NULL)
    {
      gaf_payload_unref (e->job_payload);
      e->job_payload = e->job->klass->payload (e->job);
    }
  gaf_runner_send_event_full (e->sh, SIGNAL_JOB_FINISHED, ok ? NULL : error, e->job->klass->name, G_PRIORITY_DEFAULT);
  g_clear_pointer (&e->job, gaf_job_free);
}

/* The experiment's own background work (a likelihood): self-contained, told to the experiment of now. */
static void
engine_experiment_job (Engine *e, GafJob *job)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = engine_run_job (e, job, &error);

  if (e->exp != NULL && e->exp->klass->job_done != NULL)
    e->exp->klass->job_done (e->exp, job, ok, error);
  if (!ok && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    gaf_runner_send_event (e->sh, SIGNAL_FAILED, error);
  gaf_job_free (job);
}

static void
engine_load (Engine *e, Command *cmd)
{
  GError *error = NULL;
  GafExperiment *exp = gaf_experiment_open (cmd->text, e->exp, &error);

  if (exp != NULL)
    {
      gaf_experiment_free (e->exp);
      e->exp = exp;
      e->p = exp->p;
      engine_model_changed (e);
    }
  /* The new model's first snapshot is there before the owner hears of it. */
  engine_publish (e);
  gaf_tsan_send (cmd->task);   /* the owner's *_finish receives it */
  if (exp != NULL)
    g_task_return_pointer (cmd->task, g_memdup2 (&e->p, sizeof e->p), g_free);
  else
    g_task_return_error (cmd->task, error);
  g_clear_object (&cmd->task);
}

static void
engine_save (Engine *e, Command *cmd)
{
  GError *error = NULL;

  if (e->exp == NULL)
    g_set_error (&error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "there is no model to save");
  gaf_tsan_send (cmd->task);
  if (error == NULL && gaf_experiment_save (e->exp, cmd->text, &error))
    g_task_return_boolean (cmd->task, TRUE);
  else
    g_task_return_error (cmd->task, error);
  g_clear_object (&cmd->task);
}

static void
engine_sync_done (Engine *e)
{
  engine_publish (e);
  gaf_mutex_lock (&e->sh->lock);
  e->sh->sync_done++;
  g_cond_broadcast (&e->sh->cond);
  gaf_mutex_unlock (&e->sh->lock);
}

/* Returns FALSE on quit. */
static gboolean
engine_handle (Engine *e, Command *cmd)
{
  gboolean go_on = TRUE;

  e->commands++;   /* before: a snapshot published while handling it (sync, load) shows it */
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
      if (cmd->experiment != e->p.experiment)
        {
          e->p.experiment = cmd->experiment;
          engine_build (e);
        }
      break;
    case CMD_PARAM:
    case CMD_TEXT:
      engine_set_param (e, (GafParam) cmd->param, cmd->value, cmd->text);
      break;
    case CMD_JOB:
      if (e->job == NULL)
        e->job = g_steal_pointer (&cmd->job);
      break;
    case CMD_CANCEL_JOB:
      e->job_cancel = TRUE;
      break;
    case CMD_CALL:
      cmd->call (e->exp, cmd->data);
      e->dirty = TRUE;
      break;
    case CMD_SAVE_MODEL:
      engine_save (e, cmd);
      break;
    case CMD_LOAD_MODEL:
      engine_load (e, cmd);
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
  gaf_runner_command_free (cmd);
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
      GafJob *exp_job = NULL;
      gboolean busy;
      Command *cmd;

      if (e->job == NULL && !e->sample_pending && e->exp != NULL && e->exp->klass->next_job != NULL)
        exp_job = e->exp->klass->next_job (e->exp);
      busy = e->state == GAF_RUNNER_TRAINING || e->sample_pending || e->job != NULL || exp_job != NULL;
      /* Idle: block on the queue (with a timeout, to publish what is dirty). Busy: only peek. */
      cmd = command_receive (busy ? g_async_queue_try_pop (e->sh->commands)
                                  : g_async_queue_timeout_pop (e->sh->commands, 200 * 1000));
      if (exp_job != NULL)
        engine_experiment_job (e, exp_job);   /* commands wait for its first progress report */
      else if (cmd == NULL && e->job != NULL)
        engine_runner_job (e);
      else if (cmd == NULL && e->sample_pending)
        engine_sample (e);
      else if (cmd == NULL && e->state == GAF_RUNNER_TRAINING)
        engine_train_step (e);
      if (cmd != NULL)
        go_on = engine_handle (e, cmd);
      engine_take_adjusted (e);
      if (e->dirty && (g_get_monotonic_time () - e->last_publish >= PUBLISH_INTERVAL_US || !busy))
        engine_publish (e);
    }

  /* Wake anybody waiting in gaf_runner_sync. */
  gaf_mutex_lock (&e->sh->lock);
  e->sh->sync_done = e->sh->sync_sent;
  g_cond_broadcast (&e->sh->cond);
  gaf_mutex_unlock (&e->sh->lock);

  gaf_experiment_free (e->exp);
  gaf_payload_unref (e->failed_payload);
  gaf_job_free (e->job);
  gaf_payload_unref (e->job_payload);
  gaf_training_log_clear (&e->log);
  gaf_runner_shared_unref (e->sh);
  g_free (e);
  return NULL;
}

/* ---- the GObject, on the owner's thread -------------------------------------------------------------- */

struct _GafRunner {
  GObject          parent_instance;
  Shared          *sh;
  GThread         *thread;
  GafRunnerParams  params;
  /* The command count (Shared.commands_sent) of the last request of each parameter and of the experiment: an
   * opened file's parameters do not replace a request sent after the file was asked for. */
  guint64          requested[GAF_N_PARAMS];
  guint64          experiment_requested;
  gboolean         training;
  GafSnapshot     *current;
};

G_DEFINE_FINAL_TYPE (GafRunner, gaf_runner, G_TYPE_OBJECT)

static Command *
push (GafRunner *self, CommandKind kind, int param, double value)
{
  Command *cmd = g_new0 (Command, 1);

  cmd->kind = kind;
  cmd->param = param;
  cmd->value = value;
  command_send (self->sh, cmd);
  return cmd;
}

/* A command filled in before it is sent. */
static Command *
command_new (CommandKind kind)
{
  Command *cmd = g_new0 (Command, 1);

  cmd->kind = kind;
  return cmd;
}

static void
gaf_runner_dispose (GObject *object)
{
  GafRunner *self = GAF_RUNNER (object);

  if (self->thread != NULL)
    {
      g_atomic_int_set (&self->sh->quit, 1);
      gaf_mutex_lock (&self->sh->lock);
      if (self->sh->work != NULL)
        g_cancellable_cancel (self->sh->work);
      gaf_mutex_unlock (&self->sh->lock);
      push (self, CMD_QUIT, 0, 0.0);
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

  g_clear_pointer (&self->sh, gaf_runner_shared_unref);
  G_OBJECT_CLASS (gaf_runner_parent_class)->finalize (object);
}

/* What the engine runs now is what the owner asked for: a value the experiment replaced replaces the request (a
 * later request of the same value is sent again, and refused again). */
static void
gaf_runner_adjusted (GafRunner *self, int param, double value, const GError *why)
{
  g_return_if_fail ((guint) param < GAF_N_PARAMS);
  self->params.value[param] = value;
}

static void
gaf_runner_class_init (GafRunnerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = gaf_runner_dispose;
  object_class->finalize = gaf_runner_finalize;

  /* A new snapshot is in the slot (at most one such event waits at a time): views that sleep wake up. */
  gaf_runner_signals[SIGNAL_PUBLISHED] =
    g_signal_new ("published", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Training reached its budget. */
  gaf_runner_signals[SIGNAL_FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Training diverged (GAF_ERROR_DIVERGED), data could not be read, or sampling or a job failed. */
  gaf_runner_signals[SIGNAL_FAILED] =
    g_signal_new ("failed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                  G_TYPE_ERROR);
  /* A runner job ended (detail: its name): its name and NULL, or the error (cancelled included). */
  gaf_runner_signals[SIGNAL_JOB_FINISHED] =
    g_signal_new ("job-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_DETAILED, 0, NULL, NULL,
                  NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
  /* The experiment could not take a parameter's value and runs with another (bf16 sampling on a CPU without
   * AVX-512 BF16): the parameter (a GafParam), the value it has now, and why (translated). The runner's own
   * handler runs first: gaf_runner_get_params has the value by then. */
  gaf_runner_signals[SIGNAL_ADJUSTED] =
    g_signal_new_class_handler ("adjusted", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_FIRST,
                                G_CALLBACK (gaf_runner_adjusted), NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_INT,
                                G_TYPE_DOUBLE, G_TYPE_ERROR);
}

static void
gaf_runner_init (GafRunner *self)
{
}

GafRunner *
gaf_runner_new (const GafRunnerParams *params, int engine_threads)
{
  GafRunner *self = g_object_new (GAF_TYPE_RUNNER, NULL);
  Shared *sh = gaf_runner_shared_new (self);
  Engine *e = g_new0 (Engine, 1);

  self->sh = sh;

  self->params = *params;
  gaf_runner_params_clamp (&self->params);
  e->sh = gaf_runner_shared_ref (sh);
  e->threads = MAX (engine_threads, 1);
  e->p = self->params;
  e->failed_payload = gaf_payload_new (&gaf_payload_base_type, e->p.experiment->id, 0, 0, NULL);
  gaf_training_log_init (&e->log);
  self->thread = g_thread_new ("gaflow-engine", runner_thread, e);
  return self;
}

void
gaf_runner_train (GafRunner *self, gboolean train)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  self->training = train;
  push (self, CMD_TRAIN, 0, train ? 1.0 : 0.0);
}

gboolean
gaf_runner_is_current (GafRunner *self, const GafSnapshot *snapshot)
{
  g_return_val_if_fail (GAF_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (snapshot != NULL, FALSE);
  return snapshot->commands >= self->sh->commands_sent;
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
  push (self, CMD_SAMPLE, 0, 0.0);
}

void
gaf_runner_reset (GafRunner *self)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  push (self, CMD_RESET, 0, 0.0);
}

void
gaf_runner_set_experiment (GafRunner *self, const GafExperimentClass *experiment)
{
  Command *cmd;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (experiment != NULL && gaf_experiment_lookup (experiment->id) == experiment);
  self->params.experiment = experiment;
  cmd = command_new (CMD_EXPERIMENT);
  cmd->experiment = experiment;
  command_send (self->sh, cmd);
  self->experiment_requested = self->sh->commands_sent;
}

void
gaf_runner_set_param (GafRunner *self, GafParam param, double value)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail ((guint) param < GAF_N_PARAMS && gaf_param_info (param)->type != GAF_PARAM_TEXT);
  value = gaf_param_clamp (param, value);
  if (self->params.value[param] == value)
    return;
  self->params.value[param] = value;
  push (self, CMD_PARAM, param, value);
  self->requested[param] = self->sh->commands_sent;
}

void
gaf_runner_set_text (GafRunner *self, GafParam param, const char *text)
{
  Command *cmd;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail ((guint) param < GAF_N_PARAMS && gaf_param_info (param)->type == GAF_PARAM_TEXT);
  g_return_if_fail (text != NULL && strlen (text) < GAF_PARAM_TEXT_MAX);
  if (g_strcmp0 (self->params.text[param], text) == 0)
    return;
  self->params.text[param] = g_intern_string (text);
  cmd = command_new (CMD_TEXT);
  cmd->param = param;
  cmd->text = self->params.text[param];
  command_send (self->sh, cmd);
  self->requested[param] = self->sh->commands_sent;
}

const GafRunnerParams *
gaf_runner_get_params (GafRunner *self)
{
  g_return_val_if_fail (GAF_IS_RUNNER (self), NULL);
  return &self->params;
}

void
gaf_runner_run_job (GafRunner *self, GafJob *job)
{
  Command *cmd;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (job != NULL);
  cmd = command_new (CMD_JOB);
  cmd->job = job;
  command_send (self->sh, cmd);
}

void
gaf_runner_cancel_job (GafRunner *self)
{
  g_return_if_fail (GAF_IS_RUNNER (self));
  /* The thread drains commands at every progress report of the job and cancels it. */
  push (self, CMD_CANCEL_JOB, 0, 0.0);
}

void
gaf_runner_call (GafRunner *self, GafExperimentCall func, gpointer data, GDestroyNotify data_free)
{
  Command *cmd;

  g_return_if_fail (GAF_IS_RUNNER (self));
  g_return_if_fail (func != NULL);
  cmd = command_new (CMD_CALL);
  cmd->call = func;
  cmd->data = data;
  cmd->data_free = data_free;
  command_send (self->sh, cmd);
}

static void
push_file_command (GafRunner *self, CommandKind kind, const char *path, gpointer source_tag,
                   GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  Command *cmd = command_new (kind);

  cmd->text = g_intern_string (path);
  /* No source object: the task must not keep the runner alive (its last reference could then drop on the
   * engine thread, which would have to join itself). */
  cmd->task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (cmd->task, source_tag);
  /* Its place among the commands (gaf_runner_load_model_finish), in the pointer itself: the task's last
   * reference may drop on the engine thread, and a block freed there after the owner read it is a race that
   * ThreadSanitizer reports (GTask's reference count is inside an uninstrumented libgio). */
  g_task_set_task_data (cmd->task, GSIZE_TO_POINTER ((gsize) (self->sh->commands_sent + 1)), NULL);
  command_send (self->sh, cmd);
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
  gaf_tsan_receive (result);
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
  guint64 asked;

  g_return_val_if_fail (GAF_IS_RUNNER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == gaf_runner_load_model_async, FALSE);
  gaf_tsan_receive (result);
  asked = GPOINTER_TO_SIZE (g_task_get_task_data (G_TASK (result)));
  params = g_task_propagate_pointer (G_TASK (result), error);
  if (params == NULL)
    return FALSE;
  /* What the engine runs now is what was asked for: the model's parameters, except those requested after the file
   * (a slider moved while the file was read), which the engine applies next, in the order they were sent. */
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    if (self->requested[p] > asked)
      {
        params->value[p] = self->params.value[p];
        params->text[p] = self->params.text[p];
      }
  if (self->experiment_requested > asked)
    params->experiment = self->params.experiment;
  self->params = *params;
  return TRUE;
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
  gaf_mutex_lock (&self->sh->lock);
  ticket = ++self->sh->sync_sent;
  gaf_mutex_unlock (&self->sh->lock);
  push (self, CMD_SYNC, 0, 0.0);
  gaf_mutex_lock (&self->sh->lock);
  while (self->sh->sync_done < ticket && !g_atomic_int_get (&self->sh->quit))
    gaf_cond_wait (&self->sh->cond, &self->sh->lock);
  gaf_mutex_unlock (&self->sh->lock);
}
