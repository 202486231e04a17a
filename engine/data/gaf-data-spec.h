/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-dataset.h"
#include "gaf-joint.h"

G_BEGIN_DECLS

/* What a data spec names, so that a front end picks the right family of commands or experiments from
 * the data alone. Each family's reader keeps its own list of kinds (gaf_joint_spec_is_joint,
 * gaf_dataset_spec_is_dataset); this only asks them. */
typedef enum {
  GAF_DATA_KIND_UNKNOWN,
  GAF_DATA_KIND_JOINT,    /* a GafJoint: gaf_joint_new_from_spec */
  GAF_DATA_KIND_IMAGES,   /* a GafDataset of label maps: gaf_dataset_new_from_spec */
} GafDataKind;

GafDataKind gaf_data_spec_kind (const char *spec);
/* Whether the word of spec before its first ':' (all of it without one) is one of kinds (NULL-terminated):
 * how each family's reader recognises its own specs. */
gboolean    gaf_data_spec_has_kind (const char *spec, const char *const *kinds);

#define GAF_DATA_SPEC_HELP "joint distributions: " GAF_JOINT_SPEC_HELP "; label maps: " GAF_DATASET_SPEC_HELP

G_END_DECLS
