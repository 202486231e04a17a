/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <json-glib/json-glib.h>

#include "gaf-budget.h"
#include "gaf-error.h"
#include "gaf-file.h"
#include "gaf-safetensors.h"

/* The format is described in gaf-safetensors.h. */

typedef struct {
  const char *name;
  int         size;   /* bytes per element */
} Dtype;

/* Every dtype name of the safetensors format; only the first three are read as floats. */
static const Dtype dtypes[] = {
  { "F32", 4 }, { "F16", 2 }, { "BF16", 2 },
  { "F64", 8 }, { "I64", 8 }, { "U64", 8 }, { "I32", 4 }, { "U32", 4 }, { "I16", 2 }, { "U16", 2 },
  { "I8", 1 }, { "U8", 1 }, { "BOOL", 1 }, { "F8_E5M2", 1 }, { "F8_E4M3", 1 },
};
#define N_FLOAT_DTYPES 3

typedef struct {
  char   *name;
  int     dtype;     /* index into dtypes */
  int     ndim;
  gint64  shape[GAF_SAFETENSORS_MAX_DIMS];
  gint64  numel;
  guint64 begin, end;
} Tensor;

struct _GafSafetensors {
  char       *display;
  guint8     *bytes;       /* the whole file */
  gsize       n_bytes;     /* the file's size (bytes holds only the header when header_only) */
  gboolean    header_only;
  gsize       data_at;     /* 8 + N */
  GArray     *tensors;     /* of Tensor, by ascending begin */
  GHashTable *index;       /* name -> index + 1 */
  GHashTable *metadata;    /* char * -> char * */
};

static void
tensor_clear (gpointer p)
{
  Tensor *t = p;
  g_free (t->name);
}

void
gaf_safetensors_free (GafSafetensors *st)
{
  if (st == NULL)
    return;
  g_free (st->display);
  g_free (st->bytes);
  if (st->tensors != NULL)
    g_array_unref (st->tensors);
  if (st->index != NULL)
    g_hash_table_unref (st->index);
  if (st->metadata != NULL)
    g_hash_table_unref (st->metadata);
  g_free (st);
}

char *
gaf_safetensors_shape_string (int ndim, const gint64 *shape)
{
  GString *s = g_string_new ("(");

  for (int d = 0; d < ndim; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? ", " : "", shape[d]);
  g_string_append_c (s, ')');
  return g_string_free (s, FALSE);
}

static int
dtype_index (const char *name)
{
  for (guint k = 0; k < G_N_ELEMENTS (dtypes); k++)
    if (g_str_equal (dtypes[k].name, name))
      return (int) k;
  return -1;
}

