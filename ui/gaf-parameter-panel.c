/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-parameter-panel"
#include "config.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

#include "gaf-parameter-panel.h"
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
  GtkWidget  *network_note;           /* under "Model": a network opened from a file that the rows do not describe */
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
  return _(gaf_param_info (param)->label);
}

const char *
gaf_param_tooltip (GafParam param)
{
  return _(gaf_param_info (param)->tooltip);
}

static int
param_digits (GafParam param)
{
  return gaf_param_info (param)->type == GAF_PARAM_DOUBLE ? 2 : 0;
}

static void update_value_label (GafParameterPanel *self, GafParam param);

static double
control_value (GafParameterPanel *self, GafParam param)
{
  GtkWidget *w = self->controls[param];
  const GafParamInfo *info = gaf_param_info (param);

  if (GTK_IS_DROP_DOWN (w))
    return gtk_drop_down_get_selected (GTK_DROP_DOWN (w));
  if (GTK_IS_SPIN_BUTTON (w))
    return gtk_spin_button_get_value (GTK_SPIN_BUTTON (w));
  {
    double v = gtk_range_get_value (GTK_RANGE (w));
    return gaf_param_clamp (param, info->log_scale ? pow (10.0, v) : v);
  }
}

static void
set_control_value (GafParameterPanel *self, GafParam param, double value)
{
  GtkWidget *w = self->controls[param];

  self->loading = TRUE;
  if (GTK_IS_DROP_DOWN (w))
    gtk_drop_down_set_selected (GTK_DROP_DOWN (w), (guint) value);
  else if (GTK_IS_SPIN_BUTTON (w))
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (w), value);
  else
    gtk_range_set_value (GTK_RANGE (w), gaf_param_info (param)->log_scale ? log10 (value) : value);
  self->loading = FALSE;
  update_value_label (self, param);
}

static gboolean
is_model_number (GafParam param)
{
  const GafParamInfo *info = gaf_param_info (param);
  return info->section == GAF_PARAM_SECTION_MODEL && info->type != GAF_PARAM_TEXT;
}

gboolean
gaf_parameter_panel_has_pending (GafParameterPanel *self)
{
  g_return_val_if_fail (GAF_IS_PARAMETER_PANEL (self), FALSE);
  if (self->runner == NULL)
    return FALSE;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (is_model_number (i) && control_value (self, i) != gaf_runner_get_params (self->runner)->value[i])
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
apply_text (GafParameterPanel *self, GafParam param, const char *text)
{
  if (self->runner != NULL)
    gaf_runner_set_text (self->runner, param, text);
  if (self->settings != NULL)
    g_settings_set_string (self->settings, gaf_param_info (param)->key, text);
  g_signal_emit (self, signals[SIGNAL_APPLIED], 0, (int) param);
}

static void
on_control_changed (GafParameterPanel *self, GafParam param)
{
  if (self->loading || self->runner == NULL)
    return;
  if (is_model_number (param))
    update_bar (self);   /* a new model: ask first */
  else
    apply (self, param, control_value (self, param));
}

static void
on_value_changed (GObject *control, GafParameterPanel *self)
{
  GafParam param = GPOINTER_TO_INT (g_object_get_data (control, "gaf-param"));

  update_value_label (self, param);
  on_control_changed (self, param);
}

static void
on_drop_down_changed (GtkDropDown *drop, GParamSpec *pspec, GafParameterPanel *self)
{
  on_value_changed (G_OBJECT (drop), self);
}

char *
gaf_param_format_value (GafParam param, double value)
{
  const GafParamInfo *info;

  g_return_val_if_fail ((guint) param < GAF_N_PARAMS, NULL);
  info = gaf_param_info (param);
  if (info->type == GAF_PARAM_CHOICE)
    return g_strdup (_(info->choice_labels[(int) gaf_param_clamp (param, value)]));
  if (info->type != GAF_PARAM_DOUBLE)
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
    if (is_model_number (i))
      {
        double v = control_value (self, i);
        if (v != gaf_runner_get_params (self->runner)->value[i])
          apply (self, i, v);
      }
  gaf_parameter_panel_set_experiment (self, gaf_runner_get_params (self->runner)->experiment);
  update_bar (self);
}

void
gaf_parameter_panel_revert_model (GafParameterPanel *self)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  if (self->runner == NULL)
    return;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (is_model_number (i))
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

/* ---- text parameters: presets in a drop-down, or a file ------------------------------------------------ */

static guint
n_presets (const GafParamInfo *info)
{
  guint n = 0;

  while (info->presets[n].value != NULL)
    n++;
  return n;
}

/* The drop-down of presets, with one more entry for a value that is none of them. */
static void
show_text (GafParameterPanel *self, GafParam param, const char *text)
{
  const GafParamInfo *info = gaf_param_info (param);
  GtkWidget *w = self->controls[param];

  self->loading = TRUE;
  if (info->presets != NULL)
    {
      GtkStringList *names = GTK_STRING_LIST (gtk_drop_down_get_model (GTK_DROP_DOWN (w)));
      guint n = n_presets (info), index = n;
      const char *custom[2] = { text, NULL };

      for (guint i = 0; i < n; i++)
        if (g_strcmp0 (text, info->presets[i].value) == 0)
          index = i;
      gtk_string_list_splice (names, n, g_list_model_get_n_items (G_LIST_MODEL (names)) - n,
                              index == n ? custom : NULL);
      g_object_set_data_full (G_OBJECT (w), "gaf-custom", g_strdup (text), g_free);
      gtk_drop_down_set_selected (GTK_DROP_DOWN (w), index);
    }
  else
    {
      g_autofree char *name = text[0] ? g_filename_display_basename (text) : g_strdup (_("(built in)"));
      gtk_button_set_label (GTK_BUTTON (w), name);
      gtk_widget_set_tooltip_text (w, text[0] ? text : gaf_param_tooltip (param));
    }
  self->loading = FALSE;
}

static void
on_preset_selected (GtkDropDown *drop, GParamSpec *pspec, GafParameterPanel *self)
{
  GafParam param = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (drop), "gaf-param"));
  const GafParamInfo *info = gaf_param_info (param);
  guint index = gtk_drop_down_get_selected (drop);
  const char *text = index < n_presets (info) ? info->presets[index].value
                                              : g_object_get_data (G_OBJECT (drop), "gaf-custom");

  if (!self->loading && self->runner != NULL && text != NULL)
    apply_text (self, param, text);
}

