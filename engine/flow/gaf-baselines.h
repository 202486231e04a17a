/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-jump.h"
#include "gaf-net.h"
#include "gaf-progress.h"
#include "gaf-rng.h"
#include "gaf-trainer.h"

G_BEGIN_DECLS

/* The baselines of docs/method.md §4 beside GAF, on the same network trunk (any GafNet; the sweep uses the toy
 * CNN): linear flow matching on the simplex, Dirichlet flow matching, and Fisher (sphere) flow matching.
 * Arrays are (batch, n, c) with the class index innermost, as everywhere in the engine. */

typedef enum {
  GAF_METHOD_GAF,
  GAF_METHOD_DIRICHLET,
  GAF_METHOD_LINEAR,
  GAF_METHOD_SPHERE,
  GAF_METHOD_MASKED,    /* jump flow, masked source (gaf-jump.h) */
  GAF_METHOD_UNIFORM,   /* jump flow, uniform source */
  GAF_N_METHODS
} GafMethod;

gboolean    gaf_method_from_string (const char *name, GafMethod *out);
/* "gaf", "dirichlet", "linear", "sphere", "masked", "uniform" */
const char *gaf_method_to_string   (GafMethod method);
/* Human name for legends ("GAF", "Dirichlet FM", ...). */
const char *gaf_method_title       (GafMethod method);
/* The decoding rule of a sample, one short phrase, for tables and plot legends. */
const char *gaf_method_decoding    (GafMethod method);
/* Network input width for c classes: 2c for Dirichlet FM (expanded simplex), c + 1 for the masked jump flow
 * (one-hot with the mask channel), c otherwise. */
int         gaf_method_in_channels (GafMethod method, int c);
/* Parses "gaf,dirichlet,linear,sphere,masked,uniform" (any order, no repeats) into an array of GafMethod. */
gboolean    gaf_method_list_parse  (const char *list, GArray *methods, GError **error);
/* TRUE for the jump flows (masked, uniform), whose state is discrete and whose input is one-hot. */
gboolean    gaf_method_is_jump     (GafMethod method);
/* The jump flow's source of a jump method. */
GafJumpSource gaf_method_jump_source (GafMethod method);

typedef struct {
  /* Linear FM: Euler on linspace(0, 1, linear_points), the last grid point excluded from evaluation. */
  int    linear_points;      /* 20 */
  /* Dirichlet FM: training alpha = 1 + alpha_scale Exp(1); Euler over linspace(1, alpha_max, points). */
  double alpha_scale;        /* 2 */
  double alpha_max;          /* 8 */
  int    dirichlet_points;   /* 20 */
  double pseudocount;        /* 2: expanded-simplex weight w = pc / (alpha + pc - 1) */
  /* Sphere FM: exp-map Euler steps on [0, 1]. */
  int    sphere_steps;       /* 100 */
  /* Jump flows (masked and uniform source): scheduler kappa_t and Euler steps on [0, 1]. */
  GafJumpConfig jump;
} GafBaselineConfig;

void     gaf_baseline_config_init  (GafBaselineConfig *cfg);
gboolean gaf_baseline_config_check (const GafBaselineConfig *cfg, GError **error);
/* Network evaluations of one sample (every method but GAF, whose sampler configuration decides). */
guint    gaf_baseline_evals        (GafMethod method, const GafBaselineConfig *bcfg);
/* Every baseline samples with `evals` network evaluations: linear and Dirichlet FM on evals + 1 grid points,
 * sphere FM and the jump flows with evals steps. */
void     gaf_baseline_config_set_evals (GafBaselineConfig *cfg, guint evals);

/* ---- paths (training targets) ------------------------------------------------------------------- */

/* Linear FM: t ~ U(0, 1), x0 ~ Dir(1), x = t e_k + (1 - t) x0. labels (B, n) -> t (B), x (B, n, c). */
void   gaf_linear_path_sample    (GafRng *rng, const guint16 *labels, int batch, int n, int c,
                                  float *t, float *x);
/* Dirichlet FM: alpha = 1 + alpha_scale Exp(1) per sequence, x ~ Dir(1 + (alpha - 1) e_k) per row.
 * labels (B, n) -> alpha (B), x (B, n, c). */
void   gaf_dirichlet_path_sample (GafRng *rng, double alpha_scale, const guint16 *labels, int batch, int n,
                                  int c, float *alpha, float *x);
/* The conditional law alone: x ~ Dir(1 + (alpha_b - 1) e_k) for given alpha (B). */
void   gaf_dirichlet_cond_sample (GafRng *rng, const float *alpha, const guint16 *labels, int batch, int n,
                                  int c, float *x);
/* The expanded simplex: x (B, n, c), alpha (B) -> out (B, n, 2c) = [x (1 - w), x w],
 * w = pseudocount / (alpha + pseudocount - 1). */
void   gaf_dirichlet_expand      (const float *x, const float *alpha, double pseudocount, int batch, int n,
                                  int c, float *out);
/* Euclidean projection of each row onto the simplex (sort-based, Held-Wolfe-Crowder / Duchi et al.). */
void   gaf_simplex_project_rows  (float *x, gsize rows, gsize c);

/* Sphere geometry on the unit sphere in R^c (one row; double accumulation).
 * exp_x(v) = cos|v| x + sin|v| v/|v| for v tangent at x; log_x(y) = theta (y - cos(theta) x) / |y - cos(theta) x|,
 * theta = angle(x, y). */
