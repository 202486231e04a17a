/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <cblas.h>

#include "gaf-blas.h"
#include "gaf-parallel.h"
#include "gaf-profile.h"

/* The FLOP counter, an estimate for reports. Every product adds to it (thousands of times per image
 * evaluation), so one shared atomic would bounce its cache line between the engine threads: each thread
 * adds to a slot of its own (slots on separate cache lines, assigned in turn on a thread's first count;
 * threads beyond FLOP_SLOTS share slots, still atomically), and the total is the sum of the slots. */
#define FLOP_SLOTS 64
typedef struct {
  gsize count;
  char  pad[64 - sizeof (gsize)];
} FlopSlot;
static FlopSlot flop_slots[FLOP_SLOTS] __attribute__ ((aligned (64)));
static guint flop_next_slot;
static __thread FlopSlot *flop_slot;

void
gaf_sgemm (gboolean trans_a, gboolean trans_b, int m, int n, int k,
           float alpha, const float *a, int lda, const float *b, int ldb,
           float beta, float *c, int ldc)
{
  if (m <= 0 || n <= 0)
    return;
  if (k <= 0)
    {
      /* BLAS would also just scale C; keep it explicit so no implementation quirk matters. */
      for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++)
          c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
      return;
    }
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
               m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  gaf_blas_count_flops (2.0 * m * n * k);
}

void
gaf_blas_count_flops (double flops)
{
  if (G_UNLIKELY (flop_slot == NULL))
    flop_slot = &flop_slots[g_atomic_int_add (&flop_next_slot, 1) % FLOP_SLOTS];
  g_atomic_pointer_add (&flop_slot->count, (gssize) flops);
  if (G_UNLIKELY (gaf_profile_on))
    gaf_profile_count_flops (flops);
}

void
gaf_sgemm_naive (gboolean trans_a, gboolean trans_b, int m, int n, int k,
                 float alpha, const float *a, int lda, const float *b, int ldb,
                 float beta, float *c, int ldc)
{
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++)
      {
        double s = 0.0;
        for (int l = 0; l < k; l++)
          {
            double av = trans_a ? a[l * lda + i] : a[i * lda + l];
            double bv = trans_b ? b[j * ldb + l] : b[l * ldb + j];
            s += av * bv;
          }
        c[i * ldc + j] = (float) (alpha * s + (beta == 0.0f ? 0.0 : (double) beta * c[i * ldc + j]));
      }
}

void
gaf_blas_set_threads (int n_threads)
{
  gaf_parallel_set_threads ((guint) MAX (n_threads, 1));
}

int
gaf_blas_get_threads (void)
{
  return (int) gaf_parallel_get_threads ();
}

const char *
gaf_blas_core_name (void)
{
  return openblas_get_corename ();
}

double
gaf_blas_measure_gflops (int size, double seconds)
{
  gsize nn = (gsize) size * size;
  float *a = g_new (float, nn), *b = g_new (float, nn), *c = g_new0 (float, nn);
  gint64 start, now;
  int reps = 0;

  for (gsize i = 0; i < nn; i++)
    {
      a[i] = (float) ((i * 7919) % 101) / 101.0f - 0.5f;
      b[i] = (float) ((i * 104729) % 97) / 97.0f - 0.5f;
    }
  /* The same number of threads as the engine uses, here inside one BLAS call. */
  openblas_set_num_threads ((int) gaf_parallel_get_threads ());
  /* Warm up thread pool and caches. */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b, size, 0.0f, c, size);
  start = g_get_monotonic_time ();
  do
    {
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, size, size, size, 1.0f, a, size, b, size, 0.0f, c, size);
      reps++;
      now = g_get_monotonic_time ();
    }
  while ((now - start) < seconds * 1e6);
  openblas_set_num_threads (1);
  g_free (a);
  g_free (b);
  g_free (c);
  return 2.0 * (double) size * size * size * reps / ((now - start) * 1e-6) * 1e-9;
}

void
gaf_blas_flops_reset (void)
{
  for (int i = 0; i < FLOP_SLOTS; i++)
    g_atomic_pointer_set (&flop_slots[i].count, 0);
}

guint64
gaf_blas_flops (void)
{
  guint64 total = 0;

  for (int i = 0; i < FLOP_SLOTS; i++)
    total += (guint64) g_atomic_pointer_get (&flop_slots[i].count);
  return total;
}
