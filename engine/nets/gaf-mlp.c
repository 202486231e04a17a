/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-layers.h"
#include "gaf-mlp.h"
#include "gaf-parallel.h"
#include "gaf-rng.h"

/* Offsets of the named views in the arena. Layer l < depth maps (K_l -> H), K_0 = D, K_l = H. */
typedef struct {
  gsize w[GAF_MLP_MAX_DEPTH], b[GAF_MLP_MAX_DEPTH];
  gsize ln_g[GAF_MLP_MAX_DEPTH], ln_b[GAF_MLP_MAX_DEPTH];
  gsize out_w, out_b;
} Layout;

/* Activations of the last forward of one batch part. */
typedef struct {
  int    capacity;
  float *xin;                        /* (B, D) network input: scaled W and time features */
  float *t;                          /* (B) time as given */
  float *tau;                        /* (B) log(1 + t) */
  float *z[GAF_MLP_MAX_DEPTH];       /* (B, H) Linear outputs */
  float *a[GAF_MLP_MAX_DEPTH];       /* (B, H) LayerNorm outputs (NULL without LayerNorm) */
  float *h[GAF_MLP_MAX_DEPTH];       /* (B, H) after ReLU */
  float *mean[GAF_MLP_MAX_DEPTH], *rstd[GAF_MLP_MAX_DEPTH];   /* (B) */
  float *buf[3];                     /* (B, H) backward scratch */
  float *dxin;                       /* (B, D) */
} Cache;

typedef struct {
  Cache  cache;
  float *grad;    /* NULL for part 0, which accumulates into params->grad directly */
  int    start;
  int    batch;
} Part;

struct _GafMlp {
  GafNet       parent;
  GafMlpConfig cfg;
  Layout       lay;
  int          in_dim;      /* D = n c_in + 1 + 2 F */
  int          out_dim;     /* n c_out */
  Part         parts[GAF_MAX_THREADS];
  guint        n_parts;
  int          batch;       /* of the last forward; 0 after infer */
};

void
gaf_mlp_config_init (GafMlpConfig *cfg, int n, int c)
{
  cfg->n = n;
  cfg->in_channels = c;
  cfg->out_channels = c;
  cfg->hidden = 256;
  cfg->depth = 3;
  cfg->layernorm = TRUE;
  cfg->time_freqs = 4;
  cfg->input_scale = 1.0;
}

gboolean
gaf_mlp_config_check (const GafMlpConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (cfg->n < 1 || cfg->in_channels < 1 || cfg->out_channels < 1)
    what = "the MLP needs at least one variable and one channel";
  else if ((gint64) cfg->n * MAX (cfg->in_channels, cfg->out_channels) > 1 << 20)
    what = "the MLP input n c is too large (at most 1048576)";
  else if (cfg->hidden < 1 || cfg->hidden > 1 << 14)
    what = "the MLP width must be from 1 to 16384";
  else if (cfg->depth < 1 || cfg->depth > GAF_MLP_MAX_DEPTH)
    what = "the MLP depth must be from 1 to 8";
  else if (cfg->time_freqs < 0 || cfg->time_freqs > 64)
    what = "the MLP time frequencies must be from 0 to 64";
  else if (!gaf_net_scale_ok (cfg->input_scale, GAF_NET_INPUT_SCALE_MIN, GAF_NET_INPUT_SCALE_MAX))
    what = "the MLP input scale must be from 1e-06 to 1e+06";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  {
    /* parameters with gradients, Adam moments and EMA */
    g_autofree char *net = g_strdup_printf ("the MLP for %d variables of %d classes (width %d, depth %d)", cfg->n,
                                            cfg->out_channels, cfg->hidden, cfg->depth);
    return gaf_budget_check (gaf_size_mul3 (gaf_mlp_param_count (cfg), 5, sizeof (float)), net, error);
  }
}

static int
input_dim (const GafMlpConfig *cfg)
{
  return cfg->n * cfg->in_channels + 1 + 2 * cfg->time_freqs;
}

