/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaf-checkpoint.h"
#include "gaf-error.h"
#include "gaf-path.h"
#include "gaf-torch-map.h"

struct _GafTorchMap {
  GPtrArray *entries;    /* of GafTorchEntry */
  const char *network;
};

static void
entry_free (gpointer p)
{
  GafTorchEntry *e = p;
  g_free (e->torch);
  g_free (e->view);
  g_free (e);
}

void
gaf_torch_map_free (GafTorchMap *map)
{
  if (map == NULL)
    return;
  g_ptr_array_unref (map->entries);
  g_free (map);
}

guint
gaf_torch_map_get_n (GafTorchMap *map)
{
  return map->entries->len;
}

const GafTorchEntry *
gaf_torch_map_get (GafTorchMap *map, guint i)
{
  g_return_val_if_fail (i < map->entries->len, NULL);
  return map->entries->pdata[i];
}

const char *
gaf_torch_map_get_network (GafTorchMap *map)
{
  return map->network;
}

/* One row of a table. shape: PyTorch's, ndim values. */
static void
add (GafTorchMap *map, GafTorchLayout layout, const char *view, gsize offset, gsize cols, int ndim,
     const gint64 *shape, const char *fmt, ...) G_GNUC_PRINTF (8, 9);

static void
add (GafTorchMap *map, GafTorchLayout layout, const char *view, gsize offset, gsize cols, int ndim,
     const gint64 *shape, const char *fmt, ...)
{
  GafTorchEntry *e = g_new0 (GafTorchEntry, 1);
  va_list ap;

  va_start (ap, fmt);
  e->torch = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  e->view = g_strdup (view);
  e->offset = offset;
  e->cols = cols;
  e->layout = layout;
  e->ndim = ndim;
  e->numel = 1;
  for (int d = 0; d < ndim; d++)
    {
      e->shape[d] = shape[d];
      e->numel *= shape[d];
    }
  g_ptr_array_add (map->entries, e);
}

#define SHAPE(...) ((const gint64[]) { __VA_ARGS__ })
#define NDIM(...) ((int) (sizeof ((const gint64[]) { __VA_ARGS__ }) / sizeof (gint64)))
/* A bias, norm weight or any vector: (n) in both. */
#define VEC(view, n, ...) add (map, GAF_TORCH_COPY, view, 0, 0, 1, SHAPE (n), __VA_ARGS__)

gsize
gaf_torch_entry_index (const GafTorchEntry *e, gsize k)
{
  switch (e->layout)
    {
    case GAF_TORCH_COPY:
    case GAF_TORCH_FOURIER:
    case GAF_TORCH_COUNT:
      return e->offset + k;
    case GAF_TORCH_LINEAR:
    case GAF_TORCH_LINEAR_SWAP:
      {
        gsize I = (gsize) e->shape[1], o = k / I, i = k % I;
        if (e->layout == GAF_TORCH_LINEAR_SWAP)
          i = (i + I / 2) % I;   /* torch input [cos | sin] -> engine [sin | cos] */
        return i * e->cols + e->offset + o;
      }
    case GAF_TORCH_CONV:
      {
        /* torch (O, I, taps...) with taps = prod(shape[2:]) -> engine (taps, I, O) */
        gsize O = (gsize) e->shape[0], I = (gsize) e->shape[1], taps = 1;
        for (int d = 2; d < e->ndim; d++)
          taps *= (gsize) e->shape[d];
        gsize o = k / (I * taps), i = (k / taps) % I, tap = k % taps;
        return (tap * I + i) * O + o;
      }
    }
  g_return_val_if_reached (0);
}

/* ---- the UNet (guided diffusion's UNetModel) -------------------------------------------------------- */

/* Mirrors the op order of gaf-unet.c's layout(), which is the module order of UNetModel: view names are
 * "bNN.KIND.PART" with NN the op's index. */
typedef struct {
  GafTorchMap *map;
  guint        op;     /* next op index */
  int          E;      /* time embedding width 4C */
} UnetWalk;

static void
unet_conv (UnetWalk *u, const char *kind, const char *part, int cin, int cout, int k, const char *prefix)
{
  GafTorchMap *map = u->map;
  g_autofree char *w = g_strdup_printf ("b%02u.%s.%s.w", u->op, kind, part);
  g_autofree char *b = g_strdup_printf ("b%02u.%s.%s.b", u->op, kind, part);

  if (k == 1)
    add (map, GAF_TORCH_CONV, w, 0, 0, 4, SHAPE (cout, cin, 1, 1), "%s.weight", prefix);
  else
    add (map, GAF_TORCH_CONV, w, 0, 0, 4, SHAPE (cout, cin, k, k), "%s.weight", prefix);
  VEC (b, cout, "%s.bias", prefix);
}

