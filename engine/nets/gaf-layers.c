/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the row loops of the toy CNN's and the MLP's
 * elementwise layers (at -O2 alone they stayed scalar and took a quarter of a toy CNN training step). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>
#include <string.h>

#include "gaf-blas.h"
#include "gaf-budget.h"
#include "gaf-gemm-small.h"
#include "gaf-layers.h"
#include "gaf-simd-private.h"

GAF_SIMD_CLONES static void
add_bias (float *out, const float *b, int m, int n)
{
  if (b == NULL)
    return;
  for (int i = 0; i < m; i++)
    {
      float *restrict row = out + (gsize) i * n;
      for (int j = 0; j < n; j++)
        row[j] += b[j];
    }
}

GAF_SIMD_CLONES void
gaf_bias_backward (float *db, const float *dout, int m, int n)
{
  if (db == NULL)
    return;
  for (int i = 0; i < m; i++)
    {
      const float *restrict row = dout + (gsize) i * n;
      for (int j = 0; j < n; j++)
        db[j] += row[j];
    }
}

/* ---- linear ---------------------------------------------------------------------------------- */

/* The products of the linear and 1-D convolution layers run in the engine's own kernels
 * (gaf-gemm-small.h): their shapes (a few hundred rows and columns, sums of 64 to 640 terms) are where
 * OpenBLAS packs both operands for every call and its speed follows the kernel the environment picks. */

void
gaf_linear_forward (float *out, const float *in, const float *w, const float *b, int m, int k, int n)
{
  gaf_gemm_small (m, n, k, in, k, 1, w, n, out, n, FALSE);
  add_bias (out, b, m, n);
}

void
gaf_linear_backward_ex (float *din, gboolean din_add, float *dw, float *db, const float *dout, const float *in,
                        const float *w, int m, int k, int n)
{
  if (dw != NULL)   /* dw (K, N) += in^T (K, M) dout (M, N) */
    gaf_gemm_small (k, n, m, in, 1, k, dout, n, dw, n, TRUE);
  gaf_bias_backward (db, dout, m, n);
  if (din != NULL)  /* din (M, K) (+)= dout (M, N) w^T (N, K) */
    gaf_gemm_small_bt (m, k, n, dout, n, 1, w, n, din, k, din_add);
}

void
gaf_linear_backward (float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int m, int k, int n)
{
  gaf_linear_backward_ex (din, TRUE, dw, db, dout, in, w, m, k, n);
}

/* ---- relu ------------------------------------------------------------------------------------ */

