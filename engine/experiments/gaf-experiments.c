/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-experiment"
#include "config.h"

#include "gaf-experiment.h"
#include "gaf-joint-experiment.h"
#include "gaf-label-map-experiment.h"
#include "gaf-scaling-experiment.h"
#include "gaf-text-experiment.h"

/* The registry: every experiment of the app, in the order the window lists them (the first is the
 * default). An experiment is here by one line; the runner, the window, --experiment, GSettings and the
 * test that runs every experiment (tests/test-experiments.c) read this list. */
static const GafExperimentClass *const registry[] = {
  &gaf_scaling_experiment,
  &gaf_exact_experiment,
  &gaf_coupled_experiment,
  &gaf_pinwheel_experiment,
  &gaf_gaussians_experiment,
  &gaf_label_map_experiment,
  &gaf_text_experiment,
  NULL
};

const GafExperimentClass *const *
gaf_experiments (void)
{
  return registry;
}
