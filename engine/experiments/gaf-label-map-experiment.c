/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-label-maps"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <math.h>
#include <string.h>

#include "gaf-dataset.h"
#include "gaf-error.h"
#include "gaf-label-map-experiment.h"
#include "gaf-likelihood.h"
#include "gaf-model.h"

/* Label maps of the app: at most this many pixels per map and classes (GAF_IMAGE_MAPS maps of
 * trajectories are kept in every payload). */
#define IMAGE_MAX_PIXELS  4096
#define IMAGE_MAX_CLASSES 32
#define DATA_GROUP "data"

/* ---- the data: both splits of a spec and what the metric compares with -------------------------------- */

typedef struct {
  gint        ref_count;
  const char *spec;           /* interned, as the app names it (no split=) */
  GafDataset *train;
  GafDataset *test;           /* held-out maps (a folder's own maps: it has no split) */
  double     *q;              /* (H W, c) pixel class frequencies of the training maps */
  guint8     *palette;        /* (c, 3) */
  double      kl_uniform;     /* the metric for GAF_IMAGE_MAPS maps of uniform random pixels */
  double      kl_floor;       /* for GAF_IMAGE_MAPS held-out maps */
  double      agreement;      /* 4-neighbour agreement of the held-out maps */
} ImageData;

static ImageData *
image_data_ref (ImageData *d)
{
  g_atomic_int_inc (&d->ref_count);
  return d;
}

static void
image_data_unref (ImageData *d)
{
  if (d == NULL || !g_atomic_int_dec_and_test (&d->ref_count))
    return;
  gaf_dataset_free (d->train);
  gaf_dataset_free (d->test);
  g_free (d->q);
  g_free (d->palette);
  g_free (d);
}

/* Fashion-MNIST and the scenes take ",split=..."; a folder has no split, so its maps are also the held-out ones. */
static char *
split_spec (const char *spec, const char *split)
{
  if (g_str_has_prefix (spec, "folder:"))
    return g_strdup (spec);
  return g_strdup_printf ("%s%ssplit=%s", spec, strchr (spec, ':') ? "," : ":", split);
}

/* Mean per-pixel KL (smoothed) of GAF_IMAGE_MAPS maps drawn by `draw` against the held-out maps. */
static double
reference_kl (const GafDataset *test, GafLabelFunc draw, gpointer data, guint64 seed)
{
  gsize n = gaf_dataset_pixels (test);
  g_autofree guint16 *maps = g_new (guint16, (gsize) GAF_IMAGE_MAPS * n);
  GafRng rng;

  gaf_rng_init (&rng, seed);
  draw (data, &rng, maps, GAF_IMAGE_MAPS);
  return gaf_label_maps_marginal_kl (maps, GAF_IMAGE_MAPS, test->labels, test->count, n, test->c);
}

static ImageData *
image_data_load (const char *spec, GError **error)
{
  g_autofree char *train_spec = NULL, *test_spec = NULL;
  g_autoptr(GafDataset) train = NULL, test = NULL;
  g_autofree double *uniform = NULL;
  g_autoptr(GafIndependentSampler) noise = NULL;
  ImageData *d;
  gsize n;

  if (strstr (spec, "split=") != NULL)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "image data “%s”: the app takes the training and the held-out split itself (no split=)", spec);
      return NULL;
    }
  train_spec = split_spec (spec, "train");
  test_spec = split_spec (spec, "test");
  train = gaf_dataset_new_from_spec (train_spec, error);
  if (train == NULL)
    return NULL;
  test = gaf_dataset_new_from_spec (test_spec, error);
  if (test == NULL)
    return NULL;
  if (gaf_dataset_pixels (train) > IMAGE_MAX_PIXELS || train->c > IMAGE_MAX_CLASSES || train->count == 0 ||
      test->count == 0 || test->c != train->c || test->height != train->height || test->width != train->width)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "image data “%s”: the app shows maps of at most %d pixels with at most %d classes "
                   "(these have %d x %d pixels, %d classes)", spec, IMAGE_MAX_PIXELS, IMAGE_MAX_CLASSES,
                   train->width, train->height, train->c);
      return NULL;
    }
  d = g_new0 (ImageData, 1);
  d->ref_count = 1;
  d->spec = g_intern_string (spec);
  d->train = g_steal_pointer (&train);
  d->test = g_steal_pointer (&test);
  d->q = gaf_dataset_marginals (d->train);
  d->palette = gaf_dataset_new_palette (d->train);
  n = gaf_dataset_pixels (d->test);
  uniform = g_new (double, n * d->test->c);
  for (gsize i = 0; i < n * d->test->c; i++)
    uniform[i] = 1.0 / d->test->c;
  noise = gaf_independent_sampler_new (uniform, n, d->test->c);
  d->kl_uniform = reference_kl (d->test, gaf_independent_sampler_sample, noise, 17);
  d->kl_floor = reference_kl (d->test, gaf_dataset_sample, d->test, 18);
  d->agreement = gaf_label_maps_neighbour_agreement (d->test->labels, d->test->count, d->test->height,
                                                     d->test->width);
  return d;
}

