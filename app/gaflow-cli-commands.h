/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The commands of gaflow-cli, one row each, in the order `gaflow-cli --help` lists them.
 *
 * How to add a command NAME (git's builtin/ + commands[] scheme):
 *   1. write app/gaflow-cli-NAME.c (or add to the file of its family) defining
 *          int gaf_cli_cmd_NAME (int argc, char **argv);
 *      argv[0] is the command name, argv[1..] its options; parse them with a GOptionContext (so that
 *      `gaflow-cli NAME --help` works), report every user mistake with one gaf_cli_fail () line, and
 *      return the exit status (0 success, 2 a user mistake; gaflow-cli-common.h);
 *   2. add one row below: ROW (NAME, MPI, "one-line summary for the listing"), MPI TRUE when the command
 *      runs under `mpirun -np R` with R > 1 (it then splits its work over the processes itself,
 *      gaflow-cli-mpi.h), FALSE when it runs as one process only (R > 1 is refused before any work);
 *   3. add the file to gaflow_cli_sources in app/meson.build.
 * The row declares the function and puts it in the table (gaflow-cli.c); nothing else dispatches.
 * NAME must be a C identifier (it becomes part of the function name). */
#define GAF_CLI_COMMANDS(ROW) \
  ROW (sweep,      TRUE,  "KL against the number of classes (the class-scaling benchmark), table, CSV and plot") \
  ROW (plot,       FALSE, "draw the class-scaling plot of a sweep's CSV again") \
  ROW (bench,      FALSE, "engine throughput: training steps/s and sampling evaluations/s (toy CNN or UNet)") \
  ROW (train,      TRUE,  "train a flow on the data --data names: a joint distribution, or image label maps") \
  ROW (sample,     FALSE, "samples of a flow: joint data (trained in the run) or an image checkpoint") \
  ROW (eval,       FALSE, "joint KL, marginal KL and mutual information of a file of samples") \
  ROW (likelihood, FALSE, "bits/dim of label maps under a trained flow; out-of-distribution ROC AUC") \
  ROW (export,     FALSE, "a checkpoint's network as safetensors under the PyTorch module names of the authors' code") \
  ROW (import,     FALSE, "a checkpoint from a safetensors file: a model trained elsewhere (PyTorch)") \
  ROW (field,      FALSE, "a network on given inputs, safetensors in and out (to check against another implementation)")

typedef int (*GafCliCommandFunc) (int argc, char **argv);

typedef struct {
  const char        *name;
  gboolean           mpi;       /* runs as several MPI processes (docs/scaling-out.md) */
  const char        *summary;
  GafCliCommandFunc  run;
} GafCliCommand;

#define GAF_CLI_DECLARE_COMMAND(name, mpi, summary) int gaf_cli_cmd_##name (int argc, char **argv);
GAF_CLI_COMMANDS (GAF_CLI_DECLARE_COMMAND)
#undef GAF_CLI_DECLARE_COMMAND

/* The table, GAF_CLI_COMMANDS in order, and the row of a name (NULL when there is none). */
const GafCliCommand *gaf_cli_commands (guint *n_commands);
const GafCliCommand *gaf_cli_command_find (const char *name);

G_END_DECLS
