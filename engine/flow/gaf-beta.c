/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <float.h>
#include <math.h>

#include "gaf-beta.h"

/* The continued fraction (Numerical Recipes 6.4; DLMF 8.17.22):
 *   I_x(p, q) = x^p (1 - x)^q / (p B(p, q)) * K,   K = 1 / (1 + d_1 / (1 + d_2 / (1 + ...))),
 *   d_{2m+1} = -(p + m)(p + q + m) x / ((p + 2m)(p + 2m + 1)),
 *   d_{2m}   =  m (q - m) x / ((p + 2m - 1)(p + 2m)).
 * It converges quickly for x < (p + 1) / (p + q + 2) (in O(sqrt(max(p, q))) terms); above that point
 * the symmetry I_x(p, q) = 1 - I_{1-x}(q, p) moves the evaluation to the other side. */

#define CF_MAX_ITER 10000
#define CF_EPS      (2.0 * DBL_EPSILON)   /* Lentz: |C_n D_n - 1| */
#define CF_GRAD_EPS (4.0 * DBL_EPSILON)   /* continuants: successive convergents within a few ulps */
#define CF_TINY     1e-300

double
gaf_digamma (double x)
{
  double r = 0.0, x2, s;

  g_return_val_if_fail (x > 0.0, NAN);
  /* psi(x) = psi(x + 1) - 1/x; the asymptotic series below has error < 5e-17 for x >= 10. */
  while (x < 10.0)
    {
      r -= 1.0 / x;
      x += 1.0;
    }
  x2 = 1.0 / (x * x);
  /* ln x - 1/(2x) - sum_k B_2k / (2k x^2k), k = 1..7 */
  s = x2 * (1.0 / 12 - x2 * (1.0 / 120 - x2 * (1.0 / 252 - x2 * (1.0 / 240 - x2 * (1.0 / 132
        - x2 * (691.0 / 32760 - x2 * (1.0 / 12)))))));
  return r + log (x) - 0.5 / x - s;
}

/* Stirling remainder lgamma(x) - [(x - 1/2) ln x - x + ln sqrt(2 pi)] for x >= 10 (error < 1e-16). */
static double
stirling_corr (double x)
{
  double x2 = 1.0 / (x * x);

  return (1.0 / 12 - x2 * (1.0 / 360 - x2 * (1.0 / 1260 - x2 * (1.0 / 1680 - x2 * (1.0 / 1188
          - x2 * (691.0 / 360360 - x2 * (1.0 / 156))))))) / x;
}

/* lgamma(a) + lgamma(b) - lgamma(a + b) cancels badly when an argument is large (at b = 159 the three
 * terms are ~600 and the result ~5): the Stirling parts are combined analytically instead, as in R's
 * lbeta, and only the small remainders are subtracted. */
double
gaf_log_beta (double a, double b)
{
  double p = MIN (a, b), q = MAX (a, b);

  if (p >= 10.0)
    return -0.5 * log (q) + 0.918938533204672741780329736406 /* ln sqrt(2 pi) */ + stirling_corr (p) +
           stirling_corr (q) - stirling_corr (p + q) + (p - 0.5) * log (p / (p + q)) + q * log1p (-p / (p + q));
  if (q >= 10.0)
    return lgamma (p) + stirling_corr (q) - stirling_corr (p + q) + p - p * log (p + q) +
           (q - 0.5) * log1p (-p / (p + q));
  return lgamma (p) + lgamma (q) - lgamma (p + q);
}

/* log of the prefactor x^p (1 - x)^q / (p B(p, q)), 0 < x < 1 */
static double
log_prefactor (double x, double p, double q)
{
  return p * log (x) + q * log1p (-x) - log (p) - gaf_log_beta (p, q);
}

/* K by the modified Lentz method (Thompson and Barnett 1986): the convergents h_n = h_{n-1} C_n D_n with
 * C_n = 1 + d_n / C_{n-1}, D_n = 1 / (1 + d_n D_{n-1}), tiny values replacing exact zeros. */