/* ---- likelihood scores ---------------------------------------------------------------------------------- */

static GafLikelihoodScores *
scores_ref (GafLikelihoodScores *l)
{
  g_atomic_int_inc (&l->ref_count);
  return l;
}

static void
scores_unref (GafLikelihoodScores *l)
{
  if (l == NULL || !g_atomic_int_dec_and_test (&l->ref_count))
    return;
  g_free (l->held_out);
  g_free (l->held_out_bpd);
  g_free (l);
}

/* A new set of scores: a copy of `from` (may be NULL) to change before it is published. */
static GafLikelihoodScores *
scores_new (const GafLikelihoodScores *from)
{
  GafLikelihoodScores *l = g_new0 (GafLikelihoodScores, 1);

  if (from != NULL)
    {
      *l = *from;
      l->held_out = g_memdup2 (from->held_out, sizeof (guint16) * from->n_held_out * from->height * from->width);
      l->held_out_bpd = g_memdup2 (from->held_out_bpd, sizeof (double) * from->n_held_out);
    }
  else
    l->query_bpd = l->query_bpd_se = l->query_hit_fraction = NAN;
  l->ref_count = 1;
  return l;
}

static void
label_map_payload_finalize (GafPayload *payload)
{
  GafLabelMapPayload *m = (GafLabelMapPayload *) payload;

  g_free (m->palette);
  scores_unref (m->likelihood);
}

const GafPayloadType gaf_label_map_payload_type = { "label-maps", sizeof (GafLabelMapPayload),
                                                    label_map_payload_finalize };

/* ---- the experiment ------------------------------------------------------------------------------------ */

typedef struct {
  GafExperiment        parent;
  ImageData           *data;
  GafRound            *round;          /* the last round, NULL before */
  double               agreement;      /* of its maps */
  GafNet              *lik_net;        /* the EMA weights frozen for this model's scores; NULL until asked */
  GafLikelihoodScores *lik;            /* scores of the current model, NULL before any */
  GafMapQuery         *query;          /* a map waiting to be scored */
  gboolean             held_out_wanted;
  gboolean             job_running;
} LabelMaps;

struct _GafMapQuery {
  guint64  id;
  int      height, width;
  guint16 *labels;
};

static void
label_maps_publish (LabelMaps *self)
{
  GafExperiment *e = &self->parent;
  GafPayload *payload = gaf_payload_new (&gaf_label_map_payload_type, e->klass->id, e->n, e->c, e->q);
  GafLabelMapPayload *m = (GafLabelMapPayload *) payload;

  m->data = e->p.text[GAF_PARAM_IMAGE_DATA];
  m->agreement = NAN;
  m->agreement_data = NAN;
  if (self->data != NULL && e->n > 0)
    {
      m->height = self->data->train->height;
      m->width = self->data->train->width;
      m->palette = g_memdup2 (self->data->palette, (gsize) 3 * e->c);
      m->agreement_data = self->data->agreement;
      m->agreement = self->round != NULL ? self->agreement : NAN;
    }
  m->likelihood = self->lik != NULL ? scores_ref (self->lik) : NULL;
  gaf_payload_set_round (payload, self->round);
  gaf_experiment_publish (e, payload);
}

