/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "gaf-image-io.h"
#include "gaf-rng.h"

G_BEGIN_DECLS

/* Image datasets of label maps (docs/method.md §5 "Images"): `count` maps of height x width pixels, each pixel
 * a class in [0, c) stored as guint16, laid out (count, height * width) row-major. Three sources:
 *
 * - Fashion-MNIST (Debian's dataset-fashion-mnist): gzip IDX files read through GIO's zlib
 *   decompressor, the 28 x 28 gray images quantized to c gray levels by
 *       level(v) = min(c - 1, floor(v / 256 * c)),   v in 0..255,
 *   so c = 2 is "binarized at 0.5" (v >= 128 -> 1) and c = 4 cuts at 64, 128, 192. Sizes: 28 (native),
 *   32 (zero padding of 2 pixels on each side; 0 is level 0) and 16 (the 32 x 32 padded image reduced
 *   by 2 x 2 average pooling of the intensities, then quantized: level = min(c - 1, floor(s c / 1024))
 *   with s the sum of the four values). The train (60,000) and test (10,000) splits come from their
 *   own files.
 * - Procedural scene labelings: coarse segmentation maps of outdoor scenes drawn from (seed, split,
 *   index) alone (see gaf_scene_render).
 * - A folder of label maps: every *.pgm and *.png file (gaf-image-io.h), sorted by name.
 */

typedef enum {
  GAF_DATASET_FASHION_MNIST,
  GAF_DATASET_SCENES,
  GAF_DATASET_FOLDER,
} GafDatasetKind;

typedef enum {
  GAF_SPLIT_TRAIN,
  GAF_SPLIT_TEST,
} GafSplit;

typedef struct {
  GafDatasetKind kind;
  char          *name;         /* a spec that loads the same data again, e.g. "scenes:classes=8,size=32,count=100,seed=1,split=train" */
  char          *description;  /* one sentence for reports */
  int            c;            /* classes */
  int            height;
  int            width;
  guint          count;        /* maps */
  guint16       *labels;       /* (count, height * width) */
  guint8        *classes;      /* Fashion-MNIST: the garment class of each map (count); NULL otherwise */
  char         **files;        /* folder: the file of each map (count, then NULL); NULL otherwise */
  GafPaletteKind palette;      /* the palette pictures of this data use */
} GafDataset;

#define GAF_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Largest class count of a dataset (labels are guint16). */
#define GAF_DATASET_MAX_CLASSES 65536
/* Largest class count a folder infers from its pixel values (classes=C, up to GAF_DATASET_MAX_CLASSES,
 * gives more): one stray 16-bit pixel must not turn 2 classes into 65,536, and every model's size grows
 * with c. */
#define GAF_DATASET_INFER_MAX_CLASSES 256
/* Most label maps in a folder. */
#define GAF_DATASET_FOLDER_MAX_MAPS 1000000

void        gaf_dataset_free (GafDataset *dataset);

/* dir NULL: GAF_FASHION_MNIST_DIR. Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (or the
 * same names without .gz). levels 2..256, size 16, 28 or 32, limit 0 for all maps or the first
 * `limit`. Every file is read to its end and checked (gaf_idx_load). */
GafDataset *gaf_dataset_new_fashion_mnist (const char *dir, GafSplit split, int levels, int size, guint limit,
                                           GError **error);
/* Maps i = 0..count-1 of gaf_scene_render (c, height, width, seed, split, i). c 2..65536. */
GafDataset *gaf_dataset_new_scenes (int c, int height, int width, guint count, guint64 seed, GafSplit split);
/* Every *.pgm and *.png (any case) in dir, sorted by name (g_strcmp0 on the file names). c 0: inferred
 * as the largest value + 1, at least 2, at most GAF_DATASET_INFER_MAX_CLASSES (a larger value is an
 * error naming the pixel and the file); otherwise every value must be below c. The maps together must
 * fit the memory budget (gaf-budget.h). Each failure is a
 * GError naming the file (and the pixel, for a value out of range): empty folder, unreadable file,
 * not a PGM or PNG, colour PNG, size different from the first file. */
GafDataset *gaf_dataset_new_folder (const char *dir, int c, GError **error);