static void
layout (GafParams *p, const GafMlpConfig *cfg, Layout *lay)
{
  int H = cfg->hidden;

  for (int l = 0; l < cfg->depth; l++)
    {
      int k = l == 0 ? input_dim (cfg) : H;
      g_autofree char *w = g_strdup_printf ("fc%d.w", l), *b = g_strdup_printf ("fc%d.b", l);
      lay->w[l] = gaf_params_add (p, w, (gsize) k * H);
      lay->b[l] = gaf_params_add (p, b, H);
      if (cfg->layernorm)
        {
          g_autofree char *g = g_strdup_printf ("norm%d.g", l), *nb = g_strdup_printf ("norm%d.b", l);
          lay->ln_g[l] = gaf_params_add (p, g, H);
          lay->ln_b[l] = gaf_params_add (p, nb, H);
        }
    }
  lay->out_w = gaf_params_add (p, "out.w", (gsize) H * cfg->n * cfg->out_channels);
  lay->out_b = gaf_params_add (p, "out.b", (gsize) cfg->n * cfg->out_channels);
}

gsize
gaf_mlp_param_count (const GafMlpConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay;

  layout (p, cfg, &lay);
  return p->size;
}

static void
net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_mlp_forward ((GafMlp *) net, x, t, batch, out);
}

static void
net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_mlp_infer ((GafMlp *) net, x, t, batch, out);
}

static void
net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  gaf_mlp_backward ((GafMlp *) net, dout, dx, dt);
}

static void
net_free (GafNet *net)
{
  gaf_mlp_free ((GafMlp *) net);
}

static const GafNetClass mlp_class = {
  "mlp", net_forward, net_infer, net_backward, net_free,
};

GafMlp *
gaf_mlp_new (const GafMlpConfig *cfg, guint64 seed)
{
  GafMlp *net;
  GafRng rng;
  float *d;
  int H;

  g_return_val_if_fail (gaf_mlp_config_check (cfg, NULL), NULL);

  net = g_new0 (GafMlp, 1);
  net->cfg = *cfg;
  net->parent.klass = &mlp_class;
  net->parent.n = cfg->n;
  net->parent.in_channels = cfg->in_channels;
  net->parent.out_channels = cfg->out_channels;
  net->in_dim = input_dim (cfg);
  net->out_dim = cfg->n * cfg->out_channels;
  H = cfg->hidden;
  net->parent.params = gaf_params_new ();
  layout (net->parent.params, cfg, &net->lay);
  gaf_params_alloc (net->parent.params);
  d = net->parent.params->data;

  gaf_rng_init_stream (&rng, seed, 0x31b);
  for (int l = 0; l < cfg->depth; l++)
    {
      int k = l == 0 ? net->in_dim : H;
      gaf_rng_fill_uniform (&rng, d + net->lay.w[l], (gsize) k * H, 1.0 / sqrt (k));
      gaf_rng_fill_uniform (&rng, d + net->lay.b[l], H, 1.0 / sqrt (k));
      if (cfg->layernorm)
        for (int j = 0; j < H; j++)
          {
            d[net->lay.ln_g[l] + j] = 1.0f;
            d[net->lay.ln_b[l] + j] = 0.0f;
          }
    }
  gaf_rng_fill_uniform (&rng, d + net->lay.out_w, (gsize) H * net->out_dim, 1.0 / sqrt (H));
  gaf_rng_fill_uniform (&rng, d + net->lay.out_b, net->out_dim, 1.0 / sqrt (H));
  return net;
}

static void
cache_free (Cache *c)
{
  g_free (c->xin);
  g_free (c->t);
  g_free (c->tau);
  for (int l = 0; l < GAF_MLP_MAX_DEPTH; l++)
    {
      g_free (c->z[l]);
      g_free (c->a[l]);
      g_free (c->h[l]);
      g_free (c->mean[l]);
      g_free (c->rstd[l]);
    }
  for (int i = 0; i < 3; i++)
    g_free (c->buf[i]);
  g_free (c->dxin);
  memset (c, 0, sizeof *c);
}

void
gaf_mlp_free (GafMlp *net)
{
  if (net == NULL)
    return;
  for (int k = 0; k < GAF_MAX_THREADS; k++)
    {
      cache_free (&net->parts[k].cache);
      g_free (net->parts[k].grad);
    }
  gaf_params_free (net->parent.params);
  g_free (net);
}

GafParams *
gaf_mlp_get_params (GafMlp *net)
{
  return net->parent.params;
}