static void
clear_likelihood (LabelMaps *self)
{
  g_clear_pointer (&self->lik_net, gaf_net_free);
  g_clear_pointer (&self->lik, scores_unref);
  g_clear_pointer (&self->query, gaf_map_query_free);
  self->held_out_wanted = FALSE;
}

/* The image network from the model factory: the UNet of SPEC §3 at the app's size (base channels from
 * GAF_PARAM_IMAGE_WIDTH, multipliers 1, 2, 2, one residual block per level, attention in the middle only). */
static GafNet *
image_net (GafExperiment *e, LabelMaps *self, GError **error)
{
  GafModelConfig cfg;

  gaf_model_config_init (&cfg, GAF_MODEL_UNET, e->n, e->c, e->net_seed);
  cfg.unet.height = self->data->train->height;
  cfg.unet.width = self->data->train->width;
  cfg.unet.channels = (int) e->p.value[GAF_PARAM_IMAGE_WIDTH];
  cfg.unet.n_levels = 3;
  cfg.unet.mult[0] = 1;
  cfg.unet.mult[1] = 2;
  cfg.unet.mult[2] = 2;
  cfg.unet.blocks = 1;
  cfg.unet.n_attn = 0;
  if (gaf_experiment_in_channels (e) != e->c)
    cfg.unet.in_channels = gaf_experiment_in_channels (e);   /* the masked jump flow's mask channel */
  return gaf_model_new (&cfg, error);
}

/* The sampling precision of the parameters on the network, on the runner's thread: after every build (a new
 * network, or one from a file, starts in float) and when the parameter changes. bf16 takes the UNet and a CPU
 * with AVX-512 BF16 (only its attention and 1x1 products change; training and the likelihood's frozen copy stay in
 * float). Where either is missing the network samples in float and the parameter says float, with the reason for
 * the runner to report: no round is shown as bf16 that was sampled in float. */
static void
label_maps_apply_precision (GafExperiment *e)
{
  GafPrecision want = (GafPrecision) gaf_param_clamp (GAF_PARAM_PRECISION, e->p.value[GAF_PARAM_PRECISION]);
  const char *cpu_lacks = gaf_param_info (GAF_PARAM_PRECISION)->unavailable (want);
  g_autoptr(GError) refused = NULL;
  GError *why;

  if (e->net == NULL || (cpu_lacks == NULL && gaf_net_set_precision (e->net, want, &refused)))
    return;
  if (!gaf_net_set_precision (e->net, GAF_PRECISION_FLOAT, NULL))
    g_return_if_reached ();   /* every network samples in float */
  if (cpu_lacks != NULL)
    why = g_error_new_literal (GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, _(cpu_lacks));
  else
    /* Translators: %s is a network's name as the model files write it (toy-cnn, mlp, dense) */
    why = g_error_new (GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       _("The opened %s network has no bf16 path, so the maps are sampled in float."),
                       e->net->klass->name);
  gaf_experiment_adjust_param (e, GAF_PARAM_PRECISION, GAF_PRECISION_FLOAT, why);
}

static gboolean
label_maps_build (GafExperiment *e, GafNet *loaded, GError **error)
{
  LabelMaps *self = (LabelMaps *) e;
  const char *spec = e->p.text[GAF_PARAM_IMAGE_DATA];

  clear_likelihood (self);
  g_clear_pointer (&self->round, gaf_round_unref);
  e->n = e->c = 0;
  e->q = NULL;
  if (self->data == NULL || self->data->spec != spec)
    {
      g_clear_pointer (&self->data, image_data_unref);
      self->data = image_data_load (spec, error);
      if (self->data == NULL)
        {
          gaf_net_free (loaded);
          label_maps_publish (self);
          return FALSE;
        }
    }
  e->n = (int) gaf_dataset_pixels (self->data->train);
  e->c = self->data->train->c;
  e->q = self->data->q;
  e->labels = gaf_dataset_sample;
  e->labels_data = self->data->train;
  e->net_seed = (guint64) e->p.value[GAF_PARAM_SEED] ^ 0x1a9e5ull;
  if (loaded != NULL)
    {
      e->net = loaded;
      gaf_experiment_describe_loaded (e, loaded, GAF_MODEL_UNET, GAF_PARAM_IMAGE_WIDTH);
    }
  else
    e->net = image_net (e, self, error);   /* fails for sides the UNet cannot take (not divisible by 4) */
  label_maps_apply_precision (e);
  label_maps_publish (self);
  return e->net != NULL;
}

