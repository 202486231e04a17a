/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-window"
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>

#include "gaf-export.h"
#include "gaf-joint-view.h"
#include "gaf-label-map-view.h"
#include "gaf-likelihood-view.h"
#include "gaf-parameter-panel.h"
#include "gaf-presets.h"
#include "gaf-run-history.h"
#include "gaf-runs-view.h"
#include "gaf-scaling-view.h"
#include "gaf-settings.h"
#include "gaf-simplex-geometry.h"
#include "gaf-simplex-view.h"
#include "gaf-split-view.h"
#include "gaf-torch-map.h"
#include "gaf-train-state.h"
#include "gaf-training-view.h"
#include "gaf-view-switcher.h"
#include "gaf-view.h"
#include "gaf-wrap-box.h"
#include "gaf-window.h"

struct _GafWindow {
  GtkApplicationWindow parent_instance;

  GtkDropDown          *experiment_dropdown;
  GtkToggleButton      *train_button;
  GtkLabel             *train_label;
  GtkStack             *stack;
  GtkRevealer          *switch_revealer;
  GtkLabel             *switch_label;
  GtkWidget            *switch_bar;      /* GafWrapBox: the label, then one button per experiment */
  GafSimplexView       *simplex_view;
  GafTrainingView      *training_view;
  GafRunsView          *runs_view;
  GafJointView         *joint_view;
  GafLabelMapView      *label_map_view;
  GafLikelihoodView    *likelihood_view;
  GafScalingView       *scaling_view;
  GtkRevealer          *panel_revealer;
  GafParameterPanel    *panel;
  GtkLabel             *state_label;
  GtkLabel             *step_label;
  GtkLabel             *rate_label;
  GtkLabel             *loss_label;
  GtkLabel             *metric_label;
  GtkMenuButton        *info_button;
  GtkLabel             *info_label;

  GSettings            *settings;
  GafRunner            *runner;
  GafFollower           follower;
  gboolean              training;
  GafTrainState         train_state;
  gboolean              train_state_shown;
  gboolean              presentation;
  gboolean              panel_before_presentation;
  gboolean              loading;
  char                 *failure;
  char                 *notice;          /* a passing message in the status line (a model saved, opened) */
  gint64                notice_until;
  guint                 file_operations; /* model files opened or saved (or refused) so far */
  GtkFileChooserNative *chooser;
  GafRunHistory        *history;
  char                 *history_path;    /* NULL: not written (screenshots, frame statistics) */
  char                 *view_before_split; /* the view the split view was entered from */
  guint64               history_saved;   /* serial of the history when last written */
  gint64                history_saved_at;
};

G_DEFINE_FINAL_TYPE (GafWindow, gaf_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_TRAINING,
  PROP_PANEL_VISIBLE,
  PROP_PRESENTATION,
  PROP_SPLIT_VIEW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GafExperimentClass *
experiment (GafWindow *self)
{
  return gaf_runner_get_params (self->runner)->experiment;
}

/* A failure is shown until the user acts on it (trains again, resets, changes the experiment or model). */
static void
clear_failure (GafWindow *self)
{
  g_clear_pointer (&self->failure, g_free);
  gaf_training_view_set_error (self->training_view, NULL);
}

/* The Train button shows the row of the state table (gaf-train-state.h) that the status line shows. */
static void
update_train_button (GafWindow *self, const GafSnapshot *s)
{
  const GafTrainStateInfo *info;
  GafTrainState state = gaf_train_state_from (s, self->training, gaf_runner_get_params (self->runner));

  if (state == self->train_state && self->train_state_shown)
    return;   /* every frame brings a snapshot: touch the widgets only when the row changes */
  self->train_state = state;
  self->train_state_shown = TRUE;
  info = gaf_train_state_info (self->train_state);
  gtk_label_set_label (self->train_label, _(info->button));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->train_button), _(info->tooltip));
  if (info->suggested)
    gtk_widget_add_css_class (GTK_WIDGET (self->train_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->train_button), "suggested-action");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.train", info->sensitive);
}

static void status_changed (GtkWidget *widget, GafSnapshot *s);
static void set_notice (GafWindow *self, const char *text);

/* The button and the status line at once after a command (the engine may be busy in a sampling round
 * for a while before its next snapshot). */
static void
update_train_button_now (GafWindow *self)
{
  g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (self->runner);
  status_changed (GTK_WIDGET (self), s);
}

static void
queue_draw_tree (GtkWidget *widget)
{
  gtk_widget_queue_draw (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    queue_draw_tree (child);
}

/* After a change of the display alone (presentation mode, a preset's overlays, a notice): the views follow
 * the runner by themselves, but this changes nothing the runner publishes, so they draw again now. */
static void
refresh_display (GafWindow *self)
{
  queue_draw_tree (GTK_WIDGET (self->stack));
  update_train_button_now (self);
}

void
gaf_window_set_training (GafWindow *self, gboolean training)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  training = !!training;
  if (training && experiment (self)->untrained)
    training = FALSE;   /* nothing to train */
  if (training && self->train_state == GAF_TRAIN_STATE_DONE_MAX)
    training = FALSE;   /* no budget left to give */
  if (training && self->train_state == GAF_TRAIN_STATE_DONE)
    {
      /* Train On: the budget is reached; twice the budget, through the panel (shown and stored). */
      const GafParamInfo *info = gaf_param_info (GAF_PARAM_BUDGET);
      g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (self->runner);
      /* From the steps made, which may exceed a budget lowered below them. */
      double budget = MAX (gaf_runner_get_params (self->runner)->value[GAF_PARAM_BUDGET], (double) s->step);
      gaf_parameter_panel_set_value (self->panel, GAF_PARAM_BUDGET,
                                     gaf_train_state_extended_budget (budget, info->max));
    }
  if (training)
    clear_failure (self);
  gaf_runner_train (self->runner, training);
  if (self->training != training)
    {
      self->training = training;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAINING]);
    }
  update_train_button_now (self);
}

/* Every snapshot goes into the run history; it is written when a run starts and at most every 20 s. */
static void
record_run (GafWindow *self, const GafSnapshot *s)
{
  guint n_before = gaf_run_history_get_n_runs (self->history);
  guint64 last_before = n_before ? gaf_run_history_get_run (self->history, n_before - 1)->id : 0;
  gint64 now = g_get_monotonic_time ();
  gboolean new_run;

  if (!gaf_run_history_feed (self->history, s))
    return;
  /* The views of the history may have taken this snapshot before the history had it. */
  gaf_runs_view_wake (self->runs_view);
  gtk_widget_queue_draw (GTK_WIDGET (self->training_view));
  new_run = gaf_run_history_get_run (self->history, gaf_run_history_get_n_runs (self->history) - 1)->id != last_before;
  if (self->history_path != NULL && (new_run || now - self->history_saved_at > 20 * G_USEC_PER_SEC))
    gaf_window_save_history (self);
}

void
gaf_window_save_history (GafWindow *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (GAF_IS_WINDOW (self));
  if (self->history_path == NULL || gaf_run_history_get_serial (self->history) == self->history_saved)
    return;
  self->history_saved = gaf_run_history_get_serial (self->history);
  self->history_saved_at = g_get_monotonic_time ();
  if (!gaf_run_history_save (self->history, self->history_path, &error))
    g_warning ("%s", error->message);
}

