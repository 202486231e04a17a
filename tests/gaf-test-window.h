/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the tests that run the app in a real window (test-ui, test-ui-fit): iterating the
 * main context for a while or until a condition holds (every wait has a deadline, scaled by
 * GAF_TEST_TIME_FACTOR for slow setups and loaded machines), a run history file of the test's own
 * instead of the user's, and a widget's pixels. */

#include <glib.h>
#include <gtk/gtk.h>
#include <math.h>

#include "gaf-test-util.h"

typedef gboolean (*Predicate) (gpointer data);

/* What is pending in the main context, at most 200 dispatches: with busy engines and animations there may
 * always be something, and a wait must still look at its clock and its condition. */
static inline void
iterate_pending (void)
{
  for (int i = 0; i < 200 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static inline void
iterate_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    {
      iterate_pending ();
      g_usleep (4000);
    }
}

static inline gboolean
wait_until (Predicate pred, gpointer data, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * gaf_test_time_factor () * G_USEC_PER_SEC);

  while (!pred (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      iterate_pending ();
      g_usleep (4000);
    }
  return TRUE;
}

/* The run history goes to a file in a new temporary folder (GAFLOW_RUNS_FILE), not the user's data. */
static inline void
use_test_runs_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *runs = NULL;

  g_assert_nonnull (dir);
  runs = g_build_filename (dir, "runs.ini", NULL);
  g_setenv ("GAFLOW_RUNS_FILE", runs, TRUE);
}

/* ---- pixels: a widget's own snapshot, rendered now ------------------------------------------------- */

typedef struct {
  int     width, height, stride;
  guchar *data;   /* cairo ARGB32 premultiplied: B G R A in memory */
} Pixels;

static inline gboolean
widget_is_laid_out (gpointer widget)
{
  return gtk_widget_get_width (widget) > 100 && gtk_widget_get_height (widget) > 100;
}

static inline Pixels
render (GtkWidget *widget)
{
  Pixels px;
  g_autoptr(GdkTexture) texture = NULL;
  GtkSnapshot *snap;
  GskRenderNode *node;

  /* a window just presented (a test run alone with -p, or under a sanitizer) may not be laid out yet */
  wait_until (widget_is_laid_out, widget, 10);
  px = (Pixels) { gtk_widget_get_width (widget), gtk_widget_get_height (widget), 0, NULL };
  snap = gtk_snapshot_new ();
  g_assert_cmpint (px.width, >, 100);
  g_assert_cmpint (px.height, >, 100);
  /* The widget's own snapshot now (a GtkWidgetPaintable shows the last frame's node, which is gone
   * while a redraw is queued). */
  GTK_WIDGET_GET_CLASS (widget)->snapshot (widget, snap);
  node = gtk_snapshot_free_to_node (snap);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, px.width, px.height));
  gsk_render_node_unref (node);
  px.stride = px.width * 4;
  px.data = g_malloc ((gsize) px.stride * px.height);
  gdk_texture_download (texture, px.data, px.stride);
  return px;
}

/* Pixels within `tol` (per channel, 0..1) of rgb. */
static inline guint
count_color (const Pixels *px, const double rgb[3], double tol)
{
  guint n = 0;

  for (int y = 0; y < px->height; y++)
    for (int x = 0; x < px->width; x++)
      {
        const guchar *p = px->data + y * px->stride + x * 4;
        double a = p[3] / 255.0;
        if (a < 0.9)
          continue;
        if (fabs (p[2] / 255.0 / a - rgb[0]) < tol && fabs (p[1] / 255.0 / a - rgb[1]) < tol &&
            fabs (p[0] / 255.0 / a - rgb[2]) < tol)
          n++;
      }
  return n;
}
