/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-experiment.h"

G_BEGIN_DECLS

/* Label maps of an image dataset (GAF_PARAM_IMAGE_DATA, a gaf-dataset.h spec without split=): n = H W
 * pixels learned by the UNet, a round of GAF_IMAGE_MAPS maps with every pixel's trajectory, and the
 * likelihood job (the bits/dim of held-out maps and of a map the user asks about). */

extern const GafExperimentClass gaf_label_map_experiment;

/* Label maps drawn per sampling round, every pixel's trajectory recorded. */
#define GAF_IMAGE_MAPS 16
/* The default data of the experiment. */
#define GAF_IMAGE_DATA_DEFAULT "fashion-mnist:levels=2,size=16"

/* Likelihood of label maps under the model: the rounding model of SPEC §2.4 with Hutchinson's divergence,
 * T = GAF_LIKELIHOOD_T_END, GAF_LIKELIHOOD_PROPOSALS importance samples, EMA weights frozen once per model
 * (so every score of one model is comparable): the bits/dim of GAF_LIKELIHOOD_HELD_OUT held-out maps (a
 * histogram to compare with) and of the last map asked about. Immutable once published. */
#define GAF_LIKELIHOOD_HELD_OUT  48
#define GAF_LIKELIHOOD_PROPOSALS 16
#define GAF_LIKELIHOOD_T_END     10.0

/* The names of the likelihood jobs while they run (GafSnapshot.work). */
#define GAF_LIKELIHOOD_JOB_HELD_OUT "likelihood-held-out"
#define GAF_LIKELIHOOD_JOB_MAP      "likelihood-map"

typedef struct {
  /*< private >*/
  gint     ref_count;
  /*< public >*/
  guint64  model;            /* model serial of the model scored */
  guint64  step;             /* training step of the frozen weights */
  int      height, width, c;
  guint    n_held_out;       /* 0 until the held-out maps are scored */
  guint16 *held_out;         /* (n_held_out, height * width): the maps */
  double  *held_out_bpd;     /* (n_held_out), +inf when no proposal rounded to the map */
  guint64  query;            /* id of the last answered map (gaf_map_query_new), 0 for none */
  double   query_bpd;        /* +inf when no proposal rounded to the map */
  double   query_bpd_se;
  double   query_hit_fraction;
} GafLikelihoodScores;

typedef struct {
  GafPayload           parent;
  const char          *data;           /* the spec (interned) */
  int                  height, width;  /* 0 while the data are being read or could not be */
  guint8              *palette;        /* (c, 3) */
  /* The round's metric: kl is the mean per-pixel KL between the class frequencies of the maps and of the
   * held-out maps (gaf_label_maps_marginal_kl), kl_uniform that of maps of uniform random pixels, kl_floor
   * that of GAF_IMAGE_MAPS held-out maps. */
  double               agreement;      /* 4-neighbour label agreement of the round's maps (NAN before) */
  double               agreement_data; /* of the held-out maps */
  GafLikelihoodScores *likelihood;     /* of the current model, NULL before any */
} GafLabelMapPayload;

extern const GafPayloadType gaf_label_map_payload_type;

static inline const GafLabelMapPayload *
gaf_label_map_payload (const GafPayload *payload)
{
  return gaf_payload_cast (payload, &gaf_label_map_payload_type);
}

/* Calls for gaf_runner_call (on the engine thread, with the experiment that runs; other experiments
 * ignore them). A map to score (height x width labels below c; anything else is ignored): made with its
 * id (ids start at 1), published as GafLikelihoodScores.query; the held-out maps are scored after it when
 * they are not yet. Training waits while the engine scores. */
typedef struct _GafMapQuery GafMapQuery;
GafMapQuery *gaf_map_query_new  (const guint16 *labels, int height, int width, guint64 *id);
void         gaf_map_query_free (gpointer query);
void         gaf_label_maps_score_map      (GafExperiment *experiment, gpointer query);
/* Scores the held-out maps for the current model if they are not yet; with refresh (GINT_TO_POINTER), again
 * with the weights of now (the earlier scores are dropped). */
void         gaf_label_maps_score_held_out (GafExperiment *experiment, gpointer refresh);

G_END_DECLS
