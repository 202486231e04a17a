/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A per-layer-kind profile of the image networks (gaflow-cli bench --profile): CPU seconds of the threads
 * (CLOCK_THREAD_CPUTIME_ID, so time spent waiting for a core on a loaded machine counts nowhere) and the
 * floating point operations of the matrix products run inside each kind. Off by default; when off a
 * section costs one load and one branch. Sections must not nest (each kind is timed where its work is
 * done, e.g. the Winograd products and transforms inside gaf-winograd.c, not around the convolution). */
typedef enum {
  GAF_PROF_WINO_GEMM,        /* the products of Winograd 3x3 convolutions (forward, din, dw) */
  GAF_PROF_WINO_TRANSFORM,   /* their input/output/kernel transforms and adjoints */
  GAF_PROF_CONV1X1,          /* 1x1 skip convolutions */
  GAF_PROF_CONV_IM2COL,      /* the c-channel input and output 3x3 convolutions (im2col) */
  GAF_PROF_GN_SILU,          /* GroupNorm (+ SiLU), forward and backward */
  GAF_PROF_ATTENTION,        /* attention blocks: QKV, scores, softmax, weighted sum, projection */
  GAF_PROF_RESAMPLE,         /* stride-2 downsampling convolutions, nearest upsampling */
  GAF_PROF_TIME_EMB,         /* sinusoid, time MLP and every block's projection of it */
  GAF_PROF_ADAM,             /* the optimizer step (and EMA) */
  GAF_PROF_N_KINDS
} GafProfKind;

extern gboolean gaf_profile_on;

void        gaf_profile_enable (gboolean on);
void        gaf_profile_reset  (void);
const char *gaf_profile_name   (GafProfKind kind);
/* CPU seconds of the threads spent in kind since the reset, and the flops of the products counted in it. */
void        gaf_profile_get    (GafProfKind kind, double *seconds, double *flops);

/* Products report their flops here (gaf_sgemm and the engine's own kernels do). */
void        gaf_profile_count_flops (double flops);

typedef struct {
  gint64 ns;
  double flops;
} GafProfMark;

/* usage: GafProfMark m; gaf_profile_begin (&m); ... gaf_profile_end (GAF_PROF_..., &m); */
void        gaf_profile_begin_real (GafProfMark *mark);
void        gaf_profile_end_real   (GafProfKind kind, const GafProfMark *mark);

static inline void
gaf_profile_begin (GafProfMark *mark)
{
  if (G_UNLIKELY (gaf_profile_on))
    gaf_profile_begin_real (mark);
}

static inline void
gaf_profile_end (GafProfKind kind, const GafProfMark *mark)
{
  if (G_UNLIKELY (gaf_profile_on))
    gaf_profile_end_real (kind, mark);
}

G_END_DECLS
