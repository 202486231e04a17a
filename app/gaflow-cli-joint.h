/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* gaflow-cli train | sample on coupled joint distributions (tables, 2-D densities, text sequences),
 * reached through gaflow-cli-train.c when --data names a joint (the eval command is in the table).
 * Each takes the command's own argv (argv[0] is the command name) and returns the exit status:
 * 0 on success, 2 after one "gaflow-cli: error: ..." line on stderr. */
int gaf_cli_joint_train  (int argc, char **argv);
int gaf_cli_joint_sample (int argc, char **argv);
