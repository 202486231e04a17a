/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-model.h"
#include "gaf-safetensors.h"

G_BEGIN_DECLS

/* The networks under the PyTorch module names of the authors' code (IPA-HD/generative-af, the `net` of
 * its Lightning module): one table per network between gaflow's parameter views and the PyTorch
 * state_dict, written once and used both ways.
 *
 *   unet     architecture/unet_openai.py UNetModel: time_embed.{0,2}, input_blocks.K.J...,
 *            middle_block.{0,1,2}, output_blocks.K.J..., out.{0,2}; ResBlock in_layers.{0,2},
 *            emb_layers.1, out_layers.{0,3}, skip_connection; AttentionBlock norm, qkv, proj_out;
 *            Downsample op, Upsample conv.
 *   toy-cnn  architecture/cnn_dirichlet.py CNNModel: linear, time_embedder.0.W (the fixed Fourier
 *            frequencies, a tensor there, part of the configuration here), time_embedder.1,
 *            time_layers.I.dense, norms.I, convs.I, final_conv.{0,2}.
 *   dense    architecture/dense.py DenseNet: layers.I.0 (BatchNorm1d: weight, bias and the buffers
 *            running_mean, running_var, num_batches_tracked, an I64 scalar), layers.I.1 (Linear); without
 *            hidden layers only layers.0.1. gaflow's flattening order is PyTorch's (gaf-dense.h), so the
 *            tables need no permutation.
 *   mlp      no table: gaflow's MLP (LayerNorm after each Linear, log-time features) is not the
 *            authors' DenseNet (BatchNorm before each Linear, raw t, ReLU on the output).
 *
 * Layouts. PyTorch: Linear (out, in), Conv1d (out, in, K), Conv2d (out, in, K, K), attention qkv and
 * proj as Conv1d with K = 1. gaflow: Linear (in, out), conv1d (K, in, out), conv2d (K, K, in, out),
 * channel-last activations. The UNet's sinusoidal time features are [cos, sin] there and [sin, cos] here,
 * so the first time Linear also exchanges the halves of its input. The toy CNN's five time Linear layers
 * are one (H, 5H) matrix here. */

typedef enum {
  GAF_TORCH_COPY,         /* same element order (biases, norms) */
  GAF_TORCH_LINEAR,       /* torch (O, I) = engine (I, cols)[:, col0 : col0 + O] transposed */
  GAF_TORCH_LINEAR_SWAP,  /* LINEAR with the input halves exchanged */
  GAF_TORCH_CONV,         /* torch (O, I, K...) <- engine (K..., I, O) */
  GAF_TORCH_FOURIER,      /* the toy CNN's frequencies (the configuration, not the arena) */
  GAF_TORCH_COUNT,        /* an I64 scalar there (num_batches_tracked), one float buffer value here */
} GafTorchLayout;

typedef struct {
  char          *torch;     /* PyTorch state_dict key */
  char          *view;      /* gaflow parameter view (NULL for FOURIER) */
  gsize          offset;    /* COPY: first float in the view; LINEAR: first column */
  gsize          cols;      /* LINEAR: columns of the engine matrix */
  GafTorchLayout layout;
  int            ndim;
  gint64         shape[4];  /* PyTorch shape */
  gint64         numel;
} GafTorchEntry;

typedef struct _GafTorchMap GafTorchMap;

/* The table of a network configuration; NULL with GAF_ERROR_INVALID_ARGUMENT for one that has no
 * counterpart in the authors' code (the MLP, the posterior form, the toy CNN's position bias). */
GafTorchMap         *gaf_torch_map_new         (const GafModelConfig *cfg, GError **error);
void                 gaf_torch_map_free        (GafTorchMap *map);
guint                gaf_torch_map_get_n       (GafTorchMap *map);
const GafTorchEntry *gaf_torch_map_get         (GafTorchMap *map, guint i);
/* The authors' name of the network ("unet", "cnn_dirichlet", "dense"), as in their config/model/NAME.yaml. */
const char          *gaf_torch_map_get_network (GafTorchMap *map);
/* Index into the view (floats) of element k (C order of the PyTorch shape) of entry e. */
gsize                gaf_torch_entry_index     (const GafTorchEntry *e, gsize k);
/* Whether every float of every view of params is reached by exactly one element of one entry, and every
 * entry lies inside its view; GAF_ERROR_INVALID_ARGUMENT saying what is not. */
gboolean             gaf_torch_map_check       (GafTorchMap *map, GafParams *params, GError **error);

/* The hyper-parameters of cfg under the authors' names (network, model_channels, channel_mult,
 * num_res_blocks, attention_resolutions, image_size, in_channels, out_channels, num_classes, hidden_dim;
 * the dense network's c, n, hidden_dims, bias)
 * and gaflow's own [model] group (key "gaflow.model") into w's metadata. */
void                 gaf_torch_write_metadata  (const GafModelConfig *cfg, GafSafetensorsWriter *w);
/* The configuration a file's metadata describes: "gaflow.model" when present (exact), else the authors'
 * hyper-parameters (network, ... as above); the image size and classes, when the metadata lacks them, from
 * height, width and classes (0: unknown). FALSE with GAF_ERROR_FORMAT saying what is missing. */
gboolean             gaf_torch_config_from_metadata (GafSafetensors *st, guint64 seed, int height, int width,
                                                     int classes, GafModelConfig *cfg, GError **error);

/* Adds the network's tensors (weights: the arena's data or EMA, params->size floats) under the PyTorch
 * names. */
gboolean             gaf_torch_export          (GafNet *net, const GafModelConfig *cfg, const float *weights,
                                                GafSafetensorsWriter *w, GError **error);
/* A network of configuration cfg with the weights of st. Every tensor of the table must be present with
 * its shape (else "missing tensor" / "has shape ..., the model needs ..."), and st must hold no other
 * tensor ("is not a NETWORK of this configuration: unexpected tensor ..."). The toy CNN's frequencies are
 * copied into cfg. Adam moments are zero, no EMA. */
GafNet              *gaf_torch_import          (GafSafetensors *st, GafModelConfig *cfg, GError **error);

/* The configuration of a checkpoint of the model in st (configuration cfg) into kf: the groups of the
 * metadata's gaflow.config when present (a file gaflow exported), [model] from cfg, [train] lambda from the
 * metadata's field_magnitude unless a group gave it. GAF_ERROR_FORMAT for a bad gaflow.config or
 * field_magnitude. */
gboolean             gaf_torch_checkpoint_config (GafSafetensors *st, const GafModelConfig *cfg, GKeyFile *kf,
                                                  GError **error);
/* Whether the file says which data its model was trained on: a gaflow.config with a [data] spec or the app's
 * [app] group. Works on gaf_safetensors_load_header too. */
gboolean             gaf_torch_names_data      (GafSafetensors *st);

/* A checkpoint at out (step 0, no Adam state, no EMA, RNG seed 1) of the model in the safetensors file at
 * path: the configuration from its metadata (gaf_torch_config_from_metadata, gaf_torch_checkpoint_config);
 * when the file does not name its data, [data] spec = data_spec (NULL: none). */
gboolean             gaf_torch_write_checkpoint (const char *path, const char *data_spec, const char *out,
                                                 GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafTorchMap, gaf_torch_map_free)

G_END_DECLS
