/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-experiment.h"
#include "gaf-sweep.h"
#include "gaf-target.h"
#include "gaf-toy-cnn.h"

G_BEGIN_DECLS

/* Class scaling (SPEC §5): n = 4 independent positions with c classes each, the target drawn from the
 * seed; learned by the toy CNN ("scaling") or moved by its exact field ("exact"). The target and the
 * network's seed are the sweep's recipe (gaf_scaling_target_new, gaf_scaling_net_seed in gaf-sweep.h). */

#define GAF_SCALING_POSITIONS  4
/* The toy CNN's time input rescaled (SPEC §3 allows it) so that t up to T = 15 is not a very high
 * frequency for Fourier features of scale 30; inputs scaled by c (mean 1). */
#define GAF_SCALING_TIME_SCALE 0.02

extern const GafExperimentClass gaf_scaling_experiment;
extern const GafExperimentClass gaf_exact_experiment;


G_END_DECLS
