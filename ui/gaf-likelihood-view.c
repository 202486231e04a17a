/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-likelihood-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-error.h"
#include "gaf-file.h"
#include "gaf-image-io.h"
#include "gaf-label-map-experiment.h"
#include "gaf-likelihood-view.h"
#include "gaf-plot-data.h"

#define MARGIN 24.0
#define BINS   14

const double gaf_likelihood_bar_color[3] = { 0.33, 0.53, 0.78 };
const double gaf_likelihood_marker_color[3] = { 0.93, 0.45, 0.05 };

struct _GafLikelihoodView {
  GtkWidget             parent_instance;

  GtkButton            *open_button;
  GtkButton            *held_out_button;
  GtkButton            *sample_button;
  GtkButton            *rescore_button;
  GtkProgressBar       *progress;
  GtkRevealer          *error_revealer;
  GtkLabel             *error_label;
  GtkDrawingArea       *area;

  GafFollower           follower;
  GafSnapshot          *snapshot;
  GtkFileChooserNative *chooser;

  /* The map being scored. */
  guint16              *map;
  int                   map_height, map_width, map_classes;   /* map_classes: its largest label + 1 */
  char                 *map_name;
  guint64               query;          /* the runner's id for it, 0 before asking */
  guint64               query_model;    /* the model it was asked of */
  gboolean              have_score;
  double                bpd, bpd_se;
  GArray               *estimates;      /* double: bits/dim of the repeated scores of this map and model */
  guint64               requested_model;  /* the held-out maps were asked for this model */
  guint                 next_held_out, next_sample;
};

G_DEFINE_FINAL_TYPE (GafLikelihoodView, gaf_likelihood_view, GTK_TYPE_WIDGET)

guint
gaf_likelihood_spread (const double *values, guint n, double *mean, double *lo, double *hi, double *sd)
{
  double sum = 0, ss = 0;

  *mean = *lo = *hi = *sd = NAN;
  if (n == 0)
    return 0;
  *lo = *hi = values[0];
  for (guint i = 0; i < n; i++)
    {
      sum += values[i];
      *lo = MIN (*lo, values[i]);
      *hi = MAX (*hi, values[i]);
    }
  *mean = sum / n;
  for (guint i = 0; i < n; i++)
    ss += (values[i] - *mean) * (values[i] - *mean);
  *sd = n > 1 ? sqrt (ss / (n - 1)) : 0.0;
  return n;
}

static const GafLabelMapPayload *
maps (const GafSnapshot *s)
{
  return s != NULL ? gaf_label_map_payload (s->payload) : NULL;
}

static gboolean
has_image_model (const GafSnapshot *s)
{
  return maps (s) != NULL && maps (s)->height > 0 && s->model_kind != NULL;
}

static const GafLikelihoodScores *
scores (const GafSnapshot *s)
{
  return maps (s) != NULL ? maps (s)->likelihood : NULL;
}

/* 0 idle, 1 scoring the held-out maps, 2 scoring the asked map. */
static int
busy (const GafSnapshot *s)
{
  if (s == NULL || s->work == NULL)
    return 0;
  return g_str_equal (s->work, GAF_LIKELIHOOD_JOB_HELD_OUT) ? 1 : g_str_equal (s->work, GAF_LIKELIHOOD_JOB_MAP) ? 2 : 0;
}

