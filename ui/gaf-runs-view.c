/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-runs-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-parameter-panel.h"
#include "gaf-plot-data.h"
#include "gaf-run-plot.h"
#include "gaf-runs-view.h"

struct _GafRunsView {
  GtkWidget      parent_instance;

  GtkListBox    *list;
  GtkWidget     *area;
  GtkWidget     *restore_button;
  GafFollower    follower;
  GafRunHistory *history;
  guint64        shown_serial;
  GHashTable    *rows;       /* run id -> GtkWidget row (a GtkBox with "gaf-check", "gaf-label") */
  GHashTable    *checked;    /* run ids ticked for the overlay */
  guint64        last_current;
};

G_DEFINE_FINAL_TYPE (GafRunsView, gaf_runs_view, GTK_TYPE_WIDGET)

enum {
  SIGNAL_RESTORE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* The parameters a run of its experiment uses, as "name value" pairs; differing ones in bold. */
static char *
run_markup (GafRunsView *self, const GafRun *run, guint index, gboolean current, const gboolean diff[GAF_N_PARAMS])
{
  GString *out = g_string_new (NULL);
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local (run->started / G_USEC_PER_SEC);
  g_autofree char *when = t ? g_date_time_format (t, "%H:%M") : g_strdup ("");
  g_autofree char *duration = gaf_format_duration (run->seconds);
  g_autofree char *kl = isfinite (run->final_kl) ? g_strdup_printf ("%.4f", run->final_kl) : g_strdup ("–");
  g_autofree char *loss = isfinite (run->final_loss) ? g_strdup_printf ("%.4f", run->final_loss) : g_strdup ("–");

  /* Translators: a run of the run history: its number, start time, steps, training time, final metrics */
  g_string_append_printf (out, _("<b>Run %u</b>%s · %s · %s · %.0f steps in %s · loss %s · KL %s"),
                          (guint) run->id, current ? _(" (current)") : "", when,
                          run->params.experiment->id, run->steps, duration, loss, kl);
  g_string_append (out, "\n<small>");
  for (guint p = 0, n = 0; p < GAF_N_PARAMS; p++)
    {
      g_autofree char *value = NULL, *label = NULL;
      if (!gaf_experiment_uses (run->params.experiment, p) || gaf_param_info (p)->section == GAF_PARAM_SECTION_SAMPLER)
        continue;
      value = gaf_param_info (p)->type == GAF_PARAM_TEXT ? g_markup_escape_text (run->params.text[p], -1)
                                                         : gaf_param_format_value (p, run->params.value[p]);
      label = g_markup_escape_text (gaf_param_label (p), -1);
      g_string_append_printf (out, "%s%s%s %s%s", n++ ? " · " : "", diff[p] ? "<b>" : "", label, value,
                              diff[p] ? "</b>" : "");
    }
  if (run->changes->len > 0)
    g_string_append_printf (out, _(" · %u changes while training"), run->changes->len);
  g_string_append (out, "</small>");
  (void) index;
  return g_string_free (out, FALSE);
}

guint64 *
gaf_runs_view_get_checked (GafRunsView *self, guint *n_out)
{
  guint n = 0, total;
  guint64 *ids;

  g_return_val_if_fail (GAF_IS_RUNS_VIEW (self), NULL);
  total = self->history ? gaf_run_history_get_n_runs (self->history) : 0;
  ids = g_new (guint64, MAX (total, 1));
  for (guint i = 0; i < total; i++)
    {
      guint64 id = gaf_run_history_get_run (self->history, i)->id;
      if (g_hash_table_contains (self->checked, &id))
        ids[n++] = id;
    }
  *n_out = n;
  return ids;
}

static void update_rows (GafRunsView *self);

static void
on_check_toggled (GtkCheckButton *check, GafRunsView *self)
{
  guint64 id = *(guint64 *) g_object_get_data (G_OBJECT (check), "gaf-id");

  if (gtk_check_button_get_active (check))
    {
      guint64 *key = g_new (guint64, 1);
      *key = id;
      g_hash_table_add (self->checked, key);
    }
  else
    g_hash_table_remove (self->checked, &id);
  self->shown_serial = G_MAXUINT64;   /* the bold differences change */
  update_rows (self);
}

static GtkWidget *
make_row (GafRunsView *self, guint64 id)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 10);
  GtkWidget *check = gtk_check_button_new ();
  GtkWidget *label = gtk_label_new (NULL);
  guint64 *data = g_new (guint64, 1);

  *data = id;
  g_object_set_data_full (G_OBJECT (check), "gaf-id", data, g_free);
  gtk_widget_set_tooltip_text (check, _("Overlay this run's curves"));
  gtk_check_button_set_active (GTK_CHECK_BUTTON (check), g_hash_table_contains (self->checked, &id));
  g_signal_connect (check, "toggled", G_CALLBACK (on_check_toggled), self);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_widget_set_margin_top (box, 3);
  gtk_widget_set_margin_bottom (box, 3);
  gtk_widget_set_margin_start (box, 6);
  gtk_box_append (GTK_BOX (box), check);
  gtk_box_append (GTK_BOX (box), label);
  g_object_set_data (G_OBJECT (box), "gaf-check", check);
  g_object_set_data (G_OBJECT (box), "gaf-label", label);
  return box;
}

