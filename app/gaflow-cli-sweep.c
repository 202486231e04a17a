/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gaf-engine.h"
#include "gaf-scaling-plot.h"
#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-mpi.h"

/* gaflow-cli sweep | plot: the class-scaling benchmark (docs/method.md §5) and its plot. */

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
  if (gaf_cli_mpi_size () > 1)
    fprintf (stderr, "process %d: ", gaf_cli_mpi_rank ());
  fprintf (stderr, "%s c=%d: KL %.5f (uniform %.5f, floor %.5f), train %.1f s, sample %.1f s\n", row->method,
           row->classes, row->kl, row->kl_uniform, row->kl_floor, row->train_seconds, row->sample_seconds);
}

/* ---- the sweep over MPI processes --------------------------------------------------------------- */

/* What a process sends rank 0 for each item it ran (every process runs the same binary, so the struct's
 * bytes mean the same on all). */
typedef struct {
  guint       item;
  GafSweepRow row;
} ItemRow;

/* Under MPI (docs/scaling-out.md): the items dealt over the processes, largest class count first
 * (gaf_sweep_deal); each process runs its own with the same seeds a one-process sweep uses (each item's
 * target, network and streams derive from the seed and c alone), and rank 0 gathers the rows into
 * st->rows in the one-process order. */
static gboolean
sweep_distributed (const GafSweepConfig *cfg, SweepState *st, GError **error)
{
  int rank = gaf_cli_mpi_rank (), size = gaf_cli_mpi_size ();
  guint n_methods = cfg->methods->len, n_items = cfg->classes->len * n_methods;
  g_autoptr(GArray) mine = gaf_sweep_deal (cfg, size, rank);
  g_autoptr(GByteArray) out = g_byte_array_new ();
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree ItemRow *ordered = NULL;

  if (!gaf_sweep_config_check (cfg, error))
    return FALSE;
  for (guint k = 0; k < mine->len; k++)
    {
      ItemRow ir;
      memset (&ir, 0, sizeof ir);
      ir.item = g_array_index (mine, guint, k);
      if (!gaf_sweep_run_method (cfg, g_array_index (cfg->methods, GafMethod, ir.item % n_methods),
                                 g_array_index (cfg->classes, int, ir.item / n_methods), ir.item, n_items, &ir.row,
                                 sweep_progress, st, NULL, error))
        return FALSE;
      sweep_row (&ir.row, st);
      g_byte_array_append (out, (const guint8 *) &ir, sizeof ir);
    }
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&out));
  if (!gaf_cli_mpi_gather (bytes, &all, error))
    return FALSE;
  if (rank != 0)
    return TRUE;
  ordered = g_new0 (ItemRow, MAX (n_items, 1));
  for (guint r = 0; r < all->len; r++)
    {
      gsize len;
      const ItemRow *got = g_bytes_get_data (g_ptr_array_index (all, r), &len);
      for (gsize k = 0; len % sizeof (ItemRow) == 0 && k < len / sizeof (ItemRow); k++)
        if (got[k].item < n_items && ordered[got[k].item].row.classes == 0)
          ordered[got[k].item] = got[k];
    }
  g_array_set_size (st->rows, 0);
  for (guint i = 0; i < n_items; i++)
    {
      if (ordered[i].row.classes == 0)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "the row of item %u (%s, c = %d) never arrived", i,
                       gaf_method_to_string (g_array_index (cfg->methods, GafMethod, i % n_methods)),
                       g_array_index (cfg->classes, int, i / n_methods));
          return FALSE;
        }
      g_array_append_val (st->rows, ordered[i].row);
    }
  return TRUE;
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

/* The decoding rule and the network evaluations per sample of each method in the table (the CSV keeps its
 * documented columns). */
static void
print_decoding (const GafSweepConfig *cfg)
{
  printf ("decoding (network evaluations per sample):\n");
  for (guint i = 0; i < cfg->methods->len; i++)
    {
      GafMethod m = g_array_index (cfg->methods, GafMethod, i);
      GafSamplerConfig scfg;
      GafBaselineConfig bcfg;
      guint evals = gaf_sweep_method_sampling (cfg, m, &scfg, &bcfg);
      printf ("  %-9s %4u  %s\n", gaf_method_to_string (m), evals, gaf_method_decoding (m));
    }
}

/* ---- sweep ------------------------------------------------------------------------------------ */

