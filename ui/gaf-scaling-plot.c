/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-ui"
#include "config.h"

#include <math.h>
#include <string.h>

#include <cairo-svg.h>

#include "gaf-error.h"
#include "gaf-scaling-plot.h"

/* ---- data ------------------------------------------------------------------------------------------ */

/* Stable colours per method (indexed by GafMethod), distinguishable in print and for the common forms
 * of colour blindness (Okabe-Ito): GAF vermilion, Dirichlet blue, linear bluish green, sphere reddish
 * purple; further series orange, sky blue, yellow. */
static const double palette[][3] = {
  { 0.835, 0.369, 0.000 },
  { 0.000, 0.447, 0.698 },
  { 0.000, 0.620, 0.451 },
  { 0.800, 0.475, 0.655 },
  { 0.902, 0.624, 0.000 },
  { 0.337, 0.706, 0.914 },
  { 0.941, 0.894, 0.259 },
};

static const double uniform_rgb[3] = { 0.45, 0.45, 0.45 };
static const double floor_rgb[3] = { 0.30, 0.30, 0.30 };

void
gaf_scaling_plot_palette (guint index, double rgb[3])
{
  memcpy (rgb, palette[index % G_N_ELEMENTS (palette)], sizeof palette[0]);
}

static void
series_free (gpointer p)
{
  GafScalingSeries *s = p;

  g_free (s->label);
  g_array_unref (s->points);
  g_free (s);
}

GafScalingPlotData *
gaf_scaling_plot_data_new (void)
{
  GafScalingPlotData *d = g_new0 (GafScalingPlotData, 1);

  d->x_label = g_strdup ("number of classes c");
  d->y_label = g_strdup ("KL(empirical || target), nats");
  d->series = g_ptr_array_new_with_free_func (series_free);
  return d;
}

void
gaf_scaling_plot_data_free (GafScalingPlotData *data)
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

GafScalingSeries *
gaf_scaling_plot_data_add_series (GafScalingPlotData *data, GafScalingLineKind kind, const char *label,
                                  const double *rgb)
{
  GafScalingSeries *s = g_new0 (GafScalingSeries, 1);
  guint n_methods = 0;

  for (guint i = 0; i < data->series->len; i++)
    n_methods += ((GafScalingSeries *) data->series->pdata[i])->kind == GAF_SCALING_LINE_METHOD;
  s->label = g_strdup (label ? label : "");
  s->kind = kind;
  s->points = g_array_new (FALSE, FALSE, sizeof (GafScalingPoint));
  if (rgb != NULL)
    memcpy (s->rgb, rgb, sizeof s->rgb);
  else if (kind == GAF_SCALING_LINE_METHOD)
    gaf_scaling_plot_palette (n_methods, s->rgb);
  else
    memcpy (s->rgb, kind == GAF_SCALING_LINE_UNIFORM ? uniform_rgb : floor_rgb, sizeof s->rgb);
  g_ptr_array_add (data->series, s);
  return s;
}

void
gaf_scaling_series_add (GafScalingSeries *series, double classes, double kl)
{
  GafScalingPoint p = { classes, kl };

  g_array_append_val (series->points, p);
}

