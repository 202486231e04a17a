/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-file.h"
#include "gaf-image-io.h"

#define MAX_SIDE   GAF_LABEL_IMAGE_MAX_SIDE
#define MAX_PIXELS GAF_LABEL_IMAGE_MAX_PIXELS

/* The header's size against the limits, before a pixel is decoded or allocated. */
static gboolean
check_size (const char *name, const char *format, guint width, guint height, GError **error)
{
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: %s header: %u x %u pixels; a label map has 1 to %d "
                   "on a side", name, format, width, height, MAX_SIDE);
      return FALSE;
    }
  if ((guint64) width * height > MAX_PIXELS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: %s header: %u x %u pixels; a label map has at most "
                   "%d pixels", name, format, width, height, MAX_PIXELS);
      return FALSE;
    }
  return gaf_budget_check ((guint64) width * height * (2 + 2), name, error);   /* raw rows + values */
}

void
gaf_label_image_clear (GafLabelImage *image)
{
  if (image == NULL)
    return;
  g_clear_pointer (&image->values, g_free);
  image->width = image->height = 0;
  image->max_value = 0;
}

/* ---- PGM --------------------------------------------------------------------------------------- */

/* Skips whitespace and '#' comments (to the end of the line) of a PNM header. */
static void
pgm_skip_space (const guint8 *data, gsize length, gsize *pos)
{
  while (*pos < length)
    {
      if (data[*pos] == '#')
        {
          while (*pos < length && data[*pos] != '\n' && data[*pos] != '\r')
            (*pos)++;
        }
      else if (g_ascii_isspace (data[*pos]))
        (*pos)++;
      else
        break;
    }
}

static gboolean
pgm_read_uint (const guint8 *data, gsize length, gsize *pos, const char *name, const char *what,
               guint max, guint *out, GError **error)
{
  guint64 v = 0;
  gsize start;

  pgm_skip_space (data, length, pos);
  start = *pos;
  while (*pos < length && g_ascii_isdigit (data[*pos]))
    {
      v = v * 10 + (data[*pos] - '0');
      if (v > max)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: PGM header: the %s is larger than %u",
                       name, what, max);
          return FALSE;
        }
      (*pos)++;
    }
  if (*pos == start)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   *pos >= length ? "%s: PGM header: the file ends before the %s"
                                  : "%s: PGM header: the %s is not a number",
                   name, what);
      return FALSE;
    }
  if (v == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: PGM header: the %s is 0", name, what);
      return FALSE;
    }
  *out = (guint) v;
  return TRUE;
}

static gboolean
decode_pgm (const guint8 *data, gsize length, const char *name, GafLabelImage *out, GError **error)
{
  gsize pos = 2, need, bytes;
  guint width, height, maxval, maxv = 0;
  g_autofree guint16 *values = NULL;

  if (!pgm_read_uint (data, length, &pos, name, "width", MAX_SIDE, &width, error) ||
      !pgm_read_uint (data, length, &pos, name, "height", MAX_SIDE, &height, error) ||
      !pgm_read_uint (data, length, &pos, name, "maxval", 65535, &maxval, error))
    return FALSE;
  /* Exactly one whitespace byte separates the header from the raster. */
  if (pos >= length || !g_ascii_isspace (data[pos]))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: PGM header: no whitespace after the maxval", name);
      return FALSE;
    }
  pos++;
  if (!check_size (name, "PGM", width, height, error))
    return FALSE;
  bytes = maxval < 256 ? 1 : 2;
  need = (gsize) width * height * bytes;
  if (length - pos < need)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: truncated PGM: %u x %u pixels need %" G_GSIZE_FORMAT " bytes, the file has %"
                   G_GSIZE_FORMAT, name, width, height, need, length - pos);
      return FALSE;
    }
  for (gsize i = pos + need; i < length; i++)
    if (!g_ascii_isspace (data[i]))
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                     "%s: %" G_GSIZE_FORMAT " bytes after the image (one image per PGM file)", name,
                     length - pos - need);
        return FALSE;
      }
  values = g_new (guint16, (gsize) width * height);
  for (gsize i = 0; i < (gsize) width * height; i++)
    {
      guint v = bytes == 1 ? data[pos + i] : (guint) data[pos + 2 * i] << 8 | data[pos + 2 * i + 1];
      if (v > maxval)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: pixel (x %u, y %u) has value %u above the maxval %u", name,
                       (guint) (i % width), (guint) (i / width), v, maxval);
          return FALSE;
        }
      values[i] = (guint16) v;
      maxv = MAX (maxv, v);
    }
  out->width = width;
  out->height = height;
  out->max_value = maxv;
  out->values = g_steal_pointer (&values);
  return TRUE;
}

