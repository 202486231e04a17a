/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-scaling-view"
#include "config.h"

#include <glib/gi18n.h>
#include <stdlib.h>

#include "gaf-baselines.h"
#include "gaf-draw.h"
#include "gaf-scaling-experiment.h"
#include "gaf-scaling-view.h"
#include "gaf-sweep-job.h"
#include "gaf-wrap-box.h"
#include "gaf-target.h"

struct _GafScalingView {
  GtkWidget         parent_instance;

  GtkEntry         *classes_entry;
  GtkSpinButton    *steps_spin;
  GtkSpinButton    *samples_spin;
  GtkButton        *run_button;
  GtkProgressBar   *progress;
  GafScalingCanvas *canvas;
  GtkToggleButton  *methods[GAF_N_METHODS];
  GSettings        *settings;

  GafFollower       follower;
  gboolean          sweeping;
};

G_DEFINE_FINAL_TYPE (GafScalingView, gaf_scaling_view, GTK_TYPE_WIDGET)

gboolean
gaf_parse_class_list (const char *text, GArray *out)
{
  g_auto(GStrv) parts = NULL;

  g_array_set_size (out, 0);
  if (text == NULL)
    return FALSE;
  parts = g_strsplit_set (text, ", ", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      char *end = NULL;
      long v;
      if (parts[i][0] == '\0')
        continue;
      v = strtol (parts[i], &end, 10);
      if (end == parts[i] || *end != '\0' || v < 2 || v > 4096)
        return FALSE;
      g_array_append_val (out, (int) { v });
    }
  return out->len > 0;
}

/* The seed the sweep uses (the runner passes the app's seed). */
static guint64
sweep_seed (GafScalingView *self)
{
  GafRunner *runner = self->follower.runner;
  return runner ? (guint64) gaf_runner_get_params (runner)->value[GAF_PARAM_SEED] : 1;
}

/* The selected methods (GafMethod), in GafMethod order. */
static GArray *
selected_methods (GafScalingView *self)
{
  GArray *methods = g_array_new (FALSE, FALSE, sizeof (int));

  for (int m = 0; m < GAF_N_METHODS; m++)
    if (self->methods[m] != NULL && gtk_toggle_button_get_active (self->methods[m]))
      g_array_append_val (methods, m);
  return methods;
}

static void
update_plan (GafScalingView *self)
{
  g_autoptr(GArray) classes = g_array_new (FALSE, FALSE, sizeof (int));
  gboolean ok = gaf_parse_class_list (gtk_editable_get_text (GTK_EDITABLE (self->classes_entry)), classes);
  g_autofree double *uniform = NULL;

  if (ok)
    gtk_widget_remove_css_class (GTK_WIDGET (self->classes_entry), "error");
  else
    gtk_widget_add_css_class (GTK_WIDGET (self->classes_entry), "error");
  {
    g_autoptr(GArray) methods = selected_methods (self);
    ok = ok && methods->len > 0;
  }
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), ok || self->sweeping);
  if (!ok)
    return;
  /* The uniform-sampler line of the very targets the sweep will draw (its recipe, gaf_scaling_target_new). */
  uniform = g_new (double, classes->len);
  for (guint i = 0; i < classes->len; i++)
    {
      int c = g_array_index (classes, int, i);
      g_autoptr(GafClassTarget) t = gaf_scaling_target_new (GAF_SCALING_POSITIONS, c, sweep_seed (self));
      uniform[i] = gaf_class_target_kl_uniform (t);
    }
  gaf_scaling_canvas_set_plan (self->canvas, (int *) classes->data, uniform, classes->len,
                               (guint64) gtk_spin_button_get_value (self->samples_spin));
}

static void
on_plan_changed (GafScalingView *self)
{
  update_plan (self);
}

static void
on_methods_toggled (GafScalingView *self)
{
  g_autoptr(GArray) methods = selected_methods (self);
  g_autoptr(GString) list = g_string_new (NULL);

  for (guint i = 0; i < methods->len; i++)
    g_string_append_printf (list, "%s%s", i ? "," : "",
                            gaf_method_to_string ((GafMethod) g_array_index (methods, int, i)));
  if (self->settings != NULL && methods->len > 0)
    g_settings_set_string (self->settings, "sweep-methods", list->str);
  update_plan (self);
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *s)
{
  GafScalingView *self = GAF_SCALING_VIEW (widget);
  static const GafSweepPayload none = { .n_rows = 0 };
  const GafSweepPayload *w = gaf_sweep_payload (s->job) ? gaf_sweep_payload (s->job) : &none;

  self->sweeping = w->running || g_strcmp0 (s->work, GAF_SWEEP_JOB) == 0;
  gaf_scaling_canvas_set_rows (self->canvas, w->rows, w->n_rows);
  gtk_button_set_label (self->run_button, self->sweeping ? _("Cancel") : _("Run Sweep"));
  if (self->sweeping)
    {
      /* Translators: the class count and method being worked on, and the progress of the whole sweep */
      g_autofree char *text = g_strdup_printf (_("c = %d, %s: %.0f %% of the sweep"), w->classes,
                                               gaf_scaling_method_name (gaf_method_to_string (w->method)),
                                               100 * w->fraction);
      gtk_widget_remove_css_class (GTK_WIDGET (self->run_button), "suggested-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->run_button), "destructive-action");
      gtk_progress_bar_set_fraction (self->progress, w->fraction);
      gtk_progress_bar_set_text (self->progress, text);
    }
  else
    {
      g_autofree char *text = w->n_rows
        ? g_strdup_printf (ngettext ("%u point", "%u points", w->n_rows), w->n_rows)
        : g_strdup (_("no sweep yet"));
      gtk_widget_remove_css_class (GTK_WIDGET (self->run_button), "destructive-action");
      gtk_widget_add_css_class (GTK_WIDGET (self->run_button), "suggested-action");
      gtk_progress_bar_set_fraction (self->progress, w->n_rows ? 1.0 : 0.0);
      gtk_progress_bar_set_text (self->progress, text);
    }
  gtk_widget_set_sensitive (GTK_WIDGET (self->classes_entry), !self->sweeping);
  gtk_widget_set_sensitive (GTK_WIDGET (self->steps_spin), !self->sweeping);
  gtk_widget_set_sensitive (GTK_WIDGET (self->samples_spin), !self->sweeping);
  update_plan (self);
}

gboolean
gaf_scaling_view_run (GafScalingView *self)
{
  g_autoptr(GArray) classes = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GArray) methods = NULL;

  g_return_val_if_fail (GAF_IS_SCALING_VIEW (self), FALSE);
  methods = selected_methods (self);
  if (self->follower.runner == NULL || methods->len == 0 ||
      !gaf_parse_class_list (gtk_editable_get_text (GTK_EDITABLE (self->classes_entry)), classes))
    return FALSE;
  gaf_runner_run_job (self->follower.runner,
                      gaf_sweep_job_new ((int *) classes->data, classes->len, (int *) methods->data, methods->len,
                                         (guint64) gtk_spin_button_get_value (self->steps_spin),
                                         (guint64) gtk_spin_button_get_value (self->samples_spin), sweep_seed (self)));
  self->sweeping = TRUE;
  gaf_follower_wake (&self->follower);
  return TRUE;
}