static int
cmp_begin (gconstpointer a, gconstpointer b)
{
  const Tensor *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

/* A JSON integer in [0, max]. */
static gboolean
json_uint (JsonNode *node, guint64 max, guint64 *out)
{
  gint64 v;

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  v = json_node_get_int (node);
  if (v < 0 || (guint64) v > max)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

/* One tensor entry of the header; *why on failure. */
static gboolean
parse_tensor (const char *name, JsonNode *node, guint64 buffer_len, Tensor *t, char **why)
{
  JsonObject *o;
  JsonNode *dt, *sh, *off;
  JsonArray *a;
  const char *dtype;
  guint64 numel = 1, nbytes, v;

  memset (t, 0, sizeof *t);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      *why = g_strdup_printf ("the entry of tensor '%s' is not an object", name);
      return FALSE;
    }
  o = json_node_get_object (node);
  dt = json_object_get_member (o, "dtype");
  sh = json_object_get_member (o, "shape");
  off = json_object_get_member (o, "data_offsets");
  if (dt == NULL || sh == NULL || off == NULL || json_object_get_size (o) != 3)
    {
      *why = g_strdup_printf ("tensor '%s' must have exactly dtype, shape and data_offsets", name);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (dt) || json_node_get_value_type (dt) != G_TYPE_STRING)
    {
      *why = g_strdup_printf ("the dtype of tensor '%s' is not a string", name);
      return FALSE;
    }
  dtype = json_node_get_string (dt);
  t->dtype = dtype_index (dtype);
  if (t->dtype < 0)
    {
      g_autofree char *shown = g_strndup (dtype, 32);
      *why = g_strdup_printf ("tensor '%s' has the unknown dtype '%s'", name, shown);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (sh) || json_array_get_length (a = json_node_get_array (sh)) > GAF_SAFETENSORS_MAX_DIMS)
    {
      *why = g_strdup_printf ("the shape of tensor '%s' is not a list of at most %d dimensions", name,
                              GAF_SAFETENSORS_MAX_DIMS);
      return FALSE;
    }
  t->ndim = (int) json_array_get_length (a);
  for (int d = 0; d < t->ndim; d++)
    {
      if (!json_uint (json_array_get_element (a, d), GAF_SAFETENSORS_MAX_BYTES, &v))
        {
          *why = g_strdup_printf ("dimension %d of tensor '%s' is not an integer from 0 to %" G_GUINT64_FORMAT, d,
                                  name, GAF_SAFETENSORS_MAX_BYTES);
          return FALSE;
        }
      t->shape[d] = (gint64) v;
      /* both factors are at most 2^31; numel stays below 2^62 as long as it is checked each time */
      numel *= v;
      if (numel > GAF_SAFETENSORS_MAX_BYTES)
        {
          *why = g_strdup_printf ("tensor '%s' has more elements than the file can hold", name);
          return FALSE;
        }
    }
  t->numel = (gint64) numel;
  if (!JSON_NODE_HOLDS_ARRAY (off) || json_array_get_length (a = json_node_get_array (off)) != 2 ||
      !json_uint (json_array_get_element (a, 0), G_MAXINT64, &t->begin) ||
      !json_uint (json_array_get_element (a, 1), G_MAXINT64, &t->end))
    {
      *why = g_strdup_printf ("the data_offsets of tensor '%s' are not two non-negative integers", name);
      return FALSE;
    }
  nbytes = numel * (guint64) dtypes[t->dtype].size;
  if (t->end < t->begin || t->end > buffer_len)
    {
      *why = g_strdup_printf ("tensor '%s' lies at bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") outside the "
                              "%" G_GUINT64_FORMAT "-byte data (truncated file?)", name, t->begin, t->end, buffer_len);
      return FALSE;
    }
  if (t->end - t->begin != nbytes)
    {
      g_autofree char *s = gaf_safetensors_shape_string (t->ndim, t->shape);
      *why = g_strdup_printf ("tensor '%s' (%s %s) needs %" G_GUINT64_FORMAT " bytes, its offsets span %" G_GUINT64_FORMAT,
                              name, dtypes[t->dtype].name, s, nbytes, t->end - t->begin);
      return FALSE;
    }
  t->name = g_strdup (name);
  return TRUE;
}

static gboolean
parse_metadata (GafSafetensors *st, JsonNode *node, char **why)
{
  JsonObject *o;
  g_autoptr(GList) members = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      *why = g_strdup ("__metadata__ is not an object");
      return FALSE;
    }
  o = json_node_get_object (node);
  members = json_object_get_members (o);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *v = json_object_get_member (o, l->data);
      if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
        {
          *why = g_strdup_printf ("__metadata__ entry '%s' is not a string", (const char *) l->data);
          return FALSE;
        }
      g_hash_table_insert (st->metadata, g_strdup (l->data), g_strdup (json_node_get_string (v)));
    }
  return TRUE;
}