static void
unet_norm (UnetWalk *u, const char *kind, const char *part, int ch, const char *prefix)
{
  GafTorchMap *map = u->map;
  g_autofree char *g = g_strdup_printf ("b%02u.%s.%s.g", u->op, kind, part);
  g_autofree char *b = g_strdup_printf ("b%02u.%s.%s.b", u->op, kind, part);

  VEC (g, ch, "%s.weight", prefix);
  VEC (b, ch, "%s.bias", prefix);
}

static void
unet_res (UnetWalk *u, int cin, int cout, const char *prefix)
{
  GafTorchMap *map = u->map;
  g_autofree char *p0 = g_strdup_printf ("%s.in_layers.0", prefix);
  g_autofree char *p2 = g_strdup_printf ("%s.in_layers.2", prefix);
  g_autofree char *o0 = g_strdup_printf ("%s.out_layers.0", prefix);
  g_autofree char *o3 = g_strdup_printf ("%s.out_layers.3", prefix);
  g_autofree char *sk = g_strdup_printf ("%s.skip_connection", prefix);
  g_autofree char *ew = g_strdup_printf ("b%02u.res.emb.w", u->op);
  g_autofree char *eb = g_strdup_printf ("b%02u.res.emb.b", u->op);

  unet_norm (u, "res", "norm1", cin, p0);
  unet_conv (u, "res", "conv1", cin, cout, 3, p2);
  add (map, GAF_TORCH_LINEAR, ew, 0, (gsize) cout, 2, SHAPE (cout, u->E), "%s.emb_layers.1.weight", prefix);
  VEC (eb, cout, "%s.emb_layers.1.bias", prefix);
  unet_norm (u, "res", "norm2", cout, o0);
  unet_conv (u, "res", "conv2", cout, cout, 3, o3);
  if (cin != cout)
    unet_conv (u, "res", "skip", cin, cout, 1, sk);
  u->op++;
}

static void
unet_attn (UnetWalk *u, int ch, const char *prefix)
{
  GafTorchMap *map = u->map;
  g_autofree char *n = g_strdup_printf ("%s.norm", prefix);
  g_autofree char *qw = g_strdup_printf ("b%02u.attn.qkv.w", u->op), *qb = g_strdup_printf ("b%02u.attn.qkv.b", u->op);
  g_autofree char *pw = g_strdup_printf ("b%02u.attn.proj.w", u->op), *pb = g_strdup_printf ("b%02u.attn.proj.b", u->op);

  unet_norm (u, "attn", "norm", ch, n);
  /* Conv1d (3C, C, 1): one head, [q | k | v] along the output, as QKVAttentionLegacy splits it */
  add (map, GAF_TORCH_CONV, qw, 0, 0, 3, SHAPE (3 * ch, ch, 1), "%s.qkv.weight", prefix);
  VEC (qb, 3 * ch, "%s.qkv.bias", prefix);
  add (map, GAF_TORCH_CONV, pw, 0, 0, 3, SHAPE (ch, ch, 1), "%s.proj_out.weight", prefix);
  VEC (pb, ch, "%s.proj_out.bias", prefix);
  u->op++;
}

static gboolean
unet_has_attn (const GafUnetConfig *cfg, int h)
{
  for (int a = 0; a < cfg->n_attn; a++)
    if (cfg->attn[a] == h)
      return TRUE;
  return FALSE;
}

static void
unet_table (GafTorchMap *map, const GafUnetConfig *cfg)
{
  int C = cfg->channels, E = 4 * C, h = cfg->height, ch = C, k = 0;
  int chans[1 + GAF_UNET_MAX_LEVELS * 18], top = 0;
  UnetWalk u = { map, 0, E };

  add (map, GAF_TORCH_LINEAR_SWAP, "time.lin1.w", 0, (gsize) E, 2, SHAPE (E, C), "time_embed.0.weight");
  VEC ("time.lin1.b", E, "time_embed.0.bias");
  add (map, GAF_TORCH_LINEAR, "time.lin2.w", 0, (gsize) E, 2, SHAPE (E, E), "time_embed.2.weight");
  VEC ("time.lin2.b", E, "time_embed.2.bias");

  unet_conv (&u, "in", "conv", gaf_unet_config_in_channels (cfg), C, 3, "input_blocks.0.0");
  u.op++;
  chans[top++] = C;
  k = 1;
  for (int l = 0; l < cfg->n_levels; l++)
    {
      for (int b = 0; b < cfg->blocks; b++, k++)
        {
          g_autofree char *p0 = g_strdup_printf ("input_blocks.%d.0", k);
          g_autofree char *p1 = g_strdup_printf ("input_blocks.%d.1", k);
          unet_res (&u, ch, cfg->mult[l] * C, p0);
          ch = cfg->mult[l] * C;
          if (unet_has_attn (cfg, h))
            unet_attn (&u, ch, p1);
          chans[top++] = ch;
        }
      if (l != cfg->n_levels - 1)
        {
          g_autofree char *p = g_strdup_printf ("input_blocks.%d.0.op", k++);
          unet_conv (&u, "down", "conv", ch, ch, 3, p);
          u.op++;
          chans[top++] = ch;
          h /= 2;
        }
    }
  unet_res (&u, ch, ch, "middle_block.0");
  unet_attn (&u, ch, "middle_block.1");
  unet_res (&u, ch, ch, "middle_block.2");
  k = 0;
  for (int l = cfg->n_levels - 1; l >= 0; l--)
    for (int b = 0; b <= cfg->blocks; b++, k++)
      {
        int j = 1;
        g_autofree char *p0 = g_strdup_printf ("output_blocks.%d.0", k);
        unet_res (&u, ch + chans[--top], cfg->mult[l] * C, p0);
        ch = cfg->mult[l] * C;
        if (unet_has_attn (cfg, h))
          {
            g_autofree char *p1 = g_strdup_printf ("output_blocks.%d.%d", k, j++);
            unet_attn (&u, ch, p1);
          }
        if (l != 0 && b == cfg->blocks)
          {
            g_autofree char *pu = g_strdup_printf ("output_blocks.%d.%d.conv", k, j++);
            unet_conv (&u, "up", "conv", ch, ch, 3, pu);
            u.op++;
            h *= 2;
          }
      }
  g_assert (top == 0);
  unet_norm (&u, "out", "norm", ch, "out.0");
  unet_conv (&u, "out", "conv", ch, cfg->classes, 3, "out.2");
}

