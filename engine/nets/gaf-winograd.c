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
#include "gaf-winograd.h"
#include "gaf-profile.h"
#include "gaf-simd-private.h"

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
/* The activated input of gaf_winograd_forward_act: a group of images' worth at a time, in L2 while the group's
 * tiles are transformed */
#define WINO_ACT_FLOATS (64 * 1024)
/* The same for the weight gradient's blocks: there the tiles are the products' inner dimension k, and each
 * block's dU (P, Cin, Cout) is read and written once per block, so short blocks spend their time on dU (64 x 64
 * channels: 8 tiles a block, products at 82 GFLOP/s on a Zen 4 core; 64 tiles: 104). Larger than L2 with
 * both halves: the products stream it well, and a UNet step was 2 % faster with 256 K than 64 K floats. */
#define WINO_DW_BLOCK_FLOATS (256 * 1024)

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

/* At most the L2-sized block (gaf_winograd_scratch_len counts that many), and a multiple of the product
 * kernel's register block: with cin = cout = 64 the block holds 14 tiles, which the 8-row AVX-512 kernel ran
 * as 8 + 6 rows, and 4 x 4 maps of 16 tiles as 14 + 2; 128 -> 64 channels gave 9 = 8 + 1. */
static int
wino_block_tiles_max (int floats, int points, int cin, int cout)
{
  int t = floats / (points * (cin + cout));
  return CLAMP (t, 4, 4096);
}

static int
wino_block_tiles (int floats, int points, int cin, int cout)
{
  int t = wino_block_tiles_max (floats, points, cin, cout), rows = gaf_gemm_small_rows ();

  if (rows > 1 && t > rows)
    t -= t % rows;
  return t;
}

/* The blocks' part of the scratch: V and M blocks, dU (P, Cin, Cout), the transforms' temporary (P C), a zero
 * row; for either tile */
static gsize
wino_blocks_len (int cin, int cout)
{
  gsize need = 0;

  for (int P = 16; P <= 36; P += 20)
    {
      int T = wino_block_tiles_max (MAX (WINO_BLOCK_FLOATS, WINO_DW_BLOCK_FLOATS), P, cin, cout);
      need = MAX (need, (gsize) P * T * (cin + cout) + (gsize) P * cin * cout + (gsize) P * MAX (cin, cout) +
                        MAX (cin, cout) + 16);
    }
  return need;
}

/* The groups of gaf_winograd_forward_act and gaf_winograd_backward_din_groups: *images per group (as many
 * as fit WINO_ACT_FLOATS of the convolution's input, at least one); returns the group's buffer in the scratch,
 * after the blocks' part */
static float *
wino_group (const GafWinograd *wg, int height, int width, int batch, float *scratch, int *images)
{
  gsize per = (gsize) height * width * wg->cin;

  *images = (int) CLAMP ((gsize) WINO_ACT_FLOATS / per, 1, (gsize) MAX (batch, 1));
  return scratch + wino_blocks_len (wg->cin, wg->cout);
}

gsize
gaf_winograd_scratch_len (const GafConv2dShape *s, int height, int width)
{
  /* and the activated input of gaf_winograd_forward_act */
  return wino_blocks_len (s->cin, s->cout) + MAX ((gsize) WINO_ACT_FLOATS, (gsize) height * width * s->cin);
}

void
gaf_winograd_clear (GafWinograd *wg)
{
  g_clear_pointer (&wg->u, g_aligned_free);
  g_clear_pointer (&wg->u_flip, g_aligned_free);
  wg->cin = wg->cout = wg->m = 0;
}

/* Both kernel transforms run in two separable passes over 16 output channels at a time, the alpha x 3
 * intermediate in registers: G g G^T as (G g) G^T is 3 alpha^2 + 9 alpha multiply-adds per (i, o) instead
 * of 9 alpha^2, and each weight is loaded once instead of once per point (the loads had bound the direct
 * nine-term sums). */
#define KT_W 16

