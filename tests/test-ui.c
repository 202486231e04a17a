/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

#include "gaf-baselines.h"
#include "gaf-checkpoint.h"
#include "gaf-joint-experiment.h"
#include "gaf-joint-view.h"
#include "gaf-label-map-experiment.h"
#include "gaf-dataset.h"
#include "gaf-error.h"
#include "gaf-gemm-small.h"
#include "gaf-label-map-view.h"
#include "gaf-likelihood-view.h"
#include "gaf-parameter-panel.h"
#include "gaf-scaling-experiment.h"
#include "gaf-scaling-view.h"
#include "gaf-sweep-job.h"
#include "gaf-settings.h"
#include "gaf-simplex-geometry.h"
#include "gaf-simplex-view.h"
#include "gaf-split-view.h"
#include "gaf-torch-map.h"
#include "gaf-training-view.h"
#include "gaf-window.h"
#include "gaf-test-window.h"

/* The desktop app in a real window (Xvfb under `make test`): one window shared by the tests in order,
 * pixels asserted on, the engine thread checked through snapshots. Every wait has a deadline. */

static GafWindow *window;


#define TRAJ(s)  gaf_payload_trajectories ((s)->payload)
#define ROUND(s) ((s)->payload->round)
#define MAPS(s)  gaf_label_map_payload ((s)->payload)
#define JOINT(s) gaf_joint_payload ((s)->payload)

static GafSnapshot *
snapshot (void)
{
  return gaf_runner_dup_snapshot (gaf_window_get_runner (window));
}

/* Pixels that differ from the most common colour (the background). */
static double
ink_fraction (const Pixels *px)
{
  g_autoptr(GHashTable) counts = g_hash_table_new (g_direct_hash, g_direct_equal);
  guint32 bg = 0;
  guint best = 0, ink = 0;

  for (int y = 0; y < px->height; y++)
    for (int x = 0; x < px->width; x++)
      {
        guint32 v = *(guint32 *) (px->data + y * px->stride + x * 4);
        guint c = GPOINTER_TO_UINT (g_hash_table_lookup (counts, GUINT_TO_POINTER (v))) + 1;
        g_hash_table_insert (counts, GUINT_TO_POINTER (v), GUINT_TO_POINTER (c));
        if (c > best)
          {
            best = c;
            bg = v;
          }
      }
  for (int y = 0; y < px->height; y++)
    for (int x = 0; x < px->width; x++)
      ink += *(guint32 *) (px->data + y * px->stride + x * 4) != bg;
  return (double) ink / (px->width * px->height);
}

/* ---- tests ----------------------------------------------------------------------------------------- */

static gboolean
training_with_trajectories (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->params.experiment == &gaf_scaling_experiment && s->payload->c == 3 && s->state == GAF_RUNNER_TRAINING &&
         TRAJ (s) != NULL && TRAJ (s)->c == 3 && s->step > 0;
}

/* The window opens on the default experiment (class scaling, c = 3, learned) and trains at once. */
static void
test_window_default (void)
{
  g_autoptr(GafSnapshot) s = NULL;
  gint64 t0 = g_get_monotonic_time ();
  gboolean training = FALSE;

  window = gaf_window_new (NULL);
  gtk_window_present (GTK_WINDOW (window));
  g_assert_true (wait_until (training_with_trajectories, NULL, 20));
  g_test_message ("training with trajectories after %.2f s", (g_get_monotonic_time () - t0) * 1e-6);
  s = snapshot ();
  g_assert_true (s->params.experiment == &gaf_scaling_experiment);
  g_assert_cmpint (s->payload->c, ==, 3);
  g_assert_cmpint (s->payload->n, ==, 4);
  g_assert_cmpstr (gaf_window_get_view (window), ==, "simplex");
  g_object_get (window, "training", &training, NULL);
  g_assert_true (training);
}

/* The simplex view draws the triangle with its three vertex colours and the moving rows. */
static void
test_simplex_renders (void)
{
  GafSimplexView *view = GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"));
  GtkWidget *canvas = GTK_WIDGET (gaf_simplex_view_get_canvas (view));
  Pixels px;
  double ink;

  iterate_for (0.3);
  px = render (canvas);
  for (int k = 0; k < 3; k++)
    {
      double rgb[3];
      guint n;
      gaf_class_color (k, rgb);
      n = count_color (&px, rgb, 0.06);
      g_test_message ("class %d colour: %u pixels", k + 1, n);
      g_assert_cmpuint (n, >, 150);   /* a vertex disc of radius 11 has about 380 */
    }
  ink = ink_fraction (&px);
  g_test_message ("simplex ink %.3f", ink);
  g_assert_cmpfloat (ink, >, 0.08);
  g_free (px.data);
}

/* Two clicked points: the e-geodesic (orange) and the Fisher-Rao geodesic (purple) are drawn; a click
 * through the gesture sets point A. */
static void
test_simplex_overlays (void)
{
  GafSimplexView *view = GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"));
  GafSimplexCanvas *canvas = gaf_simplex_view_get_canvas (view);
  const double a[3] = { 0.7, 0.2, 0.1 }, b[3] = { 0.1, 0.25, 0.65 };
  const double e_rgb[3] = { 0.93, 0.45, 0.05 }, fr_rgb[3] = { 0.58, 0.25, 0.78 };
  Pixels before, after;
  guint e0, e1, f0, f1;

  gaf_simplex_canvas_set_points (canvas, NULL, NULL);
  before = render (GTK_WIDGET (canvas));
  gaf_simplex_canvas_set_points (canvas, a, b);
  after = render (GTK_WIDGET (canvas));
  e0 = count_color (&before, e_rgb, 0.05);
  e1 = count_color (&after, e_rgb, 0.05);
  f0 = count_color (&before, fr_rgb, 0.05);
  f1 = count_color (&after, fr_rgb, 0.05);
  g_test_message ("e-geodesic pixels %u -> %u, Fisher-Rao %u -> %u", e0, e1, f0, f1);
  g_assert_cmpuint (e1, >, e0 + 100);
  g_assert_cmpuint (f1, >, f0 + 30);
  gaf_simplex_canvas_set_points (canvas, NULL, NULL);
  g_free (before.data);
  g_free (after.data);
}

static gboolean
has_loss_history (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->n_loss >= 40;
}

/* The training view plots the smoothed loss. */
static void
test_training_renders (void)
{
  GtkWidget *view = gaf_window_get_view_widget (window, "training");
  Pixels px;
  guint n;

  gaf_window_set_view (window, "training");
  g_assert_true (wait_until (has_loss_history, NULL, 20));
  iterate_for (0.3);
  px = render (view);
  n = count_color (&px, gaf_training_smooth_color, 0.06);
  g_test_message ("smoothed loss curve: %u pixels, ink %.3f", n, ink_fraction (&px));
  g_assert_cmpuint (n, >, 300);
  g_assert_cmpfloat (ink_fraction (&px), >, 0.05);
  g_free (px.data);
  gaf_window_set_view (window, "simplex");
}