static void
status_changed (GtkWidget *widget, GafSnapshot *s)
{
  GafWindow *self = GAF_WINDOW (widget);
  g_autoptr(GString) state = g_string_new (NULL);
  g_autofree char *step = NULL, *rate = NULL, *loss = NULL, *metric = NULL;

  /* The runner stops by itself at the budget or on failure: the toggle follows. Not for a snapshot of the
   * experiment before the one just chosen (the coupled pair done at its budget must not pause the new one),
   * nor, on failure, before the engine has taken every command (Train pressed after a failure meets
   * snapshots that still show it). */
  if (self->training && gaf_runner_get_training (self->runner) && s->params.experiment == experiment (self) &&
      ((s->state == GAF_RUNNER_FAILED && gaf_runner_is_current (self->runner, s)) ||
       (s->state == GAF_RUNNER_DONE &&   /* not when Train On raised the budget and the runner has yet to see it */
        s->step >= (guint64) gaf_runner_get_params (self->runner)->value[GAF_PARAM_BUDGET])))
    {
      gaf_runner_train (self->runner, FALSE);
      self->training = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TRAINING]);
    }
  update_train_button (self, s);
  record_run (self, s);
  gaf_parameter_panel_show_network (self->panel, s->model_kind, s->model_params, s->model_described);
  if (self->train_state == GAF_TRAIN_STATE_FAILED && self->failure != NULL)
    g_string_append (state, self->failure);
  else
    g_string_append (state, _(gaf_train_state_info (self->train_state)->status));
  /* What the engine does besides training (reading data, a sweep, scoring maps). */
  if (s->work_label != NULL)
    g_string_append_printf (state, " · %s", _(s->work_label));
  if (self->notice != NULL && g_get_monotonic_time () < self->notice_until)
    g_string_append_printf (state, " · %s", self->notice);
  if (s->sampling)
    g_string_append_printf (state, " · %s", _("sampling"));
  if (s->state == GAF_RUNNER_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (self->state_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->state_label), "error");

  if (!experiment (self)->untrained)
    step = g_strdup_printf (_("Step %u of %.0f"), (guint) s->step, s->params.value[GAF_PARAM_BUDGET]);
  rate = s->state == GAF_RUNNER_TRAINING && s->steps_per_second > 0
    ? g_strdup_printf (_("%.1f steps/s"), s->steps_per_second) : g_strdup ("");
  loss = isfinite (s->loss_smooth) ? g_strdup_printf (_("Loss %.4f"), s->loss_smooth) : g_strdup ("");
  metric = gaf_experiment_summary (s->params.experiment, s->payload);

  gtk_label_set_text (self->state_label, state->str);
  gtk_label_set_text (self->step_label, step ? step : "");
  gtk_label_set_text (self->rate_label, rate);
  gtk_label_set_text (self->loss_label, loss);
  /* The headline number comes first and stays in sight on a narrow window; the whole line is the tooltip. */
  gtk_label_set_text (self->metric_label, metric ? metric : "");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->metric_label), metric);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->state_label), state->str);
}

static void
on_runner_failed (GafRunner *runner, GError *error, GafWindow *self)
{
  g_free (self->failure);
  self->failure = g_strdup_printf (_("Failed: %s"), error->message);
  gaf_training_view_set_error (self->training_view, error->message);
  gaf_label_map_canvas_set_error (gaf_label_map_view_get_canvas (self->label_map_view), error->message);
  /* a user's matter (a diverged run, data that cannot be read), shown in the status line: a message in
   * the log, not a warning (GLib's warnings are for programming errors, and fatal in tests) */
  g_message ("%s", error->message);
}

/* The experiment ran with another value than the one asked for (bf16 sampling with settings or a model file from a
 * machine with AVX-512 BF16 on one without): the panel and the settings take the value that runs, and the status
 * line says why, once. Not a failure: training and sampling go on. */
static void
on_runner_adjusted (GafRunner *runner, int param, double value, GError *why, GafWindow *self)
{
  gaf_parameter_panel_set_value (self->panel, param, value);
  set_notice (self, why->message);
  g_message ("%s", why->message);
}

/* An experiment with a shipped model (GAF's) starts from it while its data are the default ones and the method
 * is GAF: a jump flow chosen by hand trains from scratch. */
static void
maybe_open_default_model (GafWindow *self)
{
  const GafRunnerParams *params = gaf_runner_get_params (self->runner);
  const GafExperimentClass *klass = params->experiment;
  g_autofree char *path = NULL;

  if (klass->default_model == NULL || gaf_runner_params_method (params) != GAF_METHOD_GAF)
    return;
  for (const GafParam *p = klass->params; *p != GAF_N_PARAMS; p++)
    if (gaf_param_info (*p)->type == GAF_PARAM_TEXT && g_strcmp0 (params->text[*p], gaf_param_info (*p)->def_text) != 0)
      return;
  path = gaf_default_model (klass->default_model);
  if (path != NULL)
    gaf_window_open_model (self, path);
}

static guint
experiment_index (const GafExperimentClass *klass)
{
  const GafExperimentClass *const *all = gaf_experiments ();

  for (guint i = 0; all[i] != NULL; i++)
    if (all[i] == klass)
      return i;
  return 0;
}

/* The experiments whose data a view shows: those whose own view it is; the Likelihood view scores the label
 * maps' model, so it belongs to the experiments whose own view is the Maps view. Views of every experiment
 * (simplex, training, runs, scaling) are nobody's own and belong to all. */
static gboolean
view_serves (const char *view, const GafExperimentClass *klass)
{
  if (g_strcmp0 (view, "likelihood") == 0)
    view = "labelmaps";
  return g_strcmp0 (view, klass->default_view) == 0;
}

static gboolean
view_is_someones (const char *view)
{
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if (view_serves (view, *k))
      return TRUE;
  return FALSE;
}

static void
on_switch_clicked (GtkButton *button, GafWindow *self)
{
  const GafExperimentClass *klass = g_object_get_data (G_OBJECT (button), "experiment");

  if (klass != NULL)
    gaf_window_set_experiment (self, klass);
}

/* On a view that belongs to other experiments than the one running, a bar says so and offers to open them:
 * a tab is never a dead end. */
static void
update_switch_bar (GafWindow *self)
{
  const char *view = gtk_stack_get_visible_child_name (self->stack);
  const GafExperimentClass *current = gaf_runner_get_params (self->runner)->experiment;
  GtkWidget *child;
  gboolean show = view != NULL && view_is_someones (view) && !view_serves (view, current);

  while ((child = gtk_widget_get_last_child (self->switch_bar)) != GTK_WIDGET (self->switch_label))
    gtk_widget_unparent (child);
  if (show)
    {
      for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
        if (view_serves (view, *k))
          {
            /* Translators: a button that opens an experiment by its name */
            g_autofree char *label = g_strdup_printf (_("Open “%s”"), _((*k)->label));
            GtkWidget *button = gtk_button_new_with_label (label);
            g_object_set_data (G_OBJECT (button), "experiment", (gpointer) *k);
            g_signal_connect (button, "clicked", G_CALLBACK (on_switch_clicked), self);
            gtk_widget_set_parent (button, self->switch_bar);
          }
      gtk_label_set_text (self->switch_label, _("A view of another experiment:"));
    }
  gtk_revealer_set_reveal_child (self->switch_revealer, show);
}

/* Shows the experiment's own view when the one on screen is another experiment's own. */
static void
follow_default_view (GafWindow *self, const GafExperimentClass *klass)
{
  const char *view = gaf_window_get_view (self);

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    if (g_strcmp0 (view, (*k)->default_view) == 0 && g_strcmp0 (view, klass->default_view) != 0)
      {
        gaf_window_set_view (self, klass->default_view);
        return;
      }
}

/* The window's controls for the experiment that runs now. */
static void
show_experiment (GafWindow *self, const GafExperimentClass *klass)
{
  self->loading = TRUE;
  gtk_drop_down_set_selected (self->experiment_dropdown, experiment_index (klass));
  self->loading = FALSE;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.train", !klass->untrained);
  gaf_parameter_panel_set_experiment (self->panel, klass);
  follow_default_view (self, klass);
  update_switch_bar (self);
}

