/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-label-map-data.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_LABEL_MAP_CANVAS (gaf_label_map_canvas_get_type ())
G_DECLARE_FINAL_TYPE (GafLabelMapCanvas, gaf_label_map_canvas, GAF, LABEL_MAP_CANVAS, GtkWidget)

/* The grid of the last round's label maps at flow time t: every pixel the W-weighted mix of the class
 * colours of the data (or, with show-entropy, its normalised entropy as a gray level), so the maps form
 * out of noise as t runs. A click selects a pixel ("selected-row": map * H W + pixel, -1 for none). */
GtkWidget *gaf_label_map_canvas_new          (void);
void       gaf_label_map_canvas_set_snapshot (GafLabelMapCanvas *self, GafSnapshot *snapshot);
void       gaf_label_map_canvas_set_time     (GafLabelMapCanvas *self, double t);
double     gaf_label_map_canvas_get_time     (GafLabelMapCanvas *self);
void       gaf_label_map_canvas_set_selected_row (GafLabelMapCanvas *self, int row);
int        gaf_label_map_canvas_get_selected_row (GafLabelMapCanvas *self);
/* Selects the pixel under (x, y) as a click does; FALSE (selection unchanged) when there is none. */
gboolean   gaf_label_map_canvas_select_at    (GafLabelMapCanvas *self, double x, double y);
/* The centre of a row's pixel in the last drawing; FALSE before one or for a row not shown. */
gboolean   gaf_label_map_canvas_row_position (GafLabelMapCanvas *self, int row, double *x, double *y);
void       gaf_label_map_canvas_draw         (GafLabelMapCanvas *self, cairo_t *cr, int width, int height,
                                              const GafTheme *theme);
guint      gaf_label_map_canvas_get_draw_count (GafLabelMapCanvas *self);

/* The runner's failure to show in place of the maps while it has failed (NULL clears it). */
void gaf_label_map_canvas_set_error (GafLabelMapCanvas *self, const char *message);

G_END_DECLS