/* ---- the toy CNN (Dirichlet FM's CNNModel) ---------------------------------------------------------- */

static void
toy_cnn_table (GafTorchMap *map, const GafToyCnnConfig *cfg)
{
  int H = cfg->hidden, L = GAF_TOY_CNN_LAYERS;

  add (map, GAF_TORCH_CONV, "in.w", 0, 0, 3, SHAPE (H, cfg->in_channels, 9), "linear.weight");
  VEC ("in.b", H, "linear.bias");
  add (map, GAF_TORCH_FOURIER, NULL, 0, 0, 1, SHAPE (cfg->fourier_half), "time_embedder.0.W");
  add (map, GAF_TORCH_LINEAR, "temb.w", 0, (gsize) H, 2, SHAPE (H, 2 * cfg->fourier_half), "time_embedder.1.weight");
  VEC ("temb.b", H, "time_embedder.1.bias");
  for (int i = 0; i < L; i++)
    {
      g_autofree char *w = g_strdup_printf ("conv%d.w", i), *b = g_strdup_printf ("conv%d.b", i);
      add (map, GAF_TORCH_CONV, w, 0, 0, 3, SHAPE (H, H, 9), "convs.%d.weight", i);
      VEC (b, H, "convs.%d.bias", i);
    }
  for (int i = 0; i < L; i++)
    {
      add (map, GAF_TORCH_LINEAR, "time_layers.w", (gsize) i * H, (gsize) L * H, 2, SHAPE (H, H),
           "time_layers.%d.dense.weight", i);
      add (map, GAF_TORCH_COPY, "time_layers.b", (gsize) i * H, 0, 1, SHAPE (H), "time_layers.%d.dense.bias", i);
    }
  for (int i = 0; i < L; i++)
    {
      g_autofree char *g = g_strdup_printf ("norm%d.g", i), *b = g_strdup_printf ("norm%d.b", i);
      VEC (g, H, "norms.%d.weight", i);
      VEC (b, H, "norms.%d.bias", i);
    }
  add (map, GAF_TORCH_CONV, "head1.w", 0, 0, 3, SHAPE (H, H, 1), "final_conv.0.weight");
  VEC ("head1.b", H, "final_conv.0.bias");
  add (map, GAF_TORCH_CONV, "head2.w", 0, 0, 3, SHAPE (cfg->out_channels, H, 1), "final_conv.2.weight");
  VEC ("head2.b", cfg->out_channels, "final_conv.2.bias");
}

/* ---- the dense network (DenseNet) ---------------------------------------------------------------------- */

/* Module order of DenseNet's state_dict: per layer the BatchNorm (weight, bias, running_mean, running_var,
 * num_batches_tracked), then the Linear (weight, bias). */
