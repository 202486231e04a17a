/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the engine's tests: gradient checks (test-layers, test-unet, test-jump), deadlines, a
 * model one step from diverging (test-runner), a label maps' model file with a network that has no bf16 path
 * (test-experiments, test-runner). */

#include <math.h>
#include <string.h>
#include <glib.h>

#include "gaf-checkpoint.h"
#include "gaf-model.h"
#include "gaf-params.h"
#include "gaf-rng.h"

typedef double (*LossFunc) (gpointer ctx);

static inline void
fill_uniform (GafRng *rng, float *x, gsize count, double lo, double hi)
{
  for (gsize i = 0; i < count; i++)
    x[i] = (float) (lo + (hi - lo) * gaf_rng_uniform (rng));
}

static inline double
dot_f (const float *a, const float *b, gsize count)
{
  double s = 0.0;

  for (gsize i = 0; i < count; i++)
    s += (double) a[i] * b[i];
  return s;
}

static inline float
max_abs (const float *x, gsize count)
{
  float m = 0.0f;

  for (gsize i = 0; i < count; i++)
    m = MAX (m, fabsf (x[i]));
  return m;
}

static inline double
central_diff (LossFunc loss, gpointer ctx, float *x, gsize i, double h)
{
  float orig = x[i];
  double lp, lm, hp, hm;

  x[i] = (float) (orig + h);
  hp = (double) x[i] - orig;
  lp = loss (ctx);
  x[i] = (float) (orig - h);
  hm = (double) orig - x[i];
  lm = loss (ctx);
  x[i] = orig;
  return (lp - lm) / (hp + hm);
}

/* Deadlines in tests are multiplied by GAF_TEST_TIME_FACTOR (1 .. 1000, default 1): the sanitizer and
 * valgrind test setups set it, since they run the same code 2-50x slower. No test asserts on a speed. */
static inline double
gaf_test_time_factor (void)
{
  const char *s = g_getenv ("GAF_TEST_TIME_FACTOR");
  double f = s != NULL ? g_ascii_strtod (s, NULL) : 1.0;

  return isfinite (f) && f >= 1.0 ? MIN (f, 1000.0) : 1.0;
}

/* Checks the parameter gradient of a loss (of a network's parameters p) entry by entry, for the entries listed in `which`
 * (every parameter when NULL). Each entry is compared with central differences at steps h and h/2;
 * it passes when either agrees with the analytic value a_i within
 *   rtol |a_i| + 0.01 RMS(a over its view).
 * The absolute part covers the float forward pass: the loss is rounded at ~1e-8, which puts noise
 * of ~5e-6 (0.005 RMS at most, measured) on a difference quotient with h = 1e-3. ReLU kinks make a
 * difference quotient wrong when a step crosses one; an entry whose two quotients disagree with
 * each other by more than a quarter of the tolerance is "non-smooth" and not judged, but such
 * entries must stay rare (at most 3% overall and half of any view's checked entries; measured: 0.3%
 * and 1 in 3). Where a view's gradients are small the noise can exceed 0.01 RMS (posterior norm4.b:
 * quotients 6.95, 6.70, 6.80, 7.40 e-5 at h/4, h/2, h, 2h around an analytic 7.26e-5, tolerance 0.42e-5),
 * so two consistent quotients that both miss are followed by a third at 2h, with half their rounding
 * noise. A wrong backward gives three consistent quotients that disagree with it, which fails. */
