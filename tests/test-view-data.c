/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaf-label-map-data.h"
#include "gaf-plot-data.h"
#include "gaf-rng.h"
#include "gaf-run-history.h"
#include "gaf-scaling-view.h"
#include "gaf-simplex.h"
#include "gaf-simplex-geometry.h"

/* The data behind the views, without a display: projection, geodesics, reference density, trajectory
 * interpolation, axes and series. Tolerances are stated where they are used; seeds are fixed. */

/* Labels beside the side vertices of a pentagon fitted by height into a wide-enough area: shrinking the
 * area's width moves nothing when the height limits the scale, so the fit must scale the polygon itself;
 * afterwards every box is inside and one touches the bound (the largest such scale); never below min_scale. */
static void
test_label_fit (void)
{
  const double width = 660, height = 500, lw = 150, lh = 30, r = 19;
  double boxes[5 * 4];
  GafSimplexFrame f;
  double before;
  gboolean touches = FALSE;

  gaf_simplex_frame_fit (&f, 5, width, height, 64);
  before = f.scale;
  for (int k = 0; k < 5; k++)
    {
      GafPoint v = gaf_polygon_vertex (5, k);
      double len = hypot (v.x, v.y), ux = v.x / len, uy = v.y / len;
      double *b = boxes + 4 * k;
      b[0] = ux * r - (0.5 - 0.5 * ux) * lw;
      b[1] = -uy * r - (0.5 + 0.5 * uy) * lh;
      b[2] = b[0] + lw;
      b[3] = b[1] + lh;
    }
  /* the premise: with the first fit the side labels stick out of the area */
  {
    GafPoint p = gaf_simplex_frame_map (&f, gaf_polygon_vertex (5, 1));
    g_assert_cmpfloat (p.x + boxes[4 * 1 + 0], <, 4);
  }
  gaf_simplex_frame_fit_labels (&f, 5, boxes, 4, 0, width - 4, height, 0.5 * before);
  g_assert_cmpfloat (f.scale, <, before);
  g_assert_cmpfloat (f.scale, >=, 0.5 * before);
  for (int k = 0; k < 5; k++)
    {
      GafPoint p = gaf_simplex_frame_map (&f, gaf_polygon_vertex (5, k));
      const double *b = boxes + 4 * k;
      g_assert_cmpfloat (p.x + b[0], >=, 4 - 1e-9);
      g_assert_cmpfloat (p.x + b[2], <=, width - 4 + 1e-9);
      g_assert_cmpfloat (p.y + b[1], >=, -1e-9);
      g_assert_cmpfloat (p.y + b[3], <=, height + 1e-9);
      touches |= fabs (p.x + b[0] - 4) < 1e-6 || fabs (p.x + b[2] - (width - 4)) < 1e-6;
    }
  g_assert_true (touches);
  /* labels far too wide: the drawing keeps half its size */
  for (int k = 0; k < 5; k++)
    {
      boxes[4 * k + 0] -= 1000;
      boxes[4 * k + 2] += 1000;
    }
  gaf_simplex_frame_fit (&f, 5, width, height, 64);
  gaf_simplex_frame_fit_labels (&f, 5, boxes, 4, 0, width - 4, height, 0.5 * before);
  g_assert_cmpfloat (f.scale, ==, 0.5 * before);
}

