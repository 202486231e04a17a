/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* See gaf-simd-private.h (the gradient sum vectorises). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("tree-vectorize", "vect-cost-model=dynamic", "no-trapping-math")
#endif

#include <cblas.h>
#include <string.h>

#include "gaf-parallel.h"
#include "gaf-simd-private.h"
#include "gaf-tsan.h"

static guint        n_threads = 1;
static GThreadPool *pool;
static GMutex       lock;
static GCond        done_cond;

typedef struct {
  GafTaskFunc func;
  gpointer    data;
  guint       n_tasks;
  guint       pending;
} Job;

typedef struct {
  Job  *job;
  guint task;
} Item;

static void
worker (gpointer item_ptr, gpointer unused)
{
  Item *item = item_ptr;
  Job *job;

  gaf_tsan_receive (item);
  job = item->job;
  job->func (item->task, job->n_tasks, job->data);
  gaf_mutex_lock (&lock);
  if (--job->pending == 0)
    g_cond_broadcast (&done_cond);
  gaf_mutex_unlock (&lock);
}

/* Process-wide, and set from any thread: two runners (the split view) set it from their engine threads
 * while the other trains (TSan caught the plain store). */
void
gaf_parallel_set_threads (guint n)
{
  n = CLAMP (n, 1, GAF_MAX_THREADS);
  g_atomic_int_set (&n_threads, n);
  /* BLAS runs inside each part, one thread per part. */
  openblas_set_num_threads (1);
  if (n > 1)
    {
      gaf_mutex_lock (&lock);
      if (pool == NULL)
        g_atomic_pointer_set (&pool, g_thread_pool_new (worker, NULL, n - 1, TRUE, NULL));
      else
        g_thread_pool_set_max_threads (pool, n - 1, NULL);
      gaf_mutex_unlock (&lock);
    }
}

guint
gaf_parallel_get_threads (void)
{
  return g_atomic_int_get (&n_threads);
}

void
gaf_parallel_run (guint n_tasks, GafTaskFunc func, gpointer user_data)
{
  Job job = { func, user_data, n_tasks, 0 };
  Item items[GAF_MAX_THREADS];
  GThreadPool *workers = g_atomic_pointer_get (&pool);

  g_return_if_fail (n_tasks >= 1 && n_tasks <= GAF_MAX_THREADS);
  if (n_tasks == 1 || workers == NULL)
    {
      for (guint i = 0; i < n_tasks; i++)
        func (i, n_tasks, user_data);
      return;
    }
  job.pending = n_tasks - 1;
  for (guint i = 1; i < n_tasks; i++)
    {
      items[i].job = &job;
      items[i].task = i;
      gaf_tsan_send (&items[i]);
      g_thread_pool_push (workers, &items[i], NULL);
    }
  func (0, n_tasks, user_data);
  gaf_mutex_lock (&lock);
  while (job.pending > 0)
    gaf_cond_wait (&done_cond, &lock);
  gaf_mutex_unlock (&lock);
}

float *
gaf_parallel_part_grad (guint part, float *arena_grad, float **buf, gsize size)
{
  if (part == 0)
    return arena_grad;
  if (*buf == NULL)
    *buf = g_new (float, size);
  memset (*buf, 0, size * sizeof (float));
  return *buf;
}

typedef struct {
  float        *grad;
  float *const *parts;
  guint         n_parts;
  gsize         size;
} SumJob;

GAF_SIMD_CLONES static void
sum_task (guint k, guint n_tasks, gpointer data)
{
  SumJob *job = data;
  gsize lo = job->size * k / n_tasks, hi = job->size * (k + 1) / n_tasks;
  float *restrict g = job->grad;

  for (guint p = 1; p < job->n_parts; p++)
    {
      const float *restrict gp = job->parts[p];
      for (gsize i = lo; i < hi; i++)
        g[i] += gp[i];
    }
}

void
gaf_parallel_sum_grads (float *grad, float *const *parts, guint n_parts, gsize size)
{
  SumJob job = { grad, parts, n_parts, size };

  if (n_parts > 1)
    gaf_parallel_run (gaf_parallel_get_threads (), sum_task, &job);
}