/* ---- PNG through libpng ------------------------------------------------------------------------ */

typedef struct {
  jmp_buf       jmp;
  char          message[256];
  const guint8 *data;
  gsize         length;
  gsize         pos;
  GByteArray   *out;
} PngIo;

static void
png_io_error (png_structp png, png_const_charp message)
{
  PngIo *io = png_get_error_ptr (png);

  g_strlcpy (io->message, message, sizeof io->message);
  longjmp (io->jmp, 1);
}

static void
png_io_warning (png_structp png, png_const_charp message)
{
  /* Warnings (colour profiles, unknown chunks) do not concern label maps. */
}

static void
png_io_read (png_structp png, png_bytep dest, png_size_t count)
{
  PngIo *io = png_get_io_ptr (png);

  if (io->length - io->pos < count)
    png_error (png, "the file ends early (truncated PNG)");
  memcpy (dest, io->data + io->pos, count);
  io->pos += count;
}

static void
png_io_write (png_structp png, png_bytep src, png_size_t count)
{
  PngIo *io = png_get_io_ptr (png);

  g_byte_array_append (io->out, src, count);
}

static void
png_io_flush (png_structp png)
{
}

/* Rows of one byte (depth <= 8, unpacked) or two big-endian bytes (depth 16) per pixel -> values. */
static guint16 *
unpack_rows (const guint8 *raw, gsize rowbytes, guint width, guint height, int depth, guint *max_value)
{
  guint16 *values = g_new (guint16, (gsize) width * height);
  guint maxv = 0;

  for (guint y = 0; y < height; y++)
    for (guint x = 0; x < width; x++)
      {
        const guint8 *r = raw + (gsize) y * rowbytes;
        guint v = depth == 16 ? (guint) r[2 * x] << 8 | r[2 * x + 1] : r[x];
        values[(gsize) y * width + x] = (guint16) v;
        maxv = MAX (maxv, v);
      }
  *max_value = maxv;
  return values;
}

