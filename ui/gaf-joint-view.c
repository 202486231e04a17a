/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-joint-view"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-export.h"
#include "gaf-joint-experiment.h"
#include "gaf-joint-view.h"
#include "gaf-simplex-geometry.h"

#define PASS_SECONDS 7.0
#define HOLD_SECONDS 1.2
#define TRAIL_TIME   3.0

struct _GafJointView {
  GtkWidget    parent_instance;
  GafFollower  follower;
  GafSnapshot *snapshot;
  double       time;
  double       hold;
  gint64       last_frame;
};

G_DEFINE_FINAL_TYPE (GafJointView, gaf_joint_view, GTK_TYPE_WIDGET)

/* The tables of a joint experiment after its first round, else NULL. */
static const GafJointPayload *
tables (const GafSnapshot *s)
{
  const GafJointPayload *j = s != NULL ? gaf_joint_payload (s->payload) : NULL;
  return j != NULL && j->model != NULL ? j : NULL;
}

void
gaf_heat_color (double t, double rgb[3])
{
  /* Viridis at five stops, linearly between them: perceptually ordered, readable in grey. */
  static const double stops[5][3] = {
    { 0.267, 0.005, 0.329 }, { 0.229, 0.322, 0.546 }, { 0.128, 0.567, 0.551 },
    { 0.369, 0.789, 0.383 }, { 0.993, 0.906, 0.144 },
  };
  double x = CLAMP (t, 0.0, 1.0) * 4.0;
  int i = MIN ((int) x, 3);
  double f = x - i;

  for (int j = 0; j < 3; j++)
    rgb[j] = (1 - f) * stops[i][j] + f * stops[i + 1][j];
}

static void
draw_heatmap (cairo_t *cr, const GafTheme *theme, const double *table, int c, double pmax,
              double x0, double y0, double size, const char *title)
{
  double cell = size / c;

  gaf_set_fg (cr, theme, 0.9);
  gaf_draw_text (cr, theme, title, x0 + size / 2, y0 - 8, 0.5, 1.0, 1.0);
  for (int i = 0; i < c; i++)
    for (int j = 0; j < c; j++)
      {
        double rgb[3], p = table[i * c + j];
        /* Rows are the first variable, top to bottom; a square root keeps small cells visible. */
        gaf_heat_color (pmax > 0 ? sqrt (p / pmax) : 0, rgb);
        cairo_rectangle (cr, x0 + j * cell, y0 + i * cell, cell + 0.5, cell + 0.5);
        gaf_set_rgb (cr, rgb, 1.0);
        cairo_fill (cr);
        if (c <= 4)
          {
            g_autofree char *text = g_strdup_printf ("<b>%.1f %%</b>", 100 * p);
            double lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2];
            cairo_set_source_rgb (cr, lum > 0.5 ? 0.1 : 1.0, lum > 0.5 ? 0.1 : 1.0, lum > 0.5 ? 0.1 : 1.0);
            gaf_draw_text (cr, theme, text, x0 + (j + 0.5) * cell, y0 + (i + 0.5) * cell, 0.5, 0.5, 1.1);
          }
      }
  gaf_set_fg (cr, theme, 0.5);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, size - 1, size - 1);
  cairo_stroke (cr);
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text (cr, theme, _("second variable →"), x0 + size / 2, y0 + size + 6, 0.5, 0.0, 0.85);
  gaf_draw_text_vertical (cr, theme, _("← first variable"), x0 - 8, y0 + size / 2, 1.0, 0.85);
}

/* The colour scale of both heatmaps: probability from 0 to pmax, on the square-root scale they use. */
static void
draw_color_bar (cairo_t *cr, const GafTheme *theme, double pmax, double x0, double y0, double height)
{
  const int steps = 64;
  const double width = 14;
  static const double fractions[] = { 0.0, 0.25, 1.0 };

  for (int i = 0; i < steps; i++)
    {
      double rgb[3];
      gaf_heat_color ((double) i / (steps - 1), rgb);
      cairo_rectangle (cr, x0, y0 + height - (i + 1) * height / steps, width, height / steps + 0.5);
      gaf_set_rgb (cr, rgb, 1.0);
      cairo_fill (cr);
    }
  gaf_set_fg (cr, theme, 0.5);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, width - 1, height - 1);
  cairo_stroke (cr);
  /* Ticks at p = 0, pmax / 4 and pmax: at 0, 1/2 and 1 of the bar (colour follows sqrt (p / pmax)). */
  gaf_set_fg (cr, theme, 0.8);
  for (guint i = 0; i < G_N_ELEMENTS (fractions); i++)
    {
      double yy = y0 + height - sqrt (fractions[i]) * height;
      g_autofree char *text = g_strdup_printf ("%.1f %%", 100 * fractions[i] * pmax);
      cairo_move_to (cr, x0 + width, yy);
      cairo_line_to (cr, x0 + width + 4, yy);
      cairo_stroke (cr);
      gaf_draw_text (cr, theme, text, x0 + width + 6, yy, 0, 0.5, 0.8);
    }
  gaf_draw_text_vertical (cr, theme, _("probability of a cell"), x0 - 4, y0 + height / 2, 1.0, 0.8);
}