/* The CLI's dataset argument, one of
 *   fashion-mnist[:levels=L][,size=16|28|32][,split=train|test][,limit=N][,shuffle=S][,dir=PATH]
 *                                                                   (defaults 2, 32, train, all, 0)
 *   scenes[:classes=C][,size=S|WxH][,count=N][,seed=S][,split=train|test][,shuffle=S]
 *                                                                   (defaults 8, 32, 10000, 1, train, 0)
 *   folder:DIR[,classes=C][,shuffle=S]
 * shuffle=S (S > 0) permutes the pixels of each map (gaf_dataset_shuffle_pixels with seed S; 0 = off):
 * a set with the same per-map class counts and no spatial structure, an out-of-distribution probe.
 * A folder path may contain commas; only trailing ",classes=C" and ",shuffle=S" are options. Any
 * mistake (unknown kind or key, repeated key, bad value) is one GAF_ERROR_INVALID_ARGUMENT error. */
GafDataset *gaf_dataset_new_from_spec (const char *spec, GError **error);
/* Whether spec names one of the kinds above (fashion-mnist, scenes, folder; its options are not
 * checked: gaf_dataset_new_from_spec does that). */
gboolean    gaf_dataset_spec_is_dataset (const char *spec);
/* The kinds, for help texts and messages. */
#define GAF_DATASET_SPEC_HELP "fashion-mnist[:levels=L,size=16|28|32], scenes[:classes=C,size=S] or folder:DIR[,classes=C]"

static inline gsize
gaf_dataset_pixels (const GafDataset *dataset)
{
  return (gsize) dataset->height * dataset->width;
}

/* Permutes the pixels of every map in place, a fresh uniformly random permutation per map (Fisher-Yates)
 * from one stream seeded by `seed`, maps in order: map i is shuffled the same way whatever the count.
 * Each map keeps its class counts; labels, classes and files stay with their maps. */
void        gaf_dataset_shuffle_pixels (GafDataset *dataset, guint64 seed);

/* Map i (height * width labels). */
const guint16 *gaf_dataset_item (const GafDataset *dataset, guint i);

/* A GafLabelFunc (gaf-trainer.h) with the dataset as user data: labels (batch, height * width) are
 * `batch` maps drawn uniformly with replacement. */
void        gaf_dataset_sample (gpointer dataset, GafRng *rng, guint16 *labels, int batch);

/* Per-pixel class frequencies (height * width, c) of the dataset, each row summing to 1 (no smoothing). */
double     *gaf_dataset_marginals (const GafDataset *dataset);

/* The palette (c, 3) of dataset->palette, to be freed with g_free. */
guint8     *gaf_dataset_new_palette (const GafDataset *dataset);

/* ---- IDX files --------------------------------------------------------------------------------- */

/* An IDX file of unsigned bytes (type 0x08): magic 0x0000 08 D (D dimensions), D big-endian 32-bit
 * sizes, then the data. `kept` items (dims[0] is the count, an item the product of the other sizes)
 * are in data. */
typedef struct {
  int      ndims;
  guint32  dims[4];
  guint32  kept;
  gsize    item_size;
  guint8  *data;      /* (kept, item_size) */
} GafIdx;

#define GAF_IDX_MAGIC_LABELS 0x00000801
#define GAF_IDX_MAGIC_IMAGES 0x00000803

/* Reads path (gzip, told by its first two bytes 1f 8b, through GZlibDecompressor; else raw) and keeps
 * the first `limit` items (0: all). The whole file is read and checked: magic equal to `magic`, sizes
 * from 1 to 2^24, the data exactly as long as the sizes say (no less: "truncated", no more: "trailing
 * bytes"), a valid gzip stream, a regular file of at most GAF_IDX_MAX_BYTES whose items take at most as
 * many (Fashion-MNIST's largest file has 47 MB), the kept items within the memory budget (gaf-budget.h).
 * Errors (GAF_ERROR_FORMAT, GAF_ERROR_IO when unreadable) name the file. */
#define GAF_IDX_MAX_BYTES (G_GUINT64_CONSTANT (1) << 30)
gboolean    gaf_idx_load  (const char *path, guint32 magic, guint32 limit, GafIdx *out, GError **error);
void        gaf_idx_clear (GafIdx *idx);

/* Fashion-MNIST quantization (see the top of this file). */
static inline guint16
gaf_quantize_level (guint v, int c)
{
  guint l = (v * (guint) c) >> 8;
  return (guint16) MIN (l, (guint) c - 1);
}

