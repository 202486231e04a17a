/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-dataset.h"
#include "gaf-model.h"

G_BEGIN_DECLS

/* gaflow-cli train | sample on image label maps (docs/method.md §5 "Images"), with checkpoints.
 *
 *   train  --data fashion-mnist:...|scenes:...|folder:DIR --model KIND[:key=value,...] --steps N
 *          --checkpoint FILE [--resume] ...: trains on the TRAIN split, saves the checkpoint every
 *          --checkpoint-every steps, at the end and on SIGINT/SIGTERM (then exits with 130).
 *   sample --checkpoint FILE [--out GRID.png] [--frames DIR] [--labels DIR] [--stats N] ...: samples
 *          the flow of a checkpoint written by `train`, draws grids, soft trajectory frames and the
 *          quality statistics (marginal KL, neighbour agreement, regions) against held-out maps.
 *
 * Each takes the command's own argv (argv[0] is the command name) and returns the exit status: 0 on
 * success, 2 after one "gaflow-cli: error: ..." line on stderr, 130 after an interrupted training run
 * whose checkpoint was saved. */
int gaf_cli_image_train  (int argc, char **argv);
int gaf_cli_image_sample (int argc, char **argv);

/* The pieces of `train` other commands reuse: "--model KIND[:key=value,...]" for maps of height x width with
 * c classes; image data from a spec (a relative folder made absolute; errors prefixed with opt); the [data]
 * group a checkpoint of an image model carries. */
gboolean    gaf_cli_image_model_config    (const char *spec, int height, int width, int c, guint64 seed,
                                           GafModelConfig *out, GError **error);
GafDataset *gaf_cli_image_load_data       (const char *opt, const char *spec, GError **error);
void        gaf_cli_image_data_to_keyfile (const GafDataset *ds, GKeyFile *kf);

G_END_DECLS