static void
dense_table (GafTorchMap *map, const GafDenseConfig *cfg)
{
  int dim[GAF_DENSE_MAX_HIDDEN + 2], L = cfg->n_hidden + 1;

  dim[0] = cfg->n * cfg->in_channels + 1;
  for (int l = 0; l < cfg->n_hidden; l++)
    dim[l + 1] = cfg->hidden[l];
  dim[L] = cfg->n * cfg->out_channels;
  for (int l = 0; l < L; l++)
    {
      g_autofree char *w = g_strdup_printf ("fc%d.w", l), *b = g_strdup_printf ("fc%d.b", l);
      g_autofree char *g = g_strdup_printf ("bn%d.g", l), *nb = g_strdup_printf ("bn%d.b", l);
      g_autofree char *m = g_strdup_printf ("bn%d.mean", l), *v = g_strdup_printf ("bn%d.var", l);
      g_autofree char *c = g_strdup_printf ("bn%d.count", l);
      if (cfg->n_hidden > 0)
        {
          VEC (g, dim[l], "layers.%d.0.weight", l);
          VEC (nb, dim[l], "layers.%d.0.bias", l);
          VEC (m, dim[l], "layers.%d.0.running_mean", l);
          VEC (v, dim[l], "layers.%d.0.running_var", l);
          add (map, GAF_TORCH_COUNT, c, 0, 0, 0, SHAPE (1), "layers.%d.0.num_batches_tracked", l);
        }
      add (map, GAF_TORCH_LINEAR, w, 0, dim[l + 1], 2, SHAPE (dim[l + 1], dim[l]), "layers.%d.1.weight", l);
      if (cfg->bias)
        VEC (b, dim[l + 1], "layers.%d.1.bias", l);
    }
}

GafTorchMap *
gaf_torch_map_new (const GafModelConfig *cfg, GError **error)
{
  g_autoptr(GafTorchMap) map = g_new0 (GafTorchMap, 1);

  g_return_val_if_fail (cfg != NULL, NULL);
  map->entries = g_ptr_array_new_with_free_func (entry_free);
  if (cfg->posterior_lambda > 0.0)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "the posterior form (posterior_lambda) has no counterpart in the authors' PyTorch code");
      return NULL;
    }
  switch (cfg->kind)
    {
    case GAF_MODEL_UNET:
      map->network = "unet";
      unet_table (map, &cfg->unet);
      break;
    case GAF_MODEL_TOY_CNN:
      if (cfg->toy_cnn.position_bias)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                               "the toy CNN's position bias has no counterpart in the authors' CNNModel");
          return NULL;
        }
      map->network = "cnn_dirichlet";
      toy_cnn_table (map, &cfg->toy_cnn);
      break;
    case GAF_MODEL_DENSE:
      if (cfg->dense.in_channels != cfg->dense.out_channels)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                               "the authors' DenseNet has as many output channels as input channels");
          return NULL;
        }
      map->network = "dense";
      dense_table (map, &cfg->dense);
      break;
    default:
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "gaflow's MLP (LayerNorm, log-time features) is not the authors' DenseNet (model kind "
                           "'dense' is); only the UNet, the toy CNN and the dense network have PyTorch names");
      return NULL;
    }
  return g_steal_pointer (&map);
}

gboolean
gaf_torch_map_check (GafTorchMap *map, GafParams *params, GError **error)
{
  g_autofree guint8 *hits = g_new0 (guint8, MAX (params->size, 1));

  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      const GafParamView *v;
      if (e->layout == GAF_TORCH_FOURIER)
        continue;
      v = gaf_params_find (params, e->view);
      if (v == NULL)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s: the network has no view '%s'", e->torch,
                       e->view);
          return FALSE;
        }
      for (gsize k = 0; k < (gsize) e->numel; k++)
        {
          gsize j = gaf_torch_entry_index (e, k);
          if (j >= v->size)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "%s element %" G_GSIZE_FORMAT " falls outside view '%s' (%" G_GSIZE_FORMAT " values)",
                           e->torch, k, e->view, v->size);
              return FALSE;
            }
          if (hits[v->offset + j]++ != 0)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s element %" G_GSIZE_FORMAT
                           " maps to a value of '%s' already mapped", e->torch, k, e->view);
              return FALSE;
            }
        }
    }
  for (gsize j = 0; j < params->size; j++)
    if (hits[j] == 0)
      {
        for (guint i = 0; i < params->views->len; i++)
          {
            const GafParamView *v = &g_array_index (params->views, GafParamView, i);
            if (j >= v->offset && j < v->offset + v->size)
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                             "value %" G_GSIZE_FORMAT " of view '%s' has no PyTorch name", j - v->offset, v->name);
                return FALSE;
              }
          }
        g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "value %" G_GSIZE_FORMAT " has no view", j);
        return FALSE;
      }
  return TRUE;
}

/* ---- metadata ------------------------------------------------------------------------------------------ */