GafScalingPlotData *
gaf_scaling_plot_data_new_from_rows (const GafSweepRow *rows, guint n_rows)
{
  GafScalingPlotData *d = gaf_scaling_plot_data_new ();
  GafScalingSeries *by_method[GAF_N_METHODS + 1] = { NULL };
  GafScalingSeries *uniform, *floor_line;
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GPtrArray) other = g_ptr_array_new ();   /* series of unknown method names, by name */
  guint64 samples = 0;

  for (guint i = 0; i < n_rows; i++)
    {
      const GafSweepRow *r = &rows[i];
      GafMethod m;
      GafScalingSeries *s = NULL;

      if (gaf_method_from_string (r->method, &m))
        {
          if (by_method[m] == NULL)
            {
              g_autofree char *label = g_strdup_printf ("%s: %s", gaf_method_title (m), gaf_method_decoding (m));
              double rgb[3];
              gaf_scaling_plot_palette (m, rgb);
              by_method[m] = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_METHOD, label, rgb);
            }
          s = by_method[m];
        }
      else
        {
          for (guint j = 0; j < other->len && s == NULL; j++)
            if (g_str_equal (((GafScalingSeries *) other->pdata[j])->label, r->method))
              s = other->pdata[j];
          if (s == NULL)
            {
              double rgb[3];
              gaf_scaling_plot_palette (GAF_N_METHODS + other->len, rgb);
              s = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_METHOD, r->method, rgb);
              g_ptr_array_add (other, s);
            }
        }
      gaf_scaling_series_add (s, r->classes, r->kl);
      samples = MAX (samples, r->samples);
    }

  uniform = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_UNIFORM,
                                              "uniform sampler (ignores the data), N = infinity", NULL);
  {
    g_autofree char *label = g_strdup_printf ("finite-sample floor (c - 1) / (2N), N = %" G_GUINT64_FORMAT,
                                              samples);
    floor_line = gaf_scaling_plot_data_add_series (d, GAF_SCALING_LINE_FLOOR, label, NULL);
  }
  for (guint i = 0; i < n_rows; i++)
    {
      const GafSweepRow *r = &rows[i];
      if (g_hash_table_contains (seen, GINT_TO_POINTER (r->classes)))
        continue;
      g_hash_table_add (seen, GINT_TO_POINTER (r->classes));
      gaf_scaling_series_add (uniform, r->classes, r->kl_uniform);
      gaf_scaling_series_add (floor_line, r->classes, r->kl_floor);
    }
  return d;
}

static gboolean
point_ok (const GafScalingPoint *p)
{
  return isfinite (p->classes) && isfinite (p->kl) && p->classes > 0.0 && p->kl > 0.0;
}

gboolean
gaf_scaling_plot_data_range (const GafScalingPlotData *data, double *x_min, double *x_max,
                             double *y_min, double *y_max)
{
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;

  for (guint i = 0; i < data->series->len; i++)
    {
      const GafScalingSeries *s = data->series->pdata[i];
      for (guint j = 0; j < s->points->len; j++)
        {
          const GafScalingPoint *p = &g_array_index (s->points, GafScalingPoint, j);
          if (!point_ok (p))
            continue;
          x0 = MIN (x0, p->classes);
          x1 = MAX (x1, p->classes);
          y0 = MIN (y0, p->kl);
          y1 = MAX (y1, p->kl);
        }
    }
  if (!(x0 <= x1))
    {
      *x_min = 1.0;
      *x_max = 10.0;
      *y_min = 1e-4;
      *y_max = 1.0;
      return FALSE;
    }
  /* x: 8 % of the log range on each side (at least a factor 1.25 when there is one class count) */
  {
    double lx0 = log10 (x0), lx1 = log10 (x1), pad = MAX (0.08 * (lx1 - lx0), 0.1);
    *x_min = pow (10.0, lx0 - pad);
    *x_max = pow (10.0, lx1 + pad);
  }
  /* y: whole decades, and at least one */
  *y_min = pow (10.0, floor (log10 (y0) + 1e-9));
  *y_max = pow (10.0, ceil (log10 (y1) - 1e-9));
  if (*y_max <= *y_min)
    *y_max = *y_min * 10.0;
  return TRUE;
}

/* ---- drawing --------------------------------------------------------------------------------------- */

void
gaf_scaling_plot_style_init (GafScalingPlotStyle *style)
{
  static const GafScalingPlotStyle def = {
    { 0.0, 0.0, 0.0, 1.0 }, { 1.0, 1.0, 1.0, 1.0 }, 0.12, "sans-serif", 13.0, 1.8,
  };

  *style = def;
}

static void
set_fg (cairo_t *cr, const GafScalingPlotStyle *st, double alpha)
{
  cairo_set_source_rgba (cr, st->fg[0], st->fg[1], st->fg[2], st->fg[3] * alpha);
}

static void
set_font (cairo_t *cr, const GafScalingPlotStyle *st, double scale)
{
  cairo_select_font_face (cr, st->font_family, CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, st->font_size * scale);
}

/* Text with its box anchored at (x, y): ax, ay in [0, 1] (0, 0 the top left; 0.5, 0.5 the centre).
 * The box height is the font's ascent + descent, so labels of a row line up. Returns the width. */
