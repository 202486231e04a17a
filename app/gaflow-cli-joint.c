/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <glib/gstdio.h>

#include "gaf-engine.h"
#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-image.h"
#include "gaflow-cli-joint.h"
#include "gaflow-cli-mpi.h"

/* gaflow-cli train | sample | eval on coupled joint distributions (docs/method.md §5 "coupled joints").
 * `train` trains, samples and evaluates in one run (with --checkpoint it also writes the trained model, for
 * the app, `export` and `field`; it does not resume from one), `sample` trains and writes the samples, and
 * `eval` scores a file of samples from any source. */

/* ---- data ------------------------------------------------------------------------------------- */

#define DATA_HELP GAF_JOINT_SPEC_HELP

/* --data SPEC through the data layer (gaf_joint_new_from_spec); --length and --alphabet fill in what a
 * text spec leaves out. */
static GafJoint *
load_data (const char *spec, int length_opt, const char *alphabet_opt, char **warning, GError **error)
{
  GafTextStats st;
  GafJoint *joint;

  if (spec == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "--data is required (" DATA_HELP ")");
      return NULL;
    }
  joint = gaf_joint_new_from_spec (spec, length_opt, alphabet_opt, &st, error);
  if (joint == NULL)
    {
      g_prefix_error (error, "--data: ");
      return NULL;
    }
  /* printed by the caller once every option has been checked: a rejected run prints one line */
  if (st.kept < st.lines)
    *warning = g_strdup_printf ("gaflow-cli: warning: %s: skipped %u of %u lines (%u of another length than %d, "
                                "%u with characters outside the alphabet)", joint->name, st.lines - st.kept,
                                st.lines, st.skipped_length, joint->n, st.skipped_alphabet);
  return joint;
}

/* ---- metrics report --------------------------------------------------------------------------- */

typedef struct {
  char           *label;
  guint64         samples;   /* 0: exact (infinitely many) */
  GafJointMetrics m;
  double          p_equal;   /* P(x1 = x2) for n = 2, NAN otherwise */
} Row;

static void
row_clear (gpointer p)
{
  g_free (((Row *) p)->label);
}

static double
p_equal (const GafJoint *j)
{
  double s = 0.0;

  if (j->n != 2)
    return NAN;
  for (guint a = 0; a < j->n_atoms; a++)
    if (j->atoms[2 * a] == j->atoms[2 * a + 1])
      s += j->p[a];
  return s;
}

static void
add_row (GArray *rows, const char *label, guint64 samples, const GafJoint *model, const GafJoint *target)
{
  Row r = { g_strdup (label), samples, { 0 }, p_equal (model) };

  gaf_joint_compare (model, target, &r.m);
  g_array_append_val (rows, r);
}

/* The reference rows: the target itself and the product of its marginals, each with the same number
 * of samples as the model, and the product of the marginals exactly when it can be listed. */
static void
add_reference_rows (GArray *rows, const GafJoint *target, guint64 count, guint64 seed)
{
  g_autofree guint16 *labels = g_new (guint16, count * target->n);
  g_autoptr(GafJoint) prod = NULL;
  GafRng rng;

  gaf_rng_init_stream (&rng, seed, 0x7a3);
  gaf_joint_sample ((gpointer) target, &rng, labels, (int) count);
  {
    g_autoptr(GafJoint) emp = gaf_joint_new_empirical (target->n, target->c, labels, count, "target");
    add_row (rows, "target sampled (floor)", count, emp, target);
  }
  gaf_rng_init_stream (&rng, seed, 0x7a4);
  gaf_joint_sample_product (target, &rng, labels, (int) count);
  {
    g_autoptr(GafJoint) emp = gaf_joint_new_empirical (target->n, target->c, labels, count, "product");
    add_row (rows, "product of marginals", count, emp, target);
  }
  prod = gaf_joint_new_product (target, NULL);
  if (prod != NULL)
    add_row (rows, "product of marginals", 0, prod, target);
}

static void
format_num (char *buf, gsize size, double v)
{
  if (isnan (v))
    g_strlcpy (buf, "-", size);
  else if (isinf (v))
    g_strlcpy (buf, "inf", size);
  else
    g_snprintf (buf, size, "%.5f", v);
}

static void
print_rows (const GafJoint *target, GArray *rows)
{
  gboolean any_outside = FALSE;

  for (guint i = 0; i < rows->len; i++)
    any_outside = any_outside || g_array_index (rows, Row, i).m.outside > 0.0;
  printf ("%-24s %9s %9s %9s %9s %9s %9s%s\n", "model", "samples", "joint_kl", "marg_kl", "marg_max", "mi",
          "p_equal", any_outside ? "   outside kl_support precision" : "");
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *r = &g_array_index (rows, Row, i);
      char kl[32], mk[32], mm[32], mi[32], pe[32], ks[32], ns[32];

      format_num (kl, sizeof kl, r->m.kl);
      format_num (mk, sizeof mk, r->m.kl_marginal);
      format_num (mm, sizeof mm, r->m.kl_marginal_max);
      format_num (mi, sizeof mi, r->m.mi_model);
      format_num (pe, sizeof pe, r->p_equal);
      format_num (ks, sizeof ks, r->m.kl_support);
      if (r->samples == 0)
        g_strlcpy (ns, "exact", sizeof ns);
      else
        g_snprintf (ns, sizeof ns, "%" G_GUINT64_FORMAT, r->samples);
      printf ("%-24s %9s %9s %9s %9s %9s %9s", r->label, ns, kl, mk, mm, mi, pe);
      if (any_outside)
        printf (" %9.5f %10s %9.5f", r->m.outside, ks, 1.0 - r->m.outside);
      printf ("\n");
    }
  printf ("target: mutual information %.4f nats", gaf_joint_mutual_information (target));
  if (target->n == 2)
    printf (", P(x1 = x2) %.4f", p_equal (target));
  printf ("\n");
}

