/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-engine.h"
#include "gaf-test-util.h"

/* Jump flows (gaf-jump.h): schedulers, the path's law, the cross-entropy and its gradient through every
 * trunk, and the sampler against the exact denoiser of a factorised target. */

/* ---- schedulers ---------------------------------------------------------------------------------- */

static void
kappa_case (GafJumpConfig *cfg, guint i)
{
  gaf_jump_config_init (cfg);
  switch (i)
    {
    case 0: cfg->kappa = GAF_KAPPA_LINEAR; break;
    case 1: cfg->kappa = GAF_KAPPA_POLY; cfg->exponent = 2.0; break;
    case 2: cfg->kappa = GAF_KAPPA_POLY; cfg->exponent = 0.5; break;
    default: cfg->kappa = GAF_KAPPA_COSINE; break;
    }
}

#define N_KAPPA_CASES 4

static void
test_kappa (void)
{
  /* kappa_0 = 0, kappa_1 = 1, increasing; kappa' against central differences (step 1e-6, tolerance 1e-6
   * relative to max(1, |kappa'|)); the Euler jump probability h kappa'/(1 - kappa) inside (0, 1) and 1 on the
   * last step of every grid. */
  for (guint i = 0; i < N_KAPPA_CASES; i++)
    {
      GafJumpConfig cfg;
      kappa_case (&cfg, i);
      g_assert_cmpfloat (fabs (gaf_kappa_value (&cfg, 0.0)), <, 1e-15);
      g_assert_cmpfloat (fabs (gaf_kappa_value (&cfg, 1.0) - 1.0), <, 1e-15);
      for (int s = 1; s < 10; s++)
        {
          double t = s / 10.0, e = 1e-6, h = 0.05;
          double fd = (gaf_kappa_value (&cfg, t + e) - gaf_kappa_value (&cfg, t - e)) / (2 * e);
          double r = gaf_kappa_rate (&cfg, t), k = gaf_kappa_value (&cfg, t);
          g_assert_cmpfloat (fabs (fd - r), <, 1e-6 * MAX (1.0, fabs (r)));
          g_assert_cmpfloat (k, >, gaf_kappa_value (&cfg, t - 0.1));
          g_assert_cmpfloat (fabs (gaf_jump_probability (&cfg, t, h) - MIN (1.0, h * r / (1.0 - k))), <, 1e-12);
        }
      for (int steps = 1; steps <= 100; steps++)
        g_assert_cmpfloat (gaf_jump_probability (&cfg, (steps - 1) * (1.0 / steps), 1.0 / steps), ==, 1.0);
    }
  {
    GafJumpConfig cfg;
    gaf_jump_config_init (&cfg);
    /* kappa = t: h / (1 - t) */
    g_assert_cmpfloat (fabs (gaf_jump_probability (&cfg, 0.5, 0.1) - 0.2), <, 1e-12);
    cfg.steps = 0;
    g_assert_false (gaf_jump_config_check (&cfg, NULL));
  }
}

/* ---- path ---------------------------------------------------------------------------------------- */

static void
test_path (void)
{
  /* P(x_t = x1 | t) = kappa_t + (1 - kappa_t) p_0(x1): the residual [x_t = x1] - that has mean 0 and
   * variance <= 1/4 per position, so its mean over N positions is within 5 / (2 sqrt N) (5 sigma). The masked
   * source leaves every position either x1 or the mask; t is U(0, 1) (mean within 5 sigma of 1/2). */
  const int B = 20000, n = 3, c = 7;
  g_autofree guint16 *labels = g_new (guint16, B * n), *xt = g_new (guint16, B * n);
  g_autofree float *t = g_new (float, B);

  for (int src = 0; src < 2; src++)
    for (guint kc = 0; kc < N_KAPPA_CASES; kc++)
      {
        GafJumpSource source = src == 0 ? GAF_JUMP_MASKED : GAF_JUMP_UNIFORM;
        GafJumpConfig cfg;
        GafRng rng;
        double resid = 0.0, tmean = 0.0;

        kappa_case (&cfg, kc);
        gaf_rng_init (&rng, 31 + kc + 10 * src);
        for (int r = 0; r < B * n; r++)
          labels[r] = (guint16) gaf_rng_below (&rng, c);
        gaf_jump_path_sample (&cfg, source, &rng, labels, B, n, c, t, xt);
        for (int b = 0; b < B; b++)
          {
            double k = gaf_kappa_value (&cfg, t[b]);
            double p_keep = k + (1.0 - k) * (source == GAF_JUMP_MASKED ? 0.0 : 1.0 / c);
            g_assert_cmpfloat (t[b], >=, 0.0f);
            g_assert_cmpfloat (t[b], <, 1.0f);
            tmean += t[b] / B;
            for (int i = 0; i < n; i++)
              {
                guint16 x = xt[b * n + i];
                if (source == GAF_JUMP_MASKED)
                  g_assert_true (x == labels[b * n + i] || x == GAF_JUMP_MASK (c));
                else
                  g_assert_cmpuint (x, <, c);
                resid += ((x == labels[b * n + i]) - p_keep) / (B * n);
              }
          }
        g_assert_cmpfloat (fabs (resid), <, 5.0 / (2.0 * sqrt ((double) B * n)));
        g_assert_cmpfloat (fabs (tmean - 0.5), <, 5.0 * sqrt (1.0 / 12.0 / B));
      }
}

