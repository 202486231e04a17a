/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the softmax (a training step's draw takes
 * one of n c values per sample). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>

#include "gaf-simd-private.h"
#include "gaf-simplex.h"

/* Reductions of a row in GAF_LANES interleaved partial results, combined at the end: a fixed order
 * (the result does not depend on the CPU's vector width) that the compiler can vectorise, which it may
 * not do with one running sum or maximum (floating-point addition does not reassociate). */
#define GAF_LANES 16

static inline float
row_max (const float *x, gsize c)
{
  float m[GAF_LANES], mx;
  gsize j = 0;

  if (c >= GAF_LANES)
    {
      for (int l = 0; l < GAF_LANES; l++)
        m[l] = x[l];
      for (j = GAF_LANES; j + GAF_LANES <= c; j += GAF_LANES)
        for (int l = 0; l < GAF_LANES; l++)
          m[l] = x[j + l] > m[l] ? x[j + l] : m[l];
      mx = m[0];
      for (int l = 1; l < GAF_LANES; l++)
        mx = m[l] > mx ? m[l] : mx;
    }
  else
    mx = x[j++];
  for (; j < c; j++)
    mx = x[j] > mx ? x[j] : mx;
  return mx;
}

/* NAME (x, c): the sum of a row in LANES interleaved partial sums of type T, added pairwise at the end (the loop
 * vectorises and the order of the additions does not depend on the row's place). row_sum in float for the
 * softmax, row_sum_double for the projections. */
#define DEFINE_ROW_SUM(NAME, T, LANES) \
  static inline T \
  NAME (const float *x, gsize c) \
  { \
    T a[LANES] = { 0 }, sum; \
    gsize j = 0; \
    for (; j + (LANES) <= c; j += (LANES)) \
      for (int l = 0; l < (LANES); l++) \
        a[l] += x[j + l]; \
    for (int h = (LANES) / 2; h >= 1; h /= 2) \
      for (int l = 0; l < h; l++) \
        a[l] += a[l + h]; \
    sum = a[0]; \
    for (; j < c; j++) \
      sum += x[j]; \
    return sum; \
  }

DEFINE_ROW_SUM (row_sum, float, GAF_LANES)
DEFINE_ROW_SUM (row_sum_double, double, GAF_LANES / 2)

/* The exponential is gaf_fast_expf (relative error below 2e-7 on [-87, 0], the range of v - max v;
 * smaller arguments give e^-87 in place of a number below 2e-38); a NaN stays a NaN, so that a diverged
 * state still shows as one. */
GAF_SIMD_CLONES void
gaf_softmax_rows (const float *v, float *w, gsize rows, gsize c)
{
  if (c == 2)
    {
      /* w = (1, e) / (1 + e) in the order of the larger entry, e = exp(-|v_0 - v_1|) */
      for (gsize r = 0; r < rows; r++)
        {
          float v0 = v[2 * r], v1 = v[2 * r + 1], d = v0 - v1;
          float e = gaf_fast_expf (d > 0.0f ? -d : d);
          float big = 1.0f / (1.0f + e), small = e * big;
          big = d == d ? big : d;
          small = d == d ? small : d;
          w[2 * r] = d >= 0.0f ? big : small;
          w[2 * r + 1] = d >= 0.0f ? small : big;
        }
      return;
    }
  for (gsize r = 0; r < rows; r++)
    {
      const float *vr = v + r * c;
      float *wr = w + r * c;
      float mx = row_max (vr, c), sum = 0.0f;

      if (c >= GAF_LANES)
        {
          for (gsize j = 0; j < c; j++)
            {
              float x = vr[j] - mx, e = gaf_fast_expf (x);
              wr[j] = x == x ? e : x;
            }
          sum = row_sum (wr, c);
        }
      else
        /* a few classes: one running sum (a vector loop of 3 would cost more than it does) */
        for (gsize j = 0; j < c; j++)
          {
            float x = vr[j] - mx, e = gaf_fast_expf (x);
            wr[j] = x == x ? e : x;
            sum += wr[j];
          }
      /* sum >= 1 because the maximum contributes exp(0). */
      float inv = 1.0f / sum;
      for (gsize j = 0; j < c; j++)
        wr[j] *= inv;
    }
}

