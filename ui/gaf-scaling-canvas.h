/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-runner.h"
#include "gaf-sweep.h"

G_BEGIN_DECLS

#define GAF_TYPE_SCALING_CANVAS (gaf_scaling_canvas_get_type ())
G_DECLARE_FINAL_TYPE (GafScalingCanvas, gaf_scaling_canvas, GAF, SCALING_CANVAS, GtkWidget)

/* KL against the number of classes on log axes, drawn by the shared class-scaling plot: one curve per
 * method from the sweep rows, the uniform-sampler and finite-sample-floor reference lines; values on hover. */
GtkWidget *gaf_scaling_canvas_new          (void);
/* The planned sweep: class counts with the uniform-sampler KL of each target, the sample count for the
 * floor line. Copied. */
void       gaf_scaling_canvas_set_plan     (GafScalingCanvas *self, const int *classes, const double *kl_uniform,
                                            guint n, guint64 samples);
void       gaf_scaling_canvas_set_rows     (GafScalingCanvas *self, const GafSweepRow *rows, guint n);
void       gaf_scaling_canvas_draw         (GafScalingCanvas *self, cairo_t *cr, int width, int height,
                                            const GafTheme *theme);
/* Hover as if the pointer were at (x, y), or leave with x < 0 (tests): the nearest class count within
 * a few pixels shows the values of every method there. */
void       gaf_scaling_canvas_hover        (GafScalingCanvas *self, double x, double y);
/* The first row of the hovered class count, or -1. */
int        gaf_scaling_canvas_get_hovered  (GafScalingCanvas *self);
/* Screen x of row i's class count in the last drawing. */
gboolean   gaf_scaling_canvas_row_x        (GafScalingCanvas *self, guint i, double *x);
char      *gaf_scaling_canvas_to_csv       (GafScalingCanvas *self);

/* The translated short name of a method ("gaf" -> "GAF", "dirichlet" -> "Dirichlet FM", ...). */
const char *gaf_scaling_method_name        (const char *method);
/* Colour of a method's curve ("gaf", "dirichlet", "linear", "sphere"): the plot's palette. */
void       gaf_method_color                (const char *method, double rgb[3]);

G_END_DECLS
