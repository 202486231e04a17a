/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gaf-engine.h"
#include "gaf-parallel.h"

/* Coupled joints (docs/method.md §5): the small MLP of docs/method.md §3 (gradients against central differences, batch
 * split over threads), CSV tables good and bad, the text loader, the built-in 2-D densities, the
 * joint and marginal KLs and the mutual information on hand-computed examples, and a short GAF run
 * on two coupled binary variables. */

static void
fill_uniform (GafRng *rng, float *x, gsize count, double lo, double hi)
{
  for (gsize i = 0; i < count; i++)
    x[i] = (float) (lo + (hi - lo) * gaf_rng_uniform (rng));
}

static double
dot_f (const float *a, const float *b, gsize count)
{
  double s = 0.0;

  for (gsize i = 0; i < count; i++)
    s += (double) a[i] * b[i];
  return s;
}

/* ---- MLP ------------------------------------------------------------------------------------- */

static void
test_mlp_param_count (void)
{
  GafMlpConfig cfg;

  /* n = c = 2, H = 256, depth 2: D = 4 + 1 + 2 * 4 = 13 inputs;
   * 13*256 + 256 + 2*256 (LN) + 256*256 + 256 + 2*256 (LN) + 256*4 + 4 = 71,428 */
  gaf_mlp_config_init (&cfg, 2, 2);
  g_assert_cmpint (cfg.depth, ==, 3);
  g_assert_cmpuint (gaf_mlp_param_count (&cfg), ==, 71428 + 256 * 256 + 256 + 2 * 256);
  cfg.depth = 2;
  g_assert_cmpuint (gaf_mlp_param_count (&cfg), ==, 71428);
  cfg.layernorm = FALSE;
  g_assert_cmpuint (gaf_mlp_param_count (&cfg), ==, 71428 - 4 * 256);
  /* n = 2, c = 91, depth 2: D = 182 + 9 = 191; 191*256 + 256 + 512 + 65792 + 512 + 256*182 + 182 */
  gaf_mlp_config_init (&cfg, 2, 91);
  cfg.depth = 2;
  g_assert_cmpuint (gaf_mlp_param_count (&cfg), ==, 191 * 256 + 256 + 512 + 65792 + 512 + 256 * 182 + 182);
  {
    g_autoptr(GafMlp) net = gaf_mlp_new (&cfg, 1);
    GafNet *base = GAF_NET (net);
    g_assert_cmpstr (base->klass->name, ==, "mlp");
    g_assert_cmpint (base->n, ==, 2);
    g_assert_cmpint (base->in_channels, ==, 91);
    g_assert_cmpint (base->out_channels, ==, 91);
    g_assert_cmpuint (base->params->size, ==, gaf_mlp_param_count (&cfg));
  }
  {
    g_autoptr(GError) error = NULL;
    gaf_mlp_config_init (&cfg, 2, 2);
    cfg.depth = 0;
    g_assert_false (gaf_mlp_config_check (&cfg, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  }
}

/* An MLP with LayerNorm gains and biases moved off 1 and 0, so a backward that forgets the gain
 * cannot pass by accident. */
static GafMlp *
new_test_mlp (const GafMlpConfig *cfg, guint64 seed)
{
  GafMlp *net = gaf_mlp_new (cfg, seed);
  GafParams *p = gaf_mlp_get_params (net);
  GafRng rng;

  gaf_rng_init (&rng, seed + 11);
  for (guint vi = 0; vi < p->views->len; vi++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, vi);
      if (g_str_has_prefix (v->name, "norm") && g_str_has_suffix (v->name, ".g"))
        fill_uniform (&rng, p->data + v->offset, v->size, 0.5, 1.5);
      else if (g_str_has_prefix (v->name, "norm"))
        fill_uniform (&rng, p->data + v->offset, v->size, -0.3, 0.3);
    }
  return net;
}

/* The GAF loss of a fixed path sample as a function of the parameters. */
typedef struct {
  GafMlp       *net;
  GafPathConfig path;
  int           batch, n, c;
  float        *t, *w, *u, *f;
} LossCtx;

static double
gaf_loss (gpointer data)
{
  LossCtx *x = data;

  gaf_mlp_forward (x->net, x->w, x->t, x->batch, x->f);
  return gaf_path_loss (&x->path, x->w, x->f, x->u, x->batch, x->n, x->c, NULL);
}

static double
central_diff (double (*loss) (gpointer), gpointer ctx, float *x, gsize i, double h)
{
  float orig = x[i];
  double lp, lm, hp, hm;

  x[i] = (float) (orig + h);
  hp = (double) x[i] - orig;
  lp = loss (ctx);
  x[i] = (float) (orig - h);
  hm = (double) orig - x[i];
  lm = loss (ctx);
  x[i] = orig;
  return (lp - lm) / (hp + hm);
}

/* Each entry is compared with central differences at steps h and h/2; it passes when either agrees
 * with the analytic value a within rtol |a| + 0.01 RMS(view). ReLU kinks make a quotient wrong when a
 * step crosses one: an entry whose two quotients disagree with each other by more than a quarter of
 * the tolerance is not judged, but such entries must stay rare (at most 3%). A wrong backward gives
 * two consistent quotients that disagree with it, which fails. */
static void
check_grad (const char *what, double (*loss) (gpointer), gpointer ctx, float *x, const float *analytic,
            gsize count, double h, double rtol)
{
  double rms = 0.0, atol;
  guint bad = 0, skipped = 0;

  for (gsize i = 0; i < count; i++)
    rms += (double) analytic[i] * analytic[i];
  rms = sqrt (rms / count);
  g_assert_cmpfloat (rms, >, 0.0);   /* an identically zero gradient proves nothing */
  atol = 0.01 * rms;
  for (gsize i = 0; i < count; i++)
    {
      double a = analytic[i], tol = rtol * fabs (a) + atol, fd1, fd2;

      fd1 = central_diff (loss, ctx, x, i, h);
      if (fabs (fd1 - a) <= tol)
        continue;
      fd2 = central_diff (loss, ctx, x, i, h / 2);
      if (fabs (fd2 - a) <= tol)
        continue;
      if (fabs (fd1 - fd2) > 0.25 * tol)
        {
          skipped++;
          continue;
        }
      if (bad++ < 8)
        g_test_message ("%s[%" G_GSIZE_FORMAT "]: analytic %.6g, numeric %.6g / %.6g, tolerance %.3g",
                        what, i, a, fd1, fd2, tol);
    }
  g_test_message ("%s: %" G_GSIZE_FORMAT " entries, %u non-smooth, %u wrong", what, count, skipped, bad);
  if (bad > 0)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " gradient entries disagree with central differences",
                        what, bad, count);
  if (skipped * 100 > 3 * count)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " entries could not be judged", what, skipped, count);
}