static gboolean
lambda_is (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return fabs (s->params.value[GAF_PARAM_LAMBDA] - *(double *) data) < 1e-9;
}

static gboolean
classes_are (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->payload->c == GPOINTER_TO_INT (data) && s->params.value[GAF_PARAM_CLASSES] == GPOINTER_TO_INT (data);
}

/* Moving a slider changes the engine's parameter (and the stored setting); a model parameter waits
 * for confirmation, then rebuilds the model. */
static void
test_panel_slider (void)
{
  GafParameterPanel *panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  GtkRange *lambda = GTK_RANGE (gaf_parameter_panel_get_control (panel, GAF_PARAM_LAMBDA));
  GtkRange *classes = GTK_RANGE (gaf_parameter_panel_get_control (panel, GAF_PARAM_CLASSES));
  g_autoptr(GSettings) settings = gaf_settings_new ();
  g_autoptr(GafSnapshot) s = NULL;
  double want = 0.8;

  g_assert_true (GTK_IS_RANGE (lambda));
  gtk_range_set_value (lambda, want);
  g_assert_true (wait_until (lambda_is, &want, 10));
  g_assert_cmpfloat_with_epsilon (g_settings_get_double (settings, "lambda"), want, 1e-9);

  gtk_range_set_value (classes, 4);
  g_assert_true (gaf_parameter_panel_has_pending (panel));
  iterate_for (0.2);
  s = snapshot ();
  g_assert_cmpint (s->payload->c, ==, 3);   /* not before confirmation */
  gaf_parameter_panel_apply_model (panel);
  g_assert_false (gaf_parameter_panel_has_pending (panel));
  g_assert_true (wait_until (classes_are, GINT_TO_POINTER (4), 10));
  g_assert_cmpint (g_settings_get_int (settings, "classes"), ==, 4);

  gtk_range_set_value (classes, 3);
  gaf_parameter_panel_apply_model (panel);
  g_assert_true (wait_until (classes_are, GINT_TO_POINTER (3), 10));
  gtk_range_set_value (lambda, 0.5);
}

static gboolean
advanced (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->step > GPOINTER_TO_UINT (data);
}

/* Training advances while frames keep being drawn: the engine thread never blocks the main loop. */
static void
test_training_while_drawing (void)
{
  GafSimplexView *view = GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"));
  GafSimplexCanvas *canvas = gaf_simplex_view_get_canvas (view);
  g_autoptr(GafSnapshot) a = NULL, b = NULL;
  guint d0, d1;
  gint64 t0;
  double seconds;

  gaf_window_set_training (window, TRUE);
  g_assert_true (wait_until (training_with_trajectories, NULL, 20));
  a = snapshot ();
  d0 = gaf_simplex_canvas_get_draw_count (canvas);
  t0 = g_get_monotonic_time ();
  /* At least 1.5 s, and until 10 steps more (a loaded machine may hold the engine in a sampling round). */
  iterate_for (1.5);
  g_assert_true (wait_until (advanced, GUINT_TO_POINTER ((guint) a->step + 10), 30));
  b = snapshot ();
  d1 = gaf_simplex_canvas_get_draw_count (canvas);
  seconds = (g_get_monotonic_time () - t0) * 1e-6;
  g_test_message ("in %.1f s: %" G_GUINT64_FORMAT " steps, %u frames", seconds, b->step - a->step, d1 - d0);
  g_assert_cmpuint (b->step, >, a->step + 10);
  /* Frames kept coming while the engine trained (a blocked main loop draws none). No rate is asserted:
   * a loaded machine may draw few; the frame rate is reported above. */
  g_assert_cmpuint (d1 - d0, >=, 3);
}

/* ---- the split view: two methods side by side -------------------------------------------------------- */

static GafSplitView *
split_view (void)
{
  return GAF_SPLIT_VIEW (gaf_window_get_view_widget (window, "split"));
}

static GafSnapshot *
side_snapshot (guint side)
{
  GafRunner *runner = gaf_split_view_get_runner (split_view (), side);
  return runner != NULL ? gaf_runner_dup_snapshot (runner) : NULL;
}

/* Both sides trained, sampled and drew a round of trajectories of one experiment, the right side with the
 * method `data` and the left one with GAF, and each side's KL history holds at least two rounds. */
static gboolean
both_sides_sampled (gpointer data)
{
  g_autoptr(GafSnapshot) l = side_snapshot (GAF_SPLIT_LEFT);
  g_autoptr(GafSnapshot) r = side_snapshot (GAF_SPLIT_RIGHT);

  return l != NULL && r != NULL && r->params.experiment == l->params.experiment &&
         r->params.value[GAF_PARAM_METHOD] == GPOINTER_TO_INT (data) && l->params.value[GAF_PARAM_METHOD] == 0 &&
         r->step > 0 && TRAJ (l) != NULL && TRAJ (r) != NULL && TRAJ (r)->n_times > 1 && ROUND (r)->samples > 0 &&
         gaf_split_view_get_kl_count (split_view (), GAF_SPLIT_LEFT) >= 2 &&
         gaf_split_view_get_kl_count (split_view (), GAF_SPLIT_RIGHT) >= 2;
}

typedef struct {
  const GafExperimentClass *experiment;
  guint64                   not_serial;   /* a right model other than this one */
} RightWanted;

static gboolean
right_follows (gpointer data)
{
  const RightWanted *want = data;
  g_autoptr(GafSnapshot) r = side_snapshot (GAF_SPLIT_RIGHT);

  return r != NULL && r->params.experiment == want->experiment && r->model_serial != want->not_serial &&
         TRAJ (r) != NULL;
}

static gboolean
right_gone (gpointer data)
{
  return gaf_split_view_get_runner (split_view (), GAF_SPLIT_RIGHT) == NULL;
}

/* Pixels of rgb in the rows from y0 down (the plot's area under its title and legend). */
static guint
count_color_below (const Pixels *px, const double rgb[3], double tol, int y0)
{
  Pixels part = *px;

  part.data = px->data + (gsize) y0 * px->stride;
  part.height = px->height - y0;
  return count_color (&part, rgb, tol);
}

/* The split view from the menu's toggle: GAF on the left (the window's model) and the masked jump flow on
 * the right (a second runner), both training and sampling class scaling at c = 3 and drawn on the simplex;
 * both KL histories in the plot, each in its side's colour; the right side follows Reset and experiment
 * switches (an experiment with one method has no right side), and leaving ends the second runner. */
