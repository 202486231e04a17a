/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-split-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-draw.h"
#include "gaf-label-map-canvas.h"
#include "gaf-label-map-experiment.h"
#include "gaf-run-history.h"
#include "gaf-run-plot.h"
#include "gaf-simplex-canvas.h"
#include "gaf-split-view.h"
#include "gaf-view.h"

/* One pass of the animation from t = 0 to the end of each side's flow, and the pause at the end. */
#define PASS_SECONDS 7.0
#define HOLD_SECONDS 1.2
#define PLOT_HEIGHT  150
/* The second engine's thread count: with the window's engine thread beside it, two computing threads share
 * the machine (2 cores here) and the drawing thread wins a contended core (engine threads run at nice 5). */
#define SECOND_THREADS 1

typedef struct {
  GafSplitView  *view;
  guint          index;
  GafRunner     *runner;      /* the left side's is the window's, the right side's this view's own */
  GafFollower    follower;
  GafRunHistory *history;     /* the KL of every sampling round, by model */
  GtkWidget     *box;         /* caption over the stack; the follower's widget */
  GtkLabel      *caption;
  GtkStack      *stack;       /* "simplex", "maps" or "message" */
  GtkWidget     *simplex, *maps;
  GtkLabel      *message;
  double         upper;       /* the last recorded time of the newest round: T, or 1 for a jump flow */
  char          *failure;     /* the runner's failure while it lasts */
} Side;

struct _GafSplitView {
  GtkWidget        parent_instance;

  Side             side[GAF_SPLIT_N_SIDES];
  GtkDropDown     *method_dropdown;
  GtkToggleButton *play_button;
  GtkAdjustment   *phase;      /* u in [0, 1]: each side shows t = upper u^2, as the simplex view plays */
  GtkWidget       *plot;
  GtkStack        *stack;      /* the window's stack of views, while the view is in one */

  int              method;     /* the right side's method (a choice index); -1 until it is first shown */
  gboolean         setting_method;
  guint64          left_serial; /* the left model the right one was last made for */
  gboolean         left_sampling;
  gint64           last_frame;
  double           hold;
};

static void gaf_split_view_iface_init (GafViewInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GafSplitView, gaf_split_view, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GAF_TYPE_VIEW, gaf_split_view_iface_init))

void
gaf_split_view_side_color (guint side, double rgb[3])
{
  gaf_run_color (side, rgb);
}

static Side *
side_of (GtkWidget *box)
{
  return g_object_get_data (G_OBJECT (box), "gaf-split-side");
}

/* The method a side's snapshot runs, as a choice index of the method parameter (0, GAF, without one). */
static int
method_of (const GafSnapshot *s)
{
  if (s == NULL || !gaf_experiment_uses (s->params.experiment, GAF_PARAM_METHOD))
    return 0;
  return (int) gaf_param_clamp (GAF_PARAM_METHOD, s->params.value[GAF_PARAM_METHOD]);
}

static const char *
method_label (int choice)
{
  return _(gaf_param_info (GAF_PARAM_METHOD)->choice_labels[choice]);
}

static char *
color_markup (guint side)
{
  double rgb[3];

  gaf_split_view_side_color (side, rgb);
  return g_strdup_printf ("#%02x%02x%02x", (int) round (rgb[0] * 255), (int) round (rgb[1] * 255),
                          (int) round (rgb[2] * 255));
}

static const GafRun *
current_run (const Side *side)
{
  guint n = side->history != NULL ? gaf_run_history_get_n_runs (side->history) : 0;
  const GafRun *run = n > 0 ? gaf_run_history_get_run (side->history, n - 1) : NULL;

  /* the run of the model on screen, not one of a model before */
  if (run == NULL || side->follower.snapshot == NULL || run->model_serial != side->follower.snapshot->model_serial)
    return NULL;
  return run;
}

static double
side_time (GafSplitView *self, const Side *side)
{
  double u = gtk_adjustment_get_value (self->phase);
  return side->upper * u * u;
}

