/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-run-history.h"
#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_WINDOW (gaf_window_get_type ())
G_DECLARE_FINAL_TYPE (GafWindow, gaf_window, GAF, WINDOW, GtkApplicationWindow)

/* The main window: header bar (experiment, Train/Pause, Sample, views in a switcher that wraps, menu),
 * the views in a stack, the parameter panel and a status line. Owns the engine runner; training starts
 * at once. Fits 1024 x 768 and 800 x 600. */
GafWindow *gaf_window_new             (GtkApplication *application);
GafRunner *gaf_window_get_runner      (GafWindow *self);
/* A view by name (gaf_window_view_names); FALSE for an unknown name. */
gboolean   gaf_window_set_view        (GafWindow *self, const char *name);
/* The names of the window's views in the switcher's order: its own, then gaf-view.c's table (for
 * --view, before any window exists). A new NULL-terminated array. */
char     **gaf_window_view_names      (void);
const char *gaf_window_get_view       (GafWindow *self);
void       gaf_window_set_experiment  (GafWindow *self, const GafExperimentClass *experiment);
/* With training at a reached budget this is Train On: the budget is doubled first (at most its maximum). */
void       gaf_window_set_training    (GafWindow *self, gboolean training);
/* A named preset ("lecture", "fast-tuning") of the current experiment from the app's presets. */
gboolean   gaf_window_apply_preset    (GafWindow *self, const char *name, GError **error);
/* A fresh model now, without asking (the menu's Reset Model… asks first). */
void       gaf_window_reset_model     (GafWindow *self);
/* Presentation mode (F11): full screen, larger text and thicker strokes. */
void       gaf_window_set_presentation (GafWindow *self, gboolean presentation);
/* The Train button's label and the head of the status line (tests compare them with the state table). */
GtkWidget *gaf_window_get_train_button (GafWindow *self);
GtkWidget *gaf_window_get_status_label (GafWindow *self);
/* The run history (the Runs view) and where it is written: path NULL keeps it in memory (screenshots). */
GafRunHistory *gaf_window_get_history  (GafWindow *self);
void       gaf_window_set_history_file (GafWindow *self, const char *path);
/* Writes the history now if it changed since it was last written (also done when a run starts, every
 * 20 s while it changes, and when the window goes). */
void       gaf_window_save_history    (GafWindow *self);
/* The current view's note in the info popover (F1): what its points, trails, arrows and colours are. */
/* The bar over a view of another experiment (a GtkRevealer, revealed then): a label, then one button per
 * experiment the view shows, each opening it. */
GtkWidget  *gaf_window_get_switch_bar (GafWindow *self);
const char *gaf_window_get_info_text  (GafWindow *self);/* Teaching overlay points of the simplex view (c = 3; b may be NULL) and a fixed flow time (the
 * animations of the simplex and label-map views pause there); t < 0 leaves them playing. */
void       gaf_window_set_overlay     (GafWindow *self, const double *a, const double *b, double t);
/* Starts the class-scaling sweep with the settings of the class-scaling view. */
gboolean   gaf_window_run_sweep       (GafWindow *self);
/* The widgets tests look into. */
GtkWidget *gaf_window_get_view_widget (GafWindow *self, const char *name);
GtkWidget *gaf_window_get_panel       (GafWindow *self);
/* Renders the whole window as it is on screen to a PNG of the window's size, now: the layout must be
 * valid (call from a frame's after-paint, or use the async version). */
gboolean   gaf_window_save_screenshot (GafWindow *self, const char *path, GError **error);
/* The same at the end of the next frame, when the layout is complete. */
void       gaf_window_screenshot_async  (GafWindow *self, const char *path, GCancellable *cancellable,
                                         GAsyncReadyCallback callback, gpointer user_data);
gboolean   gaf_window_screenshot_finish (GafWindow *self, GAsyncResult *result, GError **error);
/* Model files (.gafck) through the runner: opening replaces the model, experiment and parameters when
 * the file checks out; any error is shown in one dialog and the model stays as it was. */
void       gaf_window_open_model      (GafWindow *self, const char *path);
void       gaf_window_save_model      (GafWindow *self, const char *path);
/* Scores the label map in a PGM or PNG file in the Likelihood view (FALSE with a message when it cannot
 * be read or does not fit the image model, or there is none). */
gboolean   gaf_window_score_map_file  (GafWindow *self, const char *path, GError **error);
/* How many model files were opened, saved or refused so far (tests wait on it). */
guint      gaf_window_get_file_operations (GafWindow *self);
/* Exports the current view: PNG, SVG or PDF by extension, or its data as CSV. */
gboolean   gaf_window_export_view     (GafWindow *self, const char *path, GError **error);
/* The simplex animation as n numbered PNG frames (frame-0000.png ...) over t in [0, T]. */
gboolean   gaf_window_export_frames   (GafWindow *self, const char *directory, guint n, GError **error);

G_END_DECLS
