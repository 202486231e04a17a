/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-training-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-export.h"
#include "gaf-plot-data.h"
#include "gaf-run-plot.h"
#include "gaf-train-state.h"
#include "gaf-training-view.h"

const double gaf_training_raw_color[3] = { 0.55, 0.62, 0.72 };
const double gaf_training_smooth_color[3] = { 0.16, 0.44, 0.82 };

/* Memory of the smoothing over history bins: a window of about a thirtieth of the history, at least 5 bins. */
static double
smoothing (guint n_bins)
{
  return 1.0 - 1.0 / MAX (5.0, n_bins / 30.0);
}

struct _GafTrainingView {
  GtkWidget      parent_instance;
  GafFollower    follower;
  GafSnapshot   *snapshot;
  GafRunHistory *history;   /* not owned: the window's */
  char          *error;     /* why the runner failed, or NULL */
};

G_DEFINE_FINAL_TYPE (GafTrainingView, gaf_training_view, GTK_TYPE_WIDGET)

typedef struct {
  const char *caption;
  const char *value;
  const char *detail;   /* may be NULL; may have two lines */
} Stat;

static double
stat_width (cairo_t *cr, const GafTheme *theme, const Stat *st)
{
  g_autofree char *v = g_markup_escape_text (st->value, -1), *c = g_markup_escape_text (st->caption, -1);
  double w, width = 0;

  gaf_measure_text (cr, theme, c, 0.9, &w, NULL);
  width = MAX (width, w);
  gaf_measure_text (cr, theme, v, 1.25, &w, NULL);
  width = MAX (width, w);
  if (st->detail != NULL)
    {
      g_autofree char *d = g_markup_escape_text (st->detail, -1);
      gaf_measure_text (cr, theme, d, 0.8, &w, NULL);
      width = MAX (width, w);
    }
  return width;
}

static void
stat_block (cairo_t *cr, const GafTheme *theme, double x, double y, const Stat *st)
{
  g_autofree char *v = g_markup_escape_text (st->value, -1), *c = g_markup_escape_text (st->caption, -1);

  gaf_set_fg (cr, theme, 0.65);
  gaf_draw_text (cr, theme, c, x, y, 0, 0, 0.9);
  gaf_set_fg (cr, theme, 1.0);
  gaf_draw_text (cr, theme, v, x, y + 18, 0, 0, 1.25);
  if (st->detail != NULL)
    {
      g_autofree char *d = g_markup_escape_text (st->detail, -1);
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, d, x, y + 46, 0, 0, 0.8);
    }
}

/* The statistics in one row when they fit the width, else in rows that do; returns the height used. */
static double
draw_stats (cairo_t *cr, const GafTheme *theme, double x0, double y0, double width, const Stat *stats, guint n)
{
  const double gap = 20, row_h = 78;
  double x = x0, y = y0;

  for (guint i = 0; i < n; i++)
    {
      double w = MAX (stat_width (cr, theme, &stats[i]), 70);
      if (x > x0 && x + w > x0 + width)
        {
          x = x0;
          y += row_h;
        }
      stat_block (cr, theme, x, y, &stats[i]);
      x += w + gap;
    }
  return y + row_h - y0;
}

/* The loss (raw bins and smoothed) and the KL of every sampling round against the step, side by side
 * (stacked when narrow), both on log axes, with the parameter changes of the current run as markers and
 * the uniform-sampler KL and the finite-sample floor as reference lines. */
