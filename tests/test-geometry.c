/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gaf-engine.h"
#include "gaf-simd-private.h"

/* Geometry of the simplex (docs/method.md §1, §2.1) and the random number generator.
 * Every check states its tolerance; all random inputs come from fixed seeds. */

static const gsize class_counts[] = { 2, 3, 5, 40, 160 };

/* Random logits: N(0, scale^2) entries. */
static void
fill_normal (GafRng *rng, float *x, gsize count, double scale)
{
  for (gsize i = 0; i < count; i++)
    x[i] = (float) (scale * gaf_rng_normal (rng));
}

/* A random point of the open simplex, softmax of N(0, 1.5^2) logits. */
static void
random_point (GafRng *rng, float *p, gsize c)
{
  fill_normal (rng, p, c, 1.5);
  gaf_softmax_rows (p, p, 1, c);
}

/* ---- simplex --------------------------------------------------------------------------------- */

static void
test_softmax (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 101);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    {
      gsize c = class_counts[ci], rows = 7;
      g_autofree float *v = g_new (float, rows * c);
      g_autofree float *vs = g_new (float, rows * c);
      g_autofree float *w = g_new (float, rows * c);
      g_autofree float *ws = g_new (float, rows * c);

      fill_normal (&rng, v, rows * c, 3.0);
      /* Shift each row by its own constant; the last row by a huge one, which only a
       * max-subtracted softmax survives (exp(1000) overflows). */
      for (gsize r = 0; r < rows; r++)
        {
          float s = r + 1 == rows ? 1000.0f : (float) (10.0 * gaf_rng_normal (&rng));
          for (gsize j = 0; j < c; j++)
            vs[r * c + j] = v[r * c + j] + s;
        }
      gaf_softmax_rows (v, w, rows, c);
      gaf_softmax_rows (vs, ws, rows, c);
      for (gsize r = 0; r < rows; r++)
        {
          double sum = 0.0;
          for (gsize j = 0; j < c; j++)
            {
              g_assert_true (isfinite (ws[r * c + j]));
              g_assert_cmpfloat (w[r * c + j], >, 0.0f);
              sum += w[r * c + j];
              /* Shift invariance: the shifted logits are rounded in float (|v + s| up to 1000,
               * ulp 6e-5), so allow 2e-4 relative. */
              g_assert_cmpfloat_with_epsilon (ws[r * c + j], w[r * c + j], 2e-4 * w[r * c + j] + 1e-7);
            }
          /* Rows sum to one up to float rounding: 1e-5 for c up to 160. */
          g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
        }

      /* In place (v and w may alias) gives the same numbers. */
      memcpy (vs, v, rows * c * sizeof (float));
      gaf_softmax_rows (vs, vs, rows, c);
      g_assert_cmpmem (vs, rows * c * sizeof (float), w, rows * c * sizeof (float));
    }

  /* A known value: softmax(0, ln 3) = (1/4, 3/4). */
  {
    float v[2] = { 0.0f, logf (3.0f) }, w[2];
    gaf_softmax_rows (v, w, 1, 2);
    g_assert_cmpfloat_with_epsilon (w[0], 0.25, 1e-6);
    g_assert_cmpfloat_with_epsilon (w[1], 0.75, 1e-6);
  }
}

static void
test_project_tangent (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 102);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    {
      gsize c = class_counts[ci], rows = 5;
      g_autofree float *v = g_new (float, rows * c);
      g_autofree float *v0 = g_new (float, rows * c);

      fill_normal (&rng, v, rows * c, 2.0);
      for (gsize j = 0; j < rows * c; j++)
        v[j] += 5.0f;   /* a large common offset, so a missing projection cannot hide */
      memcpy (v0, v, rows * c * sizeof (float));
      gaf_project_tangent_rows (v, rows, c);
      for (gsize r = 0; r < rows; r++)
        {
          double mean = 0.0, mean0 = 0.0;
          for (gsize j = 0; j < c; j++)
            {
              mean += v[r * c + j];
              mean0 += v0[r * c + j];
            }
          mean /= c;
          mean0 /= c;
          /* Zero row mean up to float rounding of entries of size ~10: 1e-5. */
          g_assert_cmpfloat_with_epsilon (mean, 0.0, 1e-5);
          /* It subtracts a constant: v - Pi_0 v is the old mean in every entry. */
          for (gsize j = 0; j < c; j++)
            g_assert_cmpfloat_with_epsilon (v0[r * c + j] - v[r * c + j], mean0, 1e-5);
        }
    }
}

static void
test_replicator (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 103);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    for (int rep = 0; rep < 10; rep++)
      {
        gsize c = class_counts[ci];
        g_autofree float *p = g_new (float, c);
        g_autofree float *x = g_new (float, c);
        g_autofree float *ones = g_new (float, c);
        g_autofree float *out = g_new (float, c);
        double sum = 0.0, px = 0.0;

        random_point (&rng, p, c);
        fill_normal (&rng, x, c, 2.0);
        for (gsize j = 0; j < c; j++)
          ones[j] = 1.0f;

        /* R_p 1 = 0, exactly up to float rounding (1e-7). */
        gaf_replicator (p, ones, out, c);
        for (gsize j = 0; j < c; j++)
          g_assert_cmpfloat_with_epsilon (out[j], 0.0, 1e-7);

        /* R_p x in T_0 and equal to p ⊙ x - <p, x> p (double reference, 1e-6). */
        gaf_replicator (p, x, out, c);
        for (gsize j = 0; j < c; j++)
          px += (double) p[j] * x[j];
        for (gsize j = 0; j < c; j++)
          {
            sum += out[j];
            g_assert_cmpfloat_with_epsilon (out[j], p[j] * (x[j] - px), 1e-6);
          }
        g_assert_cmpfloat_with_epsilon (sum, 0.0, 1e-6);

        /* out may alias x. */
        gaf_replicator (p, x, x, c);
        g_assert_cmpmem (x, c * sizeof (float), out, c * sizeof (float));
      }
}