/* Two lines over a side: its method in its colour, then step, KL of the last round and t (or its failure). */
static char *
caption_markup (GafSplitView *self, const Side *side)
{
  GafSnapshot *s = side->follower.snapshot;
  g_autofree char *color = color_markup (side->index), *detail = NULL, *head = NULL;
  const GafRound *r = s != NULL ? s->payload->round : NULL;

  if (side->failure != NULL)
    detail = g_markup_printf_escaped (_("failed: %s"), side->failure);
  else if (s == NULL)
    detail = g_strdup (_("Waiting for the engine…"));
  else if (r == NULL || r->samples == 0)
    /* Translators: the training step of a side, before its first sampling round */
    detail = g_strdup_printf (_("step %u · waiting for the first samples"), (guint) s->step);
  else
    /* Translators: a side's training step, the KL of its last sampling round, the flow time shown and the
     * flow's end time */
    detail = g_strdup_printf (_("step %u · KL %.4f · t = %.2f of %g"), (guint) s->step, r->kl,
                              side_time (self, side), side->upper);
  head = g_markup_printf_escaped ("<span foreground=\"%s\">●</span> <b>%s</b>", color,
                                  method_label (side->index == GAF_SPLIT_LEFT ? method_of (s) : MAX (self->method, 0)));
  return g_strdup_printf ("%s\n%s", head, detail);
}

static void
update_caption (GafSplitView *self, Side *side)
{
  g_autofree char *markup = caption_markup (self, side);

  gtk_label_set_markup (side->caption, markup);
}

/* Every side at the phase's time. */
static void
apply_time (GafSplitView *self)
{
  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    {
      Side *side = &self->side[i];
      double t = side_time (self, side);

      gaf_simplex_canvas_set_time (GAF_SIMPLEX_CANVAS (side->simplex), t);
      gaf_label_map_canvas_set_time (GAF_LABEL_MAP_CANVAS (side->maps), t);
      update_caption (self, side);
    }
}

static void
show_message (Side *side, const char *text)
{
  gtk_label_set_text (side->message, text);
  gtk_stack_set_visible_child_name (side->stack, "message");
}

/* ---- the second runner ----------------------------------------------------------------------------- */

static void
on_failed (GafRunner *runner, GError *error, gpointer data)
{
  Side *side = data;

  g_free (side->failure);
  side->failure = g_strdup (error->message);
  show_message (side, error->message);
  update_caption (side->view, side);
}

static void
show_one_method (GafSplitView *self, const GafExperimentClass *experiment)
{
  g_autofree char *text = g_strdup_printf (_("“%s” has one method only: choose an experiment with the Method "
                                             "parameter to see two methods side by side."), _(experiment->label));
  show_message (&self->side[GAF_SPLIT_RIGHT], text);
}

static void
set_dropdown (GafSplitView *self)
{
  self->setting_method = TRUE;
  gtk_drop_down_set_selected (self->method_dropdown, (guint) MAX (self->method, 0));
  self->setting_method = FALSE;
}

/* On screen as the stack's page (a page crossfading out is still mapped for a moment). */
static gboolean
shown (GafSplitView *self)
{
  return gtk_widget_get_mapped (GTK_WIDGET (self)) &&
         (self->stack == NULL || gtk_stack_get_visible_child (self->stack) == GTK_WIDGET (self));
}

/* The second runner, with the left one's experiment and parameters as applied and the right side's method;
 * it trains when the left one does, else it samples a first round. */