static void
loss_ctx_init (LossCtx *x, GafMlp *net, int batch, guint64 seed)
{
  const GafMlpConfig *cfg = gaf_mlp_get_config (net);
  g_autofree guint16 *labels = NULL;
  gsize count;
  GafRng rng;

  x->net = net;
  x->batch = batch;
  x->n = cfg->n;
  x->c = cfg->out_channels;
  count = (gsize) batch * x->n * x->c;
  gaf_path_config_init (&x->path);
  x->t = g_new (float, batch);
  x->w = g_new (float, count);
  x->u = g_new (float, count);
  x->f = g_new (float, count);
  labels = g_new (guint16, (gsize) batch * x->n);
  gaf_rng_init (&rng, seed);
  for (gsize i = 0; i < (gsize) batch * x->n; i++)
    labels[i] = (guint16) gaf_rng_below (&rng, x->c);
  gaf_path_sample (&x->path, &rng, labels, batch, x->n, x->c, x->t, x->w, x->u);
}

static void
loss_ctx_clear (LossCtx *x)
{
  g_free (x->t);
  g_free (x->w);
  g_free (x->u);
  g_free (x->f);
}

static void
check_param_grads (gboolean layernorm, int depth)
{
  GafMlpConfig cfg;
  g_autoptr(GafMlp) net = NULL;
  g_autofree float *df = NULL, *grad = NULL;
  GafParams *p;
  LossCtx x;

  /* Small enough that every parameter is checked (n = 2, c = 3, H = 8). */
  gaf_mlp_config_init (&cfg, 2, 3);
  cfg.hidden = 8;
  cfg.depth = depth;
  cfg.layernorm = layernorm;
  cfg.input_scale = 2.0;
  net = new_test_mlp (&cfg, 501);
  p = gaf_mlp_get_params (net);
  /* (seed 502 before the path noise became gaf_rng_fill_normal: with the new normals one hidden unit of fc1 sat
   * within a step of its ReLU kink, and one of fc1.b's 8 entries could not be judged) */
  loss_ctx_init (&x, net, 5, 503);
  df = g_new (float, (gsize) x.batch * x.n * x.c);
  gaf_params_zero_grad (p);
  gaf_mlp_forward (net, x.w, x.t, x.batch, x.f);
  gaf_path_loss (&x.path, x.w, x.f, x.u, x.batch, x.n, x.c, df);
  gaf_mlp_backward (net, df, NULL, NULL);
  grad = g_memdup2 (p->grad, p->size * sizeof (float));
  /* step 1e-3 on parameters of size 0.1 to 1.5; tolerance 2e-2 */
  for (guint vi = 0; vi < p->views->len; vi++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, vi);
      check_grad (v->name, gaf_loss, &x, p->data + v->offset, grad + v->offset, v->size, 1e-3, 2e-2);
    }
  loss_ctx_clear (&x);
}

static void
test_mlp_grad_params (void)
{
  check_param_grads (TRUE, 2);
  check_param_grads (FALSE, 3);
  check_param_grads (TRUE, 1);
}

/* L = sum(out * R) as a function of the input x and the time t. */
typedef struct {
  GafMlp *net;
  int     batch;
  gsize   nout;
  float  *x, *t, *r, *out;
} InputCtx;

static double
input_loss (gpointer data)
{
  InputCtx *c = data;

  gaf_mlp_forward (c->net, c->x, c->t, c->batch, c->out);
  return dot_f (c->out, c->r, c->nout);
}

static void
test_mlp_grad_input (void)
{
  for (int ln = 0; ln < 2; ln++)
    {
      GafMlpConfig cfg;
      g_autoptr(GafMlp) net = NULL;
      g_autofree float *dx = NULL, *dt = NULL;
      InputCtx c = { 0 };
      gsize nx;
      GafRng rng;

      /* input scale 3 exercises its chain rule; times in [0.2, 12] cover the range of training */
      gaf_mlp_config_init (&cfg, 3, 4);
      cfg.hidden = 16;
      cfg.layernorm = ln;
      cfg.input_scale = 3.0;
      net = new_test_mlp (&cfg, 503 + ln);
      c.net = net;
      c.batch = 4;
      nx = (gsize) c.batch * cfg.n * cfg.in_channels;
      c.nout = (gsize) c.batch * cfg.n * cfg.out_channels;
      c.x = g_new (float, nx);
      c.t = g_new (float, c.batch);
      c.r = g_new (float, c.nout);
      c.out = g_new (float, c.nout);
      gaf_rng_init (&rng, 505);
      fill_uniform (&rng, c.x, nx, 0, 1);
      fill_uniform (&rng, c.t, c.batch, 0.2, 12);
      fill_uniform (&rng, c.r, c.nout, -1, 1);
      dx = g_new0 (float, nx);
      dt = g_new0 (float, c.batch);
      gaf_params_zero_grad (gaf_mlp_get_params (net));
      input_loss (&c);
      gaf_mlp_backward (net, c.r, dx, dt);
      check_grad (ln ? "MLP dx (LayerNorm)" : "MLP dx", input_loss, &c, c.x, dx, nx, 1e-3, 2e-2);
      check_grad (ln ? "MLP dt (LayerNorm)" : "MLP dt", input_loss, &c, c.t, dt, c.batch, 1e-3, 2e-2);
      g_free (c.x);
      g_free (c.t);
      g_free (c.r);
      g_free (c.out);
    }
}

/* The batch split over threads, tiled inference and a batch of one all give the same rows; the
 * gradients of a split batch add up to those of one part. */