static void
show_error (GafLikelihoodView *self, const char *message)
{
  gtk_label_set_text (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

static void
ask (GafLikelihoodView *self)
{
  if (self->follower.runner == NULL || self->snapshot == NULL || self->map == NULL)
    return;
  gaf_runner_call (self->follower.runner, gaf_label_maps_score_map,
                   gaf_map_query_new (self->map, self->map_height, self->map_width, &self->query), gaf_map_query_free);
  self->query_model = self->snapshot->model_serial;
  self->have_score = FALSE;
  gaf_follower_wake (&self->follower);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

/* Makes `labels` the map to score (copied) and asks for its score. */
static void
set_map (GafLikelihoodView *self, const guint16 *labels, int height, int width, const char *name)
{
  int top = 0;

  g_free (self->map);
  g_free (self->map_name);
  self->map = g_memdup2 (labels, sizeof (guint16) * height * width);
  self->map_height = height;
  self->map_width = width;
  for (int i = 0; i < height * width; i++)
    top = MAX (top, labels[i]);
  self->map_classes = top + 1;
  self->map_name = g_strdup (name);
  show_error (self, NULL);
  g_array_set_size (self->estimates, 0);
  ask (self);
}

static void
update_controls (GafLikelihoodView *self)
{
  const GafSnapshot *s = self->snapshot;
  gboolean images = has_image_model (s);
  const GafLikelihoodScores *l = images ? scores (s) : NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->open_button), images);
  gtk_widget_set_sensitive (GTK_WIDGET (self->held_out_button), l != NULL && l->n_held_out > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sample_button), images && gaf_payload_trajectories (s->payload) != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->rescore_button), images && busy (s) == 0);
  gtk_widget_set_visible (GTK_WIDGET (self->progress), images && busy (s) != 0);
  if (images && busy (s) != 0)
    {
      g_autofree char *text = NULL;
      if (busy (s) == 1)
        /* Translators: the number of held-out maps, then a percentage of the work done */
        text = g_strdup_printf (_("Scoring %d held-out maps… %.0f %%"), GAF_LIKELIHOOD_HELD_OUT,
                                100 * s->work_fraction);
      else
        /* Translators: a percentage of the work done */
        text = g_strdup_printf (_("Scoring the map… %.0f %%"), 100 * s->work_fraction);
      gtk_progress_bar_set_fraction (self->progress, s->work_fraction);
      gtk_progress_bar_set_text (self->progress, text);
    }
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafLikelihoodView *self = GAF_LIKELIHOOD_VIEW (widget);
  const GafLikelihoodScores *l;

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = gaf_snapshot_ref (snapshot);
  l = scores (snapshot);
  if (has_image_model (snapshot))
    {
      /* The held-out maps, once per model, when the view is there to show them. */
      if ((l == NULL || l->n_held_out == 0) && busy (snapshot) != 1 &&
          self->requested_model != snapshot->model_serial && gtk_widget_get_mapped (widget))
        {
          gaf_runner_call (self->follower.runner, gaf_label_maps_score_held_out, GINT_TO_POINTER (FALSE), NULL);
          self->requested_model = snapshot->model_serial;
        }
      /* A new model: the map is scored again if it fits. */
      if (self->map != NULL && self->query != 0 && snapshot->model_serial != self->query_model)
        {
          g_array_set_size (self->estimates, 0);
          if (self->map_height == maps (snapshot)->height && self->map_width == maps (snapshot)->width &&
              self->map_classes <= maps (snapshot)->parent.c)
            ask (self);
          else
            {
              g_clear_pointer (&self->map, g_free);
              self->query = 0;
            }
        }
      if (l != NULL && self->query != 0 && l->query == self->query && l->model == self->query_model &&
          !self->have_score)
        {
          self->have_score = TRUE;
          self->bpd = l->query_bpd;
          self->bpd_se = l->query_bpd_se;
          /* One estimate is noisy far beyond its importance-sampling error (the Hutchinson divergence and
           * the proposals vary): the map is scored GAF_LIKELIHOOD_REPEATS times and the spread shown. */
          if (isfinite (l->query_bpd))
            g_array_append_val (self->estimates, l->query_bpd);
          if (self->estimates->len > 0 && self->estimates->len < GAF_LIKELIHOOD_REPEATS)
            ask (self);
        }
    }
  update_controls (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->area));
}

/* ---- drawing ---------------------------------------------------------------------------------------- */

static void
draw_map (GafLikelihoodView *self, cairo_t *cr, const GafTheme *theme, double x, double y, double side)
{
  const GafSnapshot *s = self->snapshot;
  double cell = floor (side / MAX (self->map_height, self->map_width));

  if (cell < 1)
    cell = side / MAX (self->map_height, self->map_width);
  for (int i = 0; i < self->map_height; i++)
    for (int j = 0; j < self->map_width; j++)
      {
        const guint8 *rgb = maps (s)->palette + 3 * MIN ((int) self->map[i * self->map_width + j], maps (s)->parent.c - 1);
        cairo_rectangle (cr, x + j * cell, y + i * cell, cell, cell);
        cairo_set_source_rgb (cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
        cairo_fill (cr);
      }
  gaf_set_fg (cr, theme, 0.4);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, x - 0.5, y - 0.5, self->map_width * cell + 1, self->map_height * cell + 1);
  cairo_stroke (cr);
}