void
gaf_window_set_experiment (GafWindow *self, const GafExperimentClass *klass)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  g_return_if_fail (klass != NULL && gaf_experiment_lookup (klass->id) == klass);

  g_settings_set_string (self->settings, "experiment", klass->id);
  clear_failure (self);
  gaf_runner_set_experiment (self->runner, klass);
  show_experiment (self, klass);
  maybe_open_default_model (self);
  /* A learned experiment trains at once; an exact field has nothing to train. The old experiment's
   * state (done, say) says nothing about the new one. */
  self->train_state = GAF_TRAIN_STATE_PAUSED;
  self->train_state_shown = FALSE;
  gaf_window_set_training (self, !klass->untrained);
}

static void
on_experiment_selected (GafWindow *self)
{
  guint selected = gtk_drop_down_get_selected (self->experiment_dropdown);

  if (self->loading || selected >= g_strv_length ((char **) gaf_experiments ()))
    return;
  gaf_window_set_experiment (self, gaf_experiments ()[selected]);
}

/* What each view draws, for a first-time viewer (the info button beside the view switcher). */
static const struct { const char *view; const char *text; } view_notes[] = {
  { "simplex", N_("Each dot is one position of one sampled sequence. Where it sits in the triangle is W(t): the "
                  "probabilities it gives the three classes, so a corner means one class for sure. The trail behind "
                  "a dot is where it came from, in the colour of the class it ends in; the dot itself mixes the class "
                  "colours by W. The grey arrows are the field that moves the dots at this time t, the shading is "
                  "where they start.") },
  { "training", N_("The curve is the training loss: how far the network's field is from the paths it learns, step "
                   "by step, on a log scale (each grid line is ten times smaller). The KL compares how often the last "
                   "samples chose each class with the target: 0 is perfect, the uniform value is what guessing gives, "
                   "the floor is the least a KL from this many samples can show.") },
  { "joint", N_("Two variables sampled together. Left: the target table, a cell's colour is its probability (colour "
                "bar); middle: how often the last samples landed in each cell, on the same colours. For the coupled "
                "pair, each moving dot is one sample's pair (W₁, W₂); it should end in a corner where the variables "
                "agree.") },
  { "labelmaps", N_("Sixteen label maps drawn out of noise. Every pixel is a point moving on the simplex of the "
                    "classes, shown as the mix of the class colours it leans to (or, with Entropy, how undecided it "
                    "still is). Click a pixel to follow its path on the small simplex at the right.") },
  { "likelihood", N_("How probable the model finds a label map, in bits per pixel: fewer bits, more probable. The "
                     "bars are maps of the data the model did not train on; the marker is the map you scored. "
                     "Each score is an estimate: the same map scored again can move by a tenth of a bit or more, far "
                     "more than the ± shown, so read a marker as “about here”.") },
  { "runs", N_("Every training run is recorded: its settings, its loss and KL curves, the changes made while it "
               "ran. Tick runs to draw their curves over each other, in one colour each; the settings in which "
               "the ticked runs differ are in bold. Restore Settings puts a run's settings back.") },
  { "scaling", N_("For each class count c a fresh network is trained and sampled, and the KL between sample and "
                  "target frequencies is plotted (log scale, lower is better) for GAF and the baselines. The dashed "
                  "lines are what guessing gives and the floor that the number of samples allows.") },
};

static void
update_info (GafWindow *self)
{
  const char *name = gtk_stack_get_visible_child_name (self->stack);

  for (guint i = 0; i < G_N_ELEMENTS (view_notes); i++)
    if (g_strcmp0 (name, view_notes[i].view) == 0)
      gtk_label_set_text (self->info_label, _(view_notes[i].text));
  for (const GafViewEntry *v = gaf_view_entries (); v->name != NULL; v++)
    if (g_strcmp0 (name, v->name) == 0)
      gtk_label_set_text (self->info_label, _(v->info));
}

/* The views in the switcher's order: the window's own (its template), then gaf-view.c's table. */
char **
gaf_window_view_names (void)
{
  GStrvBuilder *names = g_strv_builder_new ();

  for (guint i = 0; i < G_N_ELEMENTS (view_notes); i++)
    g_strv_builder_add (names, view_notes[i].view);
  for (const GafViewEntry *v = gaf_view_entries (); v->name != NULL; v++)
    g_strv_builder_add (names, v->name);
  return g_strv_builder_end (names);
}

GtkWidget *
gaf_window_get_switch_bar (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->switch_revealer);
}

const char *
gaf_window_get_info_text (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return gtk_label_get_text (self->info_label);
}

static void
info_action (GtkWidget *widget, const char *name, GVariant *param)
{
  gtk_menu_button_popup (GAF_WINDOW (widget)->info_button);
}

static void
on_view_changed (GafWindow *self)
{
  const char *name = gtk_stack_get_visible_child_name (self->stack);

  update_info (self);
  if (self->runner != NULL)
    update_switch_bar (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPLIT_VIEW]);

  if (!self->loading && self->settings != NULL && name != NULL)
    g_settings_set_string (self->settings, "view", name);
}

/* The split view (two methods side by side) on or off: off goes back to the view it was entered from. */
static void
set_split_view (GafWindow *self, gboolean split)
{
  const char *view = gaf_window_get_view (self);

  if (split == (g_strcmp0 (view, "split") == 0))
    return;
  if (split)
    {
      g_free (self->view_before_split);
      self->view_before_split = g_strdup (view);
      gaf_window_set_view (self, "split");
    }
  else if (self->view_before_split == NULL || !gaf_window_set_view (self, self->view_before_split))
    gaf_window_set_view (self, "simplex");
}

gboolean
gaf_window_set_view (GafWindow *self, const char *name)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  if (name == NULL || gtk_stack_get_child_by_name (self->stack, name) == NULL)
    return FALSE;
  gtk_stack_set_visible_child_name (self->stack, name);
  return TRUE;
}

const char *
gaf_window_get_view (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->stack);
}

static void
on_pixel_selected (GafWindow *self)
{
  int row = gaf_label_map_canvas_get_selected_row (gaf_label_map_view_get_canvas (self->label_map_view));
  gaf_simplex_canvas_set_selected_row (gaf_simplex_view_get_canvas (self->simplex_view), row);
}

/* A run's settings back into the panel (the Runs view's Restore Settings): its experiment first, then
 * every parameter (model ones wait in the panel's bar for Apply). */
static void
on_restore_run (GafWindow *self, guint64 id)
{
  const GafRun *run = gaf_run_history_find (self->history, id);

  if (run == NULL)
    return;
  if (run->params.experiment != gaf_runner_get_params (self->runner)->experiment)
    gaf_window_set_experiment (self, run->params.experiment);
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    if (gaf_param_info (p)->type == GAF_PARAM_TEXT)
      gaf_parameter_panel_set_text (self->panel, p, run->params.text[p]);
    else
      gaf_parameter_panel_set_value (self->panel, p, run->params.value[p]);
  {
    g_autofree char *notice = g_strdup_printf (_("the settings of run %u are in the panel"), (guint) id);
    set_notice (self, notice);
  }
  g_object_set (self, "panel-visible", TRUE, NULL);
}

static void
on_panel_applied (GafParameterPanel *panel, int param, GafWindow *self)
{
  clear_failure (self);
}

/* ---- export ---------------------------------------------------------------------------------------- */

static void
draw_simplex (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_simplex_canvas_draw (widget, cr, width, height, theme);
}

static void
draw_training (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_training_view_draw (widget, cr, width, height, theme);
}

static void
draw_runs (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_runs_view_draw (widget, cr, width, height, theme);
}

static void
draw_joint (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_joint_view_draw (widget, cr, width, height, theme);
}

static void
draw_label_maps (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_label_map_canvas_draw (widget, cr, width, height, theme);
}

static void
draw_likelihood (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_likelihood_view_draw (widget, cr, width, height, theme);
}

static void
draw_scaling (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_scaling_canvas_draw (widget, cr, width, height, theme);
}

