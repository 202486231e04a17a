/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-application"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <stdlib.h>

#include "gaf-application.h"
#include "gaf-label-map-experiment.h"
#include "gaf-parameter-panel.h"
#include "gaf-tsan.h"
#include "gaf-window.h"

struct _GafApplication {
  GtkApplication parent_instance;

  char          *screenshot;
  char          *view;
  char          *experiment;
  char          *model;
  char          *map;
  gint64         map_deadline;
  double         after;
  double         frame_stats;
  gboolean       sweep;
  char          *points;
  gboolean       presentation;
  char          *change;        /* --change KEY=VALUE@SECONDS */
  int            change_param;
  double         change_value, change_at;
  double         time;
  double         point_a[3], point_b[3];
  int            n_points;
  GArray        *intervals;     /* double, ms between frames */
  gint64         last_frame;
  int            exit_status;
};

G_DEFINE_FINAL_TYPE (GafApplication, gaf_application, GTK_TYPE_APPLICATION)


/* --change KEY=VALUE@SECONDS: a parameter of the table by its key, a value in its range, 0..3600 s. */
static gboolean
parse_change (GafApplication *self)
{
  g_auto(GStrv) kv = g_strsplit (self->change, "=", 2);
  g_auto(GStrv) vt = NULL;
  char *end = NULL;

  if (g_strv_length (kv) != 2)
    return FALSE;
  vt = g_strsplit (kv[1], "@", 2);
  if (g_strv_length (vt) != 2)
    return FALSE;
  self->change_param = gaf_param_from_key (kv[0]);
  if (self->change_param < 0 || gaf_param_info (self->change_param)->type == GAF_PARAM_TEXT)
    return FALSE;
  self->change_value = g_ascii_strtod (vt[0], &end);
  if (end == vt[0] || *end != '\0' || !(self->change_value >= gaf_param_info (self->change_param)->min &&
                                        self->change_value <= gaf_param_info (self->change_param)->max))
    return FALSE;
  self->change_at = g_ascii_strtod (vt[1], &end);
  return end != vt[1] && *end == '\0' && self->change_at >= 0 && self->change_at <= 3600;
}

static int
fail (const char *message)
{
  g_printerr ("gaflow: error: %s\n", message);
  return 2;
}

/* "a1,a2,a3[;b1,b2,b3]": barycentric points, each normalised to sum 1. */
static gboolean
parse_points (GafApplication *self)
{
  g_auto(GStrv) points = g_strsplit (self->points, ";", -1);

  self->n_points = 0;
  if (g_strv_length (points) < 1 || g_strv_length (points) > 2)
    return FALSE;
  for (guint i = 0; points[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (points[i], ",", -1);
      double *p = i == 0 ? self->point_a : self->point_b, sum = 0;
      if (g_strv_length (parts) != 3)
        return FALSE;
      for (int j = 0; j < 3; j++)
        {
          char *end = NULL;
          p[j] = g_ascii_strtod (g_strstrip (parts[j]), &end);
          if (end == parts[j] || *end != '\0' || !(p[j] > 0) || !isfinite (p[j]))
            return FALSE;
          sum += p[j];
        }
      for (int j = 0; j < 3; j++)
        p[j] /= sum;
      self->n_points++;
    }
  return TRUE;
}

static int
gaf_application_handle_local_options (GApplication *app, GVariantDict *options)
{
  GafApplication *self = GAF_APPLICATION (app);
  gboolean version = FALSE;

  g_variant_dict_lookup (options, "version", "b", &version);
  if (version)
    {
      g_print ("gaflow %s\n", PACKAGE_VERSION);
      return 0;
    }
  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  g_variant_dict_lookup (options, "view", "s", &self->view);
  g_variant_dict_lookup (options, "experiment", "s", &self->experiment);
  g_variant_dict_lookup (options, "model", "^ay", &self->model);
  g_variant_dict_lookup (options, "map", "^ay", &self->map);
  if (!g_variant_dict_lookup (options, "after", "d", &self->after))
    self->after = 3.0;
  g_variant_dict_lookup (options, "frame-stats", "d", &self->frame_stats);
  g_variant_dict_lookup (options, "sweep", "b", &self->sweep);
  g_variant_dict_lookup (options, "points", "s", &self->points);
  g_variant_dict_lookup (options, "presentation", "b", &self->presentation);
  g_variant_dict_lookup (options, "change", "s", &self->change);
  if (!g_variant_dict_lookup (options, "time", "d", &self->time))
    self->time = -1.0;

  if (self->view != NULL)
    {
      g_auto(GStrv) views = gaf_window_view_names ();
      if (!g_strv_contains ((const char *const *) views, self->view))
        {
          g_autofree char *list = g_strjoinv (", ", views);
          /* Translators: the names of the views, like "simplex, training, runs" */
          g_autofree char *message = g_strdup_printf (_("--view must be one of %s"), list);
          return fail (message);
        }
    }
  if (self->experiment != NULL && gaf_experiment_lookup_legacy (self->experiment) == NULL)
    {
      g_autofree char *ids = gaf_experiment_list_ids (_(" or "));
      /* Translators: the experiments' names, like "scaling, exact or text" */
      g_autofree char *message = g_strdup_printf (_("--experiment must be %s"), ids);
      return fail (message);
    }
  if (!(self->after >= 0 && self->after <= 3600))
    return fail (_("--after must be between 0 and 3600 seconds"));
  if (!(self->frame_stats >= 0 && self->frame_stats <= 3600))
    return fail (_("--frame-stats must be between 0 and 3600 seconds"));
  if (self->points != NULL && !parse_points (self))
    return fail (_("--points needs one or two points of three positive numbers, like 0.6,0.35,0.05;0.05,0.35,0.6"));
  if (self->change != NULL && !parse_change (self))
    return fail (_("--change needs a parameter key, a value in its range and seconds, like learning-rate=0.003@20"));
  if (self->time != -1.0 && !(self->time >= 0 && self->time <= 100))
    return fail (_("--time must be between 0 and 100"));
  if (self->model != NULL && !g_file_test (self->model, G_FILE_TEST_IS_REGULAR))
    return fail (_("--model needs an existing model file"));
  if (self->map != NULL && !g_file_test (self->map, G_FILE_TEST_IS_REGULAR))
    return fail (_("--map needs an existing PGM or PNG file"));
  if (self->screenshot != NULL && !g_str_has_suffix (self->screenshot, ".png"))
    return fail (_("--screenshot needs a file name ending in .png"));
  /* A one-shot run must not hand its work to an instance that is already running, nor change the user's
   * settings (window size, view, experiment): it keeps them in memory unless a backend is chosen. */
  if (self->screenshot != NULL || self->frame_stats > 0)
    {
      g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);
      g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
    }
  return -1;
}