static gboolean
decode_png (const guint8 *data, gsize length, const char *name, GafLabelImage *out, GError **error)
{
  PngIo io = { .data = data, .length = length };
  png_structp png;
  png_infop info;
  png_bytep *volatile rows = NULL;
  guint8 *volatile raw = NULL;
  png_uint_32 width, height;
  int depth, color, interlace;
  gsize rowbytes;

  /* The IHDR chunk comes first (signature, length 13, "IHDR", width, height, depth, colour type): its
   * size is checked here, before libpng inflates a byte, so a small file cannot make it decode a huge
   * image (an 84 KB PNG of 8192 x 8192 pixels). */
  if (length >= 8 + 8 + 13 && memcmp (data + 12, "IHDR", 4) == 0)
    {
      guint w = (guint) data[16] << 24 | (guint) data[17] << 16 | (guint) data[18] << 8 | data[19];
      guint h = (guint) data[20] << 24 | (guint) data[21] << 16 | (guint) data[22] << 8 | data[23];
      if (!check_size (name, "PNG", w, h, error))
        return FALSE;
    }
  png = png_create_read_struct (PNG_LIBPNG_VER_STRING, &io, png_io_error, png_io_warning);
  info = png != NULL ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_read_struct (&png, NULL, NULL);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: libpng could not start", name);
      return FALSE;
    }
  if (setjmp (io.jmp))
    {
      png_destroy_read_struct (&png, &info, NULL);
      g_free (rows);
      g_free (raw);
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: bad PNG: %s", name, io.message);
      return FALSE;
    }
  png_set_read_fn (png, &io, png_io_read);
  /* libpng's own limits: it refuses a larger IHDR itself and bounds what an ancillary chunk (text,
   * ICC profile, ...) may decompress to, so nothing big is inflated before the size check below. */
  png_set_user_limits (png, MAX_SIDE, MAX_SIDE);
  png_set_chunk_cache_max (png, 128);
  png_set_chunk_malloc_max (png, 1 << 20);
  png_read_info (png, info);
  png_get_IHDR (png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
  if (!check_size (name, "PNG", width, height, error))
    {
      png_destroy_read_struct (&png, &info, NULL);
      return FALSE;
    }
  if (color != PNG_COLOR_TYPE_GRAY && color != PNG_COLOR_TYPE_PALETTE)
    {
      const char *kind = color == PNG_COLOR_TYPE_RGB ? "an RGB" :
                         color == PNG_COLOR_TYPE_RGB_ALPHA ? "an RGBA" : "a gray + alpha";
      png_destroy_read_struct (&png, &info, NULL);
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: %s PNG is not a label map (save it as a gray PNG or with a palette; the gray "
                   "value or palette index is the class)", name, kind);
      return FALSE;
    }
  /* Keep the stored values: unpack 1/2/4-bit samples to one byte each without scaling them, no
   * palette expansion, no gamma. */
  if (depth < 8)
    png_set_packing (png);
  png_set_interlace_handling (png);
  png_read_update_info (png, info);
  rowbytes = png_get_rowbytes (png, info);
  raw = g_malloc ((gsize) rowbytes * height);
  rows = g_new (png_bytep, height);
  for (png_uint_32 y = 0; y < height; y++)
    rows[y] = raw + (gsize) y * rowbytes;
  png_read_image (png, rows);
  png_read_end (png, NULL);
  png_destroy_read_struct (&png, &info, NULL);
  out->width = width;
  out->height = height;
  out->values = unpack_rows ((const guint8 *) raw, rowbytes, width, height, depth, &out->max_value);
  g_free (rows);
  g_free (raw);
  return TRUE;
}

gboolean
gaf_label_image_decode (const guint8 *data, gsize length, const char *name, GafLabelImage *out,
                        GError **error)
{
  static const guint8 png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (name != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  if (length >= 8 && memcmp (data, png_sig, 8) == 0)
    return decode_png (data, length, name, out, error);
  if (length >= 2 && data[0] == 'P' && data[1] == '5')
    return decode_pgm (data, length, name, out, error);
  if (length >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7')
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: a P%c file; only binary gray PGM (P5) is read", name, data[1]);
      return FALSE;
    }
  g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
               "%s: not a PGM or PNG file (neither the PNG signature nor \"P5\" at its start)", name);
  return FALSE;
}

gboolean
gaf_label_image_load (const char *path, GafLabelImage *out, GError **error)
{
  g_autofree char *data = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL && out != NULL, FALSE);
  memset (out, 0, sizeof *out);
  if (!gaf_file_read_all (path, "label map", GAF_LABEL_IMAGE_MAX_FILE, &data, &length, error))
    return FALSE;
  return gaf_label_image_decode ((const guint8 *) data, length, path, out, error);
}

/* ---- writing ----------------------------------------------------------------------------------- */

static gboolean
save_bytes (const char *path, const guint8 *data, gsize length, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_file_set_contents (path, (const char *) data, length, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_labels (const char *path, const guint16 *labels, gsize count, int c, GError **error)
{
  for (gsize i = 0; i < count; i++)
    if (labels[i] >= c)
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                     "%s: label %u at index %" G_GSIZE_FORMAT " is not below the class count %d", path,
                     labels[i], i, c);
        return FALSE;
      }
  return TRUE;
}

