/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-checkpoint.h"
#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-file.h"

/* The layout is documented in gaf-checkpoint.h. */
#define HEADER_SIZE     24
#define SECTION_HEADER  12    /* tag + u64 length */
#define STAT_SIZE       64
#define DIGEST_SIZE     32    /* SHA-256 */
#define MAX_NAME        1024
#define N_SECTIONS      7
/* The smallest well-formed file: header, seven empty-ish sections (STAT is fixed), VIEW's own header,
 * checksum. Anything shorter that the size field claims is corrupt. */
#define MIN_FILE_SIZE   (HEADER_SIZE + N_SECTIONS * SECTION_HEADER + STAT_SIZE + 16 + DIGEST_SIZE)

typedef enum { SEC_CONF, SEC_STAT, SEC_VIEW, SEC_DATA, SEC_ADMM, SEC_ADMV, SEC_EMA } Section;
static const char section_tags[N_SECTIONS][5] = { "CONF", "STAT", "VIEW", "DATA", "ADMM", "ADMV", "EMA " };

struct _GafCheckpoint {
  guint8   *bytes;      /* the whole file; the float sections are read from it at restore */
  gsize     n_bytes;
  GKeyFile *config;
  guint64   step;
  guint64   adam_step;
  GafRng    rng;
  guint64   n_params;
  guint     n_tensors;
  char    **names;      /* (n_tensors), NULL-terminated */
  guint64  *sizes;      /* (n_tensors) */
  gsize     data_at, m_at, v_at, ema_at;   /* byte offsets of the float arrays; ema_at 0: no EMA */
};

/* ---- little-endian encoding ---- */

static inline void
put_u32 (guint8 *p, guint32 x)
{
  x = GUINT32_TO_LE (x);
  memcpy (p, &x, 4);
}

static inline void
put_u64 (guint8 *p, guint64 x)
{
  x = GUINT64_TO_LE (x);
  memcpy (p, &x, 8);
}

static inline guint32
get_u32 (const guint8 *p)
{
  guint32 x;
  memcpy (&x, p, 4);
  return GUINT32_FROM_LE (x);
}

static inline guint64
get_u64 (const guint8 *p)
{
  guint64 x;
  memcpy (&x, p, 8);
  return GUINT64_FROM_LE (x);
}

static inline void
put_f64 (guint8 *p, double d)
{
  guint64 x;
  memcpy (&x, &d, 8);
  put_u64 (p, x);
}

static inline double
get_f64 (const guint8 *p)
{
  guint64 x = get_u64 (p);
  double d;
  memcpy (&d, &x, 8);
  return d;
}

static void
put_floats (guint8 *p, const float *x, gsize count)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (p, x, count * sizeof (float));
#else
  for (gsize i = 0; i < count; i++)
    {
      guint32 u;
      memcpy (&u, x + i, 4);
      put_u32 (p + 4 * i, u);
    }
#endif
}

static void
get_floats (float *x, const guint8 *p, gsize count)
{
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  memcpy (x, p, count * sizeof (float));
#else
  for (gsize i = 0; i < count; i++)
    {
      guint32 u = get_u32 (p + 4 * i);
      memcpy (x + i, &u, 4);
    }
#endif
}

static inline float
get_float (const guint8 *p)
{
  guint32 u = get_u32 (p);
  float f;
  memcpy (&f, &u, 4);
  return f;
}

/* "2,161,346" */
static char *
format_count (guint64 n)
{
  char digits[32];
  GString *s = g_string_new (NULL);
  int len = g_snprintf (digits, sizeof digits, "%" G_GUINT64_FORMAT, n);

  for (int i = 0; i < len; i++)
    {
      if (i > 0 && (len - i) % 3 == 0)
        g_string_append_c (s, ',');
      g_string_append_c (s, digits[i]);
    }
  return g_string_free (s, FALSE);
}

/* ---- save ---- */

static const char *
first_bad_array (const GafParams *params)
{
  for (gsize i = 0; i < params->size; i++)
    {
      if (!isfinite (params->data[i]))
        return "parameters";
      if (!isfinite (params->m[i]) || !isfinite (params->v[i]) || params->v[i] < 0.0f)
        return "Adam moments";
      if (params->ema != NULL && !isfinite (params->ema[i]))
        return "EMA parameters";
    }
  return NULL;
}

