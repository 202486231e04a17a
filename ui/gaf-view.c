/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-view"
#include "config.h"

#include <glib/gi18n.h>

#include "gaf-view.h"

G_DEFINE_INTERFACE (GafView, gaf_view, GTK_TYPE_WIDGET)

static void
gaf_view_default_init (GafViewInterface *iface)
{
}

void
gaf_view_set_runner (GafView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_VIEW (self));
  GAF_VIEW_GET_IFACE (self)->set_runner (self, runner);
}

GtkWidget *
gaf_view_get_drawing (GafView *self, GafDrawFunc *draw)
{
  g_return_val_if_fail (GAF_IS_VIEW (self), NULL);
  g_return_val_if_fail (draw != NULL, NULL);
  return GAF_VIEW_GET_IFACE (self)->get_drawing (self, draw);
}

char *
gaf_view_to_csv (GafView *self, GError **error)
{
  GafViewInterface *iface;

  g_return_val_if_fail (GAF_IS_VIEW (self), NULL);
  iface = GAF_VIEW_GET_IFACE (self);
  if (iface->to_csv == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("This view has no data to export"));
      return NULL;
    }
  return iface->to_csv (self, error);
}

/* ---- the table of views ---------------------------------------------------------------------------- */

GType gaf_text_view_get_type (void);
GType gaf_split_view_get_type (void);

static const GafViewEntry entries[] = {
  { "text", N_("Text"),
    N_("Sequences of characters drawn out of noise: on the left the last round's generated lines (a tick: the "
       "line is in the file), on the right the file's most frequent lines with their share. Each character of a "
       "line is one position moving on the simplex of the alphabet."),
    gaf_text_view_get_type },
  { "split", N_("Split"),
    N_("Two methods learn the same target at once, each in an engine of its own: on the left the window's model "
       "(the method of the parameters), on the right the method chosen above it, with every other parameter the "
       "same. Both play their last round in step, at the same share of their flow time (GAF runs to T, a jump "
       "flow to 1). The plot is the KL of every sampling round of both: lower is closer to the target."),
    gaf_split_view_get_type },
  { NULL, NULL, NULL, NULL }
};

const GafViewEntry *
gaf_view_entries (void)
{
  return entries;
}
