/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-keyfile.h"
#include "gaf-model.h"
#include "gaf-posterior.h"

#define GROUP "model"

static const char *const kind_names[GAF_N_MODEL_KINDS] = { "toy-cnn", "mlp", "unet", "dense" };

/* Each dimension bounded before the parameter count is formed, so the count cannot overflow. */
#define MAX_DIM (1 << 20)

const char *
gaf_precision_to_string (GafPrecision precision)
{
  return precision == GAF_PRECISION_BF16 ? "bf16" : "float";
}

gboolean
gaf_precision_from_string (const char *name, GafPrecision *out, GError **error)
{
  if (g_strcmp0 (name, "float") == 0)
    *out = GAF_PRECISION_FLOAT;
  else if (g_strcmp0 (name, "bf16") == 0)
    *out = GAF_PRECISION_BF16;
  else
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unknown precision '%s' (float or bf16)",
                   name != NULL ? name : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
gaf_net_set_precision (GafNet *net, GafPrecision precision, GError **error)
{
  if (net->klass->set_precision != NULL)
    return net->klass->set_precision (net, precision, error);
  if (precision == GAF_PRECISION_FLOAT)
    return TRUE;
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
               "bf16 sampling is built for the UNet only; this network (%s) samples in float", net->klass->name);
  return FALSE;
}

const char *
gaf_model_kind_to_string (GafModelKind kind)
{
  g_return_val_if_fail (kind < GAF_N_MODEL_KINDS, NULL);
  return kind_names[kind];
}

gboolean
gaf_model_kind_from_string (const char *name, GafModelKind *out)
{
  for (int k = 0; k < GAF_N_MODEL_KINDS; k++)
    if (g_strcmp0 (name, kind_names[k]) == 0)
      {
        *out = k;
        return TRUE;
      }
  return FALSE;
}

void
gaf_model_config_init (GafModelConfig *cfg, GafModelKind kind, int n, int c, guint64 seed)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->kind = kind;
  cfg->seed = seed;
  gaf_toy_cnn_config_init (&cfg->toy_cnn, n, c);
  gaf_mlp_config_init (&cfg->mlp, n, c);
  gaf_dense_config_init (&cfg->dense, n, c);
  {
    int side = (int) lround (sqrt ((double) MAX (n, 1)));
    gaf_unet_config_init (&cfg->unet, c, side * side == n ? side : 1, side * side == n ? side : n);
  }
}

gsize
gaf_model_param_count (const GafModelConfig *cfg)
{
  switch (cfg->kind)
    {
    case GAF_MODEL_TOY_CNN:
      return gaf_toy_cnn_param_count (&cfg->toy_cnn);
    case GAF_MODEL_MLP:
      return gaf_mlp_param_count (&cfg->mlp);
    case GAF_MODEL_UNET:
      return gaf_unet_param_count (&cfg->unet);
    case GAF_MODEL_DENSE:
      return gaf_dense_param_count (&cfg->dense);
    default:
      g_return_val_if_reached (0);
    }
}

static gboolean
dims_ok (int n, int in, int out, int hidden)
{
  return n >= 1 && n <= MAX_DIM && in >= 1 && in <= MAX_DIM && out >= 1 && out <= MAX_DIM &&
         hidden >= 1 && hidden <= (1 << 14);
}

static gboolean
posterior_channels_ok (const GafModelConfig *cfg)
{
  switch (cfg->kind)
    {
    case GAF_MODEL_TOY_CNN:
      return cfg->toy_cnn.in_channels == cfg->toy_cnn.out_channels && cfg->toy_cnn.out_channels >= 2;
    case GAF_MODEL_MLP:
      return cfg->mlp.in_channels == cfg->mlp.out_channels && cfg->mlp.out_channels >= 2;
    case GAF_MODEL_DENSE:
      return cfg->dense.in_channels == cfg->dense.out_channels && cfg->dense.out_channels >= 2;
    default:
      return cfg->unet.classes >= 2 && gaf_unet_config_in_channels (&cfg->unet) == cfg->unet.classes;
    }
}

