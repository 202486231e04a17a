/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-fuzz"
#include "config.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-engine.h"

/* Mutation fuzzing of every parser of files someone else made, inside the test suite (issue 14).
 *
 * Each target reads files from its seed corpus tests/corpus/NAME/, first unchanged (the seeds must be
 * accepted, the reproducers of issue 14, named issue14-*, must give a clean error), then mutated for a
 * fixed number of iterations from a fixed seed: bit flips, random bytes, truncations, header fields
 * overwritten with extreme values (0, 0xff.., "4294967295", "1e308"), cut and duplicated runs. The
 * mutated bytes go through the same entry point as a real file (written to a temporary file, read by
 * the engine's loader), with a small memory budget so that "accepted" cannot mean "allocated 8 GiB".
 * Outcomes per target: a clean error (FALSE and one GError), accepted, or a crash / hang (the process
 * dies: the sanitizer's report, or SIGALRM after the deadline, names the target and the iteration).
 *
 * Iterations: GAF_FUZZ_ITERATIONS per target (default 300, a few seconds each); GAF_FUZZ_SEED changes
 * the sequence. Adding a parser is one line in `targets` below and a folder of seeds in tests/corpus/. */

typedef gboolean (*FuzzParse) (const char *path, GError **error);
/* Optional: repairs what a format protects after a mutation (a checksum), so that the mutation reaches
 * the parser behind it. */
typedef void (*FuzzFixup) (GByteArray *bytes, GafRng *rng);

static gboolean
parse_csv (const char *path, GError **error)
{
  g_autoptr(GafJoint) j = gaf_joint_load_csv (path, error);
  return j != NULL;
}

static gboolean
parse_text (const char *path, GError **error)
{
  GafTextStats st;
  g_autoptr(GafJoint) j = gaf_joint_load_text (path, 4, NULL, &st, error);
  return j != NULL;
}

static gboolean
parse_label_image (const char *path, GError **error)
{
  GafLabelImage img;
  gboolean ok = gaf_label_image_load (path, &img, error);

  gaf_label_image_clear (&img);
  return ok;
}

static gboolean
parse_idx (const char *path, GError **error)
{
  GafIdx idx;
  guint8 head[4] = { 0 };
  FILE *f = fopen (path, "rb");
  gboolean ok;

  /* the magic the file claims, if it is one the reader takes; else images, which it must refuse */
  if (f != NULL)
    {
      if (fread (head, 1, 4, f) != 4)
        memset (head, 0, 4);
      fclose (f);
    }
  ok = gaf_idx_load (path, head[2] == 8 && head[3] >= 1 && head[3] <= 4 ? 0x800 | head[3] : 0x803, 0, &idx, error);
  gaf_idx_clear (&idx);
  return ok;
}

/* A checkpoint as the CLI and the app take one: the file, then its [model] built and the arena restored. */
static gboolean
parse_checkpoint (const char *path, GError **error)
{
  GafCheckpoint *ck = gaf_checkpoint_load (path, error);
  g_autoptr(GafNet) net = NULL;
  GafRng rng;
  guint64 step;
  gboolean ok;

  if (ck == NULL)
    return FALSE;
  net = gaf_model_new_from_keyfile (gaf_checkpoint_get_config (ck), error);
  ok = net != NULL && gaf_checkpoint_restore (ck, net->params, &rng, &step, error);
  gaf_checkpoint_free (ck);
  return ok;
}

/* Most mutations of a checkpoint are caught by its SHA-256 alone; for three in four, the size field and
 * the checksum are recomputed (as the audit of issue 14 did), so that the sections behind them are
 * fuzzed. Layout: bytes 16..23 the file size (u64 LE), the last 32 bytes SHA-256 of the rest. */
