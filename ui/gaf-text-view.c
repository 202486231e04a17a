/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-text-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-draw.h"
#include "gaf-export.h"
#include "gaf-text-experiment.h"
#include "gaf-view.h"

/* The text experiment's view (the page "text" of gaf-view.c's table): the last round's generated sequences,
 * those that are lines of the file ticked, beside the file's most frequent lines, and the share of
 * generated sequences that are lines of the file. The type is private: the window knows the view through
 * GafView. */

#define MARGIN 28.0

#define GAF_TYPE_TEXT_VIEW (gaf_text_view_get_type ())
G_DECLARE_FINAL_TYPE (GafTextView, gaf_text_view, GAF, TEXT_VIEW, GtkWidget)

struct _GafTextView {
  GtkWidget    parent_instance;
  GafFollower  follower;
};

static void gaf_text_view_iface_init (GafViewInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (GafTextView, gaf_text_view, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GAF_TYPE_VIEW, gaf_text_view_iface_init))

static const GafTextPayload *
text_of (GafTextView *self)
{
  return self->follower.snapshot ? gaf_text_payload (self->follower.snapshot->payload) : NULL;
}

/* A column of lines in a monospace font under a heading; `mark` (may be NULL) ticks some of them. */
static void
draw_column (cairo_t *cr, const GafTheme *theme, const char *heading, char *const *lines, const double *p,
             const gboolean *mark, guint n, double x, double y)
{
  gaf_set_fg (cr, theme, 0.9);
  gaf_draw_text (cr, theme, heading, x, y, 0, 0, 1.05);
  y += 34;
  for (guint i = 0; i < n; i++, y += 26)
    {
      g_autofree char *text = g_markup_escape_text (lines[i], -1);
      g_autofree char *markup = g_strdup_printf ("<tt>%s</tt>", text);
      double w;

      gaf_set_fg (cr, theme, mark == NULL || mark[i] ? 1.0 : 0.55);
      w = gaf_draw_text (cr, theme, markup, x, y, 0, 0, 1.15);
      if (mark != NULL && mark[i])
        gaf_draw_text (cr, theme, "✓", x + w + 10, y, 0, 0, 1.0);
      else if (p != NULL)
        {
          g_autofree char *share = g_strdup_printf ("%.2f %%", 100 * p[i]);
          gaf_set_fg (cr, theme, 0.6);
          gaf_draw_text (cr, theme, share, x + w + 14, y + 2, 0, 0, 0.9);
        }
    }
}

static void
gaf_text_view_draw (GafTextView *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  const GafTextPayload *t;
  g_autofree char *detail = NULL, *share = NULL, *source = NULL;
  double col = MAX (260.0, (width - 3 * MARGIN) / 2);

  g_return_if_fail (GAF_IS_TEXT_VIEW (self));
  t = text_of (self);
  gaf_set_fg (cr, theme, 1.0);
  gaf_draw_text (cr, theme, _("<b>Text lines</b>"), MARGIN, 18, 0, 0, 1.3);
  if (t == NULL)
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_placeholder (cr, theme, _("Choose the text experiment to see sequences of characters form out of noise."), width, height);
      return;
    }
  source = g_markup_escape_text (t->source, -1);
  /* Translators: the text file, its lines kept and read, and the sequence length */
  detail = g_strdup_printf (_("%s: %u of %u lines have %d characters"), source, t->kept, t->lines, t->length);
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text (cr, theme, detail, MARGIN, 46, 0, 0, 0.9);
  if (t->n_generated > 0)
    {
      /* Translators: the share of generated sequences that are lines of the file */
      share = g_strdup_printf (_("<b>%.1f %%</b> of the last round's %u sequences are lines of the file"),
                               100 * t->share, (guint) t->samples);
      gaf_set_fg (cr, theme, 1.0);
      gaf_draw_text (cr, theme, share, MARGIN, 74, 0, 0, 1.05);
      draw_column (cr, theme, _("Generated (last round)"), t->generated, NULL, t->generated_known, t->n_generated,
                   MARGIN, 116);
    }
  else
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, _("Waiting for the first samples…"), MARGIN, 116, 0, 0, 1.0);
    }
  draw_column (cr, theme, _("Most frequent lines of the file"), t->frequent, t->frequent_p, NULL, t->n_frequent,
               MARGIN * 2 + col, 116);
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  gtk_widget_queue_draw (widget);
}

static void
draw_text_view (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_text_view_draw (widget, cr, width, height, theme);
}

static void
gaf_text_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  gaf_snapshot_drawing (widget, snapshot, draw_text_view);
}

static GtkWidget *
get_drawing (GafView *view, GafDrawFunc *draw)
{
  *draw = draw_text_view;
  return GTK_WIDGET (view);
}

static void
set_runner (GafView *view, GafRunner *runner)
{
  gaf_follower_set_runner (&GAF_TEXT_VIEW (view)->follower, runner);
}

/* The generated sequences and the frequent lines as CSV (kind,sequence,line_of_file,probability). */
static char *
to_csv (GafView *view, GError **error)
{
  const GafTextPayload *t = text_of (GAF_TEXT_VIEW (view));
  GString *out;

  if (t == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("There are no text samples yet"));
      return NULL;
    }
  out = g_string_new ("kind,sequence,line_of_file,probability\n");
  for (guint i = 0; i < t->n_generated; i++)
    g_string_append_printf (out, "generated,\"%s\",%d,\n", t->generated[i], t->generated_known[i]);
  for (guint i = 0; i < t->n_frequent; i++)
    {
      char p[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (out, "frequent,\"%s\",1,%s\n", t->frequent[i], g_ascii_formatd (p, sizeof p, "%.6g", t->frequent_p[i]));
    }
  return g_string_free (out, FALSE);
}

static void
gaf_text_view_iface_init (GafViewInterface *iface)
{
  iface->set_runner = set_runner;
  iface->get_drawing = get_drawing;
  iface->to_csv = to_csv;
}

static void
gaf_text_view_dispose (GObject *object)
{
  gaf_follower_clear (&GAF_TEXT_VIEW (object)->follower);
  G_OBJECT_CLASS (gaf_text_view_parent_class)->dispose (object);
}

static void
gaf_text_view_class_init (GafTextViewClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = gaf_text_view_dispose;
  GTK_WIDGET_CLASS (klass)->snapshot = gaf_text_view_snapshot;
  gtk_widget_class_set_css_name (GTK_WIDGET_CLASS (klass), "gaftextview");
}

static void
gaf_text_view_init (GafTextView *self)
{
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, NULL);
  gtk_widget_set_size_request (GTK_WIDGET (self), 480, 320);
}
