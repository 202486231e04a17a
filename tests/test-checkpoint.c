/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-engine.h"

/* Checkpoints: the file round-trips bit for bit; every damaged, cut-off, foreign or future file is refused
 * with its own message; a failed save leaves the previous file; a resumed run repeats the uninterrupted
 * run's losses exactly. The model factory: [model] groups round-trip and build the same networks. */

/* ---- helpers --------------------------------------------------------------------------------- */

static char *
make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("gaf-ckpt-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

static void
rm_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_chmod (dir, 0700);
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (p), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* A small arena by hand: three tensors, random data, moments (v >= 0) and EMA. */
static GafParams *
small_params (guint64 seed, gboolean with_ema)
{
  GafParams *p = gaf_params_new ();
  GafRng rng;

  gaf_params_add (p, "a", 7);
  gaf_params_add (p, "b.w", 300);
  gaf_params_add (p, "c", 1);
  gaf_params_alloc (p);
  gaf_rng_init (&rng, seed);
  for (gsize i = 0; i < p->size; i++)
    {
      p->data[i] = (float) gaf_rng_normal (&rng);
      p->m[i] = (float) (1e-3 * gaf_rng_normal (&rng));
      p->v[i] = (float) (1e-6 * gaf_rng_uniform (&rng));
    }
  if (with_ema)
    {
      p->ema = g_new (float, p->size);
      for (gsize i = 0; i < p->size; i++)
        p->ema[i] = (float) gaf_rng_normal (&rng);
    }
  p->step = 4321;
  return p;
}

static GKeyFile *
small_config (void)
{
  GKeyFile *kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_key_file_load_from_data (kf,
                                            "# written by the test\n"
                                            "[model]\nkind=mlp\nn=2\nclasses=3\n\n"
                                            "[train]\nbatch=16\nlr=0.00029999999999999997\nschedule=constant\n\n"
                                            "[data]\nspec=pinwheel, 91 × 91 classes\n",
                                            -1, G_KEY_FILE_KEEP_COMMENTS, &error));
  g_assert_no_error (error);
  return kf;
}

/* Saves a small checkpoint into dir/name and returns its path. */
static char *
save_small (const char *dir, const char *name, guint64 step, GafParams **params_out, GafRng *rng_out)
{
  g_autoptr(GafParams) p = small_params (7, TRUE);
  g_autoptr(GKeyFile) kf = small_config ();
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  GafRng rng;

  gaf_rng_init (&rng, 99);
  gaf_rng_normal (&rng);   /* leaves a spare normal in the state */
  g_assert_true (rng.has_spare);
  g_assert_true (gaf_checkpoint_save (path, kf, p, &rng, step, &error));
  g_assert_no_error (error);
  if (params_out != NULL)
    *params_out = g_steal_pointer (&p);
  if (rng_out != NULL)
    *rng_out = rng;
  return path;
}

static GBytes *
read_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents;
  gsize len;

  g_assert_true (g_file_get_contents (path, &contents, &len, &error));
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static void
write_bytes (const char *path, const void *data, gsize len)
{
  /* These files are written thousands of times and read back at once: no fsync, and a new file each time
   * (truncating in place makes ext4 flush on close, 5 ms a file; GLib 2.74's g_file_set_contents_full with
   * G_FILE_SET_CONTENTS_NONE does not truncate an existing file at all). */
  int fd;

  g_unlink (path);
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (write (fd, data, len), ==, (gssize) len);
  g_assert_cmpint (close (fd), ==, 0);
}

/* Loads path, expects failure with GAF_ERROR code and a message containing `needle`. */
static void
assert_load_fails (const char *path, int code, const char *needle)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (path, &error);

  g_assert_null (ck);
  g_assert_error (error, GAF_ERROR, code);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in \"%s\"", needle, error->message);
}

/* Rewrites the trailing SHA-256 so that only the change made before is wrong. */
static void
fix_checksum (guint8 *buf, gsize len)
{
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize dlen = 32;

  g_checksum_update (sum, buf, len - 32);
  g_checksum_get_digest (sum, buf + len - 32, &dlen);
}

/* Byte offset of a section's payload (after its 12-byte header). */
static gsize
section_at (const guint8 *buf, gsize len, const char *tag)
{
  gsize at = 24;

  while (at + 12 <= len - 32)
    {
      guint64 l;
      memcpy (&l, buf + at + 4, 8);
      l = GUINT64_FROM_LE (l);
      if (memcmp (buf + at, tag, 4) == 0)
        return at + 12;
      at += 12 + l;
    }
  g_assert_not_reached ();
}

/* ---- format ---------------------------------------------------------------------------------- */

