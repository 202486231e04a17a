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
#include "gaf-layers.h"
#include "gaf-layers2d.h"
#include "gaf-simd-private.h"

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
  if (is_pointwise (s))
    gaf_sgemm (FALSE, FALSE, (int) total, s->cout, s->cin, 1.0f, in, s->cin, w, s->cout, beta, out, s->cout);
  else
    {
      int R = tile_rows (kc, total);
      for (gsize r0 = 0; r0 < total; r0 += R)
        {
          int rows = (int) MIN ((gsize) R, total - r0);
          im2col_tile (scratch, in, r0, rows, height, width, ho, wo, s->cin, s);
          gaf_sgemm (FALSE, FALSE, rows, s->cout, (int) kc, 1.0f, scratch, (int) kc, w, s->cout,
                     beta, out + r0 * s->cout, s->cout);
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
static void
flip_kernel (float *wf, const float *w, int K, int cin, int cout)
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
          gaf_sgemm (TRUE, FALSE, (int) kc, s->cout, rows, 1.0f, scratch, (int) kc, dout + r0 * s->cout, s->cout,
                     1.0f, dw, s->cout);
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

      flip_kernel (wf, w, K, s->cin, s->cout);
      total = (gsize) batch * height * width;
      for (gsize r0 = 0; r0 < total; r0 += R)
        {
          int rows = (int) MIN ((gsize) R, total - r0);
          im2col_tile (col, dout, r0, rows, height, width, height, width, s->cout, &t);
          gaf_sgemm (FALSE, FALSE, rows, s->cin, (int) kco, 1.0f, col, (int) kco, wf, s->cin,
                     1.0f, din + r0 * s->cin, s->cin);
        }
      return;
    }

  /* General case (strided): dcol = dout w^T per tile, then scatter-add. */
  {
    int R = tile_rows (kc, total);
    for (gsize r0 = 0; r0 < total; r0 += R)
      {
        int rows = (int) MIN ((gsize) R, total - r0);
        gaf_sgemm (FALSE, TRUE, rows, (int) kc, s->cout, 1.0f, dout + r0 * s->cout, s->cout, w, s->cout,
                   0.0f, scratch, (int) kc);
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

/* ---- Winograd F(2x2, 3x3) and F(4x4, 3x3) ------------------------------------------------------
 * An m x m output tile (m = 2 or 4) is Y = A^T [ U ⊙ V ] A with U = G g G^T (alpha x alpha, alpha = m + 2)
 * and V = B^T d B over the alpha x alpha input tile d around it (Lavin and Gray, 2016):
 *   F(2x2): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
 *           A^T = [1 1 1 0; 0 1 -1 -1];  16 products for 4 outputs (2.25x fewer than direct).
 *   F(4x4): interpolation points 0, 1, -1, 2, -2, inf:
 *           B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
 *           G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1],
 *           A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1];  36 products for 16 outputs (4x).
 * Transformed data are stored tile-major: V (T, P, C) for a block of T tiles, P = alpha^2, so the
 * transforms read and write one stream each, and each of the P points is one product
 * V[:, xi] (T, Cin) x U[xi] (Cin, Cout) with row stride P Cin. (Point-major planes T C floats apart put P
 * store streams on the same L1 sets.) The larger tile moves 2.25 instead of 4 transformed values per
 * output pixel through memory as well; its rounding error is a few times larger (points up to +-2, the
 * output transform multiplies by up to 8), still about 1e-6 of the output scale in float. */

static const float wino_g2[4][3] = { { 1, 0, 0 }, { 0.5f, 0.5f, 0.5f }, { 0.5f, -0.5f, 0.5f }, { 0, 0, 1 } };
static const float wino_g4[6][3] = {
  { 1.0f / 4, 0, 0 }, { -1.0f / 6, -1.0f / 6, -1.0f / 6 }, { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
  { 1.0f / 24, 1.0f / 12, 1.0f / 6 }, { 1.0f / 24, -1.0f / 12, 1.0f / 6 }, { 0, 0, 1 },
};

/* Floats of V and M for one block of tiles (L2-sized). */
#define WINO_BLOCK_FLOATS (64 * 1024)

int
gaf_winograd_tile (const GafConv2dShape *s, int height, int width)
{
  if (s->kernel != 3 || s->stride != 1 || s->pad != 1 || height < 1 || width < 1)
    return 0;
  if (height % 4 == 0 && width % 4 == 0)
    return 4;
  if (height % 2 == 0 && width % 2 == 0)
    return 2;
  return 0;
}

gboolean
gaf_winograd_supported (const GafConv2dShape *s, int height, int width)
{
  return gaf_winograd_tile (s, height, width) > 0;
}

static int
wino_block_tiles (int points, int cin, int cout)
{
  int t = WINO_BLOCK_FLOATS / (points * (cin + cout));
  return CLAMP (t, 4, 4096);
}

gsize
gaf_winograd_scratch_len (const GafConv2dShape *s, int height, int width)
{
  gsize need = 0;

  /* V and M blocks, dU (P, Cin, Cout), the transforms' temporary (P C), a zero row; for either tile */
  for (int P = 16; P <= 36; P += 20)
    {
      int T = wino_block_tiles (P, s->cin, s->cout);
      need = MAX (need, (gsize) P * T * (s->cin + s->cout) + (gsize) P * s->cin * s->cout +
                        (gsize) P * MAX (s->cin, s->cout) + MAX (s->cin, s->cout) + 16);
    }
  return need;
}

void
gaf_winograd_clear (GafWinograd *wg)
{
  g_clear_pointer (&wg->u, g_free);
  g_clear_pointer (&wg->u_flip, g_free);
  wg->cin = wg->cout = wg->m = 0;
}

/* u (P, ci, co) = G g G^T for every (i, o), from w (3, 3, ci, co); vectorised over o. */
GAF_SIMD_CLONES
static void
kernel_transform (float *restrict u, const float *restrict w, int ci, int co, int m)
{
  int A = m + 2;
  const float (*G)[3] = m == 2 ? wino_g2 : wino_g4;

  for (int i = 0; i < ci; i++)
    {
      const float *g0 = w + (gsize) i * co, *g1 = g0 + (gsize) ci * co, *g2 = g1 + (gsize) ci * co;
      const float *g3 = g2 + (gsize) ci * co, *g4 = g3 + (gsize) ci * co, *g5 = g4 + (gsize) ci * co;
      const float *g6 = g5 + (gsize) ci * co, *g7 = g6 + (gsize) ci * co, *g8 = g7 + (gsize) ci * co;
      for (int r = 0; r < A; r++)
        for (int c = 0; c < A; c++)
          {
            float k0 = G[r][0] * G[c][0], k1 = G[r][0] * G[c][1], k2 = G[r][0] * G[c][2];
            float k3 = G[r][1] * G[c][0], k4 = G[r][1] * G[c][1], k5 = G[r][1] * G[c][2];
            float k6 = G[r][2] * G[c][0], k7 = G[r][2] * G[c][1], k8 = G[r][2] * G[c][2];
            float *dst = u + ((gsize) (r * A + c) * ci + i) * co;
            for (int o = 0; o < co; o++)
              dst[o] = k0 * g0[o] + k1 * g1[o] + k2 * g2[o] + k3 * g3[o] + k4 * g4[o] + k5 * g5[o] +
                       k6 * g6[o] + k7 * g7[o] + k8 * g8[o];
          }
    }
}

/* dw (3, 3, ci, co) += G^T dU G, vectorised over o; acc is a row of co floats. */
GAF_SIMD_CLONES
static void
kernel_transform_adjoint (float *restrict dw, const float *restrict dU, int ci, int co, int m, float *restrict acc)
{
  int A = m + 2;
  const float (*G)[3] = m == 2 ? wino_g2 : wino_g4;

  for (int i = 0; i < ci; i++)
    for (int a = 0; a < 3; a++)
      for (int b = 0; b < 3; b++)
        {
          float *dst = dw + ((gsize) (a * 3 + b) * ci + i) * co;
          for (int o = 0; o < co; o++)
            acc[o] = 0.0f;
          for (int r = 0; r < A; r++)
            for (int c = 0; c < A; c++)
              {
                float k = G[r][a] * G[c][b];
                const float *src = dU + ((gsize) (r * A + c) * ci + i) * co;
                if (k == 0.0f)
                  continue;
                for (int o = 0; o < co; o++)
                  acc[o] += k * src[o];
              }
          for (int o = 0; o < co; o++)
            dst[o] += acc[o];
        }
}

void
gaf_winograd_prepare (GafWinograd *wg, const float *w, const GafConv2dShape *s, int tile, gboolean flipped)
{
  gsize n = (gsize) (tile + 2) * (tile + 2) * s->cin * s->cout;
  gsize tap = (gsize) s->cin * s->cout;

  g_return_if_fail (s->kernel == 3 && s->stride == 1 && s->pad == 1 && (tile == 2 || tile == 4));
  if (wg->cin != s->cin || wg->cout != s->cout || wg->m != tile)
    {
      gaf_winograd_clear (wg);
      wg->cin = s->cin;
      wg->cout = s->cout;
      wg->m = tile;
    }
  if (wg->u == NULL)
    wg->u = g_new (float, n);
  kernel_transform (wg->u, w, s->cin, s->cout, tile);
  if (!flipped)
    return;
  if (wg->u_flip == NULL)
    wg->u_flip = g_new (float, n);
  /* flipped and transposed: g'[ky][kx][o][i] = w[2-ky][2-kx][i][o] */
  {
    float *wf = g_new (float, 9 * tap);
    flip_kernel (wf, w, 3, s->cin, s->cout);
    kernel_transform (wg->u_flip, wf, s->cout, s->cin, tile);
    g_free (wf);
  }
}

/* F(2x2, 3x3). The transforms are written out element by element, with the 16 points as separate
 * pointers: that is what lets GCC vectorise them over the channels (ivdep: they never overlap). */

/* V (T, 16, C) of tiles t0 .. t0 + T - 1 (numbered over (b, ty, tx)) of in (B, H, W, C). */
GAF_SIMD_CLONES
static void
input_transform2 (float *restrict V, const float *in, const float *zero, gsize t0, int T,
                 int height, int width, int c)
{
  int th = height / 2, tw = width / 2;
  gsize plane = c, rs = (gsize) width * c;
  int b = (int) (t0 / ((gsize) th * tw));
  int rem = (int) (t0 % ((gsize) th * tw));
  int ty = rem / tw, tx = rem % tw;

  for (int t = 0; t < T; t++)
    {
      int y0 = 2 * ty - 1, x0 = 2 * tx - 1;
      const float *p[16];

      if (y0 >= 0 && y0 + 4 <= height && x0 >= 0 && x0 + 4 <= width)
        {
          /* interior tile: no padding */
          const float *base = in + (((gsize) b * height + y0) * width + x0) * c;
          for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
              p[i * 4 + j] = base + i * rs + (gsize) j * c;
        }
      else
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++)
            {
              int y = y0 + i, x = x0 + j;
              p[i * 4 + j] = (y < 0 || y >= height || x < 0 || x >= width) ? zero
                             : in + (((gsize) b * height + y) * width + x) * c;
            }
      if (++tx == tw)
        {
          tx = 0;
          if (++ty == th)
            {
              ty = 0;
              b++;
            }
        }
      const float *d00 = p[0], *d01 = p[1], *d02 = p[2], *d03 = p[3];
      const float *d10 = p[4], *d11 = p[5], *d12 = p[6], *d13 = p[7];
      const float *d20 = p[8], *d21 = p[9], *d22 = p[10], *d23 = p[11];
      const float *d30 = p[12], *d31 = p[13], *d32 = p[14], *d33 = p[15];
      float *v = V + (gsize) t * 16 * c;
      float *v00 = v, *v01 = v + plane, *v02 = v + 2 * plane, *v03 = v + 3 * plane;
      float *v10 = v + 4 * plane, *v11 = v + 5 * plane, *v12 = v + 6 * plane, *v13 = v + 7 * plane;
      float *v20 = v + 8 * plane, *v21 = v + 9 * plane, *v22 = v + 10 * plane, *v23 = v + 11 * plane;
      float *v30 = v + 12 * plane, *v31 = v + 13 * plane, *v32 = v + 14 * plane, *v33 = v + 15 * plane;

#pragma GCC ivdep
      for (int k = 0; k < c; k++)
        {
          /* m = B^T d (rows): d0 - d2, d1 + d2, d2 - d1, d1 - d3 */
          float m00 = d00[k] - d20[k], m01 = d01[k] - d21[k], m02 = d02[k] - d22[k], m03 = d03[k] - d23[k];
          float m10 = d10[k] + d20[k], m11 = d11[k] + d21[k], m12 = d12[k] + d22[k], m13 = d13[k] + d23[k];
          float m20 = d20[k] - d10[k], m21 = d21[k] - d11[k], m22 = d22[k] - d12[k], m23 = d23[k] - d13[k];
          float m30 = d10[k] - d30[k], m31 = d11[k] - d31[k], m32 = d12[k] - d32[k], m33 = d13[k] - d33[k];
          /* V = m B (columns), the same combination */
          v00[k] = m00 - m02; v01[k] = m01 + m02; v02[k] = m02 - m01; v03[k] = m01 - m03;
          v10[k] = m10 - m12; v11[k] = m11 + m12; v12[k] = m12 - m11; v13[k] = m11 - m13;
          v20[k] = m20 - m22; v21[k] = m21 + m22; v22[k] = m22 - m21; v23[k] = m21 - m23;
          v30[k] = m30 - m32; v31[k] = m31 + m32; v32[k] = m32 - m31; v33[k] = m31 - m33;
        }
    }
}

/* out = A^T M A + bias (+ res) for the tiles of the block; M (T, 16, C). bias (C) is shared when bias_stride
 * is 0, else per image at bias + b bias_stride; res has the layout of out and may be out itself (then out +=). */
GAF_SIMD_CLONES
static void
output_transform2 (float *out, const float *M, const float *bias, gsize bias_stride, const float *res,
                   const float *zero, gsize t0, int T, int height, int width, int c)
{
  int th = height / 2, tw = width / 2;
  gsize plane = c;

  for (int t = 0; t < T; t++)
    {
      gsize idx = t0 + t;
      int b = (int) (idx / ((gsize) th * tw));
      int rem = (int) (idx % ((gsize) th * tw));
      int y0 = 2 * (rem / tw), x0 = 2 * (rem % tw);
      gsize off = (((gsize) b * height + y0) * width + x0) * c, rs = (gsize) width * c;
      float *o00 = out + off, *o01 = o00 + c, *o10 = o00 + rs, *o11 = o10 + c;
      const float *bb = bias ? bias + b * bias_stride : zero;
      const float *m = M + (gsize) t * 16 * c;
      const float *q00 = m, *q01 = m + plane, *q02 = m + 2 * plane, *q03 = m + 3 * plane;
      const float *q10 = m + 4 * plane, *q11 = m + 5 * plane, *q12 = m + 6 * plane, *q13 = m + 7 * plane;
      const float *q20 = m + 8 * plane, *q21 = m + 9 * plane, *q22 = m + 10 * plane, *q23 = m + 11 * plane;
      const float *q30 = m + 12 * plane, *q31 = m + 13 * plane, *q32 = m + 14 * plane, *q33 = m + 15 * plane;

      if (res != NULL)
        {
          const float *r00 = res + off, *r01 = r00 + c, *r10 = r00 + rs, *r11 = r10 + c;
#pragma GCC ivdep
          for (int k = 0; k < c; k++)
            {
              /* r = A^T q: q0 + q1 + q2, q1 - q2 - q3 (rows); then the same over columns */
              float a0 = q00[k] + q10[k] + q20[k], a1 = q01[k] + q11[k] + q21[k];
              float a2 = q02[k] + q12[k] + q22[k], a3 = q03[k] + q13[k] + q23[k];
              float e0 = q10[k] - q20[k] - q30[k], e1 = q11[k] - q21[k] - q31[k];
              float e2 = q12[k] - q22[k] - q32[k], e3 = q13[k] - q23[k] - q33[k];
              o00[k] = r00[k] + a0 + a1 + a2 + bb[k];
              o01[k] = r01[k] + a1 - a2 - a3 + bb[k];
              o10[k] = r10[k] + e0 + e1 + e2 + bb[k];
              o11[k] = r11[k] + e1 - e2 - e3 + bb[k];
            }
        }
      else
        {
#pragma GCC ivdep
          for (int k = 0; k < c; k++)
            {
              float a0 = q00[k] + q10[k] + q20[k], a1 = q01[k] + q11[k] + q21[k];
              float a2 = q02[k] + q12[k] + q22[k], a3 = q03[k] + q13[k] + q23[k];
              float e0 = q10[k] - q20[k] - q30[k], e1 = q11[k] - q21[k] - q31[k];
              float e2 = q12[k] - q22[k] - q32[k], e3 = q13[k] - q23[k] - q33[k];
              o00[k] = a0 + a1 + a2 + bb[k];
              o01[k] = a1 - a2 - a3 + bb[k];
              o10[k] = e0 + e1 + e2 + bb[k];
              o11[k] = e1 - e2 - e3 + bb[k];
            }
        }
    }
}

/* dM (T, 16, C) = A dY A^T for the tiles of the block (the transpose of the output transform). */
GAF_SIMD_CLONES
static void
output_transform_adjoint2 (float *restrict dM, const float *dout, gsize t0, int T, int height, int width, int c)
{
  int th = height / 2, tw = width / 2;
  gsize plane = c;

  for (int t = 0; t < T; t++)
    {
      gsize idx = t0 + t;
      int b = (int) (idx / ((gsize) th * tw));
      int rem = (int) (idx % ((gsize) th * tw));
      int y0 = 2 * (rem / tw), x0 = 2 * (rem % tw);
      const float *g00 = dout + (((gsize) b * height + y0) * width + x0) * c;
      const float *g01 = g00 + c;
      const float *g10 = g00 + (gsize) width * c;
      const float *g11 = g10 + c;
      float *m = dM + (gsize) t * 16 * c;
      float *m00 = m, *m01 = m + plane, *m02 = m + 2 * plane, *m03 = m + 3 * plane;
      float *m10 = m + 4 * plane, *m11 = m + 5 * plane, *m12 = m + 6 * plane, *m13 = m + 7 * plane;
      float *m20 = m + 8 * plane, *m21 = m + 9 * plane, *m22 = m + 10 * plane, *m23 = m + 11 * plane;
      float *m30 = m + 12 * plane, *m31 = m + 13 * plane, *m32 = m + 14 * plane, *m33 = m + 15 * plane;

#pragma GCC ivdep
      for (int k = 0; k < c; k++)
        {
          /* A = [1 0; 1 1; 1 -1; 0 -1]: rows a = A dY, then a A^T: [a0, a0 + a1, a0 - a1, -a1] */
          float a00 = g00[k], a01 = g01[k];
          float a10 = g00[k] + g10[k], a11 = g01[k] + g11[k];
          float a20 = g00[k] - g10[k], a21 = g01[k] - g11[k];
          float a30 = -g10[k], a31 = -g11[k];
          m00[k] = a00; m01[k] = a00 + a01; m02[k] = a00 - a01; m03[k] = -a01;
          m10[k] = a10; m11[k] = a10 + a11; m12[k] = a10 - a11; m13[k] = -a11;
          m20[k] = a20; m21[k] = a20 + a21; m22[k] = a20 - a21; m23[k] = -a21;
          m30[k] = a30; m31[k] = a30 + a31; m32[k] = a30 - a31; m33[k] = -a31;
        }
    }
}

/* F(4x4, 3x3), in two passes per tile through a P C temporary that stays in L1: rows, then columns, each
 * a 6-point (or 4 -> 6, 6 -> 4) combination vectorised over the channels. */

/* o_r = (B^T d)_r for six vectors d_0 .. d_5 */
static inline void
bt6 (float *o0, float *o1, float *o2, float *o3, float *o4, float *o5,
     const float *i0, const float *i1, const float *i2, const float *i3, const float *i4, const float *i5, int c)
{
#pragma GCC ivdep
  for (int k = 0; k < c; k++)
    {
      float d0 = i0[k], d1 = i1[k], d2 = i2[k], d3 = i3[k], d4 = i4[k], d5 = i5[k];
      float p = d1 + d2, q = d3 + d4, r = d1 - d2, s = d4 - d3, u = d1 - d3, v = d4 - d2;
      o0[k] = 4.0f * d0 - 5.0f * d2 + d4;
      o1[k] = q - 4.0f * p;
      o2[k] = s + 4.0f * r;
      o3[k] = v - 2.0f * u;
      o4[k] = v + 2.0f * u;
      o5[k] = 4.0f * d1 - 5.0f * d3 + d5;
    }
}

/* o_p = (A^T m)_p for six vectors m_0 .. m_5 -> four */
static inline void
at6 (float *o0, float *o1, float *o2, float *o3,
     const float *i0, const float *i1, const float *i2, const float *i3, const float *i4, const float *i5, int c)
{
#pragma GCC ivdep
  for (int k = 0; k < c; k++)
    {
      float m1 = i1[k], m2 = i2[k], m3 = i3[k], m4 = i4[k];
      float a = m1 + m2, b = m1 - m2, e = m3 + m4, f = m3 - m4;
      o0[k] = i0[k] + a + e;
      o1[k] = b + 2.0f * f;
      o2[k] = a + 4.0f * e;
      o3[k] = b + 8.0f * f + i5[k];
    }
}

/* the same into the image, plus a bias and a residual (which may be the output itself) when r0 != NULL */
static inline void
at6_out (float *o0, float *o1, float *o2, float *o3, const float *r0, const float *r1, const float *r2,
         const float *r3, const float *i0, const float *i1, const float *i2, const float *i3, const float *i4,
         const float *i5, const float *bias, int c)
{
  if (r0 != NULL)
    {
#pragma GCC ivdep
      for (int k = 0; k < c; k++)
        {
          float m1 = i1[k], m2 = i2[k], m3 = i3[k], m4 = i4[k];
          float a = m1 + m2, b = m1 - m2, e = m3 + m4, f = m3 - m4;
          o0[k] = r0[k] + i0[k] + a + e + bias[k];
          o1[k] = r1[k] + b + 2.0f * f + bias[k];
          o2[k] = r2[k] + a + 4.0f * e + bias[k];
          o3[k] = r3[k] + b + 8.0f * f + i5[k] + bias[k];
        }
    }
  else
    {
#pragma GCC ivdep
      for (int k = 0; k < c; k++)
        {
          float m1 = i1[k], m2 = i2[k], m3 = i3[k], m4 = i4[k];
          float a = m1 + m2, b = m1 - m2, e = m3 + m4, f = m3 - m4;
          o0[k] = i0[k] + a + e + bias[k];
          o1[k] = b + 2.0f * f + bias[k];
          o2[k] = a + 4.0f * e + bias[k];
          o3[k] = b + 8.0f * f + i5[k] + bias[k];
        }
    }
}

/* o = A g for four vectors g_0 .. g_3 -> six (A = [1 0 0 0; 1 1 1 1; 1 -1 1 -1; 1 2 4 8; 1 -2 4 -8; 0 0 0 1]) */
static inline void
a4 (float *o0, float *o1, float *o2, float *o3, float *o4, float *o5,
    const float *i0, const float *i1, const float *i2, const float *i3, int c)
{
#pragma GCC ivdep
  for (int k = 0; k < c; k++)
    {
      float g0 = i0[k], g1 = i1[k], g2 = i2[k], g3 = i3[k];
      float ev = g0 + g2, od = g1 + g3, ev4 = g0 + 4.0f * g2, od2 = 2.0f * g1 + 8.0f * g3;
      o0[k] = g0;
      o1[k] = ev + od;
      o2[k] = ev - od;
      o3[k] = ev4 + od2;
      o4[k] = ev4 - od2;
      o5[k] = g3;
    }
}

/* The tile's 36 input pixels (zero outside the image), row-major. */
static inline void
tile_pointers6 (const float **p, const float *in, const float *zero, int b, int y0, int x0, int height, int width,
                int c)
{
  if (y0 >= 0 && y0 + 6 <= height && x0 >= 0 && x0 + 6 <= width)
    {
      const float *base = in + (((gsize) b * height + y0) * width + x0) * c;
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
          p[i * 6 + j] = base + ((gsize) i * width + j) * c;
      return;
    }
  for (int i = 0; i < 6; i++)
    for (int j = 0; j < 6; j++)
      {
        int y = y0 + i, x = x0 + j;
        p[i * 6 + j] = (y < 0 || y >= height || x < 0 || x >= width) ? zero
                       : in + (((gsize) b * height + y) * width + x) * c;
      }
}

static inline __attribute__ ((always_inline)) void
input_transform4_body (float *V, const float *in, const float *zero, float *tmp, gsize t0, int T,
                  int height, int width, int c)
{
  int th = height / 4, tw = width / 4;
  int b = (int) (t0 / ((gsize) th * tw));
  int rem = (int) (t0 % ((gsize) th * tw));
  int ty = rem / tw, tx = rem % tw;

  for (int t = 0; t < T; t++)
    {
      const float *p[36];
      float *v = V + (gsize) t * 36 * c;

      tile_pointers6 (p, in, zero, b, 4 * ty - 1, 4 * tx - 1, height, width, c);
      if (++tx == tw)
        {
          tx = 0;
          if (++ty == th)
            {
              ty = 0;
              b++;
            }
        }
      /* tmp[i][j] = (d B)[i][j] along each row, then V[r][j] = (B^T tmp)[r][j] along each column */
      for (int i = 0; i < 6; i++)
        {
          float *o = tmp + (gsize) i * 6 * c;
          const float **q = p + i * 6;
          bt6 (o, o + c, o + 2 * c, o + 3 * c, o + 4 * c, o + 5 * c, q[0], q[1], q[2], q[3], q[4], q[5], c);
        }
      for (int j = 0; j < 6; j++)
        {
          const float *q = tmp + (gsize) j * c;
          float *o = v + (gsize) j * c;
          gsize rs = (gsize) 6 * c;
          bt6 (o, o + rs, o + 2 * rs, o + 3 * rs, o + 4 * rs, o + 5 * rs,
               q, q + rs, q + 2 * rs, q + 3 * rs, q + 4 * rs, q + 5 * rs, c);
        }
    }
}

/* The body specialised for the usual widths: constant channel counts turn the short channel loops into
 * straight-line vector code with constant offsets. */
GAF_SIMD_CLONES
static void
input_transform4 (float *V, const float *in, const float *zero, float *tmp, gsize t0, int T,
                  int height, int width, int c)
{
  switch (c)
    {
    case 16: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 16); break;
    case 32: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 32); break;
    case 64: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 64); break;
    case 96: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 96); break;
    case 128: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 128); break;
    default: input_transform4_body (V, in, zero, tmp, t0, T, height, width, c); break;
    }
}

