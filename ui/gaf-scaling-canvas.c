/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-scaling-canvas"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-baselines.h"
#include "gaf-export.h"
#include "gaf-scaling-canvas.h"
#include "gaf-scaling-plot.h"
#include "gaf-target.h"

/* The plot itself is the shared cairo class-scaling plot (ui/gaf-scaling-plot.c, also used by gaflow-cli);
 * this widget feeds it translated labels and theme colours and adds the hover read-out. */

struct _GafScalingCanvas {
  GtkWidget    parent_instance;

  GArray      *plan_classes;   /* int */
  GArray      *plan_uniform;   /* double */
  guint64      plan_samples;
  GArray      *rows;           /* GafSweepRow */
  int          hovered;        /* index into rows of the hovered class count's first row, or -1 */
  double       hover_x;

  /* x mapping of the last draw, for hover. */
  double       x_left, x_width, lx0, lx1;
  gboolean     drawn;
};

G_DEFINE_FINAL_TYPE (GafScalingCanvas, gaf_scaling_canvas, GTK_TYPE_WIDGET)

static const char *
method_label (const char *name)
{
  GafMethod m;

  if (!gaf_method_from_string (name, &m))
    return name;
  switch (m)
    {
    case GAF_METHOD_GAF:       return _("GAF: argmax of V(T)");
    case GAF_METHOD_DIRICHLET: return _("Dirichlet FM: argmax of the last predicted class probabilities");
    case GAF_METHOD_LINEAR:    return _("linear FM: argmax of the last predicted class probabilities");
    case GAF_METHOD_SPHERE:    return _("Fisher (sphere) FM: argmax of x²");
    default:                   return name;
    }
}

const char *
gaf_scaling_method_name (const char *name)
{
  GafMethod m;

  if (!gaf_method_from_string (name, &m))
    return name;
  switch (m)
    {
    case GAF_METHOD_GAF:       return _("GAF");
    case GAF_METHOD_DIRICHLET: return _("Dirichlet FM");
    case GAF_METHOD_LINEAR:    return _("linear FM");
    case GAF_METHOD_SPHERE:    return _("Fisher FM");
    default:                   return name;
    }
}

void
gaf_method_color (const char *method, double rgb[3])
{
  GafMethod m;

  gaf_scaling_plot_palette (gaf_method_from_string (method, &m) ? (guint) m : GAF_N_METHODS, rgb);
}

/* The plot's data: one series per method (rows in order of first appearance), then the reference lines
 * from the rows, or from the planned sweep while there are no rows. */
static GafScalingPlotData *
build_data (GafScalingCanvas *self)
{
  GafScalingPlotData *d = gaf_scaling_plot_data_new ();
  const GafSweepRow *rows = (const GafSweepRow *) self->rows->data;
  guint n = self->rows->len;
  g_autoptr(GHashTable) series = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  GafScalingSeries *uniform, *floor_line;
  guint64 samples = self->plan_samples;
  guint64 steps = 0;

  d->title = NULL;
  d->x_label = g_strdup (_("number of classes c"));
  d->y_label = g_strdup (_("KL (histogram ‖ target)"));
  for (guint i = 0; i < n; i++)
    {
      GafScalingSeries *s = g_hash_table_lookup (series, rows[i].method);
      if (s == NULL)
        {
          double rgb[3];
          gaf_method_color (rows[i].method, rgb);
          s = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_METHOD, method_label (rows[i].method), rgb);
          g_hash_table_insert (series, (gpointer) rows[i].method, s);
        }
      gaf_scaling_series_add (s, rows[i].classes, rows[i].kl);
      samples = rows[i].samples;
      steps = rows[i].steps;
    }
  uniform = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_UNIFORM,
                                              _("uniform sampler (ignores the data), N = ∞"), NULL);
  {
    g_autofree char *label = g_strdup_printf (_("finite-sample floor (c − 1)/2N, N = %u"), (guint) samples);
    floor_line = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_FLOOR, label, NULL);
  }
  if (n > 0)
    {
      for (guint i = 0; i < n; i++)
        if (!g_hash_table_contains (seen, GINT_TO_POINTER (rows[i].classes)))
          {
            g_hash_table_add (seen, GINT_TO_POINTER (rows[i].classes));
            gaf_scaling_series_add (uniform, rows[i].classes, rows[i].kl_uniform);
            gaf_scaling_series_add (floor_line, rows[i].classes, rows[i].kl_floor);
          }
      d->note = g_strdup_printf (_("%u training steps and %u samples per point; n = 4 positions"),
                                 (guint) steps, (guint) samples);
    }
  else
    for (guint i = 0; i < self->plan_classes->len; i++)
      {
        int c = g_array_index (self->plan_classes, int, i);
        gaf_scaling_series_add (uniform, c, g_array_index (self->plan_uniform, double, i));
        if (samples > 0)
          gaf_scaling_series_add (floor_line, c, gaf_kl_floor (c, samples));
      }
  return d;
}