static void
test_mlp_threads (void)
{
  const int B = 300, n = 2, c = 5;
  GafMlpConfig cfg;
  g_autoptr(GafMlp) net = NULL;
  gsize nx = (gsize) B * n * c;
  g_autofree float *x = g_new (float, nx), *t = g_new (float, B), *r = g_new (float, nx);
  g_autofree float *out1 = g_new (float, nx), *out2 = g_new (float, nx), *out3 = g_new (float, nx);
  g_autofree float *row = g_new (float, n * c), *g1 = NULL;
  GafParams *p;
  double gmax = 0.0, gdiff = 0.0, odiff = 0.0;
  GafRng rng;

  gaf_mlp_config_init (&cfg, n, c);
  cfg.hidden = 32;
  net = new_test_mlp (&cfg, 506);
  p = gaf_mlp_get_params (net);
  gaf_rng_init (&rng, 507);
  fill_uniform (&rng, x, nx, 0, 1);
  fill_uniform (&rng, t, B, 0, 15);
  fill_uniform (&rng, r, nx, -1, 1);

  gaf_parallel_set_threads (1);
  gaf_params_zero_grad (p);
  gaf_mlp_forward (net, x, t, B, out1);
  gaf_mlp_backward (net, r, NULL, NULL);
  g1 = g_memdup2 (p->grad, p->size * sizeof (float));

  gaf_parallel_set_threads (2);
  gaf_params_zero_grad (p);
  gaf_mlp_forward (net, x, t, B, out2);
  gaf_mlp_backward (net, r, NULL, NULL);
  gaf_mlp_infer (net, x, t, B, out3);
  gaf_parallel_set_threads (1);

  for (gsize i = 0; i < p->size; i++)
    {
      gmax = MAX (gmax, fabs (g1[i]));
      gdiff = MAX (gdiff, fabs (g1[i] - p->grad[i]));
    }
  for (gsize i = 0; i < nx; i++)
    odiff = MAX (odiff, MAX (fabs (out1[i] - out2[i]), fabs (out1[i] - out3[i])));
  /* float sums in another order: 1e-5 of the outputs (of size ~1) and of the largest gradient */
  g_test_message ("threads: output difference %.3g, gradient difference %.3g of %.3g", odiff, gdiff, gmax);
  g_assert_cmpfloat (odiff, <, 1e-5);
  g_assert_cmpfloat (gdiff, <, 1e-5 * gmax);
  g_assert_cmpfloat (gmax, >, 0.0);
  for (int b = 0; b < B; b += 37)
    {
      gaf_mlp_infer (net, x + (gsize) b * n * c, t + b, 1, row);
      for (int j = 0; j < n * c; j++)
        g_assert_cmpfloat_with_epsilon (row[j], out1[(gsize) b * n * c + j], 1e-5);
    }
}

/* ---- CSV tables -------------------------------------------------------------------------------- */

static GafJoint *
parse_csv (const char *text, GError **error)
{
  return gaf_joint_parse_csv (text, strlen (text), "t.csv", error);
}

static void
test_csv_good (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) j = NULL, j2 = NULL, j3 = NULL;
  g_autofree char *dir = NULL, *path = NULL;
  guint16 s[2];

  /* weights 1..4 -> p = (0.1, 0.2; 0.3, 0.4), rows = first variable */
  j = parse_csv ("1,2\n3,4\n", &error);
  g_assert_no_error (error);
  g_assert_cmpint (j->n, ==, 2);
  g_assert_cmpint (j->c, ==, 2);
  g_assert_cmpuint (j->n_atoms, ==, 4);
  s[0] = 0, s[1] = 1;
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j, s), 0.2, 1e-15);
  s[0] = 1, s[1] = 0;
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j, s), 0.3, 1e-15);
  g_assert_cmpfloat_with_epsilon (j->marginals[0], 0.3, 1e-15);       /* P(x1 = 0) = 0.1 + 0.2 */
  g_assert_cmpfloat_with_epsilon (j->marginals[2 + 0], 0.4, 1e-15);   /* P(x2 = 0) = 0.1 + 0.3 */
  g_assert_cmpfloat (j->cdf[j->n_atoms - 1], ==, 1.0);

  /* comments, blank lines, CRLF, spaces, exponents, a zero weight (not an atom), no final newline */
  j2 = parse_csv ("# a 3 x 3 table\r\n\r\n 0, 1e0 ,2\r\n3,4.0,5\r\n  # note\n6,7,8", &error);
  g_assert_no_error (error);
  g_assert_cmpint (j2->c, ==, 3);
  g_assert_cmpuint (j2->n_atoms, ==, 8);
  s[0] = 0, s[1] = 0;
  g_assert_cmpfloat (gaf_joint_prob (j2, s), ==, 0.0);
  g_assert_cmpint (gaf_joint_find (j2, s), ==, -1);
  s[0] = 2, s[1] = 2;
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j2, s), 8.0 / 36.0, 1e-15);

  /* from a file */
  dir = g_dir_make_tmp ("gaf-joint-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "table.csv", NULL);
  g_assert_true (g_file_set_contents (path, "5,0\n0,5\n", -1, &error));
  j3 = gaf_joint_load_csv (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (j3->n_atoms, ==, 2);
  g_assert_cmpstr (j3->name, ==, path);
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_csv_bad (void)
{
  /* Each mistake and the words its own message must contain. */
  static const struct {
    const char *text, *expect;
  } cases[] = {
    { "", "empty" },
    { "# only a comment\n\n", "empty" },
    { "1,2\n3\n", "line 2 has 1 values but the first row (line 1) has 2" },
    { "1,2,3\n4,5,6\n", "2 rows of 3 values; a joint table must be square" },
    { "1,2\n3,-4\n", "line 2, column 2: weight -4 is negative" },
    { "1,nan\n3,4\n", "line 1, column 2: weight 'nan' is not finite" },
    { "1,2\ninf,4\n", "line 2, column 1: weight 'inf' is not finite" },
    { "1,2\n3,four\n", "line 2, column 2: 'four' is not a number" },
    { "1,,2\n3,4,5\n6,7,8\n", "line 1, column 2: empty cell" },
    { "0,0\n0,0\n", "all weights are zero" },
    { "7\n", "a single weight is one class" },
    { "1e308,1e308\n1e308,1e308\n", "sum to infinity" },
  };
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_free);

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GafJoint) j = parse_csv (cases[k].text, &error);

      g_assert_null (j);
      g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      g_test_message ("case %u: %s", k, error->message);
      g_assert_true (g_str_has_prefix (error->message, "t.csv: "));
      if (strstr (error->message, cases[k].expect) == NULL)
        g_test_fail_printf ("case %u: message '%s' lacks '%s'", k, error->message, cases[k].expect);
      g_ptr_array_add (messages, g_strdup (error->message));
    }
  /* 257 columns */
  {
    g_autoptr(GString) s = g_string_new (NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GafJoint) j = NULL;
    for (int k = 0; k < 257; k++)
      g_string_append (s, k ? ",1" : "1");
    g_string_append_c (s, '\n');
    j = parse_csv (s->str, &error);
    g_assert_null (j);
    g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
    g_assert_nonnull (strstr (error->message, "larger than 256 x 256"));
    g_ptr_array_add (messages, g_strdup (error->message));
  }
  /* each bad case its own message (the two empty cases excepted: they are the same mistake) */
  for (guint a = 0; a < messages->len; a++)
    for (guint b = a + 1; b < messages->len; b++)
      if (!(a == 0 && b == 1))
        g_assert_cmpstr (messages->pdata[a], !=, messages->pdata[b]);
  /* a missing file is an I/O error naming the file */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GafJoint) j = gaf_joint_load_csv ("/nonexistent/table.csv", &error);
    g_assert_null (j);
    g_assert_error (error, GAF_ERROR, GAF_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "/nonexistent/table.csv"));
  }
  /* the engine entry point rejects negative and non-finite weights too */
  {
    double w[4] = { 1, 2, -1, 3 };
    g_autoptr(GError) error = NULL;
    g_autoptr(GafJoint) j = gaf_joint_new_table (2, w, "w", &error);
    g_assert_null (j);
    g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  }
}

