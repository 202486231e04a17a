/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-file.h"
#include "gaf-tsan.h"

#define MIB (G_GUINT64_CONSTANT (1) << 20)
#define PIB (G_GUINT64_CONSTANT (1) << 50)

/* 0: not set yet (the default, or GAF_MAX_MEMORY, on first use). */
static guint64 budget;   /* guarded by budget_lock */
static GMutex  budget_lock;

static guint64
physical_memory (void)
{
  long pages = sysconf (_SC_PHYS_PAGES), page = sysconf (_SC_PAGESIZE);

  if (pages <= 0 || page <= 0)
    return 4096 * MIB;   /* unknown: assume a small machine */
  return gaf_size_mul ((guint64) pages, (guint64) page);
}

guint64
gaf_budget_default (void)
{
  return MAX (physical_memory () / 2, 256 * MIB);
}

gboolean
gaf_budget_parse (const char *text, const char *option, guint64 *out, GError **error)
{
  char *end = NULL;
  double v, scale = 1.0;

  g_return_val_if_fail (text != NULL && out != NULL, FALSE);
  v = g_ascii_strtod (text, &end);
  if (end == text || !isfinite (v) || v <= 0)
    goto bad;
  while (*end == ' ')
    end++;
  if (*end == '%')
    {
      if (v > 100.0 || end[1] != '\0')
        goto bad;
      v = v / 100.0 * (double) physical_memory ();
    }
  else
    {
      switch (g_ascii_toupper (*end))
        {
        case '\0': break;
        case 'K': scale = 1024.0; break;
        case 'M': scale = 1024.0 * 1024.0; break;
        case 'G': scale = 1024.0 * 1024.0 * 1024.0; break;
        case 'T': scale = 1024.0 * 1024.0 * 1024.0 * 1024.0; break;
        default: goto bad;
        }
      if (*end != '\0')
        {
          end++;
          if (g_ascii_strcasecmp (end, "iB") != 0 && g_ascii_strcasecmp (end, "B") != 0 && *end != '\0')
            goto bad;
        }
      v *= scale;
    }
  if (v < (double) MIB || v > (double) PIB)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s '%s': from 1M to 1024T (or a share of the memory such as 50%%)", option, text);
      return FALSE;
    }
  *out = (guint64) v;
  return TRUE;

bad:
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
               "%s '%s' is not a size (bytes, or a number with K, M, G or T, or a share such as 50%%)", option, text);
  return FALSE;
}

guint64
gaf_budget_get (void)
{
  guint64 b;

  gaf_mutex_lock (&budget_lock);
  if (budget == 0)
    {
      const char *env = g_getenv ("GAF_MAX_MEMORY");
      g_autoptr(GError) error = NULL;

      budget = gaf_budget_default ();
      if (env != NULL && *env != '\0' && !gaf_budget_parse (env, "GAF_MAX_MEMORY", &budget, &error))
        {
          g_warning ("%s; using the default", error->message);
          budget = gaf_budget_default ();
        }
    }
  b = budget;
  gaf_mutex_unlock (&budget_lock);
  return b;
}

void
gaf_budget_set (guint64 bytes)
{
  gaf_mutex_lock (&budget_lock);
  budget = bytes;
  gaf_mutex_unlock (&budget_lock);
}

gboolean
gaf_budget_check (guint64 bytes, const char *what, GError **error)
{
  guint64 limit = gaf_budget_get ();
  g_autofree char *need = NULL, *have = NULL;

  if (bytes <= limit)
    return TRUE;
  need = bytes == G_MAXUINT64 ? g_strdup ("more than 16 EiB") : gaf_format_bytes (bytes);
  have = gaf_format_bytes (limit);
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
               "%s needs %s, more than the memory limit of %s (gaflow-cli --max-memory or the environment "
               "variable GAF_MAX_MEMORY raise it)", what, need, have);
  return FALSE;
}

guint64
gaf_size_mul (guint64 a, guint64 b)
{
  guint64 r;

  if (g_uint64_checked_mul (&r, a, b))
    return r;
  return G_MAXUINT64;
}

guint64
gaf_size_mul3 (guint64 a, guint64 b, guint64 c)
{
  return gaf_size_mul (gaf_size_mul (a, b), c);
}

guint64
gaf_size_add (guint64 a, guint64 b)
{
  guint64 r;

  if (g_uint64_checked_add (&r, a, b))
    return r;
  return G_MAXUINT64;
}
