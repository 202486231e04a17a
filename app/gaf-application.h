/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define GAF_TYPE_APPLICATION (gaf_application_get_type ())
G_DECLARE_FINAL_TYPE (GafApplication, gaf_application, GAF, APPLICATION, GtkApplication)

/* The gaflow GtkApplication: one window, app actions (about, quit), accelerators and the command line
 * `gaflow [--screenshot FILE.png] [--view NAME] [--experiment NAME] [--after SECONDS]`. */
GafApplication *gaf_application_new             (void);
/* Non-zero when a --screenshot or --frame-stats run failed. */
int             gaf_application_get_exit_status (GafApplication *self);

G_END_DECLS