static inline void
check_param_grad (GafParams *p, LossFunc loss, gpointer ctx, const float *analytic, const gsize *which,
                  gsize n_which, double h, double rtol)
{
  guint bad = 0, skipped = 0, checked = 0;

  for (guint vi = 0; vi < p->views->len; vi++)
    {
      const GafParamView *v = &g_array_index (p->views, GafParamView, vi);
      double rms = 0.0, atol;
      guint v_checked = 0, v_skipped = 0;

      for (gsize i = 0; i < v->size; i++)
        rms += (double) analytic[v->offset + i] * analytic[v->offset + i];
      rms = sqrt (rms / v->size);
      atol = 0.01 * rms;
      if (rms == 0.0)
        g_test_fail_printf ("%s: the gradient is identically zero", v->name);

      for (gsize k = 0; k < (which ? n_which : v->size); k++)
        {
          gsize i = which ? which[k] : v->offset + k;
          double fd1, fd2, tol, a = analytic[i];

          if (i < v->offset || i >= v->offset + v->size)
            continue;
          v_checked++;
          fd1 = central_diff (loss, ctx, p->data, i, h);
          tol = rtol * fabs (a) + atol;
          if (fabs (fd1 - a) <= tol)
            continue;
          fd2 = central_diff (loss, ctx, p->data, i, h / 2);
          if (fabs (fd2 - a) <= tol)
            continue;
          if (fabs (fd1 - fd2) > 0.25 * tol)
            {
              v_skipped++;
              continue;
            }
          if (fabs (central_diff (loss, ctx, p->data, i, 2 * h) - a) <= tol)
            continue;
          if (bad++ < 10)
            g_test_message ("%s[%" G_GSIZE_FORMAT "]: analytic %.6g, numeric %.6g / %.6g, tolerance %.3g",
                            v->name, i - v->offset, a, fd1, fd2, tol);
        }
      if (v_skipped * 2 > v_checked)
        g_test_fail_printf ("%s: %u of %u entries could not be judged (non-smooth finite differences)",
                            v->name, v_skipped, v_checked);
      checked += v_checked;
      skipped += v_skipped;
    }
  g_test_message ("checked %u parameters, %u non-smooth, %u wrong", checked, skipped, bad);
  if (bad > 0)
    g_test_fail_printf ("%u of %u parameter gradients disagree with central differences", bad, checked);
  if (skipped * 100 > 3 * checked)
    g_test_fail_printf ("%u of %u parameter gradients could not be judged", skipped, checked);
}

/* A toy CNN one step from exploding, written to `to` from a checkpoint `from` of a toy CNN (the runner's
 * class-scaling model): the output layer's weights 0 (the output is its bias, a normal loss) behind hidden
 * units of 1e6 (head1.b), so that Adam's first step (every weight moves by about the learning rate)
 * multiplies the loss by far more than 100. */
static inline void
gaf_test_write_exploding_model (const char *from, const char *to)
{
  GError *error = NULL;
  GafCheckpoint *ck = gaf_checkpoint_load (from, &error);
  GafNet *net;
  GafParams *p;
  const GafParamView *v;
  GafRng rng;
  guint64 step;

  g_assert_no_error (error);
  net = gaf_model_new_from_keyfile (gaf_checkpoint_get_config (ck), &error);
  g_assert_no_error (error);
  p = gaf_net_get_params (net);
  g_assert_true (gaf_checkpoint_restore (ck, p, &rng, &step, &error));
  g_assert_no_error (error);
  v = gaf_params_find (p, "head2.w");
  g_assert_nonnull (v);
  memset (p->data + v->offset, 0, v->size * sizeof (float));
  v = gaf_params_find (p, "head1.b");
  g_assert_nonnull (v);
  for (gsize i = 0; i < v->size; i++)
    p->data[v->offset + i] = 1e6f;
  g_assert_true (gaf_checkpoint_save (to, gaf_checkpoint_get_config (ck), p, &rng, step, &error));
  g_assert_no_error (error);
  gaf_net_free (net);
  gaf_checkpoint_free (ck);
}

/* A label maps' model file whose network is a toy CNN (fresh weights, step 0) for the pixels and classes of the
 * UNet in `from` (the app's label maps model file, whose [app] group it keeps with the precision set to
 * `precision`), written to `to`: a network without a bf16 path, as a file from elsewhere may hold, on any CPU. */
static inline void
gaf_test_write_toy_cnn_label_maps (const char *from, const char *to, const char *precision)
{
  GError *error = NULL;
  GafCheckpoint *ck = gaf_checkpoint_load (from, &error);
  GKeyFile *kf;
  GafNet *unet, *cnn;
  GafModelConfig mc;
  GafRng rng;

  g_assert_no_error (error);
  kf = gaf_checkpoint_get_config (ck);
  g_assert_true (g_key_file_has_group (kf, "app"));
  unet = gaf_model_new_from_keyfile (kf, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (unet->klass->name, ==, "unet");
  gaf_model_config_init (&mc, GAF_MODEL_TOY_CNN, unet->n, unet->out_channels, 3);
  mc.toy_cnn.hidden = 16;
  mc.toy_cnn.fourier_half = 8;
  cnn = gaf_model_new (&mc, &error);
  g_assert_no_error (error);
  gaf_model_config_to_keyfile (&mc, kf);
  g_key_file_set_string (kf, "app", "precision", precision);
  gaf_rng_init (&rng, 5);
  g_assert_true (gaf_checkpoint_save (to, kf, gaf_net_get_params (cnn), &rng, 0, &error));
  g_assert_no_error (error);
  gaf_net_free (cnn);
  gaf_net_free (unet);
  gaf_checkpoint_free (ck);
}
