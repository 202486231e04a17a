/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The safetensors format (the weights format of the PyTorch world), read and written without PyTorch:
 *
 *   offset   size   field
 *   0        8      u64 N, little-endian: the length of the header
 *   8        N      the header: a UTF-8 JSON object (may end in spaces). Each member but one is a tensor,
 *                   "name": { "dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end] };
 *                   the optional member "__metadata__" maps strings to strings.
 *   8 + N    ...    the byte buffer: every tensor's raw little-endian values, C order, at
 *                   [begin, end) relative to the start of the buffer.
 *
 * gaf_safetensors_load checks, each with its own message (GAF_ERROR_FORMAT; GAF_ERROR_IO for a file that
 * cannot be read, is not a regular file or is larger than GAF_SAFETENSORS_MAX_BYTES): the header length
 * against the file size ("truncated"), the JSON, every tensor's dtype name (the safetensors names; only
 * F32, F16 and BF16 can be read as floats, the others are refused by name when read), shape (at most
 * GAF_SAFETENSORS_MAX_DIMS non-negative dimensions) and offsets (end - begin = elements x element size,
 * inside the buffer, tensors not overlapping and together covering the whole buffer), the metadata
 * (strings only). Values are checked when read: gaf_safetensors_read_floats refuses a shape other than
 * the expected one and any NaN or infinity (messages name the tensor, not the file: callers prefix it). */

#define GAF_SAFETENSORS_MAX_BYTES   (G_GUINT64_CONSTANT (1) << 31)   /* 2 GiB: 4 x the largest model */
#define GAF_SAFETENSORS_MAX_HEADER  (100u << 20)                     /* as the reference implementation */
#define GAF_SAFETENSORS_MAX_DIMS    8
#define GAF_SAFETENSORS_MAX_TENSORS 100000

typedef struct _GafSafetensors GafSafetensors;

GafSafetensors *gaf_safetensors_load          (const char *path, GError **error);
/* The header only (names, dtypes, shapes, offsets against the file size, metadata), without reading the
 * data: to see what a file is. gaf_safetensors_read_floats must not be called on the result. */
GafSafetensors *gaf_safetensors_load_header   (const char *path, GError **error);
/* The same from bytes in memory (copied); name is used in messages. */
GafSafetensors *gaf_safetensors_load_bytes    (const guint8 *bytes, gsize n, const char *name, GError **error);
void            gaf_safetensors_free          (GafSafetensors *st);

/* Tensors in the order of their data (ascending offsets). */
guint           gaf_safetensors_get_n_tensors (GafSafetensors *st);
const char     *gaf_safetensors_get_name      (GafSafetensors *st, guint i);
gboolean        gaf_safetensors_has           (GafSafetensors *st, const char *name);
/* dtype name ("F32", ...), number of dimensions and the dimensions (owned by st); FALSE when absent. */
gboolean        gaf_safetensors_get_info      (GafSafetensors *st, const char *name, const char **dtype, int *ndim,
                                               const gint64 **shape);
/* Number of elements of a tensor (0 when absent). */
gint64          gaf_safetensors_get_numel     (GafSafetensors *st, const char *name);
/* Converts tensor name to floats: out receives prod(shape) values. Fails (GAF_ERROR_FORMAT) when the
 * tensor is absent, its shape is not exactly (ndim, shape), its dtype is not F32, F16 or BF16, or a value
 * is not finite. */
gboolean        gaf_safetensors_read_floats   (GafSafetensors *st, const char *name, int ndim, const gint64 *shape,
                                               float *out, GError **error);
/* An I64 tensor (PyTorch's int64 buffers: BatchNorm's num_batches_tracked) into out (prod(shape) values).
 * Fails (GAF_ERROR_FORMAT) when the tensor is absent, its shape is not exactly (ndim, shape) or its dtype
 * is not I64. Range checks are the caller's. */
gboolean        gaf_safetensors_read_i64      (GafSafetensors *st, const char *name, int ndim, const gint64 *shape,
                                               gint64 *out, GError **error);
/* The value of a metadata key (owned by st) or NULL. */
const char     *gaf_safetensors_get_metadata  (GafSafetensors *st, const char *key);
/* A string describing a shape, "(2, 3, 3)" (for messages). */
char           *gaf_safetensors_shape_string  (int ndim, const gint64 *shape);

/* Writing: F32 (and I64) tensors in the order they are added, metadata strings. */
typedef struct _GafSafetensorsWriter GafSafetensorsWriter;

GafSafetensorsWriter *gaf_safetensors_writer_new  (void);
void            gaf_safetensors_writer_free       (GafSafetensorsWriter *w);
/* Copies prod(shape) floats from data. A name given twice is a programming error. */
void            gaf_safetensors_writer_add        (GafSafetensorsWriter *w, const char *name, int ndim,
                                                   const gint64 *shape, const float *data);
/* The same for an I64 tensor. */
void            gaf_safetensors_writer_add_i64    (GafSafetensorsWriter *w, const char *name, int ndim,
                                                   const gint64 *shape, const gint64 *data);
void            gaf_safetensors_writer_set_metadata (GafSafetensorsWriter *w, const char *key, const char *value);
/* The whole file in memory. */
GBytes         *gaf_safetensors_writer_to_bytes   (GafSafetensorsWriter *w);
/* Atomic (g_file_set_contents_full, CONSISTENT | DURABLE). Refuses non-finite values
 * (GAF_ERROR_INVALID_ARGUMENT). */
gboolean        gaf_safetensors_writer_save       (GafSafetensorsWriter *w, const char *path, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafSafetensors, gaf_safetensors_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafSafetensorsWriter, gaf_safetensors_writer_free)

G_END_DECLS