gboolean
gaf_label_map_write_pgm (const char *path, const guint16 *labels, int height, int width, int c,
                         GError **error)
{
  g_autoptr(GString) s = NULL;
  gsize n = (gsize) height * width;
  guint maxval = MAX (1, c - 1);

  g_return_val_if_fail (path != NULL && labels != NULL, FALSE);
  g_return_val_if_fail (height >= 1 && width >= 1 && c >= 2 && c <= 65536, FALSE);
  if (!check_labels (path, labels, n, c, error))
    return FALSE;
  s = g_string_sized_new (n * 2 + 32);
  g_string_append_printf (s, "P5\n%d %d\n%u\n", width, height, maxval);
  for (gsize i = 0; i < n; i++)
    {
      if (maxval >= 256)
        g_string_append_c (s, (char) (labels[i] >> 8));
      g_string_append_c (s, (char) (labels[i] & 0xff));
    }
  return save_bytes (path, (const guint8 *) s->str, s->len, error);
}

/* Encodes rows of packed-to-byte samples (palette and gray depths below 8 take one byte per pixel
 * and are packed by libpng; 16-bit gray takes two big-endian bytes) into io->out. */
static gboolean
encode_png (const char *path, const guint8 *pixels, int width, int height, int color, int depth,
            const guint8 *palette, int n_palette, GByteArray *out, GError **error)
{
  PngIo io = { .out = out };
  png_structp png;
  png_infop info;
  gsize stride;

  png = png_create_write_struct (PNG_LIBPNG_VER_STRING, &io, png_io_error, png_io_warning);
  info = png != NULL ? png_create_info_struct (png) : NULL;
  if (info == NULL)
    {
      png_destroy_write_struct (&png, NULL);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: libpng could not start", path);
      return FALSE;
    }
  if (setjmp (io.jmp))
    {
      png_destroy_write_struct (&png, &info);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: PNG encoding failed: %s", path, io.message);
      return FALSE;
    }
  png_set_write_fn (png, &io, png_io_write, png_io_flush);
  png_set_IHDR (png, info, width, height, depth, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                PNG_FILTER_TYPE_DEFAULT);
  if (color == PNG_COLOR_TYPE_PALETTE)
    {
      png_color pal[256];
      for (int j = 0; j < n_palette; j++)
        {
          pal[j].red = palette[3 * j];
          pal[j].green = palette[3 * j + 1];
          pal[j].blue = palette[3 * j + 2];
        }
      png_set_PLTE (png, info, pal, n_palette);
    }
  png_write_info (png, info);
  if (depth < 8)
    png_set_packing (png);
  stride = color == PNG_COLOR_TYPE_RGB ? (gsize) width * 3 : (gsize) width * (depth == 16 ? 2 : 1);
  for (int y = 0; y < height; y++)
    png_write_row (png, (png_const_bytep) (pixels + (gsize) y * stride));
  png_write_end (png, info);
  png_destroy_write_struct (&png, &info);
  return TRUE;
}

static int
depth_for (guint max_value, gboolean allow16)
{
  if (max_value < 2)
    return 1;
  if (max_value < 4)
    return 2;
  if (max_value < 16)
    return 4;
  if (max_value < 256 || !allow16)
    return 8;
  return 16;
}

gboolean
gaf_label_map_write_png (const char *path, const guint16 *labels, int height, int width, int c,
                         const guint8 *palette, GError **error)
{
  g_autoptr(GByteArray) out = NULL;
  g_autofree guint8 *pixels = NULL;
  gsize n = (gsize) height * width;
  int depth;

  g_return_val_if_fail (path != NULL && labels != NULL, FALSE);
  g_return_val_if_fail (height >= 1 && width >= 1 && c >= 2 && c <= 65536, FALSE);
  g_return_val_if_fail (palette == NULL || c <= 256, FALSE);
  if (!check_labels (path, labels, n, c, error))
    return FALSE;
  depth = depth_for (c - 1, palette == NULL);
  pixels = g_malloc (n * (depth == 16 ? 2 : 1));
  for (gsize i = 0; i < n; i++)
    {
      if (depth == 16)
        {
          pixels[2 * i] = labels[i] >> 8;
          pixels[2 * i + 1] = labels[i] & 0xff;
        }
      else
        pixels[i] = (guint8) labels[i];
    }
  out = g_byte_array_sized_new (n / 2 + 256);
  if (!encode_png (path, pixels, width, height, palette != NULL ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_GRAY,
                   depth, palette, c, out, error))
    return FALSE;
  return save_bytes (path, out->data, out->len, error);
}

