/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-simplex-canvas"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "gaf-export.h"
#include "gaf-label-map-experiment.h"
#include "gaf-simplex-canvas.h"
#include "gaf-simplex-geometry.h"

/* Length of the fading trail behind each moving row, in flow time. */
#define TRAIL_TIME 3.0
/* At the normal text size; presentation mode's larger text gets proportionally more (text_room). */
#define CAPTION_HEIGHT_1 52.0
#define LEGEND_HEIGHT_1 80.0
#define CAPTION_HEIGHT (self->compact ? 0.0 : CAPTION_HEIGHT_1 * gaf_text_factor (theme))
#define LEGEND_HEIGHT (self->compact ? 0.0 : LEGEND_HEIGHT_1 * gaf_text_factor (theme))
#define MARGIN 64.0

struct _GafSimplexCanvas {
  GtkWidget        parent_instance;

  GafSnapshot     *snapshot;
  double           time;
  gboolean         show_trails;
  gboolean         show_field;
  gboolean         show_density;
  gboolean         show_geodesics;

  int              n_points;       /* teaching overlay points set (0, 1, 2) */
  double           a[3], b[3];
  gboolean         hover_inside;
  double           hover[3];

  GafSimplexFrame  frame;          /* of the last draw, for clicks */
  int              frame_c;

  cairo_surface_t *density;        /* cached reference density image */
  int              density_w, density_h;
  double           density_fg[3];

  const GafFieldGrid *field_seen;  /* the grid whose maximum speed is cached */
  double           field_max;

  double           caption_inset;  /* pixels at the top right the captions leave free (at text factor 1) */
  gboolean         compact;        /* the drawing and its vertex labels only (the split view's halves) */
  char            *fit_key;        /* the size and vertex labels the frame was fitted to (a cache) */
  GafSimplexFrame  fit_frame;
  gboolean         numbered;       /* too narrow for the vertex labels: numbers in the discs, shares below
                                    * (set with fit_frame, under the same key) */
  int              selected_row;   /* label maps: the pixel whose trajectory is shown, -1 for none */

  guint            draws;
};

G_DEFINE_FINAL_TYPE (GafSimplexCanvas, gaf_simplex_canvas, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_TIME,
  PROP_SHOW_TRAILS,
  PROP_SHOW_FIELD,
  PROP_SHOW_DENSITY,
  PROP_SHOW_GEODESICS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The height of the label maps shown, 0 for other experiments. */
static int
map_height (GafSimplexCanvas *self)
{
  const GafLabelMapPayload *m = self->snapshot ? gaf_label_map_payload (self->snapshot->payload) : NULL;
  return m != NULL ? m->height : 0;
}

static int
canvas_classes (GafSimplexCanvas *self)
{
  return self->snapshot && self->snapshot->payload->c > 0 ? self->snapshot->payload->c : 3;
}

/* Class colours: the data's palette for label maps (the colours of the label-map view), else the
 * simplex view's own. */
static void
class_color (GafSimplexCanvas *self, int k, double rgb[3])
{
  const GafLabelMapPayload *m = self->snapshot ? gaf_label_map_payload (self->snapshot->payload) : NULL;

  if (m != NULL && m->palette != NULL && k < m->parent.c)
    for (int j = 0; j < 3; j++)
      rgb[j] = m->palette[k * 3 + j] / 255.0;
  else
    gaf_class_color (k, rgb);
}

static void
mix_color (GafSimplexCanvas *self, const float *w, int c, double rgb[3])
{
  rgb[0] = rgb[1] = rgb[2] = 0;
  for (int k = 0; k < c; k++)
    {
      double col[3];
      class_color (self, k, col);
      for (int j = 0; j < 3; j++)
        rgb[j] += w[k] * col[j];
    }
}

/* The rows drawn: all of them, except for label maps (thousands of pixels): the selected pixel alone, or
 * without a selection at most 256 pixels of the first map. */
static guint *
drawn_rows (GafSimplexCanvas *self, const GafTrajectories *tr, guint *n_out)
{
  guint *rows, n = 0;

  if (map_height (self) <= 0)
    {
      rows = g_new (guint, MAX (tr->n_rows, 1));
      for (guint r = 0; r < tr->n_rows; r++)
        rows[n++] = r;
    }
  else if (self->selected_row >= 0 && (guint) self->selected_row < tr->n_rows)
    {
      rows = g_new (guint, 1);
      rows[n++] = (guint) self->selected_row;
    }
  else
    {
      guint pixels = MIN ((guint) tr->n, tr->n_rows), stride = MAX (1u, pixels / 256);
      rows = g_new (guint, pixels / stride + 1);
      for (guint r = 0; r < pixels; r += stride)
        rows[n++] = r;
    }
  *n_out = n;
  return rows;
}

/* ---- pieces of the drawing ----------------------------------------------------------------------- */

static void
polygon_path (cairo_t *cr, const GafSimplexFrame *frame, int c)
{
  for (int k = 0; k < c; k++)
    {
      GafPoint p = gaf_simplex_frame_map (frame, gaf_polygon_vertex (c, k));
      if (k == 0)
        cairo_move_to (cr, p.x, p.y);
      else
        cairo_line_to (cr, p.x, p.y);
    }
  cairo_close_path (cr);
}

static void
draw_density (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  GafPoint v0 = gaf_simplex_frame_map (&self->frame, gaf_polygon_vertex (3, 0));
  GafPoint v1 = gaf_simplex_frame_map (&self->frame, gaf_polygon_vertex (3, 1));
  GafPoint v2 = gaf_simplex_frame_map (&self->frame, gaf_polygon_vertex (3, 2));
  double x0 = MIN (v1.x, v2.x), x1 = MAX (v1.x, v2.x), y0 = v0.y, y1 = MAX (v1.y, v2.y);
  /* Full resolution, computed once per size: drawing it is then a plain unscaled blit each frame. */
  int w = MAX (8, (int) ceil (x1 - x0)), h = MAX (8, (int) ceil (y1 - y0));

  if (self->density == NULL || self->density_w != w || self->density_h != h ||
      memcmp (self->density_fg, theme->fg, sizeof self->density_fg) != 0)
    {
      double *d = g_new (double, (gsize) w * h), dmax = 0;
      /* Half way between the theme's foreground and a slate blue: visible on light and dark themes. */
      double density_rgb[3] = { 0.5 * theme->fg[0] + 0.5 * 0.35, 0.5 * theme->fg[1] + 0.5 * 0.45,
                                0.5 * theme->fg[2] + 0.5 * 0.70 };
      unsigned char *data;
      int stride;

      g_clear_pointer (&self->density, cairo_surface_destroy);
      self->density = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
      self->density_w = w;
      self->density_h = h;
      memcpy (self->density_fg, theme->fg, sizeof self->density_fg);
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
          {
            double p[3];
            GafPoint pt = gaf_simplex_frame_unmap (&self->frame, round (x0) + i + 0.5, round (y0) + j + 0.5);
            d[j * w + i] = gaf_simplex_unproject3 (pt, p) ? gaf_reference_density3 (p) : 0.0;
            if (isfinite (d[j * w + i]))
              dmax = MAX (dmax, d[j * w + i]);
            else
              d[j * w + i] = 0;
          }
      cairo_surface_flush (self->density);
      data = cairo_image_surface_get_data (self->density);
      stride = cairo_image_surface_get_stride (self->density);
      for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
          {
            /* Premultiplied ARGB in a blue-grey tint; a power below 1 keeps the tails visible. */
            double a = dmax > 0 ? 0.28 * pow (d[j * w + i] / dmax, 0.7) : 0;
            guint32 px = ((guint32) (a * 255) << 24) | ((guint32) (density_rgb[0] * a * 255) << 16) |
                         ((guint32) (density_rgb[1] * a * 255) << 8) | (guint32) (density_rgb[2] * a * 255);
            *(guint32 *) (data + j * stride + i * 4) = px;
          }
      cairo_surface_mark_dirty (self->density);
      g_free (d);
    }
  /* Outside the triangle the image is transparent already: no clip needed. */
  cairo_set_source_surface (cr, self->density, round (x0), round (y0));
  cairo_paint (cr);
}

static void
draw_field (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  const GafFieldGrid *f = gaf_payload_field (self->snapshot->payload);
  g_autofree float *v = g_new (float, (gsize) f->n_points * f->c);
  /* Lattice spacing on screen: the triangle's side over the lattice subdivisions. */
  double side = self->frame.scale * sqrt (3.0), spacing = side / (1 + sqrt ((double) 2 * f->n_points));
  double scale;

  if (self->field_seen != f)
    {
      /* One scale for all times of this grid, so that arrows shrink as the field does. */
      self->field_max = 0;
      for (gsize i = 0; i < (gsize) f->n_times * f->n_points; i++)
        {
          GafPoint d = gaf_simplex_project (f->velocity + i * f->c, f->c);
          self->field_max = MAX (self->field_max, hypot (d.x, d.y));
        }
      self->field_seen = f;
    }
  if (!(self->field_max > 0))
    return;
  scale = 0.85 * spacing / (self->field_max * self->frame.scale);
  gaf_field_at (f, self->time, v);
  gaf_set_fg (cr, theme, 0.42);
  cairo_set_line_width (cr, 1.3);
  /* All shafts in one stroke, all heads in one fill. */
  for (int pass = 0; pass < 2; pass++)
    {
      for (guint g = 0; g < f->n_points; g++)
        {
          GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (f->points + g * f->c, f->c));
          GafPoint d = gaf_simplex_project (v + g * f->c, f->c);
          double dx = d.x * scale * self->frame.scale, dy = -d.y * scale * self->frame.scale;
          gaf_arrow_path (cr, p.x, p.y, p.x + dx, p.y + dy, 5.0, pass == 1);
        }
      if (pass == 0)
        cairo_stroke (cr);
      else
        cairo_fill (cr);
    }
}