static void
test_round_trip (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autoptr(GafParams) saved = NULL;
  g_autoptr(GafParams) fresh = small_params (8, FALSE);
  g_autoptr(GafParams) no_ema = small_params (9, FALSE);
  g_autoptr(GafParams) target = small_params (10, TRUE);
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GKeyFile) kf = small_config ();
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL, *path2 = NULL, *text_saved = NULL, *text_loaded = NULL;
  GafRng rng, rng_back;
  guint64 step = 0;

  path = save_small (dir, "run.gafck", G_GUINT64_CONSTANT (12345678901), &saved, &rng);
  /* nothing else in the directory: the temporary file was renamed */
  g_assert_cmpuint (count_entries (dir), ==, 1);

  ck = gaf_checkpoint_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ck);
  g_assert_cmpuint (gaf_checkpoint_get_step (ck), ==, G_GUINT64_CONSTANT (12345678901));
  g_assert_cmpuint (gaf_checkpoint_get_param_count (ck), ==, 308);
  g_assert_cmpuint (gaf_checkpoint_get_n_tensors (ck), ==, 3);
  g_assert_true (gaf_checkpoint_has_ema (ck));
  text_saved = g_key_file_to_data (kf, NULL, NULL);
  text_loaded = g_key_file_to_data (gaf_checkpoint_get_config (ck), NULL, NULL);
  g_assert_cmpstr (text_saved, ==, text_loaded);
  {
    g_autofree char *spec = g_key_file_get_string (gaf_checkpoint_get_config (ck), "data", "spec", NULL);
    g_assert_cmpstr (spec, ==, "pinwheel, 91 × 91 classes");
  }

  memset (&rng_back, 0, sizeof rng_back);
  g_assert_true (gaf_checkpoint_restore (ck, fresh, &rng_back, &step, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (step, ==, G_GUINT64_CONSTANT (12345678901));
  g_assert_cmpuint (fresh->step, ==, 4321);
  g_assert_cmpmem (fresh->data, 308 * sizeof (float), saved->data, 308 * sizeof (float));
  g_assert_cmpmem (fresh->m, 308 * sizeof (float), saved->m, 308 * sizeof (float));
  g_assert_cmpmem (fresh->v, 308 * sizeof (float), saved->v, 308 * sizeof (float));
  g_assert_nonnull (fresh->ema);
  g_assert_cmpmem (fresh->ema, 308 * sizeof (float), saved->ema, 308 * sizeof (float));
  g_assert_cmpmem (rng_back.s, sizeof rng_back.s, rng.s, sizeof rng.s);
  g_assert_cmpint (rng_back.has_spare, ==, rng.has_spare);
  g_assert_cmpmem (&rng_back.spare, sizeof (double), &rng.spare, sizeof (double));
  g_assert_cmpfloat (gaf_rng_normal (&rng_back), ==, gaf_rng_normal (&rng));

  /* Without EMA: the restored arena has none either, even if it had one. */
  path2 = g_build_filename (dir, "plain.gafck", NULL);
  g_assert_true (gaf_checkpoint_save (path2, kf, no_ema, &rng, 3, &error));
  g_assert_no_error (error);
  g_clear_pointer (&ck, gaf_checkpoint_free);
  ck = gaf_checkpoint_load (path2, &error);
  g_assert_no_error (error);
  g_assert_false (gaf_checkpoint_has_ema (ck));
  g_assert_true (gaf_checkpoint_restore (ck, target, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_null (target->ema);
  g_assert_cmpmem (target->data, 308 * sizeof (float), no_ema->data, 308 * sizeof (float));

  /* Saving over an existing checkpoint replaces it and leaves nothing else behind. */
  g_assert_true (gaf_checkpoint_save (path, kf, no_ema, &rng, 4, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 2);
  g_clear_pointer (&ck, gaf_checkpoint_free);
  ck = gaf_checkpoint_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_checkpoint_get_step (ck), ==, 4);

  rm_tree (dir);
}

/* Every cut of the file — in the magic, the header, any section, the checksum — is "truncated", with
 * the sizes in the message once the header is there. */
static void
test_truncated (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "full.gafck", 5, NULL, NULL);
  g_autofree char *cut = g_build_filename (dir, "cut.gafck", NULL);
  g_autoptr(GBytes) bytes = read_bytes (path);
  gsize len;
  const guint8 *buf = g_bytes_get_data (bytes, &len);
  gsize data_at = section_at (buf, len, "DATA");
  const gsize offsets[] = { 1, 7, 8, 11, 12, 23, 24, 40, data_at, data_at + 601, len - 33, len - 32, len - 1 };

  g_assert_cmpuint (len, >, 3 * 308 * 4);
  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      write_bytes (cut, buf, offsets[i]);
      assert_load_fails (cut, GAF_ERROR_FORMAT, "truncated");
      if (offsets[i] >= 24)
        {
          g_autofree char *sizes = g_strdup_printf ("%" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " bytes", offsets[i], len);
          assert_load_fails (cut, GAF_ERROR_FORMAT, sizes);
        }
    }
  /* and every other length as well */
  for (gsize n = 1; n < len; n++)
    {
      write_bytes (cut, buf, n);
      assert_load_fails (cut, GAF_ERROR_FORMAT, "truncated");
    }
  rm_tree (dir);
}

static void
test_corrupted (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "full.gafck", 5, NULL, NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.gafck", NULL);
  g_autoptr(GBytes) bytes = read_bytes (path);
  gsize len;
  const guint8 *orig = g_bytes_get_data (bytes, &len);
  g_autofree guint8 *buf = g_memdup2 (orig, len);
  gsize data_at = section_at (buf, len, "DATA");

  /* one flipped bit in the parameters */
  buf[data_at + 4 * 150 + 2] ^= 0x08;
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "checksum mismatch (file is corrupted)");

  /* one flipped bit anywhere: refused, with the message for the field it hit */
  for (gsize i = 0; i < len; i++)
    {
      const char *expect;

      memcpy (buf, orig, len);
      buf[i] ^= (guint8) (1u << (i % 8));
      write_bytes (bad, buf, len);
      if (i < 8)
        expect = "not a gaflow checkpoint";
      else if (i < 12)
        expect = "unsupported checkpoint version";
      else if (i < 16)
        expect = "is corrupted";
      else if (i < 24)
        expect = NULL;
      else
        expect = "checksum mismatch (file is corrupted)";
      if (expect == NULL)
        {
          /* the size field: larger than the file reads as truncated, smaller as corrupted */
          g_autoptr(GError) error = NULL;
          g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (bad, &error);
          g_assert_null (ck);
          g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
          g_assert_true (strstr (error->message, "truncated") != NULL || strstr (error->message, "is corrupted") != NULL);
        }
      else
        assert_load_fails (bad, GAF_ERROR_FORMAT, expect);
    }
  rm_tree (dir);
}

