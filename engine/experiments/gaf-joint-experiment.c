/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-joint-experiment"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>

#include "gaf-model.h"
#include "gaf-joint-experiment.h"
#include "gaf-mlp.h"

/* Sequences of each sampling round whose rows are recorded as trajectories. */
#define TRAJECTORY_SEQUENCES 32

static void
joint_payload_finalize (GafPayload *payload)
{
  GafJointPayload *j = (GafJointPayload *) payload;

  g_free (j->target);
  g_free (j->model);
}

const GafPayloadType gaf_joint_payload_type = { "joint", sizeof (GafJointPayload), joint_payload_finalize };

void
gaf_joint_experiment_build_net (GafJointExperiment *self, GafJoint *target, GafNet *loaded)
{
  GafExperiment *e = &self->parent;
  GafMlpConfig mcfg;

  g_clear_pointer (&self->joint, gaf_joint_free);
  self->joint = target;
  e->n = target->n;
  e->c = target->c;
  e->q = target->marginals;
  e->labels = gaf_joint_sample;
  e->labels_data = target;
  gaf_mlp_config_init (&mcfg, e->n, e->c);
  mcfg.hidden = (int) e->p.value[GAF_PARAM_WIDTH];
  /* mean-1 inputs, as gaflow-cli train does for the MLP (a jump flow's one-hot state: root-mean-square 1) */
  mcfg.in_channels = gaf_experiment_in_channels (e);
  mcfg.input_scale = gaf_experiment_input_scale (e, e->c);
  e->net_seed = (guint64) e->p.value[GAF_PARAM_SEED] ^ 0x3a1full;
  e->net = loaded != NULL ? loaded : GAF_NET (gaf_mlp_new (&mcfg, e->net_seed));
  if (loaded != NULL)
    gaf_experiment_describe_loaded (e, loaded, GAF_MODEL_MLP, GAF_PARAM_WIDTH);
}

guint64
gaf_joint_experiment_count (GafJointExperiment *self)
{
  guint64 c = (guint64) self->parent.c;
  return MAX ((guint64) self->parent.p.value[GAF_PARAM_SAMPLES], MIN (8ull * c * c, 4096ull));
}

void
gaf_joint_experiment_finalize (GafExperiment *e)
{
  g_clear_pointer (&((GafJointExperiment *) e)->joint, gaf_joint_free);
}

/* A payload with the dense target and, after a round, the model's table and the comparison. */
static GafPayload *
joint_payload_new (GafJointExperiment *self, GafRound *round, const GafJoint *model, const GafJointMetrics *m)
{
  GafExperiment *e = &self->parent;
  GafPayload *payload = gaf_payload_new (&gaf_joint_payload_type, e->klass->id, e->n, e->c, e->q);
  GafJointPayload *j = (GafJointPayload *) payload;

  j->c = e->c;
  j->target = gaf_joint_dense2 (self->joint);
  if (model != NULL)
    {
      j->model = gaf_joint_dense2 (model);
      j->samples = round->samples;
      j->step = round->step;
      j->kl = m->kl;
      j->kl_marginal = m->kl_marginal;
      j->mi_model = m->mi_model;
      j->mi_target = m->mi_target;
    }
  gaf_payload_set_round (payload, round);
  return payload;
}

/* A member of the family is its target, named by a data spec (gaf_joint_new_from_spec; GafExperimentClass
 * .family_data of each class): the spec builds the target, and a model trained elsewhere on the same data
 * (a file without an [app] group whose [data] spec names the same target, gaf_joint_spec_normalize) opens in
 * this member, whatever its network (the MLP, or the authors' DenseNet from gaflow-cli or PyTorch). */
typedef struct {
  const char *spec;
} JointTarget;

static GafJoint *
new_target (const GafExperimentClass *klass)
{
  const JointTarget *target = klass->family_data;
  g_autoptr(GError) error = NULL;
  GafJoint *joint = gaf_joint_new_from_spec (target->spec, 0, NULL, NULL, &error);

  g_assert_no_error (error);   /* the family's own specs, built-in targets without files */
  return joint;
}

static gboolean
joint_build (GafExperiment *e, GafNet *loaded, GError **error)
{
  GafJointExperiment *self = (GafJointExperiment *) e;

  gaf_joint_experiment_build_net (self, new_target (e->klass), loaded);
  gaf_experiment_publish (e, joint_payload_new (self, NULL, NULL, NULL));
  return TRUE;
}

