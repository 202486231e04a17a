/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-dense.h"
#include "gaf-error.h"
#include "gaf-layers.h"
#include "gaf-parallel.h"
#include "gaf-rng.h"

#define MAX_LAYERS (GAF_DENSE_MAX_HIDDEN + 1)
#define BN_EPS      1e-5
#define BN_MOMENTUM 0.1

/* Offsets of the named views. Layer l maps dim[l] -> dim[l + 1]. */
typedef struct {
  gsize w[MAX_LAYERS], b[MAX_LAYERS];        /* fcL.w (dim[l], dim[l+1]) engine layout (in, out); fcL.b */
  gsize g[MAX_LAYERS], beta[MAX_LAYERS];     /* bnL.g, bnL.b (dim[l]) */
  gsize mean[MAX_LAYERS], var[MAX_LAYERS], count[MAX_LAYERS];   /* buffers bnL.mean, bnL.var, bnL.count */
} Layout;

/* Activations of the last forward of one part of the batch. */
typedef struct {
  int     capacity;
  float  *h[MAX_LAYERS + 1];     /* h[0] (B, d_0) the input features; h[l + 1] (B, d_{l+1}) layer l's output */
  float  *xhat[MAX_LAYERS];      /* (B, d_l) normalised input of layer l (BatchNorm only) */
  float  *a[MAX_LAYERS];         /* (B, d_l) g xhat + beta, what the Linear sees (BatchNorm only) */
  float  *mean[MAX_LAYERS], *rstd[MAX_LAYERS];   /* (d_l) the statistics used */
  float  *buf[2];                /* (B, max d) backward scratch */
  double *acc[2];                /* (2 max d + 1) per-feature sums (and the batch count behind them) */
  double  count;                 /* samples the training statistics were taken over: B, or the global batch */
  gboolean synced;               /* the statistics were summed over the processes (gaf_params_reduce_stats) */
} Cache;

struct _GafDense {
  GafNet         parent;
  GafDenseConfig cfg;
  Layout         lay;
  int            n_layers;          /* L = H + 1 */
  int            dim[MAX_LAYERS + 1];
  int            max_dim;
  gboolean       norm;              /* H >= 1: BatchNorm and ReLU in every layer */
  gboolean       training;
  Cache          train;             /* the forward's (one part) */
  Cache          parts[GAF_MAX_THREADS];   /* infer's tiles */
  int            batch;             /* of the last forward; 0 after none */
  gboolean       batch_training;    /* the mode of that forward */
};

void
gaf_dense_config_init (GafDenseConfig *cfg, int n, int c)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->n = n;
  cfg->in_channels = c;
  cfg->out_channels = c;
  cfg->n_hidden = 2;
  cfg->hidden[0] = 256;
  cfg->hidden[1] = 256;
  cfg->bias = TRUE;
}

gboolean
gaf_dense_config_check (const GafDenseConfig *cfg, GError **error)
{
  const char *what = NULL;

  if (cfg->n < 1 || cfg->in_channels < 1 || cfg->out_channels < 1)
    what = "the dense network needs at least one variable and one channel";
  else if ((gint64) cfg->n * MAX (cfg->in_channels, cfg->out_channels) > 1 << 20)
    what = "the dense network's input n c is too large (at most 1048576)";
  else if (cfg->n_hidden < 0 || cfg->n_hidden > GAF_DENSE_MAX_HIDDEN)
    what = "the dense network has from 0 to 8 hidden layers";
  else
    for (int l = 0; l < cfg->n_hidden; l++)
      if (cfg->hidden[l] < 1 || cfg->hidden[l] > 1 << 14)
        what = "the dense network's widths must be from 1 to 16384";
  if (what != NULL)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, what);
      return FALSE;
    }
  return TRUE;
}