static void
test_split_view (void)
{
  g_autoptr(GafSnapshot) l = NULL, r = NULL;
  GafSplitView *view;
  GafRunner *right;
  gpointer weak_right;
  double rgb[2][3];
  Pixels px;
  guint n[2];

  g_assert_true (wait_until (training_with_trajectories, NULL, 20));
  g_assert_cmpstr (gaf_window_get_view (window), ==, "simplex");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.split-view", NULL);
  g_assert_cmpstr (gaf_window_get_view (window), ==, "split");
  view = split_view ();
  g_assert_true (gaf_split_view_get_runner (view, GAF_SPLIT_LEFT) == gaf_window_get_runner (window));
  g_assert_nonnull (gaf_split_view_get_runner (view, GAF_SPLIT_RIGHT));
  g_assert_cmpint (gaf_split_view_get_method (view), ==, 1);   /* masked beside GAF */
  g_assert_true (wait_until (both_sides_sampled, GINT_TO_POINTER (1), 90));
  l = side_snapshot (GAF_SPLIT_LEFT);
  r = side_snapshot (GAF_SPLIT_RIGHT);
  g_test_message ("left (GAF) step %" G_GUINT64_FORMAT " KL %.4f, right (masked) step %" G_GUINT64_FORMAT
                  " KL %.4f; KL rounds %u and %u", l->step, ROUND (l)->kl, r->step, ROUND (r)->kl,
                  gaf_split_view_get_kl_count (view, GAF_SPLIT_LEFT), gaf_split_view_get_kl_count (view, GAF_SPLIT_RIGHT));
  g_assert_cmpint (r->payload->c, ==, 3);
  g_assert_nonnull (TRAJ (r)->state);   /* the right side is a jump flow's chain */
  g_assert_null (TRAJ (l)->state);

  /* Both sides draw the simplex with samples on it, and frames keep coming while both engines train (the
   * animation plays; no rate is asserted: a loaded machine draws fewer). */
  {
    GafSimplexCanvas *canvas = GAF_SIMPLEX_CANVAS (gaf_split_view_get_canvas (view, GAF_SPLIT_RIGHT));
    guint d0 = gaf_simplex_canvas_get_draw_count (canvas);
    iterate_for (1.5);
    g_test_message ("right simplex: %u frames in 1.5 s", gaf_simplex_canvas_get_draw_count (canvas) - d0);
    g_assert_cmpuint (gaf_simplex_canvas_get_draw_count (canvas) - d0, >=, 3);
  }
  for (guint side = 0; side < GAF_SPLIT_N_SIDES; side++)
    {
      GtkWidget *canvas = gaf_split_view_get_canvas (view, side);
      g_assert_true (GAF_IS_SIMPLEX_CANVAS (canvas));
      px = render (canvas);
      g_test_message ("side %u: %d x %d, ink %.3f", side, px.width, px.height, ink_fraction (&px));
      g_assert_cmpfloat (ink_fraction (&px), >, 0.02);
      g_free (px.data);
    }
  /* Both KL histories in the plot, in their sides' colours (counted below the legend). */
  px = render (gaf_split_view_get_plot (view));
  for (guint side = 0; side < GAF_SPLIT_N_SIDES; side++)
    {
      gaf_split_view_side_color (side, rgb[side]);
      n[side] = count_color_below (&px, rgb[side], 0.08, 30);
    }
  g_test_message ("KL plot %d x %d: %u pixels of the left colour, %u of the right", px.width, px.height, n[0], n[1]);
  g_assert_cmpuint (n[0], >, 20);
  g_assert_cmpuint (n[1], >, 20);
  g_free (px.data);

  /* Reset: a new model on both sides. */
  g_test_message ("reset");
  {
    RightWanted want = { &gaf_scaling_experiment, r->model_serial };
    gaf_window_reset_model (window);
    g_assert_true (wait_until (right_follows, &want, 60));
  }
  /* An experiment with one method: no right side; one with the method: the right side again. */
  right = gaf_split_view_get_runner (view, GAF_SPLIT_RIGHT);
  weak_right = right;
  g_object_add_weak_pointer (G_OBJECT (right), &weak_right);
  g_test_message ("exact field");
  gaf_window_set_experiment (window, &gaf_exact_experiment);
  g_assert_true (wait_until (right_gone, NULL, 20));
  g_assert_null (weak_right);   /* its thread joined, the runner finalized */
  g_assert_cmpstr (gtk_stack_get_visible_child_name (GTK_STACK (gtk_widget_get_parent (gaf_split_view_get_canvas (view, GAF_SPLIT_RIGHT)))), ==, "message");
  {
    RightWanted want = { &gaf_coupled_experiment, 0 };
    g_test_message ("coupled pair");
    gaf_window_set_experiment (window, &gaf_coupled_experiment);
    g_assert_true (wait_until (right_follows, &want, 60));
  }
  g_test_message ("class scaling");
  gaf_window_set_experiment (window, &gaf_scaling_experiment);
  {
    RightWanted want = { &gaf_scaling_experiment, 0 };
    g_assert_true (wait_until (right_follows, &want, 60));
  }

  /* Leaving: back to the view it came from, the second runner ended. */
  g_test_message ("leaving");
  right = gaf_split_view_get_runner (view, GAF_SPLIT_RIGHT);
  weak_right = right;
  g_object_add_weak_pointer (G_OBJECT (right), &weak_right);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.split-view", NULL);
  g_assert_cmpstr (gaf_window_get_view (window), ==, "simplex");
  g_assert_null (gaf_split_view_get_runner (view, GAF_SPLIT_RIGHT));
  g_assert_null (weak_right);
  g_assert_true (wait_until (training_with_trajectories, NULL, 30));
}

static gboolean
sweep_done (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  const GafSweepPayload *w = gaf_sweep_payload (s->job);
  return w != NULL && !w->running && w->n_rows == GPOINTER_TO_UINT (data);
}

/* A tiny sweep in the background: its points appear in the class-scaling plot; hover finds them. */
static void
test_scaling_renders (void)
{
  GafScalingView *view = GAF_SCALING_VIEW (gaf_window_get_view_widget (window, "scaling"));
  GafScalingCanvas *canvas = gaf_scaling_view_get_canvas (view);
  const int classes[] = { 2, 3 };
  const int methods[] = { GAF_METHOD_GAF };
  double rgb[3], x;
  Pixels before, after;
  guint n0, n1;

  gaf_window_set_view (window, "scaling");
  iterate_for (0.3);
  gaf_method_color ("gaf", rgb);
  before = render (GTK_WIDGET (canvas));
  /* Sent to the runner directly: the view hears of the sweep from the runner's snapshots. */
  gaf_runner_run_job (gaf_window_get_runner (window), gaf_sweep_job_new (classes, 2, methods, 1, 20, 300, 1));
  g_assert_true (wait_until (sweep_done, GUINT_TO_POINTER (2), 120));
  iterate_for (0.3);
  after = render (GTK_WIDGET (canvas));
  n0 = count_color (&before, rgb, 0.06);
  n1 = count_color (&after, rgb, 0.06);
  g_test_message ("GAF curve pixels %u -> %u", n0, n1);
  g_assert_cmpuint (n1, >, n0 + 150);

  g_assert_true (gaf_scaling_canvas_row_x (canvas, 1, &x));
  gaf_scaling_canvas_hover (canvas, x, 200);
  g_assert_cmpint (gaf_scaling_canvas_get_hovered (canvas), ==, 1);
  gaf_scaling_canvas_hover (canvas, -1, -1);
  g_assert_cmpint (gaf_scaling_canvas_get_hovered (canvas), ==, -1);
  g_free (before.data);
  g_free (after.data);
  gaf_window_set_view (window, "simplex");
}