/* Everything after the header length: the JSON and the layout of the buffer. */
static gboolean
parse_header (GafSafetensors *st, const char *json, gsize len, char **why)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *root;
  guint64 buffer_len = st->n_bytes - st->data_at, at = 0;

  if (!g_utf8_validate (json, (gssize) len, NULL))
    {
      *why = g_strdup ("the header is not UTF-8 text");
      return FALSE;
    }
  if (!json_parser_load_from_data (parser, json, (gssize) len, &local))
    {
      *why = g_strdup_printf ("the header is not JSON (%s)", local->message);
      return FALSE;
    }
  if (json_parser_get_root (parser) == NULL || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      *why = g_strdup ("the header is not a JSON object");
      return FALSE;
    }
  root = json_node_get_object (json_parser_get_root (parser));
  if (json_object_get_size (root) > GAF_SAFETENSORS_MAX_TENSORS + 1)
    {
      *why = g_strdup_printf ("more than %d tensors", GAF_SAFETENSORS_MAX_TENSORS);
      return FALSE;
    }
  members = json_object_get_members (root);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      Tensor t;
      if (g_str_equal (name, "__metadata__"))
        {
          if (!parse_metadata (st, json_object_get_member (root, name), why))
            return FALSE;
          continue;
        }
      if (*name == '\0')
        {
          *why = g_strdup ("a tensor has an empty name");
          return FALSE;
        }
      if (!parse_tensor (name, json_object_get_member (root, name), buffer_len, &t, why))
        return FALSE;
      g_array_append_val (st->tensors, t);
    }
  /* The tensors must tile the buffer: sorted by offset, each begins where the previous ended. */
  g_array_sort (st->tensors, cmp_begin);
  for (guint i = 0; i < st->tensors->len; i++)
    {
      Tensor *t = &g_array_index (st->tensors, Tensor, i);
      if (t->begin < at)
        {
          *why = g_strdup_printf ("tensor '%s' overlaps tensor '%s'", t->name,
                                  g_array_index (st->tensors, Tensor, i - 1).name);
          return FALSE;
        }
      if (t->begin > at)
        {
          *why = g_strdup_printf ("bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") of the data belong to no tensor",
                                  at, t->begin);
          return FALSE;
        }
      at = t->end;
      g_hash_table_insert (st->index, t->name, GUINT_TO_POINTER (i + 1));
    }
  if (at != buffer_len)
    {
      *why = g_strdup_printf ("bytes [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT ") of the data belong to no tensor",
                              at, buffer_len);
      return FALSE;
    }
  return TRUE;
}

/* bytes: n bytes read from the start of a file of file_size bytes (n == file_size, or at least the header). */
static GafSafetensors *
parse (guint8 *bytes, gsize n, gsize file_size, const char *display, GError **error)
{
  g_autoptr(GafSafetensors) st = g_new0 (GafSafetensors, 1);
  g_autofree char *why = NULL;
  guint64 header_len;

  st->display = g_strdup (display);
  st->bytes = bytes;
  st->n_bytes = file_size;
  st->header_only = n < file_size;
  st->tensors = g_array_new (FALSE, TRUE, sizeof (Tensor));
  g_array_set_clear_func (st->tensors, tensor_clear);
  st->index = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  if (n < 8)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s is truncated: %" G_GSIZE_FORMAT " bytes, shorter than the 8-byte header length", display, n);
      return NULL;
    }
  memcpy (&header_len, bytes, 8);
  header_len = GUINT64_FROM_LE (header_len);
  if (header_len > n - 8)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s is truncated or not safetensors: its header length %" G_GUINT64_FORMAT " exceeds the %"
                   G_GSIZE_FORMAT " bytes that follow", display, header_len, MAX (n, file_size) - 8);
      return NULL;
    }
  if (header_len < 2 || header_len > GAF_SAFETENSORS_MAX_HEADER)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s is not safetensors: header length %" G_GUINT64_FORMAT " (expected 2 to %u bytes)", display,
                   header_len, GAF_SAFETENSORS_MAX_HEADER);
      return NULL;
    }
  st->data_at = 8 + (gsize) header_len;
  if (!parse_header (st, (const char *) bytes + 8, (gsize) header_len, &why))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s is not valid safetensors: %s", display, why);
      return NULL;
    }
  return g_steal_pointer (&st);
}

