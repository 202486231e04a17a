/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <cblas.h>

#include "gaf-parallel.h"

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
  Job *job = item->job;

  job->func (item->task, job->n_tasks, job->data);
  g_mutex_lock (&lock);
  if (--job->pending == 0)
    g_cond_broadcast (&done_cond);
  g_mutex_unlock (&lock);
}

void
gaf_parallel_set_threads (guint n)
{
  n = CLAMP (n, 1, GAF_MAX_THREADS);
  n_threads = n;
  /* BLAS runs inside each part, one thread per part. */
  openblas_set_num_threads (1);
  if (n > 1)
    {
      if (pool == NULL)
        pool = g_thread_pool_new (worker, NULL, n - 1, TRUE, NULL);
      else
        g_thread_pool_set_max_threads (pool, n - 1, NULL);
    }
}

guint
gaf_parallel_get_threads (void)
{
  return n_threads;
}

void
gaf_parallel_run (guint n_tasks, GafTaskFunc func, gpointer user_data)
{
  Job job = { func, user_data, n_tasks, 0 };
  Item items[GAF_MAX_THREADS];

  g_return_if_fail (n_tasks >= 1 && n_tasks <= GAF_MAX_THREADS);
  if (n_tasks == 1 || pool == NULL)
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
      g_thread_pool_push (pool, &items[i], NULL);
    }
  func (0, n_tasks, user_data);
  g_mutex_lock (&lock);
  while (job.pending > 0)
    g_cond_wait (&done_cond, &lock);
  g_mutex_unlock (&lock);
}