static guint8 *
put_section (guint8 *p, Section sec, guint64 length)
{
  memcpy (p, section_tags[sec], 4);
  put_u64 (p + 4, length);
  return p + SECTION_HEADER;
}

gboolean
gaf_checkpoint_save (const char *path, GKeyFile *config, const GafParams *params,
                     const GafRng *rng, guint64 step, GError **error)
{
  g_autofree char *conf = NULL;
  g_autofree guint8 *buf = NULL;
  g_autoptr(GChecksum) sum = NULL;
  g_autoptr(GError) local = NULL;
  gsize conf_len, view_len = 16, floats, size, digest_len = DIGEST_SIZE;
  const char *bad;
  guint8 *p;

  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (config != NULL, FALSE);
  g_return_val_if_fail (params != NULL && params->data != NULL, FALSE);
  g_return_val_if_fail (rng != NULL && isfinite (rng->spare), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  for (guint i = 0; i < params->views->len; i++)
    {
      const GafParamView *v = &g_array_index (params->views, GafParamView, i);
      gsize n = v->name != NULL ? strlen (v->name) : 0;
      g_return_val_if_fail (n >= 1 && n <= MAX_NAME, FALSE);
      view_len += 20 + n;
    }
  if ((bad = first_bad_array (params)) != NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "cannot save a checkpoint: the %s are not all finite numbers", bad);
      return FALSE;
    }

  conf = g_key_file_to_data (config, &conf_len, NULL);
  floats = params->size * sizeof (float);
  size = HEADER_SIZE + N_SECTIONS * SECTION_HEADER + conf_len + STAT_SIZE + view_len + 3 * floats
         + (params->ema != NULL ? floats : 0) + DIGEST_SIZE;
  buf = g_malloc (size);
  p = buf;

  memcpy (p, GAF_CHECKPOINT_MAGIC, 8);
  put_u32 (p + 8, GAF_CHECKPOINT_VERSION);
  put_u32 (p + 12, 0);
  put_u64 (p + 16, size);
  p += HEADER_SIZE;

  p = put_section (p, SEC_CONF, conf_len);
  memcpy (p, conf, conf_len);
  p += conf_len;

  p = put_section (p, SEC_STAT, STAT_SIZE);
  put_u64 (p, step);
  put_u64 (p + 8, params->step);
  for (int i = 0; i < 4; i++)
    put_u64 (p + 16 + 8 * i, rng->s[i]);
  put_u32 (p + 48, rng->has_spare ? 1 : 0);
  put_u32 (p + 52, 0);
  put_f64 (p + 56, rng->spare);   /* kept even when used up: the state round-trips bit for bit */
  p += STAT_SIZE;

  p = put_section (p, SEC_VIEW, view_len);
  put_u64 (p, params->size);
  put_u32 (p + 8, params->views->len);
  put_u32 (p + 12, 0);
  p += 16;
  for (guint i = 0; i < params->views->len; i++)
    {
      const GafParamView *v = &g_array_index (params->views, GafParamView, i);
      gsize n = strlen (v->name);
      put_u64 (p, v->offset);
      put_u64 (p + 8, v->size);
      put_u32 (p + 16, n);
      memcpy (p + 20, v->name, n);
      p += 20 + n;
    }

  p = put_section (p, SEC_DATA, floats);
  put_floats (p, params->data, params->size);
  p += floats;
  p = put_section (p, SEC_ADMM, floats);
  put_floats (p, params->m, params->size);
  p += floats;
  p = put_section (p, SEC_ADMV, floats);
  put_floats (p, params->v, params->size);
  p += floats;
  p = put_section (p, SEC_EMA, params->ema != NULL ? floats : 0);
  if (params->ema != NULL)
    {
      put_floats (p, params->ema, params->size);
      p += floats;
    }

  g_assert ((gsize) (p - buf) == size - DIGEST_SIZE);
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, buf, size - DIGEST_SIZE);
  g_checksum_get_digest (sum, p, &digest_len);
  g_assert (digest_len == DIGEST_SIZE);

  /* CONSISTENT: temporary file in the same directory, fsync, rename over path. DURABLE: also fsync the
   * directory after the rename, and fsync even when path did not exist before (plain g_file_set_contents
   * skips the fsync then). On failure GLib removes its temporary file. */
  if (!g_file_set_contents_full (path, (const char *) buf, size,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot save the checkpoint: %s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* ---- load ---- */

void
gaf_checkpoint_free (GafCheckpoint *ck)
{
  if (ck == NULL)
    return;
  g_free (ck->bytes);
  if (ck->config != NULL)
    g_key_file_unref (ck->config);
  g_strfreev (ck->names);
  g_free (ck->sizes);
  g_free (ck);
}

/* Reads a regular file completely (gaf-file.h: opened with O_NONBLOCK and checked with fstat before a
 * byte is read, so a FIFO or a device is refused, never waited on), within the size limit and the memory
 * budget. */
static gboolean
read_file (const char *path, guint8 **bytes_out, gsize *n_out, GError **error)
{
  char *bytes = NULL;

  if (!gaf_file_read_all (path, "checkpoint", GAF_CHECKPOINT_MAX_BYTES, &bytes, n_out, error))
    return FALSE;
  *bytes_out = (guint8 *) bytes;
  return TRUE;
}

/* A bounded cursor: every read is checked against the end, so no input can make the parser over-read. */
typedef struct {
  const guint8 *p;
  gsize         pos, end;
} Reader;

static gboolean
reader_take (Reader *r, gsize n, const guint8 **out)
{
  if (n > r->end - r->pos)
    return FALSE;
  *out = r->p + r->pos;
  r->pos += n;
  return TRUE;
}

static char *
describe_tag (const guint8 *t)
{
  for (int i = 0; i < 4; i++)
    if (t[i] < 0x20 || t[i] > 0x7e)
      return g_strdup_printf ("0x%02x%02x%02x%02x", t[0], t[1], t[2], t[3]);
  return g_strdup_printf ("'%.4s'", (const char *) t);
}

/* Reads the next section header, which must be `sec`; *payload at its start, *length its length. */
static gboolean
next_section (Reader *r, Section sec, gsize *at, guint64 *length, char **why)
{
  const guint8 *h;

  if (!reader_take (r, SECTION_HEADER, &h))
    {
      *why = g_strdup_printf ("section '%s' is missing", section_tags[sec]);
      return FALSE;
    }
  if (memcmp (h, section_tags[sec], 4) != 0)
    {
      g_autofree char *found = describe_tag (h);
      *why = g_strdup_printf ("expected section '%s', found %s", section_tags[sec], found);
      return FALSE;
    }
  *length = get_u64 (h + 4);
  if (*length > r->end - r->pos)
    {
      *why = g_strdup_printf ("section '%s' claims %" G_GUINT64_FORMAT " bytes, %" G_GSIZE_FORMAT " remain",
                              section_tags[sec], *length, r->end - r->pos);
      return FALSE;
    }
  *at = r->pos;
  r->pos += *length;
  return TRUE;
}

/* The name of the tensor that holds arena index i. */
static const char *
tensor_of (GafCheckpoint *ck, guint64 i)
{
  for (guint k = 0; k < ck->n_tensors; k++)
    {
      if (i < ck->sizes[k])
        return ck->names[k];
      i -= ck->sizes[k];
    }
  return "?";
}

static gboolean
check_floats (GafCheckpoint *ck, gsize at, const char *what, gboolean nonnegative, char **why)
{
  const guint8 *p = ck->bytes + at;

  for (guint64 i = 0; i < ck->n_params; i++)
    {
      float x = get_float (p + 4 * i);
      if (!isfinite (x) || (nonnegative && x < 0.0f))
        {
          *why = g_strdup_printf ("%s value %" G_GUINT64_FORMAT " (in tensor '%s') is %g",
                                  what, i, tensor_of (ck, i), (double) x);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
float_section (Reader *r, Section sec, guint64 n_params, gboolean optional, gsize *at, char **why)
{
  guint64 length;

  if (!next_section (r, sec, at, &length, why))
    return FALSE;
  if (optional && length == 0)
    {
      *at = 0;
      return TRUE;
    }
  if (length % 4 != 0 || length / 4 != n_params)
    {
      *why = g_strdup_printf ("section '%s' has %" G_GUINT64_FORMAT " bytes for %" G_GUINT64_FORMAT " parameters",
                              section_tags[sec], length, n_params);
      return FALSE;
    }
  return TRUE;
}

/* The sections, after the checksum has passed: a failure here means a writer bug or a crafted file. */
static gboolean
parse_sections (GafCheckpoint *ck, char **why)
{
  Reader r = { ck->bytes, HEADER_SIZE, ck->n_bytes - DIGEST_SIZE };
  g_autoptr(GError) kerr = NULL;
  const guint8 *p;
  guint64 length, offset = 0;
  gsize at;

  /* CONF */
  if (!next_section (&r, SEC_CONF, &at, &length, why))
    return FALSE;
  if (!g_utf8_validate ((const char *) ck->bytes + at, length, NULL))
    {
      *why = g_strdup ("the configuration is not UTF-8 text");
      return FALSE;
    }
  ck->config = g_key_file_new ();
  if (!g_key_file_load_from_data (ck->config, (const char *) ck->bytes + at, length,
                                  G_KEY_FILE_KEEP_COMMENTS | G_KEY_FILE_KEEP_TRANSLATIONS, &kerr))
    {
      *why = g_strdup_printf ("the configuration does not parse: %s", kerr->message);
      return FALSE;
    }

  /* STAT */
  if (!next_section (&r, SEC_STAT, &at, &length, why))
    return FALSE;
  if (length != STAT_SIZE)
    {
      *why = g_strdup_printf ("section 'STAT' has %" G_GUINT64_FORMAT " bytes, not %d", length, STAT_SIZE);
      return FALSE;
    }
  p = ck->bytes + at;
  ck->step = get_u64 (p);
  ck->adam_step = get_u64 (p + 8);
  for (int i = 0; i < 4; i++)
    ck->rng.s[i] = get_u64 (p + 16 + 8 * i);
  ck->rng.has_spare = get_u32 (p + 48) != 0;
  ck->rng.spare = get_f64 (p + 56);
  if (get_u32 (p + 48) > 1 || get_u32 (p + 52) != 0 || !isfinite (ck->rng.spare) ||
      (ck->rng.s[0] | ck->rng.s[1] | ck->rng.s[2] | ck->rng.s[3]) == 0)
    {
      *why = g_strdup ("the random number generator state is invalid");
      return FALSE;
    }

  /* VIEW */
  if (!next_section (&r, SEC_VIEW, &at, &length, why))
    return FALSE;
  {
    Reader v = { ck->bytes, at, at + length };
    guint32 n_views;

    if (!reader_take (&v, 16, &p))
      {
        *why = g_strdup ("section 'VIEW' is too short");
        return FALSE;
      }
    ck->n_params = get_u64 (p);
    n_views = get_u32 (p + 8);
    if (get_u32 (p + 12) != 0 || n_views > (length - 16) / 20)
      {
        *why = g_strdup_printf ("section 'VIEW' cannot hold %u tensors", n_views);
        return FALSE;
      }
    ck->n_tensors = n_views;
    ck->names = g_new0 (char *, n_views + 1);
    ck->sizes = g_new0 (guint64, MAX (n_views, 1));
    for (guint k = 0; k < n_views; k++)
      {
        guint64 off, size;
        guint32 name_len;
        const guint8 *name;

        if (!reader_take (&v, 20, &p))
          {
            *why = g_strdup_printf ("tensor %u runs past section 'VIEW'", k);
            return FALSE;
          }
        off = get_u64 (p);
        size = get_u64 (p + 8);
        name_len = get_u32 (p + 16);
        if (name_len < 1 || name_len > MAX_NAME || !reader_take (&v, name_len, &name) ||
            !g_utf8_validate ((const char *) name, name_len, NULL))
          {
            *why = g_strdup_printf ("tensor %u has an invalid name", k);
            return FALSE;
          }
        ck->names[k] = g_strndup ((const char *) name, name_len);
        if (off != offset || size > ck->n_params - offset)
          {
            *why = g_strdup_printf ("tensor '%s' (offset %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                                    " values) does not follow its predecessor inside %" G_GUINT64_FORMAT " parameters",
                                    ck->names[k], off, size, ck->n_params);
            return FALSE;
          }
        ck->sizes[k] = size;
        offset += size;
      }
    if (offset != ck->n_params || v.pos != v.end)
      {
        *why = g_strdup_printf ("the tensors cover %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " parameters",
                                offset, ck->n_params);
        return FALSE;
      }
  }

  if (!float_section (&r, SEC_DATA, ck->n_params, FALSE, &ck->data_at, why) ||
      !float_section (&r, SEC_ADMM, ck->n_params, FALSE, &ck->m_at, why) ||
      !float_section (&r, SEC_ADMV, ck->n_params, FALSE, &ck->v_at, why) ||
      !float_section (&r, SEC_EMA, ck->n_params, TRUE, &ck->ema_at, why))
    return FALSE;
  if (r.pos != r.end)
    {
      *why = g_strdup_printf ("%" G_GSIZE_FORMAT " unexpected bytes after the last section", r.end - r.pos);
      return FALSE;
    }
  if (!check_floats (ck, ck->data_at, "parameter", FALSE, why) ||
      !check_floats (ck, ck->m_at, "Adam first moment", FALSE, why) ||
      !check_floats (ck, ck->v_at, "Adam second moment", TRUE, why) ||
      (ck->ema_at != 0 && !check_floats (ck, ck->ema_at, "EMA parameter", FALSE, why)))
    return FALSE;
  return TRUE;
}

GafCheckpoint *
gaf_checkpoint_load (const char *path, GError **error)
{
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autofree char *display = NULL;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[DIGEST_SIZE];
  gsize digest_len = DIGEST_SIZE, n;
  guint32 version;
  guint64 declared;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  ck = g_new0 (GafCheckpoint, 1);
  if (!read_file (path, &ck->bytes, &ck->n_bytes, error))
    return NULL;
  n = ck->n_bytes;

  /* Magic. A non-empty file shorter than the magic that starts like it is a cut-off checkpoint. */
  if (n < 8 ? (n == 0 || memcmp (ck->bytes, GAF_CHECKPOINT_MAGIC, n) != 0)
            : memcmp (ck->bytes, GAF_CHECKPOINT_MAGIC, 8) != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s is not a gaflow checkpoint", display);
      return NULL;
    }
  if (n < 12)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "checkpoint %s is truncated: %" G_GSIZE_FORMAT " bytes, shorter than its %d-byte header",
                   display, n, HEADER_SIZE);
      return NULL;
    }
  /* Version before anything else: a later version may lay out everything after it differently. */
  version = get_u32 (ck->bytes + 8);
  if (version != GAF_CHECKPOINT_VERSION)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: unsupported checkpoint version %u (this gaflow reads %d)",
                   display, version, GAF_CHECKPOINT_VERSION);
      return NULL;
    }
  if (n < HEADER_SIZE)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "checkpoint %s is truncated: %" G_GSIZE_FORMAT " bytes, shorter than its %d-byte header",
                   display, n, HEADER_SIZE);
      return NULL;
    }
  declared = get_u64 (ck->bytes + 16);
  if (declared > n)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "checkpoint %s is truncated: %" G_GSIZE_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                   display, n, declared);
      return NULL;
    }
  if (get_u32 (ck->bytes + 12) != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "checkpoint %s is corrupted: its reserved header field is not zero", display);
      return NULL;
    }
  if (declared < n || declared < MIN_FILE_SIZE)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "checkpoint %s is corrupted: its header says %" G_GUINT64_FORMAT " bytes, the file has %" G_GSIZE_FORMAT,
                   display, declared, n);
      return NULL;
    }

  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, ck->bytes, n - DIGEST_SIZE);
  g_checksum_get_digest (sum, digest, &digest_len);
  if (memcmp (digest, ck->bytes + n - DIGEST_SIZE, DIGEST_SIZE) != 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "checkpoint %s: checksum mismatch (file is corrupted)", display);
      return NULL;
    }

  {
    g_autofree char *why = NULL;

    if (!parse_sections (ck, &why))
      {
        g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "checkpoint %s is malformed: %s", display, why);
        return NULL;
      }
  }
  return g_steal_pointer (&ck);
}

