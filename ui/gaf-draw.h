/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* What the views draw with: theme colours and font, read from a widget, so one draw function serves the
 * screen (gtk_snapshot_append_cairo) and exports (PNG, SVG, PDF surfaces). */
typedef struct {
  double                fg[4];      /* text and lines: the theme's foreground */
  double                bg[4];      /* the window background, for exports */
  gboolean              dark;
  PangoFontDescription *font;       /* owned */
  double                stroke;     /* line widths are multiplied by it: 1, or 1.6 in presentation mode */
} GafTheme;

void    gaf_theme_from_widget (GafTheme *theme, GtkWidget *widget);
void    gaf_theme_clear       (GafTheme *theme);
/* The line-width factor of a theme (1 when it was not read from a widget). */
double  gaf_stroke            (const GafTheme *theme);
/* How much larger the text is than usual: 1.5 in presentation mode, else 1 (room for captions scales). */
double  gaf_text_factor       (const GafTheme *theme);

/* Theme foreground at `alpha` times its own alpha. */
void    gaf_set_fg            (cairo_t *cr, const GafTheme *theme, double alpha);
void    gaf_set_rgb           (cairo_t *cr, const double rgb[3], double alpha);
/* Draws Pango markup with its anchor at (x, y): ax, ay in [0, 1] pick the point of the text's box
 * (0, 0 top left; 0.5, 0.5 centre). scale multiplies the theme font size. Returns the text width. */
double  gaf_draw_text         (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
                               double ax, double ay, double scale);
/* The same, wrapped at word boundaries to at most max_width pixels (text that must not be cut off at
 * the edge of a narrow area). Returns the text height. */
double  gaf_draw_text_wrapped (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
                               double ax, double ay, double scale, double max_width);
/* The same on one line of at most max_width pixels: shrunk to fit, to three quarters of the size at
 * least, then cut with an ellipsis (titles over plots that presentation mode's larger text widens).
 * Returns the text height. */
double  gaf_draw_text_fitted  (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
                               double ax, double ay, double scale, double max_width);
/* What an empty view says (which experiment to choose), centred in width x height, lines wrapped and
 * centred. */
void    gaf_draw_placeholder  (cairo_t *cr, const GafTheme *theme, const char *markup, double width, double height);
/* Reading upwards (an axis title), centred on (x, y); ay 1 puts it left of x, 0 right of it. */
void    gaf_draw_text_vertical (cairo_t *cr, const GafTheme *theme, const char *markup, double x, double y,
                                double ay, double scale);
/* Text cut off at the edge of what is drawn: once gaf_draw_audit_texts (TRUE) has been called (tests), every
 * text the functions above draw is checked against the area being drawn (the cairo clip), and
 * gaf_draw_texts_cut_off counts those that do not lie inside it. GAFLOW_DEBUG=text-clip in the environment
 * turns it on from the start and names each such text on stderr. Main thread only. */
void    gaf_draw_audit_texts  (gboolean on);
guint   gaf_draw_texts_cut_off (void);
/* The first three of them: text, box and area, for a test's message. */
const char *gaf_draw_texts_cut_off_first (void);
/* Width and height of markup as gaf_draw_text would draw it. */
void    gaf_measure_text      (cairo_t *cr, const GafTheme *theme, const char *markup, double scale,
                               double *width, double *height);
/* Adds the shaft (head FALSE) or the head triangle (head TRUE) of gaf_draw_arrow's arrow to the path,
 * to stroke or fill many arrows at once. */
void    gaf_arrow_path        (cairo_t *cr, double x0, double y0, double x1, double y1, double head_size,
                               gboolean head);
/* A line from (x0, y0) to (x1, y1) with a filled head of size `head` at the end. */
void    gaf_draw_arrow        (cairo_t *cr, double x0, double y0, double x1, double y1, double head);

/* A class's name for legends and labels: the scene classes by name (sky, ground, ...), else "class k+1". */
char   *gaf_class_name        (const GafPayload *payload, int k);

/* Follows a runner from a widget: a tick callback takes the newest snapshot each frame and calls
 * `changed` when it is new, and `frame` while animating; it removes itself when the runner is idle, the
 * widget not animating or not mapped, and starts again on map and whenever the runner publishes ("published").
 * gaf_follower_wake restarts it by hand (after a change of the view itself). */
typedef struct {
  GtkWidget   *widget;
  GafRunner   *runner;
  GafSnapshot *snapshot;
  guint        tick_id;
  gint64       awake_until;
  gboolean     animating;
  void       (*changed) (GtkWidget *widget, GafSnapshot *snapshot);
  void       (*frame)   (GtkWidget *widget, gint64 frame_time);
} GafFollower;

void    gaf_follower_init          (GafFollower *follower, GtkWidget *widget,
                                    void (*changed) (GtkWidget *, GafSnapshot *),
                                    void (*frame) (GtkWidget *, gint64));
void    gaf_follower_set_runner    (GafFollower *follower, GafRunner *runner);
void    gaf_follower_wake          (GafFollower *follower);
void    gaf_follower_set_animating (GafFollower *follower, gboolean animating);
/* Takes the newest snapshot now (calls `changed` if new). */
void    gaf_follower_poll          (GafFollower *follower);
void    gaf_follower_clear         (GafFollower *follower);

G_END_DECLS
