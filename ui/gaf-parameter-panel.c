/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-parameter-panel"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>

#include "gaf-parameter-panel.h"
#include "gaf-sampler.h"
#include "gaf-settings.h"

enum {
  RESPONSE_APPLY = 1,
  RESPONSE_REVERT = 2,
};

struct _GafParameterPanel {
  GtkWidget   parent_instance;

  GtkGrid    *grid;
  GtkInfoBar *model_bar;

  GtkWidget  *controls[GAF_N_PARAMS];
  GtkWidget  *labels[GAF_N_PARAMS];
  GtkWidget  *values[GAF_N_PARAMS];   /* a slider's value, written by the panel (NULL for the others) */
  GtkWidget  *data_label;
  GtkDropDown *data_dropdown;
  GtkStringList *data_names;
  char       *custom_data;    /* a spec not among the presets (from the settings or a loaded model) */
  GafRunner  *runner;
  GSettings  *settings;
  gboolean    loading;
};

G_DEFINE_FINAL_TYPE (GafParameterPanel, gaf_parameter_panel, GTK_TYPE_WIDGET)

enum {
  SIGNAL_APPLIED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

const char *
gaf_param_label (GafParam param)
{
  switch (param)
    {
    case GAF_PARAM_CLASSES:       return _("Classes c");
    case GAF_PARAM_WIDTH:         return _("Network width");
    case GAF_PARAM_SEED:          return _("Seed");
    case GAF_PARAM_LAMBDA:        return _("Field magnitude λ");
    case GAF_PARAM_TIME_RATE:     return _("Time rate");
    case GAF_PARAM_LEARNING_RATE: return _("Learning rate");
    case GAF_PARAM_BATCH:         return _("Batch size");
    case GAF_PARAM_BUDGET:        return _("Budget (steps)");
    case GAF_PARAM_T_END:         return _("End time T");
    case GAF_PARAM_STEP_SIZE:     return _("Step size h");
    case GAF_PARAM_INTEGRATOR:    return _("Integrator");
    case GAF_PARAM_SAMPLES:       return _("Samples per round");
    case GAF_PARAM_IMAGE_WIDTH:   return _("Network width");
    case GAF_PARAM_IMAGE_BATCH:   return _("Maps per batch");
    default:                      g_return_val_if_reached (NULL);
    }
}

const char *
gaf_param_tooltip (GafParam param)
{
  switch (param)
    {
    case GAF_PARAM_CLASSES:
      return _("The number of classes c: every row lives on the simplex with c vertices, one per class.");
    case GAF_PARAM_WIDTH:
      return _("Hidden channels of the toy CNN: a wider network can fit the field more closely but trains more slowly.");
    case GAF_PARAM_SEED:
      return _("Seeds the target, the initial weights and the sampler: the same seed gives the same run.");
    case GAF_PARAM_LAMBDA:
      return _("How fast the conditional paths run towards their vertex, so how early the rows commit to a class.");
    case GAF_PARAM_TIME_RATE:
      return _("Rate of the exponential training times: a low rate trains the field for late times, a high rate for early ones.");
    case GAF_PARAM_LEARNING_RATE:
      return _("Adam's step size: larger steps learn the field faster but make the loss noisier and can diverge.");
    case GAF_PARAM_BATCH:
      return _("Labelings per training step: larger batches give smoother gradients at a higher cost per step.");
    case GAF_PARAM_BUDGET:
      return _("Training stops after this many steps; raise it to continue training.");
    case GAF_PARAM_T_END:
      return _("How long the rows flow: the longer, the closer each ends to a vertex.");
    case GAF_PARAM_STEP_SIZE:
      return _("The integrator's step: smaller steps follow the field more closely and cost more network evaluations.");
    case GAF_PARAM_INTEGRATOR:
      return _("Euler follows the field once per step; RK4 (3/8 rule) evaluates it four times per step for a more accurate path.");
    case GAF_PARAM_SAMPLES:
      return _("Sequences drawn in each sampling round: the KL uses all of them, the simplex view shows the first 32.");
    case GAF_PARAM_IMAGE_WIDTH:
      return _("Base channels of the UNet: a wider network can learn more of the maps but trains more slowly.");
    case GAF_PARAM_IMAGE_BATCH:
      return _("Label maps per training step: larger batches give smoother gradients at a higher cost per step.");
    default:
      g_return_val_if_reached (NULL);
    }
}

static gboolean
slider_is_log (GafParam param)
{
  return gaf_param_info (param)->log_scale || param == GAF_PARAM_BUDGET;
}

static int
param_digits (GafParam param)
{
  const GafParamInfo *info = gaf_param_info (param);
  return info->integer ? 0 : 2;
}

static void update_value_label (GafParameterPanel *self, GafParam param);

static double
control_value (GafParameterPanel *self, GafParam param)
{
  GtkWidget *w = self->controls[param];

  if (GTK_IS_DROP_DOWN (w))
    return gtk_drop_down_get_selected (GTK_DROP_DOWN (w)) == 0 ? GAF_INTEGRATOR_EULER : GAF_INTEGRATOR_RK4;
  if (GTK_IS_SPIN_BUTTON (w))
    return gtk_spin_button_get_value (GTK_SPIN_BUTTON (w));
  {
    double v = gtk_range_get_value (GTK_RANGE (w));
    const GafParamInfo *info = gaf_param_info (param);
    v = slider_is_log (param) ? pow (10.0, v) : v;
    if (info->integer)
      v = round (v);
    return CLAMP (v, info->min, info->max);
  }
}

static void
set_control_value (GafParameterPanel *self, GafParam param, double value)
{
  GtkWidget *w = self->controls[param];

  self->loading = TRUE;
  if (GTK_IS_DROP_DOWN (w))
    gtk_drop_down_set_selected (GTK_DROP_DOWN (w), value == GAF_INTEGRATOR_EULER ? 0 : 1);
  else if (GTK_IS_SPIN_BUTTON (w))
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), value);
  else
    gtk_range_set_value (GTK_RANGE (w), slider_is_log (param) ? log10 (value) : value);
  self->loading = FALSE;
  update_value_label (self, param);
}

