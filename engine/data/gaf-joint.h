/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-rng.h"

G_BEGIN_DECLS

/* Coupled joint distributions of n discrete variables with c classes each (docs/method.md §5 "coupled joints"):
 * the targets (tables, discretised 2-D densities, text sequences), empirical joints of samples, and
 * the metrics that compare them (joint KL, marginal KLs, mutual information).
 *
 * A joint is stored sparsely as its atoms: the sequences of positive probability, sorted
 * lexicographically, with their probabilities. A c x c table has at most c^2 atoms; a text file has
 * one atom per distinct line; an empirical joint of N samples has at most N. */
typedef struct {
  int       n;            /* variables */
  int       c;            /* classes per variable */
  guint     n_atoms;      /* sequences of positive probability */
  guint16  *atoms;        /* (n_atoms, n), sorted lexicographically, distinct */
  double   *p;            /* (n_atoms), positive, sums to 1 */
  double   *cdf;          /* (n_atoms) running sum of p, the last entry exactly 1 */
  double   *marginals;    /* (n, c) */
  gunichar *alphabet;     /* (c) characters of text data, NULL otherwise */
  char     *name;         /* for messages and reports */
} GafJoint;

/* Side of the grid of the built-in 2-D densities: n = 2 variables (x bin, y bin) with 91 classes. */
#define GAF_JOINT_GRID 91
/* The built-in densities live on [-4, 4]^2 and are mixed with this much uniform mass, so that every
 * cell has positive probability and the joint KL of any sampler is finite. */
#define GAF_JOINT_BACKGROUND 1e-3
/* Largest class count of tables and text alphabets. */
#define GAF_JOINT_MAX_CLASSES 256

void      gaf_joint_free          (GafJoint *joint);

/* A c x c table of non-negative weights (row-major; rows = first variable), normalised. Fails with
 * GAF_ERROR_FORMAT when a weight is negative or not finite, or all are zero; c from 2 to 256. */
GafJoint *gaf_joint_new_table     (int c, const double *weights, const char *name, GError **error);
/* Two binary variables that agree with probability p_equal: P(0,0) = P(1,1) = p_equal / 2. */
GafJoint *gaf_joint_new_coupled_binary (double p_equal);
/* Discretised 2-D densities on a bins x bins grid over [-4, 4]^2 (x = first variable), mixed with
 * GAF_JOINT_BACKGROUND of uniform mass. The pinwheel is the FFJORD toy (5 arms, radial std 0.3,
 * tangential std 0.1, rate 0.25, scale 2), its cells integrated by a fine midpoint rule in the latent
 * Gaussian coordinates; the mixture of 8 Gaussians (centres at radius 4/1.414, std 0.5/1.414, as in
 * FFJORD) is integrated exactly with the normal CDF. */
GafJoint *gaf_joint_new_pinwheel  (int bins);
GafJoint *gaf_joint_new_gaussians (int bins);

/* A joint table from CSV text: one row of c comma-separated weights per line, c rows; blank lines and
 * lines starting with '#' are ignored. Each mistake has its own GAF_ERROR_FORMAT message naming the
 * line: not a number, empty cell, not finite, negative, ragged, not square, empty, all zero, c out of
 * range. `name` (usually the file name) starts every message. */
GafJoint *gaf_joint_parse_csv     (const char *text, gsize length, const char *name, GError **error);
/* Files are read with gaf-file.h: regular files only, at most these sizes. */
#define GAF_JOINT_MAX_CSV_BYTES  (G_GUINT64_CONSTANT (16) << 20)
#define GAF_JOINT_MAX_TEXT_BYTES (G_GUINT64_CONSTANT (256) << 20)
GafJoint *gaf_joint_load_csv      (const char *path, GError **error);

/* Fixed-length sequences, one per line (UTF-8; a trailing "\r" is removed). Lines of another length
 * and lines with a character outside a given alphabet are skipped and counted in stats; the target is
 * the empirical distribution of the kept lines. The alphabet is the sorted set of characters of the
 * kept lines unless given (a string of 2 to 256 distinct characters). No kept line is an error. */
typedef struct {
  guint lines;              /* lines in the file */
  guint kept;
  guint skipped_length;     /* of another length than asked */
  guint skipped_alphabet;   /* of the right length with a character outside the given alphabet */
} GafTextStats;

GafJoint *gaf_joint_parse_text    (const char *text, gsize length, int seq_len, const char *alphabet,
                                   const char *name, GafTextStats *stats, GError **error);
GafJoint *gaf_joint_load_text     (const char *path, int seq_len, const char *alphabet,
                                   GafTextStats *stats, GError **error);

