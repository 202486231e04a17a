/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the engine's gradient-check tests (test-layers, test-unet). */

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
