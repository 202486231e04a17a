/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>

#include "gaf-draw.h"
#include "gaf-parameter-panel.h"
#include "gaf-presets.h"
#include "gaf-settings.h"
#include "gaf-simplex-view.h"
#include "gaf-train-state.h"
#include "gaf-training-view.h"
#include "gaf-view-switcher.h"
#include "gaf-window.h"
#include "gaf-test-window.h"

/* The window on a projector and at the extremes of its parameters (issue 13): it fits 1024 x 768 and
 * 800 x 600 with the simplex keeping most of the height; every slider's label reads the value at its
 * minimum, default and maximum, stored before the window opens; the Train button, the status line and
 * the training view show the same row of the state table in every state the test can reach. */


static void
destroy_window (GafWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  iterate_for (0.1);
}

/* Opens a window of the default size width x height (what the settings store) and lets it lay out. */
static GafWindow *
open_window (int width, int height)
{
  g_autoptr(GSettings) settings = gaf_settings_new ();
  GafWindow *window;

  g_settings_set_int (settings, "window-width", width);
  g_settings_set_int (settings, "window-height", height);
  window = gaf_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  iterate_for (1.0);
  return window;
}

static void
queue_draw_all (GtkWidget *widget)
{
  gtk_widget_queue_draw (widget);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL; child = gtk_widget_get_next_sibling (child))
    queue_draw_all (child);
}

static void
count_paint (guint *paints)
{
  (*paints)++;
}

static gboolean
two_paints (gpointer paints)
{
  return *(guint *) paints >= 2;
}

static gboolean
has_round (gpointer window)
{
  g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (gaf_window_get_runner (window));

  return s != NULL && s->payload->round != NULL && s->payload->round->freq != NULL;
}

/* Every view drawn once the first round of samples is in (the vertex labels then carry the class shares):
 * no text the canvases draw runs over their edge (gaf-draw.h's text audit). Before
 * 2026-12-04 the Maps view of another experiment showed that experiment's simplex in its 180-pixel pixel
 * pane, its vertex labels cut off at both sides. */
static void
check_texts_inside (GafWindow *window)
{
  g_auto(GStrv) names = gaf_window_view_names ();
  g_autofree char *before = g_strdup (gaf_window_get_view (window));

  g_assert_true (wait_until (has_round, window, 60));
  for (guint i = 0; names[i] != NULL; i++)
    {
      guint cut;

      GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
      guint paints = 0;
      gulong id = g_signal_connect_swapped (clock, "after-paint", G_CALLBACK (count_paint), &paints);

      /* On, then the view shown with every widget in it to be drawn anew (GTK keeps a widget's drawing
       * until it changes), then two frames painted by GTK. */
      gaf_draw_audit_texts (TRUE);
      g_assert_true (gaf_window_set_view (window, names[i]));
      queue_draw_all (gaf_window_get_view_widget (window, names[i]));
      g_assert_true (wait_until (two_paints, &paints, 10));
      g_signal_handler_disconnect (clock, id);
      cut = gaf_draw_texts_cut_off ();
      g_test_message ("view %s: %u texts cut off %s", names[i], cut, gaf_draw_texts_cut_off_first ());
      gaf_draw_audit_texts (FALSE);
      g_assert_cmpuint (cut, ==, 0);
    }
  /* the window stores its view for the next one: leave it as it was */
  g_assert_true (gaf_window_set_view (window, before));
}