gboolean
gaf_rgb_write_png (const char *path, const guint8 *rgb, int width, int height, GError **error)
{
  g_autoptr(GByteArray) out = NULL;

  g_return_val_if_fail (path != NULL && rgb != NULL && width >= 1 && height >= 1, FALSE);
  out = g_byte_array_sized_new ((gsize) width * height + 256);
  if (!encode_png (path, rgb, width, height, PNG_COLOR_TYPE_RGB, 8, NULL, 0, out, error))
    return FALSE;
  return save_bytes (path, out->data, out->len, error);
}

/* ---- palettes ---------------------------------------------------------------------------------- */

static void
hsv_to_rgb (double h, double s, double v, guint8 *rgb)
{
  double hh = fmod (h, 1.0) * 6.0, f, p, q, t, r, g, b;
  int i = (int) floor (hh);

  f = hh - i;
  p = v * (1.0 - s);
  q = v * (1.0 - s * f);
  t = v * (1.0 - s * (1.0 - f));
  switch (i % 6)
    {
    case 0: r = v; g = t; b = p; break;
    case 1: r = q; g = v; b = p; break;
    case 2: r = p; g = v; b = t; break;
    case 3: r = p; g = q; b = v; break;
    case 4: r = t; g = p; b = v; break;
    default: r = v; g = p; b = q; break;
    }
  rgb[0] = (guint8) lround (255.0 * r);
  rgb[1] = (guint8) lround (255.0 * g);
  rgb[2] = (guint8) lround (255.0 * b);
}

/* Hues spaced by the golden angle (fraction 0.381966 of the circle), lightness alternating so that
 * neighbouring extra classes differ in two ways. */
static void
golden_colour (int i, guint8 *rgb)
{
  hsv_to_rgb (0.11 + 0.381966 * i, i % 3 == 2 ? 0.45 : 0.75, i % 2 ? 0.62 : 0.92, rgb);
}

/* Fills pal[start..c) with golden-angle colours, skipping a candidate within 32 (in every channel)
 * of a colour already chosen (checked against the first 256 only, and at most 64 candidates per
 * colour), so that the extra colours do not repeat the fixed ones. */
static void
fill_distinct (guint8 *pal, int start, int c)
{
  int t = 0;

  for (int j = start; j < c; j++)
    {
      for (int tries = 0; tries < 64; tries++, t++)
        {
          gboolean close = FALSE;
          golden_colour (t, pal + 3 * j);
          for (int k = 0; k < MIN (j, 256) && !close; k++)
            close = abs ((int) pal[3 * j] - pal[3 * k]) <= 32 && abs ((int) pal[3 * j + 1] - pal[3 * k + 1]) <= 32 &&
                    abs ((int) pal[3 * j + 2] - pal[3 * k + 2]) <= 32;
          if (!close || j >= 256)
            break;
        }
      t++;
    }
}

guint8 *
gaf_palette_new (GafPaletteKind kind, int c)
{
  static const guint8 scenes[][3] = {
    { 135, 190, 235 },  /* sky */
    { 104, 168, 76 },   /* ground (grass) */
    { 112, 112, 118 },  /* road */
    { 170, 86, 66 },    /* building */
    { 28, 94, 42 },     /* tree */
    { 38, 84, 190 },    /* water */
    { 244, 244, 248 },  /* cloud */
    { 250, 206, 52 },   /* sun */
  };
  static const guint8 tableau10[][3] = {
    { 0x4e, 0x79, 0xa7 }, { 0xf2, 0x8e, 0x2b }, { 0xe1, 0x57, 0x59 }, { 0x76, 0xb7, 0xb2 },
    { 0x59, 0xa1, 0x4f }, { 0xed, 0xc9, 0x48 }, { 0xb0, 0x7a, 0xa1 }, { 0xff, 0x9d, 0xa7 },
    { 0x9c, 0x75, 0x5f }, { 0xba, 0xb0, 0xac },
  };
  guint8 *pal;

  g_return_val_if_fail (c >= 1 && c <= 65536, NULL);
  pal = g_new (guint8, (gsize) c * 3);
  for (int j = 0; j < c; j++)
    {
      guint8 *p = pal + 3 * j;
      switch (kind)
        {
        case GAF_PALETTE_GRAY:
          p[0] = p[1] = p[2] = c > 1 ? (guint8) lround (255.0 * j / (c - 1)) : 0;
          break;
        case GAF_PALETTE_SCENES:
          if (j < (int) G_N_ELEMENTS (scenes))
            memcpy (p, scenes[j], 3);
          break;
        case GAF_PALETTE_CLASSES:
        default:
          if (j < (int) G_N_ELEMENTS (tableau10))
            memcpy (p, tableau10[j], 3);
          break;
        }
    }
  if (kind == GAF_PALETTE_SCENES && c > (int) G_N_ELEMENTS (scenes))
    fill_distinct (pal, G_N_ELEMENTS (scenes), c);
  else if (kind != GAF_PALETTE_GRAY && c > (int) G_N_ELEMENTS (tableau10))
    fill_distinct (pal, G_N_ELEMENTS (tableau10), c);
  return pal;
}