static void
start_right (GafSplitView *self)
{
  Side *left = &self->side[GAF_SPLIT_LEFT], *right = &self->side[GAF_SPLIT_RIGHT];
  g_autoptr(GafSnapshot) s = NULL;
  GafRunnerParams p;

  if (right->runner != NULL || left->runner == NULL)
    return;
  s = gaf_runner_dup_snapshot (left->runner);
  if (!gaf_experiment_uses (s->params.experiment, GAF_PARAM_METHOD))
    {
      show_one_method (self, s->params.experiment);
      return;
    }
  if (self->method < 0)
    {
      /* GAF beside the masked jump flow, or GAF beside a jump flow */
      self->method = method_of (s) == 0 ? 1 : 0;
      set_dropdown (self);
    }
  p = s->params;
  p.value[GAF_PARAM_METHOD] = self->method;
  g_clear_pointer (&right->failure, g_free);
  g_clear_pointer (&right->history, gaf_run_history_free);
  right->history = gaf_run_history_new ();
  right->upper = 0;
  right->runner = gaf_runner_new (&p, SECOND_THREADS);
  g_signal_connect (right->runner, "failed", G_CALLBACK (on_failed), right);
  gaf_follower_set_runner (&right->follower, right->runner);
  self->left_serial = s->model_serial;
  self->left_sampling = s->sampling;
  if (gaf_runner_get_training (left->runner))
    gaf_runner_train (right->runner, TRUE);
  else
    gaf_runner_sample (right->runner);
  update_caption (self, right);
  gtk_widget_queue_draw (self->plot);
}

/* Ends the second runner: its thread is joined before this returns. */
static void
stop_right (GafSplitView *self)
{
  Side *right = &self->side[GAF_SPLIT_RIGHT];

  if (right->runner == NULL)
    return;
  gaf_follower_set_runner (&right->follower, NULL);
  g_signal_handlers_disconnect_by_data (right->runner, right);
  g_clear_object (&right->runner);
}

/* The right runner follows the left one's snapshot: experiment, every parameter but the method, a new model
 * with every new left model, training, and a round when the left one samples while paused. */
static void
follow_left (GafSplitView *self, const GafSnapshot *s)
{
  GafRunner *left = self->side[GAF_SPLIT_LEFT].runner, *right = self->side[GAF_SPLIT_RIGHT].runner;
  const GafRunnerParams *want = &s->params;
  GafRunnerParams have;
  gboolean rebuilt = FALSE, train;

  if (!gaf_experiment_uses (want->experiment, GAF_PARAM_METHOD))
    {
      stop_right (self);
      show_one_method (self, want->experiment);
      return;
    }
  if (right == NULL)
    {
      if (shown (self))
        start_right (self);
      return;
    }
  have = *gaf_runner_get_params (right);
  if (want->experiment != have.experiment)
    {
      gaf_runner_set_experiment (right, want->experiment);
      rebuilt = TRUE;
    }
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    {
      const GafParamInfo *info = gaf_param_info (p);
      gboolean model = info->section == GAF_PARAM_SECTION_MODEL && gaf_experiment_uses (want->experiment, p);

      if (p == GAF_PARAM_METHOD)
        continue;
      if (info->type == GAF_PARAM_TEXT)
        {
          if (want->text[p] != NULL && g_strcmp0 (want->text[p], have.text[p]) != 0)
            {
              gaf_runner_set_text (right, p, want->text[p]);
              rebuilt |= model;
            }
        }
      else if (want->value[p] != have.value[p])
        {
          gaf_runner_set_param (right, p, want->value[p]);
          rebuilt |= model;
        }
    }
  if (s->model_serial != self->left_serial)
    {
      /* Reset, an opened file: the same target from the start on the right too */
      if (!rebuilt)
        gaf_runner_reset (right);
      self->left_serial = s->model_serial;
    }
  train = gaf_runner_get_training (left);
  if (train != gaf_runner_get_training (right))
    gaf_runner_train (right, train);
  if (s->sampling && !self->left_sampling && !train)
    gaf_runner_sample (right);
  self->left_sampling = s->sampling;
}

/* ---- snapshots and animation ----------------------------------------------------------------------- */

