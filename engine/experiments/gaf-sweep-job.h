/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-experiment.h"
#include "gaf-sweep.h"

G_BEGIN_DECLS

/* The class-scaling sweep as a job of the runner (gaf_runner_run_job): the sweep defaults
 * (gaf_sweep_config_init) with these class counts, methods (GafMethod), steps and samples, the app's time
 * scale, input scale c, EMA and cosine schedule. It publishes its rows as they come. */

#define GAF_SWEEP_JOB "sweep"

typedef struct {
  GafPayload   parent;
  gboolean     running;
  guint        total;          /* items (class counts x methods) of the sweep */
  double       fraction;       /* done, 0 .. 1 */
  int          classes;        /* class count being worked on, 0 when none */
  int          method;         /* GafMethod being worked on */
  guint        n_rows;
  GafSweepRow *rows;
} GafSweepPayload;

extern const GafPayloadType gaf_sweep_payload_type;

static inline const GafSweepPayload *
gaf_sweep_payload (const GafPayload *payload)
{
  return gaf_payload_cast (payload, &gaf_sweep_payload_type);
}

GafJob *gaf_sweep_job_new (const int *classes, guint n_classes, const int *methods, guint n_methods,
                           guint64 steps, guint64 samples, guint64 seed);

G_END_DECLS