gboolean
gaf_dense_config_parse_hidden (GafDenseConfig *cfg, const char *text, GError **error)
{
  g_auto(GStrv) tok = g_strsplit_set (text, "[](),; ", -1);
  int widths[GAF_DENSE_MAX_HIDDEN], n = 0;

  for (guint i = 0; tok[i] != NULL; i++)
    {
      gint64 v;
      if (tok[i][0] == '\0')
        continue;
      if (n == GAF_DENSE_MAX_HIDDEN || !g_ascii_string_to_signed (tok[i], 10, 1, 1 << 14, &v, NULL))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "hidden = '%s' is not a list of at most %d widths from 1 to 16384", text,
                       GAF_DENSE_MAX_HIDDEN);
          return FALSE;
        }
      widths[n++] = (int) v;
    }
  cfg->n_hidden = n;
  memset (cfg->hidden, 0, sizeof cfg->hidden);
  memcpy (cfg->hidden, widths, n * sizeof (int));
  return TRUE;
}

char *
gaf_dense_config_hidden_string (const GafDenseConfig *cfg)
{
  GString *s = g_string_new (NULL);

  for (int l = 0; l < cfg->n_hidden; l++)
    g_string_append_printf (s, "%s%d", l ? "," : "", cfg->hidden[l]);
  return g_string_free (s, FALSE);
}

static int
dims (const GafDenseConfig *cfg, int *dim)
{
  int L = cfg->n_hidden + 1;

  dim[0] = cfg->n * cfg->in_channels + 1;
  for (int l = 0; l < cfg->n_hidden; l++)
    dim[l + 1] = cfg->hidden[l];
  dim[L] = cfg->n * cfg->out_channels;
  return L;
}

/* Trained views first (Linear, then BatchNorm, layer by layer), then the buffers. */
static void
layout (GafParams *p, const GafDenseConfig *cfg, Layout *lay)
{
  int dim[MAX_LAYERS + 1], L = dims (cfg, dim);
  gboolean norm = cfg->n_hidden > 0;

  for (int l = 0; l < L; l++)
    {
      g_autofree char *w = g_strdup_printf ("fc%d.w", l), *b = g_strdup_printf ("fc%d.b", l);
      g_autofree char *g = g_strdup_printf ("bn%d.g", l), *nb = g_strdup_printf ("bn%d.b", l);
      if (norm)
        {
          lay->g[l] = gaf_params_add (p, g, dim[l]);
          lay->beta[l] = gaf_params_add (p, nb, dim[l]);
        }
      lay->w[l] = gaf_params_add (p, w, (gsize) dim[l] * dim[l + 1]);
      if (cfg->bias)
        lay->b[l] = gaf_params_add (p, b, dim[l + 1]);
    }
  if (norm)
    for (int l = 0; l < L; l++)
      {
        g_autofree char *m = g_strdup_printf ("bn%d.mean", l), *v = g_strdup_printf ("bn%d.var", l);
        g_autofree char *c = g_strdup_printf ("bn%d.count", l);
        lay->mean[l] = gaf_params_add_buffer (p, m, dim[l]);
        lay->var[l] = gaf_params_add_buffer (p, v, dim[l]);
        lay->count[l] = gaf_params_add_buffer (p, c, 1);
      }
}

gsize
gaf_dense_param_count (const GafDenseConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay;

  layout (p, cfg, &lay);
  return p->trained;
}

gsize
gaf_dense_buffer_count (const GafDenseConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay;

  layout (p, cfg, &lay);
  return p->size - p->trained;
}

static void
net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_dense_forward ((GafDense *) net, x, t, batch, out);
}

static void
net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_dense_infer ((GafDense *) net, x, t, batch, out);
}

static void
net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  gaf_dense_backward ((GafDense *) net, dout, dx, dt);
}

static void
net_free (GafNet *net)
{
  gaf_dense_free ((GafDense *) net);
}

static void
net_set_training (GafNet *net, gboolean training)
{
  gaf_dense_set_training ((GafDense *) net, training);
}

static const GafNetClass dense_class = {
  "dense", net_forward, net_infer, net_backward, net_free, net_set_training,
};

