/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reported from every long loop (training, sampling, sweeps) on the thread that runs it.
 * Cancellation is cooperative: long loops check a GCancellable between steps. */
typedef struct {
  const char *stage;     /* "train", "sample", ... */
  guint64     done;
  guint64     total;
  double      loss;      /* last training loss, NAN when not training */
  int         classes;   /* class count of the current sweep item, 0 otherwise */
  guint       item;      /* index of the current sweep item */
  guint       n_items;
} GafProgress;

typedef void (*GafProgressFunc) (const GafProgress *progress, gpointer user_data);

G_END_DECLS
