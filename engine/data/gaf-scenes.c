/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-dataset.h"

/* Procedural scene labelings: a painter's algorithm on the unit square (u to the right, v down).
 * Each shape is tested at pixel centres ((x + 1/2) / width, (y + 1/2) / height) inside its bounding
 * box and may be restricted to paint over some classes only (a lake lies on the ground, never on the
 * sky). All random numbers of the named classes are drawn in one fixed order from the stream
 * (seed, split, index), whatever c is; the extra object kinds use a second stream. */

static const char *const scene_names[GAF_SCENE_N_NAMED] = {
  "sky", "ground", "road", "building", "tree", "water", "cloud", "sun",
};

char *
gaf_scene_class_name (int k)
{
  g_return_val_if_fail (k >= 0, NULL);
  if (k < GAF_SCENE_N_NAMED)
    return g_strdup (scene_names[k]);
  return g_strdup_printf ("object %d", k - GAF_SCENE_N_NAMED + 1);
}

typedef struct {
  int      c;
  int      height;
  int      width;
  guint16 *out;
  double  *horizon;   /* (width) v of the horizon at each column centre */
} Canvas;

#define ANY 0u
#define ONLY(k) (1u << (k))

static inline double
pu (const Canvas *cv, int x)
{
  return (x + 0.5) / cv->width;
}

static inline double
pv (const Canvas *cv, int y)
{
  return (y + 0.5) / cv->height;
}

static inline gboolean
may_paint (guint16 current, guint32 over)
{
  return over == ANY || (current < 32 && (over & (1u << current)));
}

/* Pixel column/row range whose centres can fall in [lo, hi] (unit coordinates). */
static void
pixel_range (double lo, double hi, int size, int *a, int *b)
{
  *a = MAX (0, (int) floor (lo * size - 0.5));
  *b = MIN (size - 1, (int) ceil (hi * size - 0.5));
}

/* An ellipse centred (cu, cv) with radii (ru, rv), its radius modulated by 1 + wob sin(k theta + ph). */
static void
paint_blob (Canvas *cv, int cls, double cu, double cvv, double ru, double rv, double wob, int k, double ph,
            guint32 over)
{
  int x0, x1, y0, y1;

  if (cls >= cv->c)
    return;
  pixel_range (cu - ru * (1 + wob), cu + ru * (1 + wob), cv->width, &x0, &x1);
  pixel_range (cvv - rv * (1 + wob), cvv + rv * (1 + wob), cv->height, &y0, &y1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double du = (pu (cv, x) - cu) / ru, dv = (pv (cv, y) - cvv) / rv;
        double r = 1.0 + (wob > 0.0 ? wob * sin (k * atan2 (dv, du) + ph) : 0.0);
        guint16 *p = cv->out + (gsize) y * cv->width + x;
        if (du * du + dv * dv <= r * r && may_paint (*p, over))
          *p = (guint16) cls;
      }
}

static void
paint_rect (Canvas *cv, int cls, double u0, double v0, double u1, double v1, guint32 over)
{
  int x0, x1, y0, y1;

  if (cls >= cv->c)
    return;
  pixel_range (u0, u1, cv->width, &x0, &x1);
  pixel_range (v0, v1, cv->height, &y0, &y1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double u = pu (cv, x), v = pv (cv, y);
        guint16 *p = cv->out + (gsize) y * cv->width + x;
        if (u >= u0 && u <= u1 && v >= v0 && v <= v1 && may_paint (*p, over))
          *p = (guint16) cls;
      }
}

/* A triangle with apex (au, av) and base from (au - hw, bv) to (au + hw, bv), bv > av. */
static void
paint_triangle (Canvas *cv, int cls, double au, double av, double hw, double bv, guint32 over)
{
  int x0, x1, y0, y1;

  if (cls >= cv->c)
    return;
  pixel_range (au - hw, au + hw, cv->width, &x0, &x1);
  pixel_range (av, bv, cv->height, &y0, &y1);
  for (int y = y0; y <= y1; y++)
    for (int x = x0; x <= x1; x++)
      {
        double u = pu (cv, x), v = pv (cv, y), s = (v - av) / (bv - av);
        guint16 *p = cv->out + (gsize) y * cv->width + x;
        if (s >= 0.0 && s <= 1.0 && fabs (u - au) <= hw * s && may_paint (*p, over))
          *p = (guint16) cls;
      }
}

static inline double
unif (GafRng *rng, double lo, double hi)
{
  return lo + (hi - lo) * gaf_rng_uniform (rng);
}

typedef struct {
  double h0, tilt, a1, f1, p1, a2, f2, p2;
} Horizon;

static double
horizon_at (const Horizon *h, double u)
{
  return h->h0 + h->tilt * (u - 0.5) + h->a1 * sin (2 * G_PI * h->f1 * u + h->p1) +
         h->a2 * sin (2 * G_PI * h->f2 * u + h->p2);
}

/* The road: from a vanishing point (vx, vy) on the horizon to the bottom edge, centre bx and half
 * width wb there; half width wt at the vanishing point. */
typedef struct {
  gboolean present;
  double   vx, vy, bx, wb, wt;
} Road;

