/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The engine's own register-blocked products for the shapes of the image layers: few columns (the output
 * channels, n a multiple of 16, up to a few hundred), short sums (k = input channels), any number of rows.
 * OpenBLAS's speed on these shapes depends on the kernel the environment makes it pick (OPENBLAS_CORETYPE),
 * and its packing costs as much as the product when m is a few dozen rows; these kernels read A and B in
 * place. The kernel is chosen once from the CPU's features at run time (AVX-512F, else AVX2 + FMA, else
 * OpenBLAS).
 *
 * C (m, n) = A (m, k) B (k, n), or C += A B when accumulate; A's element (i, l) is a[i * rsa + l * csa]
 * (rsa = k, csa = 1 for a row-major A; rsa = 1, csa = lda for A^T), B and C row-major with row strides
 * ldb and ldc. Any n works; columns beyond the last multiple of 16 go through OpenBLAS. */
void        gaf_gemm_small (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *b, int ldb,
                            float *c, int ldc, gboolean accumulate);

/* count products of the same shape, the i-th from a + i sa, b + i sb into c + i sc (the Winograd points'
 * products of a block of tiles): the FLOP counter (gaf-blas.h) is added to once for all of them. */
void        gaf_gemm_small_batch (int count, int m, int n, int k, const float *a, gsize sa, gsize rsa, gsize csa,
                                  const float *b, gsize sb, int ldb, float *c, gsize sc, int ldc,
                                  gboolean accumulate);

/* The same product with B given as its transpose: C (m, n) (+)= A (m, k) bt^T with bt (n, k) row-major, row
 * stride ldbt. This is a layer's input gradient din = dout W^T with the weight W itself as bt. Panels of 64
 * columns of B are copied into a buffer first (k x 64 floats, 1/m of the panel's products). */
void        gaf_gemm_small_bt (int m, int n, int k, const float *a, gsize rsa, gsize csa, const float *bt,
                               int ldbt, float *c, int ldc, gboolean accumulate);

/* t (cols, rows) = s x^T for x (rows, cols): row strides ld of x, ldt of t; t and x do not overlap. With the
 * AVX-512 kernel in 16 x 16 blocks in registers (an element-by-element transpose writes one float per cache
 * line), the edges and other kernels 16 rows of x at a time. Layers transpose weights once per step for their
 * input gradients, attention its keys (scaled) and values. */
void        gaf_transpose     (float *t, gsize ldt, const float *x, gsize ld, int rows, int cols, float s);

/* Rows of C per register block of the kernel in use (8 for AVX-512, 6 for AVX2, 1 for OpenBLAS): callers
 * that choose how many rows a product gets (the Winograd tile blocks) make it a multiple of this, since a
 * last partial block runs at the fraction of the kernel's rate that its rows fill. */
int         gaf_gemm_small_rows (void);

/* The kernels this CPU can run: "avx512", "avx2", "blas" (always). */
gboolean    gaf_gemm_small_available (const char *kernel);
/* The kernel in use; gaf_gemm_small_use() picks one of the available ones (tests compare them all),
 * NULL returns to the CPU's best. */
const char *gaf_gemm_small_kernel (void);
gboolean    gaf_gemm_small_use (const char *kernel);

/* Products with bf16 inputs and float sums, for sampling in bf16 (gaf_unet_set_precision): vdpbf16ps takes
 * two bf16 products into each float lane, twice the flops of a float FMA. Only on CPUs with AVX-512 BF16
 * (gaf_bf16_available); elsewhere these functions refuse (g_return_if_fail) and callers stay in float.
 * Every input is rounded to the nearest bf16 (8 significant bits, ties to even); the sums are floats.
 *
 * B (k, n) is packed once into pairs along k, gaf_bf16_packed_len (k, n) 32-bit words: word (l, j) holds
 * B (2l, j) and B (2l + 1, j) (zero past an odd k), rows of (n rounded up to 16) words. gaf_bf16_pack_t
 * packs the same from bt = B^T (n, k) row-major (attention's keys). */
gboolean gaf_bf16_available  (void);
gsize    gaf_bf16_packed_len (int k, int n);
void     gaf_bf16_pack       (guint32 *bp, const float *b, gsize ldb, int k, int n);
void     gaf_bf16_pack_t     (guint32 *bp, const float *bt, gsize ldbt, int k, int n);
/* C (m, n) (+)= A (m, k) B with A row-major (row stride lda), rounded to bf16 as it is read, and B packed. */
void     gaf_gemm_bf16       (int m, int n, int k, const float *a, gsize lda, const guint32 *bp, float *c,
                              int ldc, gboolean accumulate);

G_END_DECLS
