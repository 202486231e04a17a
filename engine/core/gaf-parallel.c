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

/* Workers 1 .. GAF_MAX_THREADS - 1, started when first needed and kept (task 0 runs on the caller). Each
 * has a mailbox: the caller writes the job into it and then bumps its generation; the worker, which
 * spins on the generation for a while after each task and sleeps on a condition only when nothing
 * came, runs the task and publishes the generation as done. A training step hands out about ten jobs
 * of a few hundred microseconds each: a GThreadPool push woke its worker through the kernel every
 * time (17 us per job on this machine's VM, and the worker started late by as much), spinning takes a
 * job in well under a microsecond. The hand-over is by atomics (seen by ThreadSanitizer); the mutex and
 * the conditions only put threads to sleep and wake them. Sleeping follows Dekker's pattern: a waiter
 * announces that it sleeps and then checks the generation, the other side stores the generation and
 * then checks the announcement, both sequentially consistent, so one of them sees the other. */

/* Spinning lasts about this long before a thread sleeps (the gaps between the jobs of a step are far
 * shorter; an idle engine stops spinning after this). */
#define SPIN_USEC 200

typedef struct {
  guint       generation;   /* atomic: bumped by the caller for each job */
  guint       done;         /* atomic: the generation whose task has finished */
  gint        sleeping;     /* atomic: the worker waits on `wake` */
  GafTaskFunc func;         /* the job, written before the generation is bumped */
  gpointer    data;
  guint       task, n_tasks;
} Mailbox;

static guint   n_threads = 1;
static guint   n_workers;                   /* started (atomic) */
static Mailbox box[GAF_MAX_THREADS];        /* [0] unused: task 0 is the caller's */
static GMutex  dispatch;                    /* one job at a time (two runners may call at once) */
static GMutex  lock;                        /* for the conditions only */
static GCond   wake, done_cond;
static gint    caller_sleeping;             /* atomic: the caller waits on done_cond */
static GPrivate inside_task;                /* set on a thread while it runs a task */

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* Waits until *word != old without sleeping, for about SPIN_USEC; TRUE if it changed. The first rounds
 * only pause; later ones yield the core, so that on a machine with more runnable threads than cores the
 * thread being waited for (or anyone else) gets it. */
static gboolean
spin_while_equal (const guint *word, guint old)
{
  gint64 until = 0;

  for (guint i = 1;; i++)
    {
      if ((guint) g_atomic_int_get (word) != old)
        return TRUE;
      if (i < 1024)
        {
          cpu_relax ();
          continue;
        }
      g_thread_yield ();
      if (i % 16 == 0)
        {
          gint64 now = g_get_monotonic_time ();
          if (until == 0)
            until = now + SPIN_USEC;
          else if (now >= until)
            return FALSE;
        }
    }
}

static gpointer
worker (gpointer data)
{
  Mailbox *mb = data;
  guint seen = 0;

  g_private_set (&inside_task, GINT_TO_POINTER (1));
  for (;;)
    {
      guint gen;

      if (!spin_while_equal (&mb->generation, seen))
        {
          g_mutex_lock (&lock);
          g_atomic_int_set (&mb->sleeping, 1);
          while ((guint) g_atomic_int_get (&mb->generation) == seen)
            g_cond_wait (&wake, &lock);
          g_atomic_int_set (&mb->sleeping, 0);
          g_mutex_unlock (&lock);
        }
      gen = (guint) g_atomic_int_get (&mb->generation);
      mb->func (mb->task, mb->n_tasks, mb->data);
      g_atomic_int_set (&mb->done, gen);
      if (g_atomic_int_get (&caller_sleeping))
        {
          g_mutex_lock (&lock);
          g_cond_broadcast (&done_cond);
          g_mutex_unlock (&lock);
        }
      seen = gen;
    }
  return NULL;
}

/* Starts workers 1 .. n - 1 that are not running yet. */
static void
ensure_workers (guint n)
{
  if ((guint) g_atomic_int_get (&n_workers) + 1 >= n)
    return;
  g_mutex_lock (&lock);
  for (guint w = g_atomic_int_get (&n_workers) + 1; w < n; w++)
    {
      g_autofree char *name = g_strdup_printf ("gaf-worker-%u", w);
      g_thread_unref (g_thread_new (name, worker, &box[w]));
      g_atomic_int_set (&n_workers, w);
    }
  g_mutex_unlock (&lock);
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
  ensure_workers (n);
}

guint
gaf_parallel_get_threads (void)
{
  return g_atomic_int_get (&n_threads);
}

void
gaf_parallel_run (guint n_tasks, GafTaskFunc func, gpointer user_data)
{
  g_return_if_fail (n_tasks >= 1 && n_tasks <= GAF_MAX_THREADS);
  /* one task, or a task that runs a job of its own: all on this thread, in order */
  if (n_tasks == 1 || g_private_get (&inside_task) != NULL)
    {
      for (guint i = 0; i < n_tasks; i++)
        func (i, n_tasks, user_data);
      return;
    }
  ensure_workers (n_tasks);
  g_mutex_lock (&dispatch);
  for (guint w = 1; w < n_tasks; w++)
    {
      Mailbox *mb = &box[w];
      mb->func = func;
      mb->data = user_data;
      mb->task = w;
      mb->n_tasks = n_tasks;
      g_atomic_int_inc (&mb->generation);
      if (g_atomic_int_get (&mb->sleeping))
        {
          g_mutex_lock (&lock);
          g_cond_broadcast (&wake);
          g_mutex_unlock (&lock);
        }
    }
  g_private_set (&inside_task, GINT_TO_POINTER (1));
  func (0, n_tasks, user_data);
  g_private_set (&inside_task, NULL);
  for (guint w = 1; w < n_tasks; w++)
    {
      Mailbox *mb = &box[w];
      guint gen = (guint) g_atomic_int_get (&mb->generation);

      if ((guint) g_atomic_int_get (&mb->done) == gen)
        continue;
      /* spin_while_equal waits for a change of done; done only ever moves to gen */
      if (!spin_while_equal (&mb->done, gen - 1) && (guint) g_atomic_int_get (&mb->done) != gen)
        {
          g_mutex_lock (&lock);
          g_atomic_int_set (&caller_sleeping, 1);
          while ((guint) g_atomic_int_get (&mb->done) != gen)
            g_cond_wait (&done_cond, &lock);
          g_atomic_int_set (&caller_sleeping, 0);
          g_mutex_unlock (&lock);
        }
    }
  g_mutex_unlock (&dispatch);
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
