/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the residual and time-embedding loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>
#include <string.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-gemm-small.h"
#include "gaf-layers.h"
#include "gaf-parallel.h"
#include "gaf-rng.h"
#include "gaf-simd-private.h"
#include "gaf-toy-cnn.h"

#define KERNEL 9
static const int dilations[GAF_TOY_CNN_LAYERS] = { 1, 1, 4, 16, 64 };

/* The weight gradients of phase 2 of the backward pass, in groups (gaf_toy_cnn_backward). */
enum {
  GRAD_HEAD2, GRAD_HEAD1, GRAD_IN, GRAD_TIME, GRAD_TEMB,
  GRAD_CONV0,                                   /* conv i and LayerNorm i: GRAD_CONV0 + i */
  GRAD_N_GROUPS = GRAD_CONV0 + GAF_TOY_CNN_LAYERS
};

/* Offsets of the named views in the arena. */
typedef struct {
  gsize in_w, in_b;
  gsize temb_w, temb_b;
  gsize tl_w, tl_b;         /* the five time Linear layers side by side: (H, 5H), (5H) */
  gsize ln_g[GAF_TOY_CNN_LAYERS], ln_b[GAF_TOY_CNN_LAYERS];
  gsize conv_w[GAF_TOY_CNN_LAYERS], conv_b[GAF_TOY_CNN_LAYERS];
  gsize head1_w, head1_b, head2_w, head2_b;
  gsize pos_b;              /* (n, out_ch) per-position output bias, or G_MAXSIZE */
} Layout;

/* Activations of the last forward, each (B, n, H) unless noted. */
typedef struct {
  int    capacity;
  float *x;                 /* (B, n, in_ch) copy of the input */
  float *t;                 /* (B) scaled time */
  float *four;              /* (B, 2 half) */
  float *temb;              /* (B, H) after ReLU */
  float *tl;                /* (B, 5H) */
  float *feat[GAF_TOY_CNN_LAYERS + 1];
  float *hin[GAF_TOY_CNN_LAYERS];
  float *lnout[GAF_TOY_CNN_LAYERS];
  float *mean[GAF_TOY_CNN_LAYERS], *rstd[GAF_TOY_CNN_LAYERS];  /* (B n) */
  float *h[GAF_TOY_CNN_LAYERS];
  float *z1;
  /* backward: the gradients the weight gradients are formed from, kept per layer (phase 1 writes them,
   * phase 2 reads them; gaf_toy_cnn_backward) */
  float *dconv[GAF_TOY_CNN_LAYERS];   /* (B, n, H) into conv i's output (through its ReLU) */
  float *dlnout[GAF_TOY_CNN_LAYERS];  /* (B, n, H) into LayerNorm i's output */
  float *dz1;                         /* (B, n, H) into head1's output (through its ReLU) */
  float *din0;                        /* (B, n, H) into the input conv's output (through its ReLU) */
  const float *dout;                  /* (B, n, out) the caller's */
  float *dfeat, *dh, *dtl, *dtemb, *dfour;
} Cache;

/* One part of a batch, run by one thread with its own activations and (for parts > 0) its own
 * gradient buffer, summed into the arena after backward. */
typedef struct {
  Cache  cache;
  int    start;
  int    batch;
} Part;

struct _GafToyCnn {
  GafNet          parent;
  GafToyCnnConfig cfg;
  Layout          lay;
  float          *freq;     /* (half) fixed Fourier frequencies, not trained */
  GafConv1dShape  in_shape;
  GafConv1dShape  conv_shape[GAF_TOY_CNN_LAYERS];
  GafConv1dWork   in_work;
  GafConv1dWork   conv_work[GAF_TOY_CNN_LAYERS];
  float          *head2_t;  /* (out, H) head2.w^T, for the input gradients: built with the conv taps */
  float          *head1_t;  /* (H, H) head1.w^T */
  float          *tl_t;     /* (5H, H) time_layers.w^T */
  int             grad_order[GRAD_N_GROUPS];  /* the weight-gradient groups, costliest first */
  Part            parts[GAF_MAX_THREADS];
  guint           n_parts;  /* of the last forward */
  int             batch;    /* batch of the last forward */
};

static void order_grad_groups (GafToyCnn *net);

void
gaf_toy_cnn_config_init (GafToyCnnConfig *cfg, int n, int c)
{
  cfg->n = n;
  cfg->in_channels = c;
  cfg->out_channels = c;
  cfg->hidden = 128;
  cfg->fourier_half = 64;
  cfg->fourier_scale = 30.0;
  cfg->time_scale = 1.0;
  cfg->input_scale = 1.0;
  cfg->position_bias = FALSE;
  cfg->n_freqs = 0;
}