/* ---- metrics on hand-computed examples ------------------------------------------------------- */

static GafJoint *
empirical2 (const guint16 *pairs, guint64 count)
{
  return gaf_joint_new_empirical (2, 2, pairs, count, "model");
}

static void
test_metrics_hand (void)
{
  double w[4] = { 0.4, 0.1, 0.1, 0.4 };
  g_autoptr(GafJoint) target = gaf_joint_new_table (2, w, "t", NULL);
  /* one sample in each cell: the uniform joint */
  static const guint16 uni[8] = { 0, 0, 0, 1, 1, 0, 1, 1 };
  g_autoptr(GafJoint) model = empirical2 (uni, 4);
  g_autoptr(GafJoint) prod = NULL, cb = NULL;
  GafJointMetrics m;

  /* KL(u || p) = 0.5 ln(0.25/0.4) + 0.5 ln(0.25/0.1) = 0.5 ln 1.5625 */
  gaf_joint_compare (model, target, &m);
  g_assert_cmpfloat_with_epsilon (m.kl, 0.5 * log (1.5625), 1e-12);
  g_assert_cmpfloat (m.kl_support, ==, m.kl);
  g_assert_cmpfloat (m.outside, ==, 0.0);
  /* both marginals uniform on both sides */
  g_assert_cmpfloat_with_epsilon (m.kl_marginal, 0.0, 1e-15);
  /* MI of the target: 2 ln 2 - H(0.4, 0.1, 0.1, 0.4) = 2 ln 2 + 0.8 ln 0.4 + 0.2 ln 0.1 */
  g_assert_cmpfloat_with_epsilon (m.mi_target, 2 * log (2) + 0.8 * log (0.4) + 0.2 * log (0.1), 1e-12);
  g_assert_cmpfloat_with_epsilon (m.mi_target, 0.192745, 1e-6);
  g_assert_cmpfloat_with_epsilon (m.mi_model, 0.0, 1e-15);
  /* the product of the target's marginals is that same uniform joint */
  prod = gaf_joint_new_product (target, NULL);
  g_assert_nonnull (prod);
  g_assert_cmpuint (prod->n_atoms, ==, 4);
  gaf_joint_compare (prod, target, &m);
  g_assert_cmpfloat_with_epsilon (m.kl, 0.5 * log (1.5625), 1e-12);

  /* coupled binary: MI = ln 2 + 0.9 ln 0.9 + 0.1 ln 0.1 = 0.368064 */
  cb = gaf_joint_new_coupled_binary (0.9);
  g_assert_cmpfloat_with_epsilon (gaf_joint_mutual_information (cb), log (2) + 0.9 * log (0.9) + 0.1 * log (0.1),
                                  1e-12);
  g_assert_cmpfloat_with_epsilon (gaf_joint_mutual_information (cb), 0.368064, 1e-6);
  {
    /* a model of the coupled binary from 10 samples: 5 (0,0), 3 (1,1), 1 (0,1), 1 (1,0):
     * KL = 0.5 ln(0.5/0.45) + 0.3 ln(0.3/0.45) + 2 * 0.1 ln(0.1/0.05);
     * marginals (0.6, 0.4) against (0.5, 0.5): 0.6 ln 1.2 + 0.4 ln 0.8 each */
    static const guint16 s[20] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0 };
    g_autoptr(GafJoint) e = empirical2 (s, 10);
    double mx = 0.6 * log (1.2) + 0.4 * log (0.8);
    g_assert_cmpuint (e->n_atoms, ==, 4);
    gaf_joint_compare (e, cb, &m);
    g_assert_cmpfloat_with_epsilon (m.kl, 0.5 * log (0.5 / 0.45) + 0.3 * log (0.3 / 0.45) + 0.2 * log (2.0), 1e-12);
    g_assert_cmpfloat_with_epsilon (m.kl_marginal, mx, 1e-12);
    g_assert_cmpfloat_with_epsilon (m.kl_marginal_max, mx, 1e-12);
    /* MI: H(0.6, 0.4) + H(0.6, 0.4) - H(0.5, 0.3, 0.1, 0.1) */
    g_assert_cmpfloat_with_epsilon (m.mi_model,
                                    -2 * (0.6 * log (0.6) + 0.4 * log (0.4)) +
                                    (0.5 * log (0.5) + 0.3 * log (0.3) + 0.2 * log (0.1)), 1e-12);
  }
}