static inline __attribute__ ((always_inline)) void
output_transform4_body (float *out, const float *M, const float *bias, gsize bias_stride, const float *res,
                        const float *zero, float *tmp, gsize t0, int T, int height, int width, int c)
{
  int th = height / 4, tw = width / 4;
  int b = (int) (t0 / ((gsize) th * tw));
  int rem = (int) (t0 % ((gsize) th * tw));
  int ty = rem / tw, tx = rem % tw;

  for (int t = 0; t < T; t++)
    {
      const float *m = M + (gsize) t * 36 * c;
      gsize off = (((gsize) b * height + 4 * ty) * width + 4 * tx) * c;
      float *o = out + off;
      const float *rr = res ? res + off : NULL;
      const float *bb = bias ? bias + b * bias_stride : zero;
      gsize rs = (gsize) width * c;

      if (++tx == tw)
        {
          tx = 0;
          if (++ty == th)
            {
              ty = 0;
              b++;
            }
        }
      /* tmp[i][q] = (m A)[i][q] along each of the 6 rows, then Y[p][q] = (A^T tmp)[p][q] */
      for (int i = 0; i < 6; i++)
        {
          const float *q = m + (gsize) i * 6 * c;
          float *r = tmp + (gsize) i * 4 * c;
          at6 (r, r + c, r + 2 * c, r + 3 * c, q, q + c, q + 2 * c, q + 3 * c, q + 4 * c, q + 5 * c, c);
        }
      for (int j = 0; j < 4; j++)
        {
          const float *q = tmp + (gsize) j * c;
          gsize s4 = (gsize) 4 * c;
          float *oj = o + (gsize) j * c;
          const float *rj = rr ? rr + (gsize) j * c : NULL;
          at6_out (oj, oj + rs, oj + 2 * rs, oj + 3 * rs, rj, rj ? rj + rs : NULL, rj ? rj + 2 * rs : NULL,
                   rj ? rj + 3 * rs : NULL, q, q + s4, q + 2 * s4, q + 3 * s4, q + 4 * s4, q + 5 * s4, bb, c);
        }
    }
}