static gboolean
has_joint (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->params.experiment == &gaf_coupled_experiment && JOINT (s) != NULL && JOINT (s)->model != NULL && s->step > 0 && !s->sampling;
}

/* The coupled pair: the joint view shows the target and the samples' table as heatmaps (the bright end
 * of the colour map for the two 45 % cells) and the pairs moving in the square. */
static void
test_joint_renders (void)
{
  GtkWidget *view = gaf_window_get_view_widget (window, "joint");
  g_autoptr(GafSnapshot) s = NULL;
  double bright[3];
  Pixels px;
  guint n;
  gint64 t0;

  gaf_window_set_experiment (window, &gaf_coupled_experiment);
  gaf_window_set_view (window, "joint");
  g_assert_true (wait_until (has_joint, NULL, 30));
  s = snapshot ();
  g_assert_cmpint (s->payload->n, ==, 2);
  g_assert_cmpint (s->payload->c, ==, 2);
  g_assert_cmpfloat_with_epsilon (JOINT (s)->target[0] + JOINT (s)->target[3], 0.9, 1e-12);
  iterate_for (0.3);
  px = render (view);
  gaf_heat_color (1.0, bright);
  n = count_color (&px, bright, 0.08);
  g_test_message ("joint view: %u bright heatmap pixels, ink %.3f", n, ink_fraction (&px));
  g_assert_cmpuint (n, >, 2000);
  g_free (px.data);
  t0 = g_get_monotonic_time ();
  gaf_window_set_experiment (window, &gaf_scaling_experiment);
  gaf_window_set_view (window, "simplex");
  g_assert_true (wait_until (training_with_trajectories, NULL, 30));
  g_test_message ("back to class scaling, training with trajectories after %.2f s",
                  (g_get_monotonic_time () - t0) * 1e-6);
}

static gsize
file_size (const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GFileInfo) info = g_file_query_info (file, G_FILE_ATTRIBUTE_STANDARD_SIZE, 0, NULL, NULL);
  return info ? (gsize) g_file_info_get_size (info) : 0;
}

static gboolean
images_trained (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->params.experiment == &gaf_label_map_experiment && MAPS (s) != NULL && MAPS (s)->height == 16 && TRAJ (s) != NULL &&
         TRAJ (s)->step >= GPOINTER_TO_UINT (data) && !s->sampling;
}

static gboolean
images_stepped (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->params.experiment == &gaf_label_map_experiment && s->step >= GPOINTER_TO_UINT (data);
}

/* Screen pixels of the rendering that differ between two renders of the same widget. */
static guint
count_changed (const Pixels *a, const Pixels *b)
{
  guint n = 0;

  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++)
      n += memcmp (a->data + y * a->stride + x * 4, b->data + y * b->stride + x * 4, 4) != 0;
  return n;
}

/* The label maps of 8-class scenes after some training, at t = T: the grid shows several of the data's
 * class colours; in entropy mode the pixels are light (undecided) at t = 0 and dark (decided) at T; a
 * click selects a pixel, which the pixel canvas and the simplex view then follow alone. */
static void
test_label_maps_render (void)
{
  GafLabelMapView *view = GAF_LABEL_MAP_VIEW (gaf_window_get_view_widget (window, "labelmaps"));
  GafLabelMapCanvas *canvas = gaf_label_map_view_get_canvas (view);
  GafSimplexCanvas *pixel_canvas = gaf_label_map_view_get_pixel_canvas (view);
  GafSimplexView *simplex = GAF_SIMPLEX_VIEW (gaf_window_get_view_widget (window, "simplex"));
  g_autoptr(GafSnapshot) s = NULL;
  Pixels px, before, after;
  double t_end, x, y, black[3] = { 0, 0, 0 }, white[3] = { 1, 1, 1 };
  guint colours = 0, dark_start, dark_end, light_start;
  int row;

  gaf_runner_set_text (gaf_window_get_runner (window), GAF_PARAM_IMAGE_DATA, "scenes:classes=8,size=16,count=2000");
  gaf_window_set_experiment (window, &gaf_label_map_experiment);
  g_assert_cmpstr (gaf_window_get_view (window), ==, "labelmaps");   /* the experiment's own view */
  g_assert_true (wait_until (images_stepped, GUINT_TO_POINTER (400), 90));
  gaf_runner_sample (gaf_window_get_runner (window));
  g_assert_true (wait_until (images_trained, GUINT_TO_POINTER (400), 60));
  iterate_for (0.3);
  s = snapshot ();
  g_test_message ("label maps at step %u: pixel KL %.3f (held-out %.3f, uniform %.3f)", (guint) TRAJ (s)->step,
                  ROUND (s)->kl, ROUND (s)->kl_floor, ROUND (s)->kl_uniform);
  gaf_label_map_view_set_playing (view, FALSE);
  t_end = TRAJ (s)->times[TRAJ (s)->n_times - 1];
  gaf_label_map_canvas_set_time (canvas, t_end);
  px = render (GTK_WIDGET (canvas));
  for (int k = 0; k < s->payload->c; k++)
    {
      double rgb[3] = { MAPS (s)->palette[3 * k] / 255.0, MAPS (s)->palette[3 * k + 1] / 255.0, MAPS (s)->palette[3 * k + 2] / 255.0 };
      guint n = count_color (&px, rgb, 0.02);
      g_test_message ("class %d colour: %u pixels", k + 1, n);
      colours += n > 400;   /* more than the legend's swatch of 15 x 15 */
    }
  g_assert_cmpuint (colours, >=, 3);
  g_free (px.data);

  /* Entropy: undecided at t = 0, decided at T. */
  g_object_set (canvas, "show-entropy", TRUE, NULL);
  gaf_label_map_canvas_set_time (canvas, 0.0);
  px = render (GTK_WIDGET (canvas));
  dark_start = count_color (&px, black, 0.2);
  light_start = count_color (&px, white, 0.35);
  g_free (px.data);
  gaf_label_map_canvas_set_time (canvas, t_end);
  px = render (GTK_WIDGET (canvas));
  dark_end = count_color (&px, black, 0.2);
  g_free (px.data);
  g_test_message ("entropy: light pixels at t = 0: %u; dark pixels %u -> %u", light_start, dark_start, dark_end);
  g_assert_cmpuint (light_start, >, 5000);
  g_assert_cmpuint (dark_end, >, dark_start + 5000);
  g_object_set (canvas, "show-entropy", FALSE, NULL);

  /* A click on a pixel of map 3. */
  row = 2 * s->payload->n + 7 * MAPS (s)->width + 9;
  before = render (GTK_WIDGET (pixel_canvas));
  g_assert_true (gaf_label_map_canvas_row_position (canvas, row, &x, &y));
  g_assert_true (gaf_label_map_canvas_select_at (canvas, x, y));
  g_assert_cmpint (gaf_label_map_canvas_get_selected_row (canvas), ==, row);
  g_assert_cmpint (gaf_simplex_canvas_get_selected_row (pixel_canvas), ==, row);
  g_assert_cmpint (gaf_simplex_canvas_get_selected_row (gaf_simplex_view_get_canvas (simplex)), ==, row);
  after = render (GTK_WIDGET (pixel_canvas));
  g_test_message ("pixel canvas: %u screen pixels changed by the selection", count_changed (&before, &after));
  g_assert_cmpuint (count_changed (&before, &after), >, 200);
  g_free (before.data);
  g_free (after.data);
  gaf_label_map_view_set_playing (view, TRUE);
}