static void
check_fit (int width, int height, gboolean panel)
{
  GafWindow *window;
  GtkWidget *canvas;
  int w, h, ch;

  window = open_window (width, height);
  g_object_set (window, "panel-visible", panel, NULL);
  iterate_for (0.6);
  canvas = GTK_WIDGET (gaf_simplex_view_get_canvas (GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"))));
  w = gtk_widget_get_width (GTK_WIDGET (window));
  h = gtk_widget_get_height (GTK_WIDGET (window));
  ch = gtk_widget_get_height (canvas);
  g_test_message ("%d x %d, panel %s: window %d x %d, simplex canvas %d x %d (%.0f %% of the height)", width, height,
                  panel ? "shown" : "hidden", w, h, gtk_widget_get_width (canvas), ch, 100.0 * ch / height);
  g_assert_cmpint (w, <=, width);
  g_assert_cmpint (h, <=, height);
  g_assert_cmpfloat ((double) ch, >=, 0.6 * height);
  check_texts_inside (window);
  destroy_window (window);
}

static void
test_fit_1024 (void)
{
  check_fit (1024, 768, TRUE);
}

/* Presentation mode (text half as large again) on the projector: every view's texts still inside. Before
 * 2026-12-04 the empty views' hints ran off both sides and the KL plot's title off the right edge. */
static void
test_fit_1024_presentation (void)
{
  GafWindow *window = open_window (1024, 768);

  gaf_window_set_presentation (window, TRUE);
  iterate_for (0.6);
  check_texts_inside (window);
  gaf_window_set_presentation (window, FALSE);
  destroy_window (window);
}

static void
test_fit_800 (void)
{
  check_fit (800, 600, TRUE);
  check_fit (800, 600, FALSE);
}

/* The views' switcher wraps instead of widening the window: at 800 px with the panel it still has all
 * its buttons, and Ctrl+1..7 follow their order. */
static void
test_switcher_order (void)
{
  GafWindow *window = open_window (1024, 768);
  static const char *order[] = { "simplex", "training", "runs", "joint", "labelmaps", "likelihood", "scaling" };

  for (guint i = 0; i < G_N_ELEMENTS (order); i++)
    {
      gtk_widget_activate_action (GTK_WIDGET (window), "win.view-index", "i", (int) i);
      g_assert_cmpstr (gaf_window_get_view (window), ==, order[i]);
    }
  gaf_window_set_view (window, "simplex");
  destroy_window (window);
}

/* A view of another experiment is no dead end: a bar offers the experiments it shows, and a click opens one;
 * on a view of the running experiment, or one every experiment shares, there is no bar. */
static GPtrArray *
switch_buttons (GafWindow *window)
{
  GtkWidget *bar = gtk_revealer_get_child (GTK_REVEALER (gaf_window_get_switch_bar (window)));
  GPtrArray *buttons = g_ptr_array_new ();

  for (GtkWidget *w = gtk_widget_get_first_child (bar); w != NULL; w = gtk_widget_get_next_sibling (w))
    if (GTK_IS_BUTTON (w))
      g_ptr_array_add (buttons, w);
  return buttons;
}

static void
test_no_dead_ends (void)
{
  GafWindow *window = open_window (1024, 768);
  GtkRevealer *bar = GTK_REVEALER (gaf_window_get_switch_bar (window));
  g_autoptr(GPtrArray) buttons = NULL;
  g_autoptr(GPtrArray) after = NULL;

  gaf_window_set_experiment (window, gaf_experiment_lookup ("exact"));
  gaf_window_set_view (window, "simplex");
  g_assert_false (gtk_revealer_get_reveal_child (bar));
  gaf_window_set_view (window, "joint");
  g_assert_true (gtk_revealer_get_reveal_child (bar));
  buttons = switch_buttons (window);
  g_assert_cmpuint (buttons->len, >=, 2);   /* the coupled pair and the pinwheel at least */
  g_signal_emit_by_name (buttons->pdata[0], "clicked");
  g_assert_cmpstr (gaf_runner_get_params (gaf_window_get_runner (window))->experiment->default_view, ==, "joint");
  g_assert_cmpstr (gaf_window_get_view (window), ==, "joint");
  g_assert_false (gtk_revealer_get_reveal_child (bar));
  /* the likelihood scores the label maps' model: one button, to the label maps */
  gaf_window_set_view (window, "likelihood");
  g_assert_true (gtk_revealer_get_reveal_child (bar));
  after = switch_buttons (window);
  g_assert_cmpuint (after->len, ==, 1);
  gaf_window_set_view (window, "scaling");
  g_assert_false (gtk_revealer_get_reveal_child (bar));
  gaf_window_set_training (window, FALSE);
  destroy_window (window);
}

/* ---- value labels at the extremes ------------------------------------------------------------------ */

typedef enum { AT_MIN, AT_DEFAULT, AT_MAX } Where;

static double
value_at (GafParam p, Where where)
{
  const GafParamInfo *info = gaf_param_info (p);
  return where == AT_MIN ? info->min : where == AT_MAX ? info->max : info->def;
}

static void
check_labels (Where where)
{
  static const char *names[] = { "minimum", "default", "maximum" };
  g_autoptr(GSettings) settings = gaf_settings_new ();
  GafRunnerParams params;
  GafParameterPanel *panel;
  GafWindow *window;

  /* Stored before the window opens: the labels must be right without any change by hand. */
  gaf_runner_params_init (&params);
  params.experiment = gaf_experiment_lookup ("exact");   /* nothing trains: the heaviest settings stay cheap */
  g_assert_nonnull (params.experiment);
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    if (gaf_param_info (p)->type != GAF_PARAM_TEXT)
      {
        params.value[p] = value_at (p, where);
        gaf_settings_write_param (settings, p, params.value[p]);
      }
  g_settings_set_string (settings, "experiment", params.experiment->id);

  window = open_window (1024, 768);
  panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    {
      GtkWidget *label = gaf_parameter_panel_get_value_label (panel, p);
      GtkWidget *control = gaf_parameter_panel_get_control (panel, p);
      double want = value_at (p, where), shown;
      const char *text;
      char *end = NULL;

      if (gaf_param_info (p)->type == GAF_PARAM_TEXT)
        continue;   /* data: a file or a drop-down of data sets, no number */
      if (label == NULL)
        {
          /* The seed's spin button and the choices' drop-downs (integrator, method, scheduler) show their values
           * themselves: a choice's value is the index of its item. */
          if (GTK_IS_SPIN_BUTTON (control))
            g_assert_cmpfloat (gtk_spin_button_get_value (GTK_SPIN_BUTTON (control)), ==, want);
          else
            g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (control)), ==, (guint) want);
          continue;
        }
      text = gtk_label_get_text (GTK_LABEL (label));
      shown = g_ascii_strtod (text, &end);
      g_test_message ("%s at its %s %g: label \"%s\"", gaf_param_info (p)->key, names[where], want, text);
      g_assert_true (end != text && *end == '\0');
      if (gaf_param_info (p)->type == GAF_PARAM_INT)
        g_assert_cmpfloat (shown, ==, want);
      else
        g_assert_cmpfloat (fabs (shown - want), <=, 0.006 * fabs (want) + 0.005);   /* two digits, or 1.0e-05 */
    }
  destroy_window (window);
  g_settings_reset (settings, "experiment");
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    g_settings_reset (settings, gaf_param_info (p)->key);
}

