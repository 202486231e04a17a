/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-plot-data"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-plot-data.h"

gboolean
gaf_axis_fit (GafAxis *axis, const double *values, guint n, gboolean log)
{
  double lo = INFINITY, hi = -INFINITY;

  axis->log = log;
  for (guint i = 0; i < n; i++)
    {
      double v = values[i];
      if (!isfinite (v) || (log && v <= 0))
        continue;
      lo = MIN (lo, v);
      hi = MAX (hi, v);
    }
  if (!isfinite (lo))
    {
      axis->min = log ? 0.1 : 0.0;
      axis->max = 1.0;
      return FALSE;
    }
  if (log)
    {
      double a = floor (log10 (lo)), b = ceil (log10 (hi));
      if (hi / lo < 10)
        {
          /* Less than a decade of data: pad by a factor of 1.25 either side. */
          axis->min = lo / 1.25;
          axis->max = hi * 1.25;
        }
      else
        {
          axis->min = pow (10, a);
          axis->max = pow (10, b);
        }
    }
  else
    {
      double pad = (hi - lo) * 0.05;
      if (pad <= 0)
        pad = fabs (hi) > 0 ? fabs (hi) * 0.1 : 1.0;
      axis->min = lo - pad;
      axis->max = hi + pad;
    }
  return TRUE;
}

void
gaf_axis_include (GafAxis *axis, double v)
{
  if (!isfinite (v) || (axis->log && v <= 0))
    return;
  axis->min = MIN (axis->min, v);
  axis->max = MAX (axis->max, v);
}

double
gaf_axis_map (const GafAxis *axis, double v, double pix0, double pix1)
{
  double s;

  if (axis->log)
    s = (log10 (MAX (v, 1e-300)) - log10 (axis->min)) / (log10 (axis->max) - log10 (axis->min));
  else
    s = (v - axis->min) / (axis->max - axis->min);
  if (!isfinite (s))
    s = 0.5;
  return pix0 + s * (pix1 - pix0);
}

guint
gaf_axis_ticks (const GafAxis *axis, double *ticks, guint max_ticks)
{
  guint n = 0;

  if (max_ticks == 0 || !(axis->max > axis->min))
    return 0;
  if (axis->log)
    {
      int a = (int) ceil (log10 (axis->min) - 1e-9), b = (int) floor (log10 (axis->max) + 1e-9);
      if (b - a + 1 >= 2)
        {
          int stride = MAX (1, (b - a + 1 + (int) max_ticks - 1) / (int) max_ticks);
          for (int e = a; e <= b && n < max_ticks; e += stride)
            ticks[n++] = pow (10, e);
        }
      if (n < 3)
        {
          /* Few decades: 1, 2, 5 in each decade the axis touches. */
          static const double m[] = { 1, 2, 5 };
          n = 0;
          for (int e = a - 1; e <= b; e++)
            for (guint i = 0; i < G_N_ELEMENTS (m); i++)
              {
                double v = m[i] * pow (10, e);
                if (v >= axis->min * (1 - 1e-9) && v <= axis->max * (1 + 1e-9) && n < max_ticks)
                  ticks[n++] = v;
              }
        }
      return n;
    }
  {
    double span = axis->max - axis->min, raw = span / MAX (max_ticks - 1, 1), mag = pow (10, floor (log10 (raw)));
    double step = mag;
    if (raw / mag > 5)
      step = 10 * mag;
    else if (raw / mag > 2)
      step = 5 * mag;
    else if (raw / mag > 1)
      step = 2 * mag;
    for (double v = ceil (axis->min / step - 1e-9) * step; v <= axis->max + step * 1e-9 && n < max_ticks; v += step)
      ticks[n++] = fabs (v) < step * 1e-9 ? 0.0 : v;
  }
  return n;
}

char *
gaf_format_value (double v)
{
  double a = fabs (v);

  if (v == 0)
    return g_strdup ("0");
  if (!isfinite (v))
    return g_strdup ("–");
  if (a >= 1e5 || a < 1e-3)
    {
      int e = (int) floor (log10 (a));
      double m = v / pow (10, e);
      if (fabs (fabs (m) - 1.0) < 1e-9)
        return g_strdup_printf ("%s1e%d", v < 0 ? "-" : "", e);
      return g_strdup_printf ("%.3ge%d", m, e);
    }
  if (a >= 100)
    return g_strdup_printf ("%.0f", v);
  return g_strdup_printf ("%.3g", v);
}

char *
gaf_format_duration (double seconds)
{
  long s = (long) floor (MAX (seconds, 0) + 0.5);

  if (s < 60)
    return g_strdup_printf ("%ld s", s);
  if (s < 3600)
    return g_strdup_printf ("%ld min %02ld s", s / 60, s % 60);
  return g_strdup_printf ("%ld h %02ld min", s / 3600, (s / 60) % 60);
}

void
gaf_series_smooth (const double *y, guint n, double a, double *out)
{
  double acc = 0, weight = 0, last = NAN;

  for (guint i = 0; i < n; i++)
    {
      if (isfinite (y[i]))
        {
          acc = a * acc + (1 - a) * y[i];
          weight = a * weight + (1 - a);
          last = acc / weight;
        }
      out[i] = last;
    }
}

int
gaf_series_nearest (const double *x, const double *y, guint n,
                    const GafAxis *ax, double x0, double x1,
                    const GafAxis *ay, double y0, double y1,
                    double px, double py, double radius)
{
  int best = -1;
  double best_d = radius * radius;

  for (guint i = 0; i < n; i++)
    {
      double sx, sy, d;
      if (!isfinite (x[i]) || !isfinite (y[i]))
        continue;
      sx = gaf_axis_map (ax, x[i], x0, x1);
      sy = gaf_axis_map (ay, y[i], y0, y1);
      d = (sx - px) * (sx - px) + (sy - py) * (sy - py);
      if (d <= best_d)
        {
          best_d = d;
          best = (int) i;
        }
    }
  return best;
}

guint
gaf_histogram_counts (const double *values, guint n, double lo, double hi, guint bins, guint *counts)
{
  guint counted = 0;

  memset (counts, 0, sizeof (guint) * bins);
  if (bins == 0 || !(hi > lo))
    return 0;
  for (guint i = 0; i < n; i++)
    {
      double v = values[i];
      guint b;
      if (!isfinite (v) || v < lo || v > hi)
        continue;
      b = (guint) ((v - lo) / (hi - lo) * bins);
      counts[MIN (b, bins - 1)]++;
      counted++;
    }
  return counted;
}

double
gaf_fraction_above (const double *values, guint n, double x)
{
  guint above = 0;

  if (n == 0)
    return NAN;
  for (guint i = 0; i < n; i++)
    above += values[i] > x;
  return (double) above / n;
}
