/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gaf-engine.h"
#include "gaf-histogram-plot.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-commands.h"

/* gaflow-cli likelihood --checkpoint FILE --data SPEC [--ood SPEC] ...
 *
 * Loads a trained flow (EMA weights when the checkpoint has them), checks that the data's classes and
 * map size are the model's, and estimates log p(alpha) of the first N maps with gaf_likelihood_evaluate
 * (rounding model by importance sampling over the CNF, or the non-rounding model). With --ood it scores
 * N maps of a second set the same way and reports the ROC AUC of telling them apart by log-likelihood
 * (in-distribution positive by the higher log-likelihood), with the two bits/dim histograms in --plot. */

/* The documented CSV columns (tests/test-cli-likelihood.sh checks them). */
#define LIKELIHOOD_CSV_HEADER "set,index,log_p,log_p_se,bits_per_dim,hit_fraction"

/* Exact divergence (D reverse passes per field evaluation) up to this D = n (c - 1), else Hutchinson. */
#define EXACT_DIVERGENCE_MAX_DIM 64

/* ---- data specs ------------------------------------------------------------------------------- */

/* Whether the option list of a fashion-mnist or scenes spec (text after the colon) sets `key`. A
 * fashion-mnist dir= takes the rest of the text, so the search stops there. */
static gboolean
spec_has_key (const char *options, const char *key)
{
  g_auto(GStrv) items = g_strsplit (options, ",", -1);
  gsize len = strlen (key);

  for (guint i = 0; items[i] != NULL; i++)
    {
      if (g_str_has_prefix (items[i], "dir="))
        return FALSE;
      if (strncmp (items[i], key, len) == 0 && items[i][len] == '=')
        return TRUE;
    }
  return FALSE;
}

/* The spec that is evaluated: the test split unless the spec names a split, and no more than `limit`
 * maps made (the first maps of a Fashion-MNIST or scene set are the same whatever the count, also with
 * shuffle=). Folders are read as they are. */
static char *
evaluation_spec (const char *spec, guint limit)
{
  const char *colon = strchr (spec, ':');
  g_autofree char *kind = colon ? g_strndup (spec, colon - spec) : g_strdup (spec);
  const char *rest = colon ? colon + 1 : "";
  gboolean fashion = g_str_equal (kind, "fashion-mnist"), scenes = g_str_equal (kind, "scenes");
  g_autoptr(GString) extra = g_string_new (NULL);

  if (!fashion && !scenes)
    return g_strdup (spec);
  if (!spec_has_key (rest, "split"))
    g_string_append (extra, "split=test,");
  if (fashion && !spec_has_key (rest, "limit"))
    g_string_append_printf (extra, "limit=%u,", limit);
  if (scenes && !spec_has_key (rest, "count"))
    g_string_append_printf (extra, "count=%u,", limit);
  if (extra->len == 0)
    return g_strdup (spec);
  if (*rest == '\0')
    g_string_truncate (extra, extra->len - 1);
  return g_strdup_printf ("%s:%s%s", kind, extra->str, rest);
}

static GafDataset *
load_data (const char *opt, const char *spec, guint limit, GError **error)
{
  g_autofree char *full = evaluation_spec (spec, limit);
  g_autoptr(GError) local = NULL;
  GafDataset *ds = gaf_dataset_new_from_spec (full, &local);

  if (ds == NULL)
    {
      /* A mistake in the user's spec is reported in the user's words, not in the completed spec's. */
      if (!g_str_equal (full, spec))
        {
          g_autoptr(GafDataset) plain = NULL;
          g_autoptr(GError) again = NULL;
          plain = gaf_dataset_new_from_spec (spec, &again);
          if (plain == NULL)
            g_set_error (error, GAF_ERROR, again->code, "%s: %s", opt, again->message);
          else
            g_set_error (error, GAF_ERROR, local->code, "%s: %s", opt, local->message);
        }
      else
        g_set_error (error, GAF_ERROR, local->code, "%s: %s", opt, local->message);
      return NULL;
    }
  return ds;
}

/* ---- the model and its shape ------------------------------------------------------------------ */

typedef struct {
  int n, c;
  int height, width;   /* 0 when the checkpoint does not say */
} ModelShape;