static void
fixup_checkpoint (GByteArray *b, GafRng *rng)
{
  g_autoptr(GChecksum) sum = NULL;
  guint64 size;
  gsize digest_len = 32;

  if (b->len < 24 + 32 || gaf_rng_below (rng, 4) == 0)
    return;
  size = GUINT64_TO_LE ((guint64) b->len);
  memcpy (b->data + 16, &size, 8);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, b->data, b->len - 32);
  g_checksum_get_digest (sum, b->data + b->len - 32, &digest_len);
}

/* A [model] key file (the UNet's and every network's keys): parsed, checked, and the network built. */
static gboolean
parse_model (const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *text = NULL;
  g_autoptr(GafNet) net = NULL;
  gsize length;

  if (!gaf_file_read_all (path, "model file", 1 << 20, &text, &length, error))
    return FALSE;
  if (!g_key_file_load_from_data (kf, text, length, G_KEY_FILE_NONE, error))
    return FALSE;
  net = gaf_model_new_from_keyfile (kf, error);
  return net != NULL;
}

/* A folder of label maps: `path` is the folder (see fuzz_one). */
static gboolean
parse_folder (const char *path, GError **error)
{
  g_autoptr(GafDataset) ds = gaf_dataset_new_folder (path, 0, error);
  return ds != NULL;
}

/* A safetensors file as `gaflow-cli import` and the app's Open Model take one: the file, every float
 * tensor read with its own shape, the configuration from the metadata and the network imported. */
static gboolean
parse_safetensors (const char *path, GError **error)
{
  g_autoptr(GafSafetensors) st = gaf_safetensors_load (path, error);
  g_autoptr(GafNet) net = NULL;
  GafModelConfig cfg;

  if (st == NULL)
    return FALSE;
  for (guint i = 0; i < gaf_safetensors_get_n_tensors (st); i++)
    {
      const char *name = gaf_safetensors_get_name (st, i), *dtype;
      const gint64 *shape;
      g_autofree float *buf = NULL;
      int ndim;

      g_assert_true (gaf_safetensors_get_info (st, name, &dtype, &ndim, &shape));
      if (!g_str_equal (dtype, "F32") && !g_str_equal (dtype, "F16") && !g_str_equal (dtype, "BF16"))
        continue;
      /* numel x element size = the tensor's bytes, inside a file that fitted the budget */
      buf = g_new (float, MAX (gaf_safetensors_get_numel (st, name), 1));
      if (!gaf_safetensors_read_floats (st, name, ndim, shape, buf, error))
        return FALSE;
    }
  if (!gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, error))
    return FALSE;
  net = gaf_torch_import (st, &cfg, error);
  return net != NULL;
}

/* Mutations that reach past the framing of safetensors: most edits of the JSON header change its length,
 * and a wrong length ends the parse at once. Half of the time the header alone is mutated (the generic
 * edits, or a number in it replaced by an extreme one) and its length field rewritten to match. */
static void mutate (GByteArray *b, GafRng *rng);
static void replace_number (GByteArray *b, guint start, GafRng *rng);

static void
mutate_safetensors (GByteArray *b, GafRng *rng)
{
  g_autoptr(GByteArray) head = NULL;
  guint64 n;

  if (b->len < 8 || gaf_rng_below (rng, 2) == 0)
    {
      mutate (b, rng);
      return;
    }
  memcpy (&n, b->data, 8);
  n = GUINT64_FROM_LE (n);
  if (n > b->len - 8)
    {
      mutate (b, rng);
      return;
    }
  head = g_byte_array_new ();
  g_byte_array_append (head, b->data + 8, (guint) n);
  if (gaf_rng_below (rng, 2) == 0)
    mutate (head, rng);
  else
    for (guint k = 1 + gaf_rng_below (rng, 3); k > 0 && head->len > 0; k--)
      replace_number (head, gaf_rng_below (rng, head->len), rng);
  {
    g_autoptr(GByteArray) out = g_byte_array_sized_new (b->len);
    guint64 le = GUINT64_TO_LE ((guint64) head->len);
    g_byte_array_append (out, (const guint8 *) &le, 8);
    g_byte_array_append (out, head->data, head->len);
    g_byte_array_append (out, b->data + 8 + n, b->len - 8 - (guint) n);
    g_byte_array_set_size (b, 0);
    g_byte_array_append (b, out->data, out->len);
  }
}