static gboolean
on_road (const Road *r, double u, double v)
{
  double s;

  if (!r->present || v <= r->vy)
    return FALSE;
  s = (v - r->vy) / (1.0 - r->vy);
  return fabs (u - (r->vx + (r->bx - r->vx) * s)) <= r->wt + (r->wb - r->wt) * s;
}

/* Depth cue in [0, 1]: 0 on the horizon, 1 at the bottom edge. */
static double
nearness (const Horizon *h, double u, double v)
{
  double hv = horizon_at (h, u);

  return CLAMP ((v - hv) / MAX (1.0 - hv, 1e-3), 0.0, 1.0);
}

/* A spot on the ground at least vmin_off below the horizon, off the road (4 draws at most; the last
 * one is kept). */
static void
ground_spot (GafRng *rng, const Horizon *h, const Road *road, double vmin_off, double *u, double *v)
{
  for (int t = 0; t < 4; t++)
    {
      *u = unif (rng, 0.03, 0.97);
      *v = horizon_at (h, *u) + vmin_off + (1.02 - horizon_at (h, *u) - vmin_off) * gaf_rng_uniform (rng);
      if (!on_road (road, *u, *v))
        return;
    }
}

void
gaf_scene_render (int c, int height, int width, guint64 seed, GafSplit split, guint64 index, guint16 *labels)
{
  Canvas cv = { c, height, width, labels, NULL };
  Horizon hz;
  Road road = { FALSE };
  GafRng rng;
  guint64 stream = ((index << 1) | (split == GAF_SPLIT_TEST)) << 1;
  gboolean has_sun, has_buildings, has_lake, has_trees;
  int n_clouds;

  g_return_if_fail (c >= 2 && height >= 1 && width >= 1 && labels != NULL);
  cv.horizon = g_new (double, width);
  gaf_rng_init_stream (&rng, seed, stream);

  /* Horizon: mean height 0.30..0.60 from the top, tilt up to +-0.12 over the width, two gentle hills. */
  hz.h0 = unif (&rng, 0.30, 0.60);
  hz.tilt = unif (&rng, -0.12, 0.12);
  hz.a1 = unif (&rng, 0.0, 0.05);
  hz.f1 = unif (&rng, 0.5, 1.5);
  hz.p1 = unif (&rng, 0.0, 2 * G_PI);
  hz.a2 = unif (&rng, 0.0, 0.015);
  hz.f2 = unif (&rng, 2.0, 4.0);
  hz.p2 = unif (&rng, 0.0, 2 * G_PI);
  for (int x = 0; x < width; x++)
    cv.horizon[x] = horizon_at (&hz, pu (&cv, x));

  /* Sky everywhere first. */
  for (gsize i = 0; i < (gsize) height * width; i++)
    labels[i] = GAF_SCENE_SKY;

  /* Sun (probability 0.6): a disk in the sky; it may set behind the horizon. */
  has_sun = gaf_rng_uniform (&rng) < 0.6;
  {
    double su = unif (&rng, 0.1, 0.9), sv = unif (&rng, 0.08, MAX (0.1, hz.h0 - 0.08));
    double sr = unif (&rng, 0.05, 0.09);
    if (has_sun)
      paint_blob (&cv, GAF_SCENE_SUN, su, sv, sr, sr, 0.0, 0, 0.0, ONLY (GAF_SCENE_SKY));
  }

  /* Clouds: 0 (probability 0.3) to 3, each three overlapping flat ellipses. */
  n_clouds = gaf_rng_uniform (&rng) < 0.3 ? 0 : 1 + (int) gaf_rng_below (&rng, 3);
  for (int k = 0; k < 3; k++)
    {
      double cu = unif (&rng, 0.05, 0.95), cvv = unif (&rng, 0.05, MAX (0.07, hz.h0 - 0.12));
      double ru = unif (&rng, 0.07, 0.14), rv = unif (&rng, 0.035, 0.06);
      for (int part = 0; part < 3; part++)
        {
          double du = (part - 1) * ru * unif (&rng, 0.5, 0.9), dv = part == 1 ? -rv * 0.5 : 0.0;
          double sc = part == 1 ? 1.0 : unif (&rng, 0.6, 0.85);
          if (k < n_clouds)
            paint_blob (&cv, GAF_SCENE_CLOUD, cu + du, cvv + dv, ru * sc, rv * sc, 0.0, 0, 0.0,
                        ONLY (GAF_SCENE_SKY) | ONLY (GAF_SCENE_SUN));
        }
    }

  /* Buildings (probability 0.7): a row of 1 to 5 blocks standing on the horizon. Painted down to the
   * bottom; the ground below the horizon covers them again. */
  has_buildings = gaf_rng_uniform (&rng) < 0.7;
  {
    int n = 1 + (int) gaf_rng_below (&rng, 5);
    double u = unif (&rng, -0.05, 0.7);
    for (int k = 0; k < 5; k++)
      {
        double w = unif (&rng, 0.07, 0.16), gap = gaf_rng_uniform (&rng) < 0.5 ? 0.0 : unif (&rng, 0.02, 0.06);
        double ht = unif (&rng, 0.08, 0.30), mid = u + w / 2;
        double top = MAX (0.03, horizon_at (&hz, CLAMP (mid, 0.0, 1.0)) - ht);
        if (has_buildings && k < n)
          paint_rect (&cv, GAF_SCENE_BUILDING, u, top, u + w, 1.0, ANY);
        u += w + gap;
      }
  }

  /* Ground below the horizon. */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      if (pv (&cv, y) >= cv.horizon[x])
        labels[(gsize) y * width + x] = GAF_SCENE_GROUND;

  /* A lake (probability 0.5) on the ground, flattened by perspective and wobbly at the shore. */
  has_lake = gaf_rng_uniform (&rng) < 0.5;
  {
    double lu = unif (&rng, 0.1, 0.9), hv = horizon_at (&hz, lu);
    double lv = hv + (1.0 - hv) * unif (&rng, 0.25, 0.8);
    double ru = unif (&rng, 0.12, 0.28), rv = unif (&rng, 0.05, 0.11);
    double wob = unif (&rng, 0.05, 0.18), ph = unif (&rng, 0, 2 * G_PI);
    if (has_lake)
      paint_blob (&cv, GAF_SCENE_WATER, lu, lv, ru, rv, wob, 4, ph, ONLY (GAF_SCENE_GROUND));
  }

  /* A road (probability 0.75) from the bottom edge to a vanishing point on the horizon; over the
   * ground and the lake (a causeway), never over the sky or the buildings. */
  road.present = gaf_rng_uniform (&rng) < 0.75;
  road.vx = unif (&rng, 0.2, 0.8);
  road.vy = horizon_at (&hz, road.vx);
  road.bx = road.vx + unif (&rng, -0.35, 0.35);
  road.wb = unif (&rng, 0.12, 0.30);
  road.wt = 0.006;
  if (road.present && GAF_SCENE_ROAD < c)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        {
          guint16 *p = labels + (gsize) y * width + x;
          if ((*p == GAF_SCENE_GROUND || *p == GAF_SCENE_WATER) && on_road (&road, pu (&cv, x), pv (&cv, y)))
            *p = GAF_SCENE_ROAD;
        }

  /* Trees (probability 0.8): 1 to 4, off the road, bigger when nearer (lower). */
  has_trees = gaf_rng_uniform (&rng) < 0.8;
  {
    int n = 1 + (int) gaf_rng_below (&rng, 4);
    for (int k = 0; k < 4; k++)
      {
        double tu, tv, near, s, trunk, crown_ru, crown_rv, ph;
        ground_spot (&rng, &hz, &road, 0.02, &tu, &tv);
        near = nearness (&hz, tu, tv);
        s = (0.10 + 0.22 * near) * unif (&rng, 0.8, 1.25);
        trunk = s * 0.35;
        crown_ru = s * 0.42;
        crown_rv = s * 0.55;
        ph = unif (&rng, 0, 2 * G_PI);
        if (has_trees && k < n)
          {
            paint_rect (&cv, GAF_SCENE_TREE, tu - s * 0.07, tv - trunk - crown_rv * 0.5, tu + s * 0.07, tv, ANY);
            paint_blob (&cv, GAF_SCENE_TREE, tu, tv - trunk - crown_rv, crown_ru, crown_rv, 0.12, 5, ph, ANY);
          }
      }
  }

  /* Extra object kinds 8, 9, ...: 1 to 3 objects from their own stream, standing on the ground. */
  if (c > GAF_SCENE_N_NAMED)
    {
      int kinds = c - GAF_SCENE_N_NAMED, n;
      GafRng xr;

      gaf_rng_init_stream (&xr, seed, stream | 1);
      n = 1 + (int) gaf_rng_below (&xr, 3);
      for (int k = 0; k < n; k++)
        {
          int kind = (int) gaf_rng_below (&xr, (guint32) MIN (kinds, G_MAXINT32));
          int cls = GAF_SCENE_N_NAMED + kind;
          double ou, ov, s;
          ground_spot (&xr, &hz, &road, 0.03, &ou, &ov);
          s = (0.09 + 0.16 * nearness (&hz, ou, ov)) * unif (&xr, 0.8, 1.25);
          switch (kind % 3)
            {
            case 0:  /* a rock or bush: a flat blob */
              paint_blob (&cv, cls, ou, ov - s * 0.35, s * 0.6, s * 0.4, 0.1, 3, unif (&xr, 0, 2 * G_PI), ANY);
              break;
            case 1:  /* a vehicle or crate: a box with a smaller box on top */
              paint_rect (&cv, cls, ou - s * 0.7, ov - s * 0.45, ou + s * 0.7, ov, ANY);
              paint_rect (&cv, cls, ou - s * 0.35, ov - s * 0.8, ou + s * 0.35, ov - s * 0.4, ANY);
              break;
            default:  /* a tent or a pole with a flag: a triangle */
              paint_triangle (&cv, cls, ou, ov - s * 1.1, s * 0.5, ov, ANY);
              break;
            }
        }
    }
  g_free (cv.horizon);
}