/* A later version, with a correct checksum, is refused for its version. */
static void
test_version (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "v.gafck", 5, NULL, NULL);
  g_autoptr(GBytes) bytes = read_bytes (path);
  gsize len = g_bytes_get_size (bytes);
  g_autofree guint8 *buf = g_memdup2 (g_bytes_get_data (bytes, NULL), len);
  g_autofree char *msg = g_strdup_printf ("unsupported checkpoint version %d (this gaflow reads %d)",
                                          GAF_CHECKPOINT_VERSION + 1, GAF_CHECKPOINT_VERSION);
  guint32 v = GUINT32_TO_LE (GAF_CHECKPOINT_VERSION + 1);

  memcpy (buf + 8, &v, 4);
  fix_checksum (buf, len);
  write_bytes (path, buf, len);
  assert_load_fails (path, GAF_ERROR_FORMAT, msg);
  /* version 0 as well; and a cut-off file of a later version still names the version */
  v = 0;
  memcpy (buf + 8, &v, 4);
  write_bytes (path, buf, 40);
  assert_load_fails (path, GAF_ERROR_FORMAT, "unsupported checkpoint version 0");
  rm_tree (dir);
}

/* Checksum right, content wrong (a writer bug or a crafted file): "malformed", never a crash. */
static void
test_malformed (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "m.gafck", 5, NULL, NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.gafck", NULL);
  g_autoptr(GBytes) bytes = read_bytes (path);
  gsize len;
  const guint8 *orig = g_bytes_get_data (bytes, &len);
  g_autofree guint8 *buf = g_memdup2 (orig, len);
  gsize data_at = section_at (buf, len, "DATA"), view_at = section_at (buf, len, "VIEW");
  gsize conf_at = section_at (buf, len, "CONF"), stat_at = section_at (buf, len, "STAT");
  guint32 nan_bits = GUINT32_TO_LE (0x7fc00000u);
  guint64 huge = GUINT64_TO_LE (G_GUINT64_CONSTANT (1) << 60);

  /* a NaN parameter in tensor "b.w" */
  memcpy (buf + data_at + 4 * 100, &nan_bits, 4);
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "is malformed: parameter value 100 (in tensor 'b.w') is nan");

  /* a section tag out of order */
  memcpy (buf, orig, len);
  memcpy (buf + data_at - 12, "ADMM", 4);
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "expected section 'DATA', found 'ADMM'");

  /* a parameter count far beyond the file */
  memcpy (buf, orig, len);
  memcpy (buf + view_at, &huge, 8);
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "is malformed");

  /* a section length beyond the file */
  memcpy (buf, orig, len);
  memcpy (buf + conf_at - 8, &huge, 8);
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "section 'CONF' claims");

  /* a configuration that is not a key file */
  memcpy (buf, orig, len);
  buf[conf_at] = 'x';
  buf[conf_at + 1] = '\n';
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "the configuration does not parse");

  /* an all-zero RNG state (xoshiro would stay at zero) */
  memcpy (buf, orig, len);
  memset (buf + stat_at + 16, 0, 32);
  fix_checksum (buf, len);
  write_bytes (bad, buf, len);
  assert_load_fails (bad, GAF_ERROR_FORMAT, "random number generator state is invalid");

  /* every byte after the header set to a random value, checksum fixed: never accepted, never a crash */
  {
    GafRng rng;
    gaf_rng_init (&rng, 5);
    for (gsize i = 24; i < len - 32; i++)
      {
        memcpy (buf, orig, len);
        buf[i] = (guint8) (buf[i] + 1 + gaf_rng_below (&rng, 255));
        fix_checksum (buf, len);
        write_bytes (bad, buf, len);
        {
          g_autoptr(GError) error = NULL;
          g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (bad, &error);
          /* a changed byte inside a float or the step or a config value can still be a valid file */
          if (ck == NULL)
            {
              g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
              g_assert_nonnull (strstr (error->message, "is malformed"));
            }
        }
      }
  }
  rm_tree (dir);
}

static void
test_foreign (void)
{
  static const guint8 png[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
    0, 0, 0, 16, 0, 0, 0, 16, 8, 2, 0, 0, 0, 0x90, 0x91, 0x68, 0x36,
  };
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "foreign", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.gafck", NULL);
  guint8 noise[4096];
  GafRng rng;

  write_bytes (path, png, sizeof png);
  assert_load_fails (path, GAF_ERROR_FORMAT, "is not a gaflow checkpoint");
  write_bytes (path, "", 0);
  assert_load_fails (path, GAF_ERROR_FORMAT, "is not a gaflow checkpoint");
  write_bytes (path, "[model]\nkind=mlp\n", 17);
  assert_load_fails (path, GAF_ERROR_FORMAT, "is not a gaflow checkpoint");
  write_bytes (path, "GAFLOW", 6);   /* the start of the magic: a cut-off checkpoint */
  assert_load_fails (path, GAF_ERROR_FORMAT, "truncated");
  gaf_rng_init (&rng, 3);
  for (guint trial = 0; trial < 8; trial++)
    {
      gsize n = 1 + gaf_rng_below (&rng, sizeof noise);
      for (gsize i = 0; i < n; i++)
        noise[i] = (guint8) gaf_rng_below (&rng, 256);
      write_bytes (path, noise, n);
      assert_load_fails (path, GAF_ERROR_FORMAT, "is not a gaflow checkpoint");
    }
  assert_load_fails (missing, GAF_ERROR_IO, "cannot open checkpoint");
  assert_load_fails (dir, GAF_ERROR_IO, "not a regular file");
  assert_load_fails ("/dev/zero", GAF_ERROR_IO, "not a regular file");
  rm_tree (dir);
}