gboolean
gaf_toy_cnn_config_check (const GafToyCnnConfig *cfg, GError **error)
{
  if (cfg->n < 1 || cfg->in_channels < 1 || cfg->out_channels < 1 || cfg->hidden < 2 ||
      cfg->fourier_half * 2 != cfg->hidden ||
      (cfg->n_freqs != 0 && (cfg->n_freqs != cfg->fourier_half || cfg->n_freqs > GAF_TOY_CNN_MAX_FREQS)))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "invalid toy CNN configuration (n %d, channels %d -> %d, hidden %d, %d frequencies)",
                   cfg->n, cfg->in_channels, cfg->out_channels, cfg->hidden, cfg->fourier_half);
      return FALSE;
    }
  if (!gaf_net_scale_ok (cfg->time_scale, GAF_NET_TIME_SCALE_MIN, GAF_NET_TIME_SCALE_MAX) ||
      !gaf_net_scale_ok (cfg->fourier_scale, GAF_NET_TIME_SCALE_MIN, GAF_NET_TIME_SCALE_MAX) ||
      !gaf_net_scale_ok (cfg->input_scale, GAF_NET_INPUT_SCALE_MIN, GAF_NET_INPUT_SCALE_MAX))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "toy CNN: time_scale %g and fourier_scale %g must be from %g to %g, input_scale %g from %g to %g",
                   cfg->time_scale, cfg->fourier_scale, GAF_NET_TIME_SCALE_MIN, GAF_NET_TIME_SCALE_MAX,
                   cfg->input_scale, GAF_NET_INPUT_SCALE_MIN, GAF_NET_INPUT_SCALE_MAX);
      return FALSE;
    }
  if (cfg->n > GAF_TOY_CNN_MAX_N || cfg->in_channels > GAF_TOY_CNN_MAX_CHANNELS ||
      cfg->out_channels > GAF_TOY_CNN_MAX_CHANNELS || cfg->hidden > GAF_TOY_CNN_MAX_HIDDEN)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "toy CNN too large: %d positions, %d -> %d channels, width %d (at most %d positions, %d channels, "
                   "width %d)", cfg->n, cfg->in_channels, cfg->out_channels, cfg->hidden, GAF_TOY_CNN_MAX_N,
                   GAF_TOY_CNN_MAX_CHANNELS, GAF_TOY_CNN_MAX_HIDDEN);
      return FALSE;
    }
  {
    g_autofree char *what = g_strdup_printf ("the toy CNN for %d positions of %d classes (width %d)", cfg->n,
                                             cfg->out_channels, cfg->hidden);
    return gaf_budget_check (gaf_toy_cnn_memory (cfg), what, error);
  }
}

/* Inference walks a part in tiles of this many sequences so the activations stay in cache. */
#define INFER_TILE 256

/* Parameters, gradients, Adam moments and averaged weights (5 copies), each convolution's reversed
 * transposed taps for its input gradient (gaf_conv1d_prepare_backward), and the activations (Cache) of one
 * tile of INFER_TILE sequences, the least any forward pass holds: 36 (n, H) tensors, the input copy, the
 * time path and the per-row statistics per sequence. */
guint64
gaf_toy_cnn_memory (const GafToyCnnConfig *cfg)
{
  int H = cfg->hidden;
  guint64 per_seq = gaf_size_add (gaf_size_mul ((guint64) cfg->n, (guint64) 36 * H + cfg->in_channels + 10),
                                  (guint64) 12 * H + 4 * (guint64) cfg->fourier_half + 1);
  GafConv1dShape in_shape = { cfg->in_channels, H, KERNEL, 1, (KERNEL - 1) / 2 };
  guint64 floats = gaf_size_mul (5, (guint64) KERNEL * cfg->in_channels * H + (guint64) 2 * H * H +
                                    (guint64) (GAF_TOY_CNN_LAYERS * KERNEL + 1) * H * H +
                                    (guint64) H * cfg->out_channels +
                                    (cfg->position_bias ? (guint64) cfg->n * cfg->out_channels : 0));

  floats = gaf_size_add (floats, gaf_conv1d_work_len (&in_shape));
  /* the transposed head and time-layer weights */
  floats = gaf_size_add (floats, (guint64) H * cfg->out_channels + (guint64) (1 + GAF_TOY_CNN_LAYERS) * H * H);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      GafConv1dShape s = { H, H, KERNEL, dilations[i], dilations[i] * (KERNEL - 1) / 2 };
      floats = gaf_size_add (floats, gaf_conv1d_work_len (&s));
    }
  floats = gaf_size_add (floats, gaf_size_mul (per_seq, INFER_TILE));
  return gaf_size_mul (floats, sizeof (float));
}

