/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-blas.h"
#include "gaf-gemm-small.h"
#include "gaf-error.h"
#include "gaf-layers.h"
#include "gaf-layers2d.h"
#include "gaf-winograd.h"
#include "gaf-parallel.h"
#include "gaf-profile.h"
#include "gaf-rng.h"
#include "gaf-unet.h"

/* ---- the network as a list of operations ------------------------------------------------------- */

typedef enum { OP_IN, OP_RES, OP_ATTN, OP_DOWN, OP_UP, OP_OUT } OpKind;

static const char *const op_names[] = { "in", "res", "attn", "down", "up", "out" };

typedef struct {
  OpKind kind;
  int    h, w;          /* input feature map */
  int    ho, wo;        /* output feature map */
  int    cin;           /* channels of the main input */
  int    cskip;         /* channels of the concatenated skip (decoder ResBlocks), else 0 */
  int    cout;
  int    skip_src;      /* op whose output is concatenated, -1 */
  int    g1, g2;        /* GroupNorm groups (input norm, second norm) */
  int    ch, cw;        /* input size of the 3x3 convolutions (2h x 2w after an upsampling) */
  GafConv2dShape conv1, conv2;   /* RES: both; IN, OUT, DOWN, UP: conv1 */
  int    wino1, wino2;          /* Winograd output tile of conv1 / conv2, 0 for im2col */
  GafWinograd wg1, wg2;
  /* The weights wg1 / wg2 were transformed from (NULL: none yet), and whether the flipped kernels are too:
   * sampling evaluates the same weights many times, and the transform costs as much as a few images. */
  float *seen1, *seen2;
  gboolean flip1, flip2;
  /* ATTN: the weights (qkv, proj) att_fold was folded from (gaf_attention_fold), for sampling; NULL: none yet */
  float *att_seen, *att_fold;
  /* RES with a 1x1 skip: its weights packed for bf16 sampling (with a concatenated skip, the rows of the input
   * and of the skip packed apart: inference never forms the concatenation), and the weights packed from */
  guint32 *s_bf16;
  float   *s_seen;
  /* Arena offsets. RES: gn1, c1, e, gn2, c2, s (1x1 skip, when in != out); ATTN: gn1, c1 = qkv (C, 3C),
   * c2 = proj (C, C); IN, DOWN, UP: c1; OUT: gn1, c1. */
  gsize  gn1_g, gn1_b, c1_w, c1_b, e_w, e_b, gn2_g, gn2_b, c2_w, c2_b, s_w, s_b;
  gboolean has_skip_conv;
} Op;

typedef struct {
  gsize   t1_w, t1_b, t2_w, t2_b;   /* time MLP: (C, 4C), (4C, 4C) */
  GArray *ops;                      /* of Op */
} Layout;

static gboolean
has_attn (const GafUnetConfig *cfg, int h)
{
  for (int a = 0; a < cfg->n_attn; a++)
    if (cfg->attn[a] == h)
      return TRUE;
  return FALSE;
}

static int
push_op (GArray *ops, int max_groups, OpKind kind, int h, int w, int cin, int cskip, int cout, int skip_src)
{
  Op op;
  int ct = cin + cskip;

  memset (&op, 0, sizeof op);
  op.kind = kind;
  op.h = h;
  op.w = w;
  op.ho = kind == OP_DOWN ? h / 2 : kind == OP_UP ? 2 * h : h;
  op.wo = kind == OP_DOWN ? w / 2 : kind == OP_UP ? 2 * w : w;
  op.cin = cin;
  op.cskip = cskip;
  op.cout = cout;
  op.skip_src = skip_src;
  op.ch = kind == OP_UP ? 2 * h : h;
  op.cw = kind == OP_UP ? 2 * w : w;
  op.g1 = gaf_groupnorm_groups_max (ct, max_groups);
  op.g2 = gaf_groupnorm_groups_max (cout, max_groups);
  op.conv1 = (GafConv2dShape) { ct, cout, 3, kind == OP_DOWN ? 2 : 1, 1 };
  op.conv2 = (GafConv2dShape) { cout, cout, 3, 1, 1 };
  op.has_skip_conv = kind == OP_RES && ct != cout;
  g_array_append_val (ops, op);
  return (int) ops->len - 1;
}

/* The op list of docs/method.md §3 / guided diffusion, then the arena layout in the same order. */
static void
layout (GafParams *p, const GafUnetConfig *cfg, Layout *lay)
{
  int C = cfg->channels, E = 4 * C, h = cfg->height, w = cfg->width, ch = C;
  int stack[1 + GAF_UNET_MAX_LEVELS * 18], top = 0;
  GArray *ops = g_array_new (FALSE, TRUE, sizeof (Op));

  stack[top++] = push_op (ops, cfg->groups, OP_IN, h, w, gaf_unet_config_in_channels (cfg), 0, C, -1);
  for (int l = 0; l < cfg->n_levels; l++)
    {
      for (int b = 0; b < cfg->blocks; b++)
        {
          int i = push_op (ops, cfg->groups, OP_RES, h, w, ch, 0, cfg->mult[l] * C, -1);
          ch = cfg->mult[l] * C;
          if (has_attn (cfg, h))
            i = push_op (ops, cfg->groups, OP_ATTN, h, w, ch, 0, ch, -1);
          stack[top++] = i;
        }
      if (l != cfg->n_levels - 1)
        {
          stack[top++] = push_op (ops, cfg->groups, OP_DOWN, h, w, ch, 0, ch, -1);
          h /= 2;
          w /= 2;
        }
    }
  push_op (ops, cfg->groups, OP_RES, h, w, ch, 0, ch, -1);
  push_op (ops, cfg->groups, OP_ATTN, h, w, ch, 0, ch, -1);
  push_op (ops, cfg->groups, OP_RES, h, w, ch, 0, ch, -1);
  for (int l = cfg->n_levels - 1; l >= 0; l--)
    for (int b = 0; b <= cfg->blocks; b++)
      {
        int src = stack[--top];
        push_op (ops, cfg->groups, OP_RES, h, w, ch, g_array_index (ops, Op, src).cout, cfg->mult[l] * C, src);
        ch = cfg->mult[l] * C;
        if (has_attn (cfg, h))
          push_op (ops, cfg->groups, OP_ATTN, h, w, ch, 0, ch, -1);
        if (l != 0 && b == cfg->blocks)
          {
            push_op (ops, cfg->groups, OP_UP, h, w, ch, 0, ch, -1);
            h *= 2;
            w *= 2;
          }
      }
  g_assert (top == 0);
  push_op (ops, cfg->groups, OP_OUT, h, w, ch, 0, cfg->classes, -1);

  lay->t1_w = gaf_params_add (p, "time.lin1.w", (gsize) C * E);
  lay->t1_b = gaf_params_add (p, "time.lin1.b", E);
  lay->t2_w = gaf_params_add (p, "time.lin2.w", (gsize) E * E);
  lay->t2_b = gaf_params_add (p, "time.lin2.b", E);
  for (guint i = 0; i < ops->len; i++)
    {
      Op *op = &g_array_index (ops, Op, i);
      int ct = op->cin + op->cskip;
#define ADD(field, suffix, n) G_STMT_START { \
        g_autofree char *nm = g_strdup_printf ("b%02u.%s.%s", i, op_names[op->kind], suffix); \
        op->field = gaf_params_add (p, nm, (gsize) (n)); } G_STMT_END
      switch (op->kind)
        {
        case OP_RES:
          ADD (gn1_g, "norm1.g", ct);
          ADD (gn1_b, "norm1.b", ct);
          ADD (c1_w, "conv1.w", (gsize) 9 * ct * op->cout);
          ADD (c1_b, "conv1.b", op->cout);
          ADD (e_w, "emb.w", (gsize) E * op->cout);
          ADD (e_b, "emb.b", op->cout);
          ADD (gn2_g, "norm2.g", op->cout);
          ADD (gn2_b, "norm2.b", op->cout);
          ADD (c2_w, "conv2.w", (gsize) 9 * op->cout * op->cout);
          ADD (c2_b, "conv2.b", op->cout);
          if (op->has_skip_conv)
            {
              ADD (s_w, "skip.w", (gsize) ct * op->cout);
              ADD (s_b, "skip.b", op->cout);
            }
          break;
        case OP_ATTN:
          ADD (gn1_g, "norm.g", op->cin);
          ADD (gn1_b, "norm.b", op->cin);
          ADD (c1_w, "qkv.w", (gsize) op->cin * 3 * op->cin);
          ADD (c1_b, "qkv.b", 3 * op->cin);
          ADD (c2_w, "proj.w", (gsize) op->cin * op->cin);
          ADD (c2_b, "proj.b", op->cin);
          break;
        case OP_OUT:
          ADD (gn1_g, "norm.g", op->cin);
          ADD (gn1_b, "norm.b", op->cin);
          ADD (c1_w, "conv.w", (gsize) 9 * op->cin * op->cout);
          ADD (c1_b, "conv.b", op->cout);
          break;
        case OP_IN:
        case OP_DOWN:
        case OP_UP:
          ADD (c1_w, "conv.w", (gsize) 9 * op->cin * op->cout);
          ADD (c1_b, "conv.b", op->cout);
          break;
        }
#undef ADD
    }
  lay->ops = ops;
}

