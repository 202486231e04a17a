/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-keyfile.h"
#include "gaf-parallel.h"
#include "gaf-profile.h"
#include "gaf-trainer.h"

struct _GafTrainer {
  GafNet          *net;
  GafLabelFunc     labels_func;
  gpointer         labels_data;
  GafTrainerConfig cfg;
  GafRng           rng;       /* one draw per step: the key of that step's per-sample streams */
  int              rank, n_ranks;   /* data parallelism: this process draws samples [rank B/R, (rank+1) B/R) */
  int              n, c;
  guint16         *labels;   /* (B, n) */
  float           *t, *w, *u, *f, *df;
  GafRng          *streams;   /* (B) the per-sample streams of a step */
  double           cosine_lr;     /* > 0: cosine schedule active */
  guint64          cosine_start, cosine_total;
  GafLossWatch     watch;
};

void
gaf_trainer_config_init (GafTrainerConfig *cfg)
{
  cfg->batch = 128;
  cfg->adam = GAF_ADAM_DEFAULTS;
  gaf_path_config_init (&cfg->path);
  cfg->ema_decay = 0.0;
  cfg->seed = 1;
}

gboolean
gaf_trainer_config_check (const GafTrainerConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (cfg->batch < 1 || cfg->batch > 1 << 20)
    what = "batch size must be between 1 and 1048576";
  else if (!(cfg->adam.lr > 0.0) || !isfinite (cfg->adam.lr) || cfg->adam.lr > 10.0)
    what = "learning rate must be a positive number no larger than 10";
  else if (!(cfg->path.lambda >= GAF_PATH_LAMBDA_MIN && cfg->path.lambda <= GAF_PATH_LAMBDA_MAX))
    what = "lambda must be a number from " G_STRINGIFY (GAF_PATH_LAMBDA_MIN) " to " G_STRINGIFY (GAF_PATH_LAMBDA_MAX);
  else if (!(cfg->path.time_rate >= GAF_PATH_TIME_RATE_MIN && cfg->path.time_rate <= GAF_PATH_TIME_RATE_MAX))
    what = "time rate must be a number from " G_STRINGIFY (GAF_PATH_TIME_RATE_MIN) " to "
           G_STRINGIFY (GAF_PATH_TIME_RATE_MAX);
  else if (!(cfg->path.time_shape >= GAF_PATH_TIME_SHAPE_MIN && cfg->path.time_shape <= GAF_PATH_TIME_SHAPE_MAX))
    what = "time shape must be a number from " G_STRINGIFY (GAF_PATH_TIME_SHAPE_MIN) " to "
           G_STRINGIFY (GAF_PATH_TIME_SHAPE_MAX);
  else if (!(cfg->ema_decay >= 0.0 && cfg->ema_decay < 1.0))
    what = "EMA decay must be in [0, 1)";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  return TRUE;
}

GafTrainer *
gaf_trainer_new (GafNet *net, GafLabelFunc labels, gpointer labels_data, const GafTrainerConfig *cfg)
{
  GafTrainer *tr;
  gsize size;

  g_return_val_if_fail (gaf_trainer_config_check (cfg, NULL), NULL);
  g_return_val_if_fail (net->in_channels == net->out_channels, NULL);
  tr = g_new0 (GafTrainer, 1);
  tr->net = net;
  tr->labels_func = labels;
  tr->labels_data = labels_data;
  tr->cfg = *cfg;
  tr->n = net->n;
  tr->c = net->out_channels;
  gaf_rng_init_stream (&tr->rng, cfg->seed, 0x7a1);
  tr->rank = 0;
  tr->n_ranks = 1;
  size = (gsize) cfg->batch * tr->n * tr->c;
  tr->labels = g_new (guint16, (gsize) cfg->batch * tr->n);
  tr->t = g_new (float, cfg->batch);
  tr->w = g_new (float, size);
  tr->u = g_new (float, size);
  tr->f = g_new (float, size);
  tr->df = g_new (float, size);
  tr->streams = g_new (GafRng, cfg->batch);
  return tr;
}