static gboolean
operations_reach (gpointer data)
{
  return gaf_window_get_file_operations (window) >= GPOINTER_TO_UINT (data);
}

/* The message dialogs of one type shown for the window now. */
static GList *
dialogs_of_type (GtkMessageType want)
{
  GListModel *toplevels = gtk_window_get_toplevels ();   /* transfer none */
  GList *found = NULL;

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) w = g_list_model_get_item (toplevels, i);
      GtkMessageType type;
      if (!GTK_IS_MESSAGE_DIALOG (w) || gtk_window_get_transient_for (GTK_WINDOW (w)) != GTK_WINDOW (window) ||
          !gtk_widget_get_visible (GTK_WIDGET (w)))
        continue;
      g_object_get (w, "message-type", &type, NULL);
      if (type == want)
        found = g_list_prepend (found, w);
    }
  return found;
}

/* The error dialogs shown for the window now. */
static GList *
error_dialogs (void)
{
  return dialogs_of_type (GTK_MESSAGE_ERROR);
}

static void
save_and_wait (const char *path)
{
  guint ops = gaf_window_get_file_operations (window);

  gaf_window_save_model (window, path);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  g_assert_null (error_dialogs ());
}

static gboolean
stepped_past (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->step > GPOINTER_TO_UINT (data);
}

/* Save, train on with another lambda, open: the model of the file is back (its step, its lambda in the
 * engine and on the panel's slider), and saving it again gives the same bytes. */
static void
test_model_round_trip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (dir, "a.gafck", NULL);
  g_autofree char *b = g_build_filename (dir, "b.gafck", NULL);
  GafParameterPanel *panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  GtkRange *lambda = GTK_RANGE (gaf_parameter_panel_get_control (panel, GAF_PARAM_LAMBDA));
  g_autoptr(GafSnapshot) s0 = NULL, s1 = NULL;
  g_autofree char *ca = NULL, *cb = NULL;
  gsize la, lb;
  guint ops;

  gaf_window_set_training (window, FALSE);
  gaf_runner_sync (gaf_window_get_runner (window));
  s0 = snapshot ();
  g_assert_true (s0->params.experiment == &gaf_label_map_experiment);
  save_and_wait (a);

  gtk_range_set_value (lambda, 0.8);
  gaf_window_set_training (window, TRUE);
  g_assert_true (wait_until (stepped_past, GUINT_TO_POINTER ((guint) s0->step + 20), 30));
  gaf_window_set_training (window, FALSE);

  ops = gaf_window_get_file_operations (window);
  gaf_window_open_model (window, a);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  g_assert_null (error_dialogs ());
  s1 = snapshot ();
  g_test_message ("saved at step %u, opened at step %u", (guint) s0->step, (guint) s1->step);
  g_assert_cmpuint (s1->step, ==, s0->step);
  g_assert_true (s1->params.experiment == &gaf_label_map_experiment);
  g_assert_cmpfloat (s1->params.value[GAF_PARAM_LAMBDA], ==, 0.5);
  g_assert_cmpfloat_with_epsilon (gtk_range_get_value (lambda), 0.5, 1e-9);
  save_and_wait (b);
  g_assert_true (g_file_get_contents (a, &ca, &la, NULL));
  g_assert_true (g_file_get_contents (b, &cb, &lb, NULL));
  g_test_message ("model file: %" G_GSIZE_FORMAT " bytes", la);
  g_assert_cmpuint (la, ==, lb);
  g_assert_true (memcmp (ca, cb, la) == 0);
  gaf_window_set_training (window, TRUE);
  g_unlink (b);
  g_object_set_data_full (G_OBJECT (window), "test-model", g_steal_pointer (&a), g_free);
  g_object_set_data_full (G_OBJECT (window), "test-dir", g_steal_pointer (&dir), g_free);
}

/* A corrupt model file: one error dialog saying why, and the model trains on (its step is not the
 * file's). */
static void
test_model_corrupt (void)
{
  const char *a = g_object_get_data (G_OBJECT (window), "test-model");
  g_autofree char *bad = g_build_filename (g_object_get_data (G_OBJECT (window), "test-dir"), "bad.gafck", NULL);
  g_autoptr(GafSnapshot) s0 = NULL, s1 = NULL;
  g_autofree char *bytes = NULL, *text = NULL, *secondary = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  GList *dialogs;
  gsize len;
  guint ops;

  g_assert_nonnull (a);
  ck = gaf_checkpoint_load (a, NULL);
  g_assert_nonnull (ck);
  g_assert_true (g_file_get_contents (a, &bytes, &len, NULL));
  bytes[len / 3] ^= 0x10;
  g_assert_true (g_file_set_contents (bad, bytes, len, NULL));
  g_assert_true (wait_until (stepped_past, GUINT_TO_POINTER ((guint) gaf_checkpoint_get_step (ck) + 20), 30));
  s0 = snapshot ();

  ops = gaf_window_get_file_operations (window);
  gaf_window_open_model (window, bad);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  iterate_for (0.2);
  dialogs = error_dialogs ();
  g_assert_cmpuint (g_list_length (dialogs), ==, 1);
  g_object_get (dialogs->data, "text", &text, "secondary-text", &secondary, NULL);
  g_test_message ("dialog: %s — %s", text, secondary);
  g_assert_cmpstr (text, ==, "Could not open the model");
  g_assert_nonnull (strstr (secondary, "checksum mismatch"));
  gtk_window_destroy (GTK_WINDOW (dialogs->data));
  g_list_free (dialogs);

  s1 = snapshot ();
  g_assert_true (s1->params.experiment == &gaf_label_map_experiment);
  g_assert_cmpuint (s1->model_params, ==, s0->model_params);
  g_assert_cmpuint (s1->step, >=, s0->step);
  g_unlink (bad);
}

typedef struct {
  double        precision;
  gconstpointer round;       /* a round before (kept alive by the caller) */
} PrecisionWait;

/* A finished round of label maps after the one given, sampled in the precision given. */
static gboolean
maps_round_in (gpointer data)
{
  const PrecisionWait *want = data;
  g_autoptr(GafSnapshot) s = snapshot ();

  return s->params.experiment == &gaf_label_map_experiment && s->params.value[GAF_PARAM_PRECISION] == want->precision &&
         ROUND (s) != NULL && ROUND (s) != want->round && TRAJ (s) != NULL && !s->sampling;
}