/* What the pairs' colours and discs mean, under the unit square. */
static void
draw_pairs_legend (cairo_t *cr, const GafTheme *theme, double x0, double y0)
{
  double rgb[3];

  gaf_class_color (0, rgb);
  cairo_arc (cr, x0 + 5, y0 + 8, 4, 0, 2 * G_PI);
  gaf_set_rgb (cr, rgb, 1.0);
  cairo_fill (cr);
  gaf_set_fg (cr, theme, 0.8);
  gaf_draw_text (cr, theme, _("the pair ends equal (colour of its class)"), x0 + 14, y0 + 8, 0, 0.5, 0.8);
  cairo_arc (cr, x0 + 5, y0 + 26, 4, 0, 2 * G_PI);
  cairo_set_source_rgb (cr, 0.55, 0.55, 0.55);
  cairo_fill (cr);
  gaf_set_fg (cr, theme, 0.8);
  gaf_draw_text (cr, theme, _("the pair ends unequal"), x0 + 14, y0 + 26, 0, 0.5, 0.8);
  gaf_heat_color (0.9, rgb);
  cairo_arc (cr, x0 + 5, y0 + 44, 6, 0, 2 * G_PI);
  gaf_set_rgb (cr, rgb, 0.35);
  cairo_fill (cr);
  gaf_set_fg (cr, theme, 0.8);
  gaf_draw_text (cr, theme, _("halo at a corner: its target probability (area)"), x0 + 14, y0 + 44, 0, 0.5, 0.8);
}

/* Two binary variables: each recorded sequence as the point (W_2(class 2), W_1(class 2)) of the unit
 * square, moving with its trail; the target's corner masses as discs. */
static void
draw_pairs (GafJointView *self, cairo_t *cr, const GafTheme *theme, double x0, double y0, double size)
{
  GafSnapshot *s = self->snapshot;
  const GafTrajectories *tr = gaf_payload_trajectories (s->payload);
  double t;
  float w1[2], w2[2];

  gaf_set_fg (cr, theme, 0.9);
  gaf_draw_text (cr, theme, _("pairs (W₁, W₂) of the samples"), x0 + size / 2, y0 - 8, 0.5, 1.0, 1.0);
  gaf_set_fg (cr, theme, 0.035);
  cairo_rectangle (cr, x0, y0, size, size);
  cairo_fill (cr);
  gaf_set_fg (cr, theme, 0.5);
  cairo_set_line_width (cr, 1.0);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, size - 1, size - 1);
  cairo_stroke (cr);
  /* The diagonal where both variables agree. */
  gaf_set_fg (cr, theme, 0.15);
  cairo_move_to (cr, x0, y0 + size);
  cairo_line_to (cr, x0 + size, y0);
  cairo_stroke (cr);
  if (tables (s) != NULL)
    for (int a = 0; a < 2; a++)
      for (int b = 0; b < 2; b++)
        {
          double p = tables (s)->target[a * 2 + b], rgb[3];
          double cx = x0 + b * size, cy = y0 + size - a * size;
          gaf_heat_color (0.9, rgb);
          cairo_arc (cr, cx, cy, 0.22 * size * sqrt (p), 0, 2 * G_PI);
          gaf_set_rgb (cr, rgb, 0.35);
          cairo_fill (cr);
        }
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text (cr, theme, _("W₂ of class 2 →"), x0 + size / 2, y0 + size + 6, 0.5, 0.0, 0.85);
  gaf_draw_text_vertical (cr, theme, _("W₁ of class 2 →"), x0 - 8, y0 + size / 2, 1.0, 0.85);
  if (tr == NULL || tr->n != 2 || tr->c != 2)
    return;

  t = CLAMP (self->time, 0.0, tr->times[tr->n_times - 1]);
  cairo_set_line_width (cr, 1.6);
  for (guint r = 0; r + 1 < tr->n_rows; r += 2)
    {
      double rgb[3];
      gboolean agree = tr->labels[r] == tr->labels[r + 1];
      guint k = gaf_trajectory_index (tr, t), k0 = gaf_trajectory_index (tr, MAX (0.0, t - TRAIL_TIME));

      /* Pairs that end equal in the class colour, disagreeing pairs in grey. */
      if (agree)
        gaf_class_color (tr->labels[r], rgb);
      else
        rgb[0] = rgb[1] = rgb[2] = 0.55;
      for (guint j = k0; j <= k + 1 && j < tr->n_times; j++)
        {
          double tj = j > k ? t : tr->times[j];
          double px, py;
          gaf_trajectory_at (tr, r, tj, w1);
          gaf_trajectory_at (tr, r + 1, tj, w2);
          px = x0 + w2[1] * size;
          py = y0 + size - w1[1] * size;
          if (j == k0)
            cairo_move_to (cr, px, py);
          else
            cairo_line_to (cr, px, py);
        }
      gaf_set_rgb (cr, rgb, 0.6);
      cairo_stroke (cr);
      gaf_trajectory_at (tr, r, t, w1);
      gaf_trajectory_at (tr, r + 1, t, w2);
      cairo_arc (cr, x0 + w2[1] * size, y0 + size - w1[1] * size, 3.6, 0, 2 * G_PI);
      gaf_set_rgb (cr, rgb, 1.0);
      cairo_fill_preserve (cr);
      gaf_set_fg (cr, theme, 0.55);
      cairo_set_line_width (cr, 0.8);
      cairo_stroke (cr);
      cairo_set_line_width (cr, 1.6);
    }
}