static void
on_file_chosen (GtkNativeDialog *native, int response, GafParameterPanel *self)
{
  GafParam param = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (native), "gaf-param"));
  g_autoptr(GFile) file = response == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_file (GTK_FILE_CHOOSER (native)) : NULL;
  g_autofree char *path = file ? g_file_get_path (file) : NULL;

  if (path != NULL && strlen (path) < GAF_PARAM_TEXT_MAX)
    {
      show_text (self, param, path);
      apply_text (self, param, path);
    }
  g_object_unref (native);
}

static void
on_file_clicked (GtkButton *button, GafParameterPanel *self)
{
  GafParam param = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "gaf-param"));
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *native =
    gtk_file_chooser_native_new (gaf_param_label (param), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                 GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"), _("_Cancel"));

  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (native), TRUE);
  g_object_set_data (G_OBJECT (native), "gaf-param", GINT_TO_POINTER (param));
  g_signal_connect (native, "response", G_CALLBACK (on_file_chosen), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (native));
}

/* Why a choice of the parameter cannot be had on this machine (GafParamInfo.unavailable; translated), or NULL, and
 * how many can. */
static const char *
choice_unavailable (GafParam param, guint *n_available)
{
  const GafParamInfo *info = gaf_param_info (param);
  const char *why = NULL;

  *n_available = 0;
  for (int k = 0; info->type == GAF_PARAM_CHOICE && info->choices[k] != NULL; k++)
    {
      const char *reason = info->unavailable != NULL ? info->unavailable (k) : NULL;
      if (reason == NULL)
        (*n_available)++;
      else if (why == NULL)
        why = _(reason);
    }
  return why;
}

/* What the parameter does, and why a choice is missing here. */
static char *
row_tooltip (GafParam param)
{
  guint n_available;
  const char *why = choice_unavailable (param, &n_available);

  return why != NULL ? g_strdup_printf ("%s %s", gaf_param_tooltip (param), why) : g_strdup (gaf_param_tooltip (param));
}

