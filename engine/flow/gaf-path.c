/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>

#include "gaf-path.h"
#include "gaf-simplex.h"

void
gaf_path_config_init (GafPathConfig *cfg)
{
  cfg->lambda = 0.5;
  cfg->time_shape = 1.0;
  cfg->time_rate = 0.25;
}

void
gaf_path_sample (const GafPathConfig *cfg, GafRng *rng, const guint16 *labels,
                 int batch, int n, int c, float *t, float *w, float *u)
{
  gsize rows = (gsize) batch * n;

  for (int b = 0; b < batch; b++)
    t[b] = (float) gaf_rng_gamma (rng, cfg->time_shape, cfg->time_rate);   /* not clamped */
  for (gsize r = 0; r < rows; r++)
    for (int j = 0; j < c; j++)
      w[r * c + j] = (float) gaf_rng_normal (rng);
  gaf_project_tangent_rows (w, rows, c);   /* V_0 = Pi_0 xi */
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      {
        gsize r = (gsize) b * n + i;
        float lt = (float) (cfg->lambda * t[b]);
        gaf_target_direction (labels[r], u + r * c, c);
        for (int j = 0; j < c; j++)
          w[r * c + j] += lt * u[r * c + j];
      }
  gaf_softmax_rows (w, w, rows, c);
}

double
gaf_path_loss_rows (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
                    int batch, gsize r0, gsize r1, int c, float *df)
{
  double total = 0.0;
  float lam = (float) cfg->lambda;
  float scale = 2.0f / (float) batch;

  for (gsize r = r0; r < r1; r++)
    {
      const float *wr = w + r * c, *fr = f + r * c, *ur = u + r * c;
      double m1 = 0.0, m2 = 0.0;
      for (int j = 0; j < c; j++)
        {
          double d = fr[j] - lam * ur[j];
          m1 += wr[j] * d;
          m2 += wr[j] * d * d;
        }
      total += m2 - m1 * m1;
      if (df != NULL)
        for (int j = 0; j < c; j++)
          df[r * c + j] = scale * wr[j] * (float) ((fr[j] - lam * ur[j]) - m1);
    }
  return total;
}

double
gaf_path_loss (const GafPathConfig *cfg, const float *w, const float *f, const float *u,
               int batch, int n, int c, float *df)
{
  return gaf_path_loss_rows (cfg, w, f, u, batch, 0, (gsize) batch * n, c, df) / batch;
}