GafDense *
gaf_dense_new (const GafDenseConfig *cfg, guint64 seed)
{
  GafDense *net;
  GafRng rng;
  float *d;

  g_return_val_if_fail (gaf_dense_config_check (cfg, NULL), NULL);

  net = g_new0 (GafDense, 1);
  net->cfg = *cfg;
  net->parent.klass = &dense_class;
  net->parent.n = cfg->n;
  net->parent.in_channels = cfg->in_channels;
  net->parent.out_channels = cfg->out_channels;
  net->n_layers = dims (cfg, net->dim);
  net->norm = cfg->n_hidden > 0;
  net->training = TRUE;
  for (int l = 0; l <= net->n_layers; l++)
    net->max_dim = MAX (net->max_dim, net->dim[l]);
  net->parent.params = gaf_params_new ();
  layout (net->parent.params, cfg, &net->lay);
  gaf_params_alloc (net->parent.params);
  d = net->parent.params->data;

  gaf_rng_init_stream (&rng, seed, 0xde5);
  for (int l = 0; l < net->n_layers; l++)
    {
      int k = net->dim[l], m = net->dim[l + 1];
      gaf_rng_fill_uniform (&rng, d + net->lay.w[l], (gsize) k * m, 1.0 / sqrt (k));
      if (cfg->bias)
        gaf_rng_fill_uniform (&rng, d + net->lay.b[l], m, 1.0 / sqrt (k));
      if (net->norm)
        for (int j = 0; j < k; j++)
          {
            d[net->lay.g[l] + j] = 1.0f;
            d[net->lay.var[l] + j] = 1.0f;   /* beta, mean and the counter stay 0 */
          }
    }
  return net;
}

static void
cache_free (Cache *c)
{
  for (int l = 0; l <= MAX_LAYERS; l++)
    g_free (c->h[l]);
  for (int l = 0; l < MAX_LAYERS; l++)
    {
      g_free (c->xhat[l]);
      g_free (c->a[l]);
      g_free (c->mean[l]);
      g_free (c->rstd[l]);
    }
  for (int i = 0; i < 2; i++)
    {
      g_free (c->buf[i]);
      g_free (c->acc[i]);
    }
  memset (c, 0, sizeof *c);
}

void
gaf_dense_free (GafDense *net)
{
  if (net == NULL)
    return;
  cache_free (&net->train);
  for (int k = 0; k < GAF_MAX_THREADS; k++)
    cache_free (&net->parts[k]);
  gaf_params_free (net->parent.params);
  g_free (net);
}

GafParams *
gaf_dense_get_params (GafDense *net)
{
  return net->parent.params;
}

const GafDenseConfig *
gaf_dense_get_config (GafDense *net)
{
  return &net->cfg;
}

void
gaf_dense_set_training (GafDense *net, gboolean training)
{
  net->training = training;
}

static void
ensure_cache (GafDense *net, Cache *c, int batch)
{
  if (c->capacity >= batch)
    return;
  cache_free (c);
  c->capacity = batch;
  for (int l = 0; l <= net->n_layers; l++)
    c->h[l] = g_new (float, (gsize) batch * net->dim[l]);
  if (net->norm)
    for (int l = 0; l < net->n_layers; l++)
      {
        c->xhat[l] = g_new (float, (gsize) batch * net->dim[l]);
        c->a[l] = g_new (float, (gsize) batch * net->dim[l]);
        c->mean[l] = g_new (float, net->dim[l]);
        c->rstd[l] = g_new (float, net->dim[l]);
      }
  for (int i = 0; i < 2; i++)
    {
      c->buf[i] = g_new (float, (gsize) batch * net->max_dim);
      c->acc[i] = g_new (double, 2 * (gsize) net->max_dim + 1);
    }
}

