/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-parameters"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-experiment.h"
#include "gaf-gemm-small.h"
#include "gaf-parameters.h"

static const char *const integrator_nicks[] = { "euler", "rk4", NULL };          /* GafIntegrator order */
static const char *const integrator_labels[] = { N_("Euler"), N_("RK4 (3/8 rule)"), NULL };

/* GAF_PARAM_METHOD: the choices' order is gaf_runner_params_method's (gaf-experiment.c). */
static const char *const method_nicks[] = { "gaf", "masked", "uniform", NULL };
static const char *const method_labels[] = { N_("GAF (assignment flow)"), N_("Jump flow, masked source"),
                                             N_("Jump flow, uniform source"), NULL };
static const char *const kappa_nicks[] = { "linear", "poly", "cosine", NULL };     /* GafKappa order */
static const char *const kappa_labels[] = { N_("κ = t"), N_("κ = t²"), N_("κ = sin²(πt/2)"), NULL };

static const char *const precision_nicks[] = { "float", "bf16", NULL };            /* GafPrecision order */
static const char *const precision_labels[] = { N_("Float"), N_("bf16 (AVX-512 BF16)"), NULL };

/* bf16's products (vdpbf16ps) are an instruction of AVX-512 BF16: on another CPU the UNet refuses them. */
static const char *
precision_unavailable (int choice)
{
  if (choice == GAF_PRECISION_BF16 && !gaf_bf16_available ())
    return N_("This CPU lacks AVX-512 BF16, so the maps are sampled in float.");
  return NULL;
}

static const GafParamPreset image_presets[] = {
  { "fashion-mnist:levels=2,size=16", N_("Fashion-MNIST 16 × 16, 2 levels") },
  { "fashion-mnist:levels=4,size=16", N_("Fashion-MNIST 16 × 16, 4 levels") },
  { "scenes:classes=3,size=16",       N_("Scenes 16 × 16, 3 classes") },
  { "scenes:classes=8,size=16",       N_("Scenes 16 × 16, 8 classes") },
  { NULL, NULL },
};

#define MODEL    GAF_PARAM_SECTION_MODEL
#define TRAINING GAF_PARAM_SECTION_TRAINING
#define SAMPLER  GAF_PARAM_SECTION_SAMPLER

