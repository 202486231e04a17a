/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-params.h"
#include "gaf-rng.h"

G_BEGIN_DECLS

/* A training checkpoint: the complete configuration (a GKeyFile: [model], [train], [data], ...), the
 * parameter arena (data, Adam moments and step, the EMA copy when there is one), the trainer's RNG and the
 * step, so that a run resumed from it continues bit for bit.
 *
 * File layout, version 1. Every integer is little-endian; floats are IEEE-754 binary32 (binary64 for the
 * RNG spare), little-endian. No alignment padding.
 *
 *   offset    size     field
 *   0         8        magic "GAFLOWCK"
 *   8         4        u32 format version (GAF_CHECKPOINT_VERSION)
 *   12        4        u32 reserved, 0
 *   16        8        u64 file size in bytes, the checksum included
 *   24        ...      six sections in this order, each: 4-byte ASCII tag, u64 payload length L, L bytes
 *     "CONF"  L        the configuration as GKeyFile text (UTF-8, no terminating NUL)
 *     "STAT"  64       u64 step, u64 Adam step (GafParams.step), u64 rng.s[0..3], u32 rng.has_spare,
 *                      u32 reserved 0, f64 rng.spare
 *     "VIEW"  L        u64 P (floats in the arena), u32 T (tensors), u32 reserved 0, then T times:
 *                      u64 offset, u64 size (floats), u32 name length N (1..1024), N bytes of name (UTF-8)
 *                      The views tile [0, P) in order, as gaf_params_add lays them out.
 *     "DATA"  4 P      parameters
 *     "ADMM"  4 P      Adam first moment
 *     "ADMV"  4 P      Adam second moment
 *     "EMA "  4 P or 0 exponential moving average of the parameters; empty when the arena has none
 *   size-32   32       SHA-256 (GChecksum) of bytes [0, size - 32)
 *
 * gaf_checkpoint_load checks, in this order: the magic ("not a gaflow checkpoint"), the version
 * ("unsupported checkpoint version"), the size field against the file size ("truncated"), the checksum
 * ("checksum mismatch"), then the sections (tags, lengths, views, key file, every float finite:
 * "malformed"). All of these are GAF_ERROR_FORMAT; an unreadable file is GAF_ERROR_IO. */

#define GAF_CHECKPOINT_MAGIC   "GAFLOWCK"
#define GAF_CHECKPOINT_VERSION 1
/* Largest checkpoint file read (a model of GAF_MODEL_MAX_PARAMS parameters with its Adam moments and
 * EMA takes 2 GiB); the memory budget (gaf-budget.h) applies too. */
#define GAF_CHECKPOINT_MAX_BYTES (G_GUINT64_CONSTANT (3) << 30)

typedef struct _GafCheckpoint GafCheckpoint;

/* Atomic: the bytes go to a temporary file in the target's directory, which is fsync'ed and renamed over
 * path, then the directory is fsync'ed (g_file_set_contents_full with CONSISTENT | DURABLE). A failure or
 * a crash at any point leaves the previous file at path as it was. Refuses non-finite parameters or
 * moments (GAF_ERROR_INVALID_ARGUMENT): such a checkpoint could not be loaded. */
gboolean        gaf_checkpoint_save      (const char *path, GKeyFile *config, const GafParams *params,
                                          const GafRng *rng, guint64 step, GError **error);
/* Reads and validates everything; NULL with a GError otherwise. Never reads outside the file. */
GafCheckpoint  *gaf_checkpoint_load      (const char *path, GError **error);
void            gaf_checkpoint_free      (GafCheckpoint *ck);

/* Copies the arena (data, m, v, Adam step, EMA present or not) into params, whose views must have the same
 * names and sizes in the same order (else GAF_ERROR_INVALID_ARGUMENT saying how they differ, params
 * untouched); rng and step receive the saved values when not NULL. params must be allocated. */
gboolean        gaf_checkpoint_restore   (GafCheckpoint *ck, GafParams *params, GafRng *rng, guint64 *step,
                                          GError **error);

/* The configuration saved with the checkpoint (owned by ck). */
GKeyFile       *gaf_checkpoint_get_config      (GafCheckpoint *ck);
guint64         gaf_checkpoint_get_step        (GafCheckpoint *ck);
gsize           gaf_checkpoint_get_param_count (GafCheckpoint *ck);
guint           gaf_checkpoint_get_n_tensors   (GafCheckpoint *ck);
gboolean        gaf_checkpoint_has_ema         (GafCheckpoint *ck);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafCheckpoint, gaf_checkpoint_free)

G_END_DECLS