/* BatchNorm1d of in (B, d) -> xhat, a = g xhat + beta (B, d). Training: the batch's mean and biased
 * variance, and running <- (1 - momentum) running + momentum batch with the unbiased variance; otherwise
 * the running statistics. The statistics used go to c->mean[l], c->rstd[l].
 *
 * Data parallel (c->synced, docs/scaling-out.md): the batch is the global one, spread over the processes.
 * Its statistics are computed as one process computes them, in two passes over the features in double:
 * the sums of in and the sample count are summed over the processes (one reduction of d + 1 doubles), the
 * mean taken, then the sums of squared deviations from that mean (a second reduction of d). Every process
 * then holds the same mean and variance, normalises with them and moves the running statistics alike. */
static void
batchnorm_forward (GafDense *net, Cache *c, int l, int batch, gboolean training, gboolean update)
{
  GafParams *params = net->parent.params;
  float *P = params->data;
  const Layout *L = &net->lay;
  const float *in = c->h[l], *g = P + L->g[l], *beta = P + L->beta[l];
  float *mean = c->mean[l], *rstd = c->rstd[l];
  int d = net->dim[l];

  if (training)
    {
      double *s = c->acc[0], *s2 = c->acc[1], N;
      gboolean ok = TRUE;
      memset (s, 0, d * sizeof (double));
      memset (s2, 0, d * sizeof (double));
      for (int b = 0; b < batch; b++)
        for (int f = 0; f < d; f++)
          s[f] += in[(gsize) b * d + f];
      s[d] = batch;
      if (c->synced)
        ok = gaf_params_reduce_stats (params, s, (gsize) d + 1);
      N = s[d];
      c->count = N;
      for (int f = 0; f < d; f++)
        s[f] /= N;
      for (int b = 0; b < batch; b++)
        for (int f = 0; f < d; f++)
          {
            double e = in[(gsize) b * d + f] - s[f];
            s2[f] += e * e;
          }
      if (c->synced && ok)
        ok = gaf_params_reduce_stats (params, s2, d);
      /* A failed reduction fails the step (gaf_params_reduce_grad): the running statistics stay as they were. */
      update = update && ok;
      for (int f = 0; f < d; f++)
        {
          double var = s2[f] / N;
          mean[f] = (float) s[f];
          rstd[f] = (float) (1.0 / sqrt (var + BN_EPS));
          if (update)
            {
              float *rm = P + L->mean[l], *rv = P + L->var[l];
              rm[f] = (float) ((1.0 - BN_MOMENTUM) * rm[f] + BN_MOMENTUM * s[f]);
              if (N > 1)
                rv[f] = (float) ((1.0 - BN_MOMENTUM) * rv[f] + BN_MOMENTUM * s2[f] / (N - 1));
            }
        }
      if (update)
        P[L->count[l]] += 1.0f;
    }
  else
    {
      const float *rm = P + L->mean[l], *rv = P + L->var[l];
      for (int f = 0; f < d; f++)
        {
          mean[f] = rm[f];
          rstd[f] = (float) (1.0 / sqrt ((double) rv[f] + BN_EPS));
        }
    }
  for (int b = 0; b < batch; b++)
    {
      const float *row = in + (gsize) b * d;
      float *xh = c->xhat[l] + (gsize) b * d, *a = c->a[l] + (gsize) b * d;
      for (int f = 0; f < d; f++)
        {
          xh[f] = (row[f] - mean[f]) * rstd[f];
          a[f] = g[f] * xh[f] + beta[f];
        }
    }
}