static void
test_variance_form (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 104);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    for (int rep = 0; rep < 20; rep++)
      {
        gsize c = class_counts[ci];
        g_autofree float *p = g_new (float, c);
        g_autofree float *x = g_new (float, c);
        g_autofree float *rx = g_new (float, c);
        double m1 = 0.0, var, vf, inner = 0.0, fr, tol;

        random_point (&rng, p, c);
        fill_normal (&rng, x, c, 1.0);
        for (gsize j = 0; j < c; j++)
          m1 += (double) p[j] * x[j];
        /* Var_{j~p}(x_j) computed the other way round: sum p (x - mean)^2. */
        var = 0.0;
        for (gsize j = 0; j < c; j++)
          var += p[j] * (x[j] - m1) * (x[j] - m1);

        gaf_replicator (p, x, rx, c);
        for (gsize j = 0; j < c; j++)
          inner += (double) x[j] * rx[j];
        vf = gaf_variance_form (p, x, c);
        fr = gaf_fisher_rao_sq (p, rx, c);

        /* R_p x is rounded to float (relative 6e-8 per entry), and the float p sums to 1 only up
         * to delta ~ 1e-7 c, which moves the forms apart by delta <x, p>^2. Tolerance
         * 1e-5 (Var + <x, p>^2). */
        tol = 1e-5 * (var + m1 * m1);
        g_assert_cmpfloat (var, >, 1e-4);
        g_assert_cmpfloat_with_epsilon (vf, var, tol);
        g_assert_cmpfloat_with_epsilon (inner, var, tol);
        g_assert_cmpfloat_with_epsilon (fr, var, tol);
      }

  /* A hand example: p = (1/4, 3/4), x = (0, 2): Var = 4 * 3/16 = 0.75; R_p x = (-3/8, 3/8),
   * |R_p x|^2_p = (9/64)(4 + 4/3) = 0.75. */
  {
    float p[2] = { 0.25f, 0.75f }, x[2] = { 0.0f, 2.0f }, rx[2];
    gaf_replicator (p, x, rx, 2);
    g_assert_cmpfloat_with_epsilon (rx[0], -0.375, 1e-7);
    g_assert_cmpfloat_with_epsilon (rx[1], 0.375, 1e-7);
    g_assert_cmpfloat_with_epsilon (gaf_variance_form (p, x, 2), 0.75, 1e-7);
    g_assert_cmpfloat_with_epsilon (gaf_fisher_rao_sq (p, rx, 2), 0.75, 1e-7);
  }
}

static void
test_lift (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 105);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    for (int rep = 0; rep < 10; rep++)
      {
        gsize c = class_counts[ci];
        g_autofree float *bary = g_new (float, c);
        g_autofree float *p = g_new (float, c);
        g_autofree float *u = g_new (float, c);
        g_autofree float *v = g_new (float, c);
        g_autofree float *uv = g_new (float, c);
        g_autofree float *a = g_new (float, c);
        g_autofree float *b = g_new (float, c);
        g_autofree float *pu = g_new (float, c);
        g_autofree float *lg = g_new (float, c);

        for (gsize j = 0; j < c; j++)
          bary[j] = 1.0f / c;
        random_point (&rng, p, c);
        fill_normal (&rng, u, c, 1.0);
        fill_normal (&rng, v, c, 1.0);

        /* exp at the barycenter is softmax(v): 1e-6 relative (float, log of 1/c). */
        gaf_lift (bary, v, a, c);
        gaf_softmax_rows (v, b, 1, c);
        for (gsize j = 0; j < c; j++)
          g_assert_cmpfloat_with_epsilon (a[j], b[j], 1e-5 * b[j]);

        /* Composition exp_p(u + v) = exp_{exp_p(u)}(v): 1e-5 relative (one extra float rounding
         * of the intermediate point, its log and the sum u + v). */
        for (gsize j = 0; j < c; j++)
          uv[j] = u[j] + v[j];
        gaf_lift (p, uv, a, c);
        gaf_lift (p, u, pu, c);
        gaf_lift (pu, v, b, c);
        for (gsize j = 0; j < c; j++)
          g_assert_cmpfloat_with_epsilon (a[j], b[j], 1e-5 * a[j]);

        /* The inverse at the barycenter: Pi_0 log softmax(v) = Pi_0 v, 1e-5 absolute for |v| ~ 3. */
        gaf_softmax_rows (v, a, 1, c);
        for (gsize j = 0; j < c; j++)
          lg[j] = logf (a[j]);
        gaf_project_tangent_rows (lg, 1, c);
        memcpy (b, v, c * sizeof (float));
        gaf_project_tangent_rows (b, 1, c);
        for (gsize j = 0; j < c; j++)
          g_assert_cmpfloat_with_epsilon (lg[j], b[j], 1e-5);

        /* The lifted point is on the simplex. */
        {
          double s = 0.0;
          gaf_lift (p, u, a, c);
          for (gsize j = 0; j < c; j++)
            {
              g_assert_cmpfloat (a[j], >, 0.0f);
              s += a[j];
            }
          g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-5);
        }
      }

  /* A hand example: exp_p(v) with p = (1/4, 3/4), v = (ln 3, 0) is (1/2, 1/2). */
  {
    float p[2] = { 0.25f, 0.75f }, v[2] = { logf (3.0f), 0.0f }, out[2];
    gaf_lift (p, v, out, 2);
    g_assert_cmpfloat_with_epsilon (out[0], 0.5, 1e-6);
    g_assert_cmpfloat_with_epsilon (out[1], 0.5, 1e-6);
  }
}