static void
test_projection (void)
{
  /* Vertices map to the polygon's vertices, the barycentre to the centre, and c = 3 inverts. */
  for (int c = 2; c <= 8; c++)
    for (int k = 0; k < c; k++)
      {
        float *e = g_new0 (float, c);
        GafPoint p, v = gaf_polygon_vertex (c, k);
        e[k] = 1.0f;
        p = gaf_simplex_project (e, c);
        g_assert_cmpfloat_with_epsilon (p.x, v.x, 1e-6);
        g_assert_cmpfloat_with_epsilon (p.y, v.y, 1e-6);
        g_assert_cmpfloat_with_epsilon (hypot (v.x, v.y), 1.0, 1e-12);
        g_free (e);
      }
  {
    const double w[3] = { 0.2, 0.5, 0.3 };
    double back[3];
    GafPoint p = gaf_simplex_project_d (w, 3);
    g_assert_true (gaf_simplex_unproject3 (p, back));
    for (int j = 0; j < 3; j++)
      g_assert_cmpfloat_with_epsilon (back[j], w[j], 1e-12);
    g_assert_false (gaf_simplex_unproject3 ((GafPoint) { 2.0, 0.0 }, back));
  }
  {
    GafSimplexFrame f;
    GafPoint s, back;
    gaf_simplex_frame_fit (&f, 3, 800, 600, 40);
    s = gaf_simplex_frame_map (&f, gaf_polygon_vertex (3, 0));
    g_assert_cmpfloat (s.y, >=, 40 - 1e-9);   /* the top vertex inside the margin, y down */
    back = gaf_simplex_frame_unmap (&f, s.x, s.y);
    g_assert_cmpfloat_with_epsilon (back.x, gaf_polygon_vertex (3, 0).x, 1e-9);
    g_assert_cmpfloat_with_epsilon (back.y, gaf_polygon_vertex (3, 0).y, 1e-9);
  }
}

/* The three geodesics join the same end points; the m-geodesic is straight in p, the e-geodesic straight
 * in logits, and the Fisher-Rao geodesic is the shortest of the three in the Fisher-Rao metric, with
 * the length 2 arccos(sum sqrt(a b)) (polygon lengths, 2000 pieces: 1e-4 relative). */
static double
fr_length (const double *pts, guint n, int c)
{
  double len = 0;

  for (guint i = 1; i < n; i++)
    len += gaf_fisher_rao_distance (pts + (i - 1) * c, pts + i * c, c);
  return len;
}

static void
test_geodesics (void)
{
  const double a[3] = { 0.7, 0.2, 0.1 }, b[3] = { 0.1, 0.25, 0.65 };
  const guint n = 2001;
  g_autofree double *e = g_new (double, n * 3), *m = g_new (double, n * 3), *fr = g_new (double, n * 3);
  double d = gaf_fisher_rao_distance (a, b, 3), le, lm, lf;

  gaf_geodesic_e (a, b, 3, n, e);
  gaf_geodesic_m (a, b, 3, n, m);
  gaf_geodesic_fisher_rao (a, b, 3, n, fr);
  for (int j = 0; j < 3; j++)
    {
      g_assert_cmpfloat_with_epsilon (e[j], a[j], 1e-12);
      g_assert_cmpfloat_with_epsilon (m[j], a[j], 1e-12);
      g_assert_cmpfloat_with_epsilon (fr[j], a[j], 1e-12);
      g_assert_cmpfloat_with_epsilon (e[(n - 1) * 3 + j], b[j], 1e-12);
      g_assert_cmpfloat_with_epsilon (m[(n - 1) * 3 + j], b[j], 1e-12);
      g_assert_cmpfloat_with_epsilon (fr[(n - 1) * 3 + j], b[j], 1e-12);
    }
  /* e: log p at the middle is the mean of the logs up to a constant. */
  {
    const double *mid = e + (n / 2) * 3;
    double r0 = log (mid[0]) - 0.5 * (log (a[0]) + log (b[0]));
    for (int j = 1; j < 3; j++)
      g_assert_cmpfloat_with_epsilon (log (mid[j]) - 0.5 * (log (a[j]) + log (b[j])), r0, 1e-9);
  }
  le = fr_length (e, n, 3);
  lm = fr_length (m, n, 3);
  lf = fr_length (fr, n, 3);
  g_test_message ("Fisher-Rao lengths: e %.6f, m %.6f, FR %.6f, distance %.6f", le, lm, lf, d);
  g_assert_cmpfloat (fabs (lf - d) / d, <, 1e-4);
  g_assert_cmpfloat (lf, <, le);
  g_assert_cmpfloat (lf, <, lm);
  for (guint i = 0; i < n; i++)
    {
      double sum = fr[i * 3] + fr[i * 3 + 1] + fr[i * 3 + 2];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-12);
    }
}

