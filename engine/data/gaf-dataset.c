/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <gio/gunixinputstream.h>

#include "gaf-dataset.h"
#include "gaf-budget.h"
#include "gaf-data-spec.h"
#include "gaf-error.h"
#include "gaf-file.h"

void
gaf_dataset_free (GafDataset *dataset)
{
  if (dataset == NULL)
    return;
  g_free (dataset->name);
  g_free (dataset->description);
  g_free (dataset->labels);
  g_free (dataset->classes);
  g_strfreev (dataset->files);
  g_free (dataset);
}

const guint16 *
gaf_dataset_item (const GafDataset *dataset, guint i)
{
  g_return_val_if_fail (dataset != NULL && i < dataset->count, NULL);
  return dataset->labels + (gsize) i * gaf_dataset_pixels (dataset);
}

void
gaf_dataset_sample (gpointer data, GafRng *rng, guint16 *labels, int batch)
{
  const GafDataset *ds = data;
  gsize n;

  g_return_if_fail (ds != NULL && ds->count > 0 && rng != NULL && labels != NULL);
  n = gaf_dataset_pixels (ds);
  for (int b = 0; b < batch; b++)
    memcpy (labels + (gsize) b * n, ds->labels + (gsize) gaf_rng_below (rng, ds->count) * n, n * sizeof (guint16));
}

double *
gaf_dataset_marginals (const GafDataset *dataset)
{
  gsize n;
  double *p;

  g_return_val_if_fail (dataset != NULL && dataset->count > 0, NULL);
  n = gaf_dataset_pixels (dataset);
  p = g_new (double, n * dataset->c);
  gaf_label_maps_marginals (dataset->labels, dataset->count, n, dataset->c, 0.0, p);
  return p;
}

guint8 *
gaf_dataset_new_palette (const GafDataset *dataset)
{
  g_return_val_if_fail (dataset != NULL, NULL);
  return gaf_palette_new (dataset->palette, dataset->c);
}

/* ---- IDX --------------------------------------------------------------------------------------- */

void
gaf_idx_clear (GafIdx *idx)
{
  if (idx == NULL)
    return;
  g_clear_pointer (&idx->data, g_free);
  memset (idx, 0, sizeof *idx);
}

/* The file as a stream of IDX bytes: through GZlibDecompressor when it starts with the gzip magic.
 * Regular files only (gaf-file.h). */
static GInputStream *
idx_open (const char *path, gboolean *gzip, GError **error)
{
  g_autoptr(GInputStream) fin = NULL;
  g_autoptr(GInputStream) buf = NULL;
  g_autoptr(GError) local = NULL;
  const guint8 *head;
  gsize avail = 0;
  int fd;

  fd = gaf_file_open_regular (path, "IDX file", GAF_IDX_MAX_BYTES, NULL, error);
  if (fd < 0)
    return NULL;
  fin = g_unix_input_stream_new (fd, TRUE);
  buf = g_buffered_input_stream_new (fin);
  if (g_buffered_input_stream_fill (G_BUFFERED_INPUT_STREAM (buf), 2, NULL, &local) < 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: %s", path, local->message);
      return NULL;
    }
  head = g_buffered_input_stream_peek_buffer (G_BUFFERED_INPUT_STREAM (buf), &avail);
  *gzip = avail >= 2 && head[0] == 0x1f && head[1] == 0x8b;
  if (*gzip)
    {
      g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
      return g_converter_input_stream_new (buf, G_CONVERTER (z));
    }
  return g_steal_pointer (&buf);
}

/* Reads up to `count` bytes; *got short of count means the end of the data. */
static gboolean
idx_read (GInputStream *in, const char *path, gboolean gzip, guint8 *dest, gsize count, gsize *got,
          guint64 done, GError **error)
{
  g_autoptr(GError) local = NULL;

  if (g_input_stream_read_all (in, dest, count, got, NULL, &local))
    return TRUE;
  if (gzip && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
    g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                 "%s: truncated gzip file: the compressed stream ends early, after %" G_GUINT64_FORMAT
                 " bytes", path, done + *got);
  else if (gzip && g_error_matches (local, G_IO_ERROR, G_IO_ERROR_INVALID_DATA))
    g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: corrupt gzip data after %" G_GUINT64_FORMAT
                 " bytes: %s", path, done + *got, local->message);
  else
    g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: %s", path, local->message);
  return FALSE;
}

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

