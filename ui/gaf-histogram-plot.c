/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-ui"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-histogram-plot.h"

/* ---- data ------------------------------------------------------------------------------------------ */

static void
series_free (gpointer p)
{
  GafHistogramSeries *s = p;

  g_free (s->label);
  g_array_unref (s->values);
  g_free (s);
}

GafHistogramPlotData *
gaf_histogram_plot_data_new (void)
{
  GafHistogramPlotData *d = g_new0 (GafHistogramPlotData, 1);

  d->x_label = g_strdup ("bits per dimension");
  d->y_label = g_strdup ("items");
  d->series = g_ptr_array_new_with_free_func (series_free);
  return d;
}

void
gaf_histogram_plot_data_free (GafHistogramPlotData *data)
{
  if (data == NULL)
    return;
  g_free (data->title);
  g_free (data->x_label);
  g_free (data->y_label);
  g_free (data->note);
  g_ptr_array_unref (data->series);
  g_free (data);
}

GafHistogramSeries *
gaf_histogram_plot_data_add_series (GafHistogramPlotData *data, const char *label, const double *rgb,
                                    const double *values, gsize n)
{
  GafHistogramSeries *s;

  g_return_val_if_fail (data != NULL && (values != NULL || n == 0), NULL);

  s = g_new0 (GafHistogramSeries, 1);
  s->label = g_strdup (label ? label : "");
  if (rgb != NULL)
    memcpy (s->rgb, rgb, sizeof s->rgb);
  else
    /* Okabe-Ito blue first, then vermilion, then the rest of the plot palette */
    gaf_scaling_plot_palette (data->series->len == 0 ? 1 : data->series->len == 1 ? 0 : data->series->len,
                              s->rgb);
  s->values = g_array_sized_new (FALSE, FALSE, sizeof (double), (guint) n);
  g_array_append_vals (s->values, values, (guint) n);
  g_ptr_array_add (data->series, s);
  return s;
}

gboolean
gaf_histogram_plot_data_bins (const GafHistogramPlotData *data, double *lo, double *hi, int *n_bins)
{
  double a = INFINITY, b = -INFINITY, width = INFINITY;
  guint most = 0;

  g_return_val_if_fail (data != NULL && lo != NULL && hi != NULL && n_bins != NULL, FALSE);

  for (guint i = 0; i < data->series->len; i++)
    {
      const GafHistogramSeries *s = data->series->pdata[i];
      double sa = INFINITY, sb = -INFINITY;
      guint finite = 0;
      for (guint j = 0; j < s->values->len; j++)
        {
          double v = g_array_index (s->values, double, j);
          if (!isfinite (v))
            continue;
          sa = MIN (sa, v);
          sb = MAX (sb, v);
          finite++;
        }
      most = MAX (most, finite);
      a = MIN (a, sa);
      b = MAX (b, sb);
      /* about sqrt(m) bins across this series' own range */
      if (finite >= 2 && sb > sa)
        width = MIN (width, (sb - sa) / ceil (sqrt ((double) finite)));
    }
  if (most == 0)
    {
      *lo = 0.0;
      *hi = 1.0;
      *n_bins = data->bins > 0 ? data->bins : 5;
      return FALSE;
    }
  if (!(b > a))
    {
      a -= 0.5;
      b += 0.5;
    }
  *lo = a;
  *hi = b;
  if (data->bins > 0)
    *n_bins = data->bins;
  else if (isfinite (width))
    *n_bins = (int) CLAMP (ceil ((b - a) / width - 1e-9), 5.0, 60.0);
  else
    *n_bins = 5;
  return TRUE;
}

guint
gaf_histogram_series_count (const GafHistogramSeries *series, double lo, double hi, int n_bins, guint *counts)
{
  guint bad = 0;

  g_return_val_if_fail (series != NULL && counts != NULL && n_bins >= 1 && hi > lo, 0);

  memset (counts, 0, sizeof (guint) * n_bins);
  for (guint j = 0; j < series->values->len; j++)
    {
      double v = g_array_index (series->values, double, j);
      int k;
      if (!isfinite (v))
        {
          bad++;
          continue;
        }
      k = (int) floor ((v - lo) / (hi - lo) * n_bins);
      counts[CLAMP (k, 0, n_bins - 1)]++;
    }
  return bad;
}

/* ---- drawing --------------------------------------------------------------------------------------- */

/* A 1-2-5 step giving about `target` intervals over `range`. */
static double
nice_step (double range, int target)
{
  double raw = range / MAX (target, 1), mag = pow (10.0, floor (log10 (raw))), norm = raw / mag;

  return (norm < 1.5 ? 1.0 : norm < 3.0 ? 2.0 : norm < 7.0 ? 5.0 : 10.0) * mag;
}

typedef struct {
  double left, top, width, height;
  double x0, x1, y1;   /* data ranges (y from 0) */
} Frame;