/* The conditional e-geodesic is docs/method.md §2.1's path softmax(log p + s u_k): it starts at p and ends near
 * vertex k, with p_k increasing along the way. */
static void
test_conditional_geodesic (void)
{
  const double p[3] = { 0.5, 0.3, 0.2 };
  const guint n = 50;
  g_autofree double *pts = g_new (double, n * 3);

  for (int k = 0; k < 3; k++)
    {
      gaf_conditional_geodesic (p, k, 3, 14.0, n, pts);
      for (int j = 0; j < 3; j++)
        g_assert_cmpfloat_with_epsilon (pts[j], p[j], 1e-12);
      g_assert_cmpfloat (pts[(n - 1) * 3 + k], >, 0.999);
      for (guint i = 1; i < n; i++)
        g_assert_cmpfloat (pts[i * 3 + k], >, pts[(i - 1) * 3 + k]);
    }
}

/* The reference density against a Monte Carlo histogram of W = softmax(Pi_0 xi): the ratio of counts
 * in two small discs matches the ratio of densities (600,000 draws, seed 7; 12 % relative: a near-edge point has 0.61 times the density of the centre). */
static void
test_reference_density (void)
{
  const double c1[3] = { 1.0 / 3, 1.0 / 3, 1.0 / 3 }, c2[3] = { 0.5, 0.45, 0.05 };
  GafPoint p1 = gaf_simplex_project_d (c1, 3), p2 = gaf_simplex_project_d (c2, 3);
  const double r = 0.03;
  guint n1 = 0, n2 = 0;
  GafRng rng;
  double want, got;

  gaf_rng_init (&rng, 7);
  for (int i = 0; i < 600000; i++)
    {
      float v[3], w[3];
      GafPoint q;
      for (int j = 0; j < 3; j++)
        v[j] = (float) gaf_rng_normal (&rng);
      gaf_project_tangent_rows (v, 1, 3);
      gaf_softmax_rows (v, w, 1, 3);
      q = gaf_simplex_project (w, 3);
      n1 += hypot (q.x - p1.x, q.y - p1.y) < r;
      n2 += hypot (q.x - p2.x, q.y - p2.y) < r;
    }
  want = gaf_reference_density3 (c2) / gaf_reference_density3 (c1);
  got = (double) n2 / n1;
  g_test_message ("density ratio: formula %.4f, Monte Carlo %.4f (%u and %u draws in the discs)", want, got, n1, n2);
  g_assert_cmpuint (n1, >, 1000);
  g_assert_cmpfloat (fabs (got / want - 1.0), <, 0.12);
  g_assert_cmpfloat (want, <, 0.7);
  g_assert_cmpfloat (gaf_reference_density3 ((double[3]) { 0.0, 0.5, 0.5 }), ==, 0.0);
}

/* Interpolation between records is along the e-geodesic: exact at the records, a softmax in between,
 * clamped outside [0, T]. */
