/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include "gaf-data-spec.h"

GafDataKind
gaf_data_spec_kind (const char *spec)
{
  if (gaf_joint_spec_is_joint (spec))
    return GAF_DATA_KIND_JOINT;
  if (gaf_dataset_spec_is_dataset (spec))
    return GAF_DATA_KIND_IMAGES;
  return GAF_DATA_KIND_UNKNOWN;
}
