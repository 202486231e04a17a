/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <png.h>

#include "gaf-engine.h"

/* Image datasets of label maps: the IDX reader on Debian's Fashion-MNIST files and on broken copies,
 * quantization and pooling, procedural scenes, folders of PGM/PNG label maps (round trips and every
 * error), the dataset spec parser, the label-map statistics on hand-computed examples, the
 * independent-pixel sampler, palettes and grid pictures.
 *
 * The Fashion-MNIST reference numbers were computed independently with python3 (gzip + struct, the
 * quantization and the 2 x 2 pooling written out with floats):
 *   train: 60000 images, pixel sum 3431114169 (mean 72.940 / 255 = 0.2860), 14801503 pixels >= 128,
 *          4 levels at 28 x 28: 27910556 4327941 6240877 8560626,
 *          16 x 16 pooled: 3533677 ones at 2 levels; 10290207 1536116 1785668 1748009 at 4 levels;
 *          first labels 9 0 0 3 0 2 7 2 5 5.
 *   test:  10000 images, pixel sum 573469082, 2471969 pixels >= 128, first labels 9 2 1 1 6 1 4 6 5 7. */

#define FM_TRAIN_SUM     G_GUINT64_CONSTANT (3431114169)
#define FM_TRAIN_GE128   G_GUINT64_CONSTANT (14801503)
#define FM_TEST_SUM      G_GUINT64_CONSTANT (573469082)
#define FM_TEST_GE128    G_GUINT64_CONSTANT (2471969)

static gboolean
have_fashion_mnist (void)
{
  g_autofree char *p = g_build_filename (GAF_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz", NULL);

  if (g_file_test (p, G_FILE_TEST_EXISTS))
    return TRUE;
  g_test_skip ("dataset-fashion-mnist is not installed");
  return FALSE;
}

static char *
make_tmp_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("gaf-dataset-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *path)
{
  GDir *d;
  const char *name;

  if (!g_file_test (path, G_FILE_TEST_IS_DIR) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      g_remove (path);
      return;
    }
  d = g_dir_open (path, 0, NULL);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  if (d != NULL)
    g_dir_close (d);
  g_rmdir (path);
}

static void
write_file (const char *path, const void *data, gsize length)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

static GBytes *
gzip_bytes (const guint8 *data, gsize length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);
  g_autoptr(GOutputStream) mem = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) out = g_converter_output_stream_new (mem, G_CONVERTER (z));
  gsize written;

  g_output_stream_write_all (out, data, length, &written, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (out, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (mem));
}

/* An IDX header: magic then sizes, big-endian. */
static void
put_be32 (GByteArray *a, guint32 v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (a, b, 4);
}

static GByteArray *
idx_images (guint32 announced, guint32 present, guint8 fill)
{
  GByteArray *a = g_byte_array_new ();

  put_be32 (a, GAF_IDX_MAGIC_IMAGES);
  put_be32 (a, announced);
  put_be32 (a, 28);
  put_be32 (a, 28);
  for (guint32 i = 0; i < present * 784; i++)
    {
      guint8 v = (guint8) (fill + i);
      g_byte_array_append (a, &v, 1);
    }
  return a;
}

static GByteArray *
idx_labels (guint32 announced, guint32 present)
{
  GByteArray *a = g_byte_array_new ();

  put_be32 (a, GAF_IDX_MAGIC_LABELS);
  put_be32 (a, announced);
  for (guint32 i = 0; i < present; i++)
    {
      guint8 v = i % 10;
      g_byte_array_append (a, &v, 1);
    }
  return a;
}

static void
write_gzip (const char *path, const GByteArray *a)
{
  g_autoptr(GBytes) z = gzip_bytes (a->data, a->len);

  write_file (path, g_bytes_get_data (z, NULL), g_bytes_get_size (z));
}

/* ---- IDX and Fashion-MNIST --------------------------------------------------------------------- */

static void
test_idx_real_files (void)
{
  static const guint8 train_first[10] = { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 };
  static const guint8 test_first[10] = { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 };
  static const guint64 hist4[4] = { 27910556, 4327941, 6240877, 8560626 };
  g_autoptr(GError) error = NULL;
  GafIdx idx;
  guint64 sum = 0, ge128 = 0, h[4] = { 0 };

  if (!have_fashion_mnist ())
    return;
  gaf_idx_load (GAF_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", GAF_IDX_MAGIC_IMAGES, 0, &idx, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx.ndims, ==, 3);
  g_assert_cmpuint (idx.dims[0], ==, 60000);
  g_assert_cmpuint (idx.dims[1], ==, 28);
  g_assert_cmpuint (idx.dims[2], ==, 28);
  g_assert_cmpuint (idx.kept, ==, 60000);
  g_assert_cmpuint (idx.item_size, ==, 784);
  for (gsize i = 0; i < (gsize) 60000 * 784; i++)
    {
      sum += idx.data[i];
      ge128 += idx.data[i] >= 128;
      h[gaf_quantize_level (idx.data[i], 4)]++;
    }
  g_assert_cmpuint (sum, ==, FM_TRAIN_SUM);
  g_assert_cmpfloat_with_epsilon (sum / (60000.0 * 784 * 255), 0.28604, 1e-5);
  g_assert_cmpuint (ge128, ==, FM_TRAIN_GE128);
  for (int j = 0; j < 4; j++)
    g_assert_cmpuint (h[j], ==, hist4[j]);
  gaf_idx_clear (&idx);

  gaf_idx_load (GAF_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", GAF_IDX_MAGIC_IMAGES, 0, &idx, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (idx.dims[0], ==, 10000);
  sum = 0;
  for (gsize i = 0; i < (gsize) 10000 * 784; i++)
    sum += idx.data[i];
  g_assert_cmpuint (sum, ==, FM_TEST_SUM);
  gaf_idx_clear (&idx);

  /* A limit keeps the first items and still reads (and checks) the whole file. */
  gaf_idx_load (GAF_FASHION_MNIST_DIR "/train-labels-idx1-ubyte.gz", GAF_IDX_MAGIC_LABELS, 10, &idx, &error);
  g_assert_no_error (error);
  g_assert_cmpint (idx.ndims, ==, 1);
  g_assert_cmpuint (idx.dims[0], ==, 60000);
  g_assert_cmpuint (idx.kept, ==, 10);
  g_assert_cmpmem (idx.data, 10, train_first, 10);
  gaf_idx_clear (&idx);
  gaf_idx_load (GAF_FASHION_MNIST_DIR "/t10k-labels-idx1-ubyte.gz", GAF_IDX_MAGIC_LABELS, 0, &idx, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (idx.kept, ==, 10000);
  g_assert_cmpmem (idx.data, 10, test_first, 10);
  gaf_idx_clear (&idx);

  /* Images asked for as labels: the magic number says no. */
  g_assert_false (gaf_idx_load (GAF_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", GAF_IDX_MAGIC_LABELS, 0,
                                &idx, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "t10k-images-idx3-ubyte.gz: wrong magic number 0x00000803"));
}

static void
test_idx_broken (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "x-idx3-ubyte.gz", NULL);
  g_autofree char *raw_path = g_build_filename (dir, "x-idx3-ubyte", NULL);
  g_autoptr(GByteArray) good = idx_images (3, 3, 7);
  g_autoptr(GByteArray) short_data = idx_images (60000, 5, 0);
  g_autoptr(GByteArray) trailing = idx_images (3, 3, 0);
  g_autoptr(GByteArray) bad_magic = idx_images (3, 3, 0);
  g_autoptr(GByteArray) bad_dim = idx_images (3, 3, 0);
  g_autoptr(GBytes) z = NULL;
  g_autoptr(GError) error = NULL;
  GafIdx idx;

  /* A good small file, gzip and raw. */
  write_gzip (path, good);
  g_assert_true (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (idx.kept, ==, 3);
  g_assert_cmpmem (idx.data, 3 * 784, good->data + 16, 3 * 784);
  gaf_idx_clear (&idx);
  write_file (raw_path, good->data, good->len);
  g_assert_true (gaf_idx_load (raw_path, GAF_IDX_MAGIC_IMAGES, 2, &idx, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (idx.kept, ==, 2);
  g_assert_cmpmem (idx.data, 2 * 784, good->data + 16, 2 * 784);
  gaf_idx_clear (&idx);

  /* The header announces 60000 images, the (valid) gzip stream holds 5. */
  write_gzip (path, short_data);
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "truncated: the header announces 60000 items of 784 bytes"));
  g_assert_nonnull (strstr (error->message, "the data ends after 3920"));
  g_clear_error (&error);
  /* ... also when only the first items are kept. */
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 2, &idx, &error));
  g_assert_nonnull (strstr (error->message, "truncated: the header announces 60000"));
  g_clear_error (&error);

  /* The real training images cut in the middle of the compressed stream. */
  if (g_file_test (GAF_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_autofree char *all = NULL;
      gsize len;
      g_file_get_contents (GAF_FASHION_MNIST_DIR "/train-images-idx3-ubyte.gz", &all, &len, &error);
      g_assert_no_error (error);
      write_file (path, all, len / 3);
      g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 100, &idx, &error));
      g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, "truncated gzip file"));
      g_clear_error (&error);
    }

  /* Bytes after the announced data (inside the gzip stream). */
  g_byte_array_append (trailing, (const guint8 *) "garbage", 7);
  write_gzip (path, trailing);
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "7 trailing bytes after the 3 items"));
  g_clear_error (&error);

  /* Wrong magic. */
  bad_magic->data[2] = 0x0d;  /* type float */
  write_gzip (path, bad_magic);
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "wrong magic number 0x00000d03; expected 0x00000803"));
  g_clear_error (&error);

  /* A zero size. */
  bad_dim->data[11] = 0;  /* rows = 0 */
  write_gzip (path, bad_dim);
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_nonnull (strstr (error->message, "IDX size 1 is 0"));
  g_clear_error (&error);

  /* Shorter than a header; not a file at all. */
  write_file (raw_path, "\0\0", 2);
  g_assert_false (gaf_idx_load (raw_path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_nonnull (strstr (error->message, "shorter than an IDX header"));
  g_clear_error (&error);
  z = gzip_bytes ((const guint8 *) "", 0);
  write_file (path, g_bytes_get_data (z, NULL), g_bytes_get_size (z));
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_nonnull (strstr (error->message, "0 bytes, shorter than an IDX header"));
  g_clear_error (&error);
  g_remove (path);
  g_assert_false (gaf_idx_load (path, GAF_IDX_MAGIC_IMAGES, 0, &idx, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
  g_clear_error (&error);

  remove_tree (dir);
}

/* The Fashion-MNIST loader on a folder of hand-made files: counts must agree, labels 0..9. */
static void
test_fashion_mnist_fake_dir (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *img = g_build_filename (dir, "t10k-images-idx3-ubyte.gz", NULL);
  g_autofree char *lab = g_build_filename (dir, "t10k-labels-idx1-ubyte", NULL);  /* raw: no .gz */
  g_autoptr(GByteArray) images = idx_images (4, 4, 100);
  g_autoptr(GByteArray) labels = idx_labels (4, 4);
  g_autoptr(GByteArray) labels3 = idx_labels (3, 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) ds = NULL;

  write_gzip (img, images);
  write_file (lab, labels->data, labels->len);
  ds = gaf_dataset_new_fashion_mnist (dir, GAF_SPLIT_TEST, 2, 28, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->count, ==, 4);
  g_assert_cmpint (ds->c, ==, 2);
  for (gsize i = 0; i < 4 * 784; i++)
    g_assert_cmpuint (ds->labels[i], ==, images->data[16 + i] >= 128);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpuint (ds->classes[i], ==, i);
  g_assert_true (g_str_has_prefix (ds->name, "fashion-mnist:levels=2,size=28,split=test,dir="));
  g_clear_pointer (&ds, gaf_dataset_free);

  write_file (lab, labels3->data, labels3->len);
  ds = gaf_dataset_new_fashion_mnist (dir, GAF_SPLIT_TEST, 2, 28, 0, &error);
  g_assert_null (ds);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "holds 4 images but"));
  g_assert_nonnull (strstr (error->message, "holds 3 labels"));
  g_clear_error (&error);

  labels->data[8 + 2] = 10;
  write_file (lab, labels->data, labels->len);
  ds = gaf_dataset_new_fashion_mnist (dir, GAF_SPLIT_TEST, 2, 28, 0, &error);
  g_assert_nonnull (strstr (error->message, "label 10 of item 2 is not a class from 0 to 9"));
  g_clear_error (&error);

  /* No training files in this folder. */
  ds = gaf_dataset_new_fashion_mnist (dir, GAF_SPLIT_TRAIN, 2, 28, 0, &error);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "train-images-idx3-ubyte.gz"));
  g_clear_error (&error);
  remove_tree (dir);
}

