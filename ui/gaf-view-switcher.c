/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-view-switcher"
#include "config.h"

#include "gaf-view-switcher.h"

#define SPACING 4

struct _GafViewSwitcher {
  GtkWidget  parent_instance;

  GtkStack  *stack;
  GListModel *pages;    /* the stack's pages, kept to hear of pages added later (the window's extra views) */
  GPtrArray *buttons;   /* GtkToggleButton, one per page in the stack's order; each has "gaf-page" */
  gboolean   syncing;
};

G_DEFINE_FINAL_TYPE (GafViewSwitcher, gaf_view_switcher, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_STACK,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
sync_active (GafViewSwitcher *self)
{
  const char *visible = self->stack ? gtk_stack_get_visible_child_name (self->stack) : NULL;

  self->syncing = TRUE;
  for (guint i = 0; i < self->buttons->len; i++)
    {
      GtkToggleButton *b = g_ptr_array_index (self->buttons, i);
      gtk_toggle_button_set_active (b, g_strcmp0 (g_object_get_data (G_OBJECT (b), "gaf-page"), visible) == 0);
    }
  self->syncing = FALSE;
}

static void
on_button_toggled (GtkToggleButton *button, GafViewSwitcher *self)
{
  if (self->syncing || self->stack == NULL)
    return;
  if (gtk_toggle_button_get_active (button))
    gtk_stack_set_visible_child_name (self->stack, g_object_get_data (G_OBJECT (button), "gaf-page"));
  else
    sync_active (self);   /* the visible page's button stays pressed */
}

static void
rebuild (GafViewSwitcher *self)
{
  GtkSelectionModel *pages;
  guint n;

  for (guint i = 0; i < self->buttons->len; i++)
    gtk_widget_unparent (g_ptr_array_index (self->buttons, i));
  g_ptr_array_set_size (self->buttons, 0);
  if (self->stack == NULL)
    return;
  pages = gtk_stack_get_pages (self->stack);
  n = g_list_model_get_n_items (G_LIST_MODEL (pages));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GObject) item = g_list_model_get_item (G_LIST_MODEL (pages), i);
      GtkStackPage *page = GTK_STACK_PAGE (item);
      GtkWidget *button = gtk_toggle_button_new_with_label (gtk_stack_page_get_title (page));
      g_autofree char *tip = g_strdup_printf ("%s (Ctrl+%u)", gtk_stack_page_get_title (page), i + 1);

      g_object_set_data_full (G_OBJECT (button), "gaf-page", g_strdup (gtk_stack_page_get_name (page)), g_free);
      g_signal_connect (button, "toggled", G_CALLBACK (on_button_toggled), self);
      gtk_widget_set_focus_on_click (button, FALSE);
      gtk_widget_set_tooltip_text (button, tip);
      gtk_widget_set_parent (button, GTK_WIDGET (self));
      g_ptr_array_add (self->buttons, button);
    }
  g_object_unref (pages);
  sync_active (self);
}

/* Rows of buttons at their natural widths, filled greedily; a button wider than the width gets a row of
 * its own. Writes each button's row into rows (if not NULL) and returns the number of rows. */
static guint
layout_rows (GafViewSwitcher *self, int width, guint *rows)
{
  guint row = 0;
  int x = 0;

  for (guint i = 0; i < self->buttons->len; i++)
    {
      int nat;
      gtk_widget_measure (g_ptr_array_index (self->buttons, i), GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
      if (x > 0 && x + SPACING + nat > width)
        {
          row++;
          x = 0;
        }
      x += (x > 0 ? SPACING : 0) + nat;
      if (rows != NULL)
        rows[i] = row;
    }
  return self->buttons->len ? row + 1 : 0;
}

static int
row_height (GafViewSwitcher *self)
{
  int h = 0;

  for (guint i = 0; i < self->buttons->len; i++)
    {
      int nat;
      gtk_widget_measure (g_ptr_array_index (self->buttons, i), GTK_ORIENTATION_VERTICAL, -1, NULL, &nat, NULL, NULL);
      h = MAX (h, nat);
    }
  return h;
}

static GtkSizeRequestMode
gaf_view_switcher_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
gaf_view_switcher_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum,
                           int *natural, int *minimum_baseline, int *natural_baseline)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (widget);

  *minimum = *natural = 0;
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      for (guint i = 0; i < self->buttons->len; i++)
        {
          int min, nat;
          gtk_widget_measure (g_ptr_array_index (self->buttons, i), orientation, -1, &min, &nat, NULL, NULL);
          *minimum = MAX (*minimum, nat);
          *natural += nat + (i ? SPACING : 0);
        }
    }
  else
    {
      guint n_rows = layout_rows (self, for_size < 0 ? G_MAXINT : for_size, NULL);
      int h = row_height (self);
      *minimum = *natural = n_rows ? (int) n_rows * h + ((int) n_rows - 1) * SPACING : 0;
    }
}