typedef void (*FuzzMutate) (GByteArray *bytes, GafRng *rng);

typedef struct {
  const char *name;      /* the corpus folder tests/corpus/NAME/ */
  FuzzParse   parse;
  FuzzFixup   fixup;     /* NULL: none */
  gboolean    folder;    /* the seeds are one folder of files; one of them is mutated per iteration */
  FuzzMutate  mutate;    /* NULL: the generic mutations */
} FuzzTarget;

static const FuzzTarget targets[] = {
  { "csv",         parse_csv,         NULL,             FALSE, NULL },
  { "text",        parse_text,        NULL,             FALSE, NULL },
  { "pgm",         parse_label_image, NULL,             FALSE, NULL },
  { "png",         parse_label_image, NULL,             FALSE, NULL },
  { "idx",         parse_idx,         NULL,             FALSE, NULL },
  { "checkpoint",  parse_checkpoint,  fixup_checkpoint, FALSE, NULL },
  { "model",       parse_model,       NULL,             FALSE, NULL },
  { "folder",      parse_folder,      NULL,             TRUE,  NULL },
  { "safetensors", parse_safetensors, NULL,             FALSE, mutate_safetensors },
};

typedef struct {
  char   *name;
  GBytes *bytes;
} Seed;

static void
seed_clear (gpointer p)
{
  Seed *s = p;

  g_free (s->name);
  g_bytes_unref (s->bytes);
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(char *const *) a, *(char *const *) b);
}

static GArray *
load_seeds (const char *dir)
{
  GArray *seeds = g_array_new (FALSE, TRUE, sizeof (Seed));
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *e;

  g_array_set_clear_func (seeds, seed_clear);
  g_assert_nonnull (d);
  while ((e = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (e));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      char *data;
      gsize len;
      Seed s;

      g_assert_true (g_file_get_contents (path, &data, &len, NULL));
      s.name = g_strdup (names->pdata[i]);
      s.bytes = g_bytes_new_take (data, len);
      g_array_append_val (seeds, s);
    }
  g_assert_cmpuint (seeds->len, >, 0);
  return seeds;
}

/* ---- mutations ------------------------------------------------------------------------------------ */

static const char *const extreme_text[] = {
  "0", "-1", "4294967295", "65535", "65536", "2147483648", "99999999999999999999", "1e308", "-1e308", "nan",
  "inf", "1e-320", "16384", "4097", "", "9223372036854775807", "18446744073709551616", "2049",
};
static const guint8 extreme_bytes[] = { 0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe };

/* The first number at or after start replaced by an extreme one. */
static void
replace_number (GByteArray *b, guint start, GafRng *rng)
{
  guint len = b->len, end;
  const char *x = extreme_text[gaf_rng_below (rng, G_N_ELEMENTS (extreme_text))];
  g_autoptr(GByteArray) tail = g_byte_array_new ();

  while (start < len && !g_ascii_isdigit (b->data[start]))
    start++;
  if (start >= len)
    return;
  end = start;
  while (end < len && (g_ascii_isdigit (b->data[end]) || b->data[end] == '.' || b->data[end] == 'e'))
    end++;
  g_byte_array_append (tail, b->data + end, len - end);
  g_byte_array_set_size (b, start);
  g_byte_array_append (b, (const guint8 *) x, strlen (x));
  g_byte_array_append (b, tail->data, tail->len);
}