/* One 28 x 28 image (bytes) -> labels (size, size) for size 16, 28 or 32, c levels. */
void        gaf_fashion_mnist_convert (const guint8 *image, int size, int c, guint16 *labels);

/* ---- procedural scenes ------------------------------------------------------------------------- */

/* Scene classes, in the order they are drawn over each other (later on top): sky, then sun and clouds
 * in the sky, buildings standing on the horizon, the ground below the horizon (a tilted, gently
 * curved line), a lake on the ground, a road from the bottom edge to a vanishing point on the
 * horizon, trees (a crown blob on a trunk) standing on the ground, then classes 8, 9, ... as extra
 * object kinds on the ground (ellipses, boxes and triangles, by kind). With c classes only kinds
 * below c are drawn; the named part of the layout does not depend on c, so a scene at c = 3 is the
 * scene at c = 8 with the buildings, lake, trees, clouds and sun left out. The extra objects (1 to 3
 * per map when c > 8, kinds uniform among the c - 8) come from a stream of their own. */
enum {
  GAF_SCENE_SKY,
  GAF_SCENE_GROUND,
  GAF_SCENE_ROAD,
  GAF_SCENE_BUILDING,
  GAF_SCENE_TREE,
  GAF_SCENE_WATER,
  GAF_SCENE_CLOUD,
  GAF_SCENE_SUN,
  GAF_SCENE_N_NAMED,
};

/* "sky", ..., "sun", then "object 1", "object 2", ... for the extra kinds (newly allocated). */
char       *gaf_scene_class_name (int k);
/* Map `index` of the stream (seed, split): labels (height, width). Shapes live in the unit square and
 * each pixel takes the class at its centre, so the same scene is drawn at every size; it depends on
 * (seed, split, index) only, not on how many maps are made. */
void        gaf_scene_render (int c, int height, int width, guint64 seed, GafSplit split, guint64 index,
                              guint16 *labels);

/* ---- statistics of sets of label maps ---------------------------------------------------------- */

/* Pseudo-count added to every class count before per-pixel frequencies are compared (Krichevsky-
 * Trofimov / Jeffreys): p_ij = (n_ij + 1/2) / (N + c/2). It keeps the KL finite when a class never
 * occurs at a pixel in one of the sets, and changes a frequency by at most c / (2N). */
#define GAF_MARGINAL_SMOOTHING 0.5

/* out (n, c): (count of class j at pixel i + alpha) / (count + c alpha); labels (count, n). */
void        gaf_label_maps_marginals (const guint16 *labels, guint count, gsize n, int c, double alpha,
                                      double *out);
/* mean over the n pixels of KL(p_a,i || p_b,i) = sum_j p_a log(p_a / p_b) in nats, 0 log 0 = 0
 * (+inf when p_b is 0 where p_a is not). */
double      gaf_marginals_kl (const double *pa, const double *pb, gsize n, int c);
/* The same from two sets of maps with GAF_MARGINAL_SMOOTHING on both. */
double      gaf_label_maps_marginal_kl (const guint16 *a, guint count_a, const guint16 *b, guint count_b,
                                        gsize n, int c);
/* Fraction of the 4-neighbour pairs (each horizontal and vertical pair once: h (w - 1) + (h - 1) w per
 * map) whose two pixels have the same label. 1 for constant maps; 1/c on average for independent
 * uniform pixels. Maps of one pixel have no pairs: returns NAN then. */
double      gaf_label_maps_neighbour_agreement (const guint16 *labels, guint count, int height, int width);
/* Mean over the maps of the number of 4-connected regions of equal label. */
double      gaf_label_maps_mean_regions (const guint16 *labels, guint count, int height, int width);

/* Draws maps whose pixels are independent, pixel i from the row p_i of given marginals (n, c): the
 * best model without any coupling, a baseline for the quality report. */
typedef struct _GafIndependentSampler GafIndependentSampler;

GafIndependentSampler *gaf_independent_sampler_new  (const double *marginals, gsize n, int c);
void                   gaf_independent_sampler_free (GafIndependentSampler *sampler);
/* A GafLabelFunc with the sampler as user data: labels (batch, n). */
void                   gaf_independent_sampler_sample (gpointer sampler, GafRng *rng, guint16 *labels,
                                                       int batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafDataset, gaf_dataset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GafIndependentSampler, gaf_independent_sampler_free)

G_END_DECLS
