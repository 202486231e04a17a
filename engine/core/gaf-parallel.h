/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The engine's own worker threads. Networks split a batch into one part per thread and run each
 * part with single-threaded BLAS: elementwise work (norms, activations, softmax, Adam) then runs in
 * parallel too, and no BLAS thread spins while the caller does it. */
#define GAF_MAX_THREADS 16

typedef void (*GafTaskFunc) (guint task, guint n_tasks, gpointer user_data);

void  gaf_parallel_set_threads (guint n_threads);
guint gaf_parallel_get_threads (void);
/* Runs func(0..n_tasks-1); task 0 on the calling thread. Returns when all are done.
 * Not re-entrant: call from one thread at a time (the engine thread). */
void  gaf_parallel_run         (guint n_tasks, GafTaskFunc func, gpointer user_data);

/* Gradients of a batch split into parts: part 0 accumulates into the arena's grad, part k > 0 into a
 * buffer of its own (allocated in *buf on first use, zeroed here). Returns where part k accumulates. */
float *gaf_parallel_part_grad  (guint part, float *arena_grad, float **buf, gsize size);
/* grad += parts[1] + ... + parts[n_parts - 1] (each of size floats), split over the engine threads. */
void   gaf_parallel_sum_grads  (float *grad, float *const *parts, guint n_parts, gsize size);

G_END_DECLS