static double
draw_text (cairo_t *cr, const char *text, double x, double y, double ax, double ay)
{
  cairo_text_extents_t te;
  cairo_font_extents_t fe;

  cairo_text_extents (cr, text, &te);
  cairo_font_extents (cr, &fe);
  cairo_move_to (cr, x - ax * te.x_advance, y - ay * (fe.ascent + fe.descent) + fe.ascent);
  cairo_show_text (cr, text);
  return te.x_advance;
}

static double
text_width (cairo_t *cr, const char *text)
{
  cairo_text_extents_t te;

  cairo_text_extents (cr, text, &te);
  return te.x_advance;
}

void
gaf_plot_set_fg (cairo_t *cr, const GafScalingPlotStyle *style, double alpha)
{
  set_fg (cr, style, alpha);
}

void
gaf_plot_set_font (cairo_t *cr, const GafScalingPlotStyle *style, double scale)
{
  set_font (cr, style, scale);
}

double
gaf_plot_draw_text (cairo_t *cr, const char *text, double x, double y, double ax, double ay)
{
  return draw_text (cr, text, x, y, ax, ay);
}

double
gaf_plot_text_width (cairo_t *cr, const char *text)
{
  return text_width (cr, text);
}

/* "10" with a raised, smaller exponent, right-aligned at x and vertically centred at y. */
static void
draw_power10 (cairo_t *cr, const GafScalingPlotStyle *st, int e, double x, double y)
{
  char exp_text[16];
  double w_base, w_exp, fs = st->font_size;

  g_snprintf (exp_text, sizeof exp_text, "%d", e);
  set_font (cr, st, 1.0);
  w_base = text_width (cr, "10");
  set_font (cr, st, 0.72);
  w_exp = text_width (cr, exp_text);
  set_font (cr, st, 1.0);
  draw_text (cr, "10", x - w_exp - w_base, y, 0.0, 0.5);
  set_font (cr, st, 0.72);
  draw_text (cr, exp_text, x - w_exp, y - 0.45 * fs, 0.0, 0.5);
  set_font (cr, st, 1.0);
}

static void
set_dash (cairo_t *cr, GafScalingLineKind kind, double lw)
{
  if (kind == GAF_SCALING_LINE_UNIFORM)
    {
      double d[] = { 7 * lw / 1.8, 4 * lw / 1.8 };
      cairo_set_dash (cr, d, 2, 0);
    }
  else if (kind == GAF_SCALING_LINE_FLOOR)
    {
      double d[] = { 1.5 * lw / 1.8, 3.5 * lw / 1.8 };
      cairo_set_dash (cr, d, 2, 0);
    }
  else
    cairo_set_dash (cr, NULL, 0, 0);
}

static int
cmp_point (gconstpointer a, gconstpointer b)
{
  const GafScalingPoint *p = a, *q = b;

  return (p->classes > q->classes) - (p->classes < q->classes);
}

typedef struct {
  double left, top, width, height;
  double lx0, lx1, ly0, ly1;      /* log10 ranges */
} Frame;

static double
map_x (const Frame *f, double c)
{
  return f->left + f->width * (log10 (c) - f->lx0) / (f->lx1 - f->lx0);
}

static double
map_y (const Frame *f, double kl)
{
  return f->top + f->height * (f->ly1 - log10 (kl)) / (f->ly1 - f->ly0);
}

/* A legend line sample for a series, from (x, y) to (x + w, y). */
static void
draw_sample (cairo_t *cr, const GafScalingSeries *s, const GafScalingPlotStyle *st, double x, double y, double w)
{
  cairo_save (cr);
  cairo_set_source_rgb (cr, s->rgb[0], s->rgb[1], s->rgb[2]);
  cairo_set_line_width (cr, st->line_width);
  set_dash (cr, s->kind, st->line_width);
  cairo_move_to (cr, x, y);
  cairo_line_to (cr, x + w, y);
  cairo_stroke (cr);
  if (s->kind == GAF_SCALING_LINE_METHOD)
    {
      cairo_arc (cr, x + w / 2, y, 1.9 * st->line_width, 0, 2 * G_PI);
      cairo_fill (cr);
    }
  cairo_restore (cr);
}

