/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-label-map-data"
#include "config.h"

#include <math.h>

#include "gaf-label-map-data.h"
#include "gaf-simplex-geometry.h"

void
gaf_label_grid_fit (GafLabelGrid *grid, int k, int height, int width, double x, double y, double w, double h)
{
  int cols = (int) ceil (sqrt ((double) MAX (k, 1))), rows = (MAX (k, 1) + cols - 1) / cols;
  /* Side of a map in cells including its share of the gaps: a gap is a third of the map's larger side. */
  double gap_cells = MAX (height, width) / 3.0;
  double cell_w = w / (cols * width + (cols - 1) * gap_cells);
  double cell_h = h / (rows * height + (rows - 1) * gap_cells);
  double cell = MIN (cell_w, cell_h);

  grid->k = k;
  grid->height = height;
  grid->width = width;
  grid->cols = cols;
  grid->rows = rows;
  if (cell >= 2.0)
    cell = floor (cell);
  grid->cell = cell > 0 && isfinite (cell) ? cell : 0.0;
  grid->gap = MAX (4.0, round (gap_cells * grid->cell));
  grid->x0 = round (x + (w - gaf_label_grid_width (grid)) / 2);
  grid->y0 = round (y + (h - gaf_label_grid_height (grid)) / 2);
}

double
gaf_label_grid_width (const GafLabelGrid *grid)
{
  return grid->cols * grid->width * grid->cell + (grid->cols - 1) * grid->gap;
}

double
gaf_label_grid_height (const GafLabelGrid *grid)
{
  return grid->rows * grid->height * grid->cell + (grid->rows - 1) * grid->gap;
}

gboolean
gaf_label_grid_hit (const GafLabelGrid *grid, double x, double y, int *map, int *pixel)
{
  double map_w = grid->width * grid->cell, map_h = grid->height * grid->cell;
  double u = x - grid->x0, v = y - grid->y0;
  int col, row, px, py, m;

  if (grid->cell <= 0 || u < 0 || v < 0)
    return FALSE;
  col = (int) floor (u / (map_w + grid->gap));
  row = (int) floor (v / (map_h + grid->gap));
  u -= col * (map_w + grid->gap);
  v -= row * (map_h + grid->gap);
  if (col >= grid->cols || row >= grid->rows || u >= map_w || v >= map_h)
    return FALSE;
  m = row * grid->cols + col;
  if (m >= grid->k)
    return FALSE;
  px = MIN ((int) floor (u / grid->cell), grid->width - 1);
  py = MIN ((int) floor (v / grid->cell), grid->height - 1);
  *map = m;
  *pixel = py * grid->width + px;
  return TRUE;
}

void
gaf_label_grid_pixel_origin (const GafLabelGrid *grid, int map, int pixel, double *x, double *y)
{
  int col = map % grid->cols, row = map / grid->cols;

  *x = grid->x0 + col * (grid->width * grid->cell + grid->gap) + (pixel % grid->width) * grid->cell;
  *y = grid->y0 + row * (grid->height * grid->cell + grid->gap) + (pixel / grid->width) * grid->cell;
}

double
gaf_normalized_entropy (const float *w, int c)
{
  double h = 0.0;

  if (c < 2)
    return 0.0;
  for (int j = 0; j < c; j++)
    if (w[j] > 0.0f)
      h -= w[j] * log (w[j]);
  return CLAMP (h / log (c), 0.0, 1.0);
}

void
gaf_palette_mix (const guint8 *palette, const float *w, int c, double rgb[3])
{
  rgb[0] = rgb[1] = rgb[2] = 0.0;
  for (int j = 0; j < c; j++)
    for (int ch = 0; ch < 3; ch++)
      rgb[ch] += w[j] * palette[j * 3 + ch] / 255.0;
  for (int ch = 0; ch < 3; ch++)
    rgb[ch] = CLAMP (rgb[ch], 0.0, 1.0);
}

void
gaf_label_maps_colors (const GafTrajectories *tr, const guint8 *palette, double t, gboolean entropy,
                       guint32 *out)
{
  float *w = g_newa (float, tr->c);

  for (guint r = 0; r < tr->n_rows; r++)
    {
      double rgb[3];
      gaf_trajectory_at (tr, r, t, w);
      if (tr->state != NULL && !entropy)
        {
          /* a jump flow: the chain's state at t, a class or the mask (a blue-grey no palette uses) */
          guint16 x = tr->state[(gsize) gaf_trajectory_index (tr, t) * tr->n_rows + r];
          out[r] = x < tr->c ? 0xff000000u | ((guint32) palette[x * 3] << 16) | ((guint32) palette[x * 3 + 1] << 8) |
                                 (guint32) palette[x * 3 + 2]
                             : GAF_LABEL_MAP_MASK_COLOR;
          continue;
        }
      if (entropy)
        rgb[0] = rgb[1] = rgb[2] = gaf_normalized_entropy (w, tr->c);
      else
        gaf_palette_mix (palette, w, tr->c, rgb);
      out[r] = 0xff000000u | ((guint32) lround (rgb[0] * 255) << 16) | ((guint32) lround (rgb[1] * 255) << 8) |
               (guint32) lround (rgb[2] * 255);
    }
}