static gboolean
status_says (gpointer data)
{
  return strstr (gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window))), data) != NULL;
}

/* The precision row in the window: the label maps show it and class scaling does not; a drop-down of the table's
 * two labels that can be changed where the CPU has AVX-512 BF16 (elsewhere insensitive, its tooltip saying why).
 * bf16 chosen reaches the settings and the engine, and the next round of maps is sampled in it (every pixel on
 * the simplex, the metric finite); float again after. A model file asking bf16 of a network without a bf16 path
 * (testable on any CPU) opens in float: the row, the settings and the runner say float and the status line why. */
static void
test_panel_precision (void)
{
  const char *a = g_object_get_data (G_OBJECT (window), "test-model");
  g_autofree char *toy = g_build_filename (g_object_get_data (G_OBJECT (window), "test-dir"), "toy.gafck", NULL);
  GafParameterPanel *panel = GAF_PARAMETER_PANEL (gaf_window_get_panel (window));
  GtkWidget *control = gaf_parameter_panel_get_control (panel, GAF_PARAM_PRECISION);
  g_autoptr(GSettings) settings = gaf_settings_new ();
  g_autoptr(GafSnapshot) s0 = NULL, s1 = NULL;
  g_autofree char *stored = NULL;
  gboolean bf16 = gaf_bf16_available ();
  const char *tooltip;
  GListModel *labels;
  PrecisionWait want;
  guint ops;

  g_assert_nonnull (a);
  s0 = snapshot ();
  g_assert_true (s0->params.experiment == &gaf_label_map_experiment);
  g_assert_true (GTK_IS_DROP_DOWN (control));
  g_assert_true (gtk_widget_get_visible (control));
  gaf_parameter_panel_set_experiment (panel, &gaf_scaling_experiment);
  g_assert_false (gtk_widget_get_visible (control));
  gaf_parameter_panel_set_experiment (panel, &gaf_label_map_experiment);
  g_assert_true (gtk_widget_get_visible (control));
  labels = gtk_drop_down_get_model (GTK_DROP_DOWN (control));
  g_assert_cmpuint (g_list_model_get_n_items (labels), ==, 2);
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (labels), GAF_PRECISION_FLOAT), ==, "Float");
  g_assert_cmpstr (gtk_string_list_get_string (GTK_STRING_LIST (labels), GAF_PRECISION_BF16), ==, "bf16 (AVX-512 BF16)");
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (control)), ==, GAF_PRECISION_FLOAT);
  g_assert_cmpint (gtk_widget_get_sensitive (control), ==, bf16);
  tooltip = gtk_widget_get_tooltip_text (control);
  g_test_message ("bf16 %s; tooltip: %s", bf16 ? "available" : "not available", tooltip);
  g_assert_cmpint (strstr (tooltip, "lacks AVX-512 BF16") != NULL, ==, !bf16);

  if (bf16)
    {
      const GafTrajectories *tr;

      gtk_drop_down_set_selected (GTK_DROP_DOWN (control), GAF_PRECISION_BF16);
      stored = g_settings_get_string (settings, "precision");
      g_assert_cmpstr (stored, ==, "bf16");
      want.precision = GAF_PRECISION_BF16;
      want.round = ROUND (s0);
      g_assert_true (wait_until (maps_round_in, &want, 90));
      s1 = snapshot ();
      tr = TRAJ (s1);
      for (guint r = 0; r < tr->n_rows; r++)
        {
          const float *w = tr->w + ((gsize) (tr->n_times - 1) * tr->n_rows + r) * tr->c;
          double sum = 0.0;
          for (int k = 0; k < tr->c; k++)
            sum += w[k];
          g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
        }
      g_assert_true (isfinite (ROUND (s1)->kl) && ROUND (s1)->kl >= 0.0);
      g_test_message ("a round in bf16 at step %u: pixel KL %.3f (held-out maps %.3f, uniform %.3f)",
                      (guint) ROUND (s1)->step, ROUND (s1)->kl, ROUND (s1)->kl_floor, ROUND (s1)->kl_uniform);
      g_assert_true (strstr (gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window))), "bf16") == NULL);
      gtk_drop_down_set_selected (GTK_DROP_DOWN (control), GAF_PRECISION_FLOAT);
      want.precision = GAF_PRECISION_FLOAT;
      want.round = ROUND (s1);
      g_assert_true (wait_until (maps_round_in, &want, 90));
      g_clear_pointer (&stored, g_free);
    }

  gaf_test_write_toy_cnn_label_maps (a, toy, "bf16");
  ops = gaf_window_get_file_operations (window);
  gaf_window_open_model (window, toy);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  g_assert_null (error_dialogs ());
  g_assert_true (wait_until (status_says, bf16 ? "has no bf16 path" : "lacks AVX-512 BF16", 10));
  g_test_message ("status: %s", gtk_label_get_text (GTK_LABEL (gaf_window_get_status_label (window))));
  g_clear_pointer (&s1, gaf_snapshot_unref);
  s1 = snapshot ();
  g_assert_cmpstr (s1->model_kind, ==, "toy-cnn");
  g_assert_cmpfloat (s1->params.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_FLOAT);
  g_assert_cmpfloat (gaf_runner_get_params (gaf_window_get_runner (window))->value[GAF_PARAM_PRECISION], ==,
                     GAF_PRECISION_FLOAT);
  g_assert_cmpuint (gtk_drop_down_get_selected (GTK_DROP_DOWN (control)), ==, GAF_PRECISION_FLOAT);
  stored = g_settings_get_string (settings, "precision");
  g_assert_cmpstr (stored, ==, "float");

  /* the UNet of before, for the tests after this one */
  gaf_window_open_model (window, a);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 2), 30));
  g_assert_null (error_dialogs ());
  g_unlink (toy);
}

/* The question dialog shown for the window now, or NULL. */
static GtkWidget *
question_dialog (void)
{
  GList *found = dialogs_of_type (GTK_MESSAGE_QUESTION);
  GtkWidget *w = found ? found->data : NULL;

  g_list_free (found);
  return w;
}

static gboolean
question_shown (gpointer data)
{
  return question_dialog () != NULL;
}

/* The saved model as safetensors under the PyTorch names (as gaflow-cli export writes it), with gaflow's
 * configuration in the metadata or without it. */
static void
export_model (const char *gafck, const char *out, gboolean with_config)
{
  g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (gafck, NULL);
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autoptr(GafNet) net = NULL;
  g_autofree char *text = NULL;
  GafModelConfig cfg;

  g_assert_nonnull (ck);
  g_assert_true (gaf_model_config_from_keyfile (&cfg, gaf_checkpoint_get_config (ck), NULL));
  net = gaf_model_new (&cfg, NULL);
  g_assert_true (gaf_checkpoint_restore (ck, gaf_net_get_params (net), NULL, NULL, NULL));
  gaf_params_swap_ema (gaf_net_get_params (net));
  g_assert_true (gaf_torch_export (net, &cfg, gaf_net_get_params (net)->data, w, NULL));
  gaf_torch_write_metadata (&cfg, w);
  text = g_key_file_to_data (gaf_checkpoint_get_config (ck), NULL, NULL);
  if (with_config)
    gaf_safetensors_writer_set_metadata (w, "gaflow.config", text);
  g_assert_true (gaf_safetensors_writer_save (w, out, NULL));
}

