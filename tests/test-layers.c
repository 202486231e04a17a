/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-engine.h"

#include "gaf-test-util.h"

/* BLAS against the naive loop, and every layer's backward against central finite differences
 * of a scalar loss. Layers work in float; losses are accumulated in double. Linear and conv
 * layers are bilinear, so their central differences are exact up to rounding for any step:
 * those use large steps and tight tolerances. Nonlinear layers use small steps and 1e-2. */

/* Central difference of loss() in x[i], dividing by the step actually taken after float rounding. */
/* Compares an analytic gradient with central differences for every entry:
 * |numeric - analytic| <= rtol * max(|analytic_i|, 0.05 max_j |analytic_j|).
 * The floor keeps entries that are (nearly) zero from demanding an impossible relative accuracy;
 * any real error in backward is of the size of the typical entry and exceeds it. */
static void
check_grad (const char *what, LossFunc loss, gpointer ctx, float *x, const float *analytic, gsize count,
            double h, double rtol)
{
  double floor_ = 0.05 * max_abs (analytic, count);
  guint bad = 0;

  g_assert_cmpfloat (floor_, >, 0.0);   /* a gradient that is identically zero proves nothing */
  for (gsize i = 0; i < count; i++)
    {
      double fd = central_diff (loss, ctx, x, i, h);
      double tol = rtol * MAX (fabs (analytic[i]), floor_);
      if (!(fabs (fd - analytic[i]) <= tol))
        {
          if (bad++ < 5)
            g_test_message ("%s[%" G_GSIZE_FORMAT "]: analytic %.7g, numeric %.7g, tolerance %.3g",
                            what, i, analytic[i], fd, tol);
        }
    }
  if (bad > 0)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " gradient entries disagree with central differences",
                        what, bad, count);
}

/* |a - b| <= rtol * max(|b_i|, 0.05 max |b|) elementwise. */
static void
check_close (const char *what, const float *a, const float *b, gsize count, double rtol)
{
  double floor_ = 0.05 * max_abs (b, count);
  guint bad = 0;

  for (gsize i = 0; i < count; i++)
    if (!(fabs (a[i] - b[i]) <= rtol * MAX (fabs (b[i]), floor_)))
      {
        if (bad++ < 5)
          g_test_message ("%s[%" G_GSIZE_FORMAT "]: %.8g vs %.8g", what, i, a[i], b[i]);
      }
  if (bad > 0)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " entries differ", what, bad, count);
}

/* ---- BLAS ------------------------------------------------------------------------------------ */