/* The drawing of the current view: its function, widget and size. */
static void
current_drawing (GafWindow *self, GafDrawFunc *draw, GtkWidget **widget)
{
  const char *name = gaf_window_get_view (self);
  GtkWidget *child = gtk_stack_get_visible_child (self->stack);

  if (child != NULL && GAF_IS_VIEW (child))
    *widget = gaf_view_get_drawing (GAF_VIEW (child), draw);
  else if (g_strcmp0 (name, "training") == 0)
    {
      *draw = draw_training;
      *widget = GTK_WIDGET (self->training_view);
    }
  else if (g_strcmp0 (name, "runs") == 0)
    {
      *draw = draw_runs;
      *widget = GTK_WIDGET (self->runs_view);
    }
  else if (g_strcmp0 (name, "joint") == 0)
    {
      *draw = draw_joint;
      *widget = GTK_WIDGET (self->joint_view);
    }
  else if (g_strcmp0 (name, "labelmaps") == 0)
    {
      *draw = draw_label_maps;
      *widget = GTK_WIDGET (gaf_label_map_view_get_canvas (self->label_map_view));
    }
  else if (g_strcmp0 (name, "likelihood") == 0)
    {
      /* The drawing of the view's area, with the view as the drawing's owner. */
      *draw = draw_likelihood;
      *widget = GTK_WIDGET (self->likelihood_view);
    }
  else if (g_strcmp0 (name, "scaling") == 0)
    {
      *draw = draw_scaling;
      *widget = GTK_WIDGET (gaf_scaling_view_get_canvas (self->scaling_view));
    }
  else
    {
      *draw = draw_simplex;
      *widget = GTK_WIDGET (gaf_simplex_view_get_canvas (self->simplex_view));
    }
}

static void
widget_size (GtkWidget *widget, int *width, int *height)
{
  *width = gtk_widget_get_width (widget);
  *height = gtk_widget_get_height (widget);
  if (*width <= 0 || *height <= 0)
    {
      *width = 1000;
      *height = 700;
    }
}

gboolean
gaf_window_export_view (GafWindow *self, const char *path, GError **error)
{
  GafExportFormat format;
  const char *name;

  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  if (!gaf_export_format_from_path (path, &format))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("Unknown file type of “%s”: use .png, .svg, .pdf or .csv"), path);
      return FALSE;
    }
  name = gaf_window_get_view (self);
  if (format == GAF_EXPORT_CSV)
    {
      g_autofree char *text = NULL;
      GtkWidget *child = gtk_stack_get_visible_child (self->stack);

      if (child != NULL && GAF_IS_VIEW (child))
        {
          text = gaf_view_to_csv (GAF_VIEW (child), error);
          if (text == NULL)
            return FALSE;
        }
      else if (g_strcmp0 (name, "training") == 0)
        text = gaf_training_view_to_csv (self->training_view);
      else if (g_strcmp0 (name, "runs") == 0)
        text = gaf_run_history_to_csv (self->history);
      else if (g_strcmp0 (name, "joint") == 0)
        text = gaf_joint_view_to_csv (self->joint_view);
      else if (g_strcmp0 (name, "scaling") == 0)
        text = gaf_scaling_canvas_to_csv (gaf_scaling_view_get_canvas (self->scaling_view));
      else if (g_strcmp0 (name, "likelihood") == 0)
        text = gaf_likelihood_view_to_csv (self->likelihood_view);
      else
        {
          g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (self->runner);
          if (gaf_payload_trajectories (s->payload) == NULL)
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There are no trajectories yet"));
              return FALSE;
            }
          text = gaf_trajectories_to_csv (gaf_payload_trajectories (s->payload));
        }
      return gaf_export_text (path, text, error);
    }
  {
    GafDrawFunc draw;
    GtkWidget *widget;
    GafTheme theme = { 0 };
    int width, height;
    gboolean ok;

    current_drawing (self, &draw, &widget);
    widget_size (widget, &width, &height);
    gaf_theme_from_widget (&theme, widget);
    ok = gaf_export_drawing (draw, widget, &theme, width, height, format, path, error);
    gaf_theme_clear (&theme);
    return ok;
  }
}

gboolean
gaf_window_export_frames (GafWindow *self, const char *directory, guint n, GError **error)
{
  GafSimplexCanvas *canvas;
  g_autoptr(GafSnapshot) s = NULL;
  GafTheme theme = { 0 };
  double saved, t_end;
  int width, height;
  gboolean ok = TRUE;

  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (n >= 2, FALSE);
  s = gaf_runner_dup_snapshot (self->runner);
  if (gaf_payload_trajectories (s->payload) == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There are no trajectories yet"));
      return FALSE;
    }
  if (g_mkdir_with_parents (directory, 0755) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), _("Could not create “%s”"), directory);
      return FALSE;
    }
  canvas = gaf_simplex_view_get_canvas (self->simplex_view);
  gaf_simplex_view_set_playing (self->simplex_view, FALSE);
  gaf_simplex_canvas_set_snapshot (canvas, s);
  saved = gaf_simplex_canvas_get_time (canvas);
  t_end = gaf_payload_trajectories (s->payload)->times[gaf_payload_trajectories (s->payload)->n_times - 1];
  widget_size (GTK_WIDGET (canvas), &width, &height);
  gaf_theme_from_widget (&theme, GTK_WIDGET (canvas));
  for (guint i = 0; i < n && ok; i++)
    {
      g_autofree char *name = g_strdup_printf ("frame-%04u.png", i);
      g_autofree char *path = g_build_filename (directory, name, NULL);
      gaf_simplex_canvas_set_time (canvas, t_end * i / (n - 1));
      ok = gaf_export_drawing (draw_simplex, canvas, &theme, width, height, GAF_EXPORT_PNG, path, error);
    }
  gaf_theme_clear (&theme);
  gaf_simplex_canvas_set_time (canvas, saved);
  return ok;
}

static void
show_error (GafWindow *self, const char *what, const GError *error)
{
  GtkWidget *dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                              GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE, "%s", what);
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog), "%s", error->message);
  g_signal_connect (dialog, "response", G_CALLBACK (gtk_window_destroy), NULL);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef enum {
  CHOOSE_VIEW,
  CHOOSE_CSV,
  CHOOSE_FRAMES,
  CHOOSE_OPEN_MODEL,
  CHOOSE_SAVE_MODEL,
} ChooseKind;

/* ---- model files ----------------------------------------------------------------------------------- */

typedef struct {
  GafWindow *window;
  GafRunner *runner;
  char      *name;
} FileOp;

static void
file_op_free (FileOp *op)
{
  g_object_unref (op->window);
  g_object_unref (op->runner);
  g_free (op->name);
  g_free (op);
}

/* A passing message for 5 s; the one before stays in front of it while it still shows (the precision refused on
 * this CPU, then the shipped model opened a moment later: both are read), the ones before that go. */
static void
set_notice (GafWindow *self, const char *text)
{
  static const char sep[] = " · ";
  gint64 now = g_get_monotonic_time ();
  char *notice;

  if (self->notice != NULL && now < self->notice_until && !g_str_has_suffix (self->notice, text))
    {
      const char *last = g_strrstr (self->notice, sep);
      notice = g_strconcat (last != NULL ? last + sizeof sep - 1 : self->notice, sep, text, NULL);
    }
  else
    notice = g_strdup (text);
  g_free (self->notice);
  self->notice = notice;
  self->notice_until = now + 5 * G_USEC_PER_SEC;
  update_train_button_now (self);
}

static void
model_saved (GObject *source, GAsyncResult *result, gpointer data)
{
  FileOp *op = data;
  GafWindow *self = op->window;
  g_autoptr(GError) error = NULL;
  gboolean ok = gaf_runner_save_model_finish (op->runner, result, &error);

  if (self->runner == op->runner)   /* not closed meanwhile */
    {
      if (ok)
        {
          /* Translators: the file a model was saved to */
          g_autofree char *text = g_strdup_printf (_("Saved the model to “%s”"), op->name);
          set_notice (self, text);
        }
      else
        show_error (self, _("Could not save the model"), error);
      self->file_operations++;
    }
  file_op_free (op);
}