/* u (P, ci, co) = G g G^T for every (i, o), from w (3, 3, ci, co). */
GAF_SIMD_CLONES
static void
kernel_transform (float *restrict u, const float *restrict w, int ci, int co, int m)
{
  int A = m + 2;
  const float (*G)[3] = m == 2 ? wino_g2 : wino_g4;
  gsize tap = (gsize) ci * co;

  for (int i = 0; i < ci; i++)
    for (int o0 = 0; o0 < co; o0 += KT_W)
      {
        int nw = MIN (KT_W, co - o0);
        float t[6][3][KT_W];
        const float *g = w + (gsize) i * co + o0;

        /* t[r][b] = sum_a G[r][a] g[a][b] */
        for (int r = 0; r < A; r++)
          for (int bb = 0; bb < 3; bb++)
            {
              const float *g0 = g + (gsize) bb * tap, *g1 = g0 + 3 * tap, *g2 = g1 + 3 * tap;
              float k0 = G[r][0], k1 = G[r][1], k2 = G[r][2];
              for (int o = 0; o < nw; o++)
                t[r][bb][o] = k0 * g0[o] + k1 * g1[o] + k2 * g2[o];
            }
        /* u[r][c] = sum_b t[r][b] G[c][b] */
        for (int r = 0; r < A; r++)
          for (int c = 0; c < A; c++)
            {
              float *dst = u + ((gsize) (r * A + c) * ci + i) * co + o0;
              float k0 = G[c][0], k1 = G[c][1], k2 = G[c][2];
              for (int o = 0; o < nw; o++)
                dst[o] = t[r][0][o] * k0 + t[r][1][o] * k1 + t[r][2][o] * k2;
            }
      }
}

/* 16 floats at any alignment, for the adjoint's accumulators */
typedef float KtVec __attribute__ ((vector_size (KT_W * sizeof (float)), aligned (sizeof (float))));

/* dw (3, 3, ci, co) += G^T dU G: per row r of the alpha x alpha points, t[b] = sum_c dU[r][c] G[c][b], then
 * the nine sums dw[a][b] += G[r][a] t[b], all in registers for 16 output channels; acc (co floats) holds
 * the narrower last chunk's sums. */
GAF_SIMD_CLONES
static void
kernel_transform_adjoint (float *restrict dw, const float *restrict dU, int ci, int co, int m, float *restrict acc)
{
  int A = m + 2;
  const float (*G)[3] = m == 2 ? wino_g2 : wino_g4;
  int co16 = co - co % KT_W;

  for (int i = 0; i < ci; i++)
    {
      for (int o0 = 0; o0 < co16; o0 += KT_W)
        {
          KtVec d[3][3] = { { { 0 } } };
          for (int r = 0; r < A; r++)
            {
              KtVec t0 = { 0 }, t1 = { 0 }, t2 = { 0 };
              for (int c = 0; c < A; c++)
                {
                  KtVec v = *(const KtVec *) (dU + ((gsize) (r * A + c) * ci + i) * co + o0);
                  t0 += v * G[c][0];
                  t1 += v * G[c][1];
                  t2 += v * G[c][2];
                }
              for (int aa = 0; aa < 3; aa++)
                {
                  d[aa][0] += t0 * G[r][aa];
                  d[aa][1] += t1 * G[r][aa];
                  d[aa][2] += t2 * G[r][aa];
                }
            }
          for (int aa = 0; aa < 3; aa++)
            for (int bb = 0; bb < 3; bb++)
              *(KtVec *) (dw + ((gsize) (aa * 3 + bb) * ci + i) * co + o0) += d[aa][bb];
        }
      for (int aa = 0; aa < 3; aa++)   /* the last co % 16 channels */
        for (int bb = 0; bb < 3; bb++)
          {
            for (int o = co16; o < co; o++)
              acc[o] = 0.0f;
            for (int r = 0; r < A; r++)
              for (int c = 0; c < A; c++)
                {
                  const float *src = dU + ((gsize) (r * A + c) * ci + i) * co;
                  float k = G[r][aa] * G[c][bb];
                  for (int o = co16; o < co; o++)
                    acc[o] += k * src[o];
                }
            for (int o = co16; o < co; o++)
              dw[((gsize) (aa * 3 + bb) * ci + i) * co + o] += acc[o];
          }
    }
}