static void
mutate (GByteArray *b, GafRng *rng)
{
  guint n_ops = 1 + gaf_rng_below (rng, 4);

  for (guint k = 0; k < n_ops; k++)
    {
      guint len = b->len, pos = len ? gaf_rng_below (rng, len) : 0;
      /* header fields live in the first bytes of every format: aim half of the edits there */
      guint head = len ? gaf_rng_below (rng, MIN (len, 64u)) : 0;

      switch (gaf_rng_below (rng, 8))
        {
        case 0:   /* bit flip */
          if (len)
            b->data[pos] ^= (guint8) (1u << gaf_rng_below (rng, 8));
          break;
        case 1:   /* random byte */
          if (len)
            b->data[gaf_rng_below (rng, 2) ? head : pos] = (guint8) gaf_rng_next (rng);
          break;
        case 2:   /* truncation */
          g_byte_array_set_size (b, len ? gaf_rng_below (rng, len) : 0);
          break;
        case 3:   /* a binary header field (4 bytes) overwritten with an extreme value */
          for (guint i = 0; i < 4 && head + i < len; i++)
            b->data[head + i] = extreme_bytes[gaf_rng_below (rng, G_N_ELEMENTS (extreme_bytes))];
          break;
        case 4:   /* a number in a text header replaced by an extreme one (huge dimensions, 1e308) */
          replace_number (b, head, rng);
          break;
        case 5:   /* a run duplicated */
          if (len && len < (1u << 20))
            {
              guint run = 1 + gaf_rng_below (rng, MIN (len - pos, 256u));
              g_autofree guint8 *copy = g_memdup2 (b->data + pos, run);
              g_byte_array_append (b, copy, run);
            }
          break;
        case 6:   /* a run removed */
          if (len)
            g_byte_array_remove_range (b, pos, 1 + gaf_rng_below (rng, MIN (len - pos, 64u)));
          break;
        default:  /* random bytes inserted */
          {
            guint8 junk[16];
            guint cnt = 1 + gaf_rng_below (rng, 16);
            for (guint i = 0; i < cnt; i++)
              junk[i] = (guint8) gaf_rng_next (rng);
            g_byte_array_append (b, junk, cnt);
          }
          break;
        }
    }
}

/* ---- the run ------------------------------------------------------------------------------------------- */

static const char *current_target = "";
static guint64 current_iteration;

static void
on_alarm (int sig)
{
  /* async-signal-safe enough for a dying process: the report, then the default action */
  char msg[160];
  int n = g_snprintf (msg, sizeof msg, "fuzz: HANG in %s at iteration %" G_GUINT64_FORMAT "\n", current_target,
                      current_iteration);
  if (write (2, msg, n) < 0)
    {
    }
  signal (SIGALRM, SIG_DFL);
  raise (SIGALRM);
}

static gboolean
write_file (const char *path, const guint8 *data, gsize len)
{
  /* a plain write, no fsync: thousands of files a second, read back at once */
  FILE *f = fopen (path, "wb");
  gboolean ok;

  if (f == NULL)
    return FALSE;
  ok = fwrite (data, 1, len, f) == len;
  return fclose (f) == 0 && ok;
}

/* One input through the target; 1 accepted, 0 clean error. */
static int
fuzz_one (const FuzzTarget *t, GArray *seeds, guint which, const guint8 *data, gsize len, const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  gboolean ok;

  if (t->folder)
    {
      for (guint i = 0; i < seeds->len; i++)
        {
          Seed *s = &g_array_index (seeds, Seed, i);
          g_autofree char *p = g_build_filename (dir, s->name, NULL);
          gsize l;
          const guint8 *d = i == which ? data : g_bytes_get_data (s->bytes, &l);
          g_assert_true (write_file (p, d, i == which ? len : l));
        }
      path = g_strdup (dir);
    }
  else
    {
      Seed *s = &g_array_index (seeds, Seed, which);
      path = g_build_filename (dir, s->name, NULL);
      g_assert_true (write_file (path, data, len));
    }
  ok = t->parse (path, &error);
  if (!ok && g_getenv ("GAF_FUZZ_VERBOSE") != NULL)
    g_printerr ("%s: %s\n", t->name, error ? error->message : "(no error)");
  if (ok)
    g_assert_null (error);
  else
    {
      /* a clean error: exactly one GError in the project's domain, with a message */
      g_assert_nonnull (error);
      g_assert_true (error->domain == GAF_ERROR || error->domain == G_KEY_FILE_ERROR);
      g_assert_true (error->message != NULL && error->message[0] != '\0');
    }
  return ok ? 1 : 0;
}