static void
layout (GafParams *p, const GafToyCnnConfig *cfg, Layout *lay)
{
  int H = cfg->hidden;

  lay->in_w = gaf_params_add (p, "in.w", (gsize) KERNEL * cfg->in_channels * H);
  lay->in_b = gaf_params_add (p, "in.b", H);
  lay->temb_w = gaf_params_add (p, "temb.w", (gsize) 2 * cfg->fourier_half * H);
  lay->temb_b = gaf_params_add (p, "temb.b", H);
  lay->tl_w = gaf_params_add (p, "time_layers.w", (gsize) H * GAF_TOY_CNN_LAYERS * H);
  lay->tl_b = gaf_params_add (p, "time_layers.b", (gsize) GAF_TOY_CNN_LAYERS * H);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      g_autofree char *g = g_strdup_printf ("norm%d.g", i), *b = g_strdup_printf ("norm%d.b", i);
      g_autofree char *w = g_strdup_printf ("conv%d.w", i), *cb = g_strdup_printf ("conv%d.b", i);
      lay->ln_g[i] = gaf_params_add (p, g, H);
      lay->ln_b[i] = gaf_params_add (p, b, H);
      lay->conv_w[i] = gaf_params_add (p, w, (gsize) KERNEL * H * H);
      lay->conv_b[i] = gaf_params_add (p, cb, H);
    }
  lay->head1_w = gaf_params_add (p, "head1.w", (gsize) H * H);
  lay->head1_b = gaf_params_add (p, "head1.b", H);
  lay->head2_w = gaf_params_add (p, "head2.w", (gsize) H * cfg->out_channels);
  lay->head2_b = gaf_params_add (p, "head2.b", cfg->out_channels);
  lay->pos_b = cfg->position_bias ? gaf_params_add (p, "position.b", (gsize) cfg->n * cfg->out_channels)
                                  : G_MAXSIZE;
}

gsize
gaf_toy_cnn_param_count (const GafToyCnnConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay;

  layout (p, cfg, &lay);
  return p->size;
}

static void
net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_toy_cnn_forward ((GafToyCnn *) net, x, t, batch, out);
}

static void
net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_toy_cnn_infer ((GafToyCnn *) net, x, t, batch, out);
}

static void
net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  gaf_toy_cnn_backward ((GafToyCnn *) net, dout, dx, dt);
}

static void
net_free (GafNet *net)
{
  gaf_toy_cnn_free ((GafToyCnn *) net);
}

static const GafNetClass toy_cnn_class = {
  "toy-cnn", net_forward, net_infer, net_backward, net_free,
};

GafToyCnn *
gaf_toy_cnn_new (const GafToyCnnConfig *cfg, guint64 seed)
{
  GafToyCnn *net;
  GafRng rng;
  float *d;
  int H;

  g_return_val_if_fail (gaf_toy_cnn_config_check (cfg, NULL), NULL);

  net = g_new0 (GafToyCnn, 1);
  net->cfg = *cfg;
  net->parent.klass = &toy_cnn_class;
  net->parent.n = cfg->n;
  net->parent.in_channels = cfg->in_channels;
  net->parent.out_channels = cfg->out_channels;
  H = cfg->hidden;
  net->parent.params = gaf_params_new ();
  layout (net->parent.params, cfg, &net->lay);
  gaf_params_alloc (net->parent.params);
  d = net->parent.params->data;

  gaf_rng_init_stream (&rng, seed, 0x70c);
  gaf_rng_fill_uniform (&rng, d + net->lay.in_w, (gsize) KERNEL * cfg->in_channels * H, 1.0 / sqrt (KERNEL * cfg->in_channels));
  gaf_rng_fill_uniform (&rng, d + net->lay.in_b, H, 1.0 / sqrt (KERNEL * cfg->in_channels));
  gaf_rng_fill_uniform (&rng, d + net->lay.temb_w, (gsize) 2 * cfg->fourier_half * H, 1.0 / sqrt (2 * cfg->fourier_half));
  gaf_rng_fill_uniform (&rng, d + net->lay.temb_b, H, 1.0 / sqrt (2 * cfg->fourier_half));
  gaf_rng_fill_uniform (&rng, d + net->lay.tl_w, (gsize) H * GAF_TOY_CNN_LAYERS * H, 1.0 / sqrt (H));
  gaf_rng_fill_uniform (&rng, d + net->lay.tl_b, (gsize) GAF_TOY_CNN_LAYERS * H, 1.0 / sqrt (H));
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      for (int j = 0; j < H; j++)
        {
          d[net->lay.ln_g[i] + j] = 1.0f;
          d[net->lay.ln_b[i] + j] = 0.0f;
        }
      gaf_rng_fill_uniform (&rng, d + net->lay.conv_w[i], (gsize) KERNEL * H * H, 1.0 / sqrt (KERNEL * H));
      gaf_rng_fill_uniform (&rng, d + net->lay.conv_b[i], H, 1.0 / sqrt (KERNEL * H));
      net->conv_shape[i] = (GafConv1dShape) { H, H, KERNEL, dilations[i], dilations[i] * (KERNEL - 1) / 2 };
    }
  gaf_rng_fill_uniform (&rng, d + net->lay.head1_w, (gsize) H * H, 1.0 / sqrt (H));
  gaf_rng_fill_uniform (&rng, d + net->lay.head1_b, H, 1.0 / sqrt (H));
  gaf_rng_fill_uniform (&rng, d + net->lay.head2_w, (gsize) H * cfg->out_channels, 1.0 / sqrt (H));
  gaf_rng_fill_uniform (&rng, d + net->lay.head2_b, cfg->out_channels, 1.0 / sqrt (H));
  net->in_shape = (GafConv1dShape) { cfg->in_channels, H, KERNEL, 1, (KERNEL - 1) / 2 };

  net->head2_t = g_new (float, (gsize) H * cfg->out_channels);
  net->head1_t = g_new (float, (gsize) H * H);
  net->tl_t = g_new (float, (gsize) GAF_TOY_CNN_LAYERS * H * H);
  order_grad_groups (net);
  net->freq = g_new (float, cfg->fourier_half);
  for (int j = 0; j < cfg->fourier_half; j++)
    net->freq[j] = (float) (gaf_rng_normal (&rng) * cfg->fourier_scale);
  if (cfg->n_freqs > 0)
    memcpy (net->freq, cfg->freqs, (gsize) cfg->n_freqs * sizeof (float));
  return net;
}