GAF_SIMD_CLONES void
gaf_relu_forward (float *out, const float *in, gsize count)
{
  for (gsize i = 0; i < count; i++)
    out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

GAF_SIMD_CLONES void
gaf_relu_backward (float *din, const float *dout, const float *out, gsize count)
{
  for (gsize i = 0; i < count; i++)
    din[i] += out[i] > 0.0f ? dout[i] : 0.0f;
}

/* ---- layernorm ------------------------------------------------------------------------------- */

/* Sums of a row in LANES partial sums (one vector register each), so the reductions vectorise without
 * reassociating float additions; the lanes are added in a fixed order (the same result on every run). */
#define LANES 16

static inline float
lanes_total (const float *acc)
{
  float s = 0.0f;

  for (int l = 0; l < LANES; l++)
    s += acc[l];
  return s;
}

GAF_SIMD_CLONES void
gaf_layernorm_forward (float *out, float *mean, float *rstd, const float *in,
                       const float *g, const float *b, int m, int c)
{
  for (int r = 0; r < m; r++)
    {
      const float *restrict x = in + (gsize) r * c;
      float *restrict y = out + (gsize) r * c;
      float acc[LANES] = { 0 }, mu, var;
      int j = 0;

      for (; j + LANES <= c; j += LANES)
        for (int l = 0; l < LANES; l++)
          acc[l] += x[j + l];
      for (; j < c; j++)
        acc[0] += x[j];
      mu = lanes_total (acc) / (float) c;
      memset (acc, 0, sizeof acc);
      for (j = 0; j + LANES <= c; j += LANES)
        for (int l = 0; l < LANES; l++)
          {
            float d = x[j + l] - mu;
            acc[l] += d * d;
          }
      for (; j < c; j++)
        acc[0] += (x[j] - mu) * (x[j] - mu);
      var = lanes_total (acc) / (float) c;
      float rs = 1.0f / sqrtf (var + GAF_LAYERNORM_EPS);
      for (j = 0; j < c; j++)
        y[j] = (x[j] - mu) * rs * g[j] + b[j];
      mean[r] = mu;
      rstd[r] = rs;
    }
}

/* din added to (add) or written */
static inline __attribute__ ((always_inline)) void
layernorm_backward (float *din, float *dg, float *db, const float *dout, const float *in,
                    const float *mean, const float *rstd, const float *g, int m, int c, gboolean add)
{
  for (int r = 0; r < m; r++)
    {
      const float *restrict x = in + (gsize) r * c;
      const float *restrict dy = dout + (gsize) r * c;
      float mu = mean[r], rs = rstd[r];
      float s1[LANES] = { 0 }, s2[LANES] = { 0 }, sum_dxhat, sum_dxhat_xhat;
      int j = 0;

      if (dg != NULL && db != NULL)
        for (j = 0; j < c; j++)
          {
            dg[j] += dy[j] * ((x[j] - mu) * rs);
            db[j] += dy[j];
          }
      else if (dg != NULL)
        for (j = 0; j < c; j++)
          dg[j] += dy[j] * ((x[j] - mu) * rs);
      else if (db != NULL)
        for (j = 0; j < c; j++)
          db[j] += dy[j];
      if (din == NULL)
        continue;
      for (j = 0; j + LANES <= c; j += LANES)
        for (int l = 0; l < LANES; l++)
          {
            float xhat = (x[j + l] - mu) * rs, dxhat = dy[j + l] * g[j + l];
            s1[l] += dxhat;
            s2[l] += dxhat * xhat;
          }
      for (; j < c; j++)
        {
          float xhat = (x[j] - mu) * rs, dxhat = dy[j] * g[j];
          s1[0] += dxhat;
          s2[0] += dxhat * xhat;
        }
      sum_dxhat = lanes_total (s1) / (float) c;
      sum_dxhat_xhat = lanes_total (s2) / (float) c;
      float *restrict dx = din + (gsize) r * c;
      for (j = 0; j < c; j++)
        {
          float xhat = (x[j] - mu) * rs;
          float v = rs * (dy[j] * g[j] - sum_dxhat - xhat * sum_dxhat_xhat);
          dx[j] = add ? dx[j] + v : v;
        }
    }
}

GAF_SIMD_CLONES void
gaf_layernorm_backward (float *din, float *dg, float *db, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *g, int m, int c)
{
  layernorm_backward (din, dg, db, dout, in, mean, rstd, g, m, c, TRUE);
}

GAF_SIMD_CLONES void
gaf_layernorm_backward_input (float *din, const float *dout, const float *in, const float *mean, const float *rstd,
                              const float *g, int m, int c)
{
  layernorm_backward (din, NULL, NULL, dout, in, mean, rstd, g, m, c, FALSE);
}

/* ---- Gaussian Fourier features --------------------------------------------------------------- */

/* sin and cos of a double a with |a| <= GAF_SINCOS_MAX_ARG, to about 1e-16 absolute: a = k pi/2 + r with
 * |r| <= pi/4 (k by the round-to-nearest of a + 1.5 2^52; pi/2 in a 33-bit head, exact times k < 2^20,
 * and a tail), then fdlibm's minimax polynomials for sin and cos on [-pi/4, pi/4] and the quadrant k mod 4.
 * No call, no branch: the loop around it vectorises. In float the results agree with (float) sin (a) but
 * for the odd last-bit tie. */
#define GAF_SINCOS_MAX_ARG 1.0e6

static inline void
sincos_reduced (double a, double *s_out, double *c_out)
{
  const double shifter = 6755399441055744.0;            /* 1.5 2^52 */
  const double pio2_hi = 1.57079632673412561417e+00;    /* the first 33 bits of pi/2 */
  const double pio2_lo = 6.07710050650619224932e-11;    /* pi/2 - pio2_hi */
  union { double d; gint64 i; } kb;
  double kd, r, z, s, c;
  gint64 q;

  kb.d = a * 6.36619772367581382433e-01 + shifter;      /* 2/pi */
  kd = kb.d - shifter;
  q = kb.i;                                             /* k in the low bits */
  r = (a - kd * pio2_hi) - kd * pio2_lo;
  z = r * r;
  s = r + r * z * (-1.66666666666666324348e-01 + z * (8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 +
      z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)))));
  c = 1.0 - 0.5 * z + z * z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 +
      z * (2.48015872894767294178e-05 + z * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09 +
      z * -1.13596475577881948265e-11)))));
  /* quadrant k mod 4: (sin, cos) = (s, c), (c, -s), (-s, -c), (-c, s) */
  *s_out = (q & 1) ? c : s;
  *c_out = (q & 1) ? -s : c;
  if (q & 2)
    {
      *s_out = -*s_out;
      *c_out = -*c_out;
    }
}

