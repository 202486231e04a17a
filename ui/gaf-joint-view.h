/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_JOINT_VIEW (gaf_joint_view_get_type ())
G_DECLARE_FINAL_TYPE (GafJointView, gaf_joint_view, GAF, JOINT_VIEW, GtkWidget)

/* The joint view of two-variable experiments: the target table as a heatmap beside the histogram of the
 * last round of samples, on one colour scale, with their KL and mutual informations; for two binary
 * variables also the pairs (W_1, W_2) of the recorded sequences moving to the corners of the square. */
GtkWidget *gaf_joint_view_new        (void);
void       gaf_joint_view_set_runner (GafJointView *self, GafRunner *runner);
void       gaf_joint_view_draw       (GafJointView *self, cairo_t *cr, int width, int height,
                                      const GafTheme *theme);
/* The target and sample tables as CSV (first,second,target,samples). */
char      *gaf_joint_view_to_csv     (GafJointView *self);

/* The sequential colour map of the heatmaps (t in [0, 1], dark to bright). */
void       gaf_heat_color            (double t, double rgb[3]);

G_END_DECLS