static void
test_labels_min (void)
{
  check_labels (AT_MIN);
}

static void
test_labels_default (void)
{
  check_labels (AT_DEFAULT);
}

static void
test_labels_max (void)
{
  check_labels (AT_MAX);
}

/* ---- the state table ------------------------------------------------------------------------------- */

static GafTrainState seen_state;

static gboolean
window_in_state (gpointer data)
{
  GafWindow *window = data;
  g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (gaf_window_get_runner (window));
  gboolean training;

  g_object_get (window, "training", &training, NULL);
  return gaf_train_state_from (s, training, gaf_runner_get_params (gaf_window_get_runner (window))) == seen_state;
}

/* The button, the status line and the training view's hint read the state's row of the table. */
static void
check_shows (GafWindow *window, GafTrainState state)
{
  const GafTrainStateInfo *info = gaf_train_state_info (state);
  GtkWidget *button = gaf_window_get_train_button (window);
  GtkWidget *label = gtk_button_get_child (GTK_BUTTON (button));
  const char *status = gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window)));
  GafTrainingView *view = GAF_TRAINING_VIEW (gaf_window_get_view_widget (window, "training"));
  gboolean training;

  seen_state = state;
  g_assert_true (wait_until (window_in_state, window, 120));   /* a loaded machine trains slowly */
  iterate_for (0.3);   /* a frame for the views to follow */
  status = gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window)));
  g_test_message ("state %s: button \"%s\", status \"%s\"", gaf_train_state_name (state),
                  gtk_label_get_text (GTK_LABEL (label)), status);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, info->button);
  g_assert_true (g_str_has_prefix (status, info->status));
  g_assert_cmpint (gtk_widget_has_css_class (button, "suggested-action"), ==, info->suggested);
  g_assert_cmpint (gtk_widget_is_sensitive (button), ==, info->sensitive);
  g_object_get (window, "training", &training, NULL);
  g_assert_cmpint (gtk_toggle_button_get_active (GTK_TOGGLE_BUTTON (button)), ==, info->pressed);
  g_assert_cmpint (training, ==, info->pressed);
  if (gaf_training_view_get_hint (view) != NULL)
    g_assert_cmpstr (gaf_training_view_get_hint (view), ==, info->hint);
}