const float *
gaf_toy_cnn_get_freqs (GafToyCnn *net)
{
  g_return_val_if_fail (net != NULL, NULL);
  return net->freq;
}

static void
cache_free (Cache *c)
{
  g_free (c->x);
  g_free (c->t);
  g_free (c->four);
  g_free (c->temb);
  g_free (c->tl);
  for (int i = 0; i <= GAF_TOY_CNN_LAYERS; i++)
    g_free (c->feat[i]);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      g_free (c->hin[i]);
      g_free (c->lnout[i]);
      g_free (c->mean[i]);
      g_free (c->rstd[i]);
      g_free (c->h[i]);
      g_free (c->dconv[i]);
      g_free (c->dlnout[i]);
    }
  g_free (c->z1);
  g_free (c->dz1);
  g_free (c->din0);
  g_free (c->dfeat);
  g_free (c->dh);
  g_free (c->dtl);
  g_free (c->dtemb);
  g_free (c->dfour);
  memset (c, 0, sizeof *c);
}

void
gaf_toy_cnn_free (GafToyCnn *net)
{
  if (net == NULL)
    return;
  for (int k = 0; k < GAF_MAX_THREADS; k++)
    {
      cache_free (&net->parts[k].cache);
    }
  gaf_conv1d_work_clear (&net->in_work);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    gaf_conv1d_work_clear (&net->conv_work[i]);
  g_free (net->head2_t);
  g_free (net->head1_t);
  g_free (net->tl_t);
  gaf_params_free (net->parent.params);
  g_free (net->freq);
  g_free (net);
}

GafParams *
gaf_toy_cnn_get_params (GafToyCnn *net)
{
  return net->parent.params;
}

const GafToyCnnConfig *
gaf_toy_cnn_get_config (GafToyCnn *net)
{
  return &net->cfg;
}

double
gaf_toy_cnn_flops_per_seq (const GafToyCnnConfig *cfg)
{
  /* Counts the products the layers run: a dilation-1 conv has n^2 (position, tap) pairs that see data. */
  double n = cfg->n, H = cfg->hidden, f = 0.0;
  for (int i = -1; i < GAF_TOY_CNN_LAYERS; i++)
    {
      int dil = i < 0 ? 1 : dilations[i];
      double cin = i < 0 ? cfg->in_channels : H;
      gboolean pointwise = dil >= cfg->n;
      f += 2.0 * (pointwise ? n : n * n) * cin * H;
    }
  f += 2.0 * n * H * (H + cfg->out_channels);
  return f;
}

static void
ensure_cache (GafToyCnn *net, Cache *c, int batch)
{
  gsize nh = (gsize) batch * net->cfg.n * net->cfg.hidden;
  gsize H = net->cfg.hidden;

  if (c->capacity >= batch)
    return;
  cache_free (c);
  c->capacity = batch;
  c->x = g_new (float, (gsize) batch * net->cfg.n * net->cfg.in_channels);
  c->t = g_new (float, batch);
  c->four = g_new (float, (gsize) batch * 2 * net->cfg.fourier_half);
  c->temb = g_new (float, batch * H);
  c->tl = g_new (float, batch * H * GAF_TOY_CNN_LAYERS);
  for (int i = 0; i <= GAF_TOY_CNN_LAYERS; i++)
    c->feat[i] = g_new (float, nh);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      c->hin[i] = g_new (float, nh);
      c->lnout[i] = g_new (float, nh);
      c->mean[i] = g_new (float, (gsize) batch * net->cfg.n);
      c->rstd[i] = g_new (float, (gsize) batch * net->cfg.n);
      c->h[i] = g_new (float, nh);
      c->dconv[i] = g_new (float, nh);
      c->dlnout[i] = g_new (float, nh);
    }
  c->z1 = g_new (float, nh);
  c->dz1 = g_new (float, nh);
  c->din0 = g_new (float, nh);
  c->dfeat = g_new (float, nh);
  c->dh = g_new (float, nh);
  c->dtl = g_new (float, batch * H * GAF_TOY_CNN_LAYERS);
  c->dtemb = g_new (float, batch * H);
  c->dfour = g_new (float, (gsize) batch * 2 * net->cfg.fourier_half);
}