static void
test_metrics_outside (void)
{
  /* target (0.5, 0; 0, 0.5); model 3 x (0,0) and 1 x (0,1): a quarter of the mass off the support */
  double w[4] = { 1, 0, 0, 1 };
  g_autoptr(GafJoint) target = gaf_joint_new_table (2, w, "t", NULL);
  static const guint16 s[8] = { 0, 0, 0, 0, 0, 0, 0, 1 };
  g_autoptr(GafJoint) model = empirical2 (s, 4);
  GafJointMetrics m;
  double o1, o2;

  gaf_joint_compare (model, target, &m);
  g_assert_true (isinf (m.kl) && m.kl > 0);
  g_assert_cmpfloat_with_epsilon (m.outside, 0.25, 1e-15);
  /* restricted to the support and renormalised the model is all (0,0): KL = ln(1 / 0.5) */
  g_assert_cmpfloat_with_epsilon (m.kl_support, log (2), 1e-12);
  /* marginals: x1 (1, 0) vs (0.5, 0.5): ln 2; x2 (0.75, 0.25) vs (0.5, 0.5): 0.75 ln 1.5 + 0.25 ln 0.5 */
  g_assert_cmpfloat_with_epsilon (gaf_joint_marginal_kl (model, target, 0, &o1), log (2), 1e-12);
  g_assert_cmpfloat_with_epsilon (gaf_joint_marginal_kl (model, target, 1, &o2),
                                  0.75 * log (1.5) + 0.25 * log (0.5), 1e-12);
  g_assert_cmpfloat (o1, ==, 0.0);
  g_assert_cmpfloat (o2, ==, 0.0);
  g_assert_cmpfloat_with_epsilon (m.kl_marginal, 0.5 * (log (2) + 0.75 * log (1.5) + 0.25 * log (0.5)), 1e-12);
  g_assert_cmpfloat_with_epsilon (m.kl_marginal_max, log (2), 1e-12);
  /* the product of the marginals of (0.5, 0; 0, 0.5) puts half its mass off the support */
  {
    g_autoptr(GafJoint) prod = gaf_joint_new_product (target, NULL);
    gaf_joint_compare (prod, target, &m);
    g_assert_cmpfloat_with_epsilon (m.outside, 0.5, 1e-15);
    g_assert_true (isinf (m.kl));
    g_assert_cmpfloat_with_epsilon (m.kl_support, 0.0, 1e-12);
  }
}

