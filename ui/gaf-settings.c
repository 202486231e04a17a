/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-settings"
#include "config.h"

#include <string.h>

#include "gaf-sampler.h"
#include "gaf-settings.h"

gboolean
gaf_running_uninstalled (void)
{
  static int uninstalled = -1;

  if (uninstalled < 0)
    {
      g_autofree char *exe = g_file_read_link ("/proc/self/exe", NULL);
      uninstalled = exe != NULL && g_str_has_prefix (exe, GAF_BUILD_ROOT "/");
    }
  return uninstalled;
}

char *
gaf_default_image_model (void)
{
  g_autofree char *path = g_build_filename (gaf_running_uninstalled () ? GAF_SOURCE_DIR "/data" : PKGDATADIR,
                                            GAF_DEFAULT_IMAGE_MODEL, NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR) ? g_steal_pointer (&path) : NULL;
}

GSettings *
gaf_settings_new (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  /* From the build tree, prefer the build's schema (an installed one may be older). */
  if (gaf_running_uninstalled () || source == NULL ||
      (schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE)) == NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSettingsSchemaSource) local =
        g_settings_schema_source_new_from_directory (GAF_BUILD_ROOT "/data", source, FALSE, &error);
      if (local != NULL)
        {
          g_clear_pointer (&schema, g_settings_schema_unref);
          schema = g_settings_schema_source_lookup (local, APPLICATION_ID, TRUE);
        }
      if (schema == NULL && source != NULL)
        schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE);
    }
  if (schema == NULL)
    g_error ("GSettings schema %s is not installed", APPLICATION_ID);
  return g_settings_new_full (schema, NULL, NULL);
}

void
gaf_settings_read_params (GSettings *settings, GafRunnerParams *params)
{
  g_autofree char *experiment = g_settings_get_string (settings, "experiment");
  g_autofree char *image_data = g_settings_get_string (settings, "image-data");

  gaf_runner_params_init (params);
  gaf_experiment_from_string (experiment, &params->experiment);
  if (image_data[0] != '\0' && strlen (image_data) < sizeof params->image_data)
    g_strlcpy (params->image_data, image_data, sizeof params->image_data);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      const GafParamInfo *info = gaf_param_info (i);
      if (i == GAF_PARAM_INTEGRATOR)
        {
          g_autofree char *name = g_settings_get_string (settings, info->key);
          GafIntegrator integrator = GAF_INTEGRATOR_RK4;
          gaf_integrator_from_string (name, &integrator);
          params->value[i] = integrator;
        }
      else if (info->integer)
        params->value[i] = g_settings_get_int (settings, info->key);
      else
        params->value[i] = g_settings_get_double (settings, info->key);
    }
  gaf_runner_params_clamp (params);
}

void
gaf_settings_write_param (GSettings *settings, GafParam param, double value)
{
  const GafParamInfo *info = gaf_param_info (param);

  if (param == GAF_PARAM_INTEGRATOR)
    g_settings_set_string (settings, info->key, gaf_integrator_to_string ((GafIntegrator) value));
  else if (info->integer)
    g_settings_set_int (settings, info->key, (int) value);
  else
    g_settings_set_double (settings, info->key, value);
}