static void
test_fashion_mnist_dataset (void)
{
  static const guint64 pool4[4] = { 10290207, 1536116, 1785668, 1748009 };
  static const guint64 hist4[4] = { 27910556, 4327941, 6240877, 8560626 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) ds = NULL;
  guint64 sum = 0, h[4] = { 0 };

  if (!have_fashion_mnist ())
    return;
  /* 28 x 28, 2 levels: the label sum counts the pixels >= 128. */
  ds = gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TEST, 2, 28, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->count, ==, 10000);
  for (gsize i = 0; i < (gsize) 10000 * 784; i++)
    sum += ds->labels[i];
  g_assert_cmpuint (sum, ==, FM_TEST_GE128);
  g_assert_cmpstr (ds->name, ==, "fashion-mnist:levels=2,size=28,split=test");
  g_assert_cmpint (ds->palette, ==, GAF_PALETTE_GRAY);
  g_clear_pointer (&ds, gaf_dataset_free);

  /* 32 x 32, 4 levels: the 28 x 28 histogram plus 240 padding pixels per image at level 0. */
  ds = gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 4, 32, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->count, ==, 60000);
  g_assert_cmpint (ds->height, ==, 32);
  for (gsize i = 0; i < (gsize) 60000 * 1024; i++)
    h[ds->labels[i]]++;
  g_assert_cmpuint (h[0], ==, hist4[0] + (guint64) 60000 * 240);
  for (int j = 1; j < 4; j++)
    g_assert_cmpuint (h[j], ==, hist4[j]);
  for (int x = 0; x < 32; x++)
    g_assert_cmpuint (gaf_dataset_item (ds, 123)[1 * 32 + x], ==, 0);
  g_clear_pointer (&ds, gaf_dataset_free);

  /* 16 x 16 by pooling, 2 and 4 levels. */
  ds = gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 2, 16, 0, &error);
  g_assert_no_error (error);
  sum = 0;
  for (gsize i = 0; i < (gsize) 60000 * 256; i++)
    sum += ds->labels[i];
  g_assert_cmpuint (sum, ==, 3533677);
  g_clear_pointer (&ds, gaf_dataset_free);
  ds = gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 4, 16, 0, &error);
  g_assert_no_error (error);
  memset (h, 0, sizeof h);
  for (gsize i = 0; i < (gsize) 60000 * 256; i++)
    h[ds->labels[i]]++;
  for (int j = 0; j < 4; j++)
    g_assert_cmpuint (h[j], ==, pool4[j]);
  g_assert_cmpuint (ds->classes[0], ==, 9);
  g_clear_pointer (&ds, gaf_dataset_free);

  /* A limit. */
  ds = gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 2, 16, 500, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->count, ==, 500);
  g_assert_cmpstr (ds->name, ==, "fashion-mnist:levels=2,size=16,split=train,limit=500");
  g_clear_pointer (&ds, gaf_dataset_free);

  /* Bad arguments. */
  g_assert_null (gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 1, 16, 0, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (gaf_dataset_new_fashion_mnist (NULL, GAF_SPLIT_TRAIN, 2, 20, 0, &error));
  g_assert_nonnull (strstr (error->message, "size 20; 16, 28 or 32"));
}

static void
test_quantize (void)
{
  /* c = 2: binarized at 0.5 (128 of 256). */
  g_assert_cmpuint (gaf_quantize_level (0, 2), ==, 0);
  g_assert_cmpuint (gaf_quantize_level (127, 2), ==, 0);
  g_assert_cmpuint (gaf_quantize_level (128, 2), ==, 1);
  g_assert_cmpuint (gaf_quantize_level (255, 2), ==, 1);
  /* c = 4: cuts at 64, 128, 192. */
  g_assert_cmpuint (gaf_quantize_level (63, 4), ==, 0);
  g_assert_cmpuint (gaf_quantize_level (64, 4), ==, 1);
  g_assert_cmpuint (gaf_quantize_level (127, 4), ==, 1);
  g_assert_cmpuint (gaf_quantize_level (128, 4), ==, 2);
  g_assert_cmpuint (gaf_quantize_level (191, 4), ==, 2);
  g_assert_cmpuint (gaf_quantize_level (192, 4), ==, 3);
  g_assert_cmpuint (gaf_quantize_level (255, 4), ==, 3);
  /* c = 3: 85/256 * 3 = 0.996, 86/256 * 3 = 1.008, 170 -> 1.992, 171 -> 2.004. */
  g_assert_cmpuint (gaf_quantize_level (85, 3), ==, 0);
  g_assert_cmpuint (gaf_quantize_level (86, 3), ==, 1);
  g_assert_cmpuint (gaf_quantize_level (170, 3), ==, 1);
  g_assert_cmpuint (gaf_quantize_level (171, 3), ==, 2);
  /* Every level count against the formula in floating point; 256 levels is the identity. */
  for (int c = 2; c <= 256; c++)
    for (guint v = 0; v < 256; v++)
      {
        guint want = MIN ((guint) floor (v / 256.0 * c), (guint) c - 1);
        if (gaf_quantize_level (v, c) != want)
          g_error ("level of %u at c = %d: %u, want %u", v, c, gaf_quantize_level (v, c), want);
      }
  for (guint v = 0; v < 256; v++)
    g_assert_cmpuint (gaf_quantize_level (v, 256), ==, v);
}