static void
test_sgemm_hand (void)
{
  /* A = [1 2; 3 4], B = [5 6; 7 8]: AB = [19 22; 43 50], A^T B = [26 30; 38 44],
   * A B^T = [17 23; 39 53], A^T B^T = [23 31; 34 46]. */
  const float a[] = { 1, 2, 3, 4 }, b[] = { 5, 6, 7, 8 };
  const float want[4][4] = { { 19, 22, 43, 50 }, { 26, 30, 38, 44 }, { 17, 23, 39, 53 }, { 23, 31, 34, 46 } };

  for (int mode = 0; mode < 4; mode++)
    {
      gboolean ta = mode & 1, tb = mode >> 1;
      float c1[4], c2[4];
      gaf_sgemm (ta, tb, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c1, 2);
      gaf_sgemm_naive (ta, tb, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c2, 2);
      for (int i = 0; i < 4; i++)
        {
          g_assert_cmpfloat (c1[i], ==, want[mode][i]);
          g_assert_cmpfloat (c2[i], ==, want[mode][i]);
        }
    }

  /* k = 0: C = beta C. */
  {
    float c[2] = { 3.0f, -1.0f };
    gaf_sgemm (FALSE, FALSE, 1, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
    g_assert_cmpfloat (c[0], ==, 1.5f);
    g_assert_cmpfloat (c[1], ==, -0.5f);
    gaf_sgemm (FALSE, FALSE, 1, 2, 0, 1.0f, a, 1, b, 2, 0.0f, c, 2);
    g_assert_cmpfloat (c[0], ==, 0.0f);
    g_assert_cmpfloat (c[1], ==, 0.0f);
  }
}

static void
test_sgemm_vs_naive (void)
{
  static const int sizes[][3] = { { 7, 5, 9 }, { 1, 13, 3 }, { 37, 29, 41 }, { 65, 3, 131 } };
  GafRng rng;

  gaf_rng_init (&rng, 301);
  for (guint si = 0; si < G_N_ELEMENTS (sizes); si++)
    for (int mode = 0; mode < 4; mode++)
      for (int bi = 0; bi < 2; bi++)
        {
          int m = sizes[si][0], n = sizes[si][1], k = sizes[si][2];
          gboolean ta = mode & 1, tb = mode >> 1;
          float beta = bi ? 1.0f : 0.0f, alpha = 0.75f;
          /* Leading dimensions larger than the rows, so strides are exercised. */
          int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 1;
          gsize na = (gsize) (ta ? k : m) * lda, nb = (gsize) (tb ? n : k) * ldb, nc = (gsize) m * ldc;
          g_autofree float *a = g_new (float, na);
          g_autofree float *b = g_new (float, nb);
          g_autofree float *c0 = g_new (float, nc);
          g_autofree float *c1 = g_new (float, nc);
          g_autofree float *c2 = g_new (float, nc);
          /* Entries in [-1, 1]: each product sum has rounding error below k * 6e-8 * |alpha|. */
          double tol = 2e-7 * k + 1e-7;

          fill_uniform (&rng, a, na, -1, 1);
          fill_uniform (&rng, b, nb, -1, 1);
          fill_uniform (&rng, c0, nc, -1, 1);
          memcpy (c1, c0, nc * sizeof (float));
          memcpy (c2, c0, nc * sizeof (float));
          if (beta == 0.0f)
            /* beta = 0 must not read C (the engine passes uninitialised buffers). */
            for (int i = 0; i < m; i++)
              for (int j = 0; j < n; j++)
                c1[i * ldc + j] = c2[i * ldc + j] = NAN;

          gaf_sgemm (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
          gaf_sgemm_naive (ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc);
          for (int i = 0; i < m; i++)
            {
              for (int j = 0; j < n; j++)
                {
                  /* An independent check of the naive loop on one entry in double. */
                  double s = 0.0;
                  for (int l = 0; l < k; l++)
                    s += (double) (ta ? a[l * lda + i] : a[i * lda + l]) * (tb ? b[j * ldb + l] : b[l * ldb + j]);
                  s = alpha * s + (beta != 0.0f ? c0[i * ldc + j] : 0.0);
                  g_assert_cmpfloat_with_epsilon (c2[i * ldc + j], s, 1e-6);
                  g_assert_cmpfloat_with_epsilon (c1[i * ldc + j], c2[i * ldc + j], tol);
                }
              /* the padding column beyond n is left alone */
              g_assert_cmpfloat (c1[i * ldc + n], ==, c0[i * ldc + n]);
            }
        }
}

/* ---- linear ---------------------------------------------------------------------------------- */

typedef struct {
  int m, k, n;
  float *in, *w, *b, *r, *out;
} LinearCtx;

static double
linear_loss (gpointer data)
{
  LinearCtx *x = data;

  gaf_linear_forward (x->out, x->in, x->w, x->b, x->m, x->k, x->n);
  return dot_f (x->out, x->r, (gsize) x->m * x->n);
}

static void
test_linear (void)
{
  LinearCtx x = { 5, 7, 3 };
  gsize nin = x.m * x.k, nw = x.k * x.n, no = x.m * x.n;
  g_autofree float *din = g_new0 (float, nin), *dw = g_new0 (float, nw), *db = g_new0 (float, x.n);
  GafRng rng;

  gaf_rng_init (&rng, 302);
  x.in = g_new (float, nin);
  x.w = g_new (float, nw);
  x.b = g_new (float, x.n);
  x.r = g_new (float, no);
  x.out = g_new (float, no);
  fill_uniform (&rng, x.in, nin, -1, 1);
  fill_uniform (&rng, x.w, nw, -1, 1);
  fill_uniform (&rng, x.b, x.n, -1, 1);
  fill_uniform (&rng, x.r, no, -1, 1);

  /* Forward against a plain loop (1e-6). */
  linear_loss (&x);
  for (int i = 0; i < x.m; i++)
    for (int j = 0; j < x.n; j++)
      {
        double s = x.b[j];
        for (int l = 0; l < x.k; l++)
          s += (double) x.in[i * x.k + l] * x.w[l * x.n + j];
        g_assert_cmpfloat_with_epsilon (x.out[i * x.n + j], s, 1e-6);
      }

  /* dL/dout = R. Backward accumulates: start from 1 and subtract it again. */
  for (gsize i = 0; i < nin; i++)
    din[i] = 1.0f;
  for (gsize i = 0; i < nw; i++)
    dw[i] = 1.0f;
  for (int i = 0; i < x.n; i++)
    db[i] = 1.0f;
  gaf_linear_backward (din, dw, db, x.r, x.in, x.w, x.m, x.k, x.n);
  for (gsize i = 0; i < nin; i++)
    din[i] -= 1.0f;
  for (gsize i = 0; i < nw; i++)
    dw[i] -= 1.0f;
  for (int i = 0; i < x.n; i++)
    db[i] -= 1.0f;

  /* Bilinear: step 0.5 is exact up to rounding; 1e-4. */
  check_grad ("linear din", linear_loss, &x, x.in, din, nin, 0.5, 1e-4);
  check_grad ("linear dw", linear_loss, &x, x.w, dw, nw, 0.5, 1e-4);
  check_grad ("linear db", linear_loss, &x, x.b, db, x.n, 0.5, 1e-4);

  /* Without bias: the same product minus the bias. */
  {
    g_autofree float *nob = g_new (float, no);
    linear_loss (&x);
    gaf_linear_forward (nob, x.in, x.w, NULL, x.m, x.k, x.n);
    for (int i = 0; i < x.m; i++)
      for (int j = 0; j < x.n; j++)
        g_assert_cmpfloat_with_epsilon (nob[i * x.n + j], x.out[i * x.n + j] - x.b[j], 1e-6);
  }
  /* NULL gradients are skipped. */
  memset (din, 0, nin * sizeof (float));
  gaf_linear_backward (din, NULL, NULL, x.r, x.in, x.w, x.m, x.k, x.n);
  g_assert_cmpfloat (max_abs (din, nin), >, 0.0f);

  g_free (x.in);
  g_free (x.w);
  g_free (x.b);
  g_free (x.r);
  g_free (x.out);
}

/* ---- relu ------------------------------------------------------------------------------------ */

typedef struct {
  gsize count;
  float *in, *out, *r;
} ReluCtx;

static double
relu_loss (gpointer data)
{
  ReluCtx *x = data;

  gaf_relu_forward (x->out, x->in, x->count);
  return dot_f (x->out, x->r, x->count);
}

static void
test_relu (void)
{
  ReluCtx x = { 40 };
  g_autofree float *din = g_new0 (float, x.count), *copy = g_new (float, x.count);
  GafRng rng;
  guint neg = 0;

  gaf_rng_init (&rng, 303);
  x.in = g_new (float, x.count);
  x.out = g_new (float, x.count);
  x.r = g_new (float, x.count);
  /* Inputs at least 0.1 away from the kink; step 0.05 never crosses it, so the check is exact. */
  for (gsize i = 0; i < x.count; i++)
    {
      double u = 0.1 + 0.9 * gaf_rng_uniform (&rng);
      x.in[i] = (float) (i % 3 == 0 ? -u : u);
      neg += x.in[i] < 0;
    }
  fill_uniform (&rng, x.r, x.count, -1, 1);
  relu_loss (&x);
  for (gsize i = 0; i < x.count; i++)
    g_assert_cmpfloat (x.out[i], ==, x.in[i] > 0 ? x.in[i] : 0.0f);
  gaf_relu_backward (din, x.r, x.out, x.count);
  check_grad ("relu din", relu_loss, &x, x.in, din, x.count, 0.05, 1e-4);
  for (gsize i = 0; i < x.count; i++)
    if (x.in[i] < 0)
      g_assert_cmpfloat (din[i], ==, 0.0f);
  g_assert_cmpuint (neg, >, 0);

  /* in place */
  memcpy (copy, x.in, x.count * sizeof (float));
  gaf_relu_forward (copy, copy, x.count);
  g_assert_cmpmem (copy, x.count * sizeof (float), x.out, x.count * sizeof (float));

  g_free (x.in);
  g_free (x.out);
  g_free (x.r);
}

/* ---- layernorm ------------------------------------------------------------------------------- */

typedef struct {
  int m, c;
  float *in, *g, *b, *r, *out, *mean, *rstd;
} LnCtx;

static double
ln_loss (gpointer data)
{
  LnCtx *x = data;

  gaf_layernorm_forward (x->out, x->mean, x->rstd, x->in, x->g, x->b, x->m, x->c);
  return dot_f (x->out, x->r, (gsize) x->m * x->c);
}

static void
test_layernorm (void)
{
  static const int cs[] = { 7, 128 };
  GafRng rng;

  gaf_rng_init (&rng, 304);
  for (guint ci = 0; ci < G_N_ELEMENTS (cs); ci++)
    {
      LnCtx x = { 4, cs[ci] };
      gsize count = (gsize) x.m * x.c;
      g_autofree float *din = g_new0 (float, count), *dg = g_new0 (float, x.c), *db = g_new0 (float, x.c);

      x.in = g_new (float, count);
      x.g = g_new (float, x.c);
      x.b = g_new (float, x.c);
      x.r = g_new (float, count);
      x.out = g_new (float, count);
      x.mean = g_new (float, x.m);
      x.rstd = g_new (float, x.m);
      fill_uniform (&rng, x.in, count, -2, 2);
      for (gsize i = 0; i < count; i++)
        x.in[i] += (float) (i / x.c);   /* rows with different means */
      fill_uniform (&rng, x.g, x.c, 0.5, 1.5);
      fill_uniform (&rng, x.b, x.c, -0.5, 0.5);
      fill_uniform (&rng, x.r, count, -1, 1);

      ln_loss (&x);
      /* Forward: zero mean, unit variance before the affine part (1e-5). */
      for (int r = 0; r < x.m; r++)
        {
          double s1 = 0.0, s2 = 0.0;
          for (int j = 0; j < x.c; j++)
            {
              double z = (x.out[r * x.c + j] - x.b[j]) / x.g[j];
              s1 += z;
              s2 += z * z;
            }
          g_assert_cmpfloat_with_epsilon (s1 / x.c, 0.0, 1e-5);
          g_assert_cmpfloat_with_epsilon (s2 / x.c, 1.0, 1e-4);   /* eps 1e-5 in the variance */
        }

      gaf_layernorm_backward (din, dg, db, x.r, x.in, x.mean, x.rstd, x.g, x.m, x.c);
      /* Nonlinear in the input: step 1e-2 on inputs of size ~1, truncation ~1e-4, rounding of a float
       * loss ~1e-6 / 2e-2; tolerance 1e-2. Linear in g and b: step 0.25, 1e-4. */
      check_grad ("layernorm din", ln_loss, &x, x.in, din, count, 1e-2, 1e-2);
      check_grad ("layernorm dg", ln_loss, &x, x.g, dg, x.c, 0.25, 1e-4);
      check_grad ("layernorm db", ln_loss, &x, x.b, db, x.c, 0.25, 1e-4);

      /* NULL input gradient still gives dg and db. */
      {
        g_autofree float *dg2 = g_new0 (float, x.c), *db2 = g_new0 (float, x.c);
        ln_loss (&x);
        gaf_layernorm_backward (NULL, dg2, db2, x.r, x.in, x.mean, x.rstd, x.g, x.m, x.c);
        check_close ("layernorm dg (din NULL)", dg2, dg, x.c, 1e-6);
        check_close ("layernorm db (din NULL)", db2, db, x.c, 1e-6);
      }
      /* The input gradient written, not added, over whatever was there. */
      {
        g_autofree float *din2 = g_new (float, count);
        for (gsize i = 0; i < count; i++)
          din2[i] = NAN;
        ln_loss (&x);
        gaf_layernorm_backward_input (din2, x.r, x.in, x.mean, x.rstd, x.g, x.m, x.c);
        check_close ("layernorm din written", din2, din, count, 1e-6);
      }

      g_free (x.in);
      g_free (x.g);
      g_free (x.b);
      g_free (x.r);
      g_free (x.out);
      g_free (x.mean);
      g_free (x.rstd);
    }
}

/* ---- Fourier features ------------------------------------------------------------------------ */

typedef struct {
  int b, h;
  float *t, *w, *r, *out;
} FourierCtx;

static double
fourier_loss (gpointer data)
{
  FourierCtx *x = data;

  gaf_fourier_forward (x->out, x->t, x->w, x->b, x->h);
  return dot_f (x->out, x->r, (gsize) x->b * 2 * x->h);
}

static void
test_fourier (void)
{
  FourierCtx x = { 3, 5 };
  gsize count = (gsize) x.b * 2 * x.h;
  g_autofree float *dt = g_new0 (float, x.b);
  GafRng rng;

  gaf_rng_init (&rng, 305);
  x.t = g_new (float, x.b);
  x.w = g_new (float, x.h);
  x.r = g_new (float, count);
  x.out = g_new (float, count);
  fill_uniform (&rng, x.t, x.b, 0, 1);
  for (int j = 0; j < x.h; j++)
    x.w[j] = (float) (2.0 * gaf_rng_normal (&rng));
  fill_uniform (&rng, x.r, count, -1, 1);

  fourier_loss (&x);
  /* [sin 2 pi t w, cos 2 pi t w] (1e-6) */
  for (int i = 0; i < x.b; i++)
    for (int j = 0; j < x.h; j++)
      {
        double a = 2 * G_PI * x.t[i] * x.w[j];
        g_assert_cmpfloat_with_epsilon (x.out[i * 2 * x.h + j], sin (a), 1e-6);
        g_assert_cmpfloat_with_epsilon (x.out[i * 2 * x.h + x.h + j], cos (a), 1e-6);
      }
  gaf_fourier_backward (dt, x.r, x.t, x.w, x.b, x.h);
  /* 2 pi |w| ~ 12: step 1e-3 gives truncation (2 pi w)^3 h^2 / 6 ~ 3e-4 relative; tolerance 1e-2. */
  check_grad ("fourier dt", fourier_loss, &x, x.t, dt, x.b, 1e-3, 1e-2);

  g_free (x.t);
  g_free (x.w);
  g_free (x.r);
  g_free (x.out);
}

/* Floats in the order of the number line as integers: neighbours differ by one. */
static gint64
float_order (float v)
{
  gint32 i;

  memcpy (&i, &v, sizeof i);
  return i >= 0 ? (gint64) i : (gint64) G_MININT32 - i;
}

/* The features against libm's sin and cos of the same double argument, over the arguments a training run
 * meets (t from the time law's far tail, frequencies N(0, 30^2)), arguments next to multiples of pi/2 (the
 * quadrant boundaries of the range reduction), and rows whose argument is past the reduction's range or
 * not finite (libm's own result). Float results within one unit in the last place of libm's. */
static void
test_fourier_accuracy (void)
{
  enum { B = 64, H = 64 };
  g_autofree float *t = g_new (float, B), *w = g_new (float, H), *out = g_new (float, (gsize) B * 2 * H);
  GafRng rng;
  gint64 worst = 0;

  gaf_rng_init (&rng, 306);
  for (int j = 0; j < H; j++)
    w[j] = (float) (30.0 * gaf_rng_normal (&rng));
  w[0] = 0.0f;
  w[1] = 0.25f;   /* 2 pi t w = t pi / 2: t an integer lands on a quadrant boundary */
  for (int i = 0; i < B; i++)
    t[i] = (float) (i < 40 ? 60.0 * gaf_rng_uniform (&rng) : i < 56 ? (double) (i - 40) * 7 : 0.0);
  t[56] = 0.0f;
  t[57] = 1e-30f;
  t[58] = -3.5f;
  t[59] = 2e4f;       /* 2 pi t |w| beyond 1e6 for the larger frequencies: libm for the row */
  t[60] = 1e30f;
  t[61] = INFINITY;
  t[62] = NAN;
  t[63] = 1e6f;
  gaf_fourier_forward (out, t, w, B, H);
  for (int i = 0; i < B; i++)
    for (int j = 0; j < H; j++)
      {
        double a = 2.0 * G_PI * (double) t[i] * (double) w[j];
        float want[2] = { (float) sin (a), (float) cos (a) };
        for (int f = 0; f < 2; f++)
          {
            float got = out[(gsize) i * 2 * H + (gsize) f * H + j];
            if (isnan (want[f]))
              {
                g_assert_true (isnan (got));
                continue;
              }
            gint64 ulps = ABS (float_order (got) - float_order (want[f]));
            if (ulps > 1 && !(want[f] == 0.0f && fabsf (got) < 1e-30f))
              g_error ("fourier t %g w %g: %s %.9g, libm %.9g (%" G_GINT64_FORMAT " ulps)", t[i], w[j], f ? "cos" : "sin", got,
                       want[f], ulps);
            worst = MAX (worst, ulps);
          }
      }
  g_test_message ("fourier features: at most %" G_GINT64_FORMAT " ulp from libm", worst);
}

/* ---- conv1d ---------------------------------------------------------------------------------- */

typedef struct {
  int len;
  GafConv1dShape s;
  const char *kind;
} ConvCase;

static const ConvCase conv_cases[] = {
  { 4, { 3, 5, 9, 1, 4 }, "block (len 4, k 9, dil 1)" },
  { 4, { 3, 5, 9, 4, 16 }, "pointwise (len 4, k 9, dil 4)" },
  { 4, { 3, 5, 9, 16, 64 }, "pointwise (len 4, k 9, dil 16)" },
  { 4, { 3, 5, 9, 64, 256 }, "pointwise (len 4, k 9, dil 64)" },
  { 7, { 3, 5, 3, 2, 1 }, "general (len 7, k 3, dil 2, pad 1, Lout 5)" },
  { 6, { 2, 3, 1, 1, 0 }, "1x1 (len 6)" },
  { 11, { 4, 2, 9, 1, 4 }, "block (len 11, k 9, dil 1)" },
  { 5, { 3, 4, 9, 4, 16 }, "dil 4 at len 5 (two taps see data)" },
  { 5, { 3, 4, 2, 4, 0 }, "gaps (len 5, k 2, dil 4, no padding: inputs 1-3 feed no output)" },
  /* channels that are multiples of 16, where the products run in the engine's own kernels */
  { 4, { 16, 32, 9, 1, 4 }, "own kernels, stacked taps (len 4, k 9, dil 1)" },
  { 4, { 32, 16, 9, 16, 64 }, "own kernels, pointwise (len 4, k 9, dil 16)" },
  { 9, { 16, 16, 5, 2, 4 }, "own kernels, a product per tap (len 9, k 5, dil 2)" },
  { 6, { 16, 32, 3, 1, 0 }, "own kernels, valid (len 6, k 3, no padding, Lout 4)" },
};

typedef struct {
  int batch, len;
  GafConv1dShape s;
  gboolean naive;
  GafConv1dWork work;
  float *in, *w, *bias, *r, *out;
} ConvCtx;

/* The fast path: products over the taps that see data, in place. */
static void
conv_fast_forward (ConvCtx *x, float *out)
{
  gaf_conv1d_forward (out, x->in, x->w, x->bias, x->batch, x->len, &x->s);
}

static double
conv_loss (gpointer data)
{
  ConvCtx *x = data;
  int lout = gaf_conv1d_out_len (&x->s, x->len);

  if (x->naive)
    gaf_conv1d_forward_naive (x->out, x->in, x->w, x->bias, x->batch, x->len, &x->s);
  else
    conv_fast_forward (x, x->out);
  return dot_f (x->out, x->r, (gsize) x->batch * lout * x->s.cout);
}

static void
test_conv1d (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 306);
  for (guint ci = 0; ci < G_N_ELEMENTS (conv_cases); ci++)
    {
      const ConvCase *cc = &conv_cases[ci];
      ConvCtx x = { 2, cc->len, cc->s };
      int lout = gaf_conv1d_out_len (&x.s, x.len);
      gsize nin = (gsize) x.batch * x.len * x.s.cin, nw = (gsize) x.s.kernel * x.s.cin * x.s.cout;
      gsize nout = (gsize) x.batch * lout * x.s.cout;
      g_autofree float *out_naive = g_new (float, nout), *out_fast = g_new (float, nout);
      float *grads[2][3];

      g_test_message ("conv1d %s", cc->kind);
      g_assert_cmpint (lout, ==, cc->len + 2 * cc->s.padding - cc->s.dilation * (cc->s.kernel - 1));
      g_assert_cmpuint (gaf_conv1d_work_len (&x.s), ==, (gsize) x.s.kernel * x.s.cin * x.s.cout);
      x.in = g_new (float, nin);
      x.w = g_new (float, nw);
      x.bias = g_new (float, x.s.cout);
      x.r = g_new (float, nout);
      x.out = g_new (float, nout);
      fill_uniform (&rng, x.in, nin, -1, 1);
      fill_uniform (&rng, x.w, nw, -1, 1);
      fill_uniform (&rng, x.bias, x.s.cout, -1, 1);
      fill_uniform (&rng, x.r, nout, -1, 1);

      /* Forward: fast == naive (naive accumulates in double; 1e-5 relative). */
      gaf_conv1d_forward_naive (out_naive, x.in, x.w, x.bias, x.batch, x.len, &x.s);
      conv_fast_forward (&x, out_fast);
      check_close (cc->kind, out_fast, out_naive, nout, 1e-5);

      /* One output entry by the formula of gaf-layers.h, in double. */
      {
        int b = x.batch - 1, p = lout - 1, o = x.s.cout - 1;
        double acc = x.bias[o];
        for (int k = 0; k < x.s.kernel; k++)
          {
            int q = p - x.s.padding + k * x.s.dilation;
            if (q < 0 || q >= x.len)
              continue;
            for (int i = 0; i < x.s.cin; i++)
              acc += (double) x.w[(k * x.s.cin + i) * x.s.cout + o] * x.in[(b * x.len + q) * x.s.cin + i];
          }
        g_assert_cmpfloat_with_epsilon (out_naive[(b * lout + p) * x.s.cout + o], acc, 1e-6);
      }

      for (int path = 0; path < 2; path++)
        {
          float *din = g_new0 (float, nin), *dw = g_new0 (float, nw), *db = g_new0 (float, x.s.cout);
          g_autofree char *name = NULL;

          x.naive = path == 1;
          /* Backward accumulates: start at 0.5 everywhere and remove it afterwards. */
          for (gsize i = 0; i < nin; i++)
            din[i] = 0.5f;
          for (gsize i = 0; i < nw; i++)
            dw[i] = 0.5f;
          for (int i = 0; i < x.s.cout; i++)
            db[i] = 0.5f;
          conv_loss (&x);
          if (x.naive)
            gaf_conv1d_backward_naive (din, dw, db, x.r, x.in, x.w, x.batch, x.len, &x.s);
          else
            {
              gaf_conv1d_prepare_backward (&x.work, x.w, x.len, &x.s);
              gaf_conv1d_backward (din, dw, db, x.r, x.in, x.w, x.batch, x.len, &x.s, &x.work);
            }
          for (gsize i = 0; i < nin; i++)
            din[i] -= 0.5f;
          for (gsize i = 0; i < nw; i++)
            dw[i] -= 0.5f;
          for (int i = 0; i < x.s.cout; i++)
            db[i] -= 0.5f;

          /* Bilinear: step 0.5, exact up to rounding; 1e-4. Taps that only see padding have a zero
           * gradient, which the finite differences confirm exactly. */
          name = g_strdup_printf ("%s %s din", cc->kind, x.naive ? "naive" : "fast");
          check_grad (name, conv_loss, &x, x.in, din, nin, 0.5, 1e-4);
          g_free (name);
          name = g_strdup_printf ("%s %s dw", cc->kind, x.naive ? "naive" : "fast");
          check_grad (name, conv_loss, &x, x.w, dw, nw, 0.5, 1e-4);
          g_free (name);
          name = g_strdup_printf ("%s %s dbias", cc->kind, x.naive ? "naive" : "fast");
          check_grad (name, conv_loss, &x, x.bias, db, x.s.cout, 0.5, 1e-4);
          grads[path][0] = din;
          grads[path][1] = dw;
          grads[path][2] = db;
        }

      /* Backward: fast == naive (1e-5 relative), and NULL gradients are allowed. */
      check_close ("conv1d din fast vs naive", grads[0][0], grads[1][0], nin, 1e-5);
      check_close ("conv1d dw fast vs naive", grads[0][1], grads[1][1], nw, 1e-5);
      check_close ("conv1d dbias fast vs naive", grads[0][2], grads[1][2], x.s.cout, 1e-5);
      {
        g_autofree float *din = g_new0 (float, nin);
        conv_fast_forward (&x, x.out);
        gaf_conv1d_prepare_backward (&x.work, x.w, x.len, &x.s);
        gaf_conv1d_backward (din, NULL, NULL, x.r, x.in, x.w, x.batch, x.len, &x.s, &x.work);
        check_close ("conv1d din alone", din, grads[1][0], nin, 1e-5);
        /* written, not added: nothing of what was there stays (positions no output taps included) */
        for (gsize i = 0; i < nin; i++)
          din[i] = NAN;
        gaf_conv1d_backward_input (din, x.r, x.batch, x.len, &x.s, &x.work);
        check_close ("conv1d din written", din, grads[1][0], nin, 1e-5);
      }

      for (int path = 0; path < 2; path++)
        for (int j = 0; j < 3; j++)
          g_free (grads[path][j]);
      gaf_conv1d_work_clear (&x.work);
      g_free (x.in);
      g_free (x.w);
      g_free (x.bias);
      g_free (x.r);
      g_free (x.out);
    }
}

/* ---- toy CNN --------------------------------------------------------------------------------- */

static void
test_toy_cnn_param_count (void)
{
  GafToyCnnConfig cfg;

  gaf_toy_cnn_config_init (&cfg, 4, 5);
  g_assert_cmpuint (gaf_toy_cnn_param_count (&cfg), ==, 861317);
  gaf_toy_cnn_config_init (&cfg, 4, 160);
  g_assert_cmpuint (gaf_toy_cnn_param_count (&cfg), ==, 1059872);
  cfg.position_bias = TRUE;   /* n c more: 4 x 160 */
  g_assert_cmpuint (gaf_toy_cnn_param_count (&cfg), ==, 1059872 + 640);

  /* The arena of a constructed network: same size, views contiguous, disjoint, uniquely named. */
  {
    g_autoptr(GafToyCnn) net = NULL;
    g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
    GafParams *p;
    gsize next = 0;

    gaf_toy_cnn_config_init (&cfg, 4, 5);
    net = gaf_toy_cnn_new (&cfg, 1);
    p = gaf_toy_cnn_get_params (net);
    g_assert_cmpuint (p->size, ==, 861317);
    for (guint i = 0; i < p->views->len; i++)
      {
        const GafParamView *v = &g_array_index (p->views, GafParamView, i);
        g_assert_cmpuint (v->offset, ==, next);
        g_assert_cmpuint (v->size, >, 0);
        g_assert_true (g_hash_table_add (names, v->name));
        g_assert_true (gaf_params_find (p, v->name) == v);
        next += v->size;
      }
    g_assert_cmpuint (next, ==, p->size);
  }
}

/* A toy CNN with LayerNorm gains and biases moved off 1 and 0, so that a backward that forgets
 * the gain (or mixes up gain and bias) cannot pass by accident. */
static GafToyCnn *
new_test_net (const GafToyCnnConfig *cfg, guint64 seed)
{
  GafToyCnn *net = gaf_toy_cnn_new (cfg, seed);
  GafParams *p = gaf_toy_cnn_get_params (net);
  GafRng rng;

  gaf_rng_init (&rng, seed + 17);
  for (int i = 0; i < GAF_TOY_CNN_LAYERS; i++)
    {
      g_autofree char *g = g_strdup_printf ("norm%d.g", i), *b = g_strdup_printf ("norm%d.b", i);
      const GafParamView *vg = gaf_params_find (p, g), *vb = gaf_params_find (p, b);
      g_assert_nonnull (vg);
      g_assert_nonnull (vb);
      fill_uniform (&rng, p->data + vg->offset, vg->size, 0.5, 1.5);
      fill_uniform (&rng, p->data + vb->offset, vb->size, -0.3, 0.3);
    }
  if (gaf_params_find (p, "position.b") != NULL)   /* zero at the start: move it off */
    {
      const GafParamView *v = gaf_params_find (p, "position.b");
      fill_uniform (&rng, p->data + v->offset, v->size, -0.5, 0.5);
    }
  return net;
}

/* The GAF loss of a fixed path sample as a function of the parameters (W_t does not depend on them). */
typedef struct {
  GafNet       *net;
  GafPathConfig path;
  int           batch, n, c;
  float        *t, *w, *u, *f;
} GafLossCtx;

static double
gaf_loss (gpointer data)
{
  GafLossCtx *x = data;

  gaf_net_forward (x->net, x->w, x->t, x->batch, x->f);
  return gaf_path_loss (&x->path, x->w, x->f, x->u, x->batch, x->n, x->c, NULL);
}

static void
gaf_loss_ctx_init (GafLossCtx *x, GafNet *net, int batch, guint64 seed)
{
  gsize count;
  g_autofree guint16 *labels = NULL;
  GafRng rng;

  x->net = net;
  x->batch = batch;
  x->n = net->n;
  x->c = net->out_channels;
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
gaf_loss_ctx_clear (GafLossCtx *x)
{
  g_free (x->t);
  g_free (x->w);
  g_free (x->u);
  g_free (x->f);
}

static float *
analytic_param_grad (GafLossCtx *x)
{
  GafParams *p = gaf_net_get_params (x->net);
  gsize count = (gsize) x->batch * x->n * x->c;
  g_autofree float *df = g_new (float, count);

  gaf_params_zero_grad (p);
  gaf_net_forward (x->net, x->w, x->t, x->batch, x->f);
  gaf_path_loss (&x->path, x->w, x->f, x->u, x->batch, x->n, x->c, df);
  gaf_net_backward (x->net, df, NULL, NULL);
  return g_memdup2 (p->grad, p->size * sizeof (float));
}

static void
test_toy_cnn_grad_all (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;
  g_autofree float *grad = NULL;
  GafLossCtx x;

  /* Small enough that every one of its 3,755 parameters is checked. */
  gaf_toy_cnn_config_init (&cfg, 4, 3);
  cfg.hidden = 8;
  cfg.fourier_half = 4;
  net = new_test_net (&cfg, 401);
  /* (seed 402 before the path noise became gaf_rng_fill_normal: with the new normals it put a ReLU of conv3
   * within 1e-4 of its kink, where the quotients at h and h/2 both straddle it and agree with each other;
   * seeds 403 to 409 pass with 0 to 10 entries not judged) */
  gaf_loss_ctx_init (&x, GAF_NET (net), 3, 409);
  grad = analytic_param_grad (&x);
  /* step 1e-3 (parameters are of size 0.1 to 1.5), tolerance 2e-2 */
  check_param_grad (gaf_net_get_params (x.net), gaf_loss, &x, grad, NULL, 0, 1e-3, 2e-2);
  gaf_loss_ctx_clear (&x);
}

/* The same with the per-position output bias (12 more parameters, all checked). */
static void
test_toy_cnn_grad_position_bias (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;
  g_autofree float *grad = NULL;
  GafLossCtx x;

  gaf_toy_cnn_config_init (&cfg, 4, 3);
  cfg.hidden = 8;
  cfg.fourier_half = 4;
  cfg.position_bias = TRUE;
  net = new_test_net (&cfg, 411);
  g_assert_cmpuint (gaf_toy_cnn_get_params (net)->size, ==, 3755 + 12);
  /* (seed 412 before the path noise became gaf_rng_fill_normal: with the new normals a hidden ReLU sat within a
   * step of its kink and 331 of the 3767 entries could not be judged; seeds 413 to 419 leave 0 to 19) */
  gaf_loss_ctx_init (&x, GAF_NET (net), 3, 413);
  grad = analytic_param_grad (&x);
  check_param_grad (gaf_net_get_params (x.net), gaf_loss, &x, grad, NULL, 0, 1e-3, 2e-2);
  gaf_loss_ctx_clear (&x);
}

static void
test_toy_cnn_grad_default (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;
  g_autofree float *grad = NULL;
  g_autofree gsize *which = NULL;
  GafParams *p;
  GafLossCtx x;
  gsize n_which = 0;
  GafRng rng;

  /* The reference size (c = 5, 861,317 parameters): 300 random entries plus the first and last
   * entry of every view. */
  gaf_toy_cnn_config_init (&cfg, 4, 5);
  net = new_test_net (&cfg, 403);
  p = gaf_toy_cnn_get_params (net);
  gaf_loss_ctx_init (&x, GAF_NET (net), 2, 404);
  grad = analytic_param_grad (&x);
  which = g_new (gsize, 300 + 2 * p->views->len);
  gaf_rng_init (&rng, 405);
  for (int i = 0; i < 300; i++)
    which[n_which++] = gaf_rng_below (&rng, (guint32) p->size);
  for (guint vi = 0; vi < p->views->len; vi++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, vi);
      which[n_which++] = v->offset;
      which[n_which++] = v->offset + v->size - 1;
    }
  check_param_grad (gaf_net_get_params (x.net), gaf_loss, &x, grad, which, n_which, 1e-3, 2e-2);
  gaf_loss_ctx_clear (&x);
}

/* L = sum(out * R) as a function of the network input x and time t. */
typedef struct {
  GafNet *net;
  int     batch;
  gsize   nout;
  float  *x, *t, *r, *out;
} InputCtx;

static double
input_loss (gpointer data)
{
  InputCtx *c = data;

  gaf_net_forward (c->net, c->x, c->t, c->batch, c->out);
  return dot_f (c->out, c->r, c->nout);
}

/* Checks dx and dt of net at a random input in [x_lo, 1] and times in [0.5, 3] against central
 * differences (steps h_x and h_t, tolerance 2e-2) for L = sum(out * R). */
static void
check_input_grads (const char *what, GafNet *net, double x_lo, double h_x, double h_t, guint64 seed)
{
  InputCtx c = { 0 };
  gsize nx;
  g_autofree float *dx = NULL, *dt = NULL;
  g_autofree char *wx = g_strdup_printf ("%s dx", what), *wt = g_strdup_printf ("%s dt", what);
  GafRng rng;

  c.net = net;
  c.batch = 3;
  nx = (gsize) c.batch * net->n * net->in_channels;
  c.nout = (gsize) c.batch * net->n * net->out_channels;
  c.x = g_new (float, nx);
  c.t = g_new (float, c.batch);
  c.r = g_new (float, c.nout);
  c.out = g_new (float, c.nout);
  gaf_rng_init (&rng, seed);
  fill_uniform (&rng, c.x, nx, x_lo, 1);
  fill_uniform (&rng, c.t, c.batch, 0.5, 3);
  fill_uniform (&rng, c.r, c.nout, -1, 1);

  dx = g_new0 (float, nx);
  dt = g_new0 (float, c.batch);
  gaf_params_zero_grad (gaf_net_get_params (net));
  input_loss (&c);
  gaf_net_backward (net, c.r, dx, dt);
  check_grad (wx, input_loss, &c, c.x, dx, nx, h_x, 2e-2);
  check_grad (wt, input_loss, &c, c.t, dt, c.batch, h_t, 2e-2);

  g_free (c.x);
  g_free (c.t);
  g_free (c.r);
  g_free (c.out);
}

static void
test_toy_cnn_grad_input (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;

  /* Fourier scale 1 and time scale 0.5 keep the time path smooth enough for finite differences
   * (the reference 2 pi 30 w t oscillates on a scale of 1e-3) and exercise the time-scale chain rule. */
  gaf_toy_cnn_config_init (&cfg, 4, 3);
  cfg.hidden = 16;
  cfg.fourier_half = 8;
  cfg.fourier_scale = 1.0;
  cfg.time_scale = 0.5;
  net = new_test_net (&cfg, 406);
  /* step 1e-3 on inputs in [0, 1] and times in [0.5, 3] */
  check_input_grads ("toy CNN", GAF_NET (net), 0.0, 1e-3, 1e-3, 407);
}

/* ---- the posterior parameterisation (gaf-posterior.h) ---- */

/* A small toy CNN with the per-position bias inside the posterior form: every parameter checked. */
static void
test_posterior_grad_params (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafNet) net = NULL;
  g_autofree float *grad = NULL;
  GafLossCtx x;

  gaf_toy_cnn_config_init (&cfg, 4, 3);
  cfg.hidden = 8;
  cfg.fourier_half = 4;
  cfg.position_bias = TRUE;
  net = gaf_posterior_net_new (GAF_NET (new_test_net (&cfg, 421)), 0.5);
  g_assert_true (gaf_net_is_posterior (net));
  g_assert_cmpuint (gaf_net_get_params (net)->size, ==, 3755 + 12);
  gaf_loss_ctx_init (&x, net, 4, 422);
  grad = analytic_param_grad (&x);
  check_param_grad (gaf_net_get_params (x.net), gaf_loss, &x, grad, NULL, 0, 1e-3, 2e-2);
  gaf_loss_ctx_clear (&x);
}