GAF_SIMD_CLONES void
gaf_fourier_forward (float *out, const float *t, const float *w, int b, int h)
{
  double wmax = 0.0;

  for (int j = 0; j < h; j++)
    wmax = MAX (wmax, fabs ((double) w[j]));
  for (int i = 0; i < b; i++)
    {
      /* The argument is formed in double: 2 pi 30 w t reaches thousands of radians. */
      double ti = 2.0 * G_PI * (double) t[i];
      float *restrict os = out + (gsize) i * 2 * h, *restrict oc = os + h;

      if (fabs (ti) * wmax <= GAF_SINCOS_MAX_ARG)
        for (int j = 0; j < h; j++)
          {
            double s, c;
            sincos_reduced (ti * (double) w[j], &s, &c);
            os[j] = (float) s;
            oc[j] = (float) c;
          }
      else   /* huge or not finite t: libm */
        for (int j = 0; j < h; j++)
          {
            double a = ti * (double) w[j];
            os[j] = (float) sin (a);
            oc[j] = (float) cos (a);
          }
    }
}

void
gaf_fourier_backward (float *dt, const float *dout, const float *t, const float *w, int b, int h)
{
  for (int i = 0; i < b; i++)
    {
      double s = 0.0;
      for (int j = 0; j < h; j++)
        {
          double f = 2.0 * G_PI * (double) w[j];
          double a = f * (double) t[i];
          s += dout[(gsize) i * 2 * h + j] * f * cos (a) - dout[(gsize) i * 2 * h + h + j] * f * sin (a);
        }
      dt[i] += (float) s;
    }
}

/* ---- conv1d ---------------------------------------------------------------------------------- */

int
gaf_conv1d_out_len (const GafConv1dShape *s, int len)
{
  return len + 2 * s->padding - s->dilation * (s->kernel - 1);
}

void
gaf_conv1d_work_clear (GafConv1dWork *work)
{
  g_clear_pointer (&work->wr, g_free);
  work->wr_len = 0;
}

/* The tap k0 when the layer is pointwise (exactly one tap sees data, at the output's own position), else -1. */
static int
pointwise_tap (const GafConv1dShape *s, int len)
{
  int k0 = -1;

  if (gaf_conv1d_out_len (s, len) != len)
    return -1;
  for (int p = 0; p < len; p++)
    for (int k = 0; k < s->kernel; k++)
      {
        int q = p - s->padding + k * s->dilation;
        if (q < 0 || q >= len)
          continue;
        if (q != p || (k0 >= 0 && k0 != k))
          return -1;
        k0 = k;
      }
  return k0;
}