gboolean
gaf_idx_load (const char *path, guint32 magic, guint32 limit, GafIdx *out, GError **error)
{
  g_autoptr(GInputStream) in = NULL;
  g_autofree guint8 *data = NULL;
  g_autofree guint8 *scratch = NULL;
  guint8 head[4 + 4 * 4];
  guint64 total, done = 0, keep_bytes, hdr;
  guint32 file_magic;
  gsize got, item = 1;
  gboolean gzip = FALSE;
  int ndims;

  g_return_val_if_fail (path != NULL && out != NULL, FALSE);
  g_return_val_if_fail ((magic >> 8) == 0x08 && (magic & 0xff) >= 1 && (magic & 0xff) <= 4, FALSE);
  memset (out, 0, sizeof *out);
  in = idx_open (path, &gzip, error);
  if (in == NULL)
    return FALSE;

  if (!idx_read (in, path, gzip, head, 4, &got, 0, error))
    return FALSE;
  if (got < 4)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: truncated: %" G_GSIZE_FORMAT
                   " bytes, shorter than an IDX header", path, got);
      return FALSE;
    }
  file_magic = be32 (head);
  if (file_magic != magic)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: wrong magic number 0x%08x; expected 0x%08x (an IDX file of unsigned bytes with %u "
                   "dimension%s)", path, file_magic, magic, magic & 0xff, (magic & 0xff) == 1 ? "" : "s");
      return FALSE;
    }
  ndims = magic & 0xff;
  if (!idx_read (in, path, gzip, head + 4, 4 * ndims, &got, 4, error))
    return FALSE;
  if (got < (gsize) 4 * ndims)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: truncated IDX header (the sizes of %d dimensions "
                   "need %d bytes, the file has %" G_GSIZE_FORMAT ")", path, ndims, 4 * ndims, got);
      return FALSE;
    }
  out->ndims = ndims;
  for (int d = 0; d < ndims; d++)
    {
      out->dims[d] = be32 (head + 4 + 4 * d);
      if (out->dims[d] < 1 || out->dims[d] > (1u << 24))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: IDX size %d is %u, not from 1 to %u",
                       path, d, out->dims[d], 1u << 24);
          return FALSE;
        }
      if (d > 0)
        {
          item *= out->dims[d];
          if (item > (1u << 24))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: IDX items of more than %u bytes",
                           path, 1u << 24);
              return FALSE;
            }
        }
    }
  out->item_size = item;
  out->kept = limit > 0 ? MIN (limit, out->dims[0]) : out->dims[0];
  total = (guint64) out->dims[0] * item;
  keep_bytes = (guint64) out->kept * item;

  /* The kept items, then the rest read and dropped, then one byte more must not exist. */
  hdr = 4 + 4 * ndims;
  if (total > GAF_IDX_MAX_BYTES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: the header announces %" G_GUINT64_FORMAT " bytes of "
                   "items; an IDX file holds at most %" G_GUINT64_FORMAT, path, total, GAF_IDX_MAX_BYTES);
      return FALSE;
    }
  if (!gaf_budget_check (keep_bytes, path, error))
    return FALSE;
  data = g_malloc (MAX (keep_bytes, 1));
  if (!idx_read (in, path, gzip, data, keep_bytes, &got, hdr, error))
    return FALSE;
  done = got;
  scratch = g_malloc (1 << 16);
  if (done == keep_bytes)
    while (done < total)
      {
        gsize want = (gsize) MIN ((guint64) (1 << 16), total - done);
        if (!idx_read (in, path, gzip, scratch, want, &got, hdr + done, error))
          return FALSE;
        done += got;
        if (got < want)
          break;
      }
  if (done < total)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: truncated: the header announces %u items of %" G_GSIZE_FORMAT " bytes (%" G_GUINT64_FORMAT
                   " bytes), the data ends after %" G_GUINT64_FORMAT, path, out->dims[0], item, total, done);
      return FALSE;
    }
  {
    guint64 extra = 0;
    do
      {
        if (!idx_read (in, path, gzip, scratch, 1 << 16, &got, hdr + total + extra, error))
          return FALSE;
        extra += got;
      }
    while (got > 0 && extra < (1u << 30));
    if (extra > 0)
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                     "%s: %" G_GUINT64_FORMAT " trailing bytes after the %u items the header announces",
                     path, extra, out->dims[0]);
        return FALSE;
      }
  }
  out->data = g_steal_pointer (&data);
  return TRUE;
}

/* ---- Fashion-MNIST ----------------------------------------------------------------------------- */

void
gaf_fashion_mnist_convert (const guint8 *image, int size, int c, guint16 *labels)
{
  g_return_if_fail (image != NULL && labels != NULL && c >= 2 && c <= 256);
  switch (size)
    {
    case 28:
      for (int i = 0; i < 28 * 28; i++)
        labels[i] = gaf_quantize_level (image[i], c);
      break;
    case 32:
      memset (labels, 0, 32 * 32 * sizeof (guint16));
      for (int y = 0; y < 28; y++)
        for (int x = 0; x < 28; x++)
          labels[(y + 2) * 32 + x + 2] = gaf_quantize_level (image[y * 28 + x], c);
      break;
    case 16:
      {
        /* Output pixel (Y, X) pools padded pixels 2Y, 2Y + 1 x 2X, 2X + 1, i.e. image pixels
         * 2Y - 2, 2Y - 1 (rows outside 0..27 are the zero padding). */
        for (int Y = 0; Y < 16; Y++)
          for (int X = 0; X < 16; X++)
            {
              guint s = 0;
              for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                  {
                    int y = 2 * Y + dy - 2, x = 2 * X + dx - 2;
                    if (y >= 0 && y < 28 && x >= 0 && x < 28)
                      s += image[y * 28 + x];
                  }
              labels[Y * 16 + X] = (guint16) MIN ((s * (guint) c) >> 10, (guint) c - 1);
            }
      }
      break;
    default:
      g_return_if_reached ();
    }
}

