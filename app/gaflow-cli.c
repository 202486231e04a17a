/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gaf-engine.h"
#include "gaflow-cli-common.h"
#include "gaf-scaling-plot.h"
#include "gaflow-cli-image.h"
#include "gaflow-cli-joint.h"
#include "gaflow-cli-likelihood.h"

static gboolean
parse_classes (const char *s, GArray *out, GError **error)
{
  g_auto(GStrv) parts = g_strsplit (s, ",", -1);

  g_array_set_size (out, 0);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      int c;
      g_autoptr(GError) local = NULL;
      if (!gaf_cli_parse_int ("--classes", g_strstrip (parts[i]), 2, 4096, &c, &local))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "--classes: each class count must be an integer from 2 to 4096, got '%s'", parts[i]);
          return FALSE;
        }
      g_array_append_val (out, c);
    }
  if (out->len == 0)
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--classes: no class counts given");
      return FALSE;
    }
  return TRUE;
}

/* ---- progress --------------------------------------------------------------------------------- */

typedef struct {
  gboolean tty;
  gint64   last_us;
  GString *csv;
  GArray  *rows;
  GArray  *methods;   /* GafMethod, the sweep's order: item i runs methods[i % len] */
} SweepState;

static const char *
item_method (const SweepState *st, guint item)
{
  if (st->methods == NULL || st->methods->len == 0)
    return "gaf";
  return gaf_method_to_string (g_array_index (st->methods, GafMethod, item % st->methods->len));
}

