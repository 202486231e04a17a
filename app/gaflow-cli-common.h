/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-baselines.h"
#include "gaf-jump.h"

G_BEGIN_DECLS

/* Shared by every gaflow-cli command: one clear error line, strict option values, output paths
 * checked before any work starts. */
int      gaf_cli_fail              (const char *fmt, ...) G_GNUC_PRINTF (1, 2);
gboolean gaf_cli_parse_u64         (const char *opt, const char *s, guint64 min, guint64 max, guint64 *out,
                                    GError **error);
gboolean gaf_cli_parse_int         (const char *opt, const char *s, int min, int max, int *out, GError **error);
gboolean gaf_cli_parse_double      (const char *opt, const char *s, double min, double max, double *out,
                                    GError **error);
/* --kappa: linear, cosine, poly or poly:A (kappa = t^A, A in (0, 100]) into cfg's scheduler. */
gboolean gaf_cli_parse_kappa       (const char *s, GafJumpConfig *cfg, GError **error);
gboolean gaf_cli_check_output_path (const char *opt, const char *path, GError **error);
/* Data-parallel training under MPI is GAF's trainer alone (its per-sample random streams make R processes
 * draw one process's batch); another method under more than one process gets this one error. */
gboolean gaf_cli_check_method_processes (GafMethod method, GError **error);
/* Takes "--max-memory SIZE" (or --max-memory=SIZE) out of the arguments of any command and sets the
 * engine's memory budget (gaf-budget.h) with it. */
gboolean gaf_cli_take_max_memory   (int *argc, char **argv, GError **error);

G_END_DECLS