/* A target from a spec, one of
 *   coupled-binary | pinwheel[:bins=B] | gaussians[:bins=B] | table:FILE.csv | text:FILE[,length=N][,alphabet=CHARS]
 * (the 2-D densities on B x B bins, GAF_JOINT_GRID when not given)
 * The alphabet comes last and takes the rest of the spec (it may contain commas). length and alphabet
 * are used for text when the spec does not give them (0 / NULL: none; a length is required); stats
 * receives the text file's line counts (zeros for other kinds) and may be NULL. One
 * GAF_ERROR_INVALID_ARGUMENT per mistake in the spec; the file readers' errors otherwise. */
GafJoint *gaf_joint_new_from_spec (const char *spec, int length, const char *alphabet, GafTextStats *stats,
                                   GError **error);
/* The built-in target a spec names, in one spelling ("coupled-binary", "pinwheel:bins=B", "gaussians:bins=B":
 * "pinwheel" and "pinwheel:bins=91" name the same), so that two specs can be compared without building their
 * targets; NULL for a spec that reads a file (table:, text:) or is not valid. */
char     *gaf_joint_spec_normalize (const char *spec);
/* Whether spec names one of the kinds above (its options and files are not checked). */
gboolean  gaf_joint_spec_is_joint (const char *spec);
#define GAF_JOINT_SPEC_HELP "coupled-binary, pinwheel[:bins=B], gaussians[:bins=B], table:FILE.csv or text:FILE,length=N[,alphabet=CHARS]"

/* The empirical joint of labels (count, n). */
GafJoint *gaf_joint_new_empirical (int n, int c, const guint16 *labels, guint64 count, const char *name);
/* The product of the marginals of joint (the best independent model) as a joint of its own; fails
 * when it has more than 2^20 atoms (use gaf_joint_sample_product). */
GafJoint *gaf_joint_new_product   (const GafJoint *joint, GError **error);

/* labels (batch, n) drawn from the joint; its signature is that of GafLabelFunc when joint is
 * passed as the user data. */
void      gaf_joint_sample        (gpointer joint, GafRng *rng, guint16 *labels, int batch);
/* labels (batch, n) with each variable drawn independently from its marginal. */
void      gaf_joint_sample_product (const GafJoint *joint, GafRng *rng, guint16 *labels, int batch);

/* Index of a sequence (n labels) among the atoms, -1 when it has probability 0. */
gint64    gaf_joint_find          (const GafJoint *joint, const guint16 *seq);
double    gaf_joint_prob          (const GafJoint *joint, const guint16 *seq);

/* Entropies in nats. The multi-information (total correlation) sum_i H(X_i) - H(X) is the mutual
 * information I(X_1; X_2) when n = 2. */
double    gaf_joint_entropy       (const GafJoint *joint);
double    gaf_joint_marginal_entropy (const GafJoint *joint, int i);
double    gaf_joint_mutual_information (const GafJoint *joint);

/* A model (usually the empirical joint of samples) against a target of the same n and c.
 * kl is KL(model || target) = sum_x m(x) log(m(x) / p(x)), 0 log 0 = 0, the metric of docs/method.md §5; it is
 * +inf when the model puts mass on sequences of target probability 0. That mass is `outside`, and
 * kl_support is the KL of the model restricted to the target's support and renormalised (equal to kl
 * when outside = 0). Marginal KLs follow the same rule, on the support of each target marginal
 * (kl_marginal is their mean, kl_marginal_max the largest, marginal_outside the largest mass outside). */
typedef struct {
  double kl;
  double kl_support;
  double outside;
  double kl_marginal;
  double kl_marginal_max;
  double marginal_outside;
  double mi_model;
  double mi_target;
} GafJointMetrics;

/* KL(model_i || target_i) of variable i on the support of target_i; *outside (optional) gets the
 * model mass off that support. */
double    gaf_joint_marginal_kl   (const GafJoint *model, const GafJoint *target, int i, double *outside);
void      gaf_joint_compare       (const GafJoint *model, const GafJoint *target, GafJointMetrics *out);

/* Writes a sequence as text: the alphabet's characters for text data, comma-separated class indices
 * otherwise. */
void      gaf_joint_format_sequence (const GafJoint *joint, const guint16 *seq, GString *out);
/* The inverse: reads samples (one sequence per line, as gaf_joint_format_sequence writes them; blank
 * lines ignored) against the target's n, c and alphabet. Returns labels (*count, n); a line that does
 * not fit is a GAF_ERROR_FORMAT error naming it. */
guint16  *gaf_joint_parse_samples (const GafJoint *target, const char *text, gsize length, const char *name,
                                   guint64 *count, GError **error);
/* Dense c x c matrix (row = first variable) of a joint with n = 2; NULL otherwise. */
double   *gaf_joint_dense2        (const GafJoint *joint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafJoint, gaf_joint_free)

G_END_DECLS