static void
draw_histogram (GafLikelihoodView *self, cairo_t *cr, const GafTheme *theme, double x0, double y0, double x1,
                double y1)
{
  const GafLikelihoodScores *l = scores (self->snapshot);
  gboolean marker = self->have_score && isfinite (self->bpd);
  g_autofree double *values = g_new (double, l->n_held_out + 1);
  guint counts[BINS], n = 0, top = 1, unrounded = 0;
  double ticks[12];
  guint n_ticks;
  GafAxis ax;

  for (guint i = 0; i < l->n_held_out; i++)
    {
      if (isfinite (l->held_out_bpd[i]))
        values[n++] = l->held_out_bpd[i];
      else
        unrounded++;
    }
  if (marker)
    values[n] = self->bpd;
  gaf_axis_fit (&ax, values, n + (marker ? 1 : 0), FALSE);
  gaf_histogram_counts (values, n, ax.min, ax.max, BINS, counts);
  for (guint b = 0; b < BINS; b++)
    top = MAX (top, counts[b]);

  /* Bars, then the axis with its ticks. */
  gaf_set_rgb (cr, gaf_likelihood_bar_color, 1.0);
  for (guint b = 0; b < BINS; b++)
    if (counts[b] > 0)
      {
        double bx0 = gaf_axis_map (&ax, ax.min + (ax.max - ax.min) * b / BINS, x0, x1);
        double bx1 = gaf_axis_map (&ax, ax.min + (ax.max - ax.min) * (b + 1) / BINS, x0, x1);
        double h = (y1 - y0) * counts[b] / top;
        cairo_rectangle (cr, bx0 + 1, y1 - h, bx1 - bx0 - 2, h);
      }
  cairo_fill (cr);
  gaf_set_fg (cr, theme, 0.6);
  cairo_set_line_width (cr, 1.0);
  cairo_move_to (cr, x0, y1 + 0.5);
  cairo_line_to (cr, x1, y1 + 0.5);
  cairo_stroke (cr);
  n_ticks = gaf_axis_ticks (&ax, ticks, G_N_ELEMENTS (ticks));
  for (guint i = 0; i < n_ticks; i++)
    {
      double tx = gaf_axis_map (&ax, ticks[i], x0, x1);
      g_autofree char *label = gaf_format_value (ticks[i]);
      cairo_move_to (cr, tx + 0.5, y1);
      cairo_line_to (cr, tx + 0.5, y1 + 5);
      cairo_stroke (cr);
      gaf_draw_text (cr, theme, label, tx, y1 + 8, 0.5, 0.0, 0.85);
    }
  /* The y axis: counts of maps per bar, whole numbers only. */
  {
    GafAxis ay = { 0.0, (double) top, FALSE };
    double yt[12];
    guint n_yt = gaf_axis_ticks (&ay, yt, 6);

    cairo_move_to (cr, x0 - 0.5, y0);
    cairo_line_to (cr, x0 - 0.5, y1);
    cairo_stroke (cr);
    for (guint i = 0; i < n_yt; i++)
      {
        double ty;
        g_autofree char *label = NULL;
        if (yt[i] != floor (yt[i]))
          continue;
        ty = y1 - (y1 - y0) * yt[i] / top;
        label = gaf_format_value (yt[i]);
        cairo_move_to (cr, x0 - 5, ty + 0.5);
        cairo_line_to (cr, x0, ty + 0.5);
        cairo_stroke (cr);
        gaf_draw_text (cr, theme, label, x0 - 8, ty, 1.0, 0.5, 0.85);
      }
    /* Translators: the y axis of the held-out histogram: how many maps fall in a bar */
    gaf_draw_text_vertical (cr, theme, _("maps per bar"), x0 - 34, (y0 + y1) / 2, 0.5, 0.85);
  }
  gaf_set_fg (cr, theme, 0.75);
  {
    g_autofree char *caption = NULL;
    /* Translators: the x axis of the histogram; the count of held-out maps and the step of the weights */
    caption = g_strdup_printf (_("bits/dim of %u held-out maps (weights of step %u)"), l->n_held_out, (guint) l->step);
    gaf_draw_text (cr, theme, caption, (x0 + x1) / 2, y1 + 28, 0.5, 0.0, 0.9);
  }
  if (unrounded > 0)
    {
      g_autofree char *note = g_strdup_printf (_("%u held-out maps not hit by any proposal (too unlikely to score)"),
                                               unrounded);
      gaf_set_fg (cr, theme, 0.6);
      gaf_draw_text (cr, theme, note, x1, y0 - 6, 1.0, 1.0, 0.85);
    }

  if (marker)
    {
      double mx = round (gaf_axis_map (&ax, self->bpd, x0, x1)) + 0.5;
      double above = gaf_fraction_above (l->held_out_bpd, l->n_held_out, self->bpd);
      g_autofree char *text = NULL;

      gaf_set_rgb (cr, gaf_likelihood_marker_color, 1.0);
      cairo_set_line_width (cr, 3.0);
      cairo_move_to (cr, mx, y0);
      cairo_line_to (cr, mx, y1);
      cairo_stroke (cr);
      /* Translators: a share in percent of the held-out maps with a higher bits/dim (less likely) */
      text = g_strdup_printf (_("<b>this map</b>: more likely than %.0f %% of the held-out maps"), 100 * above);
      gaf_set_fg (cr, theme, 0.95);
      {
        /* over the marker, moved in as far as the text needs to stay over the plot and its y axis */
        double tw, th, left = x0 - 40, half;
        gaf_measure_text (cr, theme, text, 0.95, &tw, &th);
        half = MIN (tw, x1 - left) / 2;
        gaf_draw_text (cr, theme, text, CLAMP (mx, left + half, x1 - half), y0 - 6, 0.5, 1.0, 0.95);
      }
    }
}