static gboolean
has_steps (gpointer data)
{
  g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (gaf_window_get_runner (data));
  return s->step > 0;
}

static void
test_state_table_window (void)
{
  GafWindow *window = open_window (1024, 768);
  GafParameterPanel *panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  g_autoptr(GafSnapshot) s = NULL;
  double budget;

  gaf_window_set_view (window, "training");
  g_assert_true (wait_until (has_steps, window, 30));
  check_shows (window, GAF_TRAIN_STATE_TRAINING);
  gaf_window_set_training (window, FALSE);
  check_shows (window, GAF_TRAIN_STATE_PAUSED);

  /* The budget at its minimum: done at once; Train On doubles it and trains on. */
  gaf_parameter_panel_set_value (panel, GAF_PARAM_BUDGET, gaf_param_info (GAF_PARAM_BUDGET)->min);
  gaf_window_set_training (window, TRUE);
  check_shows (window, GAF_TRAIN_STATE_DONE);
  s = gaf_runner_dup_snapshot (gaf_window_get_runner (window));
  /* The steps made may exceed the lowered budget: Train On doubles the larger of the two. */
  budget = MAX (gaf_runner_get_params (gaf_window_get_runner (window))->value[GAF_PARAM_BUDGET], (double) s->step);
  g_clear_pointer (&s, gaf_snapshot_unref);
  gaf_window_set_training (window, TRUE);
  g_assert_cmpfloat (gaf_runner_get_params (gaf_window_get_runner (window))->value[GAF_PARAM_BUDGET], ==,
                     gaf_train_state_extended_budget (budget, gaf_param_info (GAF_PARAM_BUDGET)->max));
  /* Training again at once: the button offers to pause, the status line says so (starting or training). */
  {
    GtkWidget *label = gtk_button_get_child (GTK_BUTTON (gaf_window_get_train_button (window)));
    const char *status = gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window)));
    g_test_message ("after Train On: button \"%s\", status \"%s\"", gtk_label_get_text (GTK_LABEL (label)), status);
    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (label)), ==, "Pause Training");
    g_assert_true (g_str_has_prefix (status, gaf_train_state_info (GAF_TRAIN_STATE_STARTING)->status) ||
                   g_str_has_prefix (status, gaf_train_state_info (GAF_TRAIN_STATE_TRAINING)->status));
  }
  gaf_window_set_training (window, FALSE);
  check_shows (window, GAF_TRAIN_STATE_PAUSED);
  gaf_window_set_experiment (window, gaf_experiment_lookup ("exact"));
  check_shows (window, GAF_TRAIN_STATE_EXACT);
  gaf_window_set_experiment (window, gaf_experiment_lookup ("scaling"));
  gaf_parameter_panel_restore_defaults (panel);
  destroy_window (window);
}

typedef struct {
  GafWindow *window;
  guint      n;
} Count;

static gboolean
file_operations_reach (gpointer data)
{
  Count *c = data;
  return gaf_window_get_file_operations (c->window) >= c->n;
}

static void
count_failure (GafRunner *runner, GError *error, gpointer data)
{
  (*(guint *) data)++;
}

static guint failures, failures_wanted;

static gboolean
failures_reach (gpointer data)
{
  return failures >= failures_wanted;
}

