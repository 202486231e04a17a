/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The processes of one gaflow-cli run (docs/scaling-out.md). Built with MPI (meson -Dmpi) and started by
 * mpirun, they are MPI_COMM_WORLD; otherwise (no MPI in the build, or a plain start) there is one process,
 * rank 0 of 1, and nothing here touches MPI. Only the main thread calls these (MPI_THREAD_FUNNELED): the
 * engine's worker threads never do. */

/* Initialises MPI when the process was started by an MPI launcher; call first in main(). */
void     gaf_cli_mpi_init   (int *argc, char ***argv);
/* Ends the run with exit status rc: MPI_Finalize after success; after a failure of a multi-process run,
 * MPI_Abort, so that no other process waits forever in a collective this one will never join. */
int      gaf_cli_mpi_finish (int rc);
/* FALSE with a GError when an MPI launcher started several copies of a gaflow-cli built without MPI. */
gboolean gaf_cli_mpi_check_launch (GError **error);
int      gaf_cli_mpi_rank   (void);
int      gaf_cli_mpi_size   (void);
/* Rank 0: the one process that prints progress and results and writes files. */
gboolean gaf_cli_mpi_is_root (void);
/* "MPI" or "one process" (no MPI in this build). */
const char *gaf_cli_mpi_description (void);

/* A GafReduceFunc: data (count floats) <- the sum over every process, in place (MPI_Allreduce). */
gboolean gaf_cli_mpi_sum    (float *data, gsize count, gpointer user_data, GError **error);
/* A GafReduceF64Func: the same for doubles (a network's statistics, such as BatchNorm's sums). */
gboolean gaf_cli_mpi_sum_f64 (double *data, gsize count, gpointer user_data, GError **error);
/* TRUE on every process if flag is TRUE on any (a stop request that all processes must act on at the
 * same step). */
gboolean gaf_cli_mpi_any    (gboolean flag);
/* Gathers each process's bytes on rank 0: there, *all (array of gaf_cli_mpi_size () GBytes, by rank) is
 * set; elsewhere *all is NULL. */
gboolean gaf_cli_mpi_gather (GBytes *mine, GPtrArray **all, GError **error);

G_END_DECLS