int
gaf_cli_cmd_sweep (int argc, char **argv)
{
  g_autofree char *method = NULL, *classes = NULL, *steps = NULL, *batch = NULL, *lr = NULL;
  g_autofree char *samples = NULL, *integrator = NULL, *step_size = NULL, *t_end = NULL;
  g_autofree char *lambda = NULL, *time_rate = NULL, *seed = NULL, *threads = NULL, *csv = NULL;
  g_autofree char *time_scale = NULL, *chunk = NULL, *ema = NULL, *schedule = NULL, *input_scale = NULL;
  gboolean no_position_bias = FALSE;
  g_autofree char *baseline_time_scale = NULL, *head = NULL, *evals = NULL, *kappa = NULL;
  g_auto(GStrv) plot = NULL;
  GOptionEntry entries[] = {
    { "method", 0, 0, G_OPTION_ARG_STRING, &method,
      "Methods, comma separated, from gaf, dirichlet, linear, sphere, masked, uniform (default gaf)", "LIST" },
    { "evals", 0, 0, G_OPTION_ARG_STRING, &evals,
      "Network evaluations per sample for every method (default: each method's own: GAF T/h, linear and Dirichlet FM 19, sphere FM 100, jump flows 20)", "N" },
    { "kappa", 0, 0, G_OPTION_ARG_STRING, &kappa, "Jump flows' scheduler: linear (kappa = t, default), poly[:A] (t^A, A = 2) or cosine", "NAME" },
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
  guint64 evals_v = 0;
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
      (lambda && !gaf_cli_parse_double ("--lambda", lambda, GAF_PATH_LAMBDA_MIN, GAF_PATH_LAMBDA_MAX, &cfg.train.path.lambda,
                                       &error)) ||
      (time_rate && !gaf_cli_parse_double ("--time-rate", time_rate, GAF_PATH_TIME_RATE_MIN, GAF_PATH_TIME_RATE_MAX,
                                          &cfg.train.path.time_rate, &error)) ||
      (time_scale && !gaf_cli_parse_double ("--time-scale", time_scale, 1e-6, 1e6, &cfg.time_scale, &error)) ||
      (input_scale && !gaf_cli_parse_double ("--input-scale", input_scale, 0.0, 1e6, &cfg.input_scale, &error)) ||
      (baseline_time_scale && !gaf_cli_parse_double ("--baseline-time-scale", baseline_time_scale, 0.0, 1e6,
                                             &cfg.baseline_time_scale, &error)) ||
      (ema && !gaf_cli_parse_double ("--ema", ema, 0.0, 0.999999, &cfg.train.ema_decay, &error)) ||
      (seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &cfg.seed, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &n_threads, &error)) ||
      (chunk && !gaf_cli_parse_int ("--chunk", chunk, 1, 1 << 20, &cfg.sample_chunk, &error)) ||
      (evals && !gaf_cli_parse_u64 ("--evals", evals, 1, 1000000, &evals_v, &error)) ||
      (kappa && !gaf_cli_parse_kappa (kappa, &cfg.baseline.jump, &error)))
    goto out_fail;
  cfg.evals = (guint) evals_v;
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
  /* Under MPI only rank 0 draws the progress bar, prints the table and writes files. */
  st.tty = gaf_cli_mpi_is_root () && isatty (fileno (stderr));
  st.rows = rows;
  st.methods = cfg.methods;
  if (gaf_cli_mpi_is_root ())
    fprintf (stderr, "sweep: %u class counts x %u methods, %" G_GUINT64_FORMAT " steps, batch %d, %" G_GUINT64_FORMAT
             " samples, %s h=%g T=%g, %d threads x %d processes, toy CNN%s%s\n", cfg.classes->len, cfg.methods->len,
             cfg.steps, cfg.train.batch, cfg.samples, gaf_integrator_to_string (cfg.sampler.integrator),
             cfg.sampler.step_size, cfg.sampler.t_end, n_threads, gaf_cli_mpi_size (),
             cfg.position_bias ? " + per-position output bias" : " (reference)",
             cfg.posterior ? ", GAF affinity in the posterior form" : ", GAF affinity = network output (reference)");
  if (gaf_cli_mpi_size () > 1 ? !sweep_distributed (&cfg, &st, &error)
                              : !gaf_sweep_run (&cfg, sweep_row, sweep_progress, &st, NULL, &error))
    goto out_fail;
  if (!gaf_cli_mpi_is_root ())
    {
      gaf_sweep_config_clear (&cfg);
      return 0;
    }

  print_table (rows);
  print_decoding (&cfg);
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

  if (!gaf_file_read_all (path, "sweep CSV", G_GUINT64_CONSTANT (64) << 20, &text, NULL, error))
    return FALSE;
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
int
gaf_cli_cmd_plot (int argc, char **argv)
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