static void
file_operation (GafWindow *window, const char *path, gboolean save)
{
  Count c = { window, gaf_window_get_file_operations (window) + 1 };

  if (save)
    gaf_window_save_model (window, path);
  else
    gaf_window_open_model (window, path);
  g_assert_true (wait_until (file_operations_reach, &c, 60));
}

/* A run that diverges (issue 14): the runner's "failed" event puts the window in the failed row of the
 * table: the Train button offers to train again, the status line says "Failed: training diverged at step
 * N ...", and the training view (the pane the failure concerns) shows the message with what to do, in
 * red over the curves. Pressing Train leaves the failed state (the model, still exploding, diverges
 * again: a second event); a reset model trains, and the failure is gone from the line and the view. */
static void
test_state_diverged (void)
{
  GafWindow *window = open_window (1024, 768);
  GafRunner *runner = gaf_window_get_runner (window);
  GtkWidget *view = gaf_window_get_view_widget (window, "training");
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *good = g_build_filename (dir, "good.gafck", NULL);
  g_autofree char *boom = g_build_filename (dir, "boom.gafck", NULL);
  static const double red[3] = { 0.75, 0.11, 0.16 };
  const char *status, *shot_dir = g_getenv ("GAF_TEST_SCREENSHOTS");
  gulong handler;
  Pixels px;
  guint n_red;

  failures = 0;
  handler = g_signal_connect (runner, "failed", G_CALLBACK (count_failure), &failures);
  gaf_window_set_view (window, "training");
  gaf_window_set_training (window, FALSE);
  file_operation (window, good, TRUE);
  gaf_test_write_exploding_model (good, boom);
  file_operation (window, boom, FALSE);
  px = render (view);
  n_red = count_color (&px, red, 0.05);
  g_free (px.data);
  g_assert_cmpuint (n_red, ==, 0);

  gaf_window_set_training (window, TRUE);
  failures_wanted = 1;
  g_assert_true (wait_until (failures_reach, NULL, 120));
  check_shows (window, GAF_TRAIN_STATE_FAILED);
  status = gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window)));
  g_assert_true (g_str_has_prefix (status, "Failed: training diverged at step "));
  g_assert_true (gtk_widget_has_css_class (gaf_window_get_status_label (window), "error"));
  g_assert_nonnull (gaf_training_view_get_error (GAF_TRAINING_VIEW (view)));
  g_assert_nonnull (strstr (gaf_training_view_get_error (GAF_TRAINING_VIEW (view)), "try a lower learning rate"));
  g_assert_cmpstr (gaf_training_view_get_hint (GAF_TRAINING_VIEW (view)), ==,
                   gaf_train_state_info (GAF_TRAIN_STATE_FAILED)->hint);
  /* the box in red: its frame and its text */
  px = render (view);
  n_red = count_color (&px, red, 0.05);
  g_free (px.data);
  g_test_message ("diverged: %u red pixels in the training view", n_red);
  g_assert_cmpuint (n_red, >, 1000);
  if (shot_dir != NULL)
    {
      g_autofree char *path = g_build_filename (shot_dir, "diverged-1024x768.png", NULL);
      g_autoptr(GError) error = NULL;
      g_assert_true (gaf_window_save_screenshot (window, path, &error));
      g_assert_no_error (error);
    }

  /* Train again: the runner leaves the failed state and trains from the last good weights, which this
   * model's next Adam step still blows up: a second "failed" event (none came before the fix). */
  gaf_window_set_training (window, TRUE);
  failures_wanted = 2;
  g_assert_true (wait_until (failures_reach, NULL, 120));
  check_shows (window, GAF_TRAIN_STATE_FAILED);

  /* A new model trains; nothing of the failure is left. */
  gaf_window_reset_model (window);
  gaf_window_set_training (window, TRUE);
  g_assert_true (wait_until (has_steps, window, 120));
  check_shows (window, GAF_TRAIN_STATE_TRAINING);
  g_assert_null (gaf_training_view_get_error (GAF_TRAINING_VIEW (view)));
  g_assert_false (gtk_widget_has_css_class (gaf_window_get_status_label (window), "error"));
  g_assert_cmpuint (failures, ==, 2);
  g_signal_handler_disconnect (runner, handler);
  destroy_window (window);
  g_unlink (good);
  g_unlink (boom);
  g_rmdir (dir);
}