/* Rows for new runs (newest on top), gone runs removed, every label written again. */
static void
update_rows (GafRunsView *self)
{
  guint n = self->history ? gaf_run_history_get_n_runs (self->history) : 0;
  g_autofree guint64 *ids = NULL;
  guint n_checked;
  gboolean diff[GAF_N_PARAMS];
  GHashTableIter iter;
  gpointer key, value;

  if (self->history == NULL || gaf_run_history_get_serial (self->history) == self->shown_serial)
    return;
  self->shown_serial = gaf_run_history_get_serial (self->history);
  /* The current run and the one before it are ticked when the current one starts: a new run is
   * compared with the last one at once. */
  if (n > 0 && gaf_run_history_get_run (self->history, n - 1)->id != self->last_current)
    {
      self->last_current = gaf_run_history_get_run (self->history, n - 1)->id;
      for (guint i = n >= 2 ? n - 2 : 0; i < n; i++)
        {
          guint64 *k = g_new (guint64, 1);
          *k = gaf_run_history_get_run (self->history, i)->id;
          g_hash_table_add (self->checked, k);
        }
    }
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (gaf_run_history_find (self->history, *(guint64 *) key) == NULL)
      {
        gtk_list_box_remove (self->list, gtk_widget_get_parent (value));
        g_hash_table_remove (self->checked, key);
        g_hash_table_iter_remove (&iter);
      }
  ids = gaf_runs_view_get_checked (self, &n_checked);
  gaf_run_history_differing (self->history, ids, n_checked, diff);
  for (guint i = 0; i < n; i++)
    {
      const GafRun *run = gaf_run_history_get_run (self->history, i);
      GtkWidget *row = g_hash_table_lookup (self->rows, &run->id);
      g_autofree char *markup = NULL;
      if (row == NULL)
        {
          guint64 *k = g_new (guint64, 1);
          *k = run->id;
          row = make_row (self, run->id);
          gtk_list_box_prepend (self->list, row);
          g_hash_table_insert (self->rows, k, row);
        }
      markup = run_markup (self, run, i, i == n - 1, diff);
      gtk_label_set_markup (GTK_LABEL (g_object_get_data (G_OBJECT (row), "gaf-label")), markup);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (g_object_get_data (G_OBJECT (row), "gaf-check")),
                                   g_hash_table_contains (self->checked, &run->id));
    }
  gtk_widget_queue_draw (self->area);
}

gboolean
gaf_runs_view_set_checked (GafRunsView *self, guint64 id, gboolean checked)
{
  GtkWidget *row;

  g_return_val_if_fail (GAF_IS_RUNS_VIEW (self), FALSE);
  self->shown_serial = G_MAXUINT64;
  update_rows (self);
  row = g_hash_table_lookup (self->rows, &id);
  if (row == NULL)
    return FALSE;
  gtk_check_button_set_active (GTK_CHECK_BUTTON (g_object_get_data (G_OBJECT (row), "gaf-check")), checked);
  return TRUE;
}