gboolean
gaf_model_config_check (const GafModelConfig *cfg, GError **error)
{
  gboolean dims;
  gsize count;

  switch (cfg->kind)
    {
    case GAF_MODEL_TOY_CNN:
      dims = dims_ok (cfg->toy_cnn.n, cfg->toy_cnn.in_channels, cfg->toy_cnn.out_channels, cfg->toy_cnn.hidden);
      if (!gaf_toy_cnn_config_check (&cfg->toy_cnn, error))
        return FALSE;
      break;
    case GAF_MODEL_MLP:
      dims = dims_ok (cfg->mlp.n, cfg->mlp.in_channels, cfg->mlp.out_channels, cfg->mlp.hidden);
      if (!gaf_mlp_config_check (&cfg->mlp, error))
        return FALSE;
      break;
    case GAF_MODEL_UNET:
      /* gaf_unet_config_check bounds every dimension */
      dims = TRUE;
      if (!gaf_unet_config_check (&cfg->unet, error))
        return FALSE;
      break;
    case GAF_MODEL_DENSE:
      /* gaf_dense_config_check bounds every dimension */
      dims = TRUE;
      if (!gaf_dense_config_check (&cfg->dense, error))
        return FALSE;
      break;
    default:
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unknown model kind %d", cfg->kind);
      return FALSE;
    }
  if (!(cfg->posterior_lambda >= 0.0 && cfg->posterior_lambda <= 1e3))
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "posterior_lambda must be 0 (off) or a positive number up to 1000");
      return FALSE;
    }
  if (cfg->posterior_lambda > 0.0 && !posterior_channels_ok (cfg))
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "the posterior form needs equal in and out channels, at least 2");
      return FALSE;
    }
  if (!dims || (count = gaf_model_param_count (cfg)) > GAF_MODEL_MAX_PARAMS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "the %s model is too large (at most %" G_GUINT64_FORMAT " parameters, n, channels up to %d, width up to %d)",
                   kind_names[cfg->kind], GAF_MODEL_MAX_PARAMS, MAX_DIM, 1 << 14);
      return FALSE;
    }
  {
    /* parameters with gradients, Adam moments and EMA (the toy CNN and the MLP check theirs too) */
    g_autofree char *what = g_strdup_printf ("the %s model (%" G_GSIZE_FORMAT " parameters)", kind_names[cfg->kind], count);
    return gaf_budget_check (gaf_size_mul3 (count, 5, sizeof (float)), what, error);
  }
}

static const char *const toy_cnn_keys[] = {
  "kind", "seed", "n", "classes", "in_channels", "out_channels",
  "hidden", "fourier_half", "fourier_scale", "time_scale", "input_scale", "position_bias", "posterior_lambda",
  "fourier_freqs", NULL
};

static const char *const mlp_keys[] = {
  "kind", "seed", "n", "classes", "in_channels", "out_channels",
  "hidden", "depth", "layernorm", "time_freqs", "input_scale", "posterior_lambda", NULL
};

static const char *const dense_keys[] = {
  "kind", "seed", "n", "classes", "in_channels", "out_channels", "hidden", "bias", "posterior_lambda", NULL
};

static const char *const unet_keys[] = {
  "kind", "seed", "classes", "height", "width", "channels", "mult", "blocks", "attn", "time_scale", "groups", "in_channels", "posterior_lambda", NULL
};

static gboolean
missing (const char *what, GError **error)
{
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "[" GROUP "] needs %s", what);
  return FALSE;
}

/* fourier_freqs = f1;f2;...: the toy CNN's fixed frequencies when they did not come from the seed (a model
 * imported from PyTorch). Exactly fourier_half finite values. */
static gboolean
get_freqs (GKeyFile *kf, GafToyCnnConfig *c, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree double *v = NULL;
  gsize n = 0;

  c->n_freqs = 0;
  if (!g_key_file_has_key (kf, GROUP, "fourier_freqs", NULL))
    return TRUE;
  v = g_key_file_get_double_list (kf, GROUP, "fourier_freqs", &n, &local);
  if (v == NULL || n != (gsize) c->fourier_half || n > GAF_TOY_CNN_MAX_FREQS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "[" GROUP "] fourier_freqs must be %d numbers (fourier_half), separated by ';'", c->fourier_half);
      return FALSE;
    }
  for (gsize j = 0; j < n; j++)
    {
      if (!isfinite (v[j]) || fabs (v[j]) > GAF_TOY_CNN_MAX_FREQ_ABS)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "[" GROUP "] fourier_freqs holds %g", v[j]);
          return FALSE;
        }
      c->freqs[j] = (float) v[j];
    }
  c->n_freqs = (int) n;
  return TRUE;
}