void
gaf_trainer_free (GafTrainer *trainer)
{
  if (trainer == NULL)
    return;
  g_free (trainer->labels);
  g_free (trainer->t);
  g_free (trainer->w);
  g_free (trainer->u);
  g_free (trainer->f);
  g_free (trainer->df);
  g_free (trainer->streams);
  g_free (trainer);
}

void
gaf_trainer_set_lr (GafTrainer *trainer, double lr)
{
  trainer->cfg.adam.lr = lr;
}

void
gaf_trainer_set_path (GafTrainer *trainer, const GafPathConfig *path)
{
  trainer->cfg.path = *path;
}

void
gaf_trainer_set_cosine_schedule (GafTrainer *trainer, double base_lr, guint64 total)
{
  trainer->cosine_lr = base_lr;
  trainer->cosine_start = gaf_trainer_get_step (trainer);
  trainer->cosine_total = total;
}

guint64
gaf_trainer_get_step (GafTrainer *trainer)
{
  return trainer->net->params->step;
}

void
gaf_loss_watch_init (GafLossWatch *watch)
{
  memset (watch, 0, sizeof *watch);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The median of the recorded losses, folded into the lowest one so far. */
static double
watch_best (GafLossWatch *watch)
{
  double sorted[GAF_DIVERGENCE_WINDOW], median;

  memcpy (sorted, watch->loss, watch->n * sizeof (double));
  qsort (sorted, watch->n, sizeof (double), cmp_double);
  median = watch->n % 2 ? sorted[watch->n / 2] : 0.5 * (sorted[watch->n / 2 - 1] + sorted[watch->n / 2]);
  watch->best = watch->best > 0.0 ? MIN (watch->best, median) : MAX (median, G_MINDOUBLE);
  return watch->best;
}

GafLossVerdict
gaf_loss_watch_judge (GafLossWatch *watch, double loss)
{
  double best;

  if (!isfinite (loss))
    return GAF_LOSS_DIVERGED;
  if (watch == NULL || watch->n < GAF_DIVERGENCE_WARMUP)
    return GAF_LOSS_OK;
  best = watch_best (watch);
  if (loss > GAF_DIVERGENCE_FACTOR * best && loss - best > 1.0)
    return watch->spikes + 1 >= GAF_DIVERGENCE_PATIENCE ? GAF_LOSS_DIVERGED : GAF_LOSS_SPIKE;
  return GAF_LOSS_OK;
}

void
gaf_loss_watch_commit (GafLossWatch *watch, GafLossVerdict verdict, double loss)
{
  if (watch == NULL)
    return;
  if (verdict == GAF_LOSS_SPIKE)
    {
      watch->spikes++;
      return;
    }
  if (verdict != GAF_LOSS_OK)
    return;
  watch->spikes = 0;
  watch->loss[watch->next] = loss;
  watch->next = (watch->next + 1) % GAF_DIVERGENCE_WINDOW;
  watch->n = MIN (watch->n + 1, GAF_DIVERGENCE_WINDOW);
}

void
gaf_loss_watch_error (const GafLossWatch *watch, double loss, guint64 step, double lr, GError **error)
{
  if (!isfinite (loss) || watch == NULL || watch->best <= 0.0)
    g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                 "training diverged at step %" G_GUINT64_FORMAT ": the loss is %g; try a lower learning rate "
                 "(now %g)", step, loss, lr);
  else
    g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                 "training diverged at step %" G_GUINT64_FORMAT ": the loss is %.4g, %.3g times its lowest running "
                 "median %.4g (over %u steps), %u steps in a row; try a lower learning rate (now %g)", step, loss,
                 loss / watch->best, watch->best, (guint) GAF_DIVERGENCE_WINDOW, (guint) GAF_DIVERGENCE_PATIENCE, lr);
}

/* A non-finite gradient (with a finite loss) stops training like a non-finite loss: Adam would write it
 * into the weights and the moments, and the last good weights would be lost. */