void
gaf_winograd_prepare (GafWinograd *wg, const float *w, const GafConv2dShape *s, int tile, gboolean flipped)
{
  gsize n = (gsize) (tile + 2) * (tile + 2) * s->cin * s->cout;
  gsize tap = (gsize) s->cin * s->cout;
  GafProfMark mark;

  g_return_if_fail (s->kernel == 3 && s->stride == 1 && s->pad == 1 && (tile == 2 || tile == 4));
  if (wg->cin != s->cin || wg->cout != s->cout || wg->m != tile)
    {
      gaf_winograd_clear (wg);
      wg->cin = s->cin;
      wg->cout = s->cout;
      wg->m = tile;
    }
  /* on a cache line, as the network's buffers: the products read rows of u 16 floats at a time */
  if (wg->u == NULL)
    wg->u = g_aligned_alloc (n, sizeof (float), 64);
  gaf_profile_begin (&mark);
  kernel_transform (wg->u, w, s->cin, s->cout, tile);
  gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
  if (!flipped)
    return;
  if (wg->u_flip == NULL)
    wg->u_flip = g_aligned_alloc (n, sizeof (float), 64);
  /* flipped and transposed: g'[ky][kx][o][i] = w[2-ky][2-kx][i][o] */
  {
    float *wf = g_new (float, 9 * tap);
    gaf_conv2d_flip_kernel (wf, w, 3, s->cin, s->cout);
    gaf_profile_begin (&mark);
    kernel_transform (wg->u_flip, wf, s->cout, s->cin, tile);
    gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
    g_free (wf);
  }
}

/* Pixel (y, x) of the nearest 2x upsampling of image b of in (height / 2, width / 2), zero outside */
static inline const float *
up_pixel (const float *in, const float *zero, int b, int y, int x, int height, int width, int c)
{
  if (y < 0 || y >= height || x < 0 || x >= width)
    return zero;
  return in + (((gsize) b * (height / 2) + y / 2) * (width / 2) + x / 2) * c;
}

/* F(2x2, 3x3). The transforms are written out element by element, with the 16 points as separate
 * pointers: that is what lets GCC vectorise them over the channels (ivdep: they never overlap). */

/* V (T, 16, C) of tiles t0 .. t0 + T - 1 (numbered over (b, ty, tx)) of in (B, H, W, C). */
GAF_SIMD_CLONES
static void
input_transform2 (float *restrict V, const float *in, const float *zero, gsize t0, int T,
                 int height, int width, int c, gboolean up)
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

      if (up)   /* in is (height / 2, width / 2), read as its nearest upsampling */
        for (int i = 0; i < 4; i++)
          for (int j = 0; j < 4; j++)
            p[i * 4 + j] = up_pixel (in, zero, b, y0 + i, x0 + j, height, width, c);
      else if (y0 >= 0 && y0 + 4 <= height && x0 >= 0 && x0 + 4 <= width)
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
                int c, gboolean up)
{
  if (up)   /* in is (height / 2, width / 2), read as its nearest upsampling */
    {
      for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
          p[i * 6 + j] = up_pixel (in, zero, b, y0 + i, x0 + j, height, width, c);
      return;
    }
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
                  int height, int width, int c, gboolean up)
{
  int th = height / 4, tw = width / 4;
  int b = (int) (t0 / ((gsize) th * tw));
  int rem = (int) (t0 % ((gsize) th * tw));
  int ty = rem / tw, tx = rem % tw;

  for (int t = 0; t < T; t++)
    {
      const float *p[36];
      float *v = V + (gsize) t * 36 * c;

      tile_pointers6 (p, in, zero, b, 4 * ty - 1, 4 * tx - 1, height, width, c, up);
      /* the 4 columns of the next tile to the right that this one does not read, on their way to L1 while
       * this one is transformed (the input transform's share of a sampling evaluation in perf: 10.5 -> 9.9 %;
       * the same for the output transform's rows made it slower) */
      if (!up && t + 1 < T && tx + 1 < tw)
        for (int i = 0; i < 6; i++)
          if (p[i * 6 + 5] != zero)
            for (gsize q = 0; q < 4 * c * sizeof (float); q += 64)
              __builtin_prefetch ((const char *) (p[i * 6 + 5] + c) + q);
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
                  int height, int width, int c, gboolean up)
{
  switch (c)
    {
    case 16: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 16, up); break;
    case 32: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 32, up); break;
    case 64: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 64, up); break;
    case 96: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 96, up); break;
    case 128: input_transform4_body (V, in, zero, tmp, t0, T, height, width, 128, up); break;
    default: input_transform4_body (V, in, zero, tmp, t0, T, height, width, c, up); break;
    }
}