gboolean
gaf_model_config_from_keyfile (GafModelConfig *out, GKeyFile *kf, GError **error)
{
  g_autofree char *kind_name = NULL;
  GafModelConfig cfg;
  GafModelKind kind;
  guint64 seed = 1;
  int n = 0, classes = 0, in = 0, out_ch = 0;
  gboolean have_channels;

  g_return_val_if_fail (out != NULL && kf != NULL, FALSE);

  if (!g_key_file_has_group (kf, GROUP))
    return missing ("to exist (no [" GROUP "] group)", error);
  kind_name = g_key_file_get_string (kf, GROUP, "kind", NULL);
  if (kind_name == NULL)
    return missing ("kind", error);
  g_strstrip (kind_name);
  if (!gaf_model_kind_from_string (kind_name, &kind))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "[" GROUP "] kind = %s is not a known network (toy-cnn, mlp, unet, dense)", kind_name);
      return FALSE;
    }
  if (kind == GAF_MODEL_UNET)
    {
      /* The UNet reads its own keys; the factory adds the seed. */
      if (!gaf_keyfile_check_keys (kf, GROUP, unet_keys, error) ||
          !gaf_keyfile_get_uint64 (kf, GROUP, "seed", &seed, error))
        return FALSE;
      GafUnetConfig unet;
      if (!gaf_unet_config_from_keyfile (&unet, kf, error))
        return FALSE;
      gaf_model_config_init (&cfg, kind, unet.height * unet.width, unet.classes, seed);
      cfg.unet = unet;
      if (!gaf_keyfile_get_double (kf, GROUP, "posterior_lambda", &cfg.posterior_lambda, error))
        return FALSE;
      if (!gaf_model_config_check (&cfg, error))
        {
          g_prefix_error (error, "[" GROUP "]: ");
          return FALSE;
        }
      *out = cfg;
      return TRUE;
    }
  if (!gaf_keyfile_check_keys (kf, GROUP, kind == GAF_MODEL_TOY_CNN ? toy_cnn_keys :
                                          kind == GAF_MODEL_DENSE ? dense_keys : mlp_keys, error) ||
      !gaf_keyfile_get_uint64 (kf, GROUP, "seed", &seed, error) ||
      !gaf_keyfile_get_int (kf, GROUP, "n", &n, error) ||
      !gaf_keyfile_get_int (kf, GROUP, "classes", &classes, error) ||
      !gaf_keyfile_get_int (kf, GROUP, "in_channels", &in, error) ||
      !gaf_keyfile_get_int (kf, GROUP, "out_channels", &out_ch, error))
    return FALSE;
  if (!g_key_file_has_key (kf, GROUP, "n", NULL))
    return missing ("n (the number of variables)", error);
  have_channels = g_key_file_has_key (kf, GROUP, "in_channels", NULL) &&
                  g_key_file_has_key (kf, GROUP, "out_channels", NULL);
  if (!g_key_file_has_key (kf, GROUP, "classes", NULL) && !have_channels)
    return missing ("classes (or in_channels and out_channels)", error);
  if (!g_key_file_has_key (kf, GROUP, "in_channels", NULL))
    in = classes;
  if (!g_key_file_has_key (kf, GROUP, "out_channels", NULL))
    out_ch = classes;

  gaf_model_config_init (&cfg, kind, n, classes, seed);
  if (kind == GAF_MODEL_TOY_CNN)
    {
      GafToyCnnConfig *c = &cfg.toy_cnn;
      c->in_channels = in;
      c->out_channels = out_ch;
      if (!gaf_keyfile_get_int (kf, GROUP, "hidden", &c->hidden, error))
        return FALSE;
      c->fourier_half = c->hidden / 2;
      if (!gaf_keyfile_get_int (kf, GROUP, "fourier_half", &c->fourier_half, error) ||
          !gaf_keyfile_get_double (kf, GROUP, "fourier_scale", &c->fourier_scale, error) ||
          !gaf_keyfile_get_double (kf, GROUP, "time_scale", &c->time_scale, error) ||
          !gaf_keyfile_get_double (kf, GROUP, "input_scale", &c->input_scale, error) ||
          !gaf_keyfile_get_bool (kf, GROUP, "position_bias", &c->position_bias, error) ||
          !get_freqs (kf, c, error))
        return FALSE;
    }
  else if (kind == GAF_MODEL_DENSE)
    {
      GafDenseConfig *c = &cfg.dense;
      g_autofree char *hidden = g_key_file_get_value (kf, GROUP, "hidden", NULL);
      c->in_channels = in;
      c->out_channels = out_ch;
      if ((hidden != NULL && !gaf_dense_config_parse_hidden (c, hidden, error)) ||
          !gaf_keyfile_get_bool (kf, GROUP, "bias", &c->bias, error))
        return FALSE;
    }
  else
    {
      GafMlpConfig *c = &cfg.mlp;
      c->in_channels = in;
      c->out_channels = out_ch;
      if (!gaf_keyfile_get_int (kf, GROUP, "hidden", &c->hidden, error) ||
          !gaf_keyfile_get_int (kf, GROUP, "depth", &c->depth, error) ||
          !gaf_keyfile_get_bool (kf, GROUP, "layernorm", &c->layernorm, error) ||
          !gaf_keyfile_get_int (kf, GROUP, "time_freqs", &c->time_freqs, error) ||
          !gaf_keyfile_get_double (kf, GROUP, "input_scale", &c->input_scale, error))
        return FALSE;
    }
  if (!gaf_keyfile_get_double (kf, GROUP, "posterior_lambda", &cfg.posterior_lambda, error))
    return FALSE;
  if (!gaf_model_config_check (&cfg, error))
    {
      g_prefix_error (error, "[" GROUP "]: ");
      return FALSE;
    }
  *out = cfg;
  return TRUE;
}