void
gaf_joint_view_draw (GafJointView *self, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  GafSnapshot *s = self->snapshot;
  g_autofree char *stats = NULL, *detail = NULL;
  int c, k;
  double size, x, y = 150, pmax = 0;

  g_return_if_fail (GAF_IS_JOINT_VIEW (self));

  gaf_set_fg (cr, theme, 1.0);
  gaf_draw_text (cr, theme, _("<b>Joint distribution of the two variables</b>"), 28, 18, 0, 0, 1.3);
  gaf_set_fg (cr, theme, 0.7);
  gaf_draw_text_wrapped (cr, theme, _("The target beside the histogram of the last round of samples, on one colour scale "
                                      "(square root of the probability)"), 28, 44, 0, 0, 0.85, width - 56);
  if (s == NULL || gaf_joint_payload (s->payload) == NULL)
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_placeholder (cr, theme, _("Choose an experiment of two variables to see its joint distribution."), width, height);
      return;
    }
  if (tables (s) == NULL)
    {
      gaf_set_fg (cr, theme, 0.65);
      gaf_draw_text (cr, theme, _("Waiting for the first samples…"), width / 2.0, height / 2.0, 0.5, 0.5, 1.0);
      return;
    }
  c = tables (s)->c;
  stats = g_strdup_printf (_("<b>KL(samples ‖ target) = %.4f</b>   uniform sampler %.4f · finite-sample floor %.4f"),
                           tables (s)->kl, s->payload->round->kl_uniform, s->payload->round->kl_floor);
  detail = g_strdup_printf (_("marginal KL %.4f · mutual information: samples %.3f, target %.3f nats · "
                              "%u samples at step %u"), tables (s)->kl_marginal, tables (s)->mi_model,
                            tables (s)->mi_target, (guint) tables (s)->samples, (guint) tables (s)->step);
  /* both lines wrap inside the view (a projector's width cuts them otherwise); the maps start below them */
  {
    double h;
    gaf_set_fg (cr, theme, 1.0);
    h = gaf_draw_text_wrapped (cr, theme, stats, 28, 76, 0, 0, 1.05, width - 56);
    gaf_set_fg (cr, theme, 0.7);
    h += gaf_draw_text_wrapped (cr, theme, detail, 28, 76 + h + 6, 0, 0, 0.9, width - 56);
    y = MAX (y, 76 + h + 6 + 26);
  }

  for (int i = 0; i < c * c; i++)
    pmax = MAX (pmax, MAX (tables (s)->target[i], tables (s)->model[i]));
  k = c == 2 ? 3 : 2;
  /* Room for the colour bar on the right and, with the pairs, their legend below. */
  size = MIN ((width - 2 * 28.0 - 64.0 - 80.0 - (k == 3 ? 48.0 : 0.0)) / k, height - y - (k == 3 ? 110 : 48));
  if (size < 60)
    return;
  x = (width - (k * size + 64.0 + 80.0 + (k == 3 ? 48.0 : 0.0))) / 2;
  draw_heatmap (cr, theme, tables (s)->target, c, pmax, x, y, size, _("target"));
  {
    g_autofree char *title = g_strdup_printf (_("%u samples"), (guint) tables (s)->samples);
    draw_heatmap (cr, theme, tables (s)->model, c, pmax, x + size + 64, y, size, title);
  }
  /* The colour bar right of the two heatmaps it belongs to; the pairs after it. */
  draw_color_bar (cr, theme, pmax, x + 2 * size + 64.0 + 26, y, size);
  if (k == 3)
    {
      draw_pairs (self, cr, theme, x + 2 * size + 64.0 + 80 + 48, y, size);
      draw_pairs_legend (cr, theme, x + 2 * size + 64.0 + 80 + 48 - 40, y + size + 30);
    }
}

