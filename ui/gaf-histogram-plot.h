/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "gaf-scaling-plot.h"

G_BEGIN_DECLS

/* Overlaid histograms of a few sets of scores on one linear axis (the likelihood command's
 * in-distribution and out-of-distribution bits/dim, ROC AUC in the title). Pure cairo, like the
 * class-scaling plot: the data (GafHistogramPlotData) apart from the drawing, files through
 * gaf_plot_write_file. Every series is counted in the same bins; each is drawn as a translucent fill
 * with an opaque step outline, so overlapping parts stay readable. Non-finite values (an item whose
 * likelihood is zero) cannot be placed on the axis: they are counted and named in the legend. */

#define GAF_HISTOGRAM_FILL_ALPHA 0.45

typedef struct {
  char   *label;       /* legend text */
  double  rgb[3];
  GArray *values;      /* double, in the order added */
} GafHistogramSeries;

typedef struct {
  char      *title;    /* NULL: none */
  char      *x_label;
  char      *y_label;
  char      *note;     /* NULL: none; one line under the legend */
  int        bins;     /* 0: automatic (see gaf_histogram_plot_data_bins) */
  GPtrArray *series;   /* GafHistogramSeries *, drawn in this order (later ones on top) */
} GafHistogramPlotData;

GafHistogramPlotData *gaf_histogram_plot_data_new        (void);
void                  gaf_histogram_plot_data_free       (GafHistogramPlotData *data);
/* A series with a copy of values (n); rgb NULL: the plot palette by position, starting with blue
 * (in-distribution) then vermilion (out-of-distribution). */
GafHistogramSeries   *gaf_histogram_plot_data_add_series (GafHistogramPlotData *data, const char *label,
                                                          const double *rgb, const double *values, gsize n);

/* The common bins: n_bins equal bins on [lo, hi], the range of every finite value of every series
 * (widened by 0.5 each way when all are equal). Automatic count: the bin width that puts about
 * ceil(sqrt(m)) bins across the range of a series of m finite values, the narrowest over the series, so
 * that two well separated sets are each resolved; the count is clamped to [5, 60]. FALSE (and [0, 1],
 * 5 bins) when there is no finite value. */
gboolean              gaf_histogram_plot_data_bins       (const GafHistogramPlotData *data, double *lo,
                                                          double *hi, int *n_bins);
/* Counts (n_bins) of a series in the bins [lo + k w, lo + (k + 1) w), the last bin closed, w =
 * (hi - lo) / n_bins; values outside [lo, hi] go to the nearest end bin. Returns the number of
 * non-finite values (not counted). */
guint                 gaf_histogram_series_count         (const GafHistogramSeries *series, double lo,
                                                          double hi, int n_bins, guint *counts);

/* Draws into the rectangle (0, 0, width, height) of cr. style NULL: the default (black on white). */
void                  gaf_histogram_plot_draw            (cairo_t *cr, const GafHistogramPlotData *data,
                                                          double width, double height,
                                                          const GafScalingPlotStyle *style);
/* SVG or PNG by the extension, written atomically (gaf_plot_write_file). */
gboolean              gaf_histogram_plot_write           (const GafHistogramPlotData *data, const char *path,
                                                          int width, int height, const GafScalingPlotStyle *style,
                                                          GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafHistogramPlotData, gaf_histogram_plot_data_free)

G_END_DECLS