static void
grad_error (GafParams *params, double loss, double lr, GError **error)
{
  g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
               "training diverged at step %" G_GUINT64_FORMAT ": the gradient is not finite (the loss is %g); try "
               "a lower learning rate (now %g)", params->step + 1, loss, lr);
}

gboolean
gaf_net_optimizer_step (GafNet *net, const float *dout, double *loss, const GafAdamConfig *adam,
                        double ema_decay, GafLossWatch *watch, GError **error)
{
  GafParams *params = net->params;
  GafLossVerdict verdict;
  GafProfMark mark;

  if (params->reduce == NULL)
    {
      /* one process: judge first, and skip the backward of a step that is not applied */
      verdict = gaf_loss_watch_judge (watch, *loss);
      if (verdict == GAF_LOSS_DIVERGED)
        {
          gaf_loss_watch_error (watch, *loss, params->step + 1, adam->lr, error);
          return FALSE;
        }
      if (verdict == GAF_LOSS_SPIKE)
        {
          gaf_loss_watch_commit (watch, verdict, *loss);
          return TRUE;
        }
      gaf_params_zero_grad (params);
      gaf_net_backward (net, dout, NULL, NULL);
      if (!gaf_params_grad_finite (params))
        {
          grad_error (params, *loss, adam->lr, error);
          return FALSE;
        }
    }
  else
    {
      /* Data parallel: every rank runs its backward and the one reduction whatever its own loss (a rank
       * that returned early would leave the others waiting in the collective), and judges the mean loss
       * that all ranks then share. Their verdicts agree as long as the reduction hands every rank the
       * same bits; the verdict is reduced too, so that all skip or stop at the same step even if it does
       * not (a rank going on alone would wait for ever in the next step's reduction). */
      gboolean grad_ok, spike, stop;
      float flags[2];

      gaf_params_zero_grad (params);
      gaf_net_backward (net, dout, NULL, NULL);
      if (!gaf_params_reduce_grad (params, loss, error))
        return FALSE;
      verdict = gaf_loss_watch_judge (watch, *loss);
      grad_ok = gaf_params_grad_finite (params);
      flags[0] = verdict == GAF_LOSS_SPIKE;
      flags[1] = verdict == GAF_LOSS_DIVERGED || (verdict == GAF_LOSS_OK && !grad_ok);
      if (!gaf_params_reduce_flags (params, flags, 2, error))
        return FALSE;
      spike = flags[0] > 0.5f;
      stop = flags[1] > 0.5f;
      if (stop)
        {
          if (verdict == GAF_LOSS_DIVERGED)
            gaf_loss_watch_error (watch, *loss, params->step + 1, adam->lr, error);
          else if (verdict == GAF_LOSS_OK && !grad_ok)
            grad_error (params, *loss, adam->lr, error);
          else
            g_set_error (error, GAF_ERROR, GAF_ERROR_DIVERGED,
                         "training diverged at step %" G_GUINT64_FORMAT " on another process (the mean loss here "
                         "is %g); try a lower learning rate (now %g)", params->step + 1, *loss, adam->lr);
          return FALSE;
        }
      if (spike)
        {
          gaf_loss_watch_commit (watch, GAF_LOSS_SPIKE, *loss);
          return TRUE;
        }
    }
  gaf_loss_watch_commit (watch, GAF_LOSS_OK, *loss);
  gaf_profile_begin (&mark);
  gaf_adam_step (params, adam);
  if (ema_decay > 0.0)
    gaf_params_ema_update (params, ema_decay);
  gaf_profile_end (GAF_PROF_ADAM, &mark);
  return TRUE;
}

gboolean
gaf_trainer_set_data_parallel (GafTrainer *tr, int rank, int n_ranks, GafReduceFunc reduce,
                               GafReduceF64Func reduce_f64, gpointer reduce_data, GError **error)
{
  g_return_val_if_fail (tr != NULL && n_ranks >= 1 && rank >= 0 && rank < n_ranks, FALSE);
  g_return_val_if_fail (n_ranks == 1 || reduce != NULL, FALSE);

  if (tr->cfg.batch % n_ranks != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "the batch (%d) must be a multiple of the number of processes (%d): each draws batch / %d "
                   "samples", tr->cfg.batch, n_ranks, n_ranks);
      return FALSE;
    }
  tr->rank = rank;
  tr->n_ranks = n_ranks;
  gaf_params_set_reducer (tr->net->params, n_ranks > 1 ? reduce : NULL, reduce_f64, reduce_data, n_ranks);
  return TRUE;
}

