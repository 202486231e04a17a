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