static void
draw_trajectories (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  const GafTrajectories *tr = gaf_payload_trajectories (self->snapshot->payload);
  int c = tr->c;
  double t = CLAMP (self->time, 0.0, tr->times[tr->n_times - 1]);
  guint k = gaf_trajectory_index (tr, t);
  float *w = g_newa (float, c);
  guint n_drawn;
  g_autofree guint *drawn = drawn_rows (self, tr, &n_drawn);
  /* A single pixel of a label map keeps its whole path. */
  double trail_time = map_height (self) > 0 && self->selected_row >= 0 ? G_MAXDOUBLE : TRAIL_TIME;
  double head_radius = map_height (self) > 0 && self->selected_row >= 0 ? 6.0 : 3.6;

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  if (self->show_trails)
    {
      /* Each row's trail: the records within trail_time before t, then the interpolated head. Segments are
       * drawn in few strokes, one per class colour and fading level, rather than one stroke each. */
      enum { LEVELS = 8 };
      guint max_points = trail_time == TRAIL_TIME ? 64 : 4096;
      guint k0 = trail_time == TRAIL_TIME ? gaf_trajectory_index (tr, MAX (0.0, t - trail_time)) : 0;
      guint n_points = MIN (k + 2 - k0, max_points);
      g_autofree GafPoint *pts = g_new (GafPoint, (gsize) n_drawn * n_points);
      g_autofree double *ages = g_new (double, n_points);
      g_autofree guint *counts = g_new0 (guint, n_drawn);
      double span = trail_time == TRAIL_TIME ? TRAIL_TIME : MAX (t, 1e-9);

      for (guint d = 0; d < n_drawn; d++)
        for (guint j = k0; j <= k + 1 && j < tr->n_times && counts[d] < n_points; j++)
          {
            guint r = drawn[d];
            if (j > k)
              gaf_trajectory_at (tr, r, t, w);
            else
              memcpy (w, tr->w + ((gsize) j * tr->n_rows + r) * c, sizeof (float) * c);
            ages[counts[d]] = (t - MIN (tr->times[j], t)) / span;
            pts[(gsize) d * n_points + counts[d]++] = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (w, c));
          }
      cairo_set_line_width (cr, trail_time == TRAIL_TIME ? 1.8 : 3.0);
      /* Butt caps and a coarser tolerance: a third of the stroking cost, invisible at this width. */
      cairo_set_line_cap (cr, CAIRO_LINE_CAP_BUTT);
      cairo_set_tolerance (cr, 0.5);
      for (int label = 0; label < c; label++)
        for (int level = 0; level < LEVELS; level++)
          {
            double rgb[3];
            gboolean any = FALSE;
            for (guint d = 0; d < n_drawn; d++)
              {
                const GafPoint *p = pts + (gsize) d * n_points;
                if (tr->labels[drawn[d]] != label)
                  continue;
                for (guint i = 1; i < counts[d]; i++)
                  {
                    /* A segment fades with the age of its newer end. */
                    int lv = (int) (CLAMP (1.0 - ages[i], 0.0, 0.999) * LEVELS);
                    if (lv != level)
                      continue;
                    cairo_move_to (cr, p[i - 1].x, p[i - 1].y);
                    cairo_line_to (cr, p[i].x, p[i].y);
                    any = TRUE;
                  }
              }
            if (!any)
              continue;
            class_color (self, label, rgb);
            gaf_set_rgb (cr, rgb, 0.85 * (level + 1.0) / LEVELS);
            cairo_stroke (cr);
          }
    }
  /* Heads: each row's current W as the W-weighted mix of class colours; the outlines in one stroke. */
  {
    g_autofree GafPoint *heads = g_new (GafPoint, MAX (n_drawn, 1));
    for (guint d = 0; d < n_drawn; d++)
      {
        double rgb[3];
        gaf_trajectory_at (tr, drawn[d], t, w);
        heads[d] = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (w, c));
        mix_color (self, w, c, rgb);
        cairo_arc (cr, heads[d].x, heads[d].y, head_radius, 0, 2 * G_PI);
        gaf_set_rgb (cr, rgb, 1.0);
        cairo_fill (cr);
      }
    for (guint d = 0; d < n_drawn; d++)
      {
        cairo_new_sub_path (cr);
        cairo_arc (cr, heads[d].x, heads[d].y, head_radius, 0, 2 * G_PI);
      }
    gaf_set_fg (cr, theme, 0.55);
    cairo_set_line_width (cr, 0.8);
    cairo_stroke (cr);
  }
}