static gboolean
model_shape (GKeyFile *kf, GafNet *net, ModelShape *shape, GError **error)
{
  shape->n = net->n;
  shape->c = net->out_channels;
  shape->height = shape->width = 0;
  /* An image network names its size in [model]; a sequence network trained on maps has it in [data]. */
  if (g_key_file_has_key (kf, "model", "height", NULL) && g_key_file_has_key (kf, "model", "width", NULL))
    return gaf_keyfile_get_int (kf, "model", "height", &shape->height, error) &&
           gaf_keyfile_get_int (kf, "model", "width", &shape->width, error);
  if (g_key_file_has_key (kf, "data", "height", NULL) && g_key_file_has_key (kf, "data", "width", NULL))
    return gaf_keyfile_get_int (kf, "data", "height", &shape->height, error) &&
           gaf_keyfile_get_int (kf, "data", "width", &shape->width, error);
  return TRUE;
}

static gboolean
check_data_shape (const char *opt, const GafDataset *ds, const ModelShape *m, const char *ckpt, GError **error)
{
  gsize pixels = gaf_dataset_pixels (ds);

  if (ds->c != m->c)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: '%s' has %d classes but the model in '%s' has %d", opt, ds->name, ds->c, ckpt, m->c);
      return FALSE;
    }
  if (m->height > 0 && (ds->height != m->height || ds->width != m->width))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: '%s' has maps of %d x %d pixels but the model in '%s' is for %d x %d", opt, ds->name,
                   ds->width, ds->height, ckpt, m->width, m->height);
      return FALSE;
    }
  if (pixels != (gsize) m->n)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "%s: '%s' has maps of %d x %d = %" G_GSIZE_FORMAT " pixels but the model in '%s' has %d "
                   "variables", opt, ds->name, ds->width, ds->height, pixels, ckpt, m->n);
      return FALSE;
    }
  return TRUE;
}

/* ---- progress --------------------------------------------------------------------------------- */

typedef struct {
  gboolean    bar;          /* stderr is a terminal: a progress bar */
  gboolean    lines;        /* stdout is not a terminal: a line per map */
  const char *set;          /* "data" or "ood" */
  guint       n_items;      /* maps in the current set */
  guint       item;         /* current map of the set (rounding: one at a time) */
  gboolean    whole_set;    /* the engine runs the whole set at once (non-rounding) */
  guint       done_before;  /* maps of earlier sets */
  guint       total;        /* maps of all sets */
  double      sum_bpd;      /* running mean of the current set's finite bits/dim */
  guint       n_finite;
  gint64      start_us, last_us;
} Progress;

