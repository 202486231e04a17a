/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* What an experiment publishes: immutable, reference-counted, readable from any thread. The runner's
 * snapshot holds one payload of the experiment that runs (and one of the last job); it never looks
 * inside. The base has what every experiment over sequences has (shape, target marginals, the last
 * sampling round); a family adds its own fields by embedding GafPayload first and naming its
 * GafPayloadType, and gives views a checked cast (gaf_payload_cast). */

/* W(t) of recorded rows from one sampling round. */
typedef struct {
  int      n, c;            /* positions per sequence, classes */
  guint    n_rows;          /* recorded rows; row r is position r % n of sequence r / n */
  guint    n_times;
  double  *times;           /* (n_times), 0 .. t_end */
  float   *w;               /* (n_times, n_rows, c) */
  guint16 *labels;          /* (n_rows): argmax at T, the sample */
  guint64  step;            /* training step of the weights used */
  /* Jump flows: times run over [0, 1], w is the denoiser's prediction p_theta(x1 | x_t) each step used (uniform
   * at t = 0) and state the chain's state after it (index c: masked). NULL for GAF's flow. */
  guint16 *state;           /* (n_times, n_rows) */
} GafTrajectories;

/* The learned field dW/dt = R_W F(W, t) of one position on a lattice of the simplex (c = 3 only), at a
 * few times; the other positions of the sequence sit at the barycentre. */
typedef struct {
  int      c;
  int      position;
  guint    n_points;
  guint    n_times;
  float   *points;          /* (n_points, c) */
  double  *times;           /* (n_times) */
  float   *velocity;        /* (n_times, n_points, c), in T_0 */
} GafFieldGrid;

/* The last sampling round: its trajectories, field, label frequencies and the experiment's metric (a KL
 * between the samples and the target, with what a uniform sampler and the finite-sample floor give).
 * Shared by the payloads made from it. */
typedef struct {
  /*< private >*/
  gint             ref_count;
  /*< public >*/
  guint64          step;            /* training step of the weights used */
  guint64          samples;
  double           kl, kl_uniform, kl_floor;
  double          *freq;            /* (n, c) label frequencies per position */
  GafTrajectories  trajectories;
  GafFieldGrid    *field;           /* NULL when there is none (c != 3, label maps) */
} GafRound;

GafRound *gaf_round_new   (void);
GafRound *gaf_round_ref   (GafRound *round);
void      gaf_round_unref (GafRound *round);
/* A 2-simplex lattice field grid with n_points points and n_times times, zeroed. */
GafFieldGrid *gaf_field_grid_new (int c, guint n_points, guint n_times);
void      gaf_field_grid_free (GafFieldGrid *field);

typedef struct _GafPayload GafPayload;

typedef struct {
  const char *name;
  gsize       size;                           /* of the whole struct, GafPayload first */
  void      (*finalize) (GafPayload *payload); /* frees the family's own fields (not the base's) */
} GafPayloadType;

extern const GafPayloadType gaf_payload_base_type;

struct _GafPayload {
  /*< private >*/
  gint                  ref_count;
  /*< public, read-only >*/
  const GafPayloadType *type;
  const char           *experiment;     /* id of the experiment that made it (static), NULL for a job's */
  int                   n, c;           /* positions and classes of the sequences; 0 before the data are read */
  double               *target_q;       /* (n, c) target marginals, NULL when unknown */
  gboolean              busy;           /* reading data or working on a job of the experiment */
  double                busy_fraction;  /* of that work, 0 .. 1 (NAN when unknown) */
  const char           *busy_what;      /* static, untranslated key of that work ("loading", "likelihood", ...) */
  GafRound             *round;          /* NULL before the first sampling round */
};

/* A new payload of `type` (zeroed beyond the base) of an experiment. */
GafPayload *gaf_payload_new   (const GafPayloadType *type, const char *experiment, int n, int c,
                               const double *target_q);
GafPayload *gaf_payload_ref   (GafPayload *payload);
void        gaf_payload_unref (GafPayload *payload);
/* The payload as `type`, or NULL when it is of another type. */
gconstpointer gaf_payload_cast (const GafPayload *payload, const GafPayloadType *type);
void        gaf_payload_set_round (GafPayload *payload, GafRound *round);

/* The last round's trajectories and field, or NULL (payload may be NULL). */
static inline const GafTrajectories *
gaf_payload_trajectories (const GafPayload *payload)
{
  return payload != NULL && payload->round != NULL ? &payload->round->trajectories : NULL;
}

static inline const GafFieldGrid *
gaf_payload_field (const GafPayload *payload)
{
  return payload != NULL && payload->round != NULL ? payload->round->field : NULL;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafPayload, gaf_payload_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafRound, gaf_round_unref)

G_END_DECLS
