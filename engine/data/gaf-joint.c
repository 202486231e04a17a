/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include <math.h>
#include <string.h>

#include "gaf-budget.h"
#include "gaf-data-spec.h"
#include "gaf-error.h"
#include "gaf-file.h"
#include "gaf-joint.h"

/* ---- building a joint from weighted sequences ------------------------------------------------ */

static int
seq_cmp (const guint16 *a, const guint16 *b, int n)
{
  for (int k = 0; k < n; k++)
    if (a[k] != b[k])
      return a[k] < b[k] ? -1 : 1;
  return 0;
}

typedef struct {
  const guint16 *seqs;
  int            n;
} SortCtx;

static gint
cmp_index (gconstpointer a, gconstpointer b, gpointer data)
{
  const SortCtx *ctx = data;
  guint64 i = *(const guint64 *) a, j = *(const guint64 *) b;
  int r = seq_cmp (ctx->seqs + i * ctx->n, ctx->seqs + j * ctx->n, ctx->n);

  /* ties by index: a total order, so the result does not depend on the sort's stability */
  return r != 0 ? r : (i < j ? -1 : i > j);
}

/* seqs (count, n) with non-negative weights w (count), NULL meaning 1 each, summing to a positive
 * number -> a joint: equal sequences merged, zero weights dropped, normalised. */
static GafJoint *
joint_build (int n, int c, const guint16 *seqs, const double *w, guint64 count, const char *name)
{
  GafJoint *joint = g_new0 (GafJoint, 1);
  g_autofree guint64 *idx = g_new (guint64, MAX (count, 1));
  SortCtx ctx = { seqs, n };
  double total = 0.0, run = 0.0;
  guint m = 0;

  g_assert (count > 0 && count <= G_MAXINT);
  for (guint64 k = 0; k < count; k++)
    idx[k] = k;
  g_qsort_with_data (idx, (gint) count, sizeof (guint64), cmp_index, &ctx);

  joint->n = n;
  joint->c = c;
  joint->name = g_strdup (name ? name : "joint");
  joint->atoms = g_new (guint16, count * n);
  joint->p = g_new (double, count);
  for (guint64 k = 0; k < count; k++)
    {
      const guint16 *s = seqs + idx[k] * n;
      double wk = w ? w[idx[k]] : 1.0;

      g_assert (wk >= 0.0);
      if (wk == 0.0)
        continue;
      total += wk;
      if (m > 0 && seq_cmp (joint->atoms + (gsize) (m - 1) * n, s, n) == 0)
        joint->p[m - 1] += wk;
      else
        {
          memcpy (joint->atoms + (gsize) m * n, s, n * sizeof (guint16));
          joint->p[m++] = wk;
        }
    }
  g_assert (m > 0 && total > 0.0);
  joint->n_atoms = m;
  joint->atoms = g_renew (guint16, joint->atoms, (gsize) m * n);
  joint->p = g_renew (double, joint->p, m);
  joint->cdf = g_new (double, m);
  joint->marginals = g_new0 (double, (gsize) n * c);
  for (guint a = 0; a < m; a++)
    {
      joint->p[a] /= total;
      run += joint->p[a];
      joint->cdf[a] = run;
      for (int i = 0; i < n; i++)
        joint->marginals[(gsize) i * c + joint->atoms[(gsize) a * n + i]] += joint->p[a];
    }
  joint->cdf[m - 1] = 1.0;
  return joint;
}

void
gaf_joint_free (GafJoint *joint)
{
  if (joint == NULL)
    return;
  g_free (joint->atoms);
  g_free (joint->p);
  g_free (joint->cdf);
  g_free (joint->marginals);
  g_free (joint->alphabet);
  g_free (joint->name);
  g_free (joint);
}

/* ---- tables and built-in densities ----------------------------------------------------------- */

/* All c^2 cells of a table as sequences (i, j), row-major. */
static guint16 *
grid_sequences (int c)
{
  guint16 *seqs = g_new (guint16, (gsize) 2 * c * c);

  for (int i = 0; i < c; i++)
    for (int j = 0; j < c; j++)
      {
        seqs[2 * ((gsize) i * c + j)] = (guint16) i;
        seqs[2 * ((gsize) i * c + j) + 1] = (guint16) j;
      }
  return seqs;
}