static void
format_csv (GString *out, const char *data, GArray *rows, double train_s, double sample_s)
{
  g_string_append (out, "data,model,samples,joint_kl,joint_kl_support,outside,marginal_kl,marginal_kl_max,"
                        "mi,mi_target,p_equal,train_seconds,sample_seconds\n");
  for (guint i = 0; i < rows->len; i++)
    {
      const Row *r = &g_array_index (rows, Row, i);
      double vals[8] = { r->m.kl, r->m.kl_support, r->m.outside, r->m.kl_marginal, r->m.kl_marginal_max,
                         r->m.mi_model, r->m.mi_target, r->p_equal };
      g_autofree char *label = g_strdup (r->label);

      g_strdelimit (label, ",", ';');
      g_string_append_printf (out, "%s,%s,%" G_GUINT64_FORMAT, data, label, r->samples);
      for (int k = 0; k < 8; k++)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          if (isnan (vals[k]))
            g_string_append (out, ",");
          else if (isinf (vals[k]))
            g_string_append (out, ",inf");
          else
            g_string_append_printf (out, ",%s", g_ascii_formatd (buf, sizeof buf, "%.6g", vals[k]));
        }
      g_string_append_printf (out, ",%.2f,%.2f\n", i == 0 ? train_s : 0.0, i == 0 ? sample_s : 0.0);
    }
}

/* ---- heatmaps --------------------------------------------------------------------------------- */

/* viridis at nine stops */
static void
colormap (double v, double rgb[3])
{
  static const double stops[9][3] = {
    { 0.267, 0.005, 0.329 }, { 0.278, 0.175, 0.483 }, { 0.229, 0.322, 0.546 }, { 0.173, 0.449, 0.558 },
    { 0.128, 0.567, 0.551 }, { 0.153, 0.683, 0.502 }, { 0.361, 0.786, 0.388 }, { 0.659, 0.859, 0.205 },
    { 0.993, 0.906, 0.144 },
  };
  double x = CLAMP (v, 0.0, 1.0) * 8.0;
  int k = MIN ((int) x, 7);
  double f = x - k;

  for (int i = 0; i < 3; i++)
    rgb[i] = stops[k][i] * (1.0 - f) + stops[k + 1][i] * f;
}

static cairo_status_t
png_to_bytes (void *closure, const unsigned char *data, unsigned int length)
{
  g_byte_array_append (closure, data, length);
  return CAIRO_STATUS_SUCCESS;
}

/* Panels of c x c matrices side by side, x = first variable to the right, y = second upwards, all on
 * the colour scale of the first panel (the target): its largest cell is the brightest colour. */
static gboolean
write_heatmaps (const char *path, int c, double **mats, char **titles, char **subtitles, int n_panels,
                GError **error)
{
  int cell = MAX (2, 280 / c), side = cell * c, margin = 16, top = 44;
  int width = margin + n_panels * (side + margin), height = top + side + margin;
  cairo_surface_t *surface = cairo_image_surface_create (CAIRO_FORMAT_RGB24, width, height);
  cairo_t *cr = cairo_create (surface);
  g_autoptr(GByteArray) png = g_byte_array_new ();
  double vmax = 0.0;
  cairo_status_t status;

  for (int k = 0; k < c * c; k++)
    vmax = MAX (vmax, mats[0][k]);
  if (!(vmax > 0.0))
    vmax = 1.0;
  cairo_set_source_rgb (cr, 1, 1, 1);
  cairo_paint (cr);
  cairo_select_font_face (cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  for (int p = 0; p < n_panels; p++)
    {
      int x0 = margin + p * (side + margin), y0 = top;

      cairo_set_source_rgb (cr, 0, 0, 0);
      cairo_set_font_size (cr, 13);
      cairo_move_to (cr, x0, 18);
      cairo_show_text (cr, titles[p]);
      cairo_set_font_size (cr, 11);
      cairo_move_to (cr, x0, 35);
      cairo_show_text (cr, subtitles[p]);
      for (int i = 0; i < c; i++)
        for (int j = 0; j < c; j++)
          {
            double v = mats[p][(gsize) i * c + j], rgb[3];
            colormap (v / vmax, rgb);
            cairo_set_source_rgb (cr, rgb[0], rgb[1], rgb[2]);
            cairo_rectangle (cr, x0 + i * cell, y0 + (c - 1 - j) * cell, cell, cell);
            cairo_fill (cr);
            if (c <= 8)
              {
                /* small tables: the probability in the cell, dark on light colours */
                char buf[32];
                cairo_text_extents_t ext;
                g_snprintf (buf, sizeof buf, "%.3f", v);
                cairo_set_font_size (cr, 14);
                cairo_text_extents (cr, buf, &ext);
                if (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.5)
                  cairo_set_source_rgb (cr, 0, 0, 0);
                else
                  cairo_set_source_rgb (cr, 1, 1, 1);
                cairo_move_to (cr, x0 + (i + 0.5) * cell - ext.width / 2 - ext.x_bearing,
                               y0 + (c - 1 - j + 0.5) * cell - ext.height / 2 - ext.y_bearing);
                cairo_show_text (cr, buf);
              }
          }
    }
  cairo_destroy (cr);
  status = cairo_surface_write_to_png_stream (surface, png_to_bytes, png);
  cairo_surface_destroy (surface);
  if (status != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "--plot: cannot encode the PNG: %s",
                   cairo_status_to_string (status));
      return FALSE;
    }
  /* atomic: temp file + rename */
  return g_file_set_contents (path, (const char *) png->data, png->len, error);
}

