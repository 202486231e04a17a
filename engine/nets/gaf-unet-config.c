/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

/* The UNet's configuration: defaults (docs/method.md §3), checks, the "key=value,..." spec of the CLI and the
 * [model] group of checkpoints. The network itself is gaf-unet.c. */

#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-unet.h"

/* ---- configuration ----------------------------------------------------------------------------- */

void
gaf_unet_config_init (GafUnetConfig *cfg, int classes, int height, int width)
{
  memset (cfg, 0, sizeof *cfg);
  cfg->classes = classes;
  cfg->height = height;
  cfg->width = width;
  cfg->channels = 32;
  cfg->n_levels = 4;
  cfg->mult[0] = 1;
  cfg->mult[1] = 2;
  cfg->mult[2] = 2;
  cfg->mult[3] = 2;
  cfg->blocks = 2;
  cfg->n_attn = 0;
  cfg->time_scale = 1.0;
  cfg->groups = 32;
}

int
gaf_unet_config_in_channels (const GafUnetConfig *cfg)
{
  return cfg->in_channels > 0 ? cfg->in_channels : cfg->classes;
}

gboolean
gaf_unet_config_check (const GafUnetConfig *cfg, GError **error)
{
  int div;

#define FAIL(...) G_STMT_START { g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, __VA_ARGS__); \
                                  return FALSE; } G_STMT_END
  if (cfg->classes < 2 || cfg->classes > 4096)
    FAIL ("unet: classes must be from 2 to 4096, got %d", cfg->classes);
  if (cfg->in_channels != 0 && (cfg->in_channels < 1 || cfg->in_channels > 4097))
    FAIL ("unet: in_channels must be 0 (= classes) or from 1 to 4097, got %d", cfg->in_channels);
  if (cfg->channels < 2 || cfg->channels > 4096 || cfg->channels % 2 != 0)
    FAIL ("unet: channels must be even and from 2 to 4096, got %d", cfg->channels);
  if (cfg->n_levels < 1 || cfg->n_levels > GAF_UNET_MAX_LEVELS)
    FAIL ("unet: mult must list 1 to %d channel multipliers, got %d", GAF_UNET_MAX_LEVELS, cfg->n_levels);
  for (int l = 0; l < cfg->n_levels; l++)
    if (cfg->mult[l] < 1 || cfg->mult[l] > 64 || (gint64) cfg->mult[l] * cfg->channels > 8192)
      FAIL ("unet: each channel multiplier must be from 1 to 64 (and mult x channels at most 8192), got %d",
            cfg->mult[l]);
  if (cfg->groups < 1 || cfg->groups > 4096)
    FAIL ("unet: groups must be from 1 to 4096, got %d", cfg->groups);
  if (cfg->blocks < 1 || cfg->blocks > 16)
    FAIL ("unet: blocks must be from 1 to 16, got %d", cfg->blocks);
  div = 1 << (cfg->n_levels - 1);
  if (cfg->height < 1 || cfg->width < 1 || cfg->height > 4096 || cfg->width > 4096)
    FAIL ("unet: image size must be from 1 to 4096, got %d x %d", cfg->height, cfg->width);
  if (cfg->height % div != 0 || cfg->width % div != 0)
    FAIL ("unet: image size %d x %d is not divisible by 2^(levels - 1) = %d (%d levels)",
          cfg->height, cfg->width, div, cfg->n_levels);
  if (cfg->n_attn < 0 || cfg->n_attn > GAF_UNET_MAX_ATTN)
    FAIL ("unet: at most %d attention resolutions", GAF_UNET_MAX_ATTN);
  for (int a = 0; a < cfg->n_attn; a++)
    {
      gboolean found = FALSE;
      for (int l = 0; l < cfg->n_levels; l++)
        found = found || (cfg->height >> l) == cfg->attn[a];
      if (!found)
        {
          g_autoptr(GString) lv = g_string_new (NULL);
          for (int l = 0; l < cfg->n_levels; l++)
            g_string_append_printf (lv, "%s%d", l ? ", " : "", cfg->height >> l);
          FAIL ("unet: attn=%d is not the height of a level's feature maps (levels: %s)", cfg->attn[a], lv->str);
        }
    }
  if (!gaf_net_scale_ok (cfg->time_scale, GAF_NET_TIME_SCALE_MIN, GAF_NET_TIME_SCALE_MAX))
    FAIL ("unet: time_scale %g: from %g to %g", cfg->time_scale, GAF_NET_TIME_SCALE_MIN, GAF_NET_TIME_SCALE_MAX);
#undef FAIL
  return TRUE;
}