/* A jump flow's rows (tr->state): each row's chain sits on a vertex (its class) or, while masked, at the
 * barycentre, and moves only by jumps at the chain's step times. Drawn as what it is: the states as dots in a
 * cluster at their vertex (or grey at the centre), in the order the rows arrived; a jump of the last
 * JUMP_FLASH of flow time as a fading line from where the row was and a ring around where it is; and the
 * denoiser's prediction p_theta(x1 | x_t) of each row as a thin curve up to t with a hollow head, a curve
 * that bends where the chain jumps (its input changed). */
#define JUMP_FLASH 0.06

static void
jump_state_point (GafSimplexCanvas *self, int state, int c, GafPoint *out)
{
  float *v = g_newa (float, c);

  for (int j = 0; j < c; j++)
    v[j] = state >= c ? 1.0f / c : (j == state ? 1.0f : 0.0f);
  *out = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (v, c));
}

/* The k-th place of a cluster around p (a sunflower spiral: dense, every place distinct), pulled towards
 * the centre so that vertex clusters stay mostly inside the simplex. */
static GafPoint
cluster_place (GafSimplexCanvas *self, GafPoint p, guint k, double spacing, int c)
{
  GafPoint centre;
  double a = k * 2.39996323, r = spacing * sqrt (k + 0.5), dx, dy, d;

  jump_state_point (self, c, c, &centre);
  dx = centre.x - p.x;
  dy = centre.y - p.y;
  d = hypot (dx, dy);
  p.x += r * cos (a);
  p.y += r * sin (a);
  if (d > 1e-9)
    {
      p.x += dx / d * MIN (r, 0.2 * d);
      p.y += dy / d * MIN (r, 0.2 * d);
    }
  return p;
}

static void
draw_jump_rows (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  const GafTrajectories *tr = gaf_payload_trajectories (self->snapshot->payload);
  int c = tr->c;
  double t = CLAMP (self->time, 0.0, tr->times[tr->n_times - 1]);
  guint k = gaf_trajectory_index (tr, t), n_drawn;
  g_autofree guint *drawn = drawn_rows (self, tr, &n_drawn);
  g_autofree guint *arrival = g_new0 (guint, MAX (n_drawn, 1));   /* record of the row's last jump */
  g_autofree guint *order = g_new (guint, MAX (n_drawn, 1));
  g_autofree guint *filled = g_new0 (guint, c + 1);
  float *w = g_newa (float, c);
  double grey[3] = { 0.55, 0.55, 0.55 };
  double spacing = map_height (self) > 0 ? 2.2 : 4.2, radius = map_height (self) > 0 ? 1.8 : 3.2;

  /* the denoiser's prediction up to t: thin curves and hollow heads in the mix of class colours */
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_width (cr, 1.2);
  for (guint d = 0; self->show_trails && d < n_drawn; d++)
    {
      guint r = drawn[d];
      double rgb[3];
      GafPoint q;
      for (guint j = 0; j <= k; j++)
        {
          q = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (tr->w + ((gsize) j * tr->n_rows + r) * c, c));
          if (j == 0)
            cairo_move_to (cr, q.x, q.y);
          else
            cairo_line_to (cr, q.x, q.y);
        }
      gaf_trajectory_at (tr, r, t, w);
      q = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (w, c));
      cairo_line_to (cr, q.x, q.y);
      mix_color (self, w, c, rgb);
      gaf_set_rgb (cr, rgb, 0.35);
      cairo_stroke (cr);
    }
  for (guint d = 0; d < n_drawn; d++)
    {
      double rgb[3];
      GafPoint q;
      gaf_trajectory_at (tr, drawn[d], t, w);
      q = gaf_simplex_frame_map (&self->frame, gaf_simplex_project (w, c));
      mix_color (self, w, c, rgb);
      cairo_new_sub_path (cr);
      cairo_arc (cr, q.x, q.y, 2.6, 0, 2 * G_PI);
      gaf_set_rgb (cr, rgb, 0.8);
      cairo_set_line_width (cr, 1.2);
      cairo_stroke (cr);
    }

  /* the states at t, each cluster in the order its rows arrived (ties by row) */
  for (guint d = 0; d < n_drawn; d++)
    {
      guint r = drawn[d];
      order[d] = d;
      for (guint j = k; j > 0; j--)
        if (tr->state[(gsize) j * tr->n_rows + r] != tr->state[(gsize) (j - 1) * tr->n_rows + r])
          {
            arrival[d] = j;
            break;
          }
    }
  for (guint a = 1; a < n_drawn; a++)   /* insertion sort by (arrival, row): a few hundred rows */
    for (guint b = a; b > 0 && arrival[order[b - 1]] > arrival[order[b]]; b--)
      {
        guint x = order[b];
        order[b] = order[b - 1];
        order[b - 1] = x;
      }
  for (guint i = 0; i < n_drawn; i++)
    {
      guint d = order[i], r = drawn[d], j = arrival[d];
      int state = MIN ((int) tr->state[(gsize) k * tr->n_rows + r], c);
      double rgb[3], age = t - tr->times[j];
      GafPoint at, from;

      jump_state_point (self, state, c, &at);
      at = cluster_place (self, at, filled[state]++, spacing, c);
      if (state < c)
        class_color (self, state, rgb);
      else
        memcpy (rgb, grey, sizeof rgb);
      if (j > 0 && age < JUMP_FLASH)
        {
          /* a jump just now: a line from where the row was, and a ring that widens and fades */
          double f = age / JUMP_FLASH;
          jump_state_point (self, MIN ((int) tr->state[(gsize) (j - 1) * tr->n_rows + r], c), c, &from);
          cairo_move_to (cr, from.x, from.y);
          cairo_line_to (cr, at.x, at.y);
          gaf_set_rgb (cr, rgb, 0.7 * (1.0 - f));
          cairo_set_line_width (cr, 2.0);
          cairo_stroke (cr);
          cairo_arc (cr, at.x, at.y, radius + 3.0 + 10.0 * f, 0, 2 * G_PI);
          gaf_set_rgb (cr, rgb, 0.9 * (1.0 - f));
          cairo_set_line_width (cr, 2.2);
          cairo_stroke (cr);
        }
      cairo_arc (cr, at.x, at.y, radius, 0, 2 * G_PI);
      gaf_set_rgb (cr, rgb, 1.0);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.5);
      cairo_set_line_width (cr, 0.6);
      cairo_stroke (cr);
    }
}

