/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_SPLIT_VIEW (gaf_split_view_get_type ())
G_DECLARE_FINAL_TYPE (GafSplitView, gaf_split_view, GAF, SPLIT_VIEW, GtkWidget)

/* Two methods on the same target, side by side (the page "split" of gaf-view.c's table). The left side is
 * the window's runner, whatever its method; the right side is a second runner of this view's own, made
 * while the page is on screen and ended when it is left. The second runner follows the first: the same
 * experiment and parameters except the method (chosen in the view, by default the masked jump flow beside
 * GAF, GAF beside a jump flow), a new model whenever the first gets one (Reset, a model parameter, an
 * experiment, a file), training while it trains, a round when it samples. Each side is drawn on the simplex
 * (or, for label maps, as the maps), played in step at the same share of each method's flow time, and the
 * KL of every sampling round of both is one plot below. Each engine thread computes alone (one thread each:
 * the two share the machine's cores with the thread that draws). */

/* The sides. */
enum { GAF_SPLIT_LEFT, GAF_SPLIT_RIGHT, GAF_SPLIT_N_SIDES };

/* A side's runner: the window's (left) or the view's own (right, NULL while the page is not shown or the
 * experiment has one method only). */
GafRunner *gaf_split_view_get_runner   (GafSplitView *self, guint side);
/* The method of the right side: an index of the method parameter's choices. */
void       gaf_split_view_set_method   (GafSplitView *self, int choice);
int        gaf_split_view_get_method   (GafSplitView *self);
/* Pauses both sides at the playback phase u in [0, 1] (t = T u^2 on a GAF side, u^2 on a jump flow's). */
void       gaf_split_view_hold         (GafSplitView *self, double phase);
/* The widget that draws a side now (its simplex or its label maps) and the KL plot (tests). */
GtkWidget *gaf_split_view_get_canvas   (GafSplitView *self, guint side);
GtkWidget *gaf_split_view_get_plot     (GafSplitView *self);
/* Sampling rounds in a side's KL history of its current model. */
guint      gaf_split_view_get_kl_count (GafSplitView *self, guint side);
/* A side's colour in the captions and the plot. */
void       gaf_split_view_side_color   (guint side, double rgb[3]);

G_END_DECLS