static gboolean
parse_int (const char *key, const char *s, int *out, GError **error)
{
  gint64 v;

  if (!g_ascii_string_to_signed (s, 10, -1000000, 1000000, &v, NULL))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unet: %s: '%s' is not an integer", key, s);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

gboolean
gaf_unet_config_parse (GafUnetConfig *cfg, const char *spec, GError **error)
{
  g_auto(GStrv) tok = NULL;
  GafUnetConfig c = *cfg;
  const char *list_key = NULL;   /* "mult" or "attn" while a list is open */

  g_return_val_if_fail (spec != NULL, FALSE);
  tok = g_strsplit (spec, ",", -1);
  for (guint i = 0; tok[i] != NULL; i++)
    {
      char *t = g_strstrip (tok[i]);
      char *eq = strchr (t, '=');
      const char *key, *val;
      int v;

      if (*t == '\0' && tok[1] == NULL)
        break;   /* an empty spec changes nothing */
      if (eq == NULL)
        {
          if (list_key == NULL)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "unet: '%s' is not key=value and follows no list (mult, attn)", t);
              return FALSE;
            }
          if (!parse_int (list_key, t, &v, error))
            return FALSE;
          if (g_str_equal (list_key, "mult"))
            {
              if (c.n_levels >= GAF_UNET_MAX_LEVELS)
                {
                  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unet: mult: at most %d levels",
                               GAF_UNET_MAX_LEVELS);
                  return FALSE;
                }
              c.mult[c.n_levels++] = v;
            }
          else
            {
              if (c.n_attn >= GAF_UNET_MAX_ATTN)
                {
                  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unet: attn: at most %d resolutions",
                               GAF_UNET_MAX_ATTN);
                  return FALSE;
                }
              c.attn[c.n_attn++] = v;
            }
          continue;
        }
      *eq = '\0';
      key = g_strstrip (t);
      val = g_strstrip (eq + 1);
      list_key = NULL;
      if (g_str_equal (key, "mult"))
        {
          c.n_levels = 0;
          list_key = "mult";
          if (!parse_int (key, val, &v, error))
            return FALSE;
          c.mult[c.n_levels++] = v;
        }
      else if (g_str_equal (key, "attn"))
        {
          c.n_attn = 0;
          list_key = "attn";
          if (*val == '\0' || g_str_equal (val, "none"))
            continue;
          if (!parse_int (key, val, &v, error))
            return FALSE;
          c.attn[c.n_attn++] = v;
        }
      else if (g_str_equal (key, "time_scale") || g_str_equal (key, "time-scale"))
        {
          char *end = NULL;
          double d = g_ascii_strtod (val, &end);
          if (*val == '\0' || end == NULL || *end != '\0')
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unet: time_scale: '%s' is not a number",
                           val);
              return FALSE;
            }
          c.time_scale = d;
        }
      else
        {
          int *dst = g_str_equal (key, "classes") ? &c.classes
                     : g_str_equal (key, "height") ? &c.height
                     : g_str_equal (key, "width") ? &c.width
                     : g_str_equal (key, "channels") ? &c.channels
                     : g_str_equal (key, "blocks") ? &c.blocks
                     : g_str_equal (key, "groups") ? &c.groups
                     : g_str_equal (key, "size") ? &c.height : NULL;
          if (dst == NULL)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                           "unet: unknown key '%s' (keys: classes, size, height, width, channels, mult, blocks, "
                           "attn, time_scale, groups)", key);
              return FALSE;
            }
          if (!parse_int (key, val, dst, error))
            return FALSE;
          if (g_str_equal (key, "size"))
            c.width = c.height;
        }
    }
  if (!gaf_unet_config_check (&c, error))
    return FALSE;
  *cfg = c;
  return TRUE;
}

char *
gaf_unet_config_to_string (const GafUnetConfig *cfg)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "channels=%d,mult=", cfg->channels);
  for (int l = 0; l < cfg->n_levels; l++)
    g_string_append_printf (s, "%s%d", l ? "," : "", cfg->mult[l]);
  g_string_append_printf (s, ",blocks=%d,attn=", cfg->blocks);
  if (cfg->n_attn == 0)
    g_string_append (s, "none");
  for (int a = 0; a < cfg->n_attn; a++)
    g_string_append_printf (s, "%s%d", a ? "," : "", cfg->attn[a]);
  if (cfg->groups != 32)
    g_string_append_printf (s, ",groups=%d", cfg->groups);
  if (cfg->time_scale != 1.0)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];
      g_string_append_printf (s, ",time_scale=%s", g_ascii_dtostr (buf, sizeof buf, cfg->time_scale));
    }
  return g_string_free (s, FALSE);
}

#define KF_GROUP "model"