static gboolean
plot_joint (const char *path, const GafJoint *target, const GafJoint *model, const char *model_title,
            const Row *model_row, GError **error)
{
  g_autoptr(GafJoint) prod = gaf_joint_new_product (target, NULL);
  GafJointMetrics pm;
  g_autofree double *a = gaf_joint_dense2 (target), *b = gaf_joint_dense2 (model), *c = NULL;
  g_autofree char *t0 = NULL, *t1 = NULL, *t2 = NULL, *s0 = NULL, *s1 = NULL, *s2 = NULL;
  double *mats[3];
  char *titles[3], *subs[3];

  g_assert (target->n == 2 && prod != NULL);
  c = gaf_joint_dense2 (prod);
  gaf_joint_compare (prod, target, &pm);
  t0 = g_strdup_printf ("target: %s", target->name);
  s0 = g_strdup_printf ("MI %.3g nats", gaf_joint_mutual_information (target));
  t1 = g_strdup (model_title);
  s1 = g_strdup_printf ("joint KL %.3g, MI %.3g", model_row->m.kl, model_row->m.mi_model);
  t2 = g_strdup ("product of marginals (exact)");
  s2 = g_strdup_printf ("joint KL %.3g, MI %.3g", pm.kl, fabs (pm.mi_model));
  mats[0] = a, mats[1] = b, mats[2] = c;
  titles[0] = t0, titles[1] = t1, titles[2] = t2;
  subs[0] = s0, subs[1] = s1, subs[2] = s2;
  return write_heatmaps (path, target->c, mats, titles, subs, 3, error);
}

/* ---- progress --------------------------------------------------------------------------------- */

typedef struct {
  gboolean tty;
  gint64   last_us;
} ProgressState;

static void
progress_cb (const GafProgress *p, gpointer user_data)
{
  ProgressState *st = user_data;
  gint64 now = g_get_monotonic_time ();

  if (!st->tty || (now - st->last_us < 100000 && p->done != p->total))
    return;
  st->last_us = now;
  if (g_str_equal (p->stage, "train"))
    fprintf (stderr, "\rtrain %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT " loss %.4f      ", p->done, p->total,
             p->loss);
  else
    fprintf (stderr, "\rsample %3.0f%%                              ",
             p->total ? 100.0 * p->done / p->total : 0.0);
  fflush (stderr);
}

/* ---- train / sample --------------------------------------------------------------------------- */

/* The trained model as a checkpoint (atomically, gaf-checkpoint.h): [model] from the network, [train] from the
 * trainer, and [data] spec, which with --length and --alphabet folded in reads the same data back
 * (gaf_joint_new_from_spec): what the app (a joint experiment that shows this data), `export` and `field`
 * need. */
static gboolean
save_checkpoint (const char *path, GafNet *net, guint64 seed, const char *data, const GafJoint *target, int length,
                 const char *alphabet, GafTrainer *trainer, GafBaselineTrainer *btrainer, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  const char *given_alphabet = strstr (data, ",alphabet=");
  g_autoptr(GString) spec = g_string_new_len (data, given_alphabet ? given_alphabet - data : (gssize) strlen (data));
  GafModelConfig mc;

  if (!gaf_model_config_from_net (&mc, net, seed))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the %s network cannot be saved", net->klass->name);
      return FALSE;
    }
  gaf_model_config_to_keyfile (&mc, kf);
  /* text: the length (from --length unless the spec has one), then the alphabet, which takes the rest */
  if (target->alphabet != NULL && length > 0 && strstr (spec->str, ",length=") == NULL)
    g_string_append_printf (spec, ",length=%d", length);
  if (target->alphabet != NULL && alphabet != NULL)   /* --alphabet wins over the spec's, as in spec_text */
    g_string_append_printf (spec, ",alphabet=%s", alphabet);
  else if (given_alphabet != NULL)
    g_string_append (spec, given_alphabet);
  g_key_file_set_string (kf, "data", "spec", spec->str);
  g_key_file_set_integer (kf, "data", "variables", target->n);
  g_key_file_set_integer (kf, "data", "classes", target->c);
  return trainer != NULL ? gaf_trainer_save_checkpoint (trainer, path, kf, error)
                         : gaf_baseline_trainer_save_checkpoint (btrainer, path, kf, error);
}

