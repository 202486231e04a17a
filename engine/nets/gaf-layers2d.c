/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h: the dynamic cost model vectorises the channel loops, and without trapping
 * math the clamps of the exponential become blends (nothing here reads floating-point exceptions).
 * Before the includes, so the inline exponential is compiled the same way. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <math.h>
#include <string.h>

#include "gaf-blas.h"
#include "gaf-gemm-small.h"
#include "gaf-layers.h"
#include "gaf-layers2d.h"
#include "gaf-simd-private.h"

/* AVX-512 kernels of the layers below (GroupNorm + SiLU, the 3x3 convolutions with few channels on one side),
 * taken when the running CPU has AVX-512 F */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(GAF_NO_SIMD_CLONES)
#define GAF_LAYERS512 1
#include <immintrin.h>

static gboolean
have_avx512 (void)
{
  static int have = -1;

  if (have < 0)
    {
      __builtin_cpu_init ();
      have = __builtin_cpu_supports ("avx512f") ? 1 : 0;
    }
  return have == 1;
}
#endif

/* ---- conv2d by im2col ------------------------------------------------------------------------ */

/* Floats of one im2col tile: big enough for efficient products, small enough for the L2 cache. */
#define TILE_FLOATS (96 * 1024)

int
gaf_conv2d_out_size (const GafConv2dShape *s, int size)
{
  return (size + 2 * s->pad - s->kernel) / s->stride + 1;
}

static gboolean
is_pointwise (const GafConv2dShape *s)
{
  return s->kernel == 1 && s->stride == 1 && s->pad == 0;
}

/* Stride 1 with "same" padding: din is a convolution of dout with the flipped kernel. */
static gboolean
is_same (const GafConv2dShape *s)
{
  return s->stride == 1 && 2 * s->pad == s->kernel - 1;
}

static int
tile_rows (gsize row_len, gsize total)
{
  gsize r = MAX (TILE_FLOATS / MAX (row_len, 1), 16);
  return (int) MIN (r, MAX (total, 1));
}

gsize
gaf_conv2d_scratch_len (const GafConv2dShape *s, int height, int width)
{
  gsize kk = (gsize) s->kernel * s->kernel;
  gsize kc_in = kk * s->cin, kc_out = kk * s->cout;
  gsize need;

  if (is_pointwise (s))
    return 0;
  /* Tiles run across the batch, so the bound does not depend on the image size: any batch fits. */
  need = (gsize) tile_rows (kc_in, G_MAXINT) * kc_in;
  if (is_same (s))
    need = MAX (need, (gsize) tile_rows (kc_out, G_MAXINT) * kc_out + kk * s->cin * s->cout);
  return need;
}

/* col (R, K K Cin): rows r0 .. r0 + R - 1 of the (B Ho Wo) output pixels, zeros where a tap is outside. */
static void
im2col_tile (float *col, const float *in, gsize r0, int R, int height, int width, int ho, int wo,
             int cin, const GafConv2dShape *s)
{
  int K = s->kernel;
  gsize kc = (gsize) K * K * cin;
  gsize csz = (gsize) cin * sizeof (float);

  for (int r = 0; r < R; r++)
    {
      gsize idx = r0 + r;
      int b = (int) (idx / ((gsize) ho * wo));
      int rem = (int) (idx % ((gsize) ho * wo));
      int oy = rem / wo, ox = rem % wo;
      int ix0 = ox * s->stride - s->pad;
      float *dst = col + r * kc;

      for (int ky = 0; ky < K; ky++)
        {
          int iy = oy * s->stride - s->pad + ky;
          float *d = dst + (gsize) ky * K * cin;
          if (iy < 0 || iy >= height)
            {
              memset (d, 0, K * csz);
              continue;
            }
          const float *row = in + ((gsize) b * height + iy) * width * cin;
          if (ix0 >= 0 && ix0 + K <= width)
            {
              memcpy (d, row + (gsize) ix0 * cin, K * csz);
              continue;
            }
          for (int kx = 0; kx < K; kx++)
            {
              int ix = ix0 + kx;
              if (ix < 0 || ix >= width)
                memset (d + (gsize) kx * cin, 0, csz);
              else
                memcpy (d + (gsize) kx * cin, row + (gsize) ix * cin, csz);
            }
        }
    }
}

/* din += col2im (dcol) for rows r0 .. r0 + R - 1 (the scatter-add of the general transposed conv). */
static void
col2im_tile (float *din, const float *dcol, gsize r0, int R, int height, int width, int ho, int wo,
             const GafConv2dShape *s)
{
  int K = s->kernel, cin = s->cin;
  gsize kc = (gsize) K * K * cin;

  for (int r = 0; r < R; r++)
    {
      gsize idx = r0 + r;
      int b = (int) (idx / ((gsize) ho * wo));
      int rem = (int) (idx % ((gsize) ho * wo));
      int oy = rem / wo, ox = rem % wo;
      const float *src = dcol + r * kc;

      for (int ky = 0; ky < K; ky++)
        {
          int iy = oy * s->stride - s->pad + ky;
          if (iy < 0 || iy >= height)
            continue;
          for (int kx = 0; kx < K; kx++)
            {
              int ix = ox * s->stride - s->pad + kx;
              if (ix < 0 || ix >= width)
                continue;
              float *restrict d = din + (((gsize) b * height + iy) * width + ix) * cin;
              const float *restrict g = src + ((gsize) ky * K + kx) * cin;
              for (int i = 0; i < cin; i++)
                d[i] += g[i];
            }
        }
    }
}

/* out[r] += bias (shared or per image) + res[r] over the rows of the output (res NULL or not aliasing out). */
static void
epilogue_rows (float *out, const float *bias, gsize bias_stride, const float *res, gsize total, gsize per_image,
               int n)
{
  if (bias == NULL && res == NULL)
    return;
  for (gsize i = 0; i < total; i++)
    {
      float *restrict row = out + i * n;
      const float *restrict bb = bias ? bias + (i / per_image) * bias_stride : NULL;
      const float *restrict rr = res ? res + i * n : NULL;
      if (bb && rr)
        for (int j = 0; j < n; j++)
          row[j] += bb[j] + rr[j];
      else if (bb)
        for (int j = 0; j < n; j++)
          row[j] += bb[j];
      else
        for (int j = 0; j < n; j++)
          row[j] += rr[j];
    }
}

#ifdef GAF_LAYERS512
/* 3x3 stride-1 "same" convolutions with few channels on one side (a UNet's first and last layer: 2 -> 32 and
 * 32 -> 2 channels), computed directly, without im2col: its rows of 9 cin floats (a tap's few channels one
 * memcpy each) and a product with 2 columns cost more than the arithmetic. Each output pixel starts from
 * bias + residual (+ out itself when accumulating) and takes the taps inside the image. */
#define DIRECT_MAX_VECS 8      /* the wide side in 16-float vectors: up to 128 channels */
#define DIRECT_MAX_NARROW 4    /* the narrow side: up to 4 channels */

static gboolean
direct_conv_fits (const GafConv2dShape *s)
{
  if (s->kernel != 3 || s->stride != 1 || s->pad != 1 || !have_avx512 ())
    return FALSE;
  return (s->cin <= DIRECT_MAX_NARROW && s->cout % 16 == 0 && s->cout <= 16 * DIRECT_MAX_VECS) ||
         (s->cout <= DIRECT_MAX_NARROW && s->cin % 16 == 0 && s->cin <= 16 * DIRECT_MAX_VECS);
}

/* The value an output pixel starts from: the bias row (per image or shared), the residual row, the old out. */
static inline float
direct_start (const float *bias, const float *res, const float *out, gboolean add, gsize idx, int o, int cout)
{
  float v = bias != NULL ? bias[o] : 0.0f;

  if (res != NULL)
    v += res[idx * cout + o];
  if (add)
    v += out[idx * cout + o];
  return v;
}

/* One row of taps of a few-input-channel pixel: acc (nv vectors) += the three (or fewer, at the image's sides)
 * input pixels around xc, each input value broadcast times a row of w. */
static inline __attribute__ ((always_inline, target ("avx512f,fma"))) void
direct_narrow_in_row (__m512 *acc, const float *xc, gboolean left, gboolean right, const float *wr, int cin, int nv)
{
  int cout = 16 * nv;

  for (int kx = 0; kx < 3; kx++)
    {
      if ((kx == 0 && !left) || (kx == 2 && !right))
        continue;
      const float *xi = xc + (kx - 1) * cin;   /* formed only for a pixel inside the image */
      const float *wk = wr + (gsize) kx * cin * cout;
      for (int ci = 0; ci < cin; ci++)
        {
          __m512 xv = _mm512_set1_ps (xi[ci]);
          for (int v = 0; v < nv; v++)
            acc[v] = _mm512_fmadd_ps (xv, _mm512_loadu_ps (wk + (gsize) ci * cout + 16 * v), acc[v]);
        }
    }
}

/* few input channels: per pixel, the 16 nv output channels in registers, three sets (one per row of taps, so
 * the chains of dependent FMAs are a third as long), each input value broadcast times a row of w (K K cin,
 * cout) */