static void
test_tangent_basis (void)
{
  static const gsize cs[] = { 2, 3, 5, 40 };

  for (guint ci = 0; ci < G_N_ELEMENTS (cs); ci++)
    {
      gsize c = cs[ci], m = c - 1;
      g_autofree double *q = g_new (double, c * m);

      gaf_tangent_basis (c, q);
      /* Q^T Q = I and Q^T 1 = 0 in double: 1e-12 (Gram-Schmidt on 40 well-conditioned columns). */
      for (gsize k = 0; k < m; k++)
        {
          double s1 = 0.0;
          for (gsize i = 0; i < c; i++)
            s1 += q[i * m + k];
          g_assert_cmpfloat_with_epsilon (s1, 0.0, 1e-12);
          for (gsize l = 0; l < m; l++)
            {
              double dot = 0.0;
              for (gsize i = 0; i < c; i++)
                dot += q[i * m + k] * q[i * m + l];
              g_assert_cmpfloat_with_epsilon (dot, k == l ? 1.0 : 0.0, 1e-12);
            }
        }
      /* Q Q^T is the projection Pi_0 = I - 11^T/c (so the columns span all of T_0). */
      for (gsize i = 0; i < c; i++)
        for (gsize j = 0; j < c; j++)
          {
            double s = 0.0;
            for (gsize k = 0; k < m; k++)
              s += q[i * m + k] * q[j * m + k];
            g_assert_cmpfloat_with_epsilon (s, (i == j ? 1.0 : 0.0) - 1.0 / c, 1e-12);
          }
    }

  /* c = 2: the single column is +-(1, -1)/sqrt 2. */
  {
    double q[2];
    gaf_tangent_basis (2, q);
    g_assert_cmpfloat_with_epsilon (fabs (q[0]), G_SQRT2 / 2, 1e-15);
    g_assert_cmpfloat_with_epsilon (q[0], -q[1], 1e-15);
  }
}

static void
test_target_direction (void)
{
  static const double eps = 0.01;

  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    {
      gsize c = class_counts[ci];
      g_autofree float *u = g_new (float, c);
      g_autofree float *s = g_new (float, c);
      guint labels[3] = { 0, (guint) (c / 2), (guint) (c - 1) };

      for (guint li = 0; li < 3; li++)
        {
          guint k = labels[li];
          double nrm = 0.0, sum = 0.0, snrm = 0.0, scale = sqrt ((double) c / (c - 1));

          gaf_target_direction (k, u, c);
          for (gsize j = 0; j < c; j++)
            {
              nrm += (double) u[j] * u[j];
              sum += u[j];
              /* closed form sqrt(c/(c-1)) (e_k - 1/c), float: 1e-6 */
              g_assert_cmpfloat_with_epsilon (u[j], scale * ((j == k) - 1.0 / c), 1e-6);
            }
          g_assert_cmpfloat_with_epsilon (nrm, 1.0, 1e-6);
          g_assert_cmpfloat_with_epsilon (sum, 0.0, 1e-6);
          g_assert_cmpuint (gaf_argmax (u, c), ==, k);

          /* docs/method.md §2.1: normalised Pi_0 log of the eps-smoothed one-hot (1 - eps) e_k + eps/c
           * is the same vector (computed in float like the reference code; 1e-5). */
          for (gsize j = 0; j < c; j++)
            s[j] = logf ((float) ((j == k ? 1.0 - eps : 0.0) + eps / c));
          gaf_project_tangent_rows (s, 1, c);
          for (gsize j = 0; j < c; j++)
            snrm += (double) s[j] * s[j];
          snrm = sqrt (snrm);
          for (gsize j = 0; j < c; j++)
            g_assert_cmpfloat_with_epsilon (s[j] / snrm, u[j], 1e-5);
        }
    }
}

static void
test_e_geodesic (void)
{
  GafRng rng;

  gaf_rng_init (&rng, 106);
  for (guint ci = 0; ci < G_N_ELEMENTS (class_counts); ci++)
    for (int rep = 0; rep < 5; rep++)
      {
        gsize c = class_counts[ci];
        g_autofree float *v0 = g_new (float, c);
        g_autofree float *u = g_new (float, c);
        g_autofree float *g = g_new (float, c);
        g_autofree float *gp = g_new (float, c);
        g_autofree float *gm = g_new (float, c);
        g_autofree float *vel = g_new (float, c);
        g_autofree float *tmp = g_new (float, c);
        double t = 0.5 + rep * 0.7;
        /* h = 2^-7: truncation h^2 |gamma'''| / 6 ~ 1e-5 for |u| ~ 1; float rounding of gamma
         * (ulp ~ 6e-8 for entries below 1) over 2h gives ~ 1e-5. Tolerance 1e-4 absolute. */
        double h = 1.0 / 128;

        fill_normal (&rng, v0, c, 1.0);
        gaf_project_tangent_rows (v0, 1, c);
        gaf_target_direction (rep % c, u, c);
        /* a general direction in T_0, not only a vertex direction */
        fill_normal (&rng, tmp, c, 0.5);
        for (gsize j = 0; j < c; j++)
          u[j] += tmp[j];
        gaf_project_tangent_rows (u, 1, c);

        gaf_e_geodesic_point (v0, u, t, g, c);
        gaf_e_geodesic_point (v0, u, t + h, gp, c);
        gaf_e_geodesic_point (v0, u, t - h, gm, c);
        gaf_replicator (g, u, vel, c);
        for (gsize j = 0; j < c; j++)
          g_assert_cmpfloat_with_epsilon ((gp[j] - gm[j]) / (2 * h), vel[j], 1e-4);

        /* At t = 0 it is softmax(v0); it is softmax(v0 + t u) at t. */
        gaf_e_geodesic_point (v0, u, 0.0, g, c);
        gaf_softmax_rows (v0, tmp, 1, c);
        g_assert_cmpmem (g, c * sizeof (float), tmp, c * sizeof (float));
      }

  /* Towards the vertex: along u_k the k-th coordinate grows to 1. */
  {
    float v0[3] = { 0.0f, 0.0f, 0.0f }, u[3], g[3];
    gaf_target_direction (1, u, 3);
    gaf_e_geodesic_point (v0, u, 20.0, g, 3);
    g_assert_cmpfloat (g[1], >, 0.9999f);
  }
}

