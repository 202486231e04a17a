/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-file.h"

char *
gaf_format_bytes (guint64 bytes)
{
  static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
  double v = (double) bytes;
  int u = -1;

  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", bytes);
  while (v >= 1024.0 && u < (int) G_N_ELEMENTS (units) - 1)
    {
      v /= 1024.0;
      u++;
    }
  return g_strdup_printf (v < 10.0 ? "%.2f %s" : v < 100.0 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

static const char *
file_kind (mode_t mode)
{
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  return "a special file";
}

int
gaf_file_open_regular (const char *path, const char *what, guint64 max_bytes, guint64 *size_out,
                       GError **error)
{
  struct stat st;
  int fd, flags, saved;

  g_return_val_if_fail (path != NULL && what != NULL, -1);
  do
    fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot open %s %s: %s", what, path, g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0)
    {
      saved = errno;
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s %s: %s", what, path, g_strerror (saved));
      close (fd);
      return -1;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s %s: it is %s, not a regular file (only regular files are read)",
                   what, path, file_kind (st.st_mode));
      close (fd);
      return -1;
    }
  if ((guint64) st.st_size > max_bytes)
    {
      g_autofree char *size = gaf_format_bytes ((guint64) st.st_size);
      g_autofree char *limit = gaf_format_bytes (max_bytes);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s %s: the file has %s, more than the %s a %s "
                   "may have", what, path, size, limit, what);
      close (fd);
      return -1;
    }
  /* A regular file never blocks; reads go back to the ordinary mode. */
  flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  if (size_out != NULL)
    *size_out = (guint64) st.st_size;
  return fd;
}

gboolean
gaf_file_read_all (const char *path, const char *what, guint64 max_bytes, char **contents, gsize *length,
                   GError **error)
{
  g_autofree char *bytes = NULL;
  guint64 size = 0;
  gsize n = 0, want;
  int fd;

  g_return_val_if_fail (contents != NULL, FALSE);
  g_return_val_if_fail (max_bytes < G_MAXSIZE, FALSE);
  fd = gaf_file_open_regular (path, what, max_bytes, &size, error);
  if (fd < 0)
    return FALSE;
  {
    g_autofree char *name = g_strdup_printf ("reading %s %s", what, path);
    if (!gaf_budget_check (size, name, error))
      {
        close (fd);
        return FALSE;
      }
  }
  want = (gsize) size;
  bytes = g_try_malloc (want + 1);
  if (bytes == NULL)
    {
      g_autofree char *s = gaf_format_bytes (size);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s %s: out of memory for %s", what, path, s);
      close (fd);
      return FALSE;
    }
  while (n < want)
    {
      gssize r = read (fd, bytes + n, want - n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved = errno;
          g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s %s: %s", what, path, g_strerror (saved));
          close (fd);
          return FALSE;
        }
      if (r == 0)
        break;   /* the file shrank meanwhile: what is there */
      n += (gsize) r;
    }
  close (fd);
  bytes[n] = '\0';
  *contents = g_steal_pointer (&bytes);
  if (length != NULL)
    *length = n;
  return TRUE;
}
