/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The one parameter table: every fact of a parameter of the app's experiments (key, type, range,
 * default, label, tooltip, section) in one row of gaf-parameters.c. The engine clamps and applies with
 * it, the parameter panel builds its rows from it, GSettings stores each row under its key (a test checks
 * the gschema against the table), checkpoints write it to their [app] group. A new parameter is one row
 * here plus its name below; a new choice (a method, an integrator) is a GAF_PARAM_CHOICE row with its
 * nicks and labels. */

typedef struct _GafExperimentClass GafExperimentClass;

typedef enum {
  GAF_PARAM_INT,
  GAF_PARAM_DOUBLE,
  GAF_PARAM_CHOICE,   /* an index into choices[]; stored by its nick (GSettings enum, checkpoints) */
  GAF_PARAM_TEXT,     /* a string (a data spec); GafRunnerParams.text */
} GafParamType;

/* What a change costs, and the panel's section: a new model (the UI asks first), the next training
 * step, or the next sampling round. */
typedef enum {
  GAF_PARAM_SECTION_MODEL,
  GAF_PARAM_SECTION_TRAINING,
  GAF_PARAM_SECTION_SAMPLER,
  GAF_N_PARAM_SECTIONS
} GafParamSection;

typedef enum {
  GAF_PARAM_CLASSES,          /* c */
  GAF_PARAM_WIDTH,            /* hidden channels of the sequence networks */
  GAF_PARAM_SEED,
  GAF_PARAM_LAMBDA,           /* field magnitude */
  GAF_PARAM_TIME_RATE,        /* rate of the Gamma(1, rate) training times */
  GAF_PARAM_LEARNING_RATE,
  GAF_PARAM_BATCH,
  GAF_PARAM_BUDGET,           /* training steps, then the runner stops */
  GAF_PARAM_T_END,            /* sampler end time T */
  GAF_PARAM_STEP_SIZE,        /* sampler step h */
  GAF_PARAM_INTEGRATOR,       /* a GafIntegrator */
  GAF_PARAM_SAMPLES,          /* sequences drawn per sampling round */
  GAF_PARAM_IMAGE_WIDTH,      /* label maps: base channels of the UNet */
  GAF_PARAM_IMAGE_BATCH,      /* label maps: maps per training step */
  GAF_PARAM_IMAGE_DATA,       /* label maps: a gaf-dataset.h spec without split= */
  GAF_PARAM_TEXT_DATA,        /* text: a text file's path ("" for the built-in word list) */
  GAF_PARAM_METHOD,           /* GAF or a jump flow (gaf_runner_params_method) */
  GAF_PARAM_JUMP_STEPS,       /* jump flows: Euler steps of the chain = network evaluations */
  GAF_PARAM_KAPPA,            /* jump flows: the scheduler kappa_t (a GafKappa) */
  GAF_PARAM_PRECISION,        /* label maps: the UNet's sampling precision (a GafPrecision) */
  GAF_N_PARAMS
} GafParam;

/* The methods a parameter applies to: every one, GAF's flow alone (the field, its path and its integrator),
 * or the jump flows alone (their chain and scheduler). The panel shows a row only where it applies. */
typedef enum {
  GAF_PARAM_FOR_ALL,
  GAF_PARAM_FOR_GAF,
  GAF_PARAM_FOR_JUMP,
} GafParamFor;

/* A preset value of a text parameter, offered by the panel. */
typedef struct {
  const char *value;
  const char *label;          /* N_() */
} GafParamPreset;

typedef struct {
  const char            *key;           /* GSettings key, checkpoint [app] key */
  GafParamType           type;
  GafParamSection        section;
  double                 min, max, def; /* INT, DOUBLE; CHOICE: 0, n - 1, the default's index */
  const char            *def_text;      /* TEXT */
  const char *const     *choices;       /* CHOICE: nicks, NULL-terminated */
  const char *const     *choice_labels; /* CHOICE: N_() labels, same order */
  const GafParamPreset  *presets;       /* TEXT: offered values ({ NULL } ends), or NULL: a file to choose */
  gboolean               log_scale;     /* the panel's slider moves on log10 */
  double                 step;          /* the slider's step (0: 1 for INT, range/200 for DOUBLE) */
  int                    multiple_of;   /* INT values are rounded to a multiple of this (0: 1) */
  const char            *label;         /* N_() */
  const char            *tooltip;       /* N_(): one sentence on what it does to the flow */
  GafParamFor            applies;       /* the methods it means something for */
  /* CHOICE, optional: why a choice cannot be had on this machine (N_(), a sentence), or NULL when it can (bf16
   * sampling without AVX-512 BF16). The panel offers only what can be had; a value that arrives anyway (settings
   * or a model file from another machine) is the experiment's to refuse (gaf_experiment_adjust_param). */
  const char            *(*unavailable) (int choice);
} GafParamInfo;

/* Longest text value (a path). */
#define GAF_PARAM_TEXT_MAX 4096

const GafParamInfo *gaf_param_info     (GafParam param);
/* The parameter with this key, or -1. */
int                 gaf_param_from_key (const char *key);

/* The values of every parameter and the experiment they are for. A plain value: copy it by assignment
 * (text values are interned strings, never freed). */
typedef struct {
  const GafExperimentClass *experiment;
  double                    value[GAF_N_PARAMS];
  const char               *text[GAF_N_PARAMS];    /* TEXT parameters, NULL for the others */
} GafRunnerParams;

/* A value as text (a preset, a command-line option): a number in the parameter's range (a whole one for
 * INT), a choice by its nick or index; FALSE for anything else and for TEXT parameters. */
gboolean    gaf_param_parse          (GafParam param, const char *text, double *value);

/* Defaults, and the registry's default experiment. */
void        gaf_runner_params_init   (GafRunnerParams *params);
/* A value moved into its parameter's range (non-finite: the default; integers rounded to their multiple). */
double      gaf_param_clamp          (GafParam param, double value);
/* Clamps every value; an unknown or missing experiment becomes the default one; a text that is too
 * long, or NULL, becomes its default. */
void        gaf_runner_params_clamp  (GafRunnerParams *params);
/* Sets a text parameter (interned). */
void        gaf_runner_params_set_text (GafRunnerParams *params, GafParam param, const char *text);

/* The [app] group of a checkpoint: the experiment's id and every parameter (numbers; choices by nick;
 * texts as they are). Reading: absent keys keep params' values; a present key must parse (a choice also
 * as its index, as files written before choices had nicks); the experiment may be an old name or the
 * index of the experiment enum of earlier versions (gaf_experiment_lookup_legacy). */
void        gaf_runner_params_to_keyfile   (const GafRunnerParams *params, GKeyFile *kf, const char *group);
gboolean    gaf_runner_params_from_keyfile (GafRunnerParams *params, GKeyFile *kf, const char *group,
                                            const char *path, GError **error);

G_END_DECLS