static void
set_channels (GKeyFile *kf, int n, int in, int out)
{
  g_key_file_set_integer (kf, GROUP, "n", n);
  if (in == out)
    g_key_file_set_integer (kf, GROUP, "classes", in);
  else
    {
      g_key_file_set_integer (kf, GROUP, "in_channels", in);
      g_key_file_set_integer (kf, GROUP, "out_channels", out);
    }
}

void
gaf_model_config_to_keyfile (const GafModelConfig *cfg, GKeyFile *kf)
{
  g_return_if_fail (cfg != NULL && kf != NULL && cfg->kind < GAF_N_MODEL_KINDS);

  g_key_file_remove_group (kf, GROUP, NULL);
  if (cfg->kind == GAF_MODEL_UNET)
    {
      gaf_unet_config_to_keyfile (&cfg->unet, kf);
      g_key_file_set_uint64 (kf, GROUP, "seed", cfg->seed);
      if (cfg->posterior_lambda > 0.0)
        g_key_file_set_double (kf, GROUP, "posterior_lambda", cfg->posterior_lambda);
      return;
    }
  g_key_file_set_string (kf, GROUP, "kind", kind_names[cfg->kind]);
  g_key_file_set_uint64 (kf, GROUP, "seed", cfg->seed);
  if (cfg->kind == GAF_MODEL_TOY_CNN)
    {
      const GafToyCnnConfig *c = &cfg->toy_cnn;
      set_channels (kf, c->n, c->in_channels, c->out_channels);
      g_key_file_set_integer (kf, GROUP, "hidden", c->hidden);
      g_key_file_set_integer (kf, GROUP, "fourier_half", c->fourier_half);
      g_key_file_set_double (kf, GROUP, "fourier_scale", c->fourier_scale);
      g_key_file_set_double (kf, GROUP, "time_scale", c->time_scale);
      g_key_file_set_double (kf, GROUP, "input_scale", c->input_scale);
      g_key_file_set_boolean (kf, GROUP, "position_bias", c->position_bias);
      if (c->n_freqs > 0)
        {
          /* %.9g reads back as the same float */
          g_autoptr(GString) s = g_string_new (NULL);
          for (int j = 0; j < c->n_freqs; j++)
            g_string_append_printf (s, "%s%.9g", j ? ";" : "", (double) c->freqs[j]);
          g_key_file_set_value (kf, GROUP, "fourier_freqs", s->str);
        }
    }
  else if (cfg->kind == GAF_MODEL_DENSE)
    {
      const GafDenseConfig *c = &cfg->dense;
      g_autofree char *hidden = gaf_dense_config_hidden_string (c);
      set_channels (kf, c->n, c->in_channels, c->out_channels);
      g_key_file_set_value (kf, GROUP, "hidden", hidden);
      g_key_file_set_boolean (kf, GROUP, "bias", c->bias);
    }
  else
    {
      const GafMlpConfig *c = &cfg->mlp;
      set_channels (kf, c->n, c->in_channels, c->out_channels);
      g_key_file_set_integer (kf, GROUP, "hidden", c->hidden);
      g_key_file_set_integer (kf, GROUP, "depth", c->depth);
      g_key_file_set_boolean (kf, GROUP, "layernorm", c->layernorm);
      g_key_file_set_integer (kf, GROUP, "time_freqs", c->time_freqs);
      g_key_file_set_double (kf, GROUP, "input_scale", c->input_scale);
    }
  if (cfg->posterior_lambda > 0.0)   /* absent means off: files written before the key stay as they were */
    g_key_file_set_double (kf, GROUP, "posterior_lambda", cfg->posterior_lambda);
}