static inline __attribute__ ((always_inline, target ("avx512f,fma"))) void
direct_narrow_in_body (float *out, const float *in, const float *w, const float *bias, gsize bias_stride,
                       const float *res, gboolean add, int batch, int height, int width, int cin, int nv)
{
  int cout = 16 * nv;
  gsize rs = (gsize) width * cin;

  for (int b = 0; b < batch; b++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        {
          gsize idx = ((gsize) b * height + y) * width + x;
          const float *bb = bias != NULL ? bias + b * bias_stride : NULL;
          const float *xc = in + idx * cin;
          gboolean left = x > 0, right = x + 1 < width;
          __m512 a0[DIRECT_MAX_VECS], a1[DIRECT_MAX_VECS], a2[DIRECT_MAX_VECS];
          for (int v = 0; v < nv; v++)
            {
              a1[v] = bb != NULL ? _mm512_loadu_ps (bb + 16 * v) : _mm512_setzero_ps ();
              if (res != NULL)
                a1[v] = _mm512_add_ps (a1[v], _mm512_loadu_ps (res + idx * cout + 16 * v));
              if (add)
                a1[v] = _mm512_add_ps (a1[v], _mm512_loadu_ps (out + idx * cout + 16 * v));
              a0[v] = a2[v] = _mm512_setzero_ps ();
            }
          if (y > 0)
            direct_narrow_in_row (a0, xc - rs, left, right, w, cin, nv);
          direct_narrow_in_row (a1, xc, left, right, w + (gsize) 3 * cin * cout, cin, nv);
          if (y + 1 < height)
            direct_narrow_in_row (a2, xc + rs, left, right, w + (gsize) 6 * cin * cout, cin, nv);
          for (int v = 0; v < nv; v++)
            _mm512_storeu_ps (out + idx * cout + 16 * v, _mm512_add_ps (_mm512_add_ps (a0[v], a1[v]), a2[v]));
        }
}

/* few output channels: per pixel, the sums over the 16 nv input channels of each output channel in two
 * accumulators (even and odd input vectors; cout a constant, so they stay in registers), added across at the
 * end; wt (cout, 9, cin) is w transposed. */
static inline __attribute__ ((always_inline, target ("avx512f,fma"))) void
direct_narrow_out_body (float *out, const float *in, const float *wt, const float *bias, gsize bias_stride,
                        const float *res, gboolean add, int batch, int height, int width, int nv, int cout)
{
  int cin = 16 * nv;

  for (int b = 0; b < batch; b++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        {
          gsize idx = ((gsize) b * height + y) * width + x;
          const float *bb = bias != NULL ? bias + b * bias_stride : NULL;
          __m512 e[DIRECT_MAX_NARROW], d[DIRECT_MAX_NARROW];
          for (int o = 0; o < cout; o++)
            e[o] = d[o] = _mm512_setzero_ps ();
          for (int ky = 0; ky < 3; ky++)
            {
              int iy = y + ky - 1;
              if (iy < 0 || iy >= height)
                continue;
              for (int kx = 0; kx < 3; kx++)
                {
                  int ix = x + kx - 1;
                  if (ix < 0 || ix >= width)
                    continue;
                  const float *xi = in + (((gsize) b * height + iy) * width + ix) * cin;
                  const float *wr = wt + (gsize) (ky * 3 + kx) * cin;
                  for (int v = 0; v < nv; v += 2)
                    {
                      __m512 x0 = _mm512_loadu_ps (xi + 16 * v);
                      for (int o = 0; o < cout; o++)
                        e[o] = _mm512_fmadd_ps (x0, _mm512_loadu_ps (wr + (gsize) o * 9 * cin + 16 * v), e[o]);
                      if (v + 1 < nv)
                        {
                          __m512 x1 = _mm512_loadu_ps (xi + 16 * v + 16);
                          for (int o = 0; o < cout; o++)
                            d[o] = _mm512_fmadd_ps (x1, _mm512_loadu_ps (wr + (gsize) o * 9 * cin + 16 * v + 16),
                                                    d[o]);
                        }
                    }
                }
            }
          for (int o = 0; o < cout; o++)
            out[idx * cout + o] = direct_start (bb, res, out, add, idx, o, cout) +
                                  _mm512_reduce_add_ps (_mm512_add_ps (e[o], d[o]));
        }
}

__attribute__ ((target ("avx512f,fma")))
static void
direct_narrow_in (float *out, const float *in, const float *w, const float *bias, gsize bias_stride,
                  const float *res, gboolean add, int batch, int height, int width, int cin, int cout)
{
  switch (cout / 16)
    {
    case 2: direct_narrow_in_body (out, in, w, bias, bias_stride, res, add, batch, height, width, cin, 2); break;
    case 4: direct_narrow_in_body (out, in, w, bias, bias_stride, res, add, batch, height, width, cin, 4); break;
    default: direct_narrow_in_body (out, in, w, bias, bias_stride, res, add, batch, height, width, cin, cout / 16);
      break;
    }
}

__attribute__ ((target ("avx512f,fma")))
static void
direct_narrow_out (float *out, const float *in, const float *w, const float *bias, gsize bias_stride,
                   const float *res, gboolean add, int batch, int height, int width, int cin, int cout)
{
  float wt[DIRECT_MAX_NARROW * 9 * 16 * DIRECT_MAX_VECS];

  for (int o = 0; o < cout; o++)
    for (int t = 0; t < 9; t++)
      for (int i = 0; i < cin; i++)
        wt[((gsize) o * 9 + t) * cin + i] = w[((gsize) t * cin + i) * cout + o];
  switch (cout)
    {
    case 1: direct_narrow_out_body (out, in, wt, bias, bias_stride, res, add, batch, height, width, cin / 16, 1); break;
    case 2: direct_narrow_out_body (out, in, wt, bias, bias_stride, res, add, batch, height, width, cin / 16, 2); break;
    case 3: direct_narrow_out_body (out, in, wt, bias, bias_stride, res, add, batch, height, width, cin / 16, 3); break;
    default: direct_narrow_out_body (out, in, wt, bias, bias_stride, res, add, batch, height, width, cin / 16, 4);
      break;
    }
}
#endif

void
gaf_conv2d_forward_ex (float *out, const float *in, const float *w, const float *bias, gsize bias_stride,
                       const float *residual, int batch, int height, int width, const GafConv2dShape *s,
                       float *scratch)
{
  int ho = gaf_conv2d_out_size (s, height), wo = gaf_conv2d_out_size (s, width);
  gsize total = (gsize) batch * ho * wo;
  gsize kc = (gsize) s->kernel * s->kernel * s->cin;
  /* a residual that is the output itself is added by the products (beta = 1) */
  float beta = residual == out ? 1.0f : 0.0f;
  const float *res = residual == out ? NULL : residual;

  g_assert (ho > 0 && wo > 0);
#ifdef GAF_LAYERS512
  if (direct_conv_fits (s))
    {
      /* the multiply-adds of the taps inside the image (an image's rows see 3 h - 2 tap rows in all, its
       * columns 3 w - 2), 2 flops each as the products count */
      gaf_blas_count_flops (2.0 * s->cin * s->cout * batch * (3.0 * height - 2.0) * (3.0 * width - 2.0));
      if (s->cin <= DIRECT_MAX_NARROW)
        direct_narrow_in (out, in, w, bias, bias_stride, res, beta != 0.0f, batch, height, width, s->cin, s->cout);
      else
        direct_narrow_out (out, in, w, bias, bias_stride, res, beta != 0.0f, batch, height, width, s->cin, s->cout);
      return;
    }
#endif
  if (is_pointwise (s))
    gaf_sgemm (FALSE, FALSE, (int) total, s->cout, s->cin, 1.0f, in, s->cin, w, s->cout, beta, out, s->cout);
  else
    {
      int R = tile_rows (kc, total);
      for (gsize r0 = 0; r0 < total; r0 += R)
        {
          int rows = (int) MIN ((gsize) R, total - r0);
          im2col_tile (scratch, in, r0, rows, height, width, ho, wo, s->cin, s);
          gaf_gemm_small (rows, s->cout, (int) kc, scratch, kc, 1, w, s->cout, out + r0 * s->cout, s->cout,
                          beta != 0.0f);
        }
    }
  epilogue_rows (out, bias, bias_stride, res, total, (gsize) ho * wo, s->cout);
}

void
gaf_conv2d_forward (float *out, const float *in, const float *w, const float *bias,
                    int batch, int height, int width, const GafConv2dShape *s, float *scratch)
{
  gaf_conv2d_forward_ex (out, in, w, bias, 0, NULL, batch, height, width, s, scratch);
}

/* wf (K, K, Cout, Cin): wf[ky,kx,o,i] = w[K-1-ky, K-1-kx, i, o]. */
void
gaf_conv2d_flip_kernel (float *wf, const float *w, int K, int cin, int cout)
{
  for (int ky = 0; ky < K; ky++)
    for (int kx = 0; kx < K; kx++)
      {
        const float *src = w + ((gsize) (K - 1 - ky) * K + (K - 1 - kx)) * cin * cout;
        float *dst = wf + ((gsize) ky * K + kx) * cout * cin;
        for (int i = 0; i < cin; i++)
          for (int o = 0; o < cout; o++)
            dst[(gsize) o * cin + i] = src[(gsize) i * cout + o];
      }
}

void
gaf_conv2d_backward (float *din, float *dw, float *dbias, const float *dout, const float *in,
                     const float *w, int batch, int height, int width, const GafConv2dShape *s,
                     float *scratch)
{
  int ho = gaf_conv2d_out_size (s, height), wo = gaf_conv2d_out_size (s, width);
  gsize total = (gsize) batch * ho * wo;
  int K = s->kernel;
  gsize kc = (gsize) K * K * s->cin;

  gaf_bias_backward (dbias, dout, (int) total, s->cout);
  if (is_pointwise (s))
    {
      if (dw != NULL)
        gaf_sgemm (TRUE, FALSE, s->cin, s->cout, (int) total, 1.0f, in, s->cin, dout, s->cout, 1.0f, dw, s->cout);
      if (din != NULL)
        gaf_sgemm (FALSE, TRUE, (int) total, s->cin, s->cout, 1.0f, dout, s->cout, w, s->cout, 1.0f, din, s->cin);
      return;
    }

  if (dw != NULL)
    {
      int R = tile_rows (kc, total);
      for (gsize r0 = 0; r0 < total; r0 += R)
        {
          int rows = (int) MIN ((gsize) R, total - r0);
          im2col_tile (scratch, in, r0, rows, height, width, ho, wo, s->cin, s);
          /* dw (K K Cin, Cout) += col^T (K K Cin, rows) dout (rows, Cout) */
          gaf_gemm_small ((int) kc, s->cout, rows, scratch, 1, kc, dout + r0 * s->cout, s->cout, dw, s->cout, TRUE);
        }
    }
  if (din == NULL)
    return;

  if (is_same (s))
    {
      /* din = conv(dout, flipped kernel): gather, no scatter; each tile writes its own rows of din. */
      GafConv2dShape t = { s->cout, s->cin, K, 1, s->pad };
      gsize kco = (gsize) K * K * s->cout;
      float *wf = scratch, *col = scratch + (gsize) K * K * s->cin * s->cout;
      int R = tile_rows (kco, (gsize) batch * height * width);

      gaf_conv2d_flip_kernel (wf, w, K, s->cin, s->cout);
      total = (gsize) batch * height * width;
      for (gsize r0 = 0; r0 < total; r0 += R)
        {
          int rows = (int) MIN ((gsize) R, total - r0);
          im2col_tile (col, dout, r0, rows, height, width, height, width, s->cout, &t);
          gaf_gemm_small (rows, s->cin, (int) kco, col, kco, 1, wf, s->cin, din + r0 * s->cin, s->cin, TRUE);
        }
      return;
    }

  /* General case (strided): dcol = dout w^T per tile, then scatter-add. */
  {
    int R = tile_rows (kc, total);
    for (gsize r0 = 0; r0 < total; r0 += R)
      {
        int rows = (int) MIN ((gsize) R, total - r0);
        gaf_gemm_small_bt (rows, (int) kc, s->cout, dout + r0 * s->cout, s->cout, 1, w, s->cout, scratch, (int) kc,
                           FALSE);
        col2im_tile (din, scratch, r0, rows, height, width, ho, wo, s);
      }
  }
}

void
gaf_conv2d_forward_naive (float *out, const float *in, const float *w, const float *bias,
                          int batch, int height, int width, const GafConv2dShape *s)
{
  int ho = gaf_conv2d_out_size (s, height), wo = gaf_conv2d_out_size (s, width), K = s->kernel;

  for (int b = 0; b < batch; b++)
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++)
        for (int o = 0; o < s->cout; o++)
          {
            double acc = bias ? bias[o] : 0.0;
            for (int ky = 0; ky < K; ky++)
              for (int kx = 0; kx < K; kx++)
                {
                  int iy = y * s->stride - s->pad + ky, ix = x * s->stride - s->pad + kx;
                  if (iy < 0 || iy >= height || ix < 0 || ix >= width)
                    continue;
                  for (int i = 0; i < s->cin; i++)
                    acc += (double) w[(((gsize) ky * K + kx) * s->cin + i) * s->cout + o] *
                           in[(((gsize) b * height + iy) * width + ix) * s->cin + i];
                }
            out[(((gsize) b * ho + y) * wo + x) * s->cout + o] = (float) acc;
          }
}

void
gaf_conv2d_backward_naive (float *din, float *dw, float *dbias, const float *dout, const float *in,
                           const float *w, int batch, int height, int width, const GafConv2dShape *s)
{
  int ho = gaf_conv2d_out_size (s, height), wo = gaf_conv2d_out_size (s, width), K = s->kernel;

  for (int b = 0; b < batch; b++)
    for (int y = 0; y < ho; y++)
      for (int x = 0; x < wo; x++)
        for (int o = 0; o < s->cout; o++)
          {
            float g = dout[(((gsize) b * ho + y) * wo + x) * s->cout + o];
            if (dbias != NULL)
              dbias[o] += g;
            for (int ky = 0; ky < K; ky++)
              for (int kx = 0; kx < K; kx++)
                {
                  int iy = y * s->stride - s->pad + ky, ix = x * s->stride - s->pad + kx;
                  if (iy < 0 || iy >= height || ix < 0 || ix >= width)
                    continue;
                  for (int i = 0; i < s->cin; i++)
                    {
                      gsize wi = (((gsize) ky * K + kx) * s->cin + i) * s->cout + o;
                      gsize xi = (((gsize) b * height + iy) * width + ix) * s->cin + i;
                      if (dw != NULL)
                        dw[wi] += g * in[xi];
                      if (din != NULL)
                        din[xi] += g * w[wi];
                    }
                }
          }
}

/* ---- GroupNorm ------------------------------------------------------------------------------- */

int
gaf_groupnorm_groups_max (int channels, int max_groups)
{
  for (int g = MIN (max_groups, channels); g > 1; g--)
    if (channels % g == 0)
      return g;
  return 1;
}

int
gaf_groupnorm_groups (int channels)
{
  return gaf_groupnorm_groups_max (channels, 32);
}

/* Per-channel sums of x and x^2 over the n pixels of one sample, in double. */
GAF_SIMD_CLONES
static void
channel_moments (double *restrict s1, double *restrict s2, const float *restrict x, int n, int c)
{
  for (int j = 0; j < c; j++)
    s1[j] = s2[j] = 0.0;
  for (int p = 0; p < n; p++)
    {
      const float *restrict row = x + (gsize) p * c;
      for (int j = 0; j < c; j++)
        {
          double v = row[j];
          s1[j] += v;
          s2[j] += v * v;
        }
    }
}

/* Per-channel sums of d and d x over one sample, in double. */
GAF_SIMD_CLONES
static void
channel_grad_moments (double *restrict s1, double *restrict s2, const float *restrict d,
                      const float *restrict x, int n, int c)
{
  for (int j = 0; j < c; j++)
    s1[j] = s2[j] = 0.0;
  for (int p = 0; p < n; p++)
    {
      const float *restrict dr = d + (gsize) p * c;
      const float *restrict xr = x + (gsize) p * c;
      for (int j = 0; j < c; j++)
        {
          s1[j] += dr[j];
          s2[j] += (double) dr[j] * xr[j];
        }
    }
}

/* Group statistics of one sample -> per-channel scale and shift, y = x scale + shift. */
static void
group_affine (float *scale, float *shift, float *mean, float *rstd, const double *s1, const double *s2,
              const float *g, const float *b, int n, int c, int groups)
{
  int cg = c / groups;
  double count = (double) n * cg;

  for (int k = 0; k < groups; k++)
    {
      double m1 = 0.0, m2 = 0.0;
      for (int j = k * cg; j < (k + 1) * cg; j++)
        {
          m1 += s1[j];
          m2 += s2[j];
        }
      double mu = m1 / count;
      double var = MAX (m2 / count - mu * mu, 0.0);
      float rs = (float) (1.0 / sqrt (var + GAF_GROUPNORM_EPS));
      if (mean != NULL)
        mean[k] = (float) mu;
      if (rstd != NULL)
        rstd[k] = rs;
      for (int j = k * cg; j < (k + 1) * cg; j++)
        {
          scale[j] = rs * g[j];
          shift[j] = b[j] - (float) mu * rs * g[j];
        }
    }
}

#ifdef GAF_LAYERS512

/* 1 / (1 + e^-v) for 16 values. e^-w = 2^(k / 16) e^-u with w = v clamped to [-80, 87] (NaN becoming -80 so
 * that the caller's v * s stays NaN), k / 16 = -w log2(e) rounded to a sixteenth by vroundscaleps, u = w + (k /
 * 16) ln 2 in two Cody-Waite steps (|u| <= ln 2 / 32); 2^(k / 16) is a table of the sixteen 2^(j / 16) indexed by
 * the low four bits of k (vpermps) times 2^floor(k / 16) (vscalefps floors), and e^-u the cubic
 * 1 - u + u^2 / 2 - u^3 / 6 (error below 1e-8 on that interval). The reciprocal from vrcp14ps (14 bits) and one
 * Newton step. SiLU from this is within 3e-7 of the exact value relative to it: 19 instructions per 16 values
 * where the range reduction to [-ln 2 / 2, ln 2 / 2] and a quintic took 23 (0.92 against 1.1 cycles a value). */
static inline __attribute__ ((always_inline, target ("avx512f,fma"))) __m512
sigmoid512 (__m512 v)
{
  const __m512 lo = _mm512_set1_ps (-80.0f), hi = _mm512_set1_ps (87.0f), nlog2e = _mm512_set1_ps (-1.44269504088896341f);
  const __m512 c1 = _mm512_set1_ps (0.693359375f), c2 = _mm512_set1_ps (-2.12194440e-4f);
  const __m512 sixteen = _mm512_set1_ps (16.0f);
  const __m512 q3 = _mm512_set1_ps (-1.0f / 6.0f), q2 = _mm512_set1_ps (0.5f), m1 = _mm512_set1_ps (-1.0f);
  const __m512 one = _mm512_set1_ps (1.0f), two = _mm512_set1_ps (2.0f);
  const __m512 pow2 = _mm512_setr_ps (1.0f, 1.04427378242741384f, 1.09050773266525766f, 1.13878863475669165f,
                                      1.18920711500272107f, 1.24185781207348405f, 1.29683955465100967f,
                                      1.35425554693689273f, 1.41421356237309505f, 1.47682614593949931f,
                                      1.54221082540794082f, 1.61049033194925431f, 1.68179283050742909f,
                                      1.75625216037329948f, 1.83400808640934246f, 1.91520656139714729f);
  __m512 w = _mm512_min_ps (_mm512_max_ps (v, lo), hi);
  __m512 k = _mm512_roundscale_ps (_mm512_mul_ps (w, nlog2e), (4 << 4) | _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 u = _mm512_fmadd_ps (k, c1, w);
  u = _mm512_fmadd_ps (k, c2, u);
  __m512 q = _mm512_fmadd_ps (q3, u, q2);
  q = _mm512_fmadd_ps (q, u, m1);
  q = _mm512_fmadd_ps (q, u, one);
  __m512 t = _mm512_permutexvar_ps (_mm512_cvtps_epi32 (_mm512_mul_ps (k, sixteen)), pow2);
  /* d = 1 + e^-w, s = 1 / d */
  __m512 d = _mm512_add_ps (_mm512_scalef_ps (_mm512_mul_ps (q, t), k), one);
  __m512 s = _mm512_rcp14_ps (d);
  return _mm512_mul_ps (s, _mm512_fnmadd_ps (d, s, two));
}

/* affine_rows with SiLU for CPUs with AVX-512 and c a multiple of 16 (the loop that is most of GroupNorm +
 * SiLU forward) */
__attribute__ ((target ("avx512f,fma")))
static void
affine_silu_rows512 (float *restrict out, gsize ys, const float *restrict in, gsize xs,
                     const float *restrict scale, const float *restrict shift, int n, int c)
{
  for (int p = 0; p < n; p++)
    {
      const float *x = in + (gsize) p * xs;
      float *y = out + (gsize) p * ys;
      for (int j = 0; j < c; j += 16)
        {
          __m512 v = _mm512_fmadd_ps (_mm512_loadu_ps (x + j), _mm512_loadu_ps (scale + j), _mm512_loadu_ps (shift + j));
          _mm512_storeu_ps (y + j, _mm512_mul_ps (v, sigmoid512 (v)));
        }
    }
}

/* silu_grad_moments for CPUs with AVX-512 and c a multiple of 16: the sigmoid as in the forward, and the
 * channel sums in registers, floats over blocks of SILU_SUM_ROWS rows (16 channels at a time), doubles across
 * blocks. */
#define SILU_SUM_ROWS 32

__attribute__ ((target ("avx512f,fma")))
static void
silu_grad_moments512 (float *restrict da, gsize ldd, double *restrict s1, double *restrict s2,
                      const float *restrict x, gsize ldx, const float *restrict scale, const float *restrict shift,
                      int n, int c)
{
  const __m512 one = _mm512_set1_ps (1.0f);

  for (int j = 0; j < c; j++)
    s1[j] = s2[j] = 0.0;
  for (int p0 = 0; p0 < n; p0 += SILU_SUM_ROWS)
    {
      int p1 = MIN (n, p0 + SILU_SUM_ROWS);
      for (int j = 0; j < c; j += 16)
        {
          __m512 sc = _mm512_loadu_ps (scale + j), sh = _mm512_loadu_ps (shift + j);
          __m512 a1 = _mm512_setzero_ps (), a2 = _mm512_setzero_ps ();
          float t1[16], t2[16];
          for (int p = p0; p < p1; p++)
            {
              float *d = da + (gsize) p * ldd + j;
              __m512 xv = _mm512_loadu_ps (x + (gsize) p * ldx + j);
              __m512 y = _mm512_fmadd_ps (xv, sc, sh);
              __m512 sg = sigmoid512 (y);
              /* d silu / dy = s (1 + y (1 - s)) */
              __m512 dd = _mm512_mul_ps (_mm512_loadu_ps (d), sg);
              __m512 gy = _mm512_fmadd_ps (dd, _mm512_mul_ps (y, _mm512_sub_ps (one, sg)), dd);
              _mm512_storeu_ps (d, gy);
              a1 = _mm512_add_ps (a1, gy);
              a2 = _mm512_fmadd_ps (gy, xv, a2);
            }
          _mm512_storeu_ps (t1, a1);
          _mm512_storeu_ps (t2, a2);
          for (int l = 0; l < 16; l++)
            {
              s1[j + l] += t1[l];
              s2[j + l] += t2[l];
            }
        }
    }
}
#endif

/* y[p, 0 .. c) = f (x[p, 0 .. c) scale + shift) for the n rows of x (row stride xs) into y (row stride ys). */
GAF_SIMD_CLONES
static void
affine_rows_generic (float *restrict out, gsize ys, const float *restrict in, gsize xs, const float *restrict scale,
             const float *restrict shift, int n, int c, gboolean silu)
{
  for (int p = 0; p < n; p++)
    {
      const float *restrict x = in + (gsize) p * xs;
      float *restrict y = out + (gsize) p * ys;
      if (silu)
        for (int j = 0; j < c; j++)
          {
            float v = x[j] * scale[j] + shift[j];
            y[j] = v * gaf_fast_sigmoidf (v);
          }
      else
        for (int j = 0; j < c; j++)
          y[j] = x[j] * scale[j] + shift[j];
    }
}

static void
affine_rows (float *restrict out, gsize ys, const float *restrict in, gsize xs, const float *restrict scale,
             const float *restrict shift, int n, int c, gboolean silu)
{
#ifdef GAF_LAYERS512
  if (silu && c % 16 == 0 && have_avx512 ())
    {
      affine_silu_rows512 (out, ys, in, xs, scale, shift, n, c);
      return;
    }
#endif
  affine_rows_generic (out, ys, in, xs, scale, shift, n, c, silu);
}

void
gaf_channel_sums (double *sums, const float *in, int batch, int n, int c)
{
  for (int bi = 0; bi < batch; bi++)
    channel_moments (sums + (gsize) bi * 2 * c, sums + (gsize) bi * 2 * c + c, in + (gsize) bi * n * c, n, c);
}

/* The one GroupNorm forward: the input [a | b] of ca + cb channels (b may be NULL), its per-channel sums
 * given or formed here, the affine and optional SiLU in one pass over the input. */
static void
groupnorm_forward2 (float *out, float *mean, float *rstd, const float *a, int ca, const float *bsrc, int cb,
                    const double *sums, const float *g, const float *b, int batch, int n, int groups, gboolean silu)
{
  int c;
  /* own: the sums of one sample (2 c), then those of b alone (2 cb) */
  double *own;
  float *scale, *shift;

  cb = bsrc != NULL ? cb : 0;
  c = ca + cb;
  own = sums == NULL ? g_new (double, 2 * (gsize) c + 2 * (gsize) cb) : NULL;
  scale = g_new (float, 2 * (gsize) c);
  shift = scale + c;

  g_assert (groups >= 1 && c % groups == 0);
  for (int bi = 0; bi < batch; bi++)
    {
      const float *xa = a + (gsize) bi * n * ca, *xb = bsrc != NULL ? bsrc + (gsize) bi * n * cb : NULL;
      float *y = out + (gsize) bi * n * c;
      const double *s;
      if (sums != NULL)
        s = sums + (gsize) bi * 2 * c;
      else
        {
          /* the sums of [a | b] are those of a and those of b side by side */
          double *t = own + 2 * c;
          channel_moments (own, own + c, xa, n, ca);
          if (xb != NULL)
            {
              channel_moments (t, t + cb, xb, n, cb);
              memcpy (own + ca, t, cb * sizeof (double));
              memcpy (own + c + ca, t + cb, cb * sizeof (double));
            }
          s = own;
        }
      group_affine (scale, shift, mean ? mean + (gsize) bi * groups : NULL, rstd ? rstd + (gsize) bi * groups : NULL,
                    s, s + c, g, b, n, c, groups);
      affine_rows (y, c, xa, ca, scale, shift, n, ca, silu);
      if (xb != NULL)
        affine_rows (y + ca, c, xb, cb, scale + ca, shift + ca, n, cb, silu);
    }
  g_free (own);
  g_free (scale);
}

void
gaf_groupnorm_forward (float *out, float *mean, float *rstd, const float *in, const float *g,
                       const float *b, int batch, int n, int c, int groups)
{
  groupnorm_forward2 (out, mean, rstd, in, c, NULL, 0, NULL, g, b, batch, n, groups, FALSE);
}

void
gaf_groupnorm_silu_forward (float *out, float *mean, float *rstd, const float *in, const float *g,
                            const float *b, int batch, int n, int c, int groups)
{
  groupnorm_forward2 (out, mean, rstd, in, c, NULL, 0, NULL, g, b, batch, n, groups, TRUE);
}

void
gaf_groupnorm_silu_forward_sums (float *out, float *mean, float *rstd, const float *a, int ca, const float *b_in,
                                 int cb, const double *sums, const float *g, const float *b, int batch, int n,
                                 int groups)
{
  groupnorm_forward2 (out, mean, rstd, a, ca, b_in, cb, sums, g, b, batch, n, groups, TRUE);
}

/* din += dy k1[c] + x k2[c] + k3[c] (add), or din = that */
GAF_SIMD_CLONES
static void
gn_input_grad (float *restrict din, gsize ldi, const float *restrict dy, gsize ldd, const float *restrict x,
               gsize ldx, const float *restrict k1, const float *restrict k2, const float *restrict k3, int n, int c,
               gboolean add)
{
  for (int p = 0; p < n; p++)
    {
      float *restrict d = din + (gsize) p * ldi;
      const float *restrict g = dy + (gsize) p * ldd;
      const float *restrict xr = x + (gsize) p * ldx;
      if (add)
        for (int j = 0; j < c; j++)
          d[j] += g[j] * k1[j] + xr[j] * k2[j] + k3[j];
      else
        for (int j = 0; j < c; j++)
          d[j] = g[j] * k1[j] + xr[j] * k2[j] + k3[j];
    }
}

/* One sample: GroupNorm backward from dy (d GroupNorm-output), with the channel sums s1 = sum dy,
 * s2 = sum dy x already formed. With xhat = (x - mu) rstd and M = pixels x channels of a group:
 * dx = rstd (g dy - sum(g dy)/M - xhat sum(g dy xhat)/M), linear in dy and x with per-channel coefficients. */
static void
gn_backward_sample (float *din, float *dg, float *db, const float *dy, const float *x, const double *s1,
                    const double *s2, const float *mean, const float *rstd, const float *g, int n, int c,
                    int groups, float *k1, float *k2, float *k3)
{
  int cg = c / groups;
  double count = (double) n * cg;

  for (int k = 0; k < groups; k++)
    {
      double mu = mean[k], rs = rstd[k], A = 0.0, Bsum = 0.0;
      for (int j = k * cg; j < (k + 1) * cg; j++)
        {
          double sxh = rs * (s2[j] - mu * s1[j]);   /* sum dy xhat over the channel */
          if (db != NULL)
            db[j] += (float) s1[j];
          if (dg != NULL)
            dg[j] += (float) sxh;
          A += g[j] * s1[j];
          Bsum += g[j] * sxh;
        }
      double c2 = -rs * rs * Bsum / count;
      double c3 = -rs * A / count - mu * c2;
      for (int j = k * cg; j < (k + 1) * cg; j++)
        {
          k1[j] = (float) (rs * g[j]);
          k2[j] = (float) c2;
          k3[j] = (float) c3;
        }
    }
  if (din != NULL)
    gn_input_grad (din, c, dy, c, x, c, k1, k2, k3, n, c, TRUE);
}

void
gaf_groupnorm_backward (float *din, float *dg, float *db, const float *dout, const float *in,
                        const float *mean, const float *rstd, const float *g,
                        int batch, int n, int c, int groups)
{
  double *s1 = g_new (double, 2 * (gsize) c);
  double *s2 = s1 + c;
  float *k = g_new (float, 3 * (gsize) c);

  for (int bi = 0; bi < batch; bi++)
    {
      const float *x = in + (gsize) bi * n * c, *dy = dout + (gsize) bi * n * c;
      channel_grad_moments (s1, s2, dy, x, n, c);
      gn_backward_sample (din ? din + (gsize) bi * n * c : NULL, dg, db, dy, x, s1, s2,
                          mean + (gsize) bi * groups, rstd + (gsize) bi * groups, g, n, c, groups,
                          k, k + c, k + 2 * c);
    }
  g_free (s1);
  g_free (k);
}

/* da <- d y = da silu'(y) with y = x scale + shift recomputed; channel sums of dy and dy x. */
GAF_SIMD_CLONES
static void
silu_grad_moments (float *restrict da, gsize ldd, double *restrict s1, double *restrict s2, const float *restrict x,
                   gsize ldx, const float *restrict scale, const float *restrict shift, int n, int c)
{
  for (int j = 0; j < c; j++)
    s1[j] = s2[j] = 0.0;
  for (int p = 0; p < n; p++)
    {
      float *restrict d = da + (gsize) p * ldd;
      const float *restrict xr = x + (gsize) p * ldx;
      for (int j = 0; j < c; j++)
        {
          float y = xr[j] * scale[j] + shift[j];
          float s = gaf_fast_sigmoidf (y);
          float gy = d[j] * s * (1.0f + y * (1.0f - s));
          d[j] = gy;
          s1[j] += gy;
          s2[j] += (double) gy * xr[j];
        }
    }
}

/* silu_grad_moments over channels [0, c) of rows ldd apart in da, the input's rows ldx apart in x */
static void
silu_grad_cols (float *da, gsize ldd, double *s1, double *s2, const float *x, gsize ldx, const float *scale,
                const float *shift, int n, int c)
{
#ifdef GAF_LAYERS512
  if (c % 16 == 0 && have_avx512 ())
    {
      silu_grad_moments512 (da, ldd, s1, s2, x, ldx, scale, shift, n, c);
      return;
    }
#endif
  silu_grad_moments (da, ldd, s1, s2, x, ldx, scale, shift, n, c);
}

/* GroupNorm + SiLU backward of the input [a | b] (ca + cb channels; b may be NULL with cb = 0) given as two
 * arrays, its input gradient into din_a and din_b (either may be NULL), added to or written */
static void
groupnorm_silu_backward2 (float *din_a, float *din_b, float *dg, float *db, float *dout, const float *a, int ca,
                          const float *b_in, int cb, const float *mean, const float *rstd, const float *g,
                          const float *b, int batch, int n, int groups, gboolean din_add)
{
  int c = ca + cb, cg = c / groups;
  double *s1 = g_new (double, 2 * (gsize) c);
  double *s2 = s1 + c;
  float *k = g_new (float, 5 * (gsize) c);
  float *k1 = k, *k2 = k + c, *k3 = k + 2 * c, *scale = k + 3 * c, *shift = k + 4 * c;

  for (int bi = 0; bi < batch; bi++)
    {
      const float *xa = a + (gsize) bi * n * ca, *xb = b_in != NULL ? b_in + (gsize) bi * n * cb : NULL;
      float *dy = dout + (gsize) bi * n * c;
      const float *mu = mean + (gsize) bi * groups, *rs = rstd + (gsize) bi * groups;
      for (int j = 0; j < c; j++)
        {
          scale[j] = rs[j / cg] * g[j];
          shift[j] = b[j] - mu[j / cg] * rs[j / cg] * g[j];
        }
      silu_grad_cols (dy, c, s1, s2, xa, ca, scale, shift, n, ca);
      if (cb > 0)
        silu_grad_cols (dy + ca, c, s1 + ca, s2 + ca, xb, cb, scale + ca, shift + ca, n, cb);
      /* the coefficients (and dg, db) from the sums; the input gradient per half */
      gn_backward_sample (NULL, dg, db, dy, NULL, s1, s2, mu, rs, g, n, c, groups, k1, k2, k3);
      if (din_a != NULL)
        gn_input_grad (din_a + (gsize) bi * n * ca, ca, dy, c, xa, ca, k1, k2, k3, n, ca, din_add);
      if (din_b != NULL && cb > 0)
        gn_input_grad (din_b + (gsize) bi * n * cb, cb, dy + ca, c, xb, cb, k1 + ca, k2 + ca, k3 + ca, n, cb,
                       din_add);
    }
  g_free (s1);
  g_free (k);
}

void
gaf_groupnorm_silu_backward_ex (float *din, float *dg, float *db, float *dout, const float *in,
                                const float *mean, const float *rstd, const float *g, const float *b,
                                int batch, int n, int c, int groups, gboolean din_add)
{
  groupnorm_silu_backward2 (din, NULL, dg, db, dout, in, c, NULL, 0, mean, rstd, g, b, batch, n, groups, din_add);
}

void
gaf_groupnorm_silu_backward_split (float *din_a, float *din_b, float *dg, float *db, float *dout, const float *a,
                                   int ca, const float *b_in, int cb, const float *mean, const float *rstd,
                                   const float *g, const float *b, int batch, int n, int groups)
{
  groupnorm_silu_backward2 (din_a, din_b, dg, db, dout, a, ca, b_in, cb, mean, rstd, g, b, batch, n, groups, TRUE);
}

void
gaf_groupnorm_silu_backward (float *din, float *dg, float *db, float *dout, const float *in,
                             const float *mean, const float *rstd, const float *g, const float *b,
                             int batch, int n, int c, int groups)
{
  gaf_groupnorm_silu_backward_ex (din, dg, db, dout, in, mean, rstd, g, b, batch, n, c, groups, TRUE);
}

/* ---- SiLU ------------------------------------------------------------------------------------ */

GAF_SIMD_CLONES
void
gaf_silu_forward (float *out, const float *in, gsize count)
{
  for (gsize i = 0; i < count; i++)
    {
      float v = in[i];
      out[i] = v * gaf_fast_sigmoidf (v);
    }
}

GAF_SIMD_CLONES
void
gaf_silu_backward (float *din, const float *dout, const float *in, gsize count)
{
  for (gsize i = 0; i < count; i++)
    {
      float s = gaf_fast_sigmoidf (in[i]);
      din[i] += dout[i] * s * (1.0f + in[i] * (1.0f - s));
    }
}

/* ---- upsampling -------------------------------------------------------------------------------- */

void
gaf_upsample2x_forward (float *out, const float *in, int batch, int height, int width, int c)
{
  gsize csz = (gsize) c * sizeof (float);

  for (int b = 0; b < batch; b++)
    for (int y = 0; y < height; y++)
      {
        const float *src = in + ((gsize) b * height + y) * width * c;
        float *row0 = out + ((gsize) b * 2 * height + 2 * y) * 2 * width * c;
        for (int x = 0; x < width; x++)
          {
            memcpy (row0 + (gsize) 2 * x * c, src + (gsize) x * c, csz);
            memcpy (row0 + (gsize) (2 * x + 1) * c, src + (gsize) x * c, csz);
          }
        memcpy (row0 + (gsize) 2 * width * c, row0, 2 * width * csz);
      }
}

void
gaf_upsample2x_backward (float *din, const float *dout, int batch, int height, int width, int c)
{
  for (int b = 0; b < batch; b++)
    for (int y = 0; y < height; y++)
      for (int x = 0; x < width; x++)
        {
          float *restrict d = din + (((gsize) b * height + y) * width + x) * c;
          const float *restrict g0 = dout + (((gsize) b * 2 * height + 2 * y) * 2 * width + 2 * x) * c;
          const float *restrict g1 = g0 + (gsize) 2 * width * c;
          for (int j = 0; j < c; j++)
            d[j] += g0[j] + g0[c + j] + g1[j] + g1[c + j];
        }
}

/* ---- concat ---------------------------------------------------------------------------------- */

void
gaf_concat_forward (float *out, const float *a, int ca, const float *b, int cb, gsize m)
{
  for (gsize i = 0; i < m; i++)
    {
      memcpy (out + i * (ca + cb), a + i * ca, (gsize) ca * sizeof (float));
      memcpy (out + i * (ca + cb) + ca, b + i * cb, (gsize) cb * sizeof (float));
    }
}

void
gaf_concat_backward (float *da, float *db, const float *dout, int ca, int cb, gsize m)
{
  for (gsize i = 0; i < m; i++)
    {
      const float *restrict g = dout + i * (ca + cb);
      if (da != NULL)
        for (int j = 0; j < ca; j++)
          da[i * ca + j] += g[j];
      if (db != NULL)
        for (int j = 0; j < cb; j++)
          db[i * cb + j] += g[ca + j];
    }
}

/* ---- attention ------------------------------------------------------------------------------- */

/* Query rows per tile of the tiled attention: a (R, N) tile of scores stays in L1/L2 for N up to 1024. */
#define ATT_ROWS 32

/* For each row of a (rows, n) block of scores s (already scaled): s <- e^(s - max), inv[i] = 1 / sum of the
 * row, lse[i] (if not NULL) = max + ln sum, the row's log-sum-exp. Max and sum in 16 partial lanes, so the
 * loops vectorise over the row. The normalisation is left to the caller: it scales the (rows, C) output
 * instead of the (rows, N) probabilities. */
GAF_SIMD_CLONES
static void
softmax_rows_block (float *p, float *inv, float *lse, int rows, int n)
{
  for (int i = 0; i < rows; i++)
    {
      float *restrict row = p + (gsize) i * n, mxp[16], part[16] = { 0 }, mx, sum = 0.0f;
      int n16 = n - n % 16, j;

      mx = row[0];
      for (int v = 0; v < 16; v++)
        mxp[v] = mx;
      for (j = 0; j < n16; j += 16)
        for (int v = 0; v < 16; v++)
          mxp[v] = row[j + v] > mxp[v] ? row[j + v] : mxp[v];
      for (; j < n; j++)
        mx = row[j] > mx ? row[j] : mx;
      for (int v = 0; v < 16; v++)
        mx = mxp[v] > mx ? mxp[v] : mx;
      for (j = 0; j < n16; j += 16)
        for (int v = 0; v < 16; v++)
          {
            float e = gaf_fast_expf (row[j + v] - mx);
            row[j + v] = e;
            part[v] += e;
          }
      for (; j < n; j++)
        {
          row[j] = gaf_fast_expf (row[j] - mx);
          sum += row[j];
        }
      for (int v = 0; v < 16; v++)
        sum += part[v];
      inv[i] = 1.0f / sum;
      if (lse != NULL)
        lse[i] = mx + logf (sum);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* softmax_rows_block with AVX-512 (F) intrinsics, for the tiles of attention: e^(s - max) = 2^t with
 * t = (s - max) log2 e split as k + f, k = round (t), |f| <= 1/2, 2^f = 1 + f P(f) (Cephes' exp2f polynomial,
 * relative error about 1e-7) and 2^k applied by vscalefps, which also takes t far below -126 to 0 without
 * clamping. About half the instructions of the generic loop's exponential (gaf_fast_expf); rows of any
 * length, the last part of a row through masked loads and stores. */
__attribute__ ((target ("avx512f,avx2,fma"))) static void
softmax_rows_avx512 (float *p, float *inv, float *lse, int rows, int n)
{
  const __m512 l2e = _mm512_set1_ps (1.44269504088896341f), ninf = _mm512_set1_ps (-INFINITY);
  const __m512 p0 = _mm512_set1_ps (1.535336188319500e-4f), p1 = _mm512_set1_ps (1.339887440266574e-3f);
  const __m512 p2 = _mm512_set1_ps (9.618437357674640e-3f), p3 = _mm512_set1_ps (5.550332471162809e-2f);
  const __m512 p4 = _mm512_set1_ps (2.402264791363012e-1f), p5 = _mm512_set1_ps (6.931472028550421e-1f);
  const __m512 one = _mm512_set1_ps (1.0f);
  __mmask16 tail = (__mmask16) ((1u << (n % 16)) - 1u);
  int n16 = n - n % 16;

  for (int i = 0; i < rows; i++)
    {
      float *row = p + (gsize) i * n, mx, sum;
      __m512 m0 = ninf, m1 = ninf, s0 = _mm512_setzero_ps (), s1 = _mm512_setzero_ps (), off;
      int j = 0;

      for (; j + 32 <= n16; j += 32)
        {
          m0 = _mm512_max_ps (m0, _mm512_loadu_ps (row + j));
          m1 = _mm512_max_ps (m1, _mm512_loadu_ps (row + j + 16));
        }
      if (j < n16)
        m0 = _mm512_max_ps (m0, _mm512_loadu_ps (row + j));
      if (tail)
        m1 = _mm512_max_ps (m1, _mm512_mask_loadu_ps (ninf, tail, row + n16));
      mx = _mm512_reduce_max_ps (_mm512_max_ps (m0, m1));
      off = _mm512_set1_ps (-mx * 1.44269504088896341f);

#define GAF_EXP2_ROW(v, out) G_STMT_START { \
        __m512 t_ = _mm512_fmadd_ps ((v), l2e, off); \
        __m512 k_ = _mm512_roundscale_ps (t_, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); \
        __m512 f_ = _mm512_sub_ps (t_, k_), q_ = p0; \
        q_ = _mm512_fmadd_ps (q_, f_, p1); \
        q_ = _mm512_fmadd_ps (q_, f_, p2); \
        q_ = _mm512_fmadd_ps (q_, f_, p3); \
        q_ = _mm512_fmadd_ps (q_, f_, p4); \
        q_ = _mm512_fmadd_ps (q_, f_, p5); \
        q_ = _mm512_fmadd_ps (q_, f_, one); \
        (out) = _mm512_scalef_ps (q_, k_); } G_STMT_END

      for (j = 0; j + 32 <= n16; j += 32)
        {
          __m512 e0, e1;
          GAF_EXP2_ROW (_mm512_loadu_ps (row + j), e0);
          GAF_EXP2_ROW (_mm512_loadu_ps (row + j + 16), e1);
          _mm512_storeu_ps (row + j, e0);
          _mm512_storeu_ps (row + j + 16, e1);
          s0 = _mm512_add_ps (s0, e0);
          s1 = _mm512_add_ps (s1, e1);
        }
      if (j < n16)
        {
          __m512 e0;
          GAF_EXP2_ROW (_mm512_loadu_ps (row + j), e0);
          _mm512_storeu_ps (row + j, e0);
          s0 = _mm512_add_ps (s0, e0);
        }
      if (tail)
        {
          __m512 e1;
          GAF_EXP2_ROW (_mm512_maskz_loadu_ps (tail, row + n16), e1);
          _mm512_mask_storeu_ps (row + n16, tail, e1);
          s1 = _mm512_mask_add_ps (s1, tail, s1, e1);
        }
#undef GAF_EXP2_ROW
      sum = _mm512_reduce_add_ps (_mm512_add_ps (s0, s1));
      inv[i] = 1.0f / sum;
      if (lse != NULL)
        lse[i] = mx + logf (sum);
    }
}
#define GAF_SOFTMAX_AVX512 1
#endif

/* The softmax of attention's tiles: the AVX-512 loop where the engine's products run the AVX-512 kernel
 * (tests switch kernels with gaf_gemm_small_use, which reaches both loops), else the generic one. */
static void
softmax_rows (float *p, float *inv, float *lse, int rows, int n)
{
#ifdef GAF_SOFTMAX_AVX512
  if (g_str_equal (gaf_gemm_small_kernel (), "avx512"))
    {
      softmax_rows_avx512 (p, inv, lse, rows, n);
      return;
    }
#endif
  softmax_rows_block (p, inv, lse, rows, n);
}

/* p <- e^(s - lse_row) (the probabilities again, from the scores and the saved log-sum-exp) */
GAF_SIMD_CLONES
static void
probs_from_lse (float *restrict p, const float *restrict lse, int rows, int n)
{
  for (int i = 0; i < rows; i++)
    {
      float *restrict row = p + (gsize) i * n, l = lse[i];
      for (int j = 0; j < n; j++)
        row[j] = gaf_fast_expf (row[j] - l);
    }
}

/* ds <- scale p (dp - d_row): the gradient of the scaled scores, times the scale of the scores */
GAF_SIMD_CLONES
static void
score_grad (float *restrict ds, const float *restrict p, const float *restrict d, int rows, int n, float scale)
{
  for (int i = 0; i < rows; i++)
    {
      float *restrict g = ds + (gsize) i * n, di = d[i];
      const float *restrict pr = p + (gsize) i * n;
      for (int j = 0; j < n; j++)
        g[j] = scale * pr[j] * (g[j] - di);
    }
}

gsize
gaf_attention_scratch_len (int n, int c)
{
  /* K^T, V^T (C, N); two tiles of scores (R, N); the rows' 1 / sum and dO.O (N) */
  return (gsize) 2 * c * n + (gsize) 2 * ATT_ROWS * n + (gsize) 2 * n;
}

/* One sample: out (N, C) = softmax (q k^T / sqrt C) v in tiles of ATT_ROWS query rows, nothing of (N, N) size:
 * S = q_tile (scaled K^T), e^(S - max), out_tile = e^(...) V scaled by 1 / sum. lse (N) receives each row's
 * log-sum-exp (training), or NULL. */
static void
attention_sample (float *out, float *lse, const float *qkv, int n, int c, float *scratch)
{
  gsize ld = 3 * (gsize) c;
  const float *q = qkv, *v = qkv + 2 * c;
  float *kt = scratch, *tile = kt + (gsize) 2 * c * n, *inv = tile + (gsize) 2 * ATT_ROWS * n;

  gaf_transpose (kt, n, qkv + c, ld, n, c, 1.0f / sqrtf ((float) c));
  for (int i0 = 0; i0 < n; i0 += ATT_ROWS)
    {
      int r = MIN (ATT_ROWS, n - i0);
      float *o = out + (gsize) i0 * c;
      gaf_gemm_small (r, n, c, q + (gsize) i0 * ld, ld, 1, kt, n, tile, n, FALSE);
      softmax_rows (tile, inv, lse != NULL ? lse + i0 : NULL, r, n);
      gaf_gemm_small (r, c, n, tile, n, 1, v, (int) ld, o, c, FALSE);
      for (int i = 0; i < r; i++)
        for (int l = 0; l < c; l++)
          o[(gsize) i * c + l] *= inv[i];
    }
}

void
gaf_attention_forward (float *out, float *lse, const float *qkv, int batch, int n, int c, float *scratch)
{
  for (int b = 0; b < batch; b++)
    attention_sample (out + (gsize) b * n * c, lse + (gsize) b * n, qkv + (gsize) b * n * 3 * c, n, c, scratch);
}

void
gaf_attention_infer (float *out, const float *qkv, int batch, int n, int c, float *scratch)
{
  for (int b = 0; b < batch; b++)
    attention_sample (out + (gsize) b * n * c, NULL, qkv + (gsize) b * n * 3 * c, n, c, scratch);
}

/* ---- an attention block for sampling, with the weights folded ----------------------------------
 * The block out = x + (softmax (s Q K^T) V) Wo + bo, [Q | K | V] = GN (x) Wqkv + bqkv, s = 1 / sqrt C, rewritten
 * with the same value and fewer products. With xn = x sc + sh (the GroupNorm's per-image, per-channel scale
 * and shift) and Wq, Wk, Wv the column blocks of Wqkv:
 *   s q_i . k_j = xn_i Wqk xn_j + bq' . xn_j + (terms of i alone), Wqk = s Wq Wk^T, bq' = s bq Wk^T,
 * and terms of the query row alone cancel in its softmax; xn_j = x_j sc + sh, and sh's term is again one of i
 * alone, so the keys are x itself and the queries Q' = x (sc Wqk sc) + (sh Wqk + bq') sc. The weighted sum
 * and the projection fold likewise: P V Wo + bo = P x (sc Wvo) + g, g = sh Wvo + bv Wo + bo, Wvo = Wv Wo
 * (the rows of P sum to 1, so g is added once per output row, in the residual pass). So per image one
 * product x (N, C) [A | B] (C, 2C) instead of QKV (3C) and the projection (C), no pass writing GN (x), and
 * the residual pass forms the next GroupNorm's sums.
 * The fold of the weights (gaf_attention_fold: Wqk, Wvo (C, C), bq', bv Wo + bo (C)) changes only with the
 * weights; the network keeps it between evaluations. */
gsize
gaf_attention_fold_len (int c)
{
  return (gsize) 2 * c * c + (gsize) 2 * c;
}

void
gaf_attention_fold (float *fold, const float *wqkv, const float *bqkv, const float *wo, const float *bo, int c)
{
  gsize c3 = 3 * (gsize) c;
  float s = 1.0f / sqrtf ((float) c);
  float *wqk = fold, *wvo = wqk + (gsize) c * c, *bq = wvo + (gsize) c * c, *bv = bq + c;

  /* Wqk = s Wq Wk^T, Wvo = Wv Wo, bq' = s bq Wk^T, bv Wo + bo */
  gaf_gemm_small_bt (c, c, c, wqkv, c3, 1, wqkv + c, (int) c3, wqk, c, FALSE);
  gaf_gemm_small (c, c, c, wqkv + 2 * c, c3, 1, wo, c, wvo, c, FALSE);
  for (gsize i = 0; i < (gsize) c * c; i++)
    wqk[i] *= s;
  for (int j = 0; j < c; j++)
    {
      double aq = 0.0, av = bo[j];
      for (int l = 0; l < c; l++)
        {
          aq += (double) bqkv[l] * wqkv[(gsize) j * c3 + c + l];
          av += (double) bqkv[2 * c + l] * wo[(gsize) l * c + j];
        }
      bq[j] = s * (float) aq;
      bv[j] = (float) av;
    }
}

/* Scratch (floats): [A | B] (C, 2C); the queries' bias and g (C) x 2; sc, sh (C) x 2; K^T = x^T (C, N);
 * [Q' | V'] (N, 2C); a tile of scores (ATT_ROWS, N) and its rows' 1 / sum; the tile's sums (2C); for bf16,
 * [A | B], K^T and V' packed (32-bit words, as many as floats). */
static gsize
block_bf16_len (int n, int c)
{
  return gaf_bf16_packed_len (c, 2 * c) + gaf_bf16_packed_len (c, n) + gaf_bf16_packed_len (n, c);
}

gsize
gaf_attention_block_scratch_len (int n, int c)
{
  return (gsize) 2 * c * c + (gsize) 6 * c + (gsize) 3 * c * n + (gsize) ATT_ROWS * n + ATT_ROWS +
         block_bf16_len (n, c) + 16;
}

/* One image's weights from the fold and its GroupNorm's sc, sh:
 * [A | B] = [sc Wqk sc | sc Wvo], bq'' = (sh Wqk + bq') sc, g = sh Wvo + bv Wo + bo. */
GAF_SIMD_CLONES
static void
fold_image (float *restrict wab, float *restrict bqi, float *restrict g, const float *restrict fold,
            const float *restrict sc, const float *restrict sh, int c)
{
  const float *restrict wqk = fold, *restrict wvo = wqk + (gsize) c * c, *restrict bq = wvo + (gsize) c * c;
  const float *restrict bv = bq + c;
  gsize c2 = 2 * (gsize) c;

  for (int j = 0; j < c; j++)
    {
      bqi[j] = bq[j];
      g[j] = bv[j];
    }
  for (int l = 0; l < c; l++)
    {
      float *restrict a = wab + (gsize) l * c2, *restrict bb = a + c, sl = sc[l], hl = sh[l];
      const float *restrict q = wqk + (gsize) l * c, *restrict v = wvo + (gsize) l * c;
      for (int j = 0; j < c; j++)
        {
          a[j] = sl * q[j] * sc[j];
          bb[j] = sl * v[j];
          bqi[j] += hl * q[j];
          g[j] += hl * v[j];
        }
    }
  for (int j = 0; j < c; j++)
    bqi[j] *= sc[j];
}

/* out rows = x rows + inv_i o rows (o in out) + g, and the per-channel sums of the result (s1, s2
 * accumulate): floats over the rows of a tile, doubles across tiles, as the Winograd output transform does. */
GAF_SIMD_CLONES
static void
residual_rows_sums (float *restrict out, const float *restrict x, const float *restrict inv,
                    const float *restrict g, int rows, int c, float *restrict acc, double *restrict s1,
                    double *restrict s2)
{
  float *restrict a1 = acc, *restrict a2 = acc + c;

  for (int l = 0; l < c; l++)
    a1[l] = a2[l] = 0.0f;
  for (int i = 0; i < rows; i++)
    {
      float *restrict o = out + (gsize) i * c, w = inv[i];
      const float *restrict xr = x + (gsize) i * c;
      for (int l = 0; l < c; l++)
        {
          float v = xr[l] + (w * o[l] + g[l]);
          o[l] = v;
          a1[l] += v;
          a2[l] += v * v;
        }
    }
  for (int l = 0; l < c; l++)
    {
      s1[l] += a1[l];
      s2[l] += a2[l];
    }
}

/* xc = x - mu, mu (C) = the channel means from the sums s1 (the first C of an image's (2, C)) */
GAF_SIMD_CLONES
static void
center_rows (float *restrict xc, float *restrict mu, const float *restrict x, const double *restrict s1, int n, int c)
{
  for (int l = 0; l < c; l++)
    mu[l] = (float) (s1[l] / n);
  for (int i = 0; i < n; i++)
    for (int l = 0; l < c; l++)
      xc[(gsize) i * c + l] = x[(gsize) i * c + l] - mu[l];
}

/* bq += mu A, g += mu B for [A | B] (C, 2C) */
GAF_SIMD_CLONES
static void
bias_from_mean (float *restrict bq, float *restrict g, const float *restrict mu, const float *restrict wab, int c)
{
  for (int l = 0; l < c; l++)
    {
      const float *restrict a = wab + (gsize) l * 2 * c;
      float m = mu[l];
      for (int j = 0; j < c; j++)
        {
          bq[j] += m * a[j];
          g[j] += m * a[c + j];
        }
    }
}

void
gaf_attention_block_infer (float *out, double *out_sums, const float *x, const double *sums, const float *gn_g,
                           const float *gn_b, int groups, const float *fold, int batch, int n, int c, gboolean bf16,
                           float *scratch)
{
  gsize c2 = 2 * (gsize) c;
  float *wab = scratch, *bqi = wab + (gsize) c * c2, *g = bqi + c, *sc = g + c, *sh = sc + c;
  float *kt = sh + c, *qv = kt + (gsize) c * n, *tile = qv + (gsize) n * c2, *inv = tile + (gsize) ATT_ROWS * n;
  float *acc = inv + ATT_ROWS;
  /* the packed operands from the next cache line on (the length has 16 floats to spare) */
  guint32 *wabp = (guint32 *) (((guintptr) (acc + 2 * c) + 63) & ~(guintptr) 63);
  guint32 *ktp = wabp + gaf_bf16_packed_len (c, 2 * c);
  guint32 *vp = ktp + gaf_bf16_packed_len (c, n);
  g_autofree double *own = out_sums == NULL ? g_new (double, 2 * (gsize) c) : NULL;

  g_return_if_fail (!bf16 || gaf_bf16_available ());
  for (int b = 0; b < batch; b++)
    {
      const float *xb = x + (gsize) b * n * c;
      float *ob = out + (gsize) b * n * c;
      double *os = out_sums != NULL ? out_sums + (gsize) b * 2 * c : own;

      group_affine (sc, sh, NULL, NULL, sums + (gsize) b * 2 * c, sums + (gsize) b * 2 * c + c, gn_g, gn_b, n, c,
                    groups);
      fold_image (wab, bqi, g, fold, sc, sh, c);
      /* Q' = bias rows + x A, V' = x B (its bias g goes into the residual pass) */
      if (bf16)
        {
          /* Rounding is relative to a value's size, and the block's input has channel means far from 0, so the
           * products get x - mu (mu: this image's channel means), rounded relative to the deviations: mu's
           * terms are exact in float, mu A in the queries' bias, mu B in g (the rows of P sum to 1), and the
           * keys' mu is a term of the query row alone. (kt holds the centred x; acc holds mu until the tiles.) */
          float *xc = kt, *mu = acc;
          const double *s1 = sums + (gsize) b * 2 * c;
          center_rows (xc, mu, xb, s1, n, c);
          bias_from_mean (bqi, g, mu, wab, c);
          for (int i = 0; i < n; i++)
            {
              memcpy (qv + i * c2, bqi, c * sizeof (float));
              memset (qv + i * c2 + c, 0, c * sizeof (float));
            }
          gaf_bf16_pack (wabp, wab, c2, c, 2 * c);
          gaf_gemm_bf16 (n, 2 * c, c, xc, c, wabp, qv, (int) c2, TRUE);
          gaf_bf16_pack_t (ktp, xc, c, c, n);
          gaf_bf16_pack (vp, qv + c, c2, n, c);
        }
      else
        {
          for (int i = 0; i < n; i++)
            memcpy (qv + i * c2, bqi, c * sizeof (float));
          gaf_gemm_small (n, c, c, xb, c, 1, wab, (int) c2, qv, (int) c2, TRUE);
          gaf_gemm_small (n, c, c, xb, c, 1, wab + c, (int) c2, qv + c, (int) c2, FALSE);
          gaf_transpose (kt, n, xb, c, n, c, 1.0f);
        }

      for (int l = 0; l < 2 * c; l++)
        os[l] = 0.0;
      for (int i0 = 0; i0 < n; i0 += ATT_ROWS)
        {
          int r = MIN (ATT_ROWS, n - i0);
          float *o = ob + (gsize) i0 * c;
          if (bf16)
            gaf_gemm_bf16 (r, n, c, qv + (gsize) i0 * c2, c2, ktp, tile, n, FALSE);
          else
            gaf_gemm_small (r, n, c, qv + (gsize) i0 * c2, c2, 1, kt, n, tile, n, FALSE);
          softmax_rows (tile, inv, NULL, r, n);
          if (bf16)
            gaf_gemm_bf16 (r, c, n, tile, n, vp, o, c, FALSE);
          else
            gaf_gemm_small (r, c, n, tile, n, 1, qv + c, (int) c2, o, c, FALSE);
          residual_rows_sums (o, xb + (gsize) i0 * c, inv, g, r, c, acc, os, os + c);
        }
    }
}

/* One sample's backward in tiles of query rows, the probabilities recomputed from the scores and lse:
 *   P = e^(s q K^T - lse), dV += P^T dO, dP = dO V^T, dS = s P (dP - D) with D_i = dO_i . O_i,
 *   dQ_tile += dS K, dK += dS^T Q_tile   (s = 1 / sqrt C). */
static void
attention_backward_sample (float *dqkv, const float *dout, const float *out, const float *qkv, const float *lse,
                           int n, int c, float *scratch)
{
  float scale = 1.0f / sqrtf ((float) c);
  gsize ld = 3 * (gsize) c;
  const float *q = qkv, *k = qkv + c, *v = qkv + 2 * c;
  float *dq = dqkv, *dk = dqkv + c, *dv = dqkv + 2 * c;
  float *kt = scratch, *vt = kt + (gsize) c * n, *P = vt + (gsize) c * n, *dS = P + (gsize) ATT_ROWS * n;
  float *D = dS + (gsize) ATT_ROWS * n;

  gaf_transpose (kt, n, k, ld, n, c, scale);
  gaf_transpose (vt, n, v, ld, n, c, 1.0f);
  for (int i = 0; i < n; i++)
    {
      double s = 0.0;
      for (int l = 0; l < c; l++)
        s += (double) dout[(gsize) i * c + l] * out[(gsize) i * c + l];
      D[i] = (float) s;
    }
  for (int i0 = 0; i0 < n; i0 += ATT_ROWS)
    {
      int r = MIN (ATT_ROWS, n - i0);
      const float *qt = q + (gsize) i0 * ld, *dO = dout + (gsize) i0 * c;
      gaf_gemm_small (r, n, c, qt, ld, 1, kt, n, P, n, FALSE);
      probs_from_lse (P, lse + i0, r, n);
      /* dV (N, C) += P^T (N, r) dO (r, C): P read transposed */
      gaf_gemm_small (n, c, r, P, 1, n, dO, c, dv, (int) ld, TRUE);
      gaf_gemm_small (r, n, c, dO, c, 1, vt, n, dS, n, FALSE);
      score_grad (dS, P, D + i0, r, n, scale);
      gaf_gemm_small (r, c, n, dS, n, 1, k, (int) ld, dq + (gsize) i0 * ld, (int) ld, TRUE);
      gaf_gemm_small (n, c, r, dS, 1, n, qt, (int) ld, dk, (int) ld, TRUE);
    }
}

void
gaf_attention_backward (float *dqkv, const float *dout, const float *out, const float *qkv, const float *lse,
                        int batch, int n, int c, float *scratch)
{
  for (int b = 0; b < batch; b++)
    attention_backward_sample (dqkv + (gsize) b * n * 3 * c, dout + (gsize) b * n * c, out + (gsize) b * n * c,
                               qkv + (gsize) b * n * 3 * c, lse + (gsize) b * n, n, c, scratch);
}

void
gaf_attention_forward_naive (float *out, const float *qkv, int batch, int n, int c)
{
  int ld = 3 * c;
  double *w = g_new (double, n);

  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      {
        const float *q = qkv + ((gsize) b * n + i) * ld;
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < n; j++)
          {
            const float *k = qkv + ((gsize) b * n + j) * ld + c;
            double s = 0.0;
            for (int l = 0; l < c; l++)
              s += (double) q[l] * k[l];
            w[j] = s / sqrt ((double) c);
            mx = MAX (mx, w[j]);
          }
        for (int j = 0; j < n; j++)
          {
            w[j] = exp (w[j] - mx);
            sum += w[j];
          }
        for (int l = 0; l < c; l++)
          {
            double acc = 0.0;
            for (int j = 0; j < n; j++)
              acc += w[j] / sum * qkv[((gsize) b * n + j) * ld + 2 * c + l];
            out[((gsize) b * n + i) * c + l] = (float) acc;
          }
      }
  g_free (w);
}

/* ---- sinusoidal time embedding ----------------------------------------------------------------- */

void
gaf_timestep_embedding_forward (float *out, const float *t, int batch, int dim)
{
  int half = dim / 2;

  for (int b = 0; b < batch; b++)
    {
      float *row = out + (gsize) b * dim;
      for (int k = 0; k < half; k++)
        {
          double a = (double) t[b] * exp (-log (10000.0) * k / half);
          row[k] = (float) sin (a);
          row[half + k] = (float) cos (a);
        }
      if (dim % 2)
        row[dim - 1] = 0.0f;
    }
}

void
gaf_timestep_embedding_backward (float *dt, const float *dout, const float *t, int batch, int dim)
{
  int half = dim / 2;

  if (dt == NULL)
    return;
  for (int b = 0; b < batch; b++)
    {
      const float *g = dout + (gsize) b * dim;
      double s = 0.0;
      for (int k = 0; k < half; k++)
        {
          double f = exp (-log (10000.0) * k / half), a = (double) t[b] * f;
          s += g[k] * f * cos (a) - g[half + k] * f * sin (a);
        }
      dt[b] += (float) s;
    }
}