const GafMlpConfig *
gaf_mlp_get_config (GafMlp *net)
{
  return &net->cfg;
}

static void
ensure_cache (GafMlp *net, Cache *c, int batch)
{
  gsize bh = (gsize) batch * net->cfg.hidden;

  if (c->capacity >= batch)
    return;
  cache_free (c);
  c->capacity = batch;
  c->xin = g_new (float, (gsize) batch * net->in_dim);
  c->t = g_new (float, batch);
  c->tau = g_new (float, batch);
  for (int l = 0; l < net->cfg.depth; l++)
    {
      c->z[l] = g_new (float, bh);
      c->h[l] = g_new (float, bh);
      if (net->cfg.layernorm)
        {
          c->a[l] = g_new (float, bh);
          c->mean[l] = g_new (float, batch);
          c->rstd[l] = g_new (float, batch);
        }
    }
  for (int i = 0; i < 3; i++)
    c->buf[i] = g_new (float, bh);
  c->dxin = g_new (float, (gsize) batch * net->in_dim);
}

/* x (B, n c_in), t (B) -> out (B, n c_out) for one part of the batch. */
static void
forward_part (GafMlp *net, Cache *c, int batch, const float *x, const float *t, float *out)
{
  const GafMlpConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int H = cfg->hidden, D = net->in_dim, nc = cfg->n * cfg->in_channels, F = cfg->time_freqs;
  float sc = (float) cfg->input_scale;

  ensure_cache (net, c, batch);
  for (int b = 0; b < batch; b++)
    {
      float *row = c->xin + (gsize) b * D;
      const float *xb = x + (gsize) b * nc;
      /* t < 0 never occurs in training or sampling; it is read as 0 (and gets no gradient). */
      double tau = log1p (MAX ((double) t[b], 0.0));

      for (int j = 0; j < nc; j++)
        row[j] = xb[j] * sc;
      c->t[b] = t[b];
      c->tau[b] = (float) tau;
      row[nc] = (float) tau;
      for (int k = 1; k <= F; k++)
        {
          row[nc + k] = (float) sin (k * tau);
          row[nc + F + k] = (float) cos (k * tau);
        }
    }

  for (int l = 0; l < cfg->depth; l++)
    {
      const float *in = l == 0 ? c->xin : c->h[l - 1];
      int k = l == 0 ? D : H;

      gaf_linear_forward (c->z[l], in, P + L->w[l], P + L->b[l], batch, k, H);
      if (cfg->layernorm)
        {
          gaf_layernorm_forward (c->a[l], c->mean[l], c->rstd[l], c->z[l], P + L->ln_g[l], P + L->ln_b[l],
                                 batch, H);
          gaf_relu_forward (c->h[l], c->a[l], (gsize) batch * H);
        }
      else
        gaf_relu_forward (c->h[l], c->z[l], (gsize) batch * H);
    }
  gaf_linear_forward (out, c->h[cfg->depth - 1], P + L->out_w, P + L->out_b, batch, H, net->out_dim);
}