static void
side_changed (GtkWidget *box, GafSnapshot *s)
{
  Side *side = side_of (box);
  GafSplitView *self = side->view;
  const GafTrajectories *tr = gaf_payload_trajectories (s->payload);
  gboolean maps = gaf_label_map_payload (s->payload) != NULL;

  if (tr != NULL && tr->n_times > 0)
    side->upper = tr->times[tr->n_times - 1];
  if (s->state != GAF_RUNNER_FAILED)
    g_clear_pointer (&side->failure, g_free);
  gaf_simplex_canvas_set_snapshot (GAF_SIMPLEX_CANVAS (side->simplex), maps ? NULL : s);
  gaf_label_map_canvas_set_snapshot (GAF_LABEL_MAP_CANVAS (side->maps), maps ? s : NULL);
  if (side->failure == NULL && (side->index == GAF_SPLIT_LEFT || side->runner != NULL))
    gtk_stack_set_visible_child_name (side->stack, maps ? "maps" : "simplex");
  if (side->history != NULL && gaf_run_history_feed (side->history, s))
    gtk_widget_queue_draw (self->plot);
  if (side->index == GAF_SPLIT_LEFT)
    follow_left (self, s);
  apply_time (self);
}

static void
side_frame (GtkWidget *box, gint64 frame_time)
{
  GafSplitView *self = side_of (box)->view;
  double dt = self->last_frame ? (frame_time - self->last_frame) * 1e-6 : 0.0;
  double u = gtk_adjustment_get_value (self->phase);

  self->last_frame = frame_time;
  dt = CLAMP (dt, 0.0, 0.1);   /* after a stall, do not jump */
  if (u >= 1.0)
    {
      self->hold -= dt;
      if (self->hold <= 0)
        u = 0.0;
    }
  else
    {
      u = MIN (1.0, u + dt / PASS_SECONDS);
      self->hold = HOLD_SECONDS;
    }
  gtk_adjustment_set_value (self->phase, u);
}

static void
on_play_toggled (GtkToggleButton *button, GafSplitView *self)
{
  gboolean playing = gtk_toggle_button_get_active (button);

  gtk_button_set_icon_name (GTK_BUTTON (button),
                            playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  self->last_frame = 0;
  gaf_follower_set_animating (&self->side[GAF_SPLIT_LEFT].follower, playing);
}

static void
on_scrub_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GafSplitView *self)
{
  /* scrubbing by hand stops the animation */
  gtk_toggle_button_set_active (self->play_button, FALSE);
}

static void
on_method_selected (GafSplitView *self)
{
  guint k = gtk_drop_down_get_selected (self->method_dropdown);

  if (self->setting_method || k == GTK_INVALID_LIST_POSITION)
    return;
  gaf_split_view_set_method (self, (int) k);
}

/* ---- drawing --------------------------------------------------------------------------------------- */

/* Both sides' KL of every sampling round of their current models against the training step, on one log
 * axis, with the uniform sampler and the finite-sample floor of the left side's last round. */
static void
draw_plot (GafSplitView *self, cairo_t *cr, const GafTheme *theme, double x0, double y0, double width,
           double height)
{
  static const double dash[] = { 6.0, 4.0 }, dots[] = { 1.5, 3.0 };
  GafPlotSeries series[GAF_SPLIT_N_SIDES];
  GafPlotReference refs[2];
  const GafRun *runs[GAF_SPLIT_N_SIDES];
  g_autofree char *uniform = NULL, *floor = NULL, *title = NULL;
  g_autoptr(GString) legend = g_string_new (_("<b>KL of each sampling round</b>"));
  guint n = 0, n_refs = 0;

  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    {
      const Side *side = &self->side[i];
      g_autofree char *color = color_markup (i);
      int method = i == GAF_SPLIT_LEFT ? method_of (side->follower.snapshot) : MAX (self->method, 0);
      g_autofree char *entry = g_markup_printf_escaped ("   <span foreground=\"%s\">━━</span> %s", color,
                                                        method_label (method));

      runs[i] = current_run (side);
      if (i == GAF_SPLIT_RIGHT && side->runner == NULL)
        continue;
      g_string_append (legend, entry);
      if (runs[i] == NULL || runs[i]->kl->len == 0)
        continue;
      series[n] = (GafPlotSeries) { (const GafRunPoint *) runs[i]->kl->data, runs[i]->kl->len, { 0 }, 1.6, TRUE };
      gaf_split_view_side_color (i, series[n].rgb);
      n++;
    }
  {
    const GafRun *ref = runs[GAF_SPLIT_LEFT] != NULL ? runs[GAF_SPLIT_LEFT] : runs[GAF_SPLIT_RIGHT];
    if (ref != NULL && isfinite (ref->kl_uniform))
      {
        uniform = g_strdup_printf (_("uniform sampler %.4f"), ref->kl_uniform);
        floor = g_strdup_printf (_("finite-sample floor %.4f"), ref->kl_floor);
        refs[n_refs++] = (GafPlotReference) { ref->kl_uniform, uniform, dash, 2 };
        refs[n_refs++] = (GafPlotReference) { ref->kl_floor, floor, dots, 2 };
      }
  }
  gaf_run_plot_draw (cr, theme, x0, y0, width, height, legend->str, _("training step"), _("KL (nats, log scale)"),
                     TRUE, series, n, refs, n_refs, NULL, 0, 0);
}

