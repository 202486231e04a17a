/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-label-map-canvas"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-export.h"
#include "gaf-label-map-canvas.h"
#include "gaf-label-map-experiment.h"

#define CAPTION_HEIGHT 64.0
#define LEGEND_HEIGHT  48.0
#define MARGIN         16.0

struct _GafLabelMapCanvas {
  GtkWidget     parent_instance;

  GafSnapshot  *snapshot;
  double        time;
  gboolean      show_entropy;
  int           selected_row;

  GafLabelGrid  grid;            /* of the last draw, for clicks */
  gboolean      grid_valid;
  guint         draws;
  char         *error;           /* why the runner failed (the data could not be read), or NULL */
};

G_DEFINE_FINAL_TYPE (GafLabelMapCanvas, gaf_label_map_canvas, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TIME,
  PROP_SHOW_ENTROPY,
  PROP_SELECTED_ROW,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const GafLabelMapPayload *
payload_of (GafLabelMapCanvas *self)
{
  return self->snapshot != NULL ? gaf_label_map_payload (self->snapshot->payload) : NULL;
}

static const GafTrajectories *
maps_of (GafLabelMapCanvas *self)
{
  const GafLabelMapPayload *s = payload_of (self);
  const GafTrajectories *tr = s ? gaf_payload_trajectories (&s->parent) : NULL;

  if (s == NULL || s->height <= 0 || s->palette == NULL || tr == NULL || tr->n != s->height * s->width ||
      tr->c != s->parent.c)
    return NULL;
  return tr;
}

static void
draw_maps (GafLabelMapCanvas *self, cairo_t *cr, const GafTheme *theme, const GafTrajectories *tr)
{
  const GafLabelMapPayload *s = payload_of (self);
  int k = (int) (tr->n_rows / tr->n), h = s->height, w = s->width;
  double t = CLAMP (self->time, 0.0, tr->times[tr->n_times - 1]);
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h * k);
  guchar *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  g_autofree guint32 *colors = g_new (guint32, tr->n_rows);

  /* All maps stacked in one image, one image pixel per map pixel, scaled up without smoothing. */
  gaf_label_maps_colors (tr, s->palette, t, self->show_entropy, colors);
  cairo_surface_flush (surface);
  for (int m = 0; m < k; m++)
    for (int y = 0; y < h; y++)
      memcpy (data + (gsize) (m * h + y) * stride, colors + (gsize) m * tr->n + (gsize) y * w, sizeof (guint32) * w);
  cairo_surface_mark_dirty (surface);

  for (int m = 0; m < k; m++)
    {
      double x0, y0;
      gaf_label_grid_pixel_origin (&self->grid, m, 0, &x0, &y0);
      cairo_save (cr);
      cairo_rectangle (cr, x0, y0, w * self->grid.cell, h * self->grid.cell);
      cairo_clip (cr);
      cairo_translate (cr, x0, y0);
      cairo_scale (cr, self->grid.cell, self->grid.cell);
      cairo_set_source_surface (cr, surface, 0, -m * h);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
      cairo_paint (cr);
      cairo_restore (cr);
      /* A hairline frame: maps whose border pixels match the background stay readable. */
      gaf_set_fg (cr, theme, 0.25);
      cairo_set_line_width (cr, 1.0);
      cairo_rectangle (cr, x0 - 0.5, y0 - 0.5, w * self->grid.cell + 1, h * self->grid.cell + 1);
      cairo_stroke (cr);
    }
  cairo_surface_destroy (surface);

  if (self->selected_row >= 0 && (guint) self->selected_row < tr->n_rows)
    {
      double x, y, cell = self->grid.cell;
      gaf_label_grid_pixel_origin (&self->grid, self->selected_row / tr->n, self->selected_row % tr->n, &x, &y);
      /* Two rings, dark in light: visible on any pixel colour. */
      cairo_set_line_width (cr, 2.0);
      cairo_set_source_rgb (cr, 1.0, 0.55, 0.0);
      cairo_rectangle (cr, x - 2, y - 2, cell + 4, cell + 4);
      cairo_stroke (cr);
      cairo_set_line_width (cr, 1.0);
      cairo_set_source_rgb (cr, 0.0, 0.0, 0.0);
      cairo_rectangle (cr, x - 3.5, y - 3.5, cell + 7, cell + 7);
      cairo_stroke (cr);
    }
}

