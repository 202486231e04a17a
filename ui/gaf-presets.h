/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* Named presets per experiment, read from a key file (resources/presets.ini, compiled into the app): a
 * group "EXPERIMENT/NAME" (an id of the experiment registry) sets parameters by their keys (the parameter table's; choices by nick) and the display (presentation mode, playback speed,
 * the simplex view's field and density). Checked whole when read: unknown keys, values out of range and
 * groups of unknown experiments are errors. No GTK here. */

#define GAF_PRESET_LECTURE     "lecture"
#define GAF_PRESET_FAST_TUNING "fast-tuning"
/* The experiment part of a group that holds a preset for any experiment without one of its own. */
#define GAF_PRESET_ANY         "any"

typedef struct {
  gboolean set[GAF_N_PARAMS];
  double   value[GAF_N_PARAMS];
  int      presentation;   /* -1 unset, 0 off, 1 on */
  double   speed;          /* 0 unset, else 0.25 .. 4 */
  int      field, density; /* -1 unset */
} GafPreset;

/* Checks every group of the key file (FALSE with one GError naming the group and key). */
gboolean gaf_presets_check  (GKeyFile *presets, GError **error);
/* The preset `name` of an experiment ("ID/NAME", else "any/NAME"); FALSE with an error when there is none
 * or it does not check out. */
gboolean gaf_presets_get    (GKeyFile *presets, const GafExperimentClass *experiment, const char *name,
                             GafPreset *out, GError **error);
/* The app's presets from its resources (a new reference; NULL with an error if the resource is broken). */
GKeyFile *gaf_presets_load_resource (GError **error);

G_END_DECLS