/* ---- cross-entropy ------------------------------------------------------------------------------- */

typedef struct {
  float         *logits;
  const guint16 *labels, *xt;
  int            batch, n, c;
} CeCtx;

static double
ce_loss (gpointer data)
{
  CeCtx *x = data;
  return gaf_jump_cross_entropy (x->logits, x->labels, x->xt, x->batch, x->n, x->c, NULL);
}

static void
test_cross_entropy (void)
{
  /* Counted rows: the masked ones (or all); its value against a direct double sum, its gradient against
   * central differences (step 1e-3, tolerance 1e-3 relative to max(|g|, 0.05 max |g|)), zero gradient on
   * rows not counted, and the all-rows form equal to the baselines' cross-entropy. */
  const int B = 5, n = 3, c = 6;
  const gsize rows = (gsize) B * n;
  g_autofree float *logits = g_new (float, rows * c), *d = g_new (float, rows * c), *d2 = g_new (float, rows * c);
  g_autofree guint16 *labels = g_new (guint16, rows), *xt = g_new (guint16, rows);
  GafRng rng;
  double direct = 0.0, loss;
  guint counted = 0;
  CeCtx ctx = { logits, labels, xt, B, n, c };

  gaf_rng_init (&rng, 41);
  fill_uniform (&rng, logits, rows * c, -2.0, 2.0);
  for (gsize r = 0; r < rows; r++)
    {
      labels[r] = (guint16) gaf_rng_below (&rng, c);
      xt[r] = r % 3 == 0 ? labels[r] : GAF_JUMP_MASK (c);
    }
  for (gsize r = 0; r < rows; r++)
    if (xt[r] == GAF_JUMP_MASK (c))
      {
        double s = 0.0;
        for (int j = 0; j < c; j++)
          s += exp (logits[r * c + j]);
        direct += (log (s) - logits[r * c + labels[r]]) / B;
        counted++;
      }
  g_assert_cmpuint (counted, ==, 10);
  loss = gaf_jump_cross_entropy (logits, labels, xt, B, n, c, d);
  g_assert_cmpfloat (fabs (loss - direct), <, 1e-6 * direct);
  for (gsize r = 0; r < rows; r++)
    if (xt[r] != GAF_JUMP_MASK (c))
      for (int j = 0; j < c; j++)
        g_assert_cmpfloat (d[r * c + j], ==, 0.0f);
  {
    float floor_ = 0.05f * max_abs (d, rows * c);
    for (gsize i = 0; i < rows * c; i++)
      {
        double fd = central_diff (ce_loss, &ctx, logits, i, 1e-3);
        g_assert_cmpfloat (fabs (fd - d[i]), <=, 1e-3 * MAX (fabs (d[i]), floor_) + 1e-6);
      }
  }
  /* all rows: the baselines' cross-entropy */
  loss = gaf_jump_cross_entropy (logits, labels, NULL, B, n, c, d);
  g_assert_cmpfloat (fabs (loss - gaf_cross_entropy_loss (logits, labels, B, n, c, d2)), <, 1e-9 * loss);
  for (gsize i = 0; i < rows * c; i++)
    g_assert_cmpfloat (fabs (d[i] - d2[i]), <, 1e-7);
}

/* ---- the cross-entropy through every trunk --------------------------------------------------------- */

typedef struct {
  GafNet  *net;
  int      batch, n, c;
  guint16 *labels, *xt;
  float   *t, *in, *out;
  gboolean masked;
} TrunkCtx;