GafSafetensors *
gaf_safetensors_load_bytes (const guint8 *bytes, gsize n, const char *name, GError **error)
{
  GafSafetensors *st;
  guint8 *copy;

  g_return_val_if_fail (bytes != NULL || n == 0, NULL);
  if (n > GAF_SAFETENSORS_MAX_BYTES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "%s is larger than %" G_GUINT64_FORMAT " bytes", name,
                   GAF_SAFETENSORS_MAX_BYTES);
      return NULL;
    }
  copy = g_malloc (MAX (n, 1));
  if (n > 0)
    memcpy (copy, bytes, n);
  st = parse (copy, n, n, name, error);   /* owns copy from here on, also on failure */
  return st;
}

/* Reads up to want bytes from fd into bytes + *n. */
static gboolean
read_more (int fd, guint8 *bytes, gsize want, gsize *n, const char *display, GError **error)
{
  while (*n < want)
    {
      gssize r = read (fd, bytes + *n, want - *n);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved = errno;
          g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s: %s", display, g_strerror (saved));
          return FALSE;
        }
      if (r == 0)
        break;   /* shrank meanwhile: checked like any short file */
      *n += (gsize) r;
    }
  return TRUE;
}

static GafSafetensors *
load_file (const char *path, gboolean header_only, GError **error)
{
  g_autofree char *display = NULL;
  guint8 *bytes;
  guint64 file_size = 0;
  gsize n = 0, want, size;
  int fd;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  display = g_filename_display_name (path);
  /* gaf-file.h: a FIFO or a device is refused before any read (never waited on), and so is a file
   * larger than GAF_SAFETENSORS_MAX_BYTES; a whole-file read must also fit the memory budget. */
  fd = gaf_file_open_regular (path, "safetensors file", GAF_SAFETENSORS_MAX_BYTES, &file_size, error);
  if (fd < 0)
    return NULL;
  if (!header_only)
    {
      g_autofree char *what = g_strdup_printf ("reading %s", display);
      if (!gaf_budget_check (file_size, what, error))
        {
          close (fd);
          return NULL;
        }
    }
  size = (gsize) file_size;
  want = header_only ? MIN (size, 8) : size;
  bytes = g_try_malloc (MAX (want, 1));
  if (bytes == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot read %s: out of memory for %" G_GSIZE_FORMAT " bytes",
                   display, want);
      close (fd);
      return NULL;
    }
  if (!read_more (fd, bytes, want, &n, display, error))
    {
      g_free (bytes);
      close (fd);
      return NULL;
    }
  if (header_only && n == 8)
    {
      /* then the header itself, when its length is plausible (parse judges the rest) */
      guint64 hl;
      memcpy (&hl, bytes, 8);
      hl = GUINT64_FROM_LE (hl);
      if (hl <= GAF_SAFETENSORS_MAX_HEADER && hl <= size - 8)
        {
          want = 8 + (gsize) hl;
          bytes = g_realloc (bytes, want);
          if (!read_more (fd, bytes, want, &n, display, error))
            {
              g_free (bytes);
              close (fd);
              return NULL;
            }
        }
    }
  close (fd);
  return parse (bytes, n, header_only ? size : n, display, error);
}

GafSafetensors *
gaf_safetensors_load (const char *path, GError **error)
{
  return load_file (path, FALSE, error);
}

GafSafetensors *
gaf_safetensors_load_header (const char *path, GError **error)
{
  return load_file (path, TRUE, error);
}

guint
gaf_safetensors_get_n_tensors (GafSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->tensors->len;
}

const char *
gaf_safetensors_get_name (GafSafetensors *st, guint i)
{
  g_return_val_if_fail (st != NULL && i < st->tensors->len, NULL);
  return g_array_index (st->tensors, Tensor, i).name;
}

static const Tensor *
lookup (GafSafetensors *st, const char *name)
{
  guint i = GPOINTER_TO_UINT (g_hash_table_lookup (st->index, name));
  return i == 0 ? NULL : &g_array_index (st->tensors, Tensor, i - 1);
}

gboolean
gaf_safetensors_has (GafSafetensors *st, const char *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, FALSE);
  return lookup (st, name) != NULL;
}