static void
layout_clear (Layout *lay)
{
  if (lay->ops == NULL)
    return;
  for (guint i = 0; i < lay->ops->len; i++)
    {
      Op *op = &g_array_index (lay->ops, Op, i);
      gaf_winograd_clear (&op->wg1);
      gaf_winograd_clear (&op->wg2);
      g_clear_pointer (&op->seen1, g_free);
      g_clear_pointer (&op->seen2, g_free);
      g_clear_pointer (&op->att_seen, g_free);
      g_clear_pointer (&op->att_fold, g_free);
      g_clear_pointer (&op->s_bf16, g_aligned_free);
      g_clear_pointer (&op->s_seen, g_free);
    }
  g_clear_pointer (&lay->ops, g_array_unref);
}

gsize
gaf_unet_param_count (const GafUnetConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay = { 0 };
  gsize n;

  g_return_val_if_fail (gaf_unet_config_check (cfg, NULL), 0);
  layout (p, cfg, &lay);
  n = p->size;
  layout_clear (&lay);
  return n;
}

double
gaf_unet_flops_per_image (const GafUnetConfig *cfg)
{
  g_autoptr(GafParams) p = gaf_params_new ();
  Layout lay = { 0 };
  double C = cfg->channels, E = 4 * C, f = 2.0 * (C * E + E * E);

  g_return_val_if_fail (gaf_unet_config_check (cfg, NULL), 0.0);
  layout (p, cfg, &lay);
  for (guint i = 0; i < lay.ops->len; i++)
    {
      const Op *op = &g_array_index (lay.ops, Op, i);
      double n_in = (double) op->h * op->w, n_out = (double) op->ho * op->wo, ct = op->cin + op->cskip;
      switch (op->kind)
        {
        case OP_RES:
          f += 2.0 * n_in * 9 * ct * op->cout + 2.0 * n_in * 9 * op->cout * op->cout + 2.0 * E * op->cout;
          if (op->has_skip_conv)
            f += 2.0 * n_in * ct * op->cout;
          break;
        case OP_ATTN:
          f += 2.0 * n_in * op->cin * 4 * op->cin + 2.0 * 2 * n_in * n_in * op->cin;
          break;
        default:
          f += 2.0 * n_out * 9 * op->cin * op->cout;
          break;
        }
    }
  layout_clear (&lay);
  return f;
}

/* ---- activations --------------------------------------------------------------------------------- */

/* One op's buffers for a batch part. */
typedef struct {
  float *out, *dout;                  /* (B, ho, wo, cout); dout: gradient of out (training) */
  float *cat;                         /* RES with skip: (B, h, w, cin + cskip) */
  float *a1;                          /* RES, OUT: SiLU(GN(input)) */
  float *h1, *a2, *e;                 /* RES: conv1 + emb, SiLU(GN(h1)), emb projection (B, cout) */
  float *mean1, *rstd1, *mean2, *rstd2;
  float *xn, *qkv, *lse, *att;        /* ATTN: GN(x), (B, N, 3C), rows' log-sum-exp (B, N) (training), (B, N, C) */
  float *u;                           /* UP: upsampled input (B, 2h, 2w, C) */
  /* Per-channel sums of out (B, 2, cout) and of h1 (RES), the GroupNorm statistics: formed by the Winograd
   * output transforms that write them, else on first use (sums_ok tells which). */
  double *sums, *hsums;
  gboolean sums_ok;
  gboolean dout_set;                  /* backward: dout holds a gradient (its first writer writes, the rest add) */
} OpBuf;

typedef struct {
  int        capacity;       /* images */
  GPtrArray *blocks;         /* every allocation, freed together */
  OpBuf     *ob;
  float     *x;              /* training: copy of the input (B, H W, c) */
  float     *tt, *temb, *z1, *s1, *emb, *semb;   /* time path (B, C), (B, 4C) x 4 */
  /* backward scratch (training), sized for the largest op */
  float     *dsemb, *demb, *ds1, *dz1, *dtemb, *dtt;
  float     *d_cat, *d_a1, *d_h1, *d_a2, *d_e, *d_att, *d_qkv, *d_xn, *d_u;
  float     *conv;           /* convolution scratch (per thread, not per image) */
  float     *att_scratch;    /* the attention's tiles (per thread) */
  float     *bias;           /* a combined bias (max channels) */
  double    *cat_sums;       /* the sums of a decoder block's [input | skip] (B, 2, max channels) */
} Cache;

typedef struct {
  Cache  train, infer;
  float *grad;               /* NULL for part 0, which accumulates into params->grad directly */
  int    start, batch;
} Part;

struct _GafUnet {
  GafNet        parent;
  GafUnetConfig cfg;
  Layout        lay;
  int           winograd;    /* largest Winograd tile to use (0: im2col only) */
  int           infer_chunk;
  GafPrecision  precision;   /* of the products in infer */
  Part          parts[GAF_MAX_THREADS];
  guint         n_parts;     /* of the last forward */
  int           batch;       /* of the last training forward; 0 after infer */
};

static float *
cache_new (Cache *c, gsize floats)
{
  /* on a cache line: the products and transforms read and write these rows 16 floats at a time, and a
   * 64-byte access that straddles two lines costs two (malloc aligns to 16 bytes only; issue 18 part 7
   * measured a sampling evaluation 11 % faster, the attention blocks 4 %, with every buffer aligned) */
  float *p = g_aligned_alloc (MAX (floats, 1), sizeof (float), 64);
  g_ptr_array_add (c->blocks, p);
  return p;
}

static void
cache_clear (Cache *c)
{
  if (c->blocks != NULL)
    g_ptr_array_unref (c->blocks);
  g_free (c->ob);
  memset (c, 0, sizeof *c);
}

#define OPS(net) ((Op *) (net)->lay.ops->data)
#define N_OPS(net) ((int) (net)->lay.ops->len)

static gsize
conv_scratch_len (const Op *op, const GafConv2dShape *s, int wino)
{
  return wino ? gaf_winograd_scratch_len (s, op->ch, op->cw) : gaf_conv2d_scratch_len (s, op->ch, op->cw);
}

/* Training caches own every buffer; inference caches share one buffer per kind of temporary across ops
 * (only the op outputs, which later ops read as skips, are separate). */
