/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gaf-engine.h"
#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-image.h"

/* Models trained elsewhere: gaflow-cli export | import | field (safetensors under the PyTorch module names
 * of the authors' code, gaf-torch-map.h).
 *
 *   export --checkpoint F.gafck --out F.safetensors [--raw]: the network's weights (the averaged ones when
 *          the checkpoint has them, --raw for the trained ones) with the configuration in __metadata__.
 *   import F.safetensors [--model KIND[:key=value,...]] [--data SPEC] --out F.gafck [--seed N]: a
 *          checkpoint from a safetensors file; the configuration from its metadata unless --model is given.
 *   field  --checkpoint F.gafck|F.safetensors --input X.safetensors --time T --out Y.safetensors
 *          [--raw-output] [--raw]: the network on the inputs W of X (PyTorch layout: (B, c, H, W) for the
 *          UNet, (B, n, c) for the toy CNN, (B, c, n) for the dense network), the vector field Pi_0 f(W, t)
 *          or the raw output f(W, t).
 *
 * Each takes the command's own argv (argv[0] is the command name) and returns the exit status (0, or 2
 * after one "gaflow-cli: error: ..." line). */

#define TRAIN_GROUP "train"
/* At most this many floats in a --input tensor (the network's activations are a multiple of it). */
#define MAX_INPUT_FLOATS (1 << 24)
/* Times t (--time or the tensor 't') from 0 to this: the networks' time features stay finite. */
#define MAX_TIME 1e6

static gboolean
is_safetensors (const char *path)
{
  return g_str_has_suffix (path, ".safetensors");
}

/* A checkpoint's network with its weights restored and its configuration (a copy of the checkpoint's key
 * file); averaged weights swapped in unless raw. */
static GafNet *
net_from_checkpoint (const char *path, gboolean raw, GafModelConfig *cfg, GKeyFile **config, gboolean *ema,
                     guint64 *step, GError **error)
{
  g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (path, error);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GafNet) net = NULL;
  g_autofree char *text = NULL;

  if (ck == NULL)
    return NULL;
  text = g_key_file_to_data (gaf_checkpoint_get_config (ck), NULL, NULL);
  if (!g_key_file_load_from_data (kf, text, (gsize) -1, G_KEY_FILE_KEEP_COMMENTS, error) ||
      !gaf_model_config_from_keyfile (cfg, kf, error))
    return NULL;
  net = gaf_model_new (cfg, error);
  if (net == NULL || !gaf_checkpoint_restore (ck, gaf_net_get_params (net), NULL, NULL, error))
    return NULL;
  *ema = !raw && gaf_checkpoint_has_ema (ck);
  if (*ema)
    gaf_params_swap_ema (gaf_net_get_params (net));
  if (step != NULL)
    *step = gaf_checkpoint_get_step (ck);
  if (config != NULL)
    *config = g_steal_pointer (&kf);
  return g_steal_pointer (&net);
}

/* ---- export ------------------------------------------------------------------------------------------- */

