/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaf-checkpoint.h"
#include "gaf-error.h"
#include "gaf-experiment.h"
#include "gaf-gemm-small.h"
#include "gaf-joint-experiment.h"
#include "gaf-label-map-experiment.h"
#include "gaf-model.h"
#include "gaf-scaling-experiment.h"
#include "gaf-simplex.h"
#include "gaf-test-util.h"
#include "gaf-text-experiment.h"
#include "gaf-torch-map.h"

/* The experiments as modules, without the runner's thread: the registry, every registered experiment run
 * end to end (so registering one is testing it), model files of every experiment and of earlier versions,
 * and the one parameter table against the GSettings schema. */

/* The registry's facts: unique ids, a label, a description, a default view, a parameter list that ends
 * and holds the training batch; earlier names and enum values map to the new ids. */
static void
test_registry (void)
{
  const GafExperimentClass *const *all = gaf_experiments ();
  g_autofree char *ids = gaf_experiment_list_ids (" or ");
  guint n = 0;

  for (guint i = 0; all[i] != NULL; i++, n++)
    {
      const GafExperimentClass *k = all[i];
      guint n_params = 0;

      g_assert_nonnull (k->id);
      g_assert_true (gaf_experiment_lookup (k->id) == k);
      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (all[j]->id, !=, k->id);
      g_assert_nonnull (k->label);
      g_assert_nonnull (k->description);
      g_assert_nonnull (k->default_view);
      g_assert_nonnull (k->build);
      g_assert_nonnull (k->sample);
      g_assert_cmpuint (k->instance_size, >=, sizeof (GafExperiment));
      for (const GafParam *p = k->params; *p != GAF_N_PARAMS; p++)
        {
          g_assert_cmpint (*p, <, GAF_N_PARAMS);
          n_params++;
        }
      g_assert_cmpuint (n_params, >, 0);
      if (!k->untrained)
        g_assert_true (gaf_experiment_uses (k, k->batch_param));
    }
  g_assert_cmpuint (n, >=, 5);
  g_assert_true (gaf_experiment_default () == all[0]);
  g_test_message ("experiments: %s", ids);

  /* Names and enum values of earlier versions (GSettings, .gafck [app] experiment). */
  g_assert_true (gaf_experiment_lookup_legacy ("images") == &gaf_label_map_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("4") == &gaf_label_map_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("0") == &gaf_scaling_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("1") == &gaf_exact_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("2") == &gaf_coupled_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("3") == &gaf_pinwheel_experiment);
  g_assert_true (gaf_experiment_lookup_legacy ("pinwheel") == &gaf_pinwheel_experiment);
  g_assert_null (gaf_experiment_lookup_legacy ("5"));
  g_assert_null (gaf_experiment_lookup_legacy ("images2"));
  g_assert_null (gaf_experiment_lookup_legacy (""));
  g_assert_null (gaf_experiment_lookup ("images"));
}

/* The smallest honest configuration of an experiment, from the table alone: every integer parameter of
 * the model and training sections it uses at its minimum (the seed and the class count as they are), the
 * fewest samples; data as their defaults. */
static void
small_params (const GafExperimentClass *klass, GafRunnerParams *p)
{
  gaf_runner_params_init (p);
  p->experiment = klass;
  for (const GafParam *q = klass->params; *q != GAF_N_PARAMS; q++)
    {
      const GafParamInfo *info = gaf_param_info (*q);
      if (info->type == GAF_PARAM_INT && *q != GAF_PARAM_SEED && *q != GAF_PARAM_CLASSES &&
          *q != GAF_PARAM_BUDGET)
        p->value[*q] = info->min;
    }
  gaf_runner_params_clamp (p);
}

static void
check_round (GafExperiment *e)
{
  const GafPayload *payload = e->payload;
  const GafRound *r = payload->round;
  const GafTrajectories *tr;
  g_autofree char *summary = NULL;

  g_assert_nonnull (r);
  g_assert_cmpstr (payload->experiment, ==, e->klass->id);
  g_assert_cmpint (payload->n, ==, e->n);
  g_assert_cmpint (payload->c, ==, e->c);
  g_assert_true (isfinite (r->kl) && r->kl >= 0.0);
  g_assert_true (isfinite (r->kl_uniform) && r->kl_uniform > 0.0);
  g_assert_true (isfinite (r->kl_floor) && r->kl_floor >= 0.0);
  g_assert_cmpuint (r->samples, >, 0);
  g_assert_cmpuint (r->step, ==, gaf_experiment_step (e));
  g_assert_nonnull (r->freq);
  for (int i = 0; i < e->n; i++)
    {
      double sum = 0.0;
      for (int k = 0; k < e->c; k++)
        sum += r->freq[i * e->c + k];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-9);
    }
  tr = &r->trajectories;
  g_assert_cmpint (tr->n, ==, e->n);
  g_assert_cmpint (tr->c, ==, e->c);
  g_assert_cmpuint (tr->n_rows, >, 0);
  g_assert_cmpuint (tr->n_rows % e->n, ==, 0);
  g_assert_cmpuint (tr->n_times, >=, 2);
  g_assert_cmpfloat_with_epsilon (tr->times[tr->n_times - 1], e->p.value[GAF_PARAM_T_END], 1e-9);
  for (guint row = 0; row < tr->n_rows; row++)
    {
      const float *w = tr->w + ((gsize) (tr->n_times - 1) * tr->n_rows + row) * e->c;
      double sum = 0.0;
      g_assert_cmpuint (tr->labels[row], <, e->c);
      for (int k = 0; k < e->c; k++)
        {
          g_assert_true (isfinite (w[k]) && w[k] >= 0.0f);
          sum += w[k];
        }
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
    }
  summary = gaf_experiment_summary (e->klass, payload);
  g_assert_nonnull (summary);
  g_test_message ("%s: n %d, c %d, %s", e->klass->id, e->n, e->c, summary);
}

