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
  GtkAdjustment    *phase_adjustment;
  GtkDropDown      *speed_dropdown;
  GtkWidget        *field_button;
  GtkWidget        *geodesics_button;
  GtkWidget        *density_button;

  double            marks_upper;   /* T the scrubber's ticks were made for */
  gboolean          syncing;
  GafSnapshot      *snapshot;      /* the newest one (frame steps read its recorded times) */

  GafFollower       follower;
  gint64            last_frame;
  double            hold;          /* seconds left to hold at T */
};

G_DEFINE_FINAL_TYPE (GafSimplexView, gaf_simplex_view, GTK_TYPE_WIDGET)

/* The playback speeds of the drop-down. */
static const double speeds[] = { 0.25, 0.5, 1.0, 2.0, 4.0 };

double
gaf_simplex_view_time_to_phase (double t, double upper)
{
  return upper > 0 ? sqrt (CLAMP (t / upper, 0.0, 1.0)) : 0.0;
}

/* The scrubber runs in the playback phase u (t = T u^2), so equal drags cover equal playing time; its
 * ticks mark t = 1, 2, 5, 10, 15, ... and show how the early times are stretched. */
static void
update_marks (GafSimplexView *self, double upper)
{
  static const double ticks[] = { 0, 1, 2, 5, 10, 15, 20, 30, 40 };

  if (upper == self->marks_upper)
    return;
  self->marks_upper = upper;
  gtk_scale_clear_marks (self->time_scale);
  for (guint i = 0; i < G_N_ELEMENTS (ticks); i++)
    if (ticks[i] <= upper + 1e-9)
      {
        g_autofree char *text = g_strdup_printf ("%g", ticks[i]);
        gtk_scale_add_mark (self->time_scale, gaf_simplex_view_time_to_phase (ticks[i], upper), GTK_POS_BOTTOM, text);
      }
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafSimplexView *self = GAF_SIMPLEX_VIEW (widget);
  const GafTrajectories *tr = gaf_payload_trajectories (snapshot->payload);

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = gaf_snapshot_ref (snapshot);
  gaf_simplex_canvas_set_snapshot (self->canvas, snapshot);
  if (tr != NULL && tr->n_times > 0)
    {
      gtk_adjustment_set_upper (self->time_adjustment, tr->times[tr->n_times - 1]);
      update_marks (self, tr->times[tr->n_times - 1]);
    }
  /* The field and the geodesics are drawn for c = 3 only: their toggles mean nothing otherwise. */
  gtk_widget_set_sensitive (self->field_button, snapshot->payload->c == 3);
  gtk_widget_set_sensitive (self->geodesics_button, snapshot->payload->c == 3);
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
      u = MIN (1.0, u + dt * gaf_simplex_view_get_speed (self) / PASS_SECONDS);
      t = upper * u * u;
      self->hold = HOLD_SECONDS;
    }
  gtk_adjustment_set_value (self->time_adjustment, t);
}

static void
on_time_changed (GtkAdjustment *adj, GafSimplexView *self)
{
  double t = gtk_adjustment_get_value (adj);
  g_autofree char *text = g_strdup_printf ("t = %.2f", t);

  gtk_label_set_text (self->time_label, text);
  if (self->syncing)
    return;
  self->syncing = TRUE;
  gtk_adjustment_set_value (self->phase_adjustment, gaf_simplex_view_time_to_phase (t, gtk_adjustment_get_upper (adj)));
  self->syncing = FALSE;
}

static void
on_phase_changed (GtkAdjustment *phase, GafSimplexView *self)
{
  double u = gtk_adjustment_get_value (phase);

  if (self->syncing)
    return;
  self->syncing = TRUE;
  gtk_adjustment_set_value (self->time_adjustment, gtk_adjustment_get_upper (self->time_adjustment) * u * u);
  self->syncing = FALSE;
}

/* The recorded time next to t in a direction (the frames of the trajectories). */
void
gaf_simplex_view_step (GafSimplexView *self, int direction)
{
  const GafTrajectories *tr;
  double t, next;

  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  gtk_toggle_button_set_active (self->play_button, FALSE);
  tr = self->snapshot ? gaf_payload_trajectories (self->snapshot->payload) : NULL;
  t = gtk_adjustment_get_value (self->time_adjustment);
  if (tr == NULL || tr->n_times == 0)
    {
      next = t + direction * gtk_adjustment_get_step_increment (self->time_adjustment);
      gtk_adjustment_set_value (self->time_adjustment, next);
      return;
    }
  next = direction > 0 ? tr->times[tr->n_times - 1] : tr->times[0];
  for (guint i = 0; i < tr->n_times; i++)
    {
      guint k = direction > 0 ? i : tr->n_times - 1 - i;
      if ((direction > 0 && tr->times[k] > t + 1e-9) || (direction < 0 && tr->times[k] < t - 1e-9))
        {
          next = tr->times[k];
          break;
        }
    }
  gtk_adjustment_set_value (self->time_adjustment, next);
}

static void
on_back_clicked (GafSimplexView *self)
{
  gaf_simplex_view_step (self, -1);
}

static void
on_forward_clicked (GafSimplexView *self)
{
  gaf_simplex_view_step (self, +1);
}

double
gaf_simplex_view_get_speed (GafSimplexView *self)
{
  guint i;

  g_return_val_if_fail (GAF_IS_SIMPLEX_VIEW (self), 1.0);
  i = gtk_drop_down_get_selected (self->speed_dropdown);
  return i < G_N_ELEMENTS (speeds) ? speeds[i] : 1.0;
}

/* One speed slower (direction < 0) or faster. */
void
gaf_simplex_view_change_speed (GafSimplexView *self, int direction)
{
  int i;

  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  i = (int) gtk_drop_down_get_selected (self->speed_dropdown) + (direction > 0 ? 1 : -1);
  gtk_drop_down_set_selected (self->speed_dropdown, CLAMP (i, 0, (int) G_N_ELEMENTS (speeds) - 1));
}

void
gaf_simplex_view_set_speed (GafSimplexView *self, double speed)
{
  guint best = 0;

  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  for (guint i = 0; i < G_N_ELEMENTS (speeds); i++)
    if (fabs (log (speeds[i] / speed)) < fabs (log (speeds[best] / speed)))
      best = i;
  gtk_drop_down_set_selected (self->speed_dropdown, best);
}

void
gaf_simplex_view_set_overlays (GafSimplexView *self, int field, int density)
{
  g_return_if_fail (GAF_IS_SIMPLEX_VIEW (self));
  if (field >= 0)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->field_button), field);
  if (density >= 0)
    gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (self->density_button), density);
}

gboolean
gaf_simplex_view_get_playing (GafSimplexView *self)
{
  g_return_val_if_fail (GAF_IS_SIMPLEX_VIEW (self), FALSE);
  return gtk_toggle_button_get_active (self->play_button);
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
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
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
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, phase_adjustment);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, speed_dropdown);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, field_button);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, geodesics_button);
  gtk_widget_class_bind_template_child (widget_class, GafSimplexView, density_button);
  gtk_widget_class_bind_template_callback (widget_class, on_time_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_phase_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_back_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_forward_clicked);
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
  gtk_scale_set_draw_value (self->time_scale, FALSE);
  gaf_simplex_canvas_set_caption_inset (self->canvas, 130);   /* the overlay toggles */
  self->marks_upper = -1;
  update_marks (self, gtk_adjustment_get_upper (self->time_adjustment));
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
