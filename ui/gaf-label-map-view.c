/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-label-map-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-draw.h"
#include "gaf-label-map-experiment.h"
#include "gaf-label-map-view.h"

/* As the simplex view: one pass from t = 0 to T, then a pause at T. */
#define PASS_SECONDS 7.0
#define HOLD_SECONDS 1.5

struct _GafLabelMapView {
  GtkWidget          parent_instance;

  GafLabelMapCanvas *canvas;
  GafSimplexCanvas  *pixel_canvas;
  GtkWidget         *pixel_separator;
  GtkToggleButton   *play_button;
  GtkAdjustment     *time_adjustment;
  GtkLabel          *time_label;
  GtkScale          *time_scale;

  GafFollower        follower;
  gint64             last_frame;
  double             hold;
};

G_DEFINE_FINAL_TYPE (GafLabelMapView, gaf_label_map_view, GTK_TYPE_WIDGET)

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafLabelMapView *self = GAF_LABEL_MAP_VIEW (widget);
  const GafTrajectories *tr = gaf_payload_trajectories (snapshot->payload);

  /* The pixel pane follows a pixel of the maps: with another experiment (the maps canvas then says to
   * choose the label-map experiment) there is none, and that experiment's simplex is not shown here. */
  gboolean maps = snapshot != NULL && snapshot->params.experiment == &gaf_label_map_experiment;

  gaf_label_map_canvas_set_snapshot (self->canvas, snapshot);
  gaf_simplex_canvas_set_snapshot (self->pixel_canvas, snapshot);
  gtk_widget_set_visible (GTK_WIDGET (self->pixel_canvas), maps);
  gtk_widget_set_visible (self->pixel_separator, maps);
  if (tr != NULL && tr->n_times > 0)
    gtk_adjustment_set_upper (self->time_adjustment, tr->times[tr->n_times - 1]);
}

static void
animation_frame (GtkWidget *widget, gint64 frame_time)
{
  GafLabelMapView *self = GAF_LABEL_MAP_VIEW (widget);
  double dt = self->last_frame ? (frame_time - self->last_frame) * 1e-6 : 0.0;
  double upper = gtk_adjustment_get_upper (self->time_adjustment);
  double t = gtk_adjustment_get_value (self->time_adjustment);

  self->last_frame = frame_time;
  dt = CLAMP (dt, 0.0, 0.1);
  if (t >= upper)
    {
      self->hold -= dt;
      if (self->hold <= 0)
        t = 0.0;
    }
  else
    {
      /* t = T u^2 for a phase u at constant speed, read back from t (the simplex view's rule): the maps
       * decide early, so early times get most of the pass. */
      double u = upper > 0 ? sqrt (t / upper) : 1.0;
      u = MIN (1.0, u + dt / PASS_SECONDS);
      t = upper * u * u;
      self->hold = HOLD_SECONDS;
    }
  gtk_adjustment_set_value (self->time_adjustment, t);
}

static void
on_time_changed (GtkAdjustment *adj, GafLabelMapView *self)
{
  g_autofree char *text = g_strdup_printf ("t = %.2f", gtk_adjustment_get_value (adj));
  gtk_label_set_text (self->time_label, text);
}

static void
on_play_toggled (GtkToggleButton *button, GafLabelMapView *self)
{
  gboolean playing = gtk_toggle_button_get_active (button);

  gtk_button_set_icon_name (GTK_BUTTON (button),
                            playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  self->last_frame = 0;
  gaf_follower_set_animating (&self->follower, playing);
}

static void
on_scrub_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GafLabelMapView *self)
{
  gtk_toggle_button_set_active (self->play_button, FALSE);
}

static void
on_selected_row (GafLabelMapView *self)
{
  gaf_simplex_canvas_set_selected_row (self->pixel_canvas, gaf_label_map_canvas_get_selected_row (self->canvas));
}

static void
gaf_label_map_view_dispose (GObject *object)
{
  GafLabelMapView *self = GAF_LABEL_MAP_VIEW (object);

  gaf_follower_clear (&self->follower);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_LABEL_MAP_VIEW);
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_label_map_view_parent_class)->dispose (object);
}

static void
gaf_label_map_view_class_init (GafLabelMapViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_label_map_view_dispose;

  g_type_ensure (GAF_TYPE_LABEL_MAP_CANVAS);
  g_type_ensure (GAF_TYPE_SIMPLEX_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-label-map-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, canvas);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, pixel_canvas);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, pixel_separator);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, play_button);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, time_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, time_label);
  gtk_widget_class_bind_template_child (widget_class, GafLabelMapView, time_scale);
  gtk_widget_class_bind_template_callback (widget_class, on_time_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_play_toggled);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "labelmapview");
}

static void
gaf_label_map_view_init (GafLabelMapView *self)
{
  GtkGesture *press = gtk_gesture_click_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, animation_frame);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (press), GTK_PHASE_CAPTURE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_scrub_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->time_scale), GTK_EVENT_CONTROLLER (press));
  g_signal_connect_swapped (self->canvas, "notify::selected-row", G_CALLBACK (on_selected_row), self);
  on_time_changed (self->time_adjustment, self);
  on_play_toggled (self->play_button, self);
}

GtkWidget *
gaf_label_map_view_new (void)
{
  return g_object_new (GAF_TYPE_LABEL_MAP_VIEW, NULL);
}

void
gaf_label_map_view_set_runner (GafLabelMapView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
}

void
gaf_label_map_view_set_playing (GafLabelMapView *self, gboolean playing)
{
  g_return_if_fail (GAF_IS_LABEL_MAP_VIEW (self));
  gtk_toggle_button_set_active (self->play_button, playing);
}

GafLabelMapCanvas *
gaf_label_map_view_get_canvas (GafLabelMapView *self)
{
  g_return_val_if_fail (GAF_IS_LABEL_MAP_VIEW (self), NULL);
  return self->canvas;
}

GafSimplexCanvas *
gaf_label_map_view_get_pixel_canvas (GafLabelMapView *self)
{
  g_return_val_if_fail (GAF_IS_LABEL_MAP_VIEW (self), NULL);
  return self->pixel_canvas;
}
