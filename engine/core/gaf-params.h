/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* One arena for all trainable parameters of a model, their gradients and Adam moments, with
 * named views. Layout first (gaf_params_add), then gaf_params_alloc; offsets stay valid.
 * Buffers (gaf_params_add_buffer: values a network updates itself, such as BatchNorm's running
 * statistics) come after every trained view, in [trained, size): they are saved in checkpoints and
 * exported like parameters, but Adam and the weight average leave them alone (the average copies them,
 * so that sampling with the averaged weights sees the current ones) and nothing writes a gradient there. */
typedef struct {
  char  *name;
  gsize  offset;
  gsize  size;
} GafParamView;

/* Data parallelism (docs/scaling-out.md): a collective that sums `count` floats of `data` in place over every
 * process training one model (MPI_Allreduce with MPI_SUM in gaflow-cli). Fails with a GError. */
typedef gboolean (*GafReduceFunc) (float *data, gsize count, gpointer user_data, GError **error);
/* The same for doubles: the statistics a network shares within one step (BatchNorm's per-feature sums over the
 * processes' shares of the batch), so that they sum as accurately as one process sums them. */
typedef gboolean (*GafReduceF64Func) (double *data, gsize count, gpointer user_data, GError **error);

typedef struct {
  float   *data;
  float   *grad;    /* size + 1 floats: grad[size] is the slot the loss rides in through the reduction */
  float   *m;       /* Adam first moment */
  float   *v;       /* Adam second moment */
  float   *ema;     /* exponential moving average of data, NULL until the first update */
  gsize    size;
  gsize    trained; /* floats [0, trained) are trained; [trained, size) are buffers */
  guint64  step;    /* Adam steps taken */
  GArray  *views;   /* of GafParamView */
  /* NULL: one process. Else the gradient is summed over n_ranks processes after every backward. */
  GafReduceFunc    reduce;
  GafReduceF64Func reduce_f64;    /* NULL: the network's statistics stay per process */
  gpointer         reduce_data;
  int              n_ranks;
  GError          *reduce_error;  /* the first failed reduction inside a forward or backward, until reported */
} GafParams;

typedef struct {
  double lr;
  double beta1;
  double beta2;
  double eps;
} GafAdamConfig;

#define GAF_ADAM_DEFAULTS ((GafAdamConfig) { 3e-4, 0.9, 0.999, 1e-8 })

GafParams *gaf_params_new       (void);
void       gaf_params_free      (GafParams *params);
gsize      gaf_params_add       (GafParams *params, const char *name, gsize size);
/* A view of buffer values; every gaf_params_add comes before the first buffer. */
gsize      gaf_params_add_buffer (GafParams *params, const char *name, gsize size);
void       gaf_params_alloc     (GafParams *params);
const GafParamView *gaf_params_find (GafParams *params, const char *name);
void       gaf_params_zero_grad (GafParams *params);
/* Installs (func != NULL, n_ranks >= 1) or removes (func == NULL) the gradient reduction, and with it the
 * reduction of statistics (func_f64, may be NULL). */
void       gaf_params_set_reducer (GafParams *params, GafReduceFunc func, GafReduceF64Func func_f64,
                                   gpointer user_data, int n_ranks);
/* Whether statistics of a training forward are summed over the processes (gaf_params_reduce_stats). */
gboolean   gaf_params_reduces_stats (const GafParams *params);
/* With a statistics reducer: data (count doubles) <- their sums over the ranks; without one: nothing. Called
 * by a network inside its training forward and backward (void functions): a failure is kept in
 * params->reduce_error (later calls then fail at once, without a collective) and reported by the step's
 * gaf_params_reduce_grad. FALSE when data holds only this process's values. */
gboolean   gaf_params_reduce_stats (GafParams *params, double *data, gsize count);
/* With a reducer: grad <- (sum over the ranks of grad) / n_ranks and *loss <- the mean of the ranks' losses, in
 * one reduction of size + 1 floats (the loss travels in grad[size], in float). Without one: nothing. Every rank
 * must call it once per step, whatever its loss: that is what lets all of them agree on a divergence. */
gboolean   gaf_params_reduce_grad (GafParams *params, double *loss, GError **error);
/* (A failed statistics reduction of the step comes out of gaf_params_reduce_grad as its error.) */
/* With a reducer: flags (n values 0 or 1) <- their sums over the ranks, in one reduction (> 0: TRUE on some
 * rank), so that a decision one rank takes alone (skip this step, stop: the loss diverged) is taken by all
 * at the same step. Every rank must call it at the same point. Without one: nothing. */
gboolean   gaf_params_reduce_flags (GafParams *params, float *flags, gsize n, GError **error);
/* Whether every gradient is finite (a finite loss can still have an infinite or NaN gradient, which Adam
 * would write into every weight it touches). */
gboolean   gaf_params_grad_finite (const GafParams *params);
/* One Adam step with bias correction over the trained values of the arena. */
void       gaf_adam_step        (GafParams *params, const GafAdamConfig *cfg);
/* ema <- d ema + (1 - d) data with d = min(decay, (1 + step) / (10 + step)) (warm-up); buffers copied. */
void       gaf_params_ema_update (GafParams *params, double decay);
/* Exchanges data and ema (no-op without ema): sample with the averaged weights, swap back to train on. */
void       gaf_params_swap_ema  (GafParams *params);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafParams, gaf_params_free)

G_END_DECLS