gboolean
gaf_parameter_panel_has_pending (GafParameterPanel *self)
{
  g_return_val_if_fail (GAF_IS_PARAMETER_PANEL (self), FALSE);
  if (self->runner == NULL)
    return FALSE;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (gaf_param_info (i)->kind == GAF_PARAM_KIND_MODEL &&
        control_value (self, i) != gaf_runner_get_params (self->runner)->value[i])
      return TRUE;
  return FALSE;
}

static void
update_bar (GafParameterPanel *self)
{
  gtk_info_bar_set_revealed (self->model_bar, gaf_parameter_panel_has_pending (self));
}

static void
apply (GafParameterPanel *self, GafParam param, double value)
{
  if (self->runner != NULL)
    gaf_runner_set_param (self->runner, param, value);
  if (self->settings != NULL)
    gaf_settings_write_param (self->settings, param, value);
  g_signal_emit (self, signals[SIGNAL_APPLIED], 0, (int) param);
}

static void
on_control_changed (GafParameterPanel *self, GafParam param)
{
  if (self->loading || self->runner == NULL)
    return;
  if (gaf_param_info (param)->kind == GAF_PARAM_KIND_MODEL)
    update_bar (self);   /* a new model: ask first */
  else
    apply (self, param, control_value (self, param));
}

static void
on_range_changed (GtkRange *range, GafParameterPanel *self)
{
  GafParam param = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (range), "gaf-param"));

  update_value_label (self, param);
  on_control_changed (self, param);
}

static void
on_spin_changed (GtkSpinButton *spin, GafParameterPanel *self)
{
  on_control_changed (self, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (spin), "gaf-param")));
}

static void
on_drop_down_changed (GtkDropDown *drop, GParamSpec *pspec, GafParameterPanel *self)
{
  on_control_changed (self, GPOINTER_TO_INT (g_object_get_data (G_OBJECT (drop), "gaf-param")));
}

char *
gaf_param_format_value (GafParam param, double value)
{
  const GafParamInfo *info;

  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  info = gaf_param_info (param);
  if (info->integer)
    return g_strdup_printf ("%.0f", round (value));
  if (info->log_scale)
    return g_strdup_printf ("%.1e", value);
  return g_strdup_printf ("%.*f", param_digits (param), value);
}

/* The value label is the panel's own, written whenever the value is set or changed: GtkScale's drawn
 * value showed the slider's position (log10 of the value) until the first change. */
static void
update_value_label (GafParameterPanel *self, GafParam param)
{
  g_autofree char *text = NULL;

  if (self->values[param] == NULL)
    return;
  text = gaf_param_format_value (param, control_value (self, param));
  gtk_label_set_text (GTK_LABEL (self->values[param]), text);
}