/* Every registered experiment, built, trained a few steps, sampled once, saved and opened again. */
static void
test_every_experiment (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-experiments-XXXXXX", NULL);

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    {
      g_autofree char *path = g_strdup_printf ("%s/%s.gafck", dir, (*k)->id);
      g_autoptr(GError) error = NULL;
      GafExperiment *e, *back;
      GafRunnerParams p;
      GafRng rng;

      small_params (*k, &p);
      e = gaf_experiment_new (*k, &p, NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (e);
      g_assert_true (e->klass == *k);
      g_assert_cmpint (e->n, >, 0);
      g_assert_cmpint (e->c, >=, 2);
      g_assert_nonnull (e->q);
      g_assert_null (e->payload->round);
      g_assert_cmpint ((*k)->untrained, ==, e->trainer == NULL);
      for (int step = 0; e->trainer != NULL && step < 3; step++)
        {
          double loss = NAN;
          g_assert_true (gaf_experiment_train_step (e, &loss, &error));
          g_assert_no_error (error);
          g_assert_true (isfinite (loss) && loss >= 0.0);
        }
      g_assert_cmpuint (gaf_experiment_step (e), ==, e->trainer != NULL ? 3 : 0);
      gaf_rng_init (&rng, 7);
      g_assert_true (gaf_experiment_sample (e, &rng, NULL, &error));
      g_assert_no_error (error);
      check_round (e);

      if (e->trainer == NULL)
        {
          g_assert_false (gaf_experiment_save (e, path, &error));
          g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
        }
      else
        {
          g_assert_true (gaf_experiment_save (e, path, &error));
          g_assert_no_error (error);
          back = gaf_experiment_load (path, NULL, &error);
          g_assert_no_error (error);
          g_assert_true (back->klass == *k);
          g_assert_cmpuint (gaf_experiment_step (back), ==, 3);
          g_assert_cmpint (back->n, ==, e->n);
          g_assert_cmpint (back->c, ==, e->c);
          for (guint i = 0; i < GAF_N_PARAMS; i++)
            if (gaf_param_info (i)->type == GAF_PARAM_TEXT)
              g_assert_cmpstr (back->p.text[i], ==, e->p.text[i]);
            else
              g_assert_cmpfloat (back->p.value[i], ==, e->p.value[i]);
          gaf_experiment_free (back);
          g_unlink (path);
        }
      gaf_experiment_free (e);
    }
  g_rmdir (dir);
}

/* A file trained with a cosine schedule (as gaflow-cli --schedule cosine writes it), opened by the app: the
 * schedule stops and training goes on at the rate the panel shows, the file's last rate clamped to the
 * slider's range; saved again, the file says so. Without this the schedule would keep overriding the slider
 * and a finished run would train on at a rate of 1e-12 while the panel reads 1e-5. */
static void
test_open_scheduled_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-schedule-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (dir, "a.gafck", NULL);
  g_autofree char *b = g_build_filename (dir, "b.gafck", NULL);
  const double min_lr = gaf_param_info (GAF_PARAM_LEARNING_RATE)->min;
  g_autoptr(GError) error = NULL;
  g_autoptr(GafCheckpoint) ck = NULL;
  GafExperiment *e, *back;
  GafRunnerParams p;
  double loss, lr;
  g_autofree char *schedule = NULL;

  small_params (&gaf_coupled_experiment, &p);
  e = gaf_experiment_new (&gaf_coupled_experiment, &p, NULL, &error);
  g_assert_no_error (error);
  /* a whole cosine schedule of 200 steps from 1e-3: the last rate (6e-8) is below the slider's minimum */
  gaf_trainer_set_cosine_schedule (e->trainer, 1e-3, 200);
  for (int i = 0; i < 201; i++)
    g_assert_true (gaf_experiment_train_step (e, &loss, &error));
  g_assert_true (gaf_experiment_save (e, a, &error));
  g_assert_no_error (error);
  ck = gaf_checkpoint_load (a, &error);
  g_assert_no_error (error);
  schedule = g_key_file_get_string (gaf_checkpoint_get_config (ck), "train", "schedule", NULL);
  g_assert_cmpstr (schedule, ==, "cosine");
  lr = g_key_file_get_double (gaf_checkpoint_get_config (ck), "train", "lr", NULL);
  g_assert_cmpfloat (lr, <, min_lr);
  g_clear_pointer (&ck, gaf_checkpoint_free);
  g_clear_pointer (&schedule, g_free);

  back = gaf_experiment_load (a, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (back->p.value[GAF_PARAM_LEARNING_RATE], ==, min_lr);
  g_assert_true (gaf_experiment_train_step (back, &loss, &error));
  g_assert_true (gaf_experiment_save (back, b, &error));
  g_assert_no_error (error);
  ck = gaf_checkpoint_load (b, &error);
  g_assert_no_error (error);
  schedule = g_key_file_get_string (gaf_checkpoint_get_config (ck), "train", "schedule", NULL);
  g_assert_cmpstr (schedule, ==, "constant");
  lr = g_key_file_get_double (gaf_checkpoint_get_config (ck), "train", "lr", NULL);
  g_assert_cmpfloat (lr, ==, min_lr);

  gaf_experiment_free (back);
  gaf_experiment_free (e);
  g_unlink (a);
  g_unlink (b);
  g_rmdir (dir);
}

/* A model file saved by the app before experiments were modules (commit 64b3b1c: the coupled pair, MLP
 * width 16, seed 7, lambda 0.75, 100 steps; [app] integrator written as its index) opens as the coupled
 * experiment; a file whose [app] experiment has an earlier name or enum value opens as its new id. */
static void
test_earlier_files (void)
{
  g_autofree char *old = g_test_build_filename (G_TEST_DIST, "data", "coupled-64b3b1c.gafck", NULL);
  g_autofree char *dir = g_dir_make_tmp ("gaflow-legacy-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  GafExperiment *e, *maps;
  GafRunnerParams p;
  const char *names[] = { "images", "4" };

  e = gaf_experiment_load (old, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (e->klass == &gaf_coupled_experiment);
  g_assert_cmpuint (gaf_experiment_step (e), ==, 100);
  g_assert_cmpfloat (e->p.value[GAF_PARAM_WIDTH], ==, 16);
  g_assert_cmpfloat (e->p.value[GAF_PARAM_SEED], ==, 7);
  g_assert_cmpfloat (e->p.value[GAF_PARAM_LAMBDA], ==, 0.75);
  g_assert_cmpfloat (e->p.value[GAF_PARAM_INTEGRATOR], ==, GAF_INTEGRATOR_RK4);
  g_assert_cmpstr (e->p.text[GAF_PARAM_IMAGE_DATA], ==, "scenes:classes=3,size=8");
  g_assert_cmpint (e->n, ==, 2);
  g_assert_cmpint (e->c, ==, 2);
  gaf_experiment_free (e);

  /* Label maps under the name and the enum value of earlier versions. */
  small_params (&gaf_label_map_experiment, &p);
  gaf_runner_params_set_text (&p, GAF_PARAM_IMAGE_DATA, "scenes:classes=3,size=8,count=40");
  maps = gaf_experiment_new (&gaf_label_map_experiment, &p, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *a = g_build_filename (dir, "a.gafck", NULL);
      g_autofree char *b = g_build_filename (dir, "b.gafck", NULL);
      g_autoptr(GafCheckpoint) ck = NULL;
      GKeyFile *kf;

      g_assert_true (gaf_experiment_save (maps, a, &error));
      ck = gaf_checkpoint_load (a, &error);
      g_assert_no_error (error);
      kf = gaf_checkpoint_get_config (ck);
      g_key_file_set_string (kf, "app", "experiment", names[i]);
      g_assert_true (gaf_trainer_save_checkpoint (maps->trainer, b, kf, &error));
      e = gaf_experiment_load (b, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (e->klass == &gaf_label_map_experiment);
      g_assert_cmpstr (e->p.text[GAF_PARAM_IMAGE_DATA], ==, "scenes:classes=3,size=8,count=40");
      gaf_experiment_free (e);
      /* An experiment nobody knows: refused with the file's name. */
      g_key_file_set_string (kf, "app", "experiment", "nonesuch");
      g_assert_true (gaf_trainer_save_checkpoint (maps->trainer, b, kf, &error));
      g_assert_null (gaf_experiment_load (b, NULL, &error));
      g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
      g_assert_nonnull (strstr (error->message, "nonesuch"));
      g_clear_error (&error);
      g_unlink (a);
      g_unlink (b);
    }
  gaf_experiment_free (maps);
  g_rmdir (dir);
}

/* The text experiment on a file the user opens: the lines of its most common length are the data, the
 * payload names the most frequent ones in order with their shares, and a round says which generated
 * sequences are lines of the file and what share of all are. A file without such lines is refused. */
static void
test_text_file (void)
{
  static const char lines[] = "gaf\nflow\nflow\nflow\ngaf\nmaps\nmaps\nmaps\nmaps\nlonger line\n\n";
  g_autofree char *dir = g_dir_make_tmp ("gaflow-text-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "words.txt", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty.txt", NULL);
  g_autoptr(GError) error = NULL;
  const GafTextPayload *t;
  GafExperiment *e;
  GafRunnerParams p;
  GafRng rng;
  guint known = 0;

  g_assert_true (g_file_set_contents (path, lines, -1, NULL));
  small_params (&gaf_text_experiment, &p);
  gaf_runner_params_set_text (&p, GAF_PARAM_TEXT_DATA, path);
  e = gaf_experiment_new (&gaf_text_experiment, &p, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->n, ==, 4);        /* "flow" and "maps": 4 characters is the most common length */
  t = gaf_text_payload (e->payload);
  g_assert_nonnull (t);
  g_assert_cmpuint (t->lines, ==, 11);   /* the empty line counts as a line of the file */
  g_assert_cmpuint (t->kept, ==, 7);
  g_assert_cmpuint (t->n_frequent, ==, 2);
  g_assert_cmpstr (t->frequent[0], ==, "maps");
  g_assert_cmpstr (t->frequent[1], ==, "flow");
  g_assert_cmpfloat_with_epsilon (t->frequent_p[0], 4.0 / 7.0, 1e-12);
  g_assert_cmpuint (t->n_generated, ==, 0);

  gaf_rng_init (&rng, 11);
  g_assert_true (gaf_experiment_sample (e, &rng, NULL, &error));
  g_assert_no_error (error);
  t = gaf_text_payload (e->payload);
  g_assert_cmpuint (t->n_generated, ==, MIN (GAF_TEXT_SHOWN, t->samples));
  for (guint i = 0; i < t->n_generated; i++)
    {
      gboolean line = g_str_equal (t->generated[i], "maps") || g_str_equal (t->generated[i], "flow");
      g_assert_cmpuint (g_utf8_strlen (t->generated[i], -1), ==, 4);
      g_assert_cmpint (t->generated_known[i], ==, line);
      known += line;
    }
  g_assert_true (t->share >= 0.0 && t->share <= 1.0);
  g_test_message ("untrained: %u of the first %u generated are lines; share %.3f of %u", known, t->n_generated,
                  t->share, (guint) t->samples);
  gaf_experiment_free (e);

  g_assert_true (g_file_set_contents (empty, "\n\n", -1, NULL));
  gaf_runner_params_set_text (&p, GAF_PARAM_TEXT_DATA, empty);
  g_assert_null (gaf_experiment_new (&gaf_text_experiment, &p, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  gaf_runner_params_set_text (&p, GAF_PARAM_TEXT_DATA, dir);   /* not a regular file */
  g_assert_null (gaf_experiment_new (&gaf_text_experiment, &p, NULL, &error));
  g_assert_nonnull (error);
  g_unlink (path);
  g_unlink (empty);
  g_rmdir (dir);
}

/* The parameter table and the GSettings schema (the build's compiled copy of
 * data/io.github.gaflow.Gaflow.gschema.xml) say the same: every row is a key of its type with the
 * table's range and default, a choice is an enum of the table's nicks, and the experiment is a string
 * whose default is the registry's default. */
static void
test_schema_matches_table (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSettingsSchemaSource) source =
    g_settings_schema_source_new_from_directory (GAF_BUILD_ROOT "/data", NULL, FALSE, &error);
  g_autoptr(GSettingsSchema) schema = NULL;
  g_autoptr(GSettingsSchemaKey) experiment = NULL;
  g_autoptr(GVariant) experiment_default = NULL;

  g_assert_no_error (error);
  schema = g_settings_schema_source_lookup (source, APPLICATION_ID, FALSE);
  g_assert_nonnull (schema);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      const GafParamInfo *info = gaf_param_info (i);
      g_autoptr(GSettingsSchemaKey) key = NULL;
      g_autoptr(GVariant) def = NULL, range = NULL, bounds = NULL;
      const char *kind;

      if (!g_settings_schema_has_key (schema, info->key))
        g_error ("the table's parameter “%s” is not a key of the schema", info->key);
      key = g_settings_schema_get_key (schema, info->key);
      def = g_settings_schema_key_get_default_value (key);
      range = g_settings_schema_key_get_range (key);
      g_variant_get (range, "(&sv)", &kind, &bounds);
      switch (info->type)
        {
        case GAF_PARAM_INT:
          g_assert_cmpstr (g_variant_get_type_string (def), ==, "i");
          g_assert_cmpstr (kind, ==, "range");
          {
            gint32 lo, hi;
            g_variant_get (bounds, "(ii)", &lo, &hi);
            if (lo != info->min || hi != info->max || g_variant_get_int32 (def) != info->def)
              g_error ("“%s”: schema range %d .. %d default %d, table %g .. %g default %g", info->key, lo, hi,
                       g_variant_get_int32 (def), info->min, info->max, info->def);
          }
          break;
        case GAF_PARAM_DOUBLE:
          g_assert_cmpstr (g_variant_get_type_string (def), ==, "d");
          g_assert_cmpstr (kind, ==, "range");
          {
            double lo, hi;
            g_variant_get (bounds, "(dd)", &lo, &hi);
            if (lo != info->min || hi != info->max || g_variant_get_double (def) != info->def)
              g_error ("“%s”: schema range %g .. %g default %g, table %g .. %g default %g", info->key, lo, hi,
                       g_variant_get_double (def), info->min, info->max, info->def);
          }
          break;
        case GAF_PARAM_CHOICE:
          g_assert_cmpstr (kind, ==, "enum");
          {
            g_autofree const char **nicks = g_variant_get_strv (bounds, NULL);
            g_assert_cmpuint (g_strv_length ((char **) nicks), ==, g_strv_length ((char **) info->choices));
            for (guint k = 0; info->choices[k] != NULL; k++)
              g_assert_cmpstr (nicks[k], ==, info->choices[k]);
            g_assert_cmpstr (g_variant_get_string (def, NULL), ==, info->choices[(int) info->def]);
          }
          break;
        case GAF_PARAM_TEXT:
          g_assert_cmpstr (g_variant_get_type_string (def), ==, "s");
          g_assert_cmpstr (g_variant_get_string (def, NULL), ==, info->def_text);
          break;
        }
    }
  g_assert_true (g_settings_schema_has_key (schema, "experiment"));
  experiment = g_settings_schema_get_key (schema, "experiment");
  experiment_default = g_settings_schema_key_get_default_value (experiment);
  g_assert_cmpstr (g_variant_get_type_string (experiment_default), ==, "s");
  g_assert_cmpstr (g_variant_get_string (experiment_default, NULL), ==, gaf_experiment_default ()->id);
}

/* The table's own consistency: ranges hold their defaults, choices and presets are complete, keys unique. */
static void
test_table (void)
{
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      const GafParamInfo *info = gaf_param_info (i);

      g_assert_nonnull (info->key);
      g_assert_cmpint (gaf_param_from_key (info->key), ==, i);
      g_assert_nonnull (info->label);
      g_assert_nonnull (info->tooltip);
      g_assert_cmpint (info->section, <, GAF_N_PARAM_SECTIONS);
      if (info->type == GAF_PARAM_TEXT)
        g_assert_nonnull (info->def_text);
      else
        {
          g_assert_cmpfloat (info->min, <=, info->def);
          g_assert_cmpfloat (info->def, <=, info->max);
          g_assert_cmpfloat (gaf_param_clamp (i, info->def), ==, info->def);
        }
      if (info->type == GAF_PARAM_CHOICE)
        {
          g_assert_cmpuint (g_strv_length ((char **) info->choices), ==, info->max + 1);
          g_assert_cmpuint (g_strv_length ((char **) info->choice_labels), ==, info->max + 1);
        }
    }
  g_assert_cmpint (gaf_param_from_key ("nonesuch"), ==, -1);

  /* Values as text (presets, options): in range, whole where the parameter counts, choices by nick. */
  {
    double v = -1;
    g_assert_true (gaf_param_parse (GAF_PARAM_BATCH, "64", &v));
    g_assert_cmpfloat (v, ==, 64);
    g_assert_false (gaf_param_parse (GAF_PARAM_BATCH, "64.5", &v));
    g_assert_false (gaf_param_parse (GAF_PARAM_BATCH, "1e9", &v));
    g_assert_false (gaf_param_parse (GAF_PARAM_LEARNING_RATE, "nan", &v));
    g_assert_false (gaf_param_parse (GAF_PARAM_LEARNING_RATE, "0.001x", &v));
    g_assert_true (gaf_param_parse (GAF_PARAM_INTEGRATOR, "euler", &v));
    g_assert_cmpfloat (v, ==, 0);
    g_assert_true (gaf_param_parse (GAF_PARAM_INTEGRATOR, "1", &v));
    g_assert_cmpfloat (v, ==, 1);
    g_assert_false (gaf_param_parse (GAF_PARAM_INTEGRATOR, "heun", &v));
    g_assert_false (gaf_param_parse (GAF_PARAM_IMAGE_DATA, "mnist", &v));
  }
}

/* The jump flows in every experiment with the method parameter: the network's input width, the trainer, a round
 * that records the chain (times 0 .. 1, a state per step, the masked source unmasked by the end, the prediction
 * a distribution, delta at an unmasked state), no field, and a model file that opens with its method. */
static void
test_jump_experiments (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-jump-XXXXXX", NULL);

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    for (int choice = 1; choice <= 2 && gaf_experiment_uses (*k, GAF_PARAM_METHOD); choice++)
      {
        g_autofree char *path = g_strdup_printf ("%s/%s-%d.gafck", dir, (*k)->id, choice);
        g_autoptr(GError) error = NULL;
        GafMethod method = choice == 1 ? GAF_METHOD_MASKED : GAF_METHOD_UNIFORM;
        const GafTrajectories *tr;
        GafExperiment *e, *back;
        GafRunnerParams p;
        GafRng rng;
        guint last;

        small_params (*k, &p);
        p.value[GAF_PARAM_METHOD] = choice;
        p.value[GAF_PARAM_JUMP_STEPS] = 5;
        g_assert_cmpint (gaf_runner_params_method (&p), ==, method);
        e = gaf_experiment_new (*k, &p, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (e->method, ==, method);
        g_assert_null (e->trainer);
        g_assert_nonnull (e->jump_trainer);
        g_assert_cmpint (e->net->in_channels, ==, method == GAF_METHOD_MASKED ? e->c + 1 : e->c);
        for (int step = 0; step < 3; step++)
          {
            double loss = NAN;
            g_assert_true (gaf_experiment_train_step (e, &loss, &error));
            g_assert_no_error (error);
            g_assert_true (isfinite (loss) && loss >= 0.0);
          }
        gaf_rng_init (&rng, 7);
        g_assert_true (gaf_experiment_sample (e, &rng, NULL, &error));
        g_assert_no_error (error);
        tr = gaf_payload_trajectories (e->payload);
        g_assert_nonnull (tr);
        g_assert_nonnull (tr->state);
        g_assert_null (gaf_payload_field (e->payload));
        g_assert_cmpuint (tr->n_times, ==, 6);
        g_assert_cmpfloat (tr->times[0], ==, 0.0);
        g_assert_cmpfloat_with_epsilon (tr->times[5], 1.0, 1e-12);
        last = tr->n_times - 1;
        for (guint r = 0; r < tr->n_rows; r++)
          {
            g_assert_cmpuint (tr->state[(gsize) last * tr->n_rows + r], ==, tr->labels[r]);
            g_assert_cmpuint (tr->labels[r], <, (guint) tr->c);
            if (method == GAF_METHOD_MASKED)
              g_assert_cmpuint (tr->state[r], ==, (guint) tr->c);   /* all masked at t = 0 */
            for (guint j = 0; j < tr->n_times; j++)
              {
                const float *w = tr->w + ((gsize) j * tr->n_rows + r) * tr->c;
                double sum = 0;
                for (int y = 0; y < tr->c; y++)
                  {
                    g_assert_true (w[y] >= 0.0f && w[y] <= 1.0f);
                    sum += w[y];
                  }
                g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);
                if (method == GAF_METHOD_MASKED && j > 0 && tr->state[(gsize) (j - 1) * tr->n_rows + r] < tr->c)
                  g_assert_cmpfloat (w[tr->state[(gsize) (j - 1) * tr->n_rows + r]], ==, 1.0f);
              }
          }
        g_assert_true (gaf_experiment_save (e, path, &error));
        g_assert_no_error (error);
        back = gaf_experiment_load (path, NULL, &error);
        g_assert_no_error (error);
        g_assert_cmpint (back->method, ==, method);
        g_assert_nonnull (back->jump_trainer);
        g_assert_cmpuint (gaf_experiment_step (back), ==, 3);
        if (choice == 1 && g_str_equal ((*k)->id, "coupled"))
          {
            /* a model file of an earlier version (no method anywhere: GAF) opened while the app trains a jump
             * flow opens as GAF: the file's [train] method decides */
            g_autofree char *old = g_test_build_filename (G_TEST_DIST, "data", "coupled-64b3b1c.gafck", NULL);
            GafExperiment *g = gaf_experiment_load (old, e, &error);
            g_assert_no_error (error);
            g_assert_cmpint (g->method, ==, GAF_METHOD_GAF);
            g_assert_cmpfloat (g->p.value[GAF_PARAM_METHOD], ==, 0);
            g_assert_nonnull (g->trainer);
            gaf_experiment_free (g);
          }
        g_test_message ("%s, %s: n %d, c %d, %u rows x %u records", (*k)->id, gaf_method_to_string (method), e->n,
                        e->c, tr->n_rows, tr->n_times);
        gaf_experiment_free (back);
        gaf_experiment_free (e);
        g_unlink (path);
      }
}

/* Which rows the panel shows: a parameter applies for the method chosen, and only an experiment with the
 * method parameter has a method other than GAF. */
static void
test_params_apply (void)
{
  GafRunnerParams p;

  gaf_runner_params_init (&p);
  p.experiment = gaf_experiment_lookup ("scaling");
  g_assert_nonnull (p.experiment);
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_LAMBDA));
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_INTEGRATOR));
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_JUMP_STEPS));
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_KAPPA));
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_METHOD));
  p.value[GAF_PARAM_METHOD] = 1;
  g_assert_cmpint (gaf_runner_params_method (&p), ==, GAF_METHOD_MASKED);
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_LAMBDA));
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_T_END));
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_JUMP_STEPS));
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_KAPPA));
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_LEARNING_RATE));
  p.experiment = gaf_experiment_lookup ("exact");   /* no method parameter: GAF's exact field */
  g_assert_cmpint (gaf_runner_params_method (&p), ==, GAF_METHOD_GAF);
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_LAMBDA));
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_JUMP_STEPS));
  g_assert_false (gaf_runner_params_applies (&p, GAF_PARAM_METHOD));
}