void
gaf_unet_config_to_keyfile (const GafUnetConfig *cfg, GKeyFile *kf)
{
  g_key_file_set_string (kf, KF_GROUP, "kind", "unet");
  g_key_file_set_integer (kf, KF_GROUP, "classes", cfg->classes);
  g_key_file_set_integer (kf, KF_GROUP, "height", cfg->height);
  g_key_file_set_integer (kf, KF_GROUP, "width", cfg->width);
  g_key_file_set_integer (kf, KF_GROUP, "channels", cfg->channels);
  g_key_file_set_integer_list (kf, KF_GROUP, "mult", (int *) cfg->mult, cfg->n_levels);
  g_key_file_set_integer (kf, KF_GROUP, "blocks", cfg->blocks);
  g_key_file_set_integer_list (kf, KF_GROUP, "attn", (int *) cfg->attn, cfg->n_attn);
  g_key_file_set_double (kf, KF_GROUP, "time_scale", cfg->time_scale);
  g_key_file_set_integer (kf, KF_GROUP, "groups", cfg->groups);
  if (gaf_unet_config_in_channels (cfg) != cfg->classes)
    g_key_file_set_integer (kf, KF_GROUP, "in_channels", cfg->in_channels);
  else
    g_key_file_remove_key (kf, KF_GROUP, "in_channels", NULL);
}

gboolean
gaf_unet_config_from_keyfile (GafUnetConfig *cfg, GKeyFile *kf, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *kind = NULL;
  g_autofree int *mult = NULL, *attn = NULL;
  gsize n_mult = 0, n_attn = 0;
  GafUnetConfig c;

  memset (&c, 0, sizeof c);
  kind = g_key_file_get_string (kf, KF_GROUP, "kind", &local);
  if (kind == NULL || !g_str_equal (kind, "unet"))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] kind: expected 'unet', got '%s'", KF_GROUP,
                   kind ? kind : "(missing)");
      return FALSE;
    }
#define GET_INT(field, key) G_STMT_START { \
    c.field = g_key_file_get_integer (kf, KF_GROUP, key, &local); \
    if (local != NULL) { \
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] %s: %s", KF_GROUP, key, local->message); \
      return FALSE; } } G_STMT_END
  GET_INT (classes, "classes");
  GET_INT (height, "height");
  GET_INT (width, "width");
  GET_INT (channels, "channels");
  GET_INT (blocks, "blocks");
  c.groups = 32;
  if (g_key_file_has_key (kf, KF_GROUP, "groups", NULL))
    GET_INT (groups, "groups");
  if (g_key_file_has_key (kf, KF_GROUP, "in_channels", NULL))
    GET_INT (in_channels, "in_channels");
#undef GET_INT
  mult = g_key_file_get_integer_list (kf, KF_GROUP, "mult", &n_mult, &local);
  if (local != NULL || n_mult < 1 || n_mult > GAF_UNET_MAX_LEVELS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] mult: expected 1 to %d integers%s%s", KF_GROUP,
                   GAF_UNET_MAX_LEVELS, local ? ": " : "", local ? local->message : "");
      return FALSE;
    }
  c.n_levels = (int) n_mult;
  memcpy (c.mult, mult, n_mult * sizeof (int));
  /* An empty list is stored as "attn=" which GLib reads back as zero entries. */
  if (g_key_file_has_key (kf, KF_GROUP, "attn", NULL))
    {
      attn = g_key_file_get_integer_list (kf, KF_GROUP, "attn", &n_attn, &local);
      if (local != NULL && !g_error_matches (local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] attn: %s", KF_GROUP, local->message);
          return FALSE;
        }
      if (local != NULL)
        {
          g_autofree char *raw = g_key_file_get_value (kf, KF_GROUP, "attn", NULL);
          if (raw != NULL && *g_strstrip (raw) != '\0')
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] attn: %s", KF_GROUP, local->message);
              return FALSE;
            }
          g_clear_error (&local);
          n_attn = 0;
        }
      if (n_attn > GAF_UNET_MAX_ATTN)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] attn: at most %d resolutions", KF_GROUP,
                       GAF_UNET_MAX_ATTN);
          return FALSE;
        }
      c.n_attn = (int) n_attn;
      if (n_attn > 0)
        memcpy (c.attn, attn, n_attn * sizeof (int));
    }
  c.time_scale = 1.0;
  if (g_key_file_has_key (kf, KF_GROUP, "time_scale", NULL))
    {
      c.time_scale = g_key_file_get_double (kf, KF_GROUP, "time_scale", &local);
      if (local != NULL)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "[%s] time_scale: %s", KF_GROUP, local->message);
          return FALSE;
        }
    }
  if (!gaf_unet_config_check (&c, error))
    return FALSE;
  *cfg = c;
  return TRUE;
}
