/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

/* What one training step's reduction costs on this machine or cluster (docs/scaling-out.md): the time of
 * MPI_Allreduce (MPI_SUM, in place) over N floats, as gaflow-cli runs it once per step over the gradient
 * arena plus the loss. Rank 0 prints one line per size: floats, bytes, median microseconds of `reps` calls,
 * and the algorithm bandwidth bytes / time.
 *
 *   mpirun -np R mpi-allreduce FLOATS... [--reps N] */

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int rank, size, reps = 50;

  MPI_Init (&argc, &argv);
  MPI_Comm_rank (MPI_COMM_WORLD, &rank);
  MPI_Comm_size (MPI_COMM_WORLD, &size);
  for (int a = 1; a < argc; a++)
    if (argv[a][0] == '-' && a + 1 < argc)
      reps = atoi (argv[++a]);
  if (reps < 1 || reps > 100000)
    reps = 50;
  if (rank == 0)
    printf ("processes %d, %d calls per size\n%12s %12s %12s %10s\n", size, reps, "floats", "bytes", "median_us",
            "GB/s");
  for (int a = 1; a < argc; a++)
    {
      long n;
      float *buf;
      double *t;

      if (argv[a][0] == '-')
        {
          a++;
          continue;
        }
      n = atol (argv[a]);
      if (n < 1 || n > 1L << 28)
        continue;
      buf = calloc ((size_t) n, sizeof (float));
      t = calloc ((size_t) reps, sizeof (double));
      if (buf == NULL || t == NULL)
        MPI_Abort (MPI_COMM_WORLD, 1);
      MPI_Allreduce (MPI_IN_PLACE, buf, (int) n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);   /* warm-up */
      for (int r = 0; r < reps; r++)
        {
          double t0;
          MPI_Barrier (MPI_COMM_WORLD);
          t0 = MPI_Wtime ();
          MPI_Allreduce (MPI_IN_PLACE, buf, (int) n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
          t[r] = MPI_Wtime () - t0;
        }
      /* the slowest process decides when a step can go on */
      MPI_Allreduce (MPI_IN_PLACE, t, reps, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      qsort (t, (size_t) reps, sizeof (double), cmp_double);
      if (rank == 0)
        printf ("%12ld %12ld %12.1f %10.2f\n", n, n * 4, t[reps / 2] * 1e6, n * 4 / t[reps / 2] * 1e-9);
      free (buf);
      free (t);
    }
  MPI_Finalize ();
  return 0;
}