static void
sweep_progress (const GafProgress *p, gpointer user_data)
{
  SweepState *st = user_data;
  gint64 now = g_get_monotonic_time ();
  double frac, overall;
  char bar[31];
  int filled;

  if (!st->tty)
    return;
  if (now - st->last_us < 100000 && p->done != p->total)
    return;
  st->last_us = now;
  frac = p->total ? (double) p->done / p->total : 0.0;
  /* training and sampling each take half of an item's share of the bar */
  overall = (p->item + (g_str_equal (p->stage, "train") ? 0.5 * frac : 0.5 + 0.5 * frac)) / MAX (p->n_items, 1);
  filled = (int) (overall * 30.0 + 0.5);
  for (int i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[30] = '\0';
  if (g_str_equal (p->stage, "train"))
    fprintf (stderr, "\r[%s] %-9s c=%-4d (%u/%u) train %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " loss %.4f   ",
             bar, item_method (st, p->item), p->classes, p->item + 1, p->n_items, p->done, p->total, p->loss);
  else
    fprintf (stderr, "\r[%s] %-9s c=%-4d (%u/%u) sample %3.0f%%                       ",
             bar, item_method (st, p->item), p->classes, p->item + 1, p->n_items, 100.0 * frac);
  fflush (stderr);
}

static void
sweep_row (const GafSweepRow *row, gpointer user_data)
{
  SweepState *st = user_data;

  g_array_append_val (st->rows, *row);
  if (st->tty)
    fprintf (stderr, "\r%-100s\r", "");
  fprintf (stderr, "%s c=%d: KL %.5f (uniform %.5f, floor %.5f), train %.1f s, sample %.1f s\n", row->method,
           row->classes, row->kl, row->kl_uniform, row->kl_floor, row->train_seconds, row->sample_seconds);
}

/* The documented CSV columns (tests/test-cli.sh checks them). */
#define SWEEP_CSV_HEADER "method,classes,steps,samples,kl,kl_uniform,kl_floor,train_seconds,sample_seconds"

static void
format_csv (GString *out, GArray *rows)
{
  g_string_append (out, SWEEP_CSV_HEADER "\n");
  for (guint i = 0; i < rows->len; i++)
    {
      const GafSweepRow *r = &g_array_index (rows, GafSweepRow, i);
      char kl[G_ASCII_DTOSTR_BUF_SIZE], ku[G_ASCII_DTOSTR_BUF_SIZE], kf[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (kl, sizeof kl, "%.6g", r->kl);
      g_ascii_formatd (ku, sizeof ku, "%.6g", r->kl_uniform);
      g_ascii_formatd (kf, sizeof kf, "%.6g", r->kl_floor);
      g_string_append_printf (out, "%s,%d,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%s,%s,%s,%.2f,%.2f\n",
                              r->method, r->classes, r->steps, r->samples, kl, ku, kf,
                              r->train_seconds, r->sample_seconds);
    }
}

static void
print_table (GArray *rows)
{
  printf ("%-9s %7s %8s %9s %10s %10s %10s %8s %9s %8s %8s\n", "method", "classes", "steps", "samples", "kl",
          "kl_unif", "kl_floor", "kl/unif", "loss", "train_s", "sample_s");
  for (guint i = 0; i < rows->len; i++)
    {
      const GafSweepRow *r = &g_array_index (rows, GafSweepRow, i);
      printf ("%-9s %7d %8" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT " %10.6f %10.6f %10.6f %8.3f %9.5f %8.1f %8.1f\n",
              r->method, r->classes, r->steps, r->samples, r->kl, r->kl_uniform, r->kl_floor,
              r->kl / r->kl_uniform, r->final_loss, r->train_seconds, r->sample_seconds);
    }
}

/* The decoding rule of each method in the table (the CSV keeps its documented columns). */
static void
print_decoding (GArray *methods)
{
  printf ("decoding:\n");
  for (guint i = 0; i < methods->len; i++)
    {
      GafMethod m = g_array_index (methods, GafMethod, i);
      printf ("  %-9s %s\n", gaf_method_to_string (m), gaf_method_decoding (m));
    }
}

/* ---- sweep ------------------------------------------------------------------------------------ */

static int
cmd_sweep (int argc, char **argv)
{
  g_autofree char *method = NULL, *classes = NULL, *steps = NULL, *batch = NULL, *lr = NULL;
  g_autofree char *samples = NULL, *integrator = NULL, *step_size = NULL, *t_end = NULL;
  g_autofree char *lambda = NULL, *time_rate = NULL, *seed = NULL, *threads = NULL, *csv = NULL;
  g_autofree char *time_scale = NULL, *chunk = NULL, *ema = NULL, *schedule = NULL, *input_scale = NULL;
  gboolean no_position_bias = FALSE;
  g_autofree char *baseline_time_scale = NULL, *head = NULL;
  g_auto(GStrv) plot = NULL;
  GOptionEntry entries[] = {
    { "method", 0, 0, G_OPTION_ARG_STRING, &method,
      "Methods, comma separated, from gaf, dirichlet, linear, sphere (default gaf)", "LIST" },
    { "classes", 0, 0, G_OPTION_ARG_STRING, &classes, "Class counts (default 5,10,20,40,60,80,100,120,140,160)", "LIST" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps, "Training steps per class count (default 5000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch, "Mini-batch size (default 128)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr, "Adam learning rate (default 3e-4)", "LR" },
    { "samples", 0, 0, G_OPTION_ARG_STRING, &samples, "Samples drawn for the KL (default 50000)", "N" },
    { "integrator", 0, 0, G_OPTION_ARG_STRING, &integrator, "euler or rk4 (default euler)", "NAME" },
    { "step-size", 0, 0, G_OPTION_ARG_STRING, &step_size, "Sampler step h (default 0.5)", "H" },
    { "t-end", 0, 0, G_OPTION_ARG_STRING, &t_end, "Sampler end time T (default 15)", "T" },
    { "lambda", 0, 0, G_OPTION_ARG_STRING, &lambda, "Field magnitude lambda (default 0.5)", "L" },
    { "time-rate", 0, 0, G_OPTION_ARG_STRING, &time_rate, "Rate of the Gamma(1, rate) training times (default 0.25)", "R" },
    { "time-scale", 0, 0, G_OPTION_ARG_STRING, &time_scale, "Scale of the network's time input (default 0.02; 1 is the reference)", "S" },
    { "baseline-time-scale", 0, 0, G_OPTION_ARG_STRING, &baseline_time_scale,
      "Baselines' time input: 0 = as their references (default); S = t or alpha/alpha_max times S", "S" },
    { "input-scale", 0, 0, G_OPTION_ARG_STRING, &input_scale, "Scale of the network's input W; 0 = c (default 1, the reference)", "S" },
    { "no-position-bias", 0, 0, G_OPTION_ARG_NONE, &no_position_bias,
      "The reference toy CNN, without the learned per-position output bias (n c parameters)", NULL },
    { "head", 0, 0, G_OPTION_ARG_STRING, &head,
      "GAF's affinity: posterior (default; lambda s (softmax(lambda t s log W + net) - 1/c)) or field (the network's output, the reference)", "NAME" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "Learning rate schedule: constant or cosine", "NAME" },
    { "ema", 0, 0, G_OPTION_ARG_STRING, &ema, "Decay of the weight average used for sampling (default 0.999, 0 = off)", "D" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Random seed (default 1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "Engine threads (default 2)", "N" },
    { "chunk", 0, 0, G_OPTION_ARG_STRING, &chunk, "Sequences integrated at once when sampling (default 1024)", "N" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Write the results as CSV", "FILE" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plot,
      "Draw KL against c (log axes) to FILE.svg or FILE.png (may be repeated)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- KL against the number of classes");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (GafSweepRow));
  GafSweepConfig cfg;
  SweepState st = { 0 };
  int n_threads = 2;
  int rc = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("sweep: unexpected argument '%s'", argv[1]);

  gaf_sweep_config_init (&cfg);
  if (method && !gaf_method_list_parse (method, cfg.methods, &error))
    {
      gaf_sweep_config_clear (&cfg);
      return gaf_cli_fail ("--method: %s", error->message);
    }
  if ((classes && !parse_classes (classes, cfg.classes, &error)) ||
      (steps && !gaf_cli_parse_u64 ("--steps", steps, 0, G_GUINT64_CONSTANT (100000000), &cfg.steps, &error)) ||
      (batch && !gaf_cli_parse_int ("--batch", batch, 1, 65536, &cfg.train.batch, &error)) ||
      (lr && !gaf_cli_parse_double ("--lr", lr, 1e-12, 10.0, &cfg.train.adam.lr, &error)) ||
      (samples && !gaf_cli_parse_u64 ("--samples", samples, 1, G_GUINT64_CONSTANT (100000000), &cfg.samples, &error)) ||
      (step_size && !gaf_cli_parse_double ("--step-size", step_size, 1e-6, 1e6, &cfg.sampler.step_size, &error)) ||
      (t_end && !gaf_cli_parse_double ("--t-end", t_end, 1e-6, 1e6, &cfg.sampler.t_end, &error)) ||
      (lambda && !gaf_cli_parse_double ("--lambda", lambda, 1e-6, 1e3, &cfg.train.path.lambda, &error)) ||
      (time_rate && !gaf_cli_parse_double ("--time-rate", time_rate, 1e-6, 1e6, &cfg.train.path.time_rate, &error)) ||
      (time_scale && !gaf_cli_parse_double ("--time-scale", time_scale, 1e-6, 1e6, &cfg.time_scale, &error)) ||
      (input_scale && !gaf_cli_parse_double ("--input-scale", input_scale, 0.0, 1e6, &cfg.input_scale, &error)) ||
      (baseline_time_scale && !gaf_cli_parse_double ("--baseline-time-scale", baseline_time_scale, 0.0, 1e6,
                                             &cfg.baseline_time_scale, &error)) ||
      (ema && !gaf_cli_parse_double ("--ema", ema, 0.0, 0.999999, &cfg.train.ema_decay, &error)) ||
      (seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &cfg.seed, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &n_threads, &error)) ||
      (chunk && !gaf_cli_parse_int ("--chunk", chunk, 1, 1 << 20, &cfg.sample_chunk, &error)))
    goto out_fail;
  cfg.position_bias = !no_position_bias;
  if (head)
    {
      if (g_str_equal (head, "field") || g_str_equal (head, "posterior"))
        cfg.posterior = g_str_equal (head, "posterior");
      else
        {
          g_set_error (&error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "--head: '%s' is not field or posterior", head);
          goto out_fail;
        }
    }
  if (schedule)
    {
      if (g_str_equal (schedule, "cosine") || g_str_equal (schedule, "constant"))
        cfg.cosine = g_str_equal (schedule, "cosine");
      else
        {
          g_set_error (&error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "--schedule: unknown schedule '%s' (expected constant or cosine)", schedule);
          goto out_fail;
        }
    }
  if (integrator && !gaf_integrator_from_string (integrator, &cfg.sampler.integrator))
    {
      g_set_error (&error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "--integrator: unknown integrator '%s' (expected euler or rk4)", integrator);
      goto out_fail;
    }
  if (!gaf_sweep_config_check (&cfg, &error))
    goto out_fail;
  if (csv && !gaf_cli_check_output_path ("--csv", csv, &error))
    goto out_fail;
  for (guint i = 0; plot != NULL && plot[i] != NULL; i++)
    {
      GafScalingPlotFormat format;
      g_autoptr(GError) local = NULL;
      if (!gaf_scaling_plot_format_from_path (plot[i], &format, &local))
        {
          g_set_error (&error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--plot: %s", local->message);
          goto out_fail;
        }
      if (!gaf_cli_check_output_path ("--plot", plot[i], &error))
        goto out_fail;
    }

  gaf_blas_set_threads (n_threads);
  st.tty = isatty (fileno (stderr));
  st.rows = rows;
  st.methods = cfg.methods;
  fprintf (stderr, "sweep: %u class counts x %u methods, %" G_GUINT64_FORMAT " steps, batch %d, %" G_GUINT64_FORMAT
           " samples, %s h=%g T=%g, %d threads, toy CNN%s%s\n", cfg.classes->len, cfg.methods->len, cfg.steps,
           cfg.train.batch, cfg.samples, gaf_integrator_to_string (cfg.sampler.integrator), cfg.sampler.step_size,
           cfg.sampler.t_end, n_threads, cfg.position_bias ? " + per-position output bias" : " (reference)",
           cfg.posterior ? ", GAF affinity in the posterior form" : ", GAF affinity = network output (reference)");
  if (!gaf_sweep_run (&cfg, sweep_row, sweep_progress, &st, NULL, &error))
    goto out_fail;

  print_table (rows);
  print_decoding (cfg.methods);
  if (csv)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      format_csv (s, rows);
      if (!g_file_set_contents (csv, s->str, s->len, &error))   /* atomic: temp file + rename */
        goto out_fail;
    }
  if (plot != NULL && plot[0] != NULL)
    {
      g_autoptr(GafScalingPlotData) data = gaf_scaling_plot_data_new_from_rows ((const GafSweepRow *) rows->data,
                                                                                rows->len);
      data->title = g_strdup_printf ("KL of decoded samples against the number of classes (n = %d)", cfg.n);
      g_autofree char *in_scale = cfg.input_scale > 0.0 ? g_strdup_printf ("%g", cfg.input_scale)
                                                         : g_strdup ("mean 1");
      g_autofree char *bt_scale = cfg.baseline_time_scale > 0.0 ? g_strdup_printf ("%g", cfg.baseline_time_scale)
                                                                 : g_strdup ("reference");
      data->note = g_strdup_printf ("same toy CNN trunk%s%s; %" G_GUINT64_FORMAT " steps, batch %d, Adam %g%s, EMA %g; "
                                    "%" G_GUINT64_FORMAT " samples; input scale %s; time scale %g (GAF), %s "
                                    "(baselines); seed %" G_GUINT64_FORMAT,
                                    cfg.position_bias ? " with per-position output bias" : " (reference)",
                                    cfg.posterior ? ", GAF in the posterior form" : "",
                                    cfg.steps, cfg.train.batch, cfg.train.adam.lr, cfg.cosine ? " cosine" : "",
                                    cfg.train.ema_decay, cfg.samples, in_scale, cfg.time_scale, bt_scale, cfg.seed);
      for (guint i = 0; plot[i] != NULL; i++)
        if (!gaf_scaling_plot_write (data, plot[i], 960, 640, NULL, &error))
          goto out_fail;
    }
  gaf_sweep_config_clear (&cfg);
  return rc;

out_fail:
  gaf_sweep_config_clear (&cfg);
  if (st.tty)
    fprintf (stderr, "\n");
  return gaf_cli_fail ("%s", error->message);
}

/* ---- plot ------------------------------------------------------------------------------------- */

/* Rows of a CSV written by `sweep --csv` (the documented header, nine fields a row). */
static gboolean
read_sweep_csv (const char *path, GArray *rows, GError **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &text, NULL, &local))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "--csv: %s", local->message);
      return FALSE;
    }
  lines = g_strsplit (text, "\n", -1);
  if (lines[0] == NULL || !g_str_equal (g_strchomp (lines[0]), SWEEP_CSV_HEADER))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "--csv: '%s' does not start with the sweep header %s", path,
                   SWEEP_CSV_HEADER);
      return FALSE;
    }
  for (guint i = 1; lines[i] != NULL; i++)
    {
      g_auto(GStrv) f = NULL;
      GafSweepRow r = { 0 };
      double v[5];
      char *end;
      gboolean ok;

      g_strchomp (lines[i]);
      if (lines[i][0] == '\0')
        continue;
      f = g_strsplit (lines[i], ",", -1);
      ok = g_strv_length (f) == 9 && f[0][0] != '\0' && strlen (f[0]) < sizeof r.method &&
           gaf_cli_parse_int ("classes", f[1], 2, 4096, &r.classes, NULL) &&
           gaf_cli_parse_u64 ("steps", f[2], 0, G_MAXUINT64, &r.steps, NULL) &&
           gaf_cli_parse_u64 ("samples", f[3], 1, G_MAXUINT64, &r.samples, NULL);
      for (int k = 0; ok && k < 5; k++)
        {
          v[k] = g_ascii_strtod (f[4 + k], &end);
          ok = end != f[4 + k] && *end == '\0' && isfinite (v[k]) && v[k] >= 0.0;
        }
      if (!ok)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "--csv: '%s' line %u is not a sweep row: %s", path, i + 1,
                       lines[i]);
          return FALSE;
        }
      g_strlcpy (r.method, f[0], sizeof r.method);
      r.kl = v[0];
      r.kl_uniform = v[1];
      r.kl_floor = v[2];
      r.train_seconds = v[3];
      r.sample_seconds = v[4];
      r.final_loss = NAN;
      g_array_append_val (rows, r);
    }
  if (rows->len == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "--csv: '%s' has no rows", path);
      return FALSE;
    }
  return TRUE;
}

