/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-posterior.h"

#define LOG_FLOOR 1e-30f

struct _GafPosteriorNet {
  GafNet  parent;
  GafNet *inner;
  double  lambda;
  int     capacity;     /* rows of the buffers below */
  int     batch;        /* of the last forward */
  float  *g;            /* (B, n, c) inner output, then reused */
  float  *p;            /* (B, n, c) posterior of the last forward */
  float  *x;            /* (B, n, c) copy of the input of the last forward */
  float  *t;            /* (B) */
};

static void
ensure (GafPosteriorNet *pn, int batch)
{
  gsize size;

  if (batch <= pn->capacity)
    return;
  size = (gsize) batch * pn->parent.n * pn->parent.out_channels;
  pn->g = g_renew (float, pn->g, size);
  pn->p = g_renew (float, pn->p, size);
  pn->x = g_renew (float, pn->x, size);
  pn->t = g_renew (float, pn->t, batch);
  pn->capacity = batch;
}

/* p = softmax(a log x + g) per row, out = lambda s (p - 1/c). */
static void
posterior (GafPosteriorNet *pn, const float *x, const float *t, int batch, const float *g, float *p,
           float *out)
{
  int n = pn->parent.n, c = pn->parent.out_channels;
  double s = sqrt ((double) c / (c - 1));
  float ls = (float) (pn->lambda * s), inv_c = 1.0f / (float) c;

  for (int b = 0; b < batch; b++)
    {
      float a = (float) (pn->lambda * s * t[b]);
      for (int i = 0; i < n; i++)
        {
          gsize r = ((gsize) b * n + i) * c;
          float mx = -INFINITY, sum = 0.0f;
          for (int j = 0; j < c; j++)
            {
              float z = a * logf (MAX (x[r + j], LOG_FLOOR)) + g[r + j];
              p[r + j] = z;
              mx = MAX (mx, z);
            }
          /* Terms below e^-80 are flushed to zero: subnormal numbers would reach the network's
           * backward pass and slow every product they enter by an order of magnitude. */
          for (int j = 0; j < c; j++)
            {
              float d = p[r + j] - mx;
              p[r + j] = d > -80.0f ? expf (d) : 0.0f;
              sum += p[r + j];
            }
          for (int j = 0; j < c; j++)
            {
              p[r + j] /= sum;
              out[r + j] = ls * (p[r + j] - inv_c);
            }
        }
    }
}

static void
net_forward (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  GafPosteriorNet *pn = (GafPosteriorNet *) net;
  gsize size = (gsize) batch * net->n * net->out_channels;

  ensure (pn, batch);
  gaf_net_forward (pn->inner, x, t, batch, pn->g);
  memcpy (pn->x, x, size * sizeof (float));
  memcpy (pn->t, t, (gsize) batch * sizeof (float));
  pn->batch = batch;
  posterior (pn, x, t, batch, pn->g, pn->p, out);
}

static void
net_infer (GafNet *net, const float *x, const float *t, int batch, float *out)
{
  GafPosteriorNet *pn = (GafPosteriorNet *) net;

  /* out doubles as the inner output; the posterior is computed row by row in place. */
  gaf_net_infer (pn->inner, x, t, batch, out);
  posterior (pn, x, t, batch, out, out, out);
}

static void
net_backward (GafNet *net, const float *dout, float *dx, float *dt)
{
  GafPosteriorNet *pn = (GafPosteriorNet *) net;
  int n = net->n, c = net->out_channels, batch = pn->batch;
  double s = sqrt ((double) c / (c - 1));
  float ls = (float) (pn->lambda * s);
  float *dz = pn->g;   /* the inner output is not needed any more */

  /* dz = lambda s (p dF - <p, dF> p): the softmax Jacobian, a replicator again. */
  for (gsize r = 0; r < (gsize) batch * n; r++)
    {
      const float *pr = pn->p + r * c, *dr = dout + r * c;
      float m = 0.0f;
      for (int j = 0; j < c; j++)
        m += pr[j] * dr[j];
      for (int j = 0; j < c; j++)
        {
          float v = ls * pr[j] * (dr[j] - m);
          dz[r * c + j] = fabsf (v) > 1e-30f ? v : 0.0f;   /* no subnormals into the network */
        }
    }
  /* The analytic term a log x with a = lambda s t. */
  if (dx != NULL || dt != NULL)
    for (int b = 0; b < batch; b++)
      {
        float a = (float) (pn->lambda * s * pn->t[b]);
        double acc = 0.0;
        for (gsize k = (gsize) b * n * c; k < (gsize) (b + 1) * n * c; k++)
          {
            float xv = pn->x[k];
            if (xv > LOG_FLOOR)
              {
                if (dx != NULL)
                  dx[k] += dz[k] * a / xv;
                acc += dz[k] * logf (xv);
              }
            else
              acc += dz[k] * logf (LOG_FLOOR);
          }
        if (dt != NULL)
          dt[b] += (float) (pn->lambda * s * acc);
      }
  gaf_net_backward (pn->inner, dz, dx, dt);
}

static void
net_free (GafNet *net)
{
  GafPosteriorNet *pn = (GafPosteriorNet *) net;

  gaf_net_free (pn->inner);
  g_free (pn->g);
  g_free (pn->p);
  g_free (pn->x);
  g_free (pn->t);
  g_free (pn);
}

static void
net_set_training (GafNet *net, gboolean training)
{
  gaf_net_set_training (((GafPosteriorNet *) net)->inner, training);
}

static const GafNetClass posterior_class = {
  "posterior", net_forward, net_infer, net_backward, net_free, net_set_training,
};

GafNet *
gaf_posterior_net_new (GafNet *inner, double lambda)
{
  GafPosteriorNet *pn;

  g_return_val_if_fail (inner != NULL, NULL);
  g_return_val_if_fail (inner->in_channels == inner->out_channels && inner->out_channels >= 2, NULL);
  g_return_val_if_fail (lambda > 0.0 && isfinite (lambda), NULL);

  pn = g_new0 (GafPosteriorNet, 1);
  pn->parent.klass = &posterior_class;
  pn->parent.params = inner->params;
  pn->parent.n = inner->n;
  pn->parent.in_channels = inner->in_channels;
  pn->parent.out_channels = inner->out_channels;
  pn->inner = inner;
  pn->lambda = lambda;
  return GAF_NET (pn);
}

gboolean
gaf_net_is_posterior (GafNet *net)
{
  return net != NULL && net->klass == &posterior_class;
}

GafNet *
gaf_posterior_net_get_inner (GafNet *net)
{
  g_return_val_if_fail (gaf_net_is_posterior (net), NULL);
  return ((GafPosteriorNet *) net)->inner;
}

double
gaf_posterior_net_get_lambda (GafNet *net)
{
  g_return_val_if_fail (gaf_net_is_posterior (net), 0.0);
  return ((GafPosteriorNet *) net)->lambda;
}
