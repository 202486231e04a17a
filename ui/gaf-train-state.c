/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-train-state"
#include "config.h"

#include <glib/gi18n.h>

#include "gaf-train-state.h"

/* Strings are marked with N_(): the callers translate them where they show them. */
static const GafTrainStateInfo table[GAF_N_TRAIN_STATES] = {
  [GAF_TRAIN_STATE_PAUSED] = {
    N_("Train"), N_("Train the network (Space)"), FALSE, TRUE, TRUE,
    N_("Paused"), N_("Paused: press Train to go on training."),
  },
  [GAF_TRAIN_STATE_STARTING] = {
    N_("Pause Training"), N_("Pause training (Space)"), TRUE, FALSE, TRUE,
    N_("Starting: the engine first finishes a round of samples"), N_("Training starts when the engine has drawn its first round of samples…"),
  },
  [GAF_TRAIN_STATE_TRAINING] = {
    N_("Pause Training"), N_("Pause training (Space)"), TRUE, FALSE, TRUE,
    N_("Training"), N_("Training: the first steps are on their way…"),
  },
  [GAF_TRAIN_STATE_WAIT_JOB] = {
    N_("Pause Training"), N_("Pause training (Space): it goes on when the engine's other work is done"), TRUE, FALSE, TRUE,
    N_("Training waits"), N_("Training waits until the engine has done the work the status line names."),
  },
  [GAF_TRAIN_STATE_DONE] = {
    N_("Train On"), N_("The budget is reached: train on with twice the budget (Space)"), FALSE, TRUE, TRUE,
    N_("Done: budget reached"), N_("Done: the budget is reached. Train On doubles it and trains on."),
  },
  [GAF_TRAIN_STATE_DONE_MAX] = {
    N_("Train"), N_("The budget is at its maximum: reset the model to train again"), FALSE, FALSE, FALSE,
    N_("Done: the largest budget is reached"), N_("Done: the largest budget is reached."),
  },
  [GAF_TRAIN_STATE_EXACT] = {
    N_("Train"), N_("The exact field has no network to train"), FALSE, FALSE, FALSE,
    N_("Exact field"), N_("The exact field needs no training: switch to the learned experiment to train a network."),
  },
  [GAF_TRAIN_STATE_FAILED] = {
    N_("Train"), N_("Train again with the current parameters (Space)"), FALSE, TRUE, TRUE,
    N_("Failed"), N_("Change a parameter (after a divergence: a lower learning rate) or reset the model, then press Train."),
  },
};

static const char *names[GAF_N_TRAIN_STATES] = {
  "paused", "starting", "training", "wait-job", "done", "done-max", "exact", "failed",
};

GafTrainState
gaf_train_state_from (const GafSnapshot *s, gboolean want_training, const GafRunnerParams *requested)
{
  double budget;

  g_return_val_if_fail (s != NULL, GAF_TRAIN_STATE_PAUSED);
  budget = (requested ? requested : &s->params)->value[GAF_PARAM_BUDGET];
  /* An experiment without training (an exact field) was asked for, whatever the engine still shows. */
  if (requested != NULL && requested->experiment != NULL && requested->experiment->untrained)
    return GAF_TRAIN_STATE_EXACT;

  switch (s->state)
    {
    case GAF_RUNNER_EXACT:
      return GAF_TRAIN_STATE_EXACT;
    case GAF_RUNNER_FAILED:
      return GAF_TRAIN_STATE_FAILED;
    case GAF_RUNNER_DONE:
      /* Train On was pressed and the raised budget is on its way: starting. */
      if (want_training && s->step < (guint64) budget)
        return GAF_TRAIN_STATE_STARTING;
      return budget >= gaf_param_info (GAF_PARAM_BUDGET)->max
        ? GAF_TRAIN_STATE_DONE_MAX : GAF_TRAIN_STATE_DONE;
    case GAF_RUNNER_PAUSED:
    case GAF_RUNNER_TRAINING:
    default:
      break;
    }
  /* What the user asked for wins: the engine follows at its next command. */
  if (!want_training)
    return GAF_TRAIN_STATE_PAUSED;
  /* Reading the experiment's data comes before training; any other work (a job: a sweep, scoring label
   * maps) holds training back until it is done. */
  if (s->work != NULL && g_strcmp0 (s->work, GAF_RUNNER_WORK_LOADING) != 0)
    return GAF_TRAIN_STATE_WAIT_JOB;
  if (s->state == GAF_RUNNER_PAUSED || s->work != NULL || (s->step == 0 && s->sampling))
    return GAF_TRAIN_STATE_STARTING;
  return GAF_TRAIN_STATE_TRAINING;
}

const GafTrainStateInfo *
gaf_train_state_info (GafTrainState state)
{
  g_return_val_if_fail ((guint) state < GAF_N_TRAIN_STATES, &table[0]);
  return &table[state];
}

const char *
gaf_train_state_name (GafTrainState state)
{
  g_return_val_if_fail ((guint) state < GAF_N_TRAIN_STATES, NULL);
  return names[state];
}

double
gaf_train_state_extended_budget (double budget, double max)
{
  return MIN (MAX (budget, 1.0) * 2.0, max);
}
