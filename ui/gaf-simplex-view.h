/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"
#include "gaf-simplex-canvas.h"

G_BEGIN_DECLS

#define GAF_TYPE_SIMPLEX_VIEW (gaf_simplex_view_get_type ())
G_DECLARE_FINAL_TYPE (GafSimplexView, gaf_simplex_view, GAF, SIMPLEX_VIEW, GtkWidget)

/* The simplex canvas with its time scrubber, frame steps, play button, playback speed and overlay
 * toggles. Plays the trajectories of the newest sampling round in a loop (t from 0 to T in 7 s at 1x,
 * as t = T u^2 for a phase u at constant speed) from a tick callback. */
GtkWidget        *gaf_simplex_view_new        (void);
void              gaf_simplex_view_set_runner (GafSimplexView *self, GafRunner *runner);
void              gaf_simplex_view_set_playing (GafSimplexView *self, gboolean playing);
gboolean          gaf_simplex_view_get_playing (GafSimplexView *self);
GafSimplexCanvas *gaf_simplex_view_get_canvas (GafSimplexView *self);
/* Pauses and moves to the next (direction > 0) or previous recorded time of the trajectories. */
void              gaf_simplex_view_step       (GafSimplexView *self, int direction);
/* The playback speed (0.25 to 4), and one step slower (direction < 0) or faster. */
double            gaf_simplex_view_get_speed  (GafSimplexView *self);
void              gaf_simplex_view_change_speed (GafSimplexView *self, int direction);
/* The listed speed nearest to `speed`; the field and density toggles (-1 leaves one as it is). */
void              gaf_simplex_view_set_speed  (GafSimplexView *self, double speed);
void              gaf_simplex_view_set_overlays (GafSimplexView *self, int field, int density);
/* The scrubber's position for a flow time: the phase u = sqrt (t / T) of the playback. */
double            gaf_simplex_view_time_to_phase (double t, double upper);

G_END_DECLS
