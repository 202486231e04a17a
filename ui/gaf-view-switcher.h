/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GAF_TYPE_VIEW_SWITCHER (gaf_view_switcher_get_type ())
G_DECLARE_FINAL_TYPE (GafViewSwitcher, gaf_view_switcher, GAF, VIEW_SWITCHER, GtkWidget)

/* One toggle button per page of a GtkStack, like GtkStackSwitcher, but the buttons wrap onto a second
 * row when the window is too narrow for one (GtkStackSwitcher's minimum width is all its buttons, which
 * kept the window from fitting a 1024 x 768 projector). */
GtkWidget *gaf_view_switcher_new       (void);
void       gaf_view_switcher_set_stack (GafViewSwitcher *self, GtkStack *stack);
GtkStack  *gaf_view_switcher_get_stack (GafViewSwitcher *self);
/* Rows of buttons at the current width (1 when all fit in one). */
guint      gaf_view_switcher_get_n_rows (GafViewSwitcher *self);

G_END_DECLS