void
gaf_runs_view_draw (GafRunsView *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  g_autofree guint64 *ids = NULL;
  g_autofree GafPlotSeries *kl = NULL, *loss = NULL;
  guint n = 0;
  gboolean side = width >= 640;
  double w = side ? (width - 24 - 32) / 2.0 : width - 32, h = side ? height - 40 : (height - 52) / 2.0;
  double ly = 8;

  g_return_if_fail (GAF_IS_RUNS_VIEW (self));
  if (self->history == NULL)
    return;
  ids = gaf_runs_view_get_checked (self, &n);
  kl = g_new0 (GafPlotSeries, MAX (n, 1));
  loss = g_new0 (GafPlotSeries, MAX (n, 1));
  /* The legend: a colour per ticked run. */
  for (guint i = 0; i < n; i++)
    {
      const GafRun *run = gaf_run_history_find (self->history, ids[i]);
      g_autofree char *name = g_strdup_printf (_("run %u"), (guint) run->id);
      double rgb[3], x = 16 + i * 90.0;
      gaf_run_color (i, rgb);
      kl[i] = (GafPlotSeries) { (const GafRunPoint *) run->kl->data, run->kl->len, { rgb[0], rgb[1], rgb[2] }, 1.6, TRUE };
      loss[i] = (GafPlotSeries) { (const GafRunPoint *) run->loss->data, run->loss->len, { rgb[0], rgb[1], rgb[2] }, 2.0, FALSE };
      cairo_set_line_width (cr, 3 * gaf_stroke (theme));
      gaf_set_rgb (cr, rgb, 1.0);
      cairo_move_to (cr, x, ly + 8);
      cairo_line_to (cr, x + 20, ly + 8);
      cairo_stroke (cr);
      gaf_set_fg (cr, theme, 0.9);
      gaf_draw_text (cr, theme, name, x + 26, ly + 8, 0, 0.5, 0.9);
    }
  if (n == 0)
    {
      gaf_set_fg (cr, theme, 0.6);
      gaf_draw_text_wrapped (cr, theme, _("Tick runs in the list to compare their curves."), width / 2.0, height / 2.0,
                             0.5, 0.5, 1.0, width - 32);
      return;
    }
  gaf_run_plot_draw (cr, theme, 16, 36, w, h, _("<b>KL of each sampling round</b>"), _("training step"),
                     _("KL (nats, log scale)"), TRUE, kl, n, NULL, 0, NULL, 0, 0);
  gaf_run_plot_draw (cr, theme, side ? 16 + w + 24 : 16, side ? 36 : 36 + h + 12, w, h, _("<b>Loss</b> (smoothed)"),
                     _("training step"), _("loss (log scale)"), TRUE, loss, n, NULL, 0, NULL, 0, 0);
}

static void
draw_area (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  GafRunsView *self = data;
  GafTheme theme = { 0 };

  gaf_theme_from_widget (&theme, GTK_WIDGET (area));
  gaf_runs_view_draw (self, cr, width, height, &theme);
  gaf_theme_clear (&theme);
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  update_rows (GAF_RUNS_VIEW (widget));
}

static void
on_restore_clicked (GafRunsView *self)
{
  GtkListBoxRow *row = gtk_list_box_get_selected_row (self->list);
  GtkWidget *box;
  GtkWidget *check;

  if (row == NULL)
    return;
  box = gtk_list_box_row_get_child (row);
  check = g_object_get_data (G_OBJECT (box), "gaf-check");
  g_signal_emit (self, signals[SIGNAL_RESTORE], 0, *(guint64 *) g_object_get_data (G_OBJECT (check), "gaf-id"));
}

static void
on_selected (GafRunsView *self)
{
  gtk_widget_set_sensitive (self->restore_button, gtk_list_box_get_selected_row (self->list) != NULL);
}

