/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-export"
#include "config.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <glib/gi18n.h>

#include "gaf-export.h"

gboolean
gaf_export_format_from_path (const char *path, GafExportFormat *format)
{
  g_autofree char *lower = g_ascii_strdown (path ? path : "", -1);

  if (g_str_has_suffix (lower, ".png"))
    *format = GAF_EXPORT_PNG;
  else if (g_str_has_suffix (lower, ".svg"))
    *format = GAF_EXPORT_SVG;
  else if (g_str_has_suffix (lower, ".pdf"))
    *format = GAF_EXPORT_PDF;
  else if (g_str_has_suffix (lower, ".csv"))
    *format = GAF_EXPORT_CSV;
  else
    return FALSE;
  return TRUE;
}

static gboolean
check_surface (cairo_surface_t *surface, const char *path, GError **error)
{
  cairo_status_t status = cairo_surface_status (surface);

  if (status == CAIRO_STATUS_SUCCESS)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write “%s”: %s"), path,
               cairo_status_to_string (status));
  return FALSE;
}

gboolean
gaf_export_drawing (GafDrawFunc draw, gpointer widget, const GafTheme *theme, int width, int height,
                    GafExportFormat format, const char *path, GError **error)
{
  cairo_surface_t *surface;
  cairo_t *cr;
  gboolean ok;

  g_return_val_if_fail (width > 0 && height > 0, FALSE);
  switch (format)
    {
    case GAF_EXPORT_PNG:
      surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 2 * width, 2 * height);
      break;
    case GAF_EXPORT_SVG:
      surface = cairo_svg_surface_create (path, width, height);
      break;
    case GAF_EXPORT_PDF:
      surface = cairo_pdf_surface_create (path, width, height);
      break;
    case GAF_EXPORT_CSV:
    default:
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("A drawing cannot be saved as CSV"));
      return FALSE;
    }
  if (!check_surface (surface, path, error))
    {
      cairo_surface_destroy (surface);
      return FALSE;
    }
  cr = cairo_create (surface);
  if (format == GAF_EXPORT_PNG)
    cairo_scale (cr, 2, 2);
  cairo_set_source_rgba (cr, theme->bg[0], theme->bg[1], theme->bg[2], 1.0);
  cairo_paint (cr);
  draw (widget, cr, width, height, theme);
  cairo_destroy (cr);
  cairo_surface_flush (surface);
  if (format == GAF_EXPORT_PNG)
    {
      cairo_status_t status = cairo_surface_write_to_png (surface, path);
      ok = status == CAIRO_STATUS_SUCCESS;
      if (!ok)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Could not write “%s”: %s"), path,
                     cairo_status_to_string (status));
    }
  else
    {
      cairo_surface_finish (surface);
      ok = check_surface (surface, path, error);
    }
  cairo_surface_destroy (surface);
  return ok;
}

gboolean
gaf_export_text (const char *path, const char *text, GError **error)
{
  return g_file_set_contents (path, text, -1, error);
}

gboolean
gaf_snapshot_drawing (GtkWidget *widget, GtkSnapshot *snapshot, GafDrawFunc draw)
{
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GafTheme theme = { 0 };
  cairo_t *cr;

  if (width <= 0 || height <= 0)
    return FALSE;
  gaf_theme_from_widget (&theme, widget);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  draw (widget, cr, width, height, &theme);
  cairo_destroy (cr);
  gaf_theme_clear (&theme);
  return TRUE;
}
