/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-draw"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "gaf-dataset.h"
#include "gaf-draw.h"
#include "gaf-label-map-experiment.h"

void
gaf_theme_from_widget (GafTheme *theme, GtkWidget *widget)
{
  GtkStyleContext *ctx = gtk_widget_get_style_context (widget);
  GdkRGBA fg, bg;
  PangoContext *pc = gtk_widget_get_pango_context (widget);

  /* GTK 4.8: gtk_widget_get_color does not exist yet. */
  gtk_style_context_get_color (ctx, &fg);
  if (!gtk_style_context_lookup_color (ctx, "theme_bg_color", &bg) &&
      !gtk_style_context_lookup_color (ctx, "window_bg_color", &bg))
    {
      double l = 0.299 * fg.red + 0.587 * fg.green + 0.114 * fg.blue;
      bg = l > 0.5 ? (GdkRGBA) { 0.14, 0.14, 0.14, 1 } : (GdkRGBA) { 0.98, 0.98, 0.98, 1 };
    }
  theme->fg[0] = fg.red;
  theme->fg[1] = fg.green;
  theme->fg[2] = fg.blue;
  theme->fg[3] = fg.alpha;
  theme->bg[0] = bg.red;
  theme->bg[1] = bg.green;
  theme->bg[2] = bg.blue;
  theme->bg[3] = 1.0;
  theme->dark = 0.299 * fg.red + 0.587 * fg.green + 0.114 * fg.blue > 0.5;
  theme->font = pango_font_description_copy (pango_context_get_font_description (pc));
  {
    GtkRoot *root = gtk_widget_get_root (widget);
    theme->stroke = root != NULL && gtk_widget_has_css_class (GTK_WIDGET (root), "presentation") ? 1.6 : 1.0;
  }
}

double
gaf_stroke (const GafTheme *theme)
{
  return theme != NULL && theme->stroke > 0 ? theme->stroke : 1.0;
}

double
gaf_text_factor (const GafTheme *theme)
{
  return gaf_stroke (theme) > 1.0 ? 1.5 : 1.0;   /* style.css: window.presentation { font-size: 150% } */
}

void
gaf_theme_clear (GafTheme *theme)
{
  g_clear_pointer (&theme->font, pango_font_description_free);
}

void
gaf_set_fg (cairo_t *cr, const GafTheme *theme, double alpha)
{
  cairo_set_source_rgba (cr, theme->fg[0], theme->fg[1], theme->fg[2], theme->fg[3] * alpha);
}

void
gaf_set_rgb (cairo_t *cr, const double rgb[3], double alpha)
{
  cairo_set_source_rgba (cr, rgb[0], rgb[1], rgb[2], alpha);
}

static PangoLayout *
make_layout (cairo_t *cr, const GafTheme *theme, const char *markup, double scale)
{
  PangoLayout *layout = pango_cairo_create_layout (cr);
  PangoFontDescription *font = theme->font ? pango_font_description_copy (theme->font)
                                           : pango_font_description_from_string ("Sans 10");
  int size = pango_font_description_get_size (font);

  if (size <= 0)
    size = 10 * PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute (font))
    pango_font_description_set_absolute_size (font, size * scale);
  else
    pango_font_description_set_size (font, (int) (size * scale));
  pango_layout_set_font_description (layout, font);
  pango_layout_set_markup (layout, markup, -1);
  pango_font_description_free (font);
  return layout;
}

void
gaf_measure_text (cairo_t *cr, const GafTheme *theme, const char *markup, double scale,
                  double *width, double *height)
{
  PangoLayout *layout = make_layout (cr, theme, markup, scale);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  if (width)
    *width = w;
  if (height)
    *height = h;
  g_object_unref (layout);
}

/* The text audit (drawing happens on the main thread only): 0 off, 1 counting, 2 counting and saying each. */
static int      audit_mode = -1;
static guint    audit_cut_off;
static GString *audit_first;   /* the first few texts cut off since the audit was turned on */

static gboolean
audit_says_each (void)
{
  const char *debug = g_getenv ("GAFLOW_DEBUG");

  return debug != NULL && strstr (debug, "text-clip") != NULL;
}

void
gaf_draw_audit_texts (gboolean on)
{
  audit_mode = audit_says_each () ? 2 : on ? 1 : 0;
  audit_cut_off = 0;
  if (audit_first == NULL)
    audit_first = g_string_new (NULL);
  g_string_truncate (audit_first, 0);
}

guint
gaf_draw_texts_cut_off (void)
{
  return audit_cut_off;
}

const char *
gaf_draw_texts_cut_off_first (void)
{
  return audit_first != NULL ? audit_first->str : "";
}

/* A text box (x0, y0, w, h, user space) not inside the area being drawn (the clip) is counted, and with
 * GAFLOW_DEBUG=text-clip also named on stderr. One pixel of slack for rounding. */
