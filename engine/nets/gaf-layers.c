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
gaf_linear_backward (float *din, float *dw, float *db, const float *dout, const float *in,
                     const float *w, int m, int k, int n)
{
  if (dw != NULL)   /* dw (K, N) += in^T (K, M) dout (M, N) */
    gaf_gemm_small (k, n, m, in, 1, k, dout, n, dw, n, TRUE);
  gaf_bias_backward (db, dout, m, n);
  if (din != NULL)  /* din (M, K) += dout (M, N) w^T (N, K) */
    gaf_gemm_small_bt (m, k, n, dout, n, 1, w, n, din, k, TRUE);
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

GAF_SIMD_CLONES void
gaf_layernorm_backward (float *din, float *dg, float *db, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *g, int m, int c)
{
  for (int r = 0; r < m; r++)
    {
      const float *restrict x = in + (gsize) r * c;
      const float *restrict dy = dout + (gsize) r * c;
      float mu = mean[r], rs = rstd[r];
      float s1[LANES] = { 0 }, s2[LANES] = { 0 }, sum_dxhat, sum_dxhat_xhat;
      int j = 0;

      if (dg != NULL)
        for (j = 0; j < c; j++)
          dg[j] += dy[j] * ((x[j] - mu) * rs);
      if (db != NULL)
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
          dx[j] += rs * (dy[j] * g[j] - sum_dxhat - xhat * sum_dxhat_xhat);
        }
    }
}

/* ---- Gaussian Fourier features --------------------------------------------------------------- */

void
gaf_fourier_forward (float *out, const float *t, const float *w, int b, int h)
{
  for (int i = 0; i < b; i++)
    for (int j = 0; j < h; j++)
      {
        /* The argument is formed in double: 2 pi 30 w t reaches thousands of radians. */
        double a = 2.0 * G_PI * (double) t[i] * (double) w[j];
        out[(gsize) i * 2 * h + j] = (float) sin (a);
        out[(gsize) i * 2 * h + h + j] = (float) cos (a);
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
  g_clear_pointer (&work->block, g_free);
  work->block_len = 0;
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

gsize
gaf_conv1d_block_len (const GafConv1dShape *s, int len)
{
  if (pointwise_tap (s, len) >= 0)
    return 0;
  /* saturating: configuration checks size networks with it before anything is allocated */
  return (gsize) gaf_size_mul (gaf_size_mul ((guint64) len, (guint64) s->cin),
                               gaf_size_mul ((guint64) gaf_conv1d_out_len (s, len), (guint64) s->cout));
}

/* block (L Cin, Lout Cout): block[q Cin + i, p Cout + o] = w[k, i, o] for q = p - pad + k dil. */
static void
build_block (float *block, const float *w, int len, int lout, const GafConv1dShape *s)
{
  gsize ld = (gsize) lout * s->cout;

  memset (block, 0, (gsize) len * s->cin * ld * sizeof (float));
  for (int p = 0; p < lout; p++)
    for (int k = 0; k < s->kernel; k++)
      {
        int q = p - s->padding + k * s->dilation;
        if (q < 0 || q >= len)
          continue;
        for (int i = 0; i < s->cin; i++)
          memcpy (block + ((gsize) q * s->cin + i) * ld + (gsize) p * s->cout,
                  w + ((gsize) k * s->cin + i) * s->cout, s->cout * sizeof (float));
      }
}

void
gaf_conv1d_prepare (GafConv1dWork *work, const float *w, int len, const GafConv1dShape *s)
{
  gsize need = gaf_conv1d_block_len (s, len);

  if (need == 0)
    return;
  if (work->block_len < need)
    {
      g_free (work->block);
      work->block = g_new (float, need);
      work->block_len = need;
    }
  build_block (work->block, w, len, gaf_conv1d_out_len (s, len), s);
}

void
gaf_conv1d_forward (float *out, const float *in, const float *w, const float *bias,
                    int batch, int len, const GafConv1dShape *s, const GafConv1dWork *work)
{
  int lout = gaf_conv1d_out_len (s, len);
  int k0 = pointwise_tap (s, len);

  g_assert (lout > 0);
  if (k0 >= 0)
    {
      gaf_gemm_small (batch * len, s->cout, s->cin, in, s->cin, 1, w + (gsize) k0 * s->cin * s->cout, s->cout,
                      out, s->cout, FALSE);
    }
  else
    {
      gsize rows = (gsize) len * s->cin, cols = (gsize) lout * s->cout;
      g_assert (work->block != NULL && work->block_len >= rows * cols);
      gaf_gemm_small (batch, cols, rows, in, rows, 1, work->block, cols, out, cols, FALSE);
    }
  add_bias (out, bias, batch * lout, s->cout);
}

void
gaf_conv1d_backward (float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int batch, int len, const GafConv1dShape *s,
                     const GafConv1dWork *work, float *scratch)
{
  int lout = gaf_conv1d_out_len (s, len);
  int k0 = pointwise_tap (s, len);

  gaf_bias_backward (dbias, dout, batch * lout, s->cout);
  if (k0 >= 0)
    {
      const float *wk = w + (gsize) k0 * s->cin * s->cout;
      if (dw != NULL)
        gaf_gemm_small (s->cin, s->cout, batch * len, in, 1, s->cin, dout, s->cout,
                        dw + (gsize) k0 * s->cin * s->cout, s->cout, TRUE);
      if (din != NULL)
        gaf_gemm_small_bt (batch * len, s->cin, s->cout, dout, s->cout, 1, wk, s->cout, din, s->cin, TRUE);
      return;
    }

  gsize rows = (gsize) len * s->cin, cols = (gsize) lout * s->cout;
  g_assert (work->block != NULL && work->block_len >= rows * cols);
  if (dw != NULL)
    {
      /* dblock = in^T dout, then gather each tap's blocks back into dw[k]. */
      gaf_gemm_small (rows, cols, batch, in, 1, rows, dout, cols, scratch, cols, FALSE);
      for (int p = 0; p < lout; p++)
        for (int k = 0; k < s->kernel; k++)
          {
            int q = p - s->padding + k * s->dilation;
            if (q < 0 || q >= len)
              continue;
            for (int i = 0; i < s->cin; i++)
              {
                const float *src = scratch + ((gsize) q * s->cin + i) * cols + (gsize) p * s->cout;
                float *dst = dw + ((gsize) k * s->cin + i) * s->cout;
                for (int o = 0; o < s->cout; o++)
                  dst[o] += src[o];
              }
          }
    }
  if (din != NULL)
    gaf_gemm_small_bt (batch, rows, cols, dout, cols, 1, work->block, cols, din, rows, TRUE);
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