static void
draw_bar (Progress *st, double frac_of_set)
{
  gint64 now = g_get_monotonic_time ();
  double overall = (st->done_before + frac_of_set * st->n_items) / MAX (st->total, 1);
  double elapsed = (now - st->start_us) * 1e-6;
  char bar[31], eta[32] = "";
  int filled = (int) (CLAMP (overall, 0.0, 1.0) * 30.0 + 0.5);

  for (int i = 0; i < 30; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[30] = '\0';
  if (overall > 0.01)
    {
      int left = (int) (elapsed * (1.0 - overall) / overall + 0.5);
      g_snprintf (eta, sizeof eta, ", ETA %d:%02d", left / 60, left % 60);
    }
  if (st->n_finite > 0)
    fprintf (stderr, "\r[%s] %s %u/%u, mean %.4f bits/dim, %.0f s%s   ", bar, st->set,
             MIN (st->item + 1, st->n_items), st->n_items, st->sum_bpd / st->n_finite, elapsed, eta);
  else
    fprintf (stderr, "\r[%s] %s %u/%u, %.0f s%s                        ", bar, st->set,
             MIN (st->item + 1, st->n_items), st->n_items, elapsed, eta);
  fflush (stderr);
}

static void
engine_progress (const GafProgress *p, gpointer user_data)
{
  Progress *st = user_data;
  gint64 now = g_get_monotonic_time ();
  double frac;

  if (!st->bar || (now - st->last_us < 100000 && p->done != p->total))
    return;
  st->last_us = now;
  frac = p->total ? (double) p->done / p->total : 0.0;
  draw_bar (st, st->whole_set ? frac : (st->item + frac) / MAX (st->n_items, 1));
}

static void
clear_bar (Progress *st)
{
  if (st->bar)
    {
      fprintf (stderr, "\r%-100s\r", "");
      fflush (stderr);
    }
}

static void
item_line (Progress *st, guint index, const GafLikelihoodItem *it)
{
  if (!st->lines)
    return;
  printf ("%s %u/%u: log p %.4f +- %.4f nats, %.5f bits/dim, hit fraction %.3f\n", st->set, index + 1,
          st->n_items, it->log_p, it->log_p_se, it->bits_per_dim, it->hit_fraction);
  fflush (stdout);
}

/* ---- evaluation ------------------------------------------------------------------------------- */

typedef struct {
  guint64 evals, solves, steps;
  double  seconds;
} RunStats;

/* log p of `count` maps into items. Rounding model: one map at a time (the estimator treats maps
 * independently; the same random stream as one call for all), so each finishes with its line. The
 * non-rounding model scores every map with the same K forward samples, so it runs as one call. */
static gboolean
evaluate_set (GafNet *net, const GafLikelihoodConfig *cfg, GafRng *rng, const guint16 *labels, guint count,
              GafLikelihoodItem *items, Progress *st, RunStats *rs, GError **error)
{
  gint64 t0 = g_get_monotonic_time ();
  GafLikelihoodSummary sum;

  st->n_items = count;
  st->sum_bpd = 0.0;
  st->n_finite = 0;
  st->item = 0;
  st->whole_set = cfg->model == GAF_LIKELIHOOD_NON_ROUNDING;
  if (st->whole_set)
    {
      if (!gaf_likelihood_evaluate (net, cfg, rng, labels, count, items, &sum, engine_progress, st, NULL, error))
        return FALSE;
      rs->evals += sum.evals;
      rs->solves += sum.solves;
      rs->steps += sum.steps;
      clear_bar (st);
      for (guint i = 0; i < count; i++)
        item_line (st, i, &items[i]);
    }
  else
    for (guint i = 0; i < count; i++)
      {
        st->item = i;
        if (!gaf_likelihood_evaluate (net, cfg, rng, labels + (gsize) i * net->n, 1, &items[i], &sum,
                                      engine_progress, st, NULL, error))
          {
            clear_bar (st);
            return FALSE;
          }
        rs->evals += sum.evals;
        rs->solves += sum.solves;
        rs->steps += sum.steps;
        if (isfinite (items[i].bits_per_dim))
          {
            st->sum_bpd += items[i].bits_per_dim;
            st->n_finite++;
          }
        if (st->lines)
          {
            clear_bar (st);
            item_line (st, i, &items[i]);
          }
      }
  clear_bar (st);
  st->done_before += count;
  rs->seconds += (g_get_monotonic_time () - t0) * 1e-6;
  return TRUE;
}

typedef struct {
  guint  count, n_finite;
  double mean_bpd, se_bpd;          /* over every map (inf when one is infinite) */
  double finite_bpd, finite_se;     /* over the maps with a finite value */
  double mean_log_p, finite_log_p;
  double hit_fraction;
} SetSummary;

static void
mean_se (const GafLikelihoodItem *items, guint count, gboolean finite_only, double *mean, double *se,
         double *mean_log_p, guint *used)
{
  double s = 0.0, s2 = 0.0, sl = 0.0;
  guint k = 0;

  for (guint i = 0; i < count; i++)
    if (!finite_only || isfinite (items[i].bits_per_dim))
      {
        s += items[i].bits_per_dim;
        sl += items[i].log_p;
        k++;
      }
  *used = k;
  *mean = k ? s / k : NAN;
  *mean_log_p = k ? sl / k : NAN;
  if (k >= 2 && isfinite (*mean))
    {
      for (guint i = 0; i < count; i++)
        if (!finite_only || isfinite (items[i].bits_per_dim))
          s2 += (items[i].bits_per_dim - *mean) * (items[i].bits_per_dim - *mean);
      *se = sqrt (s2 / (k - 1) / k);
    }
  else
    *se = NAN;
}

static void
summarize (const GafLikelihoodItem *items, guint count, SetSummary *out)
{
  guint used;
  double h = 0.0;

  out->count = count;
  mean_se (items, count, FALSE, &out->mean_bpd, &out->se_bpd, &out->mean_log_p, &used);
  mean_se (items, count, TRUE, &out->finite_bpd, &out->finite_se, &out->finite_log_p, &out->n_finite);
  for (guint i = 0; i < count; i++)
    h += items[i].hit_fraction;
  out->hit_fraction = count ? h / count : NAN;
}

static void
print_summary (const char *what, const GafDataset *ds, guint count, const SetSummary *s, const RunStats *rs)
{
  printf ("%s: %s\n", what, ds->name);
  printf ("  maps: %u of %u, %d x %d pixels, %d classes\n", count, ds->count, ds->width, ds->height, ds->c);
  if (s->n_finite == count)
    {
      printf ("  bits/dim: %.5f +- %.5f (mean +- standard error over the maps)\n", s->mean_bpd, s->se_bpd);
      printf ("  log-likelihood: %.4f nats per map (mean)\n", s->mean_log_p);
    }
  else
    {
      printf ("  bits/dim: inf (%u of %u maps had no proposal rounding to them: their likelihood estimate is 0; "
              "raise --proposals)\n", count - s->n_finite, count);
      if (s->n_finite > 0)
        printf ("  bits/dim over the %u other maps: %.5f +- %.5f; log-likelihood %.4f nats per map\n", s->n_finite,
                s->finite_bpd, s->finite_se, s->finite_log_p);
    }
  printf ("  hit fraction: %.4f (mean share of proposals that round to the map)\n", s->hit_fraction);
  printf ("  time: %.2f s (%.3f s per map), %" G_GUINT64_FORMAT " network evaluations, %" G_GUINT64_FORMAT
          " CNF solves, %" G_GUINT64_FORMAT " Dormand-Prince steps\n", rs->seconds, rs->seconds / MAX (count, 1),
          rs->evals, rs->solves, rs->steps);
}

static void
csv_rows (GString *out, const char *set, const GafLikelihoodItem *items, guint count)
{
  for (guint i = 0; i < count; i++)
    {
      char lp[G_ASCII_DTOSTR_BUF_SIZE], se[G_ASCII_DTOSTR_BUF_SIZE], bpd[G_ASCII_DTOSTR_BUF_SIZE];
      char hit[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd (lp, sizeof lp, "%.9g", items[i].log_p);
      g_ascii_formatd (se, sizeof se, "%.9g", items[i].log_p_se);
      g_ascii_formatd (bpd, sizeof bpd, "%.9g", items[i].bits_per_dim);
      g_ascii_formatd (hit, sizeof hit, "%.6g", items[i].hit_fraction);
      g_string_append_printf (out, "%s,%u,%s,%s,%s,%s\n", set, i, lp, se, bpd, hit);
    }
}

static double *
bpd_values (const GafLikelihoodItem *items, guint count)
{
  double *v = g_new (double, MAX (count, 1));

  for (guint i = 0; i < count; i++)
    v[i] = items[i].bits_per_dim;
  return v;
}

/* ---- the command ------------------------------------------------------------------------------ */

int
gaf_cli_cmd_likelihood (int argc, char **argv)
{
  g_autofree char *checkpoint = NULL, *data = NULL, *ood = NULL, *limit_s = NULL, *proposals = NULL;
  g_autofree char *divergence = NULL, *probes = NULL, *probe = NULL, *rtol = NULL, *atol = NULL;
  g_autofree char *t_end = NULL, *seed_s = NULL, *threads = NULL, *csv = NULL, *plot = NULL, *precision = NULL;
  gboolean no_rounding = FALSE, no_ema = FALSE;
  GOptionEntry entries[] = {
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint, "A checkpoint written by 'gaflow-cli train'", "FILE" },
    { "data", 0, 0, G_OPTION_ARG_STRING, &data,
      "Label maps to score (test split unless the spec says split=train): fashion-mnist:..., scenes:..., "
      "folder:DIR", "SPEC" },
    { "limit", 0, 0, G_OPTION_ARG_STRING, &limit_s, "Score the first N maps (default 100)", "N" },
    { "proposals", 0, 0, G_OPTION_ARG_STRING, &proposals,
      "Importance samples K per map (non-rounding: forward samples) (default 100)", "K" },
    { "divergence", 0, 0, G_OPTION_ARG_STRING, &divergence,
      "exact or hutchinson (default: exact when n (c - 1) <= 64)", "NAME" },
    { "probes", 0, 0, G_OPTION_ARG_STRING, &probes, "Hutchinson probes per solve (default 1)", "M" },
    { "probe", 0, 0, G_OPTION_ARG_STRING, &probe, "Hutchinson probe: rademacher (default) or gaussian", "NAME" },
    { "rtol", 0, 0, G_OPTION_ARG_STRING, &rtol, "Dormand-Prince relative tolerance (default 1e-2)", "R" },
    { "atol", 0, 0, G_OPTION_ARG_STRING, &atol, "Dormand-Prince absolute tolerance (default 1e-2)", "A" },
    { "t-end", 0, 0, G_OPTION_ARG_STRING, &t_end,
      "Flow end time T (default: the checkpoint's [sample] t_end, else 10)", "T" },
    { "no-rounding", 0, 0, G_OPTION_ARG_NONE, &no_rounding,
      "The non-rounding model E[prod_i softmax(V_i)_alpha_i] instead of P[argmax V = alpha]", NULL },
    { "no-ema", 0, 0, G_OPTION_ARG_NONE, &no_ema, "Use the last weights, not the EMA weights", NULL },
    { "ood", 0, 0, G_OPTION_ARG_STRING, &ood,
      "A second set (same classes and size) to tell apart by log-likelihood: prints the ROC AUC", "SPEC" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot, "Histograms of bits/dim to FILE.png or FILE.svg", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Per-map results: " LIKELIHOOD_CSV_HEADER, "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed_s, "Random seed (default 1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "Engine threads (default 2)", "N" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision,
      "Products of the evaluations without gradients (the flow's, the proposals'): float, or bf16 (UNet, "
      "CPUs with AVX-512 BF16) (default float)", "NAME" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- bits/dim of label maps, out-of-distribution detection");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GafDataset) ods = NULL;
  g_autofree GafLikelihoodItem *items = NULL;
  g_autofree GafLikelihoodItem *oitems = NULL;
  GafLikelihoodConfig cfg;
  GKeyFile *kf;
  ModelShape shape;
  Progress st = { 0 };
  RunStats rs = { 0 }, ors = { 0 };
  SetSummary sum, osum;
  GafRng rng;
  guint64 seed = 1, K = 100, M = 0;
  int limit = 100, n_threads = 2, D;
  guint count, ocount = 0;
  gboolean have_ema, divergence_given;
  GafPrecision precision_v = GAF_PRECISION_FLOAT;
  double auc = NAN;
  const char *div_name;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("likelihood: unexpected argument '%s'", argv[1]);
  if (checkpoint == NULL)
    return gaf_cli_fail ("likelihood: --checkpoint FILE is required");
  if (data == NULL)
    return gaf_cli_fail ("likelihood: --data SPEC is required");

  gaf_likelihood_config_init (&cfg);
  divergence_given = divergence != NULL;
  if ((limit_s && !gaf_cli_parse_int ("--limit", limit_s, 1, 100000000, &limit, &error)) ||
      (proposals && !gaf_cli_parse_u64 ("--proposals", proposals, 1, 100000000, &K, &error)) ||
      (probes && !gaf_cli_parse_u64 ("--probes", probes, 1, 100000, &M, &error)) ||
      (rtol && !gaf_cli_parse_double ("--rtol", rtol, 1e-12, 1.0, &cfg.dopri.rtol, &error)) ||
      (atol && !gaf_cli_parse_double ("--atol", atol, 1e-12, 1.0, &cfg.dopri.atol, &error)) ||
      (t_end && !gaf_cli_parse_double ("--t-end", t_end, 1e-6, 1e6, &cfg.t_end, &error)) ||
      (seed_s && !gaf_cli_parse_u64 ("--seed", seed_s, 0, G_MAXUINT64, &seed, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &n_threads, &error)) ||
      (precision && !gaf_precision_from_string (precision, &precision_v, &error)))
    return gaf_cli_fail ("%s", error->message);
  cfg.proposals = (guint) K;
  if (M > 0)
    cfg.probes = (guint) M;
  if (divergence != NULL)
    {
      if (g_str_equal (divergence, "exact"))
        cfg.divergence = GAF_DIVERGENCE_EXACT;
      else if (g_str_equal (divergence, "hutchinson"))
        cfg.divergence = GAF_DIVERGENCE_HUTCHINSON;
      else
        return gaf_cli_fail ("--divergence: unknown estimator '%s' (expected exact or hutchinson)", divergence);
    }
  if (probe != NULL)
    {
      if (g_str_equal (probe, "rademacher"))
        cfg.probe = GAF_PROBE_RADEMACHER;
      else if (g_str_equal (probe, "gaussian"))
        cfg.probe = GAF_PROBE_GAUSSIAN;
      else
        return gaf_cli_fail ("--probe: unknown probe '%s' (expected rademacher or gaussian)", probe);
    }
  if (cfg.divergence == GAF_DIVERGENCE_EXACT && divergence_given && (probes != NULL || probe != NULL))
    return gaf_cli_fail ("likelihood: --probes and --probe are for --divergence hutchinson");
  if (no_rounding)
    {
      cfg.model = GAF_LIKELIHOOD_NON_ROUNDING;
      if (divergence != NULL || probes != NULL || probe != NULL || rtol != NULL || atol != NULL)
        return gaf_cli_fail ("likelihood: --divergence, --probes, --probe, --rtol and --atol are for the rounding "
                             "model (the non-rounding model samples forward with RK4)");
    }
  if (csv && !gaf_cli_check_output_path ("--csv", csv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (plot)
    {
      GafScalingPlotFormat format;
      g_autoptr(GError) local = NULL;
      if (!gaf_scaling_plot_format_from_path (plot, &format, &local))
        return gaf_cli_fail ("--plot: %s", local->message);
      if (!gaf_cli_check_output_path ("--plot", plot, &error))
        return gaf_cli_fail ("%s", error->message);
    }

  /* The model: configuration, weights (EMA when present), shape. */
  ck = gaf_checkpoint_load (checkpoint, &error);
  if (ck == NULL)
    return gaf_cli_fail ("--checkpoint: %s", error->message);
  kf = gaf_checkpoint_get_config (ck);
  net = gaf_model_new_from_keyfile (kf, &error);
  if (net == NULL)
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  if (!gaf_net_set_precision (net, precision_v, &error))
    return gaf_cli_fail ("--precision: %s", error->message);
  if (!gaf_checkpoint_restore (ck, net->params, NULL, NULL, &error))
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  have_ema = gaf_checkpoint_has_ema (ck) && !no_ema;
  if (have_ema)
    gaf_params_swap_ema (net->params);
  if (net->in_channels != net->out_channels || net->out_channels < 2)
    return gaf_cli_fail ("--checkpoint: %s: the network maps %d to %d channels; a flow on labelings has "
                         "c >= 2 classes in and out", checkpoint, net->in_channels, net->out_channels);
  if (!model_shape (kf, net, &shape, &error))
    return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
  if (t_end == NULL)
    {
      cfg.t_end = 10.0;
      if (!gaf_keyfile_get_double (kf, "sample", "t_end", &cfg.t_end, &error))
        return gaf_cli_fail ("--checkpoint: %s: %s", checkpoint, error->message);
    }
  D = shape.n * (shape.c - 1);
  if (!divergence_given)
    cfg.divergence = D <= EXACT_DIVERGENCE_MAX_DIM ? GAF_DIVERGENCE_EXACT : GAF_DIVERGENCE_HUTCHINSON;
  if (!gaf_likelihood_config_check (&cfg, &error))
    return gaf_cli_fail ("likelihood: %s", error->message);

  /* The data, and the second set. */
  ds = load_data ("--data", data, (guint) limit, &error);
  if (ds == NULL || !check_data_shape ("--data", ds, &shape, checkpoint, &error))
    return gaf_cli_fail ("%s", error->message);
  if (ood != NULL)
    {
      ods = load_data ("--ood", ood, (guint) limit, &error);
      if (ods == NULL || !check_data_shape ("--ood", ods, &shape, checkpoint, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  count = MIN ((guint) limit, ds->count);
  ocount = ods ? MIN ((guint) limit, ods->count) : 0;

  gaf_blas_set_threads (n_threads);
  gaf_rng_init (&rng, seed);
  div_name = cfg.model == GAF_LIKELIHOOD_NON_ROUNDING ? "none (forward samples)"
             : cfg.divergence == GAF_DIVERGENCE_EXACT ? "exact" : "hutchinson";
  printf ("model: %s, %s network, %d variables x %d classes, %" G_GSIZE_FORMAT " parameters, step %"
          G_GUINT64_FORMAT ", %s weights\n", checkpoint, net->klass->name, shape.n, shape.c,
          gaf_checkpoint_get_param_count (ck), gaf_checkpoint_get_step (ck), have_ema ? "EMA" : "last");
  fflush (stdout);

  st.bar = isatty (fileno (stderr));
  st.lines = !isatty (fileno (stdout));
  st.total = count + ocount;
  st.start_us = g_get_monotonic_time ();
  items = g_new0 (GafLikelihoodItem, count);
  st.set = "data";
  if (!evaluate_set (net, &cfg, &rng, ds->labels, count, items, &st, &rs, &error))
    return gaf_cli_fail ("likelihood: %s", error->message);
  if (ods != NULL)
    {
      oitems = g_new0 (GafLikelihoodItem, ocount);
      st.set = "ood";
      if (!evaluate_set (net, &cfg, &rng, ods->labels, ocount, oitems, &st, &ors, &error))
        return gaf_cli_fail ("likelihood: %s", error->message);
    }

  summarize (items, count, &sum);
  print_summary ("data", ds, count, &sum, &rs);
  if (ods != NULL)
    {
      g_autofree double *a = g_new (double, count), *b = g_new (double, ocount);

      summarize (oitems, ocount, &osum);
      print_summary ("ood", ods, ocount, &osum, &ors);
      for (guint i = 0; i < count; i++)
        a[i] = items[i].log_p;
      for (guint i = 0; i < ocount; i++)
        b[i] = oitems[i].log_p;
      auc = gaf_roc_auc (a, count, b, ocount);
      printf ("ROC AUC: %.4f (data positive by the higher log-likelihood; %u against %u maps)\n", auc, count, ocount);
    }
  printf ("settings: %s model, T = %g, K = %u %s, ", gaf_likelihood_model_to_string (cfg.model), cfg.t_end,
          cfg.proposals, cfg.model == GAF_LIKELIHOOD_ROUNDING ? "proposals" : "forward samples");
  if (cfg.model == GAF_LIKELIHOOD_ROUNDING)
    {
      printf ("coverage P = %g, corner eps = %g, divergence %s", cfg.coverage, cfg.smoothing, div_name);
      if (cfg.divergence == GAF_DIVERGENCE_HUTCHINSON)
        printf (" (%u %s probe%s per solve)", cfg.probes, cfg.probe == GAF_PROBE_GAUSSIAN ? "gaussian" : "rademacher",
                cfg.probes == 1 ? "" : "s");
      printf (" for D = %d, rtol %g, atol %g, ", D, cfg.dopri.rtol, cfg.dopri.atol);
    }
  else
    printf ("%s h = %g, ", gaf_integrator_to_string (cfg.sample_integrator), cfg.sample_step);
  printf ("seed %" G_GUINT64_FORMAT ", %d threads\n", seed, n_threads);

  if (csv)
    {
      g_autoptr(GString) s = g_string_new (LIKELIHOOD_CSV_HEADER "\n");
      csv_rows (s, "data", items, count);
      if (ods != NULL)
        csv_rows (s, "ood", oitems, ocount);
      if (!g_file_set_contents (csv, s->str, s->len, &error))   /* atomic: temporary file + rename */
        return gaf_cli_fail ("--csv: %s", error->message);
    }
  if (plot)
    {
      g_autoptr(GafHistogramPlotData) pd = gaf_histogram_plot_data_new ();
      g_autofree double *va = bpd_values (items, count);
      g_autofree char *la = NULL;

      if (sum.n_finite == count)
        la = g_strdup_printf ("%s: %u maps, mean %.4f bits/dim", ds->name, count, sum.mean_bpd);
      else
        la = g_strdup_printf ("%s: %u maps", ds->name, count);
      gaf_histogram_plot_data_add_series (pd, la, NULL, va, count);
      if (ods != NULL)
        {
          g_autofree double *vb = bpd_values (oitems, ocount);
          g_autofree char *lb = NULL;

          if (osum.n_finite == ocount)
            lb = g_strdup_printf ("%s: %u maps, mean %.4f bits/dim", ods->name, ocount, osum.mean_bpd);
          else
            lb = g_strdup_printf ("%s: %u maps", ods->name, ocount);
          gaf_histogram_plot_data_add_series (pd, lb, NULL, vb, ocount);
          pd->title = g_strdup_printf ("Bits per dimension under the flow: in-distribution against "
                                       "out-of-distribution, ROC AUC %.3f", auc);
        }
      else
        pd->title = g_strdup_printf ("Bits per dimension under the flow");
      pd->note = g_strdup_printf ("%s, %s model, K = %u, divergence %s, T = %g, seed %" G_GUINT64_FORMAT,
                                  checkpoint, gaf_likelihood_model_to_string (cfg.model), cfg.proposals, div_name,
                                  cfg.t_end, seed);
      if (!gaf_histogram_plot_write (pd, plot, 900, 560, NULL, &error))
        return gaf_cli_fail ("--plot: %s", error->message);
    }
  return 0;
}