static void
gaf_view_switcher_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (widget);
  g_autofree guint *rows = g_new0 (guint, MAX (self->buttons->len, 1));
  guint n_rows = layout_rows (self, width, rows);
  int h = row_height (self);

  for (guint r = 0; r < n_rows; r++)
    {
      int row_width = 0, x;
      for (guint i = 0; i < self->buttons->len; i++)
        if (rows[i] == r)
          {
            int nat;
            gtk_widget_measure (g_ptr_array_index (self->buttons, i), GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
            row_width += (row_width ? SPACING : 0) + nat;
          }
      x = MAX (0, (width - row_width) / 2);   /* each row centred */
      for (guint i = 0; i < self->buttons->len; i++)
        if (rows[i] == r)
          {
            GtkWidget *b = g_ptr_array_index (self->buttons, i);
            int nat;
            gtk_widget_measure (b, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
            gtk_widget_size_allocate (b, &(GtkAllocation) { x, (int) r * (h + SPACING), MIN (nat, width), h }, -1);
            x += nat + SPACING;
          }
    }
}

void
gaf_view_switcher_set_stack (GafViewSwitcher *self, GtkStack *stack)
{
  g_return_if_fail (GAF_IS_VIEW_SWITCHER (self));
  g_return_if_fail (stack == NULL || GTK_IS_STACK (stack));
  if (self->stack == stack)
    return;
  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  if (self->pages != NULL)
    g_signal_handlers_disconnect_by_data (self->pages, self);
  g_clear_object (&self->pages);
  g_set_object (&self->stack, stack);
  if (stack != NULL)
    {
      g_signal_connect_swapped (stack, "notify::visible-child-name", G_CALLBACK (sync_active), self);
      self->pages = G_LIST_MODEL (gtk_stack_get_pages (stack));
      g_signal_connect_swapped (self->pages, "items-changed", G_CALLBACK (rebuild), self);
    }
  rebuild (self);
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK]);
}

GtkStack *
gaf_view_switcher_get_stack (GafViewSwitcher *self)
{
  g_return_val_if_fail (GAF_IS_VIEW_SWITCHER (self), NULL);
  return self->stack;
}

guint
gaf_view_switcher_get_n_rows (GafViewSwitcher *self)
{
  g_return_val_if_fail (GAF_IS_VIEW_SWITCHER (self), 0);
  return layout_rows (self, gtk_widget_get_width (GTK_WIDGET (self)), NULL);
}

static void
gaf_view_switcher_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (object);

  switch (prop_id)
    {
    case PROP_STACK:
      g_value_set_object (value, self->stack);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_view_switcher_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (object);

  switch (prop_id)
    {
    case PROP_STACK:
      gaf_view_switcher_set_stack (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
gaf_view_switcher_dispose (GObject *object)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (object);

  if (self->stack != NULL)
    g_signal_handlers_disconnect_by_data (self->stack, self);
  if (self->pages != NULL)
    g_signal_handlers_disconnect_by_data (self->pages, self);
  g_clear_object (&self->pages);
  g_clear_object (&self->stack);
  for (guint i = 0; i < self->buttons->len; i++)
    gtk_widget_unparent (g_ptr_array_index (self->buttons, i));
  g_ptr_array_set_size (self->buttons, 0);
  G_OBJECT_CLASS (gaf_view_switcher_parent_class)->dispose (object);
}

static void
gaf_view_switcher_finalize (GObject *object)
{
  GafViewSwitcher *self = GAF_VIEW_SWITCHER (object);

  g_ptr_array_unref (self->buttons);
  G_OBJECT_CLASS (gaf_view_switcher_parent_class)->finalize (object);
}

static void
gaf_view_switcher_class_init (GafViewSwitcherClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = gaf_view_switcher_dispose;
  object_class->finalize = gaf_view_switcher_finalize;
  object_class->get_property = gaf_view_switcher_get_property;
  object_class->set_property = gaf_view_switcher_set_property;
  widget_class->get_request_mode = gaf_view_switcher_get_request_mode;
  widget_class->measure = gaf_view_switcher_measure;
  widget_class->size_allocate = gaf_view_switcher_size_allocate;

  properties[PROP_STACK] =
    g_param_spec_object ("stack", NULL, NULL, GTK_TYPE_STACK,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "viewswitcher");
}

static void
gaf_view_switcher_init (GafViewSwitcher *self)
{
  self->buttons = g_ptr_array_new ();
}

GtkWidget *
gaf_view_switcher_new (void)
{
  return g_object_new (GAF_TYPE_VIEW_SWITCHER, NULL);
}