static void
ensure_cache (GafUnet *net, Cache *c, int B, gboolean train)
{
  const GafUnetConfig *cfg = &net->cfg;
  int n_ops = N_OPS (net), C = cfg->channels, E = 4 * C;
  gsize m_cat = 0, m_a1 = 0, m_h = 0, m_e = 0, m_xn = 0, m_qkv = 0, m_u = 0, m_as = 0, m_st = 0;
  gsize m_conv = 0, m_ct = 1;
  float *sh_cat = NULL, *sh_a1 = NULL, *sh_h1 = NULL, *sh_a2 = NULL, *sh_e = NULL, *sh_xn = NULL;
  float *sh_qkv = NULL, *sh_att = NULL, *sh_u = NULL;

  if (c->capacity >= B)
    return;
  cache_clear (c);
  c->capacity = B;
  c->blocks = g_ptr_array_new_with_free_func (g_aligned_free);
  c->ob = g_new0 (OpBuf, n_ops);

  for (int i = 0; i < n_ops; i++)
    {
      const Op *op = &OPS (net)[i];
      gsize n = (gsize) op->h * op->w, ct = op->cin + op->cskip;
      m_ct = MAX (m_ct, ct);
      if (op->kind == OP_RES)
        {
          if (op->cskip)
            m_cat = MAX (m_cat, n * ct);
          m_a1 = MAX (m_a1, n * ct);
          m_h = MAX (m_h, n * op->cout);
          m_e = MAX (m_e, (gsize) op->cout);
          m_st = MAX (m_st, (gsize) MAX (op->g1, op->g2));
          m_conv = MAX (m_conv, conv_scratch_len (op, &op->conv1, op->wino1));
          m_conv = MAX (m_conv, conv_scratch_len (op, &op->conv2, op->wino2));
        }
      else if (op->kind == OP_ATTN)
        {
          m_xn = MAX (m_xn, n * op->cin);
          m_qkv = MAX (m_qkv, n * 3 * op->cin);
          /* tiles of scores, K^T and V^T: one per thread, linear in N */
          m_as = MAX (m_as, gaf_attention_scratch_len ((int) n, op->cin));
          m_as = MAX (m_as, gaf_attention_block_scratch_len ((int) n, op->cin));
          m_st = MAX (m_st, (gsize) op->g1);
        }
      else
        {
          if (op->kind == OP_OUT)
            {
              m_a1 = MAX (m_a1, n * op->cin);
              m_st = MAX (m_st, (gsize) op->g1);
            }
          if (op->kind == OP_UP)
            m_u = MAX (m_u, (gsize) op->ch * op->cw * op->cin);
          m_conv = MAX (m_conv, conv_scratch_len (op, &op->conv1, op->wino1));
        }
    }

  if (!train)
    {
      sh_cat = cache_new (c, B * m_cat);
      sh_a1 = cache_new (c, B * m_a1);
      sh_h1 = cache_new (c, B * m_h);
      sh_a2 = cache_new (c, B * m_h);
      sh_e = cache_new (c, B * m_e);
      sh_xn = cache_new (c, B * m_xn);
      sh_qkv = cache_new (c, B * m_qkv);
      sh_att = cache_new (c, B * m_xn);
      sh_u = cache_new (c, B * m_u);
    }
  for (int i = 0; i < n_ops; i++)
    {
      const Op *op = &OPS (net)[i];
      OpBuf *ob = &c->ob[i];
      gsize n = (gsize) op->h * op->w, ct = op->cin + op->cskip;
      gsize nout = (gsize) B * op->ho * op->wo * op->cout;

      if (op->kind != OP_OUT)
        {
          ob->out = cache_new (c, nout);
          if (train)
            ob->dout = cache_new (c, nout);
          ob->sums = (double *) cache_new (c, (gsize) 4 * B * op->cout);
        }
      if (op->kind == OP_RES)
        ob->hsums = (double *) cache_new (c, (gsize) 4 * B * op->cout);
      switch (op->kind)
        {
        case OP_RES:
          if (op->cskip)
            ob->cat = train && !op->has_skip_conv ? cache_new (c, B * n * ct) : sh_cat;
          ob->a1 = train ? cache_new (c, B * n * ct) : sh_a1;
          ob->h1 = train ? cache_new (c, B * n * op->cout) : sh_h1;
          ob->a2 = train ? cache_new (c, B * n * op->cout) : sh_a2;
          ob->e = train ? cache_new (c, (gsize) B * op->cout) : sh_e;
          if (train)
            {
              ob->mean1 = cache_new (c, (gsize) B * op->g1);
              ob->rstd1 = cache_new (c, (gsize) B * op->g1);
              ob->mean2 = cache_new (c, (gsize) B * op->g2);
              ob->rstd2 = cache_new (c, (gsize) B * op->g2);
            }
          break;
        case OP_ATTN:
          ob->xn = train ? cache_new (c, B * n * op->cin) : sh_xn;
          ob->qkv = train ? cache_new (c, B * n * 3 * op->cin) : sh_qkv;
          ob->lse = train ? cache_new (c, B * n) : NULL;
          ob->att = train ? cache_new (c, B * n * op->cin) : sh_att;
          if (train)
            {
              ob->mean1 = cache_new (c, (gsize) B * op->g1);
              ob->rstd1 = cache_new (c, (gsize) B * op->g1);
            }
          break;
        case OP_OUT:
          ob->a1 = train ? cache_new (c, B * n * op->cin) : sh_a1;
          if (train)
            {
              ob->mean1 = cache_new (c, (gsize) B * op->g1);
              ob->rstd1 = cache_new (c, (gsize) B * op->g1);
            }
          break;
        case OP_UP:
          ob->u = train ? cache_new (c, (gsize) B * op->ch * op->cw * op->cin) : sh_u;
          break;
        default:
          break;
        }
    }

  c->tt = cache_new (c, B);
  c->temb = cache_new (c, (gsize) B * C);
  c->z1 = cache_new (c, (gsize) B * E);
  c->s1 = cache_new (c, (gsize) B * E);
  c->emb = cache_new (c, (gsize) B * E);
  c->semb = cache_new (c, (gsize) B * E);
  c->conv = cache_new (c, m_conv);
  c->bias = cache_new (c, m_e);
  c->att_scratch = cache_new (c, m_as);
  c->cat_sums = (double *) cache_new (c, (gsize) 4 * B * m_ct);
  if (!train)
    return;
  c->x = cache_new (c, (gsize) B * cfg->height * cfg->width * gaf_unet_config_in_channels (cfg));
  c->dsemb = cache_new (c, (gsize) B * E);
  c->demb = cache_new (c, (gsize) B * E);
  c->ds1 = cache_new (c, (gsize) B * E);
  c->dz1 = cache_new (c, (gsize) B * E);
  c->dtemb = cache_new (c, (gsize) B * C);
  c->dtt = cache_new (c, B);
  c->d_cat = cache_new (c, B * m_cat);
  c->d_a1 = cache_new (c, B * m_a1);
  c->d_h1 = cache_new (c, B * m_h);
  c->d_a2 = cache_new (c, B * m_h);
  c->d_e = cache_new (c, B * m_e);
  c->d_att = cache_new (c, B * m_xn);
  c->d_qkv = cache_new (c, B * m_qkv);
  c->d_xn = cache_new (c, B * m_xn);
  c->d_u = cache_new (c, B * m_u);
}

/* ---- construction -------------------------------------------------------------------------------- */

static void
net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_unet_forward ((GafUnet *) net, x, t, batch, out);
}

static void
net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  gaf_unet_infer ((GafUnet *) net, x, t, batch, out);
}

static void
net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  gaf_unet_backward ((GafUnet *) net, dout, dx, dt);
}

static void
net_free (GafNet *net)
{
  gaf_unet_free ((GafUnet *) net);
}

static gboolean
net_set_precision (GafNet *net, GafPrecision precision, GError **error)
{
  if (precision == GAF_PRECISION_BF16 && !gaf_bf16_available ())
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "bf16 sampling needs a CPU with AVX-512 BF16, which this one lacks; sample in float");
      return FALSE;
    }
  ((GafUnet *) net)->precision = precision;
  return TRUE;
}

static const GafNetClass unet_class = {
  "unet", net_forward, net_infer, net_backward, net_free, NULL, net_set_precision,
};

static void
update_winograd_flags (GafUnet *net)
{
  for (int i = 0; i < N_OPS (net); i++)
    {
      Op *op = &OPS (net)[i];
      /* Winograd needs even sides; with very few channels (the c-channel input and output convs)
       * the 16 thin products cost more than im2col. */
      op->wino1 = net->winograd && (op->kind == OP_RES || op->kind == OP_UP) && op->conv1.cin >= 8 &&
                  op->conv1.cout >= 8 ? MIN (net->winograd, gaf_winograd_tile (&op->conv1, op->ch, op->cw)) : 0;
      op->wino2 = net->winograd && op->kind == OP_RES && op->conv2.cin >= 8
                  ? MIN (net->winograd, gaf_winograd_tile (&op->conv2, op->ch, op->cw)) : 0;
      /* an upsampling's Winograd convolution reads the low-resolution input as its upsampling */
      op->wg1.up = op->kind == OP_UP && op->wino1;
    }
  /* scratch sizes depend on the flags */
  for (int k = 0; k < GAF_MAX_THREADS; k++)
    {
      cache_clear (&net->parts[k].train);
      cache_clear (&net->parts[k].infer);
    }
}

static void
init_uniform (GafRng *rng, float *p, gsize n, double fan_in)
{
  gaf_rng_fill_uniform (rng, p, n, 1.0 / sqrt (fan_in));
}

static void
fill_const (float *p, gsize n, float v)
{
  for (gsize i = 0; i < n; i++)
    p[i] = v;
}