/* dir/base.gz, else dir/base when only that exists. */
static char *
fashion_path (const char *dir, const char *base)
{
  g_autofree char *plain = g_build_filename (dir, base, NULL);
  char *gz = g_strconcat (plain, ".gz", NULL);

  if (!g_file_test (gz, G_FILE_TEST_EXISTS) && g_file_test (plain, G_FILE_TEST_EXISTS))
    {
      g_free (gz);
      return g_steal_pointer (&plain);
    }
  return gz;
}

GafDataset *
gaf_dataset_new_fashion_mnist (const char *dir, GafSplit split, int levels, int size, guint limit,
                               GError **error)
{
  const char *prefix = split == GAF_SPLIT_TEST ? "t10k" : "train";
  g_autofree char *images_base = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_base = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = NULL, *labels_path = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GString) name = NULL;
  GafIdx images = { 0 }, labels = { 0 };
  gsize n;

  if (dir == NULL)
    dir = GAF_FASHION_MNIST_DIR;
  if (levels < 2 || levels > 256)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "Fashion-MNIST: %d gray levels; from 2 to 256 are possible", levels);
      return NULL;
    }
  if (size != 16 && size != 28 && size != 32)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "Fashion-MNIST: size %d; 16, 28 or 32 are possible", size);
      return NULL;
    }
  images_path = fashion_path (dir, images_base);
  labels_path = fashion_path (dir, labels_base);
  if (!gaf_idx_load (images_path, GAF_IDX_MAGIC_IMAGES, limit, &images, error))
    return NULL;
  if (images.dims[1] != 28 || images.dims[2] != 28)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: images of %u x %u pixels; Fashion-MNIST has 28 x 28",
                   images_path, images.dims[1], images.dims[2]);
      gaf_idx_clear (&images);
      return NULL;
    }
  if (!gaf_idx_load (labels_path, GAF_IDX_MAGIC_LABELS, limit, &labels, error))
    {
      gaf_idx_clear (&images);
      return NULL;
    }
  if (labels.dims[0] != images.dims[0])
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s holds %u images but %s holds %u labels",
                   images_path, images.dims[0], labels_path, labels.dims[0]);
      gaf_idx_clear (&images);
      gaf_idx_clear (&labels);
      return NULL;
    }
  for (guint i = 0; i < labels.kept; i++)
    if (labels.data[i] > 9)
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: label %u of item %u is not a class from 0 to 9",
                     labels_path, labels.data[i], i);
        gaf_idx_clear (&images);
        gaf_idx_clear (&labels);
        return NULL;
      }

  ds = g_new0 (GafDataset, 1);
  ds->kind = GAF_DATASET_FASHION_MNIST;
  ds->c = levels;
  ds->height = ds->width = size;
  ds->count = images.kept;
  ds->palette = GAF_PALETTE_GRAY;
  n = (gsize) size * size;
  ds->labels = g_new (guint16, (gsize) ds->count * n);
  for (guint i = 0; i < ds->count; i++)
    gaf_fashion_mnist_convert (images.data + (gsize) i * 28 * 28, size, levels, ds->labels + (gsize) i * n);
  ds->classes = g_steal_pointer (&labels.data);
  gaf_idx_clear (&images);
  gaf_idx_clear (&labels);

  name = g_string_new (NULL);
  g_string_printf (name, "fashion-mnist:levels=%d,size=%d,split=%s", levels, size,
                   split == GAF_SPLIT_TEST ? "test" : "train");
  if (limit > 0)
    g_string_append_printf (name, ",limit=%u", limit);
  if (g_strcmp0 (dir, GAF_FASHION_MNIST_DIR) != 0)
    g_string_append_printf (name, ",dir=%s", dir);
  ds->name = g_string_free (g_steal_pointer (&name), FALSE);
  ds->description = g_strdup_printf (
    "Fashion-MNIST %s split, %u images quantized to %d gray levels%s, %s",
    split == GAF_SPLIT_TEST ? "test" : "train", ds->count, levels,
    levels == 2 ? " (binarized at 0.5)" : "",
    size == 28 ? "28 x 28 (native)" :
    size == 32 ? "32 x 32 (28 x 28 padded by 2 pixels)" :
                 "16 x 16 (2 x 2 average pooling of the 32 x 32 padded image)");
  return g_steal_pointer (&ds);
}

/* ---- scenes ------------------------------------------------------------------------------------ */