static double
trunk_loss (gpointer data)
{
  TrunkCtx *x = data;

  gaf_net_forward (x->net, x->in, x->t, x->batch, x->out);
  return gaf_jump_cross_entropy (x->out, x->labels, x->masked ? x->xt : NULL, x->batch, x->n, x->c, NULL);
}

/* The parameter gradient of the jump cross-entropy through `net` (in_channels = c + 1 masked, c uniform)
 * against central differences: every entry when per_view is 0, else per_view random entries of every
 * tensor (check_param_grad's tolerance rule, step h). */
static void
check_trunk (GafNet *net, gboolean masked, int batch, int per_view, double h, double rtol, guint64 seed)
{
  GafParams *p = gaf_net_get_params (net);
  TrunkCtx x = { net, batch, net->n, net->out_channels };
  GafJumpSource source = masked ? GAF_JUMP_MASKED : GAF_JUMP_UNIFORM;
  GafJumpConfig cfg;
  gsize rows = (gsize) batch * net->n;
  g_autofree float *dout = g_new (float, rows * x.c), *grad = NULL;
  g_autofree gsize *which = NULL;
  gsize n_which = 0;
  GafRng rng;

  g_assert_cmpint (net->in_channels, ==, gaf_jump_in_channels (source, x.c));
  gaf_jump_config_init (&cfg);
  gaf_rng_init (&rng, seed);
  x.masked = masked;
  x.labels = g_new (guint16, rows);
  x.xt = g_new (guint16, rows);
  x.t = g_new (float, batch);
  x.in = g_new (float, rows * net->in_channels);
  x.out = g_new (float, rows * x.c);
  for (gsize r = 0; r < rows; r++)
    x.labels[r] = (guint16) gaf_rng_below (&rng, x.c);
  gaf_jump_path_sample (&cfg, source, &rng, x.labels, batch, x.n, x.c, x.t, x.xt);
  gaf_jump_encode (x.xt, rows, net->in_channels, x.in);

  gaf_params_zero_grad (p);
  gaf_net_forward (net, x.in, x.t, batch, x.out);
  gaf_jump_cross_entropy (x.out, x.labels, masked ? x.xt : NULL, batch, x.n, x.c, dout);
  gaf_net_backward (net, dout, NULL, NULL);
  grad = g_memdup2 (p->grad, p->size * sizeof (float));
  if (per_view > 0)
    {
      which = g_new (gsize, (gsize) per_view * p->views->len);
      for (guint vi = 0; vi < p->views->len; vi++)
        {
          const GafParamView *v = &g_array_index (p->views, GafParamView, vi);
          for (int k = 0; k < per_view; k++)
            which[n_which++] = v->offset + gaf_rng_below (&rng, (guint32) v->size);
        }
    }
  check_param_grad (p, trunk_loss, &x, grad, which, n_which, h, rtol);
  g_free (x.labels);
  g_free (x.xt);
  g_free (x.t);
  g_free (x.in);
  g_free (x.out);
}

static void
test_grad_toy_cnn (void)
{
  /* small enough that every parameter is checked; masked (input c + 1) and uniform (input c) */
  for (int m = 0; m < 2; m++)
    {
      GafToyCnnConfig cfg;
      g_autoptr(GafToyCnn) net = NULL;
      gaf_toy_cnn_config_init (&cfg, 4, 3);
      cfg.in_channels = m == 0 ? 4 : 3;
      cfg.hidden = 8;
      cfg.fourier_half = 4;
      cfg.position_bias = TRUE;
      cfg.input_scale = sqrt (3.0);
      net = gaf_toy_cnn_new (&cfg, 51 + m);
      check_trunk (GAF_NET (net), m == 0, 3, 0, 1e-3, 2e-2, 52 + m);
    }
}

static void
test_grad_mlp (void)
{
  for (int m = 0; m < 2; m++)
    {
      GafMlpConfig cfg;
      g_autoptr(GafMlp) net = NULL;
      gaf_mlp_config_init (&cfg, 2, 4);
      cfg.in_channels = m == 0 ? 5 : 4;
      cfg.hidden = 16;
      cfg.depth = 2;
      cfg.input_scale = 2.0;
      net = gaf_mlp_new (&cfg, 61 + m);
      check_trunk (GAF_NET (net), m == 0, 4, 0, 1e-3, 2e-2, 62 + m);
    }
}