/* ---- architecture ---------------------------------------------------------------------------- */

static GafNet *
toy_cnn (int c, int hidden, guint64 seed)
{
  GafModelConfig cfg;
  g_autoptr(GError) error = NULL;
  GafNet *net;

  gaf_model_config_init (&cfg, GAF_MODEL_TOY_CNN, 4, c, seed);
  cfg.toy_cnn.hidden = hidden;
  cfg.toy_cnn.fourier_half = hidden / 2;
  net = gaf_model_new (&cfg, &error);
  g_assert_no_error (error);
  return net;
}

static char *
thousands (gsize n)
{
  g_assert_cmpuint (n, >=, 1000);
  g_assert_cmpuint (n, <, 1000000);
  return g_strdup_printf ("%" G_GSIZE_FORMAT ",%03" G_GSIZE_FORMAT, n / 1000, n % 1000);
}

static void
test_architecture (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "cnn.gafck", NULL);
  g_autoptr(GafNet) saved = toy_cnn (5, 16, 1);
  g_autoptr(GafNet) wider = toy_cnn (6, 16, 2);
  g_autoptr(GafNet) same = toy_cnn (5, 16, 3);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree float *before = NULL;
  g_autofree char *n_saved = thousands (saved->params->size), *n_wider = thousands (wider->params->size);
  g_autofree char *expect = NULL;
  GafParams *wp = wider->params;
  GafRng rng;

  gaf_rng_init (&rng, 1);
  g_assert_true (gaf_checkpoint_save (path, kf, saved->params, &rng, 0, &error));
  g_assert_no_error (error);
  ck = gaf_checkpoint_load (path, &error);
  g_assert_no_error (error);

  /* c = 6 instead of 5: same tensors, the input and output ones larger */
  before = g_memdup2 (wp->data, wp->size * sizeof (float));
  g_assert_false (gaf_checkpoint_restore (ck, wp, NULL, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  expect = g_strdup_printf ("the checkpoint has %s parameters in %u tensors; the model has %s parameters in %u tensors "
                            "(tensor 1 is 'in.w' (%d values) in the checkpoint, 'in.w' (%d values) in the model)",
                            n_saved, saved->params->views->len, n_wider, wp->views->len, 9 * 5 * 16, 9 * 6 * 16);
  g_assert_nonnull (strstr (error->message, expect));
  g_assert_cmpmem (wp->data, wp->size * sizeof (float), before, wp->size * sizeof (float));
  g_clear_error (&error);

  /* an MLP: other names */
  {
    GafModelConfig cfg;
    g_autoptr(GafNet) mlp = NULL;
    gaf_model_config_init (&cfg, GAF_MODEL_MLP, 4, 5, 1);
    mlp = gaf_model_new (&cfg, &error);
    g_assert_no_error (error);
    g_assert_false (gaf_checkpoint_restore (ck, mlp->params, NULL, NULL, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
    g_assert_nonnull (strstr (error->message, "tensor 1 is 'in.w'"));
    g_assert_nonnull (strstr (error->message, "'fc0.w'"));
    g_clear_error (&error);
  }

  /* the same architecture (another initialisation) takes it */
  g_assert_true (gaf_checkpoint_restore (ck, same->params, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (same->params->data, same->params->size * sizeof (float),
                   saved->params->data, saved->params->size * sizeof (float));
  rm_tree (dir);
}

/* ---- atomic save ----------------------------------------------------------------------------- */

/* Saving into a directory that cannot be written fails and leaves the old checkpoint. Root writes
 * anyway (permissions do not bind it): then the test says so and skips; the interrupted-write test
 * below covers the same property for root. */
static void
test_atomic_readonly (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "keep.gafck", 11, NULL, NULL);
  g_autoptr(GafParams) other = small_params (3, FALSE);
  g_autoptr(GKeyFile) kf = small_config ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  GafRng rng;

  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);
  if (access (dir, W_OK) == 0)
    {
      rm_tree (dir);
      g_test_skip ("a read-only directory is writable for this user (root); see /engine/checkpoint/atomic-interrupted");
      return;
    }
  gaf_rng_init (&rng, 1);
  g_assert_false (gaf_checkpoint_save (path, kf, other, &rng, 12, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  ck = gaf_checkpoint_load (path, NULL);
  g_assert_nonnull (ck);
  g_assert_cmpuint (gaf_checkpoint_get_step (ck), ==, 11);
  rm_tree (dir);
}

/* A save cut off in the middle of writing (here by a file-size limit, which binds root too: the kernel
 * refuses writes beyond it with EFBIG, as a full disk would with ENOSPC) fails, leaves the old checkpoint
 * intact and loadable, and removes its partial temporary file. */
static void
test_atomic_interrupted (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = save_small (dir, "keep.gafck", 11, NULL, NULL);
  g_autoptr(GBytes) old_bytes = read_bytes (path);
  g_autoptr(GafParams) big = gaf_params_new ();
  g_autoptr(GKeyFile) kf = small_config ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GBytes) new_bytes = NULL;
  struct rlimit saved, limited;
  void (*old_handler) (int);
  gboolean ok;
  GafRng rng;

  gaf_params_add (big, "w", 200000);
  gaf_params_alloc (big);
  gaf_rng_init (&rng, 1);
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  limited = saved;
  limited.rlim_cur = 256 * 1024;   /* the new file would be 2.4 MB */
  old_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &limited), ==, 0);
  ok = gaf_checkpoint_save (path, kf, big, &rng, 12, &error);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &saved), ==, 0);
  signal (SIGXFSZ, old_handler);

  g_assert_false (ok);
  g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
  g_test_message ("interrupted save: %s", error->message);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  new_bytes = read_bytes (path);
  g_assert_true (g_bytes_equal (old_bytes, new_bytes));
  ck = gaf_checkpoint_load (path, NULL);
  g_assert_nonnull (ck);
  g_assert_cmpuint (gaf_checkpoint_get_step (ck), ==, 11);

  /* without the limit the same save goes through */
  g_clear_error (&error);
  g_assert_true (gaf_checkpoint_save (path, kf, big, &rng, 12, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 1);
  rm_tree (dir);
}

static void
test_save_refuses_nan (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "nan.gafck", NULL);
  g_autoptr(GafParams) p = small_params (1, TRUE);
  g_autoptr(GKeyFile) kf = small_config ();
  g_autoptr(GError) error = NULL;
  GafRng rng;

  gaf_rng_init (&rng, 1);
  p->v[17] = NAN;
  g_assert_false (gaf_checkpoint_save (path, kf, p, &rng, 1, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "Adam moments"));
  g_assert_cmpuint (count_entries (dir), ==, 0);
  rm_tree (dir);
}