GafJoint *
gaf_joint_new_table (int c, const double *weights, const char *name, GError **error)
{
  g_autofree guint16 *seqs = NULL;
  double total = 0.0;

  g_return_val_if_fail (weights != NULL, NULL);
  if (c < 2 || c > GAF_JOINT_MAX_CLASSES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: %d classes; a joint table needs from 2 to %d",
                   name ? name : "table", c, GAF_JOINT_MAX_CLASSES);
      return NULL;
    }
  for (gsize k = 0; k < (gsize) c * c; k++)
    {
      if (!isfinite (weights[k]))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: row %d, column %d: weight %g is not finite",
                       name ? name : "table", (int) (k / c) + 1, (int) (k % c) + 1, weights[k]);
          return NULL;
        }
      if (weights[k] < 0.0)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: row %d, column %d: weight %g is negative",
                       name ? name : "table", (int) (k / c) + 1, (int) (k % c) + 1, weights[k]);
          return NULL;
        }
      total += weights[k];
    }
  if (!(total > 0.0) || !isfinite (total))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, total > 0.0 ?
                   "%s: the weights sum to infinity; scale them down" : "%s: all weights are zero",
                   name ? name : "table");
      return NULL;
    }
  seqs = grid_sequences (c);
  return joint_build (2, c, seqs, weights, (guint64) c * c, name ? name : "table");
}

GafJoint *
gaf_joint_new_coupled_binary (double p_equal)
{
  double w[4] = { p_equal / 2, (1 - p_equal) / 2, (1 - p_equal) / 2, p_equal / 2 };

  g_return_val_if_fail (p_equal >= 0.0 && p_equal <= 1.0, NULL);
  return gaf_joint_new_table (2, w, "coupled-binary", NULL);
}

/* cell masses (bins, bins) of a density on [-4, 4]^2 -> the joint with the uniform background mixed in */
static GafJoint *
density_joint (double *mass, int bins, const char *name)
{
  double total = 0.0;
  gsize cells = (gsize) bins * bins;

  for (gsize k = 0; k < cells; k++)
    total += mass[k];
  g_assert (total > 0.0);
  for (gsize k = 0; k < cells; k++)
    mass[k] = (1.0 - GAF_JOINT_BACKGROUND) * mass[k] / total + GAF_JOINT_BACKGROUND / cells;
  return gaf_joint_new_table (bins, mass, name, NULL);
}

#define GRID_LO (-4.0)
#define GRID_HI 4.0

static int
grid_bin (double x, int bins)
{
  double u = (x - GRID_LO) / (GRID_HI - GRID_LO) * bins;
  return u >= 0.0 && u < bins ? (int) u : -1;
}

GafJoint *
gaf_joint_new_pinwheel (int bins)
{
  /* FFJORD's pinwheel: latent (a, b) ~ N(1, 0.3^2) x N(0, 0.1^2) for each of 5 arms k,
   * angle = 2 pi k / 5 + 0.25 e^a, point = 2 (a cos + b sin, -a sin + b cos). The latent plane is
   * cut at 6 standard deviations into a midpoint grid of 1200 x 1200 cells per arm, each carrying its
   * Gaussian mass into the bin its centre maps to (the map rotates by an angle that depends on a only,
   * so sin and cos are computed once per a). Mass mapped outside [-4, 4]^2 is dropped. */
  const double rs = 0.3, ts = 0.1, rate = 0.25;
  const int na = 1200, nb = 1200;
  g_autofree double *mass = NULL, *wb = NULL;
  GafJoint *joint;

  g_return_val_if_fail (bins >= 2 && bins <= GAF_JOINT_MAX_CLASSES, NULL);
  mass = g_new0 (double, (gsize) bins * bins);
  wb = g_new (double, nb);
  for (int j = 0; j < nb; j++)
    {
      double z = -6.0 + 12.0 * (j + 0.5) / nb;
      wb[j] = exp (-0.5 * z * z);
    }
  for (int k = 0; k < 5; k++)
    for (int i = 0; i < na; i++)
      {
        double za = -6.0 + 12.0 * (i + 0.5) / na, a = 1.0 + rs * za, wa = exp (-0.5 * za * za);
        double ang = 2.0 * G_PI * k / 5 + rate * exp (a), cs = cos (ang), sn = sin (ang);
        for (int j = 0; j < nb; j++)
          {
            double b = ts * (-6.0 + 12.0 * (j + 0.5) / nb);
            int bx = grid_bin (2.0 * (a * cs + b * sn), bins), by = grid_bin (2.0 * (-a * sn + b * cs), bins);
            if (bx >= 0 && by >= 0)
              mass[(gsize) bx * bins + by] += wa * wb[j];
          }
      }
  joint = density_joint (mass, bins, "pinwheel");
  return joint;
}

