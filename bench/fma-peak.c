/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib.h>
#include <stdio.h>
#include <time.h>

/* The float FMA rate this CPU reaches, the ceiling of any float product (docs/bench.md, issue 18 part 7):
 * twelve independent chains of vfmadd231ps (enough to cover the FMA latency on any x86-64 CPU with two FMA
 * pipes) on zmm (AVX-512) and ymm (AVX2) registers, 1 and 2 threads at once, each thread's best of 20 runs of
 * 24 million FMAs by its own CPU time (so time spent waiting for a core does not count); and the clock, as
 * the rate of a chain of dependent integer adds (one per cycle). GFLOP/s count 2 flops per lane per FMA.
 *
 *   fma-peak */

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))

#define ITERS 2000000L
#define REPS 20

typedef double (*RunFunc) (void);

static double
thread_seconds (void)
{
  struct timespec t;

  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

/* 12 FMAs per iteration into 12 registers that nothing else reads (clobbered, so the compiler keeps none) */
#define FMA12(R) \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "0\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "1\n\t" \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "2\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "3\n\t" \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "4\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "5\n\t" \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "6\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "7\n\t" \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "8\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "9\n\t" \
  "vfmadd231ps %%" R "12, %%" R "13, %%" R "10\n\t vfmadd231ps %%" R "12, %%" R "13, %%" R "11\n\t"

/* run_NAME: the best of REPS runs of ITERS x 12 FMAs on R registers of LANES floats, in GFLOP/s of this thread */
#define DEFINE_RUN(NAME, TARGET, R, LANES) \
  __attribute__ ((target (TARGET))) static double \
  run_##NAME (void) \
  { \
    double best = 0.0; \
    for (int r = 0; r < REPS; r++) \
      { \
        double t0 = thread_seconds (); \
        for (long i = 0; i < ITERS; i++) \
          __asm__ volatile (FMA12 (R) ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", \
                            "xmm9", "xmm10", "xmm11"); \
        best = MAX (best, ITERS * 12 * 2.0 * (LANES) / (thread_seconds () - t0) * 1e-9); \
      } \
    return best; \
  }

DEFINE_RUN (zmm, "avx512f", "zmm", 16)
DEFINE_RUN (ymm, "avx2,fma", "ymm", 8)

typedef struct {
  RunFunc run;
  double  gflops;
} Job;

static gpointer
run_thread (gpointer data)
{
  Job *job = data;

  job->gflops = job->run ();
  return NULL;
}

/* the function once on this thread, then on two threads at once */
static void
report (const char *name, RunFunc run)
{
  Job jobs[2] = { { run, 0.0 }, { run, 0.0 } };
  double one = run ();
  GThread *t[2];

  for (int i = 0; i < 2; i++)
    t[i] = g_thread_new ("fma", run_thread, &jobs[i]);
  for (int i = 0; i < 2; i++)
    g_thread_join (t[i]);
  printf ("%s FMA: 1 thread %.1f GFLOP/s; 2 threads %.1f + %.1f GFLOP/s\n", name, one, jobs[0].gflops,
          jobs[1].gflops);
}

int
main (void)
{
  double clock = 0.0;

  for (int r = 0; r < 10; r++)
    {
      long n = 100000000L;
      unsigned long x = 0;
      double t0 = thread_seconds ();
      __asm__ volatile ("1:\n\t add $1, %0\n\t add $1, %0\n\t add $1, %0\n\t add $1, %0\n\t dec %1\n\t jnz 1b"
                        : "+r" (x), "+r" (n));
      clock = MAX (clock, 4e8 / (thread_seconds () - t0) * 1e-9);
    }
  printf ("clock (dependent integer adds): %.2f GHz\n", clock);
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx512f"))
    report ("zmm (AVX-512)", run_zmm);
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma"))
    report ("ymm (AVX2)", run_ymm);
  return 0;
}

#else

int
main (void)
{
  printf ("fma-peak: x86-64 only\n");
  return 0;
}

#endif