/* A model trained elsewhere: a .safetensors file that names its data opens at once (step 0, the same
 * network); one that does not asks first, and opens with the current label maps when the user agrees. */
static void
test_model_safetensors (void)
{
  const char *a = g_object_get_data (G_OBJECT (window), "test-model");
  const char *dir = g_object_get_data (G_OBJECT (window), "test-dir");
  g_autofree char *named = g_build_filename (dir, "named.safetensors", NULL);
  g_autofree char *bare = g_build_filename (dir, "bare.safetensors", NULL);
  g_autoptr(GafSnapshot) s0 = NULL, s1 = NULL, s2 = NULL;
  GtkWidget *question;
  guint ops;

  g_assert_nonnull (a);
  export_model (a, named, TRUE);
  export_model (a, bare, FALSE);
  gaf_window_set_training (window, FALSE);
  gaf_runner_sync (gaf_window_get_runner (window));
  s0 = snapshot ();

  ops = gaf_window_get_file_operations (window);
  gaf_window_open_model (window, named);
  g_assert_null (question_dialog ());
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  g_assert_null (error_dialogs ());
  s1 = snapshot ();
  g_test_message ("opened %s: step %u, %u parameters", named, (guint) s1->step, (guint) s1->model_params);
  g_assert_true (s1->params.experiment == &gaf_label_map_experiment);
  g_assert_cmpuint (s1->step, ==, 0);
  g_assert_cmpuint (s1->model_params, ==, s0->model_params);

  ops = gaf_window_get_file_operations (window);
  gaf_window_open_model (window, bare);
  g_assert_true (wait_until (question_shown, NULL, 10));
  question = question_dialog ();
  g_assert_cmpuint (gaf_window_get_file_operations (window), ==, ops);   /* nothing opened before the answer */
  gtk_dialog_response (GTK_DIALOG (question), GTK_RESPONSE_ACCEPT);
  g_assert_true (wait_until (operations_reach, GUINT_TO_POINTER (ops + 1), 30));
  g_assert_null (error_dialogs ());
  g_assert_null (question_dialog ());
  s2 = snapshot ();
  g_assert_cmpuint (s2->model_params, ==, s0->model_params);
  g_unlink (named);
  g_unlink (bare);
  gaf_window_set_training (window, TRUE);
}

static gboolean
likelihood_ready (gpointer data)
{
  GafLikelihoodView *view = data;
  g_autoptr(GafSnapshot) s = snapshot ();
  double bpd;

  return gaf_likelihood_view_get_bits_per_dim (view, &bpd) && MAPS (s) != NULL && MAPS (s)->likelihood != NULL &&
         MAPS (s)->likelihood->n_held_out > 0;
}

static gboolean
small_maps_stepped (gpointer data)
{
  g_autoptr(GafSnapshot) s = snapshot ();
  return s->params.experiment == &gaf_label_map_experiment && MAPS (s) != NULL && MAPS (s)->height == 8 && s->payload->c == 3 && s->model_kind != NULL &&
         s->step >= GPOINTER_TO_UINT (data);
}

/* A label map of the test split, written to a PNG and opened in the Likelihood view, gets a finite
 * bits/dim, drawn as a marker on the histogram of the held-out maps; a map of another size is refused
 * with a message. Small maps (scenes of 3 classes, 8 x 8) keep the scoring short. */
static void
test_likelihood_scores_map (void)
{
  GafLikelihoodView *view = GAF_LIKELIHOOD_VIEW (gaf_window_get_view_widget (window, "likelihood"));
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "test-map.png", NULL);
  g_autofree char *small = g_build_filename (dir, "small.png", NULL);
  g_autoptr(GafDataset) test = NULL;
  g_autoptr(GafSnapshot) s = NULL;
  g_autoptr(GError) error = NULL;
  const guint16 tiny[25] = { 0 };
  double bpd;
  Pixels px;
  guint bars, marker;
  gint64 t0;

  gaf_runner_set_text (gaf_window_get_runner (window), GAF_PARAM_IMAGE_DATA, "scenes:classes=3,size=8,count=500");
  gaf_window_set_training (window, TRUE);
  g_assert_true (wait_until (small_maps_stepped, GUINT_TO_POINTER (300), 90));
  gaf_window_set_view (window, "likelihood");

  test = gaf_dataset_new_from_spec ("scenes:classes=3,size=8,count=500,split=test", &error);
  g_assert_no_error (error);
  g_assert_true (gaf_label_map_write_png (path, gaf_dataset_item (test, 0), 8, 8, 3, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (gaf_window_score_map_file (window, path, &error));
  g_assert_no_error (error);
  t0 = g_get_monotonic_time ();
  g_assert_true (wait_until (likelihood_ready, view, 150));
  g_assert_true (gaf_likelihood_view_get_bits_per_dim (view, &bpd));
  s = snapshot ();
  g_test_message ("test map 1: %.3f bits/dim (step %u); held-out maps scored within %.1f s; first %.3f",
                  bpd, (guint) MAPS (s)->likelihood->step, (g_get_monotonic_time () - t0) * 1e-6,
                  MAPS (s)->likelihood->held_out_bpd[0]);
  g_assert_true (isfinite (bpd) && bpd > 0.0);
  iterate_for (0.3);
  px = render (gaf_likelihood_view_get_area (view));
  bars = count_color (&px, gaf_likelihood_bar_color, 0.02);
  marker = count_color (&px, gaf_likelihood_marker_color, 0.02);
  g_test_message ("histogram bars %u pixels, marker %u pixels", bars, marker);
  g_assert_cmpuint (bars, >, 2000);
  g_assert_cmpuint (marker, >, 300);
  g_free (px.data);

  g_assert_true (gaf_label_map_write_png (small, tiny, 5, 5, 3, NULL, NULL));
  g_assert_false (gaf_window_score_map_file (window, small, &error));
  g_test_message ("small map: %s", error->message);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "5 × 5"));
  g_unlink (path);
  g_unlink (small);
  g_rmdir (dir);
}