/* floor (a / b) for b > 0 */
static int
floor_div (int a, int b)
{
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* The taps of output position p that see data: q = p - pad + k dil in [0, len) for k in [*klo, *khi]
 * (q is affine in k, so they form a range); FALSE if none does. */
static gboolean
tap_range (const GafConv1dShape *s, int len, int p, int *klo, int *khi)
{
  *klo = MAX (0, -floor_div (p - s->padding, s->dilation));
  *khi = MIN (s->kernel - 1, floor_div (len - 1 - p + s->padding, s->dilation));
  return *klo <= *khi;
}

gsize
gaf_conv1d_work_len (const GafConv1dShape *s)
{
  /* saturating: configuration checks size networks with it before anything is allocated */
  return (gsize) gaf_size_mul (gaf_size_mul ((guint64) s->kernel, (guint64) s->cin), (guint64) s->cout);
}

/* wr[K-1-k] = w[k]^T (Cout, Cin) for every tap k that sees data. */
static void
build_reversed (float *wr, const float *w, int len, const GafConv1dShape *s)
{
  int lout = gaf_conv1d_out_len (s, len), cin = s->cin, cout = s->cout;

  for (int k = 0; k < s->kernel; k++)
    {
      gboolean used = FALSE;
      for (int p = 0; p < lout && !used; p++)
        {
          int q = p - s->padding + k * s->dilation;
          used = q >= 0 && q < len;
        }
      if (!used)
        continue;
      gaf_transpose (wr + (gsize) (s->kernel - 1 - k) * cout * cin, cin, w + (gsize) k * cin * cout, cout, cin, cout,
                     1.0f);
    }
}

void
gaf_conv1d_prepare_backward (GafConv1dWork *work, const float *w, int len, const GafConv1dShape *s)
{
  gsize need = gaf_conv1d_work_len (s);

  if (work->wr_len < need)
    {
      g_free (work->wr);
      work->wr = g_new (float, need);
      work->wr_len = need;
    }
  build_reversed (work->wr, w, len, s);
}

/* Every product reads the layer's tensors in place: the input positions of the taps of one output position
 * are consecutive, and with dilation 1 so are the taps in w, so out[:, p] is a single product of the
 * inputs [q(klo), q(khi)] with the taps [klo, khi] stacked, (B, n Cin) x (n Cin, Cout); with a larger
 * dilation the inputs are dil apart and each tap is a product of its own. The pointwise case is one
 * product over all B L positions. */
void
gaf_conv1d_forward (float *out, const float *in, const float *w, const float *bias,
                    int batch, int len, const GafConv1dShape *s)
{
  int lout = gaf_conv1d_out_len (s, len);
  int k0 = pointwise_tap (s, len);
  int rows = len * s->cin, ldo = lout * s->cout;

  g_assert (lout > 0);
  if (k0 >= 0)
    gaf_gemm_small (batch * len, s->cout, s->cin, in, s->cin, 1, w + (gsize) k0 * s->cin * s->cout, s->cout,
                    out, s->cout, FALSE);
  else
    for (int p = 0; p < lout; p++)
      {
        float *op = out + (gsize) p * s->cout;
        int klo, khi;

        if (!tap_range (s, len, p, &klo, &khi))
          {
            for (int b = 0; b < batch; b++)
              memset (op + (gsize) b * ldo, 0, s->cout * sizeof (float));
            continue;
          }
        for (int k = klo; k <= khi; k++)
          {
            int q = p - s->padding + k * s->dilation, taps = s->dilation == 1 ? khi - klo + 1 : 1;
            gaf_gemm_small (batch, s->cout, taps * s->cin, in + (gsize) q * s->cin, rows, 1,
                            w + (gsize) k * s->cin * s->cout, s->cout, op, ldo, k > klo);
            k += taps - 1;
          }
      }
  add_bias (out, bias, batch * lout, s->cout);
}

/* din (+)= the gradient of the input: din[:, q] (+)= the sum over the outputs p that tap q of
 * dout[:, p] w[k]^T. wr holds w[k]^T at K-1-k, so with dilation 1 the taps k = q + pad - p of consecutive p
 * are consecutive in wr: one product per q. Without add, the first product into a position writes it and
 * a position no output taps is cleared. */
static void
conv1d_input_grad (float *din, const float *dout, int batch, int len, const GafConv1dShape *s,
                   const GafConv1dWork *work, gboolean add)
{
  int lout = gaf_conv1d_out_len (s, len);
  int k0 = pointwise_tap (s, len);
  int rows = len * s->cin, ldo = lout * s->cout, K = s->kernel;
  gsize tap = (gsize) s->cin * s->cout;

  if (k0 >= 0)   /* din (B L, Cin) (+)= dout (B L, Cout) w[k0]^T */
    {
      gaf_gemm_small (batch * len, s->cin, s->cout, dout, s->cout, 1, work->wr + (K - 1 - k0) * tap, s->cin,
                      din, s->cin, add);
      return;
    }
  for (int q = 0; q < len; q++)
    {
      float *dq = din + (gsize) q * s->cin;
      gboolean written = add;
      if (s->dilation == 1)
        {
          int klo = MAX (0, q + s->padding - (lout - 1)), khi = MIN (K - 1, q + s->padding);
          if (klo <= khi)
            {
              gaf_gemm_small (batch, s->cin, (khi - klo + 1) * s->cout, dout + (gsize) (q + s->padding - khi) * s->cout,
                              ldo, 1, work->wr + (K - 1 - khi) * tap, s->cin, dq, rows, written);
              written = TRUE;
            }
        }
      else
        for (int k = 0; k < K; k++)
          {
            int pd = q + s->padding - k * s->dilation;
            if (pd < 0 || pd >= lout)
              continue;
            gaf_gemm_small (batch, s->cin, s->cout, dout + (gsize) pd * s->cout, ldo, 1, work->wr + (K - 1 - k) * tap,
                            s->cin, dq, rows, written);
            written = TRUE;
          }
      if (!written)
        for (int b = 0; b < batch; b++)
          memset (dq + (gsize) b * rows, 0, s->cin * sizeof (float));
    }
}

void
gaf_conv1d_backward (float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int batch, int len, const GafConv1dShape *s, const GafConv1dWork *work)
{
  int lout = gaf_conv1d_out_len (s, len);
  int k0 = pointwise_tap (s, len);
  int rows = len * s->cin, ldo = lout * s->cout;
  gsize tap = (gsize) s->cin * s->cout;

  gaf_bias_backward (dbias, dout, batch * lout, s->cout);
  g_assert (din == NULL || (work->wr != NULL && work->wr_len >= gaf_conv1d_work_len (s)));
  if (k0 >= 0 && dw != NULL)   /* dw[k0] (Cin, Cout) += in^T (Cin, B L) dout (B L, Cout) */
    gaf_gemm_small (s->cin, s->cout, batch * len, in, 1, s->cin, dout, s->cout, dw + k0 * tap, s->cout, TRUE);
  else if (dw != NULL)
    /* dw[klo..khi] (n Cin, Cout) += in[:, q(klo)..q(khi)]^T dout[:, p], per output position p */
    for (int p = 0; p < lout; p++)
      {
        int klo, khi;
        if (!tap_range (s, len, p, &klo, &khi))
          continue;
        for (int k = klo; k <= khi; k++)
          {
            int q = p - s->padding + k * s->dilation, taps = s->dilation == 1 ? khi - klo + 1 : 1;
            gaf_gemm_small (taps * s->cin, s->cout, batch, in + (gsize) q * s->cin, 1, rows, dout + (gsize) p * s->cout,
                            ldo, dw + k * tap, s->cout, TRUE);
            k += taps - 1;
          }
      }
  if (din != NULL)
    conv1d_input_grad (din, dout, batch, len, s, work, TRUE);
}

void
gaf_conv1d_backward_input (float *din, const float *dout, int batch, int len, const GafConv1dShape *s,
                           const GafConv1dWork *work)
{
  g_assert (work->wr != NULL && work->wr_len >= gaf_conv1d_work_len (s));
  conv1d_input_grad (din, dout, batch, len, s, work, FALSE);
}

void
gaf_conv1d_forward_naive (float *out, const float *in, const float *w, const float *bias,
                          int batch, int len, const GafConv1dShape *s)
{
  int lout = gaf_conv1d_out_len (s, len);

  for (int b = 0; b < batch; b++)
    for (int p = 0; p < lout; p++)
      for (int o = 0; o < s->cout; o++)
        {
          double acc = bias ? bias[o] : 0.0;
          for (int k = 0; k < s->kernel; k++)
            {
              int q = p - s->padding + k * s->dilation;
              if (q < 0 || q >= len)
                continue;
              for (int i = 0; i < s->cin; i++)
                acc += (double) w[((gsize) k * s->cin + i) * s->cout + o] * in[((gsize) b * len + q) * s->cin + i];
            }
          out[((gsize) b * lout + p) * s->cout + o] = (float) acc;
        }
}

void
gaf_conv1d_backward_naive (float *din, float *dw, float *dbias, const float *dout, const float *in,
                           const float *w, int batch, int len, const GafConv1dShape *s)
{
  int lout = gaf_conv1d_out_len (s, len);

  for (int b = 0; b < batch; b++)
    for (int p = 0; p < lout; p++)
      for (int o = 0; o < s->cout; o++)
        {
          float g = dout[((gsize) b * lout + p) * s->cout + o];
          if (dbias != NULL)
            dbias[o] += g;
          for (int k = 0; k < s->kernel; k++)
            {
              int q = p - s->padding + k * s->dilation;
              if (q < 0 || q >= len)
                continue;
              for (int i = 0; i < s->cin; i++)
                {
                  gsize wi = ((gsize) k * s->cin + i) * s->cout + o;
                  gsize xi = ((gsize) b * len + q) * s->cin + i;
                  if (dw != NULL)
                    dw[wi] += g * in[xi];
                  if (din != NULL)
                    din[xi] += g * w[wi];
                }
            }
        }
}