void
gaf_scaling_plot_draw (cairo_t *cr, const GafScalingPlotData *data, double width, double height,
                       const GafScalingPlotStyle *style)
{
  GafScalingPlotStyle def;
  const GafScalingPlotStyle *st = style;
  double x_min, x_max, y_min, y_max, fs, line_h, legend_w = 0.0, legend_h, sample_w, col_w;
  guint n_series = data->series->len, cols, rows;
  Frame f;
  int d0, d1;

  if (st == NULL)
    {
      gaf_scaling_plot_style_init (&def);
      st = &def;
    }
  fs = st->font_size;
  line_h = 1.45 * fs;
  sample_w = 2.6 * fs;

  cairo_save (cr);
  if (st->bg[3] > 0.0)
    {
      cairo_set_source_rgba (cr, st->bg[0], st->bg[1], st->bg[2], st->bg[3]);
      cairo_rectangle (cr, 0, 0, width, height);
      cairo_fill (cr);
    }
  gaf_scaling_plot_data_range (data, &x_min, &x_max, &y_min, &y_max);

  /* Legend under the plot: one or two columns, as the widest label allows. */
  set_font (cr, st, 0.92);
  for (guint i = 0; i < n_series; i++)
    legend_w = MAX (legend_w, text_width (cr, ((GafScalingSeries *) data->series->pdata[i])->label));
  col_w = sample_w + 0.6 * fs + legend_w + 1.5 * fs;
  cols = (n_series > 1 && 2 * col_w <= width - 2 * fs) ? 2 : 1;
  rows = (n_series + cols - 1) / cols;
  legend_h = rows * line_h + (data->note ? line_h : 0.0);

  f.left = 4.4 * fs;                                       /* y label + tick labels */
  f.top = (data->title ? 2.4 * fs : 0.9 * fs);
  f.width = MAX (width - f.left - 1.2 * fs, 10.0);
  f.height = MAX (height - f.top - (1.6 * fs + 1.6 * fs + 0.8 * fs) - legend_h - 0.6 * fs, 10.0);
  f.lx0 = log10 (x_min);
  f.lx1 = log10 (x_max);
  f.ly0 = log10 (y_min);
  f.ly1 = log10 (y_max);
  d0 = (int) lround (f.ly0);
  d1 = (int) lround (f.ly1);

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);

  /* grid: decades (and 2..9 within each decade when there are few) on y; 1-2-5 steps on x */
  cairo_set_line_width (cr, 1.0);
  for (int d = d0; d <= d1; d++)
    {
      double y = map_y (&f, pow (10.0, d));
      set_fg (cr, st, st->grid_alpha);
      cairo_move_to (cr, f.left, y);
      cairo_line_to (cr, f.left + f.width, y);
      cairo_stroke (cr);
      if (d < d1 && d1 - d0 <= 6)
        {
          set_fg (cr, st, 0.45 * st->grid_alpha);
          for (int k = 2; k <= 9; k++)
            {
              double ym = map_y (&f, k * pow (10.0, d));
              cairo_move_to (cr, f.left, ym);
              cairo_line_to (cr, f.left + f.width, ym);
              cairo_stroke (cr);
            }
        }
    }
  set_font (cr, st, 1.0);
  for (int d = (int) floor (f.lx0) - 1; d <= (int) ceil (f.lx1); d++)
    {
      static const int steps[] = { 1, 2, 5 };
      for (guint k = 0; k < G_N_ELEMENTS (steps); k++)
        {
          double c = steps[k] * pow (10.0, d), x;
          char label[32];
          if (c < x_min || c > x_max)
            continue;
          x = map_x (&f, c);
          set_fg (cr, st, st->grid_alpha);
          cairo_move_to (cr, x, f.top);
          cairo_line_to (cr, x, f.top + f.height);
          cairo_stroke (cr);
          set_fg (cr, st, 1.0);
          cairo_move_to (cr, x, f.top + f.height);
          cairo_line_to (cr, x, f.top + f.height + 0.35 * fs);
          cairo_stroke (cr);
          g_snprintf (label, sizeof label, "%.10g", c);
          draw_text (cr, label, x, f.top + f.height + 0.45 * fs, 0.5, 0.0);
        }
    }
  /* y tick labels as powers of ten */
  set_fg (cr, st, 1.0);
  for (int d = d0; d <= d1; d++)
    {
      double y = map_y (&f, pow (10.0, d));
      cairo_move_to (cr, f.left - 0.35 * fs, y);
      cairo_line_to (cr, f.left, y);
      cairo_stroke (cr);
      draw_power10 (cr, st, d, f.left - 0.5 * fs, y);
    }
  /* frame */
  cairo_rectangle (cr, f.left, f.top, f.width, f.height);
  cairo_stroke (cr);

  /* axis labels and title */
  set_font (cr, st, 1.0);
  draw_text (cr, data->x_label ? data->x_label : "", f.left + f.width / 2, f.top + f.height + 1.75 * fs, 0.5,
             0.0);
  cairo_save (cr);
  cairo_translate (cr, 0.2 * fs, f.top + f.height / 2);
  cairo_rotate (cr, -G_PI / 2);
  draw_text (cr, data->y_label ? data->y_label : "", 0.0, 0.0, 0.5, 0.0);
  cairo_restore (cr);
  if (data->title)
    {
      set_font (cr, st, 1.15);
      draw_text (cr, data->title, f.left + f.width / 2, 0.6 * fs, 0.5, 0.0);
      set_font (cr, st, 1.0);
    }

  /* series, clipped to the frame; reference lines first so the methods draw over them */
  cairo_save (cr);
  cairo_rectangle (cr, f.left, f.top, f.width, f.height);
  cairo_clip (cr);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  for (int pass = 0; pass < 2; pass++)
    for (guint i = 0; i < n_series; i++)
      {
        const GafScalingSeries *s = data->series->pdata[i];
        g_autoptr(GArray) pts = NULL;
        gboolean pen = FALSE;

        if ((s->kind == GAF_SCALING_LINE_METHOD) != (pass == 1))
          continue;
        pts = g_array_copy (s->points);
        g_array_sort (pts, cmp_point);
        cairo_set_source_rgb (cr, s->rgb[0], s->rgb[1], s->rgb[2]);
        cairo_set_line_width (cr, st->line_width);
        set_dash (cr, s->kind, st->line_width);
        for (guint j = 0; j < pts->len; j++)
          {
            const GafScalingPoint *p = &g_array_index (pts, GafScalingPoint, j);
            if (!point_ok (p))
              {
                pen = FALSE;   /* a gap where the value cannot be shown on log axes */
                continue;
              }
            if (pen)
              cairo_line_to (cr, map_x (&f, p->classes), map_y (&f, p->kl));
            else
              cairo_move_to (cr, map_x (&f, p->classes), map_y (&f, p->kl));
            pen = TRUE;
          }
        cairo_stroke (cr);
        if (s->kind == GAF_SCALING_LINE_METHOD)
          for (guint j = 0; j < pts->len; j++)
            {
              const GafScalingPoint *p = &g_array_index (pts, GafScalingPoint, j);
              if (!point_ok (p))
                continue;
              cairo_new_sub_path (cr);
              cairo_arc (cr, map_x (&f, p->classes), map_y (&f, p->kl), 1.9 * st->line_width, 0, 2 * G_PI);
              cairo_fill (cr);
            }
      }
  cairo_restore (cr);

  /* legend */
  {
    double ly = f.top + f.height + 1.75 * fs + 1.6 * fs + 0.3 * fs;
    set_font (cr, st, 0.92);
    for (guint i = 0; i < n_series; i++)
      {
        const GafScalingSeries *s = data->series->pdata[i];
        guint col = i / rows, row = i % rows;
        double x = f.left + col * col_w, y = ly + row * line_h + line_h / 2;
        draw_sample (cr, s, st, x, y, sample_w);
        set_fg (cr, st, 1.0);
        draw_text (cr, s->label, x + sample_w + 0.6 * fs, y, 0.0, 0.5);
      }
    if (data->note)
      {
        /* one line: a smaller font when it would not fit (down to 60 %) */
        double avail = width - f.left - 0.5 * fs, w = text_width (cr, data->note), scale = 0.92;
        if (w > avail)
          {
            scale = MAX (0.6, 0.92 * avail / w);
            set_font (cr, st, scale);
          }
        set_fg (cr, st, 0.75);
        draw_text (cr, data->note, f.left, ly + rows * line_h + line_h / 2, 0.0, 0.5);
      }
  }
  cairo_restore (cr);
}