/* ---- model factory --------------------------------------------------------------------------- */

static void
test_model_keyfile (void)
{
  for (int kind = 0; kind < GAF_N_MODEL_KINDS; kind++)
    {
      GafModelConfig cfg, back;
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GafNet) a = NULL, b = NULL;
      g_autofree char *text = NULL;
      g_autofree float *x = NULL, *ya = NULL, *yb = NULL;
      float t[2] = { 0.3f, 7.0f };
      gsize count;
      GafRng rng;

      if (kind == GAF_MODEL_UNET)
        {
          /* 8 x 8 images, 3 classes, two levels, attention at 4 x 4 besides the middle */
          gaf_model_config_init (&cfg, kind, 64, 3, G_GUINT64_CONSTANT (18446744073709551557));
          cfg.unet.channels = 8;
          cfg.unet.n_levels = 2;
          cfg.unet.mult[0] = 1;
          cfg.unet.mult[1] = 2;
          cfg.unet.mult[2] = cfg.unet.mult[3] = 0;
          cfg.unet.blocks = 1;
          cfg.unet.n_attn = 1;
          cfg.unet.attn[0] = 4;
          cfg.unet.time_scale = 1.0 / 15.0;
        }
      else
        gaf_model_config_init (&cfg, kind, 3, 4, G_GUINT64_CONSTANT (18446744073709551557));
      if (kind == GAF_MODEL_UNET)
        ;
      else if (kind == GAF_MODEL_TOY_CNN)
        {
          cfg.toy_cnn.hidden = 12;
          cfg.toy_cnn.fourier_half = 6;
          cfg.toy_cnn.fourier_scale = 0.1 + 0.2;   /* not exactly representable: must still round-trip */
          cfg.toy_cnn.time_scale = 1.0 / 15.0;
          cfg.toy_cnn.input_scale = 4.0;
        }
      else if (kind == GAF_MODEL_DENSE)
        {
          cfg.dense.n_hidden = 3;
          cfg.dense.hidden[0] = 6;
          cfg.dense.hidden[1] = 5;
          cfg.dense.hidden[2] = 7;
          cfg.dense.bias = FALSE;
        }
      else
        {
          cfg.mlp.hidden = 10;
          cfg.mlp.depth = 2;
          cfg.mlp.layernorm = FALSE;
          cfg.mlp.time_freqs = 3;
          cfg.mlp.input_scale = 1.0 / 3.0;
        }
      gaf_model_config_to_keyfile (&cfg, kf);
      text = g_key_file_to_data (kf, NULL, NULL);
      g_test_message ("%s", text);
      g_assert_true (gaf_model_config_from_keyfile (&back, kf, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (&back, sizeof back, &cfg, sizeof cfg);

      /* the factory builds the same network as the constructor: same parameters, same function */
      a = gaf_model_new_from_keyfile (kf, &error);
      g_assert_no_error (error);
      if (kind == GAF_MODEL_TOY_CNN)
        b = GAF_NET (gaf_toy_cnn_new (&cfg.toy_cnn, cfg.seed));
      else if (kind == GAF_MODEL_MLP)
        b = GAF_NET (gaf_mlp_new (&cfg.mlp, cfg.seed));
      else if (kind == GAF_MODEL_DENSE)
        b = GAF_NET (gaf_dense_new (&cfg.dense, cfg.seed));
      else
        b = GAF_NET (gaf_unet_new (&cfg.unet, cfg.seed));
      g_assert_cmpstr (a->klass->name, ==, gaf_model_kind_to_string (kind));
      g_assert_cmpuint (a->params->trained, ==, gaf_model_param_count (&cfg));
      g_assert_cmpmem (a->params->data, a->params->size * sizeof (float), b->params->data, b->params->size * sizeof (float));
      count = (gsize) 2 * a->n * a->in_channels;
      x = g_new (float, count);
      ya = g_new (float, (gsize) 2 * a->n * a->out_channels);
      yb = g_new (float, (gsize) 2 * a->n * a->out_channels);
      gaf_rng_init (&rng, 4);
      for (gsize i = 0; i < count; i++)
        x[i] = (float) gaf_rng_uniform (&rng);
      gaf_net_infer (a, x, t, 2, ya);
      gaf_net_infer (b, x, t, 2, yb);
      g_assert_cmpmem (ya, 2 * a->n * a->out_channels * sizeof (float), yb, 2 * a->n * a->out_channels * sizeof (float));

      /* and the network tells its configuration back */
      g_assert_true (gaf_model_config_from_net (&back, a, cfg.seed));
      g_assert_cmpmem (&back, sizeof back, &cfg, sizeof cfg);
    }
}

/* posterior_lambda: written only when set, read back, the factory wraps the network it would build
 * otherwise (same parameters, the output of gaf_posterior_net_new around it), and the wrapped network
 * tells its configuration back. */
static void
test_model_posterior (void)
{
  for (int kind = 0; kind < GAF_N_MODEL_KINDS; kind++)
    {
      GafModelConfig cfg, back;
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autoptr(GError) error = NULL;
      g_autoptr(GafNet) a = NULL, b = NULL;
      g_autofree float *x = NULL, *ya = NULL, *yb = NULL;
      float t[2] = { 0.3f, 7.0f };
      gsize count, out;
      GafRng rng;

      if (kind == GAF_MODEL_UNET)
        {
          gaf_model_config_init (&cfg, kind, 16, 3, 31);
          cfg.unet.channels = 8;
          cfg.unet.n_levels = 1;
          cfg.unet.mult[1] = cfg.unet.mult[2] = cfg.unet.mult[3] = 0;
          cfg.unet.blocks = 1;
        }
      else
        gaf_model_config_init (&cfg, kind, 3, 4, 31);
      if (kind == GAF_MODEL_TOY_CNN)
        {
          cfg.toy_cnn.hidden = 12;
          cfg.toy_cnn.fourier_half = 6;
        }
      else if (kind == GAF_MODEL_MLP)
        cfg.mlp.hidden = 10;
      gaf_model_config_to_keyfile (&cfg, kf);
      g_assert_false (g_key_file_has_key (kf, "model", "posterior_lambda", NULL));
      cfg.posterior_lambda = 0.5;
      gaf_model_config_to_keyfile (&cfg, kf);
      g_assert_true (gaf_model_config_from_keyfile (&back, kf, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (&back, sizeof back, &cfg, sizeof cfg);

      a = gaf_model_new_from_keyfile (kf, &error);
      g_assert_no_error (error);
      g_assert_true (gaf_net_is_posterior (a));
      cfg.posterior_lambda = 0.0;
      b = gaf_posterior_net_new (gaf_model_new (&cfg, &error), 0.5);
      g_assert_no_error (error);
      g_assert_cmpmem (a->params->data, a->params->size * sizeof (float), b->params->data, b->params->size * sizeof (float));
      count = (gsize) 2 * a->n * a->in_channels;
      out = (gsize) 2 * a->n * a->out_channels;
      x = g_new (float, count);
      ya = g_new (float, out);
      yb = g_new (float, out);
      gaf_rng_init (&rng, 32);
      for (gsize i = 0; i < count; i++)
        x[i] = (float) (0.01 + gaf_rng_uniform (&rng));
      gaf_net_infer (a, x, t, 2, ya);
      gaf_net_infer (b, x, t, 2, yb);
      g_assert_cmpmem (ya, out * sizeof (float), yb, out * sizeof (float));
      /* the posterior form's rows sum to zero (lambda s (p - 1/c)) */
      for (gsize r = 0; r < out / a->out_channels; r++)
        {
          double sum = 0.0;
          for (int j = 0; j < a->out_channels; j++)
            sum += ya[r * a->out_channels + j];
          g_assert_cmpfloat (fabs (sum), <, 1e-6);
        }
      g_assert_true (gaf_model_config_from_net (&back, a, cfg.seed));
      g_assert_cmpfloat (back.posterior_lambda, ==, 0.5);
      back.posterior_lambda = 0.0;
      g_assert_cmpmem (&back, sizeof back, &cfg, sizeof cfg);
    }
}

static void
assert_model_error (const char *text, const char *needle)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  GafModelConfig cfg;

  g_assert_true (g_key_file_load_from_data (kf, text, -1, 0, NULL));
  g_assert_false (gaf_model_config_from_keyfile (&cfg, kf, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, needle) == NULL)
    g_error ("expected \"%s\" in \"%s\"", needle, error->message);
}

static void
test_model_errors (void)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  GafModelConfig cfg;

  /* the shortest description: defaults for the rest, frequencies follow the width */
  g_assert_true (g_key_file_load_from_data (kf, "[model]\nkind = toy-cnn\nn = 4\nclasses = 5\nhidden = 16\n", -1, 0, NULL));
  g_assert_true (gaf_model_config_from_keyfile (&cfg, kf, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.toy_cnn.fourier_half, ==, 8);
  g_assert_cmpint (cfg.toy_cnn.in_channels, ==, 5);
  g_assert_cmpfloat (cfg.toy_cnn.fourier_scale, ==, 30.0);
  g_assert_cmpuint (cfg.seed, ==, 1);

  assert_model_error ("[train]\nbatch=1\n", "no [model] group");
  assert_model_error ("[model]\nn=4\nclasses=5\n", "needs kind");
  assert_model_error ("[model]\nkind=unet2\nn=4\nclasses=5\n", "kind = unet2 is not a known network");
  assert_model_error ("[model]\nkind=mlp\nclasses=5\n", "needs n");
  assert_model_error ("[model]\nkind=mlp\nn=4\nin_channels=5\n", "needs classes");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=5\nhiden=3\n", "unknown key 'hiden'");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=5\nfourier_half=3\n", "unknown key 'fourier_half'");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=five\n", "[model] classes = five is not an integer");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=5\nseed=-1\n", "seed = -1 is not a non-negative integer");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=5\ninput_scale=nan\n", "input scale");
  assert_model_error ("[model]\nkind=toy-cnn\nn=4\nclasses=5\nhidden=16\nfourier_half=5\n", "invalid toy CNN configuration");
  assert_model_error ("[model]\nkind=toy-cnn\nn=4\nclasses=100000\nhidden=16384\n", "too large");
  assert_model_error ("[model]\nkind=toy-cnn\nn=4\nclasses=5\nposterior_lambda=-0.5\n", "posterior_lambda must be");
  assert_model_error ("[model]\nkind=mlp\nn=4\nclasses=5\nposterior_lambda=nan\n", "posterior_lambda must be");
  assert_model_error ("[model]\nkind=mlp\nn=4\nin_channels=5\nout_channels=4\nposterior_lambda=0.5\n",
                      "equal in and out channels");
  assert_model_error ("[model]\nkind=unet\nclasses=2\nheight=8\nwidth=8\nchannels=8\nmult=1;2\nblocks=1\nhidden=4\n",
                      "unknown key 'hidden'");
  assert_model_error ("[model]\nkind=unet\nseed=x\nclasses=2\nheight=8\nwidth=8\nchannels=8\nmult=1;2\nblocks=1\n",
                      "seed = x is not a non-negative integer");
  /* the UNet's own reader: its errors and its checks */
  {
    static const char *const bad[] = {
      "[model]\nkind=unet\nclasses=2\nheight=8\nwidth=8\nchannels=8\nblocks=1\n",                /* no mult */
      "[model]\nkind=unet\nclasses=2\nheight=7\nwidth=8\nchannels=8\nmult=1;2\nblocks=1\n",     /* 7 is odd */
    };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GKeyFile) k = g_key_file_new ();
        g_autoptr(GError) e = NULL;
        g_assert_true (g_key_file_load_from_data (k, bad[i], -1, 0, NULL));
        g_assert_false (gaf_model_config_from_keyfile (&cfg, k, &e));
        g_assert_true (e != NULL && e->domain == GAF_ERROR);
        g_test_message ("%s", e->message);
      }
  }
  assert_model_error ("[model]\nkind=unet\nclasses=2\nheight=8\nwidth=8\nchannels=4096\nmult=2;2\nblocks=16\n",
                      "the unet model is too large");
}

