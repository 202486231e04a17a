/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the loss's row loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>

#include "gaf-path.h"
#include "gaf-simd-private.h"
#include "gaf-simplex.h"

void
gaf_path_config_init (GafPathConfig *cfg)
{
  cfg->lambda = 0.5;
  cfg->time_shape = 1.0;
  cfg->time_rate = 0.25;
}

/* The times first, then the batch's n c normals (gaf_rng_fill_normal), in that order from rng. W_t is formed
 * as softmax(xi + lambda t s e_beta) with s = sqrt(c/(c-1)): Pi_0 xi and lambda t u_beta differ from xi and
 * lambda t s e_beta by a constant per row, which the softmax does not see. */
void
gaf_path_sample (const GafPathConfig *cfg, GafRng *rng, const guint16 *labels,
                 int batch, int n, int c, float *t, float *w, float *u)
{
  gsize rows = (gsize) batch * n;
  double s = sqrt ((double) c / (double) (c - 1));
  float off = (float) (-s / c), on = (float) (s * (1.0 - 1.0 / c));   /* u_beta = s (e_beta - 1/c) */

  for (int b = 0; b < batch; b++)
    t[b] = (float) gaf_rng_gamma (rng, cfg->time_shape, cfg->time_rate);   /* not clamped */
  gaf_rng_fill_normal (rng, w, rows * c);                                   /* xi */
  for (gsize j = 0; j < rows * c; j++)
    u[j] = off;
  for (int b = 0; b < batch; b++)
    {
      float step = (float) (cfg->lambda * t[b] * s);
      for (int i = 0; i < n; i++)
        {
          gsize r = (gsize) b * n + i;
          g_assert (labels[r] < c);
          u[r * c + labels[r]] = on;
          w[r * c + labels[r]] += step;
        }
    }
  gaf_softmax_rows (w, w, rows, c);
}

#define LOSS_LANES 8

/* One row: m1 = <w, d> and m2 = <w, d^2> with d = f - lambda u, in double, in LOSS_LANES interleaved partial
 * sums (a fixed order the compiler can vectorise). Returns Var_w(d) = m2 - m1^2 and sets *mean = m1. */
static inline __attribute__ ((always_inline)) double
row_variance (const float *wr, const float *fr, const float *ur, float lam, int c, double *mean)
{
  double a1[LOSS_LANES] = { 0.0 }, a2[LOSS_LANES] = { 0.0 }, m1 = 0.0, m2 = 0.0;
  int j = 0;

  if (c >= LOSS_LANES)
    {
      for (; j + LOSS_LANES <= c; j += LOSS_LANES)
        for (int l = 0; l < LOSS_LANES; l++)
          {
            double d = fr[j + l] - lam * ur[j + l], wd = (double) wr[j + l] * d;
            a1[l] += wd;
            a2[l] += wd * d;
          }
      for (int h = LOSS_LANES / 2; h >= 1; h /= 2)
        for (int l = 0; l < h; l++)
          {
            a1[l] += a1[l + h];
            a2[l] += a2[l + h];
          }
      m1 = a1[0];
      m2 = a2[0];
    }
  for (; j < c; j++)
    {
      double d = fr[j] - lam * ur[j], wd = (double) wr[j] * d;
      m1 += wd;
      m2 += wd * d;
    }
  *mean = m1;
  return m2 - m1 * m1;
}

/* One row of two classes: its variance, and its df when asked. */
static inline __attribute__ ((always_inline)) double
loss_row_c2 (const float *w, const float *f, const float *u, float lam, float scale, gsize r, float *df)
{
  gsize i = 2 * r;
  double d0 = f[i] - lam * u[i], d1 = f[i + 1] - lam * u[i + 1];
  double wd0 = (double) w[i] * d0, wd1 = (double) w[i + 1] * d1, m1 = wd0 + wd1;

  if (df != NULL)
    {
      df[i] = scale * w[i] * (float) (d0 - m1);
      df[i + 1] = scale * w[i + 1] * (float) (d1 - m1);
    }
  return (wd0 * d0 + wd1 * d1) - m1 * m1;
}

/* c = 2 (binary images: a UNet step has 32,768 such rows): the rows' variances in LOSS_LANES interleaved
 * partial totals, so that the loop runs over the rows in vectors. */
static inline __attribute__ ((always_inline)) double
loss_rows_c2 (const float *w, const float *f, const float *u, float lam, float scale, gsize r0, gsize r1,
              float *df)
{
  double acc[LOSS_LANES] = { 0.0 }, total;
  gsize r = r0;

  for (; r + LOSS_LANES <= r1; r += LOSS_LANES)
    for (int l = 0; l < LOSS_LANES; l++)
      acc[l] += loss_row_c2 (w, f, u, lam, scale, r + l, df);
  for (int h = LOSS_LANES / 2; h >= 1; h /= 2)
    for (int l = 0; l < h; l++)
      acc[l] += acc[l + h];
  total = acc[0];
  for (; r < r1; r++)
    total += loss_row_c2 (w, f, u, lam, scale, r, df);
  return total;
}

GAF_SIMD_CLONES double
gaf_path_loss_rows (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
                    int batch, gsize r0, gsize r1, int c, float *df)
{
  double total = 0.0;
  float lam = (float) cfg->lambda;
  float scale = 2.0f / (float) batch;

  if (c == 2)
    return loss_rows_c2 (w, f, u, lam, scale, r0, r1, df);
  for (gsize r = r0; r < r1; r++)
    {
      const float *wr = w + r * c, *fr = f + r * c, *ur = u + r * c;
      double m1;

      total += row_variance (wr, fr, ur, lam, c, &m1);
      if (df != NULL)
        {
          float *restrict dr = df + r * c;
          float fm1 = (float) m1;
          for (int j = 0; j < c; j++)
            dr[j] = scale * wr[j] * ((fr[j] - lam * ur[j]) - fm1);
        }
    }
  return total;
}

double
gaf_path_loss (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
               int batch, int n, int c, float *df)
{
  return gaf_path_loss_rows (cfg, w, f, u, batch, 0, (gsize) batch * n, c, df) / batch;
}
