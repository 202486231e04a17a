/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-wrap-box"
#include "config.h"

#include "gaf-wrap-box.h"

#define SPACING 8

struct _GafWrapBox {
  GtkWidget parent_instance;
};

G_DEFINE_FINAL_TYPE (GafWrapBox, gaf_wrap_box, GTK_TYPE_WIDGET)

static int
natural_width (GtkWidget *child)
{
  int nat;
  gtk_widget_measure (child, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &nat, NULL, NULL);
  return nat;
}

/* Calls place (child, row, x, y, width, height) for each visible child laid out in `width`; returns the
 * total height. */
static int
layout (GtkWidget *widget, int width, gboolean allocate)
{
  GtkWidget *row_start = gtk_widget_get_first_child (widget);
  int y = 0;

  while (row_start != NULL)
    {
      GtkWidget *end = row_start, *c;
      int x = 0, h = 0, n = 0;

      /* The children of this row. */
      for (c = row_start; c != NULL; c = gtk_widget_get_next_sibling (c))
        {
          int w;
          if (!gtk_widget_get_visible (c))
            continue;
          w = natural_width (c);
          if (n > 0 && x + SPACING + w > width)
            break;
          x += (n ? SPACING : 0) + w;
          n++;
          end = gtk_widget_get_next_sibling (c);
        }
      if (n == 0)
        {
          /* Only invisible children left. */
          break;
        }
      for (c = row_start; c != end; c = gtk_widget_get_next_sibling (c))
        if (gtk_widget_get_visible (c))
          {
            int nat;
            gtk_widget_measure (c, GTK_ORIENTATION_VERTICAL, -1, NULL, &nat, NULL, NULL);
            h = MAX (h, nat);
          }
      if (allocate)
        {
          int spare = MAX (0, width - x), xx = 0;
          for (c = row_start; c != end; c = gtk_widget_get_next_sibling (c))
            if (gtk_widget_get_visible (c))
              {
                int w = MIN (natural_width (c), width);
                GtkWidget *next = gtk_widget_get_next_sibling (c);
                gboolean last = TRUE;
                for (; next != end; next = gtk_widget_get_next_sibling (next))
                  if (gtk_widget_get_visible (next))
                    last = FALSE;
                if (last && gtk_widget_get_hexpand (c))
                  w += spare;
                gtk_widget_size_allocate (c, &(GtkAllocation) { xx, y, w, h }, -1);
                xx += w + SPACING;
              }
        }
      y += h + SPACING;
      row_start = end;
    }
  return y > 0 ? y - SPACING : 0;
}

static GtkSizeRequestMode
gaf_wrap_box_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
gaf_wrap_box_measure (GtkWidget *widget, GtkOrientation orientation, int for_size, int *minimum, int *natural,
                      int *minimum_baseline, int *natural_baseline)
{
  *minimum = *natural = 0;
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int n = 0;
      for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL; c = gtk_widget_get_next_sibling (c))
        if (gtk_widget_get_visible (c))
          {
            int nat = natural_width (c);
            *minimum = MAX (*minimum, nat);
            *natural += nat + (n++ ? SPACING : 0);
          }
    }
  else
    *minimum = *natural = layout (widget, for_size < 0 ? G_MAXINT / 2 : for_size, FALSE);
}

static void
gaf_wrap_box_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  layout (widget, width, TRUE);
}

static void
gaf_wrap_box_dispose (GObject *object)
{
  for (GtkWidget *child; (child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL;)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (gaf_wrap_box_parent_class)->dispose (object);
}

static void
gaf_wrap_box_class_init (GafWrapBoxClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = gaf_wrap_box_dispose;
  widget_class->get_request_mode = gaf_wrap_box_get_request_mode;
  widget_class->measure = gaf_wrap_box_measure;
  widget_class->size_allocate = gaf_wrap_box_size_allocate;
  gtk_widget_class_set_css_name (widget_class, "wrapbox");
}

static void
gaf_wrap_box_init (GafWrapBox *self)
{
}

GtkWidget *
gaf_wrap_box_new (void)
{
  return g_object_new (GAF_TYPE_WRAP_BOX, NULL);
}