/* ---- the sampling precision of the label maps' UNet ---------------------------------------------------- */

/* Weights drawn from a fixed seed: a new UNet's output is zero (its last convolution starts at zero), so nothing
 * would tell the precisions apart. */
static void
scramble_weights (GafExperiment *e)
{
  GafParams *params = gaf_net_get_params (e->net);
  GafRng rng;

  gaf_rng_init (&rng, 42);
  fill_uniform (&rng, params->data, params->size, -0.3, 0.3);
}

/* The network's output (its weights of now, not the average) for a fixed batch: two maps of random points of the
 * simplex, at t = 1.5 and 6. */
static float *
infer_maps (GafExperiment *e)
{
  gsize len = (gsize) 2 * e->n * e->c;
  g_autofree float *logits = g_new (float, len), *x = g_new (float, len);
  float t[2] = { 1.5f, 6.0f };
  float *out = g_new (float, len);
  GafRng rng;

  gaf_rng_init (&rng, 99);
  for (gsize i = 0; i < len; i++)
    logits[i] = (float) (4.0 * gaf_rng_uniform (&rng) - 2.0);
  gaf_softmax_rows (logits, x, (gsize) 2 * e->n, e->c);
  gaf_net_infer (e->net, x, t, 2, out);
  return out;
}

/* The precision row: a choice of the sampler section (float or bf16, by nick) that only the label maps show, applied
 * to their UNet when it changes and when a model is built or opened. In bf16 the output moves by bf16's rounding and
 * no more; in float again it is the float output bit for bit. Where bf16 cannot be had (a CPU without AVX-512 BF16;
 * on any CPU a network without a bf16 path, here a toy CNN in a label maps' file) the parameter falls back to float,
 * the network samples in float, and one reason is kept for the runner to report, once per attempt. */
