/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-dopri.h"
#include "gaf-net.h"
#include "gaf-progress.h"
#include "gaf-rng.h"
#include "gaf-sampler.h"

G_BEGIN_DECLS

/* Likelihood of labelings under a generative assignment flow (docs/method.md §2.4).
 *
 * Coordinates: Q (c x (c-1)) the orthonormal basis of T_0 (gaf_tangent_basis), y (n, c-1) per item with
 * v = Q y per row, W = softmax(v), D = n (c-1). The flow in these coordinates is
 *   f(y, t) = Q^T Pi_0 F(softmax(Q y), t) = Q^T F(...)   (Q^T 1 = 0, so Pi_0 drops out),
 * and the reference density of y(0) is N(0, I_D). By the instantaneous change of variables,
 *   log p_T(y_T) = log N(y_0; 0, I) - int_0^T div_y f(y(t), t) dt,
 * integrated backward from T to 0 as the augmented state (y, L) with dL/dt = div f, L(T) = 0, so
 * log p_T(y_T) = log N(y(0); 0, I) + L(0).
 *
 * div f = tr J with J = Q^T (dF/dW) S Q, S = diag(W) - W W^T per row (the softmax Jacobian, symmetric).
 * For a probe e in y space: a = Q e (in T_0), one reverse pass of s = <a, F> through the network gives
 * dW = (dF/dW)^T a, then dv = S dW, and e^T J e = <e, Q^T dv>. Exact divergence: e = e_k for every k
 * (D reverse passes per evaluation); Hutchinson: the mean over fixed random probes. */

typedef enum {
  GAF_LIKELIHOOD_ROUNDING,       /* p(alpha) = P[argmax V(T) = alpha], importance sampling over the CNF density */
  GAF_LIKELIHOOD_NON_ROUNDING,   /* p(alpha) = E_{V ~ p_T}[prod_i softmax(V_i)_{alpha_i}], Monte Carlo */
} GafLikelihoodModel;

typedef enum {
  GAF_DIVERGENCE_EXACT,
  GAF_DIVERGENCE_HUTCHINSON,
} GafDivergence;

typedef enum {
  GAF_PROBE_GAUSSIAN,
  GAF_PROBE_RADEMACHER,
} GafProbe;

typedef struct {
  GafLikelihoodModel model;
  double         t_end;          /* T: 15 (images 10) */
  /* The CNF solve (rounding model). */
  GafDopriConfig dopri;          /* rtol = atol = 1e-2 as the reference, budget 10000 steps per solve */
  GafDivergence  divergence;     /* exact */
  GafProbe       probe;          /* Rademacher */
  guint          probes;         /* Hutchinson probes per solve: 1 */
  /* Importance sampling (rounding model). */
  guint          proposals;      /* K: 100 */
  double         coverage;       /* P: 0.5, the probability that a proposal stays in every row's cone ball */
  double         smoothing;      /* eps: 0.01, the smoothed corner (1 - eps) e_alpha + eps / c */
  /* Forward sampling (non-rounding model): K = `proposals` samples with the sampler's integrator. */
  GafIntegrator  sample_integrator;   /* RK4 */
  double         sample_step;         /* 0.2 */
  int            batch;          /* items per network call: 100 */
} GafLikelihoodConfig;

typedef struct {
  double log_p;          /* nats; -inf when no proposal rounded to the labeling */
  double log_p_se;       /* standard error of log_p (delta method: se(p_hat) / p_hat); +inf without a hit */
  double bits_per_dim;   /* -log_p / (n ln 2) */
  double hit_fraction;   /* rounding: share of the K proposals that round to the labeling; non-rounding: 1 */
} GafLikelihoodItem;

typedef struct {
  guint   count;
  guint   n_finite;      /* items with a finite log_p */
  double  mean_log_p;    /* over all items (-inf if one is -inf) */
  double  mean_bpd;      /* over all items (+inf if one is infinite) */
  double  se_bpd;        /* sd / sqrt(count) over the items (NAN for one item or an infinite mean) */
  double  mean_hit_fraction;
  guint64 evals;         /* network forward evaluations (field evaluations of batches) */
  guint64 solves;        /* CNF solves (batches) of the rounding model */
  guint64 steps;         /* accepted Dormand-Prince steps over all solves */
} GafLikelihoodSummary;