/* sums (B, 2, c) += the per-channel sum and sum of squares of the 4 x 4 output pixels at o (row stride rs),
 * which were just written (in L1): the GroupNorm statistics of the output, formed while it is produced.
 * Floats over the 16 pixels of a tile, doubles across tiles. */
static inline __attribute__ ((always_inline)) void
tile_sums4 (double *restrict sums, float *restrict acc, const float *o, gsize rs, int c)
{
  float *restrict a1 = acc, *restrict a2 = acc + c;

  /* a row of 4 pixels at a time, so each accumulator is read and written 4 times per tile, not 16 */
  for (int p = 0; p < 4; p++)
    {
      const float *restrict y0 = o + p * rs, *restrict y1 = y0 + c, *restrict y2 = y1 + c, *restrict y3 = y2 + c;
      if (p == 0)
        for (int k = 0; k < c; k++)
          {
            a1[k] = (y0[k] + y1[k]) + (y2[k] + y3[k]);
            a2[k] = (y0[k] * y0[k] + y1[k] * y1[k]) + (y2[k] * y2[k] + y3[k] * y3[k]);
          }
      else
        for (int k = 0; k < c; k++)
          {
            a1[k] += (y0[k] + y1[k]) + (y2[k] + y3[k]);
            a2[k] += (y0[k] * y0[k] + y1[k] * y1[k]) + (y2[k] * y2[k] + y3[k] * y3[k]);
          }
    }
  for (int k = 0; k < c; k++)
    {
      sums[k] += a1[k];
      sums[c + k] += a2[k];
    }
}

static inline __attribute__ ((always_inline)) void
output_transform4_body (float *out, const float *M, const float *bias, gsize bias_stride, const float *res,
                        double *sums, const float *zero, float *tmp, gsize t0, int T, int height, int width, int c)
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
      double *ss = sums ? sums + (gsize) b * 2 * c : NULL;
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
      if (ss != NULL)   /* tmp holds 6 x 4 rows of c; the accumulators go after them */
        tile_sums4 (ss, tmp + (gsize) 24 * c, o, rs, c);
    }
}

/* The body specialised for the usual widths: constant channel counts turn the short channel loops into
 * straight-line vector code with constant offsets. */
GAF_SIMD_CLONES
static void
output_transform4 (float *out, const float *M, const float *bias, gsize bias_stride, const float *res,
                   double *sums, const float *zero, float *tmp, gsize t0, int T, int height, int width, int c)
{
  switch (c)
    {
    case 16: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width,
                                       16); break;
    case 32: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width,
                                       32); break;
    case 64: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width,
                                       64); break;
    case 96: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width,
                                       96); break;
    case 128: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width,
                                       128); break;
    default: output_transform4_body (out, M, bias, bias_stride, res, sums, zero, tmp, t0, T, height, width, c);
      break;
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
wino_scratch (float *scratch, int floats, int m, int cin, int cout)
{
  WinoScratch w;

  w.P = (m + 2) * (m + 2);
  w.T = wino_block_tiles (floats, w.P, cin, cout);
  w.V = scratch;
  w.M = w.V + (gsize) w.P * w.T * cin;
  w.dU = w.M + (gsize) w.P * w.T * cout;
  w.tmp = w.dU + (gsize) w.P * cin * cout;
  w.zero = w.tmp + (gsize) w.P * MAX (cin, cout);
  memset (w.zero, 0, MAX (cin, cout) * sizeof (float));
  return w;
}

/* out = winograd conv of in (Cin channels) with U (P, Cin, Cout) + bias (+ res); sums (B, 2, Cout) of out, or
 * NULL. */
