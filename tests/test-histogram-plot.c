/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <math.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gaf-error.h"
#include "gaf-histogram-plot.h"

/* The overlaid histograms of the likelihood command (cairo only, no display): the common bins and
 * counts on hand-computed examples, the pixels of a drawn plot (each series' fill colour where its
 * values are, and only there), and the PNG and SVG files. */

static void
test_bins (void)
{
  g_autoptr(GafHistogramPlotData) d = gaf_histogram_plot_data_new ();
  const double a[] = { 1.0, 2.0, 3.0, 4.0, NAN, INFINITY };
  const double b[] = { 2.5 };
  const double same[] = { 2.0, 2.0 };
  const double none[] = { NAN, -INFINITY };
  GafHistogramSeries *sa, *sb;
  double lo, hi;
  int n_bins;
  guint counts[5];

  /* No data: FALSE and a default range. */
  g_assert_false (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
  gaf_histogram_plot_data_add_series (d, "none", NULL, none, G_N_ELEMENTS (none));
  g_assert_false (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
  g_ptr_array_set_size (d->series, 0);

  sa = gaf_histogram_plot_data_add_series (d, "a", NULL, a, G_N_ELEMENTS (a));
  sb = gaf_histogram_plot_data_add_series (d, "b", NULL, b, G_N_ELEMENTS (b));
  /* default colours: blue, then vermilion */
  g_assert_cmpfloat_with_epsilon (sa->rgb[2], 0.698, 1e-9);
  g_assert_cmpfloat_with_epsilon (sb->rgb[0], 0.835, 1e-9);
  g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
  g_assert_cmpfloat (lo, ==, 1.0);
  g_assert_cmpfloat (hi, ==, 4.0);
  g_assert_cmpint (n_bins, ==, 5);   /* ceil(sqrt(4)) = 2, raised to 5 */
  /* bin width 0.6: 1 -> 0, 2 -> 1, 3 -> 3, 4 -> the closed last bin */
  g_assert_cmpuint (gaf_histogram_series_count (sa, lo, hi, n_bins, counts), ==, 2);
  g_assert_cmpuint (counts[0], ==, 1);
  g_assert_cmpuint (counts[1], ==, 1);
  g_assert_cmpuint (counts[2], ==, 0);
  g_assert_cmpuint (counts[3], ==, 1);
  g_assert_cmpuint (counts[4], ==, 1);
  g_assert_cmpuint (gaf_histogram_series_count (sb, lo, hi, n_bins, counts), ==, 0);
  g_assert_cmpuint (counts[2], ==, 1);
  /* values outside the range go to the end bins */
  g_assert_cmpuint (gaf_histogram_series_count (sa, 2.0, 3.0, 2, counts), ==, 2);
  g_assert_cmpuint (counts[0], ==, 2);
  g_assert_cmpuint (counts[1], ==, 2);
  d->bins = 3;
  g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
  g_assert_cmpint (n_bins, ==, 3);

  /* all values equal: one unit of range around them */
  g_ptr_array_set_size (d->series, 0);
  d->bins = 0;
  gaf_histogram_plot_data_add_series (d, "same", NULL, same, G_N_ELEMENTS (same));
  g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
  g_assert_cmpfloat (lo, ==, 1.5);
  g_assert_cmpfloat (hi, ==, 2.5);

  /* two separated sets of 10: each gets ceil(sqrt(10)) = 4 bins across its own range; the narrower
   * width (3 / 4) over the whole range 14.7 gives 20 bins */
  {
    double lo_set[10], hi_set[10];
    for (int i = 0; i < 10; i++)
      {
        lo_set[i] = 0.3 + 3.0 * i / 9.0;
        hi_set[i] = 9.0 + 6.0 * i / 9.0;
      }
    g_ptr_array_set_size (d->series, 0);
    gaf_histogram_plot_data_add_series (d, "in", NULL, lo_set, 10);
    gaf_histogram_plot_data_add_series (d, "out", NULL, hi_set, 10);
    g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
    g_assert_cmpfloat (lo, ==, 0.3);
    g_assert_cmpfloat (hi, ==, 15.0);
    g_assert_cmpint (n_bins, ==, 20);
  }

  /* many values: ceil(sqrt(m)), at most 60 */
  {
    g_autofree double *many = g_new (double, 10000);
    for (int i = 0; i < 10000; i++)
      many[i] = i;
    g_ptr_array_set_size (d->series, 0);
    gaf_histogram_plot_data_add_series (d, "many", NULL, many, 400);
    g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
    g_assert_cmpint (n_bins, ==, 20);
    gaf_histogram_plot_data_add_series (d, "more", NULL, many, 10000);
    g_assert_true (gaf_histogram_plot_data_bins (d, &lo, &hi, &n_bins));
    g_assert_cmpint (n_bins, ==, 60);
  }
}

/* The colour of a fill over the white background, as 8-bit channels. */
static void
blended (const double rgb[3], int out[3])
{
  for (int k = 0; k < 3; k++)
    out[k] = (int) lround (255.0 * (GAF_HISTOGRAM_FILL_ALPHA * rgb[k] + (1.0 - GAF_HISTOGRAM_FILL_ALPHA)));
}

/* Pixels of colour `want` (within 3 levels a channel) in rows [0, max_row): count and mean column. */
static guint
find_colour (cairo_surface_t *s, const int want[3], int max_row, double *mean_x)
{
  const guint8 *px = cairo_image_surface_get_data (s);
  int w = cairo_image_surface_get_width (s), stride = cairo_image_surface_get_stride (s);
  guint count = 0;
  double sx = 0.0;

  cairo_surface_flush (s);
  for (int y = 0; y < max_row; y++)
    for (int x = 0; x < w; x++)
      {
        guint32 v = *(const guint32 *) (px + (gsize) y * stride + 4 * x);   /* ARGB32, opaque here */
        int r = (v >> 16) & 0xff, g = (v >> 8) & 0xff, b = v & 0xff;
        if (abs (r - want[0]) <= 3 && abs (g - want[1]) <= 3 && abs (b - want[2]) <= 3)
          {
            count++;
            sx += x;
          }
      }
  if (mean_x != NULL)
    *mean_x = count ? sx / count : NAN;
  return count;
}

static cairo_surface_t *
render (const GafHistogramPlotData *d, int w, int h)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cairo_t *cr = cairo_create (s);

  gaf_histogram_plot_draw (cr, d, w, h, NULL);
  cairo_destroy (cr);
  return s;
}

static void
test_pixels (void)
{
  g_autoptr(GafHistogramPlotData) d = gaf_histogram_plot_data_new ();
  double a[200], b[200], xa, xb;
  int ca[3], cb[3];
  GafHistogramSeries *sa, *sb;
  cairo_surface_t *s;
  const int W = 640, H = 420, plot_rows = 250;   /* the frame lies above the axis labels and legend */
  guint na, nb;

  /* in-distribution scores near 1, out-of-distribution near 3: the two never share a bin */
  for (int i = 0; i < 200; i++)
    {
      a[i] = 1.0 + 0.4 * i / 199.0;
      b[i] = 3.0 + 0.4 * i / 199.0;
    }
  sa = gaf_histogram_plot_data_add_series (d, "in-distribution", NULL, a, 200);
  sb = gaf_histogram_plot_data_add_series (d, "out-of-distribution", NULL, b, 200);
  d->title = g_strdup ("ROC AUC 1.000");
  blended (sa->rgb, ca);
  blended (sb->rgb, cb);

  s = render (d, W, H);
  na = find_colour (s, ca, plot_rows, &xa);
  nb = find_colour (s, cb, plot_rows, &xb);
  g_test_message ("fill pixels: %u (mean x %.0f) and %u (mean x %.0f)", na, xa, nb, xb);
  /* both fills are there, as large areas, the in-distribution one on the left */
  g_assert_cmpuint (na, >, 2000);
  g_assert_cmpuint (nb, >, 2000);
  g_assert_cmpfloat (xa, <, 0.4 * W);
  g_assert_cmpfloat (xb, >, 0.6 * W);
  /* the legend has a swatch of each below the frame */
  g_assert_cmpuint (find_colour (s, ca, H, NULL), >, na);
  g_assert_cmpuint (find_colour (s, cb, H, NULL), >, nb);
  cairo_surface_destroy (s);

  /* one series only: the other colour is nowhere */
  g_ptr_array_set_size (d->series, 1);
  s = render (d, W, H);
  g_assert_cmpuint (find_colour (s, ca, H, NULL), >, 2000);
  g_assert_cmpuint (find_colour (s, cb, H, NULL), ==, 0);
  cairo_surface_destroy (s);
}

static void
test_files (void)
{
  g_autoptr(GafHistogramPlotData) d = gaf_histogram_plot_data_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("gaflow-hist-XXXXXX", &error);
  g_autofree char *png = g_build_filename (dir, "h.PNG", NULL);
  g_autofree char *svg = g_build_filename (dir, "h.svg", NULL);
  g_autofree char *text = NULL;
  const double a[] = { 1.0, 1.5, 2.0, INFINITY }, b[] = { 2.0, 2.5, 3.0 };
  cairo_surface_t *s;

  g_assert_no_error (error);
  gaf_histogram_plot_data_add_series (d, "in", NULL, a, G_N_ELEMENTS (a));
  gaf_histogram_plot_data_add_series (d, "out", NULL, b, G_N_ELEMENTS (b));
  d->title = g_strdup ("ROC AUC 0.917");
  d->note = g_strdup ("a note");

  g_assert_true (gaf_histogram_plot_write (d, png, 500, 360, NULL, &error));
  g_assert_no_error (error);
  s = cairo_image_surface_create_from_png (png);
  g_assert_cmpint (cairo_surface_status (s), ==, CAIRO_STATUS_SUCCESS);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 500);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 360);
  cairo_surface_destroy (s);

  g_assert_true (gaf_histogram_plot_write (d, svg, 500, 360, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (svg, &text, NULL, &error));
  g_assert_nonnull (strstr (text, "<svg"));
  g_assert_nonnull (strstr (text, "width=\"500px\""));

  g_assert_false (gaf_histogram_plot_write (d, "h.pdf", 500, 360, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (gaf_histogram_plot_write (d, "/nonexistent-dir/h.png", 500, 360, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_false (gaf_histogram_plot_write (d, png, 20, 360, NULL, &error));
  g_assert_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT);

  g_remove (png);
  g_remove (svg);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/plot/histogram/bins", test_bins);
  g_test_add_func ("/plot/histogram/pixels", test_pixels);
  g_test_add_func ("/plot/histogram/files", test_files);
  return g_test_run ();
}