static void
stroke_curve (GafSimplexCanvas *self, cairo_t *cr, const double *pts, guint n, int c)
{
  for (guint i = 0; i < n; i++)
    {
      GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (pts + (gsize) i * c, c));
      if (i == 0)
        cairo_move_to (cr, p.x, p.y);
      else
        cairo_line_to (cr, p.x, p.y);
    }
  cairo_stroke (cr);
}

static void
point_marker (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme, const double *p, const char *name)
{
  GafPoint s = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (p, 3));
  g_autofree char *markup = g_strdup_printf ("<b>%s</b>", name);

  cairo_arc (cr, s.x, s.y, 5.5, 0, 2 * G_PI);
  cairo_set_source_rgba (cr, theme->bg[0], theme->bg[1], theme->bg[2], 1);
  cairo_fill_preserve (cr);
  gaf_set_fg (cr, theme, 1.0);
  cairo_set_line_width (cr, 2.0);
  cairo_stroke (cr);
  gaf_draw_text (cr, theme, markup, s.x + 8, s.y - 6, 0.0, 1.0, 1.0);
}

/* Colours of the three geodesics between two points, distinct from the class colours. */
static const double e_color[3] = { 0.93, 0.45, 0.05 };
static const double fr_color[3] = { 0.58, 0.25, 0.78 };

static void
curve_label (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme, const double *pts, guint n,
             const char *markup, double side)
{
  const double *mid = pts + (gsize) (n / 2) * 3;
  GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (mid, 3));

  gaf_draw_text (cr, theme, markup, p.x + side * 10, p.y, side > 0 ? 0.0 : 1.0, 0.5, 0.9);
}

static void
draw_geodesics (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  const guint n = 96;
  g_autofree double *pts = g_new (double, (gsize) n * 3);
  static const double dash[] = { 7.0, 5.0 };
  static const double dots[] = { 1.0, 4.5 };

  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  if (self->n_points == 1)
    {
      /* The conditional paths of docs/method.md §2.1 through A: softmax(log A + s u_k), towards each vertex. */
      cairo_set_dash (cr, dash, 2, 0);
      cairo_set_line_width (cr, 2.2);
      for (int k = 0; k < 3; k++)
        {
          double rgb[3];
          class_color (self, k, rgb);
          gaf_conditional_geodesic (self->a, k, 3, 14.0, n, pts);
          gaf_set_rgb (cr, rgb, 0.95);
          stroke_curve (self, cr, pts, n, 3);
        }
      cairo_set_dash (cr, NULL, 0, 0);
      point_marker (self, cr, theme, self->a, "A");
      return;
    }

  cairo_set_line_width (cr, 2.6);
  gaf_geodesic_m (self->a, self->b, 3, n, pts);
  cairo_set_dash (cr, dash, 2, 0);
  gaf_set_fg (cr, theme, 0.8);
  stroke_curve (self, cr, pts, n, 3);
  cairo_set_dash (cr, NULL, 0, 0);

  gaf_geodesic_fisher_rao (self->a, self->b, 3, n, pts);
  cairo_set_dash (cr, dots, 2, 0);
  cairo_set_line_width (cr, 3.2);
  gaf_set_rgb (cr, fr_color, 1.0);
  stroke_curve (self, cr, pts, n, 3);
  cairo_set_dash (cr, NULL, 0, 0);

  gaf_geodesic_e (self->a, self->b, 3, n, pts);
  cairo_set_line_width (cr, 2.6);
  gaf_set_rgb (cr, e_color, 1.0);
  stroke_curve (self, cr, pts, n, 3);

  /* Labels at the middle of the outermost curves: e bends towards the boundary, m is straight. */
  {
    g_autofree char *e = g_strdup_printf ("<span foreground='#%02x%02x%02x'><b>%s</b></span>",
                                          (int) (e_color[0] * 255), (int) (e_color[1] * 255),
                                          (int) (e_color[2] * 255), _("e"));
    g_autofree char *m = g_strdup_printf ("<b>%s</b>", _("m"));
    g_autofree char *fr = g_strdup_printf ("<span foreground='#%02x%02x%02x'><b>%s</b></span>",
                                           (int) (fr_color[0] * 255), (int) (fr_color[1] * 255),
                                           (int) (fr_color[2] * 255), _("FR"));
    double mid_e[3], mid_m[3];
    GafPoint pe, pm;
    double side;

    gaf_set_fg (cr, theme, 1.0);
    curve_label (self, cr, theme, pts, n, e, 1.0);
    memcpy (mid_e, pts + (gsize) (n / 2) * 3, sizeof mid_e);
    gaf_geodesic_m (self->a, self->b, 3, n, pts);
    memcpy (mid_m, pts + (gsize) (n / 2) * 3, sizeof mid_m);
    pe = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (mid_e, 3));
    pm = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (mid_m, 3));
    side = pe.x >= pm.x ? -1.0 : 1.0;
    curve_label (self, cr, theme, pts, n, m, side);
    gaf_geodesic_fisher_rao (self->a, self->b, 3, n, pts);
    {
      const double *mid = pts + (gsize) (n / 2) * 3;
      GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_simplex_project_d (mid, 3));
      gaf_draw_text (cr, theme, fr, p.x, p.y + 8, 0.5, 0.0, 0.9);
    }
  }
  point_marker (self, cr, theme, self->a, "A");
  point_marker (self, cr, theme, self->b, "B");
}

/* Class k's share of the last round's samples and of the target, averaged over positions; FALSE when the
 * snapshot has no round of c classes. */