static char *
int_list (const int *v, int n)
{
  GString *s = g_string_new ("[");

  for (int i = 0; i < n; i++)
    g_string_append_printf (s, "%s%d", i ? ", " : "", v[i]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
set_int (GafSafetensorsWriter *w, const char *key, int v)
{
  g_autofree char *s = g_strdup_printf ("%d", v);
  gaf_safetensors_writer_set_metadata (w, key, s);
}

void
gaf_torch_write_metadata (const GafModelConfig *cfg, GafSafetensorsWriter *w)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *model = NULL;

  g_return_if_fail (cfg != NULL && w != NULL);
  gaf_safetensors_writer_set_metadata (w, "format", "pt");
  if (cfg->kind == GAF_MODEL_UNET)
    {
      const GafUnetConfig *u = &cfg->unet;
      int ds[GAF_UNET_MAX_ATTN];
      g_autofree char *mult = int_list (u->mult, u->n_levels);
      g_autofree char *attn = NULL;
      g_autofree char *ts = g_strdup_printf ("%.17g", u->time_scale);
      for (int a = 0; a < u->n_attn; a++)
        ds[a] = u->attn[a] > 0 ? u->height / u->attn[a] : 0;   /* feature-map height -> downsampling rate */
      attn = int_list (ds, u->n_attn);
      gaf_safetensors_writer_set_metadata (w, "network", "unet");
      set_int (w, "model_channels", u->channels);
      gaf_safetensors_writer_set_metadata (w, "channel_mult", mult);
      set_int (w, "num_res_blocks", u->blocks);
      gaf_safetensors_writer_set_metadata (w, "attention_resolutions", attn);
      set_int (w, "in_channels", gaf_unet_config_in_channels (u));
      set_int (w, "out_channels", u->classes);
      set_int (w, "num_classes", u->classes);
      set_int (w, "image_height", u->height);
      set_int (w, "image_width", u->width);
      set_int (w, "groups", u->groups);
      gaf_safetensors_writer_set_metadata (w, "time_scale", ts);
    }
  else if (cfg->kind == GAF_MODEL_TOY_CNN)
    {
      const GafToyCnnConfig *c = &cfg->toy_cnn;
      gaf_safetensors_writer_set_metadata (w, "network", "cnn_dirichlet");
      set_int (w, "alphabet_size", c->in_channels);
      set_int (w, "num_classes", c->out_channels);
      set_int (w, "hidden_dim", c->hidden);
      set_int (w, "seq_len", c->n);
    }
  else if (cfg->kind == GAF_MODEL_DENSE)
    {
      const GafDenseConfig *d = &cfg->dense;
      g_autofree char *hidden = int_list (d->hidden, d->n_hidden);
      gaf_safetensors_writer_set_metadata (w, "network", "dense");
      set_int (w, "c", d->in_channels);
      set_int (w, "n", d->n);
      gaf_safetensors_writer_set_metadata (w, "hidden_dims", hidden);
      gaf_safetensors_writer_set_metadata (w, "bias", d->bias ? "true" : "false");
    }
  gaf_model_config_to_keyfile (cfg, kf);
  model = g_key_file_to_data (kf, NULL, NULL);
  gaf_safetensors_writer_set_metadata (w, "gaflow.model", model);
}

/* An integer metadata value in [lo, hi]; absent: *out unchanged, TRUE. */
static gboolean
meta_int (GafSafetensors *st, const char *key, int lo, int hi, int *out, GError **error)
{
  const char *s = gaf_safetensors_get_metadata (st, key);
  gint64 v;

  if (s == NULL)
    return TRUE;
  if (!g_ascii_string_to_signed (s, 10, lo, hi, &v, NULL))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata %s = '%s' is not an integer from %d to %d", key, s,
                   lo, hi);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

/* "[1, 2, 2, 2]", "(1,2)", "1 2" or "[]" -> at most max integers in [lo, hi]. */
static gboolean
meta_int_list (GafSafetensors *st, const char *key, int max, int lo, int hi, int *out, int *n_out, GError **error)
{
  const char *s = gaf_safetensors_get_metadata (st, key);
  g_auto(GStrv) tok = NULL;
  int n = 0;

  if (s == NULL)
    return TRUE;
  tok = g_strsplit_set (s, "[](), ", -1);
  for (guint i = 0; tok[i] != NULL; i++)
    {
      gint64 v;
      if (tok[i][0] == '\0')
        continue;
      if (n == max || !g_ascii_string_to_signed (tok[i], 10, lo, hi, &v, NULL))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "metadata %s = '%s' is not a list of at most %d integers from %d to %d", key, s, max, lo, hi);
          return FALSE;
        }
      out[n++] = (int) v;
    }
  *n_out = n;
  return TRUE;
}

