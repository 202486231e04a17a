/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-presets"
#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

#include "gaf-presets.h"

static gboolean
invalid (GError **error, const char *group, const char *key, const char *why)
{
  g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, _("Preset [%s], key %s: %s"), group, key, why);
  return FALSE;
}

static gboolean
read_group (GKeyFile *kf, const char *group, GafPreset *out, GError **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

  memset (out, 0, sizeof *out);
  out->presentation = out->field = out->density = -1;
  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      const char *key = keys[i];
      g_autoptr(GError) local = NULL;
      gboolean found = FALSE;

      if (g_str_equal (key, "presentation") || g_str_equal (key, "field") || g_str_equal (key, "density"))
        {
          gboolean b = g_key_file_get_boolean (kf, group, key, &local);
          if (local != NULL)
            return invalid (error, group, key, _("not true or false"));
          if (g_str_equal (key, "presentation"))
            out->presentation = b;
          else if (g_str_equal (key, "field"))
            out->field = b;
          else
            out->density = b;
          continue;
        }
      if (g_str_equal (key, "speed"))
        {
          double v = g_key_file_get_double (kf, group, key, &local);
          if (local != NULL || !(v >= 0.25 && v <= 4))
            return invalid (error, group, key, _("the playback speed must be 0.25 to 4"));
          out->speed = v;
          continue;
        }
      {
        int p = gaf_param_from_key (key);
        g_autofree char *text = NULL;

        if (p >= 0 && gaf_param_info (p)->type == GAF_PARAM_TEXT)
          return invalid (error, group, key, _("a preset sets numbers, not data"));
        if (p >= 0)
          {
            text = g_key_file_get_string (kf, group, key, NULL);
            if (text == NULL || !gaf_param_parse (p, g_strstrip (text), &out->value[p]))
              return invalid (error, group, key, gaf_param_info (p)->type == GAF_PARAM_CHOICE
                                                   ? _("not one of the parameter's choices")
                                                   : _("not a number in the parameter's range (a whole one where it counts)"));
            out->set[p] = TRUE;
            found = TRUE;
          }
      }
      if (!found)
        return invalid (error, group, key, _("unknown key"));
    }
  return TRUE;
}

gboolean
gaf_presets_check (GKeyFile *kf, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (guint i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (groups[i], "/", 2);
      GafPreset preset;

      if (g_strv_length (parts) != 2 || (gaf_experiment_lookup (parts[0]) == NULL && !g_str_equal (parts[0], GAF_PRESET_ANY)) ||
          parts[1][0] == '\0')
        return invalid (error, groups[i], "-", _("the group must be EXPERIMENT/NAME"));
      if (!read_group (kf, groups[i], &preset, error))
        return FALSE;
    }
  return TRUE;
}

gboolean
gaf_presets_get (GKeyFile *kf, const GafExperimentClass *experiment, const char *name, GafPreset *out,
                 GError **error)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (experiment != NULL, FALSE);
  group = g_strdup_printf ("%s/%s", experiment->id, name);
  /* An experiment without a preset of its own takes the one for any experiment. */
  if (!g_key_file_has_group (kf, group))
    {
      g_free (group);
      group = g_strdup_printf ("%s/%s", GAF_PRESET_ANY, name);
    }
  if (!g_key_file_has_group (kf, group))
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND, _("There is no preset [%s]"), group);
      return FALSE;
    }
  return read_group (kf, group, out, error);
}

GKeyFile *
gaf_presets_load_resource (GError **error)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data ("/io/github/gaflow/Gaflow/presets.ini", 0, error);
  g_autoptr(GKeyFile) kf = NULL;

  if (bytes == NULL)
    return NULL;
  kf = g_key_file_new ();
  if (!g_key_file_load_from_bytes (kf, bytes, G_KEY_FILE_NONE, error) || !gaf_presets_check (kf, error))
    return NULL;
  return g_steal_pointer (&kf);
}
