/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-run-plot"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "gaf-parameter-panel.h"
#include "gaf-plot-data.h"
#include "gaf-run-plot.h"

void
gaf_run_color (guint index, double rgb[3])
{
  static const double colors[6][3] = {
    { 0.16, 0.44, 0.82 }, { 0.90, 0.38, 0.00 }, { 0.18, 0.62, 0.20 },
    { 0.75, 0.15, 0.45 }, { 0.45, 0.35, 0.75 }, { 0.00, 0.60, 0.62 },
  };
  for (int j = 0; j < 3; j++)
    rgb[j] = colors[index % 6][j];
}

GafPlotMarker *
gaf_run_plot_markers (const GafRun *run, guint *n_out)
{
  GafPlotMarker *m = g_new0 (GafPlotMarker, MAX (run->changes->len, 1));

  for (guint i = 0; i < run->changes->len; i++)
    {
      const GafRunChange *ch = &g_array_index (run->changes, GafRunChange, i);
      g_autofree char *value = gaf_param_format_value (ch->param, ch->value);
      m[i].x = ch->step;
      m[i].label = g_strdup_printf ("%s → %s", gaf_param_label (ch->param), value);
    }
  *n_out = run->changes->len;
  return m;
}

void
gaf_run_plot_markers_free (GafPlotMarker *markers, guint n)
{
  for (guint i = 0; i < n; i++)
    g_free (markers[i].label);
  g_free (markers);
}

/* The y axis title reads upwards beside the axis, centred on the plot from top to bottom; in a short
 * plot it may reach down to `floor` (above the x axis title), never up into the plot's title; if it is
 * still too long, its part in parentheses ("(nats, log scale)") is dropped, and then the whole. */
static void
draw_ylabel (cairo_t *cr, const GafTheme *theme, const char *label, double x, double top, double bottom,
             double floor)
{
  g_autofree char *shorter = NULL;
  const char *paren;
  double w, h;

  for (int attempt = 0; attempt < 2; attempt++)
    {
      gaf_measure_text (cr, theme, label, 0.85, &w, &h);
      if (w <= bottom - top)
        {
          gaf_draw_text_vertical (cr, theme, label, x, (top + bottom) / 2, 0.0, 0.85);
          return;
        }
      if (w <= floor - top)
        {
          gaf_draw_text_vertical (cr, theme, label, x, top + w / 2, 0.0, 0.85);
          return;
        }
      paren = strstr (label, " (");
      if (paren == NULL)
        return;
      shorter = g_strndup (label, paren - label);
      label = shorter;
    }
}