gboolean
gaf_torch_config_from_metadata (GafSafetensors *st, guint64 seed, int height, int width, int classes,
                                GafModelConfig *cfg, GError **error)
{
  const char *model = gaf_safetensors_get_metadata (st, "gaflow.model");
  const char *network = gaf_safetensors_get_metadata (st, "network");
  GafModelConfig out;

  if (model != NULL)
    {
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autoptr(GError) local = NULL;
      if (!g_key_file_load_from_data (kf, model, (gsize) -1, G_KEY_FILE_NONE, &local) ||
          !gaf_model_config_from_keyfile (&out, kf, &local))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata gaflow.model: %s", local->message);
          return FALSE;
        }
      *cfg = out;
      return TRUE;
    }
  if (network == NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_FORMAT,
                           "the metadata does not say which network this is (no 'network' or 'gaflow.model')");
      return FALSE;
    }
  if (g_str_equal (network, "unet"))
    {
      int c = 0, h = 0, w = 0, in_ch = 0, ds[GAF_UNET_MAX_ATTN], n_ds = 0;
      GafUnetConfig *u = &out.unet;
      if (!meta_int (st, "num_classes", 2, 1 << 16, &c, error) ||
          !meta_int (st, "out_channels", 2, 1 << 16, &c, error) ||
          !meta_int (st, "image_height", 1, 1 << 14, &h, error) ||
          !meta_int (st, "image_width", 1, 1 << 14, &w, error))
        return FALSE;
      if (h == 0 && w == 0 && !meta_int (st, "image_size", 1, 1 << 14, &h, error))
        return FALSE;
      if (w == 0)
        w = h;
      if (h == 0)
        {
          h = height;
          w = width;
        }
      if (c == 0)
        c = classes;
      if (c == 0 || h == 0)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_FORMAT,
                               "the metadata names a unet but not its classes and image size (num_classes, "
                               "image_height, image_width): give the data");
          return FALSE;
        }
      gaf_model_config_init (&out, GAF_MODEL_UNET, h * w, c, seed);
      gaf_unet_config_init (u, c, h, w);
      if (!meta_int (st, "model_channels", 2, 1 << 12, &u->channels, error) ||
          !meta_int_list (st, "channel_mult", GAF_UNET_MAX_LEVELS, 1, 64, u->mult, &u->n_levels, error) ||
          !meta_int (st, "num_res_blocks", 1, 64, &u->blocks, error) ||
          !meta_int (st, "groups", 1, 1 << 12, &u->groups, error) ||
          !meta_int_list (st, "attention_resolutions", GAF_UNET_MAX_ATTN, 1, 1 << 14, ds, &n_ds, error) ||
          !meta_int (st, "in_channels", 1, 4097, &in_ch, error))
        return FALSE;
      /* an input wider than the classes: the masked jump flow's mask channel */
      u->in_channels = in_ch > 0 && in_ch != c ? in_ch : 0;
      if (gaf_safetensors_get_metadata (st, "attention_resolutions") != NULL)
        {
          /* downsampling rates -> the feature-map heights that have them (rates never reached drop out) */
          u->n_attn = 0;
          for (int a = 0; a < n_ds; a++)
            if (h % ds[a] == 0 && ds[a] < (1 << u->n_levels))
              u->attn[u->n_attn++] = h / ds[a];
        }
      if (gaf_safetensors_get_metadata (st, "time_scale") != NULL)
        {
          const char *s = gaf_safetensors_get_metadata (st, "time_scale");
          char *end = NULL;
          u->time_scale = g_ascii_strtod (s, &end);
          if (end == s || *end != '\0' || !(u->time_scale > 0) || !isfinite (u->time_scale))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata time_scale = '%s' is not a positive number", s);
              return FALSE;
            }
        }
    }
  else if (g_str_equal (network, "cnn_dirichlet"))
    {
      int c = 0, n = 4;
      GafToyCnnConfig *t = &out.toy_cnn;
      if (!meta_int (st, "alphabet_size", 2, 1 << 16, &c, error) || !meta_int (st, "num_classes", 2, 1 << 16, &c, error) ||
          !meta_int (st, "seq_len", 1, 1 << 20, &n, error))
        return FALSE;
      if (c == 0)
        c = classes;
      if (c == 0)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_FORMAT,
                               "the metadata names a cnn_dirichlet but not its classes (alphabet_size)");
          return FALSE;
        }
      gaf_model_config_init (&out, GAF_MODEL_TOY_CNN, n, c, seed);
      if (!meta_int (st, "hidden_dim", 2, 1 << 14, &t->hidden, error))
        return FALSE;
      t->fourier_half = t->hidden / 2;
    }
  else if (g_str_equal (network, "dense"))
    {
      int c = 0, n = 0;
      const char *bias = gaf_safetensors_get_metadata (st, "bias");
      GafDenseConfig *d = &out.dense;
      if (!meta_int (st, "num_classes", 1, 1 << 16, &c, error) || !meta_int (st, "c", 1, 1 << 16, &c, error) ||
          !meta_int (st, "n", 1, 1 << 20, &n, error))
        return FALSE;
      if (c == 0)
        c = classes;
      if (n == 0 && height > 0)
        n = height * width;
      if (c == 0 || n == 0)
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_FORMAT,
                               "the metadata names a dense network but not its classes and variables (c, n)");
          return FALSE;
        }
      gaf_model_config_init (&out, GAF_MODEL_DENSE, n, c, seed);
      if (!meta_int_list (st, "hidden_dims", GAF_DENSE_MAX_HIDDEN, 1, 1 << 14, d->hidden, &d->n_hidden, error))
        return FALSE;
      if (bias != NULL)
        {
          if (g_ascii_strcasecmp (bias, "true") != 0 && g_ascii_strcasecmp (bias, "false") != 0)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata bias = '%s' is not true or false", bias);
              return FALSE;
            }
          d->bias = g_ascii_strcasecmp (bias, "true") == 0;
        }
    }
  else
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "metadata network = '%s': gaflow reads unet, cnn_dirichlet and dense", network);
      return FALSE;
    }
  if (!gaf_model_config_check (&out, error))
    {
      g_prefix_error (error, "the metadata's configuration: ");
      return FALSE;
    }
  *cfg = out;
  return TRUE;
}