static void
backward_part (GafMlp *net, Part *part, float *G, const float *dout, float *dx, float *dt)
{
  const GafMlpConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  Cache *c = &part->cache;
  int batch = part->batch, H = cfg->hidden, D = net->in_dim, nc = cfg->n * cfg->in_channels;
  int F = cfg->time_freqs;
  gsize bh = (gsize) batch * H;
  float *dh = c->buf[0], *da = c->buf[1], *dz;

  memset (dh, 0, bh * sizeof (float));
  gaf_linear_backward (dh, G + L->out_w, G + L->out_b, dout, c->h[cfg->depth - 1], P + L->out_w,
                       batch, H, net->out_dim);
  for (int l = cfg->depth - 1; l >= 0; l--)
    {
      /* dh = d h_l -> da = d (LN output) -> dz = d z_l -> d (layer input) */
      memset (da, 0, bh * sizeof (float));
      gaf_relu_backward (da, dh, c->h[l], bh);
      if (cfg->layernorm)
        {
          dz = c->buf[2];
          memset (dz, 0, bh * sizeof (float));
          gaf_layernorm_backward (dz, G + L->ln_g[l], G + L->ln_b[l], da, c->z[l], c->mean[l], c->rstd[l],
                                  P + L->ln_g[l], batch, H);
        }
      else
        dz = da;
      if (l > 0)
        {
          memset (dh, 0, bh * sizeof (float));
          gaf_linear_backward (dh, G + L->w[l], G + L->b[l], dz, c->h[l - 1], P + L->w[l], batch, H, H);
        }
      else if (dx == NULL && dt == NULL)
        gaf_linear_backward (NULL, G + L->w[0], G + L->b[0], dz, c->xin, P + L->w[0], batch, D, H);
      else
        {
          memset (c->dxin, 0, (gsize) batch * D * sizeof (float));
          gaf_linear_backward (c->dxin, G + L->w[0], G + L->b[0], dz, c->xin, P + L->w[0], batch, D, H);
          for (int b = 0; b < batch; b++)
            {
              const float *row = c->dxin + (gsize) b * D;
              if (dx != NULL)
                for (int j = 0; j < nc; j++)
                  dx[(gsize) b * nc + j] += (float) (row[j] * cfg->input_scale);
              if (dt != NULL && c->t[b] >= 0.0f)
                {
                  /* d/dtau of [tau, sin k tau, cos k tau], times dtau/dt = 1 / (1 + t) = e^{-tau} */
                  double tau = c->tau[b], g = row[nc];
                  for (int k = 1; k <= F; k++)
                    g += row[nc + k] * k * cos (k * tau) - row[nc + F + k] * k * sin (k * tau);
                  dt[b] += (float) (g * exp (-tau));
                }
            }
        }
    }
}

/* ---- batch split over the engine's threads ---------------------------------------------------- */

typedef struct {
  GafMlp      *net;
  const float *x, *t, *dout;
  float       *out, *dx, *dt;
  gboolean     infer;
} Job;

#define INFER_TILE 256

static void
forward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafMlp *net = job->net;
  Part *part = &net->parts[k];
  gsize in_row = (gsize) net->cfg.n * net->cfg.in_channels, out_row = net->out_dim;

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

/* At least 32 rows per part: smaller parts cost more in hand-over than they save. */
static guint
split (GafMlp *net, int batch)
{
  guint n_parts = MIN (gaf_parallel_get_threads (), (guint) MAX (1, batch / 32));

  for (guint k = 0; k < n_parts; k++)
    {
      net->parts[k].start = (int) ((gint64) batch * k / n_parts);
      net->parts[k].batch = (int) ((gint64) batch * (k + 1) / n_parts) - net->parts[k].start;
    }
  return n_parts;
}

static void
run_forward (GafMlp *net, const float *x, const float *t, int batch, float *out, gboolean infer)
{
  Job job = { net, x, t, NULL, out, NULL, NULL, infer };

  g_return_if_fail (batch > 0);
  net->batch = infer ? 0 : batch;
  net->n_parts = split (net, batch);
  gaf_parallel_run (net->n_parts, forward_task, &job);
}

void
gaf_mlp_forward (GafMlp *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, FALSE);
}

void
gaf_mlp_infer (GafMlp *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, TRUE);
}

static void
backward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafMlp *net = job->net;
  Part *part = &net->parts[k];
  gsize in_row = (gsize) net->cfg.n * net->cfg.in_channels, out_row = net->out_dim;
  float *G;

  G = gaf_parallel_part_grad (k, net->parent.params->grad, &part->grad, net->parent.params->size);
  backward_part (net, part, G, job->dout + part->start * out_row,
                 job->dx ? job->dx + part->start * in_row : NULL, job->dt ? job->dt + part->start : NULL);
}

void
gaf_mlp_backward (GafMlp *net, const float *dout, float *dx, float *dt)
{
  Job job = { net, NULL, NULL, dout, NULL, dx, dt, FALSE };

  /* batch is 0 after gaf_mlp_infer: there are no activations to go back through. */
  g_return_if_fail (net->batch > 0);
  gaf_parallel_run (net->n_parts, backward_task, &job);
  if (net->n_parts > 1)
    {
      float *grads[GAF_MAX_THREADS];
      for (guint p = 0; p < net->n_parts; p++)
        grads[p] = net->parts[p].grad;
      gaf_parallel_sum_grads (net->parent.params->grad, grads, net->n_parts, net->parent.params->size);
    }
}