/* Input and time gradients (the likelihood needs them): the network's own part and the analytic
 * lambda t s log W term. */
static void
test_posterior_grad_input (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafNet) net = NULL;

  gaf_toy_cnn_config_init (&cfg, 4, 5);
  cfg.hidden = 16;
  cfg.fourier_half = 8;
  cfg.fourier_scale = 1.0;
  cfg.time_scale = 0.5;
  cfg.position_bias = TRUE;
  net = gaf_posterior_net_new (GAF_NET (new_test_net (&cfg, 423)), 0.7);
  /* inputs in [0.05, 1] (log W); the time path of this small net bends on a scale of 1e-2 in t (ReLU
   * kinks of the time MLP), so its difference quotient needs the smaller step */
  check_input_grads ("posterior", net, 0.05, 1e-3, 1e-4, 424);
}

/* Known answer: with the network's output equal to log q_i at every position (head weights zero,
 * position bias log q), the posterior form is the exact marginal field of the class-scaling target,
 * computed independently by gaf_class_target_oracle_field; infer and forward agree. */
static void
test_posterior_oracle (void)
{
  const int n = 4, c = 7, B = 5;
  const double lambda = 0.5, times[] = { 0.0, 0.3, 2.0, 9.0, 15.0 };
  g_autoptr(GafClassTarget) target = gaf_class_target_new (n, c, 425);
  GafToyCnnConfig cfg;
  GafToyCnn *cnn;
  g_autoptr(GafNet) net = NULL;
  GafParams *p;
  const GafParamView *v;
  gsize count = (gsize) B * n * c;
  g_autofree float *vv = g_new (float, count), *w = g_new (float, count), *t = g_new (float, B);
  g_autofree float *f = g_new (float, count), *fi = g_new (float, count), *ref = g_new (float, count);
  GafRng rng;

  gaf_toy_cnn_config_init (&cfg, n, c);
  cfg.hidden = 16;
  cfg.fourier_half = 8;
  cfg.position_bias = TRUE;
  cnn = gaf_toy_cnn_new (&cfg, 426);
  p = gaf_toy_cnn_get_params (cnn);
  v = gaf_params_find (p, "head2.w");
  g_assert_nonnull (v);
  memset (p->data + v->offset, 0, v->size * sizeof (float));
  v = gaf_params_find (p, "head2.b");
  g_assert_nonnull (v);
  memset (p->data + v->offset, 0, v->size * sizeof (float));
  v = gaf_params_find (p, "position.b");
  g_assert_nonnull (v);
  for (gsize k = 0; k < v->size; k++)
    p->data[v->offset + k] = (float) log (target->q[k]);
  net = gaf_posterior_net_new (GAF_NET (cnn), lambda);

  gaf_rng_init (&rng, 427);
  for (guint ti = 0; ti < G_N_ELEMENTS (times); ti++)
    {
      double err = 0.0, scale = 0.0;
      fill_uniform (&rng, vv, count, -3, 3);
      gaf_project_tangent_rows (vv, (gsize) B * n, c);
      gaf_softmax_rows (vv, w, (gsize) B * n, c);
      for (int b = 0; b < B; b++)
        t[b] = (float) times[ti];
      gaf_net_forward (net, w, t, B, f);
      gaf_net_infer (net, w, t, B, fi);
      gaf_class_target_oracle_field (target, lambda, times[ti], vv, ref, B);
      for (gsize k = 0; k < count; k++)
        {
          err = MAX (err, fabs ((double) f[k] - ref[k]));
          scale = MAX (scale, fabs ((double) ref[k]));
          g_assert_cmpfloat (f[k], ==, fi[k]);
        }
      g_test_message ("t = %g: max |F - F*| = %.3g (max |F*| %.3g)", times[ti], err, scale);
      g_assert_cmpfloat (scale, >, 1e-3);
      g_assert_cmpfloat (err, <=, 1e-6);
    }
}

