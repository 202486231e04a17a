/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gaf-engine.h"

#include "gaf-test-util.h"

/* The authors' DenseNet (gaf-dense.h): its sizes, a double-precision reference written from the
 * definition (PyTorch's flattening order, BatchNorm with batch or running statistics), the running
 * statistics' update, and backward against central differences for the whole network in both modes. */

/* n = 3 variables, 4 classes in and out, hidden 7, 6: every dimension different. */
static GafDense *
small_net (int n_hidden, gboolean bias, guint64 seed)
{
  GafDenseConfig cfg;
  GafDense *net;
  GafParams *p;
  GafRng rng;

  gaf_dense_config_init (&cfg, 3, 4);
  cfg.n_hidden = n_hidden;
  cfg.hidden[0] = 7;
  cfg.hidden[1] = 6;
  cfg.bias = bias;
  net = gaf_dense_new (&cfg, seed);
  /* every value random, the BatchNorm gains around 1 and the running variances positive */
  p = gaf_dense_get_params (net);
  gaf_rng_init (&rng, seed + 100);
  for (guint v = 0; v < p->views->len; v++)
    {
      const GafParamView *view = &g_array_index (p->views, GafParamView, v);
      gboolean gain = g_str_has_suffix (view->name, ".g"), var = g_str_has_suffix (view->name, ".var");
      gboolean count = g_str_has_suffix (view->name, ".count");
      for (gsize i = 0; i < view->size; i++)
        {
          double u = gaf_rng_uniform (&rng);
          p->data[view->offset + i] = (float) (count ? 3.0 : var ? 0.2 + u : gain ? 0.6 + 0.8 * u : u - 0.5);
        }
    }
  return net;
}

static const float *
view (GafParams *p, const char *fmt, int l)
{
  g_autofree char *name = g_strdup_printf (fmt, l);
  const GafParamView *v = gaf_params_find (p, name);

  return v != NULL ? p->data + v->offset : NULL;
}

/* The network from its definition, in double: x (B, n, c) -> out (B, n, c). */
static void
reference_forward (GafDense *net, const float *x, const float *t, int B, gboolean batch_stats, double *out)
{
  const GafDenseConfig *cfg = gaf_dense_get_config (net);
  GafParams *p = gaf_dense_get_params (net);
  int n = cfg->n, c = cfg->in_channels, L = cfg->n_hidden + 1, d = n * c + 1;
  g_autofree double *h = g_new0 (double, (gsize) B * 64), *z = g_new0 (double, (gsize) B * 64);

  g_assert_cmpint (d, <=, 64);
  /* x.reshape(B, c, n).flatten: feature k n + i is x[b, i, k], then t */
  for (int b = 0; b < B; b++)
    {
      for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++)
          h[b * 64 + k * n + i] = x[(b * n + i) * c + k];
      h[b * 64 + n * c] = t[b];
    }
  for (int l = 0; l < L; l++)
    {
      int dout = l < cfg->n_hidden ? cfg->hidden[l] : n * cfg->out_channels;
      const float *w = view (p, "fc%d.w", l), *bias = view (p, "fc%d.b", l);
      if (cfg->n_hidden > 0)
        for (int f = 0; f < d; f++)
          {
            double m = 0.0, v = 0.0;
            if (batch_stats)
              {
                for (int b = 0; b < B; b++)
                  m += h[b * 64 + f] / B;
                for (int b = 0; b < B; b++)
                  v += (h[b * 64 + f] - m) * (h[b * 64 + f] - m) / B;
              }
            else
              {
                m = view (p, "bn%d.mean", l)[f];
                v = view (p, "bn%d.var", l)[f];
              }
            for (int b = 0; b < B; b++)
              h[b * 64 + f] = (h[b * 64 + f] - m) / sqrt (v + 1e-5) * view (p, "bn%d.g", l)[f] + view (p, "bn%d.b", l)[f];
          }
      for (int b = 0; b < B; b++)
        for (int o = 0; o < dout; o++)
          {
            double s = bias != NULL ? bias[o] : 0.0;
            for (int f = 0; f < d; f++)
              s += h[b * 64 + f] * w[f * dout + o];
            z[b * 64 + o] = cfg->n_hidden > 0 ? MAX (s, 0.0) : s;
          }
      memcpy (h, z, (gsize) B * 64 * sizeof (double));
      d = dout;
    }
  for (int b = 0; b < B; b++)
    for (int i = 0; i < n; i++)
      for (int k = 0; k < cfg->out_channels; k++)
        out[(b * n + i) * cfg->out_channels + k] = h[b * 64 + k * n + i];
}