GafDataset *
gaf_dataset_new_scenes (int c, int height, int width, guint count, guint64 seed, GafSplit split)
{
  GafDataset *ds;
  gsize n;

  g_return_val_if_fail (c >= 2 && c <= GAF_DATASET_MAX_CLASSES, NULL);
  g_return_val_if_fail (height >= 1 && width >= 1 && count >= 1, NULL);
  ds = g_new0 (GafDataset, 1);
  ds->kind = GAF_DATASET_SCENES;
  ds->c = c;
  ds->height = height;
  ds->width = width;
  ds->count = count;
  ds->palette = GAF_PALETTE_SCENES;
  n = (gsize) height * width;
  ds->labels = g_new (guint16, (gsize) count * n);
  for (guint i = 0; i < count; i++)
    gaf_scene_render (c, height, width, seed, split, i, ds->labels + (gsize) i * n);
  if (height == width)
    ds->name = g_strdup_printf ("scenes:classes=%d,size=%d,count=%u,seed=%" G_GUINT64_FORMAT ",split=%s", c,
                                height, count, seed, split == GAF_SPLIT_TEST ? "test" : "train");
  else
    ds->name = g_strdup_printf ("scenes:classes=%d,size=%dx%d,count=%u,seed=%" G_GUINT64_FORMAT ",split=%s", c,
                                width, height, count, seed, split == GAF_SPLIT_TEST ? "test" : "train");
  ds->description = g_strdup_printf ("procedural scene labelings (%s split, seed %" G_GUINT64_FORMAT
                                     "), %u maps of %d x %d pixels with %d region classes",
                                     split == GAF_SPLIT_TEST ? "test" : "train", seed, count, width, height, c);
  return ds;
}

/* ---- folder ------------------------------------------------------------------------------------ */

static gboolean
is_label_file (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return g_str_has_suffix (lower, ".pgm") || g_str_has_suffix (lower, ".png");
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

GafDataset *
gaf_dataset_new_folder (const char *dir, int c, GError **error)
{
  g_autoptr(GDir) d = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GafDataset) ds = NULL;
  g_autofree char *first = NULL;
  const char *entry;
  guint max_value = 0;
  gsize n = 0, cap = 0;

  g_return_val_if_fail (dir != NULL, NULL);
  if (c != 0 && (c < 2 || c > GAF_DATASET_MAX_CLASSES))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s: %d classes; from 2 to %d are possible",
                   dir, c, GAF_DATASET_MAX_CLASSES);
      return NULL;
    }
  d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s", local->message);
      return NULL;
    }
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = NULL;
      if (!is_label_file (entry))
        continue;
      path = g_build_filename (dir, entry, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      g_ptr_array_add (names, g_strdup (entry));
      if (names->len > GAF_DATASET_FOLDER_MAX_MAPS)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: more than %d label maps in the folder", dir,
                       GAF_DATASET_FOLDER_MAX_MAPS);
          return NULL;
        }
    }
  if (names->len == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: no label maps (*.pgm or *.png files) in the folder", dir);
      return NULL;
    }
  g_ptr_array_sort (names, compare_names);

  ds = g_new0 (GafDataset, 1);
  ds->kind = GAF_DATASET_FOLDER;
  ds->files = g_new0 (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      GafLabelImage img;

      if (!gaf_label_image_load (path, &img, error))
        return NULL;
      if (i == 0)
        {
          ds->width = img.width;
          ds->height = img.height;
          n = (gsize) img.width * img.height;
          first = g_strdup (path);
        }
      else if (img.width != ds->width || img.height != ds->height)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: %d x %d pixels, but %s has %d x %d (all maps of a folder must have one size)",
                       path, img.width, img.height, first, ds->width, ds->height);
          gaf_label_image_clear (&img);
          return NULL;
        }
      if (c != 0 && img.max_value >= (guint) c)
        {
          for (gsize p = 0; p < n; p++)
            if (img.values[p] >= c)
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                             "%s: pixel (x %d, y %d) has value %u, not a class below %d", path,
                             (int) (p % img.width), (int) (p / img.width), img.values[p], c);
                break;
              }
          gaf_label_image_clear (&img);
          return NULL;
        }
      if (c == 0 && img.max_value >= GAF_DATASET_INFER_MAX_CLASSES)
        {
          for (gsize p = 0; p < n; p++)
            if (img.values[p] == img.max_value)
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                             "pixel value %u in %s (x %d, y %d): at most %d classes are inferred from the "
                             "data (values 0 to %d); give classes=C (up to %d) for more", img.max_value, path,
                             (int) (p % img.width), (int) (p / img.width), GAF_DATASET_INFER_MAX_CLASSES,
                             GAF_DATASET_INFER_MAX_CLASSES - 1, GAF_DATASET_MAX_CLASSES);
                break;
              }
          gaf_label_image_clear (&img);
          return NULL;
        }
      max_value = MAX (max_value, img.max_value);
      if (i >= cap)
        {
          g_autofree char *what = g_strdup_printf ("%s: %u label maps of %d x %d pixels", dir, names->len,
                                                   ds->width, ds->height);
          if (!gaf_budget_check (gaf_size_mul3 (names->len, n, sizeof (guint16)), what, error))
            {
              gaf_label_image_clear (&img);
              return NULL;
            }
          cap = MIN (MAX (16, 2 * cap), names->len);
          ds->labels = g_renew (guint16, ds->labels, cap * n);
        }
      memcpy (ds->labels + (gsize) i * n, img.values, n * sizeof (guint16));
      ds->files[i] = g_strdup (g_ptr_array_index (names, i));
      ds->count = i + 1;
      gaf_label_image_clear (&img);
    }
  ds->labels = g_renew (guint16, ds->labels, (gsize) ds->count * n);
  ds->c = c != 0 ? c : (int) MAX (2, max_value + 1);
  ds->palette = ds->c == 2 ? GAF_PALETTE_GRAY : GAF_PALETTE_CLASSES;
  ds->name = c != 0 ? g_strdup_printf ("folder:%s,classes=%d", dir, c) : g_strdup_printf ("folder:%s", dir);
  ds->description = g_strdup_printf ("%u label maps of %d x %d pixels from %s, %d classes%s", ds->count, ds->width,
                                     ds->height, dir, ds->c, c != 0 ? "" : " (the largest value + 1)");
  return g_steal_pointer (&ds);
}