/* ---- grids ------------------------------------------------------------------------------------- */

void
gaf_grid_layout_init (GafGridLayout *layout)
{
  g_return_if_fail (layout != NULL);
  layout->cols = 0;
  layout->scale = 4;
  layout->gutter = 2;
  layout->gutter_rgb[0] = 96;
  layout->gutter_rgb[1] = 112;
  layout->gutter_rgb[2] = 160;
}

/* Fills the gutter colour and returns the canvas; colour (item, pixel, rgb) paints one map pixel. */
typedef void (*PixelColour) (gconstpointer data, int c, const guint8 *palette, gsize item, gsize pixel,
                             guint8 *rgb);

gboolean
gaf_grid_layout_size (const GafGridLayout *layout_in, int k, int height, int width, int *out_width,
                      int *out_height, int *out_cols)
{
  GafGridLayout layout;
  gint64 cols, rows, W, H;

  if (layout_in != NULL)
    layout = *layout_in;
  else
    gaf_grid_layout_init (&layout);
  g_return_val_if_fail (k >= 1 && height >= 1 && width >= 1, FALSE);
  g_return_val_if_fail (layout.scale >= 1 && layout.gutter >= 0 && layout.cols >= 0, FALSE);
  cols = layout.cols > 0 ? MIN (layout.cols, k) : (gint64) ceil (sqrt ((double) k));
  rows = (k + cols - 1) / cols;
  W = cols * ((gint64) width * layout.scale) + (cols + 1) * layout.gutter;
  H = rows * ((gint64) height * layout.scale) + (rows + 1) * layout.gutter;
  if (out_width != NULL)
    *out_width = (int) MIN (W, G_MAXINT);
  if (out_height != NULL)
    *out_height = (int) MIN (H, G_MAXINT);
  if (out_cols != NULL)
    *out_cols = (int) cols;
  return W <= GAF_GRID_MAX_SIDE && H <= GAF_GRID_MAX_SIDE;
}

static guint8 *
grid_render (PixelColour colour, gconstpointer data, int k, int height, int width, int c,
             const guint8 *palette, const GafGridLayout *layout_in, int *out_width, int *out_height)
{
  GafGridLayout layout;
  int cols, cell_w, cell_h, W, H;
  gboolean fits;
  guint8 *img;

  if (layout_in != NULL)
    layout = *layout_in;
  else
    gaf_grid_layout_init (&layout);
  g_return_val_if_fail (c >= 1 && palette != NULL, NULL);
  fits = gaf_grid_layout_size (&layout, k, height, width, &W, &H, &cols);
  g_return_val_if_fail (fits, NULL);
  cell_w = width * layout.scale;
  cell_h = height * layout.scale;
  img = g_new (guint8, (gsize) W * H * 3);
  for (gsize i = 0; i < (gsize) W * H; i++)
    memcpy (img + 3 * i, layout.gutter_rgb, 3);
  for (int m = 0; m < k; m++)
    {
      int x0 = layout.gutter + (m % cols) * (cell_w + layout.gutter);
      int y0 = layout.gutter + (m / cols) * (cell_h + layout.gutter);
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            guint8 rgb[3];
            colour (data, c, palette, m, (gsize) y * width + x, rgb);
            for (int dy = 0; dy < layout.scale; dy++)
              {
                guint8 *row = img + ((gsize) (y0 + y * layout.scale + dy) * W + x0 + x * layout.scale) * 3;
                for (int dx = 0; dx < layout.scale; dx++)
                  memcpy (row + 3 * dx, rgb, 3);
              }
          }
    }
  *out_width = W;
  *out_height = H;
  return img;
}