/* x (B, n, c_in), t (B) -> out (B, n, c_out) for one part of the batch. */
static void
forward_part (GafDense *net, Cache *c, int batch, const float *x, const float *t, float *out, gboolean training,
              gboolean update)
{
  const GafDenseConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int n = cfg->n, cin = cfg->in_channels, cout = cfg->out_channels, D0 = net->dim[0];
  int DL = net->dim[net->n_layers];

  ensure_cache (net, c, batch);
  /* Only a training forward of a data-parallel run (the trainer's, on every process at once) takes part in
   * collectives; infer and evaluation-mode forwards stay local. */
  c->synced = training && net->norm && gaf_params_reduces_stats (net->parent.params);
  c->count = batch;
  /* PyTorch's (B, c, n) reshaped to (B, c n): feature k n + i is W[i, k]; the time last */
  for (int b = 0; b < batch; b++)
    {
      float *row = c->h[0] + (gsize) b * D0;
      const float *xb = x + (gsize) b * n * cin;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < cin; k++)
          row[k * n + i] = xb[i * cin + k];
      row[cin * n] = t[b];
    }
  for (int l = 0; l < net->n_layers; l++)
    {
      const float *lin_in = c->h[l];
      gsize count = (gsize) batch * net->dim[l + 1];
      if (net->norm)
        {
          batchnorm_forward (net, c, l, batch, training, update);
          lin_in = c->a[l];
        }
      gaf_linear_forward (c->h[l + 1], lin_in, P + L->w[l], cfg->bias ? P + L->b[l] : NULL, batch, net->dim[l],
                          net->dim[l + 1]);
      if (net->norm)
        gaf_relu_forward (c->h[l + 1], c->h[l + 1], count);
    }
  for (int b = 0; b < batch; b++)
    {
      const float *row = c->h[net->n_layers] + (gsize) b * DL;
      float *ob = out + (gsize) b * n * cout;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < cout; k++)
          ob[i * cout + k] = row[k * n + i];
    }
}

void
gaf_dense_forward (GafDense *net, const float *x, const float *t, int batch, float *out)
{
  g_return_if_fail (batch > 0);
  net->batch = batch;
  net->batch_training = net->training;
  forward_part (net, &net->train, batch, x, t, out, net->training, net->training);
}

/* ---- infer: running statistics, rows independent, tiles over the engine's threads ---------------------- */

typedef struct {
  GafDense    *net;
  const float *x, *t;
  float       *out;
  int          batch;
} InferJob;

#define INFER_TILE 256

static void
infer_task (guint k, guint n_tasks, gpointer data)
{
  InferJob *job = data;
  GafDense *net = job->net;
  int start = (int) ((gint64) job->batch * k / n_tasks), end = (int) ((gint64) job->batch * (k + 1) / n_tasks);
  gsize in_row = (gsize) net->cfg.n * net->cfg.in_channels, out_row = (gsize) net->cfg.n * net->cfg.out_channels;

  for (int off = start; off < end; off += INFER_TILE)
    {
      int b = MIN (INFER_TILE, end - off);
      forward_part (net, &net->parts[k], b, job->x + off * in_row, job->t + off, job->out + off * out_row, FALSE,
                    FALSE);
    }
}

void
gaf_dense_infer (GafDense *net, const float *x, const float *t, int batch, float *out)
{
  InferJob job = { net, x, t, out, batch };
  guint n_parts;

  g_return_if_fail (batch > 0);
  n_parts = MIN (gaf_parallel_get_threads (), (guint) MAX (1, batch / 32));
  gaf_parallel_run (n_parts, infer_task, &job);
}

/* ---- backward --------------------------------------------------------------------------------------- */

/* da (B, d) = d loss / d a of layer l -> the gain and shift gradients, and din (B, d) = d loss / d h_l
 * when din is not NULL (overwritten). Training: through the batch's statistics,
 *   din = rstd / B (B dxhat - sum_b dxhat - xhat sum_b (dxhat xhat)),  dxhat = g da;
 * otherwise the statistics are constants: din = g rstd da.
 *
 * Data parallel (the forward's statistics were synced): the statistics depend on every process's share, so
 * the two sums over b run over the global batch of N samples: they are summed over the processes (one
 * reduction of 2 d doubles) before din, and B is N. Each process's loss is the mean over its share, so the
 * result is d/dh of the sum of the processes' losses, the sum the gradient reduction then averages: the
 * same gradient as one process on the whole batch. The gain and shift gradients stay this process's own
 * sums (the gradient reduction adds them up). */
