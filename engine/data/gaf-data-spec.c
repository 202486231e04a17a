/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <string.h>

#include "gaf-data-spec.h"

gboolean
gaf_data_spec_has_kind (const char *spec, const char *const *kinds)
{
  gsize len;

  if (spec == NULL)
    return FALSE;
  len = strcspn (spec, ":");
  for (guint k = 0; kinds[k] != NULL; k++)
    if (strlen (kinds[k]) == len && strncmp (spec, kinds[k], len) == 0)
      return TRUE;
  return FALSE;
}

GafDataKind
gaf_data_spec_kind (const char *spec)
{
  if (gaf_joint_spec_is_joint (spec))
    return GAF_DATA_KIND_JOINT;
  if (gaf_dataset_spec_is_dataset (spec))
    return GAF_DATA_KIND_IMAGES;
  return GAF_DATA_KIND_UNKNOWN;
}