static void
audit_text (cairo_t *cr, const char *markup, double x0, double y0, int w, int h)
{
  double cx0, cy0, cx1, cy1;

  if (audit_mode < 0)
    audit_mode = audit_says_each () ? 2 : 0;
  if (audit_mode == 0)
    return;
  cairo_clip_extents (cr, &cx0, &cy0, &cx1, &cy1);
  if (x0 >= cx0 - 1 && y0 >= cy0 - 1 && x0 + w <= cx1 + 1 && y0 + h <= cy1 + 1)
    return;
  audit_cut_off++;
  if (audit_first != NULL && audit_cut_off <= 3)
    g_string_append_printf (audit_first, "\"%s\" at (%.0f, %.0f), %d x %d, in (%.0f, %.0f)-(%.0f, %.0f); ", markup,
                            x0, y0, w, h, cx0, cy0, cx1, cy1);
  if (audit_mode == 2)
    g_printerr ("gaflow: text cut off: \"%s\" at (%.0f, %.0f), %d x %d, in (%.0f, %.0f)-(%.0f, %.0f)\n", markup,
                x0, y0, w, h, cx0, cy0, cx1, cy1);
}

/* Shows a laid-out text (markup, for the audit) with its anchor at (x, y), and frees the layout; its size
 * in w, h. */
static void
show_layout (cairo_t *cr, PangoLayout *layout, const char *markup, double x, double y, double ax, double ay,
             int *w, int *h)
{
  pango_layout_get_pixel_size (layout, w, h);
  audit_text (cr, markup, round (x - ax * *w), round (y - ay * *h), *w, *h);
  cairo_move_to (cr, round (x - ax * *w), round (y - ay * *h));
  pango_cairo_show_layout (cr, layout);
  cairo_new_path (cr);
  g_object_unref (layout);
}

/* Shows markup with its anchor at (x, y), wrapped to max_width when that is > 0; its size in w, h. */
static void
show_text (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y, double ax, double ay,
           double scale, double max_width, int *w, int *h)
{
  PangoLayout *layout = make_layout (cr, theme, markup, scale);

  if (max_width > 0)
    {
      pango_layout_set_width (layout, (int) (MAX (max_width, 20) * PANGO_SCALE));
      pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
    }
  show_layout (cr, layout, markup, x, y, ax, ay, w, h);
}

double
gaf_draw_text (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
               double ax, double ay, double scale)
{
  int w, h;

  show_text (cr, theme, markup, x, y, ax, ay, scale, 0, &w, &h);
  return w;
}

double
gaf_draw_text_fitted (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y, double ax,
                      double ay, double scale, double max_width)
{
  PangoLayout *layout = make_layout (cr, theme, markup, scale);
  int w, h;

  pango_layout_get_pixel_size (layout, &w, &h);
  if (w > max_width && w > 0)
    {
      g_object_unref (layout);
      layout = make_layout (cr, theme, markup, MAX (scale * max_width / w, 0.75 * scale));
    }
  /* still too wide at three quarters of the size: the end gives way to an ellipsis */
  pango_layout_set_width (layout, (int) (MAX (max_width, 20) * PANGO_SCALE));
  pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_END);
  show_layout (cr, layout, markup, x, y, ax, ay, &w, &h);
  return h;
}

void
gaf_draw_placeholder (cairo_t *cr, const GafTheme *theme, const char *markup, double width, double height)
{
  PangoLayout *layout = make_layout (cr, theme, markup, 1.0);
  int w, h;

  pango_layout_set_width (layout, (int) (MAX (MIN (width - 32, 640), 20) * PANGO_SCALE));
  pango_layout_set_wrap (layout, PANGO_WRAP_WORD_CHAR);
  pango_layout_set_alignment (layout, PANGO_ALIGN_CENTER);
  show_layout (cr, layout, markup, width / 2, height / 2, 0.5, 0.5, &w, &h);
}

double
gaf_draw_text_wrapped (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
                       double ax, double ay, double scale, double max_width)
{
  int w, h;

  show_text (cr, theme, markup, x, y, ax, ay, scale, MAX (max_width, 20), &w, &h);
  return h;
}

void
gaf_draw_text_vertical (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y, double ay,
                        double scale)
{
  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_rotate (cr, -G_PI / 2);
  gaf_draw_text (cr, theme, markup, 0, 0, 0.5, ay, scale);
  cairo_restore (cr);
}

void
gaf_arrow_path (cairo_t *cr, double x0, double y0, double x1, double y1, double size, gboolean head)
{
  double dx = x1 - x0, dy = y1 - y0, len = hypot (dx, dy), ux, uy;

  if (len < 1e-6)
    return;
  ux = dx / len;
  uy = dy / len;
  size = MIN (size, len * 0.6);
  if (!head)
    {
      cairo_move_to (cr, x0, y0);
      cairo_line_to (cr, x1 - ux * size * 0.7, y1 - uy * size * 0.7);
      return;
    }
  cairo_move_to (cr, x1, y1);
  cairo_line_to (cr, x1 - ux * size - uy * size * 0.45, y1 - uy * size + ux * size * 0.45);
  cairo_line_to (cr, x1 - ux * size + uy * size * 0.45, y1 - uy * size - ux * size * 0.45);
  cairo_close_path (cr);
}

