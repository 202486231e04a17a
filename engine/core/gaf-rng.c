/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the Box-Muller transform below. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>

#include "gaf-rng.h"
#include "gaf-simd-private.h"

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

/* Box-Muller on the bits of one 64-bit draw per pair (hi = its top 32 bits, lo = the low 32):
 *  - radius r = sqrt(-2 ln u) with u = (A + 1/2) 2^-40, A the top 40 bits: u is never 0 or 1 and the
 *    largest radius is sqrt(2 ln 2^41) = 7.54, so every tail of the normal is drawn out to 7.5 sigma
 *    (P(|x| > 7.5) = 6e-14). For u >= sqrt(1/2), ln u = ln(1 - w) is formed from w = 1 - u, which the bits
 *    give exactly, so small radii keep their relative accuracy too.
 *  - angle theta = q pi/2 + phi from the low 24 bits: the quadrant q from 2 bits, phi = (K + 1/2 - 2^21)
 *    pi / 2^23 in [-pi/4, pi/4) from the other 22, and (cos theta, sin theta) is (cos phi, sin phi) turned
 *    by q quarter turns (exact swaps and signs).
 * x = r cos theta and y = r sin theta are independent standard normals. */
GAF_SIMD_CLONES void
gaf_rng_box_muller (const guint32 *restrict hi, const guint32 *restrict lo, float *restrict x,
                    float *restrict y, gsize pairs)
{
  for (gsize i = 0; i < pairs; i++)
    {
      guint32 a = hi[i], b = lo[i];
      gint32 top = (gint32) (a >> 8);                               /* top 24 of the 40 radius bits */
      gint32 low = (gint32) (((a & 0xffu) << 8) | (b >> 24));       /* the next 16 */
      gint32 q = (gint32) ((b >> 22) & 3u), k = (gint32) (b & 0x3fffffu);
      float u = (float) top * 0x1p-24f + ((float) low + 0.5f) * 0x1p-40f;
      float w = (float) (16777215 - top) * 0x1p-24f + (65535.5f - (float) low) * 0x1p-40f;   /* 1 - u */
      /* 11863284 / 2^24 >= sqrt(1/2): there -w is in the reduced range of ln(1 + f) */
      float lnu = top >= 11863284 ? gaf_fast_log1pf_reduced (-w) : gaf_fast_logf (u);
      float r2 = -2.0f * lnu;
      float r = sqrtf (r2 > 0.0f ? r2 : 0.0f);
      float phi = ((float) (k - 2097152) + 0.5f) * (float) (G_PI / 8388608.0);
      float s, c, cx, sy;

      gaf_fast_sincosf_reduced (phi, &s, &c);
      cx = (q & 1) ? s : c;                      /* q = 0: (c, s), 1: (-s, c), 2: (-c, -s), 3: (s, -c) */
      sy = (q & 1) ? c : s;
      cx = (q == 1 || q == 2) ? -cx : cx;
      sy = q >= 2 ? -sy : sy;
      x[i] = r * cx;
      y[i] = r * sy;
    }
}

#define BOX_MULLER_BLOCK 256

void
gaf_rng_fill_normal (GafRng *rng, float *x, gsize count)
{
  guint32 hi[BOX_MULLER_BLOCK], lo[BOX_MULLER_BLOCK];
  gsize done = 0;

  g_return_if_fail (rng != NULL && (x != NULL || count == 0));

  while (done < count)
    {
      gsize pairs = MIN (BOX_MULLER_BLOCK, (count - done + 1) / 2);

      for (gsize i = 0; i < pairs; i++)
        {
          guint64 v = gaf_rng_next (rng);
          hi[i] = (guint32) (v >> 32);
          lo[i] = (guint32) v;
        }
      if (done + 2 * pairs <= count)
        /* the block's cosines, then its sines */
        gaf_rng_box_muller (hi, lo, x + done, x + done + pairs, pairs);
      else
        {
          /* an odd count: the last pair's sine is dropped */
          float tx[BOX_MULLER_BLOCK], ty[BOX_MULLER_BLOCK];

          gaf_rng_box_muller (hi, lo, tx, ty, pairs);
          for (gsize i = 0; i < pairs; i++)
            x[done + i] = tx[i];
          for (gsize i = 0; i + 1 < pairs; i++)
            x[done + pairs + i] = ty[i];
        }
      done += 2 * pairs;
    }
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
