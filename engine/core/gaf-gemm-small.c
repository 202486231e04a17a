/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <string.h>

#include "gaf-blas.h"
#include "gaf-gemm-small.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GAF_GEMM_X86 1
#include <immintrin.h>
#endif

typedef void (*PanelFunc) (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
                           float *c, int ldc, gboolean accumulate);

/* Columns [0, n16) with n16 a multiple of 16 go to the kernel; the rest to OpenBLAS. */
static void
blas_rest (int m, int n0, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
           float *c, int ldc, gboolean accumulate)
{
  if (n0 >= n)
    return;
  if (csa == 1)
    gaf_sgemm (FALSE, FALSE, m, n - n0, k, 1.0f, a, (int) rsa, b + n0, ldb, accumulate ? 1.0f : 0.0f, c + n0, ldc);
  else
    {
      g_assert (rsa == 1);
      gaf_sgemm (TRUE, FALSE, m, n - n0, k, 1.0f, a, (int) csa, b + n0, ldb, accumulate ? 1.0f : 0.0f, c + n0, ldc);
    }
}

/* The same for a B given as its transpose bt (n, k), row stride ldbt. */
static void
blas_rest_bt (int m, int n0, int n, int k, const float *a, gsize rsa, gsize csa, const float *bt, int ldbt,
              float *c, int ldc, gboolean accumulate)
{
  if (n0 >= n)
    return;
  if (csa == 1)
    gaf_sgemm (FALSE, TRUE, m, n - n0, k, 1.0f, a, (int) rsa, bt + (gsize) n0 * ldbt, ldbt,
               accumulate ? 1.0f : 0.0f, c + n0, ldc);
  else
    {
      g_assert (rsa == 1);
      gaf_sgemm (TRUE, TRUE, m, n - n0, k, 1.0f, a, (int) csa, bt + (gsize) n0 * ldbt, ldbt,
                 accumulate ? 1.0f : 0.0f, c + n0, ldc);
    }
}

#ifdef GAF_GEMM_X86

/* ---- AVX-512: MR x 32 blocks of C in 2 MR zmm accumulators (MR = 8: 16 accumulators, 2 loads of B and 8
 * broadcasts of A per 16 FMAs), MR x 16 for the last 16 columns. Each block of C is one pass over k with
 * B's 32-column panel in L1. */

#define GAF_TARGET_512 __attribute__ ((target ("avx512f,avx2,fma")))
#define GAF_TARGET_256 __attribute__ ((target ("avx2,fma")))

