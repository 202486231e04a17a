/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-sweep"
#include "config.h"

#include <glib/gi18n-lib.h>

#include "gaf-scaling-experiment.h"
#include "gaf-sweep-job.h"

typedef struct {
  GafJob          parent;
  GafSweepConfig  cfg;
  GArray         *rows;       /* GafSweepRow */
  gboolean        running;
  guint           total;
  double          fraction;
  int             classes;
  int             method;
  GafWork        *work;
} SweepJob;

static void
sweep_payload_finalize (GafPayload *payload)
{
  g_free (((GafSweepPayload *) payload)->rows);
}

const GafPayloadType gaf_sweep_payload_type = { "sweep", sizeof (GafSweepPayload), sweep_payload_finalize };

static GafPayload *
sweep_payload (GafJob *job)
{
  SweepJob *j = (SweepJob *) job;
  GafPayload *payload = gaf_payload_new (&gaf_sweep_payload_type, NULL, 0, 0, NULL);
  GafSweepPayload *s = (GafSweepPayload *) payload;

  s->running = j->running;
  s->total = j->total;
  s->fraction = j->fraction;
  s->classes = j->classes;
  s->method = j->method;
  s->n_rows = j->rows->len;
  s->rows = g_memdup2 (j->rows->data, sizeof (GafSweepRow) * MAX (1, j->rows->len));
  return payload;
}

/* Training is most of an item's time; sampling the rest. */
static void
sweep_progress (const GafProgress *p, gpointer data)
{
  SweepJob *j = data;
  guint n_items = MAX (p->n_items, 1);
  double within = p->total ? (double) p->done / p->total : 0.0;

  within = g_strcmp0 (p->stage, "train") == 0 ? 0.8 * within : 0.8 + 0.2 * within;
  j->fraction = (p->item + within) / n_items;
  gaf_work_progress (j->work, j->fraction);
}

static gboolean
sweep_run (GafJob *job, GafWork *work, GError **error)
{
  SweepJob *j = (SweepJob *) job;
  GafSweepConfig *cfg = &j->cfg;
  guint n_methods = cfg->methods->len;
  gboolean ok;

  j->work = work;
  j->running = TRUE;
  j->total = cfg->classes->len * n_methods;
  j->fraction = 0.0;
  gaf_work_progress (work, 0.0);
  ok = gaf_sweep_config_check (cfg, error);
  /* Class counts in order, every method for each (as gaf_sweep_run does), a row published as each ends. */
  for (guint i = 0; ok && i < j->total; i++)
    {
      GafSweepRow row;
      j->classes = g_array_index (cfg->classes, int, i / n_methods);
      j->method = g_array_index (cfg->methods, GafMethod, i % n_methods);
      ok = gaf_sweep_run_method (cfg, j->method, j->classes, i, j->total, &row, sweep_progress, j,
                                 work->cancellable, error);
      if (ok)
        {
          g_array_append_val (j->rows, row);
          j->fraction = (double) (i + 1) / j->total;
          gaf_work_progress (work, j->fraction);
        }
    }
  j->running = FALSE;
  j->classes = 0;
  j->work = NULL;
  return ok;
}

static void
sweep_free (GafJob *job)
{
  SweepJob *j = (SweepJob *) job;

  gaf_sweep_config_clear (&j->cfg);
  g_array_unref (j->rows);
  g_free (j);
}

static const GafJobClass sweep_job_class = { GAF_SWEEP_JOB, N_("sweep running"), sweep_run, sweep_payload, sweep_free };

GafJob *
gaf_sweep_job_new (const int *classes, guint n_classes, const int *methods, guint n_methods, guint64 steps,
                   guint64 samples, guint64 seed)
{
  SweepJob *j;

  g_return_val_if_fail (classes != NULL && n_classes > 0, NULL);
  g_return_val_if_fail (methods != NULL && n_methods > 0, NULL);
  j = g_new0 (SweepJob, 1);
  j->parent.klass = &sweep_job_class;
  j->rows = g_array_new (FALSE, FALSE, sizeof (GafSweepRow));
  gaf_sweep_config_init (&j->cfg);
  g_array_set_size (j->cfg.classes, 0);
  g_array_append_vals (j->cfg.classes, classes, n_classes);
  g_array_set_size (j->cfg.methods, 0);
  for (guint m = 0; m < n_methods; m++)
    g_array_append_val (j->cfg.methods, (GafMethod) { methods[m] });
  j->cfg.steps = steps;
  j->cfg.samples = samples;
  j->cfg.time_scale = GAF_SCALING_TIME_SCALE;
  j->cfg.input_scale = 0.0;    /* c */
  j->cfg.cosine = TRUE;
  j->cfg.train.ema_decay = 0.999;
  j->cfg.seed = seed;
  return &j->parent;
}
