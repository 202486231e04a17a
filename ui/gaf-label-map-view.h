/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-label-map-canvas.h"
#include "gaf-runner.h"
#include "gaf-simplex-canvas.h"

G_BEGIN_DECLS

#define GAF_TYPE_LABEL_MAP_VIEW (gaf_label_map_view_get_type ())
G_DECLARE_FINAL_TYPE (GafLabelMapView, gaf_label_map_view, GAF, LABEL_MAP_VIEW, GtkWidget)

/* The image experiment's view: the grid of the newest round's label maps forming from noise, played in a
 * loop from a tick callback with the simplex view's time scrubber (scrubbing pauses), an entropy toggle,
 * and beside the grid the selected pixel's trajectory on the simplex of its classes. */
GtkWidget         *gaf_label_map_view_new               (void);
void               gaf_label_map_view_set_runner        (GafLabelMapView *self, GafRunner *runner);
void               gaf_label_map_view_set_playing       (GafLabelMapView *self, gboolean playing);
GafLabelMapCanvas *gaf_label_map_view_get_canvas        (GafLabelMapView *self);
GafSimplexCanvas  *gaf_label_map_view_get_pixel_canvas  (GafLabelMapView *self);

G_END_DECLS