/* ---- pixel shuffling ---------------------------------------------------------------------------- */

void
gaf_dataset_shuffle_pixels (GafDataset *dataset, guint64 seed)
{
  gsize n;
  GafRng rng;

  g_return_if_fail (dataset != NULL && dataset->labels != NULL);

  n = gaf_dataset_pixels (dataset);
  g_return_if_fail (n <= G_MAXUINT32);
  /* One stream for the whole set, maps in order: map i gets the same permutation whatever the count. */
  gaf_rng_init_stream (&rng, seed, G_GUINT64_CONSTANT (0x53485546464c45));   /* "SHUFFLE" */
  for (guint m = 0; m < dataset->count; m++)
    {
      guint16 *row = dataset->labels + (gsize) m * n;
      /* Fisher-Yates: every permutation of the n pixels equally likely */
      for (gsize i = n - 1; i > 0; i--)
        {
          gsize j = gaf_rng_below (&rng, (guint32) (i + 1));
          guint16 tmp = row[i];
          row[i] = row[j];
          row[j] = tmp;
        }
    }
}

/* Shuffles a dataset made from a spec and records the option in its name (before a trailing dir=,
 * which takes the rest of a spec) and description. */
static void
apply_shuffle (GafDataset *ds, guint64 seed)
{
  const char *dir = ds->kind == GAF_DATASET_FASHION_MNIST ? strstr (ds->name, ",dir=") : NULL;
  char *name, *desc;

  gaf_dataset_shuffle_pixels (ds, seed);
  if (dir != NULL)
    name = g_strdup_printf ("%.*s,shuffle=%" G_GUINT64_FORMAT "%s", (int) (dir - ds->name), ds->name, seed, dir);
  else
    name = g_strdup_printf ("%s,shuffle=%" G_GUINT64_FORMAT, ds->name, seed);
  desc = g_strdup_printf ("%s, each map's pixels randomly permuted (seed %" G_GUINT64_FORMAT
                          "; the class counts of every map kept)", ds->description, seed);
  g_free (ds->name);
  g_free (ds->description);
  ds->name = name;
  ds->description = desc;
}

/* ---- specs ------------------------------------------------------------------------------------- */

static gboolean
spec_error (GError **error, const char *spec, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
spec_error (GError **error, const char *spec, const char *fmt, ...)
{
  g_autofree char *msg = NULL;
  va_list ap;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "dataset '%s': %s", spec, msg);
  return FALSE;
}

