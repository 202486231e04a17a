/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the engine's tests: gradient checks (test-layers, test-unet), deadlines. */

#include <math.h>
#include <glib.h>

#include "gaf-rng.h"

typedef double (*LossFunc) (gpointer ctx);

static inline void
fill_uniform (GafRng *rng, float *x, gsize count, double lo, double hi)
{
  for (gsize i = 0; i < count; i++)
    x[i] = (float) (lo + (hi - lo) * gaf_rng_uniform (rng));
}

static inline double
dot_f (const float *a, const float *b, gsize count)
{
  double s = 0.0;

  for (gsize i = 0; i < count; i++)
    s += (double) a[i] * b[i];
  return s;
}

static inline float
max_abs (const float *x, gsize count)
{
  float m = 0.0f;

  for (gsize i = 0; i < count; i++)
    m = MAX (m, fabsf (x[i]));
  return m;
}

static inline double
central_diff (LossFunc loss, gpointer ctx, float *x, gsize i, double h)
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

/* Deadlines in tests are multiplied by GAF_TEST_TIME_FACTOR (1 .. 1000, default 1): the sanitizer and
 * valgrind test setups set it, since they run the same code 2-50x slower. No test asserts on a speed. */
static inline double
gaf_test_time_factor (void)
{
  const char *s = g_getenv ("GAF_TEST_TIME_FACTOR");
  double f = s != NULL ? g_ascii_strtod (s, NULL) : 1.0;

  return isfinite (f) && f >= 1.0 ? MIN (f, 1000.0) : 1.0;
}