/* Draws the class-scaling plot of a sweep's CSV again (other sizes, formats, a title or a note). */
static int
cmd_plot (int argc, char **argv)
{
  g_autofree char *csv = NULL, *title = NULL, *note = NULL, *width = NULL, *height = NULL;
  g_auto(GStrv) plot = NULL;
  GOptionEntry entries[] = {
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "A CSV written by 'gaflow-cli sweep --csv'", "FILE" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &plot, "FILE.svg or FILE.png (may be repeated)", "FILE" },
    { "title", 0, 0, G_OPTION_ARG_STRING, &title, "Title above the plot", "TEXT" },
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, "One line under the legend (budget, sample count)", "TEXT" },
    { "width", 0, 0, G_OPTION_ARG_STRING, &width, "Width in pixels (default 960)", "W" },
    { "height", 0, 0, G_OPTION_ARG_STRING, &height, "Height in pixels (default 640)", "H" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- draw the class-scaling plot of a sweep's CSV");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) rows = g_array_new (FALSE, FALSE, sizeof (GafSweepRow));
  g_autoptr(GafScalingPlotData) data = NULL;
  int w = 960, h = 640;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("plot: unexpected argument '%s'", argv[1]);
  if (csv == NULL)
    return gaf_cli_fail ("plot: --csv FILE is required");
  if (plot == NULL || plot[0] == NULL)
    return gaf_cli_fail ("plot: --plot FILE is required");
  if ((width && !gaf_cli_parse_int ("--width", width, 64, 16384, &w, &error)) ||
      (height && !gaf_cli_parse_int ("--height", height, 64, 16384, &h, &error)))
    return gaf_cli_fail ("%s", error->message);
  for (guint i = 0; plot[i] != NULL; i++)
    {
      GafScalingPlotFormat format;
      g_autoptr(GError) local = NULL;
      if (!gaf_scaling_plot_format_from_path (plot[i], &format, &local))
        return gaf_cli_fail ("--plot: %s", local->message);
      if (!gaf_cli_check_output_path ("--plot", plot[i], &error))
        return gaf_cli_fail ("%s", error->message);
    }
  if (!read_sweep_csv (csv, rows, &error))
    return gaf_cli_fail ("%s", error->message);
  data = gaf_scaling_plot_data_new_from_rows ((const GafSweepRow *) rows->data, rows->len);
  data->title = g_strdup (title ? title : "KL of decoded samples against the number of classes");
  data->note = g_strdup (note);
  for (guint i = 0; plot[i] != NULL; i++)
    if (!gaf_scaling_plot_write (data, plot[i], w, h, NULL, &error))
      return gaf_cli_fail ("%s", error->message);
  return 0;
}