typedef enum { MODE_TRAIN, MODE_SAMPLE } Mode;

static int
train_or_sample (int argc, char **argv, Mode mode)
{
  g_autofree char *data = NULL, *model = NULL, *steps = NULL, *batch = NULL, *lr = NULL, *schedule = NULL;
  g_autofree char *ema = NULL, *lambda = NULL, *time_rate = NULL, *samples = NULL, *integrator = NULL;
  g_autofree char *step_size = NULL, *t_end = NULL, *seed = NULL, *threads = NULL, *chunk = NULL;
  g_autofree char *hidden = NULL, *depth = NULL, *input_scale = NULL, *time_scale = NULL, *alphabet = NULL, *length = NULL;
  g_autofree char *plot = NULL, *output = NULL, *csv = NULL, *warning = NULL, *loss_log = NULL;
  g_autofree char *method = NULL, *evals = NULL, *kappa = NULL, *checkpoint = NULL;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data, "Target: " DATA_HELP, "SPEC" },
    { "length", 0, 0, G_OPTION_ARG_STRING, &length, "Sequence length of text data", "N" },
    { "alphabet", 0, 0, G_OPTION_ARG_STRING, &alphabet, "Alphabet of text data (default: the file's characters)", "CHARS" },
    { "method", 0, 0, G_OPTION_ARG_STRING, &method,
      "gaf (default), dirichlet, linear, sphere, masked or uniform (the jump flows)", "NAME" },
    { "evals", 0, 0, G_OPTION_ARG_STRING, &evals,
      "Network evaluations per sample of a method other than GAF (default: as many as GAF's sampler makes)", "N" },
    { "kappa", 0, 0, G_OPTION_ARG_STRING, &kappa, "Jump flows' scheduler: linear (kappa = t, default), poly[:A] or cosine", "NAME" },
    { "model", 0, 0, G_OPTION_ARG_STRING, &model,
      "mlp, toy-cnn or dense[:hidden=256,256,bias=true] (the authors' DenseNet; default mlp for n = 2, toy-cnn "
      "for text)", "NAME" },
    { "hidden", 0, 0, G_OPTION_ARG_STRING, &hidden, "Network width (default 256 for the MLP, 128 for the toy CNN)", "H" },
    { "depth", 0, 0, G_OPTION_ARG_STRING, &depth, "MLP: hidden layers (default 3)", "N" },
    { "input-scale", 0, 0, G_OPTION_ARG_STRING, &input_scale, "Scale of the network's input W, 0 = c (default c for the MLP, 1 for the toy CNN)", "S" },
    { "time-scale", 0, 0, G_OPTION_ARG_STRING, &time_scale, "Toy CNN: scale of its time input (default 1)", "S" },
    { "steps", 0, 0, G_OPTION_ARG_STRING, &steps, "Training steps (default 4000)", "N" },
    { "batch", 0, 0, G_OPTION_ARG_STRING, &batch, "Mini-batch size (default 256)", "B" },
    { "lr", 0, 0, G_OPTION_ARG_STRING, &lr, "Adam learning rate (default 2e-3 for the MLP, 1e-3 for the toy CNN)", "LR" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "constant or cosine (default cosine)", "NAME" },
    { "ema", 0, 0, G_OPTION_ARG_STRING, &ema, "Decay of the weight average used for sampling, 0 = off (default 0.999)", "D" },
    { "lambda", 0, 0, G_OPTION_ARG_STRING, &lambda, "Field magnitude lambda (default 0.5)", "L" },
    { "time-rate", 0, 0, G_OPTION_ARG_STRING, &time_rate, "Rate of the Gamma(1, rate) training times (default 0.25)", "R" },
    { "samples", 0, 0, G_OPTION_ARG_STRING, &samples, "Samples drawn (default 100000)", "N" },
    { "integrator", 0, 0, G_OPTION_ARG_STRING, &integrator, "euler or rk4 (default rk4)", "NAME" },
    { "step-size", 0, 0, G_OPTION_ARG_STRING, &step_size, "Sampler step h (default 0.5)", "H" },
    { "t-end", 0, 0, G_OPTION_ARG_STRING, &t_end, "Sampler end time T (default 15)", "T" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Random seed (default 1)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_STRING, &threads, "Engine threads (default 2)", "N" },
    { "chunk", 0, 0, G_OPTION_ARG_STRING, &chunk, "Sequences integrated at once (default 4096)", "N" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot, "PNG heatmaps of target, samples and product of marginals (n = 2)", "FILE" },
    { "output", 0, 0, G_OPTION_ARG_FILENAME, &output, "Write the samples, one per line", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Write the metrics as CSV", "FILE" },
    { "loss-log", 0, 0, G_OPTION_ARG_FILENAME, &loss_log, "Write 'step<TAB>loss' (%.9g) for every step", "FILE" },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &checkpoint,
      "train: write the trained model to FILE (.gafck: weights, weight average, Adam state, the data's spec) after "
      "training, for the app, export and field", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (mode == MODE_TRAIN ?
                                                        "- train a flow on a joint distribution and evaluate it" :
                                                        "- train a flow on a joint distribution and write samples");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) target = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafTrainer) trainer = NULL;
  g_autoptr(GafBaselineTrainer) btrainer = NULL;
  g_autoptr(GArray) rows = NULL, losses = NULL;
  g_autofree guint16 *labels = NULL;
  GafTrainerConfig tcfg;
  GafSamplerConfig scfg;
  GafBaselineConfig bcfg;
  GafMethod method_v = GAF_METHOD_GAF;
  guint64 evals_v = 0;
  guint n_evals;
  ProgressState ps = { 0 };
  guint64 n_steps = 4000, n_samples = 100000, seed_v = 1;
  int n_threads = 2, chunk_v = 4096, hidden_v = 0, depth_v = 0, length_v = 0;
  double in_scale = -1.0, t_scale = 1.0, lr_v = 0.0, train_s, sample_s;
  gboolean cosine = TRUE, use_mlp, use_dense;
  gint64 t0;
  GafRng rng;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("%s: unexpected argument '%s'", argv[0], argv[1]);

  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 256;
  tcfg.adam.lr = 1e-3;
  tcfg.ema_decay = 0.999;
  gaf_sampler_config_init (&scfg);
  scfg.step_size = 0.5;
  if ((steps && !gaf_cli_parse_u64 ("--steps", steps, 0, G_GUINT64_CONSTANT (100000000), &n_steps, &error)) ||
      (batch && !gaf_cli_parse_int ("--batch", batch, 1, 65536, &tcfg.batch, &error)) ||
      (lr && !gaf_cli_parse_double ("--lr", lr, 1e-12, 10.0, &lr_v, &error)) ||
      (ema && !gaf_cli_parse_double ("--ema", ema, 0.0, 0.999999, &tcfg.ema_decay, &error)) ||
      (lambda && !gaf_cli_parse_double ("--lambda", lambda, GAF_PATH_LAMBDA_MIN, GAF_PATH_LAMBDA_MAX, &tcfg.path.lambda,
                                       &error)) ||
      (time_rate && !gaf_cli_parse_double ("--time-rate", time_rate, GAF_PATH_TIME_RATE_MIN, GAF_PATH_TIME_RATE_MAX,
                                          &tcfg.path.time_rate, &error)) ||
      (samples && !gaf_cli_parse_u64 ("--samples", samples, 1, G_GUINT64_CONSTANT (100000000), &n_samples, &error)) ||
      (step_size && !gaf_cli_parse_double ("--step-size", step_size, 1e-6, 1e6, &scfg.step_size, &error)) ||
      (t_end && !gaf_cli_parse_double ("--t-end", t_end, 1e-6, 1e6, &scfg.t_end, &error)) ||
      (seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &seed_v, &error)) ||
      (threads && !gaf_cli_parse_int ("--threads", threads, 1, 256, &n_threads, &error)) ||
      (chunk && !gaf_cli_parse_int ("--chunk", chunk, 1, 1 << 20, &chunk_v, &error)) ||
      (hidden && !gaf_cli_parse_int ("--hidden", hidden, 2, 4096, &hidden_v, &error)) ||
      (depth && !gaf_cli_parse_int ("--depth", depth, 1, GAF_MLP_MAX_DEPTH, &depth_v, &error)) ||
      (input_scale && !gaf_cli_parse_double ("--input-scale", input_scale, 0.0, 1e6, &in_scale, &error)) ||
      (time_scale && !gaf_cli_parse_double ("--time-scale", time_scale, 1e-6, 1e6, &t_scale, &error)) ||
      (length && !gaf_cli_parse_int ("--length", length, 1, 4096, &length_v, &error)) ||
      (evals && !gaf_cli_parse_u64 ("--evals", evals, 1, 1000000, &evals_v, &error)))
    return gaf_cli_fail ("%s", error->message);
  gaf_baseline_config_init (&bcfg);
  if (method && !gaf_method_from_string (method, &method_v))
    return gaf_cli_fail ("--method: unknown method '%s' (expected gaf, dirichlet, linear, sphere, masked or uniform)",
                         method);
  if ((kappa && !gaf_cli_parse_kappa (kappa, &bcfg.jump, &error)) ||
      !gaf_cli_check_method_processes (method_v, &error))
    return gaf_cli_fail ("%s", error->message);
  if (schedule && !g_str_equal (schedule, "cosine") && !g_str_equal (schedule, "constant"))
    return gaf_cli_fail ("--schedule: unknown schedule '%s' (expected constant or cosine)", schedule);
  cosine = schedule == NULL || g_str_equal (schedule, "cosine");
  if (integrator && !gaf_integrator_from_string (integrator, &scfg.integrator))
    return gaf_cli_fail ("--integrator: unknown integrator '%s' (expected euler or rk4)", integrator);
  use_dense = model && (g_str_equal (model, "dense") || g_str_has_prefix (model, "dense:"));
  if (model && !use_dense && !g_str_equal (model, "mlp") && !g_str_equal (model, "toy-cnn"))
    return gaf_cli_fail ("--model: unknown model '%s' (expected mlp, toy-cnn or dense[:hidden=...])", model);
  if (use_dense && (hidden || depth || input_scale))
    return gaf_cli_fail ("--model dense: its widths are --model dense:hidden=W1,W2,... (--hidden, --depth and "
                         "--input-scale are the MLP's; BatchNorm scales the dense network's input)");
  if (mode == MODE_SAMPLE && output == NULL)
    return gaf_cli_fail ("sample: --output FILE is required");
  if (!gaf_sampler_config_check (&scfg, &error) || !gaf_trainer_config_check (&tcfg, &error) ||
      (plot && !gaf_cli_check_output_path ("--plot", plot, &error)) ||
      (output && !gaf_cli_check_output_path ("--output", output, &error)) ||
      (csv && !gaf_cli_check_output_path ("--csv", csv, &error)) ||
      (loss_log && !gaf_cli_check_output_path ("--loss-log", loss_log, &error)) ||
      (checkpoint && !gaf_cli_check_output_path ("--checkpoint", checkpoint, &error)))
    return gaf_cli_fail ("%s", error->message);
  if (checkpoint && mode != MODE_TRAIN)
    return gaf_cli_fail ("sample: --checkpoint is train's (sample trains a model only to write its samples)");
  /* Data parallel (docs/scaling-out.md): each of the R processes draws batch / R samples of every step. */
  if (tcfg.batch % gaf_cli_mpi_size () != 0)
    return gaf_cli_fail ("--batch %d: under MPI the batch must be a multiple of the number of processes (%d)",
                         tcfg.batch, gaf_cli_mpi_size ());
  if (n_samples > G_MAXINT / 2)
    return gaf_cli_fail ("--samples: at most %d", G_MAXINT / 2);

  target = load_data (data, length_v, alphabet, &warning, &error);
  if (target == NULL)
    return gaf_cli_fail ("%s", error->message);
  if (plot && target->n != 2)
    return gaf_cli_fail ("--plot: heatmaps need two variables (this data has %d)", target->n);
  if ((gint64) target->n * target->c > 1 << 20)
    return gaf_cli_fail ("--data: %d variables of %d classes is too large for these networks", target->n, target->c);

  use_mlp = !use_dense && (model ? g_str_equal (model, "mlp") : target->alphabet == NULL);
  /* Defaults that differ by model (docs/joint.md): the MLP sees W * c (entries of order 1, as the
   * reference's input BatchNorm would make them) and learns faster at lr 2e-3. Inputs that are one-hot (jump
   * flows) or square roots of probabilities (sphere FM) get sqrt(c): root-mean-square entry 1. */
  if (in_scale == 0.0 || (in_scale < 0.0 && use_mlp))
    in_scale = gaf_method_is_jump (method_v) || method_v == GAF_METHOD_SPHERE ? sqrt ((double) target->c) : target->c;
  else if (in_scale < 0.0)
    in_scale = 1.0;
  /* the same number of network evaluations as GAF's sampler unless --evals says otherwise */
  n_evals = gaf_sampler_n_steps (&scfg) * gaf_sampler_evals_per_step (scfg.integrator);
  if (method_v != GAF_METHOD_GAF)
    {
      gaf_baseline_config_set_evals (&bcfg, evals_v > 0 ? (guint) evals_v : n_evals);
      n_evals = gaf_baseline_evals (method_v, &bcfg);
    }
  else if (evals_v > 0)
    return gaf_cli_fail ("--evals: GAF's evaluations follow from --integrator, --step-size and --t-end");
  /* the dense network: 5e-4 gave the pinwheel joint KL 1.31 at 2,000 steps where 2e-3 gave 1.94 (docs/joint.md) */
  tcfg.adam.lr = lr_v > 0.0 ? lr_v : use_dense ? 5e-4 : use_mlp ? 2e-3 : 1e-3;
  if (use_dense)
    {
      /* the factory's keys (hidden, bias) on n variables of c classes, the method's input channels */
      GafModelConfig mc;
      if (!gaf_cli_image_model_config (model, 1, target->n, target->c, seed_v, &mc, &error))
        return gaf_cli_fail ("%s", error->message);
      mc.dense.in_channels = gaf_method_in_channels (method_v, target->c);
      if ((net = gaf_model_new (&mc, &error)) == NULL)
        return gaf_cli_fail ("%s", error->message);
    }
  else if (use_mlp)
    {
      GafMlpConfig mcfg;
      gaf_mlp_config_init (&mcfg, target->n, target->c);
      mcfg.in_channels = gaf_method_in_channels (method_v, target->c);
      if (hidden_v)
        mcfg.hidden = hidden_v;
      if (depth_v)
        mcfg.depth = depth_v;
      mcfg.input_scale = in_scale;
      if (!gaf_mlp_config_check (&mcfg, &error))
        return gaf_cli_fail ("%s", error->message);
      net = GAF_NET (gaf_mlp_new (&mcfg, seed_v));
    }
  else
    {
      GafToyCnnConfig ccfg;
      gaf_toy_cnn_config_init (&ccfg, target->n, target->c);
      ccfg.in_channels = gaf_method_in_channels (method_v, target->c);
      if (hidden_v)
        {
          if (hidden_v % 2 != 0)
            return gaf_cli_fail ("--hidden: the toy CNN needs an even width, got %d", hidden_v);
          ccfg.hidden = hidden_v;
          ccfg.fourier_half = hidden_v / 2;
        }
      ccfg.input_scale = in_scale;
      ccfg.time_scale = t_scale;
      if (!gaf_toy_cnn_config_check (&ccfg, &error))
        return gaf_cli_fail ("%s", error->message);
      net = GAF_NET (gaf_toy_cnn_new (&ccfg, seed_v));
    }
  if (warning && gaf_cli_mpi_is_root ())
    fprintf (stderr, "%s\n", warning);

  gaf_blas_set_threads (n_threads);
  ps.tty = isatty (fileno (stderr));
  tcfg.seed = seed_v;
  if (method_v == GAF_METHOD_GAF)
    {
      trainer = gaf_trainer_new (net, gaf_joint_sample, target, &tcfg);
      if (gaf_cli_mpi_size () > 1 &&
          !gaf_trainer_set_data_parallel (trainer, gaf_cli_mpi_rank (), gaf_cli_mpi_size (), gaf_cli_mpi_sum,
                                          gaf_cli_mpi_sum_f64, NULL,
                                          &error))
        return gaf_cli_fail ("%s", error->message);
      if (cosine)
        gaf_trainer_set_cosine_schedule (trainer, tcfg.adam.lr, n_steps);
    }
  else
    {
      btrainer = gaf_baseline_trainer_new (method_v, &bcfg, net, gaf_joint_sample, target, &tcfg);
      if (cosine)
        gaf_baseline_trainer_set_cosine_schedule (btrainer, tcfg.adam.lr, n_steps);
    }
  if (gaf_cli_mpi_is_root ())
    fprintf (stderr, "%s: %s (n = %d, c = %d, %u sequences of positive probability); %s, %s, %" G_GSIZE_FORMAT
             " parameters, input scale %g; %" G_GUINT64_FORMAT " steps, batch %d, lr %g %s, EMA %g; %d threads"
             " x %d processes\n", argv[0], target->name, target->n, target->c, target->n_atoms,
             gaf_method_title (method_v), net->klass->name, net->params->trained, in_scale, n_steps, tcfg.batch,
             tcfg.adam.lr, cosine ? "cosine" : "constant", tcfg.ema_decay, n_threads, gaf_cli_mpi_size ());
  if (loss_log)
    losses = g_array_new (FALSE, FALSE, sizeof (double));
  t0 = g_get_monotonic_time ();
  if (trainer != NULL
      ? !gaf_trainer_run (trainer, n_steps, losses, gaf_cli_mpi_is_root () ? progress_cb : NULL, &ps, NULL, &error)
      : !gaf_baseline_trainer_run (btrainer, n_steps, losses, progress_cb, &ps, NULL, &error))
    {
      if (ps.tty)
        fprintf (stderr, "\n");
      return gaf_cli_fail ("%s", error->message);
    }
  train_s = (g_get_monotonic_time () - t0) * 1e-6;
  /* Every process holds the same weights now: rank 0 alone samples, evaluates and writes. */
  if (!gaf_cli_mpi_is_root ())
    return 0;
  if (loss_log)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      for (guint i = 0; i < losses->len; i++)
        g_string_append_printf (s, "%u\t%.9g\n", i + 1, g_array_index (losses, double, i));
      if (!g_file_set_contents (loss_log, s->str, s->len, &error))   /* atomic: temp file + rename */
        return gaf_cli_fail ("%s", error->message);
    }
  if (checkpoint && !save_checkpoint (checkpoint, net, seed_v, data, target, length_v, alphabet, trainer, btrainer,
                                      &error))
    return gaf_cli_fail ("--checkpoint: %s", error->message);

  /* Sample with the averaged weights. */
  gaf_params_swap_ema (net->params);
  labels = g_new (guint16, n_samples * target->n);
  gaf_rng_init_stream (&rng, seed_v, 0x7a2);
  t0 = g_get_monotonic_time ();
  if (method_v == GAF_METHOD_GAF
      ? !gaf_sample_flow (net, &scfg, &rng, n_samples, chunk_v, labels, NULL, NULL, progress_cb, &ps, NULL, &error)
      : !gaf_baseline_sample (method_v, &bcfg, net, &rng, n_samples, chunk_v, labels, NULL, progress_cb, &ps, NULL,
                              &error))
    {
      if (ps.tty)
        fprintf (stderr, "\n");
      return gaf_cli_fail ("%s", error->message);
    }
  sample_s = (g_get_monotonic_time () - t0) * 1e-6;
  if (ps.tty)
    fprintf (stderr, "\r%-60s\r", "");
  if (method_v == GAF_METHOD_GAF)
    fprintf (stderr, "%s: trained in %.1f s, drew %" G_GUINT64_FORMAT " samples (%s h=%g T=%g, %u network evaluations) in %.1f s\n",
             argv[0], train_s, n_samples, gaf_integrator_to_string (scfg.integrator), scfg.step_size, scfg.t_end,
             n_evals, sample_s);
  else
    fprintf (stderr, "%s: trained in %.1f s, drew %" G_GUINT64_FORMAT " samples (%s, %u network evaluations) in %.1f s\n",
             argv[0], train_s, n_samples, gaf_method_title (method_v), n_evals, sample_s);

  if (output)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      for (guint64 k = 0; k < n_samples; k++)
        {
          gaf_joint_format_sequence (target, labels + k * target->n, s);
          g_string_append_c (s, '\n');
        }
      if (!g_file_set_contents (output, s->str, s->len, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  if (mode == MODE_SAMPLE)
    printf ("wrote %" G_GUINT64_FORMAT " samples to %s\n", n_samples, output);
  if (mode == MODE_SAMPLE && !plot && !csv)
    return 0;

  rows = g_array_new (FALSE, FALSE, sizeof (Row));
  g_array_set_clear_func (rows, row_clear);
  {
    const char *name = gaf_method_to_string (method_v);
    g_autoptr(GafJoint) emp = gaf_joint_new_empirical (target->n, target->c, labels, n_samples, name);
    g_autofree char *title = g_strdup_printf ("%s (%s), %" G_GUINT64_FORMAT " samples", gaf_method_title (method_v),
                                              net->klass->name, n_samples);
    add_row (rows, name, n_samples, emp, target);
    add_reference_rows (rows, target, n_samples, seed_v);
    if (mode == MODE_TRAIN)
      print_rows (target, rows);
    if (plot && !plot_joint (plot, target, emp, title, &g_array_index (rows, Row, 0), &error))
      return gaf_cli_fail ("%s", error->message);
  }
  if (csv)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      format_csv (s, data, rows, train_s, sample_s);
      if (!g_file_set_contents (csv, s->str, s->len, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  return 0;
}

int
gaf_cli_joint_train (int argc, char **argv)
{
  return train_or_sample (argc, argv, MODE_TRAIN);
}

int
gaf_cli_joint_sample (int argc, char **argv)
{
  return train_or_sample (argc, argv, MODE_SAMPLE);
}

/* ---- eval ------------------------------------------------------------------------------------- */

int
gaf_cli_cmd_eval (int argc, char **argv)
{
  g_autofree char *data = NULL, *input = NULL, *alphabet = NULL, *length = NULL, *seed = NULL;
  g_autofree char *plot = NULL, *csv = NULL, *warning = NULL;
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, &data, "Target: " DATA_HELP, "SPEC" },
    { "length", 0, 0, G_OPTION_ARG_STRING, &length, "Sequence length of text data", "N" },
    { "alphabet", 0, 0, G_OPTION_ARG_STRING, &alphabet, "Alphabet of text data (default: the file's characters)", "CHARS" },
    { "input", 0, 0, G_OPTION_ARG_FILENAME, &input, "Samples to score, one per line (as 'sample' writes them)", "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_STRING, &seed, "Seed of the reference samplers (default 1)", "N" },
    { "plot", 0, 0, G_OPTION_ARG_FILENAME, &plot, "PNG heatmaps of target, samples and product of marginals (n = 2)", "FILE" },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, "Write the metrics as CSV", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- joint KL, marginal KL and mutual information of samples");
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) target = NULL, emp = NULL;
  g_autoptr(GArray) rows = NULL;
  g_autofree char *text = NULL;
  g_autofree guint16 *labels = NULL;
  guint64 count = 0, seed_v = 1;
  gsize len = 0;
  int length_v = 0;

  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc > 1)
    return gaf_cli_fail ("eval: unexpected argument '%s'", argv[1]);
  if ((seed && !gaf_cli_parse_u64 ("--seed", seed, 0, G_MAXUINT64, &seed_v, &error)) ||
      (length && !gaf_cli_parse_int ("--length", length, 1, 4096, &length_v, &error)) ||
      (plot && !gaf_cli_check_output_path ("--plot", plot, &error)) ||
      (csv && !gaf_cli_check_output_path ("--csv", csv, &error)))
    return gaf_cli_fail ("%s", error->message);
  if (input == NULL)
    return gaf_cli_fail ("eval: --input FILE (the samples to score) is required");
  target = load_data (data, length_v, alphabet, &warning, &error);
  if (target == NULL)
    return gaf_cli_fail ("%s", error->message);
  if (plot && target->n != 2)
    return gaf_cli_fail ("--plot: heatmaps need two variables (this data has %d)", target->n);
  if (!gaf_file_read_all (input, "samples file", GAF_JOINT_MAX_TEXT_BYTES, &text, &len, &error))
    return gaf_cli_fail ("%s", error->message);
  labels = gaf_joint_parse_samples (target, text, len, input, &count, &error);
  if (labels == NULL)
    return gaf_cli_fail ("%s", error->message);
  if (count > G_MAXINT / 2)
    return gaf_cli_fail ("%s: too many samples (at most %d)", input, G_MAXINT / 2);

  if (warning)
    fprintf (stderr, "%s\n", warning);
  emp = gaf_joint_new_empirical (target->n, target->c, labels, count, "samples");
  rows = g_array_new (FALSE, FALSE, sizeof (Row));
  g_array_set_clear_func (rows, row_clear);
  add_row (rows, "samples", count, emp, target);
  add_reference_rows (rows, target, count, seed_v);
  print_rows (target, rows);
  if (plot)
    {
      g_autofree char *base = g_path_get_basename (input);
      g_autofree char *title = g_strdup_printf ("%s, %" G_GUINT64_FORMAT " samples", base, count);
      if (!plot_joint (plot, target, emp, title, &g_array_index (rows, Row, 0), &error))
        return gaf_cli_fail ("%s", error->message);
    }
  if (csv)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      format_csv (s, data, rows, 0.0, 0.0);
      if (!g_file_set_contents (csv, s->str, s->len, &error))
        return gaf_cli_fail ("%s", error->message);
    }
  return 0;
}