/* ---- export and import ------------------------------------------------------------------------------------ */

gboolean
gaf_torch_export (GafNet *net, const GafModelConfig *cfg, const float *weights, GafSafetensorsWriter *w,
                  GError **error)
{
  g_autoptr(GafTorchMap) map = NULL;
  GafParams *params = gaf_net_get_params (net);

  g_return_val_if_fail (net != NULL && cfg != NULL && weights != NULL && w != NULL, FALSE);
  map = gaf_torch_map_new (cfg, error);
  if (map == NULL || !gaf_torch_map_check (map, params, error))
    return FALSE;
  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      g_autofree float *buf = g_new (float, MAX (e->numel, 1));
      if (e->layout == GAF_TORCH_COUNT)
        {
          /* a count of forwards, kept in a float: whole and non-negative */
          gint64 count = (gint64) MAX (0.0, rint (weights[gaf_params_find (params, e->view)->offset]));
          gaf_safetensors_writer_add_i64 (w, e->torch, e->ndim, e->shape, &count);
          continue;
        }
      if (e->layout == GAF_TORCH_FOURIER)
        memcpy (buf, gaf_toy_cnn_get_freqs ((GafToyCnn *) net), (gsize) e->numel * sizeof (float));
      else
        {
          const float *src = weights + gaf_params_find (params, e->view)->offset;
          for (gsize k = 0; k < (gsize) e->numel; k++)
            buf[k] = src[gaf_torch_entry_index (e, k)];
        }
      gaf_safetensors_writer_add (w, e->torch, e->ndim, e->shape, buf);
    }
  return TRUE;
}

GafNet *
gaf_torch_import (GafSafetensors *st, GafModelConfig *cfg, GError **error)
{
  g_autoptr(GafTorchMap) map = NULL;
  g_autoptr(GHashTable) known = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GafNet) net = NULL;
  GafParams *params;

  g_return_val_if_fail (st != NULL && cfg != NULL, NULL);
  map = gaf_torch_map_new (cfg, error);
  if (map == NULL)
    return NULL;
  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      g_hash_table_add (known, e->torch);
    }
  /* None of the table's tensors: another network altogether. Then what is missing, then what is left over
   * (the same network with other sizes usually shows as both; the missing one is the clearer message). */
  {
    guint present = 0;
    for (guint i = 0; i < map->entries->len; i++)
      present += gaf_safetensors_has (st, ((const GafTorchEntry *) map->entries->pdata[i])->torch);
    if (present == 0)
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "not a %s: the file holds none of its %u tensors%s%s%s",
                     map->network, map->entries->len, gaf_safetensors_get_n_tensors (st) ? " (it has '" : "",
                     gaf_safetensors_get_n_tensors (st) ? gaf_safetensors_get_name (st, 0) : "",
                     gaf_safetensors_get_n_tensors (st) ? "', ...)" : "");
        return NULL;
      }
  }
  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      if (!gaf_safetensors_has (st, e->torch))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "missing tensor '%s' (this %s has %u tensors, the file %u)",
                       e->torch, map->network, map->entries->len, gaf_safetensors_get_n_tensors (st));
          return NULL;
        }
    }
  for (guint i = 0; i < gaf_safetensors_get_n_tensors (st); i++)
    {
      const char *name = gaf_safetensors_get_name (st, i);
      if (!g_hash_table_contains (known, name))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "unexpected tensor '%s': not part of a %s of this configuration (%u tensors, the file has %u)",
                       name, map->network, map->entries->len, gaf_safetensors_get_n_tensors (st));
          return NULL;
        }
    }
  /* The frequencies first: they are part of the configuration the network is made from. */
  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      if (e->layout == GAF_TORCH_FOURIER)
        {
          /* cfg->toy_cnn.freqs holds GAF_TOY_CNN_MAX_FREQS: a wider network (hidden_dim in the metadata or
           * --model) would have its frequencies written past the end */
          if (e->numel > GAF_TOY_CNN_MAX_FREQS)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                           "tensor '%s' holds %" G_GINT64_FORMAT " Fourier frequencies; a toy CNN imported from "
                           "safetensors has at most %d (hidden_dim up to %d)", e->torch, e->numel,
                           GAF_TOY_CNN_MAX_FREQS, 2 * GAF_TOY_CNN_MAX_FREQS);
              return NULL;
            }
          if (!gaf_safetensors_read_floats (st, e->torch, e->ndim, e->shape, cfg->toy_cnn.freqs, error))
            return NULL;
          for (gint64 k = 0; k < e->numel; k++)
            if (fabs (cfg->toy_cnn.freqs[k]) > GAF_TOY_CNN_MAX_FREQ_ABS)
              {
                g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "tensor '%s' holds the frequency %g (at most %g in "
                             "magnitude)", e->torch, (double) cfg->toy_cnn.freqs[k], GAF_TOY_CNN_MAX_FREQ_ABS);
                return NULL;
              }
          cfg->toy_cnn.n_freqs = (int) e->numel;
        }
    }
  net = gaf_model_new (cfg, error);
  if (net == NULL)
    return NULL;
  params = gaf_net_get_params (net);
  if (!gaf_torch_map_check (map, params, error))
    return NULL;
  for (guint i = 0; i < map->entries->len; i++)
    {
      const GafTorchEntry *e = map->entries->pdata[i];
      g_autofree float *buf = NULL;
      float *dst;
      if (e->layout == GAF_TORCH_FOURIER)
        continue;
      if (e->layout == GAF_TORCH_COUNT)
        {
          gint64 count;
          if (!gaf_safetensors_read_i64 (st, e->torch, e->ndim, e->shape, &count, error))
            return NULL;
          if (count < 0 || count > (G_GINT64_CONSTANT (1) << 53))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "tensor '%s' = %" G_GINT64_FORMAT
                           " is not a count from 0 to 2^53", e->torch, count);
              return NULL;
            }
          params->data[gaf_params_find (params, e->view)->offset] = (float) count;
          continue;
        }
      buf = g_new (float, MAX (e->numel, 1));
      if (!gaf_safetensors_read_floats (st, e->torch, e->ndim, e->shape, buf, error))
        return NULL;
      dst = params->data + gaf_params_find (params, e->view)->offset;
      for (gsize k = 0; k < (gsize) e->numel; k++)
        dst[gaf_torch_entry_index (e, k)] = buf[k];
    }
  return g_steal_pointer (&net);
}