static void
test_pool_padding (void)
{
  guint8 image[28 * 28] = { 0 };
  guint16 out16[256], out32[1024], out28[784];

  /* A full 2 x 2 block of 255 at image rows 0-1, columns 0-1: padded rows/columns 2-3, pooled (1, 1). */
  image[0 * 28 + 0] = image[0 * 28 + 1] = image[1 * 28 + 0] = image[1 * 28 + 1] = 255;
  /* Two pixels of 255 at image rows 5-6, column 10: padded rows 7-8 straddle pooled rows 3 and 4;
   * padded column 12 is pooled column 6: each pooled cell gets one 255 -> mean 63.75. */
  image[5 * 28 + 10] = image[6 * 28 + 10] = 255;
  /* Image rows 9-10 (padded 11-12: pooled 5 and 6), columns 20-21 (padded 22-23: pooled 11):
   * two pixels of 255 in pooled (5, 11) -> mean 127.5; two of 128 in (6, 11) -> mean 64. */
  image[9 * 28 + 20] = image[9 * 28 + 21] = 255;
  image[10 * 28 + 20] = image[10 * 28 + 21] = 128;

  gaf_fashion_mnist_convert (image, 16, 2, out16);
  for (int i = 0; i < 256; i++)
    g_assert_cmpuint (out16[i], ==, i == 1 * 16 + 1);  /* only the full block reaches 128 */
  gaf_fashion_mnist_convert (image, 16, 4, out16);
  for (int i = 0; i < 256; i++)
    {
      guint want = 0;
      if (i == 1 * 16 + 1)
        want = 3;                        /* 255 -> 3 */
      else if (i == 5 * 16 + 11)
        want = 1;                        /* 127.5 / 256 * 4 = 1.99 -> 1 */
      else if (i == 6 * 16 + 11)
        want = 1;                        /* 64 -> 1 */
      else if (i == 3 * 16 + 6 || i == 4 * 16 + 6)
        want = 0;                        /* 63.75 -> 0.996 -> 0 */
      g_assert_cmpuint (out16[i], ==, want);
    }
  gaf_fashion_mnist_convert (image, 16, 256, out16);
  g_assert_cmpuint (out16[3 * 16 + 6], ==, 63);
  g_assert_cmpuint (out16[5 * 16 + 11], ==, 127);
  g_assert_cmpuint (out16[6 * 16 + 11], ==, 64);

  /* Padding: 2 zero pixels on every side. */
  gaf_fashion_mnist_convert (image, 32, 2, out32);
  gaf_fashion_mnist_convert (image, 28, 2, out28);
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      {
        gboolean inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        g_assert_cmpuint (out32[y * 32 + x], ==, inside ? out28[(y - 2) * 28 + x - 2] : 0);
      }
  g_assert_cmpuint (out32[2 * 32 + 2], ==, 1);
  g_assert_cmpuint (out32[11 * 32 + 22], ==, 1);
  g_assert_cmpuint (out32[12 * 32 + 22], ==, 1);  /* 128 -> 1 at c = 2 */
}

/* ---- scenes ------------------------------------------------------------------------------------ */

static void
test_scenes_deterministic (void)
{
  g_autoptr(GafDataset) a = gaf_dataset_new_scenes (8, 24, 32, 10, 7, GAF_SPLIT_TRAIN);
  g_autoptr(GafDataset) b = gaf_dataset_new_scenes (8, 24, 32, 20, 7, GAF_SPLIT_TRAIN);
  g_autoptr(GafDataset) t = gaf_dataset_new_scenes (8, 24, 32, 10, 7, GAF_SPLIT_TEST);
  g_autoptr(GafDataset) s = gaf_dataset_new_scenes (8, 24, 32, 10, 8, GAF_SPLIT_TRAIN);
  g_autofree guint16 *one = g_new (guint16, 24 * 32);
  gsize n = 24 * 32;
  guint same_t = 0, same_s = 0;

  /* Item i does not depend on the count. */
  g_assert_cmpmem (a->labels, 10 * n * 2, b->labels, 10 * n * 2);
  gaf_scene_render (8, 24, 32, 7, GAF_SPLIT_TRAIN, 13, one);
  g_assert_cmpmem (one, n * 2, gaf_dataset_item (b, 13), n * 2);
  /* The test split and another seed give other maps. */
  for (guint i = 0; i < 10; i++)
    {
      same_t += memcmp (gaf_dataset_item (a, i), gaf_dataset_item (t, i), n * 2) == 0;
      same_s += memcmp (gaf_dataset_item (a, i), gaf_dataset_item (s, i), n * 2) == 0;
    }
  g_assert_cmpuint (same_t, ==, 0);
  g_assert_cmpuint (same_s, ==, 0);
  g_assert_cmpstr (a->name, ==, "scenes:classes=8,size=32x24,count=10,seed=7,split=train");
  g_assert_cmpint (a->width, ==, 32);
  g_assert_cmpint (a->height, ==, 24);
}

/* The named layout does not depend on c: where the c = 8 map shows sky, ground or road, the c = 3 map
 * shows the same; the c = 3 map uses only those three classes. */
static void
test_scenes_classes_nest (void)
{
  g_autoptr(GafDataset) big = gaf_dataset_new_scenes (8, 32, 32, 50, 3, GAF_SPLIT_TRAIN);
  g_autoptr(GafDataset) small = gaf_dataset_new_scenes (3, 32, 32, 50, 3, GAF_SPLIT_TRAIN);
  g_autoptr(GafDataset) extra = gaf_dataset_new_scenes (20, 32, 32, 50, 3, GAF_SPLIT_TRAIN);
  gsize total = (gsize) 50 * 1024;
  guint hidden = 0;

  for (gsize i = 0; i < total; i++)
    {
      g_assert_cmpuint (small->labels[i], <, 3);
      if (big->labels[i] < 3)
        g_assert_cmpuint (small->labels[i], ==, big->labels[i]);
      /* Extra objects are drawn on top of the c = 8 scene; everywhere else it is unchanged. */
      if (extra->labels[i] < 8)
        g_assert_cmpuint (extra->labels[i], ==, big->labels[i]);
      else
        hidden++;
    }
  g_assert_cmpuint (hidden, >, 0);
}

static void
test_scenes_statistics (void)
{
  const int c = 12, size = 32;
  const guint count = 300;
  g_autoptr(GafDataset) ds = gaf_dataset_new_scenes (c, size, size, count, 1, GAF_SPLIT_TRAIN);
  g_autoptr(GafDataset) small = gaf_dataset_new_scenes (c, 16, 16, count, 1, GAF_SPLIT_TRAIN);
  g_autofree guint *maps_with = g_new0 (guint, c);
  g_autofree guint *maps_with16 = g_new0 (guint, c);
  gsize n = (gsize) size * size;
  double regions, agree, regions16, agree16;

  for (guint m = 0; m < count; m++)
    {
      gboolean seen[12] = { FALSE }, seen16[12] = { FALSE };
      for (gsize i = 0; i < n; i++)
        seen[ds->labels[m * n + i]] = TRUE;
      for (gsize i = 0; i < 256; i++)
        seen16[small->labels[m * 256 + i]] = TRUE;
      for (int j = 0; j < c; j++)
        {
          maps_with[j] += seen[j];
          maps_with16[j] += seen16[j];
        }
    }
  for (int j = 0; j < c; j++)
    {
      g_autofree char *name = gaf_scene_class_name (j);
      g_test_message ("class %d (%s): in %u of %u maps at 32 x 32, %u at 16 x 16", j, name, maps_with[j], count,
                      maps_with16[j]);
      /* Every class in at least 5 % of the maps at both sizes (the rarest kind, one extra object kind
       * of four, is in about 1/4 * 2 objects ~ 45 % of maps before occlusion). */
      g_assert_cmpuint (maps_with[j], >=, count / 20);
      g_assert_cmpuint (maps_with16[j], >=, count / 20);
    }
  g_assert_cmpuint (maps_with[GAF_SCENE_SKY], ==, count);
  g_assert_cmpuint (maps_with[GAF_SCENE_GROUND], ==, count);

  regions = gaf_label_maps_mean_regions (ds->labels, count, size, size);
  agree = gaf_label_maps_neighbour_agreement (ds->labels, count, size, size);
  regions16 = gaf_label_maps_mean_regions (small->labels, count, 16, 16);
  agree16 = gaf_label_maps_neighbour_agreement (small->labels, count, 16, 16);
  g_test_message ("scenes c = %d: %.2f regions per map, neighbour agreement %.4f at 32 x 32; %.2f and %.4f at "
                  "16 x 16", c, regions, agree, regions16, agree16);
  /* Regions, not noise: a handful of regions (sky, ground split by a road, objects), and neighbours
   * agree far more often than the 1/c of independent pixels. */
  g_assert_cmpfloat (regions, >=, 4.0);
  g_assert_cmpfloat (regions, <=, 20.0);
  g_assert_cmpfloat (agree, >=, 0.85);
  g_assert_cmpfloat (regions16, >=, 3.0);
  g_assert_cmpfloat (regions16, <=, 20.0);
  g_assert_cmpfloat (agree16, >=, 0.75);
}

