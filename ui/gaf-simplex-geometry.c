/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-simplex-geometry"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-simplex.h"
#include "gaf-simplex-geometry.h"

GafPoint
gaf_polygon_vertex (int c, int k)
{
  double a;

  if (c == 2)
    return (GafPoint) { k == 0 ? -1.0 : 1.0, 0.0 };
  a = G_PI / 2 + 2 * G_PI * k / c;
  return (GafPoint) { cos (a), sin (a) };
}

GafPoint
gaf_simplex_project (const float *p, int c)
{
  GafPoint r = { 0, 0 };

  for (int k = 0; k < c; k++)
    {
      GafPoint v = gaf_polygon_vertex (c, k);
      r.x += p[k] * v.x;
      r.y += p[k] * v.y;
    }
  return r;
}

GafPoint
gaf_simplex_project_d (const double *p, int c)
{
  GafPoint r = { 0, 0 };

  for (int k = 0; k < c; k++)
    {
      GafPoint v = gaf_polygon_vertex (c, k);
      r.x += p[k] * v.x;
      r.y += p[k] * v.y;
    }
  return r;
}

gboolean
gaf_simplex_unproject3 (GafPoint pt, double p[3])
{
  GafPoint a = gaf_polygon_vertex (3, 0), b = gaf_polygon_vertex (3, 1), c = gaf_polygon_vertex (3, 2);
  double det = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);

  p[0] = ((b.y - c.y) * (pt.x - c.x) + (c.x - b.x) * (pt.y - c.y)) / det;
  p[1] = ((c.y - a.y) * (pt.x - c.x) + (a.x - c.x) * (pt.y - c.y)) / det;
  p[2] = 1.0 - p[0] - p[1];
  return p[0] >= 0 && p[1] >= 0 && p[2] >= 0;
}

static void
softmax_d (double *v, int c)
{
  double mx = -INFINITY, sum = 0;

  for (int j = 0; j < c; j++)
    mx = MAX (mx, v[j]);
  for (int j = 0; j < c; j++)
    sum += (v[j] = exp (v[j] - mx));
  for (int j = 0; j < c; j++)
    v[j] /= sum;
}

void
gaf_geodesic_e (const double *a, const double *b, int c, guint n, double *out)
{
  for (guint i = 0; i < n; i++)
    {
      double s = n > 1 ? (double) i / (n - 1) : 0.0;
      double *o = out + (gsize) i * c;
      for (int j = 0; j < c; j++)
        o[j] = (1 - s) * log (a[j]) + s * log (b[j]);
      softmax_d (o, c);
    }
}

void
gaf_geodesic_m (const double *a, const double *b, int c, guint n, double *out)
{
  for (guint i = 0; i < n; i++)
    {
      double s = n > 1 ? (double) i / (n - 1) : 0.0;
      for (int j = 0; j < c; j++)
        out[(gsize) i * c + j] = (1 - s) * a[j] + s * b[j];
    }
}

double
gaf_fisher_rao_distance (const double *a, const double *b, int c)
{
  double bc = 0;

  for (int j = 0; j < c; j++)
    bc += sqrt (a[j] * b[j]);
  return 2.0 * acos (CLAMP (bc, -1.0, 1.0));
}

void
gaf_geodesic_fisher_rao (const double *a, const double *b, int c, guint n, double *out)
{
  /* p -> sqrt(p) maps S_c onto the positive orthant of the unit sphere, where Fisher-Rao geodesics are
   * great circles (with distances doubled): slerp between sqrt(a) and sqrt(b), then square. */
  double theta = gaf_fisher_rao_distance (a, b, c) / 2.0;
  double st = sin (theta);

  for (guint i = 0; i < n; i++)
    {
      double s = n > 1 ? (double) i / (n - 1) : 0.0;
      double wa = theta > 1e-9 ? sin ((1 - s) * theta) / st : 1 - s;
      double wb = theta > 1e-9 ? sin (s * theta) / st : s;
      double sum = 0;
      double *o = out + (gsize) i * c;
      for (int j = 0; j < c; j++)
        {
          double r = wa * sqrt (a[j]) + wb * sqrt (b[j]);
          sum += (o[j] = r * r);
        }
      for (int j = 0; j < c; j++)
        o[j] /= sum;   /* exactly 1 already up to rounding */
    }
}

