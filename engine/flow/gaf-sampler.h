/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "gaf-progress.h"
#include "gaf-rng.h"
#include "gaf-net.h"

G_BEGIN_DECLS

typedef enum {
  GAF_INTEGRATOR_EULER,   /* geometric Euler: V += h Pi_0 F, i.e. W <- exp_W(h F) */
  GAF_INTEGRATOR_RK4,     /* classical RK4 in the 3/8 rule */
} GafIntegrator;

typedef struct {
  GafIntegrator integrator;
  double        step_size;   /* h; the last step is shortened to land on t_end */
  double        t_end;       /* T */
} GafSamplerConfig;

void        gaf_sampler_config_init   (GafSamplerConfig *cfg);
gboolean    gaf_sampler_config_check  (const GafSamplerConfig *cfg, GError **error);
guint       gaf_sampler_n_steps       (const GafSamplerConfig *cfg);
guint       gaf_sampler_evals_per_step (GafIntegrator integrator);
gboolean    gaf_integrator_from_string (const char *name, GafIntegrator *out);
const char *gaf_integrator_to_string  (GafIntegrator integrator);

/* dv = f(t, v) for a state of `count` floats. */
typedef void (*GafFieldFunc) (gpointer user_data, double t, const float *v, float *dv, gsize count);

/* Optional recording of W(t) = softmax(V(t)) for chosen rows every `every` steps (and at t = 0 and T). */
typedef struct {
  guint        every;
  const guint *rows;      /* row indices b * n + i */
  guint        n_rows;
  GArray      *times;     /* double, filled */
  GArray      *w;         /* float, n_rows * c per record, filled */
} GafTrajectory;

GafTrajectory *gaf_trajectory_new  (guint every, const guint *rows, guint n_rows);
void           gaf_trajectory_free (GafTrajectory *traj);

/* Integrate v (rows, c) from 0 to T in place. */
gboolean gaf_integrate (const GafSamplerConfig *cfg, GafFieldFunc field, gpointer user_data,
                        float *v, gsize rows, gsize c, GafTrajectory *traj,
                        GCancellable *cancellable, GError **error);

/* GAF sampling with a network: V(0) = Pi_0 xi, integrate dV/dt = Pi_0 F(softmax V, t), decode argmax.
 * labels (count, n) out; w_final (count, n, c) optional. Works in chunks of `chunk` sequences. */
gboolean gaf_sample_flow    (GafNet *net, const GafSamplerConfig *cfg, GafRng *rng,
                             guint64 count, int chunk, guint16 *labels, float *w_final,
                             GafTrajectory *traj, GafProgressFunc progress, gpointer progress_data,
                             GCancellable *cancellable, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafTrajectory, gaf_trajectory_free)

G_END_DECLS
