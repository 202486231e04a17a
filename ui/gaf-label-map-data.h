/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* The data behind the label-map view, free of GTK so tests cover it: where the maps and their pixels sit
 * in the grid, the colour of every pixel at a flow time, and the normalised entropy. */

typedef struct {
  int    k, height, width;   /* maps, pixels per map side */
  int    cols, rows;         /* of the grid */
  double x0, y0;             /* top left corner of the first map */
  double cell;               /* side of one map pixel on screen */
  double gap;                /* between neighbouring maps */
} GafLabelGrid;

/* Lays out k maps of height x width pixels in the box (x, y, w, h): ceil(sqrt(k)) columns, the largest
 * cell that fits (whole screen pixels from 2 up, so every map pixel is a crisp square), a gap of a third
 * of a map's side (at least 4 pixels) between maps, the grid centred in the box. cell is 0 when nothing
 * fits. */
void     gaf_label_grid_fit          (GafLabelGrid *grid, int k, int height, int width, double x, double y,
                                      double w, double h);
/* The map and the pixel (row-major index in the map) under (x, y); FALSE in a gap or outside. */
gboolean gaf_label_grid_hit          (const GafLabelGrid *grid, double x, double y, int *map, int *pixel);
/* The top left corner of a pixel of a map on screen. */
void     gaf_label_grid_pixel_origin (const GafLabelGrid *grid, int map, int pixel, double *x, double *y);
/* Total width and height of the laid out grid. */
double   gaf_label_grid_width        (const GafLabelGrid *grid);
double   gaf_label_grid_height       (const GafLabelGrid *grid);

/* -sum_j w_j log w_j / log c, in [0, 1] (0 log 0 = 0): 0 at a vertex, 1 at the barycentre. */
double   gaf_normalized_entropy      (const float *w, int c);
/* The w-weighted mix of the palette's colours (c, 3 bytes), in [0, 1]: a vertex is its class colour, the
 * barycentre the mean colour (gaf_soft_grid_render's rule). */
void     gaf_palette_mix             (const guint8 *palette, const float *w, int c, double rgb[3]);

/* Every recorded pixel at time t (interpolated as gaf_trajectory_at does) as opaque cairo ARGB32 pixels,
 * one per row of tr, in row order: the palette mix, or with `entropy` a gray level equal to the
 * normalised entropy (white: undecided, black: decided). out holds tr->n_rows values. */
void     gaf_label_maps_colors       (const GafTrajectories *tr, const guint8 *palette, double t,
                                      gboolean entropy, guint32 *out);
/* A jump flow's pixels (tr->state) take their state's colour at t instead, and this colour while masked; with
 * `entropy`, the entropy of the network's prediction. */
#define GAF_LABEL_MAP_MASK_COLOR 0xff8c94a0u

G_END_DECLS