static void
test_precision (void)
{
  const GafParamInfo *info = gaf_param_info (GAF_PARAM_PRECISION);
  g_autofree char *dir = g_dir_make_tmp ("gaflow-precision-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "maps.gafck", NULL);
  g_autofree char *toy = g_build_filename (dir, "toy.gafck", NULL);
  g_autofree float *out_float = NULL, *out_bf16 = NULL, *out = NULL;
  g_autoptr(GError) error = NULL;
  gboolean bf16 = gaf_bf16_available ();
  GafExperiment *e, *back;
  GafParam param = GAF_N_PARAMS;
  GafRunnerParams p;
  GError *why;
  double v = -1, diff = 0.0, scale;
  gsize len;
  GafRng rng;

  g_assert_cmpstr (info->key, ==, "precision");
  g_assert_cmpint (info->type, ==, GAF_PARAM_CHOICE);
  g_assert_cmpint (info->section, ==, GAF_PARAM_SECTION_SAMPLER);
  g_assert_cmpint (info->applies, ==, GAF_PARAM_FOR_ALL);
  g_assert_cmpfloat (info->def, ==, GAF_PRECISION_FLOAT);
  g_assert_cmpstr (info->choices[GAF_PRECISION_FLOAT], ==, gaf_precision_to_string (GAF_PRECISION_FLOAT));
  g_assert_cmpstr (info->choices[GAF_PRECISION_BF16], ==, gaf_precision_to_string (GAF_PRECISION_BF16));
  g_assert_true (gaf_param_parse (GAF_PARAM_PRECISION, "bf16", &v));
  g_assert_cmpfloat (v, ==, GAF_PRECISION_BF16);
  g_assert_false (gaf_param_parse (GAF_PARAM_PRECISION, "fp16", &v));
  g_assert_nonnull (info->unavailable);
  g_assert_null (info->unavailable (GAF_PRECISION_FLOAT));
  g_assert_cmpint (info->unavailable (GAF_PRECISION_BF16) == NULL, ==, bf16);
  /* only the UNet has a bf16 path: the row is the label maps' alone */
  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    g_assert_cmpint (gaf_experiment_uses (*k, GAF_PARAM_PRECISION), ==, *k == &gaf_label_map_experiment);
  /* a jump flow samples with the same network: the row stays */
  small_params (&gaf_label_map_experiment, &p);
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_PRECISION));
  p.value[GAF_PARAM_METHOD] = 1;
  g_assert_true (gaf_runner_params_applies (&p, GAF_PARAM_PRECISION));

  small_params (&gaf_label_map_experiment, &p);
  gaf_runner_params_set_text (&p, GAF_PARAM_IMAGE_DATA, "scenes:classes=3,size=8,count=40");
  e = gaf_experiment_new (&gaf_label_map_experiment, &p, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (e->net->klass->name, ==, "unet");
  g_assert_null (gaf_experiment_take_adjusted (e, &param));
  scramble_weights (e);
  len = (gsize) 2 * e->n * e->c;
  out_float = infer_maps (e);
  scale = max_abs (out_float, len);

  /* the change */
  gaf_experiment_set_param (e, GAF_PARAM_PRECISION, GAF_PRECISION_BF16);
  why = gaf_experiment_take_adjusted (e, &param);
  out_bf16 = infer_maps (e);
  for (gsize i = 0; i < len; i++)
    diff = MAX (diff, fabs ((double) out_bf16[i] - out_float[i]));
  g_test_message ("bf16 %s: the output moved by %.3g at most (largest |output| %.3g)%s%s",
                  bf16 ? "available" : "not available", diff, scale, why ? "; " : "", why ? why->message : "");
  if (bf16)
    {
      g_assert_null (why);
      g_assert_cmpfloat (e->p.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_BF16);
      g_assert_cmpfloat (diff, >, 0.0);            /* the attention and 1x1 products are rounded ... */
      g_assert_cmpfloat (diff, <, 0.05 * scale);   /* ... to 8 significant bits, not broken */
    }
  else
    {
      g_assert_nonnull (why);
      g_assert_cmpint (param, ==, GAF_PARAM_PRECISION);
      g_assert_nonnull (strstr (why->message, "AVX-512 BF16"));
      g_assert_cmpfloat (e->p.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_FLOAT);
      g_assert_cmpmem (out_bf16, len * sizeof (float), out_float, len * sizeof (float));
    }
  g_clear_error (&why);
  g_assert_null (gaf_experiment_take_adjusted (e, NULL));   /* reported once */
  gaf_rng_init (&rng, 7);
  g_assert_true (gaf_experiment_sample (e, &rng, NULL, &error));
  g_assert_no_error (error);
  check_round (e);

  /* a model file keeps the precision by nick, and the network opened samples in it */
  g_assert_true (gaf_experiment_save (e, path, &error));
  g_assert_no_error (error);
  back = gaf_experiment_load (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (back->p.value[GAF_PARAM_PRECISION], ==, e->p.value[GAF_PARAM_PRECISION]);
  g_assert_null (gaf_experiment_take_adjusted (back, NULL));
  out = infer_maps (back);
  g_assert_cmpmem (out, len * sizeof (float), out_bf16, len * sizeof (float));
  g_clear_pointer (&out, g_free);
  gaf_experiment_free (back);

  /* a new model is built in the precision of the parameters */
  g_assert_true (gaf_experiment_rebuild (e, &error));
  g_assert_no_error (error);
  g_assert_null (gaf_experiment_take_adjusted (e, NULL));
  scramble_weights (e);
  out = infer_maps (e);
  g_assert_cmpmem (out, len * sizeof (float), out_bf16, len * sizeof (float));
  g_clear_pointer (&out, g_free);

  /* float again: the float output */
  gaf_experiment_set_param (e, GAF_PARAM_PRECISION, GAF_PRECISION_FLOAT);
  g_assert_null (gaf_experiment_take_adjusted (e, NULL));
  g_assert_cmpfloat (e->p.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_FLOAT);
  out = infer_maps (e);
  g_assert_cmpmem (out, len * sizeof (float), out_float, len * sizeof (float));
  g_clear_pointer (&out, g_free);

  /* a file asking bf16 of a network that has no bf16 path: opened, in float, with the reason */
  g_assert_true (gaf_experiment_save (e, path, &error));
  g_assert_no_error (error);
  gaf_test_write_toy_cnn_label_maps (path, toy, "bf16");
  back = gaf_experiment_load (toy, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (back->klass == &gaf_label_map_experiment);
  g_assert_cmpstr (back->net->klass->name, ==, "toy-cnn");
  g_assert_cmpfloat (back->p.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_FLOAT);
  param = GAF_N_PARAMS;
  why = gaf_experiment_take_adjusted (back, &param);
  g_assert_nonnull (why);
  g_test_message ("%s", why->message);
  g_assert_cmpint (param, ==, GAF_PARAM_PRECISION);
  g_assert_nonnull (strstr (why->message, bf16 ? "toy-cnn" : "AVX-512 BF16"));
  g_clear_error (&why);
  gaf_rng_init (&rng, 7);
  g_assert_true (gaf_experiment_sample (back, &rng, NULL, &error));
  g_assert_no_error (error);
  check_round (back);
  /* asked again: refused again, said again */
  gaf_experiment_set_param (back, GAF_PARAM_PRECISION, GAF_PRECISION_BF16);
  g_assert_cmpfloat (back->p.value[GAF_PARAM_PRECISION], ==, GAF_PRECISION_FLOAT);
  why = gaf_experiment_take_adjusted (back, &param);
  g_assert_nonnull (why);
  g_clear_error (&why);
  gaf_experiment_free (back);

  gaf_experiment_free (e);
  g_unlink (path);
  g_unlink (toy);
  g_rmdir (dir);
}

/* ---- models trained elsewhere: the authors' DenseNet in the joint experiments ---------------------------- */

/* What `gaflow-cli train --data SPEC --model dense:hidden=8,8 --checkpoint CK` writes (a DenseNet on the data
 * of spec, trained a few steps; [model] [train] [data] and no [app] group), and what `gaflow-cli export
 * --checkpoint CK --out ST` makes of it (the averaged weights under the PyTorch names, the configuration
 * and the data in the metadata; without names_data, the metadata of tools/torch2safetensors.py: the network,
 * not the data). */
static void
write_dense_files (const char *ck, const char *st, const char *spec, gboolean names_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) target = gaf_joint_new_from_spec (spec, 0, NULL, NULL, &error);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  g_autoptr(GafSafetensorsWriter) w = gaf_safetensors_writer_new ();
  g_autofree char *text = NULL;
  GafModelConfig mc;
  GafTrainerConfig tcfg;
  double loss;

  g_assert_no_error (error);
  gaf_model_config_init (&mc, GAF_MODEL_DENSE, target->n, target->c, 5);
  mc.dense.n_hidden = 2;
  mc.dense.hidden[0] = mc.dense.hidden[1] = 8;
  net = gaf_model_new (&mc, &error);
  g_assert_no_error (error);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 16;
  tcfg.ema_decay = 0.9;
  tr = gaf_trainer_new (net, gaf_joint_sample, target, &tcfg);
  for (int s = 0; s < 5; s++)
    g_assert_true (gaf_trainer_step (tr, &loss, &error));
  gaf_model_config_to_keyfile (&mc, kf);
  g_key_file_set_string (kf, "data", "spec", spec);
  g_assert_true (gaf_trainer_save_checkpoint (tr, ck, kf, &error));
  g_assert_no_error (error);

  g_assert_true (gaf_torch_export (net, &mc, gaf_net_get_params (net)->ema, w, &error));
  g_assert_no_error (error);
  gaf_torch_write_metadata (&mc, w);
  text = g_key_file_to_data (kf, NULL, NULL);
  if (names_data)
    gaf_safetensors_writer_set_metadata (w, "gaflow.config", text);
  g_assert_true (gaf_safetensors_writer_save (w, st, &error));
  g_assert_no_error (error);
}

/* The model opens in the joint experiment of its data, keeps its network and running statistics, samples
 * (the payload's model table) and trains on. */
static void
check_dense_opens (GafExperiment *e, const GafExperimentClass *klass, int c)
{
  g_autoptr(GError) error = NULL;
  const GafJointPayload *j;
  GafRng rng;
  double loss, mass = 0.0;

  g_assert_true (e->klass == klass);
  g_assert_cmpstr (e->net->klass->name, ==, "dense");
  g_assert_false (e->net_described);   /* no row of the panel describes a DenseNet: the window says so */
  g_assert_cmpint (e->n, ==, 2);
  g_assert_cmpint (e->c, ==, c);
  g_assert_cmpuint (gaf_experiment_step (e), ==, 5);
  /* the running statistics came with it: moved 5 times from their start (mean 0, count 0) */
  g_assert_cmpfloat (e->net->params->data[gaf_params_find (e->net->params, "bn0.count")->offset], ==, 5.0f);
  gaf_rng_init (&rng, 3);
  g_assert_true (gaf_experiment_sample (e, &rng, NULL, &error));
  g_assert_no_error (error);
  j = gaf_joint_payload (e->payload);
  g_assert_nonnull (j);
  g_assert_nonnull (j->model);
  g_assert_cmpint (j->c, ==, c);
  for (int i = 0; i < c * c; i++)
    mass += j->model[i];
  g_assert_cmpfloat_with_epsilon (mass, 1.0, 1e-9);
  g_assert_true (isfinite (j->kl));
  g_assert_true (gaf_experiment_train_step (e, &loss, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (loss));
  g_assert_cmpuint (gaf_experiment_step (e), ==, 6);
}

/* What gaflow-cli train --data pinwheel:bins=16 --model mlp --hidden H [--depth D] writes (no [app] group). */
static void
write_mlp_checkpoint (const char *ck, int hidden, int depth)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafJoint) target = gaf_joint_new_from_spec ("pinwheel:bins=16", 0, NULL, NULL, &error);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  GafModelConfig mc;
  GafTrainerConfig tcfg;
  double loss;

  g_assert_no_error (error);
  gaf_model_config_init (&mc, GAF_MODEL_MLP, target->n, target->c, 5);
  mc.mlp.hidden = hidden;
  mc.mlp.depth = depth;
  net = gaf_model_new (&mc, &error);
  g_assert_no_error (error);
  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 16;
  tr = gaf_trainer_new (net, gaf_joint_sample, target, &tcfg);
  g_assert_true (gaf_trainer_step (tr, &loss, &error));
  gaf_model_config_to_keyfile (&mc, kf);
  g_key_file_set_string (kf, "data", "spec", "pinwheel:bins=16");
  g_assert_true (gaf_trainer_save_checkpoint (tr, ck, kf, &error));
  g_assert_no_error (error);
}

