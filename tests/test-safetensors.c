/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-model.h"
#include "gaf-rng.h"
#include "gaf-safetensors.h"
#include "gaf-torch-map.h"

/* ---- the format ---------------------------------------------------------------------------------- */

static GBytes *
small_file (void)
{
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  const float a[6] = { 1, -2, 3.5f, 0, 1e-30f, -7 };
  const float b[2] = { 0.25f, 8 };

  gaf_safetensors_writer_add (w, "a", 2, (const gint64[]) { 2, 3 }, a);
  gaf_safetensors_writer_add (w, "b.bias", 1, (const gint64[]) { 2 }, b);
  gaf_safetensors_writer_set_metadata (w, "network", "unet");
  return gaf_safetensors_writer_to_bytes (w);
}

static void
test_roundtrip (void)
{
  g_autoptr(GBytes) bytes = small_file ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  gsize n;
  const guint8 *p = g_bytes_get_data (bytes, &n);
  guint64 hl;
  float a[6], b[2];
  const char *dtype;
  const gint64 *shape;
  int ndim;

  memcpy (&hl, p, 8);
  g_assert_cmpuint (GUINT64_FROM_LE (hl) % 8, ==, 0);
  st = gaf_safetensors_load_bytes (p, n, "small", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_safetensors_get_n_tensors (st), ==, 2);
  g_assert_cmpstr (gaf_safetensors_get_name (st, 0), ==, "a");
  g_assert_true (gaf_safetensors_get_info (st, "a", &dtype, &ndim, &shape));
  g_assert_cmpstr (dtype, ==, "F32");
  g_assert_cmpint (ndim, ==, 2);
  g_assert_cmpint (shape[1], ==, 3);
  g_assert_true (gaf_safetensors_read_floats (st, "a", 2, (const gint64[]) { 2, 3 }, a, &error));
  g_assert_true (gaf_safetensors_read_floats (st, "b.bias", 1, (const gint64[]) { 2 }, b, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (a[2], ==, 3.5f);
  g_assert_cmpfloat (a[4], ==, 1e-30f);
  g_assert_cmpfloat (b[1], ==, 8.0f);
  g_assert_cmpstr (gaf_safetensors_get_metadata (st, "network"), ==, "unet");
  g_assert_null (gaf_safetensors_get_metadata (st, "other"));
}

/* A file from a header text and a data buffer. */
static GBytes *
make_file (const char *header, const guint8 *data, gsize n_data)
{
  GByteArray *a = g_byte_array_new ();
  guint64 hl = GUINT64_TO_LE ((guint64) strlen (header));

  g_byte_array_append (a, (const guint8 *) &hl, 8);
  g_byte_array_append (a, (const guint8 *) header, (guint) strlen (header));
  if (n_data > 0)
    g_byte_array_append (a, data, (guint) n_data);
  return g_byte_array_free_to_bytes (a);
}

static void
expect_load_error (GBytes *bytes, const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  gsize n;
  const guint8 *p = g_bytes_get_data (bytes, &n);

  st = gaf_safetensors_load_bytes (p, n, "bad.safetensors", &error);
  g_assert_null (st);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  if (strstr (error->message, fragment) == NULL)
    g_error ("expected '%s' in: %s", fragment, error->message);
}

static void
test_bad_files (void)
{
  static const guint8 zeros[64];
  g_autoptr(GBytes) good = small_file ();
  gsize n;
  const guint8 *p = g_bytes_get_data (good, &n);

  /* cut anywhere: in the length, in the header, in the data */
  for (gsize cut = 0; cut < n; cut++)
    {
      g_autoptr(GBytes) b = g_bytes_new (p, cut);
      expect_load_error (b, cut < 8 ? "truncated" : "");
    }
  {
    g_autoptr(GBytes) b = g_bytes_new (p, n - 1);
    expect_load_error (b, "truncated file?");
  }
  {
    g_autoptr(GBytes) b = g_bytes_new (p, 20);
    expect_load_error (b, "truncated");
  }
#define BAD(header, ndata, fragment) G_STMT_START { \
    g_autoptr(GBytes) b = make_file (header, zeros, ndata); \
    expect_load_error (b, fragment); } G_STMT_END
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
       "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "overlaps");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12, "belong to no tensor");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "belong to no tensor");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes");
  BAD ("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'F33'");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "dimension 0");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,8]}}", 8, "dimension 0");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "outside");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "exactly dtype, shape and data_offsets");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"__metadata__\":{\"k\":3}}", 8,
       "is not a string");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8, "dimension 0");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,8]}}", 8, "more elements");
  BAD ("{\"a\": [1, 2", 8, "not JSON");
  BAD ("[1, 2]", 0, "not a JSON object");
  BAD ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "at most 8");
#undef BAD
}