void
gaf_likelihood_view_draw (GafLikelihoodView *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  const GafSnapshot *s;
  const GafLikelihoodScores *l;
  double top = 76, col, side, hx0;

  g_return_if_fail (GAF_IS_LIKELIHOOD_VIEW (self));
  s = self->snapshot;
  gaf_set_fg (cr, theme, 1.0);
  gaf_draw_text (cr, theme, _("<b>Likelihood of a label map</b>"), MARGIN - 8, 8, 0, 0, 1.35);
  if (!has_image_model (s))
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_placeholder (cr, theme, _("Choose the label-map experiment: its image model scores the maps."), width, height);
      return;
    }
  if (gaf_runner_params_method (&s->params) != GAF_METHOD_GAF)
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text_wrapped (cr, theme, _("The likelihood is GAF's (the density of its flow and the rounding model): a "
                                          "jump flow has none here. Choose GAF as the method to score maps."),
                             MARGIN - 8, height / 2.0, 0, 0.5, 1.0, width - 2 * (MARGIN - 8));
      return;
    }
  l = scores (s);
  {
    g_autofree char *detail = NULL;
    /* Translators: T, K and the meaning of bits/dim */
    detail = g_strdup_printf (_("−log₂ p(map) per pixel under the rounding model at T = %g: %d importance samples, "
                                "Hutchinson's divergence, averaged weights"), GAF_LIKELIHOOD_T_END, GAF_LIKELIHOOD_PROPOSALS);
    gaf_set_fg (cr, theme, 0.75);
    top = MAX (top, 36 + gaf_draw_text_wrapped (cr, theme, detail, MARGIN - 8, 36, 0, 0, 0.9,
                                                width - 2 * (MARGIN - 8)) + 20);
  }

  /* The map and its score on the left, the held-out histogram on the right. */
  col = MIN (0.34 * width, 300.0);
  side = MIN (col - MARGIN, height - top - 130);
  if (self->map != NULL && side > 16)
    {
      g_autofree char *name = g_markup_escape_text (self->map_name ? self->map_name : "", -1);
      g_autofree char *score = NULL, *error = NULL;

      draw_map (self, cr, theme, MARGIN, top, side);
      gaf_set_fg (cr, theme, 0.8);
      gaf_draw_text (cr, theme, name, MARGIN, top + side + 10, 0, 0, 0.95);
      if (!self->have_score)
        score = g_strdup_printf ("<b>%s</b>", _("scoring…"));
      else if (isfinite (self->bpd))
        {
          double mean, lo, hi, sd;
          guint n = gaf_likelihood_spread ((const double *) self->estimates->data, self->estimates->len,
                                           &mean, &lo, &hi, &sd);
          if (n >= 2)
            {
              /* Translators: bits per dimension, the mean of repeated estimates */
              score = g_strdup_printf (_("<b>%.2f bits/dim</b>"), mean);
              /* Translators: how many estimates of one map, their range and standard deviation */
              error = g_strdup_printf (_("%u estimates from %.2f to %.2f (s.d. %.2f);\none alone has ± %.3f from importance sampling"),
                                       n, lo, hi, sd, self->bpd_se);
            }
          else
            {
              /* Translators: bits per dimension */
              score = g_strdup_printf (_("<b>%.3f bits/dim</b>"), self->bpd);
              /* Translators: the importance-sampling standard error of a bits/dim */
              error = g_strdup_printf (_("± %.3f (importance sampling only;\nscoring it again for the spread…)"), self->bpd_se);
            }
        }
      else
        score = g_strdup_printf ("<b>%s</b>", _("too unlikely: no proposal\nrounded to this map"));
      gaf_set_fg (cr, theme, 1.0);
      gaf_draw_text (cr, theme, score, MARGIN, top + side + 34, 0, 0, 1.3);
      if (error != NULL)
        {
          gaf_set_fg (cr, theme, 0.7);
          gaf_draw_text_wrapped (cr, theme, error, MARGIN, top + side + 64, 0, 0, 0.9, col - MARGIN);
        }
    }
  else
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, _("Open a label map (PGM or PNG),\ndrop one here, or take a\nheld-out or a sampled map."),
                     MARGIN, top + 20, 0, 0, 1.0);
    }

  hx0 = col + 2 * MARGIN;
  if (l != NULL && l->n_held_out > 0 && width - hx0 > 120)
    draw_histogram (self, cr, theme, hx0 + 44, top + 40, width - MARGIN, height - 70);   /* the y axis left of it */
  else if (width - hx0 > 120)
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, busy (s) == 1 ? _("Scoring the held-out maps…")
                                                        : _("The held-out maps are scored when this view is shown."),
                     (hx0 + width) / 2, (top + height) / 2, 0.5, 0.5, 1.0);
    }
}