static void
label_maps_param_changed (GafExperiment *e, GafParam param)
{
  if (param == GAF_PARAM_PRECISION)
    label_maps_apply_precision (e);
}

static gboolean
label_maps_sample (GafExperiment *e, GafRng *rng, GCancellable *cancellable, GError **error)
{
  LabelMaps *self = (LabelMaps *) e;
  g_autofree guint16 *labels = g_new (guint16, (gsize) GAF_IMAGE_MAPS * e->n);
  GafRound *round;

  round = gaf_experiment_sample_net (e, rng, GAF_IMAGE_MAPS, GAF_IMAGE_MAPS, labels, cancellable, error);
  if (round == NULL)
    return FALSE;
  gaf_round_set_histogram (round, labels, GAF_IMAGE_MAPS, e->n, e->c, NULL);
  round->kl = gaf_label_maps_marginal_kl (labels, GAF_IMAGE_MAPS, self->data->test->labels, self->data->test->count,
                                          (gsize) e->n, e->c);
  round->kl_uniform = self->data->kl_uniform;
  round->kl_floor = self->data->kl_floor;
  self->agreement = gaf_label_maps_neighbour_agreement (labels, GAF_IMAGE_MAPS, self->data->train->height,
                                                        self->data->train->width);
  g_clear_pointer (&self->round, gaf_round_unref);
  self->round = round;
  label_maps_publish (self);
  return TRUE;
}

/* ---- the likelihood job ---------------------------------------------------------------------------------- */

typedef struct {
  GafJob             parent;
  GafNet            *net;        /* frozen EMA weights, owned */
  guint16           *labels;     /* (count, n) */
  guint              count;
  gsize              n;
  guint64            query;      /* the map's id, 0 for the held-out maps */
  GafLikelihoodConfig cfg;
  GafRng             rng;
  GafLikelihoodItem *items;
} LikelihoodJob;

static void
likelihood_progress (const GafProgress *p, gpointer data)
{
  gaf_work_progress (data, p->total ? (double) p->done / p->total : 0.0);
}

static gboolean
likelihood_run (GafJob *job, GafWork *work, GError **error)
{
  LikelihoodJob *j = (LikelihoodJob *) job;

  return gaf_likelihood_evaluate (j->net, &j->cfg, &j->rng, j->labels, j->count, j->items, NULL,
                                  likelihood_progress, work, work->cancellable, error);
}

static void
likelihood_free (GafJob *job)
{
  LikelihoodJob *j = (LikelihoodJob *) job;

  gaf_net_free (j->net);
  g_free (j->labels);
  g_free (j->items);
  g_free (j);
}

static const GafJobClass held_out_job_class = { GAF_LIKELIHOOD_JOB_HELD_OUT, N_("scoring the held-out maps"),
                                                likelihood_run, NULL, likelihood_free };
static const GafJobClass map_job_class = { GAF_LIKELIHOOD_JOB_MAP, N_("scoring the map"), likelihood_run, NULL,
                                           likelihood_free };

/* A copy of the network with its averaged weights, for scores that stay comparable while training goes on. */
static GafNet *
frozen_net (GafExperiment *e)
{
  GafModelConfig mc;
  GafParams *from = gaf_net_get_params (e->net), *to;
  GafNet *copy;

  if (!gaf_model_config_from_net (&mc, e->net, e->net_seed) || (copy = gaf_model_new (&mc, NULL)) == NULL)
    return NULL;
  to = gaf_net_get_params (copy);
  g_assert (to->size == from->size);
  memcpy (to->data, from->ema != NULL ? from->ema : from->data, sizeof (float) * from->size);
  return copy;
}