static gboolean
class_share (GafSimplexCanvas *self, int k, int c, double *got, double *want)
{
  GafSnapshot *s = self->snapshot;
  const GafPayload *p = s != NULL ? s->payload : NULL;

  *got = *want = 0;
  if (p == NULL || p->round == NULL || p->round->freq == NULL || p->target_q == NULL || p->c != c)
    return FALSE;
  for (int i = 0; i < p->n; i++)
    {
      *got += p->round->freq[i * c + k] / p->n;
      *want += p->target_q[i * c + k] / p->n;
    }
  return TRUE;
}

/* A vertex's label (markup), its anchor direction (ux, uy: away from the centre) and the disc radius. */
static char *
vertex_label (GafSimplexCanvas *self, int k, int c, double *ux, double *uy)
{
  GafSnapshot *s = self->snapshot;
  GafPoint v = gaf_polygon_vertex (c, k);
  double len = hypot (v.x, v.y), got, want;
  g_autofree char *name = gaf_class_name (s != NULL ? s->payload : NULL, k);

  *ux = len > 0 ? v.x / len : 0;
  *uy = len > 0 ? v.y / len : 1;
  /* The segment's labels go below its ends, where there is room for them. */
  if (c == 2)
    {
      *ux = 0.0;
      *uy = -1.0;
    }
  if (c <= 6 && class_share (self, k, c, &got, &want))
    {
      /* Averaged over positions: how often samples end here, against the target. */
      g_autofree char *freq = NULL;
      /* Translators: sample and target frequencies of a class, in percent (the second on two lines,
       * under the ends of the two-class segment and beside the lower vertices of the triangle) */
      freq = c == 2 || (c == 3 && k > 0) ? g_strdup_printf (_("samples %.0f %%\ntarget %.0f %%"), 100 * got, 100 * want)
                                         : g_strdup_printf (_("samples %.0f %% · target %.0f %%"), 100 * got, 100 * want);
      return g_strdup_printf ("<b>%s</b>\n<small>%s</small>", name, freq);
    }
  return g_strdup_printf ("<b>%s</b>", name);
}

static double
vertex_radius (int c)
{
  return c <= 6 ? 11.0 : 8.0;
}

/* Fits the polygon into the area so that every vertex label stays inside it: the polygon fitted to the area,
 * then shrunk about its centre until the labels fit, but to no less than half its size (a narrow canvas keeps a
 * drawing it can show). */
static void
fit_frame (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme, int c, double width, double height)
{
  /* The segment's end labels sit under its ends, half outside: more room at the sides; a narrow canvas
   * (the pixel pane of the Maps view on a projector) keeps most of its width for the drawing. */
  double margin = MIN (c == 2 ? 1.6 * MARGIN : MARGIN, 0.2 * width);
  double area_h = height - CAPTION_HEIGHT - LEGEND_HEIGHT;
  g_autofree double *boxes = g_new (double, 4 * (gsize) c);
  GString *key = g_string_new (NULL);

  /* Measuring the labels every frame would cost the animation: the fit is kept until they change. */
  g_string_printf (key, "%d %g %g %g %d", c, width, height, gaf_stroke (theme), self->compact);
  for (int k = 0; k < c; k++)
    {
      double ux, uy;
      g_autofree char *label = vertex_label (self, k, c, &ux, &uy);
      g_string_append_printf (key, "|%s", label);
    }
  if (self->fit_key != NULL && strcmp (self->fit_key, key->str) == 0)
    {
      self->frame = self->fit_frame;
      g_string_free (key, TRUE);
      return;
    }
  g_free (self->fit_key);
  self->fit_key = g_string_free (key, FALSE);

  gaf_simplex_frame_fit (&self->frame, c, width, MAX (area_h, 1), margin);
  self->frame.cy += CAPTION_HEIGHT;
  for (int k = 0; k < c; k++)
    {
      double ux, uy, lw, lh, r = vertex_radius (c) + 8;
      g_autofree char *label = vertex_label (self, k, c, &ux, &uy);
      double *b = boxes + 4 * k;

      /* where draw_vertices puts the label, relative to its vertex */
      gaf_measure_text (cr, theme, label, 1.0, &lw, &lh);
      b[0] = ux * r - (0.5 - 0.5 * ux) * lw;
      b[1] = -uy * r - (0.5 + 0.5 * uy) * lh;
      b[2] = b[0] + lw;
      b[3] = b[1] + lh;
    }
  {
    /* Labels that fit only with the drawing below half its size (the pixel pane of the Maps view on a
     * projector, with three or more classes): the classes' numbers in their discs instead, and their shares
     * under the drawing (draw_captions). */
    GafSimplexFrame probe = self->frame;
    double full = self->frame.scale;

    gaf_simplex_frame_fit_labels (&probe, c, boxes, 4, CAPTION_HEIGHT, width - 4, CAPTION_HEIGHT + area_h, 0.0);
    self->numbered = probe.scale < 0.5 * full;
    if (self->numbered)
      for (int k = 0; k < c; k++)
        {
          double r = vertex_radius (c) + 2, *b = boxes + 4 * k;
          b[0] = b[1] = -r;
          b[2] = b[3] = r;
        }
    gaf_simplex_frame_fit_labels (&self->frame, c, boxes, 4, CAPTION_HEIGHT, width - 4, CAPTION_HEIGHT + area_h,
                                  0.5 * full);
  }
  self->fit_frame = self->frame;
}

static void
draw_vertices (GafSimplexCanvas *self, cairo_t *cr, const GafTheme *theme)
{
  int c = canvas_classes (self);
  double radius = vertex_radius (c);

  for (int k = 0; k < c; k++)
    {
      GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_polygon_vertex (c, k));
      double rgb[3], ux, uy;
      g_autofree char *label = vertex_label (self, k, c, &ux, &uy);

      class_color (self, k, rgb);
      cairo_arc (cr, p.x, p.y, radius, 0, 2 * G_PI);
      gaf_set_rgb (cr, rgb, 1.0);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.8);
      cairo_set_line_width (cr, 1.2 * gaf_stroke (theme));
      cairo_stroke (cr);
      if (self->numbered)
        {
          /* the class's number, dark on a light disc and light on a dark one */
          g_autofree char *number = g_strdup_printf ("<b>%d</b>", k + 1);
          double l = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2], ink = l > 0.55 ? 0.0 : 1.0;
          cairo_set_source_rgb (cr, ink, ink, ink);
          gaf_draw_text (cr, theme, number, p.x, p.y, 0.5, 0.5, c <= 6 ? 0.85 : 0.7);
          continue;
        }
      gaf_draw_text (cr, theme, label, p.x + ux * (radius + 8), p.y - uy * (radius + 8),
                     0.5 - 0.5 * ux, 0.5 + 0.5 * uy, 1.0);
    }
}