static double
cf_lentz (double x, double p, double q)
{
  double c = 1.0, d, h;

  d = 1.0 - (p + q) * x / (p + 1.0);
  if (fabs (d) < CF_TINY)
    d = CF_TINY;
  d = 1.0 / d;
  h = d;
  for (int m = 1; m <= CF_MAX_ITER; m++)
    {
      int m2 = 2 * m;
      double aa, del;

      aa = m * (q - m) * x / ((p + m2 - 1.0) * (p + m2));
      d = 1.0 + aa * d;
      if (fabs (d) < CF_TINY)
        d = CF_TINY;
      c = 1.0 + aa / c;
      if (fabs (c) < CF_TINY)
        c = CF_TINY;
      d = 1.0 / d;
      h *= d * c;

      aa = -(p + m) * (p + q + m) * x / ((p + m2) * (p + m2 + 1.0));
      d = 1.0 + aa * d;
      if (fabs (d) < CF_TINY)
        d = CF_TINY;
      c = 1.0 + aa / c;
      if (fabs (c) < CF_TINY)
        c = CF_TINY;
      d = 1.0 / d;
      del = d * c;
      h *= del;
      if (fabs (del - 1.0) < CF_EPS)
        break;
    }
  return h;
}

/* K and its partial derivatives K_p, K_q by the forward recurrence of the continuants,
 *   A_n = A_{n-1} + d_{n-1} A_{n-2},  B_n likewise,  A_0 = 0, A_1 = 1, B_0 = 1, B_1 = 1,
 * differentiated term by term: A'_n = A'_{n-1} + d'_{n-1} A_{n-2} + d_{n-1} A'_{n-2}. K_n = A_n / B_n and
 * K'_n = (A'_n - K_n B'_n) / B_n. Everything is divided by B_n after each term (the recurrence is
 * linear, so the ratios are unchanged and nothing overflows). Stops when K and both derivatives have
 * settled to rounding level (the derivatives converge a little later than K itself). */
static void
cf_grad (double x, double p, double q, double *k_out, double *kp_out, double *kq_out)
{
  /* state for n - 2 (suffix 2) and n - 1 (suffix 1) */
  double A2 = 0.0, A1 = 1.0, B2 = 1.0, B1 = 1.0;
  double Ap2 = 0.0, Ap1 = 0.0, Bp2 = 0.0, Bp1 = 0.0;
  double Aq2 = 0.0, Aq1 = 0.0, Bq2 = 0.0, Bq1 = 0.0;
  double k = 1.0, kp = 0.0, kq = 0.0;

  for (int j = 1; j <= 2 * CF_MAX_ITER; j++)
    {
      /* term d_j and its derivatives */
      double dj, dp, dq;
      double A, B, Ap, Bp, Aq, Bq, s, kn, kpn, kqn;

      if (j % 2 == 1)
        {
          int m = (j - 1) / 2;
          double den = (p + 2 * m) * (p + 2 * m + 1.0);
          dj = -(p + m) * (p + q + m) * x / den;
          dq = -(p + m) * x / den;
          dp = dj * (1.0 / (p + m) + 1.0 / (p + q + m) - 1.0 / (p + 2 * m) - 1.0 / (p + 2 * m + 1.0));
        }
      else
        {
          int m = j / 2;
          double den = (p + 2 * m - 1.0) * (p + 2 * m);
          dj = m * (q - m) * x / den;
          dq = m * x / den;
          dp = -dj * (1.0 / (p + 2 * m - 1.0) + 1.0 / (p + 2 * m));
        }

      A = A1 + dj * A2;
      B = B1 + dj * B2;
      Ap = Ap1 + dp * A2 + dj * Ap2;
      Bp = Bp1 + dp * B2 + dj * Bp2;
      Aq = Aq1 + dq * A2 + dj * Aq2;
      Bq = Bq1 + dq * B2 + dj * Bq2;

      if (fabs (B) < CF_TINY)
        {
          /* a zero denominator convergent: skip the ratio, keep the recurrence going */
          A2 = A1; A1 = A; B2 = B1; B1 = B;
          Ap2 = Ap1; Ap1 = Ap; Bp2 = Bp1; Bp1 = Bp;
          Aq2 = Aq1; Aq1 = Aq; Bq2 = Bq1; Bq1 = Bq;
          continue;
        }
      kn = A / B;
      kpn = (Ap - kn * Bp) / B;
      kqn = (Aq - kn * Bq) / B;

      /* rescale both levels by 1/B */
      s = 1.0 / B;
      A2 = A1 * s; A1 = A * s; B2 = B1 * s; B1 = 1.0;
      Ap2 = Ap1 * s; Ap1 = Ap * s; Bp2 = Bp1 * s; Bp1 = Bp * s;
      Aq2 = Aq1 * s; Aq1 = Aq * s; Bq2 = Bq1 * s; Bq1 = Bq * s;

      if (j > 2 && fabs (kn - k) <= CF_GRAD_EPS * fabs (kn) &&
          fabs (kpn - kp) <= CF_GRAD_EPS * (fabs (kpn) + fabs (kn)) &&
          fabs (kqn - kq) <= CF_GRAD_EPS * (fabs (kqn) + fabs (kn)))
        {
          k = kn;
          kp = kpn;
          kq = kqn;
          break;
        }
      k = kn;
      kp = kpn;
      kq = kqn;
    }
  *k_out = k;
  *kp_out = kp;
  *kq_out = kq;
}