/* ---- files ----------------------------------------------------------------------------------------- */

gboolean
gaf_scaling_plot_format_from_path (const char *path, GafScalingPlotFormat *format, GError **error)
{
  g_autofree char *lower = g_ascii_strdown (path, -1);

  if (g_str_has_suffix (lower, ".svg"))
    *format = GAF_SCALING_PLOT_SVG;
  else if (g_str_has_suffix (lower, ".png"))
    *format = GAF_SCALING_PLOT_PNG;
  else
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "cannot tell the plot format of '%s' (the name must end in .svg or .png)", path);
      return FALSE;
    }
  return TRUE;
}

static cairo_status_t
append_bytes (void *closure, const unsigned char *bytes, unsigned int length)
{
  g_byte_array_append (closure, bytes, length);
  return CAIRO_STATUS_SUCCESS;
}

static gboolean
check_size (int width, int height, GError **error)
{
  if (width < 64 || height < 64 || width > 16384 || height > 16384)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "plot size must be between 64 and 16384 pixels each way, got %d x %d", width, height);
      return FALSE;
    }
  return TRUE;
}

static gboolean
finish (cairo_surface_t *surface, GByteArray *bytes, const char *path, GError **error)
{
  cairo_status_t status;

  cairo_surface_finish (surface);
  status = cairo_surface_status (surface);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot draw the plot: %s", cairo_status_to_string (status));
      return FALSE;
    }
  /* atomic: temporary file and rename */
  if (!g_file_set_contents (path, (const char *) bytes->data, bytes->len, error))
    return FALSE;
  return TRUE;
}