/* Every state from the snapshot's common fields (the table as data, including states a test window does
 * not reach on its own: failed, waiting for a job, starting while the data are read). */
static void
test_state_table_data (void)
{
  GafSnapshot s = { 0 };
  GafRunnerParams requested;

  gaf_runner_params_init (&s.params);
  requested = s.params;
  s.state = GAF_RUNNER_PAUSED;
  g_assert_cmpint (gaf_train_state_from (&s, FALSE, NULL), ==, GAF_TRAIN_STATE_PAUSED);
  /* Train pressed while the engine draws its first round: starting, not "paused · sampling". */
  s.sampling = TRUE;
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_STARTING);
  s.state = GAF_RUNNER_TRAINING;
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_STARTING);
  s.step = 10;
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_TRAINING);
  g_assert_cmpint (gaf_train_state_from (&s, FALSE, NULL), ==, GAF_TRAIN_STATE_PAUSED);
  /* A job has the engine (a sweep, scoring label maps): training waits; paused, it stays paused. */
  s.work = "sweep";
  s.work_label = "sweep running";
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_WAIT_JOB);
  g_assert_cmpint (gaf_train_state_from (&s, FALSE, NULL), ==, GAF_TRAIN_STATE_PAUSED);
  /* Reading the data comes first: starting. */
  s.work = GAF_RUNNER_WORK_LOADING;
  s.work_label = "reading the data";
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_STARTING);
  s.work = s.work_label = NULL;
  /* An experiment without training asked for: exact at once, whatever the engine still shows. */
  requested.experiment = gaf_experiment_lookup ("exact");
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, &requested), ==, GAF_TRAIN_STATE_EXACT);
  requested.experiment = s.params.experiment;
  s.state = GAF_RUNNER_DONE;
  s.step = (guint64) s.params.value[GAF_PARAM_BUDGET];
  g_assert_cmpint (gaf_train_state_from (&s, FALSE, NULL), ==, GAF_TRAIN_STATE_DONE);
  /* Train On sent a larger budget the snapshot has yet to show. */
  requested.value[GAF_PARAM_BUDGET] = 2 * s.params.value[GAF_PARAM_BUDGET];
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, &requested), ==, GAF_TRAIN_STATE_STARTING);
  s.params.value[GAF_PARAM_BUDGET] = gaf_param_info (GAF_PARAM_BUDGET)->max;
  g_assert_cmpint (gaf_train_state_from (&s, FALSE, NULL), ==, GAF_TRAIN_STATE_DONE_MAX);
  s.state = GAF_RUNNER_EXACT;
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_EXACT);
  s.state = GAF_RUNNER_FAILED;
  g_assert_cmpint (gaf_train_state_from (&s, TRUE, NULL), ==, GAF_TRAIN_STATE_FAILED);

  /* The rows are consistent: a pressed button offers to pause; a highlighted one is sensitive. */
  for (guint i = 0; i < GAF_N_TRAIN_STATES; i++)
    {
      const GafTrainStateInfo *info = gaf_train_state_info (i);
      g_assert_nonnull (info->button);
      g_assert_nonnull (info->status);
      g_assert_nonnull (info->hint);
      g_assert_true (!info->suggested || info->sensitive);
      g_assert_cmpint (info->pressed, ==, strstr (info->button, "Pause") != NULL);
      g_assert_true (!info->pressed || !info->suggested);
    }
  g_assert_cmpfloat (gaf_train_state_extended_budget (100, 200000), ==, 200);
  g_assert_cmpfloat (gaf_train_state_extended_budget (150000, 200000), ==, 200000);
}

/* ---- presets ----------------------------------------------------------------------------------------- */

/* The shipped presets check out, every experiment has a lecture and a fast-tuning preset, broken ones are
 * refused, and applying one moves the panel (shown and sent) and the display. */