static void
model_loaded (GObject *source, GAsyncResult *result, gpointer data)
{
  FileOp *op = data;
  GafWindow *self = op->window;
  g_autoptr(GError) error = NULL;
  gboolean ok = gaf_runner_load_model_finish (op->runner, result, &error);

  if (self->runner == op->runner)
    {
      if (ok)
        {
          const GafRunnerParams *params = gaf_runner_get_params (self->runner);
          g_autofree char *text = g_strdup_printf (_("Opened the model “%s”"), op->name);

          /* The window follows the model's experiment, parameters and data, and remembers them. */
          gaf_settings_write_params (self->settings, params);
          gaf_parameter_panel_sync (self->panel);
          show_experiment (self, params->experiment);
          clear_failure (self);
          set_notice (self, text);
        }
      else
        show_error (self, _("Could not open the model"), error);   /* the runner kept the model it had */
      self->file_operations++;
    }
  file_op_free (op);
}

static FileOp *
file_op_new (GafWindow *self, const char *path)
{
  FileOp *op = g_new0 (FileOp, 1);

  op->window = g_object_ref (self);
  op->runner = g_object_ref (self->runner);
  op->name = g_filename_display_basename (path);
  return op;
}

static void
start_open_model (GafWindow *self, const char *path)
{
  gaf_runner_load_model_async (self->runner, path, NULL, model_loaded, file_op_new (self, path));
}

static void
on_data_answer (GtkDialog *dialog, int response, GafWindow *self)
{
  const char *path = g_object_get_data (G_OBJECT (dialog), "gaf-path");

  if (response == GTK_RESPONSE_ACCEPT)
    start_open_model (self, path);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* A model trained elsewhere (.safetensors) opens directly when its metadata names its data; an image model
 * that does not is opened with the current label maps once the user agrees (the runner fills them in). Only
 * the file's header is read here. */
void
gaf_window_open_model (GafWindow *self, const char *path)
{
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *dialog;
  g_autofree char *name = NULL;

  g_return_if_fail (GAF_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  if (!g_str_has_suffix (path, ".safetensors"))
    {
      start_open_model (self, path);
      return;
    }
  st = gaf_safetensors_load_header (path, &error);
  if (st == NULL)
    {
      show_error (self, _("Could not open the model"), error);
      return;
    }
  if (gaf_torch_names_data (st) || g_strcmp0 (gaf_safetensors_get_metadata (st, "network"), "unet") != 0)
    {
      start_open_model (self, path);
      return;
    }
  name = g_filename_display_basename (path);
  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE,
                                   _("Which label maps was this model trained on?"));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("“%s” does not say. Open it with the current label maps (%s)?"),
                                            name, gaf_runner_get_params (self->runner)->text[GAF_PARAM_IMAGE_DATA]);
  gtk_dialog_add_buttons (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL, _("_Open"), GTK_RESPONSE_ACCEPT,
                          NULL);
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT);
  g_object_set_data_full (G_OBJECT (dialog), "gaf-path", g_strdup (path), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_data_answer), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Model files dropped on the window (label maps dropped on the likelihood view go to the view). */
static gboolean
on_drop_model (GtkDropTarget *target, const GValue *value, double x, double y, GafWindow *self)
{
  GFile *file = g_value_get_object (value);
  g_autofree char *path = file ? g_file_get_path (file) : NULL;

  if (path == NULL || !(g_str_has_suffix (path, GAF_MODEL_SUFFIX) || g_str_has_suffix (path, ".safetensors")))
    return FALSE;
  gaf_window_open_model (self, path);
  return TRUE;
}

void
gaf_window_save_model (GafWindow *self, const char *path)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  g_return_if_fail (path != NULL);
  gaf_runner_save_model_async (self->runner, path, NULL, model_saved, file_op_new (self, path));
}

guint
gaf_window_get_file_operations (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), 0);
  return self->file_operations;
}

static void
on_chooser_response (GtkNativeDialog *native, int response, GafWindow *self)
{
  ChooseKind kind = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (native), "gaf-kind"));
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      path = file ? g_file_get_path (file) : NULL;
    }
  if (path != NULL && kind == CHOOSE_OPEN_MODEL)
    gaf_window_open_model (self, path);
  else if (path != NULL && kind == CHOOSE_SAVE_MODEL)
    {
      if (!g_str_has_suffix (path, GAF_MODEL_SUFFIX))
        {
          char *with = g_strconcat (path, GAF_MODEL_SUFFIX, NULL);
          g_free (path);
          path = with;
        }
      gaf_window_save_model (self, path);
    }
  else if (path != NULL)
    {
      if (kind == CHOOSE_FRAMES)
        ok = gaf_window_export_frames (self, path, 90, &error);
      else
        {
          if (kind == CHOOSE_CSV && !g_str_has_suffix (path, ".csv"))
            {
              char *with = g_strconcat (path, ".csv", NULL);
              g_free (path);
              path = with;
            }
          ok = gaf_window_export_view (self, path, &error);
        }
      if (!ok)
        show_error (self, _("Export failed"), error);
    }
  g_clear_object (&self->chooser);
}

static void
add_filter (GtkFileChooser *chooser, const char *name, const char *pattern)
{
  GtkFileFilter *filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, name);
  gtk_file_filter_add_pattern (filter, pattern);
  gtk_file_chooser_add_filter (chooser, filter);
  g_object_unref (filter);
}

static void
choose (GafWindow *self, ChooseKind kind)
{
  const char *title = kind == CHOOSE_FRAMES ? _("Export Animation Frames")
                    : kind == CHOOSE_CSV ? _("Export Data as CSV")
                    : kind == CHOOSE_OPEN_MODEL ? _("Open Model")
                    : kind == CHOOSE_SAVE_MODEL ? _("Save Model") : _("Export View");
  const char *accept = kind == CHOOSE_OPEN_MODEL ? _("_Open") : kind == CHOOSE_SAVE_MODEL ? _("_Save") : _("_Export");
  GtkFileChooserAction action = kind == CHOOSE_FRAMES ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                              : kind == CHOOSE_OPEN_MODEL ? GTK_FILE_CHOOSER_ACTION_OPEN
                                                          : GTK_FILE_CHOOSER_ACTION_SAVE;
  g_autofree char *suggested = NULL;

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (title, GTK_WINDOW (self), action, accept, _("_Cancel"));
  g_object_set_data (G_OBJECT (self->chooser), "gaf-kind", GINT_TO_POINTER (kind));
  if (kind == CHOOSE_VIEW)
    {
      add_filter (GTK_FILE_CHOOSER (self->chooser), _("PNG image"), "*.png");
      add_filter (GTK_FILE_CHOOSER (self->chooser), _("SVG drawing"), "*.svg");
      add_filter (GTK_FILE_CHOOSER (self->chooser), _("PDF document"), "*.pdf");
      suggested = g_strdup_printf ("gaflow-%s.png", gaf_window_get_view (self));
    }
  else if (kind == CHOOSE_CSV)
    {
      add_filter (GTK_FILE_CHOOSER (self->chooser), _("CSV table"), "*.csv");
      suggested = g_strdup_printf ("gaflow-%s.csv", gaf_window_get_view (self));
    }
  else if (kind == CHOOSE_OPEN_MODEL || kind == CHOOSE_SAVE_MODEL)
    {
      add_filter (GTK_FILE_CHOOSER (self->chooser), _("Gaflow models"), "*" GAF_MODEL_SUFFIX);
      if (kind == CHOOSE_OPEN_MODEL)
        add_filter (GTK_FILE_CHOOSER (self->chooser), _("Models trained elsewhere (safetensors)"), "*.safetensors");
      if (kind == CHOOSE_SAVE_MODEL)
        suggested = g_strdup_printf ("gaflow-%s" GAF_MODEL_SUFFIX,
                                     experiment (self)->id);
    }
  if (suggested != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (self->chooser), suggested);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

/* ---- screenshot ------------------------------------------------------------------------------------ */

gboolean
gaf_window_save_screenshot (GafWindow *self, const char *path, GError **error)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkTexture) texture = NULL;
  GskRenderNode *node;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;

  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  renderer = gtk_native_get_renderer (GTK_NATIVE (self));
  if (width <= 0 || height <= 0 || renderer == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The window is not shown"));
      return FALSE;
    }
  /* The window's snapshot drawn now, children included: a GtkWidgetPaintable would show the last
   * frame's render node, which is gone whenever a redraw is queued (the animation queues one per frame). */
  snapshot = gtk_snapshot_new ();
  /* The vfunc draws the children but not the window's own CSS background: lay that down first, in the
   * theme's window colour, so the PNG is opaque as the window is. */
  {
    GafTheme theme = { 0 };
    gaf_theme_from_widget (&theme, widget);
    gtk_snapshot_append_color (snapshot, &(GdkRGBA) { theme.bg[0], theme.bg[1], theme.bg[2], 1.0 },
                               &GRAPHENE_RECT_INIT (0, 0, width, height));
    gaf_theme_clear (&theme);
  }
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snapshot);
  node = gtk_snapshot_free_to_node (snapshot);
  if (node == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("The window drew nothing"));
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gsk_render_node_unref (node);
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write “%s”"), path);
      return FALSE;
    }
  return TRUE;
}