static void
draw_legend (GafLabelMapCanvas *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  const GafLabelMapPayload *s = payload_of (self);
  double x = MARGIN, y = height - LEGEND_HEIGHT / 2;

  if (self->show_entropy)
    {
      /* A gray ramp from decided (black) to undecided (white). */
      cairo_pattern_t *ramp = cairo_pattern_create_linear (x, 0, x + 160, 0);
      cairo_pattern_add_color_stop_rgb (ramp, 0, 0, 0, 0);
      cairo_pattern_add_color_stop_rgb (ramp, 1, 1, 1, 1);
      gaf_set_fg (cr, theme, 0.9);
      x += gaf_draw_text (cr, theme, _("normalised entropy of W(t):"), x, y, 0, 0.5, 0.9) + 10;
      gaf_draw_text (cr, theme, "0", x, y, 0, 0.5, 0.9);
      x += 14;
      cairo_rectangle (cr, x, y - 8, 160, 16);
      cairo_set_source (cr, ramp);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.5);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
      cairo_pattern_destroy (ramp);
      gaf_set_fg (cr, theme, 0.9);
      gaf_draw_text (cr, theme, _("1 (undecided)"), x + 168, y, 0, 0.5, 0.9);
      return;
    }
  /* Every class, on as many lines as it takes. */
  y = height - LEGEND_HEIGHT + 14;
  for (int k = 0; k < s->parent.c; k++)
    {
      g_autofree char *name = gaf_class_name (&s->parent, k);
      double tw, th;

      gaf_measure_text (cr, theme, name, 0.9, &tw, &th);
      if (x > MARGIN && x + 22 + tw > width - MARGIN)
        {
          x = MARGIN;
          y += 22;
        }
      cairo_rectangle (cr, x + 0.5, y - 7.5, 15, 15);
      cairo_set_source_rgb (cr, s->palette[k * 3] / 255.0, s->palette[k * 3 + 1] / 255.0, s->palette[k * 3 + 2] / 255.0);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.6);
      cairo_set_line_width (cr, 1);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 0.9);
      x += 22 + gaf_draw_text (cr, theme, name, x + 22, y, 0, 0.5, 0.9) + 18;
    }
}