static void
draw_plots (GafTrainingView *self, cairo_t *cr, const GafTheme *theme, double x0, double y0, double width,
            double height)
{
  static const double dash[] = { 6.0, 4.0 }, dots[] = { 1.5, 3.0 };
  GafSnapshot *s = self->snapshot;
  const GafRound *last = s->payload->round != NULL && s->payload->round->samples > 0 ? s->payload->round : NULL;
  const GafRun *run = NULL;
  g_autofree GafRunPoint *raw = g_new (GafRunPoint, MAX (s->n_loss, 1));
  g_autofree GafRunPoint *smooth = g_new (GafRunPoint, MAX (s->n_loss, 1));
  g_autofree double *sm = g_new (double, MAX (s->n_loss, 1));
  GafPlotMarker *markers = NULL;
  guint n_markers = 0;
  gboolean side = width >= 640;
  double w = side ? (width - 24) / 2 : width, h = side ? height : (height - 12) / 2;
  g_autofree char *uniform = NULL, *floor = NULL;
  GafPlotSeries loss[2] = { 0 }, kl = { 0 };
  GafPlotReference refs[2];
  double x_max = MAX ((double) s->step, s->n_loss ? s->loss_x[s->n_loss - 1] : 0);

  if (self->history != NULL && gaf_run_history_get_n_runs (self->history) > 0)
    {
      run = gaf_run_history_get_run (self->history, gaf_run_history_get_n_runs (self->history) - 1);
      if (run->model_serial != s->model_serial)
        run = NULL;
    }
  if (run != NULL)
    markers = gaf_run_plot_markers (run, &n_markers);

  gaf_series_smooth (s->loss_y, s->n_loss, smoothing (s->n_loss), sm);
  for (guint i = 0; i < s->n_loss; i++)
    {
      raw[i] = (GafRunPoint) { s->loss_x[i], 0, s->loss_y[i] };
      smooth[i] = (GafRunPoint) { s->loss_x[i], 0, sm[i] };
    }
  loss[0] = (GafPlotSeries) { raw, s->n_loss, { 0 }, 1.2, FALSE };
  loss[1] = (GafPlotSeries) { smooth, s->n_loss, { 0 }, 2.8, FALSE };
  for (int j = 0; j < 3; j++)
    {
      loss[0].rgb[j] = gaf_training_raw_color[j];
      loss[1].rgb[j] = gaf_training_smooth_color[j];
    }
  gaf_run_plot_draw (cr, theme, x0, y0, w, h, _("<b>Loss</b> (raw bins, and smoothed in bold)"), _("training step"),
                     _("loss (log scale)"), TRUE, loss, 2, NULL, 0, markers, n_markers, x_max);

  uniform = g_strdup_printf (_("uniform sampler %.4f"), last ? last->kl_uniform : NAN);
  floor = g_strdup_printf (_("finite-sample floor %.4f"), last ? last->kl_floor : NAN);
  refs[0] = (GafPlotReference) { last ? last->kl_uniform : NAN, uniform, dash, 2 };
  refs[1] = (GafPlotReference) { last ? last->kl_floor : NAN, floor, dots, 2 };
  if (run != NULL)
    kl = (GafPlotSeries) { (const GafRunPoint *) run->kl->data, run->kl->len, { 0.85, 0.19, 0.16 }, 1.6, TRUE };
  gaf_run_plot_draw (cr, theme, side ? x0 + w + 24 : x0, side ? y0 : y0 + h + 12, w, h,
                     _("<b>KL of each sampling round</b> (samples against the target)"), _("training step"),
                     _("KL (nats, log scale)"), TRUE, &kl, run != NULL ? 1 : 0, refs, 2, markers, n_markers, x_max);
  gaf_run_plot_markers_free (markers, n_markers);
}

void
gaf_training_view_draw (GafTrainingView *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  GafSnapshot *s = self->snapshot;
  double left = 72, right = width - 28, top = 176, bottom = height - 52;
  double x = 28;
  g_autofree char *step = NULL, *rate = NULL, *elapsed = NULL, *loss = NULL, *loss_detail = NULL, *kl = NULL,
                   *kl_detail = NULL;

  g_return_if_fail (GAF_IS_TRAINING_VIEW (self));

  gaf_set_fg (cr, theme, 1.0);
  gaf_draw_text (cr, theme, _("<b>Training</b>"), x, 18, 0, 0, 1.3);
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text_wrapped (cr, theme,
                         _("Flow-matching loss: the squared Fisher–Rao norm of the velocity error, summed over rows, mean over the batch"),
                         x, 44, 0, 0, 0.85, width - 2 * x);

  if (s == NULL)
    return;
  step = g_strdup_printf ("%" G_GUINT64_FORMAT " / %.0f", s->step, s->params.value[GAF_PARAM_BUDGET]);
  rate = s->state == GAF_RUNNER_TRAINING ? g_strdup_printf ("%.1f", s->steps_per_second) : g_strdup ("–");
  elapsed = gaf_format_duration (s->elapsed);
  loss = isfinite (s->loss_smooth) ? g_strdup_printf ("%.4f", s->loss_smooth) : g_strdup ("–");
  if (s->skipped > 0)
    {
      guint n = (guint) MIN (s->skipped, G_MAXUINT);
      loss_detail = g_strdup_printf (ngettext ("%u step skipped: a loss spike", "%u steps skipped: loss spikes", n), n);
    }
  if (s->payload->round != NULL)
    {
      const GafRound *r = s->payload->round;
      kl = g_strdup_printf ("%.4f", r->kl);
      kl_detail = g_strdup_printf (_("uniform %.4f · floor %.4f\n%u samples at step %u"), r->kl_uniform,
                                   r->kl_floor, (guint) r->samples, (guint) r->step);
    }
  else
    kl = g_strdup ("–");
  if (s->state == GAF_RUNNER_EXACT)
    {
      g_free (step);
      step = g_strdup (_("exact field"));
    }
  {
    Stat stats[] = {
      { _("Step"), step, NULL },
      { _("Steps per second"), rate, NULL },
      { _("Training time"), elapsed, NULL },
      { _("Loss (smoothed)"), loss, loss_detail },
      { _("KL of the samples"), kl, kl_detail },
    };
    top = 78 + draw_stats (cr, theme, x, 78, width - 2 * x, stats, G_N_ELEMENTS (stats)) + 8;
  }
  if (gaf_training_view_get_error (self) != NULL)
    {
      /* Why training stopped and what to do, above the curves that led there. */
      g_autofree char *what = g_markup_printf_escaped ("<b>%s</b> %s\n%s", _("Training stopped:"), self->error,
                                                       _(gaf_train_state_info (GAF_TRAIN_STATE_FAILED)->hint));
      double h;

      cairo_set_source_rgb (cr, 0.75, 0.11, 0.16);
      h = gaf_draw_text_wrapped (cr, theme, what, x + 12, top + 8, 0, 0, 1.0, width - 2 * x - 24);
      cairo_set_line_width (cr, 1.5 * gaf_stroke (theme));
      cairo_rectangle (cr, x + 0.5, top + 0.5, width - 2 * x - 1, h + 16);
      cairo_stroke (cr);
      top += h + 16 + 12;
      if (s->n_loss == 0)
        return;   /* nothing to plot: the box says it all */
    }

  if (bottom - top < 60 || right - left < 80)
    return;
  if (s->n_loss == 0)
    {
      gaf_set_fg (cr, theme, 0.45);
      cairo_set_line_width (cr, 1.0);
      cairo_rectangle (cr, left + 0.5, top + 0.5, right - left - 1, bottom - top - 1);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 0.6);
      gaf_draw_text_wrapped (cr, theme, _(gaf_training_view_get_hint (self)), (left + right) / 2, (top + bottom) / 2,
                             0.5, 0.5, 1.0, right - left - 24);
      return;
    }
  draw_plots (self, cr, theme, x, top, width - 2 * x, height - top - 8);
}