static void
test_argmax_entropy (void)
{
  {
    float a[] = { 1.0f, 3.0f, 2.0f };
    float b[] = { 5.0f, 5.0f, 1.0f };    /* ties: the first */
    float d[] = { -3.0f, -2.0f, -7.0f, -2.5f };
    float e[] = { 0.0f, 0.0f, 0.0f, 1.0f };
    g_assert_cmpuint (gaf_argmax (a, 3), ==, 1);
    g_assert_cmpuint (gaf_argmax (b, 3), ==, 0);
    g_assert_cmpuint (gaf_argmax (d, 4), ==, 1);
    g_assert_cmpuint (gaf_argmax (e, 4), ==, 3);
    g_assert_cmpuint (gaf_argmax (a, 1), ==, 0);
  }
  {
    /* rows: uniform (1), a vertex (0), p = (1/4, 3/4, 0) with H = 0.5623 nats / ln 3. */
    float w[] = { 1.0f / 3, 1.0f / 3, 1.0f / 3,
                  0.0f, 1.0f, 0.0f,
                  0.25f, 0.75f, 0.0f };
    double h3 = -(0.25 * log (0.25) + 0.75 * log (0.75)) / log (3.0);
    g_assert_cmpfloat_with_epsilon (gaf_mean_normalized_entropy (w, 1, 3), 1.0, 1e-6);
    g_assert_cmpfloat_with_epsilon (gaf_mean_normalized_entropy (w + 3, 1, 3), 0.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (gaf_mean_normalized_entropy (w + 6, 1, 3), h3, 1e-6);
    g_assert_cmpfloat_with_epsilon (gaf_mean_normalized_entropy (w, 3, 3), (1.0 + h3) / 3, 1e-6);
  }
  {
    /* c = 2: H(1/4, 3/4) / ln 2 = 0.811278 */
    float w[] = { 0.25f, 0.75f };
    g_assert_cmpfloat_with_epsilon (gaf_mean_normalized_entropy (w, 1, 2), 0.8112781244591328, 1e-6);
  }
}

/* ---- rng ------------------------------------------------------------------------------------- */

static void
test_rng_streams (void)
{
  GafRng a, b, c, d, e;
  guint same_ab = 0, same_ac = 0, same_ad = 0;

  gaf_rng_init (&a, 42);
  gaf_rng_init (&b, 42);
  gaf_rng_init (&c, 43);
  gaf_rng_init_stream (&d, 42, 1);
  gaf_rng_init_stream (&e, 42, 0);
  for (int i = 0; i < 1000; i++)
    {
      guint64 x = gaf_rng_next (&a), y = gaf_rng_next (&b), z = gaf_rng_next (&c), w = gaf_rng_next (&d);
      same_ab += x == y;
      same_ac += x == z;
      same_ad += x == w;
      /* gaf_rng_init is stream 0 */
      g_assert_cmpuint (gaf_rng_next (&e), ==, x);
    }
  g_assert_cmpuint (same_ab, ==, 1000);
  g_assert_cmpuint (same_ac, ==, 0);
  g_assert_cmpuint (same_ad, ==, 0);

  /* The derived draws are reproducible too, including the cached second normal. */
  gaf_rng_init (&a, 7);
  gaf_rng_init (&b, 7);
  for (int i = 0; i < 101; i++)
    {
      double x = gaf_rng_normal (&a), y = gaf_rng_normal (&b);
      g_assert_cmpmem (&x, sizeof x, &y, sizeof y);
    }
  for (int i = 0; i < 100; i++)
    {
      double x = gaf_rng_gamma (&a, 0.7, 2.0), y = gaf_rng_gamma (&b, 0.7, 2.0);
      g_assert_cmpmem (&x, sizeof x, &y, sizeof y);
    }
}

/* Mean and variance of n draws; checks both within 5 standard errors. The standard error of the
 * sample variance is sqrt((mu4 - sigma^4) / n) with mu4 the fourth central moment. */
static void
check_moments (const char *what, const double *x, gsize n, double mean, double var, double mu4)
{
  double m = 0.0, v = 0.0, se_mean = sqrt (var / n), se_var = sqrt ((mu4 - var * var) / n);

  for (gsize i = 0; i < n; i++)
    m += x[i];
  m /= n;
  for (gsize i = 0; i < n; i++)
    v += (x[i] - m) * (x[i] - m);
  v /= n - 1;
  if (fabs (m - mean) > 5 * se_mean || fabs (v - var) > 5 * se_var)
    g_error ("%s: mean %g (expected %g +- %g), variance %g (expected %g +- %g)", what, m, mean,
             5 * se_mean, v, var, 5 * se_var);
}

#define N_DRAWS 200000

static void
test_rng_uniform_normal (void)
{
  g_autofree double *x = g_new (double, N_DRAWS);
  GafRng rng;
  guint counts[7] = { 0 };
  double chi2 = 0.0;

  gaf_rng_init (&rng, 201);
  for (gsize i = 0; i < N_DRAWS; i++)
    {
      x[i] = gaf_rng_uniform (&rng);
      g_assert_true (x[i] >= 0.0 && x[i] < 1.0);
    }
  /* U[0,1): mean 1/2, variance 1/12, fourth central moment 1/80 */
  check_moments ("uniform", x, N_DRAWS, 0.5, 1.0 / 12, 1.0 / 80);

  for (gsize i = 0; i < N_DRAWS; i++)
    x[i] = gaf_rng_normal (&rng);
  /* N(0,1): mean 0, variance 1, fourth moment 3 */
  check_moments ("normal", x, N_DRAWS, 0.0, 1.0, 3.0);

  /* Consecutive draws are uncorrelated (the polar method returns its two normals one after the
   * other): lag-1 correlation within 5 standard errors, 5 / sqrt(N). */
  {
    double sxy = 0.0, sxx = 0.0;
    for (gsize i = 0; i + 1 < N_DRAWS; i++)
      {
        sxy += x[i] * x[i + 1];
        sxx += x[i] * x[i];
      }
    g_assert_cmpfloat (fabs (sxy / sxx), <, 5.0 / sqrt (N_DRAWS));
  }

  /* gaf_rng_below (7): every value in range, chi-square with 6 degrees of freedom below 30
   * (p < 5e-5 for a uniform generator). */
  for (gsize i = 0; i < 70000; i++)
    {
      guint32 k = gaf_rng_below (&rng, 7);
      g_assert_cmpuint (k, <, 7);
      counts[k]++;
    }
  for (int k = 0; k < 7; k++)
    chi2 += (counts[k] - 10000.0) * (counts[k] - 10000.0) / 10000.0;
  g_assert_cmpfloat (chi2, <, 30.0);
}

static void
test_rng_gamma (void)
{
  static const double shapes[] = { 0.5, 1.0, 3.0 };
  static const double rates[] = { 0.25, 2.0 };
  g_autofree double *x = g_new (double, N_DRAWS);
  GafRng rng;

  gaf_rng_init (&rng, 202);
  for (guint si = 0; si < G_N_ELEMENTS (shapes); si++)
    for (guint ri = 0; ri < G_N_ELEMENTS (rates); ri++)
      {
        double k = shapes[si], r = rates[ri];
        g_autofree char *what = g_strdup_printf ("gamma(%g, %g)", k, r);
        for (gsize i = 0; i < N_DRAWS; i++)
          {
            x[i] = gaf_rng_gamma (&rng, k, r);
            g_assert_true (x[i] >= 0.0 && isfinite (x[i]));
          }
        /* Gamma(k, rate r): mean k/r, variance k/r^2, fourth central moment 3k(k+2)/r^4. */
        check_moments (what, x, N_DRAWS, k / r, k / (r * r), 3 * k * (k + 2) / (r * r * r * r));
      }
}

static void
test_rng_dirichlet (void)
{
  static const double alpha[] = { 0.5, 1.0, 2.0, 4.5 };
  const gsize k = G_N_ELEMENTS (alpha), n = 50000;
  double a0 = 0.0, mean[G_N_ELEMENTS (alpha)] = { 0 }, out[G_N_ELEMENTS (alpha)];
  GafRng rng;

  for (gsize j = 0; j < k; j++)
    a0 += alpha[j];
  gaf_rng_init (&rng, 203);
  for (gsize i = 0; i < n; i++)
    {
      double s = 0.0;
      gaf_rng_dirichlet (&rng, alpha, out, k);
      for (gsize j = 0; j < k; j++)
        {
          g_assert_true (out[j] >= 0.0 && out[j] <= 1.0);
          s += out[j];
          mean[j] += out[j];
        }
      g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-12);
    }
  for (gsize j = 0; j < k; j++)
    {
      /* mean alpha_j / a0 within 5 standard errors, Var = a_j (a0 - a_j) / (a0^2 (a0 + 1)) */
      double m = alpha[j] / a0, var = alpha[j] * (a0 - alpha[j]) / (a0 * a0 * (a0 + 1));
      g_assert_cmpfloat_with_epsilon (mean[j] / n, m, 5 * sqrt (var / n));
    }
}