/* ---- restore ---- */

static char *
describe_view (const char *name, guint64 size)
{
  g_autofree char *count = NULL;

  if (name == NULL)
    return g_strdup ("absent");
  count = format_count (size);
  return g_strdup_printf ("'%s' (%s values)", name, count);
}

gboolean
gaf_checkpoint_restore (GafCheckpoint *ck, GafParams *params, GafRng *rng, guint64 *step, GError **error)
{
  guint n_model;
  gboolean same;

  g_return_val_if_fail (ck != NULL, FALSE);
  g_return_val_if_fail (params != NULL && params->data != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  n_model = params->views->len;
  same = n_model == ck->n_tensors && params->size == ck->n_params;
  for (guint k = 0; same && k < n_model; k++)
    {
      const GafParamView *v = &g_array_index (params->views, GafParamView, k);
      same = g_strcmp0 (v->name, ck->names[k]) == 0 && v->size == ck->sizes[k];
    }
  if (!same)
    {
      g_autofree char *ck_count = format_count (ck->n_params);
      g_autofree char *model_count = format_count (params->size);
      g_autofree char *ck_view = NULL, *model_view = NULL;
      guint k;

      for (k = 0; k < MAX (n_model, ck->n_tensors); k++)
        {
          const GafParamView *v = k < n_model ? &g_array_index (params->views, GafParamView, k) : NULL;
          if (v == NULL || k >= ck->n_tensors || g_strcmp0 (v->name, ck->names[k]) != 0 || v->size != ck->sizes[k])
            {
              ck_view = describe_view (k < ck->n_tensors ? ck->names[k] : NULL, k < ck->n_tensors ? ck->sizes[k] : 0);
              model_view = describe_view (v != NULL ? v->name : NULL, v != NULL ? v->size : 0);
              break;
            }
        }
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "the checkpoint does not fit this model: the checkpoint has %s parameters in %u tensors; "
                   "the model has %s parameters in %u tensors (tensor %u is %s in the checkpoint, %s in the model)",
                   ck_count, ck->n_tensors, model_count, n_model, k + 1,
                   ck_view != NULL ? ck_view : "?", model_view != NULL ? model_view : "?");
      return FALSE;
    }

  get_floats (params->data, ck->bytes + ck->data_at, ck->n_params);
  get_floats (params->m, ck->bytes + ck->m_at, ck->n_params);
  get_floats (params->v, ck->bytes + ck->v_at, ck->n_params);
  if (ck->ema_at != 0)
    {
      if (params->ema == NULL)
        params->ema = g_new (float, MAX (params->size, 1));
      get_floats (params->ema, ck->bytes + ck->ema_at, ck->n_params);
    }
  else
    g_clear_pointer (&params->ema, g_free);
  gaf_params_zero_grad (params);
  params->step = ck->adam_step;
  if (rng != NULL)
    *rng = ck->rng;
  if (step != NULL)
    *step = ck->step;
  return TRUE;
}

GKeyFile *
gaf_checkpoint_get_config (GafCheckpoint *ck)
{
  g_return_val_if_fail (ck != NULL, NULL);
  return ck->config;
}

guint64
gaf_checkpoint_get_step (GafCheckpoint *ck)
{
  g_return_val_if_fail (ck != NULL, 0);
  return ck->step;
}

gsize
gaf_checkpoint_get_param_count (GafCheckpoint *ck)
{
  g_return_val_if_fail (ck != NULL, 0);
  return ck->n_params;
}

guint
gaf_checkpoint_get_n_tensors (GafCheckpoint *ck)
{
  g_return_val_if_fail (ck != NULL, 0);
  return ck->n_tensors;
}

gboolean
gaf_checkpoint_has_ema (GafCheckpoint *ck)
{
  g_return_val_if_fail (ck != NULL, FALSE);
  return ck->ema_at != 0;
}