/* ---- bench ------------------------------------------------------------------------------------ */

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

/* The UNet side of bench/compare.py: training steps of the GAF loss (SPEC §2.2, image rate 0.5) on
 * random labelings, then sampling throughput with geometric Euler (h 0.1, restarted at T = 10) as the
 * reference does, counting image-evaluations of the network. Beside the wall-clock rates it reports the
 * rates per CPU-second the process used (train_samples_per_cpu_s, evals_per_cpu_s): on a machine shared
 * with other work, threads x those is what the same threads would reach on cores of their own (the engine
 * never spins: its threads wait on a condition variable and run single-threaded BLAS). */
static int
bench_unet (const GafUnetConfig *ucfg, int B, int S, int T, double secs, gboolean json)
{
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
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = B;
  tcfg.path.time_rate = 0.5;
  trainer = gaf_trainer_new (GAF_NET (net), bench_image_labels, nc, &tcfg);

  for (int i = 0; i < 2; i++)
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

  if (json)
    printf ("{\"impl\": \"gaflow\", \"model\": \"unet\", \"classes\": %d, \"size\": %d, \"channels\": %d, "
            "\"spec\": \"%s\", \"batch\": %d, \"sample_batch\": %d, \"threads\": %d, "
            "\"params\": %" G_GSIZE_FORMAT ", \"flops_per_image\": %.0f, "
            "\"train_steps_per_s\": %.4f, \"train_samples_per_s\": %.3f, \"evals_per_s\": %.3f, "
            "\"train_samples_per_cpu_s\": %.3f, \"evals_per_cpu_s\": %.3f, "
            "\"gflops\": %.3f, \"sample_gflops\": %.3f, \"gemm_gflops\": %.3f, \"sample_gemm_gflops\": %.3f, "
            "\"sgemm_gflops\": %.3f, \"blas_core\": \"%s\", \"loss_first\": %.6f, \"loss_last\": %.6f}\n",
            c, ucfg->height, ucfg->channels, spec, B, S, T, gaf_unet_get_params (net)->size, fwd,
            train_steps / train_s, train_steps * B / train_s, evals / sample_s, train_steps * B / train_cpu,
            evals / sample_cpu, 3.0 * fwd * train_steps * B / train_s * 1e-9, fwd * evals / sample_s * 1e-9,
            train_flops / train_s * 1e-9, sample_flops / sample_s * 1e-9, sgemm, gaf_blas_core_name (),
            loss_first, loss);
  else
    {
      printf ("UNet %s, c = %d, %d x %d, %" G_GSIZE_FORMAT " parameters, %.3f GFLOP per image forward, "
              "%d threads (%s)\n", spec, c, ucfg->height, ucfg->width, gaf_unet_get_params (net)->size,
              fwd * 1e-9, T, gaf_blas_core_name ());
      printf ("  training (batch %d): %.3f steps/s = %.1f samples/s, %.1f GFLOP/s as direct convolutions "
              "(3x forward), %.1f GFLOP/s in sgemm\n", B, train_steps / train_s, train_steps * B / train_s,
              3.0 * fwd * train_steps * B / train_s * 1e-9, train_flops / train_s * 1e-9);
      printf ("  sampling (batch %d): %.1f image-evaluations/s, %.1f GFLOP/s as direct convolutions, "
              "%.1f GFLOP/s in sgemm\n", S, evals / sample_s, fwd * evals / sample_s * 1e-9,
              sample_flops / sample_s * 1e-9);
      printf ("  per CPU-second of the process: %.1f training samples, %.1f image-evaluations "
              "(x %d threads on otherwise idle cores)\n", train_steps * B / train_cpu, evals / sample_cpu, T);
      printf ("  sgemm 1024^3: %.1f GFLOP/s; loss %.4f -> %.4f\n", sgemm, loss_first, loss);
    }
  return 0;
}