static void
test_toy_cnn_shared_time (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;
  const int B = 5;
  gsize per_in, per_out;
  g_autofree float *x = NULL, *t = NULL, *out = NULL, *out_mixed = NULL, *row = NULL, *r = NULL;
  g_autofree float *g_shared = NULL, *g_rows = NULL;
  GafParams *p;
  GafRng rng;

  gaf_toy_cnn_config_init (&cfg, 4, 5);
  net = new_test_net (&cfg, 408);
  p = gaf_toy_cnn_get_params (net);
  per_in = (gsize) cfg.n * cfg.in_channels;
  per_out = (gsize) cfg.n * cfg.out_channels;
  x = g_new (float, B * per_in);
  t = g_new (float, B);
  out = g_new (float, B * per_out);
  out_mixed = g_new (float, B * per_out);
  row = g_new (float, per_out);
  r = g_new (float, B * per_out);
  gaf_rng_init (&rng, 409);
  fill_uniform (&rng, x, B * per_in, 0, 1);
  fill_uniform (&rng, r, B * per_out, -1, 1);

  /* All t equal: the time path is computed once and shared. */
  for (int b = 0; b < B; b++)
    t[b] = 2.5f;
  gaf_toy_cnn_forward (net, x, t, B, out);

  /* Each row alone (1e-5 relative: only the BLAS blocking differs). */
  for (int b = 0; b < B; b++)
    {
      gaf_toy_cnn_forward (net, x + b * per_in, t + b, 1, row);
      check_close ("shared t vs one row", row, out + b * per_out, per_out, 1e-5);
    }

  /* The same times without sharing: make the last row's time differ. */
  t[B - 1] = 1.0f;
  gaf_toy_cnn_forward (net, x, t, B, out_mixed);
  check_close ("shared t vs distinct t", out_mixed, out, (B - 1) * per_out, 1e-5);
  gaf_toy_cnn_forward (net, x + (B - 1) * per_in, t + B - 1, 1, row);
  check_close ("distinct t, last row", out_mixed + (B - 1) * per_out, row, per_out, 1e-5);
  /* and the time input matters at all */
  {
    double diff = 0.0;
    for (gsize i = 0; i < per_out; i++)
      diff += fabs (out_mixed[(B - 1) * per_out + i] - out[(B - 1) * per_out + i]);
    g_assert_cmpfloat (diff, >, 1e-3);
  }

  /* Parameter gradients after a shared-t forward equal the sum of the per-row gradients (1e-4). */
  for (int b = 0; b < B; b++)
    t[b] = 2.5f;
  gaf_params_zero_grad (p);
  gaf_toy_cnn_forward (net, x, t, B, out);
  gaf_toy_cnn_backward (net, r, NULL, NULL);
  g_shared = g_memdup2 (p->grad, p->size * sizeof (float));
  gaf_params_zero_grad (p);
  for (int b = 0; b < B; b++)
    {
      gaf_toy_cnn_forward (net, x + b * per_in, t + b, 1, row);
      gaf_toy_cnn_backward (net, r + b * per_out, NULL, NULL);
    }
  g_rows = g_memdup2 (p->grad, p->size * sizeof (float));
  check_close ("shared t parameter gradient", g_shared, g_rows, p->size, 1e-4);
}

