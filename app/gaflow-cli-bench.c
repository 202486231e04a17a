/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#include "gaf-engine.h"
#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"

/* gaflow-cli bench: engine throughput, the engine's side of bench/compare.py. */

static void
bench_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  gaf_class_target_sample (user_data, rng, labels, batch);
}

/* Uniformly random labelings, as the PyTorch reference's image benchmark draws them. */
static void
bench_image_labels (gpointer user_data, GafRng *rng, guint16 *labels, int batch)
{
  const int *nc = user_data;   /* pixels, classes */

  for (gsize i = 0; i < (gsize) batch * nc[0]; i++)
    labels[i] = (guint16) gaf_rng_below (rng, (guint32) nc[1]);
}

static double
process_cpu_seconds (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The profile of one phase: per layer kind, CPU milliseconds per step (the threads' CPU seconds / threads /
 * steps, so the kinds add up to the process's CPU time per step over the threads; on a loaded machine that
 * is what the step would take on cores of its own) and the rate of the products counted in it (flops per
 * CPU second x threads). */
typedef struct {
  double seconds[GAF_PROF_N_KINDS], flops[GAF_PROF_N_KINDS];
} BenchProfile;

static void
bench_profile_take (BenchProfile *p)
{
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    gaf_profile_get ((GafProfKind) k, &p->seconds[k], &p->flops[k]);
  gaf_profile_reset ();
}

static void
bench_profile_print (const BenchProfile *p, const char *what, double cpu_s, guint64 steps, int threads,
                     const char *unit)
{
  double sum = 0.0, wall_ms = cpu_s / threads / steps * 1e3;

  printf ("  profile, %s (CPU ms per %s / %d threads; GFLOP/s of the products inside, x threads):\n",
          what, unit, threads);
  printf ("    %-24s %9s %6s %9s\n", "layer kind", "ms", "share", "GFLOP/s");
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    {
      double ms = p->seconds[k] / threads / steps * 1e3, wall = p->seconds[k] / threads;
      sum += ms;
      if (p->flops[k] > 0.0)
        printf ("    %-24s %9.2f %5.1f%% %9.1f\n", gaf_profile_name ((GafProfKind) k), ms, 100.0 * ms / wall_ms,
                p->flops[k] / wall * 1e-9);
      else
        printf ("    %-24s %9.2f %5.1f%% %9s\n", gaf_profile_name ((GafProfKind) k), ms, 100.0 * ms / wall_ms, "-");
    }
  printf ("    %-24s %9.2f %5.1f%%\n", "rest (loss, concat, ...)", wall_ms - sum, 100.0 - 100.0 * sum / wall_ms);
  printf ("    %-24s %9.2f\n", "all (process CPU)", wall_ms);
}

static void
bench_profile_json (const BenchProfile *p, const char *key, double cpu_s, guint64 steps, int threads)
{
  printf (", \"%s\": {", key);
  for (int k = 0; k < GAF_PROF_N_KINDS; k++)
    printf ("%s\"%s\": [%.4f, %.3f]", k ? ", " : "", gaf_profile_name ((GafProfKind) k),
            p->seconds[k] / threads / steps * 1e3,
            p->flops[k] > 0.0 ? p->flops[k] / (p->seconds[k] / threads) * 1e-9 : 0.0);
  printf (", \"all\": [%.4f, 0]}", cpu_s / threads / steps * 1e3);
}

/* The UNet side of bench/compare.py: training steps of the GAF loss (docs/method.md §2.2, image rate 0.5) on
 * random labelings, then sampling throughput with geometric Euler (h 0.1, restarted at T = 10) as the
 * reference does, counting image-evaluations of the network. Beside the wall-clock rates it reports the
 * rates per CPU-second the process used (train_samples_per_cpu_s, evals_per_cpu_s): on a machine shared
 * with other work, threads x those is what the same threads would reach on cores of their own (the engine
 * never spins: its threads wait on a condition variable and run single-threaded BLAS). */
static int
bench_unet (const GafUnetConfig *ucfg, int B, int S, int T, double secs, GafPrecision precision, gboolean json,
            gboolean profile)
{
  BenchProfile prof_train, prof_sample;
  g_autoptr(GafUnet) net = NULL;
  g_autoptr(GafTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *spec = gaf_unet_config_to_string (ucfg);
  g_autofree float *v = NULL, *w = NULL, *t = NULL, *k = NULL;
  GafTrainerConfig tcfg;
  GafRng rng;
  int n = ucfg->height * ucfg->width, c = ucfg->classes, nc[2] = { n, c };
  gsize count = (gsize) S * n * c;
  double loss_first = NAN, loss = NAN, sgemm, train_s, sample_s, tt = 0.0, cpu0, train_cpu, sample_cpu;
  double fwd = gaf_unet_flops_per_image (ucfg);
  guint64 train_steps = 0, evals = 0, train_flops, sample_flops;
  gint64 start;
  const double h = 0.1, t_end = 10.0;

  gaf_blas_set_threads (T);
  sgemm = gaf_blas_measure_gflops (1024, MIN (2.0, secs / 3));
  net = gaf_unet_new (ucfg, 1);
  if (!gaf_net_set_precision (GAF_NET (net), precision, &error))
    return gaf_cli_fail ("--precision: %s", error->message);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = B;
  tcfg.path.time_rate = 0.5;
  trainer = gaf_trainer_new (GAF_NET (net), bench_image_labels, nc, &tcfg);

  for (int i = 0; i < 2; i++)
    if (!gaf_trainer_step (trainer, i == 0 ? &loss_first : &loss, &error))
      return gaf_cli_fail ("%s", error->message);
  gaf_blas_flops_reset ();
  gaf_profile_enable (profile);
  gaf_profile_reset ();
  start = g_get_monotonic_time ();
  cpu0 = process_cpu_seconds ();
  do
    {
      if (!gaf_trainer_step (trainer, &loss, &error))
        return gaf_cli_fail ("%s", error->message);
      train_steps++;
    }
  while ((g_get_monotonic_time () - start) < secs * 1e6);
  train_s = (g_get_monotonic_time () - start) * 1e-6;
  train_cpu = process_cpu_seconds () - cpu0;
  train_flops = gaf_blas_flops ();
  bench_profile_take (&prof_train);

  v = g_new (float, count);
  w = g_new (float, count);
  k = g_new (float, count);
  t = g_new (float, S);
  gaf_rng_init (&rng, 2);
  for (int phase = 0; phase < 2; phase++)   /* one warm-up evaluation, then the timed loop */
    {
      if (phase == 1)
        {
          gaf_blas_flops_reset ();
          gaf_profile_reset ();
          start = g_get_monotonic_time ();
          cpu0 = process_cpu_seconds ();
        }
      do
        {
          if (evals == 0 || tt + h > t_end + 1e-9)
            {
              for (gsize i = 0; i < count; i++)
                v[i] = (float) gaf_rng_normal (&rng);
              gaf_project_tangent_rows (v, (gsize) S * n, c);
              tt = 0.0;
            }
          for (int b = 0; b < S; b++)
            t[b] = (float) tt;
          /* one field evaluation as the sampler runs it: softmax, network, tangent projection, step */
          gaf_softmax_rows (v, w, (gsize) S * n, c);
          gaf_unet_infer (net, w, t, S, k);
          gaf_project_tangent_rows (k, (gsize) S * n, c);
          for (gsize i = 0; i < count; i++)
            v[i] += (float) h * k[i];
          tt += h;
          if (phase == 1)
            evals += S;
          else
            evals = 1;
        }
      while (phase == 1 && (g_get_monotonic_time () - start) < secs * 1e6);
    }
  sample_s = (g_get_monotonic_time () - start) * 1e-6;
  sample_cpu = process_cpu_seconds () - cpu0;
  sample_flops = gaf_blas_flops ();
  bench_profile_take (&prof_sample);
  gaf_profile_enable (FALSE);

  if (json)
    printf ("{\"impl\": \"gaflow\", \"model\": \"unet\", \"classes\": %d, \"size\": %d, \"channels\": %d, "
            "\"spec\": \"%s\", \"batch\": %d, \"sample_batch\": %d, \"threads\": %d, "
            "\"params\": %" G_GSIZE_FORMAT ", \"flops_per_image\": %.0f, "
            "\"train_steps_per_s\": %.4f, \"train_samples_per_s\": %.3f, \"evals_per_s\": %.3f, "
            "\"train_samples_per_cpu_s\": %.3f, \"evals_per_cpu_s\": %.3f, "
            "\"gflops\": %.3f, \"sample_gflops\": %.3f, \"gemm_gflops\": %.3f, \"sample_gemm_gflops\": %.3f, "
            "\"sgemm_gflops\": %.3f, \"blas_core\": \"%s\", \"precision\": \"%s\", \"loss_first\": %.6f, "
            "\"loss_last\": %.6f",
            c, ucfg->height, ucfg->channels, spec, B, S, T, gaf_unet_get_params (net)->size, fwd,
            train_steps / train_s, train_steps * B / train_s, evals / sample_s, train_steps * B / train_cpu,
            evals / sample_cpu, 3.0 * fwd * train_steps * B / train_s * 1e-9, fwd * evals / sample_s * 1e-9,
            train_flops / train_s * 1e-9, sample_flops / sample_s * 1e-9, sgemm, gaf_blas_core_name (),
            gaf_precision_to_string (precision), loss_first, loss);
  if (json && profile)
    {
      /* per step of B images (training) and per evaluation of S images (sampling) */
      bench_profile_json (&prof_train, "profile_train", train_cpu, train_steps, T);
      bench_profile_json (&prof_sample, "profile_sample", sample_cpu, evals / S, T);
    }
  if (json)
    printf ("}\n");
  else
    {
      printf ("UNet %s, c = %d, %d x %d, %" G_GSIZE_FORMAT " parameters, %.3f GFLOP per image forward, "
              "%d threads (%s)\n", spec, c, ucfg->height, ucfg->width, gaf_unet_get_params (net)->size,
              fwd * 1e-9, T, gaf_blas_core_name ());
      printf ("  training (batch %d): %.3f steps/s = %.1f samples/s, %.1f GFLOP/s as direct convolutions "
              "(3x forward), %.1f GFLOP/s in sgemm\n", B, train_steps / train_s, train_steps * B / train_s,
              3.0 * fwd * train_steps * B / train_s * 1e-9, train_flops / train_s * 1e-9);
      printf ("  sampling (batch %d, %s products): %.1f image-evaluations/s, %.1f GFLOP/s as direct "
              "convolutions, %.1f GFLOP/s in sgemm\n", S, gaf_precision_to_string (precision), evals / sample_s,
              fwd * evals / sample_s * 1e-9, sample_flops / sample_s * 1e-9);
      printf ("  per CPU-second of the process: %.1f training samples, %.1f image-evaluations "
              "(x %d threads on otherwise idle cores)\n", train_steps * B / train_cpu, evals / sample_cpu, T);
      printf ("  sgemm 1024^3: %.1f GFLOP/s; loss %.4f -> %.4f\n", sgemm, loss_first, loss);
      if (profile)
        {
          bench_profile_print (&prof_train, "training", train_cpu, train_steps, T, "step");
          bench_profile_print (&prof_sample, "sampling", sample_cpu, evals / S, T, "evaluation");
        }
    }
  return 0;
}

int
gaf_cli_cmd_bench (int argc, char **argv)
{
  g_autofree char *model = NULL, *classes = NULL, *batch = NULL, *threads = NULL, *sample_batch = NULL;
  g_autofree char *seconds = NULL, *size = NULL, *channels = NULL, *mult = NULL, *blocks = NULL, *attn = NULL;
  g_autofree char *precision = NULL;
  gboolean json = FALSE, profile = FALSE;
  GOptionEntry entries[] = {
    { "model", 0, 0, G_OPTION_ARG_STRING, &model, "Network (toy-cnn, unet)", "NAME" },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes, "Classes c (default 160; unet 2)", "C" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch, "Training batch (default 128; unet 32)", "B" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "BLAS threads (default 2)", "T" },
    { "sample-batch", 0, 0, G_OPTION_ARG_STRING, &sample_batch,
      "Sequences per sampling batch (default 4096; unet: images, 32)", "S" },
    { "seconds", 0, 0, G_OPTION_ARG_STRING, &seconds, "Seconds per measurement (default 10)", "X" },
    { "size", 0, 0, G_OPTION_ARG_STRING, &size, "unet: image side (default 32)", "N" },
    { "channels", 0, 0, G_OPTION_ARG_STRING, &channels, "unet: base channels (default 32)", "C" },
    { "mult", 0, 0, G_OPTION_ARG_STRING, &mult, "unet: channel multipliers (default 1,2,2,2)", "LIST" },
    { "blocks", 0, 0, G_OPTION_ARG_STRING, &blocks, "unet: residual blocks per level (default 2)", "N" },
    { "attn", 0, 0, G_OPTION_ARG_STRING, &attn, "unet: attention resolutions (default none)", "LIST" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision,
      "unet: sampling's products in float or bf16 (AVX-512 BF16 CPUs; default float)", "NAME" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &profile,
      "unet: time and GFLOP/s per layer kind (training step and sampling evaluation)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- engine throughput");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafClassTarget) target = NULL;
  g_autoptr(GafToyCnn) net = NULL;
  g_autoptr(GafTrainer) trainer = NULL;
  GafToyCnnConfig ncfg;
  GafTrainerConfig tcfg;
  GafSamplerConfig scfg;
  int c = 160, B = 128, T = 2, S = 4096;
  double secs = 10.0, loss_first = NAN, loss = NAN, sgemm, train_s, sample_s, cpu0, train_cpu, sample_cpu;
  guint64 train_steps = 0, evals = 0, train_flops, sample_flops;
  gint64 start;
  g_autofree float *v = NULL, *w = NULL, *t = NULL, *k = NULL;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (model && !g_str_equal (model, "toy-cnn") && !g_str_equal (model, "unet"))
    return gaf_cli_fail ("--model: unknown model '%s' (available: toy-cnn, unet)", model);
  if (model && g_str_equal (model, "unet"))
    {
      GafUnetConfig ucfg;
      g_autoptr(GString) spec = g_string_new (NULL);
      int uc = 2, ub = 32, ut = 2, us = 32, side = 32;
      GafPrecision prec = GAF_PRECISION_FLOAT;

      if ((classes && !gaf_cli_parse_int ("--classes", classes, 2, 4096, &uc, &error)) ||
          (batch && !gaf_cli_parse_int ("--batch", batch, 1, 4096, &ub, &error)) ||
          (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &ut, &error)) ||
          (sample_batch && !gaf_cli_parse_int ("--sample-batch", sample_batch, 1, 4096, &us, &error)) ||
          (size && !gaf_cli_parse_int ("--size", size, 1, 4096, &side, &error)) ||
          (seconds && !gaf_cli_parse_double ("--seconds", seconds, 0.01, 3600, &secs, &error)) ||
          (precision && !gaf_precision_from_string (precision, &prec, &error)))
        return gaf_cli_fail ("%s", error->message);
      gaf_unet_config_init (&ucfg, uc, side, side);
      /* the model options in the spec syntax of gaf_unet_config_parse, which checks them all */
      if (channels)
        g_string_append_printf (spec, "channels=%s,", channels);
      if (mult)
        g_string_append_printf (spec, "mult=%s,", mult);
      if (blocks)
        g_string_append_printf (spec, "blocks=%s,", blocks);
      if (attn)
        g_string_append_printf (spec, "attn=%s,", attn);
      if (spec->len > 0)
        g_string_truncate (spec, spec->len - 1);
      if (!gaf_unet_config_parse (&ucfg, spec->str, &error))
        return gaf_cli_fail ("%s", error->message);
      return bench_unet (&ucfg, ub, us, ut, secs, prec, json, profile);
    }
  if (size || channels || mult || blocks || attn || profile || precision)
    return gaf_cli_fail ("--size, --channels, --mult, --blocks, --attn, --precision and --profile are options of "
                         "--model unet");
  if ((classes && !gaf_cli_parse_int ("--classes", classes, 2, 4096, &c, &error)) ||
      (batch && !gaf_cli_parse_int ("--batch", batch, 1, 65536, &B, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &T, &error)) ||
      (sample_batch && !gaf_cli_parse_int ("--sample-batch", sample_batch, 1, 1 << 20, &S, &error)) ||
      (seconds && !gaf_cli_parse_double ("--seconds", seconds, 0.01, 3600, &secs, &error)))
    return gaf_cli_fail ("%s", error->message);

  gaf_blas_set_threads (T);
  sgemm = gaf_blas_measure_gflops (1024, MIN (2.0, secs / 3));

  gaf_toy_cnn_config_init (&ncfg, 4, c);
  net = gaf_toy_cnn_new (&ncfg, 1);
  target = gaf_class_target_new (4, c, 1);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = B;
  trainer = gaf_trainer_new (GAF_NET (net), bench_labels, target, &tcfg);

  /* Training throughput: warm-up, then as many steps as fit. */
  for (int i = 0; i < 3; i++)
    if (!gaf_trainer_step (trainer, i == 0 ? &loss_first : &loss, &error))
      return gaf_cli_fail ("%s", error->message);
  gaf_blas_flops_reset ();
  start = g_get_monotonic_time ();
  cpu0 = process_cpu_seconds ();
  do
    {
      if (!gaf_trainer_step (trainer, &loss, &error))
        return gaf_cli_fail ("%s", error->message);
      train_steps++;
    }
  while ((g_get_monotonic_time () - start) < secs * 1e6);
  train_s = (g_get_monotonic_time () - start) * 1e-6;
  train_cpu = process_cpu_seconds () - cpu0;
  train_flops = gaf_blas_flops ();

  /* Sampling throughput: RK4 steps on S sequences, time shared across the batch. */
  gaf_sampler_config_init (&scfg);
  {
    GafRng rng;
    gsize count = (gsize) S * 4 * c;
    v = g_new (float, count);
    w = g_new (float, count);
    k = g_new (float, count);
    t = g_new (float, S);
    gaf_rng_init (&rng, 2);
    for (gsize i = 0; i < count; i++)
      v[i] = (float) gaf_rng_normal (&rng);
    gaf_project_tangent_rows (v, (gsize) S * 4, c);
    gaf_softmax_rows (v, w, (gsize) S * 4, c);
    for (int b = 0; b < S; b++)
      t[b] = 1.0f;
    gaf_toy_cnn_infer (net, w, t, S, k);   /* warm-up */
    gaf_blas_flops_reset ();
    start = g_get_monotonic_time ();
    cpu0 = process_cpu_seconds ();
    do
      {
        /* one field evaluation, as the sampler runs it: softmax, network, tangent projection */
        gaf_softmax_rows (v, w, (gsize) S * 4, c);
        gaf_toy_cnn_infer (net, w, t, S, k);
        gaf_project_tangent_rows (k, (gsize) S * 4, c);
        for (gsize i = 0; i < count; i++)
          v[i] += 0.05f * k[i];
        evals++;
      }
    while ((g_get_monotonic_time () - start) < secs * 1e6);
    sample_s = (g_get_monotonic_time () - start) * 1e-6;
    sample_cpu = process_cpu_seconds () - cpu0;
    sample_flops = gaf_blas_flops ();
  }

  if (json)
    {
      printf ("{\"impl\": \"gaflow\", \"model\": \"toy-cnn\", \"classes\": %d, \"batch\": %d, \"sample_batch\": %d, "
              "\"threads\": %d, \"params\": %" G_GSIZE_FORMAT ", \"train_steps_per_s\": %.4f, "
              "\"train_samples_per_s\": %.2f, \"evals_per_s\": %.2f, \"gflops\": %.3f, \"sample_gflops\": %.3f, "
              "\"train_steps_per_cpu_s\": %.4f, \"evals_per_cpu_s\": %.2f, "
              "\"sgemm_gflops\": %.3f, \"blas_core\": \"%s\", \"loss_first\": %.6f, \"loss_last\": %.6f}\n",
              c, B, S, T, gaf_toy_cnn_get_params (net)->size, train_steps / train_s, train_steps * B / train_s,
              evals * S / sample_s, train_flops / train_s * 1e-9, sample_flops / sample_s * 1e-9,
              train_steps / train_cpu, evals * S / sample_cpu, sgemm, gaf_blas_core_name (), loss_first, loss);
    }
  else
    {
      printf ("toy CNN, c = %d, %" G_GSIZE_FORMAT " parameters, %d threads (%s)\n", c,
              gaf_toy_cnn_get_params (net)->size, T, gaf_blas_core_name ());
      printf ("  training (batch %d): %.2f steps/s, %.1f GFLOP/s\n", B, train_steps / train_s,
              train_flops / train_s * 1e-9);
      printf ("  sampling (batch %d): %.0f sequence-evaluations/s, %.1f GFLOP/s\n", S, evals * S / sample_s,
              sample_flops / sample_s * 1e-9);
      printf ("  per CPU-second of the process: %.2f training steps, %.0f sequence-evaluations (x %d threads on "
              "otherwise idle cores)\n", train_steps / train_cpu, evals * S / sample_cpu, T);
      printf ("  sgemm 1024^3: %.1f GFLOP/s\n", sgemm);
    }
  return 0;
}
