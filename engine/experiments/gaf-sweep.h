/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-baselines.h"
#include "gaf-net.h"
#include "gaf-progress.h"
#include "gaf-sampler.h"
#include "gaf-target.h"
#include "gaf-trainer.h"

G_BEGIN_DECLS

/* The class-scaling benchmark (docs/method.md §5): for each c, train on fresh samples of the target,
 * draw N samples, report KL against the target beside the uniform-sampler KL and the floor. */
typedef struct {
  GArray          *classes;       /* int */
  int              n;             /* positions, 4 */
  guint64          steps;
  GafTrainerConfig train;
  GafSamplerConfig sampler;
  guint64          samples;
  int              sample_chunk;
  double           time_scale;    /* toy CNN time input scale (1 = reference) */
  double           input_scale;   /* toy CNN input scale; 0 = c (probabilities times c, mean 1) */
  gboolean         position_bias; /* toy CNN with a learned per-position output bias (default TRUE;
                                   * FALSE is the reference network) */
  gboolean         posterior;     /* GAF only: the posterior form of the affinity around the toy CNN
                                   * (gaf-posterior.h; default TRUE); FALSE is the reference, where the
                                   * network's output is the affinity */
  gboolean         cosine;        /* cosine learning-rate decay to 0 over the steps */
  guint64          seed;
  /* Methods run on every class count, in this order (GafMethod; default: gaf only). Each gets the same
   * target, trunk (toy CNN; input width 2c for Dirichlet FM), steps, batch, learning rate and schedule,
   * EMA (sampling with the averaged weights), sample count and seeds. time_scale applies to GAF's
   * time t in [0, T]; the baselines feed their own time variable as their references do (t in [0, 1),
   * alpha in [1, alpha_max]). input_scale applies to every method's network input; input_scale 0 means
   * c for the simplex-valued inputs (GAF, linear, Dirichlet: mean entry 1) and sqrt(c) for sphere FM,
   * whose input sqrt(p) then has root-mean-square entry 1, and for the jump flows, whose one-hot input then
   * has root-mean-square entry 1 as well. The jump flows' time is t in [0, 1), treated as linear FM's. */
  GArray          *methods;
  GafBaselineConfig baseline;
  /* 0: each baseline's time input as in its reference (t in [0, 1), alpha unscaled). > 0: the baseline's
   * time normalised to at most 1 (t, or alpha / alpha_max) times this; time_scale * t_end puts every
   * method's sampling times on the same range of network inputs as GAF's. */
  double           baseline_time_scale;
  /* > 0: every method samples with this many network evaluations (GAF: the integrator's steps to t_end with
   * evals / evals-per-step steps, which must divide; linear and Dirichlet FM: evals + 1 grid points; sphere
   * FM and the jump flows: evals steps). 0: each method's own setting (sampler, baseline). */
  guint            evals;
} GafSweepConfig;

typedef struct {
  char    method[16];
  int     classes;
  guint64 steps;
  guint64 samples;
  double  kl;
  double  kl_uniform;
  double  kl_floor;
  double  train_seconds;
  double  sample_seconds;
  double  final_loss;     /* mean of the last 100 training losses */
} GafSweepRow;

/* The recipe of one class count, the one copy the sweep, the app's class-scaling experiment and the sweep
 * view share so that they draw the same targets, networks and streams from one seed:
 * - the target q_i = softmax(U_i) of c classes at n positions (gaf_class_target_new with a seed per c);
 * - the toy CNN trunk for `method` as cfg sets it up (input width, time and input scale, position bias;
 *   GAF in the posterior form when cfg->posterior), made with gaf_scaling_net_seed;
 * - the trainer's seed, and the sampling stream (gaf_rng_init_stream (seed, GAF_SCALING_SAMPLE_STREAM + c)). */
#define GAF_SCALING_SAMPLE_STREAM 0x5a3e
GafClassTarget *gaf_scaling_target_new   (int n, int classes, guint64 seed);
GafNet         *gaf_scaling_net_new      (const GafSweepConfig *cfg, GafMethod method, int classes);
guint64         gaf_scaling_net_seed     (guint64 seed, int classes);
guint64         gaf_scaling_trainer_seed (guint64 seed, int classes);

typedef void (*GafSweepRowFunc) (const GafSweepRow *row, gpointer user_data);

/* Defaults: the project's interactive budget (see README). */
void     gaf_sweep_config_init  (GafSweepConfig *cfg);
void     gaf_sweep_config_clear (GafSweepConfig *cfg);
gboolean gaf_sweep_config_check (const GafSweepConfig *cfg, GError **error);

/* Runs one class count. */
gboolean gaf_sweep_run_one (const GafSweepConfig *cfg, int classes, guint item, guint n_items,
                            GafSweepRow *row, GafProgressFunc progress, gpointer progress_data,
                            GCancellable *cancellable, GError **error);
/* Runs one method on one class count (gaf_sweep_run_one is this with GAF_METHOD_GAF). */
gboolean gaf_sweep_run_method (const GafSweepConfig *cfg, GafMethod method, int classes, guint item,
                               guint n_items, GafSweepRow *row, GafProgressFunc progress,
                               gpointer progress_data, GCancellable *cancellable, GError **error);
/* The sampler settings one method uses under cfg (cfg->evals applied) and its network evaluations per sample. */
guint    gaf_sweep_method_sampling (const GafSweepConfig *cfg, GafMethod method, GafSamplerConfig *sampler,
                                    GafBaselineConfig *baseline);
/* Runs every class count in order, and every method for each class count (item = class index *
 * n_methods + method index); on_row is called as each finishes. */
gboolean gaf_sweep_run (const GafSweepConfig *cfg, GafSweepRowFunc on_row, GafProgressFunc progress,
                        gpointer user_data, GCancellable *cancellable, GError **error);

/* The sweep's items (item = class index * n_methods + method index, as gaf_sweep_run numbers them) dealt over
 * n_ranks processes (a distributed sweep, docs/scaling-out.md): largest class count first, each to the
 * process with the least estimated work so far (lowest rank on a tie); the estimate is 300 + c per item,
 * from the measured training time of the toy CNN against c. Returns the items of `rank`, in the order it
 * runs them. Every item goes to exactly one rank; with one rank, all of them, largest first. */
GArray  *gaf_sweep_deal (const GafSweepConfig *cfg, int n_ranks, int rank);

G_END_DECLS