/* This process's share of the global batch: sample g (global index) from the stream (key, g) alone, so that
 * R processes drawing [rank B/R, (rank+1) B/R) each draw together what one process draws for g in [0, B).
 * labels (b, n), t (b), w and u (b, n, c) with b = B / R. The labels are drawn here, in order (a label
 * function may keep state); the path samples, most of the work (n c normals and a softmax per sample), are
 * split over the engine threads, each sample from its own stream where its labels left it. */
typedef struct {
  GafTrainer *tr;
  GafRng     *streams;
  int         b;
} DrawJob;

static void
draw_paths_task (guint k, guint n_tasks, gpointer data)
{
  DrawJob *job = data;
  GafTrainer *tr = job->tr;
  int n = tr->n, c = tr->c;

  for (int s = job->b * (int) k / (int) n_tasks; s < job->b * ((int) k + 1) / (int) n_tasks; s++)
    {
      gsize row = (gsize) s * n;
      gaf_path_sample (&tr->cfg.path, &job->streams[s], tr->labels + row, 1, n, c, tr->t + s, tr->w + row * c,
                       tr->u + row * c);
    }
}

static void
draw_batch (GafTrainer *tr, guint64 key)
{
  int b = tr->cfg.batch / tr->n_ranks, first = tr->rank * b, n = tr->n;
  DrawJob job = { tr, tr->streams, b };

  for (int k = 0; k < b; k++)
    {
      gaf_rng_init_stream (&tr->streams[k], key, (guint64) (first + k));
      tr->labels_func (tr->labels_data, &tr->streams[k], tr->labels + (gsize) k * n, 1);
    }
  gaf_parallel_run (MIN (gaf_parallel_get_threads (), (guint) MAX (1, b / 8)), draw_paths_task, &job);
}

/* The loss over the engine threads: each forms the sum over its samples' rows and their df; the sums are
 * added in part order. */
typedef struct {
  GafTrainer *tr;
  int         b;
  double      sums[GAF_MAX_THREADS];
} LossJob;

static void
loss_task (guint k, guint n_tasks, gpointer data)
{
  LossJob *job = data;
  GafTrainer *tr = job->tr;
  gsize r0 = (gsize) (job->b * (int) k / (int) n_tasks) * tr->n, r1 = (gsize) (job->b * ((int) k + 1) / (int) n_tasks) * tr->n;

  job->sums[k] = gaf_path_loss_rows (&tr->cfg.path, tr->w, tr->f, tr->u, job->b, r0, r1, tr->c, tr->df);
}

static double
batch_loss (GafTrainer *tr, int b)
{
  LossJob job = { tr, b, { 0 } };
  guint n_tasks = MIN (gaf_parallel_get_threads (), (guint) MAX (1, b / 8));
  double total = 0.0;

  gaf_parallel_run (n_tasks, loss_task, &job);
  for (guint k = 0; k < n_tasks; k++)
    total += job.sums[k];
  return total / b;
}

gboolean
gaf_trainer_step (GafTrainer *tr, double *loss_out, GError **error)
{
  GafParams *params = tr->net->params;
  int b = tr->cfg.batch / tr->n_ranks;
  double loss;
  gboolean ok;

  if (tr->cosine_lr > 0.0 && tr->cosine_total > 0)
    {
      guint64 s = params->step - tr->cosine_start;
      if (s < tr->cosine_total)
        tr->cfg.adam.lr = tr->cosine_lr * 0.5 * (1.0 + cos (G_PI * (double) s / (double) tr->cosine_total));
    }
  /* The trainer's RNG advances by one draw per step on every rank alike: its state is all a checkpoint
   * needs, whatever the number of processes before and after. */
  draw_batch (tr, gaf_rng_next (&tr->rng));
  gaf_net_forward (tr->net, tr->w, tr->t, b, tr->f);
  loss = batch_loss (tr, b);
  ok = gaf_net_optimizer_step (tr->net, tr->df, &loss, &tr->cfg.adam, tr->cfg.ema_decay, &tr->watch, error);
  if (loss_out != NULL)
    *loss_out = loss;
  return ok;
}

