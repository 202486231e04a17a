/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-engine.h"

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

  return g_test_run ();
}