void
gaf_scaling_canvas_draw (GafScalingCanvas *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  g_autoptr(GafScalingPlotData) data = NULL;
  GafScalingPlotStyle style;
  double top;
  double x_min, x_max, y_min, y_max;
  const GafSweepRow *rows = (const GafSweepRow *) self->rows->data;

  g_return_if_fail (GAF_IS_SCALING_CANVAS (self));

  gaf_set_fg (cr, theme, 0.7);
  /* wrapped inside the canvas; the plot starts below however many lines it takes */
  top = 12 + 16 + gaf_draw_text_wrapped (cr, theme,
                                         _("Each point trains its own toy CNN on n = 4 positions with targets q_i = "
                                           "softmax(U_i) and compares the sample histograms with q."),
                                         28, 12, 0, 0, 0.9, width - 56);

  data = build_data (self);
  gaf_scaling_plot_style_init (&style);
  memcpy (style.fg, theme->fg, sizeof style.fg);
  style.bg[3] = 0.0;    /* the widget's background shows through */
  style.font_family = theme->font ? pango_font_description_get_family (theme->font) : "sans-serif";
  if (style.font_family == NULL)
    style.font_family = "sans-serif";
  style.font_size = 14.0;
  style.line_width = 2.4;

  cairo_save (cr);
  cairo_translate (cr, 12, top);
  gaf_scaling_plot_draw (cr, data, width - 24, height - top - 8, &style);
  cairo_restore (cr);

  /* The plot's x mapping (its frame: left 4.4 font sizes, right margin 1.2; log range padded by
   * gaf_scaling_plot_data_range), for the hover read-out. */
  gaf_scaling_plot_data_range (data, &x_min, &x_max, &y_min, &y_max);
  self->x_left = 12 + 4.4 * style.font_size;
  self->x_width = MAX (width - 24 - 4.4 * style.font_size - 1.2 * style.font_size, 10.0);
  self->lx0 = log10 (x_min);
  self->lx1 = log10 (x_max);
  self->drawn = TRUE;

  if (self->rows->len == 0)
    {
      gaf_set_fg (cr, theme, 0.65);
      /* wrapped to the plot's frame: at 800 x 600 with the panel the line is wider than the canvas */
      gaf_draw_text_wrapped (cr, theme,
                             _("Run a sweep to add points: each class count trains its own model in the background."),
                             self->x_left + self->x_width / 2.0, height * 0.42, 0.5, 0.5, 1.0, self->x_width - 16);
    }

  /* Values at the hovered class count: every method there, and both reference lines. */
  if (self->hovered >= 0 && (guint) self->hovered < self->rows->len)
    {
      int c = rows[self->hovered].classes;
      double x = self->x_left + self->x_width * (log10 (c) - self->lx0) / (self->lx1 - self->lx0);
      g_autoptr(GString) text = g_string_new (NULL);
      double tw, th, bx, by;

      g_string_append_printf (text, _("<b>c = %d</b>"), c);
      for (guint i = 0; i < self->rows->len; i++)
        if (rows[i].classes == c)
          g_string_append_printf (text, _("\n%s: KL %.5f (%.0f s training, %.0f s sampling)"),
                                  gaf_scaling_method_name (rows[i].method), rows[i].kl, rows[i].train_seconds,
                                  rows[i].sample_seconds);
      g_string_append_printf (text, _("\nuniform sampler %.5f · floor %.5f"), rows[self->hovered].kl_uniform,
                              rows[self->hovered].kl_floor);

      gaf_set_fg (cr, theme, 0.35);
      cairo_set_line_width (cr, 1.0);
      cairo_move_to (cr, round (x) + 0.5, top + 10);
      cairo_line_to (cr, round (x) + 0.5, height - 60);
      cairo_stroke (cr);

      gaf_measure_text (cr, theme, text->str, 0.9, &tw, &th);
      bx = x + 12 + tw + 16 > width ? x - 12 - tw - 16 : x + 12;
      by = top + 16;
      cairo_rectangle (cr, bx, by, tw + 16, th + 16);
      cairo_set_source_rgba (cr, theme->bg[0], theme->bg[1], theme->bg[2], 0.95);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.5);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 1.0);
      gaf_draw_text (cr, theme, text->str, bx + 8, by + 8, 0, 0, 0.9);
    }
}

void
gaf_scaling_canvas_hover (GafScalingCanvas *self, double x, double y)
{
  int h = -1;
  double best = 24.0;   /* pixels */

  g_return_if_fail (GAF_IS_SCALING_CANVAS (self));
  if (x >= 0 && self->drawn && self->lx1 > self->lx0)
    for (guint i = 0; i < self->rows->len; i++)
      {
        const GafSweepRow *r = &g_array_index (self->rows, GafSweepRow, i);
        double px = self->x_left + self->x_width * (log10 (r->classes) - self->lx0) / (self->lx1 - self->lx0);
        if (fabs (px - x) < best)
          {
            best = fabs (px - x);
            h = (int) i;
          }
      }
  if (h >= 0)
    {
      /* The first row of that class count. */
      int c = g_array_index (self->rows, GafSweepRow, h).classes;
      while (h > 0 && g_array_index (self->rows, GafSweepRow, h - 1).classes == c)
        h--;
    }
  if (h != self->hovered)
    {
      self->hovered = h;
      gtk_widget_queue_draw (GTK_WIDGET (self));
    }
}