static gboolean
change_param (gpointer data)
{
  GafApplication *self = data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window != NULL)
    gaf_parameter_panel_set_value (GAF_PARAMETER_PANEL (gaf_window_get_panel (GAF_WINDOW (window))),
                                   self->change_param, self->change_value);
  return G_SOURCE_REMOVE;
}

static void
screenshot_done (GObject *source, GAsyncResult *result, gpointer data)
{
  GafApplication *self = data;
  GtkWidget *window = GTK_WIDGET (source);
  g_autoptr(GError) error = NULL;

  if (gaf_window_screenshot_finish (GAF_WINDOW (window), result, &error))
    g_print ("%s (%d × %d)\n", self->screenshot, gtk_widget_get_width (window), gtk_widget_get_height (window));
  else
    {
      g_printerr ("gaflow: error: %s\n", error->message);
      self->exit_status = 1;
    }
  g_application_quit (G_APPLICATION (self));
  g_application_release (G_APPLICATION (self));
}

static gboolean
take_screenshot (gpointer data)
{
  GafApplication *self = data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    {
      g_printerr ("gaflow: error: %s\n", _("no window"));
      self->exit_status = 1;
      g_application_quit (G_APPLICATION (self));
      return G_SOURCE_REMOVE;
    }
  g_application_hold (G_APPLICATION (self));
  gaf_window_screenshot_async (GAF_WINDOW (window), self->screenshot, NULL, screenshot_done, self);
  return G_SOURCE_REMOVE;
}

static gboolean
record_frame (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  GafApplication *self = data;
  gint64 now = gdk_frame_clock_get_frame_time (clock);

  if (self->last_frame != 0)
    {
      double ms = (now - self->last_frame) / 1000.0;
      g_array_append_val (self->intervals, ms);
    }
  self->last_frame = now;
  return G_SOURCE_CONTINUE;
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gboolean
report_frames (gpointer data)
{
  GafApplication *self = data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  guint n = self->intervals->len;

  if (n < 10)
    {
      g_printerr ("gaflow: error: only %u frames were drawn\n", n);
      self->exit_status = 1;
    }
  else
    {
      double *v = (double *) self->intervals->data;
      g_autoptr(GafSnapshot) s = gaf_runner_dup_snapshot (gaf_window_get_runner (GAF_WINDOW (window)));
      qsort (v, n, sizeof (double), compare_doubles);
      /* Machine-readable, one line: bench/ parses it. */
      g_print ("frames %u p50_ms %.2f p90_ms %.2f p99_ms %.2f max_ms %.2f steps %" G_GUINT64_FORMAT
               " steps_per_s %.1f\n", n, v[n / 2], v[(guint) (0.9 * (n - 1))], v[(guint) (0.99 * (n - 1))], v[n - 1],
               s->step, s->steps_per_second);
    }
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

/* --map: scored once the window has an image model (after --model opened it, or the data were read). */
static gboolean
score_map (gpointer data)
{
  GafApplication *self = data;
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));
  g_autoptr(GafSnapshot) s = NULL;
  g_autoptr(GError) error = NULL;

  if (window == NULL)
    return G_SOURCE_REMOVE;
  s = gaf_runner_dup_snapshot (gaf_window_get_runner (GAF_WINDOW (window)));
  if ((gaf_label_map_payload (s->payload) == NULL || gaf_label_map_payload (s->payload)->height == 0 ||
       s->model_kind == NULL || (self->model != NULL && gaf_window_get_file_operations (GAF_WINDOW (window)) == 0)) &&
      g_get_monotonic_time () < self->map_deadline)
    return G_SOURCE_CONTINUE;
  if (!gaf_window_score_map_file (GAF_WINDOW (window), self->map, &error))
    g_printerr ("gaflow: error: %s\n", error->message);
  return G_SOURCE_REMOVE;
}