static void
plot_draw_func (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  GafTheme theme = { 0 };

  gaf_theme_from_widget (&theme, GTK_WIDGET (area));
  draw_plot (data, cr, &theme, 0, 0, width, height);
  gaf_theme_clear (&theme);
}

/* The whole view for an export: the two sides with their captions over the plot, in the widget's own
 * proportions. */
static void
draw_split (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  GafSplitView *self = widget;
  double plot_h = MIN (PLOT_HEIGHT, height * 0.35), caption_h = 48, side_w = width / 2.0;
  double side_h = height - plot_h - caption_h - 12;

  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    {
      Side *side = &self->side[i];
      g_autofree char *caption = caption_markup (self, side);
      const char *page = gtk_stack_get_visible_child_name (side->stack);
      double x = i * side_w;

      gaf_set_fg (cr, theme, 1.0);
      gaf_draw_text (cr, theme, caption, x + 8, 4, 0, 0, 0.95);
      if (side_h < 40)
        continue;
      cairo_save (cr);
      cairo_translate (cr, x, caption_h);
      cairo_rectangle (cr, 0, 0, side_w, side_h);
      cairo_clip (cr);
      if (g_strcmp0 (page, "simplex") == 0)
        gaf_simplex_canvas_draw (GAF_SIMPLEX_CANVAS (side->simplex), cr, (int) side_w, (int) side_h, theme);
      else if (g_strcmp0 (page, "maps") == 0)
        gaf_label_map_canvas_draw (GAF_LABEL_MAP_CANVAS (side->maps), cr, (int) side_w, (int) side_h, theme);
      else
        {
          g_autofree char *text = g_markup_escape_text (gtk_label_get_text (side->message), -1);
          gaf_set_fg (cr, theme, 0.7);
          gaf_draw_text_wrapped (cr, theme, text, 16, side_h / 2, 0, 0.5, 1.0, side_w - 32);
        }
      cairo_restore (cr);
    }
  draw_plot (self, cr, theme, 8, height - plot_h, width - 16, plot_h - 4);
}

/* ---- GafView --------------------------------------------------------------------------------------- */

static void
set_runner (GafView *view, GafRunner *runner)
{
  GafSplitView *self = GAF_SPLIT_VIEW (view);
  Side *left = &self->side[GAF_SPLIT_LEFT];

  if (left->runner == runner)
    return;
  stop_right (self);
  if (left->runner != NULL)
    g_signal_handlers_disconnect_by_data (left->runner, left);
  g_set_object (&left->runner, runner);
  g_clear_pointer (&left->history, gaf_run_history_free);
  left->history = gaf_run_history_new ();
  if (runner != NULL)
    g_signal_connect (runner, "failed", G_CALLBACK (on_failed), left);
  gaf_follower_set_runner (&left->follower, runner);
  if (runner != NULL && shown (self))
    start_right (self);
}

static GtkWidget *
get_drawing (GafView *view, GafDrawFunc *draw)
{
  *draw = draw_split;
  return GTK_WIDGET (view);
}