static void
screenshot_after_paint (GdkFrameClock *clock, GTask *task)
{
  GafWindow *self = g_task_get_source_object (task);
  GError *error = NULL;

  g_signal_handlers_disconnect_by_func (clock, screenshot_after_paint, task);
  if (g_task_return_error_if_cancelled (task))
    ;
  else if (gaf_window_save_screenshot (self, g_task_get_task_data (task), &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

void
gaf_window_screenshot_async (GafWindow *self, const char *path, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task;
  GdkFrameClock *clock;

  g_return_if_fail (GAF_IS_WINDOW (self));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, gaf_window_screenshot_async);
  g_task_set_task_data (task, g_strdup (path), g_free);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));
  if (clock == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, _("The window is not shown"));
      g_object_unref (task);
      return;
    }
  /* After the next frame's paint the layout is complete and every child has its allocation. */
  g_signal_connect (clock, "after-paint", G_CALLBACK (screenshot_after_paint), task);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
gaf_window_screenshot_finish (GafWindow *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- actions --------------------------------------------------------------------------------------- */

static void
sample_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GafWindow *self = GAF_WINDOW (widget);
  gaf_runner_sample (self->runner);
}

void
gaf_window_reset_model (GafWindow *self)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  clear_failure (self);
  gaf_runner_reset (self->runner);
  update_train_button_now (self);
}

static void
on_reset_response (GtkDialog *dialog, int response, GafWindow *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    gaf_window_reset_model (self);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

/* A reset throws the trained weights away: ask first. */
static void
reset_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GafWindow *self = GAF_WINDOW (widget);
  g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (self->runner);
  GtkWidget *dialog;

  dialog = gtk_message_dialog_new (GTK_WINDOW (self), GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                   GTK_MESSAGE_QUESTION, GTK_BUTTONS_NONE, _("Reset the model?"));
  gtk_message_dialog_format_secondary_text (GTK_MESSAGE_DIALOG (dialog),
                                            _("The network starts over from fresh weights with the current parameters; "
                                              "the %u training steps so far are lost unless the model was saved."),
                                            (guint) s->step);
  gtk_dialog_add_button (GTK_DIALOG (dialog), _("_Cancel"), GTK_RESPONSE_CANCEL);
  gtk_dialog_add_button (GTK_DIALOG (dialog), _("_Reset"), GTK_RESPONSE_ACCEPT);
  gtk_widget_add_css_class (gtk_dialog_get_widget_for_response (GTK_DIALOG (dialog), GTK_RESPONSE_ACCEPT),
                            "destructive-action");
  gtk_dialog_set_default_response (GTK_DIALOG (dialog), GTK_RESPONSE_CANCEL);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_reset_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* A named preset of the current experiment (resources/presets.ini): its parameters through the panel (a
 * model parameter waits for Apply), then the display. */
gboolean
gaf_window_apply_preset (GafWindow *self, const char *name, GError **error)
{
  g_autoptr(GKeyFile) presets = NULL;
  GafPreset preset;

  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  presets = gaf_presets_load_resource (error);
  if (presets == NULL ||
      !gaf_presets_get (presets, gaf_runner_get_params (self->runner)->experiment, name, &preset, error))
    return FALSE;
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    if (preset.set[p])
      gaf_parameter_panel_set_value (self->panel, p, preset.value[p]);
  if (preset.presentation >= 0)
    gaf_window_set_presentation (self, preset.presentation);
  if (preset.speed > 0)
    gaf_simplex_view_set_speed (self->simplex_view, preset.speed);
  gaf_simplex_view_set_overlays (self->simplex_view, preset.field, preset.density);
  refresh_display (self);
  return TRUE;
}

static void
preset_action (GtkWidget *widget, const char *name, GVariant *param)
{
  g_autoptr(GError) error = NULL;

  if (!gaf_window_apply_preset (GAF_WINDOW (widget), g_variant_get_string (param, NULL), &error))
    g_warning ("%s", error->message);
}

static void
restore_defaults_action (GtkWidget *widget, const char *name, GVariant *param)
{
  gaf_parameter_panel_restore_defaults (GAF_WINDOW (widget)->panel);
}

/* Ctrl+N: the N-th view in the switcher's order. */
static void
view_index_action (GtkWidget *widget, const char *name, GVariant *param)
{
  GafWindow *self = GAF_WINDOW (widget);
  g_autoptr(GtkSelectionModel) pages = gtk_stack_get_pages (self->stack);
  int index = g_variant_get_int32 (param);
  g_autoptr(GObject) page = NULL;

  if (index < 0 || (guint) index >= g_list_model_get_n_items (G_LIST_MODEL (pages)))
    return;
  page = g_list_model_get_item (G_LIST_MODEL (pages), index);
  gaf_window_set_view (self, gtk_stack_page_get_name (GTK_STACK_PAGE (page)));
}

void
gaf_window_set_presentation (GafWindow *self, gboolean presentation)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  presentation = !!presentation;
  if (self->presentation == presentation)
    return;
  self->presentation = presentation;
  /* Larger text everywhere (style.css), thicker strokes in the drawings (GafTheme.stroke). */
  if (presentation)
    gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
  /* A lecture shows the drawing, not the knobs: the parameters hide and come back after. */
  if (presentation)
    {
      self->panel_before_presentation = gtk_revealer_get_reveal_child (self->panel_revealer);
      g_object_set (self, "panel-visible", FALSE, NULL);
      gtk_window_fullscreen (GTK_WINDOW (self));
    }
  else
    {
      g_object_set (self, "panel-visible", self->panel_before_presentation, NULL);
      gtk_window_unfullscreen (GTK_WINDOW (self));
    }
  refresh_display (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENTATION]);
}

static void
export_action (GtkWidget *widget, const char *name, GVariant *param)
{
  choose (GAF_WINDOW (widget), CHOOSE_VIEW);
}

static void
open_model_action (GtkWidget *widget, const char *name, GVariant *param)
{
  choose (GAF_WINDOW (widget), CHOOSE_OPEN_MODEL);
}

static void
save_model_action (GtkWidget *widget, const char *name, GVariant *param)
{
  choose (GAF_WINDOW (widget), CHOOSE_SAVE_MODEL);
}

static void
export_csv_action (GtkWidget *widget, const char *name, GVariant *param)
{
  choose (GAF_WINDOW (widget), CHOOSE_CSV);
}

static void
export_frames_action (GtkWidget *widget, const char *name, GVariant *param)
{
  choose (GAF_WINDOW (widget), CHOOSE_FRAMES);
}