static const GafParamInfo table[GAF_N_PARAMS] = {
  [GAF_PARAM_CLASSES] = {
    "classes", GAF_PARAM_INT, MODEL, 2, 12, 3,
    .label = N_("Classes c"),
    .tooltip = N_("The number of classes c: every row lives on the simplex with c vertices, one per class.") },
  [GAF_PARAM_WIDTH] = {
    "width", GAF_PARAM_INT, MODEL, 16, 256, 64, .step = 16, .multiple_of = 2,   /* even: Fourier features */
    .label = N_("Network width"),
    .tooltip = N_("Hidden channels of the toy CNN: a wider network can fit the field more closely but trains more slowly.") },
  [GAF_PARAM_SEED] = {
    "seed", GAF_PARAM_INT, MODEL, 1, 1000000, 1,
    .label = N_("Seed"),
    .tooltip = N_("Seeds the target, the initial weights and the sampler: the same seed gives the same run.") },
  [GAF_PARAM_LAMBDA] = {
    "lambda", GAF_PARAM_DOUBLE, TRAINING, 0.05, 2.0, 0.5,
    .label = N_("Field magnitude λ"),
    .tooltip = N_("How fast the conditional paths run towards their vertex, so how early the rows commit to a class."),
    .applies = GAF_PARAM_FOR_GAF },
  [GAF_PARAM_TIME_RATE] = {
    "time-rate", GAF_PARAM_DOUBLE, TRAINING, 0.05, 2.0, 0.25,
    .label = N_("Time rate"),
    .tooltip = N_("Rate of the exponential training times: a low rate trains the field for late times, a high rate for early ones."),
    .applies = GAF_PARAM_FOR_GAF },
  [GAF_PARAM_LEARNING_RATE] = {
    "learning-rate", GAF_PARAM_DOUBLE, TRAINING, 1e-5, 1e-2, 1e-3, .log_scale = TRUE, .step = 0.05,
    .label = N_("Learning rate"),
    .tooltip = N_("Adam's step size: larger steps learn the field faster but make the loss noisier and can diverge.") },
  [GAF_PARAM_BATCH] = {
    "batch", GAF_PARAM_INT, TRAINING, 8, 512, 128, .step = 8,
    .label = N_("Batch size"),
    .tooltip = N_("Labelings per training step: larger batches give smoother gradients at a higher cost per step.") },
  [GAF_PARAM_BUDGET] = {
    "budget", GAF_PARAM_INT, TRAINING, 100, 200000, 20000, .log_scale = TRUE, .step = 0.05,
    .label = N_("Budget (steps)"),
    .tooltip = N_("Training stops after this many steps; raise it to continue training.") },
  [GAF_PARAM_T_END] = {
    "t-end", GAF_PARAM_DOUBLE, SAMPLER, 1.0, 40.0, 15.0,
    .label = N_("End time T"),
    .tooltip = N_("How long the rows flow: the longer, the closer each ends to a vertex."),
    .applies = GAF_PARAM_FOR_GAF },
  [GAF_PARAM_STEP_SIZE] = {
    "step-size", GAF_PARAM_DOUBLE, SAMPLER, 0.05, 1.0, 0.5,
    .label = N_("Step size h"),
    .tooltip = N_("The integrator's step: smaller steps follow the field more closely and cost more network evaluations."),
    .applies = GAF_PARAM_FOR_GAF },
  [GAF_PARAM_INTEGRATOR] = {
    "integrator", GAF_PARAM_CHOICE, SAMPLER, 0, 1, 1, .choices = integrator_nicks, .choice_labels = integrator_labels,
    .label = N_("Integrator"),
    .tooltip = N_("Euler follows the field once per step; RK4 (3/8 rule) evaluates it four times per step for a more accurate path."),
    .applies = GAF_PARAM_FOR_GAF },
  [GAF_PARAM_SAMPLES] = {
    "samples", GAF_PARAM_INT, SAMPLER, 16, 1024, 128, .step = 8,
    .label = N_("Samples per round"),
    .tooltip = N_("Sequences drawn in each sampling round: the KL uses all of them, the simplex view shows the first 32.") },
  [GAF_PARAM_IMAGE_WIDTH] = {
    "image-width", GAF_PARAM_INT, MODEL, 8, 64, 16, .step = 8, .multiple_of = 2,
    .label = N_("Network width"),
    .tooltip = N_("Base channels of the UNet: a wider network can learn more of the maps but trains more slowly.") },
  [GAF_PARAM_IMAGE_BATCH] = {
    "image-batch", GAF_PARAM_INT, TRAINING, 4, 128, 16,
    .label = N_("Maps per batch"),
    .tooltip = N_("Label maps per training step: larger batches give smoother gradients at a higher cost per step.") },
  [GAF_PARAM_IMAGE_DATA] = {
    "image-data", GAF_PARAM_TEXT, MODEL, .def_text = "fashion-mnist:levels=2,size=16", .presets = image_presets,
    .label = N_("Data"),
    .tooltip = N_("The label maps the image experiment learns; the held-out maps of the same data give the metric and the likelihood histogram.") },
  [GAF_PARAM_TEXT_DATA] = {
    "text-data", GAF_PARAM_TEXT, MODEL, .def_text = "",
    .label = N_("Text file"),
    .tooltip = N_("The lines the text experiment learns (all of the most common length); without a file, a built-in list of words.") },
  [GAF_PARAM_METHOD] = {
    "method", GAF_PARAM_CHOICE, MODEL, 0, 2, 0, .choices = method_nicks, .choice_labels = method_labels,
    .label = N_("Method"),
    .tooltip = N_("GAF moves every row continuously inside the simplex; a jump flow is a Markov chain whose rows sit on a class (or on the mask) and jump.") },
  [GAF_PARAM_JUMP_STEPS] = {
    "jump-steps", GAF_PARAM_INT, SAMPLER, 1, 200, 20,
    .label = N_("Jump steps"),
    .tooltip = N_("Euler steps of the jump chain from t = 0 to 1, one network evaluation each: a row can jump at most once per step."),
    .applies = GAF_PARAM_FOR_JUMP },
  [GAF_PARAM_KAPPA] = {
    "kappa", GAF_PARAM_CHOICE, TRAINING, 0, 2, 0, .choices = kappa_nicks, .choice_labels = kappa_labels,
    .label = N_("Scheduler κ"),
    .tooltip = N_("The share κ of rows already at their class at time t, for training and sampling: t² and sin² leave more of the jumps for late times."),
    .applies = GAF_PARAM_FOR_JUMP },
  [GAF_PARAM_PRECISION] = {
    "precision", GAF_PARAM_CHOICE, SAMPLER, 0, 1, GAF_PRECISION_FLOAT, .choices = precision_nicks,
    .choice_labels = precision_labels, .unavailable = precision_unavailable,
    .label = N_("Precision"),
    .tooltip = N_("bf16 rounds the inputs of the UNet’s attention and 1×1 products to 8 significant bits (the sums stay in float), about twice the float rate for those products; the 3×3 convolutions, training and the likelihood stay in float.") },
};

const GafParamInfo *
gaf_param_info (GafParam param)
{
  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  return &table[param];
}

int
gaf_param_from_key (const char *key)
{
  for (int i = 0; i < GAF_N_PARAMS; i++)
    if (g_strcmp0 (table[i].key, key) == 0)
      return i;
  return -1;
}

double
gaf_param_clamp (GafParam param, double value)
{
  const GafParamInfo *info = gaf_param_info (param);

  if (info == NULL || info->type == GAF_PARAM_TEXT)
    return 0.0;
  if (!isfinite (value))
    value = info->def;
  value = CLAMP (value, info->min, info->max);
  if (info->type != GAF_PARAM_DOUBLE)
    {
      int m = MAX (info->multiple_of, 1);
      value = m * round (value / m);
      if (value < info->min)
        value += m;
      if (value > info->max)
        value -= m;
    }
  return value;
}