GafUnet *
gaf_unet_new (const GafUnetConfig *cfg, guint64 seed)
{
  GafUnet *net;
  GafRng rng;
  float *d;
  int C, E;

  g_return_val_if_fail (gaf_unet_config_check (cfg, NULL), NULL);

  net = g_new0 (GafUnet, 1);
  net->cfg = *cfg;
  net->parent.klass = &unet_class;
  net->parent.n = cfg->height * cfg->width;
  net->parent.in_channels = gaf_unet_config_in_channels (cfg);
  net->parent.out_channels = cfg->classes;
  net->parent.params = gaf_params_new ();
  net->winograd = 4;
  net->infer_chunk = 16;
  layout (net->parent.params, cfg, &net->lay);
  gaf_params_alloc (net->parent.params);
  update_winograd_flags (net);
  d = net->parent.params->data;
  C = cfg->channels;
  E = 4 * C;

  /* PyTorch's defaults: weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)), norms 1 and 0; the
   * zero-initialised layers stay 0 (the arena starts zeroed). */
  gaf_rng_init_stream (&rng, seed, 0x0e7);
  init_uniform (&rng, d + net->lay.t1_w, (gsize) C * E, C);
  init_uniform (&rng, d + net->lay.t1_b, E, C);
  init_uniform (&rng, d + net->lay.t2_w, (gsize) E * E, E);
  init_uniform (&rng, d + net->lay.t2_b, E, E);
  for (int i = 0; i < N_OPS (net); i++)
    {
      Op *op = &OPS (net)[i];
      int ct = op->cin + op->cskip;
      switch (op->kind)
        {
        case OP_RES:
          fill_const (d + op->gn1_g, ct, 1.0f);
          init_uniform (&rng, d + op->c1_w, (gsize) 9 * ct * op->cout, 9.0 * ct);
          init_uniform (&rng, d + op->c1_b, op->cout, 9.0 * ct);
          init_uniform (&rng, d + op->e_w, (gsize) E * op->cout, E);
          init_uniform (&rng, d + op->e_b, op->cout, E);
          fill_const (d + op->gn2_g, op->cout, 1.0f);
          if (op->has_skip_conv)
            {
              init_uniform (&rng, d + op->s_w, (gsize) ct * op->cout, ct);
              init_uniform (&rng, d + op->s_b, op->cout, ct);
            }
          break;
        case OP_ATTN:
          fill_const (d + op->gn1_g, op->cin, 1.0f);
          init_uniform (&rng, d + op->c1_w, (gsize) op->cin * 3 * op->cin, op->cin);
          init_uniform (&rng, d + op->c1_b, 3 * op->cin, op->cin);
          break;
        case OP_OUT:
          fill_const (d + op->gn1_g, op->cin, 1.0f);
          break;
        default:
          init_uniform (&rng, d + op->c1_w, (gsize) 9 * op->cin * op->cout, 9.0 * op->cin);
          init_uniform (&rng, d + op->c1_b, op->cout, 9.0 * op->cin);
          break;
        }
    }
  return net;
}

void
gaf_unet_randomize_zero_init (GafUnet *net, guint64 seed)
{
  float *d = net->parent.params->data;
  GafRng rng;

  gaf_rng_init_stream (&rng, seed, 0x2e0);
  for (int i = 0; i < N_OPS (net); i++)
    {
      Op *op = &OPS (net)[i];
      if (op->kind == OP_RES)
        {
          init_uniform (&rng, d + op->c2_w, (gsize) 9 * op->cout * op->cout, 9.0 * op->cout);
          init_uniform (&rng, d + op->c2_b, op->cout, 9.0 * op->cout);
        }
      else if (op->kind == OP_ATTN)
        {
          init_uniform (&rng, d + op->c2_w, (gsize) op->cin * op->cin, op->cin);
          init_uniform (&rng, d + op->c2_b, op->cin, op->cin);
        }
      else if (op->kind == OP_OUT)
        {
          init_uniform (&rng, d + op->c1_w, (gsize) 9 * op->cin * op->cout, 9.0 * op->cin);
          init_uniform (&rng, d + op->c1_b, op->cout, 9.0 * op->cin);
        }
    }
}

void
gaf_unet_set_winograd (GafUnet *net, int max_tile)
{
  g_return_if_fail (max_tile == 0 || max_tile == 2 || max_tile == 4);
  net->winograd = max_tile;
  update_winograd_flags (net);
  net->batch = 0;
}

void
gaf_unet_set_infer_chunk (GafUnet *net, int images)
{
  g_return_if_fail (images >= 1);
  net->infer_chunk = images;
}

void
gaf_unet_free (GafUnet *net)
{
  if (net == NULL)
    return;
  for (int k = 0; k < GAF_MAX_THREADS; k++)
    {
      cache_clear (&net->parts[k].train);
      cache_clear (&net->parts[k].infer);
      g_free (net->parts[k].grad);
    }
  layout_clear (&net->lay);
  gaf_params_free (net->parent.params);
  g_free (net);
}

GafParams *
gaf_unet_get_params (GafUnet *net)
{
  return net->parent.params;
}

const GafUnetConfig *
gaf_unet_get_config (GafUnet *net)
{
  return &net->cfg;
}

/* ---- forward ------------------------------------------------------------------------------------- */

/* out = conv (in) + bias (shared, or per image with bias_stride) + residual (NULL, or possibly out) */
/* One statement timed as a layer kind of the profile (gaf-profile.h). */
#define PROF(kind, stmt) G_STMT_START { \
    GafProfMark prof_mark_; \
    gaf_profile_begin (&prof_mark_); \
    stmt; \
    gaf_profile_end ((kind), &prof_mark_); } G_STMT_END

/* Returns whether sums (B, 2, Cout) now hold the per-channel sums of out (the Winograd output transform forms
 * them on the way; sums NULL: not wanted). */
static gboolean
conv_forward (const GafUnet *net, const Op *op, int which, float *out, double *sums, const float *in, int B,
              const float *bias, gsize bias_stride, const float *residual, float *scratch)
{
  const float *P = net->parent.params->data;
  const GafConv2dShape *s = which == 1 ? &op->conv1 : &op->conv2;
  gsize w = which == 1 ? op->c1_w : op->c2_w;

  if (which == 1 ? op->wino1 : op->wino2)
    {
      gaf_winograd_forward_sums (out, sums, in, which == 1 ? &op->wg1 : &op->wg2, bias, bias_stride, residual, B,
                                 op->ch, op->cw, scratch);
      return sums != NULL;
    }
  PROF (op->kind == OP_DOWN ? GAF_PROF_RESAMPLE : GAF_PROF_CONV_IM2COL,
        gaf_conv2d_forward_ex (out, in, P + w, bias, bias_stride, residual, B, op->ch, op->cw, s, scratch));
  return FALSE;
}

/* The per-channel sums of op i's output, formed now if its layer did not. */
static const double *
op_sums (GafUnet *net, Cache *c, int i, int B)
{
  const Op *op = &OPS (net)[i];
  OpBuf *ob = &c->ob[i];

  if (!ob->sums_ok)
    {
      PROF (GAF_PROF_GN_SILU, gaf_channel_sums (ob->sums, ob->out, B, op->ho * op->wo, op->cout));
      ob->sums_ok = TRUE;
    }
  return ob->sums;
}

/* Whether a gradient goes into op j's dout by adding (something wrote it already this backward) or by
 * writing (the first writer: no pass zeroing it beforehand); marks it written. */
static gboolean
dout_add (Cache *c, int j)
{
  gboolean add = c->ob[j].dout_set;

  c->ob[j].dout_set = TRUE;
  return add;
}

/* op j's dout for a writer that can only add: zeroed first if nothing wrote it yet */
static float *
dout_zeroed (const GafUnet *net, Cache *c, int j, int B)
{
  const Op *op = &OPS (net)[j];

  if (!dout_add (c, j))
    memset (c->ob[j].dout, 0, (gsize) B * op->ho * op->wo * op->cout * sizeof (float));
  return c->ob[j].dout;
}

/* d += g (add), or d = g, over n floats */
static void
add_or_copy (float *restrict d, const float *restrict g, gsize n, gboolean add)
{
  if (!add)
    {
      memcpy (d, g, n * sizeof (float));
      return;
    }
  for (gsize j = 0; j < n; j++)
    d[j] += g[j];
}