/* y = relu (y + bias) over rows of width w, in one pass; with res, also next = res + y (the residual). */
GAF_SIMD_CLONES static void
bias_relu (float *restrict y, const float *restrict bias, const float *restrict res, float *restrict next,
           gsize rows, int w)
{
  for (gsize r = 0; r < rows; r++)
    {
      float *restrict yr = y + r * w;
      for (int j = 0; j < w; j++)
        {
          float v = yr[j] + bias[j];
          yr[j] = v > 0.0f ? v : 0.0f;
        }
      if (res != NULL)
        for (int j = 0; j < w; j++)
          next[r * w + j] = res[r * w + j] + yr[j];
    }
}

GAF_SIMD_CLONES static void
forward_part (GafToyCnn *net, Cache *c, int batch, const float *x, const float *t, float *out)
{
  const GafToyCnnConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int H = cfg->hidden, n = cfg->n, LH = GAF_TOY_CNN_LAYERS * H;
  gboolean shared_t = TRUE;
  int tb;

  ensure_cache (net, c, batch);
  memcpy (c->x, x, (gsize) batch * n * cfg->in_channels * sizeof (float));
  if (cfg->input_scale != 1.0)
    {
      float sc = (float) cfg->input_scale;
      for (gsize j = 0; j < (gsize) batch * n * cfg->in_channels; j++)
        c->x[j] *= sc;
    }
  for (int b = 0; b < batch; b++)
    {
      c->t[b] = (float) (t[b] * cfg->time_scale);
      shared_t = shared_t && t[b] == t[0];
    }

  /* Time path: (B) -> Fourier (B, 2 half) -> Linear + ReLU (B, H) -> five Linears (B, 5H).
   * With one shared t it is computed for the first row and copied. */
  tb = shared_t ? 1 : batch;
  gaf_fourier_forward (c->four, c->t, net->freq, tb, cfg->fourier_half);
  gaf_linear_forward (c->temb, c->four, P + L->temb_w, P + L->temb_b, tb, 2 * cfg->fourier_half, H);
  gaf_relu_forward (c->temb, c->temb, (gsize) tb * H);
  gaf_linear_forward (c->tl, c->temb, P + L->tl_w, P + L->tl_b, tb, H, LH);
  for (int b = tb; b < batch; b++)
    {
      memcpy (c->four + (gsize) b * 2 * cfg->fourier_half, c->four, 2 * cfg->fourier_half * sizeof (float));
      memcpy (c->temb + (gsize) b * H, c->temb, H * sizeof (float));
      memcpy (c->tl + (gsize) b * LH, c->tl, LH * sizeof (float));
    }

  /* Input convolution (B, n, in_ch) -> (B, n, H), ReLU. */
  gaf_conv1d_forward (c->feat[0], c->x, P + L->in_w, NULL, batch, n, &net->in_shape);
  bias_relu (c->feat[0], P + L->in_b, NULL, NULL, (gsize) batch * n, H);

  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      const float *feat = c->feat[i];
      float *hin = c->hin[i];

      for (int b = 0; b < batch; b++)
        {
          const float *tli = c->tl + (gsize) b * LH + (gsize) i * H;
          for (int p = 0; p < n; p++)
            {
              gsize o = ((gsize) b * n + p) * H;
              for (int j = 0; j < H; j++)
                hin[o + j] = feat[o + j] + tli[j];
            }
        }
      gaf_layernorm_forward (c->lnout[i], c->mean[i], c->rstd[i], hin, P + L->ln_g[i], P + L->ln_b[i],
                             batch * n, H);
      gaf_conv1d_forward (c->h[i], c->lnout[i], P + L->conv_w[i], NULL, batch, n, &net->conv_shape[i]);
      bias_relu (c->h[i], P + L->conv_b[i], feat, c->feat[i + 1], (gsize) batch * n, H);
    }

  /* Head: 1x1 conv, ReLU, 1x1 conv. */
  gaf_linear_forward (c->z1, c->feat[GAF_TOY_CNN_LAYERS], P + L->head1_w, NULL, batch * n, H, H);
  bias_relu (c->z1, P + L->head1_b, NULL, NULL, (gsize) batch * n, H);
  gaf_linear_forward (out, c->z1, P + L->head2_w, P + L->head2_b, batch * n, H, cfg->out_channels);
  /* Optional per-position output bias (n, out_ch), zero at the start. */
  if (L->pos_b != G_MAXSIZE)
    for (int b = 0; b < batch; b++)
      for (gsize j = 0; j < (gsize) n * cfg->out_channels; j++)
        out[(gsize) b * n * cfg->out_channels + j] += P[L->pos_b + j];
}