/* ---- folders ----------------------------------------------------------------------------------- */

static guint16 *
random_map (GafRng *rng, int h, int w, int c)
{
  guint16 *l = g_new (guint16, (gsize) h * w);

  for (int i = 0; i < h * w; i++)
    l[i] = (guint16) gaf_rng_below (rng, c);
  return l;
}

static void
assert_error_has (GError *error, const char *a, const char *b)
{
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  if (a != NULL && strstr (error->message, a) == NULL)
    g_error ("'%s' not in the message '%s'", a, error->message);
  if (b != NULL && strstr (error->message, b) == NULL)
    g_error ("'%s' not in the message '%s'", b, error->message);
}

static void
test_folder_round_trip (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *p1 = g_build_filename (dir, "b.pgm", NULL);
  g_autofree char *p2 = g_build_filename (dir, "a.png", NULL);
  g_autofree char *p3 = g_build_filename (dir, "c.PNG", NULL);
  g_autofree char *p4 = g_build_filename (dir, "notes.txt", NULL);
  g_autofree guint8 *pal = gaf_palette_new (GAF_PALETTE_CLASSES, 5);
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) ds = NULL;
  GafRng rng;
  const int h = 7, w = 9;
  g_autofree guint16 *m1 = NULL, *m2 = NULL, *m3 = NULL;

  gaf_rng_init (&rng, 11);
  m1 = random_map (&rng, h, w, 5);
  m2 = random_map (&rng, h, w, 5);
  m3 = random_map (&rng, h, w, 3);
  gaf_label_map_write_pgm (p1, m1, h, w, 5, &error);
  g_assert_no_error (error);
  gaf_label_map_write_png (p2, m2, h, w, 5, pal, &error);      /* palette, 4 bits */
  g_assert_no_error (error);
  gaf_label_map_write_png (p3, m3, h, w, 3, NULL, &error);     /* gray, 2 bits */
  g_assert_no_error (error);
  write_file (p4, "not a map", 9);

  ds = gaf_dataset_new_folder (dir, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ds->count, ==, 3);
  g_assert_cmpint (ds->width, ==, w);
  g_assert_cmpint (ds->height, ==, h);
  g_assert_cmpint (ds->c, ==, 5);   /* inferred: the largest value + 1 */
  /* Sorted by name: "a.png" < "b.pgm" < "c.PNG". */
  g_assert_cmpstr (ds->files[0], ==, "a.png");
  g_assert_cmpstr (ds->files[1], ==, "b.pgm");
  g_assert_cmpstr (ds->files[2], ==, "c.PNG");
  g_assert_null (ds->files[3]);
  g_assert_cmpmem (gaf_dataset_item (ds, 0), h * w * 2, m2, h * w * 2);
  g_assert_cmpmem (gaf_dataset_item (ds, 1), h * w * 2, m1, h * w * 2);
  g_assert_cmpmem (gaf_dataset_item (ds, 2), h * w * 2, m3, h * w * 2);
  g_assert_cmpint (ds->palette, ==, GAF_PALETTE_CLASSES);
  g_clear_pointer (&ds, gaf_dataset_free);

  /* Given classes. */
  ds = gaf_dataset_new_folder (dir, 9, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->c, ==, 9);
  g_clear_pointer (&ds, gaf_dataset_free);
  remove_tree (dir);
}

/* Every depth and kind the writers make reads back bit-exact: PNG gray 1/2/4/8/16 bits, palette
 * 1/2/4/8 bits, PGM 8 and 16 bits. */
static void
test_label_image_formats (void)
{
  static const int cs[] = { 2, 3, 4, 5, 16, 17, 256, 257, 65536 };
  g_autofree char *dir = make_tmp_dir ();
  g_autoptr(GError) error = NULL;
  GafRng rng;

  gaf_rng_init (&rng, 5);
  for (guint k = 0; k < G_N_ELEMENTS (cs); k++)
    for (int kind = 0; kind < 3; kind++)
      {
        int c = cs[k], h = 5 + k, w = 11 - k;
        g_autofree guint16 *m = random_map (&rng, h, w, c);
        g_autofree guint8 *pal = c <= 256 ? gaf_palette_new (GAF_PALETTE_CLASSES, c) : NULL;
        g_autofree char *path = g_build_filename (dir, kind == 0 ? "m.pgm" : "m.png", NULL);
        GafLabelImage img;

        if (kind == 2 && c > 256)
          continue;  /* no palettes beyond 256 entries */
        m[0] = (guint16) (c - 1);  /* the largest class is present */
        if (kind == 0)
          gaf_label_map_write_pgm (path, m, h, w, c, &error);
        else
          gaf_label_map_write_png (path, m, h, w, c, kind == 2 ? pal : NULL, &error);
        g_assert_no_error (error);
        gaf_label_image_load (path, &img, &error);
        g_assert_no_error (error);
        g_assert_cmpint (img.width, ==, w);
        g_assert_cmpint (img.height, ==, h);
        g_assert_cmpuint (img.max_value, ==, c - 1);
        g_assert_cmpmem (img.values, h * w * 2, m, h * w * 2);
        gaf_label_image_clear (&img);
      }
  /* A label beyond c is refused by the writers. */
  {
    guint16 bad[4] = { 0, 1, 2, 3 };
    g_autofree char *path = g_build_filename (dir, "bad.png", NULL);
    g_assert_false (gaf_label_map_write_png (path, bad, 2, 2, 3, NULL, &error));
    assert_error_has (error, "label 3 at index 3", NULL);
    g_clear_error (&error);
    g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  }
  remove_tree (dir);
}

static void
test_folder_errors (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *sub = g_build_filename (dir, "maps", NULL);
  g_autofree char *a = g_build_filename (sub, "a.pgm", NULL);
  g_autofree char *b = g_build_filename (sub, "b.png", NULL);
  g_autoptr(GError) error = NULL;
  GafDataset *ds;
  guint16 m[12] = { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2 };
  guint16 m4[12] = { 0, 1, 2, 0, 1, 2, 4, 1, 2, 0, 1, 2 };  /* value 4 at (x 2, y 1) of a 4-wide map */
  GafGridLayout layout;
  GafLabelImage img;

  g_assert_cmpint (g_mkdir (sub, 0755), ==, 0);

  /* Missing folder, empty folder (a subfolder named *.png does not count). */
  ds = gaf_dataset_new_folder (dir, 0, &error);
  assert_error_has (error, "no label maps (*.pgm or *.png files)", dir);
  g_assert_null (ds);
  g_clear_error (&error);
  ds = gaf_dataset_new_folder ("/nonexistent/gaflow-maps", 0, &error);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  assert_error_has (error, "/nonexistent/gaflow-maps", NULL);
  g_clear_error (&error);

  /* Sizes differ (3 x 4 against 4 x 3). */
  gaf_label_map_write_pgm (a, m, 3, 4, 3, &error);
  g_assert_no_error (error);
  gaf_label_map_write_png (b, m, 4, 3, 3, NULL, &error);
  g_assert_no_error (error);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: 3 x 4 pixels, but", "a.pgm has 4 x 3 (all maps of a folder must have one size)");
  g_assert_null (ds);
  g_clear_error (&error);

  /* A value >= c: names the file, the pixel and the value. */
  gaf_label_map_write_png (b, m4, 3, 4, 5, NULL, &error);
  g_assert_no_error (error);
  ds = gaf_dataset_new_folder (sub, 3, &error);
  assert_error_has (error, "b.png: pixel (x 2, y 1) has value 4, not a class below 3", NULL);
  g_clear_error (&error);
  ds = gaf_dataset_new_folder (sub, 0, &error);  /* inferred c = 5 is fine */
  g_assert_no_error (error);
  g_assert_cmpint (ds->c, ==, 5);
  gaf_dataset_free (ds);

  /* An RGB PNG (a grid picture) is not a label map. */
  gaf_grid_layout_init (&layout);
  {
    g_autofree guint8 *pal = gaf_palette_new (GAF_PALETTE_GRAY, 3);
    gaf_label_grid_write_png (b, m, 1, 3, 4, 3, pal, &layout, &error);
    g_assert_no_error (error);
  }
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: an RGB PNG is not a label map", NULL);
  g_clear_error (&error);

  /* Not a PGM or PNG at all; an ASCII PGM; a truncated PGM; a truncated PNG. */
  write_file (b, "hello, world", 12);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: not a PGM or PNG file", NULL);
  g_clear_error (&error);
  write_file (b, "P2\n2 1\n3\n0 1\n", 13);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: a P2 file; only binary gray PGM (P5) is read", NULL);
  g_clear_error (&error);
  write_file (b, "P5\n# comment\n4 3\n2\n\0\1\2", sizeof "P5\n# comment\n4 3\n2\n\0\1\2" - 1);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: truncated PGM: 4 x 3 pixels need 12 bytes, the file has 3", NULL);
  g_clear_error (&error);
  write_file (b, "P5 4 3 2\n\0\1\2\0\1\2\0\1\3\0\1\2", 21);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  assert_error_has (error, "b.png: pixel (x 0, y 2) has value 3 above the maxval 2", NULL);
  g_clear_error (&error);
  {
    g_autofree char *data = NULL;
    gsize len;
    gaf_label_map_write_png (b, m, 3, 4, 3, NULL, &error);
    g_assert_no_error (error);
    g_file_get_contents (b, &data, &len, &error);
    g_assert_no_error (error);
    write_file (b, data, len - 20);
    ds = gaf_dataset_new_folder (sub, 0, &error);
    assert_error_has (error, "b.png: bad PNG:", NULL);
    g_clear_error (&error);
  }

  /* An unreadable file: a dangling symbolic link. */
  g_remove (b);
  g_assert_cmpint (symlink ("/nonexistent/gaflow-target.png", b), ==, 0);
  ds = gaf_dataset_new_folder (sub, 0, &error);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  assert_error_has (error, "b.png", NULL);
  g_clear_error (&error);
  g_assert_false (gaf_label_image_load (b, &img, &error));
  g_clear_error (&error);

  /* Classes out of range. */
  ds = gaf_dataset_new_folder (sub, 1, &error);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  remove_tree (dir);
}