int
gaf_cli_cmd_export (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *out = NULL;
  gboolean raw = FALSE, ema = FALSE;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "A checkpoint (.gafck)", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "The safetensors file to write", "FILE" },
    { "raw", 0, 0, G_OPTION_ARG_NONE, &raw, "The trained weights, not the averaged (EMA) ones", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx =
    g_option_context_new ("- the network of a checkpoint as safetensors under the PyTorch module names");
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) kf = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autofree char *config_text = NULL, *step_s = NULL;
  GafModelConfig cfg;
  guint64 step = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("export: unexpected argument '%s'", argv[1]);
  if (checkpoint == NULL || out == NULL)
    return gaf_cli_fail ("export: --checkpoint FILE and --out FILE.safetensors are required");
  if (!gaf_cli_check_output_path ("--out", out, &error))
    return gaf_cli_fail ("%s", error->message);
  net = net_from_checkpoint (checkpoint, raw, &cfg, &kf, &ema, &step, &error);
  if (net == NULL)
    return gaf_cli_fail ("--checkpoint: %s", error->message);
  if (!gaf_torch_export (net, &cfg, gaf_net_get_params (net)->data, w, &error))
    return gaf_cli_fail ("export: %s", error->message);
  gaf_torch_write_metadata (&cfg, w);
  if (g_key_file_has_key (kf, TRAIN_GROUP, "lambda", NULL))
    {
      g_autofree char *lambda = g_key_file_get_value (kf, TRAIN_GROUP, "lambda", NULL);
      gaf_safetensors_writer_set_metadata (w, "field_magnitude", g_strstrip (lambda));
    }
  gaf_safetensors_writer_set_metadata (w, "weights", ema ? "ema" : "raw");
  step_s = g_strdup_printf ("%" G_GUINT64_FORMAT, step);
  gaf_safetensors_writer_set_metadata (w, "step", step_s);
  config_text = g_key_file_to_data (kf, NULL, NULL);
  gaf_safetensors_writer_set_metadata (w, "gaflow.config", config_text);
  if (!gaf_safetensors_writer_save (w, out, &error))
    return gaf_cli_fail ("--out: %s", error->message);
  printf ("exported the %s weights of a %s (%" G_GSIZE_FORMAT " parameters) to %s\n", ema ? "averaged" : "trained",
          gaf_model_kind_to_string (cfg.kind), gaf_net_get_params (net)->trained, out);
  return 0;
}

/* ---- import ------------------------------------------------------------------------------------------- */