/* ---- resume ---------------------------------------------------------------------------------- */

static void
class_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  gaf_class_target_sample (user_data, rng, labels, batch);
}

static GKeyFile *
resume_config (GafModelKind kind)
{
  GKeyFile *kf = g_key_file_new ();
  GafModelConfig mcfg;
  GafTrainerConfig tcfg;

  if (kind == GAF_MODEL_UNET)
    {
      /* 4 x 4 images of 5 classes, two levels of 8 and 16 channels */
      gaf_model_config_init (&mcfg, kind, 16, 5, 21);
      mcfg.unet.channels = 8;
      mcfg.unet.n_levels = 2;
      mcfg.unet.mult[0] = 1;
      mcfg.unet.mult[1] = 2;
      mcfg.unet.blocks = 1;
    }
  else
    gaf_model_config_init (&mcfg, kind, 4, 5, 21);
  if (kind == GAF_MODEL_UNET)
    ;
  else if (kind == GAF_MODEL_TOY_CNN)
    {
      mcfg.toy_cnn.hidden = 16;
      mcfg.toy_cnn.fourier_half = 8;
      mcfg.toy_cnn.time_scale = 1.0 / 15.0;
    }
  else
    mcfg.mlp.hidden = 32;
  gaf_model_config_to_keyfile (&mcfg, kf);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = kind == GAF_MODEL_UNET ? 6 : 24;
  tcfg.adam.lr = 2e-3;
  tcfg.ema_decay = 0.99;
  tcfg.seed = 22;
  gaf_trainer_config_to_keyfile (&tcfg, kf);
  {
    g_autofree char *spec = g_strdup_printf ("class-scaling n=%d c=5 seed=23", kind == GAF_MODEL_UNET ? 16 : 4);
    g_key_file_set_string (kf, "data", "spec", spec);
  }
  return kf;
}