static void
area_draw (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  GafTheme theme = { 0 };

  gaf_theme_from_widget (&theme, GTK_WIDGET (area));
  gaf_likelihood_view_draw (data, cr, width, height, &theme);
  gaf_theme_clear (&theme);
}

/* ---- input ------------------------------------------------------------------------------------------- */

static gboolean open_file (GafLikelihoodView *self, GFile *file, GError **error);

/* Every way a map comes in (the chooser, a drop, --map) shows its error in this pane, with what to do. */
gboolean
gaf_likelihood_view_open_file (GafLikelihoodView *self, GFile *file, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *message = NULL;

  g_return_val_if_fail (GAF_IS_LIKELIHOOD_VIEW (self), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  if (open_file (self, file, &local))
    return TRUE;
  message = g_strdup_printf (_("%s Open a PGM or PNG label map whose pixel values are the classes (0, 1, …), of the "
                               "size of the model's maps, or take a held-out or a sampled map."), local->message);
  show_error (self, message);
  g_propagate_error (error, g_steal_pointer (&local));
  return FALSE;
}

static gboolean
open_file (GafLikelihoodView *self, GFile *file, GError **error)
{
  const GafSnapshot *s;
  g_autofree char *contents = NULL, *name = NULL;
  GafLabelImage image = { 0 };
  g_autofree char *path = NULL;
  gsize length;
  gboolean ok = FALSE;

  gaf_follower_poll (&self->follower);
  s = self->snapshot;
  name = g_file_get_basename (file);
  if (!has_image_model (s))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s",
                   _("Choose the label-map experiment first: its image model scores the maps."));
      return FALSE;
    }
  path = g_file_get_path (file);
  /* A local file through gaf-file.h: a FIFO or a device dropped on the view is refused, never waited on. */
  if ((path != NULL ? !gaf_file_read_all (path, "label map", GAF_LABEL_IMAGE_MAX_FILE, &contents, &length, error)
                    : !g_file_load_contents (file, NULL, &contents, &length, NULL, error)) ||
      !gaf_label_image_decode ((const guint8 *) contents, length, name, &image, error))
    return FALSE;
  if (image.width != maps (s)->width || image.height != maps (s)->height)
    g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                 _("“%s” is %d × %d pixels; the model's maps are %d × %d."), name, image.width, image.height,
                 maps (s)->width, maps (s)->height);
  else if ((int) image.max_value >= maps (s)->parent.c)
    g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                 _("“%s” has the class %u; the model knows %d classes (0 to %d)."), name, image.max_value, maps (s)->parent.c,
                 maps (s)->parent.c - 1);
  else
    {
      set_map (self, image.values, image.height, image.width, name);
      ok = TRUE;
    }
  gaf_label_image_clear (&image);
  return ok;
}