static gboolean
joint_sample (GafExperiment *e, GafRng *rng, GCancellable *cancellable, GError **error)
{
  GafJointExperiment *self = (GafJointExperiment *) e;
  guint64 count = gaf_joint_experiment_count (self);
  g_autofree guint16 *labels = g_new (guint16, count * e->n);
  g_autofree double *target = NULL;
  g_autoptr(GafRound) round = NULL;
  g_autoptr(GafJoint) model = NULL;
  GafJointMetrics m;
  int cells = e->c * e->c;
  double uniform = 0.0;

  round = gaf_experiment_sample_net (e, rng, count, TRAJECTORY_SEQUENCES, labels, cancellable, error);
  if (round == NULL)
    return FALSE;
  round->field = gaf_experiment_field_grid (e, e->p.value[GAF_PARAM_T_END], NULL, NULL);
  gaf_round_set_histogram (round, labels, count, e->n, e->c, NULL);
  /* The joint metric of SPEC §5: KL between the empirical joint of the samples and the target, beside a
   * uniform sampler's KL over the c^2 cells and the finite-sample floor (c^2 - 1)/(2N). */
  model = gaf_joint_new_empirical (e->n, e->c, labels, count, "samples");
  gaf_joint_compare (model, self->joint, &m);
  target = gaf_joint_dense2 (self->joint);
  for (int i = 0; i < cells; i++)
    uniform += log ((1.0 / cells) / target[i]) / cells;
  round->kl = m.kl;
  round->kl_uniform = uniform;
  round->kl_floor = (double) (cells - 1) / (2.0 * count);
  gaf_experiment_publish (e, joint_payload_new (self, round, model, &m));
  return TRUE;
}

static const GafParam joint_params[] = {
  GAF_PARAM_METHOD, GAF_PARAM_WIDTH, GAF_PARAM_SEED, GAF_PARAM_LAMBDA, GAF_PARAM_TIME_RATE, GAF_PARAM_KAPPA,
  GAF_PARAM_LEARNING_RATE, GAF_PARAM_BATCH, GAF_PARAM_BUDGET, GAF_PARAM_T_END, GAF_PARAM_STEP_SIZE,
  GAF_PARAM_INTEGRATOR, GAF_PARAM_JUMP_STEPS, GAF_PARAM_SAMPLES, GAF_N_PARAMS
};

#define JOINT_CLASS(...) {                                 \
    .default_view = "joint",                                \
    .instance_size = sizeof (GafJointExperiment),           \
    .params = joint_params,                                 \
    .batch_param = GAF_PARAM_BATCH,                         \
    .build = joint_build,                                   \
    .sample = joint_sample,                                 \
    .finalize = gaf_joint_experiment_finalize,              \
    __VA_ARGS__ }

/* Whether the [data] spec of a file without an [app] group names klass's target. */
static gboolean
joint_claims (const GafExperimentClass *klass, GKeyFile *kf)
{
  const JointTarget *target = klass->family_data;
  g_autofree char *spec = g_key_file_get_string (kf, "data", "spec", NULL);
  g_autofree char *theirs = spec != NULL ? gaf_joint_spec_normalize (spec) : NULL;
  g_autofree char *mine = gaf_joint_spec_normalize (target->spec);

  return theirs != NULL && g_strcmp0 (theirs, mine) == 0;
}

static gboolean coupled_claims   (GKeyFile *kf, GafRunnerParams *p) { return joint_claims (&gaf_coupled_experiment, kf); }
static gboolean pinwheel_claims  (GKeyFile *kf, GafRunnerParams *p) { return joint_claims (&gaf_pinwheel_experiment, kf); }
static gboolean gaussians_claims (GKeyFile *kf, GafRunnerParams *p) { return joint_claims (&gaf_gaussians_experiment, kf); }

/* SPEC §5 coupled joints: P(equal) = 0.9 for two binary variables; the 2-D densities on a grid small
 * enough for a round of samples to show them (GAF_JOINT_APP_GRID). The spec is the member's one fact: its
 * target, the files it opens, and what the app says it opens. */
#define JOINT_MEMBER(spec_, claims_) .family_data = &(const JointTarget) { spec_ }, .opens = spec_, .claims = claims_

#define APP_GRID G_STRINGIFY (GAF_JOINT_APP_GRID)

const GafExperimentClass gaf_coupled_experiment = JOINT_CLASS (
  .id = "coupled",
  .label = N_("Coupled pair · learned"),
  .description = N_("Two binary variables that are equal with probability 0.9, learned by the MLP"),
  .legacy_index = 2,
  JOINT_MEMBER ("coupled-binary", coupled_claims));

const GafExperimentClass gaf_pinwheel_experiment = JOINT_CLASS (
  .id = "pinwheel",
  .label = N_("Pinwheel 16 × 16 · learned"),
  .description = N_("The pinwheel density on a 16 × 16 grid (two variables with 16 classes), learned by the MLP"),
  .legacy_index = 3,
  JOINT_MEMBER ("pinwheel:bins=" APP_GRID, pinwheel_claims));

const GafExperimentClass gaf_gaussians_experiment = JOINT_CLASS (
  .id = "gaussians",
  .label = N_("8 Gaussians 16 × 16 · learned"),
  .description = N_("Eight Gaussians on a circle, binned on a 16 × 16 grid (two variables with 16 classes), learned by the MLP"),
  .legacy_index = -1,
  JOINT_MEMBER ("gaussians:bins=" APP_GRID, gaussians_claims));
