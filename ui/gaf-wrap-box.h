/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GAF_TYPE_WRAP_BOX (gaf_wrap_box_get_type ())
G_DECLARE_FINAL_TYPE (GafWrapBox, gaf_wrap_box, GAF, WRAP_BOX, GtkWidget)

/* Its children side by side at their natural widths, wrapping onto further rows when the width is too
 * small for one (a toolbar row that must not make the window wider than a 1024 x 768 or 800 x 600
 * screen). Rows start at the left; the last child of a row gets the row's spare width if it hexpands. */
GtkWidget *gaf_wrap_box_new (void);

G_END_DECLS