/* The body specialised for the usual widths: constant channel counts turn the short channel loops into
 * straight-line vector code with constant offsets. */
GAF_SIMD_CLONES
static void
output_transform4 (float *out, const float *M, const float *bias, gsize bias_stride, const float *res,
                   const float *zero, float *tmp, gsize t0, int T, int height, int width, int c)
{
  switch (c)
    {
    case 16: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, 16); break;
    case 32: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, 32); break;
    case 64: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, 64); break;
    case 96: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, 96); break;
    case 128: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, 128); break;
    default: output_transform4_body (out, M, bias, bias_stride, res, zero, tmp, t0, T, height, width, c); break;
    }
}

static inline __attribute__ ((always_inline)) void
output_transform_adjoint4_body (float *dM, const float *dout, float *tmp, gsize t0, int T, int height, int width, int c)
{
  int th = height / 4, tw = width / 4;
  int b = (int) (t0 / ((gsize) th * tw));
  int rem = (int) (t0 % ((gsize) th * tw));
  int ty = rem / tw, tx = rem % tw;

  for (int t = 0; t < T; t++)
    {
      float *m = dM + (gsize) t * 36 * c;
      const float *g = dout + (((gsize) b * height + 4 * ty) * width + 4 * tx) * c;
      gsize rs = (gsize) width * c;

      if (++tx == tw)
        {
          tx = 0;
          if (++ty == th)
            {
              ty = 0;
              b++;
            }
        }
      /* dM = A dY A^T: tmp[p][j] = (dY A^T)[p][j] along each of the 4 rows, then dM[r][j] = (A tmp)[r][j] */
      for (int p = 0; p < 4; p++)
        {
          const float *q = g + p * rs;
          float *r = tmp + (gsize) p * 6 * c;
          a4 (r, r + c, r + 2 * c, r + 3 * c, r + 4 * c, r + 5 * c, q, q + c, q + 2 * c, q + 3 * c, c);
        }
      for (int j = 0; j < 6; j++)
        {
          const float *q = tmp + (gsize) j * c;
          float *o = m + (gsize) j * c;
          gsize s6 = (gsize) 6 * c;
          a4 (o, o + s6, o + 2 * s6, o + 3 * s6, o + 4 * s6, o + 5 * s6, q, q + s6, q + 2 * s6, q + 3 * s6, c);
        }
    }
}