gboolean
gaf_safetensors_get_info (GafSafetensors *st, const char *name, const char **dtype, int *ndim, const gint64 **shape)
{
  const Tensor *t;

  g_return_val_if_fail (st != NULL && name != NULL, FALSE);
  t = lookup (st, name);
  if (t == NULL)
    return FALSE;
  if (dtype != NULL)
    *dtype = dtypes[t->dtype].name;
  if (ndim != NULL)
    *ndim = t->ndim;
  if (shape != NULL)
    *shape = t->shape;
  return TRUE;
}

gint64
gaf_safetensors_get_numel (GafSafetensors *st, const char *name)
{
  const Tensor *t;

  g_return_val_if_fail (st != NULL && name != NULL, 0);
  t = lookup (st, name);
  return t == NULL ? 0 : t->numel;
}

/* IEEE binary16 -> binary32, exactly (every half is a float). */
static float
half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  float f;

  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (man << 13);          /* inf, NaN */
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (man << 13);   /* normal: rebias 15 -> 127 */
  else if (man == 0)
    bits = sign;                                       /* zero */
  else
    {
      /* subnormal half: man 2^-24, normal as a float */
      int e = -1;
      do
        {
          man <<= 1;
          e++;
        }
      while ((man & 0x400) == 0);
      bits = sign | ((guint32) (112 - e) << 23) | ((man & 0x3ff) << 13);
    }
  memcpy (&f, &bits, 4);
  return f;
}

/* The tensor name when it exists with exactly this shape, else NULL with an error. */
static const Tensor *
lookup_shaped (GafSafetensors *st, const char *name, int ndim, const gint64 *shape, GError **error)
{
  const Tensor *t = lookup (st, name);
  gboolean same;

  if (t == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "no tensor '%s'", name);
      return NULL;
    }
  same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++)
    same = t->shape[d] == shape[d];
  if (!same)
    {
      g_autofree char *have = gaf_safetensors_shape_string (t->ndim, t->shape);
      g_autofree char *want = gaf_safetensors_shape_string (ndim, shape);
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "tensor '%s' has shape %s, the model needs %s", name, have, want);
      return NULL;
    }
  return t;
}

gboolean
gaf_safetensors_read_i64 (GafSafetensors *st, const char *name, int ndim, const gint64 *shape, gint64 *out,
                          GError **error)
{
  const Tensor *t;
  const guint8 *p;

  g_return_val_if_fail (st != NULL && name != NULL && out != NULL, FALSE);
  g_return_val_if_fail (!st->header_only, FALSE);
  t = lookup_shaped (st, name, ndim, shape, error);
  if (t == NULL)
    return FALSE;
  if (!g_str_equal (dtypes[t->dtype].name, "I64"))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "tensor '%s' has dtype %s; gaflow reads it as I64", name,
                   dtypes[t->dtype].name);
      return FALSE;
    }
  p = st->bytes + st->data_at + t->begin;
  for (gint64 i = 0; i < t->numel; i++)
    {
      guint64 u = 0;
      for (int b = 7; b >= 0; b--)   /* little-endian, byte by byte */
        u = u << 8 | p[8 * i + b];
      out[i] = (gint64) u;
    }
  return TRUE;
}