static GtkWidget *
make_control (GafParameterPanel *self, GafParam param)
{
  const GafParamInfo *info = gaf_param_info (param);
  GtkWidget *w;

  if (info->type == GAF_PARAM_TEXT && info->presets != NULL)
    {
      g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
      for (guint i = 0; info->presets[i].value != NULL; i++)
        gtk_string_list_append (names, _(info->presets[i].label));
      w = gtk_drop_down_new (G_LIST_MODEL (g_steal_pointer (&names)), NULL);
      g_signal_connect (w, "notify::selected", G_CALLBACK (on_preset_selected), self);
    }
  else if (info->type == GAF_PARAM_TEXT)
    {
      w = gtk_button_new_with_label ("");
      g_signal_connect (w, "clicked", G_CALLBACK (on_file_clicked), self);
    }
  else if (info->type == GAF_PARAM_CHOICE)
    {
      g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
      guint n_available;

      for (guint i = 0; info->choice_labels[i] != NULL; i++)
        gtk_string_list_append (names, _(info->choice_labels[i]));
      w = gtk_drop_down_new (G_LIST_MODEL (g_steal_pointer (&names)), NULL);
      g_signal_connect (w, "notify::selected", G_CALLBACK (on_drop_down_changed), self);
      /* Nothing to choose on this CPU (bf16 without AVX-512 BF16): the row shows what runs, and its tooltip why. */
      choice_unavailable (param, &n_available);
      gtk_widget_set_sensitive (w, n_available >= 2);
    }
  else if (info->max - info->min > 10000 && !info->log_scale)
    {
      /* A value without a scale (the seed): typed. */
      w = gtk_spin_button_new_with_range (info->min, info->max, 1);
      g_signal_connect (w, "value-changed", G_CALLBACK (on_value_changed), self);
    }
  else
    {
      double lo = info->log_scale ? log10 (info->min) : info->min;
      double hi = info->log_scale ? log10 (info->max) : info->max;
      double step = info->step > 0 ? info->step : info->type == GAF_PARAM_INT ? 1.0 : (hi - lo) / 200.0;

      w = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, lo, hi, step);
      gtk_scale_set_draw_value (GTK_SCALE (w), FALSE);
      gtk_scale_set_digits (GTK_SCALE (w), info->log_scale ? 2 : param_digits (param));
      gtk_widget_set_size_request (w, 110, -1);
      g_signal_connect (w, "value-changed", G_CALLBACK (on_value_changed), self);
    }
  g_object_set_data (G_OBJECT (w), "gaf-param", GINT_TO_POINTER (param));
  gtk_widget_set_hexpand (w, TRUE);
  {
    g_autofree char *tooltip = row_tooltip (param);
    gtk_widget_set_tooltip_text (w, tooltip);
  }
  return w;
}

static void
add_row (GafParameterPanel *self, GafParam p, int *row)
{
  GtkWidget *label = gtk_label_new (gaf_param_label (p));
  g_autofree char *tooltip = row_tooltip (p);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 16);
  gtk_widget_set_tooltip_text (label, tooltip);
  self->controls[p] = make_control (self, p);
  self->labels[p] = label;
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), self->controls[p]);
  gtk_grid_attach (self->grid, label, 0, *row, 1, 1);
  if (GTK_IS_SCALE (self->controls[p]))
    {
      self->values[p] = gtk_label_new (NULL);
      gtk_label_set_xalign (GTK_LABEL (self->values[p]), 1);
      gtk_label_set_width_chars (GTK_LABEL (self->values[p]), 7);
      gtk_widget_add_css_class (self->values[p], "numeric");
      gtk_grid_attach (self->grid, self->controls[p], 1, *row, 1, 1);
      gtk_grid_attach (self->grid, self->values[p], 2, (*row)++, 1, 1);
      update_value_label (self, p);
    }
  else
    gtk_grid_attach (self->grid, self->controls[p], 1, (*row)++, 2, 1);
}

/* One section per GafParamSection, its text parameters (data) first, then the others in table order. */
static void
build_rows (GafParameterPanel *self)
{
  static const char *headings[GAF_N_PARAM_SECTIONS] = { N_("Model"), N_("Training"), N_("Sampler") };
  static const char *notes[GAF_N_PARAM_SECTIONS] = {
    N_("changes start a new model"),
    N_("changes apply at the next step"),
    N_("changes apply to the next round"),
  };
  int row = 0;

  for (guint s = 0; s < GAF_N_PARAM_SECTIONS; s++)
    {
      g_autofree char *markup = g_strdup_printf ("<b>%s</b>\n<small>%s</small>", _(headings[s]), _(notes[s]));
      GtkWidget *heading = gtk_label_new (NULL);

      gtk_label_set_markup (GTK_LABEL (heading), markup);
      gtk_label_set_xalign (GTK_LABEL (heading), 0);
      gtk_widget_set_margin_top (heading, s ? 14 : 4);
      gtk_grid_attach (self->grid, heading, 0, row++, 3, 1);
      if (s == GAF_PARAM_SECTION_MODEL)
        {
          self->network_note = gtk_label_new (NULL);
          gtk_label_set_xalign (GTK_LABEL (self->network_note), 0);
          gtk_label_set_wrap (GTK_LABEL (self->network_note), TRUE);
          gtk_label_set_max_width_chars (GTK_LABEL (self->network_note), 36);
          gtk_widget_add_css_class (self->network_note, "dim-label");
          gtk_widget_set_visible (self->network_note, FALSE);
          gtk_grid_attach (self->grid, self->network_note, 0, row++, 3, 1);
        }
      for (int text = 1; text >= 0; text--)
        for (guint p = 0; p < GAF_N_PARAMS; p++)
          if (gaf_param_info (p)->section == s && (gaf_param_info (p)->type == GAF_PARAM_TEXT) == text)
            add_row (self, p, &row);
    }
}

