/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reading files that someone else made: only regular files, bounded in size.
 *
 * A FIFO, a character device (/dev/zero, a terminal) or a socket could make a reader block forever or
 * read without end, so every reader of the engine opens its files here: open(2) with O_NONBLOCK (opening
 * a FIFO without a writer would block), fstat(2) on the descriptor (no race with a rename between a
 * stat and the open), refuse anything that is not a regular file, refuse a file larger than the
 * caller's limit, and only then read. Errors are GAF_ERROR_IO (cannot open or read: the message of errno;
 * not a regular file; too large), each naming the file; `what` says what the file is
 * meant to be ("label map", "checkpoint", ...). */

/* An open descriptor (blocking again) of a regular file of at most max_bytes, its size in *size_out;
 * -1 with the error otherwise. */
int      gaf_file_open_regular (const char *path, const char *what, guint64 max_bytes, guint64 *size_out,
                                GError **error);

/* The whole file, NUL-terminated, when its size also fits the memory budget (gaf-budget.h) (the NUL not counted in *length), to be freed with g_free. */
gboolean gaf_file_read_all     (const char *path, const char *what, guint64 max_bytes, char **contents,
                                gsize *length, GError **error);

/* Human-readable size: "512 bytes", "84.0 KiB", "8.00 GiB" (to be freed). */
char    *gaf_format_bytes      (guint64 bytes);

G_END_DECLS