static GafJob *
label_maps_next_job (GafExperiment *e)
{
  LabelMaps *self = (LabelMaps *) e;
  gboolean query = self->query != NULL;
  LikelihoodJob *j;
  GafRng rng;

  if (e->method != GAF_METHOD_GAF)
    {
      /* The likelihood is GAF's (the flow's density and its rounding model): nothing to score for a jump flow */
      g_clear_pointer (&self->query, gaf_map_query_free);
      self->held_out_wanted = FALSE;
      return NULL;
    }
  if (self->job_running || e->net == NULL || self->data == NULL ||
      (!query && !(self->held_out_wanted && (self->lik == NULL || self->lik->n_held_out == 0))))
    return NULL;
  if (self->lik_net == NULL)
    {
      self->lik_net = frozen_net (e);
      if (self->lik_net == NULL)
        {
          clear_likelihood (self);
          return NULL;
        }
      g_clear_pointer (&self->lik, scores_unref);
      self->lik = scores_new (NULL);
      self->lik->model = e->model_serial;
      self->lik->step = gaf_experiment_step (e);
      self->lik->height = self->data->train->height;
      self->lik->width = self->data->train->width;
      self->lik->c = e->c;
    }
  j = g_new0 (LikelihoodJob, 1);
  j->parent.klass = query ? &map_job_class : &held_out_job_class;
  j->parent.model_serial = e->model_serial;
  j->n = (gsize) e->n;
  j->count = query ? 1 : GAF_LIKELIHOOD_HELD_OUT;
  if (query)
    {
      j->labels = g_steal_pointer (&self->query->labels);
      j->query = self->query->id;
      g_clear_pointer (&self->query, gaf_map_query_free);
    }
  else
    {
      /* The same held-out maps for every model of these data. */
      j->labels = g_new (guint16, (gsize) j->count * j->n);
      gaf_rng_init (&rng, 0x4e1d0u);
      gaf_dataset_sample (self->data->test, &rng, j->labels, (int) j->count);
    }
  j->items = g_new0 (GafLikelihoodItem, j->count);
  gaf_likelihood_config_init (&j->cfg);
  j->cfg.t_end = GAF_LIKELIHOOD_T_END;
  j->cfg.divergence = GAF_DIVERGENCE_HUTCHINSON;
  j->cfg.proposals = GAF_LIKELIHOOD_PROPOSALS;
  j->cfg.batch = GAF_LIKELIHOOD_PROPOSALS;   /* one map per solve: progress (and commands) after each */
  gaf_rng_init_stream (&j->rng, (guint64) e->p.value[GAF_PARAM_SEED] * 131 + e->model_serial,
                       query ? 0x11c0 + j->query : 0x11b0);
  j->net = g_steal_pointer (&self->lik_net);
  self->job_running = TRUE;
  return &j->parent;
}

static void
label_maps_job_done (GafExperiment *e, GafJob *job, gboolean ok, const GError *error)
{
  LabelMaps *self = (LabelMaps *) e;
  LikelihoodJob *j = (LikelihoodJob *) job;
  GafLikelihoodScores *l;

  if (e->klass != &gaf_label_map_experiment || (job->klass != &held_out_job_class && job->klass != &map_job_class))
    return;
  self->job_running = FALSE;
  if (job->model_serial != e->model_serial || self->lik == NULL)
    return;   /* another model now: these scores are of no use */
  self->lik_net = g_steal_pointer (&j->net);
  if (!ok)
    {
      self->held_out_wanted = FALSE;
      return;
    }
  l = scores_new (self->lik);
  if (j->query != 0)
    {
      l->query = j->query;
      l->query_bpd = j->items[0].bits_per_dim;
      l->query_bpd_se = j->items[0].log_p_se / (j->n * G_LN2);
      l->query_hit_fraction = j->items[0].hit_fraction;
    }
  else
    {
      g_free (l->held_out);
      g_free (l->held_out_bpd);
      l->n_held_out = j->count;
      l->held_out = g_steal_pointer (&j->labels);
      l->held_out_bpd = g_new (double, j->count);
      for (guint i = 0; i < j->count; i++)
        l->held_out_bpd[i] = j->items[i].bits_per_dim;
      self->held_out_wanted = FALSE;
    }
  scores_unref (self->lik);
  self->lik = l;
  label_maps_publish (self);
}