void
gaf_parameter_panel_apply_model (GafParameterPanel *self)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  if (self->runner == NULL)
    return;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (gaf_param_info (i)->kind == GAF_PARAM_KIND_MODEL)
      {
        double v = control_value (self, i);
        if (v != gaf_runner_get_params (self->runner)->value[i])
          apply (self, i, v);
      }
  update_bar (self);
}

void
gaf_parameter_panel_revert_model (GafParameterPanel *self)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  if (self->runner == NULL)
    return;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (gaf_param_info (i)->kind == GAF_PARAM_KIND_MODEL)
      set_control_value (self, i, gaf_runner_get_params (self->runner)->value[i]);
  update_bar (self);
}

static void
on_bar_response (GtkInfoBar *bar, int response, GafParameterPanel *self)
{
  if (response == RESPONSE_APPLY)
    gaf_parameter_panel_apply_model (self);
  else
    gaf_parameter_panel_revert_model (self);
}

static GtkWidget *
make_control (GafParameterPanel *self, GafParam param)
{
  const GafParamInfo *info = gaf_param_info (param);
  GtkWidget *w;

  if (param == GAF_PARAM_INTEGRATOR)
    {
      const char *names[] = { _("Euler"), _("RK4 (3/8 rule)"), NULL };
      w = gtk_drop_down_new_from_strings (names);
      g_signal_connect (w, "notify::selected", G_CALLBACK (on_drop_down_changed), self);
    }
  else if (param == GAF_PARAM_SEED)
    {
      w = gtk_spin_button_new_with_range (info->min, info->max, 1);
      g_signal_connect (w, "value-changed", G_CALLBACK (on_spin_changed), self);
    }
  else
    {
      double lo = slider_is_log (param) ? log10 (info->min) : info->min;
      double hi = slider_is_log (param) ? log10 (info->max) : info->max;
      double step = slider_is_log (param) ? 0.05 : info->integer ? 1.0 : (hi - lo) / 200.0;

      if (param == GAF_PARAM_WIDTH)
        step = 16;
      else if (param == GAF_PARAM_IMAGE_WIDTH)
        step = 8;
      else if (param == GAF_PARAM_BATCH || param == GAF_PARAM_SAMPLES)
        step = 8;
      w = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, lo, hi, step);
      gtk_scale_set_draw_value (GTK_SCALE (w), FALSE);
      gtk_scale_set_digits (GTK_SCALE (w), slider_is_log (param) ? 2 : info->integer ? 0 : 2);
      gtk_widget_set_size_request (w, 110, -1);
      g_signal_connect (w, "value-changed", G_CALLBACK (on_range_changed), self);
    }
  g_object_set_data (G_OBJECT (w), "gaf-param", GINT_TO_POINTER (param));
  gtk_widget_set_hexpand (w, TRUE);
  gtk_widget_set_tooltip_text (w, gaf_param_tooltip (param));
  return w;
}

/* The image data offered in the panel: a spec (gaf-dataset.h) and its name. */
static const struct { const char *spec; const char *name; } data_presets[] = {
  { "fashion-mnist:levels=2,size=16", N_("Fashion-MNIST 16 × 16, 2 levels") },
  { "fashion-mnist:levels=4,size=16", N_("Fashion-MNIST 16 × 16, 4 levels") },
  { "scenes:classes=3,size=16",       N_("Scenes 16 × 16, 3 classes") },
  { "scenes:classes=8,size=16",       N_("Scenes 16 × 16, 8 classes") },
};

static void
fill_data_names (GafParameterPanel *self)
{
  const char *custom[2] = { self->custom_data, NULL };
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->data_names));

  if (n == 0)
    for (guint i = 0; i < G_N_ELEMENTS (data_presets); i++)
      gtk_string_list_append (self->data_names, _(data_presets[i].name));
  n = g_list_model_get_n_items (G_LIST_MODEL (self->data_names));
  gtk_string_list_splice (self->data_names, G_N_ELEMENTS (data_presets), n - G_N_ELEMENTS (data_presets),
                          self->custom_data ? custom : NULL);
}

/* Selects spec in the data drop-down, as a preset or as the one custom entry. */
static void
show_data (GafParameterPanel *self, const char *spec)
{
  guint index = G_N_ELEMENTS (data_presets);

  for (guint i = 0; i < G_N_ELEMENTS (data_presets); i++)
    if (g_strcmp0 (spec, data_presets[i].spec) == 0)
      index = i;
  self->loading = TRUE;
  if (index == G_N_ELEMENTS (data_presets) && g_strcmp0 (self->custom_data, spec) != 0)
    {
      g_free (self->custom_data);
      self->custom_data = g_strdup (spec);
      fill_data_names (self);
    }
  gtk_drop_down_set_selected (self->data_dropdown, index);
  self->loading = FALSE;
}