static inline __attribute__ ((always_inline)) GAF_TARGET_512 void
block512 (const int mr, const int nv, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
          float *c, int ldc, gboolean accumulate)
{
  __m512 acc[8][2];

#pragma GCC unroll 8
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
      acc[i][v] = accumulate ? _mm512_loadu_ps (c + (gsize) i * ldc + 16 * v) : _mm512_setzero_ps ();
  for (int l = 0; l < k; l++)
    {
      const float *al = a + (gsize) l * csa;
      __m512 b0 = _mm512_loadu_ps (b + (gsize) l * ldb);
      __m512 b1 = nv > 1 ? _mm512_loadu_ps (b + (gsize) l * ldb + 16) : b0;
#pragma GCC unroll 8
      for (int i = 0; i < mr; i++)
        {
          __m512 ai = _mm512_set1_ps (al[(gsize) i * rsa]);
          acc[i][0] = _mm512_fmadd_ps (ai, b0, acc[i][0]);
          if (nv > 1)
            acc[i][1] = _mm512_fmadd_ps (ai, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++)
#pragma GCC unroll 2
    for (int v = 0; v < nv; v++)
      _mm512_storeu_ps (c + (gsize) i * ldc + 16 * v, acc[i][v]);
}

/* FN (mr, args...) for mr = MIN (8, rows left), a compile-time constant in each case so the block unrolls. */
#define DISPATCH_MR(mr, FN, ...) \
  switch (mr) \
    { \
    case 8: FN (8, __VA_ARGS__); break; \
    case 7: FN (7, __VA_ARGS__); break; \
    case 6: FN (6, __VA_ARGS__); break; \
    case 5: FN (5, __VA_ARGS__); break; \
    case 4: FN (4, __VA_ARGS__); break; \
    case 3: FN (3, __VA_ARGS__); break; \
    case 2: FN (2, __VA_ARGS__); break; \
    default: FN (1, __VA_ARGS__); break; \
    }

#define ROWS512(NV) DISPATCH_MR (mr, block512, NV, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate)

/* the panel, inlined twice: once with A's column stride csa = 1, a compile-time constant (A row-major: the
 * Winograd and 1x1 forward products, 2-3 % faster on a Zen 4 core), once with csa as given */
static inline __attribute__ ((always_inline)) GAF_TARGET_512 void
panel512_body (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb, float *c,
               int ldc, gboolean accumulate)
{
  for (int j = 0; j < n; j += 32)
    {
      const float *bj = b + j;
      for (int i = 0; i < m; i += 8)
        {
          int mr = MIN (8, m - i);
          const float *ai = a + (gsize) i * rsa;
          float *cij = c + (gsize) i * ldc + j;
          if (n - j >= 32)
            ROWS512 (2)
          else
            ROWS512 (1)
        }
    }
}

GAF_TARGET_512 static void
panel512 (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb, float *c, int ldc,
          gboolean accumulate)
{
  if (csa == 1)
    panel512_body (m, n, k, a, rsa, 1, b, ldb, c, ldc, accumulate);
  else
    panel512_body (m, n, k, a, rsa, csa, b, ldb, c, ldc, accumulate);
}

/* ---- AVX2: MR x 16 blocks in 2 MR ymm accumulators (MR = 6: 12 of the 16 registers). */

static inline __attribute__ ((always_inline)) GAF_TARGET_256 void
block256 (const int mr, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb, float *c, int ldc,
          gboolean accumulate)
{
  __m256 acc[6][2];

#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    {
      acc[i][0] = accumulate ? _mm256_loadu_ps (c + (gsize) i * ldc) : _mm256_setzero_ps ();
      acc[i][1] = accumulate ? _mm256_loadu_ps (c + (gsize) i * ldc + 8) : _mm256_setzero_ps ();
    }
  for (int l = 0; l < k; l++)
    {
      const float *al = a + (gsize) l * csa;
      __m256 b0 = _mm256_loadu_ps (b + (gsize) l * ldb), b1 = _mm256_loadu_ps (b + (gsize) l * ldb + 8);
#pragma GCC unroll 6
      for (int i = 0; i < mr; i++)
        {
          __m256 ai = _mm256_broadcast_ss (al + (gsize) i * rsa);
          acc[i][0] = _mm256_fmadd_ps (ai, b0, acc[i][0]);
          acc[i][1] = _mm256_fmadd_ps (ai, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 6
  for (int i = 0; i < mr; i++)
    {
      _mm256_storeu_ps (c + (gsize) i * ldc, acc[i][0]);
      _mm256_storeu_ps (c + (gsize) i * ldc + 8, acc[i][1]);
    }
}

GAF_TARGET_256 static void
panel256 (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb, float *c, int ldc,
          gboolean accumulate)
{
  for (int j = 0; j < n; j += 16)
    for (int i = 0; i < m; i += 6)
      {
        const float *ai = a + (gsize) i * rsa, *bj = b + j;
        float *cij = c + (gsize) i * ldc + j;
        switch (MIN (6, m - i))
          {
          case 6: block256 (6, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          case 5: block256 (5, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          case 4: block256 (4, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          case 3: block256 (3, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          case 2: block256 (2, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          default: block256 (1, k, ai, rsa, csa, bj, ldb, cij, ldc, accumulate); break;
          }
      }
}

/* ---- 16 x 16 transposes in registers (AVX-512) ---- */

/* o[j] = column j of the 16 rows r (32-bit elements; the float type only carries the bits): 32-bit then
 * 64-bit interleaves of row pairs leave, in 128-bit lane L of u[4q + m], column 4L + m of rows 4q .. 4q + 3;
 * two rounds of 128-bit lane shuffles gather lanes L of u[m], u[4 + m], u[8 + m], u[12 + m] into column
 * 4L + m. 64 shuffles per 256 elements; no arithmetic, so any bit pattern passes through unchanged. */
static inline __attribute__ ((always_inline)) GAF_TARGET_512 void
transpose16_regs (__m512 o[16], const __m512 r[16])
{
  __m512 u[16], w[16];

  for (int p = 0; p < 16; p += 2)
    {
      u[p] = _mm512_unpacklo_ps (r[p], r[p + 1]);
      u[p + 1] = _mm512_unpackhi_ps (r[p], r[p + 1]);
    }
  for (int q = 0; q < 16; q += 4)
    {
      __m512d t0 = _mm512_castps_pd (u[q]), t1 = _mm512_castps_pd (u[q + 1]);
      __m512d t2 = _mm512_castps_pd (u[q + 2]), t3 = _mm512_castps_pd (u[q + 3]);
      w[q] = _mm512_castpd_ps (_mm512_unpacklo_pd (t0, t2));
      w[q + 1] = _mm512_castpd_ps (_mm512_unpackhi_pd (t0, t2));
      w[q + 2] = _mm512_castpd_ps (_mm512_unpacklo_pd (t1, t3));
      w[q + 3] = _mm512_castpd_ps (_mm512_unpackhi_pd (t1, t3));
    }
  for (int m = 0; m < 4; m++)
    {
      __m512 a0 = _mm512_shuffle_f32x4 (w[m], w[4 + m], 0x88), a1 = _mm512_shuffle_f32x4 (w[m], w[4 + m], 0xdd);
      __m512 b0 = _mm512_shuffle_f32x4 (w[8 + m], w[12 + m], 0x88);
      __m512 b1 = _mm512_shuffle_f32x4 (w[8 + m], w[12 + m], 0xdd);
      o[m] = _mm512_shuffle_f32x4 (a0, b0, 0x88);
      o[4 + m] = _mm512_shuffle_f32x4 (a1, b1, 0x88);
      o[8 + m] = _mm512_shuffle_f32x4 (a0, b0, 0xdd);
      o[12 + m] = _mm512_shuffle_f32x4 (a1, b1, 0xdd);
    }
}

/* t (16 rows, stride ldt) = s x^T for 16 rows of x (stride ld), 16 columns each; every store a whole cache
 * line. */
GAF_TARGET_512 static void
transpose16 (float *t, gsize ldt, const float *x, gsize ld, float s)
{
  __m512 r[16], o[16];
  const __m512 sv = _mm512_set1_ps (s);

  for (int i = 0; i < 16; i++)
    r[i] = _mm512_loadu_ps (x + (gsize) i * ld);
  transpose16_regs (o, r);
  for (int j = 0; j < 16; j++)
    _mm512_storeu_ps (t + (gsize) j * ldt, _mm512_mul_ps (sv, o[j]));
}

/* ---- bf16 products (AVX-512 BF16): vdpbf16ps multiplies pairs of bf16 and adds both products to a float
 * lane, twice the float FMA's flops per instruction. B is packed once into pairs along k; A is rounded to
 * bf16 a block of MR rows at a time, in a buffer the block's pass over all of B's columns reads. */

#define GAF_TARGET_BF16 __attribute__ ((target ("avx512f,avx512bw,avx512bf16,avx2,fma")))
/* Pairs of k per pass over a block of rows (A's block of 8 rows: 8 KB). */
#define BF16_KC 256

/* The lower n bits of a 16-lane mask, n in [0, 16]. */
static inline __mmask16
lanes (int n)
{
  return n >= 16 ? (__mmask16) 0xffff : (__mmask16) ((1u << MAX (n, 0)) - 1u);
}

/* 32 bf16: floats x[0 .. n) then x[16 .. 16 + n - 16), the rest zero, in order */
static inline __attribute__ ((always_inline)) GAF_TARGET_BF16 __m512i
bf16_load32 (const float *x, int n)
{
  __m512 lo = _mm512_maskz_loadu_ps (lanes (n), x), hi = _mm512_maskz_loadu_ps (lanes (n - 16), x + 16);
  return (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
}

static inline __attribute__ ((always_inline)) GAF_TARGET_BF16 void
block_bf16 (const int mr, const int nv, int kp, const guint32 *ap, const guint32 *bp, gsize ldbp, float *c, int ldc,
            gboolean accumulate, __mmask16 m0, __mmask16 m1)
{
  __m512 acc[8][2];

#pragma GCC unroll 8
  for (int i = 0; i < mr; i++)
    {
      acc[i][0] = accumulate ? _mm512_maskz_loadu_ps (m0, c + (gsize) i * ldc) : _mm512_setzero_ps ();
      if (nv > 1)
        acc[i][1] = accumulate ? _mm512_maskz_loadu_ps (m1, c + (gsize) i * ldc + 16) : _mm512_setzero_ps ();
    }
  for (int l = 0; l < kp; l++)
    {
      __m512bh b0 = (__m512bh) _mm512_loadu_si512 (bp + (gsize) l * ldbp);
      __m512bh b1 = nv > 1 ? (__m512bh) _mm512_loadu_si512 (bp + (gsize) l * ldbp + 16) : b0;
#pragma GCC unroll 8
      for (int i = 0; i < mr; i++)
        {
          __m512bh ai = (__m512bh) _mm512_set1_epi32 ((int) ap[(gsize) i * BF16_KC + l]);
          acc[i][0] = _mm512_dpbf16_ps (acc[i][0], ai, b0);
          if (nv > 1)
            acc[i][1] = _mm512_dpbf16_ps (acc[i][1], ai, b1);
        }
    }
#pragma GCC unroll 8
  for (int i = 0; i < mr; i++)
    {
      _mm512_mask_storeu_ps (c + (gsize) i * ldc, m0, acc[i][0]);
      if (nv > 1)
        _mm512_mask_storeu_ps (c + (gsize) i * ldc + 16, m1, acc[i][1]);
    }
}

#define ROWS_BF16(NV) DISPATCH_MR (mr, block_bf16, NV, kp, abuf, bj, np, cij, ldc, acc, m0, m1)

GAF_TARGET_BF16 static void
gemm_bf16_512 (int m, int n, int k, const float *a, gsize lda, const guint32 *bp, float *c, int ldc,
               gboolean accumulate)
{
  guint32 abuf[8 * BF16_KC] __attribute__ ((aligned (64)));
  int np = (n + 15) & ~15, kpairs = (k + 1) / 2;

  for (int i = 0; i < m; i += 8)
    {
      int mr = MIN (8, m - i);
      for (int p0 = 0; p0 < kpairs; p0 += BF16_KC)
        {
          int kp = MIN (BF16_KC, kpairs - p0), cnt = MIN (2 * kp, k - 2 * p0);
          gboolean acc = accumulate || p0 > 0;
          /* the block's rows of A rounded to bf16, in pairs (an odd k's last pair ends in a zero) */
          for (int r = 0; r < mr; r++)
            {
              const float *src = a + (gsize) (i + r) * lda + 2 * (gsize) p0;
              guint32 *dst = abuf + (gsize) r * BF16_KC;
              for (int q = 0; q < cnt; q += 32)
                _mm512_store_si512 (dst + q / 2, bf16_load32 (src + q, cnt - q));
            }
          for (int j = 0; j < n; j += 32)
            {
              const guint32 *bj = bp + (gsize) p0 * np + j;
              float *cij = c + (gsize) i * ldc + j;
              __mmask16 m0 = lanes (n - j), m1 = lanes (n - j - 16);
              if (n - j > 16)
                ROWS_BF16 (2)
              else
                ROWS_BF16 (1)
            }
        }
    }
}

/* Pairs (b[2l][j], b[2l + 1][j]) of B (k, n), rows 2l and 2l + 1 rounded and interleaved 16 columns at a time. */
GAF_TARGET_BF16 static void
pack_bf16_512 (guint32 *bp, const float *b, gsize ldb, int k, int n)
{
  int np = (n + 15) & ~15;
  const __m512i idx = _mm512_set_epi16 (31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8,
                                        23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);

  for (int l = 0; 2 * l < k; l++)
    {
      const float *r0 = b + (gsize) 2 * l * ldb, *r1 = r0 + ldb;
      gboolean odd = 2 * l + 1 >= k;
      for (int j = 0; j < np; j += 16)
        {
          __m512 lo = _mm512_maskz_loadu_ps (lanes (n - j), r0 + j);
          __m512 hi = odd ? _mm512_setzero_ps () : _mm512_maskz_loadu_ps (lanes (n - j), r1 + j);
          __m512i v = (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
          _mm512_storeu_si512 (bp + (gsize) l * np + j, _mm512_permutexvar_epi16 (idx, v));
        }
    }
}

/* The same pairs from bt = B^T (n, k): a pair is two neighbours in a row of bt, so 16 rows of bt, rounded
 * 32 values each, are 16 x 16 pairs that one register transpose puts in place. */
GAF_TARGET_BF16 static void
pack_t_bf16_512 (guint32 *bp, const float *bt, gsize ldbt, int k, int n)
{
  int np = (n + 15) & ~15, kpairs = (k + 1) / 2;

  for (int j0 = 0; j0 < np; j0 += 16)
    for (int l0 = 0; l0 < kpairs; l0 += 16)
      {
        __m512 r[16], o[16];
        for (int i = 0; i < 16; i++)
          r[i] = j0 + i < n ? (__m512) bf16_load32 (bt + (gsize) (j0 + i) * ldbt + 2 * l0, k - 2 * l0)
                            : _mm512_setzero_ps ();
        transpose16_regs (o, r);
        for (int l = 0; l < MIN (16, kpairs - l0); l++)
          _mm512_storeu_ps ((float *) (bp + (gsize) (l0 + l) * np + j0), o[l]);
      }
}

#endif /* GAF_GEMM_X86 */

typedef struct {
  const char *name;
  PanelFunc   panel;   /* NULL: OpenBLAS */
  int         rows;    /* of C per register block */
} Kernel;

static const Kernel kernels[] = {
#ifdef GAF_GEMM_X86
  { "avx512", panel512, 8 },
  { "avx2", panel256, 6 },
#endif
  { "blas", NULL, 1 },
};

static gboolean
cpu_has (const char *name)
{
#ifdef GAF_GEMM_X86
  __builtin_cpu_init ();
  if (g_str_equal (name, "avx512"))
    return __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
  if (g_str_equal (name, "avx2"))
    return __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#endif
  return g_str_equal (name, "blas");
}

static const Kernel *current;   /* set once (g_once) or by gaf_gemm_small_use */

static const Kernel *
kernel (void)
{
  static gsize init = 0;

  if (g_once_init_enter (&init))
    {
      for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
        if (cpu_has (kernels[i].name))
          {
            g_atomic_pointer_set (&current, &kernels[i]);
            break;
          }
      g_once_init_leave (&init, 1);
    }
  return g_atomic_pointer_get (&current);
}

gboolean
gaf_gemm_small_available (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
    if (g_str_equal (kernels[i].name, name))
      return cpu_has (name);
  return FALSE;
}

const char *
gaf_gemm_small_kernel (void)
{
  return kernel ()->name;
}

int
gaf_gemm_small_rows (void)
{
  return kernel ()->rows;
}

gboolean
gaf_gemm_small_use (const char *name)
{
  kernel ();
  if (name == NULL)
    {
      for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
        if (cpu_has (kernels[i].name))
          {
            g_atomic_pointer_set (&current, &kernels[i]);
            return TRUE;
          }
    }
  for (guint i = 0; i < G_N_ELEMENTS (kernels); i++)
    if (name != NULL && g_str_equal (kernels[i].name, name) && cpu_has (name))
      {
        g_atomic_pointer_set (&current, &kernels[i]);
        return TRUE;
      }
  return FALSE;
}

/* k per slice of a long product (measured: 256 and 1024 a few % slower) */
#define GEMM_KC 512

/* one product of gaf_gemm_small_batch, without the FLOP count */
static void
gemm_small (const Kernel *kn, int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
            float *c, int ldc, gboolean accumulate)
{
  int n16 = n - n % 16;

  if (k <= 0 || kn->panel == NULL || n16 == 0)
    {
      blas_rest (m, 0, n, k, a, rsa, csa, b, ldb, c, ldc, accumulate);
      return;
    }
  /* A long k (a weight gradient summed over every pixel of a batch) in slices of GEMM_KC: each block of C
   * otherwise streams all k rows of its B panel and A columns from memory again, once per block */
  for (int l0 = 0, kl; l0 < k; l0 += kl)
    {
      kl = k - l0 < 2 * GEMM_KC ? k - l0 : GEMM_KC;
      kn->panel (m, n16, kl, a + (gsize) l0 * csa, rsa, csa, b + (gsize) l0 * ldb, ldb, c, ldc,
                 accumulate || l0 > 0);
    }
  blas_rest (m, n16, n, k, a, rsa, csa, b, ldb, c, ldc, accumulate);
}

void
gaf_gemm_small (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
                float *c, int ldc, gboolean accumulate)
{
  gaf_gemm_small_batch (1, m, n, k, a, 0, rsa, csa, b, 0, ldb, c, 0, ldc, accumulate);
}

void
gaf_gemm_small_batch (int count, int m, int n, int k, const float *a, gsize sa, gsize rsa, gsize csa,
                      const float *b, gsize sb, int ldb, float *c, gsize sc, int ldc, gboolean accumulate)
{
  const Kernel *kn = kernel ();

  if (m <= 0 || n <= 0 || count <= 0)
    return;
  for (int i = 0; i < count; i++)
    gemm_small (kn, m, n, k, a + i * sa, rsa, csa, b + i * sb, ldb, c + i * sc, ldc, accumulate);
  if (k > 0 && kn->panel != NULL)
    gaf_blas_count_flops (2.0 * count * m * (n - n % 16) * k);
}

/* Columns of B per packed panel in gaf_gemm_small_bt: a multiple of both kernels' block widths (32, 16). */
#define BT_PANEL 64

void
gaf_gemm_small_bt (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *bt, int ldbt,
                   float *c, int ldc, gboolean accumulate)
{
  const Kernel *kn = kernel ();
  int n16 = n - n % 16;
  g_autofree float *pack = NULL;

  if (m <= 0 || n <= 0)
    return;
  if (k <= 0 || kn->panel == NULL || n16 == 0)
    {
      blas_rest_bt (m, 0, n, k, a, rsa, csa, bt, ldbt, c, ldc, accumulate);
      return;
    }
  /* B's columns j..j+w are rows of bt: copied once into a (k, w) panel that the kernel reads k times m/8
   * times over, so the copy (k w floats) costs 1/m of the panel's products. */
  pack = g_new (float, (gsize) k * MIN (BT_PANEL, n16));
  for (int j = 0; j < n16; j += BT_PANEL)
    {
      int w = MIN (BT_PANEL, n16 - j);
      /* 16 entries of k at a time: the 16 rows of the panel being written stay in L1 */
      for (int l0 = 0; l0 < k; l0 += 16)
        for (int jj = 0; jj < w; jj++)
          {
            const float *src = bt + (gsize) (j + jj) * ldbt;
            for (int l = l0; l < MIN (l0 + 16, k); l++)
              pack[(gsize) l * w + jj] = src[l];
          }
      kn->panel (m, w, k, a, rsa, csa, pack, w, c + j, ldc, accumulate);
    }
  gaf_blas_count_flops (2.0 * m * n16 * k);
  blas_rest_bt (m, n16, n, k, a, rsa, csa, bt, ldbt, c, ldc, accumulate);
}

void
gaf_transpose (float *t, gsize ldt, const float *x, gsize ld, int rows, int cols, float s)
{
  int r16 = 0, c16 = 0;

#ifdef GAF_GEMM_X86
  if (kernel ()->panel == panel512)
    {
      r16 = rows - rows % 16;
      c16 = cols - cols % 16;
      for (int i0 = 0; i0 < r16; i0 += 16)
        for (int j0 = 0; j0 < c16; j0 += 16)
          transpose16 (t + (gsize) j0 * ldt + i0, ldt, x + (gsize) i0 * ld + j0, ld, s);
    }
#endif
  /* the rest element by element, 16 rows of x at a time (one cache line of each row of t written):
   * rows i >= r16 (all columns), and columns j >= c16 of the rows below r16 */
  for (int i0 = 0; i0 < rows; i0 += 16)
    {
      int i1 = MIN (i0 + 16, rows), j0 = i0 < r16 ? c16 : 0;
      for (int j = j0; j < cols; j++)
        for (int i = i0; i < i1; i++)
          t[(gsize) j * ldt + i] = s * x[(gsize) i * ld + j];
    }
}

/* ---- bf16 ---- */

/* Asked by every bf16 product and packing: the CPU is tested once. */
gboolean
gaf_bf16_available (void)
{
  static gsize answer = 0;   /* 0: not yet; 1: no; 2: yes */

  if (g_once_init_enter (&answer))
    {
      gboolean yes = FALSE;
#ifdef GAF_GEMM_X86
      __builtin_cpu_init ();
      yes = __builtin_cpu_supports ("avx512f") && __builtin_cpu_supports ("avx512bw") &&
            __builtin_cpu_supports ("avx512bf16");
#endif
      g_once_init_leave (&answer, yes ? 2 : 1);
    }
  return answer == 2;
}

gsize
gaf_bf16_packed_len (int k, int n)
{
  g_return_val_if_fail (k >= 0 && n >= 0, 0);
  return (gsize) ((k + 1) / 2) * (gsize) ((n + 15) & ~15);
}

#ifndef GAF_GEMM_X86
/* Without the x86 kernels gaf_bf16_available () is FALSE and the entry points return before these. */
#define pack_bf16_512(bp, b, ld, k, n)        ((void) 0)
#define pack_t_bf16_512(bp, b, ld, k, n)      ((void) 0)
#define gemm_bf16_512(m, n, k, a, lda, bp, c, ldc, acc) ((void) 0)
#endif

void
gaf_bf16_pack (guint32 *bp, const float *b, gsize ldb, int k, int n)
{
  g_return_if_fail (gaf_bf16_available ());
  pack_bf16_512 (bp, b, ldb, k, n);
}

void
gaf_bf16_pack_t (guint32 *bp, const float *bt, gsize ldbt, int k, int n)
{
  g_return_if_fail (gaf_bf16_available ());
  pack_t_bf16_512 (bp, bt, ldbt, k, n);
}

void
gaf_gemm_bf16 (int m, int n, int k, const float *a, gsize lda, const guint32 *bp, float *c, int ldc,
               gboolean accumulate)
{
  g_return_if_fail (gaf_bf16_available ());
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      if (!accumulate)
        for (int i = 0; i < m; i++)
          memset (c + (gsize) i * ldc, 0, n * sizeof (float));
      return;
    }
  gemm_bf16_512 (m, n, k, a, lda, bp, c, ldc, accumulate);
  gaf_blas_count_flops (2.0 * m * n * k);
}
