/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The memory budget: the most one request (a dataset read, a model built, a batch) may allocate.
 *
 * Sizes in files and options are checked against it before anything large is allocated, so that a
 * 76-byte image or a typo in an option gives one clear error instead of an 8 GiB allocation. It is one
 * process-wide value: half of the physical memory by default, the environment variable GAF_MAX_MEMORY
 * when set (read once), gaf_budget_set (gaflow-cli --max-memory) above both. Sizes are written like
 * "512M", "4G", "1.5GiB", "25%" (of physical memory) or a plain number of bytes. */

/* The default: half of the physical memory (at least 256 MiB). */
guint64  gaf_budget_default (void);
guint64  gaf_budget_get     (void);
/* 0 goes back to the default. */
void     gaf_budget_set     (guint64 bytes);
/* Parses a size; GAF_ERROR_INVALID_ARGUMENT naming `option` for anything else or outside 1 MiB .. 1 PiB. */
gboolean gaf_budget_parse   (const char *text, const char *option, guint64 *out, GError **error);

/* TRUE when `bytes` fit the budget; else GAF_ERROR_INVALID_ARGUMENT: "<what> needs <size>, more than the
 * memory limit of <limit> (gaflow-cli --max-memory or GAF_MAX_MEMORY raise it)". */
gboolean gaf_budget_check   (guint64 bytes, const char *what, GError **error);

/* Saturating products and sums for sizes computed from untrusted numbers: G_MAXUINT64 on overflow,
 * which no budget admits. */
guint64  gaf_size_mul       (guint64 a, guint64 b);
guint64  gaf_size_mul3      (guint64 a, guint64 b, guint64 c);
guint64  gaf_size_add       (guint64 a, guint64 b);

G_END_DECLS