static void
view_action (GtkWidget *widget, const char *name, GVariant *param)
{
  gaf_window_set_view (GAF_WINDOW (widget), g_variant_get_string (param, NULL));
}

static gboolean
on_key_pressed (GtkEventControllerKey *controller, guint keyval, guint keycode, GdkModifierType state,
                GafWindow *self)
{
  GtkWidget *focus;

  if (state & (GDK_CONTROL_MASK | GDK_ALT_MASK | GDK_SUPER_MASK))
    return FALSE;
  focus = gtk_root_get_focus (GTK_ROOT (self));
  if (focus != NULL && GTK_IS_EDITABLE (focus))
    return FALSE;
  /* The animation of the simplex view: P plays or pauses, comma and full stop step a frame, [ and ]
   * change the speed. */
  if (g_strcmp0 (gaf_window_get_view (self), "simplex") == 0)
    switch (keyval)
      {
      case GDK_KEY_p:
      case GDK_KEY_P:
        gaf_simplex_view_set_playing (self->simplex_view, !gaf_simplex_view_get_playing (self->simplex_view));
        return TRUE;
      case GDK_KEY_comma:
        gaf_simplex_view_step (self->simplex_view, -1);
        return TRUE;
      case GDK_KEY_period:
        gaf_simplex_view_step (self->simplex_view, +1);
        return TRUE;
      case GDK_KEY_bracketleft:
        gaf_simplex_view_change_speed (self->simplex_view, -1);
        return TRUE;
      case GDK_KEY_bracketright:
        gaf_simplex_view_change_speed (self->simplex_view, +1);
        return TRUE;
      default:
        break;
      }
  /* Space trains or pauses wherever the focus is, except where it types a space. */
  if (keyval != GDK_KEY_space || (state & GDK_SHIFT_MASK))
    return FALSE;
  if (experiment (self)->untrained)
    return FALSE;
  gaf_window_set_training (self, !self->training);
  return TRUE;
}

/* ---- GObject --------------------------------------------------------------------------------------- */

static int
engine_threads (void)
{
  /* One engine thread by default: the other core draws. GAFLOW_ENGINE_THREADS overrides. */
  const char *env = g_getenv ("GAFLOW_ENGINE_THREADS");
  int n = env ? atoi (env) : 1;
  return CLAMP (n, 1, 16);
}

static void
gaf_window_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GafWindow *self = GAF_WINDOW (object);

  switch (prop_id)
    {
    case PROP_TRAINING:
      g_value_set_boolean (value, self->training);
      break;
    case PROP_PANEL_VISIBLE:
      g_value_set_boolean (value, self->panel_revealer == NULL || gtk_revealer_get_reveal_child (self->panel_revealer));
      break;
    case PROP_PRESENTATION:
      g_value_set_boolean (value, self->presentation);
      break;
    case PROP_SPLIT_VIEW:
      g_value_set_boolean (value, self->stack != NULL && g_strcmp0 (gaf_window_get_view (self), "split") == 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_window_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GafWindow *self = GAF_WINDOW (object);

  switch (prop_id)
    {
    case PROP_TRAINING:
      gaf_window_set_training (self, g_value_get_boolean (value));
      break;
    case PROP_PANEL_VISIBLE:
      if (self->panel_revealer != NULL && gtk_revealer_get_reveal_child (self->panel_revealer) != g_value_get_boolean (value))
        {
          gtk_revealer_set_reveal_child (self->panel_revealer, g_value_get_boolean (value));
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    case PROP_PRESENTATION:
      gaf_window_set_presentation (self, g_value_get_boolean (value));
      break;
    case PROP_SPLIT_VIEW:
      set_split_view (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_window_map (GtkWidget *widget)
{
  GafWindow *self = GAF_WINDOW (widget);

  GTK_WIDGET_CLASS (gaf_window_parent_class)->map (widget);
  /* Not the first text entry: Space must train and pause from the start. */
  gtk_widget_grab_focus (GTK_WIDGET (self->train_button));
}

static void
gaf_window_dispose (GObject *object)
{
  GafWindow *self = GAF_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gaf_follower_clear (&self->follower);
  if (self->history != NULL)
    gaf_window_save_history (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_WINDOW);
  g_clear_object (&self->runner);
  g_clear_object (&self->settings);
  G_OBJECT_CLASS (gaf_window_parent_class)->dispose (object);
}

static void
gaf_window_finalize (GObject *object)
{
  GafWindow *self = GAF_WINDOW (object);

  g_free (self->failure);
  g_free (self->notice);
  g_free (self->view_before_split);
  g_free (self->history_path);
  gaf_run_history_free (self->history);
  G_OBJECT_CLASS (gaf_window_parent_class)->finalize (object);
}

static void
gaf_window_class_init (GafWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_window_dispose;
  object_class->finalize = gaf_window_finalize;
  object_class->get_property = gaf_window_get_property;
  object_class->set_property = gaf_window_set_property;
  widget_class->map = gaf_window_map;

  properties[PROP_TRAINING] =
    g_param_spec_boolean ("training", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PANEL_VISIBLE] =
    g_param_spec_boolean ("panel-visible", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PRESENTATION] =
    g_param_spec_boolean ("presentation", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SPLIT_VIEW] =
    g_param_spec_boolean ("split-view", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (GAF_TYPE_SIMPLEX_VIEW);
  g_type_ensure (GAF_TYPE_WRAP_BOX);
  g_type_ensure (GAF_TYPE_TRAINING_VIEW);
  g_type_ensure (GAF_TYPE_RUNS_VIEW);
  g_type_ensure (GAF_TYPE_JOINT_VIEW);
  g_type_ensure (GAF_TYPE_LABEL_MAP_VIEW);
  g_type_ensure (GAF_TYPE_LIKELIHOOD_VIEW);
  g_type_ensure (GAF_TYPE_SCALING_VIEW);
  g_type_ensure (GAF_TYPE_PARAMETER_PANEL);
  g_type_ensure (GAF_TYPE_VIEW_SWITCHER);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-window.ui");
  gtk_widget_class_bind_template_child (widget_class, GafWindow, experiment_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, train_button);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, train_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, simplex_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, training_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, runs_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, joint_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, label_map_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, likelihood_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, scaling_view);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, panel_revealer);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, panel);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, state_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, step_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, rate_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, loss_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, metric_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, switch_revealer);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, switch_label);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, switch_bar);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, info_button);
  gtk_widget_class_bind_template_child (widget_class, GafWindow, info_label);
  gtk_widget_class_bind_template_callback (widget_class, on_experiment_selected);
  gtk_widget_class_bind_template_callback (widget_class, on_view_changed);

  gtk_widget_class_install_property_action (widget_class, "win.train", "training");
  gtk_widget_class_install_property_action (widget_class, "win.show-panel", "panel-visible");
  gtk_widget_class_install_action (widget_class, "win.sample", NULL, sample_action);
  gtk_widget_class_install_action (widget_class, "win.reset", NULL, reset_action);
  gtk_widget_class_install_action (widget_class, "win.restore-defaults", NULL, restore_defaults_action);
  gtk_widget_class_install_action (widget_class, "win.preset", "s", preset_action);
  gtk_widget_class_install_property_action (widget_class, "win.presentation", "presentation");
  gtk_widget_class_install_property_action (widget_class, "win.split-view", "split-view");
  gtk_widget_class_install_action (widget_class, "win.view-index", "i", view_index_action);
  gtk_widget_class_install_action (widget_class, "win.info", NULL, info_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, export_action);
  gtk_widget_class_install_action (widget_class, "win.open-model", NULL, open_model_action);
  gtk_widget_class_install_action (widget_class, "win.save-model", NULL, save_model_action);
  gtk_widget_class_install_action (widget_class, "win.export-csv", NULL, export_csv_action);
  gtk_widget_class_install_action (widget_class, "win.export-frames", NULL, export_frames_action);
  gtk_widget_class_install_action (widget_class, "win.view", "s", view_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Return, GDK_CONTROL_MASK, "win.sample", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_o, GDK_CONTROL_MASK, "win.open-model", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "win.save-model", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F9, 0, "win.show-panel", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "win.presentation", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F1, 0, "win.info", NULL);
  for (int i = 0; i < 9; i++)
    gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1 + i, GDK_CONTROL_MASK, "win.view-index", "i", i);
}