/* The classes' shares of the samples and of the target, in the order of the numbered vertices:
 * "samples 69 · 10 · 11 · 10 %" and "target …" on two lines; NULL without a round of c classes. */
static char *
class_shares (GafSimplexCanvas *self, int c)
{
  g_autoptr(GString) got = g_string_new (NULL), want = g_string_new (NULL);

  for (int k = 0; k < c; k++)
    {
      double g, w;
      if (!class_share (self, k, c, &g, &w))
        return NULL;
      /* thin spaces around the dots: four classes fit the 180 pixels of the Maps view's pixel pane */
      g_string_append_printf (got, "%s%.0f", k > 0 ? "\u2009·\u2009" : "", 100 * g);
      g_string_append_printf (want, "%s%.0f", k > 0 ? "\u2009·\u2009" : "", 100 * w);
    }
  /* Translators: the shares of classes 1, 2, ... in percent, of the samples and of the target, as
   * "69 · 10 · 11 · 10" (under a drawing whose vertices carry the classes' numbers) */
  return g_strdup_printf (_("samples %s %%\ntarget %s %%"), got->str, want->str);
}

/* A headline and its explanation under the drawing, the second below however many lines the first wrapped to. */
static void
bottom_note (cairo_t *cr, const GafTheme *theme, const char *headline, const char *body, double y, double width)
{
  double h;

  gaf_set_fg (cr, theme, 0.9);
  h = gaf_draw_text_wrapped (cr, theme, headline, 16, y - 14, 0, 0, 0.95, width - 32);
  gaf_set_fg (cr, theme, 0.75);
  gaf_draw_text_wrapped (cr, theme, body, 16, y - 14 + h + 2, 0, 0, 0.85, width - 32);
}

static void
legend_line (cairo_t *cr, const GafTheme *theme, double x, double y, const double *rgb,
             const double *dash, int n_dash, double width, const char *markup)
{
  cairo_set_line_width (cr, width);
  cairo_set_dash (cr, dash, n_dash, 0);
  if (rgb)
    gaf_set_rgb (cr, rgb, 1.0);
  else
    gaf_set_fg (cr, theme, 0.8);
  cairo_move_to (cr, x, y);
  cairo_line_to (cr, x + 26, y);
  cairo_stroke (cr);
  cairo_set_dash (cr, NULL, 0, 0);
  gaf_set_fg (cr, theme, 0.9);
  gaf_draw_text (cr, theme, markup, x + 34, y, 0.0, 0.5, 0.9);
}

static void
draw_captions (GafSimplexCanvas *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  GafSnapshot *s = self->snapshot;
  const GafTrajectories *tr = s ? gaf_payload_trajectories (s->payload) : NULL;
  const GafLabelMapPayload *m = s ? gaf_label_map_payload (s->payload) : NULL;
  int c = canvas_classes (self);
  g_autofree char *title = NULL, *detail = NULL;
  /* The legend's lines sit above the field caption, which takes the bottom line. */
  double y = height - LEGEND_HEIGHT + 8;

  if (self->compact)
    return;
  gaf_set_fg (cr, theme, 1.0);
  if (tr != NULL)
    {
      /* Translators: the end time of the flow */
      g_autofree char *of = g_strdup_printf (_("of T = %g"), tr->times[tr->n_times - 1]);
      title = g_strdup_printf ("<b>t = %.2f</b>  <span alpha='70%%'>%s</span>", self->time, of);
      if (m != NULL && m->height > 0 && self->selected_row >= 0 && (guint) self->selected_row < tr->n_rows)
        {
          int pixel = self->selected_row % tr->n;
          /* Translators: a pixel (column, row) of a label map, then the training step of the weights */
          detail = g_strdup_printf (_("pixel (%d, %d) of map %d · step %u"),
                                    pixel % m->width + 1, pixel / m->width + 1, self->selected_row / tr->n + 1,
                                    (guint) tr->step);
        }
      else if (m != NULL && m->height > 0)
        detail = g_strdup (_("the pixels of map 1 · click a pixel to follow it"));
      else if (s->state == GAF_RUNNER_EXACT)
        detail = g_strdup_printf (_("%u rows (%u samples × %d positions) moved by the exact field"),
                                  tr->n_rows, tr->n_rows / tr->n, tr->n);
      else if (tr->state != NULL)
        detail = g_strdup_printf (_("%u rows (%u samples × %d positions) of a jump flow · %u steps · network "
                                    "weights of step %u"), tr->n_rows, tr->n_rows / tr->n, tr->n,
                                  tr->n_times - 1, (guint) tr->step);
      else
        detail = g_strdup_printf (_("%u rows (%u samples × %d positions) · network weights of step %u"),
                                  tr->n_rows, tr->n_rows / tr->n, tr->n, (guint) tr->step);
    }
  else if (s != NULL && s->state == GAF_RUNNER_FAILED)
    {
      title = g_strdup_printf ("<b>%s</b>", _("No samples"));
      detail = g_strdup (_("The run stopped with an error: see the message beside or in the status line."));
    }
  else
    {
      title = g_strdup_printf ("<b>%s</b>", _("Waiting for the first samples…"));
      detail = g_strdup ("");
    }
  {
    /* Left of what the view lays over the canvas's top right corner (the overlay toggles). */
    double room = width - 32 - self->caption_inset * gaf_text_factor (theme);
    double th = gaf_draw_text_wrapped (cr, theme, title, 16, 10, 0, 0, width < 320 ? 1.1 : 1.35, room);
    gaf_set_fg (cr, theme, 0.75);
    gaf_draw_text_wrapped (cr, theme, detail, 16, 10 + th + 2, 0, 0, 0.9, room);
  }
  if (self->hover_inside && c == 3)
    {
      g_autofree char *h = g_strdup_printf ("W = (%.2f, %.2f, %.2f)", self->hover[0], self->hover[1], self->hover[2]);
      gaf_draw_text (cr, theme, h, width - 16, 10, 1.0, 0.0, 0.95);
    }

  if (self->numbered)
    {
      /* Vertices carry numbers: which class each is, and the shares their labels would have shown. */
      g_autofree char *shares = class_shares (self, c);
      g_autofree char *what = g_strdup_printf ("<b>%s</b>", c == 2 ? _("The simplex of two classes is this segment")
                                                           : c > 3 ? _("Barycentric projection")
                                                                   : _("vertex k is class k"));
      bottom_note (cr, theme, what, shares != NULL ? shares : "", y, width);
      return;
    }
  if (c == 2)
    {
      /* The segment is the whole simplex: nothing is hidden by the picture. */
      g_autofree char *what = g_strdup_printf ("<b>%s</b>", _("The simplex of two classes is this segment"));
      bottom_note (cr, theme, what, _("W₁ is how far a point is from the class 2 end."), y, width);
      return;
    }
  if (c != 3)
    {
      g_autofree char *proj = g_strdup_printf ("<b>%s</b>", _("Barycentric projection"));
      /* the pixel pane of the Maps view (180 pixels) has room for the gist only */
      g_autofree char *what = width < 320 ? g_strdup (_("A linear shadow of the simplex: distinct points may overlap."))
                              : g_strdup_printf (_("W ↦ Σⱼ Wⱼ vⱼ onto a regular %d-gon: a linear shadow of the simplex, "
                                                   "so distinct points may overlap. Field and overlays need c = 3."), c);
      bottom_note (cr, theme, proj, what, y, width);
      return;
    }
  if (tr != NULL && tr->state != NULL && !(self->show_geodesics && self->n_points > 0))
    {
      /* what a jump flow's picture means */
      gaf_set_fg (cr, theme, 0.75);
      gaf_draw_text_wrapped (cr, theme, _("dots: each row's state, on its class or grey at the centre while masked; "
                                          "a ring flashes when a row jumps. Thin curves and circles: the network's "
                                          "prediction p_θ(x₁ | x_t), which a row jumps to."),
                             16, y - 14, 0, 0, 0.85, width - 32);
      return;
    }
  if (self->show_geodesics && self->n_points == 2)
    {
      static const double dash[] = { 7.0, 5.0 }, dots[] = { 1.0, 4.5 };
      g_autofree char *fr = g_strdup_printf (_("Fisher–Rao geodesic (great circle of 2√p), length %.3f"),
                                             gaf_fisher_rao_distance (self->a, self->b, 3));
      legend_line (cr, theme, 16, y - 8, e_color, NULL, 0, 2.6, _("e-geodesic (straight in logits)"));
      legend_line (cr, theme, 16, y + 10, NULL, dash, 2, 2.6, _("m-geodesic (straight in p)"));
      legend_line (cr, theme, 16, y + 28, fr_color, dots, 2, 3.2, fr);
    }
  else if (self->show_geodesics && self->n_points == 1)
    {
      static const double dash[] = { 7.0, 5.0 };
      double grey[3] = { 0.5, 0.5, 0.5 };
      legend_line (cr, theme, 16, y, grey, dash, 2, 2.2,
                   _("conditional e-geodesics from A to each vertex: the GAF training paths. Click a second point."));
    }
  else if (self->show_geodesics)
    {
      gaf_set_fg (cr, theme, 0.7);
      gaf_draw_text_wrapped (cr, theme, _("Click a point for the GAF paths through it, a second one for three geodesics."),
                             16, y, 0, 0.5, 0.9, width - 32);
    }
  if (self->show_field && s != NULL && gaf_payload_field (s->payload) != NULL)
    {
      g_autofree char *what = s->state == GAF_RUNNER_EXACT
        ? g_strdup (_("arrows: the exact field R_W F(W, t) of position 1"))
        : g_strdup (_("arrows: the learned field R_W F(W, t) of position 1, the others at the barycentre"));
      gaf_set_fg (cr, theme, 0.7);
      gaf_draw_text_wrapped (cr, theme, what, 16, height - 12, 0, 1.0, 0.85, width - 32);
    }
}

