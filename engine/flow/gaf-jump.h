/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-net.h"
#include "gaf-progress.h"
#include "gaf-rng.h"

G_BEGIN_DECLS

/* Jump flows: discrete flow matching (Campbell et al. 2024; Gat et al. 2024), a continuous-time Markov
 * chain per position instead of a flow on the simplex.
 *
 * Path, per position and independently: p_t(x | x1) = kappa_t delta_{x1}(x) + (1 - kappa_t) p_0(x) on
 * t in [0, 1], with p_0 = delta_mask (masked source: a (c+1)-th state, index c) or uniform over the c
 * classes (uniform source). Drawing x_t: keep x1 with probability kappa_t, else draw from p_0.
 *
 * Model: a denoiser p_theta(x1 | x_t, t), softmax over c classes per position, on any GafNet whose input is
 * the one-hot state (B, n, c + 1) for the masked source (the last channel is the mask) and (B, n, c) for the
 * uniform source, and whose output is c logits per position. Loss: cross-entropy against x1, on the masked
 * positions only (masked source: an unmasked position is x1 itself) or on all positions (uniform source).
 *
 * Sampling: Euler steps of h = 1/steps on t_k = k h of the rate
 *   u_t(y | x) = kappa'_t / (1 - kappa_t) (p_theta(x1 = y | x_t) - delta_x(y)).
 * With j = min(1, h kappa'_t / (1 - kappa_t)) the step's transition is "with probability j draw y from
 * p_theta(. | x_t), else stay" (staying has probability 1 - j + j p_theta(x)). Masked source: only masked
 * positions move (the exact denoiser of an unmasked position is delta_x, rate 0). The last step uses j = 1,
 * so every position is drawn from the denoiser there and nothing stays masked for any step count (with
 * kappa_t = t the Euler value at t = 1 - h is exactly 1 already). The state is discrete all along: the sample
 * is the final state, no argmax. Network evaluations = steps. */

typedef enum {
  GAF_JUMP_MASKED,
  GAF_JUMP_UNIFORM,
} GafJumpSource;

/* kappa_t, increasing from kappa_0 = 0 to kappa_1 = 1. */
typedef enum {
  GAF_KAPPA_LINEAR,   /* kappa = t (the default) */
  GAF_KAPPA_POLY,     /* kappa = t^a (a = exponent > 0) */
  GAF_KAPPA_COSINE,   /* kappa = sin^2(pi t / 2) */
  GAF_N_KAPPAS
} GafKappa;

typedef struct {
  GafKappa kappa;      /* GAF_KAPPA_LINEAR */
  double   exponent;   /* a of GAF_KAPPA_POLY: 2 */
  int      steps;      /* sampler Euler steps = network evaluations: 20 */
} GafJumpConfig;

void        gaf_jump_config_init   (GafJumpConfig *cfg);
gboolean    gaf_jump_config_check  (const GafJumpConfig *cfg, GError **error);
/* "linear", "poly", "cosine" */
gboolean    gaf_kappa_from_string  (const char *name, GafKappa *out);
const char *gaf_kappa_to_string    (GafKappa kappa);
/* kappa_t and its derivative kappa'_t for t in [0, 1]. */
double      gaf_kappa_value        (const GafJumpConfig *cfg, double t);
double      gaf_kappa_rate         (const GafJumpConfig *cfg, double t);
/* The Euler step's jump probability j = min(1, h kappa'_t / (1 - kappa_t)), 1 at or past the last step
 * (t + h >= 1) and where kappa_t reaches 1. */
double      gaf_jump_probability   (const GafJumpConfig *cfg, double t, double h);

/* The mask state's index: c (one past the classes). */
#define GAF_JUMP_MASK(c) ((guint16) (c))

/* Network input width: c + 1 for the masked source (the mask channel), c for the uniform source. */
int      gaf_jump_in_channels (GafJumpSource source, int c);

/* ---- path and loss ------------------------------------------------------------------------------- */

/* labels (B, n) -> t (B) ~ U(0, 1), xt (B, n) with values in [0, c] (c = mask, masked source only). */
void     gaf_jump_path_sample  (const GafJumpConfig *cfg, GafJumpSource source, GafRng *rng,
                                const guint16 *labels, int batch, int n, int c, float *t, guint16 *xt);
/* One-hot: xt (rows) -> out (rows, in_ch), in_ch = gaf_jump_in_channels (source, c), entries 0 or 1 (a
 * network scales its input itself: its input_scale). */
void     gaf_jump_encode       (const guint16 *xt, gsize rows, int in_ch, float *out);
/* Cross-entropy of logits (B, n, c) against labels (B, n): mean over the batch of the sum over the positions
 * counted of -log softmax(logits)_label. Counted: the masked positions of xt (masked source; xt (B, n)) or all
 * (xt NULL). dlogits (B, n, c) is set to (softmax - onehot) / B on counted rows and to 0 elsewhere. */
double   gaf_jump_cross_entropy (const float *logits, const guint16 *labels, const guint16 *xt, int batch,
                                 int n, int c, float *dlogits);

/* ---- sampler ------------------------------------------------------------------------------------- */

/* Optional record of chosen rows (b n + i of the first chunk) after every step, for drawing the process:
 * times (double, t after the step; the first record is t = 0 before any step), p (float, n_rows c per record:
 * the denoiser's prediction p_theta(x1 | x_t) used by the step; the first record is uniform), state (guint16,
 * n_rows per record: the state after the step, c = masked). */
typedef struct {
  const guint *rows;
  guint        n_rows;
  GArray      *times;
  GArray      *p;
  GArray      *state;
} GafJumpTrace;

GafJumpTrace *gaf_jump_trace_new  (const guint *rows, guint n_rows);
void          gaf_jump_trace_free (GafJumpTrace *trace);

/* Draws `count` sequences, `chunk` at a time: x_0 from the source, `steps` Euler steps, the final state as
 * the sample. net: in_channels = gaf_jump_in_channels (source, c), out_channels = c. labels (count, n) out; p_final (count, n, c) optional: the last
 * prediction p_theta(x1 | x_{1-h}). The net's time input is t in [0, 1). Fails with GAF_ERROR_DIVERGED when
 * the network gives a non-finite output. */
gboolean gaf_jump_sample (GafJumpSource source, const GafJumpConfig *cfg, GafNet *net, GafRng *rng,
                          guint64 count, int chunk, guint16 *labels, float *p_final,
                          GafJumpTrace *trace, GafProgressFunc progress, gpointer progress_data,
                          GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafJumpTrace, gaf_jump_trace_free)

G_END_DECLS
