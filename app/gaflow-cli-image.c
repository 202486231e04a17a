/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib/gstdio.h>

#include "gaf-engine.h"
#include "gaf-parallel.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-image.h"
#include "gaflow-cli-mpi.h"

/* gaflow-cli train | sample on image label maps. A checkpoint written by `train` carries everything
 * `sample` needs: [model] (the network), [train] (the trainer, schedule and the step target) and
 * [data]:
 *
 *   [data]
 *   spec = scenes:classes=8,size=32,count=10000,seed=1,split=train   (loads the training maps again)
 *   classes = 8
 *   height = 32
 *   width = 32
 *   maps = 10000
 *   palette = gray | scenes | classes
 *   description = ...
 *
 * The network sees an image as n = height * width variables with c classes (GafNet x (B, H W, c)). */

#define DATA_GROUP  "data"
#define TRAIN_GROUP "train"
#define MODEL_GROUP "model"

#define IMAGE_DATA_HELP GAF_DATASET_SPEC_HELP

/* Streams of the sampling RNG (the trainer uses its own, gaf-trainer.c). */
#define STREAM_GRID        0x1a90
#define STREAM_STATS       0x1a91
#define STREAM_INDEPENDENT 0x1a92
#define STREAM_TRAIN_FLOOR 0x1a93

/* ---- palettes, data group ---------------------------------------------------------------------- */

static const char *const palette_names[] = { "gray", "scenes", "classes" };

static gboolean
palette_from_string (const char *s, GafPaletteKind *out)
{
  for (guint k = 0; k < G_N_ELEMENTS (palette_names); k++)
    if (g_strcmp0 (s, palette_names[k]) == 0)
      {
        *out = (GafPaletteKind) k;
        return TRUE;
      }
  return FALSE;
}

typedef struct {
  char          *spec;
  int            c, height, width;
  GafPaletteKind palette;
} DataInfo;

static void
data_info_clear (DataInfo *d)
{
  g_clear_pointer (&d->spec, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (DataInfo, data_info_clear)

static void
data_info_to_keyfile (const GafDataset *ds, GKeyFile *kf)
{
  g_key_file_remove_group (kf, DATA_GROUP, NULL);
  g_key_file_set_string (kf, DATA_GROUP, "spec", ds->name);
  g_key_file_set_integer (kf, DATA_GROUP, "classes", ds->c);
  g_key_file_set_integer (kf, DATA_GROUP, "height", ds->height);
  g_key_file_set_integer (kf, DATA_GROUP, "width", ds->width);
  g_key_file_set_uint64 (kf, DATA_GROUP, "maps", ds->count);
  g_key_file_set_string (kf, DATA_GROUP, "palette", palette_names[ds->palette]);
  g_key_file_set_string (kf, DATA_GROUP, "description", ds->description);
}

/* [data] of a checkpoint; a checkpoint without it was not written by the image `train`. */
static gboolean
data_info_from_keyfile (GKeyFile *kf, const char *path, DataInfo *out, GError **error)
{
  g_autofree char *palette = NULL;
  DataInfo d = { 0 };

  if (!g_key_file_has_group (kf, DATA_GROUP) || !g_key_file_has_key (kf, DATA_GROUP, "spec", NULL) ||
      !g_key_file_has_key (kf, DATA_GROUP, "classes", NULL) || !g_key_file_has_key (kf, DATA_GROUP, "height", NULL) ||
      !g_key_file_has_key (kf, DATA_GROUP, "width", NULL))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s is not a checkpoint of an image model (no [data] group with spec, classes, height and width)",
                   path);
      return FALSE;
    }
  if (!gaf_keyfile_get_int (kf, DATA_GROUP, "classes", &d.c, error) ||
      !gaf_keyfile_get_int (kf, DATA_GROUP, "height", &d.height, error) ||
      !gaf_keyfile_get_int (kf, DATA_GROUP, "width", &d.width, error))
    {
      g_prefix_error (error, "%s: ", path);
      return FALSE;
    }
  if (d.c < 2 || d.c > GAF_DATASET_MAX_CLASSES || d.height < 1 || d.width < 1 || d.height > 1 << 14 ||
      d.width > 1 << 14)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [data] has impossible sizes (classes %d, %d x %d)", path,
                   d.c, d.height, d.width);
      return FALSE;
    }
  palette = g_key_file_get_string (kf, DATA_GROUP, "palette", NULL);
  d.palette = GAF_PALETTE_CLASSES;
  if (palette != NULL && !palette_from_string (g_strstrip (palette), &d.palette))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [data] palette = %s is not gray, scenes or classes", path,
                   palette);
      return FALSE;
    }
  d.spec = g_key_file_get_string (kf, DATA_GROUP, "spec", NULL);
  *out = d;
  return TRUE;
}

/* Loads image data from a spec. A relative folder becomes absolute, so that the spec saved in a
 * checkpoint loads the same maps from anywhere. */
static GafDataset *
load_image_data (const char *opt, const char *spec, GError **error)
{
  g_autofree char *abs = NULL;
  GafDataset *ds;

  if (!gaf_dataset_spec_is_dataset (spec))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s: '%s' is not image data (" IMAGE_DATA_HELP ")",
                   opt, spec);
      return NULL;
    }
  if (g_str_has_prefix (spec, "folder:") && spec[7] != '\0' && !g_path_is_absolute (spec + 7))
    {
      g_autofree char *path = g_canonicalize_filename (spec + 7, NULL);
      abs = g_strconcat ("folder:", path, NULL);
      spec = abs;
    }
  ds = gaf_dataset_new_from_spec (spec, error);
  if (ds == NULL)
    g_prefix_error (error, "%s: ", opt);
  return ds;
}

/* ---- model specs -------------------------------------------------------------------------------- */

/* "--model KIND[:key=value,...]" with n = H W pixels, c classes and the seed filled in from the data and
 * --seed. unet: the keys of gaf_unet_config_parse (channels, mult, blocks, attn, time_scale) on top of
 * docs/method.md §3's reference (C = 32, mult 1,2,2,2, 2 blocks). toy-cnn, mlp, dense: the [model] keys of the factory
 * (gaf-model.h); a token without '=' extends the previous key's value. The factory rejects unknown keys
 * and bad values. */