/* Export of the current view to PNG, SVG, PDF and CSV; animation frames; bad extensions are refused. */
static void
test_export (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  const char *names[] = { "view.png", "view.svg", "view.pdf", "view.csv" };
  g_autoptr(GError) error = NULL;
  g_autofree char *frames = g_build_filename (dir, "frames", NULL);
  g_autofree char *frame = g_build_filename (frames, "frame-0002.png", NULL);
  g_autofree char *bad = g_build_filename (dir, "view.bmp", NULL);
  g_autofree char *csv = NULL;

  g_assert_nonnull (dir);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_build_filename (dir, names[i], NULL);
      gaf_window_export_view (window, path, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (file_size (path), >, 500);
      g_unlink (path);
    }
  g_assert_false (gaf_window_export_view (window, bad, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_true (gaf_window_export_frames (window, frames, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (file_size (frame), >, 500);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *name = g_strdup_printf ("frame-%04u.png", i);
      g_autofree char *path = g_build_filename (frames, name, NULL);
      g_unlink (path);
    }
  g_rmdir (frames);
  g_rmdir (dir);
}

static void
on_screenshot (GObject *source, GAsyncResult *result, gpointer data)
{
  *(GAsyncResult **) data = g_object_ref (result);
}

static gboolean
have_result (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

/* --screenshot in-process and from the command line: a PNG of the window's size. */
static void
test_screenshot (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *inproc = g_build_filename (dir, "window.png", NULL);
  g_autofree char *cli = g_build_filename (dir, "cli.png", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) a = NULL, b = NULL;
  const char *bin = g_getenv ("GAFLOW_BIN");
  int width = gtk_widget_get_width (GTK_WIDGET (window)), height = gtk_widget_get_height (GTK_WIDGET (window));
  GAsyncResult *result = NULL;
  int status = -1;

  gaf_window_screenshot_async (window, inproc, NULL, on_screenshot, &result);
  g_assert_true (wait_until (have_result, &result, 10));
  gaf_window_screenshot_finish (window, result, &error);
  g_assert_no_error (error);
  g_clear_object (&result);
  a = gdk_texture_new_from_filename (inproc, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (a), ==, width);
  g_assert_cmpint (gdk_texture_get_height (a), ==, height);
  {
    /* Opaque as the window is: the window's own background is in the picture. */
    g_autofree guchar *data = g_malloc ((gsize) width * height * 4);
    guint transparent = 0;
    gdk_texture_download (a, data, (gsize) width * 4);
    for (gsize i = 0; i < (gsize) width * height; i++)
      transparent += data[i * 4 + 3] < 255;
    g_test_message ("screenshot %d x %d, %u pixels not opaque", width, height, transparent);
    g_assert_cmpuint (transparent, <, (guint) (width * height / 100));
  }

  if (bin == NULL)
    {
      g_test_message ("GAFLOW_BIN not set: command line not tested");
    }
  else
    {
      const char *argv[] = { bin, "--screenshot", cli, "--after", "1", "--view", "training", NULL };
      g_autofree char *out = NULL, *err = NULL;
      g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                                   &error));
      g_assert_no_error (error);
      g_test_message ("gaflow --screenshot: %s%s", out, err);
      g_assert_true (g_spawn_check_wait_status (status, &error));
      b = gdk_texture_new_from_filename (cli, &error);
      g_assert_no_error (error);
      /* A new window with the default size, as the one of this test (which was not resized). */
      g_assert_cmpint (gdk_texture_get_width (b), ==, width);
      g_assert_cmpint (gdk_texture_get_height (b), ==, height);
      g_unlink (cli);

      {
        const char *bad[] = { bin, "--view", "nonsense", NULL };
        g_autofree char *bad_err = NULL;
        g_assert_true (g_spawn_sync (NULL, (char **) bad, NULL, G_SPAWN_DEFAULT, NULL, NULL, NULL, &bad_err,
                                     &status, NULL));
        g_assert_true (g_spawn_check_wait_status (status, NULL) == FALSE && WIFEXITED (status) &&
                       WEXITSTATUS (status) == 2);
        g_assert_nonnull (strstr (bad_err, "gaflow: error: --view"));
      }
    }
  g_unlink (inproc);
  g_rmdir (dir);
}

/* Closes the window and waits until window and runner are finalized (the engine thread joined); FALSE if
 * either is still alive after 2 s. */
static gboolean
close_window (void)
{
  GafRunner *runner = gaf_window_get_runner (window);
  gpointer weak_window = window, weak_runner = runner;

  g_object_add_weak_pointer (G_OBJECT (window), &weak_window);
  g_object_add_weak_pointer (G_OBJECT (runner), &weak_runner);
  {
    const char *model = g_object_get_data (G_OBJECT (window), "test-model");
    const char *dir = g_object_get_data (G_OBJECT (window), "test-dir");
    if (model != NULL)
      g_unlink (model);
    if (dir != NULL)
      g_rmdir (dir);
  }
  gtk_window_destroy (GTK_WINDOW (window));
  window = NULL;
  for (int i = 0; i < 500 && (weak_window != NULL || weak_runner != NULL); i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (4000);
    }
  return weak_window == NULL && weak_runner == NULL;
}

/* Closing the window stops the engine thread and frees window and runner. */
static void
test_window_finalizes (void)
{
  g_assert_true (close_window ());
}

/* The tests after the first share its window; run alone (-p PATH) one opens it first. */
typedef struct {
  const char *path;
  void      (*func) (void);
} WindowTest;

static void
run_window_test (gconstpointer data)
{
  const WindowTest *test = data;

  if (window == NULL)
    test_window_default ();
  test->func ();
}

/* One window for all, so the order matters: GLib runs tests grouped by path, in order of first use. */
static const WindowTest window_tests[] = {
  { "/ui/simplex/renders", test_simplex_renders },
  { "/ui/simplex/overlays", test_simplex_overlays },
  { "/ui/training/renders", test_training_renders },
  { "/ui/panel/slider-changes-engine", test_panel_slider },
  { "/ui/engine/trains-while-drawing", test_training_while_drawing },
  { "/ui/split/two-methods", test_split_view },
  { "/ui/scaling/renders", test_scaling_renders },
  { "/ui/joint/renders", test_joint_renders },
  { "/ui/labelmaps/renders", test_label_maps_render },
  { "/ui/model/save-open-round-trip", test_model_round_trip },
  { "/ui/model/corrupt-file-keeps-model", test_model_corrupt },
  { "/ui/model/precision", test_panel_precision },
  { "/ui/model/safetensors", test_model_safetensors },
  { "/ui/likelihood/scores-a-test-map", test_likelihood_scores_map },
  { "/ui/export/views-and-frames", test_export },
  { "/ui/screenshot/png", test_screenshot },
  { "/ui/lifecycle/window-finalizes", test_window_finalizes },
};

int
main (int argc, char **argv)
{
  int status;

  if (!gtk_init_check ())
    {
      g_print ("1..0 # SKIP no display\n");
      return 0;
    }
  g_test_init (&argc, &argv, NULL);
  use_test_runs_file ();
  g_test_add_func ("/ui/window/opens-on-default-experiment", test_window_default);
  for (guint i = 0; i < G_N_ELEMENTS (window_tests); i++)
    g_test_add_data_func (window_tests[i].path, &window_tests[i], run_window_test);
  status = g_test_run ();
  /* A window still open (a subset of the tests ran) is closed before exit: its engine thread must not be
   * inside OpenBLAS while the library's destructor frees its buffers. */
  if (window != NULL && !close_window ())
    {
      g_printerr ("the window or its runner was not finalized\n");
      status = 1;
    }
  return status;
}