/* out = dout where act > 0, else 0: the gradient through a ReLU whose output was act, written (not added)
 * so that no buffer needs clearing first. */
GAF_SIMD_CLONES static void
relu_backward_set (float *restrict out, const float *restrict dout, const float *restrict act, gsize count)
{
  for (gsize i = 0; i < count; i++)
    out[i] = act[i] > 0.0f ? dout[i] : 0.0f;
}

/* Phase 1 of the backward pass, one part of the batch: the gradients with respect to the activations,
 * layer by layer from the output (dx, dt when asked for), keeping what each weight gradient is formed
 * from in the cache. No weight gradient is touched here. Buffers a product or a ReLU fills whole are
 * written, not cleared and added to. */
GAF_SIMD_CLONES static void
backward_part (GafToyCnn *net, Part *part, const float *dout, float *dx, float *dt)
{
  const GafToyCnnConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  Cache *c = &part->cache;
  int batch = part->batch, H = cfg->hidden, n = cfg->n, LH = GAF_TOY_CNN_LAYERS * H;
  gsize nh = (gsize) batch * n * H;

  c->dout = dout;
  /* Head: dh = dout head2^T, dz1 through head1's ReLU, dfeat (d feat[5]) = dz1 head1^T. */
  gaf_gemm_small (batch * n, H, cfg->out_channels, dout, cfg->out_channels, 1, net->head2_t, H, c->dh, H, FALSE);
  relu_backward_set (c->dz1, c->dh, c->z1, nh);
  gaf_gemm_small (batch * n, H, H, c->dz1, H, 1, net->head1_t, H, c->dfeat, H, FALSE);

  for (int i = GAF_TOY_CNN_LAYERS - 1; i >= 0; i--)
    {
      /* feat[i+1] = feat[i] + relu(conv(LN(feat[i] + tl_i))): dfeat passes through unchanged
       * and gains the branch's contribution. */
      relu_backward_set (c->dconv[i], c->dfeat, c->h[i], nh);
      gaf_conv1d_backward_input (c->dlnout[i], c->dconv[i], batch, n, &net->conv_shape[i], &net->conv_work[i]);
      /* dh <- d hin; d tl_i is the sum of d hin over the positions */
      gaf_layernorm_backward_input (c->dh, c->dlnout[i], c->hin[i], c->mean[i], c->rstd[i], P + L->ln_g[i],
                                    batch * n, H);
      for (gsize j = 0; j < nh; j++)
        c->dfeat[j] += c->dh[j];
      for (int b = 0; b < batch; b++)
        {
          float *restrict dtli = c->dtl + (gsize) b * LH + (gsize) i * H;
          const float *restrict dh = c->dh + (gsize) b * n * H;
          for (int j = 0; j < H; j++)
            dtli[j] = dh[j];
          for (int p = 1; p < n; p++)
            for (int j = 0; j < H; j++)
              dtli[j] += dh[(gsize) p * H + j];
        }
    }

  /* Input conv through its ReLU. */
  relu_backward_set (c->din0, c->dfeat, c->feat[0], nh);
  if (dx != NULL && cfg->input_scale != 1.0)
    {
      /* the conv saw x * input_scale */
      gsize count = (gsize) batch * n * cfg->in_channels;
      float *dxs = g_new0 (float, count);
      gaf_conv1d_backward (dxs, NULL, NULL, c->din0, c->x, P + L->in_w, batch, n, &net->in_shape, &net->in_work);
      for (gsize j = 0; j < count; j++)
        dx[j] += (float) (dxs[j] * cfg->input_scale);
      g_free (dxs);
    }
  else if (dx != NULL)
    gaf_conv1d_backward (dx, NULL, NULL, c->din0, c->x, P + L->in_w, batch, n, &net->in_shape, &net->in_work);

  /* Time path: dtemb = dtl tl^T through temb's ReLU. */
  gaf_gemm_small (batch, H, LH, c->dtl, LH, 1, net->tl_t, H, c->dtemb, H, FALSE);
  for (gsize j = 0; j < (gsize) batch * H; j++)
    c->dtemb[j] = c->temb[j] > 0.0f ? c->dtemb[j] : 0.0f;
  if (dt != NULL)
    {
      memset (c->dfour, 0, (gsize) batch * 2 * cfg->fourier_half * sizeof (float));
      gaf_linear_backward (c->dfour, NULL, NULL, c->dtemb, c->four, P + L->temb_w, batch, 2 * cfg->fourier_half, H);
      /* The network saw t * time_scale. */
      float *dts = g_new0 (float, batch);
      gaf_fourier_backward (dts, c->dfour, c->t, net->freq, batch, cfg->fourier_half);
      for (int b = 0; b < batch; b++)
        dt[b] += (float) (dts[b] * cfg->time_scale);
      g_free (dts);
    }
}

