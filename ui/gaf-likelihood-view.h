/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_LIKELIHOOD_VIEW (gaf_likelihood_view_get_type ())
G_DECLARE_FINAL_TYPE (GafLikelihoodView, gaf_likelihood_view, GAF, LIKELIHOOD_VIEW, GtkWidget)

/* How likely the image model finds a label map: open a PGM or PNG map (or drop one on the view), or take a
 * held-out or sampled map; the engine scores it (bits/dim, GafLikelihoodScores) and the view shows it beside
 * the histogram of the held-out maps' bits/dim, which the engine computes once per model when the view is
 * first shown. */
GtkWidget *gaf_likelihood_view_new        (void);
void       gaf_likelihood_view_set_runner (GafLikelihoodView *self, GafRunner *runner);
/* Reads a label map (PGM or PNG) and asks for its score; FALSE with a message for the user when the file
 * cannot be read or does not fit the model (size, classes), or there is no image model. */
gboolean   gaf_likelihood_view_open_file  (GafLikelihoodView *self, GFile *file, GError **error);
/* Scores held-out map `index` of the histogram (FALSE before the held-out maps are scored). */
gboolean   gaf_likelihood_view_score_held_out (GafLikelihoodView *self, guint index);
/* The score of the current map once the engine has it. */
gboolean   gaf_likelihood_view_get_bits_per_dim (GafLikelihoodView *self, double *bpd);
GtkWidget *gaf_likelihood_view_get_area   (GafLikelihoodView *self);
/* The held-out maps' scores and the current map's as CSV: map,bits_per_dim. */
char      *gaf_likelihood_view_to_csv     (GafLikelihoodView *self);
void       gaf_likelihood_view_draw       (GafLikelihoodView *self, cairo_t *cr, int width, int height,
                                           const GafTheme *theme);

/* Colours of the held-out histogram and of the scored map's marker. */
extern const double gaf_likelihood_bar_color[3];
extern const double gaf_likelihood_marker_color[3];

/* Each map is scored this many times: the view shows the estimates' mean, range and standard deviation. */
#define GAF_LIKELIHOOD_REPEATS 3
/* Mean, range and sample standard deviation of n estimates (NAN for n = 0, sd 0 for n = 1); returns n. */
guint gaf_likelihood_spread (const double *values, guint n, double *mean, double *lo, double *hi, double *sd);

G_END_DECLS
