/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-export.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

/* What the window needs of a view, so that a new view is one file and one line in the table below: it
 * follows the runner it is given (its GafFollower wakes on the runner's "published" snapshots by itself),
 * it says which widget and drawing function to export, and gives its data as CSV. */

#define GAF_TYPE_VIEW (gaf_view_get_type ())
G_DECLARE_INTERFACE (GafView, gaf_view, GAF, VIEW, GtkWidget)

struct _GafViewInterface {
  GTypeInterface parent_iface;

  void       (*set_runner)  (GafView *self, GafRunner *runner);
  /* The widget whose drawing is exported and its draw function (the widget may be the view itself). */
  GtkWidget *(*get_drawing) (GafView *self, GafDrawFunc *draw);
  /* The view's data as CSV, NULL (with the error) when there are none yet; NULL hook: no data. */
  char      *(*to_csv)      (GafView *self, GError **error);
};

void       gaf_view_set_runner  (GafView *self, GafRunner *runner);
GtkWidget *gaf_view_get_drawing (GafView *self, GafDrawFunc *draw);
char      *gaf_view_to_csv      (GafView *self, GError **error);

/* The views beyond the window's own: the window adds one page per row after its built-in views (the
 * switcher, Ctrl+N, --view, the info button and export follow). A view of an experiment's own
 * (GafExperimentClass.default_view) is its file and one row here. */
typedef struct {
  const char *name;            /* the page's name: --view, GafExperimentClass.default_view, GSettings */
  const char *title;           /* N_(): the switcher's button */
  const char *info;            /* N_(): what the view draws, for a first-time viewer */
  GType     (*get_type) (void);
} GafViewEntry;

/* The rows, ended by one whose name is NULL. */
const GafViewEntry *gaf_view_entries (void);

G_END_DECLS