static void
random_inputs (GafRng *rng, float *x, float *t, int B, int n, int c)
{
  for (int r = 0; r < B * n; r++)
    {
      double s = 0.0;
      for (int k = 0; k < c; k++)
        s += (x[r * c + k] = (float) exp (2.0 * gaf_rng_normal (rng)));
      for (int k = 0; k < c; k++)
        x[r * c + k] /= (float) s;
    }
  for (int b = 0; b < B; b++)
    t[b] = (float) (8.0 * gaf_rng_uniform (rng));
}

static double
max_diff (const float *y, const double *ref, gsize count, double *ymax)
{
  double d = 0.0;

  *ymax = 0.0;
  for (gsize i = 0; i < count; i++)
    {
      d = MAX (d, fabs (y[i] - ref[i]));
      *ymax = MAX (*ymax, fabs (ref[i]));
    }
  return d;
}

static void
test_sizes (void)
{
  GafDenseConfig cfg;
  g_autoptr(GError) error = NULL;
  g_autofree char *s = NULL;

  /* docs/method.md §3: 69,390 parameters for n = c = 2 with hidden 256, 256 (PyTorch's parameters()) */
  gaf_dense_config_init (&cfg, 2, 2);
  g_assert_cmpuint (gaf_dense_param_count (&cfg), ==, 69390);
  /* running mean and variance of each BatchNorm (5, 256, 256 features) and three counters */
  g_assert_cmpuint (gaf_dense_buffer_count (&cfg), ==, 2 * (5 + 256 + 256) + 3);
  s = gaf_dense_config_hidden_string (&cfg);
  g_assert_cmpstr (s, ==, "256,256");
  g_assert_true (gaf_dense_config_parse_hidden (&cfg, "[64, 32, 16]", &error));
  g_assert_cmpint (cfg.n_hidden, ==, 3);
  g_assert_cmpint (cfg.hidden[2], ==, 16);
  g_assert_true (gaf_dense_config_parse_hidden (&cfg, "", &error));
  g_assert_cmpint (cfg.n_hidden, ==, 0);
  /* no hidden layer: one Linear (c n + 1 -> c n), no BatchNorm, no buffers */
  g_assert_cmpuint (gaf_dense_param_count (&cfg), ==, 5 * 4 + 4);
  g_assert_cmpuint (gaf_dense_buffer_count (&cfg), ==, 0);
  g_assert_false (gaf_dense_config_parse_hidden (&cfg, "64,0", &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (gaf_dense_config_parse_hidden (&cfg, "1,2,3,4,5,6,7,8,9", &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
}

/* Forward in training mode against the reference with the batch's statistics, then the running
 * statistics moved as PyTorch moves them; infer (and forward outside training mode) against the
 * reference with the running statistics, for any batch composition. */
static void
test_batchnorm_modes (void)
{
  enum { B = 6, N = 3, C = 4 };
  g_autoptr(GafDense) net = small_net (2, TRUE, 11);
  GafParams *p = gaf_dense_get_params (net);
  float x[B * N * C], t[B], y[B * N * C], y1[N * C];
  double ref[B * N * C], feat[B][N * C + 1], ymax, d;
  g_autofree float *before = g_memdup2 (p->data, p->size * sizeof (float));
  const float *rm = view (p, "bn%d.mean", 0), *rv = view (p, "bn%d.var", 0);
  GafRng rng;

  gaf_rng_init (&rng, 12);
  random_inputs (&rng, x, t, B, N, C);
  for (int b = 0; b < B; b++)
    {
      for (int i = 0; i < N; i++)
        for (int k = 0; k < C; k++)
          feat[b][k * N + i] = x[(b * N + i) * C + k];
      feat[b][N * C] = t[b];
    }

  reference_forward (net, x, t, B, TRUE, ref);
  gaf_dense_forward (net, x, t, B, y);
  d = max_diff (y, ref, B * N * C, &ymax);
  g_test_message ("training mode: largest difference %.3g of %.3g", d, ymax);
  g_assert_cmpfloat (ymax, >, 0.1);
  g_assert_cmpfloat (d, <=, 1e-5 * ymax);
  /* the first layer's running statistics: 0.9 old + 0.1 batch (variance unbiased); the counter + 1 */
  for (int f = 0; f <= N * C; f++)
    {
      double m = 0.0, v = 0.0;
      for (int b = 0; b < B; b++)
        m += feat[b][f] / B;
      for (int b = 0; b < B; b++)
        v += (feat[b][f] - m) * (feat[b][f] - m) / (B - 1);
      g_assert_cmpfloat (fabs (rm[f] - (0.9 * before[rm - p->data + f] + 0.1 * m)), <=, 1e-6);
      g_assert_cmpfloat (fabs (rv[f] - (0.9 * before[rv - p->data + f] + 0.1 * v)), <=, 1e-6);
    }
  g_assert_cmpfloat (view (p, "bn%d.count", 0)[0], ==, 4.0f);
  g_assert_cmpfloat (view (p, "bn%d.count", 2)[0], ==, 4.0f);
  /* the trained values did not move */
  g_assert_cmpmem (p->data, p->trained * sizeof (float), before, p->trained * sizeof (float));

  /* inference: running statistics (the moved ones), the whole batch and one row alone alike */
  g_free (before);
  before = g_memdup2 (p->data, p->size * sizeof (float));
  reference_forward (net, x, t, B, FALSE, ref);
  gaf_dense_infer (net, x, t, B, y);
  d = max_diff (y, ref, B * N * C, &ymax);
  g_test_message ("running statistics: largest difference %.3g of %.3g", d, ymax);
  g_assert_cmpfloat (ymax, >, 0.1);
  g_assert_cmpfloat (d, <=, 1e-5 * ymax);
  gaf_dense_infer (net, x + 2 * N * C, t + 2, 1, y1);
  g_assert_cmpmem (y1, sizeof y1, y + 2 * N * C, sizeof y1);
  gaf_dense_set_training (net, FALSE);
  gaf_dense_forward (net, x, t, B, y);
  g_assert_cmpfloat (max_diff (y, ref, B * N * C, &ymax), <=, 1e-5 * ymax);
  /* neither changes a buffer */
  g_assert_cmpmem (p->data, p->size * sizeof (float), before, p->size * sizeof (float));

  /* a batch of one in training mode (PyTorch refuses it): every feature at its shift, the running
   * variance kept, the mean moved */
  gaf_dense_set_training (net, TRUE);
  gaf_dense_forward (net, x, t, 1, y1);
  for (int f = 0; f <= N * C; f++)
    {
      g_assert_cmpfloat (rv[f], ==, before[rv - p->data + f]);
      g_assert_cmpfloat (fabs (rm[f] - (0.9 * before[rm - p->data + f] + 0.1 * feat[0][f])), <=, 1e-6);
    }
}

/* Without hidden layers: one Linear, nothing else (the authors' Identity modules). */
static void
test_linear_only (void)
{
  enum { B = 4, N = 3, C = 4 };
  g_autoptr(GafDense) net = small_net (0, TRUE, 21);
  float x[B * N * C], t[B], y[B * N * C];
  double ref[B * N * C], ymax, d;
  gboolean negative = FALSE;
  GafRng rng;

  gaf_rng_init (&rng, 22);
  random_inputs (&rng, x, t, B, N, C);
  reference_forward (net, x, t, B, TRUE, ref);
  gaf_dense_forward (net, x, t, B, y);
  d = max_diff (y, ref, B * N * C, &ymax);
  g_assert_cmpfloat (d, <=, 1e-5 * ymax);
  for (int i = 0; i < B * N * C; i++)
    negative |= y[i] < 0.0f;
  g_assert_true (negative);   /* no ReLU on the output */
}

/* ---- backward against central differences -------------------------------------------------------- */

typedef struct {
  GafDense *net;
  float    *x, *t, *r, *y;
  int       batch;
} Ctx;

/* loss = sum r * out (forward in the network's mode) */
static double
loss_fn (gpointer data)
{
  Ctx *c = data;
  int count = c->batch * 3 * 4;

  gaf_dense_forward (c->net, c->x, c->t, c->batch, c->y);
  return dot_f (c->r, c->y, count);
}

static void
check_entries (const char *what, Ctx *ctx, float *values, const float *analytic, gsize count, double floor_)
{
  guint bad = 0;

  for (gsize i = 0; i < count; i++)
    {
      double fd = central_diff (loss_fn, ctx, values, i, 1e-3);
      double tol = 2e-2 * MAX (fabs (analytic[i]), floor_);
      if (!(fabs (fd - analytic[i]) <= tol))
        {
          if (bad++ < 5)
            g_test_message ("%s[%" G_GSIZE_FORMAT "]: analytic %.7g, numeric %.7g", what, i, analytic[i], fd);
        }
    }
  if (bad > 0)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " entries disagree with central differences", what, bad,
                        count);
}

static void
gradcheck (int n_hidden, gboolean bias, gboolean training)
{
  enum { B = 5, N = 3, C = 4 };
  g_autoptr(GafDense) net = small_net (n_hidden, bias, 31 + n_hidden);
  GafParams *p = gaf_dense_get_params (net);
  float x[B * N * C], t[B], r[B * N * C], y[B * N * C], dx[B * N * C] = { 0 }, dt[B] = { 0 };
  Ctx ctx = { net, x, t, r, y, B };
  double floor_;
  GafRng rng;

  gaf_rng_init (&rng, 32);
  random_inputs (&rng, x, t, B, N, C);
  for (int i = 0; i < B * N * C; i++)
    r[i] = (float) gaf_rng_normal (&rng);
  gaf_dense_set_training (net, training);
  gaf_params_zero_grad (p);
  gaf_dense_forward (net, x, t, B, y);
  gaf_dense_backward (net, r, dx, dt);
  /* no gradient reaches a buffer */
  for (gsize i = p->trained; i < p->size; i++)
    g_assert_cmpfloat (p->grad[i], ==, 0.0f);
  floor_ = 0.05 * max_abs (p->grad, p->trained);
  g_assert_cmpfloat (floor_, >, 0.0);
  check_entries ("parameters", &ctx, p->data, p->grad, p->trained, floor_);
  check_entries ("x", &ctx, x, dx, B * N * C, 0.05 * max_abs (dx, B * N * C));
  check_entries ("t", &ctx, t, dt, B, 0.05 * max_abs (dt, B));
}

static void
test_gradcheck_training (void)
{
  gradcheck (2, TRUE, TRUE);
  gradcheck (2, FALSE, TRUE);
}

static void
test_gradcheck_eval (void)
{
  gradcheck (2, TRUE, FALSE);
}

static void
test_gradcheck_linear_only (void)
{
  gradcheck (0, TRUE, TRUE);
}

/* ---- data parallel: BatchNorm synchronised over two processes ---------------------------------------- */

/* Two "processes" as two threads of this test, each with its own copy of the network, joined by an
 * in-process allreduce: every call waits for the other rank's call and both get slot 0 + slot 1 (in rank
 * order, so both get the same bits). Floats (the gradient) and doubles (the statistics) alike. */
typedef struct {
  GMutex  lock;
  GCond   cond;
  guint64 round;
  int     arrived;
  double  slot[2][1024], sum[1024];
  gsize   count;
  guint   calls_f64;
} Twin;

typedef struct {
  Twin        *twin;
  int          rank;
  GafDense    *net;
  const float *x, *t, *r;   /* this rank's half of the batch and of dout */
  float       *y, *dx, *dt;
  int          batch;
  double       loss;
} TwinRank;

static void
twin_sum (Twin *tw, int rank, double *data, gsize count)
{
  guint64 round;

  g_assert_cmpuint (count, <=, 1024);
  g_mutex_lock (&tw->lock);
  round = tw->round;
  memcpy (tw->slot[rank], data, count * sizeof (double));
  if (++tw->arrived == 2)
    {
      /* the last to arrive sums; the next round's sum waits for both ranks again, by when the first has
       * copied this one out */
      g_assert_cmpuint (tw->count, ==, count);   /* both ranks are in the same collective */
      for (gsize i = 0; i < count; i++)
        tw->sum[i] = tw->slot[0][i] + tw->slot[1][i];
      tw->arrived = 0;
      tw->round++;
      g_cond_broadcast (&tw->cond);
    }
  else
    {
      tw->count = count;
      while (tw->round == round)
        g_cond_wait (&tw->cond, &tw->lock);
    }
  memcpy (data, tw->sum, count * sizeof (double));
  g_mutex_unlock (&tw->lock);
}

static gboolean
twin_reduce_f64 (double *data, gsize count, gpointer user_data, GError **error)
{
  TwinRank *me = user_data;

  if (me->rank == 0)
    me->twin->calls_f64++;
  twin_sum (me->twin, me->rank, data, count);
  return TRUE;
}

static gboolean
twin_reduce_f32 (float *data, gsize count, gpointer user_data, GError **error)
{
  TwinRank *me = user_data;
  g_autofree double *d = g_new (double, count);

  for (gsize i = 0; i < count; i++)
    d[i] = data[i];
  twin_sum (me->twin, me->rank, d, count);
  for (gsize i = 0; i < count; i++)
    data[i] = (float) d[i];
  return TRUE;
}

static gpointer
twin_rank_run (gpointer data)
{
  TwinRank *me = data;
  GafParams *p = gaf_dense_get_params (me->net);
  GError *error = NULL;

  gaf_params_zero_grad (p);
  gaf_dense_forward (me->net, me->x, me->t, me->batch, me->y);
  gaf_dense_backward (me->net, me->r, me->dx, me->dt);
  me->loss = 1.0 + me->rank;
  if (!gaf_params_reduce_grad (p, &me->loss, &error))
    me->loss = NAN;
  g_clear_error (&error);
  return NULL;
}

/* Largest |a - b| over count values, and the largest |b|. */
static double
max_diff_f (const float *a, const float *b, gsize count, double *bmax)
{
  double d = 0.0;

  *bmax = 0.0;
  for (gsize i = 0; i < count; i++)
    {
      d = MAX (d, fabs ((double) a[i] - b[i]));
      *bmax = MAX (*bmax, fabs (b[i]));
    }
  return d;
}

/* Two ranks with 4 samples each and the statistics reducer compute what one network computes on the 8:
 * outputs, input gradients, the averaged parameter gradient (x 2: each rank's loss is its half's) and
 * the running statistics. Without the statistics reducer (per-rank BatchNorm, DDP without SyncBatchNorm)
 * the same split computes other outputs. */
static void
test_sync_batchnorm (void)
{
  enum { B = 8, H = B / 2, N = 3, C = 4, K = N * C };
  g_autoptr(GafDense) whole = small_net (2, TRUE, 51);
  GafDense *half[2] = { small_net (2, TRUE, 51), small_net (2, TRUE, 51) };
  GafParams *pw = gaf_dense_get_params (whole), *ph[2];
  float x[B * K], t[B], r[B * K], y[B * K], dx[B * K] = { 0 }, dt[B] = { 0 };
  float y2[B * K], dx2[B * K] = { 0 }, dt2[B] = { 0 };
  g_autofree float *g2 = NULL;
  Twin tw = { 0 };
  TwinRank rk[2];
  GThread *th[2];
  double d, m;
  GafRng rng;

  gaf_rng_init (&rng, 52);
  random_inputs (&rng, x, t, B, N, C);
  for (int i = 0; i < B * K; i++)
    r[i] = (float) gaf_rng_normal (&rng);
  gaf_params_zero_grad (pw);
  gaf_dense_forward (whole, x, t, B, y);
  gaf_dense_backward (whole, r, dx, dt);

  g_mutex_init (&tw.lock);
  g_cond_init (&tw.cond);
  for (int k = 0; k < 2; k++)
    {
      rk[k] = (TwinRank) { &tw, k, half[k], x + k * H * K, t + k * H, r + k * H * K, y2 + k * H * K,
                           dx2 + k * H * K, dt2 + k * H, H, 0.0 };
      ph[k] = gaf_dense_get_params (half[k]);
      gaf_params_set_reducer (ph[k], twin_reduce_f32, twin_reduce_f64, &rk[k], 2);
      g_assert_true (gaf_params_reduces_stats (ph[k]));
    }
  for (int k = 0; k < 2; k++)
    th[k] = g_thread_new ("rank", twin_rank_run, &rk[k]);
  for (int k = 0; k < 2; k++)
    g_thread_join (th[k]);
  /* forward: two reductions in each of 3 layers; backward: one in each layer that passes a gradient on
   * (all 3: dx is wanted); then the gradient (float, not counted) */
  g_assert_cmpuint (tw.calls_f64, ==, 9);
  g_assert_cmpfloat (rk[0].loss, ==, 1.5);
  g_assert_cmpfloat (rk[1].loss, ==, 1.5);

  d = max_diff_f (y2, y, B * K, &m);
  g_test_message ("outputs: largest difference %.3g of values up to %.3g", d, m);
  g_assert_cmpfloat (d, <=, 1e-6 * m);
  d = max_diff_f (dx2, dx, B * K, &m);
  g_test_message ("dx: largest difference %.3g of values up to %.3g", d, m);
  g_assert_cmpfloat (d, <=, 1e-5 * m);
  d = max_diff_f (dt2, dt, B, &m);
  g_assert_cmpfloat (d, <=, 1e-5 * m);
  /* the averaged gradient of the two half losses is half the gradient of the whole batch's sum */
  g2 = g_new (float, pw->trained);
  for (gsize i = 0; i < pw->trained; i++)
    g2[i] = 2.0f * ph[0]->grad[i];
  d = max_diff_f (g2, pw->grad, pw->trained, &m);
  g_test_message ("parameter gradient: largest difference %.3g of values up to %.3g", d, m);
  g_assert_cmpfloat (d, <=, 1e-5 * m);
  g_assert_cmpmem (ph[0]->grad, pw->trained * sizeof (float), ph[1]->grad, pw->trained * sizeof (float));
  /* the running statistics: the global batch's, the same bits on both ranks */
  g_assert_cmpmem (ph[0]->data + pw->trained, (pw->size - pw->trained) * sizeof (float),
                   ph[1]->data + pw->trained, (pw->size - pw->trained) * sizeof (float));
  d = max_diff_f (ph[0]->data + pw->trained, pw->data + pw->trained, pw->size - pw->trained, &m);
  g_test_message ("running statistics: largest difference %.3g of values up to %.3g", d, m);
  g_assert_cmpfloat (d, <=, 1e-6 * m);
  g_assert_cmpfloat (view (ph[0], "bn%d.count", 2)[0], ==, 4.0f);

  /* per-rank statistics: the halves normalise differently (what the reducer is there to prevent) */
  for (int k = 0; k < 2; k++)
    {
      gaf_dense_free (half[k]);
      half[k] = small_net (2, TRUE, 51);
      gaf_params_set_reducer (gaf_dense_get_params (half[k]), twin_reduce_f32, NULL, &rk[k], 2);
      g_assert_false (gaf_params_reduces_stats (gaf_dense_get_params (half[k])));
      gaf_dense_forward (half[k], x + k * H * K, t + k * H, H, y2 + k * H * K);
    }
  d = max_diff_f (y2, y, B * K, &m);
  g_test_message ("per-rank statistics: outputs differ by up to %.3g of values up to %.3g", d, m);
  g_assert_cmpfloat (d, >, 1e-2 * m);
  for (int k = 0; k < 2; k++)
    gaf_dense_free (half[k]);
  g_mutex_clear (&tw.lock);
  g_cond_clear (&tw.cond);
}

/* Adam and the weight average leave the buffers to the network; a checkpoint keeps them. */
static void
test_buffers_in_arena (void)
{
  enum { B = 8, N = 3, C = 4 };
  g_autoptr(GafDense) net = small_net (2, TRUE, 41);
  g_autoptr(GafDense) back = small_net (2, TRUE, 42);
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = g_build_filename (g_get_tmp_dir (), "gaf-test-dense.gafck", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafParams *p = gaf_dense_get_params (net), *q = gaf_dense_get_params (back);
  float x[B * N * C], t[B], y[B * N * C], r[B * N * C];
  GafAdamConfig adam = GAF_ADAM_DEFAULTS;
  g_autofree float *after = NULL;
  GafRng rng;

  gaf_rng_init (&rng, 43);
  random_inputs (&rng, x, t, B, N, C);
  for (int i = 0; i < B * N * C; i++)
    r[i] = (float) gaf_rng_normal (&rng);
  gaf_params_ema_update (p, 0.9);
  for (int s = 0; s < 3; s++)
    {
      gaf_params_zero_grad (p);
      gaf_dense_forward (net, x, t, B, y);
      gaf_dense_backward (net, r, NULL, NULL);
      after = g_memdup2 (p->data, p->size * sizeof (float));
      gaf_adam_step (p, &adam);
      gaf_params_ema_update (p, 0.9);
      /* Adam moved the trained values only; the average copied the buffers */
      g_assert_cmpmem (p->data + p->trained, (p->size - p->trained) * sizeof (float), after + p->trained,
                       (p->size - p->trained) * sizeof (float));
      g_assert_true (memcmp (p->data, after, p->trained * sizeof (float)) != 0);
      g_assert_cmpmem (p->ema + p->trained, (p->size - p->trained) * sizeof (float), after + p->trained,
                       (p->size - p->trained) * sizeof (float));
      g_clear_pointer (&after, g_free);
    }
  g_assert_cmpfloat (view (p, "bn%d.count", 1)[0], ==, 6.0f);
  g_assert_true (gaf_checkpoint_save (path, kf, p, &rng, 3, &error));
  g_assert_no_error (error);
  ck = gaf_checkpoint_load (path, &error);
  g_assert_no_error (error);
  g_assert_true (gaf_checkpoint_restore (ck, q, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (p->data, p->size * sizeof (float), q->data, q->size * sizeof (float));
  g_assert_cmpmem (p->ema, p->size * sizeof (float), q->ema, q->size * sizeof (float));
  g_unlink (path);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/dense/sizes", test_sizes);
  g_test_add_func ("/engine/dense/batchnorm-modes", test_batchnorm_modes);
  g_test_add_func ("/engine/dense/linear-only", test_linear_only);
  g_test_add_func ("/engine/dense/gradcheck-training", test_gradcheck_training);
  g_test_add_func ("/engine/dense/gradcheck-eval", test_gradcheck_eval);
  g_test_add_func ("/engine/dense/gradcheck-linear-only", test_gradcheck_linear_only);
  g_test_add_func ("/engine/dense/buffers-in-arena", test_buffers_in_arena);
  g_test_add_func ("/engine/dense/sync-batchnorm", test_sync_batchnorm);
  return g_test_run ();
}