/* gaf_toy_cnn_infer (tiles of 256 sequences, no activations kept) gives what forward gives, and the
 * batch split over engine threads changes neither outputs nor gradients beyond rounding. */
static void
test_toy_cnn_infer_threads (void)
{
  GafToyCnnConfig cfg;
  g_autoptr(GafToyCnn) net = NULL;
  const int B = 600;   /* > 2 x 256: several tiles per thread part */
  gsize per_in, per_out;
  g_autofree float *x = NULL, *t = NULL, *out1 = NULL, *out2 = NULL, *r = NULL;
  g_autofree float *dx1 = NULL, *dx2 = NULL, *dt1 = NULL, *dt2 = NULL, *g1 = NULL;
  GafParams *p;
  GafRng rng;

  gaf_toy_cnn_config_init (&cfg, 4, 6);
  cfg.hidden = 32;
  cfg.fourier_half = 16;
  net = new_test_net (&cfg, 410);
  p = gaf_toy_cnn_get_params (net);
  per_in = (gsize) cfg.n * cfg.in_channels;
  per_out = (gsize) cfg.n * cfg.out_channels;
  x = g_new (float, B * per_in);
  t = g_new (float, B);
  out1 = g_new (float, B * per_out);
  out2 = g_new (float, B * per_out);
  r = g_new (float, B * per_out);
  gaf_rng_init (&rng, 411);
  fill_uniform (&rng, x, B * per_in, 0, 1);
  fill_uniform (&rng, t, B, 0, 8);
  fill_uniform (&rng, r, B * per_out, -1, 1);

  for (int threads = 1; threads <= 2; threads++)
    {
      gaf_blas_set_threads (threads);
      g_assert_cmpint (gaf_blas_get_threads (), ==, threads);
      /* distinct times, then one shared time (the sampler's case); 1e-5 relative */
      gaf_toy_cnn_forward (net, x, t, B, out1);
      gaf_toy_cnn_infer (net, x, t, B, out2);
      check_close ("infer vs forward", out2, out1, B * per_out, 1e-5);
      {
        g_autofree float *ts = g_new (float, B);
        for (int b = 0; b < B; b++)
          ts[b] = 3.25f;
        gaf_toy_cnn_forward (net, x, ts, B, out1);
        gaf_toy_cnn_infer (net, x, ts, B, out2);
        check_close ("infer vs forward, shared t", out2, out1, B * per_out, 1e-5);
      }
    }

  /* Forward and backward with 1 and 2 threads (B = 600 splits into two parts of 300). */
  dx1 = g_new0 (float, B * per_in);
  dx2 = g_new0 (float, B * per_in);
  dt1 = g_new0 (float, B);
  dt2 = g_new0 (float, B);
  gaf_blas_set_threads (1);
  gaf_params_zero_grad (p);
  gaf_toy_cnn_forward (net, x, t, B, out1);
  gaf_toy_cnn_backward (net, r, dx1, dt1);
  g1 = g_memdup2 (p->grad, p->size * sizeof (float));
  gaf_blas_set_threads (2);
  gaf_params_zero_grad (p);
  gaf_toy_cnn_forward (net, x, t, B, out2);
  gaf_toy_cnn_backward (net, r, dx2, dt2);
  check_close ("forward, 2 threads vs 1", out2, out1, B * per_out, 1e-5);
  /* Gradients are sums over 600 sequences in a different order: 1e-4 relative. */
  check_close ("parameter gradient, 2 threads vs 1", p->grad, g1, p->size, 1e-4);
  check_close ("dx, 2 threads vs 1", dx2, dx1, B * per_in, 1e-5);
  check_close ("dt, 2 threads vs 1", dt2, dt1, B, 1e-5);

  /* Backward accumulates into the arena: a second backward doubles the gradient. */
  gaf_toy_cnn_backward (net, r, NULL, NULL);
  for (gsize i = 0; i < p->size; i++)
    g1[i] *= 2.0f;
  check_close ("second backward accumulates", p->grad, g1, p->size, 1e-4);

  /* infer keeps no activations: a backward after it is a programmer error, refused. */
  memcpy (g1, p->grad, p->size * sizeof (float));
  gaf_toy_cnn_infer (net, x, t, B, out2);
  g_test_expect_message ("gaflow-engine", G_LOG_LEVEL_CRITICAL, "*assertion*failed*");
  gaf_toy_cnn_backward (net, r, NULL, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpmem (p->grad, p->size * sizeof (float), g1, p->size * sizeof (float));
  gaf_blas_set_threads (1);
}

/* The engine's own small-shape kernels (every one this CPU runs, and OpenBLAS) against the naive loops and
 * against OpenBLAS's sgemm: row-major A and A^T (strided), B and B given as its transpose (gaf_gemm_small_bt,
 * one and two packed panels), column tails that are not multiples of 16 or 32, row counts around the register
 * blocks, C = A B and C += A B; columns beyond n are never written. */
/* gaf_transpose against the element-by-element definition, with each kernel (the AVX-512 one transposes
 * 16 x 16 blocks in registers and the edges one by one): shapes around multiples of 16, row strides wider
 * than the rows, a scale, and t's entries outside the transpose left as they were. */
static void
test_transpose (void)
{
  static const char *const names[] = { "avx512", "avx2", "blas" };
  static const int sizes[] = { 1, 15, 16, 17, 32, 47, 128 };
  GafRng rng;

  gaf_rng_init (&rng, 309);
  for (guint kn = 0; kn < G_N_ELEMENTS (names); kn++)
    {
      if (!gaf_gemm_small_use (names[kn]))
        continue;
      for (guint ri = 0; ri < G_N_ELEMENTS (sizes); ri++)
        for (guint ci = 0; ci < G_N_ELEMENTS (sizes); ci++)
          {
            int rows = sizes[ri], cols = sizes[ci], ld = cols + 3, ldt = rows + 5;
            float s = (ri + ci) % 2 ? 0.125f : 1.0f;   /* a power of two: s x exact, so == holds */
            g_autofree float *x = g_new (float, (gsize) rows * ld);
            g_autofree float *t = g_new (float, (gsize) cols * ldt);

            fill_uniform (&rng, x, (gsize) rows * ld, -1, 1);
            for (gsize e = 0; e < (gsize) cols * ldt; e++)
              t[e] = 7.0f;
            gaf_transpose (t, ldt, x, ld, rows, cols, s);
            for (int j = 0; j < cols; j++)
              for (int i = 0; i < ldt; i++)
                if (t[(gsize) j * ldt + i] != (i < rows ? s * x[(gsize) i * ld + j] : 7.0f))
                  g_error ("transpose %d x %d (%s): t[%d][%d] = %g", rows, cols, names[kn], j, i,
                           t[(gsize) j * ldt + i]);
          }
    }
  gaf_gemm_small_use (NULL);
}

/* The nearest bf16 (ties to even), as a float: the reference's rounding of the inputs. */
static float
round_bf16 (float x)
{
  guint32 u;

  memcpy (&u, &x, 4);
  u += 0x7fffu + ((u >> 16) & 1u);
  u &= 0xffff0000u;
  memcpy (&x, &u, 4);
  return x;
}

/* gaf_gemm_bf16 against the product of the bf16-rounded inputs summed in double: within float summation
 * error (k 2^-24 of sum |a b|); and against the exact product within 2^-7 of sum |a b| (each input's rounding
 * is at most 2^-8 of it). B packed as is (gaf_bf16_pack) and from its transpose (gaf_bf16_pack_t, the same
 * words); odd k, k past one pass over A (512), columns not a multiple of 16, rows around the block of 8, C
 * written or accumulated, and the columns beyond n never written. Skipped where the CPU has no AVX-512 BF16. */
static void
test_gemm_bf16 (void)
{
  static const int ms[] = { 1, 7, 8, 9, 33 }, ns[] = { 16, 32, 48, 5, 100 }, ks[] = { 1, 2, 31, 64, 600 };
  GafRng rng;

  if (!gaf_bf16_available ())
    {
      g_test_skip ("no AVX-512 BF16 on this CPU");
      return;
    }
  gaf_rng_init (&rng, 311);
  for (guint mi = 0; mi < G_N_ELEMENTS (ms); mi++)
    for (guint ni = 0; ni < G_N_ELEMENTS (ns); ni++)
      for (guint ki = 0; ki < G_N_ELEMENTS (ks); ki++)
        for (int acc = 0; acc < 2; acc++)
          {
            int m = ms[mi], n = ns[ni], k = ks[ki], lda = k + 3, ldb = n + 5, ldc = n + 2;
            gsize plen = gaf_bf16_packed_len (k, n);
            g_autofree float *a = g_new (float, (gsize) m * lda);
            g_autofree float *b = g_new (float, (gsize) k * ldb);
            g_autofree float *bt = g_new (float, (gsize) n * (k + 1));
            g_autofree float *c0 = g_new (float, (gsize) m * ldc);
            g_autofree float *c1 = g_new (float, (gsize) m * ldc);
            g_autofree guint32 *bp = g_new (guint32, plen);
            g_autofree guint32 *bp2 = g_new (guint32, plen);

            fill_uniform (&rng, a, (gsize) m * lda, -2, 2);
            fill_uniform (&rng, b, (gsize) k * ldb, -1, 1);
            fill_uniform (&rng, c0, (gsize) m * ldc, -1, 1);
            for (int j = 0; j < n; j++)
              for (int l = 0; l < k; l++)
                bt[(gsize) j * (k + 1) + l] = b[(gsize) l * ldb + j];
            memset (bp, 0xff, plen * sizeof (guint32));
            memset (bp2, 0xee, plen * sizeof (guint32));
            gaf_bf16_pack (bp, b, ldb, k, n);
            gaf_bf16_pack_t (bp2, bt, k + 1, k, n);
            g_assert_cmpmem (bp, plen * sizeof (guint32), bp2, plen * sizeof (guint32));
            memcpy (c1, c0, (gsize) m * ldc * sizeof (float));
            gaf_gemm_bf16 (m, n, k, a, lda, bp, c1, ldc, acc);
            for (int i = 0; i < m; i++)
              for (int j = 0; j < ldc; j++)
                {
                  double rb = acc ? c0[i * ldc + j] : 0.0, ex = rb, mag = fabs (rb);
                  float got = c1[i * ldc + j];
                  if (j >= n)
                    {
                      g_assert_cmpfloat (got, ==, c0[i * ldc + j]);
                      continue;
                    }
                  for (int l = 0; l < k; l++)
                    {
                      float al = a[(gsize) i * lda + l], bl = b[(gsize) l * ldb + j];
                      rb += (double) round_bf16 (al) * round_bf16 (bl);
                      ex += (double) al * bl;
                      mag += fabs ((double) al * bl);
                    }
                  if (!(fabs (got - rb) <= (k + 2) * 0x1p-24 * mag + 1e-30) ||
                      !(fabs (got - ex) <= 0x1.01p-7 * mag + 1e-30))
                    g_error ("bf16 m %d n %d k %d acc %d: C[%d][%d] = %.9g, rounded inputs %.9g, exact %.9g", m, n, k,
                             acc, i, j, got, rb, ex);
                }
          }
}

static void
test_gemm_small (void)
{
  static const char *const names[] = { "avx512", "avx2", "blas" };
  static const int ms[] = { 1, 5, 6, 7, 8, 9, 13, 64 }, ns[] = { 16, 32, 48, 64, 80, 96, 17, 3 };
  /* 1500 and 1024: gaf_gemm_small slices k above 1023 into 512 (then 988, or 512 twice) */
  static const int ks[] = { 1, 9, 64, 131, 1024, 1500 };
  GafRng rng;
  int tested = 0;

  gaf_rng_init (&rng, 307);
  for (guint kn = 0; kn < G_N_ELEMENTS (names); kn++)
    {
      if (!gaf_gemm_small_available (names[kn]))
        {
          g_test_message ("kernel %s: not on this CPU", names[kn]);
          continue;
        }
      g_assert_true (gaf_gemm_small_use (names[kn]));
      g_assert_cmpstr (gaf_gemm_small_kernel (), ==, names[kn]);
      /* the row block the Winograd tile blocks are rounded to: the kernels' MR */
      g_assert_cmpint (gaf_gemm_small_rows (), ==, kn == 0 ? 8 : kn == 1 ? 6 : 1);
      tested++;
      for (guint mi = 0; mi < G_N_ELEMENTS (ms); mi++)
        for (guint ni = 0; ni < G_N_ELEMENTS (ns); ni++)
          for (guint ki = 0; ki < G_N_ELEMENTS (ks); ki++)
            for (int mode = 0; mode < 8; mode++)
              {
                /* A as is or transposed, C written or accumulated, B as is (gaf_gemm_small) or given as
                 * its transpose (gaf_gemm_small_bt) */
                int m = ms[mi], n = ns[ni], k = ks[ki];
                gboolean ta = mode & 1, acc = (mode >> 1) & 1, tb = mode >> 2;
                int lda = (ta ? m : k) + 5, ldb = (tb ? k : n) + 3, ldc = n + 2;
                gsize na = (gsize) (ta ? k : m) * lda, nb = (gsize) (tb ? n : k) * ldb, nc = (gsize) m * ldc;
                g_autofree float *a = g_new (float, na);
                g_autofree float *b = g_new (float, nb);
                g_autofree float *c0 = g_new (float, nc);
                g_autofree float *c1 = g_new (float, nc);
                g_autofree float *c2 = g_new (float, nc);
                double tol = 2e-7 * k + 1e-7;

                fill_uniform (&rng, a, na, -1, 1);
                fill_uniform (&rng, b, nb, -1, 1);
                fill_uniform (&rng, c0, nc, -1, 1);
                memcpy (c1, c0, nc * sizeof (float));
                memcpy (c2, c0, nc * sizeof (float));
                if (tb)
                  gaf_gemm_small_bt (m, n, k, a, ta ? 1 : (gsize) lda, ta ? (gsize) lda : 1, b, ldb, c1, ldc, acc);
                else
                  gaf_gemm_small (m, n, k, a, ta ? 1 : (gsize) lda, ta ? (gsize) lda : 1, b, ldb, c1, ldc, acc);
                gaf_sgemm_naive (ta, tb, m, n, k, 1.0f, a, lda, b, ldb, acc ? 1.0f : 0.0f, c2, ldc);
                for (int i = 0; i < m; i++)
                  for (int j = 0; j < ldc; j++)
                    {
                      float got = c1[i * ldc + j];
                      if (j >= n)
                        g_assert_cmpfloat (got, ==, c0[i * ldc + j]);
                      else if (!(fabs (got - c2[i * ldc + j]) <= tol))
                        g_error ("%s m %d n %d k %d ta %d tb %d acc %d: C[%d][%d] = %.9g, naive %.9g", names[kn], m,
                                 n, k, ta, tb, acc, i, j, got, c2[i * ldc + j]);
                    }
                /* and the same as OpenBLAS's sgemm within rounding */
                memcpy (c2, c0, nc * sizeof (float));
                gaf_sgemm (ta, tb, m, n, k, 1.0f, a, lda, b, ldb, acc ? 1.0f : 0.0f, c2, ldc);
                for (int i = 0; i < m; i++)
                  for (int j = 0; j < n; j++)
                    g_assert_cmpfloat (fabs (c1[i * ldc + j] - c2[i * ldc + j]), <=, 2 * tol);
              }
    }
  g_assert_cmpint (tested, >=, 1);
  g_assert_true (gaf_gemm_small_use (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gaf_blas_set_threads (1);

  g_test_add_func ("/engine/blas/sgemm-hand", test_sgemm_hand);
  g_test_add_func ("/engine/blas/sgemm-vs-naive", test_sgemm_vs_naive);
  g_test_add_func ("/engine/blas/gemm-small", test_gemm_small);
  g_test_add_func ("/engine/blas/transpose", test_transpose);
  g_test_add_func ("/engine/blas/gemm-bf16", test_gemm_bf16);
  g_test_add_func ("/engine/layers/linear", test_linear);
  g_test_add_func ("/engine/layers/relu", test_relu);
  g_test_add_func ("/engine/layers/layernorm", test_layernorm);
  g_test_add_func ("/engine/layers/fourier", test_fourier);
  g_test_add_func ("/engine/layers/fourier-accuracy", test_fourier_accuracy);
  g_test_add_func ("/engine/layers/conv1d", test_conv1d);
  g_test_add_func ("/engine/toy-cnn/param-count", test_toy_cnn_param_count);
  g_test_add_func ("/engine/toy-cnn/grad-all-params", test_toy_cnn_grad_all);
  g_test_add_func ("/engine/toy-cnn/grad-position-bias", test_toy_cnn_grad_position_bias);
  g_test_add_func ("/engine/toy-cnn/grad-default-size", test_toy_cnn_grad_default);
  g_test_add_func ("/engine/toy-cnn/grad-input", test_toy_cnn_grad_input);
  g_test_add_func ("/engine/toy-cnn/shared-time", test_toy_cnn_shared_time);
  g_test_add_func ("/engine/posterior/grad-params", test_posterior_grad_params);
  g_test_add_func ("/engine/posterior/grad-input", test_posterior_grad_input);
  g_test_add_func ("/engine/posterior/oracle", test_posterior_oracle);
  g_test_add_func ("/engine/toy-cnn/infer-threads", test_toy_cnn_infer_threads);

  return g_test_run ();
}