static double
map_x (const Frame *f, double x)
{
  return f->left + f->width * (x - f->x0) / (f->x1 - f->x0);
}

static double
map_y (const Frame *f, double y)
{
  return f->top + f->height * (1.0 - y / f->y1);
}

static char *
series_legend (const GafHistogramSeries *s, guint bad)
{
  if (bad == 0)
    return g_strdup (s->label);
  return g_strdup_printf ("%s; %u not finite (not drawn)", s->label, bad);
}

static void
draw_swatch (cairo_t *cr, const GafHistogramSeries *s, const GafScalingPlotStyle *st, double x, double y,
             double w, double h)
{
  cairo_save (cr);
  cairo_rectangle (cr, x, y - h / 2, w, h);
  cairo_set_source_rgba (cr, s->rgb[0], s->rgb[1], s->rgb[2], GAF_HISTOGRAM_FILL_ALPHA);
  cairo_fill_preserve (cr);
  cairo_set_source_rgb (cr, s->rgb[0], s->rgb[1], s->rgb[2]);
  cairo_set_line_width (cr, st->line_width);
  cairo_stroke (cr);
  cairo_restore (cr);
}

void
gaf_histogram_plot_draw (cairo_t *cr, const GafHistogramPlotData *data, double width, double height,
                         const GafScalingPlotStyle *style)
{
  GafScalingPlotStyle def;
  const GafScalingPlotStyle *st = style;
  guint n_series = data->series->len, max_count = 1;
  g_autofree guint *counts = NULL;
  g_autofree guint *bad = NULL;
  double lo, hi, bw, fs, line_h, legend_h, xstep, ystep;
  int n_bins;
  Frame f;

  g_return_if_fail (cr != NULL && data != NULL);

  if (st == NULL)
    {
      gaf_scaling_plot_style_init (&def);
      st = &def;
    }
  fs = st->font_size;
  line_h = 1.45 * fs;

  gaf_histogram_plot_data_bins (data, &lo, &hi, &n_bins);
  bw = (hi - lo) / n_bins;
  counts = g_new0 (guint, (gsize) MAX (n_series, 1) * n_bins);
  bad = g_new0 (guint, MAX (n_series, 1));
  for (guint i = 0; i < n_series; i++)
    {
      bad[i] = gaf_histogram_series_count (data->series->pdata[i], lo, hi, n_bins, counts + (gsize) i * n_bins);
      for (int k = 0; k < n_bins; k++)
        max_count = MAX (max_count, counts[(gsize) i * n_bins + k]);
    }

  cairo_save (cr);
  if (st->bg[3] > 0.0)
    {
      cairo_set_source_rgba (cr, st->bg[0], st->bg[1], st->bg[2], st->bg[3]);
      cairo_rectangle (cr, 0, 0, width, height);
      cairo_fill (cr);
    }

  legend_h = n_series * line_h + (data->note ? line_h : 0.0);
  f.left = 4.4 * fs;
  f.top = data->title ? 2.4 * fs : 0.9 * fs;
  f.width = MAX (width - f.left - 1.2 * fs, 10.0);
  f.height = MAX (height - f.top - (1.6 * fs + 1.6 * fs + 0.8 * fs) - legend_h - 0.6 * fs, 10.0);
  /* x: the bins with half a bin of margin; y: from 0 to a little above the tallest bar */
  f.x0 = lo - 0.5 * bw;
  f.x1 = hi + 0.5 * bw;
  ystep = MAX (1.0, nice_step (max_count, 5));
  f.y1 = ceil (max_count * 1.08 / ystep) * ystep;
  xstep = nice_step (f.x1 - f.x0, MAX (2, (int) (f.width / (6.0 * fs))));

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
  cairo_set_line_width (cr, 1.0);
  gaf_plot_set_font (cr, st, 1.0);

  /* grid, ticks and tick labels */
  for (double y = 0.0; y <= f.y1 + 1e-9 * f.y1; y += ystep)
    {
      char label[32];
      double py = map_y (&f, y);
      gaf_plot_set_fg (cr, st, st->grid_alpha);
      cairo_move_to (cr, f.left, py);
      cairo_line_to (cr, f.left + f.width, py);
      cairo_stroke (cr);
      gaf_plot_set_fg (cr, st, 1.0);
      cairo_move_to (cr, f.left - 0.35 * fs, py);
      cairo_line_to (cr, f.left, py);
      cairo_stroke (cr);
      g_snprintf (label, sizeof label, "%.10g", y);
      gaf_plot_draw_text (cr, label, f.left - 0.5 * fs, py, 1.0, 0.5);
    }
  for (double x = ceil (f.x0 / xstep) * xstep; x <= f.x1; x += xstep)
    {
      char label[32];
      double px = map_x (&f, x);
      gaf_plot_set_fg (cr, st, st->grid_alpha);
      cairo_move_to (cr, px, f.top);
      cairo_line_to (cr, px, f.top + f.height);
      cairo_stroke (cr);
      gaf_plot_set_fg (cr, st, 1.0);
      cairo_move_to (cr, px, f.top + f.height);
      cairo_line_to (cr, px, f.top + f.height + 0.35 * fs);
      cairo_stroke (cr);
      g_snprintf (label, sizeof label, "%.6g", fabs (x) < 1e-9 * xstep ? 0.0 : x);
      gaf_plot_draw_text (cr, label, px, f.top + f.height + 0.45 * fs, 0.5, 0.0);
    }

  /* bars: the translucent fills of every series, then their step outlines on top, so that no outline
   * hides under another series' fill */
  cairo_save (cr);
  cairo_rectangle (cr, f.left, f.top, f.width, f.height);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_MITER);
  for (guint i = 0; i < n_series; i++)
    {
      const GafHistogramSeries *s = data->series->pdata[i];
      const guint *c = counts + (gsize) i * n_bins;
      double base = map_y (&f, 0.0);

      cairo_set_source_rgba (cr, s->rgb[0], s->rgb[1], s->rgb[2], GAF_HISTOGRAM_FILL_ALPHA);
      for (int k = 0; k < n_bins; k++)
        if (c[k] > 0)
          {
            double xa = map_x (&f, lo + k * bw), xb = map_x (&f, lo + (k + 1) * bw), yt = map_y (&f, c[k]);
            cairo_rectangle (cr, xa, yt, xb - xa, base - yt);
          }
      cairo_fill (cr);
    }
  for (guint i = 0; i < n_series; i++)
    {
      const GafHistogramSeries *s = data->series->pdata[i];
      const guint *c = counts + (gsize) i * n_bins;
      double base = map_y (&f, 0.0);

      cairo_set_source_rgb (cr, s->rgb[0], s->rgb[1], s->rgb[2]);
      cairo_set_line_width (cr, st->line_width);
      cairo_move_to (cr, map_x (&f, lo), base);
      for (int k = 0; k < n_bins; k++)
        {
          double yt = map_y (&f, c[k]);
          cairo_line_to (cr, map_x (&f, lo + k * bw), yt);
          cairo_line_to (cr, map_x (&f, lo + (k + 1) * bw), yt);
        }
      cairo_line_to (cr, map_x (&f, hi), base);
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  /* frame, axis labels, title */
  gaf_plot_set_fg (cr, st, 1.0);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, f.left, f.top, f.width, f.height);
  cairo_stroke (cr);
  gaf_plot_draw_text (cr, data->x_label ? data->x_label : "", f.left + f.width / 2, f.top + f.height + 1.75 * fs,
                      0.5, 0.0);
  cairo_save (cr);
  cairo_translate (cr, 0.2 * fs, f.top + f.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  gaf_plot_draw_text (cr, data->y_label ? data->y_label : "", 0.0, 0.0, 0.5, 0.0);
  cairo_restore (cr);
  if (data->title)
    {
      gaf_plot_set_font (cr, st, 1.15);
      gaf_plot_draw_text (cr, data->title, f.left + f.width / 2, 0.6 * fs, 0.5, 0.0);
    }

  /* legend: one row per series, then the note */
  {
    double ly = f.top + f.height + 1.75 * fs + 1.6 * fs + 0.3 * fs, sw = 2.0 * fs;
    gaf_plot_set_font (cr, st, 0.92);
    for (guint i = 0; i < n_series; i++)
      {
        const GafHistogramSeries *s = data->series->pdata[i];
        g_autofree char *text = series_legend (s, bad[i]);
        double y = ly + i * line_h + line_h / 2;
        draw_swatch (cr, s, st, f.left, y, sw, 0.8 * fs);
        gaf_plot_set_fg (cr, st, 1.0);
        gaf_plot_draw_text (cr, text, f.left + sw + 0.6 * fs, y, 0.0, 0.5);
      }
    if (data->note)
      {
        double avail = width - f.left - 0.5 * fs, w = gaf_plot_text_width (cr, data->note);
        if (w > avail)
          gaf_plot_set_font (cr, st, MAX (0.6, 0.92 * avail / w));
        gaf_plot_set_fg (cr, st, 0.75);
        gaf_plot_draw_text (cr, data->note, f.left, ly + n_series * line_h + line_h / 2, 0.0, 0.5);
      }
  }
  cairo_restore (cr);
}

static void
draw_histogram (cairo_t *cr, gconstpointer data, double width, double height, const GafScalingPlotStyle *style)
{
  gaf_histogram_plot_draw (cr, data, width, height, style);
}

gboolean
gaf_histogram_plot_write (const GafHistogramPlotData *data, const char *path, int width, int height,
                          const GafScalingPlotStyle *style, GError **error)
{
  g_return_val_if_fail (data != NULL && path != NULL, FALSE);
  return gaf_plot_write_file (path, width, height, draw_histogram, data, style, error);
}