/* Phase 2: the gradient of one group of weights, summed over the parts in order (so the result does not
 * depend on which thread forms it). The groups split the weight gradients' products over the threads. */
GAF_SIMD_CLONES static void
grad_group (GafToyCnn *net, int group, float *G)
{
  const GafToyCnnConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int H = cfg->hidden, n = cfg->n, LH = GAF_TOY_CNN_LAYERS * H, oc = cfg->out_channels;

  for (guint k = 0; k < net->n_parts; k++)
    {
      const Cache *c = &net->parts[k].cache;
      int batch = net->parts[k].batch;

      switch (group)
        {
        case GRAD_HEAD2:
          gaf_linear_backward (NULL, G + L->head2_w, G + L->head2_b, c->dout, c->z1, P + L->head2_w, batch * n, H, oc);
          if (L->pos_b != G_MAXSIZE)
            for (int b = 0; b < batch; b++)
              for (gsize j = 0; j < (gsize) n * oc; j++)
                G[L->pos_b + j] += c->dout[(gsize) b * n * oc + j];
          break;
        case GRAD_HEAD1:
          gaf_linear_backward (NULL, G + L->head1_w, G + L->head1_b, c->dz1, c->feat[GAF_TOY_CNN_LAYERS],
                               P + L->head1_w, batch * n, H, H);
          break;
        case GRAD_IN:
          gaf_conv1d_backward (NULL, G + L->in_w, G + L->in_b, c->din0, c->x, P + L->in_w, batch, n, &net->in_shape,
                               &net->in_work);
          break;
        case GRAD_TIME:
          gaf_linear_backward (NULL, G + L->tl_w, G + L->tl_b, c->dtl, c->temb, P + L->tl_w, batch, H, LH);
          break;
        case GRAD_TEMB:
          gaf_linear_backward (NULL, G + L->temb_w, G + L->temb_b, c->dtemb, c->four, P + L->temb_w, batch,
                               2 * cfg->fourier_half, H);
          break;
        default:
          {
            int i = group - GRAD_CONV0;
            gaf_conv1d_backward (NULL, G + L->conv_w[i], G + L->conv_b[i], c->dconv[i], c->lnout[i], P + L->conv_w[i],
                                 batch, n, &net->conv_shape[i], &net->conv_work[i]);
            gaf_layernorm_backward (NULL, G + L->ln_g[i], G + L->ln_b[i], c->dlnout[i], c->hin[i], c->mean[i],
                                    c->rstd[i], P + L->ln_g[i], batch * n, H);
          }
          break;
        }
    }
}

/* Multiply-adds per sequence of a group's weight gradient (the costliest groups are taken first). */
static double
grad_group_cost (GafToyCnn *net, int group)
{
  const GafToyCnnConfig *cfg = &net->cfg;
  double n = cfg->n, H = cfg->hidden;

  switch (group)
    {
    case GRAD_HEAD2: return n * H * cfg->out_channels;
    case GRAD_HEAD1: return n * H * H;
    case GRAD_IN: return n * n * cfg->in_channels * H;
    case GRAD_TIME: return H * GAF_TOY_CNN_LAYERS * H;
    case GRAD_TEMB: return 2.0 * cfg->fourier_half * H;
    default: return (dilations[group - GRAD_CONV0] >= cfg->n ? n : n * n) * H * H;
    }
}

/* net->grad_order: the groups by decreasing cost (they depend on the configuration only). */
static void
order_grad_groups (GafToyCnn *net)
{
  int *order = net->grad_order;

  for (int g = 0; g < GRAD_N_GROUPS; g++)
    order[g] = g;
  for (int a = 1; a < GRAD_N_GROUPS; a++)
    for (int b = a; b > 0 && grad_group_cost (net, order[b]) > grad_group_cost (net, order[b - 1]); b--)
      {
        int tmp = order[b];
        order[b] = order[b - 1];
        order[b - 1] = tmp;
      }
}

/* ---- batch split over the engine's threads ---------------------------------------------------- */

typedef struct {
  GafToyCnn   *net;
  const float *x, *t, *dout;
  float       *out, *dx, *dt;
  gboolean     infer;
  gint         next_group;             /* atomic: the next of net->grad_order to take */
  gint         next_item;              /* atomic: the next of prepare_task's items */
} Job;

static void
forward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafToyCnn *net = job->net;
  Part *part = &net->parts[k];
  gsize in_row = (gsize) net->cfg.n * net->cfg.in_channels, out_row = (gsize) net->cfg.n * net->cfg.out_channels;

  if (!job->infer)
    {
      forward_part (net, &part->cache, part->batch, job->x + part->start * in_row, job->t + part->start,
                    job->out + part->start * out_row);
      return;
    }
  for (int off = part->start; off < part->start + part->batch; off += INFER_TILE)
    {
      int b = MIN (INFER_TILE, part->start + part->batch - off);
      forward_part (net, &part->cache, b, job->x + off * in_row, job->t + off, job->out + off * out_row);
    }
}