static void
test_dtypes (void)
{
  /* F16: 1, -2, 65504, smallest subnormal; BF16: 1.5, -0.125; I64 refused by name; NaN refused */
  const guint16 f16[4] = { GUINT16_TO_LE (0x3c00), GUINT16_TO_LE (0xc000), GUINT16_TO_LE (0x7bff), GUINT16_TO_LE (0x0001) };
  const guint16 bf16[2] = { GUINT16_TO_LE (0x3fc0), GUINT16_TO_LE (0xbe00) };
  guint8 data[8 + 4 + 8 + 4];
  const char *header =
    "{\"h\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]},"
    "\"g\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]},"
    "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[12,20]},"
    "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[20,24]}}";
  const float nan = NAN;
  g_autoptr(GBytes) b = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  float h[4], g[2], x;
  gsize n;
  const guint8 *p;

  memcpy (data, f16, 8);
  memcpy (data + 8, bf16, 4);
  memset (data + 12, 0, 8);
  memcpy (data + 20, &nan, 4);
  b = make_file (header, data, sizeof data);
  p = g_bytes_get_data (b, &n);
  st = gaf_safetensors_load_bytes (p, n, "dtypes", &error);
  g_assert_no_error (error);
  g_assert_true (gaf_safetensors_read_floats (st, "h", 1, (const gint64[]) { 4 }, h, &error));
  g_assert_cmpfloat (h[0], ==, 1.0f);
  g_assert_cmpfloat (h[1], ==, -2.0f);
  g_assert_cmpfloat (h[2], ==, 65504.0f);
  g_assert_cmpfloat (h[3], ==, ldexpf (1.0f, -24));
  g_assert_true (gaf_safetensors_read_floats (st, "g", 1, (const gint64[]) { 2 }, g, &error));
  g_assert_cmpfloat (g[0], ==, 1.5f);
  g_assert_cmpfloat (g[1], ==, -0.125f);
  g_assert_false (gaf_safetensors_read_floats (st, "n", 0, NULL, g, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "dtype I64; gaflow reads F32, F16 and BF16"));
  g_clear_error (&error);
  g_assert_false (gaf_safetensors_read_floats (st, "x", 1, (const gint64[]) { 1 }, &x, &error));
  g_assert_nonnull (strstr (error->message, "non-finite"));
  g_clear_error (&error);
  g_assert_false (gaf_safetensors_read_floats (st, "h", 2, (const gint64[]) { 2, 2 }, h, &error));
  g_assert_nonnull (strstr (error->message, "has shape (4), the model needs (2, 2)"));
}

/* The header alone says what a file is, and still checks the offsets against the file's size. */
static void
test_header_only (void)
{
  g_autoptr(GBytes) good = small_file ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "gaf-test-header.safetensors", NULL);
  g_autoptr(GafSafetensors) st = NULL;
  gsize n;
  const guint8 *p = g_bytes_get_data (good, &n);

  g_assert_true (g_file_set_contents (path, (const char *) p, (gssize) n, NULL));
  st = gaf_safetensors_load_header (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_safetensors_get_n_tensors (st), ==, 2);
  g_assert_cmpstr (gaf_safetensors_get_metadata (st, "network"), ==, "unet");
  g_assert_cmpint (gaf_safetensors_get_numel (st, "a"), ==, 6);
  g_clear_pointer (&st, gaf_safetensors_free);
  g_assert_true (g_file_set_contents (path, (const char *) p, (gssize) n - 4, NULL));
  st = gaf_safetensors_load_header (path, &error);
  g_assert_null (st);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "truncated file?"));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (path, (const char *) p, 12, NULL));
  st = gaf_safetensors_load_header (path, &error);
  g_assert_null (st);
  g_assert_nonnull (strstr (error->message, "is truncated or not safetensors"));
  g_unlink (path);
}

static void
test_not_regular (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafSafetensors) st = gaf_safetensors_load (g_get_tmp_dir (), &error);

  g_assert_null (st);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "not a regular file"));
}

/* A FIFO is refused at once: opening one for reading without a writer blocks for ever (issue 14). */
static void
test_fifo (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gaf-st-XXXXXX", NULL);
  g_autofree char *fifo = g_build_filename (dir, "model.safetensors", NULL);
  GafSafetensors *st;

  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  st = gaf_safetensors_load (fifo, &error);
  g_assert_null (st);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "FIFO"));
  g_clear_error (&error);
  st = gaf_safetensors_load_header (fifo, &error);
  g_assert_null (st);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_unlink (fifo);
  g_rmdir (dir);
}

/* ---- the name tables --------------------------------------------------------------------------------- */

static gint64
table_numel (GafTorchMap *map, gboolean with_fourier)
{
  gint64 s = 0;

  for (guint i = 0; i < gaf_torch_map_get_n (map); i++)
    {
      const GafTorchEntry *e = gaf_torch_map_get (map, i);
      if (with_fourier || e->layout != GAF_TORCH_FOURIER)
        s += e->numel;
    }
  return s;
}

