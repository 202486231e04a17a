/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-net.h"

G_BEGIN_DECLS

/* The posterior parameterisation of the GAF affinity, around any network G with c in and out channels.
 *
 * Along the conditional path of docs/method.md §2.1, V_t = V_0 + lambda t u_beta with V_0 standard normal on T_0, so
 * the likelihood of the final label k of one row given V_t is proportional to exp(lambda t <V_t, u_k>)
 * = exp(lambda t s log W_k) up to a row constant (s = sqrt(c / (c - 1))), whatever the data. The optimal
 * affinity lambda E[u_beta | W_t = W] (docs/method.md §2.2) is therefore lambda s (p - 1/c) with
 * p = softmax(lambda t s log W + log prior), where the "log prior" is the only part that depends on the data
 * (and, for coupled data, on the other rows). This network computes exactly that form with the prior part
 * learned:
 *
 *   F_i = lambda s (softmax(lambda t s log W_i + G(W, t)_i) - 1/c)
 *
 * G is the wrapped network and sees the same input W and time t. With G = 0 the flow is the one of
 * independent uniform labels; with G_i = log q_i (a per-position bias) it is the exact field of
 * independent positions with marginals q_i. The loss, the sampler and the likelihood are unchanged: this
 * is one more GafNet with the inner network's parameters. lambda must be the path's lambda (the form is
 * only Bayes-consistent with it). log W is taken of max(W, 1e-30). */
typedef struct _GafPosteriorNet GafPosteriorNet;

/* Takes ownership of inner (in_channels == out_channels >= 2). */
GafNet  *gaf_posterior_net_new       (GafNet *inner, double lambda);
gboolean gaf_net_is_posterior        (GafNet *net);
/* The wrapped network and lambda of a posterior net. */
GafNet  *gaf_posterior_net_get_inner (GafNet *net);
double   gaf_posterior_net_get_lambda (GafNet *net);

G_END_DECLS