static void
test_trajectory_interpolation (void)
{
  double times[3] = { 0.0, 1.0, 2.0 };
  float w[3 * 1 * 3] = { 0.2f, 0.3f, 0.5f,   0.5f, 0.3f, 0.2f,   0.8f, 0.1f, 0.1f };
  guint16 labels[1] = { 0 };
  GafTrajectories tr = { 1, 3, 1, 3, times, w, labels, 0 };
  float out[3];

  gaf_trajectory_at (&tr, 0, 1.0, out);
  g_assert_cmpfloat_with_epsilon (out[0], 0.5, 1e-6);
  gaf_trajectory_at (&tr, 0, -1.0, out);
  g_assert_cmpfloat_with_epsilon (out[2], 0.5, 1e-6);
  gaf_trajectory_at (&tr, 0, 5.0, out);
  g_assert_cmpfloat_with_epsilon (out[0], 0.8, 1e-6);
  gaf_trajectory_at (&tr, 0, 0.5, out);
  g_assert_cmpfloat_with_epsilon (out[0] + out[1] + out[2], 1.0, 1e-6);
  /* Half way in logits: out ∝ sqrt(w0 w1). */
  g_assert_cmpfloat_with_epsilon (out[0] / out[2], sqrt (0.2 * 0.5) / sqrt (0.5 * 0.2), 1e-5);
  g_assert_cmpuint (gaf_trajectory_index (&tr, 1.5), ==, 1);
  g_assert_cmpuint (gaf_trajectory_index (&tr, 9.0), ==, 2);
}

static void
test_axes (void)
{
  const double v[] = { 0.12, 0.5, NAN, 0.31 };
  const double lv[] = { 2e-4, 0.03, -1.0 };
  double ticks[16];
  GafAxis ax;
  guint n;

  g_assert_true (gaf_axis_fit (&ax, v, G_N_ELEMENTS (v), FALSE));
  g_assert_cmpfloat (ax.min, <, 0.12);
  g_assert_cmpfloat (ax.max, >, 0.5);
  n = gaf_axis_ticks (&ax, ticks, 8);
  g_assert_cmpuint (n, >=, 3);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpfloat (ticks[i], >=, ax.min - 1e-12);
      g_assert_cmpfloat (ticks[i], <=, ax.max + 1e-12);
      if (i > 0)
        g_assert_cmpfloat (ticks[i], >, ticks[i - 1]);
    }
  g_assert_cmpfloat_with_epsilon (gaf_axis_map (&ax, ax.min, 10, 110), 10, 1e-9);
  g_assert_cmpfloat_with_epsilon (gaf_axis_map (&ax, ax.max, 10, 110), 110, 1e-9);

  g_assert_true (gaf_axis_fit (&ax, lv, G_N_ELEMENTS (lv), TRUE));
  g_assert_cmpfloat (ax.min, ==, 1e-4);
  g_assert_cmpfloat (ax.max, ==, 0.1);
  n = gaf_axis_ticks (&ax, ticks, 8);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpfloat_with_epsilon (ticks[0], 1e-4, 1e-18);
  g_assert_cmpfloat_with_epsilon (gaf_axis_map (&ax, 1e-3, 0, 300), 100, 1e-9);
  g_assert_false (gaf_axis_fit (&ax, lv + 2, 1, TRUE));
}

static void
test_series (void)
{
  const double y[] = { 1, 1, 1, NAN, 1 };
  double s[5], x[3] = { 1, 2, 3 }, yy[3] = { 1, 2, 3 };
  GafAxis ax = { 0, 4, FALSE }, ay = { 0, 4, FALSE };
  g_autofree char *a = gaf_format_duration (59.6), *b = gaf_format_duration (125), *c = gaf_format_value (1e-3);

  gaf_series_smooth (y, 5, 0.9, s);
  for (int i = 0; i < 5; i++)
    g_assert_cmpfloat_with_epsilon (s[i], 1.0, 1e-12);   /* bias corrected: a constant stays put */
  g_assert_cmpint (gaf_series_nearest (x, yy, 3, &ax, 0, 400, &ay, 400, 0, 205, 195, 10), ==, 1);
  g_assert_cmpint (gaf_series_nearest (x, yy, 3, &ax, 0, 400, &ay, 400, 0, 50, 50, 10), ==, -1);
  g_assert_cmpstr (a, ==, "1 min 00 s");
  g_assert_cmpstr (b, ==, "2 min 05 s");
  g_assert_cmpstr (c, ==, "0.001");
}

