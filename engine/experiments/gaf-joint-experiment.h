/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-experiment.h"
#include "gaf-joint.h"

G_BEGIN_DECLS

/* Joint experiments: n variables with a joint target (gaf-joint.h) learned by the MLP. The two-variable
 * ones (coupled pair, pinwheel, 8 Gaussians) publish the target and the last round's empirical joint as
 * dense c x c tables. */

extern const GafExperimentClass gaf_coupled_experiment;
extern const GafExperimentClass gaf_pinwheel_experiment;
extern const GafExperimentClass gaf_gaussians_experiment;

/* Side of the grid of the app's 2-D densities: small enough for a round of samples to show them. */
#define GAF_JOINT_APP_GRID 16

typedef struct {
  GafPayload parent;
  int        c;
  double    *target;        /* (c, c) */
  double    *model;         /* (c, c), NULL before the first round */
  guint64    samples;
  guint64    step;
  double     kl;            /* KL(model || target) */
  double     kl_marginal;   /* mean over both variables */
  double     mi_model;      /* mutual information, nats */
  double     mi_target;
} GafJointPayload;

extern const GafPayloadType gaf_joint_payload_type;

static inline const GafJointPayload *
gaf_joint_payload (const GafPayload *payload)
{
  return gaf_payload_cast (payload, &gaf_joint_payload_type);
}

/* What joint-like experiments share (the text experiment too): the instance with its target, a build on
 * a target (the MLP of the app's size, or `loaded`), and a round of the network's samples. */
typedef struct {
  GafExperiment parent;
  GafJoint     *joint;
} GafJointExperiment;

void      gaf_joint_experiment_build_net (GafJointExperiment *self, GafJoint *target, GafNet *loaded);
/* Samples for the round: at least the samples parameter, at least 8 a cell of a c x c table up to 4096. */
guint64   gaf_joint_experiment_count     (GafJointExperiment *self);
void      gaf_joint_experiment_finalize  (GafExperiment *self);

G_END_DECLS
