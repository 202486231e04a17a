/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-target.h"

GafClassTarget *
gaf_class_target_new (int n, int c, guint64 seed)
{
  GafClassTarget *t;
  GafRng rng;

  g_return_val_if_fail (n >= 1 && c >= 2, NULL);
  t = g_new0 (GafClassTarget, 1);
  t->n = n;
  t->c = c;
  t->q = g_new (double, (gsize) n * c);
  t->cdf = g_new (double, (gsize) n * c);
  gaf_rng_init_stream (&rng, seed, 0x7a56e7);
  for (int i = 0; i < n; i++)
    {
      double *q = t->q + (gsize) i * c, *cdf = t->cdf + (gsize) i * c;
      double mx = -INFINITY, sum = 0.0, acc = 0.0;
      for (int j = 0; j < c; j++)
        {
          q[j] = gaf_rng_uniform (&rng);
          mx = MAX (mx, q[j]);
        }
      for (int j = 0; j < c; j++)
        {
          q[j] = exp (q[j] - mx);
          sum += q[j];
        }
      for (int j = 0; j < c; j++)
        {
          q[j] /= sum;
          acc += q[j];
          cdf[j] = acc;
        }
      cdf[c - 1] = 1.0;
    }
  return t;
}

void
gaf_class_target_free (GafClassTarget *target)
{
  if (target == NULL)
    return;
  g_free (target->q);
  g_free (target->cdf);
  g_free (target);
}

void
gaf_class_target_sample (const GafClassTarget *target, GafRng *rng, guint16 *labels, int batch)
{
  int n = target->n, c = target->c;

  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      {
        const double *cdf = target->cdf + (gsize) i * c;
        double u = gaf_rng_uniform (rng);
        int lo = 0, hi = c - 1;
        /* smallest j with u < cdf[j] */
        while (lo < hi)
          {
            int mid = (lo + hi) / 2;
            if (u < cdf[mid])
              hi = mid;
            else
              lo = mid + 1;
          }
        labels[(gsize) b * n + i] = (guint16) lo;
      }
}

double
gaf_class_target_kl_uniform (const GafClassTarget *target)
{
  int n = target->n, c = target->c;
  double kl = 0.0;

  for (int i = 0; i < n; i++)
    for (int j = 0; j < c; j++)
      kl += (1.0 / c) * log ((1.0 / c) / target->q[(gsize) i * c + j]);
  return kl / n;
}

void
gaf_class_target_oracle_field (const GafClassTarget *target, double lambda, double t,
                               const float *v, float *dv, int batch)
{
  int n = target->n, c = target->c;
  double s = sqrt ((double) c / (c - 1));
  double *logit = g_newa (double, c);

  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      {
        const float *vr = v + ((gsize) b * n + i) * c;
        float *dr = dv + ((gsize) b * n + i) * c;
        const double *q = target->q + (gsize) i * c;
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < c; j++)
          {
            logit[j] = log (q[j]) + lambda * t * s * vr[j];
            mx = MAX (mx, logit[j]);
          }
        for (int j = 0; j < c; j++)
          {
            logit[j] = exp (logit[j] - mx);
            sum += logit[j];
          }
        for (int j = 0; j < c; j++)
          dr[j] = (float) (lambda * s * (logit[j] / sum - 1.0 / c));
      }
}

void
gaf_histogram (const guint16 *labels, guint64 count, int n, int c, guint64 *counts)
{
  memset (counts, 0, (gsize) n * c * sizeof (guint64));
  for (guint64 s = 0; s < count; s++)
    for (int i = 0; i < n; i++)
      {
        guint16 l = labels[s * n + i];
        g_assert (l < c);
        counts[(gsize) i * c + l]++;
      }
}

double
gaf_kl_from_counts (const guint64 *counts, guint64 total, const double *q, int n, int c)
{
  double kl = 0.0;

  g_return_val_if_fail (total > 0, NAN);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < c; j++)
      {
        guint64 k = counts[(gsize) i * c + j];
        if (k == 0)
          continue;
        double qhat = (double) k / (double) total;
        kl += qhat * log (qhat / q[(gsize) i * c + j]);
      }
  return kl / n;
}

double
gaf_kl_floor (int c, guint64 samples)
{
  return (c - 1) / (2.0 * (double) samples);
}