/* Batch parts: at least 16 sequences each, so small batches stay on one thread. */
static guint
split (GafToyCnn *net, int batch)
{
  guint n_parts = MIN (gaf_parallel_get_threads (), (guint) MAX (1, batch / 16));

  for (guint k = 0; k < n_parts; k++)
    {
      net->parts[k].start = (int) ((gint64) batch * k / n_parts);
      net->parts[k].batch = (int) ((gint64) batch * (k + 1) / n_parts) - net->parts[k].start;
    }
  return n_parts;
}

static void
run_forward (GafToyCnn *net, const float *x, const float *t, int batch, float *out, gboolean infer)
{
  Job job = { net, x, t, NULL, out, NULL, NULL, infer };

  g_return_if_fail (batch > 0);
  net->batch = infer ? 0 : batch;
  net->n_parts = split (net, batch);
  gaf_parallel_run (net->n_parts, forward_task, &job);
}

void
gaf_toy_cnn_forward (GafToyCnn *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, FALSE);
}

void
gaf_toy_cnn_infer (GafToyCnn *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, TRUE);
}

static void
backward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafToyCnn *net = job->net;
  Part *part = &net->parts[k];
  gsize in_row = (gsize) net->cfg.n * net->cfg.in_channels, out_row = (gsize) net->cfg.n * net->cfg.out_channels;

  backward_part (net, part, job->dout + part->start * out_row, job->dx ? job->dx + part->start * in_row : NULL,
                 job->dt ? job->dt + part->start : NULL);
}

/* The reversed transposed taps the input gradients read, and the transposed head and time-layer weights,
 * from the current weights (the input convolution's taps only when dx is asked for): items largest first,
 * each taken by the next free thread. */
enum { PREP_IN = GAF_TOY_CNN_LAYERS, PREP_TIME, PREP_HEAD2, PREP_HEAD1, PREP_N };
static const int prep_order[PREP_N] = { PREP_IN, 0, 1, PREP_TIME, PREP_HEAD2, PREP_HEAD1, 2, 3, 4 };
G_STATIC_ASSERT (GAF_TOY_CNN_LAYERS == 5);

static void
prepare_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafToyCnn *net = job->net;
  const float *P = net->parent.params->data;
  int H = net->cfg.hidden, oc = net->cfg.out_channels, i;

  while ((i = g_atomic_int_add (&job->next_item, 1)) < PREP_N)
    switch (prep_order[i])
      {
      case PREP_IN:
        if (job->dx != NULL)
          gaf_conv1d_prepare_backward (&net->in_work, P + net->lay.in_w, net->cfg.n, &net->in_shape);
        break;
      case PREP_TIME:
        gaf_transpose (net->tl_t, H, P + net->lay.tl_w, GAF_TOY_CNN_LAYERS * H, H, GAF_TOY_CNN_LAYERS * H, 1.0f);
        break;
      case PREP_HEAD2:
        gaf_transpose (net->head2_t, H, P + net->lay.head2_w, oc, H, oc, 1.0f);
        break;
      case PREP_HEAD1:
        gaf_transpose (net->head1_t, H, P + net->lay.head1_w, H, H, H, 1.0f);
        break;
      default:
        gaf_conv1d_prepare_backward (&net->conv_work[prep_order[i]], P + net->lay.conv_w[prep_order[i]], net->cfg.n,
                                     &net->conv_shape[prep_order[i]]);
        break;
      }
}

/* The groups of weight gradients, costliest first, each taken by the next thread that is free (the
 * fastest way to an even split when the groups' times differ from their multiply-add counts, as the
 * normalisation's and the bias's passes make them). A group's gradient is summed over the parts in part
 * order whichever thread forms it, so the result does not depend on the split. */
static void
grads_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  int g;

  while ((g = g_atomic_int_add (&job->next_group, 1)) < GRAD_N_GROUPS)
    grad_group (job->net, job->net->grad_order[g], job->net->parent.params->grad);
}

/* Two phases: the parts go back through the layers side by side (phase 1, the activations' gradients),
 * then the weight gradients are formed in groups over the whole batch, each group by one thread (phase 2),
 * accumulating straight into the arena: no gradient buffer per part to clear and to add up. */
void
gaf_toy_cnn_backward (GafToyCnn *net, const float *dout, float *dx, float *dt)
{
  Job job = { net, NULL, NULL, dout, NULL, dx, dt, FALSE };

  /* batch is 0 after gaf_toy_cnn_infer: there are no activations to go back through. */
  g_return_if_fail (net->batch > 0);
  gaf_parallel_run (gaf_parallel_get_threads (), prepare_task, &job);
  gaf_parallel_run (net->n_parts, backward_task, &job);
  gaf_parallel_run (MIN (gaf_parallel_get_threads (), GRAD_N_GROUPS), grads_task, &job);
}