/* The body specialised for the usual widths: constant channel counts turn the short channel loops into
 * straight-line vector code with constant offsets. */
GAF_SIMD_CLONES
static void
output_transform_adjoint4 (float *dM, const float *dout, float *tmp, gsize t0, int T, int height, int width, int c)
{
  switch (c)
    {
    case 16: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, 16); break;
    case 32: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, 32); break;
    case 64: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, 64); break;
    case 96: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, 96); break;
    case 128: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, 128); break;
    default: output_transform_adjoint4_body (dM, dout, tmp, t0, T, height, width, c); break;
    }
}

/* Scratch layout: V (T P Cin), M (T P Cout), dU (P Cin Cout), tmp (P max C), zero (max C). */
typedef struct {
  int    P, T;
  float *V, *M, *dU, *tmp, *zero;
} WinoScratch;

static WinoScratch
wino_scratch (float *scratch, int m, int cin, int cout)
{
  WinoScratch w;

  w.P = (m + 2) * (m + 2);
  w.T = wino_block_tiles (w.P, cin, cout);
  w.V = scratch;
  w.M = w.V + (gsize) w.P * w.T * cin;
  w.dU = w.M + (gsize) w.P * w.T * cout;
  w.tmp = w.dU + (gsize) w.P * cin * cout;
  w.zero = w.tmp + (gsize) w.P * MAX (cin, cout);
  memset (w.zero, 0, MAX (cin, cout) * sizeof (float));
  return w;
}

