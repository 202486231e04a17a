/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

#define GAF_TYPE_PARAMETER_PANEL (gaf_parameter_panel_get_type ())
G_DECLARE_FINAL_TYPE (GafParameterPanel, gaf_parameter_panel, GAF, PARAMETER_PANEL, GtkWidget)

/* A row for every parameter of the table (gaf-parameters.h: label, tooltip, range, section) with live
 * values. Sampler changes go to the runner at once, training changes apply at its next step; model
 * changes (c, width, seed) are held until the user confirms in the bar that appears, since they start a
 * new model; data (text parameters) apply when chosen. Every applied value is stored in GSettings. */
GtkWidget *gaf_parameter_panel_new          (void);
void       gaf_parameter_panel_set_runner   (GafParameterPanel *self, GafRunner *runner);
void       gaf_parameter_panel_set_settings (GafParameterPanel *self, GSettings *settings);
/* Shows the rows of the parameters the experiment uses (its class's params). */
void       gaf_parameter_panel_set_experiment (GafParameterPanel *self, const GafExperimentClass *experiment);
/* Shows the runner's requested parameters, data and experiment (after a model was loaded). */
void       gaf_parameter_panel_sync         (GafParameterPanel *self);
/* Says under "Model" which network runs when the rows do not describe it (one opened from a file, e.g. a
 * DenseNet: described FALSE); hidden otherwise. kind is the network's name (GafSnapshot.model_kind). */
void       gaf_parameter_panel_show_network (GafParameterPanel *self, const char *kind, guint64 n_params,
                                             gboolean described);
/* The control of a parameter: a GtkRange, GtkDropDown, GtkSpinButton or (a file) GtkButton (tests move it). */
GtkWidget *gaf_parameter_panel_get_control  (GafParameterPanel *self, GafParam param);
/* Applies or reverts pending model changes (what the bar's buttons do). */
void       gaf_parameter_panel_apply_model  (GafParameterPanel *self);
void       gaf_parameter_panel_revert_model (GafParameterPanel *self);
gboolean   gaf_parameter_panel_has_pending  (GafParameterPanel *self);
/* Shows a value and applies it like a change by hand (a model parameter waits in the bar). */
void       gaf_parameter_panel_set_value    (GafParameterPanel *self, GafParam param, double value);
/* Shows a text parameter (data) and applies it when it differs from the runner's. */
void       gaf_parameter_panel_set_text     (GafParameterPanel *self, GafParam param, const char *text);
/* Every number back to its default: the sampler and training ones at once, the model ones after Apply;
 * the data (text parameters) stay. */
void       gaf_parameter_panel_restore_defaults (GafParameterPanel *self);
/* The label beside a slider that shows its value (NULL for the drop-down and the spin button). */
GtkWidget *gaf_parameter_panel_get_value_label (GafParameterPanel *self, GafParam param);

/* A parameter's value as the panel shows it: integers whole, log-scale values as 1.0e-05, others with
 * two decimals. */
char       *gaf_param_format_value (GafParam param, double value);
/* The table's label and one sentence on what a parameter does to the flow (translated). */
const char *gaf_param_tooltip (GafParam param);
const char *gaf_param_label   (GafParam param);

G_END_DECLS