static void
on_run_clicked (GtkButton *button, GafScalingView *self)
{
  if (self->sweeping && self->follower.runner != NULL)
    {
      gaf_runner_cancel_job (self->follower.runner);
      gaf_follower_wake (&self->follower);
    }
  else
    gaf_scaling_view_run (self);
}

static void
gaf_scaling_view_dispose (GObject *object)
{
  GafScalingView *self = GAF_SCALING_VIEW (object);

  gaf_follower_clear (&self->follower);
  g_clear_object (&self->settings);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_SCALING_VIEW);
  /* Children of the template that are not bound to a field. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_scaling_view_parent_class)->dispose (object);
}

static void
gaf_scaling_view_class_init (GafScalingViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_scaling_view_dispose;
  g_type_ensure (GAF_TYPE_SCALING_CANVAS);
  g_type_ensure (GAF_TYPE_WRAP_BOX);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-scaling-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, classes_entry);
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, steps_spin);
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, samples_spin);
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, run_button);
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, progress);
  gtk_widget_class_bind_template_child (widget_class, GafScalingView, canvas);
  gtk_widget_class_bind_template_callback (widget_class, on_run_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_plan_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_methods_toggled);
  gtk_widget_class_bind_template_child_full (widget_class, "method_gaf", FALSE,
                                             G_STRUCT_OFFSET (GafScalingView, methods[GAF_METHOD_GAF]));
  gtk_widget_class_bind_template_child_full (widget_class, "method_dirichlet", FALSE,
                                             G_STRUCT_OFFSET (GafScalingView, methods[GAF_METHOD_DIRICHLET]));
  gtk_widget_class_bind_template_child_full (widget_class, "method_linear", FALSE,
                                             G_STRUCT_OFFSET (GafScalingView, methods[GAF_METHOD_LINEAR]));
  gtk_widget_class_bind_template_child_full (widget_class, "method_sphere", FALSE,
                                             G_STRUCT_OFFSET (GafScalingView, methods[GAF_METHOD_SPHERE]));
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "scalingview");
}

static void
gaf_scaling_view_init (GafScalingView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, NULL);
  update_plan (self);
}

GtkWidget *
gaf_scaling_view_new (void)
{
  return g_object_new (GAF_TYPE_SCALING_VIEW, NULL);
}

void
gaf_scaling_view_set_runner (GafScalingView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_SCALING_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
  gaf_follower_poll (&self->follower);
  update_plan (self);
}

void
gaf_scaling_view_set_settings (GafScalingView *self, GSettings *settings)
{
  g_autofree char *list = NULL;
  g_autoptr(GArray) methods = g_array_new (FALSE, FALSE, sizeof (GafMethod));

  g_return_if_fail (GAF_IS_SCALING_VIEW (self));
  g_set_object (&self->settings, settings);
  list = g_settings_get_string (settings, "sweep-methods");
  if (gaf_method_list_parse (list, methods, NULL) && methods->len > 0)
    {
      GSettings *keep = g_steal_pointer (&self->settings);   /* no write-back while loading */
      for (int m = 0; m < GAF_N_METHODS; m++)
        {
          gboolean on = FALSE;
          for (guint i = 0; i < methods->len; i++)
            on |= g_array_index (methods, GafMethod, i) == (GafMethod) m;
          if (self->methods[m] != NULL)
            gtk_toggle_button_set_active (self->methods[m], on);
        }
      self->settings = keep;
    }
  g_settings_bind (settings, "sweep-classes", self->classes_entry, "text", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "sweep-steps", self->steps_spin, "value", G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (settings, "sweep-samples", self->samples_spin, "value", G_SETTINGS_BIND_DEFAULT);
  update_plan (self);
}

GafScalingCanvas *
gaf_scaling_view_get_canvas (GafScalingView *self)
{
  g_return_val_if_fail (GAF_IS_SCALING_VIEW (self), NULL);
  return self->canvas;
}