/* out = winograd conv of in (Cin channels) with U (P, Cin, Cout) + bias (+ res). */
static void
winograd_conv (float *out, const float *in, const float *U, const float *bias, gsize bias_stride, const float *res,
               int cin, int cout, int m, int batch, int height, int width, float *scratch)
{
  WinoScratch w = wino_scratch (scratch, m, cin, cout);
  gsize total = (gsize) batch * (height / m) * (width / m);

  for (gsize t0 = 0; t0 < total; t0 += w.T)
    {
      int n = (int) MIN ((gsize) w.T, total - t0);
      if (m == 2)
        input_transform2 (w.V, in, w.zero, t0, n, height, width, cin);
      else
        input_transform4 (w.V, in, w.zero, w.tmp, t0, n, height, width, cin);
      for (int xi = 0; xi < w.P; xi++)
        gaf_sgemm (FALSE, FALSE, n, cout, cin, 1.0f, w.V + (gsize) xi * cin, w.P * cin,
                   U + (gsize) xi * cin * cout, cout, 0.0f, w.M + (gsize) xi * cout, w.P * cout);
      if (m == 2)
        output_transform2 (out, w.M, bias, bias_stride, res, w.zero, t0, n, height, width, cout);
      else
        output_transform4 (out, w.M, bias, bias_stride, res, w.zero, w.tmp, t0, n, height, width, cout);
    }
}

