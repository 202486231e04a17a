/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-progress.h"
#include "gaf-sampler.h"
#include "gaf-trainer.h"

G_BEGIN_DECLS

/* The class-scaling benchmark (SPEC §5): for each c, train on fresh samples of the target,
 * draw N samples, report KL against the target beside the uniform-sampler KL and the floor. */
typedef struct {
  GArray          *classes;       /* int */
  int              n;             /* positions, 4 */
  guint64          steps;
  GafTrainerConfig train;
  GafSamplerConfig sampler;
  guint64          samples;
  int              sample_chunk;
  double           time_scale;    /* toy CNN time input scale (1 = reference) */
  double           input_scale;   /* toy CNN input scale; 0 = c (probabilities times c, mean 1) */
  gboolean         cosine;        /* cosine learning-rate decay to 0 over the steps */
  guint64          seed;
} GafSweepConfig;

typedef struct {
  char    method[16];
  int     classes;
  guint64 steps;
  guint64 samples;
  double  kl;
  double  kl_uniform;
  double  kl_floor;
  double  train_seconds;
  double  sample_seconds;
  double  final_loss;     /* mean of the last 100 training losses */
} GafSweepRow;

typedef void (*GafSweepRowFunc) (const GafSweepRow *row, gpointer user_data);

/* Defaults: the project's interactive budget (see README). */
void     gaf_sweep_config_init  (GafSweepConfig *cfg);
void     gaf_sweep_config_clear (GafSweepConfig *cfg);
gboolean gaf_sweep_config_check (const GafSweepConfig *cfg, GError **error);

/* Runs one class count. */
gboolean gaf_sweep_run_one (const GafSweepConfig *cfg, int classes, guint item, guint n_items,
                            GafSweepRow *row, GafProgressFunc progress, gpointer progress_data,
                            GCancellable *cancellable, GError **error);
/* Runs every class count in order; on_row is called as each finishes. */
gboolean gaf_sweep_run (const GafSweepConfig *cfg, GafSweepRowFunc on_row, GafProgressFunc progress,
                        gpointer user_data, GCancellable *cancellable, GError **error);

G_END_DECLS