static gboolean
model_config_from_spec (const char *spec, int height, int width, int c, guint64 seed, GafModelConfig *out,
                        GError **error)
{
  static const char *const reserved[] = { "kind", "seed", "n", "classes", "in_channels", "out_channels", "size",
                                          "height", "width", NULL };
  int n = height * width;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  const char *colon = strchr (spec, ':');
  g_autofree char *kind = colon ? g_strndup (spec, colon - spec) : g_strdup (spec);

  if (*kind == '\0')
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--model: no network kind in '%s'", spec);
      return FALSE;
    }
  g_key_file_set_string (kf, MODEL_GROUP, "kind", kind);
  g_key_file_set_uint64 (kf, MODEL_GROUP, "seed", seed);
  g_key_file_set_integer (kf, MODEL_GROUP, "n", n);
  g_key_file_set_integer (kf, MODEL_GROUP, "classes", c);
  if (colon != NULL)
    {
      g_auto(GStrv) tokens = g_strsplit (colon + 1, ",", -1);
      g_autoptr(GPtrArray) keys = g_ptr_array_new ();
      g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; tokens[i] != NULL; i++)
        {
          char *eq = strchr (tokens[i], '=');
          if (eq == NULL)
            {
              char *prev;
              if (values->len == 0 || tokens[i][0] == '\0')
                {
                  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                               "--model: '%s' in '%s' is not key=value", tokens[i], spec);
                  return FALSE;
                }
              prev = values->pdata[values->len - 1];
              values->pdata[values->len - 1] = g_strconcat (prev, ",", tokens[i], NULL);
              g_free (prev);
              continue;
            }
          *eq = '\0';
          if (tokens[i][0] == '\0' || g_strv_contains (reserved, tokens[i]))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "--model: key '%s' cannot be set here (kind, sizes and classes come from the data, the "
                           "seed from --seed)", tokens[i]);
              return FALSE;
            }
          for (guint k = 0; k < keys->len; k++)
            if (g_str_equal (keys->pdata[k], tokens[i]))
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--model: key '%s' given twice", tokens[i]);
                return FALSE;
              }
          g_ptr_array_add (keys, tokens[i]);
          g_ptr_array_add (values, g_strdup (eq + 1));
        }
      for (guint k = 0; k < keys->len; k++)
        g_key_file_set_value (kf, MODEL_GROUP, keys->pdata[k], values->pdata[k]);
    }
  if (g_str_equal (kind, "unet"))
    {
      /* the keys were checked above against the reserved ones; the UNet parses its own spec */
      GafModelConfig cfg;
      gaf_model_config_init (&cfg, GAF_MODEL_UNET, n, c, seed);
      gaf_unet_config_init (&cfg.unet, c, height, width);
      if ((colon != NULL && !gaf_unet_config_parse (&cfg.unet, colon + 1, &local)) ||
          (local == NULL && !gaf_model_config_check (&cfg, &local)))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--model %s: %s", spec, local->message);
          return FALSE;
        }
      *out = cfg;
      return TRUE;
    }
  if (!gaf_model_config_from_keyfile (out, kf, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--model %s: %s", spec, local->message);
      return FALSE;
    }
  return TRUE;
}

/* The first key of `group` whose value differs between a and b (either may lack it), or NULL. */
static char *
group_difference (GKeyFile *a, GKeyFile *b, const char *group)
{
  GKeyFile *kfs[2] = { a, b };

  for (int k = 0; k < 2; k++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (kfs[k], group, NULL, NULL);
      for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
        {
          g_autofree char *va = g_key_file_get_value (a, group, keys[i], NULL);
          g_autofree char *vb = g_key_file_get_value (b, group, keys[i], NULL);
          if (g_strcmp0 (va, vb) != 0)
            return g_strdup_printf ("%s = %s here, %s in the checkpoint", keys[i], va ? va : "(absent)",
                                    vb ? vb : "(absent)");
        }
    }
  return NULL;
}

/* ---- training progress -------------------------------------------------------------------------- */

typedef struct {
  gboolean tty;
  gint64   start_us, last_us;
  guint64  first_step, target, every;
  double   smooth, smooth_weight;   /* bias-corrected moving average of the loss */
} TrainProgress;

static void
format_duration (char *buf, gsize size, double s)
{
  if (!isfinite (s) || s < 0)
    g_strlcpy (buf, "?", size);
  else if (s >= 3600)
    g_snprintf (buf, size, "%dh%02dm", (int) (s / 3600), (int) fmod (s / 60, 60));
  else if (s >= 60)
    g_snprintf (buf, size, "%dm%02ds", (int) (s / 60), (int) fmod (s, 60));
  else
    g_snprintf (buf, size, "%ds", (int) ceil (s));
}

static void
train_progress (TrainProgress *p, guint64 step, double loss, gboolean force)
{
  gint64 now = g_get_monotonic_time ();
  double elapsed = (now - p->start_us) * 1e-6, rate, eta;
  char eta_s[32];
  guint64 done = step - p->first_step;

  p->smooth = 0.98 * p->smooth + 0.02 * loss;
  p->smooth_weight = 0.98 * p->smooth_weight + 0.02;
  rate = elapsed > 0 ? done / elapsed : 0.0;
  eta = rate > 0 ? (p->target - step) / rate : NAN;
  format_duration (eta_s, sizeof eta_s, eta);
  if (p->tty)
    {
      char bar[26];
      int filled;

      if (!force && now - p->last_us < 100000 && step != p->target)
        return;
      filled = (int) (25.0 * step / MAX (p->target, 1) + 0.5);
      for (int i = 0; i < 25; i++)
        bar[i] = i < filled ? '#' : '.';
      bar[25] = '\0';
      fprintf (stderr, "\r[%s] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  %.2f steps/s  loss %.4f  ETA %s   ", bar,
               step, p->target, rate, p->smooth / p->smooth_weight, eta_s);
      fflush (stderr);
    }
  else if (force || step % p->every == 0 || step == p->target || now - p->last_us >= 60 * G_USEC_PER_SEC)
    fprintf (stderr, "step %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT "  %.2f steps/s  loss %.4f  ETA %s\n", step,
             p->target, rate, p->smooth / p->smooth_weight, eta_s);
  else
    return;
  p->last_us = now;
}

static void
train_progress_line_end (TrainProgress *p)
{
  if (p->tty)
    fprintf (stderr, "\n");
}

/* ---- loss log ------------------------------------------------------------------------------------- */

/* One "step<TAB>loss" line per step (loss with %.9g: the float's value to the last digit). A resumed
 * run keeps the lines up to the checkpoint's step and appends, so the file is the trace of the
 * checkpoint's whole history even when a run died after its last checkpoint. */
static FILE *
loss_log_open (const char *path, gboolean resume, guint64 step, GError **error)
{
  FILE *f;

  if (resume && g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;
      g_autoptr(GString) kept = g_string_new (NULL);

      if (!gaf_file_read_all (path, "loss log", G_GUINT64_CONSTANT (1) << 30, &text, NULL, error))
        return NULL;
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          guint64 s = g_ascii_strtoull (lines[i], NULL, 10);
          if (lines[i][0] != '\0' && s >= 1 && s <= step)
            g_string_append_printf (kept, "%s\n", lines[i]);
        }
      if (!g_file_set_contents (path, kept->str, kept->len, error))
        return NULL;
    }
  f = fopen (path, resume ? "a" : "w");
  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "--loss-log: cannot write '%s': %s", path, g_strerror (saved));
    }
  return f;
}

/* ---- interruption --------------------------------------------------------------------------------- */

static gboolean
on_signal (gpointer user_data)
{
  int *interrupted = user_data;
  *interrupted = TRUE;
  return G_SOURCE_CONTINUE;
}

/* ---- train ---------------------------------------------------------------------------------------- */

/* Refuses a training option whose value differs from the resumed checkpoint's. */
static gboolean
same_double (const char *opt, const char *given, double value, double saved, const char *path, GError **error)
{
  if (given != NULL && value != saved)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s %s differs from %s (%.9g): a resumed run keeps its training configuration", opt, given, path,
                   saved);
      return FALSE;
    }
  return TRUE;
}

/* The network's input width for a method: the mask channel of the masked jump flow, the expanded simplex of
 * Dirichlet FM. GAF's posterior form belongs to GAF alone. */
static gboolean
model_config_for_method (GafModelConfig *cfg, GafMethod method, int c, GError **error)
{
  int in = gaf_method_in_channels (method, c);

  if (method != GAF_METHOD_GAF && cfg->posterior_lambda > 0.0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "--model: the posterior form (posterior_lambda) is GAF's; %s has its own head",
                   gaf_method_to_string (method));
      return FALSE;
    }
  switch (cfg->kind)
    {
    case GAF_MODEL_UNET:
      cfg->unet.in_channels = in != c ? in : 0;
      break;
    case GAF_MODEL_TOY_CNN:
      cfg->toy_cnn.in_channels = in;
      break;
    case GAF_MODEL_MLP:
      cfg->mlp.in_channels = in;
      break;
    default:
      break;
    }
  return gaf_model_config_check (cfg, error);
}