gboolean
gaf_model_config_from_net (GafModelConfig *cfg, GafNet *net, guint64 seed)
{
  g_return_val_if_fail (cfg != NULL && net != NULL, FALSE);

  if (gaf_net_is_posterior (net))
    {
      if (!gaf_model_config_from_net (cfg, gaf_posterior_net_get_inner (net), seed))
        return FALSE;
      cfg->posterior_lambda = gaf_posterior_net_get_lambda (net);
      return TRUE;
    }
  if (g_strcmp0 (net->klass->name, "toy-cnn") == 0)
    {
      const GafToyCnnConfig *c = gaf_toy_cnn_get_config ((GafToyCnn *) net);
      gaf_model_config_init (cfg, GAF_MODEL_TOY_CNN, c->n, c->out_channels, seed);
      cfg->toy_cnn = *c;
      return TRUE;
    }
  if (g_strcmp0 (net->klass->name, "mlp") == 0)
    {
      const GafMlpConfig *c = gaf_mlp_get_config ((GafMlp *) net);
      gaf_model_config_init (cfg, GAF_MODEL_MLP, c->n, c->out_channels, seed);
      cfg->mlp = *c;
      return TRUE;
    }
  if (g_strcmp0 (net->klass->name, "dense") == 0)
    {
      const GafDenseConfig *c = gaf_dense_get_config ((GafDense *) net);
      gaf_model_config_init (cfg, GAF_MODEL_DENSE, c->n, c->out_channels, seed);
      cfg->dense = *c;
      return TRUE;
    }
  if (g_strcmp0 (net->klass->name, "unet") == 0)
    {
      const GafUnetConfig *c = gaf_unet_get_config ((GafUnet *) net);
      gaf_model_config_init (cfg, GAF_MODEL_UNET, c->height * c->width, c->classes, seed);
      cfg->unet = *c;
      return TRUE;
    }
  return FALSE;
}

GafNet *
gaf_model_new (const GafModelConfig *cfg, GError **error)
{
  GafNet *net;

  g_return_val_if_fail (cfg != NULL, NULL);

  if (!gaf_model_config_check (cfg, error))
    return NULL;
  switch (cfg->kind)
    {
    case GAF_MODEL_TOY_CNN:
      net = GAF_NET (gaf_toy_cnn_new (&cfg->toy_cnn, cfg->seed));
      break;
    case GAF_MODEL_MLP:
      net = GAF_NET (gaf_mlp_new (&cfg->mlp, cfg->seed));
      break;
    case GAF_MODEL_UNET:
      net = GAF_NET (gaf_unet_new (&cfg->unet, cfg->seed));
      break;
    case GAF_MODEL_DENSE:
      net = GAF_NET (gaf_dense_new (&cfg->dense, cfg->seed));
      break;
    default:
      g_return_val_if_reached (NULL);
    }
  if (cfg->posterior_lambda > 0.0)
    net = gaf_posterior_net_new (net, cfg->posterior_lambda);
  return net;
}

GafNet *
gaf_model_new_from_keyfile (GKeyFile *kf, GError **error)
{
  GafModelConfig cfg;

  if (!gaf_model_config_from_keyfile (&cfg, kf, error))
    return NULL;
  return gaf_model_new (&cfg, error);
}
