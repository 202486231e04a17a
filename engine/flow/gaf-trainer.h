/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-checkpoint.h"
#include "gaf-params.h"
#include "gaf-path.h"
#include "gaf-progress.h"
#include "gaf-rng.h"
#include "gaf-net.h"

G_BEGIN_DECLS

/* The GAF trainer (docs/method.md §2.2) for any GafNet whose input and output widths are c. */

/* Draws a mini-batch of labelings (batch, n). */
typedef void (*GafLabelFunc) (gpointer user_data, GafRng *rng, guint16 *labels, int batch);

typedef struct {
  int           batch;
  GafAdamConfig adam;
  GafPathConfig path;
  double        ema_decay;   /* 0: no weight averaging */
  guint64       seed;
} GafTrainerConfig;

typedef struct _GafTrainer GafTrainer;

void        gaf_trainer_config_init (GafTrainerConfig *cfg);
gboolean    gaf_trainer_config_check (const GafTrainerConfig *cfg, GError **error);
/* The trainer borrows net and the label source; both must outlive it. */
GafTrainer *gaf_trainer_new   (GafNet *net, GafLabelFunc labels, gpointer labels_data,
                               const GafTrainerConfig *cfg);
void        gaf_trainer_free  (GafTrainer *trainer);
/* Hyperparameters that may change between steps (the desktop app's sliders). */
void        gaf_trainer_set_lr   (GafTrainer *trainer, double lr);
void        gaf_trainer_set_path (GafTrainer *trainer, const GafPathConfig *path);
guint64     gaf_trainer_get_step (GafTrainer *trainer);
/* lr(s) = base_lr (1 + cos(pi s / total)) / 2 for the steps s < total that follow; constant after. */
void        gaf_trainer_set_cosine_schedule (GafTrainer *trainer, double base_lr, guint64 total);
/* One step: sample the path, forward, loss, backward, Adam. A spike of the loss skips the step (TRUE, the
 * step counter unchanged); fails with GAF_ERROR_DIVERGED on a non-finite loss or gradient or the
 * GAF_DIVERGENCE_PATIENCE-th spike in a row (parameters are left as they were before the step). Sample g of a step's batch comes
 * from its own stream (gaf_trainer_set_data_parallel), so the batch is the same however it is split. */
gboolean    gaf_trainer_step  (GafTrainer *trainer, double *loss, GError **error);
/* The divergence watch of a training run. A loss that is not finite stops training at once. A spike, a
 * loss above GAF_DIVERGENCE_FACTOR times the lowest running median (the median of the last
 * GAF_DIVERGENCE_WINDOW applied losses, taken once GAF_DIVERGENCE_WARMUP are known; so a loss that climbs
 * over many steps is caught too) and more than 1 above it, is skipped: its step is not applied (no Adam
 * update, the step counter stays) and its loss not recorded. GAF_DIVERGENCE_PATIENCE spikes in a row stop
 * training. A stop is GAF_ERROR_DIVERGED naming the step, the loss, the median and the learning rate, and
 * suggesting a lower one; the weights are those of the last applied step. Why skip first: one outlying
 * batch (t ~ Gamma is unbounded) should not end a run, and skipping it keeps its gradient out of the
 * weights and Adam's moments; a run that has diverged stays up (at --lr 10 the toy CNN, the MLP and the
 * UNet jump by 10^5 to 10^20 at the second step and stay there), so three in a row tell the two apart. */
#define GAF_DIVERGENCE_WINDOW   64
#define GAF_DIVERGENCE_WARMUP   1
#define GAF_DIVERGENCE_FACTOR   100.0
#define GAF_DIVERGENCE_PATIENCE 3

typedef struct {
  double loss[GAF_DIVERGENCE_WINDOW];
  guint  n, next;
  double best;      /* lowest running median so far; 0 before the warm-up ends */
  guint  spikes;    /* spikes skipped in a row */
} GafLossWatch;

typedef enum {
  GAF_LOSS_OK,        /* apply the step */
  GAF_LOSS_SPIKE,     /* skip the step */
  GAF_LOSS_DIVERGED,  /* stop */
} GafLossVerdict;

void           gaf_loss_watch_init   (GafLossWatch *watch);
/* What the loss means for the run (NULL watch: only finiteness counts); the watch records nothing yet. */
GafLossVerdict gaf_loss_watch_judge  (GafLossWatch *watch, double loss);
/* Records the verdict the run acted on (in a data-parallel run, the one all processes agreed on): OK
 * records the loss and ends a run of spikes, SPIKE counts one. */
void           gaf_loss_watch_commit (GafLossWatch *watch, GafLossVerdict verdict, double loss);
/* The GAF_ERROR_DIVERGED of a stop at `step` on `loss`. */
void           gaf_loss_watch_error  (const GafLossWatch *watch, double loss, guint64 step, double lr,
                                      GError **error);

