/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-engine.h"

#include "gaf-test-util.h"

/* The image layers (engine/gaf-layers2d.c) and the UNet of docs/method.md §3 (engine/gaf-unet.c).
 * Every backward against central finite differences of the scalar loss L = sum_i R_i out_i with a
 * fixed random R (so dL/dout = R), accumulated in double; the fast convolutions and attention
 * against plain loops. Convolutions, upsampling and concatenation are linear in each argument:
 * their central differences are exact up to rounding for any step, so those use step 0.5 and
 * tolerance 1e-3. Nonlinear layers use step 1e-2 and tolerance 2e-2 (float forward passes). */

static float *
new_uniform (GafRng *rng, gsize count, double lo, double hi)
{
  float *x = g_new (float, MAX (count, 1));
  fill_uniform (rng, x, count, lo, hi);
  return x;
}

/* |numeric - analytic| <= rtol * max(|analytic_i|, 0.05 max_j |analytic_j|) for the entries
 * idx[0 .. count-1] (all entries when idx is NULL). The floor keeps (nearly) zero entries from
 * demanding an impossible relative accuracy; a real error in backward is of the size of a typical
 * entry and exceeds it. */
static void
check_grad_at (const char *what, LossFunc loss, gpointer ctx, float *x, const float *analytic, gsize n_all,
               const gsize *idx, gsize count, double h, double rtol, double abs_floor)
{
  double floor_ = MAX (0.05 * max_abs (analytic, n_all), abs_floor / rtol);
  guint bad = 0;

  g_assert_cmpfloat (floor_, >, 0.0);   /* an identically zero gradient proves nothing */
  for (gsize c = 0; c < count; c++)
    {
      gsize i = idx ? idx[c] : c;
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

static void
check_grad (const char *what, LossFunc loss, gpointer ctx, float *x, const float *analytic, gsize count,
            double h, double rtol)
{
  check_grad_at (what, loss, ctx, x, analytic, count, NULL, count, h, rtol, 0.0);
}

/* |a - b| <= rtol * max(|b_i|, 0.05 max |b|) elementwise. */
static void
check_close (const char *what, const float *a, const float *b, gsize count, double rtol)
{
  double floor_ = 0.05 * max_abs (b, count);
  guint bad = 0;

  g_assert_cmpfloat (floor_, >, 0.0);
  for (gsize i = 0; i < count; i++)
    if (!(fabs (a[i] - b[i]) <= rtol * MAX (fabs (b[i]), floor_)))
      {
        if (bad++ < 5)
          g_test_message ("%s[%" G_GSIZE_FORMAT "]: %.8g vs %.8g", what, i, a[i], b[i]);
      }
  if (bad > 0)
    g_test_fail_printf ("%s: %u of %" G_GSIZE_FORMAT " entries differ", what, bad, count);
}

/* check_close with the label "tag what" */
static void
check_close_as (const char *tag, const char *what, const float *a, const float *b, gsize count, double rtol)
{
  g_autofree char *label = g_strdup_printf ("%s %s", tag, what);

  check_close (label, a, b, count, rtol);
}

/* ---- conv2d ---------------------------------------------------------------------------------- */

typedef struct {
  GafConv2dShape s;
  int batch, h, w, ho, wo;
  gsize nin, nw, nout;
  float *in, *wt, *bias, *r, *out, *scratch;
  GafWinograd wg;
  int winograd;   /* Winograd output tile, 0 for im2col */
} ConvCtx;

static double
conv_loss (gpointer data)
{
  ConvCtx *x = data;

  if (x->winograd)
    {
      gaf_winograd_prepare (&x->wg, x->wt, &x->s, x->winograd, TRUE);
      gaf_winograd_forward (x->out, x->in, &x->wg, x->bias, x->batch, x->h, x->w, x->scratch);
    }
  else
    gaf_conv2d_forward (x->out, x->in, x->wt, x->bias, x->batch, x->h, x->w, &x->s, x->scratch);
  return dot_f (x->out, x->r, x->nout);
}

static void
conv_ctx_init (ConvCtx *x, GafRng *rng, GafConv2dShape s, int batch, int h, int w, int winograd)
{
  memset (x, 0, sizeof *x);
  x->s = s;
  x->batch = batch;
  x->h = h;
  x->w = w;
  x->ho = gaf_conv2d_out_size (&s, h);
  x->wo = gaf_conv2d_out_size (&s, w);
  x->nin = (gsize) batch * h * w * s.cin;
  x->nw = (gsize) s.kernel * s.kernel * s.cin * s.cout;
  x->nout = (gsize) batch * x->ho * x->wo * s.cout;
  x->in = new_uniform (rng, x->nin, -1, 1);
  x->wt = new_uniform (rng, x->nw, -1, 1);
  x->bias = new_uniform (rng, s.cout, -1, 1);
  x->r = new_uniform (rng, x->nout, -1, 1);
  x->out = g_new (float, x->nout);
  x->winograd = winograd;
  x->scratch = g_new (float, MAX (winograd ? gaf_winograd_scratch_len (&s, h, w) : gaf_conv2d_scratch_len (&s, h, w), 1));
}

static void
conv_ctx_clear (ConvCtx *x)
{
  g_free (x->in);
  g_free (x->wt);
  g_free (x->bias);
  g_free (x->r);
  g_free (x->out);
  g_free (x->scratch);
  gaf_winograd_clear (&x->wg);
}

/* Forward and backward of the fast path against the naive loops, then against central differences. */
static void
check_conv (GafConv2dShape s, int batch, int h, int w, int winograd, gboolean fd, guint64 seed)
{
  ConvCtx x;
  GafRng rng;
  g_autofree char *tag = g_strdup_printf ("%s %dx%d s%d %d->%d %dx%dx%d", winograd == 4 ? "winograd F(4x4)" :
                                          winograd == 2 ? "winograd F(2x2)" : "conv2d",
                                          s.kernel, s.kernel, s.stride, s.cin, s.cout, batch, h, w);

  gaf_rng_init (&rng, seed);
  conv_ctx_init (&x, &rng, s, batch, h, w, winograd);
  g_autofree float *ref = g_new (float, x.nout);
  g_autofree float *din = g_new (float, x.nin), *dw = g_new (float, x.nw), *db = g_new (float, s.cout);
  g_autofree float *din_ref = g_new0 (float, x.nin), *dw_ref = g_new0 (float, x.nw);
  g_autofree float *db_ref = g_new0 (float, s.cout);
  g_autofree char *what = NULL;
  /* sums of up to 9 Cin products of entries in [-1, 1]: 1e-4 against the loops; F(4x4) rounds about ten
   * times more (its transforms multiply by up to 5 and 8, and the output combines terms that cancel) */
  double rtol = winograd == 4 ? 1e-3 : 1e-4;

  conv_loss (&x);
  gaf_conv2d_forward_naive (ref, x.in, x.wt, x.bias, batch, h, w, &s);
  what = g_strdup_printf ("%s forward", tag);
  check_close (what, x.out, ref, x.nout, rtol);

  /* Backward accumulates: start from 1 and subtract it again. */
  for (gsize i = 0; i < x.nin; i++)
    din[i] = 1.0f;
  for (gsize i = 0; i < x.nw; i++)
    dw[i] = 1.0f;
  for (int i = 0; i < s.cout; i++)
    db[i] = 1.0f;
  if (winograd)
    gaf_winograd_backward (din, dw, db, x.r, x.in, &x.wg, batch, h, w, x.scratch);
  else
    gaf_conv2d_backward (din, dw, db, x.r, x.in, x.wt, batch, h, w, &s, x.scratch);
  for (gsize i = 0; i < x.nin; i++)
    din[i] -= 1.0f;
  for (gsize i = 0; i < x.nw; i++)
    dw[i] -= 1.0f;
  for (int i = 0; i < s.cout; i++)
    db[i] -= 1.0f;
  gaf_conv2d_backward_naive (din_ref, dw_ref, db_ref, x.r, x.in, x.wt, batch, h, w, &s);
  check_close_as (tag, "din", din, din_ref, x.nin, rtol);
  check_close_as (tag, "dw", dw, dw_ref, x.nw, rtol);
  check_close_as (tag, "db", db, db_ref, s.cout, rtol);

  if (fd)
    {
      g_free (what);
      what = g_strdup_printf ("%s din (fd)", tag);
      check_grad (what, conv_loss, &x, x.in, din, x.nin, 0.5, 1e-3);
      g_free (what);
      what = g_strdup_printf ("%s dw (fd)", tag);
      check_grad (what, conv_loss, &x, x.wt, dw, x.nw, 0.5, 1e-3);
      g_free (what);
      what = g_strdup_printf ("%s db (fd)", tag);
      check_grad (what, conv_loss, &x, x.bias, db, s.cout, 0.5, 1e-3);
    }
  /* NULL gradients are skipped and din alone still works. */
  memset (din, 0, x.nin * sizeof (float));
  if (winograd)
    gaf_winograd_backward (din, NULL, NULL, x.r, x.in, &x.wg, batch, h, w, x.scratch);
  else
    gaf_conv2d_backward (din, NULL, NULL, x.r, x.in, x.wt, batch, h, w, &x.s, x.scratch);
  check_close_as (tag, "din alone", din, din_ref, x.nin, rtol);
  if (winograd)
    {
      /* din written, not added to: what it held before is never read (NaN here); the bias gradient without
       * the weight gradient comes from its own pass over dout */
      for (gsize i = 0; i < x.nin; i++)
        din[i] = NAN;
      memset (db, 0, s.cout * sizeof (float));
      gaf_winograd_backward_ex (din, NULL, db, x.r, x.in, &x.wg, batch, h, w, FALSE, x.scratch);
      check_close_as (tag, "din written", din, din_ref, x.nin, rtol);
      check_close_as (tag, "db alone", db, db_ref, s.cout, rtol);
    }
  conv_ctx_clear (&x);
}

/* The fused epilogues: a per-image bias and a residual, separate or the output itself. */
static void
check_conv_ex (GafConv2dShape s, int batch, int h, int w, int tile, guint64 seed)
{
  ConvCtx x;
  GafRng rng;
  double rtol = tile == 4 ? 1e-3 : 1e-4;

  gaf_rng_init (&rng, seed);
  conv_ctx_init (&x, &rng, s, batch, h, w, tile);
  g_autofree float *pb = new_uniform (&rng, (gsize) batch * s.cout, -1, 1);
  g_autofree float *res = new_uniform (&rng, x.nout, -1, 1);
  g_autofree float *ref = g_new (float, x.nout), *out = g_new (float, x.nout);
  gsize per = (gsize) x.ho * x.wo * s.cout;

  if (tile)
    gaf_winograd_prepare (&x.wg, x.wt, &s, tile, FALSE);
  gaf_conv2d_forward_naive (ref, x.in, x.wt, NULL, batch, h, w, &s);
  for (gsize i = 0; i < x.nout; i++)
    ref[i] += pb[(i / per) * s.cout + i % s.cout] + res[i];
  for (int alias = 0; alias < 2; alias++)
    {
      if (alias)
        memcpy (out, res, x.nout * sizeof (float));
      if (tile)
        gaf_winograd_forward_ex (out, x.in, &x.wg, pb, s.cout, alias ? out : res, batch, h, w, x.scratch);
      else
        gaf_conv2d_forward_ex (out, x.in, x.wt, pb, s.cout, alias ? out : res, batch, h, w, &s, x.scratch);
      check_close (alias ? "forward_ex (out += )" : "forward_ex", out, ref, x.nout, rtol);
    }
  conv_ctx_clear (&x);
}

static void
test_conv2d (void)
{
  /* 3x3 same, strided (odd and even sizes), 1x1; small enough for central differences. */
  check_conv ((GafConv2dShape) { 3, 4, 3, 1, 1 }, 2, 5, 6, FALSE, TRUE, 401);
  check_conv ((GafConv2dShape) { 3, 4, 3, 2, 1 }, 2, 6, 6, FALSE, TRUE, 402);
  check_conv ((GafConv2dShape) { 2, 3, 3, 2, 1 }, 2, 7, 5, FALSE, TRUE, 403);
  check_conv ((GafConv2dShape) { 5, 3, 1, 1, 0 }, 2, 4, 3, FALSE, TRUE, 404);
  /* Several im2col tiles (the tiles run across images) against the loops only. */
  check_conv ((GafConv2dShape) { 64, 16, 3, 1, 1 }, 3, 10, 12, FALSE, FALSE, 405);
  check_conv ((GafConv2dShape) { 64, 8, 3, 2, 1 }, 3, 16, 16, FALSE, FALSE, 406);
  check_conv_ex ((GafConv2dShape) { 5, 6, 3, 1, 1 }, 3, 5, 7, 0, 407);
  check_conv_ex ((GafConv2dShape) { 5, 6, 1, 1, 0 }, 3, 5, 7, 0, 408);
  check_conv_ex ((GafConv2dShape) { 40, 24, 3, 1, 1 }, 3, 10, 12, 0, 409);
  /* Few channels on one side (a UNet's first and last layer; direct, without im2col, on AVX-512 CPUs): 1 to 4
   * narrow channels, 16 to 128 wide ones, the narrow side's width odd and even */
  check_conv ((GafConv2dShape) { 2, 32, 3, 1, 1 }, 2, 6, 5, FALSE, TRUE, 410);
  check_conv ((GafConv2dShape) { 32, 2, 3, 1, 1 }, 2, 6, 5, FALSE, TRUE, 411);
  check_conv_ex ((GafConv2dShape) { 1, 16, 3, 1, 1 }, 3, 7, 9, 0, 412);
  check_conv_ex ((GafConv2dShape) { 3, 48, 3, 1, 1 }, 2, 5, 8, 0, 413);
  check_conv_ex ((GafConv2dShape) { 4, 128, 3, 1, 1 }, 2, 4, 4, 0, 414);
  check_conv_ex ((GafConv2dShape) { 48, 1, 3, 1, 1 }, 3, 7, 9, 0, 415);
  check_conv_ex ((GafConv2dShape) { 128, 3, 3, 1, 1 }, 2, 5, 8, 0, 416);
  check_conv_ex ((GafConv2dShape) { 64, 4, 3, 1, 1 }, 2, 1, 1, 0, 417);
}

/* A Winograd convolution that reads its input as the nearest 2x upsampling of a half-size image (wg.up)
 * against the same convolution of the upsampled image: forward, and the weight and bias gradients; the input
 * gradient is the full-size one in both. */
static void
test_winograd_upsampled (void)
{
  for (int m = 2; m <= 4; m += 2)
    {
      GafConv2dShape s = { 24, 16, 3, 1, 1 };
      int batch = 2, h = 8, w = 16, n = batch * h * w;
      GafRng rng;
      GafWinograd wg = { 0 };

      gaf_rng_init (&rng, 430 + m);
      g_autofree float *low = new_uniform (&rng, (gsize) n / 4 * s.cin, -1, 1);
      g_autofree float *wt = new_uniform (&rng, (gsize) 9 * s.cin * s.cout, -0.5, 0.5);
      g_autofree float *bias = new_uniform (&rng, s.cout, -1, 1), *dout = new_uniform (&rng, (gsize) n * s.cout, -1, 1);
      g_autofree float *up = g_new (float, (gsize) n * s.cin), *ref = g_new (float, (gsize) n * s.cout);
      g_autofree float *out = g_new (float, (gsize) n * s.cout);
      g_autofree float *scratch = g_new (float, gaf_winograd_scratch_len (&s, h, w));
      g_autofree float *dw = g_new0 (float, (gsize) 9 * s.cin * s.cout), *dw_ref = g_new0 (float, (gsize) 9 * s.cin * s.cout);
      g_autofree float *db = g_new0 (float, s.cout), *db_ref = g_new0 (float, s.cout);
      g_autofree float *din = g_new (float, (gsize) n * s.cin), *din_ref = g_new (float, (gsize) n * s.cin);
      g_autofree char *tag = g_strdup_printf ("winograd F(%dx%d) upsampled input", m, m);

      gaf_upsample2x_forward (up, low, batch, h / 2, w / 2, s.cin);
      gaf_winograd_prepare (&wg, wt, &s, m, TRUE);
      gaf_winograd_forward (ref, up, &wg, bias, batch, h, w, scratch);
      gaf_winograd_backward_ex (din_ref, dw_ref, db_ref, dout, up, &wg, batch, h, w, FALSE, scratch);
      wg.up = TRUE;
      gaf_winograd_forward (out, low, &wg, bias, batch, h, w, scratch);
      gaf_winograd_backward_ex (din, dw, db, dout, low, &wg, batch, h, w, FALSE, scratch);
      check_close_as (tag, "forward", out, ref, (gsize) n * s.cout, 1e-6);
      check_close_as (tag, "dw", dw, dw_ref, (gsize) 9 * s.cin * s.cout, 1e-6);
      check_close_as (tag, "db", db, db_ref, s.cout, 1e-6);
      check_close_as (tag, "din", din, din_ref, (gsize) n * s.cin, 1e-6);
      gaf_winograd_clear (&wg);
    }
}

static void
test_winograd (void)
{
  GafConv2dShape s = { 3, 4, 3, 1, 1 };

  g_assert_true (gaf_winograd_supported (&s, 4, 6));
  g_assert_false (gaf_winograd_supported (&s, 5, 6));
  g_assert_false (gaf_winograd_supported (&(GafConv2dShape) { 3, 4, 3, 2, 1 }, 4, 4));
  g_assert_false (gaf_winograd_supported (&(GafConv2dShape) { 3, 4, 1, 1, 0 }, 4, 4));
  g_assert_cmpint (gaf_winograd_tile (&s, 4, 6), ==, 2);
  g_assert_cmpint (gaf_winograd_tile (&s, 8, 12), ==, 4);
  g_assert_cmpint (gaf_winograd_tile (&s, 8, 7), ==, 0);

  /* F(2x2, 3x3): every tile touches the border at 4 x 6; 2 x 2 is one tile */
  check_conv (s, 2, 4, 6, 2, TRUE, 411);
  check_conv ((GafConv2dShape) { 2, 5, 3, 1, 1 }, 1, 2, 2, 2, TRUE, 412);
  /* F(4x4, 3x3): one tile per image at 4 x 4, interior tiles at 12 x 8 */
  check_conv (s, 2, 4, 4, 4, TRUE, 415);
  check_conv ((GafConv2dShape) { 5, 3, 3, 1, 1 }, 2, 12, 8, 4, TRUE, 416);
  /* Several blocks of tiles, the last one partial; the smaller tile also on sizes that allow the larger. */
  for (int m = 2; m <= 4; m += 2)
    {
      check_conv ((GafConv2dShape) { 64, 64, 3, 1, 1 }, 2, 16, 16, m, FALSE, 413);
      check_conv ((GafConv2dShape) { 96, 32, 3, 1, 1 }, 3, 8, 12, m, FALSE, 414);
      check_conv ((GafConv2dShape) { 32, 96, 3, 1, 1 }, 5, 32, 32, m, FALSE, 417);
      check_conv_ex ((GafConv2dShape) { 5, 6, 3, 1, 1 }, 3, 4, 8, m, 418);
      check_conv_ex ((GafConv2dShape) { 64, 32, 3, 1, 1 }, 3, 16, 16, m, 419);
    }
  /* The blocks of tiles are a multiple of the product kernel's row block (8, 6 or 1 rows), so each
   * kernel splits the tiles differently: 18 tiles of 96 -> 32 channels in blocks of 8 + 8 + 2, 12 + 6
   * or 14 + 4. */
  {
    static const char *const kernels[] = { "avx512", "avx2", "blas" };
    for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
      if (gaf_gemm_small_use (kernels[i]))
        {
          check_conv ((GafConv2dShape) { 96, 32, 3, 1, 1 }, 3, 8, 12, 4, FALSE, 420 + i);
          check_conv ((GafConv2dShape) { 64, 64, 3, 1, 1 }, 1, 16, 16, 4, FALSE, 423 + i);
        }
    g_assert_true (gaf_gemm_small_use (NULL));
  }
}

/* ---- GroupNorm ------------------------------------------------------------------------------- */

typedef struct {
  int batch, n, c, groups;
  gboolean silu;
  gsize count;
  float *in, *g, *b, *r, *out, *mean, *rstd;
} NormCtx;

static double
norm_loss (gpointer data)
{
  NormCtx *x = data;

  if (x->silu)
    gaf_groupnorm_silu_forward (x->out, x->mean, x->rstd, x->in, x->g, x->b, x->batch, x->n, x->c, x->groups);
  else
    gaf_groupnorm_forward (x->out, x->mean, x->rstd, x->in, x->g, x->b, x->batch, x->n, x->c, x->groups);
  return dot_f (x->out, x->r, x->count);
}

static void
test_groupnorm_groups (void)
{
  static const int cases[][2] = { { 1, 1 }, { 2, 2 }, { 8, 8 }, { 32, 32 }, { 64, 32 }, { 96, 32 },
                                  { 48, 24 }, { 33, 11 }, { 37, 1 }, { 128, 32 }, { 192, 32 } };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpint (gaf_groupnorm_groups (cases[i][0]), ==, cases[i][1]);
}

static void
norm_ctx_init (NormCtx *x, GafRng *rng, int batch, int n, int c, int groups, gboolean silu)
{
  x->batch = batch;
  x->n = n;
  x->c = c;
  x->groups = groups;
  x->silu = silu;
  x->count = (gsize) batch * n * c;
  /* an offset per sample, so the mean matters */
  x->in = new_uniform (rng, x->count, -1, 3);
  x->g = new_uniform (rng, c, 0.5, 1.5);
  x->b = new_uniform (rng, c, -0.5, 0.5);
  x->r = new_uniform (rng, x->count, -1, 1);
  x->out = g_new (float, x->count);
  x->mean = g_new (float, (gsize) batch * groups);
  x->rstd = g_new (float, (gsize) batch * groups);
}

static void
norm_ctx_clear (NormCtx *x)
{
  g_free (x->in);
  g_free (x->g);
  g_free (x->b);
  g_free (x->r);
  g_free (x->out);
  g_free (x->mean);
  g_free (x->rstd);
}

static void
test_groupnorm (void)
{
  static const int shapes[][4] = { { 2, 5, 6, 3 }, { 2, 4, 6, 6 }, { 1, 7, 4, 1 } };
  GafRng rng;

  gaf_rng_init (&rng, 421);
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    {
      NormCtx x;
      int cg;

      norm_ctx_init (&x, &rng, shapes[si][0], shapes[si][1], shapes[si][2], shapes[si][3], FALSE);
      cg = x.c / x.groups;
      g_autofree float *din = g_new0 (float, x.count), *dg = g_new0 (float, x.c), *db = g_new0 (float, x.c);
      g_autofree float *dout = g_memdup2 (x.r, x.count * sizeof (float));

      /* With unit gain and zero bias every group of every sample has mean 0 and variance 1 - eps-ish. */
      {
        g_autofree float *one = g_new (float, x.c), *zero = g_new0 (float, x.c);
        for (int j = 0; j < x.c; j++)
          one[j] = 1.0f;
        gaf_groupnorm_forward (x.out, x.mean, x.rstd, x.in, one, zero, x.batch, x.n, x.c, x.groups);
        for (int b = 0; b < x.batch; b++)
          for (int k = 0; k < x.groups; k++)
            {
              double s = 0.0, s2 = 0.0, m = 0.0;
              for (int p = 0; p < x.n; p++)
                for (int j = k * cg; j < (k + 1) * cg; j++)
                  {
                    double v = x.out[((gsize) b * x.n + p) * x.c + j];
                    s += v;
                    s2 += v * v;
                    m += x.in[((gsize) b * x.n + p) * x.c + j];
                  }
              double cnt = (double) x.n * cg;
              g_assert_cmpfloat_with_epsilon (s / cnt, 0.0, 1e-5);
              /* var(out) = var / (var + eps) */
              g_assert_cmpfloat_with_epsilon (s2 / cnt, 1.0, 1e-3);
              g_assert_cmpfloat_with_epsilon (x.mean[b * x.groups + k], m / cnt, 1e-5);
            }
      }

      norm_loss (&x);
      gaf_groupnorm_backward (din, dg, db, dout, x.in, x.mean, x.rstd, x.g, x.batch, x.n, x.c, x.groups);
      check_grad ("groupnorm din", norm_loss, &x, x.in, din, x.count, 1e-2, 2e-2);
      check_grad ("groupnorm dg", norm_loss, &x, x.g, dg, x.c, 1e-2, 2e-2);
      check_grad ("groupnorm db", norm_loss, &x, x.b, db, x.c, 1e-2, 2e-2);
      norm_ctx_clear (&x);
    }
}

static void
test_groupnorm_silu (void)
{
  NormCtx x;
  GafRng rng;

  gaf_rng_init (&rng, 422);
  norm_ctx_init (&x, &rng, 2, 6, 8, 4, TRUE);
  g_autofree float *din = g_new0 (float, x.count), *dg = g_new0 (float, x.c), *db = g_new0 (float, x.c);
  g_autofree float *dout = g_memdup2 (x.r, x.count * sizeof (float));
  g_autofree float *gn = g_new (float, x.count), *ref = g_new (float, x.count);
  g_autofree float *dgn = g_new0 (float, x.count), *din_ref = g_new0 (float, x.count);
  g_autofree float *dg_ref = g_new0 (float, x.c), *db_ref = g_new0 (float, x.c);

  /* The fused layer is the composition SiLU(GroupNorm(.)), forward and backward. */
  norm_loss (&x);
  gaf_groupnorm_forward (gn, x.mean, x.rstd, x.in, x.g, x.b, x.batch, x.n, x.c, x.groups);
  gaf_silu_forward (ref, gn, x.count);
  check_close ("groupnorm-silu forward", x.out, ref, x.count, 1e-5);
  gaf_silu_backward (dgn, x.r, gn, x.count);
  gaf_groupnorm_backward (din_ref, dg_ref, db_ref, dgn, x.in, x.mean, x.rstd, x.g, x.batch, x.n, x.c, x.groups);
  gaf_groupnorm_silu_backward (din, dg, db, dout, x.in, x.mean, x.rstd, x.g, x.b, x.batch, x.n, x.c, x.groups);
  check_close ("groupnorm-silu din", din, din_ref, x.count, 1e-4);
  check_close ("groupnorm-silu dg", dg, dg_ref, x.c, 1e-4);
  check_close ("groupnorm-silu db", db, db_ref, x.c, 1e-4);
  /* dout was overwritten with d GroupNorm-output */
  check_close ("groupnorm-silu dout", dout, dgn, x.count, 1e-5);
  check_grad ("groupnorm-silu din (fd)", norm_loss, &x, x.in, din, x.count, 1e-2, 2e-2);
  check_grad ("groupnorm-silu dg (fd)", norm_loss, &x, x.g, dg, x.c, 1e-2, 2e-2);
  check_grad ("groupnorm-silu db (fd)", norm_loss, &x, x.b, db, x.c, 1e-2, 2e-2);
  /* din written instead of added to: its old contents (NaN) are never read */
  {
    g_autofree float *dw = g_new (float, x.count), *dout2 = g_memdup2 (x.r, x.count * sizeof (float));
    for (gsize i = 0; i < x.count; i++)
      dw[i] = NAN;
    memset (dg, 0, x.c * sizeof (float));
    gaf_groupnorm_silu_backward_ex (dw, dg, NULL, dout2, x.in, x.mean, x.rstd, x.g, x.b, x.batch, x.n, x.c,
                                    x.groups, FALSE);
    check_close ("groupnorm-silu din written", dw, din_ref, x.count, 1e-4);
    check_close ("groupnorm-silu dg (din written)", dg, dg_ref, x.c, 1e-4);
  }
  norm_ctx_clear (&x);
}

/* The one-pass GroupNorm + SiLU of a decoder block: two inputs side by side, their per-channel sums given or
 * not, against the concatenation normalised by the plain layer; a group straddles the two inputs. */
typedef struct {
  int batch, n, ca, cb, groups;
  float *a, *b, *g, *beta, *r, *out, *mean, *rstd;
  double *sums;
} Norm2Ctx;

static double
norm2_loss (gpointer data)
{
  Norm2Ctx *x = data;
  int c = x->ca + x->cb;
  g_autofree float *cat = g_new (float, (gsize) x->batch * x->n * c);

  /* the sums as the layers before would give them: those of a and of b side by side */
  gaf_concat_forward (cat, x->a, x->ca, x->b, x->cb, (gsize) x->batch * x->n);
  gaf_channel_sums (x->sums, cat, x->batch, x->n, c);
  gaf_groupnorm_silu_forward_sums (x->out, x->mean, x->rstd, x->a, x->ca, x->b, x->cb, x->sums, x->g, x->beta,
                                   x->batch, x->n, x->groups);
  return dot_f (x->out, x->r, (gsize) x->batch * x->n * c);
}

/* Channel counts that are multiples of 16 take the AVX-512 SiLU where the CPU has it: against GroupNorm
 * followed by the plain SiLU, entry by entry, with gains that spread the normalised values over
 * [-150, 150] (both tails of the sigmoid, the clamp of the exponential). */
static void
test_groupnorm_silu_wide (void)
{
  static const int cs[] = { 16, 48, 64 };
  GafRng rng;

  gaf_rng_init (&rng, 424);
  for (guint ci = 0; ci < G_N_ELEMENTS (cs); ci++)
    {
      NormCtx x;
      guint bad = 0, tails = 0;

      norm_ctx_init (&x, &rng, 3, 37, cs[ci], 4, TRUE);
      for (int j = 0; j < x.c; j++)
        x.g[j] *= 60.0f;
      g_autofree float *gn = g_new (float, x.count), *ref = g_new (float, x.count);
      gaf_groupnorm_silu_forward (x.out, x.mean, x.rstd, x.in, x.g, x.b, x.batch, x.n, x.c, x.groups);
      gaf_groupnorm_forward (gn, x.mean, x.rstd, x.in, x.g, x.b, x.batch, x.n, x.c, x.groups);
      gaf_silu_forward (ref, gn, x.count);
      for (gsize i = 0; i < x.count; i++)
        {
          tails += fabsf (gn[i]) > 30.0f;
          if (!(fabs (x.out[i] - ref[i]) <= 1e-6 * fabs (ref[i]) + 1e-37))
            {
              if (bad++ < 5)
                g_test_message ("c %d [%" G_GSIZE_FORMAT "]: silu (%.8g) = %.9g, plain %.9g", x.c, i, gn[i],
                                x.out[i], ref[i]);
            }
        }
      g_assert_cmpuint (tails, >, x.count / 10);
      if (bad > 0)
        g_test_fail_printf ("c %d: %u of %" G_GSIZE_FORMAT " entries differ", x.c, bad, x.count);

      /* backward (the AVX-512 SiLU gradient, its sums over blocks of rows; 37 rows leave a partial block)
       * against the plain SiLU backward followed by GroupNorm backward */
      {
        g_autofree float *dout = g_memdup2 (x.r, x.count * sizeof (float)), *dgn = g_new0 (float, x.count);
        g_autofree float *din = g_new0 (float, x.count), *din_ref = g_new0 (float, x.count);
        g_autofree float *dg = g_new0 (float, x.c), *db = g_new0 (float, x.c);
        g_autofree float *dg_ref = g_new0 (float, x.c), *db_ref = g_new0 (float, x.c);
        g_autofree char *what = NULL;

        gaf_silu_backward (dgn, x.r, gn, x.count);
        gaf_groupnorm_backward (din_ref, dg_ref, db_ref, dgn, x.in, x.mean, x.rstd, x.g, x.batch, x.n, x.c,
                                x.groups);
        gaf_groupnorm_silu_backward (din, dg, db, dout, x.in, x.mean, x.rstd, x.g, x.b, x.batch, x.n, x.c,
                                     x.groups);
        what = g_strdup_printf ("groupnorm-silu c %d d GroupNorm-output", x.c);
        check_close (what, dout, dgn, x.count, 1e-5);
        g_free (what);
        what = g_strdup_printf ("groupnorm-silu c %d din", x.c);
        check_close (what, din, din_ref, x.count, 1e-4);
        g_free (what);
        what = g_strdup_printf ("groupnorm-silu c %d dg", x.c);
        check_close (what, dg, dg_ref, x.c, 1e-4);
        g_free (what);
        what = g_strdup_printf ("groupnorm-silu c %d db", x.c);
        check_close (what, db, db_ref, x.c, 1e-4);
      }
      norm_ctx_clear (&x);
    }
}

/* The split backward with halves of 16 and 32 channels (the AVX-512 SiLU gradient, rows of different
 * strides) against the backward of the concatenation */
static void
test_groupnorm_silu_split_wide (void)
{
  int batch = 2, n = 37, ca = 16, cb = 32, c = ca + cb, groups = 8;
  gsize m = (gsize) batch * n, count = m * c;
  GafRng rng;

  gaf_rng_init (&rng, 426);
  g_autofree float *a = new_uniform (&rng, m * ca, -1, 3), *b = new_uniform (&rng, m * cb, -2, 1);
  g_autofree float *g = new_uniform (&rng, c, 0.5, 30), *beta = new_uniform (&rng, c, -0.5, 0.5);
  g_autofree float *r = new_uniform (&rng, count, -1, 1), *cat = g_new (float, count), *out = g_new (float, count);
  g_autofree float *mean = g_new (float, (gsize) batch * groups), *rstd = g_new (float, (gsize) batch * groups);
  g_autofree float *dcat = g_new0 (float, count), *dg = g_new0 (float, c), *db = g_new0 (float, c);
  g_autofree float *da = g_new0 (float, m * ca), *dbb = g_new0 (float, m * cb);
  g_autofree float *da2 = g_new0 (float, m * ca), *db2 = g_new0 (float, m * cb);
  g_autofree float *dg2 = g_new0 (float, c), *dbeta2 = g_new0 (float, c);
  g_autofree float *d1 = g_memdup2 (r, count * sizeof (float)), *d2 = g_memdup2 (r, count * sizeof (float));

  gaf_concat_forward (cat, a, ca, b, cb, m);
  gaf_groupnorm_silu_forward (out, mean, rstd, cat, g, beta, batch, n, c, groups);
  gaf_groupnorm_silu_backward (dcat, dg, db, d1, cat, mean, rstd, g, beta, batch, n, c, groups);
  gaf_concat_backward (da, dbb, dcat, ca, cb, m);
  gaf_groupnorm_silu_backward_split (da2, db2, dg2, dbeta2, d2, a, ca, b, cb, mean, rstd, g, beta, batch, n, groups);
  check_close ("groupnorm-silu split 16 | 32 da", da2, da, m * ca, 1e-5);
  check_close ("groupnorm-silu split 16 | 32 db", db2, dbb, m * cb, 1e-5);
  check_close ("groupnorm-silu split 16 | 32 dg", dg2, dg, c, 1e-5);
  check_close ("groupnorm-silu split 16 | 32 dbeta", dbeta2, db, c, 1e-5);
  check_close ("groupnorm-silu split 16 | 32 dout", d2, d1, count, 1e-6);
}

static void
test_groupnorm_silu_sums (void)
{
  Norm2Ctx x = { 2, 12, 6, 10, 4 };
  int c = x.ca + x.cb;
  gsize m = (gsize) x.batch * x.n, count = m * c;
  GafRng rng;

  gaf_rng_init (&rng, 423);
  x.a = new_uniform (&rng, m * x.ca, -1, 3);
  x.b = new_uniform (&rng, m * x.cb, -2, 1);
  x.g = new_uniform (&rng, c, 0.5, 1.5);
  x.beta = new_uniform (&rng, c, -0.5, 0.5);
  x.r = new_uniform (&rng, count, -1, 1);
  x.out = g_new (float, count);
  x.mean = g_new (float, (gsize) x.batch * x.groups);
  x.rstd = g_new (float, (gsize) x.batch * x.groups);
  x.sums = g_new (double, (gsize) x.batch * 2 * c);
  g_autofree float *cat = g_new (float, count), *ref = g_new (float, count), *out2 = g_new (float, count);
  g_autofree float *mean = g_new (float, (gsize) x.batch * x.groups), *rstd = g_new (float, (gsize) x.batch * x.groups);
  g_autofree float *dcat = g_new0 (float, count), *dg = g_new0 (float, c), *db = g_new0 (float, c);
  g_autofree float *da = g_new0 (float, m * x.ca), *dbb = g_new0 (float, m * x.cb);
  g_autofree float *dout = g_memdup2 (x.r, count * sizeof (float));

  gaf_concat_forward (cat, x.a, x.ca, x.b, x.cb, m);
  gaf_groupnorm_silu_forward (ref, mean, rstd, cat, x.g, x.beta, x.batch, x.n, c, x.groups);
  norm2_loss (&x);
  /* the sums: per sample and channel, sum x and sum x^2 */
  for (int bi = 0; bi < x.batch; bi++)
    for (int j = 0; j < c; j++)
      {
        double s1 = 0.0, s2 = 0.0;
        for (int p = 0; p < x.n; p++)
          {
            double v = cat[((gsize) bi * x.n + p) * c + j];
            s1 += v;
            s2 += v * v;
          }
        g_assert_cmpfloat_with_epsilon (x.sums[(gsize) bi * 2 * c + j], s1, 1e-9 * MAX (1.0, fabs (s1)));
        g_assert_cmpfloat_with_epsilon (x.sums[(gsize) bi * 2 * c + c + j], s2, 1e-9 * MAX (1.0, s2));
      }
  check_close ("groupnorm-silu [a | b] with sums", x.out, ref, count, 1e-6);
  check_close ("groupnorm-silu [a | b] mean", x.mean, mean, (gsize) x.batch * x.groups, 1e-6);
  check_close ("groupnorm-silu [a | b] rstd", x.rstd, rstd, (gsize) x.batch * x.groups, 1e-6);
  /* without sums the layer forms them itself; with b NULL it is the plain layer on one input */
  gaf_groupnorm_silu_forward_sums (out2, NULL, NULL, x.a, x.ca, x.b, x.cb, NULL, x.g, x.beta, x.batch, x.n, x.groups);
  check_close ("groupnorm-silu [a | b] without sums", out2, ref, count, 1e-6);
  gaf_groupnorm_silu_forward_sums (out2, NULL, NULL, cat, c, NULL, 0, NULL, x.g, x.beta, x.batch, x.n, x.groups);
  check_close ("groupnorm-silu one input", out2, ref, count, 1e-6);

  /* central differences through the one-pass forward, the gradient from the layer's backward, split */
  gaf_groupnorm_silu_backward (dcat, dg, db, dout, cat, x.mean, x.rstd, x.g, x.beta, x.batch, x.n, c, x.groups);
  gaf_concat_backward (da, dbb, dcat, x.ca, x.cb, m);
  check_grad ("groupnorm-silu [a | b] da (fd)", norm2_loss, &x, x.a, da, m * x.ca, 1e-2, 2e-2);
  check_grad ("groupnorm-silu [a | b] db (fd)", norm2_loss, &x, x.b, dbb, m * x.cb, 1e-2, 2e-2);
  check_grad ("groupnorm-silu [a | b] dg (fd)", norm2_loss, &x, x.g, dg, c, 1e-2, 2e-2);
  check_grad ("groupnorm-silu [a | b] dbeta (fd)", norm2_loss, &x, x.beta, db, c, 1e-2, 2e-2);
  /* the backward of the two halves themselves: the same gradients, added to what da and db held (1 here) */
  {
    g_autofree float *da2 = g_new (float, m * x.ca), *db2 = g_new (float, m * x.cb);
    g_autofree float *dg2 = g_new0 (float, c), *dbeta2 = g_new0 (float, c);
    g_autofree float *dout2 = g_memdup2 (x.r, count * sizeof (float));
    for (gsize i = 0; i < m * x.ca; i++)
      da2[i] = 1.0f;
    for (gsize i = 0; i < m * x.cb; i++)
      db2[i] = 1.0f;
    gaf_groupnorm_silu_backward_split (da2, db2, dg2, dbeta2, dout2, x.a, x.ca, x.b, x.cb, x.mean, x.rstd, x.g,
                                       x.beta, x.batch, x.n, x.groups);
    for (gsize i = 0; i < m * x.ca; i++)
      da2[i] -= 1.0f;
    for (gsize i = 0; i < m * x.cb; i++)
      db2[i] -= 1.0f;
    check_close ("groupnorm-silu split da", da2, da, m * x.ca, 1e-5);
    check_close ("groupnorm-silu split db", db2, dbb, m * x.cb, 1e-5);
    check_close ("groupnorm-silu split dg", dg2, dg, c, 1e-5);
    check_close ("groupnorm-silu split dbeta", dbeta2, db, c, 1e-5);
    check_close ("groupnorm-silu split dout", dout2, dout, count, 1e-6);
  }
  g_free (x.a);
  g_free (x.b);
  g_free (x.g);
  g_free (x.beta);
  g_free (x.r);
  g_free (x.out);
  g_free (x.mean);
  g_free (x.rstd);
  g_free (x.sums);
}

/* The Winograd output transform's per-channel sums of what it writes, with a per-image bias and a residual as
 * in a residual block, for both tiles, against a pass over the output. */
static void
test_winograd_sums (void)
{
  const int batch = 3, h = 8, w = 12, cin = 32, cout = 48;
  GafConv2dShape s = { cin, cout, 3, 1, 1 };
  gsize nin = (gsize) batch * h * w * cin, nout = (gsize) batch * h * w * cout;
  GafRng rng;
  g_autofree float *in = NULL, *wt = NULL, *bias = NULL, *res = NULL;
  g_autofree float *out = g_new (float, nout), *out2 = g_new (float, nout);
  g_autofree float *scratch = g_new (float, gaf_winograd_scratch_len (&s, h, w));
  g_autofree double *sums = g_new (double, (gsize) batch * 2 * cout), *ref = g_new (double, (gsize) batch * 2 * cout);
  g_autofree float *sf = g_new (float, (gsize) batch * 2 * cout), *rf = g_new (float, (gsize) batch * 2 * cout);

  gaf_rng_init (&rng, 424);
  in = new_uniform (&rng, nin, -1, 1);
  wt = new_uniform (&rng, (gsize) 9 * cin * cout, -0.2, 0.2);
  bias = new_uniform (&rng, (gsize) batch * cout, 0, 2);
  res = new_uniform (&rng, nout, -1, 1);
  for (int m = 2; m <= 4; m += 2)
    {
      GafWinograd wg = { 0 };
      gaf_winograd_prepare (&wg, wt, &s, m, FALSE);
      gaf_winograd_forward_ex (out2, in, &wg, bias, cout, res, batch, h, w, scratch);
      memset (sums, 0xff, (gsize) batch * 2 * cout * sizeof (double));   /* written, not accumulated */
      gaf_winograd_forward_sums (out, sums, in, &wg, bias, cout, res, batch, h, w, scratch);
      check_close ("winograd with sums: out", out, out2, nout, 1e-6);
      gaf_channel_sums (ref, out, batch, h * w, cout);
      for (gsize i = 0; i < (gsize) batch * 2 * cout; i++)
        {
          sf[i] = (float) sums[i];
          rf[i] = (float) ref[i];
        }
      check_close (m == 4 ? "winograd F(4x4) sums" : "winograd F(2x2) sums", sf, rf, (gsize) batch * 2 * cout, 1e-5);
      gaf_winograd_clear (&wg);
    }
}

/* A group of images at a time: gaf_winograd_forward_act (the input formed by a callback) gives the convolution
 * of the input written whole beforehand, with the per-image bias, the residual (apart and the output itself)
 * and the sums, and gaf_winograd_backward_din_groups gives backward's whole input gradient; each callback is
 * asked for each image once, in order. Image sizes that make groups of 1 (32 x 32 x 64 floats, the group's
 * size), of 2 + 2 + 1 and of all 5. */
typedef struct {
  const float *src;
  gsize per_image;
  int next;   /* the image the next call must start at */
  float *own;
} ActCtx;

static const float *
act_square (float *act, int b0, int n, gpointer data)
{
  ActCtx *x = data;

  g_assert_cmpint (b0, ==, x->next);
  x->next = b0 + n;
  for (gsize i = 0; i < (gsize) n * x->per_image; i++)
    {
      float v = x->src[(gsize) b0 * x->per_image + i];
      act[i] = v * v - 0.25f;
    }
  return act;
}

/* the same into an array of the callback's own (its slice of images) */
static const float *
act_square_own (float *act, int b0, int n, gpointer data)
{
  ActCtx *x = data;
  float *own = x->own + (gsize) b0 * x->per_image;

  (void) act;
  act_square (own, b0, n, data);
  return own;
}

/* gaf_winograd_backward_din_groups' callback: the group's input gradient into the whole one, each image once, in
 * order */
typedef struct {
  float *all;
  gsize per_image;
  int next;
} DinCtx;

static void
din_collect (float *din, int b0, int n, gpointer data)
{
  DinCtx *x = data;

  g_assert_cmpint (b0, ==, x->next);
  x->next = b0 + n;
  memcpy (x->all + (gsize) b0 * x->per_image, din, (gsize) n * x->per_image * sizeof (float));
  memset (din, 0xff, (gsize) n * x->per_image * sizeof (float));   /* the callback may overwrite it */
}

static void
test_winograd_groups (void)
{
  static const struct { int h, w, cin, cout; } shapes[] = { { 32, 32, 64, 16 }, { 16, 16, 112, 24 }, { 8, 12, 16, 32 } };
  const int batch = 5;

  for (guint k = 0; k < G_N_ELEMENTS (shapes); k++)
    for (int m = 2; m <= 4; m += 2)
      {
        int h = shapes[k].h, w = shapes[k].w, cin = shapes[k].cin, cout = shapes[k].cout;
        GafConv2dShape s = { cin, cout, 3, 1, 1 };
        gsize nin = (gsize) batch * h * w * cin, nout = (gsize) batch * h * w * cout, ns = (gsize) batch * 2 * cout;
        GafRng rng;
        GafWinograd wg = { 0 };
        g_autofree float *in = NULL, *wt = NULL, *bias = NULL, *res = NULL;
        g_autofree float *act = g_new (float, nin), *out = g_new (float, nout), *ref = g_new (float, nout);
        g_autofree float *scratch = g_new (float, gaf_winograd_scratch_len (&s, h, w));
        g_autofree double *sums = g_new (double, ns), *rsums = g_new (double, ns);
        g_autofree float *sf = g_new (float, ns), *rf = g_new (float, ns);
        g_autofree char *tag = g_strdup_printf ("F(%dx%d) %dx%d %d->%d", m, m, h, w, cin, cout);
        g_autofree float *own = g_new (float, nin);
        ActCtx ctx = { NULL, (gsize) h * w * cin, 0, own };

        gaf_rng_init (&rng, 425 + k);
        in = new_uniform (&rng, nin, -1, 1);
        wt = new_uniform (&rng, (gsize) 9 * cin * cout, -0.2, 0.2);
        bias = new_uniform (&rng, (gsize) batch * cout, 0, 2);
        res = new_uniform (&rng, nout, -1, 1);
        ctx.src = in;
        act_square (act, 0, batch, &ctx);
        gaf_winograd_prepare (&wg, wt, &s, m, FALSE);
        gaf_winograd_forward_sums (ref, rsums, act, &wg, bias, cout, res, batch, h, w, scratch);
        memset (sums, 0xff, ns * sizeof (double));
        ctx.next = 0;
        gaf_winograd_forward_act (out, sums, act_square, &ctx, &wg, bias, cout, res, batch, h, w, scratch);
        g_assert_cmpint (ctx.next, ==, batch);
        check_close_as (tag, "act: out", out, ref, nout, 1e-6);
        for (gsize i = 0; i < ns; i++)
          {
            sf[i] = (float) sums[i];
            rf[i] = (float) rsums[i];
          }
        check_close_as (tag, "act: sums", sf, rf, ns, 1e-6);
        /* the residual the output itself, a shared bias, no sums */
        gaf_winograd_forward_ex (ref, act, &wg, bias, 0, res, batch, h, w, scratch);
        memcpy (out, res, nout * sizeof (float));
        ctx.next = 0;
        gaf_winograd_forward_act (out, NULL, act_square, &ctx, &wg, bias, 0, out, batch, h, w, scratch);
        check_close_as (tag, "act: out += ", out, ref, nout, 1e-6);
        /* the activation in the callback's own array, written whole by the end */
        memset (own, 0, nin * sizeof (float));
        ctx.next = 0;
        gaf_winograd_forward_act (out, NULL, act_square_own, &ctx, &wg, bias, 0, res, batch, h, w, scratch);
        check_close_as (tag, "act in its own array: out", out, ref, nout, 1e-6);
        g_assert_cmpmem (own, nin * sizeof (float), act, nin * sizeof (float));
        /* backward: res as dout, the input gradient in groups (into own) against the whole one (into act) */
        {
          g_autofree float *dw = g_new0 (float, (gsize) 9 * cin * cout), *db = g_new0 (float, cout);
          DinCtx dctx = { own, (gsize) h * w * cin, 0 };
          GafWinograd wf = { 0 };
          gaf_winograd_prepare (&wf, wt, &s, m, TRUE);
          gaf_winograd_backward_ex (act, dw, db, res, in, &wf, batch, h, w, FALSE, scratch);
          gaf_winograd_backward_din_groups (res, &wf, batch, h, w, din_collect, &dctx, scratch);
          g_assert_cmpint (dctx.next, ==, batch);
          check_close_as (tag, "din in groups", own, act, nin, 1e-6);
          gaf_winograd_clear (&wf);
        }
        gaf_winograd_clear (&wg);
      }
}

/* ---- SiLU ------------------------------------------------------------------------------------ */

typedef struct {
  gsize count;
  float *in, *out, *r;
} SiluCtx;

static double
silu_loss (gpointer data)
{
  SiluCtx *x = data;

  gaf_silu_forward (x->out, x->in, x->count);
  return dot_f (x->out, x->r, x->count);
}

static void
test_silu (void)
{
  static const float special[] = { 0.0f, -100.0f, 100.0f, -20.0f, 20.0f, -1e-8f, 87.5f, -87.5f, 1.5f };
  SiluCtx x = { 64 };
  GafRng rng;

  gaf_rng_init (&rng, 431);
  x.in = new_uniform (&rng, x.count, -6, 6);
  x.out = g_new (float, x.count);
  x.r = new_uniform (&rng, x.count, -1, 1);
  memcpy (x.in, special, sizeof special);
  g_autofree float *din = g_new0 (float, x.count);

  /* Against x / (1 + e^-x) in double: 1e-6 relative (the exponential is a polynomial). */
  silu_loss (&x);
  for (gsize i = 0; i < x.count; i++)
    {
      double v = x.in[i], want = v / (1.0 + exp (-v));
      g_assert_true (isfinite (x.out[i]));
      g_assert_cmpfloat (fabs (x.out[i] - want), <=, 1e-6 * fabs (want) + 1e-30);
    }
  gaf_silu_backward (din, x.r, x.in, x.count);
  for (gsize i = 0; i < x.count; i++)
    {
      double v = x.in[i], s = 1.0 / (1.0 + exp (-v)), want = x.r[i] * s * (1.0 + v * (1.0 - s));
      g_assert_cmpfloat (fabs (din[i] - want), <=, 1e-5 * fabs (x.r[i]) + 1e-30);
    }
  /* in place, as the networks use it */
  {
    g_autofree float *copy = g_memdup2 (x.in, x.count * sizeof (float));
    gaf_silu_forward (copy, copy, x.count);
    for (gsize i = 0; i < x.count; i++)
      g_assert_cmpfloat (copy[i], ==, x.out[i]);
  }
  check_grad ("silu din", silu_loss, &x, x.in + G_N_ELEMENTS (special), din + G_N_ELEMENTS (special),
              x.count - G_N_ELEMENTS (special), 1e-2, 2e-2);
  g_free (x.in);
  g_free (x.out);
  g_free (x.r);
}

/* ---- upsample and concat --------------------------------------------------------------------- */

typedef struct {
  int batch, h, w, c;
  float *in, *out, *r;
} UpCtx;

static double
up_loss (gpointer data)
{
  UpCtx *x = data;

  gaf_upsample2x_forward (x->out, x->in, x->batch, x->h, x->w, x->c);
  return dot_f (x->out, x->r, (gsize) x->batch * 4 * x->h * x->w * x->c);
}

static void
test_upsample (void)
{
  UpCtx x = { 2, 3, 2, 5 };
  gsize nin = (gsize) x.batch * x.h * x.w * x.c, nout = 4 * nin;
  GafRng rng;

  gaf_rng_init (&rng, 441);
  x.in = new_uniform (&rng, nin, -1, 1);
  x.out = g_new (float, nout);
  x.r = new_uniform (&rng, nout, -1, 1);
  g_autofree float *din = g_new0 (float, nin);

  up_loss (&x);
  for (int b = 0; b < x.batch; b++)
    for (int y = 0; y < 2 * x.h; y++)
      for (int xx = 0; xx < 2 * x.w; xx++)
        for (int j = 0; j < x.c; j++)
          g_assert_cmpfloat (x.out[(((gsize) b * 2 * x.h + y) * 2 * x.w + xx) * x.c + j], ==,
                             x.in[(((gsize) b * x.h + y / 2) * x.w + xx / 2) * x.c + j]);
  gaf_upsample2x_backward (din, x.r, x.batch, x.h, x.w, x.c);
  check_grad ("upsample din", up_loss, &x, x.in, din, nin, 0.5, 1e-3);
  g_free (x.in);
  g_free (x.out);
  g_free (x.r);
}

typedef struct {
  int ca, cb;
  gsize m;
  float *a, *b, *out, *r;
} CatCtx;

static double
cat_loss (gpointer data)
{
  CatCtx *x = data;

  gaf_concat_forward (x->out, x->a, x->ca, x->b, x->cb, x->m);
  return dot_f (x->out, x->r, x->m * (x->ca + x->cb));
}

static void
test_concat (void)
{
  CatCtx x = { 3, 5, 7 };
  GafRng rng;

  gaf_rng_init (&rng, 442);
  x.a = new_uniform (&rng, x.m * x.ca, -1, 1);
  x.b = new_uniform (&rng, x.m * x.cb, -1, 1);
  x.out = g_new (float, x.m * (x.ca + x.cb));
  x.r = new_uniform (&rng, x.m * (x.ca + x.cb), -1, 1);
  g_autofree float *da = g_new0 (float, x.m * x.ca), *db = g_new0 (float, x.m * x.cb);

  cat_loss (&x);
  for (gsize i = 0; i < x.m; i++)
    {
      for (int j = 0; j < x.ca; j++)
        g_assert_cmpfloat (x.out[i * 8 + j], ==, x.a[i * x.ca + j]);
      for (int j = 0; j < x.cb; j++)
        g_assert_cmpfloat (x.out[i * 8 + x.ca + j], ==, x.b[i * x.cb + j]);
    }
  gaf_concat_backward (da, db, x.r, x.ca, x.cb, x.m);
  check_grad ("concat da", cat_loss, &x, x.a, da, x.m * x.ca, 0.5, 1e-3);
  check_grad ("concat db", cat_loss, &x, x.b, db, x.m * x.cb, 0.5, 1e-3);
  g_free (x.a);
  g_free (x.b);
  g_free (x.out);
  g_free (x.r);
}

/* ---- attention ------------------------------------------------------------------------------- */

typedef struct {
  int batch, n, c;
  float *qkv, *out, *lse, *r, *scratch;
} AttnCtx;

static double
attn_loss (gpointer data)
{
  AttnCtx *x = data;

  gaf_attention_forward (x->out, x->lse, x->qkv, x->batch, x->n, x->c, x->scratch);
  return dot_f (x->out, x->r, (gsize) x->batch * x->n * x->c);
}

/* The plain attention and its gradient in double loops with the (N, N) probabilities: the reference for the
 * tiled layer. lse (B, N) = log sum_j e^(q_i k_j / sqrt C); dqkv = the gradient of sum out . dout. */
static void
attention_reference (double *out, double *lse, double *dqkv, const float *qkv, const float *dout, int batch, int n,
                     int c)
{
  int ld = 3 * c;
  double s = 1.0 / sqrt ((double) c);
  g_autofree double *P = g_new (double, (gsize) n * n), *dP = g_new (double, (gsize) n * n);

  memset (dqkv, 0, (gsize) batch * n * ld * sizeof (double));
  for (int b = 0; b < batch; b++)
    {
      const float *x = qkv + (gsize) b * n * ld, *g = dout + (gsize) b * n * c;
      double *dx = dqkv + (gsize) b * n * ld;
      for (int i = 0; i < n; i++)
        {
          double mx = -INFINITY, sum = 0.0;
          for (int j = 0; j < n; j++)
            {
              double a = 0.0;
              for (int l = 0; l < c; l++)
                a += (double) x[i * ld + l] * x[j * ld + c + l];
              P[i * n + j] = a * s;
              mx = MAX (mx, a * s);
            }
          for (int j = 0; j < n; j++)
            sum += exp (P[i * n + j] - mx);
          lse[(gsize) b * n + i] = mx + log (sum);
          for (int j = 0; j < n; j++)
            P[i * n + j] = exp (P[i * n + j] - mx) / sum;
          for (int l = 0; l < c; l++)
            {
              double a = 0.0;
              for (int j = 0; j < n; j++)
                a += P[i * n + j] * x[j * ld + 2 * c + l];
              out[((gsize) b * n + i) * c + l] = a;
            }
        }
      /* dV = P^T dO; dP = dO V^T; dS = P (dP - rowsum (P dP)); dQ = s dS K; dK = s dS^T Q */
      for (int i = 0; i < n; i++)
        {
          double rs = 0.0;
          for (int j = 0; j < n; j++)
            {
              double a = 0.0;
              for (int l = 0; l < c; l++)
                a += (double) g[i * c + l] * x[j * ld + 2 * c + l];
              dP[i * n + j] = a;
              rs += P[i * n + j] * a;
            }
          for (int j = 0; j < n; j++)
            dP[i * n + j] = P[i * n + j] * (dP[i * n + j] - rs);
        }
      for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
          for (int l = 0; l < c; l++)
            {
              dx[j * ld + 2 * c + l] += P[i * n + j] * g[i * c + l];
              dx[i * ld + l] += s * dP[i * n + j] * x[j * ld + c + l];
              dx[j * ld + c + l] += s * dP[i * n + j] * x[i * ld + l];
            }
    }
}

static void
check_close_d (const char *what, const float *a, const double *b, gsize n, double tol)
{
  g_autofree float *bf = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    bf[i] = (float) b[i];
  check_close (what, a, bf, n, tol);
}

static void
test_attention (void)
{
  AttnCtx x = { 2, 6, 4 };
  gsize nq = (gsize) x.batch * x.n * 3 * x.c, no = (gsize) x.batch * x.n * x.c;
  GafRng rng;

  gaf_rng_init (&rng, 451);
  x.qkv = new_uniform (&rng, nq, -1.5, 1.5);
  x.out = g_new (float, no);
  x.lse = g_new (float, (gsize) x.batch * x.n);
  x.r = new_uniform (&rng, no, -1, 1);
  x.scratch = g_new (float, gaf_attention_scratch_len (x.n, x.c));
  g_autofree float *ref = g_new (float, no), *dqkv = g_new0 (float, nq);
  g_autofree double *ro = g_new (double, no), *rl = g_new (double, (gsize) x.batch * x.n);
  g_autofree double *rd = g_new (double, nq);

  attn_loss (&x);
  gaf_attention_forward_naive (ref, x.qkv, x.batch, x.n, x.c);
  check_close ("attention forward", x.out, ref, no, 1e-5);
  attention_reference (ro, rl, rd, x.qkv, x.r, x.batch, x.n, x.c);
  check_close_d ("attention lse", x.lse, rl, (gsize) x.batch * x.n, 1e-5);
  gaf_attention_backward (dqkv, x.r, x.out, x.qkv, x.lse, x.batch, x.n, x.c, x.scratch);
  check_close_d ("attention dqkv (reference)", dqkv, rd, nq, 1e-4);
  check_grad ("attention dqkv", attn_loss, &x, x.qkv, dqkv, nq, 1e-2, 2e-2);
  g_free (x.qkv);
  g_free (x.out);
  g_free (x.lse);
  g_free (x.r);
  g_free (x.scratch);
}

/* The tiled attention at sizes where the engine's own kernels run (N = 80: two full tiles of 32 query rows
 * and a part tile; C = 32), training forward, inference and backward against the plain double loops with the
 * (N, N) probabilities; its scratch grows linearly with N. */
static void
attention_tiled_case (void)
{
  const int batch = 2, n = 80, c = 32;
  gsize nq = (gsize) batch * n * 3 * c, no = (gsize) batch * n * c;
  GafRng rng;
  g_autofree float *qkv = NULL, *dout = NULL, *out = g_new (float, no), *out2 = g_new (float, no);
  g_autofree float *lse = g_new (float, (gsize) batch * n), *dqkv = NULL;
  g_autofree float *scratch = g_new (float, gaf_attention_scratch_len (n, c));
  g_autofree double *ro = g_new (double, no), *rl = g_new (double, (gsize) batch * n), *rd = g_new (double, nq);

  gaf_rng_init (&rng, 452);
  qkv = new_uniform (&rng, nq, -1.5, 1.5);
  dout = new_uniform (&rng, no, -1, 1);
  dqkv = new_uniform (&rng, nq, -1, 1);
  attention_reference (ro, rl, rd, qkv, dout, batch, n, c);
  gaf_attention_forward (out, lse, qkv, batch, n, c, scratch);
  check_close_d ("attention forward, N = 80", out, ro, no, 1e-5);
  check_close_d ("attention lse, N = 80", lse, rl, (gsize) batch * n, 1e-5);
  gaf_attention_infer (out2, qkv, batch, n, c, scratch);
  check_close_d ("attention infer, N = 80", out2, ro, no, 1e-5);
  /* backward accumulates into what dqkv held */
  for (gsize i = 0; i < nq; i++)
    rd[i] += dqkv[i];
  gaf_attention_backward (dqkv, dout, out, qkv, lse, batch, n, c, scratch);
  check_close_d ("attention backward, N = 80", dqkv, rd, nq, 1e-4);
  g_assert_cmpint (gaf_attention_scratch_len (2 * n, c), ==, 2 * gaf_attention_scratch_len (n, c));
  g_assert_cmpint (gaf_attention_scratch_len (1024, 64), <, (gsize) 1024 * 1024 / 4);
}

/* with each product kernel this CPU has (the softmax of the tiles follows the kernel) */
static void
test_attention_tiled (void)
{
  static const char *const kernels[] = { "avx512", "avx2", "blas" };

  for (guint k = 0; k < G_N_ELEMENTS (kernels); k++)
    if (gaf_gemm_small_use (kernels[k]))
      {
        g_test_message ("kernel %s", kernels[k]);
        attention_tiled_case ();
      }
  gaf_gemm_small_use (NULL);
}

/* Sampling's folded attention block against the plain composition: GroupNorm (gaf_groupnorm_forward), QKV and
 * projection in double loops, gaf_attention_forward_naive; the output's per-channel sums against double sums of
 * the reference. Shapes with odd N and C (columns beyond a multiple of 16 go through OpenBLAS), several
 * groups, one or more tiles of query rows; inputs with a per-channel offset so GroupNorm's shift matters. */
static void
attention_block_case (int batch, int n, int c, int groups, guint64 seed)
{
  gsize nx = (gsize) batch * n * c, nq = (gsize) batch * n * 3 * c;
  GafRng rng;
  g_autofree float *x = NULL, *wqkv = NULL, *bqkv = NULL, *wo = NULL, *bo = NULL, *g = NULL, *b = NULL;
  g_autofree float *xn = g_new (float, nx), *qkv = g_new (float, nq), *att = g_new (float, nx);
  g_autofree float *ref = g_new (float, nx), *out = g_new (float, nx), *refsums = g_new (float, (gsize) batch * 2 * c);
  g_autofree float *outsums = g_new (float, (gsize) batch * 2 * c);
  g_autofree float *scratch = g_new (float, gaf_attention_block_scratch_len (n, c));
  g_autofree float *fold = g_new (float, gaf_attention_fold_len (c));
  g_autofree double *sums = g_new (double, (gsize) batch * 2 * c), *osums = g_new (double, (gsize) batch * 2 * c);

  gaf_rng_init (&rng, seed);
  x = new_uniform (&rng, nx, -1.0, 1.0);
  for (gsize i = 0; i < nx; i++)
    x[i] += 0.3f * (float) (i % c) - 1.0f;
  wqkv = new_uniform (&rng, (gsize) c * 3 * c, -2.0 / sqrt (c), 2.0 / sqrt (c));
  bqkv = new_uniform (&rng, 3 * (gsize) c, -0.5, 0.5);
  wo = new_uniform (&rng, (gsize) c * c, -1.0 / sqrt (c), 1.0 / sqrt (c));
  bo = new_uniform (&rng, c, -0.5, 0.5);
  g = new_uniform (&rng, c, 0.5, 1.5);
  b = new_uniform (&rng, c, -0.5, 0.5);

  gaf_groupnorm_forward (xn, NULL, NULL, x, g, b, batch, n, c, groups);
  for (gsize p = 0; p < (gsize) batch * n; p++)
    for (int j = 0; j < 3 * c; j++)
      {
        double a = bqkv[j];
        for (int l = 0; l < c; l++)
          a += (double) xn[p * c + l] * wqkv[(gsize) l * 3 * c + j];
        qkv[p * 3 * c + j] = (float) a;
      }
  gaf_attention_forward_naive (att, qkv, batch, n, c);
  for (int bi = 0; bi < batch; bi++)
    for (int j = 0; j < c; j++)
      {
        double s1 = 0.0, s2 = 0.0;
        for (int p = 0; p < n; p++)
          {
            gsize r = (gsize) bi * n + p;
            double a = (double) x[r * c + j] + bo[j];
            for (int l = 0; l < c; l++)
              a += (double) att[r * c + l] * wo[(gsize) l * c + j];
            ref[r * c + j] = (float) a;
            s1 += a;
            s2 += a * a;
          }
        refsums[(gsize) bi * 2 * c + j] = (float) s1;
        refsums[(gsize) bi * 2 * c + c + j] = (float) s2;
      }

  gaf_channel_sums (sums, x, batch, n, c);
  gaf_attention_fold (fold, wqkv, bqkv, wo, bo, c);
  gaf_attention_block_infer (out, osums, x, sums, g, b, groups, fold, batch, n, c, FALSE, scratch);
  for (gsize i = 0; i < (gsize) batch * 2 * c; i++)
    outsums[i] = (float) osums[i];
  check_close ("attention block", out, ref, nx, 1e-4);
  check_close ("attention block sums", outsums, refsums, (gsize) batch * 2 * c, 1e-4);
  /* without sums wanted */
  memset (out, 0, nx * sizeof (float));
  gaf_attention_block_infer (out, NULL, x, sums, g, b, groups, fold, batch, n, c, FALSE, scratch);
  check_close ("attention block, no sums", out, ref, nx, 1e-4);
  /* bf16 products: within 2 % of the reference (the block's inputs rounded at 2^-8 each), and not the float
   * result (the rounding is there, so the bf16 path ran) */
  if (gaf_bf16_available ())
    {
      double diff = 0.0;
      g_autofree float *of = g_memdup2 (out, nx * sizeof (float));
      gaf_attention_block_infer (out, osums, x, sums, g, b, groups, fold, batch, n, c, TRUE, scratch);
      for (gsize i = 0; i < (gsize) batch * 2 * c; i++)
        outsums[i] = (float) osums[i];
      check_close ("attention block, bf16", out, ref, nx, 2e-2);
      check_close ("attention block sums, bf16", outsums, refsums, (gsize) batch * 2 * c, 2e-2);
      for (gsize i = 0; i < nx; i++)
        diff = MAX (diff, fabs (out[i] - of[i]));
      g_assert_cmpfloat (diff, >, 1e-6 * max_abs (ref, nx));
    }
}

/* with each product kernel this CPU has: the softmax of the tiles follows the kernel (AVX-512 or generic) */
static void
test_attention_block (void)
{
  static const char *const kernels[] = { "avx512", "avx2", "blas" };

  for (guint k = 0; k < G_N_ELEMENTS (kernels); k++)
    {
      if (!gaf_gemm_small_use (kernels[k]))
        continue;
      g_test_message ("kernel %s", kernels[k]);
      attention_block_case (2, 80, 32, 4, 61);     /* two full tiles and a part tile, the kernels' widths */
      attention_block_case (3, 37, 20, 5, 62);     /* odd N (a row's last 5 scores masked), C = 16 + 4 */
      attention_block_case (1, 33, 7, 1, 63);      /* C below 16: all through OpenBLAS */
      attention_block_case (2, 256, 64, 32, 64);   /* the UNet's 16 x 16 blocks */
    }
  gaf_gemm_small_use (NULL);
}

/* ---- time embedding and its MLP -------------------------------------------------------------- */

typedef struct {
  int batch, dim;
  float *t, *w1, *b1, *w2, *b2, *r;
  float *e, *z1, *s1, *out;
} TembCtx;

/* t -> sinusoid (B, C) -> Linear(C, 4C) -> SiLU -> Linear(4C, 4C) */
static double
temb_loss (gpointer data)
{
  TembCtx *x = data;
  int C = x->dim, C4 = 4 * x->dim;

  gaf_timestep_embedding_forward (x->e, x->t, x->batch, C);
  gaf_linear_forward (x->z1, x->e, x->w1, x->b1, x->batch, C, C4);
  gaf_silu_forward (x->s1, x->z1, (gsize) x->batch * C4);
  gaf_linear_forward (x->out, x->s1, x->w2, x->b2, x->batch, C4, C4);
  return dot_f (x->out, x->r, (gsize) x->batch * C4);
}

static void
test_timestep_embedding (void)
{
  TembCtx x = { 3, 6 };
  int C = x.dim, C4 = 4 * C;
  GafRng rng;
  float t0[1] = { 0.0f }, e0[7], t1[1] = { 2.5f };

  /* t = 0: sin 0, cos 1; frequencies 10000^(-k/half); an odd width gets a zero last column. */
  gaf_timestep_embedding_forward (e0, t0, 1, 7);
  for (int k = 0; k < 3; k++)
    {
      g_assert_cmpfloat (e0[k], ==, 0.0f);
      g_assert_cmpfloat (e0[3 + k], ==, 1.0f);
    }
  g_assert_cmpfloat (e0[6], ==, 0.0f);
  gaf_timestep_embedding_forward (e0, t1, 1, 6);
  for (int k = 0; k < 3; k++)
    {
      double f = pow (10000.0, -k / 3.0);
      g_assert_cmpfloat_with_epsilon (e0[k], sin (2.5 * f), 1e-6);
      g_assert_cmpfloat_with_epsilon (e0[3 + k], cos (2.5 * f), 1e-6);
    }

  gaf_rng_init (&rng, 461);
  x.t = new_uniform (&rng, x.batch, 0, 10);
  x.w1 = new_uniform (&rng, (gsize) C * C4, -0.5, 0.5);
  x.b1 = new_uniform (&rng, C4, -0.5, 0.5);
  x.w2 = new_uniform (&rng, (gsize) C4 * C4, -0.5, 0.5);
  x.b2 = new_uniform (&rng, C4, -0.5, 0.5);
  x.r = new_uniform (&rng, (gsize) x.batch * C4, -1, 1);
  x.e = g_new (float, (gsize) x.batch * C);
  x.z1 = g_new (float, (gsize) x.batch * C4);
  x.s1 = g_new (float, (gsize) x.batch * C4);
  x.out = g_new (float, (gsize) x.batch * C4);
  g_autofree float *dt = g_new0 (float, x.batch), *dw1 = g_new0 (float, (gsize) C * C4);
  g_autofree float *db1 = g_new0 (float, C4), *dw2 = g_new0 (float, (gsize) C4 * C4), *db2 = g_new0 (float, C4);
  g_autofree float *ds1 = g_new0 (float, (gsize) x.batch * C4), *dz1 = g_new0 (float, (gsize) x.batch * C4);
  g_autofree float *de = g_new0 (float, (gsize) x.batch * C);

  temb_loss (&x);
  gaf_linear_backward (ds1, dw2, db2, x.r, x.s1, x.w2, x.batch, C4, C4);
  gaf_silu_backward (dz1, ds1, x.z1, (gsize) x.batch * C4);
  gaf_linear_backward (de, dw1, db1, dz1, x.e, x.w1, x.batch, C, C4);
  gaf_timestep_embedding_backward (dt, de, x.t, x.batch, C);
  check_grad ("time mlp dt", temb_loss, &x, x.t, dt, x.batch, 1e-3, 2e-2);
  check_grad ("time mlp dw1", temb_loss, &x, x.w1, dw1, (gsize) C * C4, 1e-2, 2e-2);
  check_grad ("time mlp db1", temb_loss, &x, x.b1, db1, C4, 1e-2, 2e-2);
  check_grad ("time mlp dw2", temb_loss, &x, x.w2, dw2, (gsize) C4 * C4, 0.5, 1e-3);
  check_grad ("time mlp db2", temb_loss, &x, x.b2, db2, C4, 0.5, 1e-3);
  g_free (x.t);
  g_free (x.w1);
  g_free (x.b1);
  g_free (x.w2);
  g_free (x.b2);
  g_free (x.r);
  g_free (x.e);
  g_free (x.z1);
  g_free (x.s1);
  g_free (x.out);
}

/* ---- the UNet ---------------------------------------------------------------------------------- */

static void
test_unet_param_count (void)
{
  GafUnetConfig cfg;
  GafUnetConfig small;

  /* docs/method.md §3's reference size (C = 32, mult 1,2,2,2, 2 blocks, c = 2, 32 x 32): 2,161,346. */
  gaf_unet_config_init (&cfg, 2, 32, 32);
  g_assert_cmpuint (gaf_unet_param_count (&cfg), ==, 2161346);
  /* The count does not depend on the image size. */
  cfg.height = cfg.width = 16;
  g_assert_cmpuint (gaf_unet_param_count (&cfg), ==, 2161346);
  {
    g_autoptr(GafUnet) net = gaf_unet_new (&cfg, 1);
    g_assert_cmpuint (gaf_unet_get_params (net)->size, ==, 2161346);
    g_assert_cmpint (GAF_NET (net)->n, ==, 256);
    g_assert_cmpint (GAF_NET (net)->in_channels, ==, 2);
    g_assert_cmpint (GAF_NET (net)->out_channels, ==, 2);
  }

  /* By hand: C = 4, one level, one block, c = 3, no skip convs except where widths differ.
   * time 4*16+16 + 16*16+16 = 352; in conv 9*3*4+4 = 112;
   * encoder ResBlock(4->4): norm 8, conv1 148, emb 16*4+4 = 68, norm 8, conv2 148 = 380;
   * middle: ResBlock 380, attention 8 + (4*12+12) + (16+4) = 88, ResBlock 380;
   * decoder 2 ResBlocks(4+4 -> 4): norm 16, conv1 9*8*4+4 = 292, emb 68, norm 8, conv2 148, skip 8*4+4 = 36 = 568;
   * out: norm 8, conv 9*4*3+3 = 111.  Total 352 + 112 + 380 + 380 + 88 + 380 + 2*568 + 119 = 2947. */
  gaf_unet_config_init (&small, 3, 4, 4);
  small.channels = 4;
  small.n_levels = 1;
  small.mult[0] = 1;
  small.blocks = 1;
  g_assert_cmpuint (gaf_unet_param_count (&small), ==, 2947);
  /* Attention at the 4x4 level adds one block per encoder and decoder ResBlock: 3 x 88. */
  small.n_attn = 1;
  small.attn[0] = 4;
  g_assert_cmpuint (gaf_unet_param_count (&small), ==, 2947 + 3 * 88);

  /* Analytic FLOPs of the reference: about 0.71 GFLOP per 32 x 32 image. */
  gaf_unet_config_init (&cfg, 2, 32, 32);
  g_assert_cmpfloat (gaf_unet_flops_per_image (&cfg), >, 0.70e9);
  g_assert_cmpfloat (gaf_unet_flops_per_image (&cfg), <, 0.73e9);
}

static void
expect_parse_error (const char *spec, const char *fragment)
{
  GafUnetConfig cfg;
  g_autoptr(GError) error = NULL;

  gaf_unet_config_init (&cfg, 2, 32, 32);
  g_assert_false (gaf_unet_config_parse (&cfg, spec, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, fragment) == NULL)
    g_test_fail_printf ("'%s': error '%s' does not mention '%s'", spec, error->message, fragment);
  /* cfg is left as it was */
  g_assert_cmpint (cfg.channels, ==, 32);
  g_assert_cmpint (cfg.n_levels, ==, 4);
}

/* Largest |a - b| over two outputs of the same network at times 1 and 6. */
static double
time_sensitivity (int groups)
{
  GafUnetConfig cfg;
  g_autoptr(GError) error = NULL;
  GafUnet *net;
  int n = 8 * 8, c = 3;
  g_autofree float *x = g_new (float, 2 * n * c), *out = g_new (float, 2 * n * c);
  float t[2] = { 1.0f, 6.0f };
  double worst = 0.0;
  GafRng rng;

  gaf_unet_config_init (&cfg, c, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=16,mult=1,2,blocks=1,attn=none", &error));
  g_assert_no_error (error);
  cfg.groups = groups;
  net = gaf_unet_new (&cfg, 71);
  gaf_unet_randomize_zero_init (net, 72);
  /* the same W at both times */
  gaf_rng_init (&rng, 73);
  for (int i = 0; i < n; i++)
    {
      double e[3], sum = 0.0;
      for (int k = 0; k < c; k++)
        sum += e[k] = exp (gaf_rng_normal (&rng));
      for (int k = 0; k < c; k++)
        x[i * c + k] = x[(n + i) * c + k] = (float) (e[k] / sum);
    }
  gaf_unet_forward (net, x, t, 2, out);
  for (int j = 0; j < n * c; j++)
    worst = MAX (worst, fabs (out[j] - out[n * c + j]));
  gaf_unet_free (net);
  return worst;
}

/* The time embedding is added per channel right before a ResBlock's second GroupNorm: with one channel
 * per group (groups >= widths, here 16 and 32 channels with 32 groups) the norm subtracts it again and the
 * network cannot see t at all; with 4 groups it can. */
static void
test_unet_time_groups (void)
{
  double blind = time_sensitivity (32), seeing = time_sensitivity (4);

  g_test_message ("max |F(t = 1) - F(t = 6)|: %g with 32 groups, %g with 4", blind, seeing);
  g_assert_cmpfloat (blind, <, 1e-4);
  g_assert_cmpfloat (seeing, >, 1e-2);
}

static void
test_unet_config (void)
{
  GafUnetConfig cfg, back;
  g_autoptr(GError) error = NULL;
  g_autofree char *str = NULL;

  gaf_unet_config_init (&cfg, 2, 32, 32);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=16, mult=1,2,4 ,blocks=1,attn=16,8", &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.channels, ==, 16);
  g_assert_cmpint (cfg.n_levels, ==, 3);
  g_assert_cmpint (cfg.mult[0], ==, 1);
  g_assert_cmpint (cfg.mult[1], ==, 2);
  g_assert_cmpint (cfg.mult[2], ==, 4);
  g_assert_cmpint (cfg.blocks, ==, 1);
  g_assert_cmpint (cfg.n_attn, ==, 2);
  g_assert_cmpint (cfg.attn[0], ==, 16);
  g_assert_cmpint (cfg.attn[1], ==, 8);
  g_assert_cmpint (cfg.height, ==, 32);
  str = gaf_unet_config_to_string (&cfg);
  g_assert_cmpstr (str, ==, "channels=16,mult=1,2,4,blocks=1,attn=16,8");
  g_clear_pointer (&str, g_free);
  g_assert_cmpint (cfg.groups, ==, 32);
  g_assert_true (gaf_unet_config_parse (&cfg, "groups=4", &error));
  g_assert_no_error (error);
  g_assert_cmpint (cfg.groups, ==, 4);
  str = gaf_unet_config_to_string (&cfg);
  g_assert_cmpstr (str, ==, "channels=16,mult=1,2,4,blocks=1,attn=16,8,groups=4");
  {
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    GafUnetConfig again;
    gaf_unet_config_to_keyfile (&cfg, kf);
    g_assert_true (gaf_unet_config_from_keyfile (&again, kf, &error));
    g_assert_no_error (error);
    g_assert_cmpint (again.groups, ==, 4);
    g_key_file_remove_key (kf, "model", "groups", NULL);   /* files from before the key: 32 */
    g_assert_true (gaf_unet_config_from_keyfile (&again, kf, &error));
    g_assert_cmpint (again.groups, ==, 32);
  }

  /* The string parses back to the same configuration; attn=none clears the list; size sets both sides. */
  gaf_unet_config_init (&back, 2, 32, 32);
  g_assert_true (gaf_unet_config_parse (&back, str, &error));
  g_assert_cmpmem (&back, sizeof back, &cfg, sizeof cfg);
  g_assert_true (gaf_unet_config_parse (&back, "attn=none,size=24,classes=5,time_scale=100", &error));
  g_assert_cmpint (back.n_attn, ==, 0);
  g_assert_cmpint (back.height, ==, 24);
  g_assert_cmpint (back.width, ==, 24);
  g_assert_cmpint (back.classes, ==, 5);
  g_assert_cmpfloat (back.time_scale, ==, 100.0);
  g_assert_true (gaf_unet_config_parse (&back, "", &error));
  g_assert_cmpint (back.height, ==, 24);

  expect_parse_error ("size=20", "not divisible by 2^(levels - 1) = 8");
  expect_parse_error ("attn=12", "attn=12 is not the height of a level");
  expect_parse_error ("channels=32,2", "follows no list");
  expect_parse_error ("depth=3", "unknown key 'depth'");
  expect_parse_error ("channels=3x", "'3x' is not an integer");
  expect_parse_error ("channels=7", "channels must be even");
  expect_parse_error ("mult=1,2,2,2,2,2,2", "at most 6 levels");
  expect_parse_error ("blocks=0", "blocks must be");
  expect_parse_error ("mult=1,0", "channel multiplier");
  expect_parse_error ("classes=1", "classes");
  expect_parse_error ("time_scale=-1", "time_scale");
  expect_parse_error ("time_scale=fast", "not a number");

  /* GKeyFile group "model" round trip, with and without attention. */
  for (int k = 0; k < 2; k++)
    {
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autofree char *data = NULL;
      g_autoptr(GKeyFile) kf2 = g_key_file_new ();
      if (k == 1)
        cfg.n_attn = 0;
      gaf_unet_config_to_keyfile (&cfg, kf);
      data = g_key_file_to_data (kf, NULL, NULL);
      g_assert_true (g_key_file_load_from_data (kf2, data, -1, G_KEY_FILE_NONE, &error));
      memset (&back, 0x55, sizeof back);
      g_assert_true (gaf_unet_config_from_keyfile (&back, kf2, &error));
      g_assert_no_error (error);
      g_assert_cmpint (back.n_attn, ==, cfg.n_attn);
      g_assert_cmpint (back.n_levels, ==, cfg.n_levels);
      g_assert_cmpmem (back.mult, cfg.n_levels * sizeof (int), cfg.mult, cfg.n_levels * sizeof (int));
      g_assert_cmpmem (back.attn, cfg.n_attn * sizeof (int), cfg.attn, cfg.n_attn * sizeof (int));
      g_assert_cmpint (back.channels, ==, cfg.channels);
      g_assert_cmpint (back.blocks, ==, cfg.blocks);
      g_assert_cmpint (back.classes, ==, cfg.classes);
      g_assert_cmpint (back.height, ==, cfg.height);
      g_assert_cmpint (back.width, ==, cfg.width);
      g_assert_cmpfloat (back.time_scale, ==, cfg.time_scale);
    }
  /* Wrong kind, missing key, invalid values are format errors. */
  {
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    gaf_unet_config_to_keyfile (&cfg, kf);
    g_key_file_set_string (kf, "model", "kind", "toy-cnn");
    g_assert_false (gaf_unet_config_from_keyfile (&back, kf, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
    g_clear_error (&error);
    g_key_file_set_string (kf, "model", "kind", "unet");
    g_key_file_remove_key (kf, "model", "blocks", NULL);
    g_assert_false (gaf_unet_config_from_keyfile (&back, kf, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
    g_clear_error (&error);
    g_key_file_set_integer (kf, "model", "blocks", 2);
    g_key_file_set_integer (kf, "model", "height", 30);   /* not divisible by 4 */
    g_assert_false (gaf_unet_config_from_keyfile (&back, kf, &error));
    g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }
}

/* The small UNet of the gradient checks: C = 36, mult 1,2 (8x8 then 4x4), one block, attention at the
 * 4x4 level, c = 3. GroupNorm groups then hold 2 (36 = 18 x 2) and 3 (72 = 24 x 3) channels: with one
 * channel per group (any width up to 32) a norm removes every per-channel constant, and so the conv1
 * biases and the whole time path, whose contributions are per-channel constants before the second norm
 * of each ResBlock, would have zero gradient and prove nothing. */
static GafUnet *
small_unet_spec (guint64 seed, gboolean randomize, const char *extra)
{
  GafUnetConfig cfg;
  GafUnet *net;
  g_autoptr(GError) error = NULL;

  gaf_unet_config_init (&cfg, 3, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=36,mult=1,2,blocks=1,attn=4", &error));
  g_assert_true (gaf_unet_config_parse (&cfg, extra, &error));
  net = gaf_unet_new (&cfg, seed);
  if (randomize)
    gaf_unet_randomize_zero_init (net, seed + 1);
  return net;
}

static GafUnet *
small_unet (guint64 seed, gboolean randomize)
{
  return small_unet_spec (seed, randomize, "");
}

static void
random_input (GafRng *rng, float *x, float *t, int batch, int n, int c)
{
  /* probabilities per pixel (softmax of N(0, 2^2) logits), times in [0, 5] */
  for (int i = 0; i < batch * n; i++)
    {
      double s = 0.0;
      for (int j = 0; j < c; j++)
        {
          x[i * c + j] = (float) exp (2.0 * gaf_rng_normal (rng));
          s += x[i * c + j];
        }
      for (int j = 0; j < c; j++)
        x[i * c + j] = (float) (x[i * c + j] / s);
    }
  for (int b = 0; b < batch; b++)
    t[b] = (float) (5.0 * gaf_rng_uniform (rng));
}

typedef struct {
  GafUnet *net;
  int batch;
  gsize nx;
  float *x, *t, *r, *out;
} UnetCtx;

static double
unet_loss (gpointer data)
{
  UnetCtx *u = data;

  gaf_unet_forward (u->net, u->x, u->t, u->batch, u->out);
  return dot_f (u->out, u->r, u->nx);
}

static void
test_unet_zero_init (void)
{
  g_autoptr(GafUnet) net = small_unet (501, FALSE);
  GafParams *p = gaf_unet_get_params (net);
  GafRng rng;
  float x[2 * 64 * 3], t[2], out[2 * 64 * 3];
  guint zero_views = 0;

  /* The zero-initialised layers are zero (and only those views are all zero, besides norm biases). */
  for (guint i = 0; i < p->views->len; i++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, i);
      gboolean all_zero = TRUE;
      gboolean should = strstr (v->name, ".conv2.") != NULL || strstr (v->name, ".proj.") != NULL ||
                        strstr (v->name, ".out.conv.") != NULL ||
                        g_str_has_suffix (v->name, "norm.b") || g_str_has_suffix (v->name, "norm1.b") ||
                        g_str_has_suffix (v->name, "norm2.b");
      for (gsize j = 0; j < v->size; j++)
        all_zero = all_zero && p->data[v->offset + j] == 0.0f;
      if (all_zero != should)
        g_test_fail_printf ("%s: all zero %d, expected %d", v->name, all_zero, should);
      zero_views += all_zero;
    }
  g_assert_cmpuint (zero_views, >, 0);
  /* So the network starts at F = 0 for every input. */
  gaf_rng_init (&rng, 502);
  random_input (&rng, x, t, 2, 64, 3);
  gaf_unet_forward (net, x, t, 2, out);
  g_assert_cmpfloat (max_abs (out, G_N_ELEMENTS (out)), ==, 0.0f);
  gaf_unet_randomize_zero_init (net, 503);
  gaf_unet_forward (net, x, t, 2, out);
  g_assert_cmpfloat (max_abs (out, G_N_ELEMENTS (out)), >, 0.01f);
}

/* Central differences on up to `per_view` entries of every parameter tensor, a sample of input entries
 * and every t. Float forward passes through GroupNorm, SiLU and softmax: step 1e-2, tolerance 3e-2
 * against max(|analytic|, 5% of the largest entry of the tensor), and no tighter than abs_floor: the
 * float rounding of a deep network's loss puts noise of up to about 1e-3 on its central differences at
 * this step (measured with steps 1e-3 to 3e-2: the disagreement grows as 1/step below 1e-2 and as step^2
 * above). Typical entries are 1e-2 to 1e-1, and an error in a backward pass is of their size. */
static void
check_unet_grad (GafUnet *net, int batch, guint64 seed, int per_view, double abs_floor)
{
  GafParams *p = gaf_unet_get_params (net);
  const GafUnetConfig *cfg = gaf_unet_get_config (net);
  int n = cfg->height * cfg->width, c = cfg->classes;
  UnetCtx u = { net, batch, (gsize) batch * n * c };
  GafRng rng;
  g_autofree float *dx = g_new0 (float, u.nx), *dt = g_new0 (float, batch);
  g_autofree float *grad = NULL;
  guint checked = 0;

  gaf_rng_init (&rng, seed);
  u.x = g_new (float, u.nx);
  u.t = g_new (float, batch);
  u.r = new_uniform (&rng, u.nx, -1, 1);
  u.out = g_new (float, u.nx);
  random_input (&rng, u.x, u.t, batch, n, c);

  gaf_params_zero_grad (p);
  unet_loss (&u);
  gaf_unet_backward (net, u.r, dx, dt);
  grad = g_memdup2 (p->grad, p->size * sizeof (float));

  for (guint i = 0; i < p->views->len; i++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, i);
      gsize idx[8];
      int k = (int) MIN ((gsize) per_view, v->size);
      g_autofree char *what = g_strdup_printf ("unet d%s", v->name);
      for (int j = 0; j < k; j++)
        idx[j] = v->offset + gaf_rng_below (&rng, (guint32) v->size);
      /* the floor is relative to this tensor's largest gradient entry */
      {
        float m = max_abs (grad + v->offset, v->size);
        if (m == 0.0f)
          {
            g_test_fail_printf ("%s: the gradient is identically zero", what);
            continue;
          }
        g_autofree gsize *rel = g_new (gsize, k);
        for (int j = 0; j < k; j++)
          rel[j] = idx[j] - v->offset;
        check_grad_at (what, unet_loss, &u, p->data + v->offset, grad + v->offset, v->size, rel, k, 1e-2, 3e-2,
                       abs_floor);
      }
      checked += k;
    }
  {
    gsize idx[24];
    for (int j = 0; j < 24; j++)
      idx[j] = gaf_rng_below (&rng, (guint32) u.nx);
    check_grad_at ("unet dx", unet_loss, &u, u.x, dx, u.nx, idx, 24, 1e-2, 3e-2, abs_floor);
  }
  check_grad_at ("unet dt", unet_loss, &u, u.t, dt, batch, NULL, batch, 1e-2, 3e-2, abs_floor);
  g_test_message ("checked %u parameter entries in %u tensors", checked, p->views->len);
  g_free (u.x);
  g_free (u.t);
  g_free (u.r);
  g_free (u.out);
}

/* The F(4x4) Winograd path rounds about ten times more than F(2x2) (see test_winograd), which puts the
 * central differences of the whole network below their noise floor; the gradient checks run the logic
 * with F(2x2) and im2col, and test_unet_paths compares F(4x4) with both. */
static void
test_unet_grad (void)
{
  gaf_blas_set_threads (1);
  {
    g_autoptr(GafUnet) net = small_unet (511, TRUE);
    gaf_unet_set_winograd (net, 2);
    check_unet_grad (net, 2, 512, 4, 1e-3);
  }
  {
    /* The same through im2col only, and with a non-unit time scale. */
    g_autoptr(GafUnet) net = small_unet_spec (513, TRUE, "time_scale=3");
    gaf_unet_set_winograd (net, 0);
    check_unet_grad (net, 2, 514, 2, 1e-3);
  }
  {
    /* Three levels, two blocks, attention at the top level, two channels in and out, 1 thread vs 2. */
    GafUnetConfig cfg;
    g_autoptr(GafUnet) net = NULL;
    gaf_unet_config_init (&cfg, 2, 8, 8);
    g_assert_true (gaf_unet_config_parse (&cfg, "channels=36,mult=1,1,2,blocks=2,attn=8", NULL));
    net = gaf_unet_new (&cfg, 515);
    gaf_unet_randomize_zero_init (net, 516);
    gaf_unet_set_winograd (net, 2);
    gaf_blas_set_threads (2);
    check_unet_grad (net, 3, 517, 2, 1e-3);
    gaf_blas_set_threads (1);
  }
}

/* Sampling in bf16 (gaf_net_set_precision): the products of the 1x1 skips (with a concatenated skip: two
 * packed parts) and of the attention block take inputs rounded to bf16, the Winograd convolutions stay in
 * float, so infer moves off the float result by about 2^-8 of the output's scale and not more; training's forward stays in float, bit for bit; 2 threads agree with 1; the packed weights follow
 * every change of the parameters (bit for bit against a fresh network). A network without a bf16 path and a
 * CPU without AVX-512 BF16 refuse it with an error. */
static void
test_unet_bf16 (void)
{
  g_autoptr(GafUnet) net = small_unet (531, TRUE);
  g_autoptr(GafToyCnn) toy = NULL;
  GafToyCnnConfig tcfg;
  GafParams *p = gaf_unet_get_params (net);
  int batch = 5, n = 64, c = 3;
  gsize nx = (gsize) batch * n * c;
  g_autofree float *x = g_new (float, nx), *t = g_new (float, batch);
  g_autofree float *of = g_new (float, nx), *ob = g_new (float, nx), *o2 = g_new (float, nx);
  g_autofree float *o3 = g_new (float, nx);
  g_autoptr(GError) error = NULL;
  double diff = 0.0, scale = 0.0;
  GafRng rng;

  gaf_toy_cnn_config_init (&tcfg, 8, 3);
  toy = gaf_toy_cnn_new (&tcfg, 1);
  g_assert_false (gaf_net_set_precision (GAF_NET (toy), GAF_PRECISION_BF16, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (gaf_net_set_precision (GAF_NET (toy), GAF_PRECISION_FLOAT, &error));
  if (!gaf_bf16_available ())
    {
      g_assert_false (gaf_net_set_precision (GAF_NET (net), GAF_PRECISION_BF16, &error));
      g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
      g_test_skip ("no AVX-512 BF16 on this CPU");
      return;
    }

  gaf_rng_init (&rng, 532);
  random_input (&rng, x, t, batch, n, c);
  gaf_blas_set_threads (1);
  gaf_unet_infer (net, x, t, batch, of);
  gaf_unet_forward (net, x, t, batch, o2);
  g_assert_true (gaf_net_set_precision (GAF_NET (net), GAF_PRECISION_BF16, &error));
  g_assert_no_error (error);
  gaf_unet_infer (net, x, t, batch, ob);
  for (gsize i = 0; i < nx; i++)
    {
      diff = MAX (diff, fabs (ob[i] - of[i]));
      scale = MAX (scale, fabs (of[i]));
    }
  g_test_message ("bf16 infer: largest difference %.3g of the output scale %.3g", diff, scale);
  g_assert_cmpfloat (diff, >, 1e-5 * scale);    /* the bf16 path ran */
  g_assert_cmpfloat (diff, <=, 1e-2 * scale);    /* 3.3e-3 here; 8e-2 with the Winograd tiles in bf16 */
  /* training's forward ignores the precision */
  gaf_unet_forward (net, x, t, batch, o3);
  g_assert_cmpmem (o3, nx * sizeof (float), o2, nx * sizeof (float));
  /* 2 threads: parts of 3 and 2 images */
  gaf_blas_set_threads (2);
  gaf_unet_infer (net, x, t, batch, o3);
  check_close ("bf16 infer, 2 threads", o3, ob, nx, 1e-3);
  /* the packed weights follow the parameters */
  {
    g_autoptr(GafUnet) fresh = small_unet (531, TRUE);
    GafParams *q = gaf_unet_get_params (fresh);
    g_assert_true (gaf_net_set_precision (GAF_NET (fresh), GAF_PRECISION_BF16, NULL));
    for (guint i = 0; i < p->views->len; i++)
      {
        const GafParamView *v = &g_array_index (p->views, GafParamView, i);
        p->data[v->offset + v->size / 3] -= 0.125f;
        q->data[v->offset + v->size / 3] -= 0.125f;
      }
    gaf_unet_infer (net, x, t, batch, o2);
    gaf_unet_infer (fresh, x, t, batch, o3);
    g_assert_cmpmem (o2, nx * sizeof (float), o3, nx * sizeof (float));
    g_assert_cmpfloat (fabsf (o2[0] - ob[0]) + fabsf (o2[nx - 1] - ob[nx - 1]), >, 0.0f);
  }
  /* and back to float: the float result again */
  gaf_blas_set_threads (1);
  g_assert_true (gaf_net_set_precision (GAF_NET (net), GAF_PRECISION_FLOAT, NULL));
  {
    g_autoptr(GafUnet) fresh = small_unet (531, TRUE);
    GafParams *q = gaf_unet_get_params (fresh);
    memcpy (q->data, p->data, p->size * sizeof (float));
    gaf_unet_infer (net, x, t, batch, o2);
    gaf_unet_infer (fresh, x, t, batch, o3);
    g_assert_cmpmem (o2, nx * sizeof (float), o3, nx * sizeof (float));
  }
}

/* Winograd and im2col give the same network; 1 and 2 threads the same; infer the same as forward at
 * any chunk size; backward accumulates. Different splits of the batch give products of other shapes and
 * other blocks of Winograd tiles, which round differently (F(4x4) rounds to about 1e-5 of the scale, and
 * the GroupNorms over 2x2 maps amplify differences): 1e-4 for outputs, 1e-3 for gradients. */
/* Maps large enough that the Winograd convolutions form their input (GroupNorm + SiLU) and hand on their input
 * gradient a group of images at a time, in several groups (32 x 32 x 16 floats: groups of 4 + 1, 32 channels: 2
 * + 2 + 1): forward, backward and infer against the same network through im2col, which takes neither path. */
static void
test_unet_groups (void)
{
  GafUnetConfig cfg;
  g_autoptr(GafUnet) net = NULL;
  g_autoptr(GError) error = NULL;
  GafParams *p;
  int batch = 5, n = 32 * 32, c = 3;
  gsize nx = (gsize) batch * n * c;
  g_autofree float *x = g_new (float, nx), *t = g_new (float, batch), *r = NULL;
  g_autofree float *o1 = g_new (float, nx), *o2 = g_new (float, nx), *o3 = g_new (float, nx);
  g_autofree float *g1 = NULL, *dx1 = g_new0 (float, nx), *dx2 = g_new0 (float, nx);
  GafRng rng;

  gaf_unet_config_init (&cfg, c, 32, 32);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=16,mult=1,2,blocks=1", &error));
  net = gaf_unet_new (&cfg, 541);
  gaf_unet_randomize_zero_init (net, 542);
  p = gaf_unet_get_params (net);
  gaf_rng_init (&rng, 543);
  random_input (&rng, x, t, batch, n, c);
  r = new_uniform (&rng, nx, -1, 1);
  gaf_blas_set_threads (1);

  gaf_unet_set_winograd (net, 0);
  gaf_params_zero_grad (p);
  gaf_unet_forward (net, x, t, batch, o1);
  gaf_unet_backward (net, r, dx1, NULL);
  g1 = g_memdup2 (p->grad, p->size * sizeof (float));

  gaf_unet_set_winograd (net, 4);
  gaf_params_zero_grad (p);
  gaf_unet_forward (net, x, t, batch, o2);
  gaf_unet_backward (net, r, dx2, NULL);
  /* F(4x4) against im2col: 1e-3, as the convolutions' own tests */
  check_close ("groups: out", o2, o1, nx, 1e-3);
  check_close ("groups: grad", p->grad, g1, p->size, 1e-3);
  check_close ("groups: dx", dx2, dx1, nx, 1e-3);
  gaf_unet_infer (net, x, t, batch, o3);
  check_close ("groups: infer", o3, o1, nx, 1e-3);
}

static void
test_unet_paths (void)
{
  g_autoptr(GafUnet) net = small_unet (521, TRUE);
  GafParams *p = gaf_unet_get_params (net);
  int batch = 5, n = 64, c = 3;
  gsize nx = (gsize) batch * n * c;
  g_autofree float *x = g_new (float, nx), *t = g_new (float, batch), *r = NULL;
  g_autofree float *o1 = g_new (float, nx), *o2 = g_new (float, nx), *o3 = g_new (float, nx);
  g_autofree float *g1 = NULL, *g2 = NULL;
  g_autofree float *dx1 = g_new0 (float, nx), *dx2 = g_new0 (float, nx);
  GafRng rng;

  gaf_rng_init (&rng, 522);
  random_input (&rng, x, t, batch, n, c);
  r = new_uniform (&rng, nx, -1, 1);

  gaf_blas_set_threads (1);
  gaf_params_zero_grad (p);
  gaf_unet_forward (net, x, t, batch, o1);
  gaf_unet_backward (net, r, dx1, NULL);
  g1 = g_memdup2 (p->grad, p->size * sizeof (float));

  for (int tile = 0; tile <= 2; tile += 2)
    {
      g_autofree char *what = g_strdup_printf ("winograd up to F(4x4) vs %s", tile ? "F(2x2)" : "im2col");
      g_autofree char *wo = g_strconcat (what, ": out", NULL), *wg = g_strconcat (what, ": grad", NULL);
      g_autofree char *wd = g_strconcat (what, ": dx", NULL);
      gaf_unet_set_winograd (net, tile);
      gaf_params_zero_grad (p);
      memset (dx2, 0, nx * sizeof (float));
      gaf_unet_forward (net, x, t, batch, o2);
      gaf_unet_backward (net, r, dx2, NULL);
      g_free (g2);
      g2 = g_memdup2 (p->grad, p->size * sizeof (float));
      check_close (wo, o1, o2, nx, 1e-4);
      check_close (wg, g1, g2, p->size, 1e-3);
      check_close (wd, dx1, dx2, nx, 1e-3);
    }
  gaf_unet_set_winograd (net, 4);

  /* 2 threads: parts of 3 and 2 images, gradients summed. */
  gaf_blas_set_threads (2);
  gaf_params_zero_grad (p);
  gaf_unet_forward (net, x, t, batch, o2);
  memset (dx2, 0, nx * sizeof (float));
  gaf_unet_backward (net, r, dx2, NULL);
  check_close ("threads: out", o2, o1, nx, 1e-4);
  check_close ("threads: grad", p->grad, g1, p->size, 1e-3);
  check_close ("threads: dx", dx2, dx1, nx, 1e-3);
  /* backward accumulates: a second backward doubles the gradient */
  gaf_unet_backward (net, r, NULL, NULL);
  for (gsize i = 0; i < p->size; i++)
    g2[i] = 2.0f * g1[i];
  check_close ("accumulate", p->grad, g2, p->size, 1e-3);

  /* infer = forward, for chunks of 1, 2, 4 images, 1 and 2 threads */
  for (int threads = 1; threads <= 2; threads++)
    for (int chunk = 1; chunk <= 4; chunk *= 2)
      {
        gaf_blas_set_threads (threads);
        gaf_unet_set_infer_chunk (net, chunk);
        memset (o3, 0, nx * sizeof (float));
        gaf_unet_infer (net, x, t, batch, o3);
        /* the inference path takes GroupNorm's sums from the Winograd output transform and sums in another
         * order: under ASan (no target clones) one entry in 960 differed by 6e-4 relative at 1e-4 */
        check_close ("infer", o3, o1, nx, 1e-3);
      }
  /* Each image is computed on its own: the first image alone gives the same output. */
  gaf_unet_infer (net, x, t, 1, o3);
  check_close ("one image", o3, o1, (gsize) n * c, 1e-4);

  /* The transformed weights kept between calls follow every change of the parameters (here one weight of
   * every tensor, as an optimizer step or an EMA swap would): the same as a fresh network with those values. */
  {
    g_autoptr(GafUnet) fresh = small_unet (521, TRUE);
    GafParams *q = gaf_unet_get_params (fresh);
    gaf_blas_set_threads (2);
    gaf_unet_infer (net, x, t, batch, o3);
    for (guint i = 0; i < p->views->len; i++)
      {
        const GafParamView *v = &g_array_index (p->views, GafParamView, i);
        p->data[v->offset + v->size / 2] += 0.25f;
        q->data[v->offset + v->size / 2] += 0.25f;
      }
    gaf_unet_infer (net, x, t, batch, o2);
    gaf_unet_infer (fresh, x, t, batch, o3);
    g_assert_cmpmem (o2, nx * sizeof (float), o3, nx * sizeof (float));
    g_assert_cmpfloat (fabsf (o2[0] - o1[0]) + fabsf (o2[nx - 1] - o1[nx - 1]), >, 0.0f);
  }
  gaf_blas_set_threads (1);
}

/* ---- a short training run ------------------------------------------------------------------------ */

typedef struct {
  guint16 lab[2][64];
} TwoImages;

static void
two_images_labels (gpointer data, GafRng *rng, guint16 *labels, int batch)
{
  TwoImages *ti = data;

  for (int b = 0; b < batch; b++)
    memcpy (labels + (gsize) b * 64, ti->lab[gaf_rng_below (rng, 2)], sizeof ti->lab[0]);
}

static void
test_unet_train (void)
{
  TwoImages ti;
  GafUnetConfig cfg;
  GafTrainerConfig tcfg;
  g_autoptr(GafUnet) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  g_autoptr(GArray) trace = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  double first = 0.0, last = 0.0;
  const int steps = 60, avg = 10;

  /* Two fixed 8x8 labelings with 3 classes: stripes and a checkerboard of blocks. */
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 8; x++)
      {
        ti.lab[0][y * 8 + x] = (guint16) (y / 3);
        ti.lab[1][y * 8 + x] = (guint16) (((x / 2) + (y / 2)) % 3);
      }
  gaf_unet_config_init (&cfg, 3, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=8,mult=1,2,blocks=1,attn=4", &error));
  net = gaf_unet_new (&cfg, 531);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 8;
  tcfg.adam.lr = 2e-3;
  tcfg.path.time_rate = 0.5;   /* the image setting of docs/method.md §2.2 */
  tcfg.seed = 532;
  gaf_blas_set_threads (2);
  tr = gaf_trainer_new (GAF_NET (net), two_images_labels, &ti, &tcfg);
  g_assert_true (gaf_trainer_run (tr, steps, trace, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (trace->len, ==, steps);
  for (int i = 0; i < avg; i++)
    {
      first += g_array_index (trace, double, i) / avg;
      last += g_array_index (trace, double, steps - avg + i) / avg;
    }
  g_test_message ("mean loss of the first %d steps %.4f, of the last %d %.4f", avg, first, avg, last);
  g_assert_true (isfinite (last));
  g_assert_cmpfloat (last, <, 0.7 * first);
  gaf_blas_set_threads (1);
}

/* The profile attributes every product of a training step to a layer kind (the flops of the kinds add up to
 * all the flops of the step) and times each kind the network has; switched off, it records nothing. */
static void
test_unet_profile (void)
{
  TwoImages ti;
  GafUnetConfig cfg;
  GafTrainerConfig tcfg;
  g_autoptr(GafUnet) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  g_autoptr(GError) error = NULL;
  double loss, sum = 0.0, s, f;
  guint64 all;

  for (int i = 0; i < 64; i++)
    ti.lab[0][i] = ti.lab[1][i] = (guint16) (i % 3);
  gaf_unet_config_init (&cfg, 3, 8, 8);
  g_assert_true (gaf_unet_config_parse (&cfg, "channels=8,mult=1,2,blocks=1,attn=4", &error));
  net = gaf_unet_new (&cfg, 5);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 4;
  tcfg.ema_decay = 0.99;
  gaf_blas_set_threads (2);
  tr = gaf_trainer_new (GAF_NET (net), two_images_labels, &ti, &tcfg);

  gaf_profile_reset ();
  g_assert_true (gaf_trainer_step (tr, &loss, &error));
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    {
      gaf_profile_get ((GafProfKind) k, &s, &f);
      g_assert_cmpfloat (s, ==, 0.0);
      g_assert_cmpfloat (f, ==, 0.0);
    }

  gaf_profile_enable (TRUE);
  gaf_blas_flops_reset ();
  g_assert_true (gaf_trainer_step (tr, &loss, &error));
  g_assert_no_error (error);
  all = gaf_blas_flops ();
  gaf_profile_enable (FALSE);
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    {
      gaf_profile_get ((GafProfKind) k, &s, &f);
      g_test_message ("%-24s %.6f s %.0f flops", gaf_profile_name ((GafProfKind) k), s, f);
      sum += f;
      /* this network has every kind (a 1x1 skip convolution where the width goes from 8 to 16) */
      g_assert_cmpfloat (s, >, 0.0);
    }
  g_assert_cmpuint (all, >, 0);
  g_assert_cmpfloat (fabs (sum - (double) all), <=, 1e-9 * (double) all);
  gaf_profile_reset ();
  gaf_blas_set_threads (1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/layers2d/conv2d", test_conv2d);
  g_test_add_func ("/engine/layers2d/winograd", test_winograd);
  g_test_add_func ("/engine/layers2d/winograd-upsampled", test_winograd_upsampled);
  g_test_add_func ("/engine/layers2d/groupnorm-groups", test_groupnorm_groups);
  g_test_add_func ("/engine/layers2d/groupnorm", test_groupnorm);
  g_test_add_func ("/engine/layers2d/groupnorm-silu", test_groupnorm_silu);
  g_test_add_func ("/engine/layers2d/groupnorm-silu-wide", test_groupnorm_silu_wide);
  g_test_add_func ("/engine/layers2d/groupnorm-silu-sums", test_groupnorm_silu_sums);
  g_test_add_func ("/engine/layers2d/groupnorm-silu-split-wide", test_groupnorm_silu_split_wide);
  g_test_add_func ("/engine/layers2d/winograd-sums", test_winograd_sums);
  g_test_add_func ("/engine/layers2d/winograd-groups", test_winograd_groups);
  g_test_add_func ("/engine/layers2d/silu", test_silu);
  g_test_add_func ("/engine/layers2d/upsample", test_upsample);
  g_test_add_func ("/engine/layers2d/concat", test_concat);
  g_test_add_func ("/engine/layers2d/attention", test_attention);
  g_test_add_func ("/engine/layers2d/timestep-embedding", test_timestep_embedding);
  g_test_add_func ("/engine/unet/param-count", test_unet_param_count);
  g_test_add_func ("/engine/unet/config", test_unet_config);
  g_test_add_func ("/engine/unet/zero-init", test_unet_zero_init);
  g_test_add_func ("/engine/unet/time-groups", test_unet_time_groups);
  g_test_add_func ("/engine/layers2d/attention-tiled", test_attention_tiled);
  g_test_add_func ("/engine/layers2d/attention-block", test_attention_block);
  g_test_add_func ("/engine/unet/grad", test_unet_grad);
  g_test_add_func ("/engine/unet/paths", test_unet_paths);
  g_test_add_func ("/engine/unet/groups", test_unet_groups);
  g_test_add_func ("/engine/unet/bf16", test_unet_bf16);
  g_test_add_func ("/engine/unet/train", test_unet_train);
  g_test_add_func ("/engine/unet/profile", test_unet_profile);
  return g_test_run ();
}