static void
gaf_parameter_panel_dispose (GObject *object)
{
  GafParameterPanel *self = GAF_PARAMETER_PANEL (object);

  g_clear_object (&self->runner);
  g_clear_object (&self->settings);
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
    if (gaf_param_info (i)->type == GAF_PARAM_TEXT)
      show_text (self, i, params->text[i]);
    else
      set_control_value (self, i, params->value[i]);
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
gaf_parameter_panel_set_experiment (GafParameterPanel *self, const GafExperimentClass *experiment)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  g_return_if_fail (experiment != NULL);
  GafRunnerParams params;

  /* Only the rows that apply: the experiment uses them, for the method the model trains with (GAF's flow or a
   * jump flow; a method chosen but not applied yet keeps the rows of the model that runs). */
  if (self->runner != NULL)
    params = *gaf_runner_get_params (self->runner);
  else
    gaf_runner_params_init (&params);
  params.experiment = experiment;
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    {
      gboolean shown = gaf_runner_params_applies (&params, i);
      gtk_widget_set_visible (self->labels[i], shown);
      gtk_widget_set_visible (self->controls[i], shown);
      if (self->values[i] != NULL)
        gtk_widget_set_visible (self->values[i], shown);
    }
}

void
gaf_parameter_panel_show_network (GafParameterPanel *self, const char *kind, guint64 n_params, gboolean described)
{
  static const struct { const char *kind, *name; } names[] = {
    { "toy-cnn", N_("toy CNN") }, { "mlp", N_("MLP") }, { "unet", N_("UNet") }, { "dense", N_("DenseNet") },
  };
  const char *name = kind;
  g_autofree char *text = NULL, *count = NULL;

  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  gtk_widget_set_visible (self->network_note, kind != NULL && !described);
  if (kind == NULL || described)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_strcmp0 (kind, names[i].kind) == 0)
      name = _(names[i].name);
  count = g_strdup_printf ("%" G_GUINT64_FORMAT, n_params);
  /* TRANSLATORS: the first %s is a network's name (DenseNet, MLP), the second its parameter count */
  text = g_strdup_printf (_("Now the opened file’s %s, %s parameters: the rows below build a new network."), name,
                          count);
  if (g_strcmp0 (gtk_label_get_text (GTK_LABEL (self->network_note)), text) != 0)
    gtk_label_set_text (GTK_LABEL (self->network_note), text);
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
  g_return_if_fail (gaf_param_info (param)->type != GAF_PARAM_TEXT);
  set_control_value (self, param, gaf_param_clamp (param, value));
  if (is_model_number (param))
    update_bar (self);
  else
    apply (self, param, control_value (self, param));
}

void
gaf_parameter_panel_restore_defaults (GafParameterPanel *self)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  /* The data (text parameters) stay: they are a choice of what to learn, not a setting of how. */
  for (guint i = 0; i < GAF_N_PARAMS; i++)
    if (gaf_param_info (i)->type != GAF_PARAM_TEXT)
      gaf_parameter_panel_set_value (self, i, gaf_param_info (i)->def);
}

void
gaf_parameter_panel_set_text (GafParameterPanel *self, GafParam param, const char *text)
{
  g_return_if_fail (GAF_IS_PARAMETER_PANEL (self));
  g_return_if_fail ((guint) param < GAF_N_PARAMS);
  g_return_if_fail (gaf_param_info (param)->type == GAF_PARAM_TEXT);
  g_return_if_fail (text != NULL);
  if (strlen (text) >= GAF_PARAM_TEXT_MAX)
    return;
  show_text (self, param, text);
  if (self->runner == NULL || g_strcmp0 (gaf_runner_get_params (self->runner)->text[param], text) != 0)
    apply_text (self, param, text);
}