void
gaf_conditional_geodesic (const double *p, int k, int c, double s_max, guint n, double *out)
{
  float *u = g_newa (float, c);

  gaf_target_direction ((guint) k, u, c);
  for (guint i = 0; i < n; i++)
    {
      double s = n > 1 ? s_max * i / (n - 1) : 0.0;
      double *o = out + (gsize) i * c;
      for (int j = 0; j < c; j++)
        o[j] = log (p[j]) + s * u[j];
      softmax_d (o, c);
    }
}

double
gaf_reference_density3 (const double p[3])
{
  double q[3 * 2], l[3], mean = 0, y0 = 0, y1 = 0;

  if (p[0] <= 0 || p[1] <= 0 || p[2] <= 0)
    return 0.0;
  gaf_tangent_basis (3, q);
  for (int j = 0; j < 3; j++)
    mean += (l[j] = log (p[j])) / 3.0;
  for (int j = 0; j < 3; j++)
    {
      y0 += q[j * 2 + 0] * (l[j] - mean);
      y1 += q[j * 2 + 1] * (l[j] - mean);
    }
  /* |det dy/dp| is a constant times 1 / (p_1 p_2 p_3) for the isometric log-ratio coordinates. */
  return exp (-0.5 * (y0 * y0 + y1 * y1)) / (2 * G_PI) / (p[0] * p[1] * p[2]);
}