gboolean
gaf_likelihood_view_score_held_out (GafLikelihoodView *self, guint index)
{
  const GafLikelihoodScores *l;
  g_autofree char *name = NULL;

  g_return_val_if_fail (GAF_IS_LIKELIHOOD_VIEW (self), FALSE);
  l = scores (self->snapshot);
  if (l == NULL || index >= l->n_held_out)
    return FALSE;
  /* Translators: a map of the held-out set, numbered */
  name = g_strdup_printf (_("held-out map %u"), index + 1);
  set_map (self, l->held_out + (gsize) index * l->height * l->width, l->height, l->width, name);
  return TRUE;
}

gboolean
gaf_likelihood_view_get_bits_per_dim (GafLikelihoodView *self, double *bpd)
{
  g_return_val_if_fail (GAF_IS_LIKELIHOOD_VIEW (self), FALSE);
  if (!self->have_score)
    return FALSE;
  *bpd = self->bpd;
  return TRUE;
}

static void
open_from (GafLikelihoodView *self, GFile *file)
{
  g_autoptr(GError) error = NULL;

  gaf_likelihood_view_open_file (self, file, &error);
}

static void
on_chooser_response (GtkNativeDialog *native, int response, GafLikelihoodView *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native));
      if (file != NULL)
        open_from (self, file);
    }
  g_clear_object (&self->chooser);
}

static void
on_open_clicked (GafLikelihoodView *self)
{
  GtkFileFilter *filter;
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));

  if (self->chooser != NULL)
    return;
  self->chooser = gtk_file_chooser_native_new (_("Open a Label Map"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                               GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _("Label maps (PGM, PNG)"));
  gtk_file_filter_add_pattern (filter, "*.pgm");
  gtk_file_filter_add_pattern (filter, "*.png");
  gtk_file_filter_add_pattern (filter, "*.PGM");
  gtk_file_filter_add_pattern (filter, "*.PNG");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  g_object_unref (filter);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_chooser_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
on_held_out_clicked (GafLikelihoodView *self)
{
  const GafLikelihoodScores *l = scores (self->snapshot);

  if (l != NULL && l->n_held_out > 0)
    gaf_likelihood_view_score_held_out (self, self->next_held_out++ % l->n_held_out);
}

static void
on_sample_clicked (GafLikelihoodView *self)
{
  const GafSnapshot *s = self->snapshot;
  const GafTrajectories *tr = s ? gaf_payload_trajectories (s->payload) : NULL;
  g_autofree char *name = NULL;
  guint count, k;

  if (!has_image_model (s) || tr == NULL || tr->n != maps (s)->height * maps (s)->width)
    return;
  count = tr->n_rows / tr->n;
  k = self->next_sample++ % count;
  /* Translators: a map drawn by the model, numbered as in the label-map view, with the step of its weights */
  name = g_strdup_printf (_("sampled map %u (step %u)"), k + 1, (guint) tr->step);
  set_map (self, tr->labels + (gsize) k * tr->n, maps (s)->height, maps (s)->width, name);
}

static void
on_rescore_clicked (GafLikelihoodView *self)
{
  if (self->follower.runner == NULL)
    return;
  gaf_runner_call (self->follower.runner, gaf_label_maps_score_held_out, GINT_TO_POINTER (TRUE), NULL);
  if (self->snapshot != NULL)
    self->requested_model = self->snapshot->model_serial;
  gaf_follower_wake (&self->follower);
}

static gboolean
on_drop (GtkDropTarget *target, const GValue *value, double x, double y, GafLikelihoodView *self)
{
  g_autoptr(GError) error = NULL;

  if (!G_VALUE_HOLDS (value, G_TYPE_FILE))
    return FALSE;
  if (!gaf_likelihood_view_open_file (self, g_value_get_object (value), &error))
    {
      return FALSE;
    }
  return TRUE;
}

/* ---- GObject ----------------------------------------------------------------------------------------- */

static void
gaf_likelihood_view_dispose (GObject *object)
{
  GafLikelihoodView *self = GAF_LIKELIHOOD_VIEW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  gaf_follower_clear (&self->follower);
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_LIKELIHOOD_VIEW);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_likelihood_view_parent_class)->dispose (object);
}