/* ---- the bulk normal generator and the vectorised math behind it ------------------------------ */

/* Standard normal CDF. */
static double
phi_cdf (double x)
{
  return 0.5 * erfc (-x / G_SQRT2);
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

#define N_NORMALS 1000000

/* gaf_rng_fill_normal: moments, Kolmogorov-Smirnov against the normal CDF, a chi-square of |x| in bins out to
 * the 4-sigma tail, and no correlation between neighbours or between a block's cosine and sine halves. */
static void
test_rng_fill_normal (void)
{
  static const double edges[] = { 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, INFINITY };
  g_autofree float *f = g_new (float, N_NORMALS + 1);
  g_autofree double *x = g_new (double, N_NORMALS);
  guint counts[G_N_ELEMENTS (edges) - 1] = { 0 };
  double chi2 = 0.0, d = 0.0, sxy = 0.0, sxx = 0.0, sxb = 0.0, m3 = 0.0, m4 = 0.0;
  gsize done = 0;
  GafRng rng, again;

  /* pieces of varied sizes, odd ones among them, from one stream */
  gaf_rng_init (&rng, 211);
  for (gsize len = 1; done < N_NORMALS; len = len * 3 + 1)
    {
      gsize k = MIN (len, N_NORMALS - done);
      f[done + k] = 12345.0f;
      gaf_rng_fill_normal (&rng, f + done, k);
      g_assert_cmpfloat (f[done + k], ==, 12345.0f);   /* writes exactly k values */
      done += k;
    }
  for (gsize i = 0; i < N_NORMALS; i++)
    {
      x[i] = f[i];
      g_assert_true (isfinite (x[i]) && fabs (x[i]) < 7.6);
    }
  /* the same seed gives the same values */
  gaf_rng_init (&again, 211);
  gaf_rng_fill_normal (&again, f, 1);
  g_assert_cmpfloat (f[0], ==, (float) x[0]);

  check_moments ("bulk normal", x, N_NORMALS, 0.0, 1.0, 3.0);
  /* third and fourth moments 0 and 3 within 5 standard errors (sqrt(15/N) and sqrt(96/N)) */
  for (gsize i = 0; i < N_NORMALS; i++)
    {
      m3 += x[i] * x[i] * x[i];
      m4 += x[i] * x[i] * x[i] * x[i];
    }
  g_assert_cmpfloat (fabs (m3 / N_NORMALS), <, 5 * sqrt (15.0 / N_NORMALS));
  g_assert_cmpfloat (fabs (m4 / N_NORMALS - 3.0), <, 5 * sqrt (96.0 / N_NORMALS));

  /* lag-1 correlation, and the cosines against the sines of the same pairs (the first full block of 256
   * pairs starts at the piece of 364 values: offset 1 + 4 + 13 + 40 + 121 = 179) */
  for (gsize i = 0; i + 1 < N_NORMALS; i++)
    {
      sxy += x[i] * x[i + 1];
      sxx += x[i] * x[i];
    }
  g_assert_cmpfloat (fabs (sxy / sxx), <, 5.0 / sqrt (N_NORMALS));
  for (gsize i = 0; i < 182; i++)
    sxb += x[179 + i] * x[179 + 182 + i];
  g_assert_cmpfloat (fabs (sxb / 182), <, 5.0 / sqrt (182));

  /* chi-square of |x| in 9 bins (8 degrees of freedom) below 30: p < 2e-4 for the normal law */
  for (gsize i = 0; i < N_NORMALS; i++)
    for (guint k = 0; k + 1 < G_N_ELEMENTS (edges); k++)
      if (fabs (x[i]) < edges[k + 1])
        {
          counts[k]++;
          break;
        }
  for (guint k = 0; k + 1 < G_N_ELEMENTS (edges); k++)
    {
      double e = N_NORMALS * 2.0 * (phi_cdf (edges[k + 1]) - phi_cdf (edges[k]));
      chi2 += (counts[k] - e) * (counts[k] - e) / e;
    }
  g_test_message ("chi-square %.2f, |x| >= 4: %u (expected %.1f)", chi2, counts[G_N_ELEMENTS (edges) - 2],
                  N_NORMALS * 2.0 * phi_cdf (-4.0));
  g_assert_cmpfloat (chi2, <, 30.0);

  /* Kolmogorov-Smirnov: sqrt(N) D below 1.95 (p < 0.001) */
  qsort (x, N_NORMALS, sizeof (double), cmp_double);
  for (gsize i = 0; i < N_NORMALS; i++)
    {
      double F = phi_cdf (x[i]);
      d = MAX (d, MAX (F - (double) i / N_NORMALS, (double) (i + 1) / N_NORMALS - F));
    }
  g_test_message ("Kolmogorov-Smirnov sqrt(N) D = %.3f", sqrt (N_NORMALS) * d);
  g_assert_cmpfloat (sqrt (N_NORMALS) * d, <, 1.95);
}

/* The exact pair of normals the bits of a draw stand for (gaf-rng.c): radius from the top 40 bits A,
 * u = (A + 1/2) 2^-40, angle q pi/2 + (K + 1/2 - 2^21) pi / 2^23 from the low 24 bits. */
static void
box_muller_exact (guint64 a40, guint q, guint k, double *x, double *y, double *r)
{
  double u = (a40 + 0.5) * 0x1p-40, w = ((double) ((G_GUINT64_CONSTANT (1) << 40) - a40) - 0.5) * 0x1p-40;
  double lnu = u < 0.5 ? log (u) : log1p (-w);
  double th = q * G_PI / 2 + ((double) k + 0.5 - 2097152.0) * G_PI / 8388608.0;

  *r = sqrt (-2.0 * lnu);
  *x = *r * cos (th);
  *y = *r * sin (th);
}

static void
box_muller_bits (guint64 a40, guint q, guint k, guint32 *hi, guint32 *lo)
{
  guint64 v = (a40 << 24) | ((guint64) q << 22) | k;

  *hi = (guint32) (v >> 32);
  *lo = (guint32) v;
}

/* The transform against the exact values in double for the extreme bit patterns and 2^20 random ones: relative
 * error of each coordinate below 4e-7 (measured 2.9e-7); the radius reaches 7.54; and the radius bits with r > 6
 * are the first e^-18 2^40 values of A (to 16 in 16,700), so the mass beyond 6 sigma is right to 0.1 %. */
static void
test_rng_box_muller (void)
{
  const gsize n = (1 << 20) + 64;
  g_autofree guint32 *hi = g_new (guint32, n), *lo = g_new (guint32, n);
  g_autofree float *fx = g_new (float, n), *fy = g_new (float, n);
  g_autofree guint64 *A = g_new (guint64, n);
  g_autofree guint *Q = g_new (guint, n), *K = g_new (guint, n);
  guint64 a_star = (guint64) floor (exp (-18.0) * 0x1p40 - 0.5);
  double worst = 0.0, rmax = 0.0;
  GafRng rng;

  gaf_rng_init (&rng, 212);
  for (gsize i = 0; i < n; i++)
    {
      guint64 v = gaf_rng_next (&rng);
      A[i] = v >> 24;
      Q[i] = (v >> 22) & 3;
      K[i] = v & 0x3fffff;
    }
  /* the edges: the smallest and largest radius bits, the switch between ln u and ln(1 - w), u = 1/2,
   * each angle quadrant and the ends of its range, and the tail boundary at 6 sigma */
  {
    const guint64 edge_a[] = { 0, 1, 2, (G_GUINT64_CONSTANT (11863284) << 16) - 1,
                               G_GUINT64_CONSTANT (11863284) << 16, G_GUINT64_CONSTANT (1) << 39,
                               (G_GUINT64_CONSTANT (1) << 40) - 1, a_star - 16, a_star + 16 };
    const guint edge_k[] = { 0, 2097151, 2097152, 4194303 };
    gsize i = 0;
    for (guint ea = 0; ea < G_N_ELEMENTS (edge_a); ea++)
      for (guint ek = 0; ek < G_N_ELEMENTS (edge_k) && i < 64; ek++, i++)
        {
          A[i] = edge_a[ea];
          K[i] = edge_k[ek];
          Q[i] = i & 3;
        }
  }
  for (gsize i = 0; i < n; i++)
    box_muller_bits (A[i], Q[i], K[i], &hi[i], &lo[i]);
  gaf_rng_box_muller (hi, lo, fx, fy, n);
  for (gsize i = 0; i < n; i++)
    {
      double x, y, r;
      box_muller_exact (A[i], Q[i], K[i], &x, &y, &r);
      worst = MAX (worst, fabs (fx[i] - x) / fabs (x));
      worst = MAX (worst, fabs (fy[i] - y) / fabs (y));
      rmax = MAX (rmax, hypot (fx[i], fy[i]));
    }
  g_test_message ("worst relative error %.3g, largest radius %.4f", worst, rmax);
  g_assert_cmpfloat (worst, <, 4e-7);
  g_assert_cmpfloat (rmax, >, 7.53);

  /* the tail boundary: r(a* - 16) > 6 > r(a* + 16), and r never increases with A out there */
  box_muller_bits (a_star - 16, 0, 2097152, &hi[0], &lo[0]);
  box_muller_bits (a_star + 16, 0, 2097152, &hi[1], &lo[1]);
  gaf_rng_box_muller (hi, lo, fx, fy, 2);
  g_assert_cmpfloat (hypot (fx[0], fy[0]), >, 6.0);
  g_assert_cmpfloat (hypot (fx[1], fy[1]), <, 6.0);
  for (gsize i = 0; i < 4096; i++)
    box_muller_bits (i * 8, 0, 2097152, &hi[i], &lo[i]);
  gaf_rng_box_muller (hi, lo, fx, fy, 4096);
  for (gsize i = 0; i + 1 < 4096; i++)
    g_assert_cmpfloat (hypot (fx[i + 1], fy[i + 1]), <=, hypot (fx[i], fy[i]));
}

/* The math functions in the clone the running CPU uses (GAF_SIMD_CLONES, as in the engine). */
GAF_SIMD_CLONES static void
eval_logf (const float *x, float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] = gaf_fast_logf (x[i]);
}