/* the conv's gradients; din += its input gradient (din_add), or din = it (din's old contents unread) */
static void
conv_backward (const GafUnet *net, const Op *op, int which, float *G, float *din, gboolean din_add,
               const float *dout, const float *in, int B, float *scratch)
{
  const float *P = net->parent.params->data;
  const GafConv2dShape *s = which == 1 ? &op->conv1 : &op->conv2;
  gsize w = which == 1 ? op->c1_w : op->c2_w, b = which == 1 ? op->c1_b : op->c2_b;

  if (which == 1 ? op->wino1 : op->wino2)
    {
      gaf_winograd_backward_ex (din, G + w, G + b, dout, in, which == 1 ? &op->wg1 : &op->wg2, B, op->ch, op->cw,
                                din_add, scratch);
      return;
    }
  if (din != NULL && !din_add)
    memset (din, 0, (gsize) B * op->ch * op->cw * s->cin * sizeof (float));
  PROF (op->kind == OP_DOWN ? GAF_PROF_RESAMPLE : GAF_PROF_CONV_IM2COL,
        gaf_conv2d_backward (din, G + w, G + b, dout, in, P + w, B, op->ch, op->cw, s, scratch));
}

/* out (M, N) += bias per row */
static void
add_rows (float *out, const float *bias, gsize m, int n)
{
  for (gsize i = 0; i < m; i++)
    {
      float *restrict r = out + i * n;
      for (int j = 0; j < n; j++)
        r[j] += bias[j];
    }
}

/* GroupNorm + SiLU of [a | b] (b NULL: a alone) as the input of a Winograd convolution
 * (gaf_winograd_forward_act), a group of images at a time: in sampling into the convolution's scratch (never
 * written whole), in training into dst (kept for backward, with the groups' mean and rstd), each group read by
 * the transform while it is still in L2 */
typedef struct {
  const float *a, *b;
  int ca, cb, n, groups;
  const double *sums;   /* (B, 2, ca + cb) or NULL */
  const float *g, *beta;
  float *dst, *mean, *rstd;   /* training: (B, n, ca + cb), (B, groups) twice; sampling: NULL */
} GnSiluAct;

static const float *
gn_silu_act (float *act, int b0, int n, gpointer data)
{
  const GnSiluAct *x = data;
  int c = x->ca + (x->b != NULL ? x->cb : 0);
  float *y = x->dst != NULL ? x->dst + (gsize) b0 * x->n * c : act;

  gaf_groupnorm_silu_forward_sums (y, x->mean != NULL ? x->mean + (gsize) b0 * x->groups : NULL,
                                   x->rstd != NULL ? x->rstd + (gsize) b0 * x->groups : NULL,
                                   x->a + (gsize) b0 * x->n * x->ca, x->ca,
                                   x->b != NULL ? x->b + (gsize) b0 * x->n * x->cb : NULL, x->cb,
                                   x->sums != NULL ? x->sums + (gsize) b0 * 2 * c : NULL, x->g, x->beta, n, x->n,
                                   x->groups);
  return y;
}

/* A ResBlock convolution of GroupNorm + SiLU of its input (act): a Winograd one forms it a group of images at
 * a time; otherwise it is written whole first (into act->dst, or whole in sampling). Whether sums were formed. */
static gboolean
conv_forward_gn (const GafUnet *net, const Op *op, int which, float *out, double *sums, GnSiluAct *act,
                 float *whole, const float *bias, gsize bias_stride, const float *residual, int B, float *scratch)
{
  const GafWinograd *wg = which == 1 ? &op->wg1 : &op->wg2;
  const float *a;
  GafProfMark mark;

  if ((which == 1 ? op->wino1 : op->wino2) && !wg->up)
    {
      gaf_winograd_forward_act (out, sums, gn_silu_act, act, wg, bias, bias_stride, residual, B, op->ch, op->cw,
                                scratch);
      return sums != NULL;
    }
  if (act->dst == NULL)
    act->dst = whole;
  gaf_profile_begin (&mark);
  a = gn_silu_act (NULL, 0, B, act);
  gaf_profile_end (GAF_PROF_GN_SILU, &mark);
  return conv_forward (net, op, which, out, sums, a, B, bias, bias_stride, residual, scratch);
}

