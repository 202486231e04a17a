/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* gaflow-cli likelihood: bits/dim of label maps under a trained flow (SPEC §2.4), and
 * out-of-distribution detection by log-likelihood (ROC AUC, histograms). */
int gaf_cli_likelihood (int argc, char **argv);

G_END_DECLS