static gboolean
spec_uint (const char *spec, const char *key, const char *value, guint64 min, guint64 max, guint64 *out,
           GError **error)
{
  if (!g_ascii_string_to_unsigned (value, 10, min, max, out, NULL))
    return spec_error (error, spec, "%s must be a whole number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                       ", not '%s'", key, min, max, value);
  return TRUE;
}

static gboolean
spec_split (const char *spec, const char *value, GafSplit *out, GError **error)
{
  if (g_strcmp0 (value, "train") == 0)
    *out = GAF_SPLIT_TRAIN;
  else if (g_strcmp0 (value, "test") == 0)
    *out = GAF_SPLIT_TEST;
  else
    return spec_error (error, spec, "split must be 'train' or 'test', not '%s'", value);
  return TRUE;
}

/* key=value pairs separated by commas; "dir" takes the rest of the text. Checks the keys against
 * `known` (NULL-terminated) and refuses repeats. */
static GHashTable *
spec_options (const char *spec, const char *text, const char *const *known, GError **error)
{
  g_autoptr(GHashTable) opts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  const char *p = text;

  while (p != NULL && *p != '\0')
    {
      const char *eq = strchr (p, '='), *comma;
      g_autofree char *key = NULL;
      char *value;

      comma = strchr (p, ',');
      if (eq == NULL || (comma != NULL && comma < eq))
        {
          g_autofree char *item = comma ? g_strndup (p, comma - p) : g_strdup (p);
          spec_error (error, spec, "'%s' is not key=value", item);
          return NULL;
        }
      key = g_strndup (p, eq - p);
      if (!g_strv_contains (known, key))
        {
          g_autofree char *list = g_strjoinv (", ", (char **) known);
          spec_error (error, spec, "unknown option '%s' (known: %s)", key, list);
          return NULL;
        }
      if (g_hash_table_contains (opts, key))
        {
          spec_error (error, spec, "option '%s' is given twice", key);
          return NULL;
        }
      if (g_strcmp0 (key, "dir") == 0)
        comma = NULL;
      value = comma ? g_strndup (eq + 1, comma - eq - 1) : g_strdup (eq + 1);
      if (*value == '\0')
        {
          spec_error (error, spec, "option '%s' has no value", key);
          g_free (value);
          return NULL;
        }
      g_hash_table_insert (opts, g_steal_pointer (&key), value);
      p = comma ? comma + 1 : NULL;
      if (p != NULL && *p == '\0')
        {
          spec_error (error, spec, "a comma at the end");
          return NULL;
        }
    }
  return g_steal_pointer (&opts);
}

static GafDataset *
spec_fashion (const char *spec, const char *text, GError **error)
{
  static const char *const known[] = { "levels", "size", "split", "limit", "shuffle", "dir", NULL };
  g_autoptr(GHashTable) opts = spec_options (spec, text, known, error);
  guint64 levels = 2, size = 32, limit = 0, shuffle = 0;
  GafSplit split = GAF_SPLIT_TRAIN;
  GafDataset *ds;
  const char *v;

  if (opts == NULL)
    return NULL;
  if ((v = g_hash_table_lookup (opts, "levels")) && !spec_uint (spec, "levels", v, 2, 256, &levels, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "size")))
    {
      if (!spec_uint (spec, "size", v, 16, 32, &size, error))
        return NULL;
      if (size != 16 && size != 28 && size != 32)
        {
          spec_error (error, spec, "size must be 16, 28 or 32, not %s", v);
          return NULL;
        }
    }
  if ((v = g_hash_table_lookup (opts, "split")) && !spec_split (spec, v, &split, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "limit")) && !spec_uint (spec, "limit", v, 1, G_MAXUINT32, &limit, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "shuffle")) && !spec_uint (spec, "shuffle", v, 0, G_MAXUINT64, &shuffle, error))
    return NULL;
  ds = gaf_dataset_new_fashion_mnist (g_hash_table_lookup (opts, "dir"), split, (int) levels, (int) size,
                                      (guint) limit, error);
  if (ds != NULL && shuffle != 0)
    apply_shuffle (ds, shuffle);
  return ds;
}

/* Maps of more labels than this (2 GiB of guint16) are refused. */
#define MAX_SCENE_PIXELS (G_GUINT64_CONSTANT (1) << 30)

static GafDataset *
spec_scenes (const char *spec, const char *text, GError **error)
{
  static const char *const known[] = { "classes", "size", "count", "seed", "split", "shuffle", NULL };
  g_autoptr(GHashTable) opts = spec_options (spec, text, known, error);
  guint64 classes = 8, width = 32, height = 32, count = 10000, seed = 1, shuffle = 0;
  GafSplit split = GAF_SPLIT_TRAIN;
  GafDataset *ds;
  const char *v;

  if (opts == NULL)
    return NULL;
  if ((v = g_hash_table_lookup (opts, "classes")) &&
      !spec_uint (spec, "classes", v, 2, GAF_DATASET_MAX_CLASSES, &classes, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "size")))
    {
      const char *x = strchr (v, 'x');
      if (x == NULL)
        {
          if (!spec_uint (spec, "size", v, 2, 1024, &width, error))
            return NULL;
          height = width;
        }
      else
        {
          g_autofree char *w = g_strndup (v, x - v);
          if (!spec_uint (spec, "size (width)", w, 2, 1024, &width, error) ||
              !spec_uint (spec, "size (height)", x + 1, 2, 1024, &height, error))
            return NULL;
        }
    }
  if ((v = g_hash_table_lookup (opts, "count")) && !spec_uint (spec, "count", v, 1, 100000000, &count, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "seed")) && !spec_uint (spec, "seed", v, 0, G_MAXUINT64, &seed, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "split")) && !spec_split (spec, v, &split, error))
    return NULL;
  if ((v = g_hash_table_lookup (opts, "shuffle")) && !spec_uint (spec, "shuffle", v, 0, G_MAXUINT64, &shuffle, error))
    return NULL;
  if (count * width * height > MAX_SCENE_PIXELS)
    {
      spec_error (error, spec, "%" G_GUINT64_FORMAT " maps of %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
                  " pixels are more than %" G_GUINT64_FORMAT " labels", count, width, height, MAX_SCENE_PIXELS);
      return NULL;
    }
  ds = gaf_dataset_new_scenes ((int) classes, (int) height, (int) width, (guint) count, seed, split);
  if (shuffle != 0)
    apply_shuffle (ds, shuffle);
  return ds;
}

