/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-simplex-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-draw.h"
#include "gaf-simplex-view.h"

/* One pass of the animation from t = 0 to T, and the pause at T before the next. */
#define PASS_SECONDS 7.0
#define HOLD_SECONDS 1.2

struct _GafSimplexView {
  GtkWidget         parent_instance;

  GafSimplexCanvas *canvas;
  GtkToggleButton  *play_button;
  GtkAdjustment    *time_adjustment;
  GtkLabel         *time_label;
  GtkScale         *time_scale;

  GafFollower       follower;
  gint64            last_frame;
  double            hold;          /* seconds left to hold at T */
};

G_DEFINE_FINAL_TYPE (GafSimplexView, gaf_simplex_view, GTK_TYPE_WIDGET)

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafSimplexView *self = GAF_SIMPLEX_VIEW (widget);
  const GafTrajectories *tr = snapshot->trajectories;

  gaf_simplex_canvas_set_snapshot (self->canvas, snapshot);
  if (tr != NULL && tr->n_times > 0)
    gtk_adjustment_set_upper (self->time_adjustment, tr->times[tr->n_times - 1]);
}

static void
animation_frame (GtkWidget *widget, gint64 frame_time)
{
  GafSimplexView *self = GAF_SIMPLEX_VIEW (widget);
  double dt = self->last_frame ? (frame_time - self->last_frame) * 1e-6 : 0.0;
  double upper = gtk_adjustment_get_upper (self->time_adjustment);
  double t = gtk_adjustment_get_value (self->time_adjustment);
  double u;

  self->last_frame = frame_time;
  dt = CLAMP (dt, 0.0, 0.1);   /* after a stall, do not jump */
  if (t >= upper)
    {
      self->hold -= dt;
      if (self->hold <= 0)
        t = 0.0;
    }
  else
    {
      /* Played as t = T u^2 for a phase u running at constant speed: the rows decide early and then only
       * creep towards their vertex, so early times get most of the pass. The phase is read back from t,
       * so scrubbing by hand and playing on continue smoothly. */
      u = upper > 0 ? sqrt (t / upper) : 1.0;
      u = MIN (1.0, u + dt / PASS_SECONDS);
      t = upper * u * u;
      self->hold = HOLD_SECONDS;
    }
  gtk_adjustment_set_value (self->time_adjustment, t);
}

static void
on_time_changed (GtkAdjustment *adj, GafSimplexView *self)
{
  g_autofree char *text = g_strdup_printf ("t = %.2f", gtk_adjustment_get_value (adj));
  gtk_label_set_text (self->time_label, text);
}

static void
on_play_toggled (GtkToggleButton *button, GafSimplexView *self)
{
  gboolean playing = gtk_toggle_button_get_active (button);

  gtk_button_set_icon_name (GTK_BUTTON (button),
                            playing ? "media-playback-pause-symbolic" : "media-playback-start-symbolic");
  self->last_frame = 0;
  gaf_follower_set_animating (&self->follower, playing);
}

static void
on_scrub_pressed (GtkGestureClick *gesture, int n_press, double x, double y, GafSimplexView *self)
{
  /* Scrubbing by hand stops the animation. */
  gtk_toggle_button_set_active (self->play_button, FALSE);
}

static void
gaf_simplex_view_dispose (GObject *object)
{
  GafSimplexView *self = GAF_SIMPLEX_VIEW (object);

  gaf_follower_clear (&self->follower);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_SIMPLEX_VIEW);
  /* Children of the template that are not bound to a field. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_simplex_view_parent_class)->dispose (object);
}

static void
gaf_simplex_view_class_init (GafSimplexViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_simplex_view_dispose;

  g_type_ensure (GAF_TYPE_SIMPLEX_CANVAS);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-simplex-view.ui");
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, canvas);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, play_button);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, time_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, time_label);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, time_scale);
  gtk_widget_class_bind_template_callback (widget_class, on_time_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_play_toggled);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "simplexview");
}

static void
gaf_simplex_view_init (GafSimplexView *self)
{
  GtkGesture *press = gtk_gesture_click_new ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, animation_frame);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (press), GTK_PHASE_CAPTURE);
  g_signal_connect (press, "pressed", G_CALLBACK (on_scrub_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self->time_scale), GTK_EVENT_CONTROLLER (press));
  on_time_changed (self->time_adjustment, self);
  on_play_toggled (self->play_button, self);
}

GtkWidget *
gaf_simplex_view_new (void)
{
  return g_object_new (GAF_TYPE_SIMPLEX_VIEW, NULL);
}

void
gaf_simplex_view_set_runner (GafSimplexView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
}

void
gaf_simplex_view_wake (GafSimplexView *self)
{
  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  gaf_follower_wake (&self->follower);
}

void
gaf_simplex_view_set_playing (GafSimplexView *self, gboolean playing)
{
  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  gtk_toggle_button_set_active (self->play_button, playing);
}

GafSimplexCanvas *
gaf_simplex_view_get_canvas (GafSimplexView *self)
{
  g_return_val_if_fail (GAF_IS_SIMPLEX_VIEW (self), NULL);
  return self->canvas;
}