void     gaf_likelihood_config_init  (GafLikelihoodConfig *cfg);
gboolean gaf_likelihood_config_check (const GafLikelihoodConfig *cfg, GError **error);
gboolean gaf_likelihood_model_from_string (const char *name, GafLikelihoodModel *out);
const char *gaf_likelihood_model_to_string (GafLikelihoodModel model);

/* Log-likelihood and bits/dim of `count` labelings (count, n) under the flow of `net` (in = out = c
 * channels, net->n variables). items (count) out; summary may be NULL. The network's gradient buffer is
 * used as scratch (parameter gradients of the reverse passes) and left zeroed. The non-rounding model
 * draws its K samples once and scores every labeling with the same samples. Progress (stage
 * "likelihood") counts proposals: done / (count K). */
gboolean gaf_likelihood_evaluate (GafNet *net, const GafLikelihoodConfig *cfg, GafRng *rng,
                                  const guint16 *labels, guint count,
                                  GafLikelihoodItem *items, GafLikelihoodSummary *summary,
                                  GafProgressFunc progress, gpointer progress_data,
                                  GCancellable *cancellable, GError **error);

/* ---- the pieces, public for tests and tools ---------------------------------------------------- */

/* The CNF of one network with scratch for batches of up to `capacity` items. */
typedef struct _GafCnf GafCnf;

GafCnf  *gaf_cnf_new      (GafNet *net, int capacity);
void     gaf_cnf_free     (GafCnf *cnf);
int      gaf_cnf_dim      (GafCnf *cnf);   /* D = n (c - 1) */
/* Tangent coordinates m (D) of the smoothed corner of `labels` (n): m_i = a Q^T e_{alpha_i},
 * a = log((1 - eps + eps/c) / (eps/c)). */
void     gaf_cnf_corner   (GafCnf *cnf, const guint16 *labels, double eps, double *m);
/* y (B, D), t -> f (B, D); div (B) when not NULL: exact when probes is NULL, else the mean of
 * e^T J e over the n_probes probes (n_probes, B, D). Counts one evaluation. */
void     gaf_cnf_field    (GafCnf *cnf, const double *y, double t, int batch, double *f, double *div,
                           const double *probes, guint n_probes);
/* log p_T(y) (B) for y (B, D) at time T = cfg->t_end, by the backward solve with cfg's tolerances and
 * divergence estimator (probes drawn from rng once for the solve). stats may be NULL. */
gboolean gaf_cnf_log_density (GafCnf *cnf, const GafLikelihoodConfig *cfg, GafRng *rng,
                              const double *y, int batch, double *log_p, GafDopriStats *stats,
                              GCancellable *cancellable, GError **error);
guint64  gaf_cnf_evals    (GafCnf *cnf);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafCnf, gaf_cnf_free)

/* sigma of the proposals: r / sqrt(chi2_{c-1} quantile at P^{1/n}), r = a / sqrt 2 the radius of the
 * largest ball around the smoothed corner inside its decision cone. */
double   gaf_proposal_sigma (int n, int c, double eps, double coverage);

/* log((1/total) sum_k exp(logw_k)) over `count` values (the others, up to total, are zero weights) and
 * its delta-method standard error (may be NULL). -inf when count is 0; never overflows. */
double   gaf_log_mean_exp (const double *logw, gsize count, gsize total, double *se);

/* Regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 - P(a, x) (series below a + 1,
 * continued fraction above), each accurate in its own tail. */
double   gaf_gamma_p      (double a, double x);
double   gaf_gamma_q      (double a, double x);
/* Chi-square quantile with k degrees of freedom: x with P(k/2, x/2) = p; gaf_chi2_isf takes the upper
 * tail q = 1 - p instead (accurate for q near 0). Wilson-Hilferty start, safeguarded Newton. */
double   gaf_chi2_quantile (double p, double k);
double   gaf_chi2_isf      (double q, double k);

/* ROC AUC of scores a against scores b: P(A > B) + P(A = B) / 2 (Mann-Whitney U / (n_a n_b), midranks
 * for ties). NAN when either array is empty. */
double   gaf_roc_auc      (const double *a, gsize n_a, const double *b, gsize n_b);

G_END_DECLS
