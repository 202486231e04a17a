/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Hand-overs between threads that ThreadSanitizer cannot see (docs/reliability.md, "Threads under TSan").
 *
 * GLib's GMutex, GCond, GAsyncQueue, GThreadPool, GTask and GMainContext synchronise with atomics and the
 * futex(2) system call inside a libglib that is not built with TSan. So under TSan, data written before
 * g_mutex_unlock, g_async_queue_push or g_source_attach and read after the matching lock, pop or dispatch
 * looks unordered: a report with gaflow's own functions on both sides. Such reports cannot be suppressed
 * by library, because a GLib frame sits at the bottom of every stack of a GThread and of every callback
 * the main loop dispatches: a `race:libglib` entry hides every race in the project. Instead each
 * hand-over says what it hands over: gaf_tsan_send (obj) on the sending thread just before the call that
 * passes obj on, gaf_tsan_receive (obj) on the receiving thread where it gets it. Everything the sender
 * wrote before the send is then ordered before everything the receiver does after the receive, as the
 * GLib call guarantees. Without TSan both are nothing. */

#include <glib.h>

#if defined(__SANITIZE_THREAD__)
#define GAF_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GAF_TSAN 1
#endif
#endif

/* gaf_tsan_ignore_begin () ... gaf_tsan_ignore_end (): the calling thread's reads, writes and frees between
 * the two are not recorded (its locks still are). Only for a stretch of library code that runs before any
 * thread of gaflow's exists, so that no race of gaflow's can hide in it (gaf-application.c says where). */
#ifdef GAF_TSAN
#include <sanitizer/tsan_interface.h>
/* In libtsan since GCC 4.9; no header of GCC 12 declares them. */
void __tsan_ignore_thread_begin (void);
void __tsan_ignore_thread_end (void);
#define gaf_tsan_send(obj)    __tsan_release ((void *) (obj))
#define gaf_tsan_receive(obj) __tsan_acquire ((void *) (obj))
#define gaf_tsan_ignore_begin() __tsan_ignore_thread_begin ()
#define gaf_tsan_ignore_end()   __tsan_ignore_thread_end ()
#else
#define gaf_tsan_send(obj)    ((void) (obj))
#define gaf_tsan_receive(obj) ((void) (obj))
#define gaf_tsan_ignore_begin() ((void) 0)
#define gaf_tsan_ignore_end()   ((void) 0)
#endif

/* GMutex and GCond with the edges TSan needs: what one thread did before unlocking is seen by the next
 * thread that locks (or wakes from a wait on) the same mutex. */
static inline void
gaf_mutex_lock (GMutex *mutex)
{
  g_mutex_lock (mutex);
  gaf_tsan_receive (mutex);
}

static inline void
gaf_mutex_unlock (GMutex *mutex)
{
  gaf_tsan_send (mutex);
  g_mutex_unlock (mutex);
}

static inline void
gaf_cond_wait (GCond *cond, GMutex *mutex)
{
  gaf_tsan_send (mutex);
  g_cond_wait (cond, mutex);
  gaf_tsan_receive (mutex);
}