char *
gaf_joint_view_to_csv (GafJointView *self)
{
  GString *out = g_string_new ("first,second,target,samples\n");
  GafSnapshot *s;

  g_return_val_if_fail (GAF_IS_JOINT_VIEW (self), NULL);
  s = self->snapshot;
  if (s != NULL && tables (s) != NULL)
    for (int i = 0; i < tables (s)->c; i++)
      for (int j = 0; j < tables (s)->c; j++)
        {
          char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append_printf (out, "%d,%d,%s,%s\n", i + 1, j + 1,
                                  g_ascii_formatd (a, sizeof a, "%.6g", tables (s)->target[i * tables (s)->c + j]),
                                  g_ascii_formatd (b, sizeof b, "%.6g", tables (s)->model[i * tables (s)->c + j]));
        }
  return g_string_free (out, FALSE);
}

static void
snapshot_changed (GtkWidget *widget, GafSnapshot *snapshot)
{
  GafJointView *self = GAF_JOINT_VIEW (widget);

  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  self->snapshot = gaf_snapshot_ref (snapshot);
  /* Pairs move only for two binary variables. */
  gaf_follower_set_animating (&self->follower, snapshot->payload->c == 2 && gaf_joint_payload (snapshot->payload) != NULL);
  gtk_widget_queue_draw (widget);
}

static void
animation_frame (GtkWidget *widget, gint64 frame_time)
{
  GafJointView *self = GAF_JOINT_VIEW (widget);
  const GafTrajectories *tr = self->snapshot ? gaf_payload_trajectories (self->snapshot->payload) : NULL;
  double dt = self->last_frame ? CLAMP ((frame_time - self->last_frame) * 1e-6, 0.0, 0.1) : 0.0;
  double upper = tr && tr->n_times ? tr->times[tr->n_times - 1] : 15.0, u;

  self->last_frame = frame_time;
  if (self->time >= upper)
    {
      self->hold -= dt;
      if (self->hold <= 0)
        self->time = 0.0;
    }
  else
    {
      /* As in the simplex view: t = T u^2 at a constant phase speed, most of a pass on early times. */
      u = MIN (1.0, sqrt (self->time / upper) + dt / PASS_SECONDS);
      self->time = upper * u * u;
      self->hold = HOLD_SECONDS;
    }
  gtk_widget_queue_draw (widget);
}

static void
draw_widget (gpointer widget, cairo_t *cr, int width, int height, const GafTheme *theme)
{
  gaf_joint_view_draw (widget, cr, width, height, theme);
}

static void
gaf_joint_view_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  gaf_snapshot_drawing (widget, snapshot, draw_widget);
}

static void
gaf_joint_view_dispose (GObject *object)
{
  GafJointView *self = GAF_JOINT_VIEW (object);

  gaf_follower_clear (&self->follower);
  g_clear_pointer (&self->snapshot, gaf_snapshot_unref);
  G_OBJECT_CLASS (gaf_joint_view_parent_class)->dispose (object);
}

static void
gaf_joint_view_class_init (GafJointViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_joint_view_dispose;
  widget_class->snapshot = gaf_joint_view_snapshot;
  gtk_widget_class_set_css_name (widget_class, "jointview");
}

static void
gaf_joint_view_init (GafJointView *self)
{
  gaf_follower_init (&self->follower, GTK_WIDGET (self), snapshot_changed, animation_frame);
  gtk_widget_set_size_request (GTK_WIDGET (self), 480, 320);
}

GtkWidget *
gaf_joint_view_new (void)
{
  return g_object_new (GAF_TYPE_JOINT_VIEW, NULL);
}

void
gaf_joint_view_set_runner (GafJointView *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_JOINT_VIEW (self));
  gaf_follower_set_runner (&self->follower, runner);
  gaf_follower_poll (&self->follower);
}