/* GAF's trainer or a baseline's (jump flows among them), behind one face for the loop below. */
typedef struct {
  GafTrainer         *gaf;
  GafBaselineTrainer *base;
} ImageTrainer;

static void
image_trainer_clear (ImageTrainer *t)
{
  g_clear_pointer (&t->gaf, gaf_trainer_free);
  g_clear_pointer (&t->base, gaf_baseline_trainer_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ImageTrainer, image_trainer_clear)

static guint64
image_trainer_step_count (ImageTrainer *t)
{
  return t->gaf ? gaf_trainer_get_step (t->gaf) : gaf_baseline_trainer_get_step (t->base);
}

static gboolean
image_trainer_step (ImageTrainer *t, double *loss, GError **error)
{
  return t->gaf ? gaf_trainer_step (t->gaf, loss, error) : gaf_baseline_trainer_step (t->base, loss, error);
}

static gboolean
image_trainer_save (ImageTrainer *t, const char *path, GKeyFile *config, GError **error)
{
  return t->gaf ? gaf_trainer_save_checkpoint (t->gaf, path, config, error)
                : gaf_baseline_trainer_save_checkpoint (t->base, path, config, error);
}

int
gaf_cli_image_train (int argc, char **argv)
{
  g_autofree char *data = NULL, *model = NULL, *steps = NULL, *checkpoint = NULL, *every = NULL, *batch = NULL;
  g_autofree char *lr = NULL, *schedule = NULL, *ema = NULL, *lambda = NULL, *time_rate = NULL, *seed = NULL;
  g_autofree char *threads = NULL, *loss_log = NULL, *method = NULL;
  gboolean resume = FALSE;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data, "Training maps: " IMAGE_DATA_HELP " (the train split)", "SPEC" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model,
      "Network (default unet, the reference of docs/method.md §3): unet[:channels=32,mult=1,2,2,2,blocks=2,attn=16], "
      "toy-cnn[:hidden=32,...], mlp[:hidden=256,...] or dense[:hidden=256,256]", "SPEC" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps,
      "Train until this step (the total; with --resume the default is the checkpoint's target)", "N" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "Checkpoint file (written atomically)", "FILE" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method,
      "gaf (default) or another method of the sweep: masked and uniform are the jump flows (the network's input "
      "gets the mask channel for masked)", "NAME" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume,
      "Continue the run saved in --checkpoint (--data and --model may be left out; given, they must match)", NULL },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_STRING, &every, "Save every N steps (default 1000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch, "Mini-batch size (default 32)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr, "Adam learning rate (default 2e-4)", "LR" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "constant or cosine (default constant)", "NAME" },
    { "ema", 0, 0, G_OPTION_ARG_STRING, &ema, "Decay of the weight average used for sampling, 0 = off (default 0.999)", "D" },
    { "lambda", 0, 0, G_OPTION_ARG_STRING, &lambda, "Field magnitude lambda (default 0.5)", "L" },
    { "time-rate", 0, 0, G_OPTION_ARG_STRING, &time_rate, "Rate of the Gamma(1, rate) training times (default 0.5)", "R" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Seed of the initialisation and of the trainer (default 1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "Engine threads (default 2)", "N" },
    { "loss-log", 0, 0, G_OPTION_ARG_FILENAME, &loss_log, "Write 'step<TAB>loss' (%.9g) for every step", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- train a flow on image label maps, with checkpoints");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GafNet) net = NULL;
  g_auto(ImageTrainer) trainer = { NULL, NULL };
  g_autoptr(GKeyFile) config = g_key_file_new ();
  GafBaselineConfig bcfg;
  GafMethod method_v = GAF_METHOD_GAF;
  GafModelConfig mcfg;
  GafTrainerConfig tcfg;
  TrainProgress prog = { 0 };
  guint64 n_steps = 0, every_v = 1000, seed_v = 1, step;
  double lr_v = 2e-4, base_lr;
  int n_threads = 2;
  gboolean cosine = FALSE, interrupted = FALSE, root;
  guint sigint_id, sigterm_id;
  FILE *log = NULL;
  gint64 t0;
  double last_loss = NAN;
  int rc = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("train: unexpected argument '%s'", argv[1]);

  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 32;
  tcfg.ema_decay = 0.999;
  tcfg.path.time_rate = 0.5;   /* docs/method.md §2.2: the image configurations use rate 0.5 */
  if ((steps && !gaf_cli_parse_u64 ("--steps", steps, 1, G_GUINT64_CONSTANT (1000000000), &n_steps, &error)) ||
      (every && !gaf_cli_parse_u64 ("--checkpoint-every", every, 1, G_MAXUINT64, &every_v, &error)) ||
      (batch && !gaf_cli_parse_int ("--batch", batch, 1, 65536, &tcfg.batch, &error)) ||
      (lr && !gaf_cli_parse_double ("--lr", lr, 1e-12, 10.0, &lr_v, &error)) ||
      (ema && !gaf_cli_parse_double ("--ema", ema, 0.0, 0.999999, &tcfg.ema_decay, &error)) ||
      (lambda && !gaf_cli_parse_double ("--lambda", lambda, GAF_PATH_LAMBDA_MIN, GAF_PATH_LAMBDA_MAX, &tcfg.path.lambda,
                                       &error)) ||
      (time_rate && !gaf_cli_parse_double ("--time-rate", time_rate, GAF_PATH_TIME_RATE_MIN, GAF_PATH_TIME_RATE_MAX,
                                          &tcfg.path.time_rate, &error)) ||
      (seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &seed_v, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, GAF_MAX_THREADS, &n_threads, &error)))
    return gaf_cli_fail ("%s", error->message);
  tcfg.adam.lr = lr_v;
  tcfg.seed = seed_v;
  base_lr = lr_v;
  gaf_baseline_config_init (&bcfg);
  if (method && !gaf_method_from_string (method, &method_v))
    return gaf_cli_fail ("--method: unknown method '%s' (expected gaf, dirichlet, linear, sphere, masked or uniform)",
                         method);
  if (schedule && !g_str_equal (schedule, "cosine") && !g_str_equal (schedule, "constant"))
    return gaf_cli_fail ("--schedule: unknown schedule '%s' (expected constant or cosine)", schedule);
  cosine = schedule != NULL && g_str_equal (schedule, "cosine");
  if (checkpoint == NULL)
    return gaf_cli_fail ("train: --checkpoint FILE is required for image data");
  if (!gaf_cli_check_output_path ("--checkpoint", checkpoint, &error) ||
      (loss_log && !gaf_cli_check_output_path ("--loss-log", loss_log, &error)))
    return gaf_cli_fail ("%s", error->message);

  if (!resume)
    {
      if (data == NULL)
        return gaf_cli_fail ("train: --data SPEC is required (" IMAGE_DATA_HELP ")");
      if (steps == NULL)
        return gaf_cli_fail ("train: --steps N is required");
      if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))
        return gaf_cli_fail ("--checkpoint: '%s' exists: pass --resume to continue it, or remove it", checkpoint);
      if (!gaf_trainer_config_check (&tcfg, &error))
        return gaf_cli_fail ("%s", error->message);
      ds = load_image_data ("--data", data, &error);
      if (ds == NULL)
        return gaf_cli_fail ("%s", error->message);
      if (!model_config_from_spec (model ? model : "unet", ds->height, ds->width, ds->c, seed_v, &mcfg, &error) ||
          !model_config_for_method (&mcfg, method_v, ds->c, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  else
    {
      g_autoptr(GKeyFile) mine = g_key_file_new ();
      g_auto(DataInfo) saved = { 0 };
      GKeyFile *kf;
      GafTrainerConfig file_cfg;
      g_autofree char *file_schedule = NULL;
      double file_lr;
      guint64 file_steps = 0, sched_start = 0, sched_steps = 0;

      ck = gaf_checkpoint_load (checkpoint, &error);
      if (ck == NULL)
        return gaf_cli_fail ("--resume: %s", error->message);
      kf = gaf_checkpoint_get_config (ck);
      if (!data_info_from_keyfile (kf, checkpoint, &saved, &error))
        return gaf_cli_fail ("--resume: %s", error->message);
      ds = load_image_data (data ? "--data" : "--resume: the checkpoint's data", data ? data : saved.spec, &error);
      if (ds == NULL)
        return gaf_cli_fail ("%s", error->message);
      if (data != NULL && !g_str_equal (ds->name, saved.spec))
        return gaf_cli_fail ("--data %s differs from the data of %s (%s)", data, checkpoint, saved.spec);
      if (ds->c != saved.c || ds->height != saved.height || ds->width != saved.width)
        return gaf_cli_fail ("--resume: the data %s now has %d classes of %d x %d maps, %s was trained on %d of %d x %d",
                             saved.spec, ds->c, ds->height, ds->width, checkpoint, saved.c, saved.height,
                             saved.width);
      if (!gaf_model_config_from_keyfile (&mcfg, kf, &error))
        return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
      {
        GafMethod saved_method;
        if (!gaf_method_from_keyfile (kf, &saved_method, &error))
          return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
        if (method != NULL && saved_method != method_v)
          return gaf_cli_fail ("--method %s differs from the method of %s (%s)", method, checkpoint,
                               gaf_method_to_string (saved_method));
        method_v = saved_method;
      }
      if (model != NULL)
        {
          GafModelConfig given;
          g_autofree char *diff = NULL;
          g_autoptr(GKeyFile) a = g_key_file_new ();
          if (!model_config_from_spec (model, ds->height, ds->width, ds->c, seed ? seed_v : mcfg.seed, &given,
                                       &error) ||
              !model_config_for_method (&given, method_v, ds->c, &error))
            return gaf_cli_fail ("%s", error->message);
          gaf_model_config_to_keyfile (&given, a);
          gaf_model_config_to_keyfile (&mcfg, mine);
          diff = group_difference (a, mine, MODEL_GROUP);
          if (diff != NULL)
            return gaf_cli_fail ("--model %s differs from the model of %s (%s)", model, checkpoint, diff);
        }

      /* [train]: the file's configuration; options given again must agree with it. */
      gaf_trainer_config_init (&file_cfg);
      if (!gaf_trainer_config_from_keyfile (&file_cfg, kf, &error))
        return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
      file_schedule = g_key_file_get_string (kf, TRAIN_GROUP, "schedule", NULL);
      file_lr = file_cfg.adam.lr;
      if (g_strcmp0 (file_schedule, "cosine") == 0 &&
          (!gaf_keyfile_get_double (kf, TRAIN_GROUP, "schedule_lr", &file_lr, &error) ||
           !gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "schedule_start", &sched_start, &error) ||
           !gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "schedule_steps", &sched_steps, &error)))
        return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
      if (!gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "steps", &file_steps, &error))
        return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
      /* --checkpoint-every of the run, unless given again (files from before it was stored: 1000) */
      if (every == NULL && g_key_file_has_key (kf, TRAIN_GROUP, "checkpoint_every", NULL) &&
          (!gaf_keyfile_get_uint64 (kf, TRAIN_GROUP, "checkpoint_every", &every_v, &error) || every_v < 1))
        return gaf_cli_fail ("--resume: %s: checkpoint_every: %s", checkpoint,
                             error ? error->message : "must be at least 1");
      if (!same_double ("--batch", batch, tcfg.batch, file_cfg.batch, checkpoint, &error) ||
          !same_double ("--lr", lr, lr_v, file_lr, checkpoint, &error) ||
          !same_double ("--ema", ema, tcfg.ema_decay, file_cfg.ema_decay, checkpoint, &error) ||
          !same_double ("--lambda", lambda, tcfg.path.lambda, file_cfg.path.lambda, checkpoint, &error) ||
          !same_double ("--time-rate", time_rate, tcfg.path.time_rate, file_cfg.path.time_rate, checkpoint, &error))
        return gaf_cli_fail ("%s", error->message);
      if (seed && seed_v != file_cfg.seed)
        return gaf_cli_fail ("--seed %s differs from %s (%" G_GUINT64_FORMAT "): a resumed run keeps its training "
                             "configuration", seed, checkpoint, file_cfg.seed);
      if (schedule && g_strcmp0 (schedule, file_schedule ? file_schedule : "constant") != 0)
        return gaf_cli_fail ("--schedule %s differs from %s (%s): a resumed run keeps its training configuration",
                             schedule, checkpoint, file_schedule ? file_schedule : "constant");
      cosine = g_strcmp0 (file_schedule, "cosine") == 0;
      tcfg = file_cfg;
      base_lr = cosine ? file_lr : file_cfg.adam.lr;
      if (steps == NULL)
        n_steps = cosine ? sched_start + sched_steps : file_steps;
      if (n_steps == 0)
        return gaf_cli_fail ("--resume: %s records no step target: give --steps N", checkpoint);
      if (cosine && n_steps != sched_start + sched_steps)
        return gaf_cli_fail ("--steps %" G_GUINT64_FORMAT ": the cosine schedule of %s ends at step %" G_GUINT64_FORMAT
                             "; resume with that target (or train with --schedule constant to extend a run)",
                             n_steps, checkpoint, sched_start + sched_steps);
      if (gaf_checkpoint_get_step (ck) >= n_steps)
        {
          if (gaf_cli_mpi_is_root ())
            printf ("%s is at step %" G_GUINT64_FORMAT ", the target is %" G_GUINT64_FORMAT ": nothing to train\n",
                    checkpoint, gaf_checkpoint_get_step (ck), n_steps);
          return 0;
        }
    }

  /* Data parallel (docs/scaling-out.md): each of the R processes draws batch / R samples of every step. A
   * resumed run may use any R that divides its batch: the trainer's RNG state is the same on every process. */
  if (tcfg.batch % gaf_cli_mpi_size () != 0)
    return gaf_cli_fail ("%s%d: under MPI the batch must be a multiple of the number of processes (%d)",
                         resume ? "the batch of the checkpoint is " : "--batch ", tcfg.batch, gaf_cli_mpi_size ());
  if (!gaf_cli_check_method_processes (method_v, &error))
    return gaf_cli_fail ("%s", error->message);
  net = gaf_model_new (&mcfg, &error);
  if (net == NULL)
    return gaf_cli_fail ("--model: %s", error->message);
  if (net->n != (int) gaf_dataset_pixels (ds) || net->in_channels != gaf_method_in_channels (method_v, ds->c) ||
      net->out_channels != ds->c)
    return gaf_cli_fail ("--model: the network takes %d variables of %d classes, the data has %d x %d maps of %d",
                         net->n, net->out_channels, ds->height, ds->width, ds->c);
  gaf_blas_set_threads (n_threads);
  if (method_v == GAF_METHOD_GAF)
    {
      trainer.gaf = gaf_trainer_new (net, gaf_dataset_sample, ds, &tcfg);
      if (gaf_cli_mpi_size () > 1 &&
          !gaf_trainer_set_data_parallel (trainer.gaf, gaf_cli_mpi_rank (), gaf_cli_mpi_size (), gaf_cli_mpi_sum,
                                          gaf_cli_mpi_sum_f64, NULL, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  else
    trainer.base = gaf_baseline_trainer_new (method_v, &bcfg, net, gaf_dataset_sample, ds, &tcfg);
  if (ck != NULL)
    {
      if (trainer.gaf ? !gaf_trainer_restore_checkpoint (trainer.gaf, ck, &error)
                      : !gaf_baseline_trainer_restore_checkpoint (trainer.base, ck, &error))
        return gaf_cli_fail ("--resume: %s: %s", checkpoint, error->message);
    }
  else if (cosine)
    {
      if (trainer.gaf)
        gaf_trainer_set_cosine_schedule (trainer.gaf, tcfg.adam.lr, n_steps);
      else
        gaf_baseline_trainer_set_cosine_schedule (trainer.base, tcfg.adam.lr, n_steps);
    }
  step = image_trainer_step_count (&trainer);

  gaf_model_config_to_keyfile (&mcfg, config);
  data_info_to_keyfile (ds, config);
  g_key_file_set_uint64 (config, TRAIN_GROUP, "steps", n_steps);
  g_key_file_set_uint64 (config, TRAIN_GROUP, "checkpoint_every", every_v);

  /* Rank 0 alone writes (checkpoints, loss log) and reports; every process trains. */
  root = gaf_cli_mpi_is_root ();
  if (root && loss_log && (log = loss_log_open (loss_log, ck != NULL, step, &error)) == NULL)
    return gaf_cli_fail ("%s", error->message);
  g_clear_pointer (&ck, gaf_checkpoint_free);

  if (root && step > 0)
    fprintf (stderr, "train: resuming %s at step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT "\n", checkpoint, step,
             n_steps);
  if (root)
    fprintf (stderr, "train: %s; %s, %s, %" G_GSIZE_FORMAT " parameters; batch %d, lr %g %s, EMA %g, lambda %g, time "
             "rate %g, seed %" G_GUINT64_FORMAT "; %d threads x %d processes; checkpoint every %" G_GUINT64_FORMAT
             " steps to %s\n", ds->description, gaf_method_title (method_v), gaf_model_kind_to_string (mcfg.kind),
             net->params->size, tcfg.batch, base_lr, cosine ? "cosine" : "constant", tcfg.ema_decay,
             tcfg.path.lambda, tcfg.path.time_rate, tcfg.seed, n_threads, gaf_cli_mpi_size (), every_v, checkpoint);

  prog.tty = root && isatty (fileno (stderr));
  prog.start_us = prog.last_us = g_get_monotonic_time ();
  prog.first_step = step;
  prog.target = n_steps;
  prog.every = MAX ((n_steps - step) / 20, 1);
  sigint_id = g_unix_signal_add (SIGINT, on_signal, &interrupted);
  sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &interrupted);
  t0 = g_get_monotonic_time ();

  while (step < n_steps)
    {
      double loss;

      /* Signals arrive through the main context: dispatch them between steps. */
      while (g_main_context_iteration (NULL, FALSE))
        ;
      /* Under MPI all processes stop at the same step, or the others would wait in the reduction. */
      if (gaf_cli_mpi_size () > 1)
        interrupted = gaf_cli_mpi_any (interrupted);
      if (interrupted)
        break;
      if (!image_trainer_step (&trainer, &loss, &error))
        {
          if (log)
            fclose (log);
          train_progress_line_end (&prog);
          g_source_remove (sigint_id);
          g_source_remove (sigterm_id);
          if (g_file_test (checkpoint, G_FILE_TEST_EXISTS))
            return gaf_cli_fail ("%s (the last checkpoint in %s is kept)", error->message, checkpoint);
          return gaf_cli_fail ("%s (nothing was saved)", error->message);
        }
      if (image_trainer_step_count (&trainer) == step)
        {
          /* a spike of the loss: the step was skipped (gaf-trainer.h), the next batch tries again */
          if (root)
            {
              train_progress_line_end (&prog);
              fprintf (stderr, "train: step %" G_GUINT64_FORMAT " skipped: its loss %.4g is a spike (over %g times "
                       "the running median)\n", step + 1, loss, GAF_DIVERGENCE_FACTOR);
            }
          continue;
        }
      step = image_trainer_step_count (&trainer);
      last_loss = loss;
      if (log)
        {
          fprintf (log, "%" G_GUINT64_FORMAT "\t%.9g\n", step, loss);
          fflush (log);
        }
      if (root)
        train_progress (&prog, step, loss, FALSE);
      if (root && step % every_v == 0 && step < n_steps)
        {
          if (!image_trainer_save (&trainer, checkpoint, config, &error))
            {
              rc = 2;
              break;
            }
          if (!prog.tty)
            fprintf (stderr, "checkpoint: step %" G_GUINT64_FORMAT " saved to %s\n", step, checkpoint);
        }
    }
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  if (log)
    fclose (log);
  train_progress_line_end (&prog);
  if (root && rc == 0 && !image_trainer_save (&trainer, checkpoint, config, &error))
    rc = 2;
  if (rc != 0)
    return gaf_cli_fail ("%s", error->message);
  if (!root)
    return interrupted ? 130 : 0;
  if (interrupted)
    {
      fprintf (stderr, "gaflow-cli: interrupted at step %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
               "; checkpoint saved to %s (continue with --resume)\n", step, n_steps, checkpoint);
      return 130;
    }
  {
    double secs = (g_get_monotonic_time () - t0) * 1e-6;
    printf ("trained to step %" G_GUINT64_FORMAT " in %.1f s (%.2f steps/s); last loss %.6g, smoothed %.6g; "
            "checkpoint %s\n", step, secs, secs > 0 ? (step - prog.first_step) / secs : 0.0, last_loss,
            prog.smooth_weight > 0 ? prog.smooth / prog.smooth_weight : NAN, checkpoint);
  }
  return 0;
}

/* ---- sample --------------------------------------------------------------------------------------- */

typedef struct {
  gboolean tty;
  gint64   last_us;
  const char *what;
} SampleProgress;

static void
sample_progress (const GafProgress *p, gpointer user_data)
{
  SampleProgress *st = user_data;
  gint64 now = g_get_monotonic_time ();

  if (!st->tty || (now - st->last_us < 100000 && p->done != p->total))
    return;
  st->last_us = now;
  fprintf (stderr, "\r%s %3.0f%%   ", st->what, p->total ? 100.0 * p->done / p->total : 0.0);
  fflush (stderr);
}

static void
sample_progress_end (SampleProgress *st)
{
  if (st->tty)
    fprintf (stderr, "\r%-40s\r", "");
}

/* A directory to write into: created when its parent exists. */
static gboolean
prepare_dir (const char *opt, const char *dir, gboolean create, GError **error)
{
  if (g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      if (g_access (dir, W_OK) != 0)
        {
          int saved = errno;   /* EROFS on a read-only filesystem, EACCES without permission */
          g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot write into '%s': %s", opt, dir, g_strerror (saved));
          return FALSE;
        }
      return TRUE;
    }
  if (g_file_test (dir, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: '%s' is not a folder", opt, dir);
      return FALSE;
    }
  {
    g_autofree char *parent = g_path_get_dirname (dir);
    if (!g_file_test (parent, G_FILE_TEST_IS_DIR))
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot create '%s': folder '%s' does not exist", opt, dir,
                     parent);
        return FALSE;
      }
    if (g_access (parent, W_OK) != 0)
      {
        int saved = errno;
        g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot create '%s' in '%s': %s", opt, dir, parent,
                     g_strerror (saved));
        return FALSE;
      }
  }
  if (create && g_mkdir (dir, 0777) != 0)
    {
      int saved = errno;
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot create '%s': %s", opt, dir, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* The held-out spec of a training spec: its test split, `count` maps. Folders have no split. */
static char *
held_out_spec (const char *train_spec, guint count)
{
  const char *colon = strchr (train_spec, ':');
  g_autoptr(GString) s = NULL;
  gboolean fashion = g_str_has_prefix (train_spec, "fashion-mnist");

  if (!fashion && !g_str_has_prefix (train_spec, "scenes"))
    return NULL;
  s = g_string_new (fashion ? "fashion-mnist:" : "scenes:");
  if (colon != NULL)
    {
      g_auto(GStrv) tokens = g_strsplit (colon + 1, ",", -1);
      for (guint i = 0; tokens[i] != NULL; i++)
        if (tokens[i][0] != '\0' && !g_str_has_prefix (tokens[i], "split=") &&
            !g_str_has_prefix (tokens[i], "limit=") && !g_str_has_prefix (tokens[i], "count="))
          g_string_append_printf (s, "%s,", tokens[i]);
    }
  g_string_append_printf (s, "split=test,%s=%u", fashion ? "limit" : "count", count);
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Maps of another source must have the model's sizes; a folder may use fewer classes (its class
 * count is inferred from the largest label). */
static gboolean
check_maps (const char *opt, const GafDataset *ds, const DataInfo *info, GError **error)
{
  gboolean classes_ok = ds->kind == GAF_DATASET_FOLDER ? ds->c <= info->c : ds->c == info->c;

  if (ds->height != info->height || ds->width != info->width || !classes_ok)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: %s has %d x %d maps of %d classes, the model %d x %d of %d", opt, ds->name, ds->height,
                   ds->width, ds->c, info->height, info->width, info->c);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char *label;
  guint       maps;
  double      kl, agreement, regions;
} StatsRow;

