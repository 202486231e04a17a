/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-runner.h"

G_BEGIN_DECLS

/* Geometry of the simplex view, free of GTK so tests cover it: the projection of S_c onto a regular
 * c-gon, the geodesics drawn by the teaching overlays, the reference density and the interpolation of
 * recorded trajectories. Points are (x, y) with y up; the c-gon has unit circumradius. */

typedef struct {
  double x, y;
} GafPoint;

/* Vertex k of the regular c-gon: at angle pi/2 + 2 pi k / c (class 1 on top). For c = 2 the segment
 * runs left to right. */
GafPoint gaf_polygon_vertex      (int c, int k);
/* Barycentric projection sum_j p_j v_j (exact for c = 3; a linear shadow for c > 3). */
GafPoint gaf_simplex_project     (const float *p, int c);
GafPoint gaf_simplex_project_d   (const double *p, int c);
/* c = 3: the barycentric coordinates of a point; FALSE when it lies outside the triangle. */
gboolean gaf_simplex_unproject3  (GafPoint point, double p[3]);

/* Curves sampled at n points (n, c) for s in [0, 1] from a to b (interior points of S_c):
 * e-geodesic softmax((1 - s) log a + s log b) (straight in logits), m-geodesic (1 - s) a + s b (straight in p),
 * Fisher-Rao geodesic: the great circle through sqrt(a) and sqrt(b), squared. */
void     gaf_geodesic_e          (const double *a, const double *b, int c, guint n, double *out);
void     gaf_geodesic_m          (const double *a, const double *b, int c, guint n, double *out);
void     gaf_geodesic_fisher_rao (const double *a, const double *b, int c, guint n, double *out);
/* Fisher-Rao distance 2 arccos sum_j sqrt(a_j b_j). */
double   gaf_fisher_rao_distance (const double *a, const double *b, int c);
/* The conditional e-geodesic of docs/method.md §2.1 from p towards vertex k: softmax(log p + s u_k), u_k the unit
 * target direction, s in [0, s_max], n points. */
void     gaf_conditional_geodesic (const double *p, int k, int c, double s_max, guint n, double *out);
/* The reference density of W = softmax(Pi_0 xi), xi ~ N(0, I_3), at p in S_3, relative to Lebesgue measure
 * on the triangle, up to a constant factor: N(y; 0, I_2) / (p_1 p_2 p_3) with y the tangent coordinates. */
double   gaf_reference_density3  (const double p[3]);

/* W of recorded row `row` at time t, interpolated along the e-geodesic between the neighbouring records
 * (linearly in logits, as the integrator moves), clamped to [0, T]. out has c entries. */
void     gaf_trajectory_at       (const GafTrajectories *tr, guint row, double t, float *out);
/* Index of the last record at or before t. */
guint    gaf_trajectory_index    (const GafTrajectories *tr, double t);
/* dW/dt of the field grid at time t (linear in t between the grid's times). out (n_points, c). */
void     gaf_field_at            (const GafFieldGrid *field, double t, float *out);

/* The recorded rows as CSV: row,position,label,t,w1..wc (one line per row and record). */
char    *gaf_trajectories_to_csv (const GafTrajectories *tr);

/* Placement of the c-gon in a width x height area with a margin, y down on screen. */
typedef struct {
  double cx, cy, scale;
} GafSimplexFrame;

void     gaf_simplex_frame_fit   (GafSimplexFrame *frame, int c, double width, double height, double margin);
/* Shrinks the frame about its centre (never below min_scale) until every vertex's label box stays inside
 * [x0, x1] x [y0, y1]; boxes holds c rows (dx0, dy0, dx1, dy1), each relative to its vertex's mapped position,
 * which moves with the scale while the box keeps its size. Returns the new scale (unchanged if all fit). */
double   gaf_simplex_frame_fit_labels (GafSimplexFrame *frame, int c, const double *boxes, double x0, double y0,
                                       double x1, double y1, double min_scale);
GafPoint gaf_simplex_frame_map   (const GafSimplexFrame *frame, GafPoint point);
GafPoint gaf_simplex_frame_unmap (const GafSimplexFrame *frame, double x, double y);

/* Class colours (RGB in [0, 1]): a fixed palette, repeated with lighter shades beyond 12. */
void     gaf_class_color         (int k, double rgb[3]);
/* The W-weighted mix of class colours. */
void     gaf_mix_color           (const float *w, int c, double rgb[3]);

G_END_DECLS
