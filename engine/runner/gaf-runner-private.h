/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-runner.h"
#include "gaf-tsan.h"

G_BEGIN_DECLS

/* What the runner's files share (gaf-runner.c: the object and the engine thread; gaf-runner-shared.c: the
 * state both sides hold and the events to the owner's thread; gaf-snapshot.c). Not installed. */

typedef enum {
  CMD_TRAIN,
  CMD_SAMPLE,
  CMD_RESET,
  CMD_EXPERIMENT,
  CMD_PARAM,
  CMD_TEXT,
  CMD_SAVE_MODEL,
  CMD_LOAD_MODEL,
  CMD_JOB,
  CMD_CANCEL_JOB,
  CMD_CALL,
  CMD_SYNC,
  CMD_QUIT,
} CommandKind;

typedef struct {
  CommandKind               kind;
  int                       param;
  double                    value;
  const char               *text;       /* interned */
  const GafExperimentClass *experiment;
  GafJob                   *job;
  GafExperimentCall         call;
  gpointer                  data;
  GDestroyNotify            data_free;
  GTask                    *task;       /* save and load: completed on the owner's main context */
} Command;

/* Reference-counted: the owner, the thread and every pending event hold one, so that the slot, the
 * queue and the weak reference outlive whichever finishes last. */
typedef struct {
  gint          ref_count;
  GAsyncQueue  *commands;
  gpointer      slot;            /* GafSnapshot *, swapped atomically; owned by whoever takes it */
  GWeakRef      owner;           /* the GafRunner, for events on the main context */
  GMainContext *context;
  GMutex        lock;            /* guards `work` and the sync counter */
  GCond         cond;
  GCancellable *work;            /* cancels the long loop that runs now (sampling, a job) */
  guint         sync_sent, sync_done;
  gint          quit;
  gint          published_pending;   /* a "published" event is on its way */
  guint64       commands_sent;       /* the owner's count (gaf_runner_is_current) */
} Shared;

/* Commands travel through the GAsyncQueue: what the owner wrote into one is seen by the engine thread
 * (gaf-tsan.h says so to TSan). command_send is for the owner only. */
static inline void
command_send (Shared *sh, Command *cmd)
{
  sh->commands_sent++;
  gaf_tsan_send (cmd);
  g_async_queue_push (sh->commands, cmd);
}

static inline Command *
command_receive (Command *cmd)
{
  if (cmd != NULL)
    gaf_tsan_receive (cmd);
  return cmd;
}

enum {
  SIGNAL_PUBLISHED,
  SIGNAL_FINISHED,
  SIGNAL_FAILED,
  SIGNAL_JOB_FINISHED,
  SIGNAL_ADJUSTED,
  N_SIGNALS
};

extern guint gaf_runner_signals[N_SIGNALS];

Shared  *gaf_runner_shared_new       (GafRunner *owner);
Shared  *gaf_runner_shared_ref       (Shared *sh);
void     gaf_runner_shared_unref     (Shared *sh);
/* Frees a command; one with a task never handled completes it with G_IO_ERROR_CANCELLED. */
void     gaf_runner_command_free     (Command *cmd);
/* An event for the owner's context (see gaf-runner.h): a source attached there, never invoked inline. */
void     gaf_runner_send_event_full  (Shared *sh, guint signal, const GError *error, const char *name, int priority);
void     gaf_runner_send_event       (Shared *sh, guint signal, const GError *error);
/* "adjusted": the experiment set param to value, for the reason why. */
void     gaf_runner_send_adjusted    (Shared *sh, GafParam param, double value, const GError *why);

G_END_DECLS