typedef struct {
  const guint16 *labels;
  gsize          n;
} HardData;

static void
hard_colour (gconstpointer data, int c, const guint8 *palette, gsize item, gsize pixel, guint8 *rgb)
{
  const HardData *d = data;
  guint v = d->labels[item * d->n + pixel];

  g_assert (v < (guint) c);
  memcpy (rgb, palette + 3 * v, 3);
}

typedef struct {
  const float *w;
  gsize        n;
} SoftData;

static void
soft_colour (gconstpointer data, int c, const guint8 *palette, gsize item, gsize pixel, guint8 *rgb)
{
  const SoftData *d = data;
  const float *w = d->w + (item * d->n + pixel) * c;

  for (int ch = 0; ch < 3; ch++)
    {
      double s = 0.0;
      for (int j = 0; j < c; j++)
        s += (double) w[j] * palette[3 * j + ch];
      rgb[ch] = isfinite (s) ? (guint8) CLAMP (lround (s), 0, 255) : 0;
    }
}

guint8 *
gaf_label_grid_render (const guint16 *labels, int k, int height, int width, int c, const guint8 *palette,
                       const GafGridLayout *layout, int *out_width, int *out_height)
{
  HardData d = { labels, (gsize) height * width };

  g_return_val_if_fail (labels != NULL && out_width != NULL && out_height != NULL, NULL);
  return grid_render (hard_colour, &d, k, height, width, c, palette, layout, out_width, out_height);
}

guint8 *
gaf_soft_grid_render (const float *w, int k, int height, int width, int c, const guint8 *palette,
                      const GafGridLayout *layout, int *out_width, int *out_height)
{
  SoftData d = { w, (gsize) height * width };

  g_return_val_if_fail (w != NULL && out_width != NULL && out_height != NULL, NULL);
  return grid_render (soft_colour, &d, k, height, width, c, palette, layout, out_width, out_height);
}

gboolean
gaf_label_grid_write_png (const char *path, const guint16 *labels, int k, int height, int width, int c,
                          const guint8 *palette, const GafGridLayout *layout, GError **error)
{
  g_autofree guint8 *img = NULL;
  int W, H;

  g_return_val_if_fail (path != NULL && labels != NULL, FALSE);
  if (!check_labels (path, labels, (gsize) k * height * width, c, error))
    return FALSE;
  if (!gaf_grid_layout_size (layout, k, height, width, &W, &H, NULL))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: a grid of %d x %d pixels is larger than %d on a side", path, W, H, GAF_GRID_MAX_SIDE);
      return FALSE;
    }
  img = gaf_label_grid_render (labels, k, height, width, c, palette, layout, &W, &H);
  g_return_val_if_fail (img != NULL, FALSE);
  return gaf_rgb_write_png (path, img, W, H, error);
}

gboolean
gaf_soft_grid_write_png (const char *path, const float *w, int k, int height, int width, int c,
                         const guint8 *palette, const GafGridLayout *layout, GError **error)
{
  g_autofree guint8 *img = NULL;
  int W, H;

  g_return_val_if_fail (path != NULL && w != NULL, FALSE);
  if (!gaf_grid_layout_size (layout, k, height, width, &W, &H, NULL))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: a grid of %d x %d pixels is larger than %d on a side", path, W, H, GAF_GRID_MAX_SIDE);
      return FALSE;
    }
  img = gaf_soft_grid_render (w, k, height, width, c, palette, layout, &W, &H);
  g_return_val_if_fail (img != NULL, FALSE);
  return gaf_rgb_write_png (path, img, W, H, error);
}
