/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-draw.h"
#include "gaf-run-history.h"

G_BEGIN_DECLS

/* x_max > 0 fixes the step axis at [0, x_max] (plots side by side share it); 0 fits it to the data.
 * A plot of curves against the training step with axis titles, optional reference lines (horizontal,
 * labelled) and parameter-change markers (vertical, labelled): the KL and loss histories of the Training
 * and Runs views. Cairo only; the data come from GafRun. */

typedef struct {
  const GafRunPoint *points;
  guint              n;
  double             rgb[3];
  double             width;     /* line width; 0 draws dots only */
  gboolean           dots;      /* a dot at every point (sampling rounds) */
} GafPlotSeries;

typedef struct {
  double      y;
  const char *label;
  const double *dash;
  int         n_dash;
} GafPlotReference;

typedef struct {
  double x;
  char  *label;                 /* owned by the caller */
} GafPlotMarker;

void  gaf_run_plot_draw (cairo_t *cr, const GafTheme *theme, double x0, double y0, double width, double height,
                         const char *title, const char *xlabel, const char *ylabel, gboolean log_y,
                         const GafPlotSeries *series, guint n_series,
                         const GafPlotReference *refs, guint n_refs,
                         const GafPlotMarker *markers, guint n_markers, double x_max);
/* The markers of a run's parameter changes ("learning rate → 3.0e-03"), n_out of them (free with
 * gaf_run_plot_markers_free). */
GafPlotMarker *gaf_run_plot_markers      (const GafRun *run, guint *n_out);
void           gaf_run_plot_markers_free (GafPlotMarker *markers, guint n);
/* A colour per run in an overlay. */
void           gaf_run_color             (guint index, double rgb[3]);

G_END_DECLS