/* ---- specs ------------------------------------------------------------------------------------- */

static void
test_spec (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *comma_dir = g_build_filename (dir, "a,b", NULL);
  g_autofree char *map = g_build_filename (comma_dir, "m.pgm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GafDataset) again = NULL;
  guint16 m[6] = { 0, 1, 1, 0, 1, 0 };
  static const struct { const char *spec; const char *a; const char *b; } bad[] = {
    { "mnist:levels=2", "unknown kind 'mnist'", NULL },
    { "scenes:colours=3", "unknown option 'colours' (known: classes, size, count, seed, split, shuffle)", NULL },
    { "scenes:classes=3,classes=4", "option 'classes' is given twice", NULL },
    { "scenes:classes=1", "classes must be a whole number from 2 to 65536, not '1'", NULL },
    { "scenes:classes=x", "classes must be a whole number", NULL },
    { "scenes:size=32x", "size (height) must be a whole number from 2 to 1024, not ''", NULL },
    { "scenes:size=4096", "size must be a whole number from 2 to 1024", NULL },
    { "scenes:count=0", "count must be a whole number from 1", NULL },
    { "scenes:classes=3,", "a comma at the end", NULL },
    { "scenes:classes", "'classes' is not key=value", NULL },
    { "scenes:split=val", "split must be 'train' or 'test', not 'val'", NULL },
    { "scenes:seed=", "option 'seed' has no value", NULL },
    { "scenes:size=1024,count=2000", "are more than 1073741824 labels", NULL },
    { "fashion-mnist:size=20", "size must be 16, 28 or 32, not 20", NULL },
    { "fashion-mnist:levels=300", "levels must be a whole number from 2 to 256, not '300'", NULL },
    { "fashion-mnist:limit=-1", "limit must be a whole number", NULL },
    { "fashion-mnist:dir=/nonexistent/fm", "/nonexistent/fm/train-images-idx3-ubyte.gz", NULL },
    { "folder:", "folder: needs a directory", NULL },
    { "folder:,classes=3", "folder: needs a directory", NULL },
    { "folder:x,classes=3,classes=3", "option 'classes' is given twice", NULL },
    { "folder:x,classes=1", "classes must be a whole number from 2", NULL },
    { "scenes:shuffle=yes", "shuffle must be a whole number from 0", NULL },
    { "scenes:shuffle=-1", "shuffle must be a whole number from 0", NULL },
    { "fashion-mnist:shuffle=1,shuffle=2", "option 'shuffle' is given twice", NULL },
    { "folder:x,shuffle=1,classes=3,shuffle=2", "option 'shuffle' is given twice", NULL },
    { "folder:x,shuffle=z", "shuffle must be a whole number from 0", NULL },
  };

  ds = gaf_dataset_new_from_spec ("scenes:classes=5,size=16,count=12,seed=9,split=test", &error);
  g_assert_no_error (error);
  g_assert_cmpint (ds->kind, ==, GAF_DATASET_SCENES);
  g_assert_cmpint (ds->c, ==, 5);
  g_assert_cmpint (ds->height, ==, 16);
  g_assert_cmpuint (ds->count, ==, 12);
  g_assert_nonnull (strstr (ds->description, "test split"));
  /* The name is a spec for the same data. */
  again = gaf_dataset_new_from_spec (ds->name, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again->name, ==, ds->name);
  g_assert_cmpmem (again->labels, 12 * 256 * 2, ds->labels, 12 * 256 * 2);
  g_clear_pointer (&ds, gaf_dataset_free);
  g_clear_pointer (&again, gaf_dataset_free);

  ds = gaf_dataset_new_from_spec ("scenes", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ds->name, ==, "scenes:classes=8,size=32,count=10000,seed=1,split=train");
  g_clear_pointer (&ds, gaf_dataset_free);

  /* A folder whose name has a comma. */
  g_assert_cmpint (g_mkdir (comma_dir, 0755), ==, 0);
  gaf_label_map_write_pgm (map, m, 2, 3, 2, &error);
  g_assert_no_error (error);
  {
    g_autofree char *spec = g_strdup_printf ("folder:%s,classes=4", comma_dir);
    ds = gaf_dataset_new_from_spec (spec, &error);
    g_assert_no_error (error);
    g_assert_cmpint (ds->c, ==, 4);
    g_assert_cmpuint (ds->count, ==, 1);
    g_assert_cmpstr (ds->name, ==, spec);
    g_clear_pointer (&ds, gaf_dataset_free);
    g_free (spec);
    spec = g_strdup_printf ("folder:%s", comma_dir);
    ds = gaf_dataset_new_from_spec (spec, &error);
    g_assert_no_error (error);
    g_assert_cmpint (ds->c, ==, 2);
    g_assert_cmpint (ds->palette, ==, GAF_PALETTE_GRAY);
    g_clear_pointer (&ds, gaf_dataset_free);
  }

  if (g_file_test (GAF_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      ds = gaf_dataset_new_from_spec ("fashion-mnist:levels=4,size=16,split=test,limit=100", &error);
      g_assert_no_error (error);
      g_assert_cmpint (ds->c, ==, 4);
      g_assert_cmpint (ds->width, ==, 16);
      g_assert_cmpuint (ds->count, ==, 100);
      g_assert_cmpstr (ds->name, ==, "fashion-mnist:levels=4,size=16,split=test,limit=100");
      g_clear_pointer (&ds, gaf_dataset_free);
    }

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      ds = gaf_dataset_new_from_spec (bad[i].spec, &error);
      g_assert_null (ds);
      g_assert_error (error, GAF_ERROR, g_str_has_prefix (bad[i].spec, "fashion-mnist:dir") ? GAF_ERROR_IO
                                                                                           : GAF_ERROR_INVALID_ARGUMENT);
      assert_error_has (error, bad[i].a, bad[i].b);
      g_clear_error (&error);
    }
  remove_tree (dir);
}

/* ---- pixel shuffling --------------------------------------------------------------------------- */

static void
class_counts (const guint16 *map, gsize n, int c, guint *counts)
{
  memset (counts, 0, sizeof (guint) * c);
  for (gsize i = 0; i < n; i++)
    counts[map[i]]++;
}

static void
test_shuffle_spec (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) plain = gaf_dataset_new_from_spec ("scenes:classes=5,size=8,count=40,seed=3,split=test",
                                                           &error);
  g_autoptr(GafDataset) sh = NULL, again = NULL, other = NULL, few = NULL, off = NULL;
  gsize n = 64, moved = 0;
  guint ca[5], cb[5];

  g_assert_no_error (error);
  sh = gaf_dataset_new_from_spec ("scenes:classes=5,size=8,count=40,seed=3,split=test,shuffle=7", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sh->name, ==, "scenes:classes=5,size=8,count=40,seed=3,split=test,shuffle=7");
  g_assert_nonnull (strstr (sh->description, "permuted (seed 7"));
  g_assert_cmpuint (sh->count, ==, 40);
  /* Every map keeps its class counts; the pixels move. */
  for (guint m = 0; m < sh->count; m++)
    {
      class_counts (gaf_dataset_item (plain, m), n, 5, ca);
      class_counts (gaf_dataset_item (sh, m), n, 5, cb);
      g_assert_cmpmem (ca, sizeof ca, cb, sizeof cb);
      for (gsize i = 0; i < n; i++)
        moved += gaf_dataset_item (plain, m)[i] != gaf_dataset_item (sh, m)[i];
    }
  g_assert_cmpuint (moved, >, 40 * n / 10);
  /* The spatial structure is gone: neighbours agree far less often than in the scenes. */
  g_assert_cmpfloat (gaf_label_maps_neighbour_agreement (sh->labels, 40, 8, 8), <,
                     gaf_label_maps_neighbour_agreement (plain->labels, 40, 8, 8) - 0.2);

  /* The name loads the same data; another seed gives other permutations; map i does not depend on the
   * count; shuffle=0 is off. */
  again = gaf_dataset_new_from_spec (sh->name, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (again->labels, 40 * n * 2, sh->labels, 40 * n * 2);
  other = gaf_dataset_new_from_spec ("scenes:classes=5,size=8,count=40,seed=3,split=test,shuffle=8", &error);
  g_assert_no_error (error);
  g_assert_true (memcmp (other->labels, sh->labels, 40 * n * 2) != 0);
  few = gaf_dataset_new_from_spec ("scenes:classes=5,size=8,count=6,seed=3,split=test,shuffle=7", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (few->labels, 6 * n * 2, sh->labels, 6 * n * 2);
  off = gaf_dataset_new_from_spec ("scenes:classes=5,size=8,count=40,seed=3,split=test,shuffle=0", &error);
  g_assert_no_error (error);
  g_assert_cmpmem (off->labels, 40 * n * 2, plain->labels, 40 * n * 2);
  g_assert_cmpstr (off->name, ==, plain->name);
}

/* Fisher-Yates gives each of the 4! orders of four distinct labels with probability 1/24. */
static void
test_shuffle_uniform (void)
{
  const guint count = 24000;
  GafDataset ds = { 0 };
  guint hist[256] = { 0 };
  double chi2 = 0.0;
  guint seen = 0;

  ds.c = 4;
  ds.height = 1;
  ds.width = 4;
  ds.count = count;
  ds.labels = g_new (guint16, count * 4);
  for (guint m = 0; m < count; m++)
    for (int i = 0; i < 4; i++)
      ds.labels[m * 4 + i] = (guint16) i;
  gaf_dataset_shuffle_pixels (&ds, 11);
  for (guint m = 0; m < count; m++)
    {
      const guint16 *p = ds.labels + m * 4;
      guint code = p[0] | p[1] << 2 | p[2] << 4 | p[3] << 6;
      guint mask = 1u << p[0] | 1u << p[1] | 1u << p[2] | 1u << p[3];
      g_assert_cmpuint (mask, ==, 15);   /* still a permutation */
      hist[code]++;
    }
  for (guint k = 0; k < 256; k++)
    if (hist[k] > 0)
      {
        double e = count / 24.0;
        seen++;
        chi2 += (hist[k] - e) * (hist[k] - e) / e;
      }
  g_assert_cmpuint (seen, ==, 24);
  /* 23 degrees of freedom: P(chi2 > 49.7) = 0.001 */
  g_test_message ("chi2 = %.2f over 24 orders", chi2);
  g_assert_cmpfloat (chi2, <, 49.7);
  g_free (ds.labels);
}

/* shuffle on a folder (trailing options in either order) and on Fashion-MNIST from another folder (the
 * option goes before dir=, which takes the rest of the spec). */
static void
test_shuffle_folder_fashion (void)
{
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *map = g_build_filename (dir, "m.pgm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) a = NULL, b = NULL;
  guint16 m[12] = { 0, 1, 1, 0, 1, 0, 2, 2, 0, 1, 0, 0 };
  guint ca[4], cb[4];

  gaf_label_map_write_pgm (map, m, 4, 3, 3, &error);
  g_assert_no_error (error);
  {
    g_autofree char *s1 = g_strdup_printf ("folder:%s,shuffle=5,classes=4", dir);
    g_autofree char *s2 = g_strdup_printf ("folder:%s,classes=4,shuffle=5", dir);
    a = gaf_dataset_new_from_spec (s1, &error);
    g_assert_no_error (error);
    b = gaf_dataset_new_from_spec (s2, &error);
    g_assert_no_error (error);
    g_assert_cmpint (a->c, ==, 4);
    g_assert_cmpstr (a->name, ==, s2);
    g_assert_cmpmem (a->labels, sizeof m, b->labels, sizeof m);
    g_assert_true (memcmp (a->labels, m, sizeof m) != 0);
    class_counts (m, 12, 4, ca);
    class_counts (a->labels, 12, 4, cb);
    g_assert_cmpmem (ca, sizeof ca, cb, sizeof cb);
    g_clear_pointer (&a, gaf_dataset_free);
    g_clear_pointer (&b, gaf_dataset_free);
  }

  if (g_file_test (GAF_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      static const char *const files[] = { "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz" };
      g_autofree char *fm = g_build_filename (dir, "fm", NULL);
      g_autofree char *spec = NULL, *expect = NULL;

      g_assert_cmpint (g_mkdir (fm, 0755), ==, 0);
      for (guint i = 0; i < G_N_ELEMENTS (files); i++)
        {
          g_autofree char *src = g_build_filename (GAF_FASHION_MNIST_DIR, files[i], NULL);
          g_autofree char *dst = g_build_filename (fm, files[i], NULL);
          g_assert_cmpint (symlink (src, dst), ==, 0);
        }
      spec = g_strdup_printf ("fashion-mnist:size=16,split=test,limit=20,shuffle=3,dir=%s", fm);
      expect = g_strdup_printf ("fashion-mnist:levels=2,size=16,split=test,limit=20,shuffle=3,dir=%s", fm);
      a = gaf_dataset_new_from_spec (spec, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (a->name, ==, expect);
      b = gaf_dataset_new_from_spec (a->name, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (a->labels, 20 * 256 * 2, b->labels, 20 * 256 * 2);
      g_assert_cmpmem (a->classes, 20, b->classes, 20);
      g_clear_pointer (&b, gaf_dataset_free);
      b = gaf_dataset_new_from_spec ("fashion-mnist:size=16,split=test,limit=20", &error);
      g_assert_no_error (error);
      g_assert_cmpmem (a->classes, 20, b->classes, 20);   /* garment classes stay with their maps */
      for (guint i = 0; i < 20; i++)
        {
          guint da[2], db[2];
          class_counts (gaf_dataset_item (a, i), 256, 2, da);
          class_counts (gaf_dataset_item (b, i), 256, 2, db);
          g_assert_cmpmem (da, sizeof da, db, sizeof db);
        }
    }
  remove_tree (dir);
}

/* ---- sampling and marginals -------------------------------------------------------------------- */

static void
test_dataset_sample (void)
{
  g_autoptr(GafDataset) ds = gaf_dataset_new_scenes (6, 8, 8, 4, 2, GAF_SPLIT_TRAIN);
  GafLabelFunc func = gaf_dataset_sample;  /* usable as a trainer's label source */
  const int batch = 4000;
  g_autofree guint16 *l1 = g_new (guint16, (gsize) batch * 64);
  g_autofree guint16 *l2 = g_new (guint16, (gsize) batch * 64);
  g_autofree double *p = gaf_dataset_marginals (ds);
  guint hits[4] = { 0 };
  GafRng rng;

  for (guint a = 0; a < 4; a++)
    for (guint b = a + 1; b < 4; b++)
      g_assert_true (memcmp (gaf_dataset_item (ds, a), gaf_dataset_item (ds, b), 128) != 0);
  gaf_rng_init (&rng, 3);
  func (ds, &rng, l1, batch);
  gaf_rng_init (&rng, 3);
  func (ds, &rng, l2, batch);
  g_assert_cmpmem (l1, batch * 128, l2, batch * 128);  /* seeded */
  for (int b = 0; b < batch; b++)
    {
      int which = -1;
      for (guint a = 0; a < 4; a++)
        if (memcmp (l1 + (gsize) b * 64, gaf_dataset_item (ds, a), 128) == 0)
          which = a;
      g_assert_cmpint (which, >=, 0);
      hits[which]++;
    }
  /* Uniform: 1000 each, standard deviation 27; 6 sigma. */
  for (int a = 0; a < 4; a++)
    g_assert_cmpint (abs ((int) hits[a] - 1000), <, 165);

  /* Marginals: counts of the 4 maps / 4. */
  for (int i = 0; i < 64; i++)
    {
      double sum = 0.0;
      for (int j = 0; j < 6; j++)
        {
          int k = 0;
          for (guint a = 0; a < 4; a++)
            k += gaf_dataset_item (ds, a)[i] == j;
          g_assert_cmpfloat (p[i * 6 + j], ==, k / 4.0);
          sum += p[i * 6 + j];
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-12);
    }
}

/* ---- statistics -------------------------------------------------------------------------------- */

static void
test_stats_marginal_kl (void)
{
  /* n = 2 pixels, c = 2. a = {[0, 0], [0, 1]}, b = {[1, 1], [1, 1]}; smoothing 1/2:
   * pixel 0: p_a = (2.5, 0.5) / 3, p_b = (0.5, 2.5) / 3 -> KL = (5/6 - 1/6) ln 5 = (2/3) ln 5;
   * pixel 1: p_a = (1.5, 1.5) / 3, p_b = (1/6, 5/6) -> KL = 0.5 ln 3 + 0.5 ln 0.6 = 0.5 ln 1.8. */
  const guint16 a[4] = { 0, 0, 0, 1 }, b[4] = { 1, 1, 1, 1 };
  double want = ((2.0 / 3.0) * log (5.0) + 0.5 * log (1.8)) / 2.0;
  double pa[4], pb[4], kl;

  kl = gaf_label_maps_marginal_kl (a, 2, b, 2, 2, 2);
  g_assert_cmpfloat_with_epsilon (kl, want, 1e-12);
  g_assert_cmpfloat_with_epsilon (gaf_label_maps_marginal_kl (a, 2, a, 2, 2, 2), 0.0, 1e-15);
  gaf_label_maps_marginals (a, 2, 2, 2, 0.0, pa);
  g_assert_cmpfloat (pa[0], ==, 1.0);
  g_assert_cmpfloat (pa[1], ==, 0.0);
  g_assert_cmpfloat (pa[2], ==, 0.5);
  g_assert_cmpfloat (pa[3], ==, 0.5);
  gaf_label_maps_marginals (b, 2, 2, 2, 0.0, pb);
  /* Unsmoothed: at pixel 0 p_b = (0, 1) is 0 where p_a = (1, 0) is not: +inf. */
  g_assert_true (isinf (gaf_marginals_kl (pa, pb, 2, 2)));
  {
    double p[2] = { 1.0, 0.0 }, q[2] = { 0.5, 0.5 };
    g_assert_cmpfloat_with_epsilon (gaf_marginals_kl (p, q, 1, 2), log (2.0), 1e-15);
    g_assert_true (isinf (gaf_marginals_kl (q, p, 1, 2)));
  }
}

static void
test_stats_neighbours_regions (void)
{
  /* [[0, 0, 1],
   *  [0, 1, 1]]: horizontal pairs 00 01 | 01 11 -> 2 of 4 agree; vertical 00 01 11 -> 2 of 3: 4/7.
   * Regions: the 0s (3 pixels) and the 1s (3 pixels): 2. */
  const guint16 m1[6] = { 0, 0, 1, 0, 1, 1 };
  /* [[0, 1],
   *  [1, 0]]: no pair agrees; diagonal pixels are not 4-connected: 4 regions. */
  const guint16 m2[4] = { 0, 1, 1, 0 };
  /* A plus of 1s on 3 x 3 with 0 corners: 5 regions; agreement: each row/column 0 1 0 or 1 1 1:
   * rows: (0,1)(1,0) | (1,1)(1,1) | (0,1)(1,0) -> 2 of 6; columns the same -> 4 of 12 = 1/3. */
  const guint16 plus[9] = { 0, 1, 0, 1, 1, 1, 0, 1, 0 };
  guint16 two[12];
  const guint16 constant[6] = { 3, 3, 3, 3, 3, 3 };
  guint16 checker[9];

  g_assert_cmpfloat_with_epsilon (gaf_label_maps_neighbour_agreement (m1, 1, 2, 3), 4.0 / 7.0, 1e-15);
  g_assert_cmpfloat (gaf_label_maps_mean_regions (m1, 1, 2, 3), ==, 2.0);
  g_assert_cmpfloat (gaf_label_maps_neighbour_agreement (m2, 1, 2, 2), ==, 0.0);
  g_assert_cmpfloat (gaf_label_maps_mean_regions (m2, 1, 2, 2), ==, 4.0);
  g_assert_cmpfloat_with_epsilon (gaf_label_maps_neighbour_agreement (plus, 1, 3, 3), 1.0 / 3.0, 1e-15);
  g_assert_cmpfloat (gaf_label_maps_mean_regions (plus, 1, 3, 3), ==, 5.0);
  g_assert_cmpfloat (gaf_label_maps_neighbour_agreement (constant, 1, 2, 3), ==, 1.0);
  g_assert_cmpfloat (gaf_label_maps_mean_regions (constant, 1, 2, 3), ==, 1.0);
  for (int i = 0; i < 9; i++)
    checker[i] = (i / 3 + i % 3) % 2;
  g_assert_cmpfloat (gaf_label_maps_mean_regions (checker, 1, 3, 3), ==, 9.0);
  /* Two maps: the mean of 2 and 1 regions; pairs pooled: (4 + 7) of 14. */
  memcpy (two, m1, sizeof m1);
  memcpy (two + 6, constant, sizeof constant);
  g_assert_cmpfloat (gaf_label_maps_mean_regions (two, 2, 2, 3), ==, 1.5);
  g_assert_cmpfloat_with_epsilon (gaf_label_maps_neighbour_agreement (two, 2, 2, 3), 11.0 / 14.0, 1e-15);
  /* A spiral-free but long snake region: a 1-pixel-wide path through a 5 x 5 map is one region. */
  {
    const guint16 snake[25] = {
      1, 1, 1, 1, 1,
      0, 0, 0, 0, 1,
      1, 1, 1, 1, 1,
      1, 0, 0, 0, 0,
      1, 1, 1, 1, 1,
    };
    g_assert_cmpfloat (gaf_label_maps_mean_regions (snake, 1, 5, 5), ==, 3.0);
  }
  /* One pixel: no pairs. */
  g_assert_true (isnan (gaf_label_maps_neighbour_agreement (constant, 1, 1, 1)));
}

static void
test_independent_sampler (void)
{
  /* Three pixels, four classes; zero-probability classes at the start, middle and end. */
  const double p[12] = {
    0.1, 0.2, 0.3, 0.4,
    1.0, 0.0, 0.0, 0.0,
    0.0, 0.5, 0.0, 0.5,
  };
  const int N = 200000;
  g_autofree guint16 *l = g_new (guint16, (gsize) N * 3);
  g_autofree guint16 *l2 = g_new (guint16, 3 * 100);
  g_autofree double *q = g_new (double, 12);
  g_autoptr(GafIndependentSampler) s = gaf_independent_sampler_new (p, 3, 4);
  GafLabelFunc func = gaf_independent_sampler_sample;
  GafRng rng;
  guint joint = 0;

  gaf_rng_init (&rng, 21);
  func (s, &rng, l, N);
  gaf_label_maps_marginals (l, N, 3, 4, 0.0, q);
  /* Standard error sqrt(p (1 - p) / N) <= 0.0012: tolerance 0.006 (5 standard errors). Zeros exact. */
  for (int k = 0; k < 12; k++)
    {
      if (p[k] == 0.0 || p[k] == 1.0)
        g_assert_cmpfloat (q[k], ==, p[k]);
      else
        g_assert_cmpfloat_with_epsilon (q[k], p[k], 0.006);
    }
  /* Independence: P(x0 = 3, x2 = 1) = 0.4 * 0.5 = 0.2 (standard error 0.0009). */
  for (int b = 0; b < N; b++)
    joint += l[3 * b] == 3 && l[3 * b + 2] == 1;
  g_assert_cmpfloat_with_epsilon ((double) joint / N, 0.2, 0.005);
  /* The marginal KL of the (unsmoothed) sample frequencies against the marginals is at the
   * finite-sample level, about (classes - 1) / (2 N) = 7.5e-6 per pixel here. */
  g_test_message ("KL(sample frequencies || marginals) = %.2e", gaf_marginals_kl (q, p, 3, 4));
  g_assert_cmpfloat (gaf_marginals_kl (q, p, 3, 4), <, 1e-4);
  /* Seeded. */
  gaf_rng_init (&rng, 21);
  func (s, &rng, l2, 100);
  g_assert_cmpmem (l2, 600, l, 600);
  /* From a dataset's marginals: the sampler reproduces them. */
  {
    g_autoptr(GafDataset) ds = gaf_dataset_new_scenes (5, 12, 12, 400, 4, GAF_SPLIT_TRAIN);
    g_autofree double *m = gaf_dataset_marginals (ds);
    g_autoptr(GafIndependentSampler) si = gaf_independent_sampler_new (m, 144, 5);
    g_autofree guint16 *x = g_new (guint16, (gsize) 4000 * 144);
    g_autofree double *mx = g_new (double, 144 * 5);
    double kl, kl_self, agree_x, agree_d;

    gaf_independent_sampler_sample (si, &rng, x, 4000);
    gaf_label_maps_marginals (x, 4000, 144, 5, 0.0, mx);
    for (int k = 0; k < 144 * 5; k++)
      g_assert_cmpfloat_with_epsilon (mx[k], m[k], 0.04);  /* 5 standard errors at N = 4000 */
    kl = gaf_label_maps_marginal_kl (x, 4000, ds->labels, 400, 144, 5);
    kl_self = gaf_label_maps_marginal_kl (ds->labels, 400, ds->labels, 400, 144, 5);
    agree_x = gaf_label_maps_neighbour_agreement (x, 4000, 12, 12);
    agree_d = gaf_label_maps_neighbour_agreement (ds->labels, 400, 12, 12);
    g_test_message ("independent sampler on scene marginals: marginal KL %.5f; neighbour agreement %.3f "
                    "against the data's %.3f", kl, agree_x, agree_d);
    g_assert_cmpfloat (kl_self, ==, 0.0);
    g_assert_cmpfloat (kl, <, 0.01);
    /* It has the marginals but not the coupling. */
    g_assert_cmpfloat (agree_x, <, agree_d - 0.05);
  }
}

/* ---- palettes and pictures --------------------------------------------------------------------- */

static void
test_palettes (void)
{
  g_autofree guint8 *bw = gaf_palette_new (GAF_PALETTE_GRAY, 2);
  g_autofree guint8 *g4 = gaf_palette_new (GAF_PALETTE_GRAY, 4);
  static const guint8 bw_want[6] = { 0, 0, 0, 255, 255, 255 };
  static const guint8 g4_want[12] = { 0, 0, 0, 85, 85, 85, 170, 170, 170, 255, 255, 255 };

  g_assert_cmpmem (bw, 6, bw_want, 6);
  g_assert_cmpmem (g4, 12, g4_want, 12);
  for (int kind = GAF_PALETTE_SCENES; kind <= GAF_PALETTE_CLASSES; kind++)
    {
      g_autofree guint8 *p = gaf_palette_new (kind, 40);
      /* Distinct colours: every pair differs by more than 12 in some channel. */
      for (int a = 0; a < 40; a++)
        for (int b = a + 1; b < 40; b++)
          {
            int d = 0;
            for (int ch = 0; ch < 3; ch++)
              d = MAX (d, abs ((int) p[3 * a + ch] - p[3 * b + ch]));
            if (d <= 12)
              g_error ("palette %d: colours %d and %d are too close", kind, a, b);
          }
    }
}

static guint8 *
read_rgb_png (const char *path, int *w, int *h)
{
  png_image image;
  guint8 *buf;

  memset (&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  g_assert_true (png_image_begin_read_from_file (&image, path));
  g_assert_true ((image.format & PNG_FORMAT_FLAG_COLOR) != 0);
  image.format = PNG_FORMAT_RGB;
  buf = g_malloc (PNG_IMAGE_SIZE (image));
  g_assert_true (png_image_finish_read (&image, NULL, buf, 0, NULL));
  *w = image.width;
  *h = image.height;
  return buf;
}

static void
test_grid (void)
{
  /* Three 2 x 2 maps, c = 3 gray levels, 2 columns, scale 3, gutter 1: 15 x 15 pixels. */
  const guint16 maps[12] = { 0, 1, 2, 0,   2, 2, 1, 1,   0, 0, 0, 2 };
  g_autofree guint8 *pal = gaf_palette_new (GAF_PALETTE_GRAY, 3);
  g_autofree char *dir = make_tmp_dir ();
  g_autofree char *path = g_build_filename (dir, "grid.png", NULL);
  g_autofree char *soft_path = g_build_filename (dir, "soft.png", NULL);
  g_autofree guint8 *img = NULL, *back = NULL, *soft = NULL, *soft_back = NULL;
  g_autoptr(GError) error = NULL;
  GafGridLayout layout;
  int W, H, w2, h2;
  float wsoft[2 * 2 * 3];

  gaf_grid_layout_init (&layout);
  layout.cols = 2;
  layout.scale = 3;
  layout.gutter = 1;
  img = gaf_label_grid_render (maps, 3, 2, 2, 3, pal, &layout, &W, &H);
  g_assert_cmpint (W, ==, 15);
  g_assert_cmpint (H, ==, 15);
#define PIX(buf, x, y) ((buf) + ((gsize) (y) * W + (x)) * 3)
  g_assert_cmpmem (PIX (img, 0, 0), 3, layout.gutter_rgb, 3);          /* border */
  g_assert_cmpmem (PIX (img, 7, 3), 3, layout.gutter_rgb, 3);          /* between columns */
  g_assert_cmpuint (PIX (img, 1, 1)[0], ==, 0);                         /* map 0, pixel (0, 0): class 0 */
  g_assert_cmpuint (PIX (img, 4, 3)[0], ==, 128);                       /* map 0, pixel (1, 0): class 1 */
  g_assert_cmpuint (PIX (img, 3, 6)[1], ==, 255);                       /* map 0, pixel (0, 1): class 2 */
  g_assert_cmpuint (PIX (img, 8, 1)[2], ==, 255);                       /* map 1, pixel (0, 0): class 2 */
  g_assert_cmpuint (PIX (img, 13, 6)[0], ==, 128);                      /* map 1, pixel (1, 1): class 1 */
  g_assert_cmpuint (PIX (img, 6, 13)[0], ==, 255);                      /* map 2, pixel (1, 1): class 2 */
  g_assert_cmpmem (PIX (img, 10, 10), 3, layout.gutter_rgb, 3);        /* the empty fourth cell */

  /* Written as PNG (atomically: nothing else left in the folder) and read back. */
  g_assert_true (gaf_label_grid_write_png (path, maps, 3, 2, 2, 3, pal, &layout, &error));
  g_assert_no_error (error);
  back = read_rgb_png (path, &w2, &h2);
  g_assert_cmpint (w2, ==, W);
  g_assert_cmpint (h2, ==, H);
  g_assert_cmpmem (back, W * H * 3, img, W * H * 3);

  /* Soft: one map uniform over the 3 classes (mean 127.67 -> 128), one pure class 2 pixel, one
   * half class 0 / half class 2 (127.5 -> 128), one 0.25 class 1 + 0.75 class 2 (32 + 191.25 -> 223). */
  for (int i = 0; i < 3; i++)
    wsoft[i] = 1.0f / 3.0f;
  wsoft[3] = 0.0f; wsoft[4] = 0.0f; wsoft[5] = 1.0f;
  wsoft[6] = 0.5f; wsoft[7] = 0.0f; wsoft[8] = 0.5f;
  wsoft[9] = 0.0f; wsoft[10] = 0.25f; wsoft[11] = 0.75f;
  layout.cols = 0;
  layout.scale = 1;
  layout.gutter = 2;
  soft = gaf_soft_grid_render (wsoft, 1, 2, 2, 3, pal, &layout, &W, &H);
  g_assert_cmpint (W, ==, 6);
  g_assert_cmpint (H, ==, 6);
  g_assert_cmpuint (PIX (soft, 2, 2)[0], ==, 128);
  g_assert_cmpuint (PIX (soft, 3, 2)[1], ==, 255);
  g_assert_cmpuint (PIX (soft, 2, 3)[2], ==, 128);
  g_assert_cmpuint (PIX (soft, 3, 3)[0], ==, 223);
  g_assert_true (gaf_soft_grid_write_png (soft_path, wsoft, 1, 2, 2, 3, pal, &layout, &error));
  g_assert_no_error (error);
  soft_back = read_rgb_png (soft_path, &w2, &h2);
  g_assert_cmpmem (soft_back, W * H * 3, soft, W * H * 3);
#undef PIX
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    int files = 0;
    while (g_dir_read_name (d) != NULL)
      files++;
    g_assert_cmpint (files, ==, 2);
  }

  /* Errors: labels out of range, a folder that does not exist, a grid too large. */
  {
    const guint16 bad[4] = { 0, 1, 3, 0 };
    g_assert_false (gaf_label_grid_write_png (path, bad, 1, 2, 2, 3, pal, &layout, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
    g_assert_false (gaf_label_grid_write_png ("/nonexistent/dir/grid.png", maps, 3, 2, 2, 3, pal, &layout,
                                              &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
    g_clear_error (&error);
    layout.scale = 20000;
    g_assert_false (gaf_grid_layout_size (&layout, 3, 2, 2, &W, &H, NULL));
    g_assert_false (gaf_label_grid_write_png (path, maps, 3, 2, 2, 3, pal, &layout, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
    assert_error_has (error, "is larger than 32768 on a side", NULL);
    g_clear_error (&error);
  }
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/dataset/idx/real-files", test_idx_real_files);
  g_test_add_func ("/engine/dataset/idx/broken", test_idx_broken);
  g_test_add_func ("/engine/dataset/fashion-mnist/fake-dir", test_fashion_mnist_fake_dir);
  g_test_add_func ("/engine/dataset/fashion-mnist/levels-sizes", test_fashion_mnist_dataset);
  g_test_add_func ("/engine/dataset/fashion-mnist/quantize", test_quantize);
  g_test_add_func ("/engine/dataset/fashion-mnist/pool-padding", test_pool_padding);
  g_test_add_func ("/engine/dataset/scenes/deterministic", test_scenes_deterministic);
  g_test_add_func ("/engine/dataset/scenes/classes-nest", test_scenes_classes_nest);
  g_test_add_func ("/engine/dataset/scenes/statistics", test_scenes_statistics);
  g_test_add_func ("/engine/dataset/folder/round-trip", test_folder_round_trip);
  g_test_add_func ("/engine/dataset/folder/formats", test_label_image_formats);
  g_test_add_func ("/engine/dataset/folder/errors", test_folder_errors);
  g_test_add_func ("/engine/dataset/spec", test_spec);
  g_test_add_func ("/engine/dataset/shuffle/spec", test_shuffle_spec);
  g_test_add_func ("/engine/dataset/shuffle/uniform", test_shuffle_uniform);
  g_test_add_func ("/engine/dataset/shuffle/folder-fashion", test_shuffle_folder_fashion);
  g_test_add_func ("/engine/dataset/sample-marginals", test_dataset_sample);
  g_test_add_func ("/engine/dataset/stats/marginal-kl", test_stats_marginal_kl);
  g_test_add_func ("/engine/dataset/stats/neighbours-regions", test_stats_neighbours_regions);
  g_test_add_func ("/engine/dataset/stats/independent-sampler", test_independent_sampler);
  g_test_add_func ("/engine/dataset/image/palettes", test_palettes);
  g_test_add_func ("/engine/dataset/image/grid", test_grid);

  return g_test_run ();
}