static void
gaf_runs_view_dispose (GObject *object)
{
  GafRunsView *self = GAF_RUNS_VIEW (object);

  gaf_follower_clear (&self->follower);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_pointer (&self->checked, g_hash_table_unref);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_runs_view_parent_class)->dispose (object);
}

static void
gaf_runs_view_class_init (GafRunsViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_runs_view_dispose;
  /* Put this run's settings back into the panel (the id of the run). */
  signals[SIGNAL_RESTORE] =
    g_signal_new ("restore", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_UINT64);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "runsview");
}

static void
gaf_runs_view_init (GafRunsView *self)
{
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *scroll = gtk_scrolled_window_new ();
  GtkWidget *export = gtk_button_new_with_mnemonic (_("_Export as CSV…"));
  GtkWidget *hint = gtk_label_new (_("Every training run is kept here (the last 12 across restarts). Tick runs to overlay them; settings that differ are in bold."));

  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  self->rows = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  self->checked = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  self->restore_button = gtk_button_new_with_mnemonic (_("_Restore Settings"));
  gtk_widget_set_tooltip_text (self->restore_button, _("Put the selected run's settings back into the parameters (a model change waits for Apply)"));
  gtk_widget_set_sensitive (self->restore_button, FALSE);
  g_signal_connect_swapped (self->restore_button, "clicked", G_CALLBACK (on_restore_clicked), self);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (export), "win.export-csv");
  gtk_widget_set_tooltip_text (export, _("The table of runs as CSV: settings, steps, time and final metrics"));
  gtk_label_set_wrap (GTK_LABEL (hint), TRUE);
  gtk_label_set_xalign (GTK_LABEL (hint), 0);
  gtk_widget_set_hexpand (hint, TRUE);
  gtk_widget_add_css_class (hint, "dim-label");
  gtk_widget_set_margin_start (bar, 16);
  gtk_widget_set_margin_end (bar, 16);
  gtk_widget_set_margin_top (bar, 8);
  gtk_widget_set_margin_bottom (bar, 6);
  gtk_widget_set_valign (self->restore_button, GTK_ALIGN_CENTER);
  gtk_widget_set_valign (export, GTK_ALIGN_CENTER);
  gtk_box_append (GTK_BOX (bar), hint);
  gtk_box_append (GTK_BOX (bar), self->restore_button);
  gtk_box_append (GTK_BOX (bar), export);
  gtk_widget_set_parent (bar, GTK_WIDGET (self));

  self->list = GTK_LIST_BOX (gtk_list_box_new ());
  gtk_list_box_set_selection_mode (self->list, GTK_SELECTION_SINGLE);
  g_signal_connect_swapped (self->list, "selected-rows-changed", G_CALLBACK (on_selected), self);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), GTK_WIDGET (self->list));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroll), 70);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (scroll), 220);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (scroll), TRUE);
  gtk_widget_set_margin_start (scroll, 16);
  gtk_widget_set_margin_end (scroll, 16);
  gtk_widget_add_css_class (GTK_WIDGET (self->list), "boxed-list");
  gtk_widget_set_parent (scroll, GTK_WIDGET (self));

  self->area = gtk_drawing_area_new ();
  gtk_widget_set_vexpand (self->area, TRUE);
  gtk_widget_set_size_request (self->area, -1, 160);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (self->area), draw_area, self, NULL);
  gtk_widget_set_parent (self->area, GTK_WIDGET (self));

  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, NULL);
}

GtkWidget *
gaf_runs_view_new (void)
{
  return g_object_new (GAF_TYPE_RUNS_VIEW, NULL);
}

void
gaf_runs_view_set_runner (GafRunsView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_RUNS_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
}

void
gaf_runs_view_set_history (GafRunsView *self, GafRunHistory *history)
{
  g_return_if_fail (GAF_IS_RUNS_VIEW (self));
  self->history = history;
  self->shown_serial = G_MAXUINT64;
  update_rows (self);
}

void
gaf_runs_view_wake (GafRunsView *self)
{
  g_return_if_fail (GAF_IS_RUNS_VIEW (self));
  self->shown_serial = G_MAXUINT64;
  update_rows (self);
  gaf_follower_wake (&self->follower);
}
