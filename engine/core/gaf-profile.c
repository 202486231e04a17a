/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <time.h>

#include "gaf-profile.h"
#include "gaf-tsan.h"

gboolean gaf_profile_on = FALSE;

static const char *const kind_names[GAF_PROF_N_KINDS] = {
  "Winograd 3x3 products", "Winograd transforms", "1x1 convolutions", "in/out convs",
  "GroupNorm + SiLU", "attention", "up/down-sampling", "time embedding", "Adam + EMA",
};

/* Totals under a mutex: a section ends at most a few thousand times per training step. */
static GMutex lock;
static double total_ns[GAF_PROF_N_KINDS], total_flops[GAF_PROF_N_KINDS];
/* Flops of the products run by this thread so far (only read as differences). */
static __thread double thread_flops;

static gint64
now_ns (void)
{
  struct timespec ts;

  /* the thread's CPU time: on a shared machine the time a thread waits for a core is nobody's layer */
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (gint64) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void
gaf_profile_enable (gboolean on)
{
  gaf_profile_on = on;
}

void
gaf_profile_reset (void)
{
  gaf_mutex_lock (&lock);
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    total_ns[k] = total_flops[k] = 0.0;
  gaf_mutex_unlock (&lock);
}

const char *
gaf_profile_name (GafProfKind kind)
{
  g_return_val_if_fail (kind < GAF_PROF_N_KINDS, NULL);
  return kind_names[kind];
}

void
gaf_profile_get (GafProfKind kind, double *seconds, double *flops)
{
  g_return_if_fail (kind < GAF_PROF_N_KINDS);
  gaf_mutex_lock (&lock);
  if (seconds)
    *seconds = total_ns[kind] * 1e-9;
  if (flops)
    *flops = total_flops[kind];
  gaf_mutex_unlock (&lock);
}

void
gaf_profile_count_flops (double flops)
{
  thread_flops += flops;
}

void
gaf_profile_begin_real (GafProfMark *mark)
{
  mark->flops = thread_flops;
  mark->ns = now_ns ();
}

void
gaf_profile_end_real (GafProfKind kind, const GafProfMark *mark)
{
  gint64 ns = now_ns () - mark->ns;
  double f = thread_flops - mark->flops;

  g_return_if_fail (kind < GAF_PROF_N_KINDS);
  gaf_mutex_lock (&lock);
  total_ns[kind] += (double) ns;
  total_flops[kind] += f;
  gaf_mutex_unlock (&lock);
}
