/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#if GAF_HAVE_MPI
#include <mpi.h>
#endif

#include "gaf-error.h"
#include "gaflow-cli-mpi.h"

static int mpi_rank = 0, mpi_size = 1;
static int launcher_size = 1;   /* processes the launcher says it started */

/* Started by a launcher? Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE; PMIx and PMI launchers (srun, hydra)
 * set PMIX_RANK or PMI_SIZE. A plain start stays one process and never initialises MPI: that keeps the
 * ordinary runs (and the test suite) free of MPI's start-up cost and messages. */
static gboolean
launched_by_mpi (void)
{
  return g_getenv ("OMPI_COMM_WORLD_SIZE") != NULL || g_getenv ("PMIX_RANK") != NULL ||
         g_getenv ("PMI_SIZE") != NULL;
}

static int
launched_size (void)
{
  const char *s = g_getenv ("OMPI_COMM_WORLD_SIZE");

  if (s == NULL)
    s = g_getenv ("PMI_SIZE");
  return s != NULL ? (int) CLAMP (g_ascii_strtoll (s, NULL, 10), 1, G_MAXINT) : 1;
}

#if GAF_HAVE_MPI
static gboolean mpi_active = FALSE;

static gboolean
check (int rc, const char *what, GError **error)
{
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;

  if (rc == MPI_SUCCESS)
    return TRUE;
  MPI_Error_string (rc, msg, &len);
  g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s failed on process %d: %.*s", what, mpi_rank, len, msg);
  return FALSE;
}
#endif

void
gaf_cli_mpi_init (int *argc, char ***argv)
{
#if GAF_HAVE_MPI
  int provided = 0;
#endif

  if (!launched_by_mpi ())
    return;
  launcher_size = launched_size ();
#if GAF_HAVE_MPI
  /* Only the main thread calls MPI; the engine's worker threads compute. */
  MPI_Init_thread (argc, argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank (MPI_COMM_WORLD, &mpi_rank);
  MPI_Comm_size (MPI_COMM_WORLD, &mpi_size);
  mpi_active = TRUE;
#endif
}

int
gaf_cli_mpi_finish (int rc)
{
#if GAF_HAVE_MPI
  if (mpi_active)
    {
      fflush (stdout);
      fflush (stderr);
      if (rc != 0 && mpi_size > 1)
        MPI_Abort (MPI_COMM_WORLD, rc);
      MPI_Finalize ();
      mpi_active = FALSE;
    }
#endif
  return rc;
}

gboolean
gaf_cli_mpi_check_launch (GError **error)
{
  if (!GAF_HAVE_MPI && launcher_size > 1)
    {
      /* R copies that each think they are alone would each train the whole model and write the same files. */
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "this gaflow-cli was built without MPI but started as %d processes by an MPI launcher: run it "
                   "as one process, or build it with MPI (meson setup -Dmpi=enabled; Debian: libopenmpi-dev)",
                   launcher_size);
      return FALSE;
    }
  return TRUE;
}

int
gaf_cli_mpi_rank (void)
{
  return mpi_rank;
}

int
gaf_cli_mpi_size (void)
{
  return mpi_size;
}

gboolean
gaf_cli_mpi_is_root (void)
{
  return mpi_rank == 0;
}

const char *
gaf_cli_mpi_description (void)
{
  return GAF_HAVE_MPI ? "MPI" : "one process (built without MPI)";
}

gboolean
gaf_cli_mpi_sum (float *data, gsize count, gpointer user_data, GError **error)
{
#if GAF_HAVE_MPI
  /* MPI counts are int: a larger arena goes in pieces (every process cuts it the same way). */
  for (gsize done = 0; done < count && mpi_size > 1;)
    {
      int piece = (int) MIN (count - done, (gsize) INT_MAX);
      if (!check (MPI_Allreduce (MPI_IN_PLACE, data + done, piece, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                  "MPI_Allreduce", error))
        return FALSE;
      done += piece;
    }
#endif
  return TRUE;
}

gboolean
gaf_cli_mpi_sum_f64 (double *data, gsize count, gpointer user_data, GError **error)
{
#if GAF_HAVE_MPI
  for (gsize done = 0; done < count && mpi_size > 1;)
    {
      int piece = (int) MIN (count - done, (gsize) INT_MAX);
      if (!check (MPI_Allreduce (MPI_IN_PLACE, data + done, piece, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD),
                  "MPI_Allreduce", error))
        return FALSE;
      done += piece;
    }
#endif
  return TRUE;
}

gboolean
gaf_cli_mpi_any (gboolean flag)
{
  int mine = flag ? 1 : 0, any = mine;

#if GAF_HAVE_MPI
  if (mpi_size > 1)
    MPI_Allreduce (&mine, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
#endif
  return any != 0;
}

gboolean
gaf_cli_mpi_gather (GBytes *mine, GPtrArray **all, GError **error)
{
  g_return_val_if_fail (mine != NULL && all != NULL, FALSE);

  *all = NULL;
#if GAF_HAVE_MPI
  if (mpi_size > 1)
    {
      gsize len = 0;
      const guint8 *bytes = g_bytes_get_data (mine, &len);
      int my_len, total = 0;
      g_autofree int *lens = NULL, *offsets = NULL;
      g_autofree guint8 *buf = NULL;

      if (len > INT_MAX)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "process %d has %" G_GSIZE_FORMAT
                       " bytes to gather, more than MPI_Gatherv takes", mpi_rank, len);
          return FALSE;
        }
      my_len = (int) len;
      if (mpi_rank == 0)
        {
          lens = g_new0 (int, mpi_size);
          offsets = g_new0 (int, mpi_size);
        }
      if (!check (MPI_Gather (&my_len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD), "MPI_Gather", error))
        return FALSE;
      if (mpi_rank == 0)
        for (int r = 0; r < mpi_size; r++)
          {
            if (lens[r] < 0 || lens[r] > INT_MAX - total)
              {
                g_set_error_literal (error, GAF_ERROR, GAF_ERROR_FORMAT, "gathered results exceed 2 GB");
                return FALSE;
              }
            offsets[r] = total;
            total += lens[r];
          }
      buf = g_malloc (MAX (total, 1));
      if (!check (MPI_Gatherv (bytes, my_len, MPI_BYTE, buf, lens, offsets, MPI_BYTE, 0, MPI_COMM_WORLD),
                  "MPI_Gatherv", error))
        return FALSE;
      if (mpi_rank == 0)
        {
          *all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
          for (int r = 0; r < mpi_size; r++)
            g_ptr_array_add (*all, g_bytes_new (buf + offsets[r], lens[r]));
        }
      return TRUE;
    }
#endif
  *all = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_ptr_array_add (*all, g_bytes_ref (mine));
  return TRUE;
}