static double
normal_cdf (double x)
{
  return 0.5 * erfc (-x / G_SQRT2);
}

GafJoint *
gaf_joint_new_gaussians (int bins)
{
  /* FFJORD's 8 Gaussians: centres 4 (cos, sin)(pi k / 4) / 1.414, std 0.5 / 1.414; the mass of each
   * cell is exact: a product of differences of the normal CDF per centre. */
  const double sd = 0.5 / 1.414, h = (GRID_HI - GRID_LO) / bins;
  g_autofree double *mass = g_new0 (double, (gsize) bins * bins);
  g_autofree double *px = g_new (double, bins), *py = g_new (double, bins);

  g_return_val_if_fail (bins >= 2 && bins <= GAF_JOINT_MAX_CLASSES, NULL);
  for (int k = 0; k < 8; k++)
    {
      double mx = 4.0 * cos (G_PI * k / 4) / 1.414, my = 4.0 * sin (G_PI * k / 4) / 1.414;
      for (int i = 0; i < bins; i++)
        {
          double lo = GRID_LO + i * h, hi = lo + h;
          px[i] = normal_cdf ((hi - mx) / sd) - normal_cdf ((lo - mx) / sd);
          py[i] = normal_cdf ((hi - my) / sd) - normal_cdf ((lo - my) / sd);
        }
      for (int i = 0; i < bins; i++)
        for (int j = 0; j < bins; j++)
          mass[(gsize) i * bins + j] += px[i] * py[j];
    }
  return density_joint (mass, bins, "gaussians");
}

/* ---- CSV tables ------------------------------------------------------------------------------ */

GafJoint *
gaf_joint_parse_csv (const char *text, gsize length, const char *name, GError **error)
{
  g_autoptr(GArray) w = g_array_new (FALSE, FALSE, sizeof (double));
  g_autofree char *copy = g_strndup (text, length);
  g_auto(GStrv) lines = NULL;
  guint rows = 0, cols = 0, first_line = 0;

  if (name == NULL)
    name = "table";
  if (strlen (copy) != length)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: not a text file (it contains a zero byte)", name);
      return NULL;
    }
  lines = g_strsplit (copy, "\n", -1);
  for (guint li = 0; lines[li] != NULL; li++)
    {
      char *line = g_strstrip (lines[li]);   /* also removes the "\r" of CRLF files */
      g_auto(GStrv) fields = NULL;
      guint nf;

      if (*line == '\0' || *line == '#')
        continue;
      fields = g_strsplit (line, ",", -1);
      nf = g_strv_length (fields);
      for (guint k = 0; k < nf; k++)
        {
          char *f = g_strstrip (fields[k]), *end = NULL;
          double v;

          if (*f == '\0')
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u, column %u: empty cell", name,
                           li + 1, k + 1);
              return NULL;
            }
          v = g_ascii_strtod (f, &end);
          if (end == f || *end != '\0')
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u, column %u: '%s' is not a number",
                           name, li + 1, k + 1, f);
              return NULL;
            }
          if (!isfinite (v))
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u, column %u: weight '%s' is not finite",
                           name, li + 1, k + 1, f);
              return NULL;
            }
          if (v < 0.0)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u, column %u: weight %s is negative",
                           name, li + 1, k + 1, f);
              return NULL;
            }
          g_array_append_val (w, v);
        }
      if (rows == 0)
        {
          cols = nf;
          first_line = li + 1;
        }
      else if (nf != cols)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: line %u has %u values but the first row (line %u) has %u: the table is ragged",
                       name, li + 1, nf, first_line, cols);
          return NULL;
        }
      rows++;
      if (cols > GAF_JOINT_MAX_CLASSES || rows > GAF_JOINT_MAX_CLASSES)
        break;   /* too large: reported below without reading the rest */
    }
  if (rows == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: the table is empty (no rows of numbers)", name);
      return NULL;
    }
  if (cols > GAF_JOINT_MAX_CLASSES || rows > GAF_JOINT_MAX_CLASSES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: the table is larger than %d x %d; a joint table needs from 2 to %d classes",
                   name, GAF_JOINT_MAX_CLASSES, GAF_JOINT_MAX_CLASSES, GAF_JOINT_MAX_CLASSES);
      return NULL;
    }
  if (rows == 1 && cols == 1)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: a single weight is one class; a joint table needs from 2 to %d classes",
                   name, GAF_JOINT_MAX_CLASSES);
      return NULL;
    }
  if (rows != cols)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: %u rows of %u values; a joint table must be square (c rows of c values)", name, rows, cols);
      return NULL;
    }
  return gaf_joint_new_table ((int) cols, (const double *) w->data, name, error);
}

