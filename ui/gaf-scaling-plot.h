/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "gaf-sweep.h"

G_BEGIN_DECLS

/* The class-scaling plot (docs/method.md §5): KL against the number of classes on log-log axes, one line per
 * method, the uniform-sampler and finite-sample-floor reference lines, a legend and axis labels.
 * Pure cairo (no GTK), so the CLI writes it to SVG/PNG and the desktop app can draw the same data on
 * screen. The data (GafScalingPlotData) is kept apart from the drawing (gaf_scaling_plot_draw). */

typedef enum {
  GAF_SCALING_LINE_METHOD,    /* solid with markers */
  GAF_SCALING_LINE_UNIFORM,   /* dashed: KL of a sampler that ignores the data */
  GAF_SCALING_LINE_FLOOR,     /* dotted: (c - 1) / (2N) */
} GafScalingLineKind;

typedef struct {
  double classes;
  double kl;
} GafScalingPoint;

typedef struct {
  char              *label;     /* legend text */
  GafScalingLineKind kind;
  double             rgb[3];
  GArray            *points;    /* GafScalingPoint, in the order added (drawn sorted by classes) */
} GafScalingSeries;

typedef struct {
  char      *title;             /* NULL: none */
  char      *x_label;
  char      *y_label;
  char      *note;              /* NULL: none; one line under the legend (budget, sample count) */
  GPtrArray *series;            /* GafScalingSeries *, drawn and listed in this order */
} GafScalingPlotData;

GafScalingPlotData *gaf_scaling_plot_data_new        (void);
void                gaf_scaling_plot_data_free       (GafScalingPlotData *data);
/* Adds an empty series; rgb NULL picks the colour for the kind (methods: a palette by position). */
GafScalingSeries   *gaf_scaling_plot_data_add_series (GafScalingPlotData *data, GafScalingLineKind kind,
                                                      const char *label, const double *rgb);
void                gaf_scaling_series_add           (GafScalingSeries *series, double classes, double kl);
/* From sweep rows: one series per method in order of first appearance, labelled "title: decoding"
 * (e.g. "Dirichlet FM: argmax of the last predicted class probabilities"), plus the uniform-sampler and
 * floor lines from the rows' kl_uniform and kl_floor (the first row of each class count). */
GafScalingPlotData *gaf_scaling_plot_data_new_from_rows (const GafSweepRow *rows, guint n_rows);
/* Log-axis ranges covering every positive finite point: x padded a little around the class counts, y
 * widened to whole decades. FALSE when there is no such point (ranges then [1, 10] and [1e-4, 1]). */
gboolean            gaf_scaling_plot_data_range      (const GafScalingPlotData *data, double *x_min,
                                                      double *x_max, double *y_min, double *y_max);
/* The palette colour of a method series by position (0 = first). */
void                gaf_scaling_plot_palette         (guint index, double rgb[3]);

typedef struct {
  double      fg[4];            /* text, axes, reference lines */
  double      bg[4];            /* background; alpha 0 leaves the surface as it is */
  double      grid_alpha;       /* grid lines: fg at this alpha */
  const char *font_family;
  double      font_size;        /* pixels */
  double      line_width;
} GafScalingPlotStyle;

/* Black on white, sans-serif 13 px. */
void     gaf_scaling_plot_style_init (GafScalingPlotStyle *style);
/* Draws into the rectangle (0, 0, width, height) of cr (user units). style NULL: the default. */
void     gaf_scaling_plot_draw       (cairo_t *cr, const GafScalingPlotData *data, double width, double height,
                                      const GafScalingPlotStyle *style);

typedef enum {
  GAF_SCALING_PLOT_SVG,
  GAF_SCALING_PLOT_PNG,
} GafScalingPlotFormat;

/* The format from a file name ending in .svg or .png (any case); FALSE with a GError otherwise. */
gboolean gaf_scaling_plot_format_from_path (const char *path, GafScalingPlotFormat *format, GError **error);
/* Writes width x height (pixels; SVG in px units) atomically (temporary file and rename). */
gboolean gaf_scaling_plot_write_svg (const GafScalingPlotData *data, const char *path, int width, int height,
                                     const GafScalingPlotStyle *style, GError **error);
gboolean gaf_scaling_plot_write_png (const GafScalingPlotData *data, const char *path, int width, int height,
                                     const GafScalingPlotStyle *style, GError **error);
/* By the file name's extension. */
gboolean gaf_scaling_plot_write     (const GafScalingPlotData *data, const char *path, int width, int height,
                                     const GafScalingPlotStyle *style, GError **error);

/* Text helpers shared by the plots: the style's foreground at an alpha, its font at a scale, text with its
 * box anchored at (x, y) by (ax, ay) in [0, 1] (0, 0 the top left), returning the advance. */
void     gaf_plot_set_fg             (cairo_t *cr, const GafScalingPlotStyle *style, double alpha);
void     gaf_plot_set_font           (cairo_t *cr, const GafScalingPlotStyle *style, double scale);
double   gaf_plot_draw_text          (cairo_t *cr, const char *text, double x, double y, double ax, double ay);
double   gaf_plot_text_width         (cairo_t *cr, const char *text);

/* Any plot drawn by a function of this shape (the class-scaling plot, the likelihood histograms) goes to
 * a file the same way: SVG or PNG by the name's extension, width x height pixels, written atomically. */
typedef void (*GafPlotDrawFunc) (cairo_t *cr, gconstpointer data, double width, double height,
                                 const GafScalingPlotStyle *style);
gboolean gaf_plot_write_file        (const char *path, int width, int height, GafPlotDrawFunc draw,
                                     gconstpointer data, const GafScalingPlotStyle *style, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafScalingPlotData, gaf_scaling_plot_data_free)

G_END_DECLS