int
gaf_cli_cmd_import (int argc, char **argv)
{
  g_autofree char *model = NULL, *data = NULL, *out = NULL, *seed_s = NULL;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING, &model,
      "The network, as for train (unet:channels=32,mult=1,2,2,2,...; toy-cnn); default: the file's metadata",
      "KIND[:key=value,...]" },
    { "data", 0, 0, G_OPTION_ARG_STRING, &data,
      "The label maps the model was trained on (fashion-mnist:..., scenes:..., folder:DIR)", "SPEC" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "The checkpoint to write (.gafck)", "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "Seed of the checkpoint's random state (default 1)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("FILE.safetensors - a checkpoint from a model trained elsewhere");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafModelConfig cfg;
  GafRng rng;
  guint64 seed = 1;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc != 2)
    return gaf_cli_fail (argc < 2 ? "import: which file? (gaflow-cli import FILE.safetensors --out FILE.gafck)"
                                  : "import: one file at a time ('%s' is one too many)", argc > 2 ? argv[2] : "");
  if (out == NULL)
    return gaf_cli_fail ("import: --out FILE.gafck is required");
  if ((seed_s && !gaf_cli_parse_u64 ("--seed", seed_s, 0, G_MAXUINT64, &seed, &error)) ||
      !gaf_cli_check_output_path ("--out", out, &error))
    return gaf_cli_fail ("%s", error->message);
  st = gaf_safetensors_load (argv[1], &error);
  if (st == NULL)
    return gaf_cli_fail ("%s", error->message);
  /* A joint distribution (the dense network's data) is recorded as given; label maps are read for their
   * sizes and classes. */
  if (data != NULL && gaf_data_spec_kind (data) == GAF_DATA_KIND_JOINT && model != NULL)
    return gaf_cli_fail ("import: --model takes its sizes from image data; for a joint distribution the "
                         "file's metadata gives the network");
  if (data != NULL && gaf_data_spec_kind (data) != GAF_DATA_KIND_JOINT)
    {
      ds = gaf_cli_image_load_data ("--data", data, &error);
      if (ds == NULL)
        return gaf_cli_fail ("%s", error->message);
    }
  if (model != NULL)
    {
      if (ds == NULL)
        return gaf_cli_fail ("import: --model needs --data (the sizes and classes come from the data)");
      if (!gaf_cli_image_model_config (model, ds->height, ds->width, ds->c, seed, &cfg, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  else if (!gaf_torch_config_from_metadata (st, seed, ds ? ds->height : 0, ds ? ds->width : 0, ds ? ds->c : 0, &cfg,
                                            &error))
    return gaf_cli_fail ("%s: %s; give --model KIND[:...] and --data SPEC", argv[1], error->message);
  if (ds != NULL && cfg.kind == GAF_MODEL_UNET &&
      (cfg.unet.classes != ds->c || cfg.unet.height != ds->height || cfg.unet.width != ds->width))
    return gaf_cli_fail ("import: the model takes %d x %d maps of %d classes, --data has %d x %d maps of %d",
                         cfg.unet.height, cfg.unet.width, cfg.unet.classes, ds->height, ds->width, ds->c);
  net = gaf_torch_import (st, &cfg, &error);
  if (net == NULL)
    return gaf_cli_fail ("%s: %s", argv[1], error->message);

  /* The checkpoint's configuration: gaflow's own when the file was exported by gaflow, then [model] as
   * imported, [data] from --data, lambda from the metadata when nothing else gave it. */
  if (!gaf_torch_checkpoint_config (st, &cfg, kf, &error))
    return gaf_cli_fail ("%s: %s", argv[1], error->message);
  if (ds != NULL)
    gaf_cli_image_data_to_keyfile (ds, kf);
  else if (data != NULL)
    g_key_file_set_string (kf, "data", "spec", data);
  if (cfg.kind == GAF_MODEL_UNET && !g_key_file_has_group (kf, "data"))
    return gaf_cli_fail ("import: %s does not say which label maps the model was trained on: give --data SPEC",
                         argv[1]);
  gaf_rng_init (&rng, seed);
  if (!gaf_checkpoint_save (out, kf, gaf_net_get_params (net), &rng, 0, &error))
    return gaf_cli_fail ("--out: %s", error->message);
  printf ("imported a %s (%" G_GSIZE_FORMAT " parameters) from %s to %s\n", gaf_model_kind_to_string (cfg.kind),
          gaf_net_get_params (net)->trained, argv[1], out);
  return 0;
}

/* ---- field -------------------------------------------------------------------------------------------- */

int
gaf_cli_cmd_field (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *input = NULL, *time_s = NULL, *out = NULL;
  gboolean raw_output = FALSE, raw = FALSE, ema = FALSE;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "The model (.gafck or .safetensors)", "FILE" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &input,
      "Inputs W (tensor 'W', PyTorch layout: (B, c, H, W) for the UNet, (B, n, c) for the toy CNN, (B, c, n) "
      "for the dense network) and optionally times 't' (B)", "FILE" },
    { "time", 0, 0, G_OPTION_ARG_STRING, &time_s, "The time t of every input (instead of a tensor 't')", "T" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, "Where to write the tensor 'field' (or 'output')", "FILE" },
    { "raw-output", 0, 0, G_OPTION_ARG_NONE, &raw_output,
      "The network's output f(W, t) (tensor 'output') instead of the field Pi_0 f(W, t)", NULL },
    { "raw", 0, 0, G_OPTION_ARG_NONE, &raw, "A checkpoint's trained weights, not the averaged ones", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- evaluate a network on given inputs");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafSafetensors) in = NULL;
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autofree float *x = NULL, *xt = NULL, *y = NULL, *t = NULL;
  const char *dtype, *wname = "W";
  const gint64 *shape;
  gint64 oshape[4];
  GafModelConfig cfg;
  double time_v = 0.0;
  int ndim, B, n, c, H = 0, W = 0;
  gboolean unet, channels_first;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("field: unexpected argument '%s'", argv[1]);
  if (checkpoint == NULL || input == NULL || out == NULL)
    return gaf_cli_fail ("field: --checkpoint FILE, --input FILE.safetensors and --out FILE.safetensors are required");
  if ((time_s && !gaf_cli_parse_double ("--time", time_s, 0.0, MAX_TIME, &time_v, &error)) ||
      !gaf_cli_check_output_path ("--out", out, &error))
    return gaf_cli_fail ("%s", error->message);

  if (is_safetensors (checkpoint))
    {
      g_autoptr(GafSafetensors) st = gaf_safetensors_load (checkpoint, &error);
      if (st == NULL)
        return gaf_cli_fail ("--checkpoint: %s", error->message);
      if (!gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, &error))
        return gaf_cli_fail ("--checkpoint: %s: %s (import it with --model)", checkpoint, error->message);
      net = gaf_torch_import (st, &cfg, &error);
    }
  else
    net = net_from_checkpoint (checkpoint, raw, &cfg, NULL, &ema, NULL, &error);
  if (net == NULL)
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  if (net->in_channels != net->out_channels)
    return gaf_cli_fail ("--checkpoint: the network maps %d to %d channels; field needs a flow's network",
                         net->in_channels, net->out_channels);
  unet = cfg.kind == GAF_MODEL_UNET;
  channels_first = unet || cfg.kind == GAF_MODEL_DENSE;
  n = net->n;
  c = net->in_channels;
  if (unet)
    {
      H = cfg.unet.height;
      W = cfg.unet.width;
    }

  in = gaf_safetensors_load (input, &error);
  if (in == NULL)
    return gaf_cli_fail ("--input: %s", error->message);
  if (!gaf_safetensors_has (in, wname) && gaf_safetensors_get_n_tensors (in) == 1)
    wname = gaf_safetensors_get_name (in, 0);
  if (!gaf_safetensors_get_info (in, wname, &dtype, &ndim, &shape))
    return gaf_cli_fail ("--input: %s has no tensor 'W'", input);
  if (ndim != (unet ? 4 : 3) || shape[0] < 1 || shape[0] * (gint64) n * c > MAX_INPUT_FLOATS)
    return gaf_cli_fail ("--input: tensor '%s' must be (B, %s) with 1 <= B <= %d", wname,
                         unet ? "c, H, W" : channels_first ? "c, n" : "n, c", MAX_INPUT_FLOATS / (n * c));
  B = (int) shape[0];
  if (unet)
    memcpy (oshape, (const gint64[]) { B, c, H, W }, sizeof oshape);
  else if (channels_first)
    memcpy (oshape, (const gint64[]) { B, c, n }, 3 * sizeof (gint64));
  else
    memcpy (oshape, (const gint64[]) { B, n, c }, 3 * sizeof (gint64));
  x = g_new (float, (gsize) B * n * c);
  if (!gaf_safetensors_read_floats (in, wname, ndim, oshape, x, &error))
    return gaf_cli_fail ("--input: %s", error->message);
  t = g_new (float, B);
  if (time_s != NULL)
    for (int b = 0; b < B; b++)
      t[b] = (float) time_v;
  else if (!gaf_safetensors_has (in, "t"))
    return gaf_cli_fail ("field: give --time T or a tensor 't' of %d times in --input", B);
  else if (!gaf_safetensors_read_floats (in, "t", 1, (const gint64[]) { B }, t, &error))
    return gaf_cli_fail ("--input: %s", error->message);
  else
    for (int b = 0; b < B; b++)
      if (!(t[b] >= 0.0f && t[b] <= MAX_TIME))
        return gaf_cli_fail ("--input: tensor 't' holds the time %g at element %d (times are from 0 to %g)",
                             (double) t[b], b, MAX_TIME);

  /* PyTorch layout -> the engine's (B, n, c); the toy CNN's is the same */
  xt = g_new (float, (gsize) B * n * c);
  y = g_new (float, (gsize) B * n * c);
  if (channels_first)
    for (int b = 0; b < B; b++)
      for (int k = 0; k < c; k++)
        for (int p = 0; p < n; p++)
          xt[((gsize) b * n + p) * c + k] = x[((gsize) b * c + k) * n + p];
  else
    memcpy (xt, x, (gsize) B * n * c * sizeof (float));
  gaf_net_infer (net, xt, t, B, y);
  if (!raw_output)
    gaf_project_tangent_rows (y, (gsize) B * n, (gsize) c);
  if (channels_first)
    for (int b = 0; b < B; b++)
      for (int k = 0; k < c; k++)
        for (int p = 0; p < n; p++)
          x[((gsize) b * c + k) * n + p] = y[((gsize) b * n + p) * c + k];
  else
    memcpy (x, y, (gsize) B * n * c * sizeof (float));
  gaf_safetensors_writer_add (w, raw_output ? "output" : "field", ndim, oshape, x);
  gaf_safetensors_writer_set_metadata (w, "network", gaf_model_kind_to_string (cfg.kind));
  if (!gaf_safetensors_writer_save (w, out, &error))
    return gaf_cli_fail ("--out: %s", error->message);
  printf ("wrote the %s of %d inputs to %s\n", raw_output ? "network output" : "vector field", B, out);
  return 0;
}