gboolean
gaf_trainer_run (GafTrainer *trainer, guint64 steps, GArray *loss_trace,
                 GafProgressFunc progress, gpointer progress_data,
                 GCancellable *cancellable, GError **error)
{
  double loss = NAN;

  for (guint64 s = 0; s < steps; s++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!gaf_trainer_step (trainer, &loss, error))
        return FALSE;
      if (loss_trace != NULL)
        g_array_append_val (loss_trace, loss);
      if (progress != NULL && ((s + 1) % 25 == 0 || s + 1 == steps))
        {
          GafProgress p = { "train", s + 1, steps, loss, trainer->c, 0, 0 };
          progress (&p, progress_data);
        }
    }
  return TRUE;
}

/* ---- configuration and resume ---- */

#define TRAIN_GROUP "train"

void
gaf_trainer_config_to_keyfile (const GafTrainerConfig *cfg, GKeyFile *kf)
{
  g_return_if_fail (cfg != NULL && kf != NULL);

  g_key_file_set_integer (kf, TRAIN_GROUP, "batch", cfg->batch);
  g_key_file_set_double (kf, TRAIN_GROUP, "lr", cfg->adam.lr);
  g_key_file_set_double (kf, TRAIN_GROUP, "beta1", cfg->adam.beta1);
  g_key_file_set_double (kf, TRAIN_GROUP, "beta2", cfg->adam.beta2);
  g_key_file_set_double (kf, TRAIN_GROUP, "eps", cfg->adam.eps);
  g_key_file_set_double (kf, TRAIN_GROUP, "lambda", cfg->path.lambda);
  g_key_file_set_double (kf, TRAIN_GROUP, "time_shape", cfg->path.time_shape);
  g_key_file_set_double (kf, TRAIN_GROUP, "time_rate", cfg->path.time_rate);
  g_key_file_set_double (kf, TRAIN_GROUP, "ema", cfg->ema_decay);
  g_key_file_set_uint64 (kf, TRAIN_GROUP, "seed", cfg->seed);
}

gboolean
gaf_trainer_config_from_keyfile (GafTrainerConfig *out, GKeyFile *kf, GError **error)
{
  GafTrainerConfig cfg;

  g_return_val_if_fail (out != NULL && kf != NULL, FALSE);

  cfg = *out;
  if (!gaf_keyfile_get_int (kf, TRAIN_GROUP, "batch", &cfg.batch, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "lr", &cfg.adam.lr, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "beta1", &cfg.adam.beta1, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "beta2", &cfg.adam.beta2, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "eps", &cfg.adam.eps, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "lambda", &cfg.path.lambda, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "time_shape", &cfg.path.time_shape, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "time_rate", &cfg.path.time_rate, error) ||
      !gaf_keyfile_get_double (kf, TRAIN_GROUP, "ema", &cfg.ema_decay, error) ||
      !gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "seed", &cfg.seed, error))
    return FALSE;
  if (!(cfg.adam.beta1 >= 0.0 && cfg.adam.beta1 < 1.0) || !(cfg.adam.beta2 >= 0.0 && cfg.adam.beta2 < 1.0) ||
      !(cfg.adam.eps > 0.0) || !isfinite (cfg.adam.eps))
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "[" TRAIN_GROUP "]: Adam needs beta1 and beta2 in [0, 1) and a positive eps");
      return FALSE;
    }
  if (!gaf_trainer_config_check (&cfg, error))
    {
      g_prefix_error (error, "[" TRAIN_GROUP "]: ");
      return FALSE;
    }
  *out = cfg;
  return TRUE;
}