static void
winograd_conv (float *out, const float *in, gboolean up, const float *U, const float *bias, gsize bias_stride,
               const float *res, double *sums, int cin, int cout, int m, int batch, int height, int width,
               float *scratch)
{
  WinoScratch w = wino_scratch (scratch, WINO_BLOCK_FLOATS, m, cin, cout);
  gsize total = (gsize) batch * (height / m) * (width / m);
  double *sums4 = m == 4 ? sums : NULL;

  if (sums4 != NULL)
    memset (sums4, 0, (gsize) batch * 2 * cout * sizeof (double));

  for (gsize t0 = 0; t0 < total; t0 += w.T)
    {
      int n = (int) MIN ((gsize) w.T, total - t0);
      GafProfMark mark;

      gaf_profile_begin (&mark);
      if (m == 2)
        input_transform2 (w.V, in, w.zero, t0, n, height, width, cin, up);
      else
        input_transform4 (w.V, in, w.zero, w.tmp, t0, n, height, width, cin, up);
      gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
      gaf_profile_begin (&mark);
      gaf_gemm_small_batch (w.P, n, cout, cin, w.V, cin, (gsize) w.P * cin, 1, U, (gsize) cin * cout, cout, w.M,
                            cout, w.P * cout, FALSE);
      gaf_profile_end (GAF_PROF_WINO_GEMM, &mark);
      gaf_profile_begin (&mark);
      if (m == 2)
        output_transform2 (out, w.M, bias, bias_stride, res, w.zero, t0, n, height, width, cout);
      else
        output_transform4 (out, w.M, bias, bias_stride, res, sums4, w.zero, w.tmp, t0, n, height, width, cout);
      gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
    }
  if (sums != NULL && sums4 == NULL)   /* F(2x2): a pass over the output */
    {
      GafProfMark mark;
      gaf_profile_begin (&mark);
      gaf_channel_sums (sums, out, batch, height * width, cout);
      gaf_profile_end (GAF_PROF_GN_SILU, &mark);
    }
}

void
gaf_winograd_forward_ex (float *out, const float *in, const GafWinograd *wg, const float *bias, gsize bias_stride,
                         const float *residual, int batch, int height, int width, float *scratch)
{
  g_assert (wg->u != NULL && height % wg->m == 0 && width % wg->m == 0);
  winograd_conv (out, in, wg->up, wg->u, bias, bias_stride, residual, NULL, wg->cin, wg->cout, wg->m, batch, height,
                 width, scratch);
}

void
gaf_winograd_forward_sums (float *out, double *sums, const float *in, const GafWinograd *wg, const float *bias,
                           gsize bias_stride, const float *residual, int batch, int height, int width, float *scratch)
{
  g_assert (wg->u != NULL && height % wg->m == 0 && width % wg->m == 0);
  winograd_conv (out, in, wg->up, wg->u, bias, bias_stride, residual, sums, wg->cin, wg->cout, wg->m, batch, height,
                 width, scratch);
}

void
gaf_winograd_forward_act (float *out, double *sums, GafWinogradActFn act_fn, gpointer act_data, const GafWinograd *wg,
                          const float *bias, gsize bias_stride, const float *residual, int batch, int height,
                          int width, float *scratch)
{
  int G;
  gsize out_img = (gsize) height * width * wg->cout;
  float *act = wino_group (wg, height, width, batch, scratch, &G);

  g_assert (wg->u != NULL && !wg->up && height % wg->m == 0 && width % wg->m == 0);
  for (int b0 = 0; b0 < batch; b0 += G)
    {
      int n = MIN (G, batch - b0);
      GafProfMark mark;

      gaf_profile_begin (&mark);
      const float *in = act_fn (act, b0, n, act_data);
      gaf_profile_end (GAF_PROF_GN_SILU, &mark);
      winograd_conv (out + b0 * out_img, in, FALSE, wg->u, bias != NULL ? bias + b0 * bias_stride : NULL,
                     bias_stride, residual != NULL ? residual + b0 * out_img : NULL,
                     sums != NULL ? sums + (gsize) b0 * 2 * wg->cout : NULL, wg->cin, wg->cout, wg->m, n, height,
                     width, scratch);
    }
}

void
gaf_winograd_forward (float *out, const float *in, const GafWinograd *wg, const float *bias,
                      int batch, int height, int width, float *scratch)
{
  gaf_winograd_forward_ex (out, in, wg, bias, 0, NULL, batch, height, width, scratch);
}

/* dbias (C) += the sums over the block's n tiles of dM at the point (1, 1): its row and column of A are
 * all ones (the interpolation point 1), so that entry of A dY A^T is the tile's sum of dY. */