/* Both sides' KL histories of their current models: side,method,step,seconds,kl. */
static char *
to_csv (GafView *view, GError **error)
{
  GafSplitView *self = GAF_SPLIT_VIEW (view);
  GString *out = g_string_new ("side,method,step,seconds,kl\n");
  guint rows = 0;

  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    {
      const Side *side = &self->side[i];
      const GafRun *run = current_run (side);
      int method = i == GAF_SPLIT_LEFT ? method_of (side->follower.snapshot) : MAX (self->method, 0);

      for (guint k = 0; run != NULL && k < run->kl->len; k++, rows++)
        {
          const GafRunPoint *p = &g_array_index (run->kl, GafRunPoint, k);
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append_printf (out, "%s,%s,%.0f,%s,%s\n", i == GAF_SPLIT_LEFT ? "left" : "right",
                                  gaf_param_info (GAF_PARAM_METHOD)->choices[method], p->step,
                                  g_ascii_formatd (a, sizeof a, "%.3f", p->seconds),
                                  g_ascii_formatd (b, sizeof b, "%.6g", p->value));
        }
    }
  if (rows == 0)
    {
      g_string_free (out, TRUE);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("Neither side has sampled yet"));
      return NULL;
    }
  return g_string_free (out, FALSE);
}

static void
gaf_split_view_iface_init (GafViewInterface *iface)
{
  iface->set_runner = set_runner;
  iface->get_drawing = get_drawing;
  iface->to_csv = to_csv;
}

/* ---- GObject --------------------------------------------------------------------------------------- */

static void
gaf_split_view_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (gaf_split_view_parent_class)->map (widget);
  if (shown (GAF_SPLIT_VIEW (widget)))
    start_right (GAF_SPLIT_VIEW (widget));
}

/* Another page chosen: the second engine ends at once, not when the crossfade ends. */
static void
on_stack_page (GafSplitView *self)
{
  if (shown (self))
    start_right (self);
  else if (gtk_stack_get_visible_child (self->stack) != GTK_WIDGET (self))
    stop_right (self);
}

static void
gaf_split_view_root (GtkWidget *widget)
{
  GafSplitView *self = GAF_SPLIT_VIEW (widget);
  GtkWidget *parent = gtk_widget_get_parent (widget);

  GTK_WIDGET_CLASS (gaf_split_view_parent_class)->root (widget);
  if (GTK_IS_STACK (parent))
    {
      self->stack = GTK_STACK (parent);
      g_signal_connect_object (parent, "notify::visible-child", G_CALLBACK (on_stack_page), self, G_CONNECT_SWAPPED);
    }
}

static void
gaf_split_view_unroot (GtkWidget *widget)
{
  GafSplitView *self = GAF_SPLIT_VIEW (widget);

  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_func (self->stack, on_stack_page, self);
  self->stack = NULL;
  GTK_WIDGET_CLASS (gaf_split_view_parent_class)->unroot (widget);
}

static void
gaf_split_view_unmap (GtkWidget *widget)
{
  /* Left: the second engine ends (its thread joined) and the window's runs alone again. */
  stop_right (GAF_SPLIT_VIEW (widget));
  GTK_WIDGET_CLASS (gaf_split_view_parent_class)->unmap (widget);
}

static void
gaf_split_view_dispose (GObject *object)
{
  GafSplitView *self = GAF_SPLIT_VIEW (object);

  stop_right (self);
  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    {
      Side *side = &self->side[i];
      gaf_follower_clear (&side->follower);
      if (side->runner != NULL)
        g_signal_handlers_disconnect_by_data (side->runner, side);
      g_clear_object (&side->runner);
      g_clear_pointer (&side->history, gaf_run_history_free);
      g_clear_pointer (&side->failure, g_free);
    }
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_split_view_parent_class)->dispose (object);
}

static void
gaf_split_view_class_init (GafSplitViewClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = gaf_split_view_dispose;
  widget_class->map = gaf_split_view_map;
  widget_class->unmap = gaf_split_view_unmap;
  widget_class->root = gaf_split_view_root;
  widget_class->unroot = gaf_split_view_unroot;
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "gafsplitview");
}

