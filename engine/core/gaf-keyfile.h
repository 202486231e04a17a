/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reading configuration groups ([model], [train], ...) from a GKeyFile with one error style: a key that is
 * absent leaves *value as it was (the caller's default) and returns TRUE; a key whose value does not parse
 * fails with GAF_ERROR_INVALID_ARGUMENT naming group and key. Doubles are written with
 * g_key_file_set_double, which prints enough digits to read back the same double. */
gboolean gaf_keyfile_get_int    (GKeyFile *kf, const char *group, const char *key, int *value, GError **error);
gboolean gaf_keyfile_get_uint64 (GKeyFile *kf, const char *group, const char *key, guint64 *value, GError **error);
gboolean gaf_keyfile_get_double (GKeyFile *kf, const char *group, const char *key, double *value, GError **error);
gboolean gaf_keyfile_get_bool   (GKeyFile *kf, const char *group, const char *key, gboolean *value, GError **error);
/* Fails with GAF_ERROR_INVALID_ARGUMENT on the first key of group that is not in known (NULL-terminated). */
gboolean gaf_keyfile_check_keys (GKeyFile *kf, const char *group, const char *const *known, GError **error);

G_END_DECLS