GafJoint *
gaf_joint_load_csv (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!gaf_file_read_all (path, "joint table", GAF_JOINT_MAX_CSV_BYTES, &text, &length, error))
    return NULL;
  return gaf_joint_parse_csv (text, length, path, error);
}

/* ---- text sequences -------------------------------------------------------------------------- */

static gint
cmp_unichar (gconstpointer a, gconstpointer b)
{
  gunichar x = *(const gunichar *) a, y = *(const gunichar *) b;
  return x < y ? -1 : x > y;
}

static int
alphabet_index (const gunichar *alphabet, int c, gunichar ch)
{
  for (int k = 0; k < c; k++)
    if (alphabet[k] == ch)
      return k;
  return -1;
}

/* A given alphabet: 2 to 256 distinct characters. */
static gunichar *
parse_alphabet (const char *alphabet, int *c_out, GError **error)
{
  glong len = 0;
  g_autofree gunichar *chars = NULL;

  if (!g_utf8_validate (alphabet, -1, NULL))
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "the alphabet is not valid UTF-8");
      return NULL;
    }
  chars = g_utf8_to_ucs4_fast (alphabet, -1, &len);
  if (len < 2 || len > GAF_JOINT_MAX_CLASSES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "the alphabet needs from 2 to %d characters, got %ld", GAF_JOINT_MAX_CLASSES, len);
      return NULL;
    }
  for (glong i = 0; i < len; i++)
    for (glong j = 0; j < i; j++)
      if (chars[i] == chars[j])
        {
          char buf[8] = { 0 };
          g_unichar_to_utf8 (chars[i], buf);
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "the alphabet lists the character '%s' twice", buf);
          return NULL;
        }
  *c_out = (int) len;
  return g_steal_pointer (&chars);
}

GafJoint *
gaf_joint_parse_text (const char *text, gsize length, int seq_len, const char *alphabet,
                      const char *name, GafTextStats *stats, GError **error)
{
  g_autofree gunichar *alpha = NULL;
  g_autoptr(GArray) kept = g_array_new (FALSE, FALSE, sizeof (gunichar));   /* (kept, seq_len) */
  GafTextStats st = { 0 };
  const char *p = text, *end = text + length;
  g_autofree guint16 *seqs = NULL;
  const char *bad = NULL;
  GafJoint *joint;
  int c = 0;

  if (name == NULL)
    name = "text";
  if (seq_len < 1 || seq_len > 4096)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "%s: the sequence length must be from 1 to 4096, got %d",
                   name, seq_len);
      return NULL;
    }
  if (!g_utf8_validate_len (text, length, &bad))
    {
      guint line = 1;
      for (const char *q = text; q < bad; q++)
        line += *q == '\n';
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u is not valid UTF-8 text", name, line);
      return NULL;
    }
  if (alphabet != NULL && (alpha = parse_alphabet (alphabet, &c, error)) == NULL)
    return NULL;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p), *le = nl ? nl : end, *q;
      gboolean fits = TRUE;
      glong n_chars;

      if (le > p && le[-1] == '\r')
        le--;
      st.lines++;
      n_chars = g_utf8_strlen (p, le - p);
      if (n_chars != seq_len)
        st.skipped_length++;
      else
        {
          if (alpha != NULL)
            for (q = p; q < le && fits; q = g_utf8_next_char (q))
              fits = alphabet_index (alpha, c, g_utf8_get_char (q)) >= 0;
          if (!fits)
            st.skipped_alphabet++;
          else
            {
              for (q = p; q < le; q = g_utf8_next_char (q))
                {
                  gunichar ch = g_utf8_get_char (q);
                  g_array_append_val (kept, ch);
                }
              st.kept++;
            }
        }
      p = nl ? nl + 1 : end;
    }
  if (stats != NULL)
    *stats = st;
  if (st.kept == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                   "%s: no line has length %d (%u lines: %u of another length, %u with characters outside the "
                   "alphabet)", name, seq_len, st.lines, st.skipped_length, st.skipped_alphabet);
      return NULL;
    }

  if (alpha == NULL)
    {
      /* The sorted set of characters of the kept lines. */
      g_autoptr(GArray) set = g_array_sized_new (FALSE, FALSE, sizeof (gunichar), kept->len);
      g_array_append_vals (set, kept->data, kept->len);
      g_array_sort (set, cmp_unichar);
      c = 0;
      for (guint k = 0; k < set->len; k++)
        if (c == 0 || g_array_index (set, gunichar, k) != g_array_index (set, gunichar, c - 1))
          g_array_index (set, gunichar, c++) = g_array_index (set, gunichar, k);
      if (c > GAF_JOINT_MAX_CLASSES)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: the sequences use %d different characters; at most %d are supported",
                       name, c, GAF_JOINT_MAX_CLASSES);
          return NULL;
        }
      if (c < 2)
        {
          char buf[8] = { 0 };
          g_unichar_to_utf8 (g_array_index (set, gunichar, 0), buf);
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                       "%s: the sequences use only the character '%s'; give an alphabet of at least two characters",
                       name, buf);
          return NULL;
        }
      alpha = g_memdup2 (set->data, (gsize) c * sizeof (gunichar));
    }

  seqs = g_new (guint16, kept->len);
  for (guint k = 0; k < kept->len; k++)
    seqs[k] = (guint16) alphabet_index (alpha, c, g_array_index (kept, gunichar, k));
  joint = joint_build (seq_len, c, seqs, NULL, st.kept, name);
  joint->alphabet = g_steal_pointer (&alpha);
  return joint;
}

