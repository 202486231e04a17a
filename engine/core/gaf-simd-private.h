/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

/* Hot elementwise loops (normalisation, activations, Winograd transforms) of the image layers.
 *
 * The engine is built for the baseline x86-64 by default (binaries run anywhere), which limits the
 * auto-vectorised loops to 16-byte SSE2. GAF_SIMD_CLONES compiles a function three times (AVX-512,
 * AVX2 + FMA, baseline) and picks the clone for the running CPU once, at load time (GCC's
 * target_clones through an ifunc). Files using it also turn on GCC's dynamic vectorizer cost model
 * (the -O2 "very cheap" model leaves most of these loops scalar): see GAF_SIMD_BEGIN. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) && \
    !defined(GAF_NO_SIMD_CLONES) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
#define GAF_SIMD_CLONES __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define GAF_SIMD_CLONES
#endif

/* e^x for x in [-87, 88] (clamped outside), relative error about 2e-7: Cephes' expf polynomial with a
 * range reduction that vectorises (no libm call, no branch). */
static inline float
gaf_fast_expf (float x)
{
  union { float f; gint32 i; } s;
  float n, r, p;
  int ni;

  /* written so that NaN becomes -87 too: (int) NaN below would be undefined behaviour */
  x = x > -87.0f ? x : -87.0f;
  x = x < 88.0f ? x : 88.0f;
  /* floor (x log2 e + 1/2), through a positive argument so truncation is floor */
  ni = (int) (x * 1.44269504088896341f + 128.5f) - 128;
  n = (float) ni;
  r = x - n * 0.693359375f;
  r = r + n * 2.12194440e-4f;
  p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  s.i = (ni + 127) << 23;
  return p * s.f;
}

/* ln(1 + f) for f in [sqrt(1/2) - 1, sqrt(2) - 1]: Cephes' logf polynomial (a degree-9 fit of
 * (ln(1 + f) - f + f^2/2) / f^3), so the result keeps its relative accuracy as f -> 0. */
static inline float
gaf_fast_log1pf_reduced (float f)
{
  float z = f * f, p;

  p = 7.0376836292e-2f;
  p = p * f - 1.1514610310e-1f;
  p = p * f + 1.1676998740e-1f;
  p = p * f - 1.2420140846e-1f;
  p = p * f + 1.4249322787e-1f;
  p = p * f - 1.6668057665e-1f;
  p = p * f + 2.0000714765e-1f;
  p = p * f - 2.4999993993e-1f;
  p = p * f + 3.3333331174e-1f;
  return f + (f * z * p - 0.5f * z);
}

/* ln x for normal positive floats (FLT_MIN <= x < infinity; nothing else is checked), relative
 * error below 2e-7 (tests/test-geometry.c, /engine/simd/log): x = m 2^e with m in [sqrt(1/2), sqrt(2)),
 * ln x = ln m + e ln 2 with ln 2 split in two so that e ln 2 adds no rounding error of its own. */
static inline float
gaf_fast_logf (float x)
{
  union { float f; gint32 i; } u;
  gint32 e;
  float m, f, fe;

  u.f = x;
  e = (u.i >> 23) - 126;                         /* x = m 2^e with m in [1/2, 1) */
  u.i = (u.i & 0x007fffff) | 0x3f000000;
  m = u.f;
  e = m < 0.70710678f ? e - 1 : e;
  f = m < 0.70710678f ? m + m - 1.0f : m - 1.0f;  /* exact (Sterbenz) */
  fe = (float) e;
  return (gaf_fast_log1pf_reduced (f) - 2.12194440e-4f * fe) + 0.693359375f * fe;
}

/* sin and cos of x in [-pi/4, pi/4], relative error below 2e-7 each (tests/test-geometry.c,
 * /engine/simd/sincos): Cephes' sinf and cosf polynomials, with no range reduction (the caller's
 * argument is already reduced). */
static inline void
gaf_fast_sincosf_reduced (float x, float *s, float *c)
{
  float z = x * x;

  *s = ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * x + x;
  *c = ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z
       - 0.5f * z + 1.0f;
}

/* 1 / d for 1 <= d <= 1e36, without a division: a vector division
 * costs about 16 cycles for 16 lanes, which made SiLU ten times slower than the normalisation around it.
 * A bit-pattern initial guess (about 4 correct bits) and three Newton steps r <- r (2 - d r), each
 * squaring the relative error: about 1 float ulp. */
static inline float
gaf_fast_rcpf (float d)
{
  union { float f; gint32 i; } u;
  float r;

  u.f = d;
  u.i = 0x7ef311c3 - u.i;
  r = u.f;
  r = r * (2.0f - d * r);
  r = r * (2.0f - d * r);
  r = r * (2.0f - d * r);
  return r;
}

/* 1 / (1 + e^-x); below x = -80 the result stays at e^-80 (about 2e-35), so that 1 + e^-x stays in
 * the range of gaf_fast_rcpf. */
static inline float
gaf_fast_sigmoidf (float x)
{
  x = x < -80.0f ? -80.0f : x;
  return gaf_fast_rcpf (1.0f + gaf_fast_expf (-x));
}