gboolean
gaf_safetensors_read_floats (GafSafetensors *st, const char *name, int ndim, const gint64 *shape, float *out,
                             GError **error)
{
  const Tensor *t;
  const guint8 *p;

  g_return_val_if_fail (st != NULL && name != NULL && out != NULL, FALSE);
  g_return_val_if_fail (!st->header_only, FALSE);
  t = lookup_shaped (st, name, ndim, shape, error);
  if (t == NULL)
    return FALSE;
  if (t->dtype >= N_FLOAT_DTYPES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "tensor '%s' has dtype %s; gaflow reads F32, F16 and BF16", name,
                   dtypes[t->dtype].name);
      return FALSE;
    }
  p = st->bytes + st->data_at + t->begin;
  for (gint64 i = 0; i < t->numel; i++)
    {
      /* little-endian values assembled byte by byte (any host order, no alignment needed) */
      const guint8 *q = p + (t->dtype == 0 ? 4 : 2) * i;
      guint32 bits;
      float f;
      switch (t->dtype)
        {
        case 0:   /* F32 */
          bits = (guint32) q[0] | (guint32) q[1] << 8 | (guint32) q[2] << 16 | (guint32) q[3] << 24;
          memcpy (&f, &bits, 4);
          break;
        case 1:   /* F16 */
          f = half_to_float ((guint16) (q[0] | q[1] << 8));
          break;
        default:  /* BF16: the upper half of a float */
          bits = ((guint32) q[0] | (guint32) q[1] << 8) << 16;
          memcpy (&f, &bits, 4);
          break;
        }
      if (!isfinite (f))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "tensor '%s' holds a non-finite value (%g at element %"
                       G_GINT64_FORMAT ")", name, (double) f, i);
          return FALSE;
        }
      out[i] = f;
    }
  return TRUE;
}