/* What every flow-matching step shares after its loss: zero-grad, backward from dout, the gradient reduction
 * of a data-parallel run (gaf_params_reduce_grad: *loss in is this process's mean loss, out the mean over all
 * processes), the divergence watch (a spike skips the step: TRUE with the parameters and the step counter
 * untouched; a non-finite loss or gradient, or the GAF_DIVERGENCE_PATIENCE-th spike in a row, fail with
 * GAF_ERROR_DIVERGED, parameters untouched; in a data-parallel run every process takes the same decision
 * at the same step, agreed through the reducer: gaf_params_reduce_flags), Adam, EMA update (ema_decay > 0).
 * A method whose step ends here is data parallel for free once its sampling is split. */
gboolean    gaf_net_optimizer_step (GafNet *net, const float *dout, double *loss, const GafAdamConfig *adam,
                                    double ema_decay, GafLossWatch *watch, GError **error);
/* Data parallelism: this trainer is process `rank` of n_ranks that train one model with the global batch
 * cfg->batch (docs/scaling-out.md). Each step draws global samples g in [rank B/R, (rank+1) B/R), sample g
 * from its own stream (the step's key from the trainer's RNG, g): the R processes together draw exactly
 * the batch one process draws. reduce sums over the processes (installed on the network's arena; called
 * once per step on grad and loss); reduce_f64 (may be NULL) sums the statistics a network shares within a
 * step, so that BatchNorm normalises over the global batch (gaf-dense.h). GAF_ERROR_INVALID_ARGUMENT unless
 * n_ranks divides the batch. */
gboolean    gaf_trainer_set_data_parallel (GafTrainer *trainer, int rank, int n_ranks, GafReduceFunc reduce,
                                           GafReduceF64Func reduce_f64, gpointer reduce_data, GError **error);
/* `steps` steps with progress every `report_every` steps; loss_trace (double) gets every loss. */
gboolean    gaf_trainer_run   (GafTrainer *trainer, guint64 steps, GArray *loss_trace,
                               GafProgressFunc progress, gpointer progress_data,
                               GCancellable *cancellable, GError **error);

/* The [train] group of a configuration key file: batch, lr, beta1, beta2, eps, lambda, time_shape,
 * time_rate, ema, seed. Reading: absent keys keep cfg's values; other keys (the schedule keys below, read by
 * gaf_trainer_restore_checkpoint, or the caller's own such as steps_total) are not looked at; the result is
 * checked. cfg is only
 * written on success. */
void        gaf_trainer_config_to_keyfile   (const GafTrainerConfig *cfg, GKeyFile *kf);
gboolean    gaf_trainer_config_from_keyfile (GafTrainerConfig *cfg, GKeyFile *kf, GError **error);

/* Resume. A run of 2N steps gives the same losses, bit for bit, as N steps, gaf_trainer_save_checkpoint,
 * then a fresh network and trainer made from the checkpoint's [model] and [train] groups,
 * gaf_trainer_restore_checkpoint and N steps. What carries over from step to step in a trainer: the network's
 * arena (parameters, Adam moments and step, EMA), the trainer's RNG (labels, times, noise), its current
 * learning rate and path (changed by the sliders and the cosine schedule: written to [train] as they are
 * now) and the cosine schedule (schedule = constant | cosine, schedule_lr, schedule_start, schedule_steps).
 * The trainer's step is the arena's Adam step (gaf_trainer_get_step). Everything else in a trainer is
 * scratch space refilled by every step. */
const GafRng *gaf_trainer_get_rng (GafTrainer *trainer);
void        gaf_trainer_set_rng  (GafTrainer *trainer, const GafRng *rng);
/* Writes [train] (configuration and schedule as they are now) into config, then saves the checkpoint with
 * the trainer's RNG and step. The caller provides [model] (gaf_model_config_to_keyfile) and [data]. */
gboolean    gaf_trainer_save_checkpoint    (GafTrainer *trainer, const char *path, GKeyFile *config,
                                            GError **error);
/* Parameters, Adam state, EMA, RNG and schedule from ck into this trainer and its network (which must have
 * the checkpoint's architecture, else GAF_ERROR_INVALID_ARGUMENT and nothing changes). */
gboolean    gaf_trainer_restore_checkpoint (GafTrainer *trainer, GafCheckpoint *ck, GError **error);

/* What the two trainers (this one and gaf-baselines.h's) share in a checkpoint: [train] from cfg with the
 * cosine schedule (cosine_lr > 0 and total > 0: schedule = cosine, schedule_lr/start/steps; else constant), then
 * the network's arena, the RNG and the step; and back: the schedule read and checked, then arena and RNG. */
gboolean    gaf_train_state_save    (GafNet *net, const GafTrainerConfig *cfg, const GafRng *rng, double cosine_lr,
                                     guint64 cosine_start, guint64 cosine_total, const char *path, GKeyFile *config,
                                     GError **error);
gboolean    gaf_train_state_restore (GafNet *net, GafRng *rng, double *cosine_lr, guint64 *cosine_start,
                                     guint64 *cosine_total, GafCheckpoint *ck, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafTrainer, gaf_trainer_free)

G_END_DECLS