static void
batchnorm_backward (GafDense *net, Cache *c, int l, int batch, gboolean training, const float *da, float *din)
{
  const float *P = net->parent.params->data;
  float *G = net->parent.params->grad;
  const Layout *L = &net->lay;
  const float *g = P + L->g[l], *rstd = c->rstd[l], *xhat = c->xhat[l];
  int d = net->dim[l];
  double *s = c->acc[0], *sx = c->acc[0] + d, N = c->count;   /* s, sx adjacent: one reduction */

  memset (s, 0, d * sizeof (double));
  memset (sx, 0, d * sizeof (double));
  for (int b = 0; b < batch; b++)
    for (int f = 0; f < d; f++)
      {
        gsize e = (gsize) b * d + f;
        s[f] += da[e];
        sx[f] += (double) da[e] * xhat[e];
      }
  for (int f = 0; f < d; f++)
    {
      G[L->g[l] + f] += (float) sx[f];
      G[L->beta[l] + f] += (float) s[f];
    }
  if (din == NULL)
    return;
  if (training && c->synced)
    gaf_params_reduce_stats (net->parent.params, s, 2 * (gsize) d);   /* a failure fails the step */
  for (int b = 0; b < batch; b++)
    for (int f = 0; f < d; f++)
      {
        gsize e = (gsize) b * d + f;
        if (training)
          /* sum_b dxhat = g s, sum_b dxhat xhat = g sx */
          din[e] = (float) (g[f] * rstd[f] * (da[e] - (s[f] + xhat[e] * sx[f]) / N));
        else
          din[e] = g[f] * rstd[f] * da[e];
      }
}

void
gaf_dense_backward (GafDense *net, const float *dout, float *dx, float *dt)
{
  const GafDenseConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  float *G = net->parent.params->grad;
  const Layout *L = &net->lay;
  Cache *c = &net->train;
  int batch = net->batch, n = cfg->n, cin = cfg->in_channels, cout = cfg->out_channels;
  int D0 = net->dim[0], DL = net->dim[net->n_layers];
  float *dz = c->buf[0], *da = c->buf[1];

  /* batch is 0 before the first forward: there are no activations to go back through. */
  g_return_if_fail (batch > 0);
  for (int b = 0; b < batch; b++)
    {
      const float *ob = dout + (gsize) b * n * cout;
      float *row = dz + (gsize) b * DL;
      for (int i = 0; i < n; i++)
        for (int k = 0; k < cout; k++)
          row[k * n + i] = ob[i * cout + k];
    }
  for (int l = net->n_layers - 1; l >= 0; l--)
    {
      /* dz (B, d_{l+1}) = d loss / d h_{l+1} -> through ReLU and Linear -> d loss / d h_l in dz again */
      int din = net->dim[l], dnext = net->dim[l + 1];
      gsize count = (gsize) batch * dnext;
      gboolean want_input = l > 0 || dx != NULL || dt != NULL;
      float *tmp;
      if (net->norm)
        {
          const float *h = c->h[l + 1];
          for (gsize e = 0; e < count; e++)   /* ReLU: through where its output is positive */
            dz[e] = h[e] > 0.0f ? dz[e] : 0.0f;
        }
      if (net->norm || want_input)
        memset (da, 0, (gsize) batch * din * sizeof (float));
      gaf_linear_backward (net->norm || want_input ? da : NULL, G + L->w[l], cfg->bias ? G + L->b[l] : NULL, dz,
                           net->norm ? c->a[l] : c->h[l], P + L->w[l], batch, din, dnext);
      if (net->norm)
        batchnorm_backward (net, c, l, batch, net->batch_training, da, want_input ? dz : NULL);
      else
        {
          tmp = dz;
          dz = da;
          da = tmp;
        }
      if (!want_input)
        return;
    }
  /* dz (B, D0) = d loss / d input features */
  for (int b = 0; b < batch; b++)
    {
      const float *row = dz + (gsize) b * D0;
      if (dx != NULL)
        for (int i = 0; i < n; i++)
          for (int k = 0; k < cin; k++)
            dx[((gsize) b * n + i) * cin + k] += row[k * n + i];
      if (dt != NULL)
        dt[b] += row[cin * n];
    }
}