/* ---- checkpoints of imported models ------------------------------------------------------------------- */

gboolean
gaf_torch_checkpoint_config (GafSafetensors *st, const GafModelConfig *cfg, GKeyFile *kf, GError **error)
{
  const char *config_text = gaf_safetensors_get_metadata (st, "gaflow.config");
  const char *lambda = gaf_safetensors_get_metadata (st, "field_magnitude");
  g_autoptr(GError) local = NULL;

  g_return_val_if_fail (st != NULL && cfg != NULL && kf != NULL, FALSE);
  if (config_text != NULL && !g_key_file_load_from_data (kf, config_text, (gsize) -1, G_KEY_FILE_NONE, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata gaflow.config: %s", local->message);
      return FALSE;
    }
  gaf_model_config_to_keyfile (cfg, kf);
  if (lambda != NULL && !g_key_file_has_key (kf, "train", "lambda", NULL))
    {
      char *end = NULL;
      double l = g_ascii_strtod (lambda, &end);
      if (end == lambda || *end != '\0' || !(l >= GAF_PATH_LAMBDA_MIN && l <= GAF_PATH_LAMBDA_MAX))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "metadata field_magnitude = '%s' is not a number from "
                       "%g to %g", lambda, GAF_PATH_LAMBDA_MIN, GAF_PATH_LAMBDA_MAX);
          return FALSE;
        }
      g_key_file_set_double (kf, "train", "lambda", l);
    }
  return TRUE;
}

gboolean
gaf_torch_names_data (GafSafetensors *st)
{
  const char *config_text = gaf_safetensors_get_metadata (st, "gaflow.config");
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  if (config_text == NULL || !g_key_file_load_from_data (kf, config_text, (gsize) -1, G_KEY_FILE_NONE, NULL))
    return FALSE;
  return g_key_file_has_group (kf, "app") || g_key_file_has_key (kf, "data", "spec", NULL);
}

gboolean
gaf_torch_write_checkpoint (const char *path, const char *data_spec, const char *out, GError **error)
{
  g_autoptr(GafSafetensors) st = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafModelConfig cfg;
  GafRng rng;

  g_return_val_if_fail (path != NULL && out != NULL, FALSE);
  st = gaf_safetensors_load (path, error);
  if (st == NULL)
    return FALSE;
  if (!gaf_torch_config_from_metadata (st, 1, 0, 0, 0, &cfg, error) ||
      (net = gaf_torch_import (st, &cfg, error)) == NULL ||
      !gaf_torch_checkpoint_config (st, &cfg, kf, error))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_prefix_error (error, "%s: ", display);
      return FALSE;
    }
  if (!gaf_torch_names_data (st) && data_spec != NULL)
    g_key_file_set_string (kf, "data", "spec", data_spec);
  gaf_rng_init (&rng, 1);
  return gaf_checkpoint_save (out, kf, gaf_net_get_params (net), &rng, 0, error);
}