/* An opened network's width shows in the panel's row when the row can describe it (an MLP of the default
 * depth: the width from the file, not the row's old value); an MLP of another depth or a width the row
 * cannot take is not described (net_described FALSE: the window names the network instead). */
static void
test_opened_width (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-width-XXXXXX", NULL);
  g_autofree char *ck = g_build_filename (dir, "mlp.gafck", NULL);
  g_autoptr(GError) error = NULL;
  GafMlpConfig def;
  GafExperiment *e;

  gaf_mlp_config_init (&def, 2, 16);
  write_mlp_checkpoint (ck, 32, def.depth);
  e = gaf_experiment_open (ck, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (e->klass == &gaf_pinwheel_experiment);
  g_assert_true (e->net_described);
  g_assert_cmpfloat (e->p.value[GAF_PARAM_WIDTH], ==, 32);
  gaf_experiment_free (e);
  g_unlink (ck);

  write_mlp_checkpoint (ck, 32, def.depth + 1);
  e = gaf_experiment_open (ck, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (e->net_described);
  gaf_experiment_free (e);
  g_unlink (ck);

  write_mlp_checkpoint (ck, 512, def.depth);   /* wider than the row's 256 */
  e = gaf_experiment_open (ck, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (e->net_described);
  gaf_experiment_free (e);
  g_unlink (ck);
  g_rmdir (dir);
}

/* A DenseNet trained by gaflow-cli (a .gafck naming its data) and the same model exported (.safetensors
 * whose metadata names network and data) open in the joint experiment that shows their data: the coupled
 * pair, the pinwheel and the 8 Gaussians on the app's 16 x 16 grid. Data no experiment shows (the CLI's
 * 91 x 91 pinwheel, text) and a file that names no data are refused with one error saying so. */
static void
test_dense_models (void)
{
  static const struct { const char *spec; const GafExperimentClass *klass; int c; } ok[] = {
    { "coupled-binary", &gaf_coupled_experiment, 2 },
    { "pinwheel:bins=16", &gaf_pinwheel_experiment, 16 },
    { "gaussians:bins=16", &gaf_gaussians_experiment, 16 },
  };
  g_autofree char *dir = g_dir_make_tmp ("gaflow-dense-XXXXXX", NULL);
  g_autofree char *ck = g_build_filename (dir, "dense.gafck", NULL);
  g_autofree char *st = g_build_filename (dir, "dense.safetensors", NULL);
  g_autoptr(GError) error = NULL;
  GafExperiment *e;

  for (guint i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      write_dense_files (ck, st, ok[i].spec, TRUE);
      e = gaf_experiment_open (ck, NULL, &error);
      g_assert_no_error (error);
      check_dense_opens (e, ok[i].klass, ok[i].c);
      gaf_experiment_free (e);
      /* exported, opened directly */
      e = gaf_experiment_open (st, NULL, &error);
      g_assert_no_error (error);
      g_assert_true (e->klass == ok[i].klass);
      g_assert_cmpstr (e->net->klass->name, ==, "dense");
      gaf_experiment_free (e);
    }

  /* the CLI's pinwheel has 91 classes: no experiment of the app shows it */
  write_dense_files (ck, st, "pinwheel", TRUE);
  g_assert_null (gaf_experiment_open (ck, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "no experiment of the app shows the data"));
  g_assert_nonnull (strstr (error->message, "'pinwheel' (pinwheel:bins=91)"));
  g_assert_nonnull (strstr (error->message, "pinwheel:bins=16"));
  g_assert_nonnull (strstr (error->message, "dense.gafck"));
  g_clear_error (&error);
  g_assert_null (gaf_experiment_open (st, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_assert_nonnull (strstr (error->message, "dense.safetensors: no experiment of the app shows the data"));
  g_clear_error (&error);

  /* from PyTorch: the file says which network, not which data */
  write_dense_files (ck, st, "coupled-binary", FALSE);
  g_assert_null (gaf_experiment_open (st, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_FORMAT);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "dense.safetensors: the file does not say which data"));
  g_assert_nonnull (strstr (error->message, "gaflow-cli import"));
  g_clear_error (&error);
  g_unlink (ck);
  g_unlink (st);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/engine/experiments/opened-width", test_opened_width);
  g_test_add_func ("/engine/experiments/registry", test_registry);
  g_test_add_func ("/engine/experiments/table", test_table);
  g_test_add_func ("/engine/experiments/schema-matches-table", test_schema_matches_table);
  g_test_add_func ("/engine/experiments/every-experiment", test_every_experiment);
  g_test_add_func ("/engine/experiments/jump-flows", test_jump_experiments);
  g_test_add_func ("/engine/experiments/params-apply", test_params_apply);
  g_test_add_func ("/engine/experiments/earlier-files", test_earlier_files);
  g_test_add_func ("/engine/experiments/open-scheduled-file", test_open_scheduled_file);
  g_test_add_func ("/engine/experiments/text-file", test_text_file);
  g_test_add_func ("/engine/experiments/dense-models", test_dense_models);
  g_test_add_func ("/engine/experiments/precision", test_precision);
  return g_test_run ();
}