static void
gaf_application_activate (GApplication *app)
{
  GafApplication *self = GAF_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));
  if (window == NULL)
    window = GTK_WINDOW (gaf_window_new (GTK_APPLICATION (app)));
  if (self->experiment != NULL)
    gaf_window_set_experiment (GAF_WINDOW (window), gaf_experiment_lookup_legacy (self->experiment));
  if (self->model != NULL)
    gaf_window_open_model (GAF_WINDOW (window), self->model);
  if (self->view != NULL)
    gaf_window_set_view (GAF_WINDOW (window), self->view);
  if (self->n_points > 0 || self->time >= 0)
    gaf_window_set_overlay (GAF_WINDOW (window), self->n_points > 0 ? self->point_a : NULL,
                            self->n_points > 1 ? self->point_b : NULL, self->time);
  gtk_window_present (window);
  if (self->sweep && !gaf_window_run_sweep (GAF_WINDOW (window)))
    g_printerr ("gaflow: %s\n", _("the class-scaling settings do not parse: no sweep"));

  if (self->map != NULL)
    {
      self->map_deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
      g_timeout_add (250, score_map, self);
    }
  if (self->presentation)
    gaf_window_set_presentation (GAF_WINDOW (window), TRUE);
  if (self->change != NULL)
    g_timeout_add ((guint) (self->change_at * 1000), change_param, self);
  /* A one-shot run keeps the run history in memory unless GAFLOW_RUNS_FILE names a file for it. */
  if ((self->screenshot != NULL || self->frame_stats > 0) && g_getenv ("GAFLOW_RUNS_FILE") == NULL)
    gaf_window_set_history_file (GAF_WINDOW (window), NULL);
  if (self->screenshot != NULL)
    g_timeout_add ((guint) (self->after * 1000), take_screenshot, self);
  if (self->frame_stats > 0)
    {
      gtk_widget_add_tick_callback (GTK_WIDGET (window), record_frame, self, NULL);
      g_timeout_add ((guint) (self->frame_stats * 1000), report_frames, self);
    }
}

static void
about_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  GtkApplication *app = data;
  const char *authors[] = { _("The gaflow developers"), NULL };

  gtk_show_about_dialog (gtk_application_get_active_window (app),
                         "program-name", _("Gaflow"),
                         "logo-icon-name", APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "comments", _("Generative assignment flows on discrete data: watch a flow on the "
                                       "probability simplex learn, sample and compare."),
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "website", "https://github.com/gaflow/gaflow",
                         "authors", authors,
                         "translator-credits", _("translator-credits"),
                         NULL);
}

static void
quit_action (GSimpleAction *action, GVariant *param, gpointer data)
{
  g_application_quit (G_APPLICATION (data));
}

static void
gaf_application_startup (GApplication *app)
{
  static const GActionEntry entries[] = {
    { "about", about_action, NULL, NULL, NULL },
    { "quit", quit_action, NULL, NULL, NULL },
  };
  const char *quit[] = { "<Control>q", NULL };
  const char *help[] = { "<Control>question", NULL };
  const char *export[] = { "<Control>e", NULL };
  const char *csv[] = { "<Control><Shift>e", NULL };
  const char *sample[] = { "<Control>Return", NULL };
  const char *open[] = { "<Control>o", NULL };
  const char *save[] = { "<Control>s", NULL };

  /* GtkApplication's start-up runs gtk_init, which has GtkIconTheme read the icon themes in a GTask
   * thread of its own, and then adds this application's resource path to that theme, which frees, on this
   * thread, the lists the loading thread built. Both sides hold the theme's GMutex, whose futex TSan cannot
   * see, so TSan reported that hand-over inside GTK as six races (docs/reliability.md). No gaflow thread
   * exists yet (engine threads belong to windows, made in activate) and no gaflow code runs inside it, so
   * TSan is told to skip this thread's accesses for exactly this call; in other builds this is nothing. */
  gaf_tsan_ignore_begin ();
  G_APPLICATION_CLASS (gaf_application_parent_class)->startup (app);
  gaf_tsan_ignore_end ();
  g_action_map_add_action_entries (G_ACTION_MAP (app), entries, G_N_ELEMENTS (entries), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.show-help-overlay", help);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.export", export);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.export-csv", csv);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.sample", sample);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.open-model", open);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "win.save-model", save);
  gtk_window_set_default_icon_name (APPLICATION_ID);
}

