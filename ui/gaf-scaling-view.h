/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"
#include "gaf-scaling-canvas.h"

G_BEGIN_DECLS

#define GAF_TYPE_SCALING_VIEW (gaf_scaling_view_get_type ())
G_DECLARE_FINAL_TYPE (GafScalingView, gaf_scaling_view, GAF, SCALING_VIEW, GtkWidget)

/* The class-scaling view: sweep settings, a Run/Cancel button and progress above the KL-vs-c plot,
 * whose points appear as the sweep runs in the background. */
GtkWidget        *gaf_scaling_view_new          (void);
void              gaf_scaling_view_set_runner   (GafScalingView *self, GafRunner *runner);
/* Binds the sweep settings (sweep-classes, sweep-steps, sweep-samples). */
void              gaf_scaling_view_set_settings (GafScalingView *self, GSettings *settings);
/* Starts a sweep with the settings shown; FALSE when the class list does not parse. */
gboolean          gaf_scaling_view_run          (GafScalingView *self);
GafScalingCanvas *gaf_scaling_view_get_canvas   (GafScalingView *self);

/* "5, 10,20" -> {5, 10, 20}; FALSE on anything else or values outside [2, 4096]. */
gboolean          gaf_parse_class_list          (const char *text, GArray *out);

G_END_DECLS