void
gaf_winograd_forward_ex (float *out, const float *in, const GafWinograd *wg, const float *bias, gsize bias_stride,
                         const float *residual, int batch, int height, int width, float *scratch)
{
  g_assert (wg->u != NULL && height % wg->m == 0 && width % wg->m == 0);
  winograd_conv (out, in, wg->u, bias, bias_stride, residual, wg->cin, wg->cout, wg->m, batch, height, width,
                 scratch);
}

void
gaf_winograd_forward (float *out, const float *in, const GafWinograd *wg, const float *bias,
                      int batch, int height, int width, float *scratch)
{
  gaf_winograd_forward_ex (out, in, wg, bias, 0, NULL, batch, height, width, scratch);
}

void
gaf_winograd_backward (float *din, float *dw, float *dbias, const float *dout, const float *in,
                       const GafWinograd *wg, int batch, int height, int width, float *scratch)
{
  int cin = wg->cin, cout = wg->cout, m = wg->m;

  g_assert (height % m == 0 && width % m == 0);
  gaf_bias_backward (dbias, dout, batch * height * width, cout);
  if (dw != NULL)
    {
      WinoScratch w = wino_scratch (scratch, m, cin, cout);
      gsize total = (gsize) batch * (height / m) * (width / m);

      memset (w.dU, 0, (gsize) w.P * cin * cout * sizeof (float));
      for (gsize t0 = 0; t0 < total; t0 += w.T)
        {
          int n = (int) MIN ((gsize) w.T, total - t0);
          if (m == 2)
            {
              input_transform2 (w.V, in, w.zero, t0, n, height, width, cin);
              output_transform_adjoint2 (w.M, dout, t0, n, height, width, cout);
            }
          else
            {
              input_transform4 (w.V, in, w.zero, w.tmp, t0, n, height, width, cin);
              output_transform_adjoint4 (w.M, dout, w.tmp, t0, n, height, width, cout);
            }
          /* dU[xi] (Cin, Cout) += V[:, xi]^T (Cin, n) dM[:, xi] (n, Cout) */
          for (int xi = 0; xi < w.P; xi++)
            gaf_sgemm (TRUE, FALSE, cin, cout, n, 1.0f, w.V + (gsize) xi * cin, w.P * cin,
                       w.M + (gsize) xi * cout, w.P * cout, 1.0f, w.dU + (gsize) xi * cin * cout, cout);
        }
      kernel_transform_adjoint (dw, w.dU, cin, cout, m, w.tmp);
    }
  if (din != NULL)
    {
      g_assert (wg->u_flip != NULL);
      winograd_conv (din, dout, wg->u_flip, NULL, 0, din, cout, cin, m, batch, height, width, scratch);
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

GAF_SIMD_CLONES
static void
affine_rows (float *restrict out, const float *restrict in, const float *restrict scale,
             const float *restrict shift, int n, int c, gboolean silu)
{
  for (int p = 0; p < n; p++)
    {
      const float *restrict x = in + (gsize) p * c;
      float *restrict y = out + (gsize) p * c;
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
groupnorm_forward (float *out, float *mean, float *rstd, const float *in, const float *g, const float *b,
                   int batch, int n, int c, int groups, gboolean silu)
{
  double *s1 = g_new (double, 2 * (gsize) c);
  double *s2 = s1 + c;
  float *scale = g_new (float, 2 * (gsize) c);
  float *shift = scale + c;

  g_assert (groups >= 1 && c % groups == 0);
  for (int bi = 0; bi < batch; bi++)
    {
      const float *x = in + (gsize) bi * n * c;
      channel_moments (s1, s2, x, n, c);
      group_affine (scale, shift, mean ? mean + (gsize) bi * groups : NULL, rstd ? rstd + (gsize) bi * groups : NULL,
                    s1, s2, g, b, n, c, groups);
      affine_rows (out + (gsize) bi * n * c, x, scale, shift, n, c, silu);
    }
  g_free (s1);
  g_free (scale);
}

void
gaf_groupnorm_forward (float *out, float *mean, float *rstd, const float *in, const float *g,
                       const float *b, int batch, int n, int c, int groups)
{
  groupnorm_forward (out, mean, rstd, in, g, b, batch, n, c, groups, FALSE);
}

void
gaf_groupnorm_silu_forward (float *out, float *mean, float *rstd, const float *in, const float *g,
                            const float *b, int batch, int n, int c, int groups)
{
  groupnorm_forward (out, mean, rstd, in, g, b, batch, n, c, groups, TRUE);
}

/* din += dy k1[c] + x k2[c] + k3[c] */
GAF_SIMD_CLONES
static void
gn_input_grad (float *restrict din, const float *restrict dy, const float *restrict x, const float *restrict k1,
               const float *restrict k2, const float *restrict k3, int n, int c)
{
  for (int p = 0; p < n; p++)
    {
      float *restrict d = din + (gsize) p * c;
      const float *restrict g = dy + (gsize) p * c;
      const float *restrict xr = x + (gsize) p * c;
      for (int j = 0; j < c; j++)
        d[j] += g[j] * k1[j] + xr[j] * k2[j] + k3[j];
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
    gn_input_grad (din, dy, x, k1, k2, k3, n, c);
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
silu_grad_moments (float *restrict da, double *restrict s1, double *restrict s2, const float *restrict x,
                   const float *restrict scale, const float *restrict shift, int n, int c)
{
  for (int j = 0; j < c; j++)
    s1[j] = s2[j] = 0.0;
  for (int p = 0; p < n; p++)
    {
      float *restrict d = da + (gsize) p * c;
      const float *restrict xr = x + (gsize) p * c;
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

void
gaf_groupnorm_silu_backward (float *din, float *dg, float *db, float *dout, const float *in,
                             const float *mean, const float *rstd, const float *g, const float *b,
                             int batch, int n, int c, int groups)
{
  double *s1 = g_new (double, 2 * (gsize) c);
  double *s2 = s1 + c;
  float *k = g_new (float, 5 * (gsize) c);
  float *scale = k + 3 * c, *shift = k + 4 * c;
  int cg = c / groups;

  for (int bi = 0; bi < batch; bi++)
    {
      const float *x = in + (gsize) bi * n * c;
      float *dy = dout + (gsize) bi * n * c;
      const float *mu = mean + (gsize) bi * groups, *rs = rstd + (gsize) bi * groups;
      for (int j = 0; j < c; j++)
        {
          scale[j] = rs[j / cg] * g[j];
          shift[j] = b[j] - mu[j / cg] * rs[j / cg] * g[j];
        }
      silu_grad_moments (dy, s1, s2, x, scale, shift, n, c);
      gn_backward_sample (din ? din + (gsize) bi * n * c : NULL, dg, db, dy, x, s1, s2, mu, rs, g, n, c, groups,
                          k, k + c, k + 2 * c);
    }
  g_free (s1);
  g_free (k);
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

void
gaf_attention_forward (float *out, float *probs, const float *qkv, int batch, int n, int c)
{
  float scale = 1.0f / sqrtf ((float) c);
  int ld = 3 * c;

  for (int b = 0; b < batch; b++)
    {
      const float *q = qkv + (gsize) b * n * ld, *k = q + c, *v = q + 2 * c;
      float *P = probs + (gsize) b * n * n;

      /* S = q k^T / sqrt(C), then a row softmax */
      gaf_sgemm (FALSE, TRUE, n, n, c, scale, q, ld, k, ld, 0.0f, P, n);
      for (int i = 0; i < n; i++)
        {
          float *row = P + (gsize) i * n, mx = row[0];
          double sum = 0.0;
          for (int j = 1; j < n; j++)
            mx = MAX (mx, row[j]);
          for (int j = 0; j < n; j++)
            {
              row[j] = expf (row[j] - mx);
              sum += row[j];
            }
          float inv = (float) (1.0 / sum);
          for (int j = 0; j < n; j++)
            row[j] *= inv;
        }
      gaf_sgemm (FALSE, FALSE, n, c, n, 1.0f, P, n, v, ld, 0.0f, out + (gsize) b * n * c, c);
    }
}

void
gaf_attention_backward (float *dqkv, const float *dout, const float *qkv, const float *probs,
                        int batch, int n, int c, float *scratch)
{
  float scale = 1.0f / sqrtf ((float) c);
  int ld = 3 * c;

  for (int b = 0; b < batch; b++)
    {
      const float *q = qkv + (gsize) b * n * ld, *k = q + c, *v = q + 2 * c;
      const float *P = probs + (gsize) b * n * n, *dO = dout + (gsize) b * n * c;
      float *dq = dqkv + (gsize) b * n * ld, *dk = dq + c, *dv = dq + 2 * c;
      float *dS = scratch;

      /* dV += P^T dO; dP = dO V^T; dS = P (dP - rowsum(P dP)); dQ += s dS K; dK += s dS^T Q */
      gaf_sgemm (TRUE, FALSE, n, c, n, 1.0f, P, n, dO, c, 1.0f, dv, ld);
      gaf_sgemm (FALSE, TRUE, n, n, c, 1.0f, dO, c, v, ld, 0.0f, dS, n);
      for (int i = 0; i < n; i++)
        {
          float *row = dS + (gsize) i * n;
          const float *p = P + (gsize) i * n;
          double dot = 0.0;
          for (int j = 0; j < n; j++)
            dot += (double) p[j] * row[j];
          for (int j = 0; j < n; j++)
            row[j] = p[j] * (row[j] - (float) dot);
        }
      gaf_sgemm (FALSE, FALSE, n, c, n, scale, dS, n, k, ld, 1.0f, dq, ld);
      gaf_sgemm (TRUE, FALSE, n, c, n, scale, dS, n, q, ld, 1.0f, dk, ld);
    }
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
