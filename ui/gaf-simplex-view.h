/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"
#include "gaf-simplex-canvas.h"

G_BEGIN_DECLS

#define GAF_TYPE_SIMPLEX_VIEW (gaf_simplex_view_get_type ())
G_DECLARE_FINAL_TYPE (GafSimplexView, gaf_simplex_view, GAF, SIMPLEX_VIEW, GtkWidget)

/* The simplex canvas with its time scrubber, play button and overlay toggles. Plays the trajectories
 * of the newest sampling round in a loop (t from 0 to T in a few seconds) from a tick callback. */
GtkWidget        *gaf_simplex_view_new        (void);
void              gaf_simplex_view_set_runner (GafSimplexView *self, GafRunner *runner);
/* Keep following the runner for a while (after a command was sent). */
void              gaf_simplex_view_wake       (GafSimplexView *self);
void              gaf_simplex_view_set_playing (GafSimplexView *self, gboolean playing);
GafSimplexCanvas *gaf_simplex_view_get_canvas (GafSimplexView *self);

G_END_DECLS