static void
forward_part (GafUnet *net, Cache *c, int B, const float *x, const float *t, float *out, gboolean train)
{
  const GafUnetConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int C = cfg->channels, E = 4 * C, n_ops = N_OPS (net);
  gboolean bf16 = !train && net->precision == GAF_PRECISION_BF16;
  GafProfMark mark;

  /* time: sinusoid -> Linear -> SiLU -> Linear = emb; every ResBlock reads SiLU(emb) */
  gaf_profile_begin (&mark);
  for (int b = 0; b < B; b++)
    c->tt[b] = (float) (t[b] * cfg->time_scale);
  gaf_timestep_embedding_forward (c->temb, c->tt, B, C);
  gaf_linear_forward (c->z1, c->temb, P + L->t1_w, P + L->t1_b, B, C, E);
  gaf_silu_forward (c->s1, c->z1, (gsize) B * E);
  gaf_linear_forward (c->emb, c->s1, P + L->t2_w, P + L->t2_b, B, E, E);
  gaf_silu_forward (c->semb, c->emb, (gsize) B * E);
  gaf_profile_end (GAF_PROF_TIME_EMB, &mark);
  if (train)
    {
      memcpy (c->x, x, (gsize) B * cfg->height * cfg->width * gaf_unet_config_in_channels (cfg) * sizeof (float));
      x = c->x;
    }

  for (int i = 0; i < n_ops; i++)
    c->ob[i].sums_ok = FALSE;
  for (int i = 0; i < n_ops; i++)
    {
      const Op *op = &OPS (net)[i];
      OpBuf *ob = &c->ob[i];
      const float *in = i == 0 ? x : c->ob[i - 1].out;
      int n = op->h * op->w, ct = op->cin + op->cskip;
      gsize npix = (gsize) B * n;

      switch (op->kind)
        {
        case OP_IN:
        case OP_DOWN:
          ob->sums_ok = conv_forward (net, op, 1, ob->out, ob->sums, in, B, P + op->c1_b, 0, NULL, c->conv);
          break;
        case OP_UP:
          {
            const float *u = in;   /* a Winograd convolution reads in as its upsampling (wg1.up) */
            if (!op->wg1.up)
              {
                PROF (GAF_PROF_RESAMPLE, gaf_upsample2x_forward (ob->u, in, B, op->h, op->w, op->cin));
                u = ob->u;
              }
            ob->sums_ok = conv_forward (net, op, 1, ob->out, ob->sums, u, B, P + op->c1_b, 0, NULL, c->conv);
          }
          break;
        case OP_OUT:
          {
            const double *sums = op_sums (net, c, i - 1, B);
            PROF (GAF_PROF_GN_SILU,
                  gaf_groupnorm_silu_forward_sums (ob->a1, ob->mean1, ob->rstd1, in, op->cin, NULL, 0, sums,
                                                   P + op->gn1_g, P + op->gn1_b, B, n, op->g1));
            conv_forward (net, op, 1, out, NULL, ob->a1, B, P + op->c1_b, 0, NULL, c->conv);
          }
          break;
        case OP_ATTN:
          if (!train)
            {
              /* the whole block from the input's sums, forming those of its output */
              const double *sums = op_sums (net, c, i - 1, B);
              PROF (GAF_PROF_ATTENTION,
                    gaf_attention_block_infer (ob->out, ob->sums, in, sums, P + op->gn1_g, P + op->gn1_b, op->g1,
                                               op->att_fold, B, n, op->cin, bf16, c->att_scratch));
              ob->sums_ok = TRUE;
              break;
            }
          PROF (GAF_PROF_GN_SILU,
                gaf_groupnorm_forward (ob->xn, ob->mean1, ob->rstd1, in, P + op->gn1_g, P + op->gn1_b, B, n, op->cin,
                                       op->g1));
          gaf_profile_begin (&mark);
          /* qkv (B N, 3C) = xn W + b as one product */
          gaf_gemm_small ((int) npix, 3 * op->cin, op->cin, ob->xn, op->cin, 1, P + op->c1_w, 3 * op->cin, ob->qkv,
                          3 * op->cin, FALSE);
          add_rows (ob->qkv, P + op->c1_b, npix, 3 * op->cin);
          if (train)
            gaf_attention_forward (ob->att, ob->lse, ob->qkv, B, n, op->cin, c->att_scratch);
          else
            gaf_attention_infer (ob->att, ob->qkv, B, n, op->cin, c->att_scratch);
          /* out = x + proj(att) */
          gaf_gemm_small ((int) npix, op->cin, op->cin, ob->att, op->cin, 1, P + op->c2_w, op->cin, ob->out, op->cin,
                          FALSE);
          for (gsize r = 0; r < npix; r++)
            {
              float *restrict o = ob->out + r * op->cin;
              const float *restrict xr = in + r * op->cin, *restrict bb = P + op->c2_b;
              for (int j = 0; j < op->cin; j++)
                o[j] += xr[j] + bb[j];
            }
          gaf_profile_end (GAF_PROF_ATTENTION, &mark);
          break;
        case OP_RES:
          {
            const float *xin = in, *skip = op->cskip ? c->ob[op->skip_src].out : NULL;
            const double *xsums = op_sums (net, c, i - 1, B);
            /* The concatenation [in | skip] of a decoder block is never written: the normalisation reads both
             * halves, the 1x1 skip convolution is two products, and backward likewise (without a skip
             * convolution, which decoder blocks always have, it is written). */
            gboolean split = skip != NULL && op->has_skip_conv;
            gboolean hsums_ok;
            if (skip != NULL)
              {
                const double *ssums = op_sums (net, c, op->skip_src, B);
                for (int b = 0; b < B; b++)
                  for (int h = 0; h < 2; h++)
                    {
                      double *d = c->cat_sums + ((gsize) b * 2 + h) * ct;
                      memcpy (d, xsums + ((gsize) b * 2 + h) * op->cin, op->cin * sizeof (double));
                      memcpy (d + op->cin, ssums + ((gsize) b * 2 + h) * op->cskip, op->cskip * sizeof (double));
                    }
                xsums = c->cat_sums;
              }
            if (skip != NULL && !split)
              {
                gaf_concat_forward (ob->cat, in, op->cin, skip, op->cskip, npix);
                xin = ob->cat;
              }
            /* each convolution's input is GroupNorm + SiLU of the block's input, then of h1 (conv_forward_gn) */
            GnSiluAct act1 = { xin, split ? skip : NULL, split ? op->cin : ct, op->cskip, n, op->g1, xsums,
                               P + op->gn1_g, P + op->gn1_b, train ? ob->a1 : NULL, train ? ob->mean1 : NULL,
                               train ? ob->rstd1 : NULL };
            /* h = conv1 (a1) + Linear(SiLU(emb)), one value per sample and channel: the projection plus the
             * conv bias is the conv's per-image bias */
            gaf_profile_begin (&mark);
            gaf_linear_forward (ob->e, c->semb, P + op->e_w, P + op->e_b, B, E, op->cout);
            for (int b = 0; b < B; b++)
              add_rows (ob->e + (gsize) b * op->cout, P + op->c1_b, 1, op->cout);
            gaf_profile_end (GAF_PROF_TIME_EMB, &mark);
            /* the conv's output transform adds the bias and time embedding and forms GN2's statistics */
            hsums_ok = conv_forward_gn (net, op, 1, ob->h1, ob->hsums, &act1, ob->a1, ob->e, op->cout, NULL, B,
                                        c->conv);
            GnSiluAct act2 = { ob->h1, NULL, op->cout, 0, n, op->g2, hsums_ok ? ob->hsums : NULL, P + op->gn2_g,
                               P + op->gn2_b, train ? ob->a2 : NULL, train ? ob->mean2 : NULL,
                               train ? ob->rstd2 : NULL };
            /* out = skip(x) + conv2 (a2): the skip goes first, conv2 adds itself and both biases */
            if (op->has_skip_conv)
              {
                for (int j = 0; j < op->cout; j++)
                  c->bias[j] = P[op->c2_b + j] + P[op->s_b + j];
                if (bf16)   /* in bf16: [in | skip] W = in W[0 .. cin) + skip W[cin .. ct) likewise, packed */
                  PROF (GAF_PROF_CONV1X1,
                        gaf_gemm_bf16 ((int) npix, op->cout, op->cin, in, op->cin, op->s_bf16, ob->out, op->cout,
                                       FALSE);
                        if (split)
                          gaf_gemm_bf16 ((int) npix, op->cout, op->cskip, skip, op->cskip,
                                         op->s_bf16 + gaf_bf16_packed_len (op->cin, op->cout), ob->out, op->cout,
                                         TRUE));
                else if (split)   /* [in | skip] W = in W[0 .. cin) + skip W[cin .. ct) */
                  PROF (GAF_PROF_CONV1X1,
                        gaf_gemm_small ((int) npix, op->cout, op->cin, in, op->cin, 1, P + op->s_w, op->cout, ob->out,
                                        op->cout, FALSE);
                        gaf_gemm_small ((int) npix, op->cout, op->cskip, skip, op->cskip, 1,
                                        P + op->s_w + (gsize) op->cin * op->cout, op->cout, ob->out, op->cout, TRUE));
                else
                  PROF (GAF_PROF_CONV1X1,
                        gaf_gemm_small ((int) npix, op->cout, ct, xin, ct, 1, P + op->s_w, op->cout, ob->out,
                                        op->cout, FALSE));
              }
            /* out = conv2 (a2) + both biases + the skip product already in out, or + the input itself */
            const float *bias2 = op->has_skip_conv ? c->bias : P + op->c2_b, *res2 = op->has_skip_conv ? ob->out : xin;
            ob->sums_ok = conv_forward_gn (net, op, 2, ob->out, ob->sums, &act2, ob->a2, bias2, 0, res2, B, c->conv);
          }
          break;
        }
    }
}

/* ---- backward ------------------------------------------------------------------------------------ */

/* GroupNorm + SiLU backward of a ResBlock's convolution input, a group of images at a time as the Winograd
 * convolution's input gradient comes (gaf_winograd_backward_din_groups): into din (and dskip when the input is
 * [x | skip] as two arrays), and with de the per-image sums of din (the time projection's gradient) */
typedef struct {
  float *din, *dskip, *dg, *db, *de;
  const float *x, *skip, *mean, *rstd, *g, *b;
  int cx, cskip, n, groups;
  gboolean din_add;
} GnSiluBack;

static void
gn_silu_back_group (float *d, int b0, int nb, gpointer data)
{
  const GnSiluBack *x = data;
  gsize off = (gsize) b0 * x->n * x->cx;
  GafProfMark mark;

  gaf_profile_begin (&mark);
  if (x->skip != NULL)
    gaf_groupnorm_silu_backward_split (x->din + off, x->dskip + (gsize) b0 * x->n * x->cskip, x->dg, x->db, d,
                                       x->x + off, x->cx, x->skip + (gsize) b0 * x->n * x->cskip, x->cskip,
                                       x->mean + (gsize) b0 * x->groups, x->rstd + (gsize) b0 * x->groups, x->g,
                                       x->b, nb, x->n, x->groups);
  else
    gaf_groupnorm_silu_backward_ex (x->din + off, x->dg, x->db, d, x->x + off, x->mean + (gsize) b0 * x->groups,
                                    x->rstd + (gsize) b0 * x->groups, x->g, x->b, nb, x->n, x->cx, x->groups,
                                    x->din_add);
  gaf_profile_end (GAF_PROF_GN_SILU, &mark);
  if (x->de != NULL)
    {
      gaf_profile_begin (&mark);
      for (int i = 0; i < nb; i++)
        gaf_bias_backward (x->de + (gsize) (b0 + i) * x->cx, x->din + off + (gsize) i * x->n * x->cx, x->n, x->cx);
      gaf_profile_end (GAF_PROF_TIME_EMB, &mark);
    }
}

/* A ResBlock convolution's gradients and GroupNorm + SiLU's backward of its input (back): a Winograd one hands
 * its input gradient on a group of images at a time; otherwise it is written whole into d_in first. */
static void
conv_backward_gn (const GafUnet *net, const Op *op, int which, float *G, const float *dout, const float *in,
                  float *d_in, GnSiluBack *back, int B, float *scratch)
{
  const GafWinograd *wg = which == 1 ? &op->wg1 : &op->wg2;

  if ((which == 1 ? op->wino1 : op->wino2) && !wg->up)
    {
      conv_backward (net, op, which, G, NULL, FALSE, dout, in, B, scratch);
      gaf_winograd_backward_din_groups (dout, wg, B, op->ch, op->cw, gn_silu_back_group, back, scratch);
      return;
    }
  conv_backward (net, op, which, G, d_in, FALSE, dout, in, B, scratch);
  gn_silu_back_group (d_in, 0, B, back);
}