void
gaf_simplex_canvas_draw (GafSimplexCanvas *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  GafSnapshot *s = self->snapshot;
  int c = canvas_classes (self);

  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));

  /* No classes known yet (data that could not be read): no made-up triangle, only what the caption says. */
  if (s != NULL && s->payload->c <= 0)
    {
      draw_captions (self, cr, width, height, theme);
      return;
    }
  fit_frame (self, cr, theme, c, width, height);
  self->frame_c = c;

  if (c >= 3)
    {
      polygon_path (cr, &self->frame, c);
      gaf_set_fg (cr, theme, 0.035);
      cairo_fill (cr);
    }
  /* GAF's reference density (a jump flow starts from the mask or a class, not from it) */
  if (c == 3 && self->show_density &&
      !(s != NULL && gaf_payload_trajectories (s->payload) != NULL && gaf_payload_trajectories (s->payload)->state))
    draw_density (self, cr, theme);
  polygon_path (cr, &self->frame, c);
  gaf_set_fg (cr, theme, 0.6);
  cairo_set_line_width (cr, 1.6);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_stroke (cr);
  if (c > 3)
    {
      /* Faint spokes from the centre to each vertex help to read the projection. */
      GafPoint o = gaf_simplex_frame_map (&self->frame, (GafPoint) { 0, 0 });
      gaf_set_fg (cr, theme, 0.12);
      cairo_set_line_width (cr, 1.0);
      for (int k = 0; k < c; k++)
        {
          GafPoint p = gaf_simplex_frame_map (&self->frame, gaf_polygon_vertex (c, k));
          cairo_move_to (cr, o.x, o.y);
          cairo_line_to (cr, p.x, p.y);
          cairo_stroke (cr);
        }
    }

  if (s != NULL && c == 3 && self->show_field && gaf_payload_field (s->payload) != NULL)
    draw_field (self, cr, theme);
  if (s != NULL && gaf_payload_trajectories (s->payload) != NULL && gaf_payload_trajectories (s->payload)->c == c)
    {
      if (gaf_payload_trajectories (s->payload)->state != NULL)
        draw_jump_rows (self, cr, theme);
      else
        draw_trajectories (self, cr, theme);
    }
  if (c == 3 && self->show_geodesics && self->n_points > 0)
    draw_geodesics (self, cr, theme);
  draw_vertices (self, cr, theme);
  draw_captions (self, cr, width, height, theme);
}

static void
draw_widget (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_simplex_canvas_draw (widget, cr, width, height, theme);
}

static void
gaf_simplex_canvas_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  if (gaf_snapshot_drawing (widget, snapshot, draw_widget))
    GAF_SIMPLEX_CANVAS (widget)->draws++;
}

/* ---- input ---------------------------------------------------------------------------------------- */

static gboolean
point_at (GafSimplexCanvas *self, double x, double y, double p[3])
{
  GafPoint pt;
  double sum = 0;

  if (self->frame_c != 3 || self->frame.scale <= 0)
    return FALSE;
  pt = gaf_simplex_frame_unmap (&self->frame, x, y);
  if (!gaf_simplex_unproject3 (pt, p))
    return FALSE;
  /* Keep overlay points strictly inside: geodesics use log p. */
  for (int j = 0; j < 3; j++)
    sum += (p[j] = MAX (p[j], 0.004));
  for (int j = 0; j < 3; j++)
    p[j] /= sum;
  return TRUE;
}

