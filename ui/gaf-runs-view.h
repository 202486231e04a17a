/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-run-history.h"

G_BEGIN_DECLS

#define GAF_TYPE_RUNS_VIEW (gaf_runs_view_get_type ())
G_DECLARE_FINAL_TYPE (GafRunsView, gaf_runs_view, GAF, RUNS_VIEW, GtkWidget)

/* The tuning bench: the recorded runs (the current one and the last ones, GafRunHistory) in a list with
 * their settings (the settings that differ among the ticked runs in bold) and final metrics; the ticked
 * runs' KL and loss curves overlaid; a run's settings back to the panel ("restore" signal with the run's
 * id); its table as CSV (the window's Export Data). */
GtkWidget *gaf_runs_view_new         (void);
void       gaf_runs_view_set_runner  (GafRunsView *self, GafRunner *runner);
/* Not owned: the window's history, which must outlive the view. */
void       gaf_runs_view_set_history (GafRunsView *self, GafRunHistory *history);
/* The history changed: the rows and curves follow now. */
void       gaf_runs_view_wake        (GafRunsView *self);
/* Ticks a run for the overlay (tests, screenshots); FALSE for an unknown id. */
gboolean   gaf_runs_view_set_checked (GafRunsView *self, guint64 id, gboolean checked);
/* The ids of the ticked runs, oldest first (n_out of them; free with g_free). */
guint64   *gaf_runs_view_get_checked (GafRunsView *self, guint *n_out);
void       gaf_runs_view_draw        (GafRunsView *self, cairo_t *cr, int width, int height, const GafTheme *theme);

G_END_DECLS
