/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* The app's GSettings (schema io.github.gaflow.Gaflow): found installed or, when gaflow runs from its
 * build tree, in the build's compiled schema. Every parameter of the table (gaf-parameters.h) is a key of
 * its name; the experiment is a string key holding its registry id (ids of earlier versions are read too). */
GSettings *gaf_settings_new          (void);
void       gaf_settings_read_params  (GSettings *settings, GafRunnerParams *params);
/* A number or choice (by its nick). */
void       gaf_settings_write_param  (GSettings *settings, GafParam param, double value);
/* The experiment and every parameter. */
void       gaf_settings_write_params (GSettings *settings, const GafRunnerParams *params);
/* The model files the app opens and saves. */
#define GAF_MODEL_SUFFIX ".gafck"

/* The path of a model shipped with the app (GafExperimentClass.default_model) when that file exists, else
 * NULL: installed to the package's data directory, read from the source tree's data/ when running
 * uninstalled. */
char      *gaf_default_model         (const char *name);
/* TRUE when the running executable lives in the build tree (uninstalled). */
gboolean   gaf_running_uninstalled   (void);

G_END_DECLS