static void
gaf_application_shutdown (GApplication *app)
{
  GList *windows;

  /* Windows own engine threads: destroy them (which joins the threads) before the process exits,
   * however the main loop ended. */
  while ((windows = gtk_application_get_windows (GTK_APPLICATION (app))) != NULL)
    gtk_window_destroy (windows->data);
  G_APPLICATION_CLASS (gaf_application_parent_class)->shutdown (app);
}

static void
gaf_application_finalize (GObject *object)
{
  GafApplication *self = GAF_APPLICATION (object);

  g_free (self->screenshot);
  g_free (self->view);
  g_free (self->experiment);
  g_free (self->model);
  g_free (self->map);
  g_free (self->points);
  g_free (self->change);
  g_array_unref (self->intervals);
  G_OBJECT_CLASS (gaf_application_parent_class)->finalize (object);
}

static void
gaf_application_class_init (GafApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = gaf_application_finalize;
  app_class->handle_local_options = gaf_application_handle_local_options;
  app_class->activate = gaf_application_activate;
  app_class->startup = gaf_application_startup;
  app_class->shutdown = gaf_application_shutdown;
}

/* --view's help, from the window's views. */
static const char *
view_help (void)
{
  static char *help;

  if (help == NULL)
    {
      g_auto(GStrv) views = gaf_window_view_names ();
      g_autofree char *list = g_strjoinv (", ", views);
      help = g_strdup_printf (_("View to show: %s"), list);
    }
  return help;
}

/* --experiment's help, from the registry: "Experiment to open: scaling, exact, ... or label-maps". */
static const char *
experiment_help (void)
{
  static char *help;

  if (help == NULL)
    {
      g_autofree char *ids = gaf_experiment_list_ids (_(" or "));
      help = g_strdup_printf (_("Experiment to open: %s"), ids);
    }
  return help;
}

static void
gaf_application_init (GafApplication *self)
{
  const GOptionEntry entries[] = {
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      N_("Render the window to a PNG file after a while, then quit"), N_("FILE.png") },
    { "view", 0, 0, G_OPTION_ARG_STRING, NULL, view_help (), N_("NAME") },
    { "experiment", 0, 0, G_OPTION_ARG_STRING, NULL, experiment_help (), N_("NAME") },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Open a model file (.gafck) at the start"), N_("FILE") },
    { "map", 0, 0, G_OPTION_ARG_FILENAME, NULL, N_("Score a label map (PGM or PNG) in the Likelihood view"), N_("FILE") },
    { "after", 0, 0, G_OPTION_ARG_DOUBLE, NULL, N_("Seconds to run before the screenshot (default 3)"), N_("SECONDS") },
    { "frame-stats", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_DOUBLE, NULL,
      N_("Measure frame intervals for this many seconds, print them and quit"), N_("SECONDS") },
    { "sweep", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start the class-scaling sweep at once"), NULL },
    { "points", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Teaching overlay points of the simplex view, as if clicked"), N_("A1,A2,A3[;B1,B2,B3]") },
    { "time", 0, 0, G_OPTION_ARG_DOUBLE, NULL, N_("Pause the simplex animation at this flow time"), N_("T") },
    { "presentation", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Start in presentation mode (larger text and strokes)"), NULL },
    { "change", 0, 0, G_OPTION_ARG_STRING, NULL,
      N_("Move a parameter's slider after some seconds, as if by hand (learning-rate=0.003@20)"), N_("KEY=VALUE@SECONDS") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, N_("Print the version and quit"), NULL },
    { NULL }
  };

  self->intervals = g_array_new (FALSE, FALSE, sizeof (double));
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

GafApplication *
gaf_application_new (void)
{
  return g_object_new (GAF_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       "resource-base-path", "/io/github/gaflow/Gaflow",
                       NULL);
}

int
gaf_application_get_exit_status (GafApplication *self)
{
  g_return_val_if_fail (GAF_IS_APPLICATION (self), 1);
  return self->exit_status;
}