void
gaf_runner_params_set_text (GafRunnerParams *params, GafParam param, const char *text)
{
  g_return_if_fail ((guint) param < GAF_N_PARAMS && table[param].type == GAF_PARAM_TEXT);
  if (text == NULL || strlen (text) >= GAF_PARAM_TEXT_MAX)
    text = table[param].def_text;
  params->text[param] = g_intern_string (text);
}

void
gaf_runner_params_init (GafRunnerParams *params)
{
  memset (params, 0, sizeof *params);
  params->experiment = gaf_experiment_default ();
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (table[i].type == GAF_PARAM_TEXT)
      params->text[i] = g_intern_string (table[i].def_text);
    else
      params->value[i] = table[i].def;
}

void
gaf_runner_params_clamp (GafRunnerParams *params)
{
  gboolean known = FALSE;

  for (const GafExperimentClass *const *k = gaf_experiments (); *k != NULL; k++)
    known |= *k == params->experiment;
  if (!known)
    params->experiment = gaf_experiment_default ();
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (table[i].type == GAF_PARAM_TEXT)
      gaf_runner_params_set_text (params, i, params->text[i]);
    else
      {
        params->value[i] = gaf_param_clamp (i, params->value[i]);
        params->text[i] = NULL;
      }
}

void
gaf_runner_params_to_keyfile (const GafRunnerParams *params, GKeyFile *kf, const char *group)
{
  g_key_file_remove_group (kf, group, NULL);
  g_key_file_set_string (kf, group, "experiment", params->experiment->id);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    switch (table[i].type)
      {
      case GAF_PARAM_TEXT:
        g_key_file_set_string (kf, group, table[i].key, params->text[i]);
        break;
      case GAF_PARAM_CHOICE:
        g_key_file_set_string (kf, group, table[i].key, table[i].choices[(int) params->value[i]]);
        break;
      default:
        g_key_file_set_double (kf, group, table[i].key, params->value[i]);
      }
}

/* A choice by nick, or by its index as files of earlier versions wrote it. */
static gboolean
parse_choice (const GafParamInfo *info, const char *text, double *out)
{
  char *end = NULL;
  gint64 index;

  for (int k = 0; info->choices[k] != NULL; k++)
    if (g_strcmp0 (text, info->choices[k]) == 0)
      {
        *out = k;
        return TRUE;
      }
  index = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || index < info->min || index > info->max)
    return FALSE;
  *out = (double) index;
  return TRUE;
}

gboolean
gaf_param_parse (GafParam param, const char *text, double *value)
{
  const GafParamInfo *info;
  char *end = NULL;
  double v;

  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, FALSE);
  g_return_val_if_fail (text != NULL && value != NULL, FALSE);
  info = &table[param];
  if (info->type == GAF_PARAM_TEXT)
    return FALSE;
  if (info->type == GAF_PARAM_CHOICE)
    return parse_choice (info, text, value);
  v = g_ascii_strtod (text, &end);
  if (end == text || *end != '\0' || !isfinite (v) || v < info->min || v > info->max ||
      (info->type == GAF_PARAM_INT && v != round (v)))
    return FALSE;
  *value = v;
  return TRUE;
}

gboolean
gaf_runner_params_from_keyfile (GafRunnerParams *params, GKeyFile *kf, const char *group, const char *path,
                                GError **error)
{
  g_autofree char *experiment = g_key_file_get_string (kf, group, "experiment", NULL);
  const GafExperimentClass *klass = experiment ? gaf_experiment_lookup_legacy (g_strstrip (experiment)) : NULL;
  GafRunnerParams p = *params;

  if (klass == NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [%s] experiment = %s is not an experiment of the app",
                   path, group, experiment ? experiment : "(missing)");
      return FALSE;
    }
  p.experiment = klass;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      const GafParamInfo *info = &table[i];
      g_autofree char *text = NULL;

      if (!g_key_file_has_key (kf, group, info->key, NULL))
        continue;
      text = g_key_file_get_string (kf, group, info->key, NULL);
      if (text == NULL)
        text = g_strdup ("");
      if (info->type == GAF_PARAM_TEXT)
        {
          /* An empty text is a value (the text experiment's built-in words), except where a default is set. */
          if (strlen (text) >= GAF_PARAM_TEXT_MAX || (text[0] == '\0' && info->def_text[0] != '\0'))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [%s] %s is empty or too long", path, group,
                           info->key);
              return FALSE;
            }
          p.text[i] = g_intern_string (text);
        }
      else if (info->type == GAF_PARAM_CHOICE)
        {
          if (!parse_choice (info, g_strstrip (text), &p.value[i]))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [%s] %s = %s is not one of its choices", path,
                           group, info->key, text);
              return FALSE;
            }
        }
      else
        {
          GError *local = NULL;
          double v = g_key_file_get_double (kf, group, info->key, &local);
          if (local != NULL)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: [%s] %s: %s", path, group, info->key,
                           local->message);
              g_error_free (local);
              return FALSE;
            }
          p.value[i] = v;
        }
    }
  gaf_runner_params_clamp (&p);
  *params = p;
  return TRUE;
}
