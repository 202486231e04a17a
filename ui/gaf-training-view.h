/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-run-history.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_TRAINING_VIEW (gaf_training_view_get_type ())
G_DECLARE_FINAL_TYPE (GafTrainingView, gaf_training_view, GAF, TRAINING_VIEW, GtkWidget)

/* The training view: the loss over the whole run (raw bins and smoothed) beside the KL of every sampling
 * round of the run, with the run's parameter changes marked on both, steps per second, elapsed time and
 * the last round's metric. */
GtkWidget *gaf_training_view_new        (void);
void       gaf_training_view_set_runner (GafTrainingView *self, GafRunner *runner);
void       gaf_training_view_draw       (GafTrainingView *self, cairo_t *cr, int width, int height,
                                         const GafTheme *theme);
/* The run history whose current run gives the KL curve and the parameter-change markers (not owned;
 * it must outlive the view or be unset); the window queues a draw when it changes. */
void       gaf_training_view_set_history (GafTrainingView *self, GafRunHistory *history);
/* What the view says while it has no loss to plot (untranslated; the row of the state table that the
 * window shows), or NULL when it plots. */
const char *gaf_training_view_get_hint  (GafTrainingView *self);
/* Why the runner failed (the "failed" event's message; NULL clears it): shown above the curves, with what
 * to do, while the runner's state is failed. */
void       gaf_training_view_set_error  (GafTrainingView *self, const char *message);
/* The failure the view shows now, or NULL. */
const char *gaf_training_view_get_error (GafTrainingView *self);
/* The loss history as CSV (step,loss,smoothed). */
char      *gaf_training_view_to_csv     (GafTrainingView *self);

/* The colours of the two loss curves (tests look for them). */
extern const double gaf_training_raw_color[3];
extern const double gaf_training_smooth_color[3];

G_END_DECLS
