/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-payload"
#include "config.h"

#include <math.h>

#include "gaf-payload.h"

const GafPayloadType gaf_payload_base_type = { "base", sizeof (GafPayload), NULL };

GafRound *
gaf_round_new (void)
{
  GafRound *round = g_new0 (GafRound, 1);

  round->ref_count = 1;
  round->kl = round->kl_uniform = round->kl_floor = NAN;
  return round;
}

GafRound *
gaf_round_ref (GafRound *round)
{
  g_return_val_if_fail (round != NULL, NULL);
  g_atomic_int_inc (&round->ref_count);
  return round;
}

void
gaf_round_unref (GafRound *round)
{
  if (round == NULL || !g_atomic_int_dec_and_test (&round->ref_count))
    return;
  g_free (round->freq);
  g_free (round->trajectories.times);
  g_free (round->trajectories.w);
  g_free (round->trajectories.labels);
  g_free (round->trajectories.state);
  gaf_field_grid_free (round->field);
  g_free (round);
}

GafFieldGrid *
gaf_field_grid_new (int c, guint n_points, guint n_times)
{
  GafFieldGrid *f = g_new0 (GafFieldGrid, 1);

  f->c = c;
  f->n_points = n_points;
  f->n_times = n_times;
  f->points = g_new0 (float, (gsize) n_points * c);
  f->times = g_new0 (double, n_times);
  f->velocity = g_new0 (float, (gsize) n_times * n_points * c);
  return f;
}

void
gaf_field_grid_free (GafFieldGrid *f)
{
  if (f == NULL)
    return;
  g_free (f->points);
  g_free (f->times);
  g_free (f->velocity);
  g_free (f);
}

GafPayload *
gaf_payload_new (const GafPayloadType *type, const char *experiment, int n, int c, const double *target_q)
{
  GafPayload *p;

  g_return_val_if_fail (type != NULL && type->size >= sizeof (GafPayload), NULL);
  p = g_malloc0 (type->size);
  p->ref_count = 1;
  p->type = type;
  p->experiment = experiment;
  p->n = n;
  p->c = c;
  if (target_q != NULL && n > 0 && c > 0)
    p->target_q = g_memdup2 (target_q, sizeof (double) * n * c);
  return p;
}

GafPayload *
gaf_payload_ref (GafPayload *payload)
{
  g_return_val_if_fail (payload != NULL, NULL);
  g_atomic_int_inc (&payload->ref_count);
  return payload;
}

void
gaf_payload_unref (GafPayload *payload)
{
  if (payload == NULL || !g_atomic_int_dec_and_test (&payload->ref_count))
    return;
  if (payload->type->finalize != NULL)
    payload->type->finalize (payload);
  g_free (payload->target_q);
  gaf_round_unref (payload->round);
  g_free (payload);
}

gconstpointer
gaf_payload_cast (const GafPayload *payload, const GafPayloadType *type)
{
  return payload != NULL && payload->type == type ? payload : NULL;
}

void
gaf_payload_set_round (GafPayload *payload, GafRound *round)
{
  if (round != NULL)
    gaf_round_ref (round);
  gaf_round_unref (payload->round);
  payload->round = round;
}