static void
bias_from_adjoint (float *restrict dbias, const float *restrict M, int n, int P, int m, int c)
{
  int xi = (m + 2) + 1;

  for (int t = 0; t < n; t++)
    {
      const float *restrict r = M + ((gsize) t * P + xi) * c;
      for (int k = 0; k < c; k++)
        dbias[k] += r[k];
    }
}

void
gaf_winograd_backward_ex (float *din, float *dw, float *dbias, const float *dout, const float *in,
                          const GafWinograd *wg, int batch, int height, int width, gboolean din_add, float *scratch)
{
  int cin = wg->cin, cout = wg->cout, m = wg->m;

  g_assert (height % m == 0 && width % m == 0);
  if (dw == NULL)
    gaf_bias_backward (dbias, dout, batch * height * width, cout);
  else
    {
      /* the weight gradient's blocks: its own block size (WINO_DW_BLOCK_FLOATS) */
      WinoScratch w = wino_scratch (scratch, WINO_DW_BLOCK_FLOATS, m, cin, cout);
      gsize total = (gsize) batch * (height / m) * (width / m);

      /* dU is written by the first block's products and added to by the rest (no pass zeroing it) */
      for (gsize t0 = 0; t0 < total; t0 += w.T)
        {
          int n = (int) MIN ((gsize) w.T, total - t0);
          GafProfMark mark;

          gaf_profile_begin (&mark);
          if (m == 2)
            {
              input_transform2 (w.V, in, w.zero, t0, n, height, width, cin, wg->up);
              output_transform_adjoint2 (w.M, dout, t0, n, height, width, cout);
            }
          else
            {
              input_transform4 (w.V, in, w.zero, w.tmp, t0, n, height, width, cin, wg->up);
              output_transform_adjoint4 (w.M, dout, w.tmp, t0, n, height, width, cout);
            }
          /* the bias gradient from the transformed dY, which every tile's pixel enters exactly once */
          if (dbias != NULL)
            bias_from_adjoint (dbias, w.M, n, w.P, m, cout);
          gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
          gaf_profile_begin (&mark);
          /* dU[xi] (Cin, Cout) += V[:, xi]^T (Cin, n) dM[:, xi] (n, Cout) */
          gaf_gemm_small_batch (w.P, cin, cout, n, w.V, cin, 1, (gsize) w.P * cin, w.M, cout, w.P * cout, w.dU,
                                (gsize) cin * cout, cout, t0 > 0);
          gaf_profile_end (GAF_PROF_WINO_GEMM, &mark);
        }
      {
        GafProfMark mark;
        gaf_profile_begin (&mark);
        kernel_transform_adjoint (dw, w.dU, cin, cout, m, w.tmp);
        gaf_profile_end (GAF_PROF_WINO_TRANSFORM, &mark);
      }
    }
  if (din != NULL)
    {
      g_assert (wg->u_flip != NULL);
      winograd_conv (din, dout, FALSE, wg->u_flip, NULL, 0, din_add ? din : NULL, NULL, cout, cin, m, batch, height,
                     width, scratch);
    }
}

void
gaf_winograd_backward_din_groups (const float *dout, const GafWinograd *wg, int batch, int height, int width,
                                  GafWinogradDinFn fn, gpointer data, float *scratch)
{
  int G;
  gsize dout_img = (gsize) height * width * wg->cout;
  float *din = wino_group (wg, height, width, batch, scratch, &G);

  g_assert (wg->u_flip != NULL && !wg->up && height % wg->m == 0 && width % wg->m == 0);
  for (int b0 = 0; b0 < batch; b0 += G)
    {
      int n = MIN (G, batch - b0);
      winograd_conv (din, dout + b0 * dout_img, FALSE, wg->u_flip, NULL, 0, NULL, NULL, wg->cout, wg->cin, wg->m, n,
                     height, width, scratch);
      fn (din, b0, n, data);
    }
}

void
gaf_winograd_backward (float *din, float *dw, float *dbias, const float *dout, const float *in,
                       const GafWinograd *wg, int batch, int height, int width, float *scratch)
{
  gaf_winograd_backward_ex (din, dw, dbias, dout, in, wg, batch, height, width, TRUE, scratch);
}