void
gaf_label_map_canvas_draw (GafLabelMapCanvas *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  const GafLabelMapPayload *s;
  const GafTrajectories *tr;
  g_autofree char *title = NULL, *detail = NULL;

  g_return_if_fail (GAF_IS_LABEL_MAP_CANVAS (self));
  s = payload_of (self);
  tr = maps_of (self);
  self->grid_valid = FALSE;

  gaf_set_fg (cr, theme, 1.0);
  if (self->snapshot == NULL || self->snapshot->params.experiment != &gaf_label_map_experiment)
    {
      gaf_draw_text (cr, theme, _("<b>Label maps</b>"), MARGIN, 10, 0, 0, 1.35);
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_placeholder (cr, theme, _("Choose the label-map experiment to see samples form out of noise."), width, height);
      return;
    }
  if (self->snapshot->state == GAF_RUNNER_FAILED && self->error != NULL)
    {
      /* The error where the maps would be, with what to do about it. */
      g_autofree char *what = g_markup_printf_escaped ("<b>%s</b>\n%s\n\n%s", _("These label maps cannot be used"),
                                                       self->error,
                                                       _("Choose other data under Data in the parameters, or fix "
                                                         "the folder (PGM or PNG files of one size whose pixel values "
                                                         "are the classes) and choose it again."));
      gaf_draw_text (cr, theme, _("<b>Label maps</b>"), MARGIN, 10, 0, 0, 1.35);
      cairo_set_source_rgb (cr, 0.75, 0.11, 0.16);
      gaf_draw_text_wrapped (cr, theme, what, width / 2.0, height / 2.0, 0.5, 0.5, 1.0, MIN (width - 2 * MARGIN, 560));
      return;
    }
  if (tr == NULL)
    {
      gaf_draw_text (cr, theme, _("<b>Label maps</b>"), MARGIN, 10, 0, 0, 1.35);
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, g_strcmp0 (self->snapshot->work, GAF_RUNNER_WORK_LOADING) == 0 ? _("Reading the label maps…") : _("Waiting for the first samples…"),
                     width / 2.0, height / 2.0, 0.5, 0.5, 1.0);
      return;
    }

  {
    /* Translators: the end time of the flow */
    g_autofree char *of = g_strdup_printf (_("of T = %g"), tr->times[tr->n_times - 1]);
    title = g_strdup_printf ("<b>t = %.2f</b>  <span alpha='70%%'>%s</span>", self->time, of);
    g_autofree char *spec = g_markup_escape_text (s->data, -1);
    /* Translators: maps, their size, classes, the training step, the data */
    detail = g_strdup_printf (_("%u maps of %d × %d pixels, %d classes · weights of step %u · %s"),
                              tr->n_rows / tr->n, s->width, s->height, s->parent.c, (guint) tr->step, spec);
  }
  gaf_draw_text (cr, theme, title, MARGIN, 10, 0, 0, 1.35);
  gaf_set_fg (cr, theme, 0.75);
  /* wrapped inside the pane: the data's spec is the last part and the first to be cut on a projector */
  gaf_draw_text_wrapped (cr, theme, detail, MARGIN, 38, 0, 0, 0.9, width - 2 * MARGIN);

  gaf_label_grid_fit (&self->grid, (int) (tr->n_rows / tr->n), s->height, s->width, MARGIN, CAPTION_HEIGHT,
                      width - 2 * MARGIN, height - CAPTION_HEIGHT - LEGEND_HEIGHT);
  if (self->grid.cell <= 0)
    return;
  self->grid_valid = TRUE;
  draw_maps (self, cr, theme, tr);
  draw_legend (self, cr, width, height, theme);
}

static void
draw_widget (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_label_map_canvas_draw (widget, cr, width, height, theme);
}

static void
gaf_label_map_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  if (gaf_snapshot_drawing (widget, snapshot, draw_widget))
    GAF_LABEL_MAP_CANVAS (widget)->draws++;
}

gboolean
gaf_label_map_canvas_select_at (GafLabelMapCanvas *self, double x, double y)
{
  const GafTrajectories *tr;
  int map, pixel;

  g_return_val_if_fail (GAF_IS_LABEL_MAP_CANVAS (self), FALSE);
  tr = maps_of (self);
  if (tr == NULL || !self->grid_valid || !gaf_label_grid_hit (&self->grid, x, y, &map, &pixel))
    return FALSE;
  gaf_label_map_canvas_set_selected_row (self, map * tr->n + pixel);
  return TRUE;
}

gboolean
gaf_label_map_canvas_row_position (GafLabelMapCanvas *self, int row, double *x, double *y)
{
  const GafTrajectories *tr;

  g_return_val_if_fail (GAF_IS_LABEL_MAP_CANVAS (self), FALSE);
  tr = maps_of (self);
  if (tr == NULL || !self->grid_valid || row < 0 || (guint) row >= tr->n_rows)
    return FALSE;
  gaf_label_grid_pixel_origin (&self->grid, row / tr->n, row % tr->n, x, y);
  *x += self->grid.cell / 2;
  *y += self->grid.cell / 2;
  return TRUE;
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GafLabelMapCanvas *self)
{
  if (gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture)) == GDK_BUTTON_SECONDARY)
    gaf_label_map_canvas_set_selected_row (self, -1);
  else
    gaf_label_map_canvas_select_at (self, x, y);
}