/* Draws with `draw` onto an SVG or PNG surface of width x height and writes the file atomically. */
static gboolean
render_file (GafScalingPlotFormat format, const char *path, int width, int height, GafPlotDrawFunc draw,
             gconstpointer data, const GafScalingPlotStyle *style, GError **error)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  if (!check_size (width, height, error))
    return FALSE;
  if (format == GAF_SCALING_PLOT_SVG)
    {
      surface = cairo_svg_surface_create_for_stream (append_bytes, bytes, width, height);
      cairo_svg_surface_set_document_unit (surface, CAIRO_SVG_UNIT_PX);
    }
  else
    surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  draw (cr, data, width, height, style);
  cairo_destroy (cr);
  if (format == GAF_SCALING_PLOT_PNG)
    {
      status = cairo_surface_write_to_png_stream (surface, append_bytes, bytes);
      if (status != CAIRO_STATUS_SUCCESS)
        {
          cairo_surface_destroy (surface);
          g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot encode the plot as PNG: %s",
                       cairo_status_to_string (status));
          return FALSE;
        }
    }
  return finish (surface, bytes, path, error);
}

gboolean
gaf_plot_write_file (const char *path, int width, int height, GafPlotDrawFunc draw, gconstpointer data,
                     const GafScalingPlotStyle *style, GError **error)
{
  GafScalingPlotFormat format;

  g_return_val_if_fail (path != NULL && draw != NULL, FALSE);
  if (!gaf_scaling_plot_format_from_path (path, &format, error))
    return FALSE;
  return render_file (format, path, width, height, draw, data, style, error);
}

static void
draw_scaling (cairo_t *cr, gconstpointer data, double width, double height, const GafScalingPlotStyle *style)
{
  gaf_scaling_plot_draw (cr, data, width, height, style);
}

gboolean
gaf_scaling_plot_write_svg (const GafScalingPlotData *data, const char *path, int width, int height,
                            const GafScalingPlotStyle *style, GError **error)
{
  g_return_val_if_fail (data != NULL && path != NULL, FALSE);
  return render_file (GAF_SCALING_PLOT_SVG, path, width, height, draw_scaling, data, style, error);
}

gboolean
gaf_scaling_plot_write_png (const GafScalingPlotData *data, const char *path, int width, int height,
                            const GafScalingPlotStyle *style, GError **error)
{
  g_return_val_if_fail (data != NULL && path != NULL, FALSE);
  return render_file (GAF_SCALING_PLOT_PNG, path, width, height, draw_scaling, data, style, error);
}

gboolean
gaf_scaling_plot_write (const GafScalingPlotData *data, const char *path, int width, int height,
                        const GafScalingPlotStyle *style, GError **error)
{
  GafScalingPlotFormat format;

  if (!gaf_scaling_plot_format_from_path (path, &format, error))
    return FALSE;
  if (format == GAF_SCALING_PLOT_SVG)
    return gaf_scaling_plot_write_svg (data, path, width, height, style, error);
  return gaf_scaling_plot_write_png (data, path, width, height, style, error);
}
