/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What the runner reports of training: the last and smoothed loss, seconds spent, steps per second and the
 * whole run's loss history in at most GAF_TRAINING_LOG_BINS bins (neighbours merge when it is full, so it
 * stays bounded and covers the whole run). */

#define GAF_TRAINING_LOG_BINS 1024

typedef struct {
  double   loss;          /* NAN before the first step */
  double   loss_smooth;   /* exponential average over about 100 steps */
  double   elapsed;       /* seconds spent in steps */
  double   rate;          /* steps per second over about the last second of wall time */
  guint64  skipped;       /* steps skipped as loss spikes (gaf-trainer.h) since the last reset */
  GArray  *x, *y;         /* double: the step at the end of a bin, its mean loss */
  /*< private >*/
  guint64  stride, count;
  double   sum;
  gint64   rate_t0;
  guint64  rate_step0;
} GafTrainingLog;

void gaf_training_log_init  (GafTrainingLog *log);
void gaf_training_log_clear (GafTrainingLog *log);
/* Forgets everything (a new model). */
void gaf_training_log_reset (GafTrainingLog *log);
/* A step that ended at `step` with `loss`, run from t0 to t1 (monotonic microseconds). */
void gaf_training_log_add   (GafTrainingLog *log, guint64 step, double loss, gint64 t0, gint64 t1);
/* A step the divergence watch skipped (a spike of the loss, gaf-trainer.h), run from t0 to t1: its time
 * counts, its loss is neither the last loss nor in the average or the history. */
void gaf_training_log_skip  (GafTrainingLog *log, gint64 t0, gint64 t1);
/* Training stopped: no rate until it runs again. */
void gaf_training_log_pause (GafTrainingLog *log);

G_END_DECLS