const GafRng *
gaf_trainer_get_rng (GafTrainer *trainer)
{
  g_return_val_if_fail (trainer != NULL, NULL);
  return &trainer->rng;
}

void
gaf_trainer_set_rng (GafTrainer *trainer, const GafRng *rng)
{
  g_return_if_fail (trainer != NULL && rng != NULL);
  trainer->rng = *rng;
}

gboolean
gaf_train_state_save (GafNet *net, const GafTrainerConfig *cfg, const GafRng *rng, double cosine_lr,
                      guint64 cosine_start, guint64 cosine_total, const char *path, GKeyFile *config, GError **error)
{
  gaf_trainer_config_to_keyfile (cfg, config);
  if (cosine_lr > 0.0 && cosine_total > 0)
    {
      g_key_file_set_string (config, TRAIN_GROUP, "schedule", "cosine");
      g_key_file_set_double (config, TRAIN_GROUP, "schedule_lr", cosine_lr);
      g_key_file_set_uint64 (config, TRAIN_GROUP, "schedule_start", cosine_start);
      g_key_file_set_uint64 (config, TRAIN_GROUP, "schedule_steps", cosine_total);
    }
  else
    {
      g_key_file_set_string (config, TRAIN_GROUP, "schedule", "constant");
      g_key_file_remove_key (config, TRAIN_GROUP, "schedule_lr", NULL);
      g_key_file_remove_key (config, TRAIN_GROUP, "schedule_start", NULL);
      g_key_file_remove_key (config, TRAIN_GROUP, "schedule_steps", NULL);
    }
  return gaf_checkpoint_save (path, config, net->params, rng, net->params->step, error);
}

gboolean
gaf_train_state_restore (GafNet *net, GafRng *rng, double *cosine_lr_out, guint64 *start_out, guint64 *total_out,
                         GafCheckpoint *ck, GError **error)
{
  GKeyFile *kf = gaf_checkpoint_get_config (ck);
  g_autofree char *schedule = g_key_file_get_string (kf, TRAIN_GROUP, "schedule", NULL);
  double cosine_lr = 0.0;
  guint64 start = 0, total = 0;

  if (schedule != NULL && g_strcmp0 (g_strstrip (schedule), "cosine") == 0)
    {
      if (!gaf_keyfile_get_double (kf, TRAIN_GROUP, "schedule_lr", &cosine_lr, error) ||
          !gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "schedule_start", &start, error) ||
          !gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "schedule_steps", &total, error))
        return FALSE;
      if (!(cosine_lr > 0.0 && cosine_lr <= 10.0) || total == 0)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                               "[" TRAIN_GROUP "]: the cosine schedule needs schedule_lr in (0, 10] and schedule_steps > 0");
          return FALSE;
        }
    }
  else if (schedule != NULL && g_strcmp0 (schedule, "constant") != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "[" TRAIN_GROUP "] schedule = %s is not constant or cosine", schedule);
      return FALSE;
    }
  if (!gaf_checkpoint_restore (ck, net->params, rng, NULL, error))
    return FALSE;
  *cosine_lr_out = cosine_lr;
  *start_out = start;
  *total_out = total;
  return TRUE;
}

gboolean
gaf_trainer_save_checkpoint (GafTrainer *tr, const char *path, GKeyFile *config, GError **error)
{
  g_return_val_if_fail (tr != NULL && path != NULL && config != NULL, FALSE);

  return gaf_train_state_save (tr->net, &tr->cfg, &tr->rng, tr->cosine_lr, tr->cosine_start, tr->cosine_total, path,
                               config, error);
}

gboolean
gaf_trainer_restore_checkpoint (GafTrainer *tr, GafCheckpoint *ck, GError **error)
{
  g_return_val_if_fail (tr != NULL && ck != NULL, FALSE);

  return gaf_train_state_restore (tr->net, &tr->rng, &tr->cosine_lr, &tr->cosine_start, &tr->cosine_total, ck,
                                  error);
}