void
gaf_draw_arrow (cairo_t *cr, double x0, double y0, double x1, double y1, double head)
{
  gaf_arrow_path (cr, x0, y0, x1, y1, head, FALSE);
  cairo_stroke (cr);
  gaf_arrow_path (cr, x0, y0, x1, y1, head, TRUE);
  cairo_fill (cr);
}

/* ---- following the runner ------------------------------------------------------------------------- */

void
gaf_follower_poll (GafFollower *f)
{
  GafSnapshot *s;

  if (f->runner == NULL)
    return;
  s = gaf_runner_dup_snapshot (f->runner);
  if (f->snapshot != NULL && s->serial == f->snapshot->serial)
    {
      gaf_snapshot_unref (s);
      return;
    }
  g_clear_pointer (&f->snapshot, gaf_snapshot_unref);
  f->snapshot = s;
  f->awake_until = MAX (f->awake_until, g_get_monotonic_time () + G_USEC_PER_SEC / 2);
  if (f->changed)
    f->changed (f->widget, s);
}

static gboolean
follower_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  GafFollower *f = data;
  gint64 now = g_get_monotonic_time ();

  gaf_follower_poll (f);
  if (f->animating && f->frame)
    f->frame (widget, gdk_frame_clock_get_frame_time (clock));
  if (!gtk_widget_get_mapped (widget) ||
      (!f->animating && !gaf_snapshot_busy (f->snapshot) && now > f->awake_until))
    {
      f->tick_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
follower_mapped (GtkWidget *widget, gpointer data)
{
  gaf_follower_wake (data);
}

void
gaf_follower_init (GafFollower *f, GtkWidget *widget,
                   void (*changed) (GtkWidget *, GafSnapshot *), void (*frame) (GtkWidget *, gint64))
{
  f->widget = widget;
  f->changed = changed;
  f->frame = frame;
  g_signal_connect (widget, "map", G_CALLBACK (follower_mapped), f);
}

static void
follower_published (GafRunner *runner, gpointer data)
{
  GafFollower *f = data;

  /* A running tick takes the snapshot at the next frame anyway; a sleeping one starts again. */
  if (f->tick_id == 0)
    gaf_follower_wake (f);
  else
    f->awake_until = MAX (f->awake_until, g_get_monotonic_time () + G_USEC_PER_SEC);
}

/* The follower hears of every snapshot the runner publishes: a view wakes by itself after any command,
 * whoever sent it. */
void
gaf_follower_set_runner (GafFollower *f, GafRunner *runner)
{
  if (f->runner == runner)
    return;
  if (f->runner != NULL)
    g_signal_handlers_disconnect_by_func (f->runner, follower_published, f);
  g_clear_pointer (&f->snapshot, gaf_snapshot_unref);
  g_set_object (&f->runner, runner);
  if (runner != NULL)
    g_signal_connect (runner, "published", G_CALLBACK (follower_published), f);
  gaf_follower_wake (f);
}

void
gaf_follower_wake (GafFollower *f)
{
  f->awake_until = MAX (f->awake_until, g_get_monotonic_time () + G_USEC_PER_SEC);
  if (f->tick_id == 0 && f->runner != NULL && gtk_widget_get_mapped (f->widget))
    f->tick_id = gtk_widget_add_tick_callback (f->widget, follower_tick, f, NULL);
  gtk_widget_queue_draw (f->widget);
}

void
gaf_follower_set_animating (GafFollower *f, gboolean animating)
{
  f->animating = animating;
  if (animating)
    gaf_follower_wake (f);
}

void
gaf_follower_clear (GafFollower *f)
{
  if (f->tick_id != 0)
    {
      gtk_widget_remove_tick_callback (f->widget, f->tick_id);
      f->tick_id = 0;
    }
  g_clear_pointer (&f->snapshot, gaf_snapshot_unref);
  if (f->runner != NULL)
    g_signal_handlers_disconnect_by_func (f->runner, follower_published, f);
  g_clear_object (&f->runner);
}

/* The scene classes (gaf-dataset.h), marked for translation here: the engine names them in English. */
static const char *const scene_class_names[] = {
  N_("sky"), N_("ground"), N_("road"), N_("building"), N_("tree"), N_("water"), N_("cloud"), N_("sun"),
};

char *
gaf_class_name (const GafPayload *payload, int k)
{
  const GafLabelMapPayload *maps = payload != NULL ? gaf_label_map_payload (payload) : NULL;

  if (maps != NULL && maps->data != NULL && g_str_has_prefix (maps->data, "scenes"))
    {
      g_autofree char *name = gaf_scene_class_name (k);
      for (guint i = 0; i < G_N_ELEMENTS (scene_class_names); i++)
        if (g_strcmp0 (name, scene_class_names[i]) == 0)
          return g_strdup (_(scene_class_names[i]));
      return g_steal_pointer (&name);
    }
  return g_strdup_printf (_("class %d"), k + 1);
}