GafMapQuery *
gaf_map_query_new (const guint16 *labels, int height, int width, guint64 *id)
{
  static gint next_id = 0;
  GafMapQuery *q;

  g_return_val_if_fail (labels != NULL && height > 0 && width > 0, NULL);
  q = g_new0 (GafMapQuery, 1);
  q->id = (guint64) (guint) g_atomic_int_add (&next_id, 1) + 1;
  q->height = height;
  q->width = width;
  q->labels = g_memdup2 (labels, sizeof (guint16) * height * width);
  if (id != NULL)
    *id = q->id;
  return q;
}

void
gaf_map_query_free (gpointer query)
{
  GafMapQuery *q = query;

  if (q == NULL)
    return;
  g_free (q->labels);
  g_free (q);
}

void
gaf_label_maps_score_map (GafExperiment *e, gpointer query)
{
  LabelMaps *self = (LabelMaps *) e;
  GafMapQuery *q = query;

  if (e == NULL || e->klass != &gaf_label_map_experiment || self->data == NULL || e->n == 0 ||
      q->height != self->data->train->height || q->width != self->data->train->width)
    return;
  for (gsize i = 0; i < (gsize) e->n; i++)
    if (q->labels[i] >= e->c)
      return;
  g_clear_pointer (&self->query, gaf_map_query_free);
  self->query = gaf_map_query_new (q->labels, q->height, q->width, NULL);
  self->query->id = q->id;
  self->held_out_wanted = TRUE;
}

void
gaf_label_maps_score_held_out (GafExperiment *e, gpointer refresh)
{
  LabelMaps *self = (LabelMaps *) e;

  if (e == NULL || e->klass != &gaf_label_map_experiment)
    return;
  if (GPOINTER_TO_INT (refresh) && !self->job_running)
    {
      /* The weights of now: a new frozen copy and new scores. */
      g_clear_pointer (&self->lik_net, gaf_net_free);
      g_clear_pointer (&self->lik, scores_unref);
    }
  self->held_out_wanted = TRUE;
}

/* ---- files ----------------------------------------------------------------------------------------------- */

static const char *const palette_names[] = { "gray", "scenes", "classes" };

/* [data] as gaflow-cli's image `train` writes it, so that `gaflow-cli sample` reads the app's files. */
static void
label_maps_save (GafExperiment *e, GKeyFile *kf)
{
  LabelMaps *self = (LabelMaps *) e;
  const GafDataset *d;

  if (self->data == NULL)
    return;
  d = self->data->train;
  g_key_file_set_string (kf, DATA_GROUP, "spec", d->name);
  g_key_file_set_integer (kf, DATA_GROUP, "classes", d->c);
  g_key_file_set_integer (kf, DATA_GROUP, "height", d->height);
  g_key_file_set_integer (kf, DATA_GROUP, "width", d->width);
  g_key_file_set_uint64 (kf, DATA_GROUP, "maps", d->count);
  g_key_file_set_string (kf, DATA_GROUP, "palette", palette_names[d->palette]);
  g_key_file_set_string (kf, DATA_GROUP, "description", d->description);
}

