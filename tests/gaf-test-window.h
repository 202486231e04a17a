/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the tests that run the app in a real window (test-ui, test-ui-fit): iterating the
 * main context for a while or until a condition holds (every wait has a deadline, scaled by
 * GAF_TEST_TIME_FACTOR for slow setups and loaded machines), and a run history file of the test's own
 * instead of the user's. */

#include <glib.h>

#include "gaf-test-util.h"

typedef gboolean (*Predicate) (gpointer data);

/* What is pending in the main context, at most 200 dispatches: with busy engines and animations there may
 * always be something, and a wait must still look at its clock and its condition. */
static inline void
iterate_pending (void)
{
  for (int i = 0; i < 200 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static inline void
iterate_for (double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * G_USEC_PER_SEC);

  while (g_get_monotonic_time () < end)
    {
      iterate_pending ();
      g_usleep (4000);
    }
}

static inline gboolean
wait_until (Predicate pred, gpointer data, double seconds)
{
  gint64 end = g_get_monotonic_time () + (gint64) (seconds * gaf_test_time_factor () * G_USEC_PER_SEC);

  while (!pred (data))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      iterate_pending ();
      g_usleep (4000);
    }
  return TRUE;
}

/* The run history goes to a file in a new temporary folder (GAFLOW_RUNS_FILE), not the user's data. */
static inline void
use_test_runs_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("gaflow-test-XXXXXX", NULL);
  g_autofree char *runs = NULL;

  g_assert_nonnull (dir);
  runs = g_build_filename (dir, "runs.ini", NULL);
  g_setenv ("GAFLOW_RUNS_FILE", runs, TRUE);
}
