/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gaf-engine.h"

/* Compares the training state of two checkpoints of the same architecture (the MPI tests: one process
 * against two). Prints one line
 *     params N max_abs A max_rel R ema_max_abs E moments_max_abs M rng SAME|DIFFERENT step S bitwise YES|NO
 * then
 *     largest in VIEW
 *     output max_abs O of max |f| F
 * (the parameter view with the largest difference; the two networks' outputs on 4 fixed random inputs at
 * t = 0.5, 2, 5, 10), where max_rel is max |a - b| / max(|a|, 1e-3) over the parameters, and bitwise says whether parameters,
 * EMA, Adam moments, Adam step and RNG state are all identical bit for bit. Exit 0 after printing, 1 when
 * a file cannot be read or the architectures differ.
 *
 *   checkpoint-diff A.gafck B.gafck */

static GafParams *
load (const char *path, GafRng *rng, guint64 *step, GafNet **net_out, GError **error)
{
  g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (path, error);
  GafModelConfig mcfg;
  GafNet *net;

  if (ck == NULL || !gaf_model_config_from_keyfile (&mcfg, gaf_checkpoint_get_config (ck), error))
    return NULL;
  net = gaf_model_new (&mcfg, error);
  if (net == NULL)
    return NULL;
  if (!gaf_checkpoint_restore (ck, net->params, rng, step, error))
    {
      gaf_net_free (net);
      return NULL;
    }
  *net_out = net;
  return net->params;
}

static double
max_abs_diff (const float *a, const float *b, gsize n, double *max_rel)
{
  double m = 0.0;

  if (max_rel != NULL)
    *max_rel = 0.0;
  if (a == NULL || b == NULL)
    return a == b ? 0.0 : INFINITY;
  for (gsize i = 0; i < n; i++)
    {
      double d = fabs ((double) a[i] - (double) b[i]);
      m = MAX (m, d);
      if (max_rel != NULL)
        *max_rel = MAX (*max_rel, d / MAX (fabs ((double) a[i]), 1e-3));
    }
  return m;
}

static gboolean
same_bits (const float *a, const float *b, gsize n)
{
  if (a == NULL || b == NULL)
    return a == b;
  return memcmp (a, b, n * sizeof (float)) == 0;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  GafNet *na = NULL, *nb = NULL;
  GafParams *a, *b;
  GafRng ra, rb;
  guint64 sa = 0, sb = 0;
  double rel, d, de, dm;
  gboolean bitwise, same_rng;

  if (argc != 3)
    {
      fprintf (stderr, "usage: %s A.gafck B.gafck\n", argv[0]);
      return 1;
    }
  if ((a = load (argv[1], &ra, &sa, &na, &error)) == NULL || (b = load (argv[2], &rb, &sb, &nb, &error)) == NULL)
    {
      fprintf (stderr, "%s: %s\n", argv[0], error->message);
      return 1;
    }
  if (a->size != b->size)
    {
      fprintf (stderr, "%s: %" G_GSIZE_FORMAT " against %" G_GSIZE_FORMAT " parameters\n", argv[0], a->size, b->size);
      return 1;
    }
  d = max_abs_diff (a->data, b->data, a->size, &rel);
  de = max_abs_diff (a->ema, b->ema, a->size, NULL);
  dm = MAX (max_abs_diff (a->m, b->m, a->size, NULL), max_abs_diff (a->v, b->v, a->size, NULL));
  {
    /* the view holding the largest difference */
    const char *worst = "";
    double wd = -1.0;
    for (guint i = 0; i < a->views->len; i++)
      {
        const GafParamView *v = &g_array_index (a->views, GafParamView, i);
        double vd = max_abs_diff (a->data + v->offset, b->data + v->offset, v->size, NULL);
        if (vd > wd)
          {
            wd = vd;
            worst = v->name;
          }
      }
    printf ("largest in %s\n", worst);
  }
  {
    /* what the weights compute: both networks on the same inputs W = softmax(N(0, 4 I)) */
    const int B = 4;
    gsize count = (gsize) B * na->n * na->in_channels, out_count = (gsize) B * na->n * na->out_channels;
    g_autofree float *w = g_new (float, count), *fa = g_new (float, out_count), *fb = g_new (float, out_count);
    float t[4] = { 0.5f, 2.0f, 5.0f, 10.0f };
    double top = 0.0;
    GafRng rng;

    gaf_rng_init (&rng, 12345);
    for (gsize i = 0; i < count; i++)
      w[i] = (float) (2.0 * gaf_rng_normal (&rng));
    gaf_softmax_rows (w, w, (gsize) B * na->n, na->in_channels);
    gaf_net_infer (na, w, t, B, fa);
    gaf_net_infer (nb, w, t, B, fb);
    for (gsize i = 0; i < out_count; i++)
      top = MAX (top, fabs (fa[i]));
    printf ("output max_abs %.3e of max |f| %.3e\n", max_abs_diff (fa, fb, out_count, NULL), top);
  }
  same_rng = memcmp (ra.s, rb.s, sizeof ra.s) == 0;
  bitwise = same_bits (a->data, b->data, a->size) && same_bits (a->ema, b->ema, a->size) &&
            same_bits (a->m, b->m, a->size) && same_bits (a->v, b->v, a->size) && sa == sb && a->step == b->step &&
            same_rng;
  printf ("params %" G_GSIZE_FORMAT " max_abs %.3e max_rel %.3e ema_max_abs %.3e moments_max_abs %.3e rng %s "
          "step %" G_GUINT64_FORMAT " bitwise %s\n", a->size, d, rel, de, dm, same_rng ? "SAME" : "DIFFERENT", sa,
          bitwise ? "YES" : "NO");
  gaf_net_free (na);
  gaf_net_free (nb);
  return 0;
}