static void
test_grad_unet (void)
{
  /* a small UNet with the mask channel (in_channels = c + 1 = 3), zero-initialised layers randomised so
   * that no tensor's gradient is zero; 4 entries per tensor, step 1e-2 (float rounding of the deep forward
   * pass, as in test-unet) and tolerance 3e-2 */
  GafUnetConfig cfg;
  g_autoptr(GafUnet) net = NULL;
  g_autoptr(GError) error = NULL;

  gaf_unet_config_init (&cfg, 2, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=8,mult=1,2,blocks=1,groups=4", &error));
  g_assert_no_error (error);
  cfg.in_channels = 3;
  g_assert_true (gaf_unet_config_check (&cfg, &error));
  net = gaf_unet_new (&cfg, 71);
  gaf_unet_randomize_zero_init (net, 72);
  gaf_unet_set_winograd (net, 2);
  g_assert_cmpint (GAF_NET (net)->in_channels, ==, 3);
  g_assert_cmpint (GAF_NET (net)->out_channels, ==, 2);
  check_trunk (GAF_NET (net), TRUE, 2, 4, 1e-2, 3e-2, 73);
}

static void
test_unet_in_channels_keyfile (void)
{
  /* in_channels survives the model factory's key file, and is absent when it equals classes */
  GafModelConfig mc, back;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GafNet) net = NULL;

  gaf_model_config_init (&mc, GAF_MODEL_UNET, 64, 2, 5);
  g_assert_true (gaf_unet_config_parse (&mc.unet, "channels=8,mult=1,2,blocks=1,groups=4", &error));
  mc.unet.in_channels = 3;
  gaf_model_config_to_keyfile (&mc, kf);
  g_assert_true (gaf_model_config_from_keyfile (&back, kf, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.unet.in_channels, ==, 3);
  net = gaf_model_new (&back, &error);
  g_assert_no_error (error);
  g_assert_cmpint (net->in_channels, ==, 3);
  g_assert_cmpint (net->out_channels, ==, 2);
  mc.unet.in_channels = 0;
  gaf_model_config_to_keyfile (&mc, kf);
  g_assert_false (g_key_file_has_key (kf, "model", "in_channels", NULL));
  g_key_file_set_integer (kf, "model", "in_channels", 5000);
  g_assert_false (gaf_model_config_from_keyfile (&back, kf, &error));
  g_assert_nonnull (error);
}

/* ---- the exact denoiser of a factorised target ------------------------------------------------------ */

/* Positions independent with marginals q_i: p(x1 = y | x_t) = q_i(y) for a masked position and delta_x for
 * an unmasked one (masked source); q_i(y) (kappa [y = x] + (1 - kappa) / c) normalised (uniform source).
 * Output: the log of it (-80 for probability 0, which softmax turns into e^-80). */
typedef struct {
  GafNet                parent;
  const GafClassTarget *target;
  GafJumpSource         source;
  GafJumpConfig         cfg;
} ExactNet;

static void
exact_infer (GafNet *net, const float *in, const float *t, int batch, float *out)
{
  ExactNet *e = (ExactNet *) net;
  int n = net->n, c = net->out_channels, ic = net->in_channels;

  for (int b = 0; b < batch; b++)
    {
      double k = gaf_kappa_value (&e->cfg, t[b]);
      for (int i = 0; i < n; i++)
        {
          const float *x = in + ((gsize) b * n + i) * ic;
          float *l = out + ((gsize) b * n + i) * c;
          const double *q = e->target->q + (gsize) i * c;
          int cur = (int) gaf_argmax (x, ic);
          for (int y = 0; y < c; y++)
            {
              if (e->source == GAF_JUMP_MASKED)
                l[y] = cur == c ? (float) log (q[y]) : (y == cur ? 0.0f : -80.0f);
              else
                l[y] = (float) (log (q[y]) + log (k * (y == cur) + (1.0 - k) / c));
            }
        }
    }
}

static void
exact_free (GafNet *net)
{
  g_free (net);
}

static const GafNetClass exact_class = { "exact-denoiser", exact_infer, exact_infer, NULL, exact_free };

static GafNet *
exact_net_new (const GafClassTarget *target, GafJumpSource source, const GafJumpConfig *cfg)
{
  ExactNet *e = g_new0 (ExactNet, 1);

  e->parent.klass = &exact_class;
  e->parent.n = target->n;
  e->parent.in_channels = gaf_jump_in_channels (source, target->c);
  e->parent.out_channels = target->c;
  e->target = target;
  e->source = source;
  e->cfg = *cfg;
  return GAF_NET (e);
}

static void
test_exact_denoiser (void)
{
  /* With the exact denoiser every Euler step of this factorised chain carries the marginal p_t exactly to
   * p_{t+h} (with kappa = t; derivation in docs/class-scaling.md), so for every step count the sampled
   * marginals are q up to sampling noise: KL(q_hat || q) within 4 times the floor (c - 1)/(2N) (measured:
   * 0.3 to 1.3 times) and below a twentieth of the uniform sampler's KL. Nothing stays masked. */
  static const int cs[] = { 5, 40 };
  static const int steps[] = { 1, 2, 3, 7, 100 };
  const int n = 4;
  const guint64 N = 20000;

  for (guint ci = 0; ci < G_N_ELEMENTS (cs); ci++)
    for (int src = 0; src < 2; src++)
      for (guint si = 0; si < G_N_ELEMENTS (steps); si++)
        {
          int c = cs[ci];
          GafJumpSource source = src == 0 ? GAF_JUMP_MASKED : GAF_JUMP_UNIFORM;
          g_autoptr(GafClassTarget) target = gaf_class_target_new (n, c, 81 + c);
          g_autoptr(GafNet) net = NULL;
          g_autofree guint16 *labels = g_new (guint16, N * n);
          g_autofree float *pf = g_new (float, N * n * c);
          g_autofree guint64 *counts = g_new (guint64, n * c);
          g_autoptr(GError) error = NULL;
          GafJumpConfig cfg;
          double kl, ku, floor_;
          GafRng rng;

          if (c == 40 && steps[si] == 100)
            continue;   /* the same check at c = 5; keeps the test to seconds */
          gaf_jump_config_init (&cfg);
          cfg.steps = steps[si];
          net = exact_net_new (target, source, &cfg);
          gaf_rng_init (&rng, 82 + si);
          g_assert_true (gaf_jump_sample (source, &cfg, net, &rng, N, 4096, labels, pf, NULL, NULL, NULL, NULL,
                                          &error));
          g_assert_no_error (error);
          for (guint64 r = 0; r < N * n; r++)
            {
              double s = 0.0;
              g_assert_cmpuint (labels[r], <, c);
              for (int j = 0; j < c; j++)
                s += pf[r * c + j];
              g_assert_cmpfloat (fabs (s - 1.0), <, 1e-4);
            }
          gaf_histogram (labels, N, n, c, counts);
          kl = gaf_kl_from_counts (counts, N, target->q, n, c);
          ku = gaf_class_target_kl_uniform (target);
          floor_ = gaf_kl_floor (c, N);
          g_test_message ("%s, c = %d, %d steps: KL %.5f (floor %.5f, uniform %.5f)",
                          source == GAF_JUMP_MASKED ? "masked" : "uniform", c, steps[si], kl, floor_, ku);
          g_assert_cmpfloat (kl, <, 4 * floor_);
          g_assert_cmpfloat (kl, <, ku / 20);
        }
}

static void
test_masked_schedule (void)
{
  /* The share of positions still masked after step k is 1 - kappa(t_{k+1}) for kappa = t (the Euler
   * probability h / (1 - t) is the exact one): within 5 sigma of a binomial share over 40,000 positions;
   * the trace starts all masked with the uniform prediction and ends with none masked. Every scheduler and
   * step count ends with nothing masked, also with an untrained network. */
  const int n = 4, c = 5;
  const guint64 N = 10000;
  g_autoptr(GafClassTarget) target = gaf_class_target_new (n, c, 91);
  g_autofree guint16 *labels = g_new (guint16, N * n);
  g_autofree guint *rows = g_new (guint, N * n);
  GafJumpConfig cfg;
  GafRng rng;

  for (guint r = 0; r < N * n; r++)
    rows[r] = r;
  gaf_jump_config_init (&cfg);
  cfg.steps = 7;
  {
    g_autoptr(GafNet) net = exact_net_new (target, GAF_JUMP_MASKED, &cfg);
    g_autoptr(GafJumpTrace) trace = gaf_jump_trace_new (rows, N * n);
    g_autoptr(GError) error = NULL;

    gaf_rng_init (&rng, 92);
    g_assert_true (gaf_jump_sample (GAF_JUMP_MASKED, &cfg, net, &rng, N, (int) N, labels, NULL, trace, NULL, NULL,
                                    NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (trace->times->len, ==, cfg.steps + 1);
    g_assert_cmpuint (trace->state->len, ==, (cfg.steps + 1) * N * n);
    g_assert_cmpuint (trace->p->len, ==, (cfg.steps + 1) * N * n * c);
    g_assert_cmpfloat (g_array_index (trace->p, float, 0), ==, 1.0f / c);
    for (guint k = 0; k <= (guint) cfg.steps; k++)
      {
        double t = g_array_index (trace->times, double, k), share = 0.0, expect = 1.0 - t;
        for (guint r = 0; r < N * n; r++)
          share += (g_array_index (trace->state, guint16, (gsize) k * N * n + r) == GAF_JUMP_MASK (c)) / (double) (N * n);
        g_assert_cmpfloat (fabs (t - k / 7.0), <, 1e-12);
        g_test_message ("t = %.3f: masked %.4f, 1 - kappa %.4f", t, share, expect);
        g_assert_cmpfloat (fabs (share - expect), <=, 5.0 * sqrt (expect * (1 - expect) / (N * n)) + 1e-9);
      }
  }
  for (guint kc = 0; kc < N_KAPPA_CASES; kc++)
    for (int steps = 1; steps <= 8; steps++)
      {
        GafToyCnnConfig ncfg;
        g_autoptr(GafToyCnn) net = NULL;
        g_autoptr(GError) error = NULL;

        kappa_case (&cfg, kc);
        cfg.steps = steps == 8 ? 100 : steps;
        gaf_toy_cnn_config_init (&ncfg, n, c);
        ncfg.in_channels = c + 1;
        ncfg.hidden = 8;
        ncfg.fourier_half = 4;
        net = gaf_toy_cnn_new (&ncfg, 93);
        gaf_rng_init (&rng, 94);
        g_assert_true (gaf_jump_sample (GAF_JUMP_MASKED, &cfg, GAF_NET (net), &rng, 200, 64, labels, NULL, NULL,
                                        NULL, NULL, NULL, &error));
        g_assert_no_error (error);
        for (guint r = 0; r < 200 * n; r++)
          g_assert_cmpuint (labels[r], <, c);
      }
}

static void
test_deterministic (void)
{
  /* the same seed gives the same samples, bit for bit; another seed others */
  const int n = 4, c = 5;
  g_autoptr(GafClassTarget) target = gaf_class_target_new (n, c, 95);
  g_autofree guint16 *a = g_new (guint16, 500 * n), *b = g_new (guint16, 500 * n);
  GafJumpConfig cfg;
  GafRng rng;

  gaf_jump_config_init (&cfg);
  for (int src = 0; src < 2; src++)
    {
      GafJumpSource source = src == 0 ? GAF_JUMP_MASKED : GAF_JUMP_UNIFORM;
      g_autoptr(GafNet) net = exact_net_new (target, source, &cfg);
      gaf_rng_init (&rng, 96);
      g_assert_true (gaf_jump_sample (source, &cfg, net, &rng, 500, 100, a, NULL, NULL, NULL, NULL, NULL, NULL));
      gaf_rng_init (&rng, 96);
      g_assert_true (gaf_jump_sample (source, &cfg, net, &rng, 500, 100, b, NULL, NULL, NULL, NULL, NULL, NULL));
      g_assert_cmpmem (a, 500 * n * sizeof (guint16), b, 500 * n * sizeof (guint16));
      gaf_rng_init (&rng, 97);
      g_assert_true (gaf_jump_sample (source, &cfg, net, &rng, 500, 100, b, NULL, NULL, NULL, NULL, NULL, NULL));
      g_assert_true (memcmp (a, b, 500 * n * sizeof (guint16)) != 0);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/jump/kappa", test_kappa);
  g_test_add_func ("/engine/jump/path", test_path);
  g_test_add_func ("/engine/jump/cross-entropy", test_cross_entropy);
  g_test_add_func ("/engine/jump/grad-toy-cnn", test_grad_toy_cnn);
  g_test_add_func ("/engine/jump/grad-mlp", test_grad_mlp);
  g_test_add_func ("/engine/jump/grad-unet", test_grad_unet);
  g_test_add_func ("/engine/jump/unet-in-channels", test_unet_in_channels_keyfile);
  g_test_add_func ("/engine/jump/exact-denoiser", test_exact_denoiser);
  g_test_add_func ("/engine/jump/masked-schedule", test_masked_schedule);
  g_test_add_func ("/engine/jump/deterministic", test_deterministic);
  return g_test_run ();
}
