/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-dense.h"
#include "gaf-mlp.h"
#include "gaf-net.h"
#include "gaf-toy-cnn.h"
#include "gaf-unet.h"

G_BEGIN_DECLS

/* The model factory: a network described completely by the [model] group of a key file, so that a
 * checkpoint names the network its parameters belong to.
 *
 *   [model]
 *   kind = toy-cnn | mlp | unet | dense
 *   seed = 1            initialisation seed (the toy CNN's fixed Fourier frequencies come from it, so it is
 *                       part of the function, not only of the starting point)
 *   n = 4               variables
 *   classes = 5         in and out channels; or in_channels = ... and out_channels = ... when they differ
 *   toy-cnn: hidden, fourier_half (default hidden / 2), fourier_scale, time_scale, input_scale, position_bias
 *   mlp:     hidden, depth, layernorm, time_freqs, input_scale
 *   dense:   hidden (the authors' hidden_dims: widths separated by ',' or ';', empty for none; default
 *            256,256), bias (default true)
 *   unet:    instead of n and classes: classes, height, width (n = height width), channels, mult, blocks,
 *            attn, time_scale (gaf_unet_config_from_keyfile; all required but attn)
 *   every kind: posterior_lambda = L (absent or 0: the network's output is the affinity, the reference;
 *            L > 0: the network inside the posterior form of gaf-posterior.h with lambda = L, which must
 *            be the path's lambda; in and out channels equal)
 *
 * Keys that are absent take the network's defaults (gaf_toy_cnn_config_init, gaf_mlp_config_init); an
 * unknown key is an error (a misspelt key would otherwise be ignored silently). */

typedef enum {
  GAF_MODEL_TOY_CNN,
  GAF_MODEL_MLP,
  GAF_MODEL_UNET,
  GAF_MODEL_DENSE,
  GAF_N_MODEL_KINDS
} GafModelKind;

typedef struct {
  GafModelKind    kind;
  guint64         seed;
  GafToyCnnConfig toy_cnn;   /* kind GAF_MODEL_TOY_CNN */
  GafMlpConfig    mlp;       /* kind GAF_MODEL_MLP */
  GafUnetConfig   unet;      /* kind GAF_MODEL_UNET */
  GafDenseConfig  dense;     /* kind GAF_MODEL_DENSE */
  double          posterior_lambda;   /* > 0: wrapped by gaf_posterior_net_new with this lambda */
} GafModelConfig;

/* A model at most this large (floats per arena; the arena holds four or five copies). */
#define GAF_MODEL_MAX_PARAMS (G_GUINT64_CONSTANT (1) << 27)

/* "float", "bf16" */
const char *gaf_precision_to_string    (GafPrecision precision);
gboolean    gaf_precision_from_string  (const char *name, GafPrecision *out, GError **error);
/* The precision of net's sampling products; bf16 is refused with a clear error where the network or the CPU
 * lacks it (only the UNet has a bf16 path, and only on CPUs with AVX-512 BF16). Training stays in float. */
gboolean    gaf_net_set_precision      (GafNet *net, GafPrecision precision, GError **error);
const char *gaf_model_kind_to_string   (GafModelKind kind);
gboolean    gaf_model_kind_from_string (const char *name, GafModelKind *out);

/* The network's defaults for n variables with c classes (the UNet: a square image of n pixels when n is a
 * square, else one row of n). */
void        gaf_model_config_init      (GafModelConfig *cfg, GafModelKind kind, int n, int c, guint64 seed);
/* The network's own check, and a bound on the size (a configuration read from a file must not be able
 * to ask for terabytes). */
gboolean    gaf_model_config_check     (const GafModelConfig *cfg, GError **error);
gsize       gaf_model_param_count      (const GafModelConfig *cfg);
/* Reads [model]; kind and n are required, and classes or both in_channels and out_channels. The result is
 * checked. cfg is only written on success. */
gboolean    gaf_model_config_from_keyfile (GafModelConfig *cfg, GKeyFile *kf, GError **error);
/* Replaces the [model] group with every key of cfg. */
void        gaf_model_config_to_keyfile   (const GafModelConfig *cfg, GKeyFile *kf);
/* The configuration of a network made by gaf_toy_cnn_new / gaf_mlp_new / gaf_unet_new / gaf_model_new
 * with this seed; FALSE for a network the factory does not know. */
gboolean    gaf_model_config_from_net     (GafModelConfig *cfg, GafNet *net, guint64 seed);

GafNet     *gaf_model_new                 (const GafModelConfig *cfg, GError **error);
GafNet     *gaf_model_new_from_keyfile    (GKeyFile *kf, GError **error);

G_END_DECLS
