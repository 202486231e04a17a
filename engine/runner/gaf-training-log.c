/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runner"
#include "config.h"

#include <math.h>

#include "gaf-training-log.h"

void
gaf_training_log_init (GafTrainingLog *log)
{
  log->x = g_array_new (FALSE, FALSE, sizeof (double));
  log->y = g_array_new (FALSE, FALSE, sizeof (double));
  gaf_training_log_reset (log);
}

void
gaf_training_log_clear (GafTrainingLog *log)
{
  g_clear_pointer (&log->x, g_array_unref);
  g_clear_pointer (&log->y, g_array_unref);
}

void
gaf_training_log_reset (GafTrainingLog *log)
{
  g_array_set_size (log->x, 0);
  g_array_set_size (log->y, 0);
  log->stride = 1;
  log->count = 0;
  log->sum = 0.0;
  log->loss = log->loss_smooth = NAN;
  log->elapsed = 0.0;
  log->skipped = 0;
  gaf_training_log_pause (log);
}

void
gaf_training_log_pause (GafTrainingLog *log)
{
  log->rate = 0.0;
  log->rate_t0 = 0;
}

static void
add_to_bins (GafTrainingLog *log, guint64 step, double loss)
{
  double x = (double) step, y;

  log->sum += loss;
  if (++log->count < log->stride)
    return;
  y = log->sum / log->count;
  g_array_append_val (log->x, x);
  g_array_append_val (log->y, y);
  log->sum = 0.0;
  log->count = 0;
  if (log->x->len >= GAF_TRAINING_LOG_BINS)
    {
      /* Merge neighbours: the history stays bounded and covers the whole run. */
      guint half = log->x->len / 2;
      for (guint i = 0; i < half; i++)
        {
          g_array_index (log->x, double, i) = g_array_index (log->x, double, 2 * i + 1);
          g_array_index (log->y, double, i) =
            0.5 * (g_array_index (log->y, double, 2 * i) + g_array_index (log->y, double, 2 * i + 1));
        }
      g_array_set_size (log->x, half);
      g_array_set_size (log->y, half);
      log->stride *= 2;
    }
}

void
gaf_training_log_skip (GafTrainingLog *log, gint64 t0, gint64 t1)
{
  log->elapsed += (t1 - t0) * 1e-6;
  log->skipped++;
}

void
gaf_training_log_add (GafTrainingLog *log, guint64 step, double loss, gint64 t0, gint64 t1)
{
  log->elapsed += (t1 - t0) * 1e-6;
  log->loss = loss;
  log->loss_smooth = isfinite (log->loss_smooth) ? 0.99 * log->loss_smooth + 0.01 * loss : loss;
  add_to_bins (log, step, loss);
  /* Steps per second over windows of about one second of wall time (sampling rounds included). */
  if (log->rate_t0 == 0)
    {
      log->rate_t0 = t0;
      log->rate_step0 = step - 1;
    }
  else if (t1 - log->rate_t0 >= G_USEC_PER_SEC / 2)
    {
      log->rate = (step - log->rate_step0) / ((t1 - log->rate_t0) * 1e-6);
      log->rate_t0 = t1;
      log->rate_step0 = step;
    }
}