void   gaf_sphere_exp            (const float *x, const float *v, float *out, gsize c);
void   gaf_sphere_log            (const float *x, const float *y, float *out, gsize c);
/* Sphere FM: x0 = |g| / |g| (g ~ N(0, I), i.e. sqrt of Dir(1/2)), x1 = e_k, t ~ U(0, 1),
 * x = slerp(x0, x1; t), u = dx/dt = log_x(x1) / (1 - t). labels (B, n) -> t (B), x, u (B, n, c). */
void   gaf_sphere_path_sample    (GafRng *rng, const guint16 *labels, int batch, int n, int c,
                                  float *t, float *x, float *u);

/* ---- losses ------------------------------------------------------------------------------------- */

/* Cross-entropy of logits (B, n, c) against labels: mean over the batch of the sum over rows of
 * -log softmax(logits)_label. dlogits (B, n, c) is set to (softmax - onehot) / B. */
double gaf_cross_entropy_loss    (const float *logits, const guint16 *labels, int batch, int n, int c,
                                  float *dlogits);
/* Sphere FM loss: mean over the batch of sum over rows |P_x v - u|^2, P_x v = v - <v, x> x (the output
 * projected onto the tangent space at x; |x| = 1). dv (B, n, c) is set to 2 P_x (P_x v - u) / B. */
double gaf_sphere_loss           (const float *x, const float *v, const float *u, int batch, int n, int c,
                                  float *dv);

/* ---- trainer ------------------------------------------------------------------------------------- */

/* The training step of a baseline on any GafNet with in_channels = gaf_method_in_channels (method, c)
 * and out_channels = c (the classifier or velocity head). cfg supplies batch, Adam, EMA decay and seed
 * (its GAF path part is unused). The network's time input is each method's own time variable, as in the
 * references: t in [0, 1) for linear and sphere FM, alpha >= 1 for Dirichlet FM. */
typedef struct _GafBaselineTrainer GafBaselineTrainer;

GafBaselineTrainer *gaf_baseline_trainer_new  (GafMethod method, const GafBaselineConfig *bcfg, GafNet *net,
                                               GafLabelFunc labels, gpointer labels_data,
                                               const GafTrainerConfig *cfg);
void     gaf_baseline_trainer_free          (GafBaselineTrainer *trainer);
void     gaf_baseline_trainer_set_lr        (GafBaselineTrainer *trainer, double lr);
/* The same cosine schedule as gaf_trainer_set_cosine_schedule. */
void     gaf_baseline_trainer_set_cosine_schedule (GafBaselineTrainer *trainer, double base_lr, guint64 total);
gboolean gaf_baseline_trainer_step          (GafBaselineTrainer *trainer, double *loss, GError **error);
gboolean gaf_baseline_trainer_run           (GafBaselineTrainer *trainer, guint64 steps, GArray *loss_trace,
                                             GafProgressFunc progress, gpointer progress_data,
                                             GCancellable *cancellable, GError **error);
guint64  gaf_baseline_trainer_get_step      (GafBaselineTrainer *trainer);
/* Checkpoints as gaf_trainer_save_checkpoint / gaf_trainer_restore_checkpoint (gaf_train_state_save): [train]
 * with the schedule, arena, RNG and step; [train] method = the method's name besides. The caller provides
 * [model] and [data]. */
gboolean gaf_baseline_trainer_save_checkpoint    (GafBaselineTrainer *trainer, const char *path, GKeyFile *config,
                                                  GError **error);
gboolean gaf_baseline_trainer_restore_checkpoint (GafBaselineTrainer *trainer, GafCheckpoint *ck, GError **error);
/* [train] method of a checkpoint's configuration: absent means gaf (checkpoints older than the key). */
gboolean gaf_method_from_keyfile (GKeyFile *kf, GafMethod *out, GError **error);

/* ---- samplers ------------------------------------------------------------------------------------ */

/* Draws `count` sequences with a trained baseline network, `chunk` at a time, and decodes them:
 * linear FM: x0 ~ Dir(1), Euler with v = (p_hat - x) / (1 - t) on the grid, argmax of the final x;
 * Dirichlet FM: x ~ Dir(1), Euler in alpha with v = sum_k p_hat_k C(x_k, alpha) (e_k - x), rows that leave
 *   the simplex projected back onto it, argmax of the last predicted class probabilities;
 * sphere FM: x0 = |g| / |g|, exp-map Euler with the tangent-projected output, argmax of x^2;
 * masked, uniform: gaf_jump_sample (the final state of the chain, no decoding).
 * labels (count, n) out; x_final (count, n, c) optional: the final point on the simplex (x^2 for sphere; the
 * last denoiser prediction for the jump flows). */
gboolean gaf_baseline_sample (GafMethod method, const GafBaselineConfig *bcfg, GafNet *net, GafRng *rng,
                              guint64 count, int chunk, guint16 *labels, float *x_final,
                              GafProgressFunc progress, gpointer progress_data,
                              GCancellable *cancellable, GError **error);

/* C(x, alpha) for one alpha on a grid, for the sampler: C(x)/x tabulated against s = ln x on
 * [ln 1e-12, 0] (nearly linear in s, so linear interpolation is accurate down to tiny x) and evaluated
 * for many x. */
typedef struct {
  int     c;
  double  alpha;
  int     size;
  double  s_min, ds;
  double *g;        /* C(e^s) / e^s at the nodes */
} GafDirichletTable;

void   gaf_dirichlet_table_init  (GafDirichletTable *table, int c, double alpha, int size);
void   gaf_dirichlet_table_clear (GafDirichletTable *table);
double gaf_dirichlet_table_eval  (const GafDirichletTable *table, double x);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafBaselineTrainer, gaf_baseline_trainer_free)

G_END_DECLS