static GafDataset *
spec_folder (const char *spec, const char *text, GError **error)
{
  g_autofree char *dir = g_strdup (text);
  guint64 classes = 0, shuffle = 0;
  gboolean have_classes = FALSE, have_shuffle = FALSE;
  GafDataset *ds;
  char *comma;

  /* Only trailing ",classes=C" and ",shuffle=S" are options: directory names may contain commas. */
  while ((comma = strrchr (dir, ',')) != NULL &&
         (g_str_has_prefix (comma + 1, "classes=") || g_str_has_prefix (comma + 1, "shuffle=")))
    {
      gboolean is_classes = g_str_has_prefix (comma + 1, "classes=");
      const char *key = is_classes ? "classes" : "shuffle";
      const char *value = strchr (comma, '=') + 1;

      if (is_classes ? have_classes : have_shuffle)
        {
          spec_error (error, spec, "option '%s' is given twice", key);
          return NULL;
        }
      if (is_classes ? !spec_uint (spec, key, value, 2, GAF_DATASET_MAX_CLASSES, &classes, error)
                     : !spec_uint (spec, key, value, 0, G_MAXUINT64, &shuffle, error))
        return NULL;
      *(is_classes ? &have_classes : &have_shuffle) = TRUE;
      *comma = '\0';
    }
  if (*dir == '\0')
    {
      spec_error (error, spec, "folder: needs a directory, e.g. folder:maps/ or folder:maps,classes=5");
      return NULL;
    }
  ds = gaf_dataset_new_folder (dir, (int) classes, error);
  if (ds != NULL && shuffle != 0)
    apply_shuffle (ds, shuffle);
  return ds;
}

/* The kinds gaf_dataset_new_from_spec reads, the word before the first ':' of a spec. */
static const char *const spec_kinds[] = { "fashion-mnist", "scenes", "folder", NULL };

gboolean
gaf_dataset_spec_is_dataset (const char *spec)
{
  return gaf_data_spec_has_kind (spec, spec_kinds);
}

GafDataset *
gaf_dataset_new_from_spec (const char *spec, GError **error)
{
  const char *colon;
  g_autofree char *kind = NULL;
  const char *rest;

  g_return_val_if_fail (spec != NULL, NULL);
  colon = strchr (spec, ':');
  kind = colon ? g_strndup (spec, colon - spec) : g_strdup (spec);
  rest = colon ? colon + 1 : "";
  if (g_strcmp0 (kind, "fashion-mnist") == 0)
    return spec_fashion (spec, rest, error);
  if (g_strcmp0 (kind, "scenes") == 0)
    return spec_scenes (spec, rest, error);
  if (g_strcmp0 (kind, "folder") == 0)
    return spec_folder (spec, rest, error);
  spec_error (error, spec, "unknown kind '%s' (fashion-mnist:..., scenes:... or folder:DIR)", kind);
  return NULL;
}

/* ---- statistics -------------------------------------------------------------------------------- */

void
gaf_label_maps_marginals (const guint16 *labels, guint count, gsize n, int c, double alpha, double *out)
{
  g_autofree guint32 *counts = NULL;
  double denom;

  g_return_if_fail (labels != NULL || count == 0);
  g_return_if_fail (out != NULL && c >= 1 && alpha >= 0.0 && (count > 0 || alpha > 0.0));
  counts = g_new0 (guint32, n * c);
  for (guint m = 0; m < count; m++)
    {
      const guint16 *row = labels + (gsize) m * n;
      for (gsize i = 0; i < n; i++)
        {
          g_return_if_fail (row[i] < c);
          counts[i * c + row[i]]++;
        }
    }
  denom = count + c * alpha;
  for (gsize k = 0; k < n * c; k++)
    out[k] = (counts[k] + alpha) / denom;
}

double
gaf_marginals_kl (const double *pa, const double *pb, gsize n, int c)
{
  double total = 0.0;

  g_return_val_if_fail (pa != NULL && pb != NULL && n > 0 && c >= 1, NAN);
  for (gsize i = 0; i < n; i++)
    {
      double kl = 0.0;
      for (int j = 0; j < c; j++)
        {
          double a = pa[i * c + j], b = pb[i * c + j];
          if (a <= 0.0)
            continue;
          if (b <= 0.0)
            return INFINITY;
          kl += a * log (a / b);
        }
      total += kl;
    }
  return total / n;
}

double
gaf_label_maps_marginal_kl (const guint16 *a, guint count_a, const guint16 *b, guint count_b, gsize n, int c)
{
  g_autofree double *pa = g_new (double, n * c);
  g_autofree double *pb = g_new (double, n * c);

  gaf_label_maps_marginals (a, count_a, n, c, GAF_MARGINAL_SMOOTHING, pa);
  gaf_label_maps_marginals (b, count_b, n, c, GAF_MARGINAL_SMOOTHING, pb);
  return gaf_marginals_kl (pa, pb, n, c);
}