static void
gaf_likelihood_view_finalize (GObject *object)
{
  GafLikelihoodView *self = GAF_LIKELIHOOD_VIEW (object);

  g_free (self->map);
  g_free (self->map_name);
  g_clear_pointer (&self->estimates, g_array_unref);
  G_OBJECT_CLASS (gaf_likelihood_view_parent_class)->finalize (object);
}

static void
gaf_likelihood_view_class_init (GafLikelihoodViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_likelihood_view_dispose;
  object_class->finalize = gaf_likelihood_view_finalize;

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-likelihood-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, open_button);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, held_out_button);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, sample_button);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, rescore_button);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, progress);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, error_label);
  gtk_widget_class_bind_template_child (widget_class, GafLikelihoodView, area);
  gtk_widget_class_bind_template_callback (widget_class, on_open_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_held_out_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_sample_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_rescore_clicked);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "likelihoodview");
}

static void
gaf_likelihood_view_init (GafLikelihoodView *self)
{
  GtkDropTarget *target;

  self->estimates = g_array_new (FALSE, FALSE, sizeof (double));
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_drawing_area_set_draw_func (self->area, area_draw, self, NULL);
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, NULL);
  /* A label map dropped anywhere on the view is scored. */
  target = gtk_drop_target_new (G_TYPE_FILE, GDK_ACTION_COPY);
  g_signal_connect (target, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (target));
  update_controls (self);
}

GtkWidget *
gaf_likelihood_view_new (void)
{
  return g_object_new (GAF_TYPE_LIKELIHOOD_VIEW, NULL);
}

void
gaf_likelihood_view_set_runner (GafLikelihoodView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_LIKELIHOOD_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
}

char *
gaf_likelihood_view_to_csv (GafLikelihoodView *self)
{
  GString *out = g_string_new ("map,bits_per_dim\n");
  const GafLikelihoodScores *l;
  char v[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (GAF_IS_LIKELIHOOD_VIEW (self), NULL);
  l = scores (self->snapshot);
  for (guint i = 0; l != NULL && i < l->n_held_out; i++)
    g_string_append_printf (out, "held-out %u,%s\n", i + 1, g_ascii_formatd (v, sizeof v, "%.6g", l->held_out_bpd[i]));
  if (self->have_score)
    {
      g_autofree char *name = g_strdelimit (g_strdup (self->map_name ? self->map_name : "map"), ",\n", ' ');
      g_string_append_printf (out, "%s,%s\n", name, g_ascii_formatd (v, sizeof v, "%.6g", self->bpd));
    }
  return g_string_free (out, FALSE);
}

GtkWidget *
gaf_likelihood_view_get_area (GafLikelihoodView *self)
{
  g_return_val_if_fail (GAF_IS_LIKELIHOOD_VIEW (self), NULL);
  return GTK_WIDGET (self->area);
}