static void
side_init (GafSplitView *self, guint index, GtkWidget *parent)
{
  Side *side = &self->side[index];

  side->view = self;
  side->index = index;
  side->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  g_object_set_data (G_OBJECT (side->box), "gaf-split-side", side);
  side->caption = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (side->caption, 0.0);
  gtk_label_set_ellipsize (side->caption, PANGO_ELLIPSIZE_END);
  gtk_widget_set_margin_start (GTK_WIDGET (side->caption), 8);
  gtk_box_append (GTK_BOX (side->box), GTK_WIDGET (side->caption));
  side->stack = GTK_STACK (gtk_stack_new ());
  gtk_widget_set_vexpand (GTK_WIDGET (side->stack), TRUE);
  gtk_widget_set_hexpand (GTK_WIDGET (side->stack), TRUE);
  /* Less than the views they come from: two fit beside the panel at 1024 x 768, and the page (the stack
   * asks every page for its minimum) fits a window of 800 x 600. */
  side->simplex = gaf_simplex_canvas_new ();
  gtk_widget_set_size_request (side->simplex, 120, 120);
  gaf_simplex_canvas_set_compact (GAF_SIMPLEX_CANVAS (side->simplex), TRUE);
  g_object_set (side->simplex, "show-geodesics", FALSE, NULL);
  side->maps = gaf_label_map_canvas_new ();
  gtk_widget_set_size_request (side->maps, 120, 120);
  side->message = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (side->message, TRUE);
  gtk_label_set_max_width_chars (side->message, 30);
  gtk_label_set_justify (side->message, GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (side->message), "dim-label");
  gtk_stack_add_named (side->stack, side->simplex, "simplex");
  gtk_stack_add_named (side->stack, side->maps, "maps");
  gtk_stack_add_named (side->stack, GTK_WIDGET (side->message), "message");
  gtk_box_append (GTK_BOX (side->box), GTK_WIDGET (side->stack));
  gtk_box_append (GTK_BOX (parent), side->box);
  gaf_follower_init (&side->follower, side->box, side_changed, index == GAF_SPLIT_LEFT ? side_frame : NULL);
}

static void
gaf_split_view_init (GafSplitView *self)
{
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *sides = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *scale, *label;
  GtkGesture *press = gtk_gesture_click_new ();
  g_autoptr(GtkStringList) methods = gtk_string_list_new (NULL);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (gtk_widget_get_layout_manager (GTK_WIDGET (self))), 6);
  self->method = -1;

  /* play, the flow time of both sides, the right side's method */
  gtk_widget_set_margin_start (header, 12);
  gtk_widget_set_margin_end (header, 12);
  gtk_widget_set_margin_top (header, 8);
  self->play_button = GTK_TOGGLE_BUTTON (gtk_toggle_button_new ());
  gtk_toggle_button_set_active (self->play_button, TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->play_button), _("Play both flows in step"));
  g_signal_connect (self->play_button, "toggled", G_CALLBACK (on_play_toggled), self);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->play_button));
  self->phase = gtk_adjustment_new (1.0, 0.0, 1.0, 0.01, 0.1, 0.0);
  g_signal_connect_swapped (self->phase, "value-changed", G_CALLBACK (apply_time), self);
  scale = gtk_scale_new (GTK_ORIENTATION_HORIZONTAL, self->phase);
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_widget_set_tooltip_text (scale, _("Flow time, as the same share of each side's flow: GAF's runs to T, a jump "
                                        "flow's to 1"));
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (press), GTK_PHASE_CAPTURE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_scrub_pressed), self);
  gtk_widget_add_controller (scale, GTK_EVENT_CONTROLLER (press));
  gtk_box_append (GTK_BOX (header), scale);
  /* Translators: before the method of the right half of the split view */
  label = gtk_label_new (_("Right:"));
  gtk_box_append (GTK_BOX (header), label);
  for (const char *const *l = gaf_param_info (GAF_PARAM_METHOD)->choice_labels; *l != NULL; l++)
    gtk_string_list_append (methods, _(*l));
  self->method_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (methods)), NULL));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->method_dropdown),
                               _("The method of the right side; the left side is the window's model, with the "
                                 "method of the parameters"));
  g_signal_connect_swapped (self->method_dropdown, "notify::selected", G_CALLBACK (on_method_selected), self);
  gtk_box_append (GTK_BOX (header), GTK_WIDGET (self->method_dropdown));
  gtk_widget_set_parent (header, GTK_WIDGET (self));

  gtk_box_set_homogeneous (GTK_BOX (sides), TRUE);
  gtk_widget_set_vexpand (sides, TRUE);
  gtk_widget_set_margin_start (sides, 4);
  gtk_widget_set_margin_end (sides, 4);
  for (guint i = 0; i < GAF_SPLIT_N_SIDES; i++)
    side_init (self, i, sides);
  gtk_widget_set_parent (sides, GTK_WIDGET (self));

  self->plot = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (self->plot), PLOT_HEIGHT);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->plot), plot_draw_func, self, NULL);
  gtk_widget_set_margin_start (self->plot, 12);
  gtk_widget_set_margin_end (self->plot, 12);
  gtk_widget_set_margin_bottom (self->plot, 8);
  gtk_widget_set_parent (self->plot, GTK_WIDGET (self));

  on_play_toggled (self->play_button, self);
  show_message (&self->side[GAF_SPLIT_RIGHT], _("Waiting for the engine…"));
}

