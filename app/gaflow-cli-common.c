/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-mpi.h"

gboolean
gaf_cli_check_method_processes (GafMethod method, GError **error)
{
  if (method == GAF_METHOD_GAF || gaf_cli_mpi_size () == 1)
    return TRUE;
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
               "--method %s: data-parallel training under MPI is implemented for GAF only; run this method as one "
               "process (without mpirun)", gaf_method_to_string (method));
  return FALSE;
}

/* One clear line on stderr and a non-zero exit for anything a user can get wrong. */
int
gaf_cli_fail (const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start (ap, fmt);
  msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  /* Under MPI, every process says what went wrong: most errors are the same on all (the same options),
   * but a file missing on one node is that node's alone. */
  if (gaf_cli_mpi_size () > 1)
    fprintf (stderr, "gaflow-cli: error (process %d of %d): %s\n", gaf_cli_mpi_rank (), gaf_cli_mpi_size (), msg);
  else
    fprintf (stderr, "gaflow-cli: error: %s\n", msg);
  return 2;
}

/* ---- strict option values --------------------------------------------------------------------- */

gboolean
gaf_cli_parse_u64 (const char *opt, const char *s, guint64 min, guint64 max, guint64 *out, GError **error)
{
  guint64 v;
  g_autoptr(GError) local = NULL;

  if (s == NULL || *s == '-' || *s == '+' || !g_ascii_string_to_unsigned (s, 10, min, max, &v, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: expected an integer from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT ", got '%s'",
                   opt, min, max, s ? s : "");
      return FALSE;
    }
  *out = v;
  return TRUE;
}

gboolean
gaf_cli_parse_int (const char *opt, const char *s, int min, int max, int *out, GError **error)
{
  guint64 v;

  if (!gaf_cli_parse_u64 (opt, s, (guint64) MAX (min, 0), (guint64) max, &v, error))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

gboolean
gaf_cli_parse_double (const char *opt, const char *s, double min, double max, double *out, GError **error)
{
  char *end = NULL;
  double v;

  if (s == NULL || *s == '\0')
    goto bad;
  errno = 0;
  v = g_ascii_strtod (s, &end);
  if (errno != 0 || end == s || *end != '\0' || !isfinite (v) || v < min || v > max)
    goto bad;
  *out = v;
  return TRUE;
bad:
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s: expected a number from %g to %g, got '%s'",
               opt, min, max, s ? s : "");
  return FALSE;
}

/* An output path must be writable before hours of work go into it. */
gboolean
gaf_cli_check_output_path (const char *opt, const char *path, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);

  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: '%s' is a directory", opt, path);
      return FALSE;
    }
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot write '%s': folder '%s' does not exist",
                   opt, path, dir);
      return FALSE;
    }
  /* errno of the failed access(2): EROFS on a read-only filesystem is not "Permission denied". */
  if (g_access (dir, W_OK) != 0 || (g_file_test (path, G_FILE_TEST_EXISTS) && g_access (path, W_OK) != 0))
    {
      int saved = errno;
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s: cannot write '%s': %s", opt, path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}


gboolean
gaf_cli_parse_kappa (const char *s, GafJumpConfig *cfg, GError **error)
{
  GafJumpConfig c = *cfg;

  if (g_str_has_prefix (s, "poly:"))
    {
      if (!gaf_cli_parse_double ("--kappa poly:A", s + 5, 1e-3, 100.0, &c.exponent, error))
        return FALSE;
      c.kappa = GAF_KAPPA_POLY;
    }
  else if (!gaf_kappa_from_string (s, &c.kappa))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "--kappa: unknown scheduler '%s' (expected linear, poly, poly:A or cosine)", s);
      return FALSE;
    }
  *cfg = c;
  return TRUE;
}

gboolean
gaf_cli_take_max_memory (int *argc, char **argv, GError **error)
{
  int out = 0;

  for (int i = 0; i < *argc; i++)
    {
      const char *value = NULL;
      guint64 bytes;

      if (g_str_equal (argv[i], "--max-memory"))
        {
          if (i + 1 >= *argc)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--max-memory needs a size (for example 4G)");
              return FALSE;
            }
          value = argv[++i];
        }
      else if (g_str_has_prefix (argv[i], "--max-memory="))
        value = argv[i] + strlen ("--max-memory=");
      if (value == NULL)
        {
          argv[out++] = argv[i];
          continue;
        }
      if (!gaf_budget_parse (value, "--max-memory", &bytes, error))
        return FALSE;
      gaf_budget_set (bytes);
    }
  argv[out] = NULL;
  *argc = out;
  return TRUE;
}