static void
test_class_list (void)
{
  g_autoptr(GArray) out = g_array_new (FALSE, FALSE, sizeof (int));

  g_assert_true (gaf_parse_class_list ("5, 10,20", out));
  g_assert_cmpuint (out->len, ==, 3);
  g_assert_cmpint (g_array_index (out, int, 2), ==, 20);
  g_assert_false (gaf_parse_class_list ("5, x", out));
  g_assert_false (gaf_parse_class_list ("1", out));
  g_assert_false (gaf_parse_class_list ("", out));
  g_assert_false (gaf_parse_class_list ("5000", out));
}

/* The label-map grid: maps do not overlap, every map pixel is a whole square of screen pixels, a hit
 * test finds the pixel whose square holds the point and nothing in the gaps. */
static void
test_label_grid (void)
{
  GafLabelGrid g;
  int map, pixel;
  double x, y;

  gaf_label_grid_fit (&g, 16, 16, 16, 10, 20, 700, 500);
  g_assert_cmpint (g.cols, ==, 4);
  g_assert_cmpint (g.rows, ==, 4);
  g_assert_cmpfloat (g.cell, ==, floor (g.cell));
  g_assert_cmpfloat (g.cell, >=, 2);
  g_assert_cmpfloat (gaf_label_grid_width (&g), <=, 700);
  g_assert_cmpfloat (gaf_label_grid_height (&g), <=, 500);
  g_assert_cmpfloat (g.x0, >=, 10);
  g_assert_cmpfloat (g.y0, >=, 20);
  for (int m = 0; m < 16; m += 5)
    for (int p = 0; p < 256; p += 37)
      {
        gaf_label_grid_pixel_origin (&g, m, p, &x, &y);
        g_assert_true (gaf_label_grid_hit (&g, x + 0.5, y + g.cell - 0.5, &map, &pixel));
        g_assert_cmpint (map, ==, m);
        g_assert_cmpint (pixel, ==, p);
      }
  /* Right of the last pixel of the first map's first row: the gap. */
  gaf_label_grid_pixel_origin (&g, 0, 15, &x, &y);
  g_assert_false (gaf_label_grid_hit (&g, x + g.cell + 1, y + 1, &map, &pixel));
  g_assert_false (gaf_label_grid_hit (&g, g.x0 - 1, g.y0 + 1, &map, &pixel));
  /* Five maps in a 3 x 2 grid: the sixth cell is empty. */
  gaf_label_grid_fit (&g, 5, 8, 8, 0, 0, 400, 300);
  g_assert_cmpint (g.cols, ==, 3);
  g_assert_cmpint (g.rows, ==, 2);
  gaf_label_grid_pixel_origin (&g, 5, 0, &x, &y);
  g_assert_false (gaf_label_grid_hit (&g, x + 1, y + 1, &map, &pixel));
  /* Nothing fits in no space. */
  gaf_label_grid_fit (&g, 16, 16, 16, 0, 0, 0, 0);
  g_assert_cmpfloat (g.cell, ==, 0);
  g_assert_false (gaf_label_grid_hit (&g, 0, 0, &map, &pixel));
}

/* Normalised entropy: 1 at the barycentre, 0 at a vertex, log 2 / log 3 for two equal classes of three;
 * colours: a vertex is its palette colour, the barycentre the mean (1/255 tolerance). */