/* ---- public ---------------------------------------------------------------------------------------- */

GafRunner *
gaf_split_view_get_runner (GafSplitView *self, guint side)
{
  g_return_val_if_fail (GAF_IS_SPLIT_VIEW (self), NULL);
  g_return_val_if_fail (side < GAF_SPLIT_N_SIDES, NULL);
  return self->side[side].runner;
}

void
gaf_split_view_set_method (GafSplitView *self, int choice)
{
  Side *right;

  g_return_if_fail (GAF_IS_SPLIT_VIEW (self));
  choice = (int) gaf_param_clamp (GAF_PARAM_METHOD, choice);
  if (choice == self->method)
    return;
  self->method = choice;
  set_dropdown (self);
  right = &self->side[GAF_SPLIT_RIGHT];
  if (right->runner != NULL)
    gaf_runner_set_param (right->runner, GAF_PARAM_METHOD, choice);   /* a new model of that method */
  update_caption (self, right);
  gtk_widget_queue_draw (self->plot);
}

int
gaf_split_view_get_method (GafSplitView *self)
{
  g_return_val_if_fail (GAF_IS_SPLIT_VIEW (self), 0);
  return MAX (self->method, 0);
}

void
gaf_split_view_hold (GafSplitView *self, double phase)
{
  g_return_if_fail (GAF_IS_SPLIT_VIEW (self));
  gtk_toggle_button_set_active (self->play_button, FALSE);
  gtk_adjustment_set_value (self->phase, CLAMP (phase, 0.0, 1.0));
}

GtkWidget *
gaf_split_view_get_canvas (GafSplitView *self, guint side)
{
  g_return_val_if_fail (GAF_IS_SPLIT_VIEW (self), NULL);
  g_return_val_if_fail (side < GAF_SPLIT_N_SIDES, NULL);
  return gtk_stack_get_visible_child (self->side[side].stack);
}

GtkWidget *
gaf_split_view_get_plot (GafSplitView *self)
{
  g_return_val_if_fail (GAF_IS_SPLIT_VIEW (self), NULL);
  return self->plot;
}

guint
gaf_split_view_get_kl_count (GafSplitView *self, guint side)
{
  const GafRun *run;

  g_return_val_if_fail (GAF_IS_SPLIT_VIEW (self), 0);
  g_return_val_if_fail (side < GAF_SPLIT_N_SIDES, 0);
  run = current_run (&self->side[side]);
  return run != NULL ? run->kl->len : 0;
}