GafJoint *
gaf_joint_load_text (const char *path, int seq_len, const char *alphabet, GafTextStats *stats, GError **error)
{
  g_autofree char *text = NULL;
  gsize length = 0;

  if (!gaf_file_read_all (path, "text file", GAF_JOINT_MAX_TEXT_BYTES, &text, &length, error))
    return NULL;
  return gaf_joint_parse_text (text, length, seq_len, alphabet, path, stats, error);
}

/* ---- specs ------------------------------------------------------------------------------------ */

/* The kinds gaf_joint_new_from_spec reads, the word before the first ':' of a spec. */
static const char *const spec_kinds[] = { "coupled-binary", "pinwheel", "gaussians", "table", "text", NULL };

gboolean
gaf_joint_spec_is_joint (const char *spec)
{
  return gaf_data_spec_has_kind (spec, spec_kinds);
}

/* Text: "text:FILE,length=N,alphabet=CHARS"; the alphabet comes last and takes the rest of the string
 * (it may contain commas). */
static GafJoint *
spec_text (const char *spec, int length, const char *alphabet_default, GafTextStats *stats, GError **error)
{
  g_autofree char *file = g_strdup (spec + strlen ("text:"));
  g_autofree char *alphabet = g_strdup (alphabet_default);
  char *a = strstr (file, ",alphabet="), *l;

  if (a != NULL)
    {
      if (alphabet == NULL)
        alphabet = g_strdup (a + strlen (",alphabet="));
      *a = '\0';
    }
  l = g_strrstr (file, ",length=");
  if (l != NULL)
    {
      const char *value = l + strlen (",length=");
      guint64 v;

      if (*value == '-' || *value == '+' || !g_ascii_string_to_unsigned (value, 10, 1, 4096, &v, NULL))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "text: length: expected an integer from 1 to 4096, got '%s'", value);
          return NULL;
        }
      length = (int) v;
      *l = '\0';
    }
  if (*file == '\0')
    {
      g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "text: needs a file name");
      return NULL;
    }
  if (length <= 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "text:%s needs the sequence length (text:FILE,length=N)", file);
      return NULL;
    }
  return gaf_joint_load_text (file, length, alphabet, stats, error);
}

/* The bins of "pinwheel" or "gaussians" (kind), alone (GAF_JOINT_GRID bins per axis) or with ":bins=B". */
static gboolean
spec_density_bins (const char *spec, const char *kind, int *bins, GError **error)
{
  const char *rest = spec + strlen (kind);
  guint64 b = GAF_JOINT_GRID;

  if (*rest != '\0')
    {
      const char *value = rest + strlen (":bins=");
      if (!g_str_has_prefix (rest, ":bins=") || *value == '-' || *value == '+' ||
          !g_ascii_string_to_unsigned (value, 10, 2, GAF_JOINT_MAX_CLASSES, &b, NULL))
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                       "'%s': expected %s or %s:bins=B with B from 2 to %d bins per axis", spec, kind, kind,
                       GAF_JOINT_MAX_CLASSES);
          return FALSE;
        }
    }
  *bins = (int) b;
  return TRUE;
}

