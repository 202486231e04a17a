/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-net.h"
#include "gaf-params.h"

G_BEGIN_DECLS

/* The UNet of docs/method.md §3: OpenAI's guided-diffusion UNet at small size, on NHWC images.
 *
 * time:    sinusoid (dim C) -> Linear(C, 4C) -> SiLU -> Linear(4C, 4C) = emb
 * input:   conv 3x3 (c -> C)
 * encoder: per level l (ch = mult[l] C): `blocks` ResBlocks (the first maps the previous width to ch),
 *          each followed by an AttentionBlock when the level's resolution is listed in attn; after
 *          every level but the last a Downsample (conv 3x3, stride 2). The output of the input conv,
 *          of every ResBlock (+ attention) and of every Downsample is kept as a skip.
 * middle:  ResBlock, AttentionBlock, ResBlock.
 * decoder: levels reversed, `blocks + 1` ResBlocks per level on concat(h, last skip) -> mult[l] C
 *          (+ attention as above); after the last block of every level but level 0 an Upsample
 *          (nearest x2, conv 3x3).
 * output:  GroupNorm, SiLU, conv 3x3 (C -> c), zero-initialised.
 * ResBlock(in, out): h = conv3x3(SiLU(GN(x))); h += Linear(SiLU(emb)) per channel;
 *          h = conv3x3(SiLU(GN(h))) (zero-initialised); return (in == out ? x : conv1x1(x)) + h.
 * AttentionBlock(ch): GN, qkv 1x1 (ch -> 3ch), one head softmax(q k^T / sqrt(ch)) v over the H W
 *          positions, proj 1x1 (zero-initialised), residual.
 * GroupNorm: `groups` (32) groups or the largest divisor of the width below that; eps 1e-5. With one
 *          channel per group (widths <= groups) the second norm of a ResBlock removes the time embedding
 *          added per channel just before it, so such blocks are blind to t; fewer groups keep it.
 * Everything else is initialised as PyTorch does (U(-1/sqrt(fan_in), 1/sqrt(fan_in)); norms 1, 0).
 *
 * As a GafNet: x (B, n = H W, c) channel-last probabilities, t (B) -> out (B, H W, c). */
#define GAF_UNET_MAX_LEVELS 6
#define GAF_UNET_MAX_ATTN   6

typedef struct {
  int    classes;                      /* c: output channels, and input channels unless in_channels */
  int    in_channels;                  /* 0: classes; else the input's width (c + 1 for the masked
                                        * jump flow's one-hot with the mask channel) */
  int    height, width;                /* divisible by 2^(levels - 1) */
  int    channels;                     /* C (even: half sines, half cosines) */
  int    n_levels;
  int    mult[GAF_UNET_MAX_LEVELS];
  int    blocks;                       /* residual blocks per encoder level */
  int    n_attn;
  int    attn[GAF_UNET_MAX_ATTN];      /* feature-map heights with attention (besides the middle) */
  double time_scale;                   /* the network sees t * time_scale (1 by default) */
  int    groups;                       /* at most this many GroupNorm groups (32, the reference) */
} GafUnetConfig;

typedef struct _GafUnet GafUnet;

/* docs/method.md §3's reference: C = 32, mult (1, 2, 2, 2), 2 blocks, no attention outside the middle. */
void      gaf_unet_config_init        (GafUnetConfig *cfg, int classes, int height, int width);
gboolean  gaf_unet_config_check       (const GafUnetConfig *cfg, GError **error);
/* The input width: in_channels, or classes when it is 0. */
int       gaf_unet_config_in_channels (const GafUnetConfig *cfg);
/* Updates cfg from a spec such as "channels=32,mult=1,2,2,2,blocks=2,attn=16": comma-separated
 * key=value tokens; a token without '=' extends the previous key's list (mult, attn); a list key
 * replaces the whole list ("attn=" or "attn=none" for none). Keys: classes, size (height and width),
 * height, width, channels, mult, blocks, attn, time_scale, groups. The result is checked. */
gboolean  gaf_unet_config_parse       (GafUnetConfig *cfg, const char *spec, GError **error);
/* The spec string of cfg (without classes and sizes), e.g. "channels=32,mult=1,2,2,2,blocks=2,attn=none". */
char     *gaf_unet_config_to_string   (const GafUnetConfig *cfg);
/* Group "model": kind=unet, classes, height, width, channels, mult, blocks, attn, time_scale, groups
 * (absent: 32), in_channels (written only when it differs from classes; absent: classes). */
void      gaf_unet_config_to_keyfile  (const GafUnetConfig *cfg, GKeyFile *kf);
gboolean  gaf_unet_config_from_keyfile (GafUnetConfig *cfg, GKeyFile *kf, GError **error);

gsize     gaf_unet_param_count        (const GafUnetConfig *cfg);
/* Forward FLOPs per image, counting 2 per multiply-add of every convolution, linear layer and attention
 * product as a direct convolution does them (the Winograd path does fewer: gaf_blas_flops counts those). */
double    gaf_unet_flops_per_image    (const GafUnetConfig *cfg);

GafUnet  *gaf_unet_new                (const GafUnetConfig *cfg, guint64 seed);
void      gaf_unet_free               (GafUnet *net);
GafParams *gaf_unet_get_params        (GafUnet *net);
const GafUnetConfig *gaf_unet_get_config (GafUnet *net);
/* Sets the zero-initialised layers (second conv of every ResBlock, attention projections, output conv)
 * to random values of the default scale: for gradient checks, where zeros would hide errors. */
void      gaf_unet_randomize_zero_init (GafUnet *net, guint64 seed);
/* 3x3 stride-1 convolutions with at least 8 channels in and out run as Winograd with output tiles up to
 * max_tile: F(4x4, 3x3) where the feature map's sides are multiples of 4, else F(2x2, 3x3) where they are
 * even (default 4). 2 uses F(2x2, 3x3) only, 0 runs every convolution through im2col (for tests). */
void      gaf_unet_set_winograd       (GafUnet *net, int max_tile);
/* Images per pass of gaf_unet_infer within one thread's part of the batch (default 16): smaller keeps
 * activations in cache, larger makes bigger products. */
void      gaf_unet_set_infer_chunk    (GafUnet *net, int images);

/* x (B, H W, c), t (B) -> out (B, H W, c). Saves activations for backward. */
void      gaf_unet_forward            (GafUnet *net, const float *x, const float *t, int batch, float *out);
/* The same output without saving activations (sampling): chunks of images, shared temporaries. */
void      gaf_unet_infer              (GafUnet *net, const float *x, const float *t, int batch, float *out);
/* Accumulates parameter gradients of the last forward; dx (B, H W, c) and dt (B) when not NULL. */
void      gaf_unet_backward           (GafUnet *net, const float *dout, float *dx, float *dt);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafUnet, gaf_unet_free)

G_END_DECLS
