/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Axes, ticks, smoothing and hover lookup for the plots, free of GTK so tests cover them. */

typedef struct {
  double   min, max;      /* data range shown */
  gboolean log;           /* base-10 logarithmic */
} GafAxis;

/* Fits the axis to the finite (and, for log axes, positive) values; pads linear axes by 5 % and log
 * axes to whole decades when the range spans more than one. Returns FALSE when there is no such value
 * (the axis is then [0, 1] or [0.1, 1]). */
gboolean gaf_axis_fit      (GafAxis *axis, const double *values, guint n, gboolean log);
/* Widens the axis to include v. */
void     gaf_axis_include  (GafAxis *axis, double v);
/* Maps v to [pix0, pix1] (pix1 < pix0 for a y axis). */
double   gaf_axis_map      (const GafAxis *axis, double v, double pix0, double pix1);
/* Round tick values inside the axis: 1-2-5 steps for linear axes, decades (and 2, 5 when few) for log
 * axes. Returns how many were written (at most max_ticks). */
guint    gaf_axis_ticks    (const GafAxis *axis, double *ticks, guint max_ticks);
/* A short label for a tick or value ("0.25", "1e-3", "160"). */
char    *gaf_format_value  (double v);
/* "12 s", "3 min 05 s", "1 h 02 min". */
char    *gaf_format_duration (double seconds);

/* Exponential smoothing with bias correction (as TensorBoard does): out may alias y. The weight
 * 0 <= a < 1 is the memory of each step; non-finite inputs are skipped. */
void     gaf_series_smooth (const double *y, guint n, double a, double *out);
/* The index of the point nearest to (px, py) in screen space among n points mapped through the axes,
 * or -1 when none lies within `radius` pixels. */
int      gaf_series_nearest (const double *x, const double *y, guint n,
                             const GafAxis *ax, double x0, double x1,
                             const GafAxis *ay, double y0, double y1,
                             double px, double py, double radius);

/* Counts the finite values in each of `bins` equal bins of [lo, hi] (the last bin holds hi; values
 * outside are not counted). Returns how many were counted. */
guint    gaf_histogram_counts (const double *values, guint n, double lo, double hi, guint bins, guint *counts);
/* The share of the n values above x (+inf counts as above every finite x); NAN for n = 0. */
double   gaf_fraction_above   (const double *values, guint n, double x);

G_END_DECLS