/* The app's style sheet, once per display. (GtkApplication does not load style.css by itself: that is
 * libadwaita's AdwApplication; and the tests make windows without an application.) */
static void
load_style (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  GtkCssProvider *provider;

  if (display == NULL || g_object_get_data (G_OBJECT (display), "gaf-style") != NULL)
    return;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/io/github/gaflow/Gaflow/style.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_set_data_full (G_OBJECT (display), "gaf-style", provider, g_object_unref);
}

/* The experiment list of the registry, in its order. */
static void
fill_experiments (GafWindow *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  g_autoptr(GString) tooltip = g_string_new (_("The experiment:"));

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    {
      gtk_string_list_append (names, _((*k)->label));
      g_string_append_printf (tooltip, "\n• %s: %s", _((*k)->label), _((*k)->description));
    }
  gtk_drop_down_set_model (self->experiment_dropdown, G_LIST_MODEL (names));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->experiment_dropdown), tooltip->str);
}

static void
gaf_window_init (GafWindow *self)
{
  GafRunnerParams params;
  GtkEventController *keys = gtk_event_controller_key_new ();
  GtkDropTarget *drop = gtk_drop_target_new (G_TYPE_FILE, GDK_ACTION_COPY);
  g_autofree char *view = NULL;

  load_style (GTK_WIDGET (self));
  gtk_widget_init_template (GTK_WIDGET (self));
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop_model), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  self->settings = gaf_settings_new ();
  /* The run history of earlier sessions (GAFLOW_RUNS_FILE overrides where it is kept). */
  self->history = gaf_run_history_new ();
  self->history_path = g_strdup (g_getenv ("GAFLOW_RUNS_FILE"));
  if (self->history_path == NULL)
    self->history_path = gaf_run_history_default_path ();
  {
    g_autoptr(GError) error = NULL;
    if (!gaf_run_history_load (self->history, self->history_path, &error))
      {
        /* A damaged file is kept for the user to look at; this session does not overwrite it. */
        g_warning ("%s", error->message);
        g_clear_pointer (&self->history_path, g_free);
      }
  }
  gaf_settings_read_params (self->settings, &params);
  self->runner = gaf_runner_new (&params, engine_threads ());
  g_signal_connect_object (self->runner, "failed", G_CALLBACK (on_runner_failed), self, 0);
  g_signal_connect_object (self->runner, "adjusted", G_CALLBACK (on_runner_adjusted), self, 0);

  gaf_simplex_view_set_runner (self->simplex_view, self->runner);
  gaf_training_view_set_runner (self->training_view, self->runner);
  gaf_training_view_set_history (self->training_view, self->history);
  gaf_runs_view_set_history (self->runs_view, self->history);
  gaf_runs_view_set_runner (self->runs_view, self->runner);
  g_signal_connect_object (self->runs_view, "restore", G_CALLBACK (on_restore_run), self, G_CONNECT_SWAPPED);
  gaf_joint_view_set_runner (self->joint_view, self->runner);
  gaf_label_map_view_set_runner (self->label_map_view, self->runner);
  gaf_likelihood_view_set_runner (self->likelihood_view, self->runner);
  /* A pixel picked in the label maps is followed in the simplex view too. */
  g_signal_connect_object (gaf_label_map_view_get_canvas (self->label_map_view), "notify::selected-row",
                           G_CALLBACK (on_pixel_selected), self, G_CONNECT_SWAPPED);
  gaf_scaling_view_set_runner (self->scaling_view, self->runner);
  gaf_scaling_view_set_settings (self->scaling_view, self->settings);
  /* The views of gaf-view.c's table, after the window's own. */
  for (const GafViewEntry *v = gaf_view_entries (); v->name != NULL; v++)
    {
      GtkWidget *view = g_object_new (v->get_type (), NULL);
      gtk_stack_add_titled (self->stack, view, v->name, _(v->title));
      gaf_view_set_runner (GAF_VIEW (view), self->runner);
    }
  gaf_parameter_panel_set_settings (self->panel, self->settings);
  gaf_parameter_panel_set_runner (self->panel, self->runner);
  g_signal_connect_object (self->panel, "applied", G_CALLBACK (on_panel_applied), self, 0);

  gaf_follower_init (&self->follower, GTK_WIDGET (self), status_changed, NULL);
  gaf_follower_set_runner (&self->follower, self->runner);

  self->loading = TRUE;
  fill_experiments (self);
  view = g_settings_get_string (self->settings, "view");
  gaf_window_set_view (self, view);
  update_info (self);
  self->loading = FALSE;

  g_settings_bind (self->settings, "window-width", self, "default-width", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-height", self, "default-height", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "window-maximized", self, "maximized", G_SETTINGS_BIND_DEFAULT);

  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  g_signal_connect (keys, "key-pressed", G_CALLBACK (on_key_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), keys);

  show_experiment (self, params.experiment);
  maybe_open_default_model (self);
  /* A learned experiment trains at once, in the background. */
  gaf_window_set_training (self, !params.experiment->untrained);
}

GafWindow *
gaf_window_new (GtkApplication *application)
{
  return g_object_new (GAF_TYPE_WINDOW, "application", application, NULL);
}

GafRunner *
gaf_window_get_runner (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return self->runner;
}

GtkWidget *
gaf_window_get_view_widget (GafWindow *self, const char *name)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return gtk_stack_get_child_by_name (self->stack, name);
}

void
gaf_window_set_overlay (GafWindow *self, const double *a, const double *b, double t)
{
  GafSimplexCanvas *canvas;

  g_return_if_fail (GAF_IS_WINDOW (self));
  canvas = gaf_simplex_view_get_canvas (self->simplex_view);
  gaf_simplex_canvas_set_points (canvas, a, b);
  if (t >= 0)
    {
      gaf_simplex_view_set_playing (self->simplex_view, FALSE);
      gaf_simplex_canvas_set_time (canvas, t);
      gaf_label_map_view_set_playing (self->label_map_view, FALSE);
      gaf_label_map_canvas_set_time (gaf_label_map_view_get_canvas (self->label_map_view), t);
      /* the same share of each method's flow in the split view: u = sqrt (t / T) */
      gaf_split_view_hold (GAF_SPLIT_VIEW (gaf_window_get_view_widget (self, "split")),
                           sqrt (t / gaf_runner_get_params (self->runner)->value[GAF_PARAM_T_END]));
    }
}

gboolean
gaf_window_run_sweep (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  return gaf_scaling_view_run (self->scaling_view);
}

gboolean
gaf_window_score_map_file (GafWindow *self, const char *path, GError **error)
{
  g_autoptr(GFile) file = NULL;

  g_return_val_if_fail (GAF_IS_WINDOW (self), FALSE);
  file = g_file_new_for_commandline_arg (path);
  return gaf_likelihood_view_open_file (self->likelihood_view, file, error);
}

GtkWidget *
gaf_window_get_panel (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->panel);
}

GtkWidget *
gaf_window_get_train_button (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->train_button);
}

GtkWidget *
gaf_window_get_status_label (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->state_label);
}


void
gaf_window_set_history_file (GafWindow *self, const char *path)
{
  g_return_if_fail (GAF_IS_WINDOW (self));
  g_free (self->history_path);
  self->history_path = g_strdup (path);
}

GafRunHistory *
gaf_window_get_history (GafWindow *self)
{
  g_return_val_if_fail (GAF_IS_WINDOW (self), NULL);
  return self->history;
}