static void
test_unet_table (void)
{
  GafModelConfig cfg;
  g_autoptr(GafTorchMap) map = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);

  gaf_model_config_init (&cfg, GAF_MODEL_UNET, 32 * 32, 2, 1);
  gaf_unet_config_init (&cfg.unet, 2, 32, 32);
  map = gaf_torch_map_new (&cfg, &error);
  g_assert_no_error (error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  /* every value of every view exactly once */
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_no_error (error);
  g_assert_cmpint (table_numel (map, TRUE), ==, 2161346);
  g_assert_cmpuint (gaf_net_get_params (net)->size, ==, 2161346);
  for (guint i = 0; i < gaf_torch_map_get_n (map); i++)
    g_assert_true (g_hash_table_add (names, gaf_torch_map_get (map, i)->torch));
  /* the authors' module names */
  for (guint k = 0; k < 8; k++)
    {
      static const char *const expect[] = {
        "time_embed.0.weight", "input_blocks.0.0.weight", "input_blocks.1.0.in_layers.0.weight",
        "input_blocks.1.0.emb_layers.1.weight", "input_blocks.3.0.op.weight", "middle_block.1.qkv.weight",
        "output_blocks.2.1.conv.weight", "out.2.weight",
      };
      if (!g_hash_table_contains (names, expect[k]))
        g_error ("no tensor %s", expect[k]);
    }
  g_assert_false (g_hash_table_contains (names, "output_blocks.11.1.conv.weight"));
  g_assert_true (g_hash_table_contains (names, "output_blocks.3.0.skip_connection.weight"));

  /* with attention outside the middle (feature maps 8 x 8) and another width */
  gaf_unet_config_init (&cfg.unet, 3, 16, 16);
  g_assert_true (gaf_unet_config_parse (&cfg.unet, "channels=32,mult=1,2,blocks=1,attn=8", &error));
  g_clear_pointer (&map, gaf_torch_map_free);
  g_clear_pointer (&net, gaf_net_free);
  map = gaf_torch_map_new (&cfg, &error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_no_error (error);
  g_assert_cmpint (table_numel (map, TRUE), ==, (gint64) gaf_net_get_params (net)->size);
}

static void
test_toy_cnn_table (void)
{
  GafModelConfig cfg;
  g_autoptr(GafTorchMap) map = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GError) error = NULL;

  gaf_model_config_init (&cfg, GAF_MODEL_TOY_CNN, 4, 5, 1);
  map = gaf_torch_map_new (&cfg, &error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_no_error (error);
  /* docs/method.md §3: 861,317 trained parameters; the 64 fixed frequencies are a tensor in PyTorch too */
  g_assert_cmpint (table_numel (map, FALSE), ==, 861317);
  g_assert_cmpint (table_numel (map, TRUE), ==, 861317 + 64);
  g_assert_cmpstr (gaf_torch_map_get_network (map), ==, "cnn_dirichlet");

  cfg.toy_cnn.position_bias = TRUE;
  g_assert_null (gaf_torch_map_new (&cfg, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  gaf_model_config_init (&cfg, GAF_MODEL_MLP, 2, 2, 1);
  g_assert_null (gaf_torch_map_new (&cfg, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
}

static gboolean
is_buffer (const GafTorchEntry *e)
{
  return strstr (e->torch, "running_") != NULL || e->layout == GAF_TORCH_COUNT;
}

static void
test_dense_table (void)
{
  GafModelConfig cfg;
  g_autoptr(GafTorchMap) map = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  gint64 trained = 0;

  /* the authors' default, hidden_dims [256, 256], for n = c = 2 */
  gaf_model_config_init (&cfg, GAF_MODEL_DENSE, 2, 2, 1);
  map = gaf_torch_map_new (&cfg, &error);
  g_assert_no_error (error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (gaf_torch_map_get_network (map), ==, "dense");
  for (guint i = 0; i < gaf_torch_map_get_n (map); i++)
    {
      const GafTorchEntry *e = gaf_torch_map_get (map, i);
      g_assert_true (g_hash_table_add (names, e->torch));
      if (!is_buffer (e))
        trained += e->numel;
    }
  /* docs/method.md §3: 69,390 parameters; the buffers besides them, 2 (5 + 256 + 256) + 3 */
  g_assert_cmpint (trained, ==, 69390);
  g_assert_cmpint (table_numel (map, TRUE), ==, 69390 + 1037);
  g_assert_cmpuint (gaf_torch_map_get_n (map), ==, 3 * 7);
  for (guint k = 0; k < 6; k++)
    {
      static const char *const expect[] = {
        "layers.0.0.weight", "layers.0.0.running_mean", "layers.0.0.num_batches_tracked", "layers.0.1.weight",
        "layers.2.0.running_var", "layers.2.1.bias",
      };
      if (!g_hash_table_contains (names, expect[k]))
        g_error ("no tensor %s", expect[k]);
    }
  g_assert_false (g_hash_table_contains (names, "layers.3.0.weight"));
  {
    const GafTorchEntry *last = gaf_torch_map_get (map, gaf_torch_map_get_n (map) - 2);
    const GafTorchEntry *count = gaf_torch_map_get (map, 4);
    g_assert_cmpstr (last->torch, ==, "layers.2.1.weight");
    g_assert_cmpint (last->shape[0], ==, 4);
    g_assert_cmpint (last->shape[1], ==, 256);
    g_assert_cmpstr (count->torch, ==, "layers.0.0.num_batches_tracked");
    g_assert_cmpint (count->ndim, ==, 0);
  }

  /* no hidden layer: one Linear (n c + 1 -> n c), nothing else; another size without biases */
  g_clear_pointer (&map, gaf_torch_map_free);
  g_clear_pointer (&net, gaf_net_free);
  gaf_model_config_init (&cfg, GAF_MODEL_DENSE, 3, 5, 1);
  cfg.dense.n_hidden = 0;
  map = gaf_torch_map_new (&cfg, &error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_cmpuint (gaf_torch_map_get_n (map), ==, 2);
  g_assert_cmpstr (gaf_torch_map_get (map, 0)->torch, ==, "layers.0.1.weight");
  g_assert_cmpint (gaf_torch_map_get (map, 0)->shape[1], ==, 16);
  g_clear_pointer (&map, gaf_torch_map_free);
  g_clear_pointer (&net, gaf_net_free);
  gaf_model_config_init (&cfg, GAF_MODEL_DENSE, 3, 5, 1);
  g_assert_true (gaf_dense_config_parse_hidden (&cfg.dense, "7,6,5", &error));
  cfg.dense.bias = FALSE;
  map = gaf_torch_map_new (&cfg, &error);
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_map_check (map, gaf_net_get_params (net), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_torch_map_get_n (map), ==, 4 * 6);
  g_clear_pointer (&map, gaf_torch_map_free);

  /* the authors' network maps c channels to c */
  cfg.dense.out_channels = 4;
  g_assert_null (gaf_torch_map_new (&cfg, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
}

/* The index maps against the layouts written out by hand for one element each. */
static void
test_layouts (void)
{
  GafTorchEntry lin = { .layout = GAF_TORCH_LINEAR, .offset = 3, .cols = 10, .ndim = 2, .shape = { 4, 6 } };
  GafTorchEntry swp = { .layout = GAF_TORCH_LINEAR_SWAP, .offset = 0, .cols = 4, .ndim = 2, .shape = { 4, 6 } };
  GafTorchEntry c2 = { .layout = GAF_TORCH_CONV, .ndim = 4, .shape = { 5, 2, 3, 3 } };
  GafTorchEntry c1 = { .layout = GAF_TORCH_CONV, .ndim = 3, .shape = { 5, 2, 9 } };

  /* torch [o=2, i=1] -> engine [i=1, col 3 + 2] */
  g_assert_cmpuint (gaf_torch_entry_index (&lin, 2 * 6 + 1), ==, 1 * 10 + 5);
  /* torch [o=1, i=0] (cos_0) -> engine [i=3 (cos_0 after 3 sines), o=1] */
  g_assert_cmpuint (gaf_torch_entry_index (&swp, 1 * 6 + 0), ==, 3 * 4 + 1);
  g_assert_cmpuint (gaf_torch_entry_index (&swp, 1 * 6 + 4), ==, 1 * 4 + 1);
  /* torch [o=4, i=1, ky=2, kx=0] -> engine [ky=2, kx=0, i=1, o=4] */
  g_assert_cmpuint (gaf_torch_entry_index (&c2, ((4 * 2 + 1) * 3 + 2) * 3 + 0), ==, (((2 * 3 + 0) * 2) + 1) * 5 + 4);
  /* torch [o=3, i=1, k=7] -> engine [k=7, i=1, o=3] */
  g_assert_cmpuint (gaf_torch_entry_index (&c1, (3 * 2 + 1) * 9 + 7), ==, (7 * 2 + 1) * 5 + 3);
}

/* ---- export and import ------------------------------------------------------------------------------- */

static GafSafetensors *
export_to_st (GafNet *net, const GafModelConfig *cfg)
{
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GafSafetensors *st;
  gsize n;
  const guint8 *p;

  g_assert_true (gaf_torch_export (net, cfg, gaf_net_get_params (net)->data, w, &error));
  g_assert_no_error (error);
  gaf_torch_write_metadata (cfg, w);
  bytes = gaf_safetensors_writer_to_bytes (w);
  p = g_bytes_get_data (bytes, &n);
  st = gaf_safetensors_load_bytes (p, n, "export", &error);
  g_assert_no_error (error);
  return st;
}

static void
randomize (GafNet *net, guint64 seed)
{
  GafParams *p = gaf_net_get_params (net);
  GafRng rng;

  gaf_rng_init (&rng, seed);
  for (gsize i = 0; i < p->size; i++)
    p->data[i] = (float) (gaf_rng_uniform (&rng) - 0.5);
}

static void
check_roundtrip (GafModelConfig *cfg)
{
  g_autoptr(GafNet) net = NULL, back = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  GafModelConfig meta_cfg;
  GafParams *a, *b;

  net = gaf_model_new (cfg, &error);
  g_assert_no_error (error);
  randomize (net, 5);
  a = gaf_net_get_params (net);
  for (guint v = 0; v < a->views->len; v++)   /* counters (num_batches_tracked) are whole numbers */
    if (g_str_has_suffix (g_array_index (a->views, GafParamView, v).name, ".count"))
      a->data[g_array_index (a->views, GafParamView, v).offset] = (float) (1000 + v);
  st = export_to_st (net, cfg);
  g_assert_true (gaf_torch_config_from_metadata (st, cfg->seed, 0, 0, 0, &meta_cfg, &error));
  g_assert_no_error (error);
  back = gaf_torch_import (st, &meta_cfg, &error);
  g_assert_no_error (error);
  a = gaf_net_get_params (net);
  b = gaf_net_get_params (back);
  g_assert_cmpuint (a->size, ==, b->size);
  g_assert_cmpmem (a->data, a->size * sizeof (float), b->data, b->size * sizeof (float));
  if (cfg->kind == GAF_MODEL_TOY_CNN)
    g_assert_cmpmem (gaf_toy_cnn_get_freqs ((GafToyCnn *) net), cfg->toy_cnn.fourier_half * sizeof (float),
                     gaf_toy_cnn_get_freqs ((GafToyCnn *) back), cfg->toy_cnn.fourier_half * sizeof (float));
}

static void
test_roundtrip_nets (void)
{
  GafModelConfig cfg;

  gaf_model_config_init (&cfg, GAF_MODEL_UNET, 64, 3, 7);
  gaf_unet_config_init (&cfg.unet, 3, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg.unet, "channels=8,mult=1,2,blocks=1,attn=4,groups=4", NULL));
  check_roundtrip (&cfg);
  gaf_model_config_init (&cfg, GAF_MODEL_TOY_CNN, 4, 3, 7);
  cfg.toy_cnn.hidden = 16;
  cfg.toy_cnn.fourier_half = 8;
  check_roundtrip (&cfg);
  gaf_model_config_init (&cfg, GAF_MODEL_DENSE, 3, 4, 7);
  g_assert_true (gaf_dense_config_parse_hidden (&cfg.dense, "9,8", NULL));
  check_roundtrip (&cfg);
  cfg.dense.bias = FALSE;
  check_roundtrip (&cfg);
  cfg.dense.n_hidden = 0;
  check_roundtrip (&cfg);
}

/* st with tensor `name` replaced by an F32 (ints NULL) or I64 tensor of shape (ndim, shape). */
static GafSafetensors *
replace_tensor (GafSafetensors *st, const char *name, int ndim, const gint64 *shape, const float *floats,
                const gint64 *ints)
{
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  GafSafetensors *out;
  const guint8 *p;
  gsize n;

  for (guint i = 0; i < gaf_safetensors_get_n_tensors (st); i++)
    {
      const char *tname = gaf_safetensors_get_name (st, i), *dtype;
      const gint64 *tshape;
      int tdim;
      g_assert_true (gaf_safetensors_get_info (st, tname, &dtype, &tdim, &tshape));
      if (g_str_equal (tname, name))
        {
          if (ints != NULL)
            gaf_safetensors_writer_add_i64 (w, name, ndim, shape, ints);
          else
            gaf_safetensors_writer_add (w, name, ndim, shape, floats);
        }
      else if (g_str_equal (dtype, "I64"))
        {
          gint64 v[1];
          g_assert_cmpint (gaf_safetensors_get_numel (st, tname), ==, 1);
          g_assert_true (gaf_safetensors_read_i64 (st, tname, tdim, tshape, v, &error));
          gaf_safetensors_writer_add_i64 (w, tname, tdim, tshape, v);
        }
      else
        {
          g_autofree float *v = g_new (float, gaf_safetensors_get_numel (st, tname));
          g_assert_true (gaf_safetensors_read_floats (st, tname, tdim, tshape, v, &error));
          gaf_safetensors_writer_add (w, tname, tdim, tshape, v);
        }
    }
  bytes = gaf_safetensors_writer_to_bytes (w);
  p = g_bytes_get_data (bytes, &n);
  out = gaf_safetensors_load_bytes (p, n, "replaced", &error);
  g_assert_no_error (error);
  return out;
}

/* num_batches_tracked must be an I64 scalar holding a count. */
static void
test_dense_count (void)
{
  GafModelConfig cfg;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  const char *name = "layers.1.0.num_batches_tracked";
  const char *dtype;
  const gint64 *shape;
  gint64 v;
  int ndim;
  struct {
    int ndim;
    gint64 value;
    gboolean as_float;
    const char *fragment;
  } cases[] = {
    { 0, 3, TRUE, "has dtype F32; gaflow reads it as I64" },
    { 1, 3, FALSE, "has shape (1), the model needs ()" },
    { 0, -1, FALSE, "= -1 is not a count from 0 to 2^53" },
    { 0, (G_GINT64_CONSTANT (1) << 53) + 1, FALSE, "is not a count from 0 to 2^53" },
  };

  gaf_model_config_init (&cfg, GAF_MODEL_DENSE, 2, 3, 1);
  g_assert_true (gaf_dense_config_parse_hidden (&cfg.dense, "4", NULL));
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  gaf_net_get_params (net)->data[gaf_params_find (gaf_net_get_params (net), "bn1.count")->offset] = 16777216.0f;
  st = export_to_st (net, &cfg);
  /* written as PyTorch writes it: an I64 scalar */
  g_assert_true (gaf_safetensors_get_info (st, name, &dtype, &ndim, &shape));
  g_assert_cmpstr (dtype, ==, "I64");
  g_assert_cmpint (ndim, ==, 0);
  g_assert_true (gaf_safetensors_read_i64 (st, name, 0, NULL, &v, &error));
  g_assert_cmpint (v, ==, 16777216);
  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GafSafetensors) bad = NULL;
      GafModelConfig c = cfg;
      float f = (float) cases[k].value;
      bad = replace_tensor (st, name, cases[k].ndim, (const gint64[]) { 1 }, &f,
                            cases[k].as_float ? NULL : &cases[k].value);
      g_assert_null (gaf_torch_import (bad, &c, &error));
      g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      if (strstr (error->message, cases[k].fragment) == NULL)
        g_error ("expected '%s' in: %s", cases[k].fragment, error->message);
      g_clear_error (&error);
    }
}

/* The error a user sees for each kind of wrong file. */
static void
test_import_errors (void)
{
  GafModelConfig unet, cnn, other;
  g_autoptr(GafNet) unet_net = NULL, cnn_net = NULL;
  g_autoptr(GafSafetensors) st_unet = NULL, st_cnn = NULL;
  g_autoptr(GError) error = NULL;
  GafNet *net;

  gaf_model_config_init (&unet, GAF_MODEL_UNET, 64, 3, 7);
  gaf_unet_config_init (&unet.unet, 3, 8, 8);
  g_assert_true (gaf_unet_config_parse (&unet.unet, "channels=8,mult=1,2,blocks=1,attn=none,groups=4", NULL));
  unet_net = gaf_model_new (&unet, &error);
  st_unet = export_to_st (unet_net, &unet);
  gaf_model_config_init (&cnn, GAF_MODEL_TOY_CNN, 4, 3, 7);
  cnn.toy_cnn.hidden = 16;
  cnn.toy_cnn.fourier_half = 8;
  cnn_net = gaf_model_new (&cnn, &error);
  st_cnn = export_to_st (cnn_net, &cnn);

  /* wrong network */
  other = unet;
  net = gaf_torch_import (st_cnn, &other, &error);
  g_assert_null (net);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "not a unet: the file holds none of its"));
  g_clear_error (&error);
  /* missing tensors: a UNet with a second block per level expects more */
  other = unet;
  g_assert_true (gaf_unet_config_parse (&other.unet, "blocks=2", NULL));
  net = gaf_torch_import (st_unet, &other, &error);
  g_assert_null (net);
  g_assert_nonnull (strstr (error->message, "missing tensor 'input_blocks.2.0.in_layers.0.weight'"));
  g_clear_error (&error);
  /* wrong shapes: 16 base channels instead of 8 */
  other = unet;
  g_assert_true (gaf_unet_config_parse (&other.unet, "channels=16", NULL));
  net = gaf_torch_import (st_unet, &other, &error);
  g_assert_null (net);
  g_assert_nonnull (strstr (error->message, "has shape (32, 8), the model needs (64, 16)"));
  g_clear_error (&error);
  /* left-over tensors: a UNet without the attention of the file's */
  {
    GafModelConfig attn = unet;
    g_autoptr(GafNet) attn_net = NULL;
    g_autoptr(GafSafetensors) st_attn = NULL;
    g_assert_true (gaf_unet_config_parse (&attn.unet, "attn=8", NULL));
    attn_net = gaf_model_new (&attn, &error);
    st_attn = export_to_st (attn_net, &attn);
    net = gaf_torch_import (st_attn, &unet, &error);
    g_assert_null (net);
    g_test_message ("%s", error->message);
    g_assert_nonnull (strstr (error->message, "unexpected tensor 'input_blocks.1.1.norm.weight': not part of a unet of this configuration"));
  }
}

/* A toy CNN wider than the configuration's frequency array (hidden_dim 1600: 800 frequencies, room for
 * GAF_TOY_CNN_MAX_FREQS = 512) is refused before its frequencies are read: they were written past the end
 * of GafModelConfig (found while adding the safetensors fuzz driver; reproducer
 * tests/corpus/safetensors/issue14-toy-cnn-800-freqs.safetensors). Every tensor of the table is present
 * (empty but the frequencies), so the import gets that far. */
static void
test_import_wide_toy_cnn (void)
{
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autoptr(GafTorchMap) map = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *zeros = g_new0 (float, 800);
  GafModelConfig cfg;
  GafNet *net;
  const guint8 *p;
  gsize n;

  /* the configuration check compares the network's size with the memory budget (nothing is allocated):
   * a budget that admits it on any machine */
  gaf_budget_set (G_GUINT64_CONSTANT (1) << 40);
  gaf_model_config_init (&cfg, GAF_MODEL_TOY_CNN, 4, 2, 1);
  cfg.toy_cnn.hidden = 1600;
  cfg.toy_cnn.fourier_half = 800;
  map = gaf_torch_map_new (&cfg, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < gaf_torch_map_get_n (map); i++)
    {
      const GafTorchEntry *e = gaf_torch_map_get (map, i);
      if (e->layout == GAF_TORCH_FOURIER)
        gaf_safetensors_writer_add (w, e->torch, e->ndim, e->shape, zeros);
      else
        gaf_safetensors_writer_add (w, e->torch, 1, (const gint64[]) { 0 }, zeros);
    }
  gaf_safetensors_writer_set_metadata (w, "network", "cnn_dirichlet");
  gaf_safetensors_writer_set_metadata (w, "alphabet_size", "2");
  gaf_safetensors_writer_set_metadata (w, "seq_len", "4");
  gaf_safetensors_writer_set_metadata (w, "hidden_dim", "1600");
  bytes = gaf_safetensors_writer_to_bytes (w);
  p = g_bytes_get_data (bytes, &n);
  st = gaf_safetensors_load_bytes (p, n, "wide", &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.toy_cnn.fourier_half, ==, 800);
  net = gaf_torch_import (st, &cfg, &error);
  g_assert_null (net);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "holds 800 Fourier frequencies"));
  g_assert_nonnull (strstr (error->message, "at most 512"));
  gaf_budget_set (0);
}

/* ---- PyTorch's numbers (tests/data, written by tools/make-torch-fixtures.py) ------------------------- */

/* gaflow's forward (training and sampling paths) on the fixture's weights and inputs against the output
 * PyTorch computed in float64: within 1e-5 of the largest output. */
static void
check_fixture (const char *stem)
{
  g_autofree char *wname = g_strdup_printf ("torch-%s.safetensors", stem);
  g_autofree char *ioname = g_strdup_printf ("torch-%s-io.safetensors", stem);
  g_autofree char *wpath = g_test_build_filename (G_TEST_DIST, "data", wname, NULL);
  g_autofree char *iopath = g_test_build_filename (G_TEST_DIST, "data", ioname, NULL);
  g_autoptr(GafSafetensors) st = NULL, io = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *x = NULL, *xt = NULL, *ref = NULL, *y = NULL, *y2 = NULL, *t = NULL;
  GafModelConfig cfg;
  const gint64 *shape;
  int ndim, B, n, c;
  gboolean unet;
  double dmax = 0.0, ymax = 0.0;

  st = gaf_safetensors_load (wpath, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, &error));
  g_assert_no_error (error);
  net = gaf_torch_import (st, &cfg, &error);
  g_assert_no_error (error);
  io = gaf_safetensors_load (iopath, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_safetensors_get_info (io, "W", NULL, &ndim, &shape));
  /* (B, c, H, W) and the dense network's (B, c, n) are channels first */
  unet = cfg.kind == GAF_MODEL_UNET || cfg.kind == GAF_MODEL_DENSE;
  n = net->n;
  c = net->in_channels;
  B = (int) shape[0];
  g_assert_cmpint (gaf_safetensors_get_numel (io, "W"), ==, (gint64) B * n * c);
  x = g_new (float, (gsize) B * n * c);
  ref = g_new (float, (gsize) B * n * c);
  t = g_new (float, B);
  g_assert_true (gaf_safetensors_read_floats (io, "W", ndim, shape, x, &error));
  g_assert_true (gaf_safetensors_read_floats (io, "output", ndim, shape, ref, &error));
  g_assert_true (gaf_safetensors_read_floats (io, "t", 1, (const gint64[]) { B }, t, &error));
  g_assert_no_error (error);
  /* (B, c, H W) -> (B, H W, c) for the UNet; the toy CNN's layout is the engine's */
  xt = g_new (float, (gsize) B * n * c);
  for (int b = 0; b < B; b++)
    for (int p = 0; p < n; p++)
      for (int k = 0; k < c; k++)
        xt[((gsize) b * n + p) * c + k] = unet ? x[((gsize) b * c + k) * n + p] : x[((gsize) b * n + p) * c + k];
  y = g_new (float, (gsize) B * n * c);
  y2 = g_new (float, (gsize) B * n * c);
  /* the output PyTorch gave in evaluation mode (BatchNorm with running statistics); forward too */
  gaf_net_set_training (net, FALSE);
  gaf_net_infer (net, xt, t, B, y);
  gaf_net_forward (net, xt, t, B, y2);
  for (int b = 0; b < B; b++)
    for (int p = 0; p < n; p++)
      for (int k = 0; k < c; k++)
        {
          gsize e = ((gsize) b * n + p) * c + k;
          double r = unet ? ref[((gsize) b * c + k) * n + p] : ref[e];
          dmax = MAX (dmax, MAX (fabs (y[e] - r), fabs (y2[e] - r)));
          ymax = MAX (ymax, fabs (r));
        }
  g_test_message ("%s: largest difference to PyTorch %.3g (%.3g of the largest output %.3g)", stem, dmax,
                  dmax / ymax, ymax);
  g_assert_cmpfloat (ymax, >, 0.1);
  g_assert_cmpfloat (dmax, <=, 1e-5 * ymax);
}

static void
test_fixture_unet (void)
{
  check_fixture ("unet");
}

static void
test_fixture_cnn (void)
{
  check_fixture ("cnn");
}

/* The dense network also in training mode: the output with the batch's statistics and the running
 * statistics that forward leaves, as PyTorch computed them. */
static void
test_fixture_dense (void)
{
  g_autofree char *wpath = g_test_build_filename (G_TEST_DIST, "data", "torch-dense.safetensors", NULL);
  g_autofree char *iopath = g_test_build_filename (G_TEST_DIST, "data", "torch-dense-io.safetensors", NULL);
  g_autoptr(GafSafetensors) st = NULL, io = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GError) error = NULL;
  enum { B = 5, C = 3, N = 4 };
  float x[B * C * N], xt[B * N * C], ref[B * C * N], y[B * N * C], t[B];
  double dmax = 0.0, ymax = 0.0, smax = 0.0;
  GafModelConfig cfg;
  GafParams *p;

  check_fixture ("dense");
  st = gaf_safetensors_load (wpath, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, &error));
  net = gaf_torch_import (st, &cfg, &error);
  g_assert_no_error (error);
  p = gaf_net_get_params (net);
  g_assert_cmpfloat (p->data[gaf_params_find (p, "bn1.count")->offset], ==, 12345.0f);
  io = gaf_safetensors_load (iopath, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_safetensors_read_floats (io, "W", 3, (const gint64[]) { B, C, N }, x, &error));
  g_assert_true (gaf_safetensors_read_floats (io, "t", 1, (const gint64[]) { B }, t, &error));
  g_assert_true (gaf_safetensors_read_floats (io, "output_train", 3, (const gint64[]) { B, C, N }, ref, &error));
  g_assert_no_error (error);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < C; k++)
      for (int i = 0; i < N; i++)
        xt[(b * N + i) * C + k] = x[(b * C + k) * N + i];
  gaf_net_forward (net, xt, t, B, y);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < C; k++)
      for (int i = 0; i < N; i++)
        {
          dmax = MAX (dmax, fabs (y[(b * N + i) * C + k] - ref[(b * C + k) * N + i]));
          ymax = MAX (ymax, fabs (ref[(b * C + k) * N + i]));
        }
  /* the running statistics after that forward */
  for (int l = 0; l < 3; l++)
    for (int which = 0; which < 2; which++)
      {
        g_autofree char *torch = g_strdup_printf ("after.layers.%d.0.running_%s", l, which ? "var" : "mean");
        g_autofree char *name = g_strdup_printf ("bn%d.%s", l, which ? "var" : "mean");
        const GafParamView *v = gaf_params_find (p, name);
        g_autofree float *want = g_new (float, v->size);
        g_assert_true (gaf_safetensors_read_floats (io, torch, 1, (const gint64[]) { (gint64) v->size }, want, &error));
        g_assert_no_error (error);
        for (gsize f = 0; f < v->size; f++)
          smax = MAX (smax, fabs (p->data[v->offset + f] - want[f]) / MAX (1.0, fabs (want[f])));
      }
  g_test_message ("dense, training mode: largest difference to PyTorch %.3g (%.3g of the largest output %.3g); "
                  "running statistics %.3g", dmax, dmax / ymax, ymax, smax);
  g_assert_cmpfloat (ymax, >, 0.1);
  g_assert_cmpfloat (dmax, <=, 1e-5 * ymax);
  g_assert_cmpfloat (smax, <=, 1e-6);
  g_assert_cmpfloat (p->data[gaf_params_find (p, "bn1.count")->offset], ==, 12346.0f);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/safetensors/roundtrip", test_roundtrip);
  g_test_add_func ("/data/safetensors/bad-files", test_bad_files);
  g_test_add_func ("/data/safetensors/dtypes", test_dtypes);
  g_test_add_func ("/data/safetensors/header-only", test_header_only);
  g_test_add_func ("/data/safetensors/not-regular", test_not_regular);
  g_test_add_func ("/data/safetensors/fifo", test_fifo);
  g_test_add_func ("/data/torch-map/unet-table", test_unet_table);
  g_test_add_func ("/data/torch-map/toy-cnn-table", test_toy_cnn_table);
  g_test_add_func ("/data/torch-map/dense-table", test_dense_table);
  g_test_add_func ("/data/torch-map/layouts", test_layouts);
  g_test_add_func ("/data/torch-map/roundtrip", test_roundtrip_nets);
  g_test_add_func ("/data/torch-map/import-errors", test_import_errors);
  g_test_add_func ("/data/torch-map/dense-count", test_dense_count);
  g_test_add_func ("/data/torch-map/import-wide-toy-cnn", test_import_wide_toy_cnn);
  g_test_add_func ("/data/torch-fixtures/unet", test_fixture_unet);
  g_test_add_func ("/data/torch-fixtures/toy-cnn", test_fixture_cnn);
  g_test_add_func ("/data/torch-fixtures/dense", test_fixture_dense);
  return g_test_run ();
}
