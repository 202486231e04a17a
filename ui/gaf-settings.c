/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-settings"
#include "config.h"

#include <string.h>

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
gaf_default_model (const char *name)
{
  g_autofree char *path = g_build_filename (gaf_running_uninstalled () ? GAF_SOURCE_DIR "/data" : PKGDATADIR,
                                            name, NULL);

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
  const GafExperimentClass *klass = gaf_experiment_lookup_legacy (experiment);

  gaf_runner_params_init (params);
  if (klass != NULL)
    params->experiment = klass;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      const GafParamInfo *info = gaf_param_info (i);
      g_autofree char *text = NULL;

      switch (info->type)
        {
        case GAF_PARAM_TEXT:
          text = g_settings_get_string (settings, info->key);
          gaf_runner_params_set_text (params, i, text);
          break;
        case GAF_PARAM_CHOICE:
          text = g_settings_get_string (settings, info->key);
          for (int k = 0; info->choices[k] != NULL; k++)
            if (g_strcmp0 (text, info->choices[k]) == 0)
              params->value[i] = k;
          break;
        case GAF_PARAM_INT:
          params->value[i] = g_settings_get_int (settings, info->key);
          break;
        case GAF_PARAM_DOUBLE:
          params->value[i] = g_settings_get_double (settings, info->key);
          break;
        }
    }
  gaf_runner_params_clamp (params);
}

void
gaf_settings_write_param (GSettings *settings, GafParam param, double value)
{
  const GafParamInfo *info = gaf_param_info (param);

  switch (info->type)
    {
    case GAF_PARAM_CHOICE:
      g_settings_set_string (settings, info->key, info->choices[(int) gaf_param_clamp (param, value)]);
      break;
    case GAF_PARAM_INT:
      g_settings_set_int (settings, info->key, (int) value);
      break;
    case GAF_PARAM_DOUBLE:
      g_settings_set_double (settings, info->key, value);
      break;
    case GAF_PARAM_TEXT:
      g_return_if_reached ();
    }
}

void
gaf_settings_write_params (GSettings *settings, const GafRunnerParams *params)
{
  g_settings_set_string (settings, "experiment", params->experiment->id);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (gaf_param_info (i)->type == GAF_PARAM_TEXT)
      g_settings_set_string (settings, gaf_param_info (i)->key, params->text[i]);
    else
      gaf_settings_write_param (settings, i, params->value[i]);
}