/* The sampler's and the likelihood's every evaluation projects the network's output (B n rows). */
GAF_SIMD_CLONES void
gaf_project_tangent_rows (float *v, gsize rows, gsize c)
{
  for (gsize r = 0; r < rows; r++)
    {
      float *vr = v + r * c;
      double mean = row_sum_double (vr, c) / (double) c;

      for (gsize j = 0; j < c; j++)
        vr[j] = (float) (vr[j] - mean);
    }
}

void
gaf_replicator (const float *p, const float *x, float *out, gsize c)
{
  double px = 0.0;

  for (gsize j = 0; j < c; j++)
    px += (double) p[j] * x[j];
  for (gsize j = 0; j < c; j++)
    out[j] = (float) (p[j] * (x[j] - px));
}

double
gaf_fisher_rao_sq (const float *p, const float *v, gsize c)
{
  double s = 0.0;

  for (gsize j = 0; j < c; j++)
    s += (double) v[j] * v[j] / p[j];
  return s;
}

double
gaf_variance_form (const float *p, const float *x, gsize c)
{
  double m1 = 0.0, m2 = 0.0;

  for (gsize j = 0; j < c; j++)
    {
      m1 += (double) p[j] * x[j];
      m2 += (double) p[j] * x[j] * x[j];
    }
  return m2 - m1 * m1;
}

void
gaf_lift (const float *p, const float *v, float *out, gsize c)
{
  /* softmax(log p + v), computed with the max subtracted in log space. */
  double mx = -INFINITY, sum = 0.0;

  for (gsize j = 0; j < c; j++)
    {
      double a = log (p[j]) + v[j];
      mx = a > mx ? a : mx;
    }
  for (gsize j = 0; j < c; j++)
    {
      double e = exp (log (p[j]) + v[j] - mx);
      out[j] = (float) e;
      sum += e;
    }
  for (gsize j = 0; j < c; j++)
    out[j] = (float) (out[j] / sum);
}

void
gaf_e_geodesic_point (const float *v0, const float *u, double t, float *out, gsize c)
{
  for (gsize j = 0; j < c; j++)
    out[j] = (float) (v0[j] + t * u[j]);
  gaf_softmax_rows (out, out, 1, c);
}

void
gaf_target_direction (guint label, float *u, gsize c)
{
  double s = sqrt ((double) c / (double) (c - 1));
  float off = (float) (-s / (double) c);

  g_return_if_fail (c >= 2 && label < c);
  for (gsize j = 0; j < c; j++)
    u[j] = off;
  u[label] = (float) (s * (1.0 - 1.0 / (double) c));
}

void
gaf_tangent_basis (gsize c, double *q)
{
  /* Modified Gram-Schmidt on the columns a_k = e_k - e_{c-1} (k < c-1) of [I_{c-1}; -1^T];
   * they span T_0, so the orthonormalised columns are a basis of T_0. */
  gsize m = c - 1;

  g_return_if_fail (c >= 2);
  for (gsize k = 0; k < m; k++)
    {
      for (gsize i = 0; i < c; i++)
        q[i * m + k] = (i == k) ? 1.0 : (i == c - 1 ? -1.0 : 0.0);
      for (gsize l = 0; l < k; l++)
        {
          double dot = 0.0;
          for (gsize i = 0; i < c; i++)
            dot += q[i * m + l] * q[i * m + k];
          for (gsize i = 0; i < c; i++)
            q[i * m + k] -= dot * q[i * m + l];
        }
      double nrm = 0.0;
      for (gsize i = 0; i < c; i++)
        nrm += q[i * m + k] * q[i * m + k];
      nrm = sqrt (nrm);
      for (gsize i = 0; i < c; i++)
        q[i * m + k] /= nrm;
    }
}

double
gaf_mean_normalized_entropy (const float *w, gsize rows, gsize c)
{
  double total = 0.0;

  if (rows == 0 || c < 2)
    return 0.0;
  for (gsize r = 0; r < rows; r++)
    {
      double h = 0.0;
      for (gsize j = 0; j < c; j++)
        {
          double p = w[r * c + j];
          if (p > 0.0)
            h -= p * log (p);
        }
      total += h;
    }
  return total / ((double) rows * log ((double) c));
}

guint
gaf_argmax (const float *v, gsize c)
{
  guint best = 0;

  for (gsize j = 1; j < c; j++)
    if (v[j] > v[best])
      best = (guint) j;
  return best;
}