GAF_SIMD_CLONES static void
eval_log1pf_reduced (const float *x, float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] = gaf_fast_log1pf_reduced (x[i]);
}

GAF_SIMD_CLONES static void
eval_sincosf (const float *x, float *s, float *c, gsize n)
{
  for (gsize i = 0; i < n; i++)
    gaf_fast_sincosf_reduced (x[i], &s[i], &c[i]);
}

GAF_SIMD_CLONES static void
eval_expf (const float *x, float *y, gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] = gaf_fast_expf (x[i]);
}

#define MATH_BATCH 65536

static double
rel_err (double got, double want)
{
  return want == 0.0 ? (got == 0.0 ? 0.0 : INFINITY) : fabs (got - want) / fabs (want);
}

/* ln over [2^-41, 1] (the generator's u) every 173rd float, and over [FLT_MIN, FLT_MAX] every 1021st;
 * ln(1 + f) over its reduced range every 509th: relative error below 1.5e-7 (measured 8.3e-8, 8.1e-8, 7.4e-8
 * with every 7th, 251st and 1st float). */
static void
test_simd_log (void)
{
  g_autofree float *x = g_new (float, MATH_BATCH), *y = g_new (float, MATH_BATCH);
  union { float f; guint32 i; } lo, hi;
  double worst_used = 0.0, worst_all = 0.0, worst_1p = 0.0;

  for (int pass = 0; pass < 3; pass++)
    {
      guint32 step = pass == 0 ? 173 : pass == 1 ? 1021 : 509;
      double *worst = pass == 0 ? &worst_used : pass == 1 ? &worst_all : &worst_1p;
      gsize n = 0;
      guint32 i0, i1;

      /* pass 2 walks f in [sqrt(1/2) - 1, 0] and then [0, sqrt(2) - 1] by bit pattern */
      for (int half = 0; half < (pass == 2 ? 2 : 1); half++)
        {
          if (pass == 0)
            lo.f = 0x1p-41f, hi.f = 1.0f;
          else if (pass == 1)
            lo.f = FLT_MIN, hi.f = FLT_MAX;
          else if (half == 0)
            lo.f = 0.0f, hi.f = 0.29289322f;
          else
            lo.f = 0.0f, hi.f = 0.41421357f;
          i0 = lo.i;
          i1 = hi.i;
          for (guint64 i = i0; i <= i1; i += step)
            {
              union { float f; guint32 i; } v;
              v.i = (guint32) i;
              x[n++] = (pass == 2 && half == 0) ? -v.f : v.f;
              if (n == MATH_BATCH || i + step > i1)
                {
                  if (pass == 2)
                    eval_log1pf_reduced (x, y, n);
                  else
                    eval_logf (x, y, n);
                  for (gsize k = 0; k < n; k++)
                    *worst = MAX (*worst, rel_err (y[k], pass == 2 ? log1p (x[k]) : log (x[k])));
                  n = 0;
                }
            }
        }
    }
  g_test_message ("ln: %.3g on [2^-41, 1], %.3g on [FLT_MIN, FLT_MAX]; ln(1 + f): %.3g", worst_used, worst_all,
                  worst_1p);
  g_assert_cmpfloat (worst_used, <, 1.5e-7);
  g_assert_cmpfloat (worst_all, <, 1.5e-7);
  g_assert_cmpfloat (worst_1p, <, 1.5e-7);
}