static void
stats_row (StatsRow *r, const char *label, const guint16 *labels, guint count, const guint16 *held, guint n_held,
           const DataInfo *info)
{
  gsize n = (gsize) info->height * info->width;

  r->label = label;
  r->maps = count;
  r->kl = held != NULL ? gaf_label_maps_marginal_kl (labels, count, held, n_held, n, info->c) : NAN;
  r->agreement = gaf_label_maps_neighbour_agreement (labels, count, info->height, info->width);
  r->regions = gaf_label_maps_mean_regions (labels, count, info->height, info->width);
}

static void
format_value (char *buf, gsize size, const char *fmt, double v)
{
  if (isnan (v))
    g_strlcpy (buf, "", size);
  else
    g_ascii_formatd (buf, size, fmt, v);
}

#define STATS_CSV_HEADER "data,held_out,model,maps,marginal_kl,neighbour_agreement,mean_regions"

/* Maps from GAF's flow or another method's sampler (the jump flows: the final state of the chain). */
static gboolean
draw_maps (GafMethod method, const GafBaselineConfig *bcfg, GafNet *net, const GafSamplerConfig *scfg, GafRng *rng,
           guint64 count, int chunk, guint16 *labels, GafTrajectory *traj, SampleProgress *sp, GError **error)
{
  if (method == GAF_METHOD_GAF)
    return gaf_sample_flow (net, scfg, rng, count, chunk, labels, NULL, traj, sample_progress, sp, NULL, error);
  g_assert (traj == NULL);
  return gaf_baseline_sample (method, bcfg, net, rng, count, chunk, labels, NULL, sample_progress, sp, NULL, error);
}

