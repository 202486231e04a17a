/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Label maps on disk: a label map is a height x width image whose pixel values are class indices
 * (guint16, row-major). Reading: binary PGM (P5, maxval up to 65535) and PNG with one gray channel
 * (1, 2, 4, 8 or 16 bits) or a palette (1, 2, 4 or 8 bits; the palette index is the value, the
 * colours are ignored). Writing: PGM and PNG label maps, and RGB PNG pictures of many maps in a grid
 * (hard labels through a palette, or "soft" probabilities as a mix of the class colours).
 * Every file is written atomically (FILE.XXXXXX then rename, by g_file_set_contents). */

/* Limits of a label map read from a file, checked on the header before anything is decoded: a side
 * of at most 4096 pixels, at most 2048 x 2048 pixels in all, a file of at most 64 MiB (a 2048 x 2048
 * 16-bit PGM is 8 MiB), and what the memory budget (gaf-budget.h) allows. */
#define GAF_LABEL_IMAGE_MAX_SIDE   4096
#define GAF_LABEL_IMAGE_MAX_PIXELS (2048 * 2048)
#define GAF_LABEL_IMAGE_MAX_FILE   (G_GUINT64_CONSTANT (64) << 20)

typedef struct {
  int      width;
  int      height;
  guint16 *values;     /* (height, width) row-major */
  guint    max_value;  /* the largest value present */
} GafLabelImage;

void     gaf_label_image_clear (GafLabelImage *image);

/* Decodes a PGM or PNG from memory, chosen by its first bytes ("P5" or the PNG signature). name (the
 * file name) starts every error message (GAF_ERROR_FORMAT): not a PGM or PNG, an ASCII PGM, a bad or
 * truncated header or body, a PNG with colour (RGB, RGBA) or an alpha channel (not a label map), a
 * PGM value above its maxval. */
gboolean gaf_label_image_decode (const guint8 *data, gsize length, const char *name,
                                 GafLabelImage *out, GError **error);
/* The same from a file: a regular file only (gaf-file.h), GAF_ERROR_IO when it cannot be read. */
gboolean gaf_label_image_load   (const char *path, GafLabelImage *out, GError **error);

/* labels (height, width), every value < c (checked; c from 2 to 65536).
 * PGM: P5 with maxval max(1, c - 1): one byte per pixel when c <= 256, else two (big-endian).
 * PNG: with a palette (c <= 256, palette (c, 3) RGB) the smallest bit depth of 1, 2, 4, 8 that holds
 * c - 1; with palette NULL a gray PNG of the smallest depth of 1, 2, 4, 8, 16 that holds c - 1,
 * storing the class index itself (not stretched to white). */
gboolean gaf_label_map_write_pgm (const char *path, const guint16 *labels, int height, int width, int c,
                                  GError **error);
gboolean gaf_label_map_write_png (const char *path, const guint16 *labels, int height, int width, int c,
                                  const guint8 *palette, GError **error);

/* Colours (c, 3) RGB for c classes, to be freed with g_free:
 * GRAY: a ramp from black (class 0) to white (class c - 1); with c = 2 black and white. For gray levels.
 * SCENES: the procedural scenes' classes (gaf-dataset.h): sky blue, grass green, road gray, brick,
 *   dark tree green, water blue, cloud white, sun yellow, then distinct hues for the extra kinds.
 * CLASSES: distinct colours for any labels: the ten Tableau 10 colours, then hues spaced by the golden
 *   angle with alternating lightness, skipping any within 32 (per channel) of a colour already used. */
typedef enum {
  GAF_PALETTE_GRAY,
  GAF_PALETTE_SCENES,
  GAF_PALETTE_CLASSES,
} GafPaletteKind;

guint8  *gaf_palette_new (GafPaletteKind kind, int c);

/* A grid of k maps: cols columns (0: ceil(sqrt(k))), ceil(k / cols) rows, each map scaled up by the
 * integer `scale`, gutter pixels of gutter_rgb between the maps and around the grid; empty cells of
 * the last row in the gutter colour. */
typedef struct {
  int    cols;
  int    scale;
  int    gutter;
  guint8 gutter_rgb[3];
} GafGridLayout;

/* cols 0, scale 4, gutter 2, gutter colour (96, 112, 160): a muted blue that is neither a gray level
 * nor one of the first scene colours. */
void     gaf_grid_layout_init (GafGridLayout *layout);

/* Largest side of a grid picture. */
#define GAF_GRID_MAX_SIDE 32768

/* The picture's size (and the number of columns) for k maps of height x width; FALSE when a side
 * would exceed GAF_GRID_MAX_SIDE. layout NULL: the defaults. */
gboolean gaf_grid_layout_size (const GafGridLayout *layout, int k, int height, int width, int *out_width,
                               int *out_height, int *out_cols);

/* The grid as RGB pixels (*out_height, *out_width, 3), to be freed with g_free. labels (k, height *
 * width), every value < c; palette (c, 3). */
guint8  *gaf_label_grid_render (const guint16 *labels, int k, int height, int width, int c,
                                const guint8 *palette, const GafGridLayout *layout,
                                int *out_width, int *out_height);
/* probabilities w (k, height * width, c): each pixel is sum_j w_j palette_j per channel (in the
 * palette's sRGB values, rounded and clamped to 0..255), so a uniform pixel is the mean colour and a
 * vertex of the simplex is its class colour. */
guint8  *gaf_soft_grid_render  (const float *w, int k, int height, int width, int c,
                                const guint8 *palette, const GafGridLayout *layout,
                                int *out_width, int *out_height);
/* The same written as an 8-bit RGB PNG; a grid too large is a GAF_ERROR_INVALID_ARGUMENT error. */
gboolean gaf_label_grid_write_png (const char *path, const guint16 *labels, int k, int height, int width,
                                   int c, const guint8 *palette, const GafGridLayout *layout,
                                   GError **error);
gboolean gaf_soft_grid_write_png  (const char *path, const float *w, int k, int height, int width, int c,
                                   const guint8 *palette, const GafGridLayout *layout, GError **error);
/* Any RGB picture (height, width, 3) as an 8-bit RGB PNG. */
gboolean gaf_rgb_write_png (const char *path, const guint8 *rgb, int width, int height, GError **error);

G_END_DECLS
