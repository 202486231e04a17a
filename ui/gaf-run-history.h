/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* Every training run the app makes, recorded from the runner's snapshots (no GTK, so tests cover it as
 * data): the settings it started with, its loss and sample-KL curves over steps and seconds, the parameter
 * changes made while it ran, its final metrics. A run starts with every new model (GafSnapshot.model_serial)
 * and ends with the next. The history keeps the current run and the last GAF_RUN_HISTORY_KEEP finished
 * ones in a key file (gaf_run_history_save, atomic; gaf_run_history_load, bounded and checked). */

#define GAF_RUN_HISTORY_KEEP   12      /* finished runs kept besides the current one */
#define GAF_RUN_MAX_POINTS     2000    /* loss points per run (decimated beyond) */
#define GAF_RUN_MAX_KL         2000    /* sampling rounds per run */
#define GAF_RUN_MAX_CHANGES    200     /* parameter changes per run */
#define GAF_RUN_FILE_MAX_BYTES (8 * 1024 * 1024)

typedef struct {
  double step, seconds, value;
} GafRunPoint;

typedef struct {
  double   step, seconds;
  GafParam param;
  double   value;              /* the new value */
} GafRunChange;

typedef struct {
  guint64         id;          /* unique in the history, increasing */
  gint64          started;     /* wall clock, microseconds since the epoch (g_get_real_time) */
  GafRunnerParams params;      /* at the start */
  guint64         model_serial;
  GArray         *loss;        /* GafRunPoint: smoothed loss */
  GArray         *kl;          /* GafRunPoint: KL of each sampling round */
  GArray         *changes;     /* GafRunChange */
  double          kl_uniform, kl_floor;   /* of the last round (NAN before) */
  double          steps, seconds;         /* the last seen */
  double          final_loss, final_kl;   /* NAN before any */
  guint           loss_stride;            /* steps between kept loss points (doubles when full) */
} GafRun;

typedef struct _GafRunHistory GafRunHistory;

GafRunHistory *gaf_run_history_new      (void);
void           gaf_run_history_free     (GafRunHistory *self);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafRunHistory, gaf_run_history_free)

/* Takes a snapshot into the current run (or starts a new run on a new model). Returns TRUE when the
 * history changed (a point, a round, a change or a new run). */
gboolean       gaf_run_history_feed     (GafRunHistory *self, const GafSnapshot *snapshot);
/* Runs, oldest first; the last is the current one. */
guint          gaf_run_history_get_n_runs (GafRunHistory *self);
const GafRun  *gaf_run_history_get_run  (GafRunHistory *self, guint index);
const GafRun  *gaf_run_history_find     (GafRunHistory *self, guint64 id);
/* A counter that changes whenever the history does (views redraw on it). */
guint64        gaf_run_history_get_serial (GafRunHistory *self);

/* The parameters whose values differ among the runs given (for highlighting). diff[p] is set for each. */
void           gaf_run_history_differing (GafRunHistory *self, const guint64 *ids, guint n_ids,
                                          gboolean diff[GAF_N_PARAMS]);
/* One line per run: id, start, experiment, every parameter, steps, seconds, final loss, final KL. */
char          *gaf_run_history_to_csv   (GafRunHistory *self);

/* The key file: written whole to a temporary file and renamed (g_file_set_contents). */
gboolean       gaf_run_history_save     (GafRunHistory *self, const char *path, GError **error);
/* Replaces the history with the file's runs; a missing file leaves the history as it is (TRUE). A file
 * that is not a regular file, too large, or has any bad value is refused whole with one GError. */
gboolean       gaf_run_history_load     (GafRunHistory *self, const char *path, GError **error);
/* $XDG_DATA_HOME/gaflow/runs.ini (newly allocated). */
char          *gaf_run_history_default_path (void);

G_END_DECLS