int
gaf_cli_image_sample (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *count = NULL, *out = NULL, *frames = NULL, *frame_count = NULL;
  g_autofree char *integrator = NULL, *step_size = NULL, *t_end = NULL, *seed = NULL, *labels_dir = NULL;
  g_autofree char *stats = NULL, *held_out = NULL, *csv = NULL, *threads = NULL, *chunk = NULL, *evals = NULL;
  g_autofree char *precision = NULL;
  gboolean use_ema = FALSE, no_ema = FALSE;
  GafPrecision precision_v = GAF_PRECISION_FLOAT;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "A checkpoint written by 'gaflow-cli train'", "FILE" },
    { "count", 0, 0, G_OPTION_ARG_STRING, &count, "Maps in the grid, frames and --labels (default 64)", "N" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Grid of the sampled label maps (RGB PNG)", "FILE" },
    { "frames", 0, 0, G_OPTION_ARG_FILENAME, &frames,
      "Write the soft states W(t) of the same maps as numbered grids 0000.png ... (created if needed)", "DIR" },
    { "frame-count", 0, 0, G_OPTION_ARG_STRING, &frame_count, "At most this many frames, t = 0 and T included (default 40)", "N" },
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_dir,
      "Write every sampled map as a PGM label map DIR/0000.pgm ... (a folder: dataset)", "DIR" },
    { "integrator", 0, 0, G_OPTION_ARG_STRING, &integrator, "euler or rk4 (default euler)", "NAME" },
    { "step-size", 0, 0, G_OPTION_ARG_STRING, &step_size, "Step h (default 0.1)", "H" },
    { "t-end", 0, 0, G_OPTION_ARG_STRING, &t_end, "End time T (default 10)", "T" },
    { "evals", 0, 0, G_OPTION_ARG_STRING, &evals,
      "Network evaluations per map of a model trained with another method than GAF (default: as many as GAF's "
      "sampler makes, 100)", "N" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Seed of the sampler (default 1)", "N" },
    { "ema", 0, 0, G_OPTION_ARG_NONE, &use_ema, "Sample with the averaged weights (default when the checkpoint has them)", NULL },
    { "no-ema", 0, 0, G_OPTION_ARG_NONE, &no_ema, "Sample with the raw weights", NULL },
    { "stats", 0, 0, G_OPTION_ARG_STRING, &stats,
      "Draw N maps (default 1000) and print marginal KL, neighbour agreement and regions against held-out maps", "N" },
    { "held-out", 0, 0, G_OPTION_ARG_STRING, &held_out,
      "Held-out maps for --stats (default: the test split of the training data, N maps)", "SPEC" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Write the --stats table as CSV", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "Engine threads (default 2)", "N" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision,
      "The network's products: float, or bf16 (UNet, CPUs with AVX-512 BF16; docs/bench.md) (default float)",
      "NAME" },
    { "chunk", 0, 0, G_OPTION_ARG_STRING, &chunk, "Maps integrated at once (default 256)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- sample a trained image model: grids, frames, statistics");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafDataset) train = NULL, held = NULL;
  g_autoptr(GafTrajectory) traj = NULL;
  g_autofree guint8 *palette = NULL;
  g_autofree guint16 *labels = NULL;
  g_autofree guint *rows = NULL;
  g_autofree char *held_spec = NULL;
  g_auto(DataInfo) info = { 0 };
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  GafSamplerConfig scfg;
  GafBaselineConfig bcfg;
  GafMethod method_v;
  SampleProgress sp = { 0 };
  GafRng rng;
  GKeyFile *kf;
  guint64 seed_v = 1, evals_v = 0;
  int count_v = 64, frames_v = 40, n_threads = 2, chunk_v = 256, stats_v = 0, n, c;
  gboolean ema;

  /* "--stats" alone means 1000 maps: give GOption its value explicitly. */
  for (int i = 0; i < argc; i++)
    {
      gboolean number = i + 1 < argc && argv[i + 1][0] != '\0' &&
                        strspn (argv[i + 1], "0123456789") == strlen (argv[i + 1]);
      g_ptr_array_add (args, g_str_equal (argv[i], "--stats") && !number ? (gpointer) "--stats=1000" : argv[i]);
    }
  g_ptr_array_add (args, NULL);
  argv = (char **) args->pdata;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("sample: unexpected argument '%s'", argv[1]);

  gaf_sampler_config_init (&scfg);
  scfg.integrator = GAF_INTEGRATOR_EULER;
  scfg.step_size = 0.1;
  scfg.t_end = 10.0;   /* docs/method.md §2.3: images integrate to T = 10 */
  if ((count && !gaf_cli_parse_int ("--count", count, 1, 65536, &count_v, &error)) ||
      (frame_count && !gaf_cli_parse_int ("--frame-count", frame_count, 2, 100000, &frames_v, &error)) ||
      (step_size && !gaf_cli_parse_double ("--step-size", step_size, 1e-6, 1e6, &scfg.step_size, &error)) ||
      (t_end && !gaf_cli_parse_double ("--t-end", t_end, 1e-6, 1e6, &scfg.t_end, &error)) ||
      (seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &seed_v, &error)) ||
      (stats && !gaf_cli_parse_int ("--stats", stats, 1, 1000000, &stats_v, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, GAF_MAX_THREADS, &n_threads, &error)) ||
      (chunk && !gaf_cli_parse_int ("--chunk", chunk, 1, 1 << 20, &chunk_v, &error)) ||
      (evals && !gaf_cli_parse_u64 ("--evals", evals, 1, 1000000, &evals_v, &error)) ||
      (precision && !gaf_precision_from_string (precision, &precision_v, &error)))
    return gaf_cli_fail ("%s", error->message);
  if (integrator && !gaf_integrator_from_string (integrator, &scfg.integrator))
    return gaf_cli_fail ("--integrator: unknown integrator '%s' (expected euler or rk4)", integrator);
  if (!gaf_sampler_config_check (&scfg, &error))
    return gaf_cli_fail ("%s", error->message);
  if (use_ema && no_ema)
    return gaf_cli_fail ("sample: --ema and --no-ema exclude each other");
  if (checkpoint == NULL)
    return gaf_cli_fail ("sample: --checkpoint FILE is required");
  if (out == NULL && frames == NULL && labels_dir == NULL && stats == NULL)
    return gaf_cli_fail ("sample: nothing to do: give --out FILE.png, --frames DIR, --labels DIR or --stats N");
  if ((held_out || csv) && stats == NULL)
    return gaf_cli_fail ("sample: --%s needs --stats", held_out ? "held-out" : "csv");
  if ((out && !gaf_cli_check_output_path ("--out", out, &error)) ||
      (csv && !gaf_cli_check_output_path ("--csv", csv, &error)) ||
      (frames && !prepare_dir ("--frames", frames, FALSE, &error)) ||
      (labels_dir && !prepare_dir ("--labels", labels_dir, FALSE, &error)))
    return gaf_cli_fail ("%s", error->message);

  ck = gaf_checkpoint_load (checkpoint, &error);
  if (ck == NULL)
    return gaf_cli_fail ("--checkpoint: %s", error->message);
  kf = gaf_checkpoint_get_config (ck);
  if (!data_info_from_keyfile (kf, checkpoint, &info, &error))
    return gaf_cli_fail ("--checkpoint: %s", error->message);
  if (!gaf_method_from_keyfile (kf, &method_v, &error))
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  if (method_v != GAF_METHOD_GAF && frames != NULL)
    return gaf_cli_fail ("--frames: the soft states W(t) are GAF's; %s was trained with %s", checkpoint,
                         gaf_method_to_string (method_v));
  if (method_v == GAF_METHOD_GAF && evals != NULL)
    return gaf_cli_fail ("--evals: GAF's evaluations follow from --integrator, --step-size and --t-end");
  gaf_baseline_config_init (&bcfg);
  gaf_baseline_config_set_evals (&bcfg, evals_v > 0 ? (guint) evals_v
                                                    : gaf_sampler_n_steps (&scfg) * gaf_sampler_evals_per_step (scfg.integrator));
  net = gaf_model_new_from_keyfile (kf, &error);
  if (net == NULL)
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  if (!gaf_net_set_precision (net, precision_v, &error))
    return gaf_cli_fail ("--precision: %s", error->message);
  n = net->n;
  c = net->out_channels;
  if (n != info.height * info.width || c != info.c || net->in_channels != gaf_method_in_channels (method_v, c))
    return gaf_cli_fail ("--checkpoint: %s: its network takes %d variables of %d classes, its [data] says %d x %d "
                         "maps of %d", checkpoint, n, c, info.height, info.width, info.c);
  if (!gaf_checkpoint_restore (ck, net->params, NULL, NULL, &error))
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  ema = !no_ema && gaf_checkpoint_has_ema (ck);
  if (use_ema && !gaf_checkpoint_has_ema (ck))
    return gaf_cli_fail ("--ema: %s has no averaged weights (trained with --ema 0)", checkpoint);
  if (ema)
    gaf_params_swap_ema (net->params);

  if (out != NULL || frames != NULL)
    {
      int w, h, cols;
      if (!gaf_grid_layout_size (NULL, count_v, info.height, info.width, &w, &h, &cols))
        return gaf_cli_fail ("--count: a grid of %d maps of %d x %d pixels would be larger than %d pixels a side",
                             count_v, info.height, info.width, GAF_GRID_MAX_SIDE);
    }
  if (frames != NULL && (double) count_v * n * c * frames_v > (double) (1 << 28))
    return gaf_cli_fail ("--frames: %d frames of %d maps of %d x %d x %d probabilities do not fit in memory; lower "
                         "--count or --frame-count", frames_v, count_v, info.height, info.width, c);
  if (stats != NULL)
    {
      /* Load both reference sets before any sampling: a mistake fails at once. */
      train = load_image_data ("--checkpoint: the training data", info.spec, &error);
      if (train == NULL || !check_maps ("--checkpoint: the training data", train, &info, &error))
        return gaf_cli_fail ("%s", error->message);
      held_spec = held_out ? g_strdup (held_out) : held_out_spec (info.spec, (guint) stats_v);
      if (held_spec == NULL)
        return gaf_cli_fail ("--stats: %s has no test split: give --held-out SPEC", info.spec);
      held = load_image_data ("--held-out", held_spec, &error);
      if (held == NULL || !check_maps ("--held-out", held, &info, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  if ((frames && !prepare_dir ("--frames", frames, TRUE, &error)) ||
      (labels_dir && !prepare_dir ("--labels", labels_dir, TRUE, &error)))
    return gaf_cli_fail ("%s", error->message);

  gaf_blas_set_threads (n_threads);
  palette = gaf_palette_new (info.palette, c);
  sp.tty = isatty (fileno (stderr));
  if (method_v == GAF_METHOD_GAF)
    fprintf (stderr, "sample: %s at step %" G_GUINT64_FORMAT " (%s weights), %d x %d maps of %d classes; %s h=%g T=%g\n",
             checkpoint, gaf_checkpoint_get_step (ck), ema ? "averaged" : "raw", info.height, info.width, c,
             gaf_integrator_to_string (scfg.integrator), scfg.step_size, scfg.t_end);
  else
    fprintf (stderr, "sample: %s at step %" G_GUINT64_FORMAT " (%s weights), %d x %d maps of %d classes; %s, %u network "
             "evaluations\n", checkpoint, gaf_checkpoint_get_step (ck), ema ? "averaged" : "raw", info.height,
             info.width, c, gaf_method_title (method_v), gaf_baseline_evals (method_v, &bcfg));

  if (out != NULL || frames != NULL || labels_dir != NULL)
    {
      guint every = 1;
      if (frames != NULL)
        {
          guint n_steps = gaf_sampler_n_steps (&scfg);
          rows = g_new (guint, (gsize) count_v * n);
          for (gsize r = 0; r < (gsize) count_v * n; r++)
            rows[r] = (guint) r;
          every = MAX (1, (n_steps + frames_v - 2) / (guint) (frames_v - 1));
          traj = gaf_trajectory_new (every, rows, (guint) count_v * n);
        }
      labels = g_new (guint16, (gsize) count_v * n);
      gaf_rng_init_stream (&rng, seed_v, STREAM_GRID);
      sp.what = "sample";
      /* the trajectory covers the first chunk: with frames, all maps go in one */
      if (!draw_maps (method_v, &bcfg, net, &scfg, &rng, (guint64) count_v, frames ? count_v : chunk_v, labels, traj,
                      &sp, &error))
        {
          sample_progress_end (&sp);
          return gaf_cli_fail ("%s", error->message);
        }
      sample_progress_end (&sp);
      if (out != NULL)
        {
          if (!gaf_label_grid_write_png (out, labels, count_v, info.height, info.width, c, palette, NULL, &error))
            return gaf_cli_fail ("--out: %s", error->message);
          printf ("wrote a grid of %d maps to %s\n", count_v, out);
        }
      if (frames != NULL)
        {
          guint n_frames = traj->times->len;
          gsize frame_floats = (gsize) count_v * n * c;
          for (guint k = 0; k < n_frames; k++)
            {
              g_autofree char *name = g_strdup_printf ("%04u.png", k);
              g_autofree char *path = g_build_filename (frames, name, NULL);
              const float *w = &g_array_index (traj->w, float, 0) + (gsize) k * frame_floats;
              if (!gaf_soft_grid_write_png (path, w, count_v, info.height, info.width, c, palette, NULL, &error))
                return gaf_cli_fail ("--frames: %s", error->message);
            }
          printf ("wrote %u frames (t = 0 to %g) to %s\n", n_frames, scfg.t_end, frames);
        }
      if (labels_dir != NULL)
        {
          for (int k = 0; k < count_v; k++)
            {
              g_autofree char *name = g_strdup_printf ("%04d.pgm", k);
              g_autofree char *path = g_build_filename (labels_dir, name, NULL);
              if (!gaf_label_map_write_pgm (path, labels + (gsize) k * n, info.height, info.width, c, &error))
                return gaf_cli_fail ("--labels: %s", error->message);
            }
          printf ("wrote %d label maps to %s\n", count_v, labels_dir);
        }
    }

  if (stats != NULL)
    {
      guint n_held = MIN ((guint) stats_v, held->count);
      g_autofree guint16 *gen = g_new (guint16, (gsize) stats_v * n);
      g_autofree guint16 *ind = g_new (guint16, (gsize) stats_v * n);
      g_autofree guint16 *floor_maps = g_new (guint16, (gsize) stats_v * n);
      g_autofree double *marg = gaf_dataset_marginals (train);
      g_autoptr(GafIndependentSampler) indep = gaf_independent_sampler_new (marg, (gsize) n, c);
      StatsRow r[4];
      g_autoptr(GString) s = g_string_new (NULL);

      gaf_rng_init_stream (&rng, seed_v, STREAM_STATS);
      sp.what = "stats: sample";
      if (!draw_maps (method_v, &bcfg, net, &scfg, &rng, (guint64) stats_v, chunk_v, gen, NULL, &sp, &error))
        {
          sample_progress_end (&sp);
          return gaf_cli_fail ("%s", error->message);
        }
      sample_progress_end (&sp);
      gaf_rng_init_stream (&rng, seed_v, STREAM_INDEPENDENT);
      gaf_independent_sampler_sample (indep, &rng, ind, stats_v);
      gaf_rng_init_stream (&rng, seed_v, STREAM_TRAIN_FLOOR);
      gaf_dataset_sample (train, &rng, floor_maps, stats_v);

      stats_row (&r[0], "generated", gen, (guint) stats_v, held->labels, n_held, &info);
      stats_row (&r[1], "held-out", held->labels, n_held, NULL, 0, &info);
      stats_row (&r[2], "independent pixels", ind, (guint) stats_v, held->labels, n_held, &info);
      stats_row (&r[3], "train (floor)", floor_maps, (guint) stats_v, held->labels, n_held, &info);

      printf ("quality of %d x %d label maps (c = %d) against %u held-out maps of %s\n", info.height, info.width, c,
              n_held, held->name);
      printf ("%-20s %7s %12s %10s %9s\n", "model", "maps", "marginal_kl", "agreement", "regions");
      for (int k = 0; k < 4; k++)
        {
          char kl[32];
          if (isnan (r[k].kl))
            g_strlcpy (kl, "-", sizeof kl);
          else
            g_snprintf (kl, sizeof kl, "%.5f", r[k].kl);
          printf ("%-20s %7u %12s %10.4f %9.3f\n", r[k].label, r[k].maps, kl, r[k].agreement, r[k].regions);
        }
      printf ("marginal_kl: mean over pixels of KL(model || held-out) of the class frequencies (smoothed by 1/2); "
              "agreement: equal 4-neighbour pairs; regions: 4-connected regions per map; independent pixels: the "
              "training data's per-pixel frequencies, no coupling; train (floor): %d training maps\n", stats_v);
      if (csv != NULL)
        {
          g_string_append (s, STATS_CSV_HEADER "\n");
          for (int k = 0; k < 4; k++)
            {
              char kl[G_ASCII_DTOSTR_BUF_SIZE], ag[G_ASCII_DTOSTR_BUF_SIZE], rg[G_ASCII_DTOSTR_BUF_SIZE];
              format_value (kl, sizeof kl, "%.6g", r[k].kl);
              format_value (ag, sizeof ag, "%.6g", r[k].agreement);
              format_value (rg, sizeof rg, "%.6g", r[k].regions);
              g_string_append_printf (s, "\"%s\",\"%s\",%s,%u,%s,%s,%s\n", info.spec, held->name, r[k].label,
                                      r[k].maps, kl, ag, rg);
            }
          if (!g_file_set_contents (csv, s->str, s->len, &error))   /* atomic: temp file + rename */
            return gaf_cli_fail ("--csv: %s", error->message);
        }
    }
  return 0;
}

/* ---- for the other command families (gaflow-cli-image.h) ---------------------------------------------- */

gboolean
gaf_cli_image_model_config (const char *spec, int height, int width, int c, guint64 seed, GafModelConfig *out,
                            GError **error)
{
  return model_config_from_spec (spec, height, width, c, seed, out, error);
}

GafDataset *
gaf_cli_image_load_data (const char *opt, const char *spec, GError **error)
{
  return load_image_data (opt, spec, error);
}

void
gaf_cli_image_data_to_keyfile (const GafDataset *ds, GKeyFile *kf)
{
  data_info_to_keyfile (ds, kf);
}