static void
test_presets (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) presets = gaf_presets_load_resource (&error);
  g_autoptr(GKeyFile) bad = g_key_file_new ();
  GafPreset preset;
  GafWindow *window;
  GafParameterPanel *panel;
  gboolean presentation;

  g_assert_no_error (error);
  for (const GafExperimentClass *const *e = gaf_experiments (); *e != NULL; e++)
    {
      g_assert_true (gaf_presets_get (presets, *e, GAF_PRESET_LECTURE, &preset, &error));
      g_assert_no_error (error);
      g_assert_cmpint (preset.presentation, ==, 1);
      g_assert_true (gaf_presets_get (presets, *e, GAF_PRESET_FAST_TUNING, &preset, &error));
      g_assert_no_error (error);
    }
  g_assert_true (g_key_file_load_from_data (bad, "[scaling/x]\nlearning-rate=5\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
  g_clear_error (&error);
  g_assert_true (g_key_file_load_from_data (bad, "[scaling/x]\nlerning-rate=0.001\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_clear_error (&error);
  g_assert_true (g_key_file_load_from_data (bad, "[nosuch/x]\nbatch=8\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_clear_error (&error);
  /* A choice by its nick (or index); a name that is none of them is refused, and so is data. */
  g_assert_true (g_key_file_load_from_data (bad, "[scaling/x]\nintegrator=rk4\nbatch=64\n", -1, 0, NULL));
  g_assert_true (gaf_presets_check (bad, &error));
  g_assert_no_error (error);
  g_assert_true (g_key_file_load_from_data (bad, "[scaling/x]\nintegrator=heun\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_clear_error (&error);
  g_assert_true (g_key_file_load_from_data (bad, "[scaling/x]\nbatch=64.5\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_clear_error (&error);
  g_assert_true (g_key_file_load_from_data (bad, "[label-maps/x]\nimage-data=mnist\n", -1, 0, NULL));
  g_assert_false (gaf_presets_check (bad, &error));
  g_clear_error (&error);

  window = open_window (1024, 768);
  panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  g_assert_true (gaf_window_apply_preset (window, GAF_PRESET_LECTURE, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (gaf_runner_get_params (gaf_window_get_runner (window))->value[GAF_PARAM_SAMPLES], ==, 16);
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (gaf_parameter_panel_get_value_label (panel, GAF_PARAM_SAMPLES))), ==, "16");
  g_object_get (window, "presentation", &presentation, NULL);
  g_assert_true (presentation);
  g_assert_cmpfloat (gaf_simplex_view_get_speed (GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"))), ==, 0.5);
  g_assert_true (gaf_window_apply_preset (window, GAF_PRESET_FAST_TUNING, &error));
  g_object_get (window, "presentation", &presentation, NULL);
  g_assert_false (presentation);
  gaf_parameter_panel_restore_defaults (panel);
  g_assert_cmpfloat (gaf_runner_get_params (gaf_window_get_runner (window))->value[GAF_PARAM_SAMPLES], ==,
                     gaf_param_info (GAF_PARAM_SAMPLES)->def);
  destroy_window (window);
}

int
main (int argc, char **argv)
{
  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 0;
    }
  g_test_init (&argc, &argv, NULL);
  use_test_runs_file ();
  g_test_add_func ("/ui-fit/size/1024x768", test_fit_1024);
  g_test_add_func ("/ui-fit/size/800x600", test_fit_800);
  g_test_add_func ("/ui-fit/size/1024x768-presentation", test_fit_1024_presentation);
  g_test_add_func ("/ui-fit/views/ctrl-digits-follow-the-switcher", test_switcher_order);
  g_test_add_func ("/ui-fit/views/no-dead-ends", test_no_dead_ends);
  g_test_add_func ("/ui-fit/labels/at-minimum", test_labels_min);
  g_test_add_func ("/ui-fit/labels/at-default", test_labels_default);
  g_test_add_func ("/ui-fit/labels/at-maximum", test_labels_max);
  g_test_add_func ("/ui-fit/state/table", test_state_table_data);
  g_test_add_func ("/ui-fit/state/window", test_state_table_window);
  g_test_add_func ("/ui-fit/state/diverged", test_state_diverged);
  g_test_add_func ("/ui-fit/presets/lecture-and-fast-tuning", test_presets);
  return g_test_run ();
}