guint
gaf_trajectory_index (const GafTrajectories *tr, double t)
{
  guint lo = 0, hi;

  if (tr->n_times == 0)
    return 0;
  hi = tr->n_times - 1;
  if (t >= tr->times[hi])
    return hi;
  while (hi - lo > 1)
    {
      guint mid = (lo + hi) / 2;
      if (tr->times[mid] <= t)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

void
gaf_trajectory_at (const GafTrajectories *tr, guint row, double t, float *out)
{
  int c = tr->c;
  guint k = gaf_trajectory_index (tr, t);
  const float *a = tr->w + ((gsize) k * tr->n_rows + row) * c;
  double s, mx = -INFINITY, sum = 0;
  double *v = g_newa (double, c);

  if (k + 1 >= tr->n_times || t <= tr->times[0])
    {
      for (int j = 0; j < c; j++)
        out[j] = a[j];
      return;
    }
  {
    const float *b = tr->w + ((gsize) (k + 1) * tr->n_rows + row) * c;
    double dt = tr->times[k + 1] - tr->times[k];
    s = dt > 0 ? CLAMP ((t - tr->times[k]) / dt, 0.0, 1.0) : 1.0;
    /* W is strictly positive (a softmax); floats may underflow to 0 near a vertex: floor the logs. */
    for (int j = 0; j < c; j++)
      {
        v[j] = (1 - s) * log (MAX (a[j], 1e-30f)) + s * log (MAX (b[j], 1e-30f));
        mx = MAX (mx, v[j]);
      }
  }
  for (int j = 0; j < c; j++)
    sum += (v[j] = exp (v[j] - mx));
  for (int j = 0; j < c; j++)
    out[j] = (float) (v[j] / sum);
}

void
gaf_field_at (const GafFieldGrid *f, double t, float *out)
{
  gsize block = (gsize) f->n_points * f->c;
  guint k = 0;
  double s;

  if (f->n_times == 1 || t <= f->times[0])
    {
      memcpy (out, f->velocity, block * sizeof (float));
      return;
    }
  while (k + 2 < f->n_times && f->times[k + 1] <= t)
    k++;
  s = (t - f->times[k]) / (f->times[k + 1] - f->times[k]);
  s = CLAMP (s, 0.0, 1.0);
  for (gsize i = 0; i < block; i++)
    out[i] = (float) ((1 - s) * f->velocity[k * block + i] + s * f->velocity[(k + 1) * block + i]);
}

char *
gaf_trajectories_to_csv (const GafTrajectories *tr)
{
  GString *out = g_string_new ("row,position,label,t");

  for (int j = 0; j < tr->c; j++)
    g_string_append_printf (out, ",w%d", j + 1);
  g_string_append_c (out, '\n');
  for (guint r = 0; r < tr->n_rows; r++)
    for (guint k = 0; k < tr->n_times; k++)
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        g_string_append_printf (out, "%u,%u,%u,%s", r, r % tr->n + 1, tr->labels[r] + 1,
                                g_ascii_formatd (buf, sizeof buf, "%.4f", tr->times[k]));
        for (int j = 0; j < tr->c; j++)
          g_string_append_printf (out, ",%s",
                                  g_ascii_formatd (buf, sizeof buf, "%.6g",
                                                   tr->w[((gsize) k * tr->n_rows + r) * tr->c + j]));
        g_string_append_c (out, '\n');
      }
  return g_string_free (out, FALSE);
}

void
gaf_simplex_frame_fit (GafSimplexFrame *frame, int c, double width, double height, double margin)
{
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  double w = MAX (width - 2 * margin, 1), h = MAX (height - 2 * margin, 1);

  for (int k = 0; k < c; k++)
    {
      GafPoint v = gaf_polygon_vertex (c, k);
      xmin = MIN (xmin, v.x);
      xmax = MAX (xmax, v.x);
      ymin = MIN (ymin, v.y);
      ymax = MAX (ymax, v.y);
    }
  if (ymax - ymin < 1e-9)
    {
      ymin -= 0.25;
      ymax += 0.25;
    }
  frame->scale = MIN (w / (xmax - xmin), h / (ymax - ymin));
  /* Centre of the bounding box at the centre of the area; y flips. */
  frame->cx = width / 2 - frame->scale * (xmin + xmax) / 2;
  frame->cy = height / 2 + frame->scale * (ymin + ymax) / 2;
}

double
gaf_simplex_frame_fit_labels (GafSimplexFrame *frame, int c, const double *boxes, double x0, double y0, double x1,
                              double y1, double min_scale)
{
  double scale = frame->scale;

  /* A vertex at unit position v sits at (cx + s v.x, cy - s v.y): each side a label crosses bounds s
   * from above, when the vertex moves towards that side as s grows. */
  for (int k = 0; k < c; k++)
    {
      GafPoint v = gaf_polygon_vertex (c, k);
      const double *b = boxes + 4 * k;

      if (v.x < -1e-12)
        scale = MIN (scale, (frame->cx + b[0] - x0) / -v.x);
      if (v.x > 1e-12)
        scale = MIN (scale, (x1 - frame->cx - b[2]) / v.x);
      if (v.y > 1e-12)
        scale = MIN (scale, (frame->cy + b[1] - y0) / v.y);
      if (v.y < -1e-12)
        scale = MIN (scale, (y1 - frame->cy - b[3]) / -v.y);
    }
  frame->scale = MAX (scale, MIN (min_scale, frame->scale));
  return frame->scale;
}

GafPoint
gaf_simplex_frame_map (const GafSimplexFrame *frame, GafPoint p)
{
  return (GafPoint) { frame->cx + frame->scale * p.x, frame->cy - frame->scale * p.y };
}

GafPoint
gaf_simplex_frame_unmap (const GafSimplexFrame *frame, double x, double y)
{
  return (GafPoint) { (x - frame->cx) / frame->scale, (frame->cy - y) / frame->scale };
}

static const double palette[12][3] = {
  { 0.84, 0.19, 0.16 },   /* red */
  { 0.16, 0.44, 0.82 },   /* blue */
  { 0.18, 0.62, 0.20 },   /* green */
  { 0.95, 0.60, 0.05 },   /* orange */
  { 0.56, 0.30, 0.72 },   /* purple */
  { 0.00, 0.62, 0.64 },   /* teal */
  { 0.88, 0.38, 0.66 },   /* pink */
  { 0.55, 0.38, 0.22 },   /* brown */
  { 0.50, 0.52, 0.55 },   /* grey */
  { 0.70, 0.70, 0.08 },   /* olive */
  { 0.32, 0.74, 0.95 },   /* sky */
  { 0.15, 0.22, 0.52 },   /* navy */
};

void
gaf_class_color (int k, double rgb[3])
{
  int base = ((k % 12) + 12) % 12;
  double lighten = 0.35 * (1.0 - 1.0 / (1 + ABS (k) / 12));

  for (int j = 0; j < 3; j++)
    rgb[j] = palette[base][j] + (1.0 - palette[base][j]) * lighten;
}

void
gaf_mix_color (const float *w, int c, double rgb[3])
{
  rgb[0] = rgb[1] = rgb[2] = 0;
  for (int k = 0; k < c; k++)
    {
      double col[3];
      gaf_class_color (k, col);
      for (int j = 0; j < 3; j++)
        rgb[j] += w[k] * col[j];
    }
}
