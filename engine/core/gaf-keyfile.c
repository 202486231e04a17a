/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include "gaf-error.h"
#include "gaf-keyfile.h"

static gboolean
fail (const char *group, const char *key, const char *want, GKeyFile *kf, GError **error)
{
  g_autofree char *raw = g_key_file_get_value (kf, group, key, NULL);

  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "[%s] %s = %s is not %s",
               group, key, raw != NULL ? raw : "", want);
  return FALSE;
}

gboolean
gaf_keyfile_get_int (GKeyFile *kf, const char *group, const char *key, int *value, GError **error)
{
  g_autoptr(GError) local = NULL;
  int x;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  x = g_key_file_get_integer (kf, group, key, &local);
  if (local != NULL)
    return fail (group, key, "an integer", kf, error);
  *value = x;
  return TRUE;
}

gboolean
gaf_keyfile_get_uint64 (GKeyFile *kf, const char *group, const char *key, guint64 *value, GError **error)
{
  g_autofree char *raw = NULL;
  guint64 x;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  raw = g_key_file_get_value (kf, group, key, NULL);
  /* g_key_file_get_uint64 would read "-1" as 2^64 - 1 */
  if (raw == NULL || !g_ascii_string_to_unsigned (g_strstrip (raw), 10, 0, G_MAXUINT64, &x, NULL))
    return fail (group, key, "a non-negative integer", kf, error);
  *value = x;
  return TRUE;
}

gboolean
gaf_keyfile_get_double (GKeyFile *kf, const char *group, const char *key, double *value, GError **error)
{
  g_autoptr(GError) local = NULL;
  double x;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  x = g_key_file_get_double (kf, group, key, &local);
  if (local != NULL)
    return fail (group, key, "a number", kf, error);
  *value = x;
  return TRUE;
}

gboolean
gaf_keyfile_get_bool (GKeyFile *kf, const char *group, const char *key, gboolean *value, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean x;

  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  x = g_key_file_get_boolean (kf, group, key, &local);
  if (local != NULL)
    return fail (group, key, "true or false", kf, error);
  *value = x;
  return TRUE;
}

gboolean
gaf_keyfile_check_keys (GKeyFile *kf, const char *group, const char *const *known, GError **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    if (!g_strv_contains (known, keys[i]))
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "[%s] has an unknown key '%s'", group, keys[i]);
        return FALSE;
      }
  return TRUE;
}