static void
backward_part (GafUnet *net, Cache *c, float *G, int B, const float *dnet, float *dx, float *dt)
{
  const GafUnetConfig *cfg = &net->cfg;
  const float *P = net->parent.params->data;
  const Layout *L = &net->lay;
  int C = cfg->channels, E = 4 * C, n_ops = N_OPS (net);
  GafProfMark tmark;

  for (int i = 0; i < n_ops - 1; i++)
    c->ob[i].dout_set = FALSE;
  memset (c->dsemb, 0, (gsize) B * E * sizeof (float));

  /* Ops n_ops - 1 .. 1 read the output of the op before them, whose gradient buffer always exists. Op 0 is
   * the input convolution (build_ops pushes OP_IN first, and nothing else reads the network input); it is
   * done after the loop, because only its input gradient dx may be NULL (no input gradient wanted). */
  for (int i = n_ops - 1; i >= 1; i--)
    {
      const Op *op = &OPS (net)[i];
      OpBuf *ob = &c->ob[i];
      const float *in = c->ob[i - 1].out;
      float *din = c->ob[i - 1].dout;
      const float *dY = i == n_ops - 1 ? dnet : ob->dout;
      int n = op->h * op->w, ct = op->cin + op->cskip;
      gsize npix = (gsize) B * n;

      g_assert (i == n_ops - 1 || ob->dout_set);   /* every consumer of op i's output came before it */
      switch (op->kind)
        {
        case OP_IN:
          g_assert_not_reached ();
          break;
        case OP_DOWN:
          conv_backward (net, op, 1, G, din, dout_add (c, i - 1), dY, in, B, c->conv);
          break;
        case OP_UP:
          conv_backward (net, op, 1, G, c->d_u, FALSE, dY, op->wg1.up ? in : ob->u, B, c->conv);
          din = dout_zeroed (net, c, i - 1, B);
          PROF (GAF_PROF_RESAMPLE, gaf_upsample2x_backward (din, c->d_u, B, op->h, op->w, op->cin));
          break;
        case OP_OUT:
          conv_backward (net, op, 1, G, c->d_a1, FALSE, dY, ob->a1, B, c->conv);
          PROF (GAF_PROF_GN_SILU,
                gaf_groupnorm_silu_backward_ex (din, G + op->gn1_g, G + op->gn1_b, c->d_a1, in, ob->mean1,
                                                ob->rstd1, P + op->gn1_g, P + op->gn1_b, B, n, op->cin, op->g1,
                                                dout_add (c, i - 1)));
          break;
        case OP_ATTN:
          {
            GafProfMark mark;

            gaf_profile_begin (&mark);
            add_or_copy (din, dY, npix * op->cin, dout_add (c, i - 1));   /* residual */
            memset (c->d_att, 0, npix * op->cin * sizeof (float));
            gaf_linear_backward (c->d_att, G + op->c2_w, G + op->c2_b, dY, ob->att, P + op->c2_w, (int) npix,
                                 op->cin, op->cin);
            memset (c->d_qkv, 0, npix * 3 * op->cin * sizeof (float));
            gaf_attention_backward (c->d_qkv, c->d_att, ob->att, ob->qkv, ob->lse, B, n, op->cin, c->att_scratch);
            memset (c->d_xn, 0, npix * op->cin * sizeof (float));
            gaf_linear_backward (c->d_xn, G + op->c1_w, G + op->c1_b, c->d_qkv, ob->xn, P + op->c1_w, (int) npix,
                                 op->cin, 3 * op->cin);
            gaf_profile_end (GAF_PROF_ATTENTION, &mark);
            PROF (GAF_PROF_GN_SILU,
                  gaf_groupnorm_backward (din, G + op->gn1_g, G + op->gn1_b, c->d_xn, in, ob->mean1, ob->rstd1,
                                          P + op->gn1_g, B, n, op->cin, op->g1));
          }
          break;
        case OP_RES:
          {
            /* with a skip convolution, [in | skip] is two halves (as in forward) and their gradients go
             * straight to in's and skip's */
            gboolean split = op->cskip && op->has_skip_conv;
            const float *skip = op->cskip ? c->ob[op->skip_src].out : NULL;
            float *dskip = op->cskip ? c->ob[op->skip_src].dout : NULL;
            const float *xin = op->cskip && !split ? ob->cat : in;
            float *dxin = din;
            GafProfMark mark;
            g_assert (!op->cskip || op->skip_src != i - 1);
            if (op->cskip && !split)
              {
                dxin = c->d_cat;
                memset (dxin, 0, npix * ct * sizeof (float));
                dout_zeroed (net, c, i - 1, B);
                dout_zeroed (net, c, op->skip_src, B);
              }
            /* skip path, the first gradient into din (and dskip) unless something else wrote there already:
             * [in | skip] W = in W[0 .. cin) + skip W[cin .. ct) */
            if (split)
              PROF (GAF_PROF_CONV1X1,
                    gaf_linear_backward_ex (din, dout_add (c, i - 1), G + op->s_w, G + op->s_b, dY, in, P + op->s_w,
                                            (int) npix, op->cin, op->cout);
                    gaf_linear_backward_ex (dskip, dout_add (c, op->skip_src),
                                            G + op->s_w + (gsize) op->cin * op->cout, NULL, dY, skip,
                                            P + op->s_w + (gsize) op->cin * op->cout, (int) npix, op->cskip,
                                            op->cout));
            else if (op->has_skip_conv)   /* no skip input here (split otherwise) */
              PROF (GAF_PROF_CONV1X1,
                    gaf_linear_backward_ex (dxin, dout_add (c, i - 1), G + op->s_w, G + op->s_b, dY, xin,
                                            P + op->s_w, (int) npix, ct, op->cout));
            else   /* d_cat (zeroed above) or din */
              add_or_copy (dxin, dY, npix * ct, op->cskip || dout_add (c, i - 1));
            /* conv2, GN2 + SiLU, and the time projection's de[b] = sum over pixels of d h1: with Winograd a
             * group of images at a time as conv2's input gradient comes, else each over the batch */
            memset (c->d_e, 0, (gsize) B * op->cout * sizeof (float));
            GnSiluBack back2 = { c->d_h1, NULL, G + op->gn2_g, G + op->gn2_b, c->d_e, ob->h1, NULL, ob->mean2,
                                 ob->rstd2, P + op->gn2_g, P + op->gn2_b, op->cout, 0, n, op->g2, FALSE };
            conv_backward_gn (net, op, 2, G, dY, ob->a2, c->d_a2, &back2, B, c->conv);
            gaf_profile_begin (&mark);
            gaf_linear_backward (c->dsemb, G + op->e_w, G + op->e_b, c->d_e, c->semb, P + op->e_w, B, E, op->cout);
            gaf_profile_end (GAF_PROF_TIME_EMB, &mark);
            /* conv1, GN1 + SiLU (added to what the skip path wrote), likewise */
            GnSiluBack back1 = { split ? din : dxin, split ? dskip : NULL, G + op->gn1_g, G + op->gn1_b, NULL,
                                 split ? in : xin, split ? skip : NULL, ob->mean1, ob->rstd1, P + op->gn1_g,
                                 P + op->gn1_b, split ? op->cin : (int) ct, split ? op->cskip : 0, n, op->g1, TRUE };
            conv_backward_gn (net, op, 1, G, c->d_h1, ob->a1, c->d_a1, &back1, B, c->conv);
            if (op->cskip && !split)
              gaf_concat_backward (din, dskip, c->d_cat, op->cin, op->cskip, npix);
          }
          break;
        }
    }
  g_assert (n_ops >= 2 && OPS (net)[0].kind == OP_IN);
  /* conv_backward: dx may be NULL */
  conv_backward (net, &OPS (net)[0], 1, G, dx, TRUE, c->ob[0].dout, c->x, B, c->conv);

  /* time path: SiLU(emb) <- Linear <- SiLU <- Linear <- sinusoid */
  gaf_profile_begin (&tmark);
  memset (c->demb, 0, (gsize) B * E * sizeof (float));
  gaf_silu_backward (c->demb, c->dsemb, c->emb, (gsize) B * E);
  memset (c->ds1, 0, (gsize) B * E * sizeof (float));
  gaf_linear_backward (c->ds1, G + L->t2_w, G + L->t2_b, c->demb, c->s1, P + L->t2_w, B, E, E);
  memset (c->dz1, 0, (gsize) B * E * sizeof (float));
  gaf_silu_backward (c->dz1, c->ds1, c->z1, (gsize) B * E);
  if (dt == NULL)
    {
      gaf_linear_backward (NULL, G + L->t1_w, G + L->t1_b, c->dz1, c->temb, P + L->t1_w, B, C, E);
      gaf_profile_end (GAF_PROF_TIME_EMB, &tmark);
      return;
    }
  memset (c->dtemb, 0, (gsize) B * C * sizeof (float));
  gaf_linear_backward (c->dtemb, G + L->t1_w, G + L->t1_b, c->dz1, c->temb, P + L->t1_w, B, C, E);
  memset (c->dtt, 0, B * sizeof (float));
  gaf_timestep_embedding_backward (c->dtt, c->dtemb, c->tt, B, C);
  for (int b = 0; b < B; b++)   /* the network saw t * time_scale */
    dt[b] += (float) (c->dtt[b] * cfg->time_scale);
  gaf_profile_end (GAF_PROF_TIME_EMB, &tmark);
}

