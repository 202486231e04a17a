/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runner"
#include "config.h"

#include "gaf-runner.h"

/* The runner's snapshots (gaf-runner.h): immutable once published, freed by whoever drops the last
 * reference, on any thread. */

const char *
gaf_runner_state_to_string (GafRunnerState state)
{
  static const char *const names[] = { "paused", "training", "done", "exact", "failed" };
  return (guint) state < G_N_ELEMENTS (names) ? names[state] : "unknown";
}

GafSnapshot *
gaf_snapshot_ref (GafSnapshot *snapshot)
{
  g_return_val_if_fail (snapshot != NULL, NULL);
  g_atomic_int_inc (&snapshot->ref_count);
  return snapshot;
}

void
gaf_snapshot_unref (GafSnapshot *snapshot)
{
  if (snapshot == NULL || !g_atomic_int_dec_and_test (&snapshot->ref_count))
    return;
  g_free (snapshot->loss_x);
  g_free (snapshot->loss_y);
  gaf_payload_unref (snapshot->payload);
  gaf_payload_unref (snapshot->job);
  g_free (snapshot);
}

gboolean
gaf_snapshot_busy (const GafSnapshot *s)
{
  return s != NULL && (s->state == GAF_RUNNER_TRAINING || s->sampling || s->work != NULL);
}