double
gaf_label_maps_neighbour_agreement (const guint16 *labels, guint count, int height, int width)
{
  guint64 same = 0, pairs;
  gsize n = (gsize) height * width;

  g_return_val_if_fail (labels != NULL && count > 0 && height >= 1 && width >= 1, NAN);
  pairs = (guint64) count * ((guint64) height * (width - 1) + (guint64) (height - 1) * width);
  if (pairs == 0)
    return NAN;
  for (guint m = 0; m < count; m++)
    {
      const guint16 *l = labels + (gsize) m * n;
      for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
          {
            guint16 v = l[y * width + x];
            if (x + 1 < width)
              same += v == l[y * width + x + 1];
            if (y + 1 < height)
              same += v == l[(y + 1) * width + x];
          }
    }
  return (double) same / pairs;
}

double
gaf_label_maps_mean_regions (const guint16 *labels, guint count, int height, int width)
{
  gsize n = (gsize) height * width;
  g_autofree guint32 *stack = NULL;
  g_autofree guint8 *seen = NULL;
  guint64 regions = 0;

  g_return_val_if_fail (labels != NULL && count > 0 && height >= 1 && width >= 1, NAN);
  stack = g_new (guint32, n);
  seen = g_new (guint8, n);
  for (guint m = 0; m < count; m++)
    {
      const guint16 *l = labels + (gsize) m * n;
      memset (seen, 0, n);
      for (gsize s = 0; s < n; s++)
        {
          gsize top = 0;
          if (seen[s])
            continue;
          /* Flood fill of the region of s (each pixel pushed once: marked when pushed). */
          regions++;
          seen[s] = 1;
          stack[top++] = (guint32) s;
          while (top > 0)
            {
              guint32 p = stack[--top];
              int x = p % width, y = p / width;
              guint32 nb[4];
              int k = 0;
              if (x > 0) nb[k++] = p - 1;
              if (x + 1 < width) nb[k++] = p + 1;
              if (y > 0) nb[k++] = p - width;
              if (y + 1 < height) nb[k++] = p + width;
              for (int j = 0; j < k; j++)
                if (!seen[nb[j]] && l[nb[j]] == l[p])
                  {
                    seen[nb[j]] = 1;
                    stack[top++] = nb[j];
                  }
            }
        }
    }
  return (double) regions / count;
}

/* ---- independent-pixel sampler ----------------------------------------------------------------- */

struct _GafIndependentSampler {
  gsize   n;
  int     c;
  double *cdf;  /* (n, c), the last entry of each row exactly 1 */
};

GafIndependentSampler *
gaf_independent_sampler_new (const double *marginals, gsize n, int c)
{
  GafIndependentSampler *s;

  g_return_val_if_fail (marginals != NULL && n > 0 && c >= 1, NULL);
  s = g_new0 (GafIndependentSampler, 1);
  s->n = n;
  s->c = c;
  s->cdf = g_new (double, n * c);
  for (gsize i = 0; i < n; i++)
    {
      const double *p = marginals + i * c;
      double *cdf = s->cdf + i * c, sum = 0.0, acc = 0.0;
      for (int j = 0; j < c; j++)
        {
          g_return_val_if_fail (p[j] >= 0.0 && isfinite (p[j]), (gaf_independent_sampler_free (s), NULL));
          sum += p[j];
        }
      g_return_val_if_fail (sum > 0.0, (gaf_independent_sampler_free (s), NULL));
      for (int j = 0; j < c; j++)
        {
          acc += p[j] / sum;
          cdf[j] = acc;
        }
      /* Classes of probability 0 at the end must stay unreachable: the last positive one ends at 1. */
      for (int j = c - 1; j >= 0; j--)
        {
          cdf[j] = 1.0;
          if (p[j] > 0.0)
            break;
        }
    }
  return s;
}

void
gaf_independent_sampler_free (GafIndependentSampler *sampler)
{
  if (sampler == NULL)
    return;
  g_free (sampler->cdf);
  g_free (sampler);
}

void
gaf_independent_sampler_sample (gpointer data, GafRng *rng, guint16 *labels, int batch)
{
  const GafIndependentSampler *s = data;

  g_return_if_fail (s != NULL && rng != NULL && labels != NULL);
  for (int b = 0; b < batch; b++)
    for (gsize i = 0; i < s->n; i++)
      {
        const double *cdf = s->cdf + i * s->c;
        double u = gaf_rng_uniform (rng);
        int lo = 0, hi = s->c - 1;
        /* The first j with u < cdf[j] (binary search; cdf[c - 1] = 1 > u). */
        while (lo < hi)
          {
            int mid = (lo + hi) / 2;
            if (u < cdf[mid])
              hi = mid;
            else
              lo = mid + 1;
          }
        labels[(gsize) b * s->n + i] = (guint16) lo;
      }
}
