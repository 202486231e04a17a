/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* The app's GSettings (schema io.github.gaflow.Gaflow): found installed or, when gaflow runs from its
 * build tree, in the build's compiled schema. */
GSettings *gaf_settings_new          (void);
void       gaf_settings_read_params  (GSettings *settings, GafRunnerParams *params);
void       gaf_settings_write_param  (GSettings *settings, GafParam param, double value);
/* The pretrained model of the image experiment's default data (GAF_IMAGE_DATA_DEFAULT): installed to the
 * package's data directory, read from the source tree's data/ when running uninstalled. */
#define GAF_DEFAULT_IMAGE_MODEL "fashion16.gafck"
/* The model files the app opens and saves. */
#define GAF_MODEL_SUFFIX ".gafck"

/* The path of GAF_DEFAULT_IMAGE_MODEL when that file exists, else NULL. */
char      *gaf_default_image_model   (void);
/* TRUE when the running executable lives in the build tree (uninstalled). */
gboolean   gaf_running_uninstalled   (void);

G_END_DECLS