static void
on_data_selected (GafParameterPanel *self)
{
  guint index = gtk_drop_down_get_selected (self->data_dropdown);
  const char *spec = index < G_N_ELEMENTS (data_presets) ? data_presets[index].spec : self->custom_data;

  if (self->loading || self->runner == NULL || spec == NULL)
    return;
  gaf_runner_set_image_data (self->runner, spec);
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "image-data", spec);
  g_signal_emit (self, signals[SIGNAL_APPLIED], 0, -1);
}

static void
build_rows (GafParameterPanel *self)
{
  static const struct { const char *heading; GafParam params[6]; guint n; } sections[] = {
    { N_("Model"),    { GAF_PARAM_CLASSES, GAF_PARAM_WIDTH, GAF_PARAM_IMAGE_WIDTH, GAF_PARAM_SEED }, 4 },
    { N_("Training"), { GAF_PARAM_LAMBDA, GAF_PARAM_TIME_RATE, GAF_PARAM_LEARNING_RATE, GAF_PARAM_BATCH,
                        GAF_PARAM_IMAGE_BATCH, GAF_PARAM_BUDGET }, 6 },
    { N_("Sampler"),  { GAF_PARAM_T_END, GAF_PARAM_STEP_SIZE, GAF_PARAM_INTEGRATOR, GAF_PARAM_SAMPLES }, 4 },
  };
  static const char *notes[] = {
    N_("changes start a new model"),
    N_("changes apply at the next step"),
    N_("changes apply to the next round"),
  };
  int row = 0;

  for (guint s = 0; s < G_N_ELEMENTS (sections); s++)
    {
      g_autofree char *markup = g_strdup_printf ("<b>%s</b>\n<small>%s</small>", _(sections[s].heading), _(notes[s]));
      GtkWidget *heading = gtk_label_new (NULL);

      gtk_label_set_markup (GTK_LABEL (heading), markup);
      gtk_label_set_xalign (GTK_LABEL (heading), 0);
      gtk_widget_set_margin_top (heading, s ? 14 : 4);
      gtk_grid_attach (self->grid, heading, 0, row++, 3, 1);
      if (s == 0)
        {
          /* The data of the image experiment, shown with it. */
          self->data_label = gtk_label_new (_("Data"));
          gtk_label_set_xalign (GTK_LABEL (self->data_label), 0);
          gtk_widget_set_tooltip_text (self->data_label, _("The label maps the image experiment learns; the held-out maps of the same data give the metric and the likelihood histogram."));
          self->data_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (self->data_names)), NULL));
          gtk_widget_set_tooltip_text (GTK_WIDGET (self->data_dropdown), gtk_widget_get_tooltip_text (self->data_label));
          gtk_widget_set_hexpand (GTK_WIDGET (self->data_dropdown), TRUE);
          g_signal_connect_swapped (self->data_dropdown, "notify::selected", G_CALLBACK (on_data_selected), self);
          gtk_label_set_mnemonic_widget (GTK_LABEL (self->data_label), GTK_WIDGET (self->data_dropdown));
          gtk_grid_attach (self->grid, self->data_label, 0, row, 1, 1);
          gtk_grid_attach (self->grid, GTK_WIDGET (self->data_dropdown), 1, row++, 2, 1);
        }
      for (guint i = 0; i < sections[s].n; i++)
        {
          GafParam p = sections[s].params[i];
          GtkWidget *label = gtk_label_new (gaf_param_label (p));

          gtk_label_set_xalign (GTK_LABEL (label), 0);
          gtk_label_set_wrap (GTK_LABEL (label), TRUE);
          gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
          gtk_widget_set_tooltip_text (label, gaf_param_tooltip (p));
          self->controls[p] = make_control (self, p);
          self->labels[p] = label;
          gtk_label_set_mnemonic_widget (GTK_LABEL (label), self->controls[p]);
          gtk_grid_attach (self->grid, label, 0, row, 1, 1);
          if (GTK_IS_SCALE (self->controls[p]))
            {
              self->values[p] = gtk_label_new (NULL);
              gtk_label_set_xalign (GTK_LABEL (self->values[p]), 1);
              gtk_label_set_width_chars (GTK_LABEL (self->values[p]), 7);
              gtk_widget_add_css_class (self->values[p], "numeric");
              gtk_grid_attach (self->grid, self->controls[p], 1, row, 1, 1);
              gtk_grid_attach (self->grid, self->values[p], 2, row++, 1, 1);
              update_value_label (self, p);
            }
          else
            gtk_grid_attach (self->grid, self->controls[p], 1, row++, 2, 1);
        }
    }
}