/* ---- batch split over the engine's threads -------------------------------------------------------- */

typedef struct {
  GafUnet     *net;
  const float *x, *t, *dout;
  float       *out, *dx, *dt;
  gboolean     infer;
} Job;

static void
forward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafUnet *net = job->net;
  Part *part = &net->parts[k];
  gsize pixels = (gsize) net->cfg.height * net->cfg.width;
  gsize row = pixels * net->cfg.classes, in_row = pixels * gaf_unet_config_in_channels (&net->cfg);

  if (!job->infer)
    {
      ensure_cache (net, &part->train, part->batch, TRUE);
      forward_part (net, &part->train, part->batch, job->x + part->start * in_row, job->t + part->start,
                    job->out + part->start * row, TRUE);
      return;
    }
  ensure_cache (net, &part->infer, MIN (net->infer_chunk, part->batch), FALSE);
  for (int off = part->start; off < part->start + part->batch; off += net->infer_chunk)
    {
      int b = MIN (net->infer_chunk, part->start + part->batch - off);
      forward_part (net, &part->infer, b, job->x + off * in_row, job->t + off, job->out + off * row, FALSE);
    }
}

typedef struct {
  GafUnet *net;
  gboolean flipped;
} PrepJob;

/* Transforms w into wg unless wg already holds exactly these weights (with the flipped kernels if needed). */
static void
prepare_conv (GafWinograd *wg, float **seen, gboolean *flip_done, const float *w, const GafConv2dShape *s,
              int tile, gboolean flipped)
{
  gsize n = (gsize) 9 * s->cin * s->cout;

  if (*seen != NULL && wg->m == tile && (*flip_done || !flipped) && memcmp (*seen, w, n * sizeof (float)) == 0)
    return;
  gaf_winograd_prepare (wg, w, s, tile, flipped);
  if (*seen == NULL)
    *seen = g_new (float, n);
  memcpy (*seen, w, n * sizeof (float));
  *flip_done = flipped;
}

/* Folds an attention block's weights for sampling unless att_fold already holds exactly these: qkv.w, qkv.b,
 * proj.w, proj.b lie one after the other in the arena (c1_w .. c2_b), 4C^2 + 4C floats compared. */
static void
prepare_attention (Op *op, const float *P)
{
  int c = op->cin;
  gsize len = (gsize) 4 * c * c + (gsize) 4 * c;

  g_assert (op->c1_b == op->c1_w + (gsize) 3 * c * c && op->c2_w == op->c1_b + 3 * (gsize) c &&
            op->c2_b == op->c2_w + (gsize) c * c);
  if (op->att_seen != NULL && memcmp (op->att_seen, P + op->c1_w, len * sizeof (float)) == 0)
    return;
  if (op->att_seen == NULL)
    {
      op->att_seen = g_new (float, len);
      op->att_fold = g_new (float, gaf_attention_fold_len (c));
    }
  gaf_attention_fold (op->att_fold, P + op->c1_w, P + op->c1_b, P + op->c2_w, P + op->c2_b, c);
  memcpy (op->att_seen, P + op->c1_w, len * sizeof (float));
}

/* A ResBlock's 1x1 skip weights packed for bf16 sampling unless s_bf16 already holds exactly these: the rows
 * of the block's input and of a concatenated skip apart, as inference multiplies them. */
static void
prepare_skip_bf16 (Op *op, const float *P)
{
  int ct = op->cin + op->cskip;
  gsize len = (gsize) ct * op->cout, la = gaf_bf16_packed_len (op->cin, op->cout);

  if (op->s_seen != NULL && memcmp (op->s_seen, P + op->s_w, len * sizeof (float)) == 0)
    return;
  if (op->s_seen == NULL)
    {
      op->s_seen = g_new (float, len);
      op->s_bf16 = g_aligned_alloc (la + gaf_bf16_packed_len (op->cskip, op->cout), sizeof (guint32), 64);
    }
  gaf_bf16_pack (op->s_bf16, P + op->s_w, op->cout, op->cin, op->cout);
  if (op->cskip > 0)
    gaf_bf16_pack (op->s_bf16 + la, P + op->s_w + (gsize) op->cin * op->cout, op->cout, op->cskip, op->cout);
  memcpy (op->s_seen, P + op->s_w, len * sizeof (float));
}

/* Winograd weights of the current parameters (and, for sampling, the attention blocks' folded weights and,
 * in bf16, the packed products' weights), ops dealt round-robin over the threads. */
static void
prepare_task (guint k, guint n_tasks, gpointer data)
{
  PrepJob *job = data;
  GafUnet *net = job->net;
  const float *P = net->parent.params->data;

  for (int i = (int) k; i < N_OPS (net); i += (int) n_tasks)
    {
      Op *op = &OPS (net)[i];
      if (op->wino1)
        prepare_conv (&op->wg1, &op->seen1, &op->flip1, P + op->c1_w, &op->conv1, op->wino1, job->flipped);
      if (op->wino2)
        prepare_conv (&op->wg2, &op->seen2, &op->flip2, P + op->c2_w, &op->conv2, op->wino2, job->flipped);
      if (op->kind == OP_ATTN && !job->flipped)
        prepare_attention (op, P);
      if (!job->flipped && net->precision == GAF_PRECISION_BF16 && op->kind == OP_RES && op->has_skip_conv)
        prepare_skip_bf16 (op, P);
    }
}

static void
run_forward (GafUnet *net, const float *x, const float *t, int batch, float *out, gboolean infer)
{
  Job job = { net, x, t, NULL, out, NULL, NULL, infer };
  PrepJob prep = { net, !infer };
  guint n_parts;

  g_return_if_fail (batch > 0);
  gaf_parallel_run (gaf_parallel_get_threads (), prepare_task, &prep);
  n_parts = MIN (gaf_parallel_get_threads (), (guint) batch);
  for (guint k = 0; k < n_parts; k++)
    {
      net->parts[k].start = (int) ((gint64) batch * k / n_parts);
      net->parts[k].batch = (int) ((gint64) batch * (k + 1) / n_parts) - net->parts[k].start;
    }
  net->n_parts = n_parts;
  net->batch = infer ? 0 : batch;
  gaf_parallel_run (n_parts, forward_task, &job);
}

void
gaf_unet_forward (GafUnet *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, FALSE);
}

void
gaf_unet_infer (GafUnet *net, const float *x, const float *t, int batch, float *out)
{
  run_forward (net, x, t, batch, out, TRUE);
}

static void
backward_task (guint k, guint n_tasks, gpointer data)
{
  Job *job = data;
  GafUnet *net = job->net;
  Part *part = &net->parts[k];
  gsize pixels = (gsize) net->cfg.height * net->cfg.width;
  gsize row = pixels * net->cfg.classes, in_row = pixels * gaf_unet_config_in_channels (&net->cfg);
  float *G;

  G = gaf_parallel_part_grad (k, net->parent.params->grad, &part->grad, net->parent.params->size);
  backward_part (net, &part->train, G, part->batch, job->dout + part->start * row,
                 job->dx ? job->dx + part->start * in_row : NULL, job->dt ? job->dt + part->start : NULL);
}

void
gaf_unet_backward (GafUnet *net, const float *dout, float *dx, float *dt)
{
  Job job = { net, NULL, NULL, dout, NULL, dx, dt, FALSE };

  /* batch is 0 after gaf_unet_infer: there are no activations to go back through. */
  g_return_if_fail (net->batch > 0);
  gaf_parallel_run (net->n_parts, backward_task, &job);
  if (net->n_parts > 1)
    {
      float *grads[GAF_MAX_THREADS];
      for (guint p = 0; p < net->n_parts; p++)
        grads[p] = net->parts[p].grad;
      gaf_parallel_sum_grads (net->parent.params->grad, grads, net->n_parts, net->parent.params->size);
    }
}