void
gaf_run_plot_draw (cairo_t *cr, const GafTheme *theme, double x0, double y0, double width, double height,
                   const char *title, const char *xlabel, const char *ylabel, gboolean log_y,
                   const GafPlotSeries *series, guint n_series, const GafPlotReference *refs, guint n_refs,
                   const GafPlotMarker *markers, guint n_markers, double x_max)
{
  double left = x0 + 62, right = x0 + width - 8, top = y0 + 26, bottom = y0 + height - 40;
  GafAxis ax = { 0, 100, FALSE }, ay = { 0.1, 1, log_y };
  gboolean have_x = FALSE, have_y = FALSE;
  double ticks[12];
  guint n_ticks;

  gaf_set_fg (cr, theme, 0.9);
  gaf_draw_text_fitted (cr, theme, title, x0, y0, 0, 0, 0.95, width);
  if (right - left < 60 || bottom - top < 40)
    return;
  /* Axes from every point, reference and marker. */
  for (guint s = 0; s < n_series; s++)
    for (guint i = 0; i < series[s].n; i++)
      {
        const GafRunPoint *p = &series[s].points[i];
        if (!isfinite (p->value) || (log_y && p->value <= 0))
          continue;
        if (!have_x)
          ax.min = 0, ax.max = p->step;
        gaf_axis_include (&ax, p->step);
        if (!have_y)
          ay.min = ay.max = p->value;
        gaf_axis_include (&ay, p->value);
        have_x = have_y = TRUE;
      }
  for (guint r = 0; r < n_refs; r++)
    if (isfinite (refs[r].y) && (!log_y || refs[r].y > 0) && have_y)
      gaf_axis_include (&ay, refs[r].y);
  for (guint m = 0; m < n_markers; m++)
    gaf_axis_include (&ax, markers[m].x);
  if (have_y)
    {
      double lo = ay.min, hi = ay.max, v[2];
      v[0] = lo;
      v[1] = hi;
      gaf_axis_fit (&ay, v, 2, log_y);
    }
  ax.min = 0;
  if (x_max > 0)
    ax.max = x_max;
  if (ax.max <= 0)
    ax.max = 100;
  ax.max *= 1.02;

  gaf_set_fg (cr, theme, 0.035);
  cairo_rectangle (cr, left, top, right - left, bottom - top);
  cairo_fill (cr);
  cairo_set_line_width (cr, 1.0);
  n_ticks = gaf_axis_ticks (&ay, ticks, 6);
  for (guint i = 0; i < n_ticks; i++)
    {
      double y = round (gaf_axis_map (&ay, ticks[i], bottom, top)) + 0.5;
      g_autofree char *label = gaf_format_value (ticks[i]);
      gaf_set_fg (cr, theme, 0.12);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, right, y);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 0.7);
      gaf_draw_text (cr, theme, label, left - 6, y, 1.0, 0.5, 0.8);
    }
  n_ticks = gaf_axis_ticks (&ax, ticks, MAX (3, (guint) ((right - left) / 70)));
  for (guint i = 0; i < n_ticks; i++)
    {
      double x = round (gaf_axis_map (&ax, ticks[i], left, right)) + 0.5;
      g_autofree char *label = gaf_format_value (ticks[i]);
      gaf_set_fg (cr, theme, 0.12);
      cairo_move_to (cr, x, top);
      cairo_line_to (cr, x, bottom);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 0.7);
      /* centred on its tick, but kept inside the plot's box: the last one sits at the right edge, and
       * presentation mode's larger digits would reach past the canvas (measured only near that edge) */
      if (x > x0 + width - 60)
        {
          double lw, lh;
          gaf_measure_text (cr, theme, label, 0.8, &lw, &lh);
          x = MIN (x, x0 + width - 2 - lw / 2);
        }
      gaf_draw_text (cr, theme, label, x, bottom + 4, 0.5, 0.0, 0.8);
    }
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text (cr, theme, xlabel, (left + right) / 2, y0 + height, 0.5, 1.0, 0.85);
  draw_ylabel (cr, theme, ylabel, x0 + 2, top, bottom, y0 + height - 22);
  gaf_set_fg (cr, theme, 0.45);
  cairo_rectangle (cr, left + 0.5, top + 0.5, right - left - 1, bottom - top - 1);
  cairo_stroke (cr);

  cairo_save (cr);
  cairo_rectangle (cr, left, top, right - left, bottom - top);
  cairo_clip (cr);
  /* Reference lines, labelled at their right end. */
  for (guint r = 0; r < n_refs; r++)
    {
      double y;
      if (!isfinite (refs[r].y) || (log_y && refs[r].y <= 0) || !have_y)
        continue;
      y = round (gaf_axis_map (&ay, refs[r].y, bottom, top)) + 0.5;
      gaf_set_fg (cr, theme, 0.55);
      cairo_set_line_width (cr, 1.4 * gaf_stroke (theme));
      cairo_set_dash (cr, refs[r].dash, refs[r].n_dash, 0);
      cairo_move_to (cr, left, y);
      cairo_line_to (cr, right, y);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      gaf_set_fg (cr, theme, 0.75);
      /* The first label above its line, the second below, so that close lines keep both readable; a
       * label that would leave the plot goes to the other side of its line. */
      {
        gboolean below = r % 2;
        double w, h;

        gaf_measure_text (cr, theme, refs[r].label, 0.8, &w, &h);
        if (!below && y - 3 - h < top)
          below = TRUE;
        else if (below && y + 3 + h > bottom)
          below = FALSE;
        gaf_draw_text (cr, theme, refs[r].label, right - 6, below ? y + 3 : y - 3, 1.0, below ? 0.0 : 1.0, 0.8);
      }
    }
  /* Parameter changes: a dashed vertical line each, its label at the top. */
  for (guint m = 0; m < n_markers; m++)
    {
      static const double dash[] = { 4.0, 3.0 };
      double x = round (gaf_axis_map (&ax, markers[m].x, left, right)) + 0.5;
      g_autofree char *label = g_markup_escape_text (markers[m].label, -1);
      cairo_set_source_rgb (cr, 0.85, 0.45, 0.05);
      cairo_set_line_width (cr, 1.4 * gaf_stroke (theme));
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, x, top);
      cairo_line_to (cr, x, bottom);
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      cairo_set_source_rgb (cr, 0.75, 0.38, 0.02);
      gaf_draw_text (cr, theme, label, x + (x > (left + right) / 2 ? -4 : 4), top + 4 + 16 * (m % 3),
                     x > (left + right) / 2 ? 1.0 : 0.0, 0.0, 0.8);
    }
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (guint s = 0; s < n_series; s++)
    {
      gboolean started = FALSE;
      for (guint i = 0; i < series[s].n; i++)
        {
          const GafRunPoint *p = &series[s].points[i];
          double px, py;
          if (!isfinite (p->value) || (log_y && p->value <= 0))
            continue;
          px = gaf_axis_map (&ax, p->step, left, right);
          py = gaf_axis_map (&ay, p->value, bottom, top);
          if (series[s].width > 0)
            {
              if (!started)
                cairo_move_to (cr, px, py);
              else
                cairo_line_to (cr, px, py);
            }
          started = TRUE;
        }
      gaf_set_rgb (cr, series[s].rgb, 1.0);
      cairo_set_line_width (cr, series[s].width * gaf_stroke (theme));
      cairo_stroke (cr);
      if (series[s].dots)
        for (guint i = 0; i < series[s].n; i++)
          {
            const GafRunPoint *p = &series[s].points[i];
            if (!isfinite (p->value) || (log_y && p->value <= 0))
              continue;
            cairo_arc (cr, gaf_axis_map (&ax, p->step, left, right), gaf_axis_map (&ay, p->value, bottom, top),
                       2.6 * gaf_stroke (theme), 0, 2 * G_PI);
            gaf_set_rgb (cr, series[s].rgb, 1.0);
            cairo_fill (cr);
          }
    }
  cairo_restore (cr);
  if (!have_y)
    {
      gaf_set_fg (cr, theme, 0.6);
      gaf_draw_text_wrapped (cr, theme, _("No points yet."), (left + right) / 2, (top + bottom) / 2, 0.5, 0.5, 0.9,
                             right - left - 16);
    }
}