/* sin and cos on every one of the 2^22 angles the generator forms, and every 509th float of [-pi/4, pi/4]:
 * relative error below 1.5e-7 each (measured 7.1e-8 and 8.2e-8 with every 3rd float). */
static void
test_simd_sincos (void)
{
  g_autofree float *x = g_new (float, MATH_BATCH), *s = g_new (float, MATH_BATCH), *c = g_new (float, MATH_BATCH);
  double worst_s = 0.0, worst_c = 0.0;
  gsize n = 0;

  for (int pass = 0; pass < 2; pass++)
    {
      guint64 count = pass == 0 ? 4194304 : 0;
      union { float f; guint32 i; } end;
      end.f = (float) (G_PI / 4);
      if (pass == 1)
        count = 2 * ((guint64) end.i / 509 + 1);
      for (guint64 i = 0; i < count; i++)
        {
          if (pass == 0)
            x[n++] = ((float) ((gint32) i - 2097152) + 0.5f) * (float) (G_PI / 8388608.0);
          else
            {
              union { float f; guint32 i; } v;
              v.i = (guint32) ((i / 2) * 509);
              x[n++] = (i & 1) ? -v.f : v.f;
            }
          if (n == MATH_BATCH || i + 1 == count)
            {
              eval_sincosf (x, s, c, n);
              for (gsize k = 0; k < n; k++)
                {
                  if (x[k] != 0.0f)
                    worst_s = MAX (worst_s, rel_err (s[k], sin (x[k])));
                  worst_c = MAX (worst_c, rel_err (c[k], cos (x[k])));
                }
              n = 0;
            }
        }
    }
  g_test_message ("sin %.3g, cos %.3g", worst_s, worst_c);
  g_assert_cmpfloat (worst_s, <, 1.5e-7);
  g_assert_cmpfloat (worst_c, <, 1.5e-7);
}