/* The density kind of spec ("pinwheel", "gaussians" or NULL). */
static const char *
spec_density_kind (const char *spec)
{
  static const char *const kinds[] = { "pinwheel", "gaussians" };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_has_prefix (spec, kinds[i]) && (spec[strlen (kinds[i])] == '\0' || spec[strlen (kinds[i])] == ':'))
      return kinds[i];
  return NULL;
}

static GafJoint *
spec_density (const char *spec, const char *kind, GError **error)
{
  int bins;

  if (!spec_density_bins (spec, kind, &bins, error))
    return NULL;
  return g_str_equal (kind, "pinwheel") ? gaf_joint_new_pinwheel (bins) : gaf_joint_new_gaussians (bins);
}

char *
gaf_joint_spec_normalize (const char *spec)
{
  const char *kind;
  int bins;

  g_return_val_if_fail (spec != NULL, NULL);
  if (g_str_equal (spec, "coupled-binary"))
    return g_strdup (spec);
  kind = spec_density_kind (spec);
  if (kind == NULL || !spec_density_bins (spec, kind, &bins, NULL))
    return NULL;
  return g_strdup_printf ("%s:bins=%d", kind, bins);
}

GafJoint *
gaf_joint_new_from_spec (const char *spec, int length, const char *alphabet, GafTextStats *stats, GError **error)
{
  GafTextStats unused;

  g_return_val_if_fail (spec != NULL, NULL);
  if (stats == NULL)
    stats = &unused;
  memset (stats, 0, sizeof *stats);
  if (g_str_equal (spec, "coupled-binary"))
    return gaf_joint_new_coupled_binary (0.9);
  if (spec_density_kind (spec) != NULL)
    return spec_density (spec, spec_density_kind (spec), error);
  if (g_str_has_prefix (spec, "table:"))
    {
      if (spec[strlen ("table:")] == '\0')
        {
          g_set_error_literal (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "table: needs a file name");
          return NULL;
        }
      return gaf_joint_load_csv (spec + strlen ("table:"), error);
    }
  if (g_str_has_prefix (spec, "text:"))
    return spec_text (spec, length, alphabet, stats, error);
  g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "unknown data '%s' (" GAF_JOINT_SPEC_HELP ")", spec);
  return NULL;
}

/* ---- empirical joints, products, sampling ---------------------------------------------------- */

GafJoint *
gaf_joint_new_empirical (int n, int c, const guint16 *labels, guint64 count, const char *name)
{
  g_return_val_if_fail (n >= 1 && c >= 1 && labels != NULL && count > 0 && count <= G_MAXINT, NULL);
  return joint_build (n, c, labels, NULL, count, name ? name : "samples");
}

GafJoint *
gaf_joint_new_product (const GafJoint *joint, GError **error)
{
  int n = joint->n, c = joint->c;
  g_autofree int *support = g_new0 (int, n);
  g_autofree int *digit = g_new0 (int, n);
  g_autofree guint16 *seqs = NULL;
  g_autofree double *w = NULL;
  g_autofree char *name = NULL;
  double count = 1.0;
  GafJoint *prod;

  for (int i = 0; i < n; i++)
    {
      for (int k = 0; k < c; k++)
        support[i] += joint->marginals[(gsize) i * c + k] > 0.0;
      count *= support[i];
    }
  if (count > (double) (1 << 20))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                   "the product of the marginals has %.3g sequences, too many to list", count);
      return NULL;
    }
  seqs = g_new (guint16, (gsize) count * n);
  w = g_new (double, (gsize) count);
  /* Odometer over the supports, last variable fastest. */
  for (gsize a = 0; a < (gsize) count; a++)
    {
      double pa = 1.0;
      for (int i = 0; i < n; i++)
        {
          int k = -1, seen = -1;
          /* the digit-th class of positive marginal */
          while (seen < digit[i])
            seen += joint->marginals[(gsize) i * c + ++k] > 0.0;
          seqs[a * n + i] = (guint16) k;
          pa *= joint->marginals[(gsize) i * c + k];
        }
      w[a] = pa;
      for (int i = n - 1; i >= 0; i--)
        {
          if (++digit[i] < support[i])
            break;
          digit[i] = 0;
        }
    }
  name = g_strdup_printf ("product of the marginals of %s", joint->name);
  prod = joint_build (n, c, seqs, w, (guint64) count, name);
  if (joint->alphabet != NULL)
    prod->alphabet = g_memdup2 (joint->alphabet, (gsize) c * sizeof (gunichar));
  return prod;
}