/* gaflow-cli's image checkpoints (no [app]): their [data] spec without split= is the app's data. */
static gboolean
label_maps_claims (GKeyFile *kf, GafRunnerParams *p)
{
  g_autofree char *spec = g_key_file_get_string (kf, DATA_GROUP, "spec", NULL);
  const char *colon;
  g_auto(GStrv) tokens = NULL;
  g_autoptr(GString) out = NULL;

  if (spec == NULL || !(g_str_has_prefix (spec, "fashion-mnist") || g_str_has_prefix (spec, "scenes") ||
                        g_str_has_prefix (spec, "folder:")))
    return FALSE;
  colon = strchr (spec, ':');
  if (colon == NULL || g_str_has_prefix (spec, "folder:"))
    out = g_string_new (spec);
  else
    {
      out = g_string_new_len (spec, colon - spec);
      tokens = g_strsplit (colon + 1, ",", -1);
      for (guint i = 0, n = 0; tokens[i] != NULL; i++)
        if (tokens[i][0] != '\0' && !g_str_has_prefix (tokens[i], "split="))
          g_string_append_printf (out, "%s%s", n++ ? "," : ":", tokens[i]);
    }
  if (out->len >= GAF_PARAM_TEXT_MAX)
    return FALSE;
  gaf_runner_params_set_text (p, GAF_PARAM_IMAGE_DATA, out->str);
  return TRUE;
}

static char *
label_maps_summary (const GafPayload *payload)
{
  const GafLabelMapPayload *m = gaf_label_map_payload (payload);
  const GafRound *r = payload->round;

  if (m == NULL || r == NULL)
    return NULL;
  /* Translators: a KL between the class frequencies of each pixel, averaged over the pixels */
  return g_strdup_printf (_("pixel KL %.3f (held-out maps %.3f, uniform %.3f) · neighbours agree %.0f %% (data %.0f %%)"),
                          r->kl, r->kl_floor, r->kl_uniform, 100 * m->agreement, 100 * m->agreement_data);
}

static void
label_maps_adopt (GafExperiment *e, GafExperiment *from)
{
  LabelMaps *self = (LabelMaps *) e, *old = (LabelMaps *) from;

  if (old->data != NULL && old->data->spec == e->p.text[GAF_PARAM_IMAGE_DATA])
    self->data = image_data_ref (old->data);
}

static void
label_maps_finalize (GafExperiment *e)
{
  LabelMaps *self = (LabelMaps *) e;

  clear_likelihood (self);
  g_clear_pointer (&self->round, gaf_round_unref);
  g_clear_pointer (&self->data, image_data_unref);
}

static const GafParam label_map_params[] = {
  GAF_PARAM_METHOD, GAF_PARAM_IMAGE_DATA, GAF_PARAM_IMAGE_WIDTH, GAF_PARAM_SEED, GAF_PARAM_LAMBDA,
  GAF_PARAM_TIME_RATE, GAF_PARAM_KAPPA, GAF_PARAM_LEARNING_RATE, GAF_PARAM_IMAGE_BATCH, GAF_PARAM_BUDGET,
  GAF_PARAM_T_END, GAF_PARAM_STEP_SIZE, GAF_PARAM_INTEGRATOR, GAF_PARAM_JUMP_STEPS, GAF_PARAM_PRECISION,
  GAF_N_PARAMS
};

const GafExperimentClass gaf_label_map_experiment = {
  .id = "label-maps",
  .label = N_("Label maps · learned"),
  .description = N_("Label maps of an image dataset, learned by the UNet"),
  .default_view = "labelmaps",
  .legacy_name = "images",
  .legacy_index = 4,
  .instance_size = sizeof (LabelMaps),
  .params = label_map_params,
  .batch_param = GAF_PARAM_IMAGE_BATCH,
  .reads_data = TRUE,
  .default_model = "fashion16.gafck",
  .sample_interval_us = 8 * G_USEC_PER_SEC,   /* a round costs every pixel of GAF_IMAGE_MAPS maps */
  .build = label_maps_build,
  .sample = label_maps_sample,
  .param_changed = label_maps_param_changed,
  .next_job = label_maps_next_job,
  .job_done = label_maps_job_done,
  .save = label_maps_save,
  .claims = label_maps_claims,
  .opens = "label maps (fashion-mnist, scenes, folder:)",
  .adopt = label_maps_adopt,
  .finalize = label_maps_finalize,
  .summary = label_maps_summary,
};