/* e^x on [-87, 0] (the softmax's arguments, x - max x) and on [0, 88], every 557th float: relative error below
 * 1.5e-7 (measured 8.4e-8 with every 5th float); below -87 the result is e^-87 (the softmax keeps a NaN itself). */
static void
test_simd_exp (void)
{
  g_autofree float *x = g_new (float, MATH_BATCH), *y = g_new (float, MATH_BATCH);
  union { float f; guint32 i; } v, end;
  double worst = 0.0;
  gsize n = 0;

  for (int sign = 0; sign < 2; sign++)
    {
      end.f = sign ? -87.0f : 88.0f;
      for (guint64 i = 0; i <= (end.i & 0x7fffffffu); i += 557)
        {
          v.i = (guint32) i | (sign ? 0x80000000u : 0u);
          x[n++] = v.f;
          if (n == MATH_BATCH || i + 557 > (end.i & 0x7fffffffu))
            {
              eval_expf (x, y, n);
              for (gsize k = 0; k < n; k++)
                worst = MAX (worst, rel_err (y[k], exp (x[k])));
              n = 0;
            }
        }
    }
  g_test_message ("exp %.3g", worst);
  g_assert_cmpfloat (worst, <, 1.5e-7);
  x[0] = -1000.0f;
  x[1] = -INFINITY;
  eval_expf (x, y, 2);
  g_assert_cmpfloat (y[0], ==, gaf_fast_expf (-87.0f));
  g_assert_cmpfloat (y[1], ==, gaf_fast_expf (-87.0f));
}

/* The softmax keeps a NaN a NaN (a diverged state must show as one), for c = 2 and the general rows. */
static void
test_softmax_nan (void)
{
  for (gsize c = 2; c <= 40; c += 38)
    {
      g_autofree float *v = g_new0 (float, c), *w = g_new (float, c);
      v[1] = NAN;
      gaf_softmax_rows (v, w, 1, c);
      g_assert_true (isnan (w[1]));
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/engine/simplex/softmax", test_softmax);
  g_test_add_func ("/engine/simplex/project-tangent", test_project_tangent);
  g_test_add_func ("/engine/simplex/replicator", test_replicator);
  g_test_add_func ("/engine/simplex/variance-form", test_variance_form);
  g_test_add_func ("/engine/simplex/lift", test_lift);
  g_test_add_func ("/engine/simplex/tangent-basis", test_tangent_basis);
  g_test_add_func ("/engine/simplex/target-direction", test_target_direction);
  g_test_add_func ("/engine/simplex/e-geodesic", test_e_geodesic);
  g_test_add_func ("/engine/simplex/argmax-entropy", test_argmax_entropy);
  g_test_add_func ("/engine/rng/streams", test_rng_streams);
  g_test_add_func ("/engine/rng/uniform-normal", test_rng_uniform_normal);
  g_test_add_func ("/engine/rng/gamma", test_rng_gamma);
  g_test_add_func ("/engine/rng/dirichlet", test_rng_dirichlet);
  g_test_add_func ("/engine/rng/fill-normal", test_rng_fill_normal);
  g_test_add_func ("/engine/rng/box-muller", test_rng_box_muller);
  g_test_add_func ("/engine/simd/log", test_simd_log);
  g_test_add_func ("/engine/simd/sincos", test_simd_sincos);
  g_test_add_func ("/engine/simd/exp", test_simd_exp);
  g_test_add_func ("/engine/simplex/softmax-nan", test_softmax_nan);

  return g_test_run ();
}