static guint64
env_u64 (const char *name, guint64 def)
{
  const char *s = g_getenv (name);
  guint64 v;

  return s != NULL && g_ascii_string_to_unsigned (s, 10, 0, G_MAXUINT64, &v, NULL) ? v : def;
}

static void
test_target (gconstpointer data)
{
  const FuzzTarget *t = data;
  g_autofree char *corpus = g_test_build_filename (G_TEST_DIST, "corpus", t->name, NULL);
  g_autofree char *dir = g_dir_make_tmp ("gaf-fuzz-XXXXXX", NULL);
  g_autoptr(GArray) seeds = load_seeds (corpus);
  guint64 iterations = env_u64 ("GAF_FUZZ_ITERATIONS", 300), accepted = 0, errors = 0;
  guint deadline = (guint) (20 * env_u64 ("GAF_TEST_TIME_FACTOR", 1));
  GafRng rng;

  g_assert_nonnull (dir);
  current_target = t->name;
  /* The seeds as they are: seed-* accepted, issue14-* (the reproducers) a clean error. */
  for (guint i = 0; i < seeds->len; i++)
    {
      Seed *s = &g_array_index (seeds, Seed, i);
      gsize len;
      const guint8 *d = g_bytes_get_data (s->bytes, &len);
      int r = fuzz_one (t, seeds, i, d, len, dir);

      if (g_str_has_prefix (s->name, "issue14-"))
        g_assert_cmpint (r, ==, 0);
      else if (!t->folder)
        {
          if (r != 1)
            g_error ("%s: the seed %s is not accepted", t->name, s->name);
        }
    }
  gaf_rng_init_stream (&rng, env_u64 ("GAF_FUZZ_SEED", 14), g_str_hash (t->name));
  for (guint64 it = 0; it < iterations; it++)
    {
      guint which = gaf_rng_below (&rng, seeds->len);
      Seed *s = &g_array_index (seeds, Seed, which);
      g_autoptr(GByteArray) b = g_byte_array_new ();
      gsize len;
      const guint8 *d = g_bytes_get_data (s->bytes, &len);

      g_byte_array_append (b, d, len);
      (t->mutate != NULL ? t->mutate : mutate) (b, &rng);
      if (t->fixup != NULL)
        t->fixup (b, &rng);
      current_iteration = it;
      alarm (deadline);
      if (fuzz_one (t, seeds, which, b->data, b->len, dir))
        accepted++;
      else
        errors++;
      alarm (0);
    }
  /* The counts for docs/reliability.md; a crash or a hang never gets here. */
  g_test_message ("fuzz %s: %" G_GUINT64_FORMAT " iterations: %" G_GUINT64_FORMAT " clean errors, %" G_GUINT64_FORMAT
                  " accepted, 0 crashes, 0 hangs", t->name, iterations, errors, accepted);
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *e;
    while (d != NULL && (e = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *p = g_build_filename (dir, e, NULL);
        g_unlink (p);
      }
    g_rmdir (dir);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* Small enough that an accepted input cannot allocate much, large enough for every seed. */
  gaf_budget_set (G_GUINT64_CONSTANT (64) << 20);
  signal (SIGALRM, on_alarm);
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autofree char *name = g_strdup_printf ("/fuzz/%s", targets[i].name);
      g_test_add_data_func (name, &targets[i], test_target);
    }
  return g_test_run ();
}