/* First index k with cdf[k] > u, for u in [0, 1). */
static gsize
cdf_search (const double *cdf, gsize len, double u)
{
  gsize lo = 0, hi = len - 1;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      if (cdf[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
  return lo;
}

void
gaf_joint_sample (gpointer joint_ptr, GafRng *rng, guint16 *labels, int batch)
{
  const GafJoint *joint = joint_ptr;

  for (int b = 0; b < batch; b++)
    {
      gsize a = cdf_search (joint->cdf, joint->n_atoms, gaf_rng_uniform (rng));
      memcpy (labels + (gsize) b * joint->n, joint->atoms + a * joint->n, joint->n * sizeof (guint16));
    }
}

void
gaf_joint_sample_product (const GafJoint *joint, GafRng *rng, guint16 *labels, int batch)
{
  int n = joint->n, c = joint->c;
  g_autofree double *cdf = g_new (double, (gsize) n * c);

  for (int i = 0; i < n; i++)
    {
      double run = 0.0;
      int last = 0;
      for (int k = 0; k < c; k++)
        {
          run += joint->marginals[(gsize) i * c + k];
          cdf[(gsize) i * c + k] = run;
          if (joint->marginals[(gsize) i * c + k] > 0.0)
            last = k;
        }
      /* never draw a class of marginal 0 at the end through rounding */
      for (int k = last; k < c; k++)
        cdf[(gsize) i * c + k] = 1.0;
    }
  for (int b = 0; b < batch; b++)
    for (int i = 0; i < n; i++)
      labels[(gsize) b * n + i] = (guint16) cdf_search (cdf + (gsize) i * c, c, gaf_rng_uniform (rng));
}

gint64
gaf_joint_find (const GafJoint *joint, const guint16 *seq)
{
  gsize lo = 0, hi = joint->n_atoms;

  while (lo < hi)
    {
      gsize mid = lo + (hi - lo) / 2;
      int r = seq_cmp (joint->atoms + mid * joint->n, seq, joint->n);
      if (r == 0)
        return (gint64) mid;
      if (r < 0)
        lo = mid + 1;
      else
        hi = mid;
    }
  return -1;
}

double
gaf_joint_prob (const GafJoint *joint, const guint16 *seq)
{
  gint64 a = gaf_joint_find (joint, seq);
  return a < 0 ? 0.0 : joint->p[a];
}

/* ---- metrics --------------------------------------------------------------------------------- */

static double
entropy (const double *p, gsize len)
{
  double h = 0.0;

  for (gsize k = 0; k < len; k++)
    if (p[k] > 0.0)
      h -= p[k] * log (p[k]);
  return h;
}

double
gaf_joint_entropy (const GafJoint *joint)
{
  return entropy (joint->p, joint->n_atoms);
}

double
gaf_joint_marginal_entropy (const GafJoint *joint, int i)
{
  g_return_val_if_fail (i >= 0 && i < joint->n, NAN);
  return entropy (joint->marginals + (gsize) i * joint->c, joint->c);
}

double
gaf_joint_mutual_information (const GafJoint *joint)
{
  double s = 0.0;

  for (int i = 0; i < joint->n; i++)
    s += gaf_joint_marginal_entropy (joint, i);
  /* non-negative in exact arithmetic; clamp the rounding of independent joints */
  return MAX (s - gaf_joint_entropy (joint), 0.0);
}

/* sum m log(m / p) over the support of p, with m's mass off it in *outside -> KL on the support of
 * the renormalised m: s / (1 - o) - log(1 - o). */
static double
kl_on_support (double s, double outside)
{
  if (outside >= 1.0)
    return INFINITY;
  return MAX (s / (1.0 - outside) - log1p (-outside), 0.0);
}

double
gaf_joint_marginal_kl (const GafJoint *model, const GafJoint *target, int i, double *outside_out)
{
  const double *m = model->marginals + (gsize) i * model->c, *p = target->marginals + (gsize) i * target->c;
  double s = 0.0, outside = 0.0;

  g_return_val_if_fail (model->n == target->n && model->c == target->c && i >= 0 && i < model->n, NAN);
  for (int k = 0; k < model->c; k++)
    {
      if (m[k] <= 0.0)
        continue;
      if (p[k] > 0.0)
        s += m[k] * log (m[k] / p[k]);
      else
        outside += m[k];
    }
  if (outside_out != NULL)
    *outside_out = outside;
  return kl_on_support (s, outside);
}

void
gaf_joint_compare (const GafJoint *model, const GafJoint *target, GafJointMetrics *out)
{
  double s = 0.0, outside = 0.0;

  g_return_if_fail (model->n == target->n && model->c == target->c);
  for (guint a = 0; a < model->n_atoms; a++)
    {
      double m = model->p[a], p = gaf_joint_prob (target, model->atoms + (gsize) a * model->n);
      if (p > 0.0)
        s += m * log (m / p);
      else
        outside += m;
    }
  out->outside = outside;
  out->kl_support = kl_on_support (s, outside);
  out->kl = outside > 0.0 ? INFINITY : out->kl_support;
  out->kl_marginal = 0.0;
  out->kl_marginal_max = 0.0;
  out->marginal_outside = 0.0;
  for (int i = 0; i < model->n; i++)
    {
      double o, k = gaf_joint_marginal_kl (model, target, i, &o);
      out->kl_marginal += k / model->n;
      out->kl_marginal_max = MAX (out->kl_marginal_max, k);
      out->marginal_outside = MAX (out->marginal_outside, o);
    }
  out->mi_model = gaf_joint_mutual_information (model);
  out->mi_target = gaf_joint_mutual_information (target);
}

/* ---- text form of samples -------------------------------------------------------------------- */

void
gaf_joint_format_sequence (const GafJoint *joint, const guint16 *seq, GString *out)
{
  for (int i = 0; i < joint->n; i++)
    {
      if (joint->alphabet != NULL)
        g_string_append_unichar (out, joint->alphabet[seq[i]]);
      else
        g_string_append_printf (out, i ? ",%u" : "%u", seq[i]);
    }
}

guint16 *
gaf_joint_parse_samples (const GafJoint *target, const char *text, gsize length, const char *name,
                         guint64 *count, GError **error)
{
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (guint16));
  const char *p = text, *end = text + length, *bad = NULL;
  int n = target->n, c = target->c;
  guint line = 0;

  if (name == NULL)
    name = "samples";
  if (!g_utf8_validate_len (text, length, &bad))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: not valid UTF-8 text", name);
      return NULL;
    }
  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p), *le = nl ? nl : end;
      g_autofree char *s = NULL;

      line++;
      if (le > p && le[-1] == '\r')
        le--;
      s = g_strndup (p, le - p);
      p = nl ? nl + 1 : end;
      /* blank lines are ignored; spaces may be characters of a text alphabet, so text lines are
       * taken as they are */
      if (*s == '\0' || (target->alphabet == NULL && *g_strstrip (s) == '\0'))
        continue;
      if (target->alphabet != NULL)
        {
          glong len = g_utf8_strlen (s, -1);
          const char *q = s;
          if (len != n)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u has %ld characters, expected %d",
                           name, line, len, n);
              return NULL;
            }
          for (int i = 0; i < n; i++, q = g_utf8_next_char (q))
            {
              int k = alphabet_index (target->alphabet, c, g_utf8_get_char (q));
              guint16 v = (guint16) k;
              if (k < 0)
                {
                  g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                               "%s: line %u, position %d: a character outside the alphabet", name, line, i + 1);
                  return NULL;
                }
              g_array_append_val (labels, v);
            }
        }
      else
        {
          g_auto(GStrv) fields = g_strsplit (s, ",", -1);
          if ((int) g_strv_length (fields) != n)
            {
              g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: line %u has %u values, expected %d",
                           name, line, g_strv_length (fields), n);
              return NULL;
            }
          for (int i = 0; i < n; i++)
            {
              guint64 v;
              guint16 v16;
              char *f = g_strstrip (fields[i]);
              if (*f == '-' || *f == '+' || !g_ascii_string_to_unsigned (f, 10, 0, (guint64) c - 1, &v, NULL))
                {
                  g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT,
                               "%s: line %u, column %d: expected a class from 0 to %d, got '%s'",
                               name, line, i + 1, c - 1, f);
                  return NULL;
                }
              v16 = (guint16) v;
              g_array_append_val (labels, v16);
            }
        }
    }
  if (labels->len == 0)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "%s: no samples", name);
      return NULL;
    }
  *count = labels->len / n;
  return (guint16 *) g_array_free (g_steal_pointer (&labels), FALSE);
}

double *
gaf_joint_dense2 (const GafJoint *joint)
{
  double *d;

  if (joint->n != 2)
    return NULL;
  d = g_new0 (double, (gsize) joint->c * joint->c);
  for (guint a = 0; a < joint->n_atoms; a++)
    d[(gsize) joint->atoms[2 * a] * joint->c + joint->atoms[2 * a + 1]] = joint->p[a];
  return d;
}
