/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-draw.h"

G_BEGIN_DECLS

typedef void (*GafDrawFunc) (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme);

typedef enum {
  GAF_EXPORT_PNG,
  GAF_EXPORT_SVG,
  GAF_EXPORT_PDF,
  GAF_EXPORT_CSV,
} GafExportFormat;

/* The format named by a file's extension (case-insensitive); FALSE for anything else. */
gboolean gaf_export_format_from_path (const char *path, GafExportFormat *format);
/* Draws with `draw` on a PNG (twice the size, for slides), SVG or PDF surface of width x height,
 * background filled with the theme's, and writes it to path. */
/* A widget's snapshot vfunc: draw (widget, ...) on a cairo node of the widget's size, in its theme. */
gboolean gaf_snapshot_drawing (GtkWidget *widget, GtkSnapshot *snapshot, GafDrawFunc draw);
gboolean gaf_export_drawing (GafDrawFunc draw, gpointer widget, const GafTheme *theme, int width, int height,
                             GafExportFormat format, const char *path, GError **error);
/* Writes text atomically. */
gboolean gaf_export_text    (const char *path, const char *text, GError **error);

G_END_DECLS
