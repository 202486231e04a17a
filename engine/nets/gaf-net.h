/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-params.h"

G_BEGIN_DECLS

/* Ranges of the networks' scale factors, checked wherever a configuration enters (options, spec
 * strings, a checkpoint's [model] group): not only finite, but small enough that t * time_scale and the
 * Fourier features stay far from float overflow (a time_scale of 1e308 made NaN inputs). */
#define GAF_NET_TIME_SCALE_MIN  1e-6
#define GAF_NET_TIME_SCALE_MAX  1e4
#define GAF_NET_INPUT_SCALE_MIN 1e-6
#define GAF_NET_INPUT_SCALE_MAX 1e6

static inline gboolean
gaf_net_scale_ok (double v, double lo, double hi)
{
  return v >= lo && v <= hi;   /* FALSE for NaN */
}

/* The precision of a network's products when it samples (infer); training is always in float. */
typedef enum {
  GAF_PRECISION_FLOAT,
  GAF_PRECISION_BF16,   /* inputs rounded to bf16, sums in float (gaf_gemm_bf16): AVX-512 BF16 CPUs, the UNet */
} GafPrecision;

/* A network the trainers and samplers can drive: x (B, n, in_channels), t (B) -> out (B, n, out_channels).
 * Concrete networks (toy CNN, MLP, UNet) embed GafNet as their first member. */
typedef struct _GafNet GafNet;

typedef struct {
  const char *name;
  /* Saves activations for backward. */
  void (*forward)  (GafNet *net, const float *x, const float *t, int batch, float *out);
  /* The same output without saving activations (sampling). */
  void (*infer)    (GafNet *net, const float *x, const float *t, int batch, float *out);
  /* Accumulates parameter gradients of the last forward; dx, dt accumulated when not NULL. */
  void (*backward) (GafNet *net, const float *dout, float *dx, float *dt);
  void (*free)     (GafNet *net);
  /* Optional; NULL for a network that computes the same in both modes. In training mode (every network
   * starts in it) forward normalises with the batch's own statistics and updates running ones (BatchNorm);
   * otherwise forward uses the running statistics, as infer always does. backward follows the mode of the
   * forward it goes back through. */
  void (*set_training) (GafNet *net, gboolean training);
  /* Optional; NULL for a network whose infer runs in float only. */
  gboolean (*set_precision) (GafNet *net, GafPrecision precision, GError **error);
} GafNetClass;

struct _GafNet {
  const GafNetClass *klass;
  GafParams         *params;
  int                n;
  int                in_channels;
  int                out_channels;
};

#define GAF_NET(p) ((GafNet *) (p))

static inline void
gaf_net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  net->klass->forward (net, x, t, batch, out);
}

static inline void
gaf_net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  net->klass->infer (net, x, t, batch, out);
}

static inline void
gaf_net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  net->klass->backward (net, dout, dx, dt);
}

static inline void
gaf_net_set_training (GafNet *net, gboolean training)
{
  if (net->klass->set_training != NULL)
    net->klass->set_training (net, training);
}

static inline GafParams *
gaf_net_get_params (GafNet *net)
{
  return net->params;
}

static inline void
gaf_net_free (GafNet *net)
{
  if (net != NULL)
    net->klass->free (net);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafNet, gaf_net_free)

G_END_DECLS