static int
cmd_bench (int argc, char **argv)
{
  g_autofree char *model = NULL, *classes = NULL, *batch = NULL, *threads = NULL, *sample_batch = NULL;
  g_autofree char *seconds = NULL, *size = NULL, *channels = NULL, *mult = NULL, *blocks = NULL, *attn = NULL;
  gboolean json = FALSE;
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
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
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
  double secs = 10.0, loss_first = NAN, loss = NAN, sgemm, train_s, sample_s;
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

      if ((classes && !gaf_cli_parse_int ("--classes", classes, 2, 4096, &uc, &error)) ||
          (batch && !gaf_cli_parse_int ("--batch", batch, 1, 4096, &ub, &error)) ||
          (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &ut, &error)) ||
          (sample_batch && !gaf_cli_parse_int ("--sample-batch", sample_batch, 1, 4096, &us, &error)) ||
          (size && !gaf_cli_parse_int ("--size", size, 1, 4096, &side, &error)) ||
          (seconds && !gaf_cli_parse_double ("--seconds", seconds, 0.01, 3600, &secs, &error)))
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
      return bench_unet (&ucfg, ub, us, ut, secs, json);
    }
  if (size || channels || mult || blocks || attn)
    return gaf_cli_fail ("--size, --channels, --mult, --blocks and --attn are options of --model unet");
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
  do
    {
      if (!gaf_trainer_step (trainer, &loss, &error))
        return gaf_cli_fail ("%s", error->message);
      train_steps++;
    }
  while ((g_get_monotonic_time () - start) < secs * 1e6);
  train_s = (g_get_monotonic_time () - start) * 1e-6;
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
    sample_flops = gaf_blas_flops ();
  }

  if (json)
    {
      printf ("{\"impl\": \"gaflow\", \"model\": \"toy-cnn\", \"classes\": %d, \"batch\": %d, \"sample_batch\": %d, "
              "\"threads\": %d, \"params\": %" G_GSIZE_FORMAT ", \"train_steps_per_s\": %.4f, "
              "\"train_samples_per_s\": %.2f, \"evals_per_s\": %.2f, \"gflops\": %.3f, \"sample_gflops\": %.3f, "
              "\"sgemm_gflops\": %.3f, \"blas_core\": \"%s\", \"loss_first\": %.6f, \"loss_last\": %.6f}\n",
              c, B, S, T, gaf_toy_cnn_get_params (net)->size, train_steps / train_s, train_steps * B / train_s,
              evals * S / sample_s, train_flops / train_s * 1e-9, sample_flops / sample_s * 1e-9, sgemm,
              gaf_blas_core_name (), loss_first, loss);
    }
  else
    {
      printf ("toy CNN, c = %d, %" G_GSIZE_FORMAT " parameters, %d threads (%s)\n", c,
              gaf_toy_cnn_get_params (net)->size, T, gaf_blas_core_name ());
      printf ("  training (batch %d): %.2f steps/s, %.1f GFLOP/s\n", B, train_steps / train_s,
              train_flops / train_s * 1e-9);
      printf ("  sampling (batch %d): %.0f sequence-evaluations/s, %.1f GFLOP/s\n", S, evals * S / sample_s,
              sample_flops / sample_s * 1e-9);
      printf ("  sgemm 1024^3: %.1f GFLOP/s\n", sgemm);
    }
  return 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