static void
test_metrics_sequences (void)
{
  /* n = 3: "aaa" and "bbb" equally likely: H(X) = ln 2, each marginal ln 2, multi-information 2 ln 2;
   * "aaa", "abb", "bab", "bba" (even parity) is pairwise independent but has multi-information ln 2 */
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) a = gaf_joint_parse_text ("aaa\nbbb\n", 8, 3, NULL, "a", NULL, &error);
  g_autoptr(GafJoint) b = NULL;

  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (gaf_joint_entropy (a), log (2), 1e-12);
  g_assert_cmpfloat_with_epsilon (gaf_joint_mutual_information (a), 2 * log (2), 1e-12);
  b = gaf_joint_parse_text ("aaa\nabb\nbab\nbba\n", 16, 3, NULL, "b", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (gaf_joint_mutual_information (b), log (2), 1e-12);
  g_assert_cmpfloat_with_epsilon (gaf_joint_marginal_entropy (b, 2), log (2), 1e-12);
  /* 17 lines that use all 17 letters at every position: the product of the marginals has 17^5 > 2^20
   * sequences, too many to list (it can still be sampled) */
  {
    g_autoptr(GString) t = g_string_new (NULL);
    g_autoptr(GafJoint) big = NULL, prod = NULL;
    g_autoptr(GError) e = NULL;
    for (int k = 0; k < 17; k++)
      {
        for (int i = 0; i < 5; i++)
          g_string_append_c (t, (char) ('a' + (k + i) % 17));
        g_string_append_c (t, '\n');
      }
    big = gaf_joint_parse_text (t->str, t->len, 5, NULL, "big", NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (big->c, ==, 17);
    prod = gaf_joint_new_product (big, &e);
    g_assert_null (prod);
    g_assert_error (e, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  }
  /* "bbb" lies outside the support of the parity set */
  {
    g_autoptr(GafJoint) m = gaf_joint_parse_text ("aaa\nbbb\n", 8, 3, NULL, "m", NULL, &error);
    GafJointMetrics r;
    gaf_joint_compare (m, b, &r);
    g_assert_cmpfloat_with_epsilon (r.outside, 0.5, 1e-15);
    /* restricted: all "aaa" against 1/4 */
    g_assert_cmpfloat_with_epsilon (r.kl_support, log (4), 1e-12);
    g_assert_cmpfloat_with_epsilon (r.kl_marginal, 0.0, 1e-12);
  }
}

/* ---- text ------------------------------------------------------------------------------------ */

static void
test_text_loader (void)
{
  /* 9 lines: 5 of length 3 (one with CRLF), "ab", "abcd", an empty line and "é a" (3 characters,
   * one of them two bytes long, one a space) */
  const char *text = "abc\nabd\nab\nabcd\n\nbca\nabc\nxyz\r\né a\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) j = NULL, j2 = NULL;
  g_autofree char *dir = NULL, *path = NULL;
  GafTextStats st;
  guint16 s[3];

  j = gaf_joint_parse_text (text, strlen (text), 3, NULL, "words", &st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (st.lines, ==, 9);
  g_assert_cmpuint (st.kept, ==, 6);
  g_assert_cmpuint (st.skipped_length, ==, 3);
  g_assert_cmpuint (st.skipped_alphabet, ==, 0);
  g_assert_cmpint (j->n, ==, 3);
  /* alphabet: the sorted characters of the kept lines: ' ' a b c d x y z é */
  g_assert_cmpint (j->c, ==, 9);
  g_assert_cmpuint (j->alphabet[0], ==, ' ');
  g_assert_cmpuint (j->alphabet[1], ==, 'a');
  g_assert_cmpuint (j->alphabet[8], ==, 0xe9);
  g_assert_cmpuint (j->n_atoms, ==, 5);
  s[0] = 1, s[1] = 2, s[2] = 3;   /* "abc" twice in 6 */
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j, s), 2.0 / 6.0, 1e-15);
  s[0] = 8, s[1] = 0, s[2] = 1;   /* "é a" */
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j, s), 1.0 / 6.0, 1e-15);
  {
    g_autoptr(GString) out = g_string_new (NULL);
    gaf_joint_format_sequence (j, s, out);
    g_assert_cmpstr (out->str, ==, "é a");
  }

  /* a given alphabet: "xyz" and "é a" have characters outside it */
  j2 = gaf_joint_parse_text (text, strlen (text), 3, "dcba", "words", &st, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (st.kept, ==, 4);
  g_assert_cmpuint (st.skipped_length, ==, 3);
  g_assert_cmpuint (st.skipped_alphabet, ==, 2);
  g_assert_cmpint (j2->c, ==, 4);
  s[0] = 3, s[1] = 2, s[2] = 1;   /* "abc" in the given order d c b a */
  g_assert_cmpfloat_with_epsilon (gaf_joint_prob (j2, s), 0.5, 1e-15);

  /* from a file, with the skipped lines counted */
  dir = g_dir_make_tmp ("gaf-joint-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "words.txt", NULL);
  g_assert_true (g_file_set_contents (path, text, -1, &error));
  {
    g_autoptr(GafJoint) j3 = gaf_joint_load_text (path, 4, NULL, &st, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (st.kept, ==, 1);   /* "abcd" */
    g_assert_cmpuint (st.skipped_length, ==, 8);
    g_assert_cmpuint (j3->n_atoms, ==, 1);
  }

  /* errors */
  {
    static const struct {
      const char *text;
      int         len;
      const char *alphabet, *expect;
    } bad[] = {
      { "abc\nab\n", 5, NULL, "no line has length 5 (2 lines: 2 of another length, 0 with characters outside" },
      { "", 3, NULL, "no line has length 3 (0 lines" },
      { "abc\nxyz\n", 3, "ab", "no line has length 3 (2 lines: 0 of another length, 2 with characters outside" },
      { "aaa\naaa\n", 3, NULL, "only the character 'a'" },
      { "abc\n\xff\xfe\n", 3, NULL, "line 2 is not valid UTF-8" },
      { "abc\n", 3, "aba", "lists the character 'a' twice" },
      { "abc\n", 3, "a", "the alphabet needs from 2 to 256 characters, got 1" },
      { "abc\n", 0, NULL, "sequence length must be from 1 to 4096" },
    };
    for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
      {
        g_autoptr(GError) e = NULL;
        g_autoptr(GafJoint) jb = gaf_joint_parse_text (bad[k].text, strlen (bad[k].text), bad[k].len,
                                                       bad[k].alphabet, "w", NULL, &e);
        g_assert_null (jb);
        g_assert_nonnull (e);
        g_test_message ("text case %u: %s", k, e->message);
        if (strstr (e->message, bad[k].expect) == NULL)
          g_test_fail_printf ("text case %u: message '%s' lacks '%s'", k, e->message, bad[k].expect);
      }
  }
  g_unlink (path);
  g_rmdir (dir);
}

/* Samples written one per line read back as the same labels; lines that do not fit are errors. */
static void
test_samples_roundtrip (void)
{
  g_autoptr(GafJoint) table = gaf_joint_new_gaussians (GAF_JOINT_GRID);
  g_autoptr(GafJoint) text = gaf_joint_parse_text ("ab c\nc ba\n", 10, 4, NULL, "t", NULL, NULL);
  GafJoint *joints[2] = { table, text };

  for (int k = 0; k < 2; k++)
    {
      GafJoint *j = joints[k];
      g_autofree guint16 *labels = g_new (guint16, 50 * j->n), *back = NULL;
      g_autoptr(GString) s = g_string_new (NULL);
      g_autoptr(GError) error = NULL;
      guint64 count = 0;
      GafRng rng;

      gaf_rng_init (&rng, 510 + k);
      gaf_joint_sample (j, &rng, labels, 50);
      for (int b = 0; b < 50; b++)
        {
          gaf_joint_format_sequence (j, labels + b * j->n, s);
          g_string_append (s, b == 20 ? "\r\n\n" : "\n");
        }
      back = gaf_joint_parse_samples (j, s->str, s->len, "s", &count, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (count, ==, 50);
      g_assert_cmpmem (back, 50 * j->n * sizeof (guint16), labels, 50 * j->n * sizeof (guint16));
    }
  {
    static const char *bad_table[] = { "1,2,3\n", "1,91\n", "1,-1\n", "x,1\n" };
    static const char *bad_text[] = { "ab\n", "abcd\n", "zzz\n" };
    for (guint k = 0; k < G_N_ELEMENTS (bad_table); k++)
      {
        g_autoptr(GError) error = NULL;
        guint64 count;
        g_autofree guint16 *l = gaf_joint_parse_samples (table, bad_table[k], strlen (bad_table[k]), "s", &count,
                                                         &error);
        g_assert_null (l);
        g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      }
    for (guint k = 0; k < G_N_ELEMENTS (bad_text); k++)
      {
        g_autoptr(GError) error = NULL;
        guint64 count;
        g_autofree guint16 *l = gaf_joint_parse_samples (text, bad_text[k], strlen (bad_text[k]), "s", &count,
                                                         &error);
        g_assert_null (l);
        g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      }
  }
}

/* ---- built-in densities and sampling --------------------------------------------------------- */

static void
check_density (GafJoint *j)
{
  const int c = GAF_JOINT_GRID;
  double sum = 0.0, pmin = 1.0;
  g_autoptr(GafJoint) prod = gaf_joint_new_product (j, NULL);
  GafJointMetrics m;

  g_assert_cmpint (j->n, ==, 2);
  g_assert_cmpint (j->c, ==, c);
  g_assert_cmpuint (j->n_atoms, ==, c * c);
  for (guint a = 0; a < j->n_atoms; a++)
    {
      sum += j->p[a];
      pmin = MIN (pmin, j->p[a]);
    }
  g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-12);
  /* every cell holds at least its share of the uniform background */
  g_assert_cmpfloat (pmin, >=, (1 - 1e-12) * GAF_JOINT_BACKGROUND / (c * c));
  /* strongly coupled: far from the product of its marginals */
  gaf_joint_compare (prod, j, &m);
  g_test_message ("%s: MI %.4f nats, KL(product || target) %.4f", j->name, m.mi_target, m.kl);
  g_assert_cmpfloat (m.mi_target, >, 0.5);
  g_assert_cmpfloat (m.kl, >, 1.0);
}

static void
test_densities (void)
{
  g_autoptr(GafJoint) pw = gaf_joint_new_pinwheel (GAF_JOINT_GRID);
  g_autoptr(GafJoint) g8 = gaf_joint_new_gaussians (GAF_JOINT_GRID);
  g_autofree double *d = gaf_joint_dense2 (g8), *dp = gaf_joint_dense2 (pw);
  const int c = GAF_JOINT_GRID;
  double centre = 0.0, quadrant[4] = { 0 };

  check_density (pw);
  check_density (g8);
  /* the 8 Gaussians are symmetric under x <-> y and x -> -x on the symmetric grid */
  for (int i = 0; i < c; i++)
    for (int j = 0; j < c; j++)
      {
        g_assert_cmpfloat_with_epsilon (d[i * c + j], d[j * c + i], 1e-12);
        g_assert_cmpfloat_with_epsilon (d[i * c + j], d[(c - 1 - i) * c + j], 1e-12);
      }
  /* a Gaussian at (2.83, 0): the cell of its centre, (2.83 + 4) / (8 / 91) = 77.7 -> 77, column 45,
   * is a local maximum and far above the background */
  g_assert_cmpfloat (d[77 * c + 45], >, 100.0 * GAF_JOINT_BACKGROUND / (c * c));
  g_assert_cmpfloat (d[77 * c + 45], >, d[70 * c + 45]);
  g_assert_cmpfloat (d[77 * c + 45], >, d[77 * c + 52]);
  /* the pinwheel has 5 arms around an empty centre: little mass within radius 0.5, and each quadrant
   * holds between 10% and 40% */
  for (int i = 0; i < c; i++)
    for (int j = 0; j < c; j++)
      {
        double x = -4 + 8.0 * (i + 0.5) / c, y = -4 + 8.0 * (j + 0.5) / c;
        if (x * x + y * y < 0.25)
          centre += dp[i * c + j];
        quadrant[(x > 0) * 2 + (y > 0)] += dp[i * c + j];
      }
  g_test_message ("pinwheel: centre %.4f, quadrants %.3f %.3f %.3f %.3f", centre, quadrant[0], quadrant[1],
                  quadrant[2], quadrant[3]);
  g_assert_cmpfloat (centre, <, 0.01);
  for (int q = 0; q < 4; q++)
    g_assert_cmpfloat (quadrant[q], >, 0.1);
}

static void
test_sampling (void)
{
  /* a 3 x 3 table and 200,000 draws: the empirical joint and the independent draws match the table
   * and the product of its marginals to within the finite-sample floor (about 8 / (2 N) = 2e-5) */
  double w[9] = { 5, 1, 0, 1, 3, 1, 0, 2, 7 };
  g_autoptr(GafJoint) t = gaf_joint_new_table (3, w, "t", NULL);
  g_autoptr(GafJoint) prod = gaf_joint_new_product (t, NULL);
  const int N = 200000;
  g_autofree guint16 *labels = g_new (guint16, 2 * N);
  GafJointMetrics m;
  GafRng rng;

  gaf_rng_init (&rng, 520);
  gaf_joint_sample (t, &rng, labels, N);
  {
    g_autoptr(GafJoint) e = gaf_joint_new_empirical (2, 3, labels, N, "e");
    gaf_joint_compare (e, t, &m);
    g_test_message ("table sampler: KL %.3g", m.kl);
    g_assert_cmpuint (e->n_atoms, ==, 7);
    g_assert_cmpfloat (m.kl, <, 2e-4);
  }
  gaf_joint_sample_product (t, &rng, labels, N);
  {
    g_autoptr(GafJoint) e = gaf_joint_new_empirical (2, 3, labels, N, "e");
    gaf_joint_compare (e, prod, &m);
    g_test_message ("product sampler: KL %.3g", m.kl);
    g_assert_cmpuint (e->n_atoms, ==, 9);
    g_assert_cmpfloat (m.kl, <, 2e-4);
    g_assert_cmpfloat (m.mi_model, <, 1e-3);
    g_assert_cmpfloat (gaf_joint_mutual_information (t), >, 0.3);
  }
}

/* ---- coupled binary, trained briefly --------------------------------------------------------- */

static void
test_coupled_binary (void)
{
  /* docs/method.md §5: two binary variables with P(equal) = 0.9. The CLI's MLP defaults but narrower (H = 64,
   * depth 3, input W * c): 4000 steps of batch 256, lr 2e-3 on a cosine schedule, weight averaging
   * 0.999; 20,000 samples with RK4 h = 0.5 to T = 15 from the averaged weights. Measured: P(equal)
   * 0.90 (seeds 1, 2 of the CLI: 0.9024, 0.8999); the product of the marginals gives 0.5. Passes
   * within 0.02 of 0.9. */
  g_autoptr(GafJoint) target = gaf_joint_new_coupled_binary (0.9);
  g_autoptr(GafMlp) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  g_autoptr(GError) error = NULL;
  const int N = 20000;
  g_autofree guint16 *labels = g_new (guint16, 2 * N);
  GafMlpConfig mcfg;
  GafTrainerConfig tcfg;
  GafSamplerConfig scfg;
  GafJointMetrics m;
  guint equal = 0;
  GafRng rng;

  gaf_parallel_set_threads (1);
  gaf_mlp_config_init (&mcfg, 2, 2);
  mcfg.hidden = 64;
  mcfg.depth = 3;
  mcfg.input_scale = 2.0;
  net = gaf_mlp_new (&mcfg, 7);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 256;
  tcfg.adam.lr = 2e-3;
  tcfg.ema_decay = 0.999;
  tcfg.seed = 7;
  tr = gaf_trainer_new (GAF_NET (net), gaf_joint_sample, target, &tcfg);
  gaf_trainer_set_cosine_schedule (tr, tcfg.adam.lr, 4000);
  g_assert_true (gaf_trainer_run (tr, 4000, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);

  gaf_params_swap_ema (gaf_mlp_get_params (net));
  gaf_sampler_config_init (&scfg);
  scfg.step_size = 0.5;
  gaf_rng_init (&rng, 8);
  g_assert_true (gaf_sample_flow (GAF_NET (net), &scfg, &rng, N, 4096, labels, NULL, NULL, NULL, NULL, NULL,
                                  &error));
  g_assert_no_error (error);
  for (int b = 0; b < N; b++)
    equal += labels[2 * b] == labels[2 * b + 1];
  {
    g_autoptr(GafJoint) e = gaf_joint_new_empirical (2, 2, labels, N, "gaf");
    gaf_joint_compare (e, target, &m);
  }
  g_test_message ("coupled binary: P(equal) %.4f, joint KL %.5f, marginal KL %.5f, MI %.4f (target %.4f)",
                  (double) equal / N, m.kl, m.kl_marginal, m.mi_model, m.mi_target);
  g_assert_cmpfloat (fabs ((double) equal / N - 0.9), <, 0.02);
  /* and the joint KL is far below that of the product of the marginals (0.51) */
  g_assert_cmpfloat (m.kl, <, 0.01);
}

/* Data specs: the data layer tells joints from label maps, and reads a joint from its spec (text with
 * the length in the spec or as the default, the alphabet last and taking the rest); one error each. */
static void
test_data_spec (void)
{
  static const struct { const char *spec; GafDataKind kind; } kinds[] = {
    { "coupled-binary", GAF_DATA_KIND_JOINT }, { "pinwheel", GAF_DATA_KIND_JOINT },
    { "gaussians", GAF_DATA_KIND_JOINT }, { "table:x.csv", GAF_DATA_KIND_JOINT },
    { "text:a,b.txt,length=3", GAF_DATA_KIND_JOINT }, { "fashion-mnist", GAF_DATA_KIND_IMAGES },
    { "fashion-mnist:levels=4", GAF_DATA_KIND_IMAGES }, { "scenes:classes=3", GAF_DATA_KIND_IMAGES },
    { "folder:maps", GAF_DATA_KIND_IMAGES }, { "scene", GAF_DATA_KIND_UNKNOWN },
    { "texts:x", GAF_DATA_KIND_UNKNOWN }, { "", GAF_DATA_KIND_UNKNOWN }, { NULL, GAF_DATA_KIND_UNKNOWN },
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL, *path = NULL, *spec = NULL;
  GafTextStats st;

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    g_assert_cmpint (gaf_data_spec_kind (kinds[i].spec), ==, kinds[i].kind);

  {
    g_autoptr(GafJoint) cb = gaf_joint_new_from_spec ("coupled-binary", 0, NULL, &st, &error);
    g_assert_no_error (error);
    g_assert_cmpint (cb->n, ==, 2);
    g_assert_cmpuint (st.lines, ==, 0);
  }
  {
    /* the 2-D densities on another grid: the same table as the constructor's */
    g_autoptr(GafJoint) pw = gaf_joint_new_from_spec ("pinwheel:bins=16", 0, NULL, NULL, &error);
    g_autoptr(GafJoint) ref = gaf_joint_new_pinwheel (16);
    g_autoptr(GafJoint) g = gaf_joint_new_from_spec ("gaussians:bins=5", 0, NULL, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpint (pw->c, ==, 16);
    g_assert_cmpuint (pw->n_atoms, ==, ref->n_atoms);
    g_assert_cmpmem (pw->p, pw->n_atoms * sizeof (double), ref->p, ref->n_atoms * sizeof (double));
    g_assert_cmpint (g->c, ==, 5);
    for (guint i = 0; i < 5; i++)
      {
        static const char *const bad[] = { "pinwheel:bins=1", "pinwheel:bins=257", "gaussians:bins=", "pinwheel:16",
                                           "gaussians:bins=+8" };
        g_assert_null (gaf_joint_new_from_spec (bad[i], 0, NULL, NULL, &error));
        g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
        g_assert_nonnull (strstr (error->message, "bins=B with B from 2 to 256"));
        g_clear_error (&error);
        g_assert_null (gaf_joint_spec_normalize (bad[i]));
      }
  }
  {
    /* one spelling per built-in target; files and unknown kinds have none */
    static const char *const same[][2] = { { "pinwheel", "pinwheel:bins=91" }, { "gaussians:bins=16", "gaussians:bins=16" },
                                           { "coupled-binary", "coupled-binary" } };
    for (guint i = 0; i < G_N_ELEMENTS (same); i++)
      {
        g_autofree char *norm = gaf_joint_spec_normalize (same[i][0]);
        g_assert_cmpstr (norm, ==, same[i][1]);
      }
    g_assert_null (gaf_joint_spec_normalize ("table:x.csv"));
    g_assert_null (gaf_joint_spec_normalize ("text:x.txt,length=3"));
    g_assert_null (gaf_joint_spec_normalize ("pinwheels"));
  }

  dir = g_dir_make_tmp ("gaf-joint-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "w,ords.txt", NULL);   /* a comma in the file name */
  g_assert_true (g_file_set_contents (path, "abc\nab,\nxyz\nabcd\n", -1, &error));
  {
    /* the length from the spec wins over the default; the alphabet takes the rest, commas included */
    g_autofree char *s1 = g_strdup_printf ("text:%s,length=3,alphabet=abc,", path);
    g_autoptr(GafJoint) j = gaf_joint_new_from_spec (s1, 5, NULL, &st, &error);
    g_assert_no_error (error);
    g_assert_cmpint (j->n, ==, 3);
    g_assert_cmpint (j->c, ==, 4);
    g_assert_cmpuint (st.lines, ==, 4);
    g_assert_cmpuint (st.kept, ==, 2);   /* "abc", "ab," */
  }
  {
    /* the default length when the spec gives none */
    g_autofree char *s2 = g_strdup_printf ("text:%s", path);
    g_autoptr(GafJoint) j = gaf_joint_new_from_spec (s2, 4, NULL, &st, &error);
    g_assert_no_error (error);
    g_assert_cmpint (j->n, ==, 4);
    g_assert_cmpuint (st.kept, ==, 1);
  }
  {
    static const char *const bad[] = { "text:", "table:", "text:%s", "text:%s,length=0", "text:%s,length=x",
                                       "pinwheel:5", "scenes" };
    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autofree char *b = g_strdup_printf (bad[i], path);
        g_autoptr(GafJoint) j = gaf_joint_new_from_spec (b, 0, NULL, NULL, &error);
        g_assert_null (j);
        g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
        g_clear_error (&error);
      }
  }
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/mlp/param-count", test_mlp_param_count);
  g_test_add_func ("/engine/mlp/grad-params", test_mlp_grad_params);
  g_test_add_func ("/engine/mlp/grad-input", test_mlp_grad_input);
  g_test_add_func ("/engine/mlp/threads", test_mlp_threads);
  g_test_add_func ("/engine/joint/csv-good", test_csv_good);
  g_test_add_func ("/engine/joint/csv-bad", test_csv_bad);
  g_test_add_func ("/engine/joint/metrics-hand", test_metrics_hand);
  g_test_add_func ("/engine/joint/metrics-outside", test_metrics_outside);
  g_test_add_func ("/engine/joint/metrics-sequences", test_metrics_sequences);
  g_test_add_func ("/engine/joint/text", test_text_loader);
  g_test_add_func ("/engine/joint/spec", test_data_spec);
  g_test_add_func ("/engine/joint/samples-roundtrip", test_samples_roundtrip);
  g_test_add_func ("/engine/joint/densities", test_densities);
  g_test_add_func ("/engine/joint/sampling", test_sampling);
  g_test_add_func ("/engine/joint/coupled-binary", test_coupled_binary);
  return g_test_run ();
}