static void
gaf_label_map_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GafLabelMapCanvas *self = GAF_LABEL_MAP_CANVAS (object);

  switch (prop_id)
    {
    case PROP_TIME:
      g_value_set_double (value, self->time);
      break;
    case PROP_SHOW_ENTROPY:
      g_value_set_boolean (value, self->show_entropy);
      break;
    case PROP_SELECTED_ROW:
      g_value_set_int (value, self->selected_row);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_label_map_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GafLabelMapCanvas *self = GAF_LABEL_MAP_CANVAS (object);

  switch (prop_id)
    {
    case PROP_TIME:
      gaf_label_map_canvas_set_time (self, g_value_get_double (value));
      break;
    case PROP_SHOW_ENTROPY:
      if (self->show_entropy != g_value_get_boolean (value))
        {
          self->show_entropy = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
          gtk_widget_queue_draw (GTK_WIDGET (self));
        }
      break;
    case PROP_SELECTED_ROW:
      gaf_label_map_canvas_set_selected_row (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_label_map_canvas_finalize (GObject *object)
{
  GafLabelMapCanvas *self = GAF_LABEL_MAP_CANVAS (object);

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  g_free (self->error);
  G_OBJECT_CLASS (gaf_label_map_canvas_parent_class)->finalize (object);
}

static void
gaf_label_map_canvas_class_init (GafLabelMapCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = gaf_label_map_canvas_finalize;
  object_class->get_property = gaf_label_map_canvas_get_property;
  object_class->set_property = gaf_label_map_canvas_set_property;
  widget_class->snapshot = gaf_label_map_canvas_snapshot;

  properties[PROP_TIME] =
    g_param_spec_double ("time", NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_ENTROPY] =
    g_param_spec_boolean ("show-entropy", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SELECTED_ROW] =
    g_param_spec_int ("selected-row", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "labelmapcanvas");
}

static void
gaf_label_map_canvas_init (GafLabelMapCanvas *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->selected_row = -1;
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_size_request (GTK_WIDGET (self), 300, 300);
}

GtkWidget *
gaf_label_map_canvas_new (void)
{
  return g_object_new (GAF_TYPE_LABEL_MAP_CANVAS, NULL);
}

void
gaf_label_map_canvas_set_snapshot (GafLabelMapCanvas *self, GafSnapshot *snapshot)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_CANVAS (self));
  if (snapshot == self->snapshot)
    return;
  if (snapshot != NULL)
    gaf_snapshot_ref (snapshot);
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = snapshot;
  /* A selection outside the new maps (other data, another experiment) is dropped. */
  if (self->selected_row >= 0 && (maps_of (self) == NULL || (guint) self->selected_row >= maps_of (self)->n_rows))
    gaf_label_map_canvas_set_selected_row (self, -1);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaf_label_map_canvas_set_time (GafLabelMapCanvas *self, double t)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_CANVAS (self));
  t = MAX (t, 0.0);
  if (t == self->time)
    return;
  self->time = t;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIME]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
gaf_label_map_canvas_get_time (GafLabelMapCanvas *self)
{
  g_return_val_if_fail (GAF_IS_LABEL_MAP_CANVAS (self), 0.0);
  return self->time;
}

void
gaf_label_map_canvas_set_selected_row (GafLabelMapCanvas *self, int row)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_CANVAS (self));
  row = MAX (row, -1);
  if (row == self->selected_row)
    return;
  self->selected_row = row;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_ROW]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
gaf_label_map_canvas_get_selected_row (GafLabelMapCanvas *self)
{
  g_return_val_if_fail (GAF_IS_LABEL_MAP_CANVAS (self), -1);
  return self->selected_row;
}

guint
gaf_label_map_canvas_get_draw_count (GafLabelMapCanvas *self)
{
  g_return_val_if_fail (GAF_IS_LABEL_MAP_CANVAS (self), 0);
  return self->draws;
}

void
gaf_label_map_canvas_set_error (GafLabelMapCanvas *self, const char *message)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_CANVAS (self));
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