/* A trainer from the [model] and [train] groups; a cosine schedule over `cosine` steps when not 0. */
static GafTrainer *
trainer_from (GKeyFile *kf, GafClassTarget *target, GafNet **net_out)
{
  g_autoptr(GError) error = NULL;
  GafTrainerConfig tcfg;
  GafNet *net = gaf_model_new_from_keyfile (kf, &error);

  g_assert_no_error (error);
  gaf_trainer_config_init (&tcfg);
  g_assert_true (gaf_trainer_config_from_keyfile (&tcfg, kf, &error));
  g_assert_no_error (error);
  *net_out = net;
  return gaf_trainer_new (net, class_labels, target, &tcfg);
}

static GArray *
run_steps (GafTrainer *tr, guint steps, GArray *trace)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (gaf_trainer_run (tr, steps, trace, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  return trace;
}

static void
resume_case (GafModelKind kind)
{
  const guint N = kind == GAF_MODEL_UNET ? 6 : 12;
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "resume.gafck", NULL);
  g_autoptr(GafClassTarget) target = gaf_class_target_new (kind == GAF_MODEL_UNET ? 16 : 4, 5, 23);
  g_autoptr(GArray) straight = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) resumed = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) no_rng = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GafNet) net_a = NULL, net_b = NULL, net_c = NULL, net_d = NULL;
  g_autoptr(GafTrainer) tr_a = NULL, tr_c = NULL, tr_d = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GKeyFile) kf = resume_config (kind);
  g_autoptr(GError) error = NULL;
  guint differ = 0;

  /* 2N steps in one go; the cosine schedule ends at step N + 5, after which lr stays where it ended */
  tr_a = trainer_from (kf, target, &net_a);
  gaf_trainer_set_cosine_schedule (tr_a, 2e-3, N + 5);
  run_steps (tr_a, 2 * N, straight);

  /* N steps, save, forget everything */
  {
    g_autoptr(GafNet) net_b0 = NULL;
    g_autoptr(GafTrainer) tr_b = trainer_from (kf, target, &net_b0);
    gaf_trainer_set_cosine_schedule (tr_b, 2e-3, N + 5);
    run_steps (tr_b, N, resumed);
    g_assert_true (gaf_trainer_save_checkpoint (tr_b, path, kf, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (gaf_trainer_get_step (tr_b), ==, N);
  }
  g_clear_pointer (&kf, g_key_file_unref);

  /* load, rebuild network and trainer from the checkpoint alone, N more steps */
  ck = gaf_checkpoint_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_checkpoint_get_step (ck), ==, N);
  g_assert_true (gaf_checkpoint_has_ema (ck));
  tr_c = trainer_from (gaf_checkpoint_get_config (ck), target, &net_c);
  g_assert_true (gaf_trainer_restore_checkpoint (tr_c, ck, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gaf_trainer_get_step (tr_c), ==, N);
  run_steps (tr_c, N, resumed);

  g_assert_cmpuint (resumed->len, ==, 2 * N);
  g_assert_cmpmem (resumed->data, 2 * N * sizeof (double), straight->data, 2 * N * sizeof (double));
  g_assert_cmpmem (net_c->params->data, net_c->params->size * sizeof (float),
                   net_a->params->data, net_a->params->size * sizeof (float));
  g_assert_cmpmem (net_c->params->ema, net_c->params->size * sizeof (float),
                   net_a->params->ema, net_a->params->size * sizeof (float));

  /* the control: the same restore but with a fresh RNG gives other batches, hence other losses */
  tr_d = trainer_from (gaf_checkpoint_get_config (ck), target, &net_d);
  g_assert_true (gaf_trainer_restore_checkpoint (tr_d, ck, &error));
  {
    GafRng fresh;
    gaf_rng_init (&fresh, 22);
    gaf_trainer_set_rng (tr_d, &fresh);
  }
  run_steps (tr_d, N, no_rng);
  for (guint i = 0; i < N; i++)
    differ += g_array_index (no_rng, double, i) != g_array_index (straight, double, N + i);
  g_assert_cmpuint (differ, ==, N);
  rm_tree (dir);
}

static void
test_resume_toy_cnn (void)
{
  resume_case (GAF_MODEL_TOY_CNN);
}

static void
test_resume_mlp (void)
{
  resume_case (GAF_MODEL_MLP);
}

static void
test_resume_unet (void)
{
  resume_case (GAF_MODEL_UNET);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gaf_blas_set_threads (2);

  g_test_add_func ("/engine/checkpoint/round-trip", test_round_trip);
  g_test_add_func ("/engine/checkpoint/truncated", test_truncated);
  g_test_add_func ("/engine/checkpoint/corrupted", test_corrupted);
  g_test_add_func ("/engine/checkpoint/version", test_version);
  g_test_add_func ("/engine/checkpoint/malformed", test_malformed);
  g_test_add_func ("/engine/checkpoint/foreign", test_foreign);
  g_test_add_func ("/engine/checkpoint/architecture", test_architecture);
  g_test_add_func ("/engine/checkpoint/atomic-readonly", test_atomic_readonly);
  g_test_add_func ("/engine/checkpoint/atomic-interrupted", test_atomic_interrupted);
  g_test_add_func ("/engine/checkpoint/save-refuses-nan", test_save_refuses_nan);
  g_test_add_func ("/engine/model/keyfile", test_model_keyfile);
  g_test_add_func ("/engine/model/errors", test_model_errors);
  g_test_add_func ("/engine/model/posterior", test_model_posterior);
  g_test_add_func ("/engine/checkpoint/resume-toy-cnn", test_resume_toy_cnn);
  g_test_add_func ("/engine/checkpoint/resume-mlp", test_resume_mlp);
  g_test_add_func ("/engine/checkpoint/resume-unet", test_resume_unet);

  return g_test_run ();
}
