/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* xoshiro256** seeded through splitmix64. Always passed explicitly: no global state,
 * so the same seed gives the same run bit for bit on one machine. */
typedef struct {
  guint64  s[4];
  gboolean has_spare;
  double   spare;
} GafRng;

void     gaf_rng_init        (GafRng *rng, guint64 seed);
/* An independent stream derived from (seed, stream), e.g. one per worker or per class count. */
void     gaf_rng_init_stream (GafRng *rng, guint64 seed, guint64 stream);
guint64  gaf_rng_next        (GafRng *rng);
double   gaf_rng_uniform     (GafRng *rng);            /* [0, 1) with 53 random bits */
guint32  gaf_rng_below       (GafRng *rng, guint32 n); /* uniform integer in [0, n) */
double   gaf_rng_normal      (GafRng *rng);            /* standard normal (polar method) */
/* x[i] ~ N(0, 1), i < count, independent: the bulk generator of the training paths' noise, in float.
 * Box-Muller on one 64-bit draw per pair in blocks of 256 pairs (a block's cosines, then its sines),
 * vectorised; tails to 7.5 sigma. Does not use or change the spare of gaf_rng_normal. */
void     gaf_rng_fill_normal (GafRng *rng, float *x, gsize count);
/* The transform behind it, exposed for its tests: pair i from the 64 bits (hi[i] << 32) | lo[i]
 * -> x[i] = r cos theta, y[i] = r sin theta (see gaf-rng.c). */
void     gaf_rng_box_muller  (const guint32 *hi, const guint32 *lo, float *x, float *y, gsize pairs);
double   gaf_rng_gamma       (GafRng *rng, double shape, double rate);
/* x[i] ~ U(-bound, bound): PyTorch's default initialisation with bound 1/sqrt(fan_in). */
void     gaf_rng_fill_uniform (GafRng *rng, float *x, gsize count, double bound);
void     gaf_rng_dirichlet   (GafRng *rng, const double *alpha, double *out, gsize k);

G_END_DECLS
