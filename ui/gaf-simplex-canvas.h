/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_SIMPLEX_CANVAS (gaf_simplex_canvas_get_type ())
G_DECLARE_FINAL_TYPE (GafSimplexCanvas, gaf_simplex_canvas, GAF, SIMPLEX_CANVAS, GtkWidget)

/* The simplex drawing: the triangle (or c-gon) with class-coloured vertices, the reference density,
 * the rows' trajectories at the current time with fading trails, the field as arrows and the teaching
 * overlays (click a point: conditional e-geodesics to the vertices; click a second: e-, m- and
 * Fisher-Rao geodesics between them; right click clears). */
GtkWidget *gaf_simplex_canvas_new          (void);
void       gaf_simplex_canvas_set_snapshot (GafSimplexCanvas *self, GafSnapshot *snapshot);
void       gaf_simplex_canvas_set_time     (GafSimplexCanvas *self, double t);
double     gaf_simplex_canvas_get_time     (GafSimplexCanvas *self);
/* Teaching overlay points (c = 3), barycentric; b may be NULL. NULL a clears both. */
void       gaf_simplex_canvas_set_points   (GafSimplexCanvas *self, const double *a, const double *b);
void       gaf_simplex_canvas_draw         (GafSimplexCanvas *self, cairo_t *cr, int width, int height,
                                            const GafTheme *theme);
/* Label maps: the row (pixel of a map) whose whole trajectory is drawn alone; -1 shows up to 256 pixels
 * of the first map. Other experiments draw every row whatever it is. */
void       gaf_simplex_canvas_set_selected_row (GafSimplexCanvas *self, int row);
int        gaf_simplex_canvas_get_selected_row (GafSimplexCanvas *self);
/* How many times the widget was drawn (tests: frames keep coming while training). */
guint      gaf_simplex_canvas_get_draw_count (GafSimplexCanvas *self);

/* Without the captions at the top and the notes at the bottom: the drawing and its vertex labels fill the
 * canvas (the split view, which says the time and the method itself). */
void gaf_simplex_canvas_set_compact (GafSimplexCanvas *self, gboolean compact);
/* Width at the top right that the captions leave free for what the view lays over the canvas. */
void gaf_simplex_canvas_set_caption_inset (GafSimplexCanvas *self, double inset);

G_END_DECLS