static void
gaf_parameter_panel_dispose (GObject *object)
{
  GafParameterPanel *self = GAF_PARAMETER_PANEL (object);

  g_clear_object (&self->runner);
  g_clear_object (&self->settings);
  g_clear_object (&self->data_names);
  g_clear_pointer (&self->custom_data, g_free);
  gtk_widget_dispose_template (GTK_WIDGET (self), GAF_TYPE_PARAMETER_PANEL);
  /* Children of the template that are not bound to a field. */
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_parameter_panel_parent_class)->dispose (object);
}

static void
gaf_parameter_panel_class_init (GafParameterPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_parameter_panel_dispose;

  /* A parameter was sent to the runner (and stored). */
  signals[SIGNAL_APPLIED] =
    g_signal_new ("applied", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_INT);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/gaflow/Gaflow/gaf-parameter-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, GafParameterPanel, grid);
  gtk_widget_class_bind_template_child (widget_class, GafParameterPanel, model_bar);
  gtk_widget_class_bind_template_callback (widget_class, on_bar_response);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "parameterpanel");
}

static void
gaf_parameter_panel_init (GafParameterPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_orientable_set_orientation (GTK_ORIENTABLE (gtk_widget_get_layout_manager (GTK_WIDGET (self))),
                                  GTK_ORIENTATION_VERTICAL);
  gtk_info_bar_add_button (self->model_bar, _("_Apply"), RESPONSE_APPLY);
  gtk_info_bar_add_button (self->model_bar, _("_Revert"), RESPONSE_REVERT);
  self->data_names = gtk_string_list_new (NULL);
  fill_data_names (self);
  build_rows (self);
}

GtkWidget *
gaf_parameter_panel_new (void)
{
  return g_object_new (GAF_TYPE_PARAMETER_PANEL, NULL);
}

void
gaf_parameter_panel_set_runner (GafParameterPanel *self, GafRunner *runner)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  g_set_object (&self->runner, runner);
  gaf_parameter_panel_sync (self);
}

void
gaf_parameter_panel_sync (GafParameterPanel *self)
{
  const GafRunnerParams *params;

  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  if (self->runner == NULL)
    return;
  params = gaf_runner_get_params (self->runner);
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    set_control_value (self, i, params->value[i]);
  show_data (self, params->image_data);
  gaf_parameter_panel_set_experiment (self, params->experiment);
  update_bar (self);
}

void
gaf_parameter_panel_set_settings (GafParameterPanel *self, GSettings *settings)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  g_set_object (&self->settings, settings);
}

void
gaf_parameter_panel_set_experiment (GafParameterPanel *self, GafExperiment experiment)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  /* Only the rows the experiment uses (a joint's c is fixed by its data: not shown). */
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (self->labels[i] != NULL)
      {
        gboolean shown = gaf_param_applies (i, experiment);
        gtk_widget_set_visible (self->labels[i], shown);
        gtk_widget_set_visible (self->controls[i], shown);
        if (self->values[i] != NULL)
          gtk_widget_set_visible (self->values[i], shown);
      }
  gtk_widget_set_visible (self->data_label, experiment == GAF_EXPERIMENT_IMAGES);
  gtk_widget_set_visible (GTK_WIDGET (self->data_dropdown), experiment == GAF_EXPERIMENT_IMAGES);
}

GtkWidget *
gaf_parameter_panel_get_control (GafParameterPanel *self, GafParam param)
{
  g_return_val_if_fail (GAF_IS_PARAMETER_PANEL (self), NULL);
  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  return self->controls[param];
}

GtkWidget *
gaf_parameter_panel_get_value_label (GafParameterPanel *self, GafParam param)
{
  g_return_val_if_fail (GAF_IS_PARAMETER_PANEL (self), NULL);
  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  return self->values[param];
}

void
gaf_parameter_panel_set_value (GafParameterPanel *self, GafParam param, double value)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  g_return_if_fail ((guint) param < GAF_N_PARAMS);
  set_control_value (self, param, value);
  if (gaf_param_info (param)->kind == GAF_PARAM_KIND_MODEL)
    update_bar (self);
  else
    apply (self, param, control_value (self, param));
}

void
gaf_parameter_panel_restore_defaults (GafParameterPanel *self)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    gaf_parameter_panel_set_value (self, i, gaf_param_info (i)->def);
}
