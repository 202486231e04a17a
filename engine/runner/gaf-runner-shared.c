/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runner"
#include "config.h"

#include "gaf-runner-private.h"

/* The state the owner and the engine thread share, and the events that go from the thread to the owner's
 * main context. */

guint gaf_runner_signals[N_SIGNALS];

Shared *
gaf_runner_shared_new (GafRunner *owner)
{
  Shared *sh = g_new0 (Shared, 1);

  sh->ref_count = 1;
  sh->commands = g_async_queue_new ();
  g_weak_ref_init (&sh->owner, owner);
  sh->context = g_main_context_ref_thread_default ();
  g_mutex_init (&sh->lock);
  g_cond_init (&sh->cond);
  return sh;
}

Shared *
gaf_runner_shared_ref (Shared *sh)
{
  g_atomic_int_inc (&sh->ref_count);
  return sh;
}

void
gaf_runner_command_free (Command *cmd)
{
  if (cmd->task != NULL)
    {
      /* Never handled: the runner went away first. */
      gaf_tsan_send (cmd->task);   /* the owner's *_finish receives it */
      g_task_return_new_error (cmd->task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the engine stopped");
      g_object_unref (cmd->task);
    }
  gaf_job_free (cmd->job);
  if (cmd->data_free != NULL)
    cmd->data_free (cmd->data);
  g_free (cmd);
}

void
gaf_runner_shared_unref (Shared *sh)
{
  Command *cmd;

  if (!g_atomic_int_dec_and_test (&sh->ref_count))
    return;
  while ((cmd = command_receive (g_async_queue_try_pop (sh->commands))) != NULL)
    gaf_runner_command_free (cmd);
  g_async_queue_unref (sh->commands);
  gaf_snapshot_unref (g_atomic_pointer_exchange (&sh->slot, NULL));
  g_weak_ref_clear (&sh->owner);
  g_main_context_unref (sh->context);
  g_mutex_clear (&sh->lock);
  g_cond_clear (&sh->cond);
  g_clear_object (&sh->work);
  g_free (sh);
}


typedef struct {
  Shared     *sh;
  guint       signal;
  GError     *error;
  const char *name;   /* of the job */
  int         param;  /* "adjusted": the parameter and its value */
  double      value;
} Event;

static void
event_free (gpointer data)
{
  Event *ev = data;

  gaf_tsan_receive (ev);
  g_clear_error (&ev->error);
  gaf_runner_shared_unref (ev->sh);
  g_free (ev);
}

static gboolean
event_dispatch (gpointer data)
{
  Event *ev = data;
  g_autoptr(GObject) owner = NULL;

  gaf_tsan_receive (ev);   /* sent by event_send on the engine thread */
  owner = g_weak_ref_get (&ev->sh->owner);

  if (ev->signal == SIGNAL_PUBLISHED)
    g_atomic_int_set (&ev->sh->published_pending, 0);
  if (owner == NULL)
    return G_SOURCE_REMOVE;   /* the runner went away meanwhile */
  if (ev->signal == SIGNAL_FAILED)
    g_signal_emit (owner, gaf_runner_signals[SIGNAL_FAILED], 0, ev->error);
  else if (ev->signal == SIGNAL_JOB_FINISHED)
    g_signal_emit (owner, gaf_runner_signals[SIGNAL_JOB_FINISHED], g_quark_from_static_string (ev->name), ev->name, ev->error);
  else if (ev->signal == SIGNAL_ADJUSTED)
    g_signal_emit (owner, gaf_runner_signals[SIGNAL_ADJUSTED], 0, ev->param, ev->value, ev->error);
  else
    g_signal_emit (owner, gaf_runner_signals[ev->signal], 0);
  return G_SOURCE_REMOVE;
}

static void
event_send (Shared *sh, Event *ev, int priority)
{
  g_autoptr(GSource) source = NULL;

  /* A source attached to the owner's context, never g_main_context_invoke*: when nobody iterates that
   * context at this moment (the owner blocked in gaf_runner_sync, a CLI between iterations), invoke
   * acquires it and runs the handler inline, on this engine thread, racing with the owner. */
  source = g_idle_source_new ();
  g_source_set_priority (source, priority);
  g_source_set_callback (source, event_dispatch, ev, event_free);
  g_source_set_static_name (source, "[gaflow] runner event");
  gaf_tsan_send (ev);
  g_source_attach (source, sh->context);
}

static Event *
event_new (Shared *sh, guint signal, const GError *error)
{
  Event *ev = g_new0 (Event, 1);

  ev->sh = gaf_runner_shared_ref (sh);
  ev->signal = signal;
  ev->error = error ? g_error_copy (error) : NULL;
  return ev;
}

void
gaf_runner_send_event_full (Shared *sh, guint signal, const GError *error, const char *name, int priority)
{
  Event *ev = event_new (sh, signal, error);

  ev->name = name;
  event_send (sh, ev, priority);
}

void
gaf_runner_send_event (Shared *sh, guint signal, const GError *error)
{
  gaf_runner_send_event_full (sh, signal, error, NULL, G_PRIORITY_DEFAULT);
}

void
gaf_runner_send_adjusted (Shared *sh, GafParam param, double value, const GError *why)
{
  Event *ev = event_new (sh, SIGNAL_ADJUSTED, why);

  ev->param = param;
  ev->value = value;
  event_send (sh, ev, G_PRIORITY_DEFAULT);
}

