/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>

#include "gaf-rng.h"

static inline guint64
rotl (guint64 x, int k)
{
  return (x << k) | (x >> (64 - k));
}

static guint64
splitmix64 (guint64 *x)
{
  guint64 z = (*x += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

void
gaf_rng_init (GafRng *rng, guint64 seed)
{
  gaf_rng_init_stream (rng, seed, 0);
}

void
gaf_rng_init_stream (GafRng *rng, guint64 seed, guint64 stream)
{
  guint64 x = seed ^ (stream * G_GUINT64_CONSTANT (0xd1b54a32d192ed03));

  g_return_if_fail (rng != NULL);
  for (int i = 0; i < 4; i++)
    rng->s[i] = splitmix64 (&x);
  rng->has_spare = FALSE;
  rng->spare = 0.0;
}

guint64
gaf_rng_next (GafRng *rng)
{
  guint64 *s = rng->s;
  guint64 result = rotl (s[1] * 5, 7) * 9;
  guint64 t = s[1] << 17;

  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl (s[3], 45);
  return result;
}

double
gaf_rng_uniform (GafRng *rng)
{
  return (gaf_rng_next (rng) >> 11) * 0x1.0p-53;
}

guint32
gaf_rng_below (GafRng *rng, guint32 n)
{
  /* Lemire's multiply-shift with rejection: exactly uniform. */
  guint64 m = (guint64) (guint32) (gaf_rng_next (rng) >> 32) * n;
  guint32 l = (guint32) m;

  if (l < n)
    {
      guint32 threshold = -n % n;
      while (l < threshold)
        {
          m = (guint64) (guint32) (gaf_rng_next (rng) >> 32) * n;
          l = (guint32) m;
        }
    }
  return m >> 32;
}

double
gaf_rng_normal (GafRng *rng)
{
  double u, v, s;

  if (rng->has_spare)
    {
      rng->has_spare = FALSE;
      return rng->spare;
    }
  do
    {
      u = 2.0 * gaf_rng_uniform (rng) - 1.0;
      v = 2.0 * gaf_rng_uniform (rng) - 1.0;
      s = u * u + v * v;
    }
  while (s >= 1.0 || s == 0.0);
  s = sqrt (-2.0 * log (s) / s);
  rng->spare = v * s;
  rng->has_spare = TRUE;
  return u * s;
}

/* Marsaglia and Tsang (2000); shape < 1 through Gamma(shape + 1) * U^(1/shape). */
double
gaf_rng_gamma (GafRng *rng, double shape, double rate)
{
  double d, c, x, v, u;

  g_return_val_if_fail (shape > 0.0 && rate > 0.0, NAN);

  if (shape < 1.0)
    {
      double g = gaf_rng_gamma (rng, shape + 1.0, 1.0);
      double w;
      do
        w = gaf_rng_uniform (rng);
      while (w == 0.0);
      return g * pow (w, 1.0 / shape) / rate;
    }

  d = shape - 1.0 / 3.0;
  c = 1.0 / sqrt (9.0 * d);
  for (;;)
    {
      do
        {
          x = gaf_rng_normal (rng);
          v = 1.0 + c * x;
        }
      while (v <= 0.0);
      v = v * v * v;
      u = gaf_rng_uniform (rng);
      if (u < 1.0 - 0.0331 * x * x * x * x)
        return d * v / rate;
      if (u > 0.0 && log (u) < 0.5 * x * x + d * (1.0 - v + log (v)))
        return d * v / rate;
    }
}

void
gaf_rng_fill_uniform (GafRng *rng, float *x, gsize count, double bound)
{
  for (gsize i = 0; i < count; i++)
    x[i] = (float) ((2.0 * gaf_rng_uniform (rng) - 1.0) * bound);
}

void
gaf_rng_dirichlet (GafRng *rng, const double *alpha, double *out, gsize k)
{
  double sum = 0.0;

  for (gsize j = 0; j < k; j++)
    {
      out[j] = gaf_rng_gamma (rng, alpha[j], 1.0);
      sum += out[j];
    }
  if (sum <= 0.0)
    {
      /* Every component underflowed (tiny alphas): fall back to the vertex of the largest draw. */
      for (gsize j = 0; j < k; j++)
        out[j] = (j == 0) ? 1.0 : 0.0;
      return;
    }
  for (gsize j = 0; j < k; j++)
    out[j] /= sum;
}