const char *
gaf_safetensors_get_metadata (GafSafetensors *st, const char *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

/* ---- writer ---------------------------------------------------------------------------------------- */

typedef struct {
  char   *name;
  int     ndim;
  gint64  shape[GAF_SAFETENSORS_MAX_DIMS];
  float  *data;     /* F32, or NULL */
  gint64 *ints;     /* I64, or NULL */
  gsize   numel;
} WTensor;

struct _GafSafetensorsWriter {
  GArray     *tensors;    /* of WTensor */
  GPtrArray  *meta_keys;
  GHashTable *meta;
};

static void
wtensor_clear (gpointer p)
{
  WTensor *t = p;
  g_free (t->name);
  g_free (t->data);
  g_free (t->ints);
}

GafSafetensorsWriter *
gaf_safetensors_writer_new (void)
{
  GafSafetensorsWriter *w = g_new0 (GafSafetensorsWriter, 1);

  w->tensors = g_array_new (FALSE, TRUE, sizeof (WTensor));
  g_array_set_clear_func (w->tensors, wtensor_clear);
  w->meta_keys = g_ptr_array_new ();
  w->meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return w;
}

void
gaf_safetensors_writer_free (GafSafetensorsWriter *w)
{
  if (w == NULL)
    return;
  g_array_unref (w->tensors);
  g_ptr_array_unref (w->meta_keys);
  g_hash_table_unref (w->meta);
  g_free (w);
}

static void
writer_add (GafSafetensorsWriter *w, const char *name, int ndim, const gint64 *shape, const float *data,
            const gint64 *ints)
{
  WTensor t = { 0 };

  g_return_if_fail (w != NULL && name != NULL && *name != '\0' && ndim >= 0 && ndim <= GAF_SAFETENSORS_MAX_DIMS);
  g_return_if_fail (!g_str_equal (name, "__metadata__"));
  for (guint i = 0; i < w->tensors->len; i++)
    g_return_if_fail (!g_str_equal (g_array_index (w->tensors, WTensor, i).name, name));
  t.name = g_strdup (name);
  t.ndim = ndim;
  t.numel = 1;
  for (int d = 0; d < ndim; d++)
    {
      g_return_if_fail (shape[d] >= 0);
      t.shape[d] = shape[d];
      t.numel *= (gsize) shape[d];
    }
  if (data != NULL)
    t.data = g_memdup2 (data, MAX (t.numel, 1) * sizeof (float));
  else
    t.ints = g_memdup2 (ints, MAX (t.numel, 1) * sizeof (gint64));
  g_array_append_val (w->tensors, t);
}

void
gaf_safetensors_writer_add (GafSafetensorsWriter *w, const char *name, int ndim, const gint64 *shape,
                            const float *data)
{
  g_return_if_fail (data != NULL);
  writer_add (w, name, ndim, shape, data, NULL);
}

void
gaf_safetensors_writer_add_i64 (GafSafetensorsWriter *w, const char *name, int ndim, const gint64 *shape,
                                const gint64 *data)
{
  g_return_if_fail (data != NULL);
  writer_add (w, name, ndim, shape, NULL, data);
}

void
gaf_safetensors_writer_set_metadata (GafSafetensorsWriter *w, const char *key, const char *value)
{
  g_return_if_fail (w != NULL && key != NULL && value != NULL);
  if (!g_hash_table_contains (w->meta, key))
    g_ptr_array_add (w->meta_keys, g_strdup (key));
  g_hash_table_insert (w->meta, g_strdup (key), g_strdup (value));
}

GBytes *
gaf_safetensors_writer_to_bytes (GafSafetensorsWriter *w)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;
  GByteArray *out;
  gsize json_len, header_len, at = 0;
  guint64 le;

  g_return_val_if_fail (w != NULL, NULL);
  json_builder_begin_object (b);
  if (w->meta_keys->len > 0)
    {
      json_builder_set_member_name (b, "__metadata__");
      json_builder_begin_object (b);
      for (guint i = 0; i < w->meta_keys->len; i++)
        {
          json_builder_set_member_name (b, w->meta_keys->pdata[i]);
          json_builder_add_string_value (b, g_hash_table_lookup (w->meta, w->meta_keys->pdata[i]));
        }
      json_builder_end_object (b);
    }
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const WTensor *t = &g_array_index (w->tensors, WTensor, i);
      gsize size = t->ints != NULL ? 8 : 4;
      json_builder_set_member_name (b, t->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, t->ints != NULL ? "I64" : "F32");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < t->ndim; d++)
        json_builder_add_int_value (b, t->shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) at);
      json_builder_add_int_value (b, (gint64) (at + size * t->numel));
      json_builder_end_array (b);
      json_builder_end_object (b);
      at += size * t->numel;
    }
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json = json_generator_to_data (gen, &json_len);

  /* The header padded with spaces to a multiple of 8, so that the data is aligned. */
  header_len = (json_len + 7) / 8 * 8;
  out = g_byte_array_sized_new ((guint) (8 + header_len + at));
  le = GUINT64_TO_LE ((guint64) header_len);
  g_byte_array_append (out, (const guint8 *) &le, 8);
  g_byte_array_append (out, (const guint8 *) json, (guint) json_len);
  for (gsize k = json_len; k < header_len; k++)
    g_byte_array_append (out, (const guint8 *) " ", 1);
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const WTensor *t = &g_array_index (w->tensors, WTensor, i);
      for (gsize k = 0; t->ints != NULL && k < t->numel; k++)
        {
          guint64 v = GUINT64_TO_LE ((guint64) t->ints[k]);
          g_byte_array_append (out, (const guint8 *) &v, 8);
        }
      for (gsize k = 0; t->data != NULL && k < t->numel; k++)
        {
          guint32 bits;
          memcpy (&bits, &t->data[k], 4);
          bits = GUINT32_TO_LE (bits);
          g_byte_array_append (out, (const guint8 *) &bits, 4);
        }
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
gaf_safetensors_writer_save (GafSafetensorsWriter *w, const char *path, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local = NULL;
  gsize n;
  const guint8 *p;

  g_return_val_if_fail (w != NULL && path != NULL, FALSE);
  for (guint i = 0; i < w->tensors->len; i++)
    {
      const WTensor *t = &g_array_index (w->tensors, WTensor, i);
      for (gsize k = 0; t->data != NULL && k < t->numel; k++)
        if (!isfinite (t->data[k]))
          {
            g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                         "tensor '%s' holds a non-finite value at element %" G_GSIZE_FORMAT "; not written", t->name, k);
            return FALSE;
          }
    }
  bytes = gaf_safetensors_writer_to_bytes (w);
  p = g_bytes_get_data (bytes, &n);
  if (!g_file_set_contents_full (path, (const char *) p, (gssize) n,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, &local))
    {
      g_autofree char *display = g_filename_display_name (path);
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "cannot write %s: %s", display, local->message);
      return FALSE;
    }
  return TRUE;
}