static void
on_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GafSimplexCanvas *self)
{
  guint button = gtk_gesture_single_get_current_button (GTK_GESTURE_SINGLE (gesture));
  double p[3];

  if (button == GDK_BUTTON_SECONDARY)
    {
      gaf_simplex_canvas_set_points (self, NULL, NULL);
      return;
    }
  if (!point_at (self, x, y, p))
    return;
  if (self->n_points == 1)
    gaf_simplex_canvas_set_points (self, self->a, p);
  else
    gaf_simplex_canvas_set_points (self, p, NULL);
}

static void
on_motion (GtkEventControllerMotion *motion, double x, double y, GafSimplexCanvas *self)
{
  gboolean inside = point_at (self, x, y, self->hover);

  if (inside || self->hover_inside)
    gtk_widget_queue_draw (GTK_WIDGET (self));
  self->hover_inside = inside;
}

static void
on_leave (GtkEventControllerMotion *motion, GafSimplexCanvas *self)
{
  self->hover_inside = FALSE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

/* ---- GObject -------------------------------------------------------------------------------------- */

static gboolean *
flag_for (GafSimplexCanvas *self, guint prop_id)
{
  switch (prop_id)
    {
    case PROP_SHOW_TRAILS:    return &self->show_trails;
    case PROP_SHOW_FIELD:     return &self->show_field;
    case PROP_SHOW_DENSITY:   return &self->show_density;
    case PROP_SHOW_GEODESICS: return &self->show_geodesics;
    default:                  return NULL;
    }
}

static void
gaf_simplex_canvas_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GafSimplexCanvas *self = GAF_SIMPLEX_CANVAS (object);

  if (prop_id == PROP_TIME)
    g_value_set_double (value, self->time);
  else if (flag_for (self, prop_id))
    g_value_set_boolean (value, *flag_for (self, prop_id));
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gaf_simplex_canvas_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GafSimplexCanvas *self = GAF_SIMPLEX_CANVAS (object);
  gboolean *flag = flag_for (self, prop_id);

  if (prop_id == PROP_TIME)
    gaf_simplex_canvas_set_time (self, g_value_get_double (value));
  else if (flag != NULL)
    {
      if (*flag != g_value_get_boolean (value))
        {
          *flag = g_value_get_boolean (value);
          g_object_notify_by_pspec (object, pspec);
          gtk_widget_queue_draw (GTK_WIDGET (self));
        }
    }
  else
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
}

static void
gaf_simplex_canvas_finalize (GObject *object)
{
  GafSimplexCanvas *self = GAF_SIMPLEX_CANVAS (object);

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  g_clear_pointer (&self->density, cairo_surface_destroy);
  g_free (self->fit_key);
  G_OBJECT_CLASS (gaf_simplex_canvas_parent_class)->finalize (object);
}

static void
gaf_simplex_canvas_class_init (GafSimplexCanvasClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = gaf_simplex_canvas_finalize;
  object_class->get_property = gaf_simplex_canvas_get_property;
  object_class->set_property = gaf_simplex_canvas_set_property;
  widget_class->snapshot = gaf_simplex_canvas_snapshot;

  properties[PROP_TIME] =
    g_param_spec_double ("time", NULL, NULL, 0.0, G_MAXDOUBLE, 0.0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_TRAILS] =
    g_param_spec_boolean ("show-trails", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_FIELD] =
    g_param_spec_boolean ("show-field", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_DENSITY] =
    g_param_spec_boolean ("show-density", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_GEODESICS] =
    g_param_spec_boolean ("show-geodesics", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "simplexcanvas");
}

static void
gaf_simplex_canvas_init (GafSimplexCanvas *self)
{
  GtkGesture *click = gtk_gesture_click_new ();
  GtkEventController *motion = gtk_event_controller_motion_new ();

  self->show_trails = self->show_field = self->show_density = self->show_geodesics = TRUE;
  self->selected_row = -1;
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  g_signal_connect (motion, "motion", G_CALLBACK (on_motion), self);
  g_signal_connect (motion, "leave", G_CALLBACK (on_leave), self);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_set_size_request (GTK_WIDGET (self), 360, 320);
}

GtkWidget *
gaf_simplex_canvas_new (void)
{
  return g_object_new (GAF_TYPE_SIMPLEX_CANVAS, NULL);
}

void
gaf_simplex_canvas_set_snapshot (GafSimplexCanvas *self, GafSnapshot *snapshot)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  if (snapshot == self->snapshot)
    return;
  if (snapshot != NULL)
    gaf_snapshot_ref (snapshot);
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = snapshot;
  if (snapshot != NULL && snapshot->payload->c != 3)
    self->n_points = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaf_simplex_canvas_set_selected_row (GafSimplexCanvas *self, int row)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  row = MAX (row, -1);
  if (row == self->selected_row)
    return;
  self->selected_row = row;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
gaf_simplex_canvas_get_selected_row (GafSimplexCanvas *self)
{
  g_return_val_if_fail (GAF_IS_SIMPLEX_CANVAS (self), -1);
  return self->selected_row;
}

void
gaf_simplex_canvas_set_time (GafSimplexCanvas *self, double t)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  t = MAX (t, 0.0);
  if (t == self->time)
    return;
  self->time = t;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIME]);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
gaf_simplex_canvas_get_time (GafSimplexCanvas *self)
{
  g_return_val_if_fail (GAF_IS_SIMPLEX_CANVAS (self), 0.0);
  return self->time;
}

void
gaf_simplex_canvas_set_points (GafSimplexCanvas *self, const double *a, const double *b)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  self->n_points = 0;
  if (a != NULL)
    {
      memmove (self->a, a, sizeof self->a);
      self->n_points = 1;
      if (b != NULL)
        {
          memmove (self->b, b, sizeof self->b);
          self->n_points = 2;
        }
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
gaf_simplex_canvas_get_draw_count (GafSimplexCanvas *self)
{
  g_return_val_if_fail (GAF_IS_SIMPLEX_CANVAS (self), 0);
  return self->draws;
}

void
gaf_simplex_canvas_set_compact (GafSimplexCanvas *self, gboolean compact)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  self->compact = !!compact;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
gaf_simplex_canvas_set_caption_inset (GafSimplexCanvas *self, double inset)
{
  g_return_if_fail (GAF_IS_SIMPLEX_CANVAS (self));
  self->caption_inset = MAX (inset, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}