char *
gaf_training_view_to_csv (GafTrainingView *self)
{
  GafSnapshot *s;
  GString *out = g_string_new ("step,loss,smoothed\n");
  g_autofree double *smooth = NULL;

  g_return_val_if_fail (GAF_IS_TRAINING_VIEW (self), NULL);
  s = self->snapshot;
  if (s == NULL)
    return g_string_free (out, FALSE);
  smooth = g_new (double, MAX (s->n_loss, 1));
  gaf_series_smooth (s->loss_y, s->n_loss, smoothing (s->n_loss), smooth);
  for (guint i = 0; i < s->n_loss; i++)
    {
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (out, "%.0f,%s,%s\n", s->loss_x[i],
                              g_ascii_formatd (a, sizeof a, "%.6g", s->loss_y[i]),
                              g_ascii_formatd (b, sizeof b, "%.6g", smooth[i]));
    }
  return g_string_free (out, FALSE);
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafTrainingView *self = GAF_TRAINING_VIEW (widget);

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = gaf_snapshot_ref (snapshot);
  gtk_widget_queue_draw (widget);
}

static void
draw_widget (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_training_view_draw (widget, cr, width, height, theme);
}

static void
gaf_training_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  gaf_snapshot_drawing (widget, snapshot, draw_widget);
}

static void
gaf_training_view_dispose (GObject *object)
{
  GafTrainingView *self = GAF_TRAINING_VIEW (object);

  gaf_follower_clear (&self->follower);
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  g_clear_pointer (&self->error, g_free);
  G_OBJECT_CLASS (gaf_training_view_parent_class)->dispose (object);
}

static void
gaf_training_view_class_init (GafTrainingViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_training_view_dispose;
  widget_class->snapshot = gaf_training_view_snapshot;
  gtk_widget_class_set_css_name (widget_class, "trainingview");
}

static void
gaf_training_view_init (GafTrainingView *self)
{
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, NULL);
  gtk_widget_set_size_request (GTK_WIDGET (self), 480, 320);
}

GtkWidget *
gaf_training_view_new (void)
{
  return g_object_new (GAF_TYPE_TRAINING_VIEW, NULL);
}

void
gaf_training_view_set_runner (GafTrainingView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_TRAINING_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
  gaf_follower_poll (&self->follower);
}

const char *
gaf_training_view_get_hint (GafTrainingView *self)
{
  GafRunner *runner;

  g_return_val_if_fail (GAF_IS_TRAINING_VIEW (self), NULL);
  if (gaf_training_view_get_error (self) != NULL)
    return gaf_train_state_info (GAF_TRAIN_STATE_FAILED)->hint;   /* under the failure */
  if (self->snapshot == NULL || self->snapshot->n_loss > 0)
    return NULL;
  runner = self->follower.runner;
  /* The row of the state table the window's button and status line show. */
  return gaf_train_state_info (gaf_train_state_from (self->snapshot, runner && gaf_runner_get_training (runner),
                                                     runner ? gaf_runner_get_params (runner) : NULL))->hint;
}

void
gaf_training_view_set_error (GafTrainingView *self, const char *message)
{
  g_return_if_fail (GAF_IS_TRAINING_VIEW (self));
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
gaf_training_view_get_error (GafTrainingView *self)
{
  g_return_val_if_fail (GAF_IS_TRAINING_VIEW (self), NULL);
  if (self->snapshot == NULL || self->snapshot->state != GAF_RUNNER_FAILED)
    return NULL;
  return self->error;
}

void
gaf_training_view_set_history (GafTrainingView *self, GafRunHistory *history)
{
  g_return_if_fail (GAF_IS_TRAINING_VIEW (self));
  self->history = history;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