static void
test_pixel_colors (void)
{
  const float bary[3] = { 1.0f / 3, 1.0f / 3, 1.0f / 3 }, vertex[3] = { 0, 1, 0 }, half[3] = { 0.5f, 0.5f, 0 };
  const guint8 palette[9] = { 255, 0, 0, 0, 255, 0, 0, 0, 255 };
  double rgb[3];
  double times[2] = { 0.0, 1.0 };
  float w[2 * 2 * 3] = { 1.0f / 3, 1.0f / 3, 1.0f / 3,  0.2f, 0.3f, 0.5f,     /* t = 0: rows 0 and 1 */
                         0.0f, 0.0f, 1.0f,              1.0f, 0.0f, 0.0f };   /* t = 1 */
  guint16 labels[2] = { 2, 0 };
  GafTrajectories tr = { 2, 3, 2, 2, times, w, labels, 0 };
  guint32 out[2];

  g_assert_cmpfloat_with_epsilon (gaf_normalized_entropy (bary, 3), 1.0, 1e-6);
  g_assert_cmpfloat (gaf_normalized_entropy (vertex, 3), ==, 0.0);
  g_assert_cmpfloat_with_epsilon (gaf_normalized_entropy (half, 3), log (2) / log (3), 1e-6);
  gaf_palette_mix (palette, vertex, 3, rgb);
  g_assert_cmpfloat (rgb[0], ==, 0.0);
  g_assert_cmpfloat (rgb[1], ==, 1.0);
  gaf_palette_mix (palette, bary, 3, rgb);
  for (int j = 0; j < 3; j++)
    g_assert_cmpfloat_with_epsilon (rgb[j], 1.0 / 3, 1e-6);

  gaf_label_maps_colors (&tr, palette, 1.0, FALSE, out);
  g_assert_cmphex (out[0], ==, 0xff0000ff);   /* row 0 ends at class 3: blue */
  g_assert_cmphex (out[1], ==, 0xffff0000);
  gaf_label_maps_colors (&tr, palette, 0.0, TRUE, out);
  g_assert_cmphex (out[0], ==, 0xffffffff);   /* the barycentre: undecided, white */
  gaf_label_maps_colors (&tr, palette, 1.0, TRUE, out);
  g_assert_cmphex (out[1], ==, 0xff000000);

  /* A jump flow's pixels: the state's colour at t, the mask colour while masked (state c); entropy as before. */
  {
    guint16 state[2 * 2] = { 3, 3,    /* t = 0: both masked */
                             2, 3 };  /* t = 1: row 0 at class 3, row 1 still masked */
    tr.state = state;
    gaf_label_maps_colors (&tr, palette, 0.5, FALSE, out);
    g_assert_cmphex (out[0], ==, GAF_LABEL_MAP_MASK_COLOR);
    g_assert_cmphex (out[1], ==, GAF_LABEL_MAP_MASK_COLOR);
    gaf_label_maps_colors (&tr, palette, 1.0, FALSE, out);
    g_assert_cmphex (out[0], ==, 0xff0000ff);
    g_assert_cmphex (out[1], ==, GAF_LABEL_MAP_MASK_COLOR);
    gaf_label_maps_colors (&tr, palette, 0.0, TRUE, out);
    g_assert_cmphex (out[0], ==, 0xffffffff);
  }
}

/* Histogram counts: equal bins, the top edge in the last bin, values outside and non-finite ones left out;
 * the share above a value (+inf above everything). */
static void
test_histogram_counts (void)
{
  const double v[] = { 0.0, 0.1, 0.49, 0.5, 0.99, 1.0, -0.1, 1.5, NAN, INFINITY };
  guint counts[2];

  g_assert_cmpuint (gaf_histogram_counts (v, G_N_ELEMENTS (v), 0.0, 1.0, 2, counts), ==, 6);
  g_assert_cmpuint (counts[0], ==, 3);
  g_assert_cmpuint (counts[1], ==, 3);
  g_assert_cmpuint (gaf_histogram_counts (v, G_N_ELEMENTS (v), 1.0, 1.0, 2, counts), ==, 0);
  g_assert_cmpfloat (gaf_fraction_above (v, 6, 0.49), ==, 0.5);
  g_assert_cmpfloat (gaf_fraction_above (v + 8, 2, 3.0), ==, 0.5);   /* NAN is not above, +inf is */
  g_assert_true (isnan (gaf_fraction_above (v, 0, 0.0)));
}

/* The run history from synthetic snapshots: a run per model, parameter changes, KL rounds, the loss
 * decimated, a save/load round trip, and refused files (damaged, not regular). */
