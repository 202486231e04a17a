/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-runner.h"

G_BEGIN_DECLS

/* The training state as the window shows it, in one table: the Train button, the status line and the
 * views' hints all read the same row, so they cannot contradict each other. Derived from the common
 * fields of the runner's snapshot (state, step, work, sampling; nothing of an experiment's payload) and
 * from what the user asked for (the runner may still be finishing a sampling round when the user presses
 * Train, or still training for a moment after Pause). No GTK here: tests cover it as data. */
typedef enum {
  GAF_TRAIN_STATE_PAUSED,        /* not training, steps left in the budget */
  GAF_TRAIN_STATE_STARTING,      /* Train pressed; the engine is still drawing a round or reading data */
  GAF_TRAIN_STATE_TRAINING,
  GAF_TRAIN_STATE_WAIT_JOB,      /* Train pressed; a job has the engine (a sweep, scoring label maps:
                                  * GafSnapshot.work, named in the status line by work_label) */
  GAF_TRAIN_STATE_DONE,          /* the budget is reached: the button offers to extend it */
  GAF_TRAIN_STATE_DONE_MAX,      /* the budget is reached and at its maximum */
  GAF_TRAIN_STATE_EXACT,         /* the exact field: nothing to train */
  GAF_TRAIN_STATE_FAILED,
  GAF_N_TRAIN_STATES
} GafTrainState;

typedef struct {
  const char *button;        /* the Train button's label (translated by the caller with _()) */
  const char *tooltip;       /* the Train button's tooltip */
  gboolean    pressed;       /* the toggle is down: pressing it pauses */
  gboolean    suggested;     /* highlighted: the next thing to do */
  gboolean    sensitive;
  const char *status;        /* the head of the status line */
  const char *hint;          /* what a view with nothing to draw yet says */
} GafTrainStateInfo;

/* requested: the parameters as last sent to the runner (gaf_runner_get_params), or NULL for the snapshot's:
 * after Train On the snapshot still has the old budget until the runner has taken the new one. */
GafTrainState            gaf_train_state_from (const GafSnapshot *snapshot, gboolean want_training,
                                               const GafRunnerParams *requested);
const GafTrainStateInfo *gaf_train_state_info (GafTrainState state);
const char              *gaf_train_state_name (GafTrainState state);
/* The budget "Train On" extends to from a budget that is reached (or the steps made, if more): twice as
 * many steps, at most max. */
double                   gaf_train_state_extended_budget (double budget, double max);

G_END_DECLS