static void
usage (FILE *f)
{
  fprintf (f,
           "Usage: gaflow-cli COMMAND [OPTIONS]\n\n"
           "Commands:\n"
           "  sweep   KL against the number of classes (class-scaling benchmark)\n"
           "  plot    draw the class-scaling plot of a sweep's CSV again\n"
           "  bench   engine throughput (training steps/s, sampling evaluations/s; --model toy-cnn or unet)\n"
           "  train   train a flow on a joint distribution (table, 2-D density, text) and evaluate it;\n"
           "          on image label maps (--data fashion-mnist:..., scenes:..., folder:DIR) with checkpoints\n"
           "  sample  train a flow on a joint distribution and write samples; with --checkpoint, sample a\n"
           "          trained image model (grid PNG, soft frames, label maps, quality statistics)\n"
           "  eval    joint KL, marginal KL and mutual information of a file of samples\n"
           "  likelihood  bits/dim of label maps under a trained flow; out-of-distribution ROC AUC\n\n"
           "Run 'gaflow-cli COMMAND --help' for the options of a command.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2)
    {
      usage (stderr);
      return 2;
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || g_str_equal (argv[1], "help"))
    {
      usage (stdout);
      return 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("gaflow-cli %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "sweep"))
    return cmd_sweep (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "plot"))
    return cmd_plot (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "bench"))
    return cmd_bench (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "train"))
    return gaf_cli_image_wanted ("train", argc - 1, argv + 1) ? gaf_cli_image_train (argc - 1, argv + 1)
                                                               : gaf_cli_train (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "sample"))
    return gaf_cli_image_wanted ("sample", argc - 1, argv + 1) ? gaf_cli_image_sample (argc - 1, argv + 1)
                                                                : gaf_cli_sample (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "eval"))
    return gaf_cli_eval (argc - 1, argv + 1);
  if (g_str_equal (argv[1], "likelihood"))
    return gaf_cli_likelihood (argc - 1, argv + 1);
  return gaf_cli_fail ("unknown command '%s' (try 'gaflow-cli --help')", argv[1]);
}