int
gaf_scaling_canvas_get_hovered (GafScalingCanvas *self)
{
  g_return_val_if_fail (GAF_IS_SCALING_CANVAS (self), -1);
  return self->hovered;
}

gboolean
gaf_scaling_canvas_row_x (GafScalingCanvas *self, guint i, double *x)
{
  const GafSweepRow *r;

  g_return_val_if_fail (GAF_IS_SCALING_CANVAS (self), FALSE);
  if (!self->drawn || i >= self->rows->len || !(self->lx1 > self->lx0))
    return FALSE;
  r = &g_array_index (self->rows, GafSweepRow, i);
  *x = self->x_left + self->x_width * (log10 (r->classes) - self->lx0) / (self->lx1 - self->lx0);
  return TRUE;
}

char *
gaf_scaling_canvas_to_csv (GafScalingCanvas *self)
{
  GString *out = g_string_new ("method,classes,steps,samples,kl,kl_uniform,kl_floor,train_seconds,sample_seconds\n");

  g_return_val_if_fail (GAF_IS_SCALING_CANVAS (self), NULL);
  for (guint i = 0; i < self->rows->len; i++)
    {
      const GafSweepRow *r = &g_array_index (self->rows, GafSweepRow, i);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
      char d[G_ASCII_DTOSTR_BUF_SIZE], e[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (out, "%s,%d,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s,%s,%s,%s,%s\n",
                              r->method, r->classes, r->steps, r->samples,
                              g_ascii_formatd (a, sizeof a, "%.6g", r->kl),
                              g_ascii_formatd (b, sizeof b, "%.6g", r->kl_uniform),
                              g_ascii_formatd (c, sizeof c, "%.6g", r->kl_floor),
                              g_ascii_formatd (d, sizeof d, "%.3f", r->train_seconds),
                              g_ascii_formatd (e, sizeof e, "%.3f", r->sample_seconds));
    }
  return g_string_free (out, FALSE);
}

static void
draw_widget (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_scaling_canvas_draw (widget, cr, width, height, theme);
}

static void
gaf_scaling_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  gaf_snapshot_drawing (widget, snapshot, draw_widget);
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, GafScalingCanvas *self)
{
  gaf_scaling_canvas_hover (self, x, y);
}

static void
on_leave (GtkEventControllerMotion *motion, GafScalingCanvas *self)
{
  gaf_scaling_canvas_hover (self, -1, -1);
}

static void
gaf_scaling_canvas_finalize (GObject *object)
{
  GafScalingCanvas *self = GAF_SCALING_CANVAS (object);

  g_array_unref (self->plan_classes);
  g_array_unref (self->plan_uniform);
  g_array_unref (self->rows);
  G_OBJECT_CLASS (gaf_scaling_canvas_parent_class)->finalize (object);
}

static void
gaf_scaling_canvas_class_init (GafScalingCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = gaf_scaling_canvas_finalize;
  widget_class->snapshot = gaf_scaling_canvas_snapshot;
  gtk_widget_class_set_css_name (widget_class, "scalingcanvas");
}

static void
gaf_scaling_canvas_init (GafScalingCanvas *self)
{
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->plan_classes = g_array_new (FALSE, FALSE, sizeof (int));
  self->plan_uniform = g_array_new (FALSE, FALSE, sizeof (double));
  self->rows = g_array_new (FALSE, FALSE, sizeof (GafSweepRow));
  self->hovered = -1;
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_size_request (GTK_WIDGET (self), 480, 300);
}

GtkWidget *
gaf_scaling_canvas_new (void)
{
  return g_object_new (GAF_TYPE_SCALING_CANVAS, NULL);
}

void
gaf_scaling_canvas_set_plan (GafScalingCanvas *self, const int *classes, const double *kl_uniform, guint n,
                             guint64 samples)
{
  g_return_if_fail (GAF_IS_SCALING_CANVAS (self));
  g_array_set_size (self->plan_classes, 0);
  g_array_set_size (self->plan_uniform, 0);
  g_array_append_vals (self->plan_classes, classes, n);
  g_array_append_vals (self->plan_uniform, kl_uniform, n);
  self->plan_samples = samples;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaf_scaling_canvas_set_rows (GafScalingCanvas *self, const GafSweepRow *rows, guint n)
{
  g_return_if_fail (GAF_IS_SCALING_CANVAS (self));
  g_array_set_size (self->rows, 0);
  g_array_append_vals (self->rows, rows, n);
  if (self->hovered >= (int) n)
    self->hovered = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
