/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Row-major C = alpha op(A) op(B) + beta C, op(X) = X or X^T; A is M x K after op, B is K x N. */
void   gaf_sgemm       (gboolean trans_a, gboolean trans_b, int m, int n, int k,
                        float alpha, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc);
/* The same product by plain loops (double accumulation): the reference the tests compare against. */
void   gaf_sgemm_naive (gboolean trans_a, gboolean trans_b, int m, int n, int k,
                        float alpha, const float *a, int lda, const float *b, int ldb,
                        float beta, float *c, int ldc);

/* Engine threads: batches are split over this many threads, each running single-threaded BLAS. */
void   gaf_blas_set_threads (int n_threads);
int    gaf_blas_get_threads (void);
const char *gaf_blas_core_name (void);
/* Measured sgemm rate (GFLOP/s) on square matrices of the given size for about `seconds`. */
double gaf_blas_measure_gflops (int size, double seconds);

/* Floating point operations counter for the engine's own throughput reports (sgemm and the engine's own products). */
void    gaf_blas_flops_reset (void);
void    gaf_blas_count_flops (double flops);   /* products outside gaf_sgemm report here */
guint64 gaf_blas_flops       (void);

G_END_DECLS