double
gaf_beta_inc (double x, double a, double b)
{
  g_return_val_if_fail (a > 0.0 && b > 0.0, NAN);
  if (!(x > 0.0))
    return x == 0.0 ? 0.0 : NAN;
  if (!(x < 1.0))
    return x == 1.0 ? 1.0 : NAN;
  if (x < (a + 1.0) / (a + b + 2.0))
    return exp (log_prefactor (x, a, b)) * cf_lentz (x, a, b);
  return 1.0 - exp (log_prefactor (1.0 - x, b, a)) * cf_lentz (1.0 - x, b, a);
}

double
gaf_beta_inc_grad (double x, double a, double b, double *d_da, double *d_db)
{
  double k, kp, kq, pre, psi_ab;

  g_return_val_if_fail (a > 0.0 && b > 0.0, NAN);
  if (d_da)
    *d_da = 0.0;
  if (d_db)
    *d_db = 0.0;
  if (!(x > 0.0))
    return x == 0.0 ? 0.0 : NAN;
  if (!(x < 1.0))
    return x == 1.0 ? 1.0 : NAN;
  psi_ab = gaf_digamma (a + b);
  if (x < (a + 1.0) / (a + b + 2.0))
    {
      /* I = pre K, pre = x^a (1-x)^b / (a B(a, b));
       * d ln pre / da = ln x - 1/a - psi(a) + psi(a + b), d ln pre / db = ln(1-x) - psi(b) + psi(a + b) */
      cf_grad (x, a, b, &k, &kp, &kq);
      pre = exp (log_prefactor (x, a, b));
      if (d_da)
        *d_da = pre * (k * (log (x) - 1.0 / a - gaf_digamma (a) + psi_ab) + kp);
      if (d_db)
        *d_db = pre * (k * (log1p (-x) - gaf_digamma (b) + psi_ab) + kq);
      return pre * k;
    }
  /* I = 1 - pre' K', evaluated at (y, p, q) = (1 - x, b, a) */
  cf_grad (1.0 - x, b, a, &k, &kp, &kq);
  pre = exp (log_prefactor (1.0 - x, b, a));
  if (d_da)
    *d_da = -pre * (k * (log (x) - gaf_digamma (a) + psi_ab) + kq);
  if (d_db)
    *d_db = -pre * (k * (log1p (-x) - 1.0 / b - gaf_digamma (b) + psi_ab) + kp);
  return 1.0 - pre * k;
}

double
gaf_dirichlet_c (double x, double a, int c)
{
  double b = c - 1, k, kp, kq;

  g_return_val_if_fail (a > 0.0 && c >= 2, NAN);
  if (!(x > 0.0))
    return x == 0.0 ? 0.0 : NAN;
  if (x > 1.0)
    return NAN;
  if (x < (a + 1.0) / (a + b + 2.0))
    {
      /* -dI/da B / (x^{a-1} (1-x)^b) with dI/da = [x^a (1-x)^b / (a B)] (K L_a + K_a) */
      cf_grad (x, a, b, &k, &kp, &kq);
      return -(x / a) * (k * (log (x) - 1.0 / a - gaf_digamma (a) + gaf_digamma (a + b)) + kp);
    }
  /* dI/da = -[(1-x)^b x^a / (b B)] (K' L'_q + K'_q) at (1 - x, b, a); fine at x = 1 (K' = 1, K'_q = 0) */
  cf_grad (1.0 - x, b, a, &k, &kp, &kq);
  return (x / b) * (k * (log (x) - gaf_digamma (a) + gaf_digamma (a + b)) + kq);
}