static void
feed (GafRunHistory *h, GafSnapshot *s, guint64 step, double loss, guint64 eval_step, double kl)
{
  /* The payload's last sampling round carries the metric, as every experiment's does. */
  g_autoptr(GafPayload) payload = gaf_payload_new (&gaf_payload_base_type, "scaling", 4, 3, NULL);

  if (eval_step > 0)
    {
      g_autoptr(GafRound) round = gaf_round_new ();
      round->step = eval_step;
      round->samples = 128;
      round->kl = kl;
      round->kl_uniform = 0.0187;
      round->kl_floor = 0.0078;
      gaf_payload_set_round (payload, round);
    }
  s->step = step;
  s->elapsed = step * 0.01;
  s->loss_smooth = loss;
  s->payload = payload;
  gaf_run_history_feed (h, s);
  s->payload = NULL;
}

static void
test_run_history (void)
{
  g_autoptr(GafRunHistory) h = gaf_run_history_new ();
  g_autoptr(GafRunHistory) back = gaf_run_history_new ();
  g_autofree char *dir = g_dir_make_tmp ("gaflow-runs-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "runs.ini", NULL);
  g_autofree char *csv = NULL, *text = NULL;
  g_autoptr(GError) error = NULL;
  GafSnapshot s = { 0 };
  const GafRun *run;
  gboolean diff[GAF_N_PARAMS];
  guint64 ids[2];

  gaf_runner_params_init (&s.params);
  s.model_kind = "toy-cnn";
  s.model_serial = 1;
  for (guint64 k = 1; k <= 5000; k++)
    feed (h, &s, k, 1.0 / k, k >= 100 ? k / 100 * 100 : 0, 0.5 / (1 + k / 100));
  g_assert_cmpuint (gaf_run_history_get_n_runs (h), ==, 1);
  run = gaf_run_history_get_run (h, 0);
  g_assert_cmpfloat (run->steps, ==, 5000);
  g_assert_cmpuint (run->kl->len, ==, 50);                 /* one point per round */
  g_assert_cmpuint (run->loss->len, <, GAF_RUN_MAX_POINTS);
  g_assert_cmpuint (run->loss->len, >, GAF_RUN_MAX_POINTS / 4);
  /* A learning-rate change while training: marked at its step. */
  s.params.value[GAF_PARAM_LEARNING_RATE] = 0.003;
  feed (h, &s, 5001, 1e-4, 5000, 0.01);
  g_assert_cmpuint (run->changes->len, ==, 1);
  g_assert_cmpint (g_array_index (run->changes, GafRunChange, 0).param, ==, GAF_PARAM_LEARNING_RATE);
  g_assert_cmpfloat (g_array_index (run->changes, GafRunChange, 0).step, ==, 5001);
  /* A new model is a new run, with its own settings. */
  s.model_serial = 2;
  s.params.value[GAF_PARAM_LEARNING_RATE] = 0.01;
  feed (h, &s, 10, 0.5, 0, 0);
  g_assert_cmpuint (gaf_run_history_get_n_runs (h), ==, 2);
  ids[0] = gaf_run_history_get_run (h, 0)->id;
  ids[1] = gaf_run_history_get_run (h, 1)->id;
  g_assert_cmpuint (ids[1], >, ids[0]);
  gaf_run_history_differing (h, ids, 2, diff);
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    g_assert_cmpint (diff[p], ==, p == GAF_PARAM_LEARNING_RATE);
  csv = gaf_run_history_to_csv (h);
  g_assert_nonnull (strstr (csv, "learning-rate"));

  /* Round trip. */
  g_assert_true (gaf_run_history_save (h, path, &error));
  g_assert_no_error (error);
  g_assert_true (gaf_run_history_load (back, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_run_history_get_n_runs (back), ==, 2);
  run = gaf_run_history_get_run (back, 0);
  g_assert_cmpuint (run->id, ==, ids[0]);
  g_assert_cmpuint (run->kl->len, ==, gaf_run_history_get_run (h, 0)->kl->len);
  g_assert_cmpuint (run->loss->len, ==, gaf_run_history_get_run (h, 0)->loss->len);
  g_assert_cmpuint (run->changes->len, ==, 1);
  g_assert_cmpfloat (run->params.value[GAF_PARAM_LEARNING_RATE], ==, 0.001);
  g_assert_cmpfloat (gaf_run_history_get_run (back, 1)->params.value[GAF_PARAM_LEARNING_RATE], ==, 0.01);
  g_assert_true (run->params.experiment == s.params.experiment);
  g_assert_cmpstr (run->params.text[GAF_PARAM_IMAGE_DATA], ==, s.params.text[GAF_PARAM_IMAGE_DATA]);

  /* A file of the first version: the experiment by its old name, the label maps' data under "image-data",
   * a parameter missing (newer than the file: its default). */
  {
    static const char first[] =
      "[history]\nversion=1\nnext-id=3\n\n[run 2]\nstarted=0\nexperiment=images\n"
      "image-data=mnist:levels=2\nparam-learning-rate=0.002\nsteps=10\nseconds=1\nfinal-loss=0.5\n"
      "final-kl=nan\nkl-uniform=nan\nkl-floor=nan\n";
    g_autoptr(GafRunHistory) old = gaf_run_history_new ();

    g_assert_true (g_file_set_contents (path, first, -1, NULL));
    g_assert_true (gaf_run_history_load (old, path, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (gaf_run_history_get_n_runs (old), ==, 1);
    run = gaf_run_history_get_run (old, 0);
    g_assert_true (run->params.experiment == gaf_experiment_lookup ("label-maps"));
    g_assert_cmpstr (run->params.text[GAF_PARAM_IMAGE_DATA], ==, "mnist:levels=2");
    g_assert_cmpfloat (run->params.value[GAF_PARAM_LEARNING_RATE], ==, 0.002);
    g_assert_cmpfloat (run->params.value[GAF_PARAM_BATCH], ==, gaf_param_info (GAF_PARAM_BATCH)->def);
    g_assert_true (gaf_run_history_save (h, path, &error));
    g_assert_no_error (error);
  }

  /* A damaged value is refused whole, and the history stays as it was. */
  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  {
    g_autoptr(GString) bad = g_string_new (text);
    g_string_replace (bad, "param-learning-rate=0.001", "param-learning-rate=7", 1);
    g_assert_true (g_file_set_contents (path, bad->str, -1, NULL));
  }
  g_assert_false (gaf_run_history_load (back, path, &error));
  g_assert_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_cmpuint (gaf_run_history_get_n_runs (back), ==, 2);
  /* Not a regular file; a missing file is an empty history. */
  g_assert_false (gaf_run_history_load (back, dir, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL);
  g_clear_error (&error);
  g_remove (path);
  g_assert_true (gaf_run_history_load (back, path, &error));
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/data/projection", test_projection);
  g_test_add_func ("/ui/data/label-fit", test_label_fit);
  g_test_add_func ("/ui/data/geodesics", test_geodesics);
  g_test_add_func ("/ui/data/conditional-geodesic", test_conditional_geodesic);
  g_test_add_func ("/ui/data/reference-density", test_reference_density);
  g_test_add_func ("/ui/data/trajectory-interpolation", test_trajectory_interpolation);
  g_test_add_func ("/ui/data/axes", test_axes);
  g_test_add_func ("/ui/data/series", test_series);
  g_test_add_func ("/ui/data/class-list", test_class_list);
  g_test_add_func ("/ui/data/label-grid", test_label_grid);
  g_test_add_func ("/ui/data/pixel-colors", test_pixel_colors);
  g_test_add_func ("/ui/data/histogram-counts", test_histogram_counts);
  g_test_add_func ("/ui/data/run-history", test_run_history);
  return g_test_run ();
}
