/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-text"
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaf-error.h"
#include "gaf-joint-experiment.h"
#include "gaf-text-experiment.h"

/* Sequences of each sampling round whose rows are recorded as trajectories. */
#define TRAJECTORY_SEQUENCES 32

/* Common English words of four letters: the data when no file is chosen. */
static const char builtin_words[] =
  "able\nalso\narea\naway\nback\nball\nbank\nbase\nbest\nbody\nbook\nboth\ncall\ncame\ncard\ncare\ncase\ncity\n"
  "cold\ncome\ncost\ndark\ndata\ndate\ndays\ndeal\ndoor\ndown\ndraw\neach\neast\neasy\nelse\neven\never\nface\n"
  "fact\nfall\nfarm\nfast\nfear\nfeel\nfile\nfill\nfilm\nfind\nfine\nfire\nfirm\nfish\nfive\nfood\nfoot\nform\n"
  "four\nfree\nfrom\nfull\ngame\ngave\ngirl\ngive\ngoal\ngold\ngone\ngood\ngrow\nhair\nhalf\nhall\nhand\nhard\n"
  "have\nhead\nhear\nheat\nheld\nhelp\nhere\nhigh\nhill\nhold\nhome\nhope\nhour\nidea\ninto\njust\nkeep\nkind\n"
  "king\nknew\nknow\nland\nlast\nlate\nlead\nleft\nless\nlife\nline\nlist\nlive\nlong\nlook\nlose\nlove\nmade\n"
  "main\nmake\nmany\nmass\nmind\nmore\nmost\nmove\nmuch\nmust\nname\nnear\nneed\nnews\nnext\nnice\nnote\nonce\n"
  "only\nopen\npart\npass\npast\npath\nplan\nplay\npoor\nread\nreal\nrest\nrich\nrise\nroad\nrock\nrole\nroom\n"
  "rule\nsafe\nsame\nseen\nsend\nship\nshow\nside\nsign\nsize\nsoft\nsome\nsong\nsoon\nsort\nstay\nstep\nstop\n"
  "such\nsure\ntake\ntalk\ntask\nteam\ntell\nterm\ntest\ntext\nthan\nthat\nthem\nthen\nthey\nthis\ntime\ntold\n"
  "took\ntown\ntree\ntrue\nturn\ntype\nunit\nupon\nvery\nview\nwait\nwalk\nwall\nwant\nwarm\nwave\nways\nweek\n"
  "well\nwent\nwere\nwest\nwhat\nwhen\nwide\nwife\nwill\nwind\nwish\nwith\nword\nwork\nyear\nyour\nzero\nzone\n";

typedef struct {
  GafJointExperiment parent;
  char              *source;
  GafTextStats       stats;
} Text;

static void
text_payload_finalize (GafPayload *payload)
{
  GafTextPayload *t = (GafTextPayload *) payload;

  g_free (t->source);
  for (guint i = 0; i < GAF_TEXT_SHOWN; i++)
    {
      g_free (t->frequent[i]);
      g_free (t->generated[i]);
    }
}

const GafPayloadType gaf_text_payload_type = { "text", sizeof (GafTextPayload), text_payload_finalize };

/* The most common length (in characters) of the non-empty lines, at most GAF_TEXT_MAX_LENGTH. */
static int
most_common_length (const char *text, gsize size)
{
  guint counts[GAF_TEXT_MAX_LENGTH + 1] = { 0 };
  const char *p = text, *end = text + size;
  int best = 0;

  while (p < end)
    {
      const char *nl = memchr (p, '\n', end - p), *e = nl ? nl : end;
      glong chars = g_utf8_strlen (p, e - p - (e > p && e[-1] == '\r'));
      if (chars >= 1 && chars <= GAF_TEXT_MAX_LENGTH)
        counts[chars]++;
      p = e + 1;
    }
  for (int l = 1; l <= GAF_TEXT_MAX_LENGTH; l++)
    if (counts[l] > counts[best])
      best = l;
  return best;
}

/* The file's text: a regular file of at most GAF_TEXT_MAX_BYTES. */
static char *
read_text (const char *path, gsize *size, GError **error)
{
  GStatBuf st;
  char *text = NULL;
  g_autoptr(GError) local = NULL;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "text data “%s”: not a readable regular file", path);
      return NULL;
    }
  if (st.st_size > GAF_TEXT_MAX_BYTES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT, "text data “%s”: %lld bytes, more than the %d the app reads",
                   path, (long long) st.st_size, GAF_TEXT_MAX_BYTES);
      return NULL;
    }
  if (!g_file_get_contents (path, &text, size, &local) || *size > GAF_TEXT_MAX_BYTES)
    {
      g_set_error (error, GAF_ERROR, GAF_ERROR_IO, "text data “%s”: %s", path, local ? local->message : "it grew");
      g_free (text);
      return NULL;
    }
  return text;
}

static GafJoint *
load_target (Text *self, const char *spec, GError **error)
{
  g_autofree char *owned = NULL;
  const char *text = builtin_words;
  gsize size = sizeof builtin_words - 1;
  int length = 4;

  g_clear_pointer (&self->source, g_free);
  memset (&self->stats, 0, sizeof self->stats);
  if (g_str_has_prefix (spec, "text:"))
    {
      /* gaflow-cli's spec (text:FILE,length=N[,alphabet=CHARS]), read by the data layer. */
      self->source = g_strdup (spec);
      return gaf_joint_new_from_spec (spec, 0, NULL, &self->stats, error);
    }
  if (spec[0] == '\0')
    self->source = g_strdup (_("built-in words"));
  else
    {
      /* A file the user chose: its lines of the most common length. */
      if ((owned = read_text (spec, &size, error)) == NULL)
        return NULL;
      text = owned;
      self->source = g_filename_display_basename (spec);
      length = most_common_length (text, size);
      if (length == 0)
        {
          g_set_error (error, GAF_ERROR, GAF_ERROR_FORMAT, "text data “%s”: no line of 1 to %d characters", spec,
                       GAF_TEXT_MAX_LENGTH);
          return NULL;
        }
    }
  return gaf_joint_parse_text (text, size, length, NULL, self->source, &self->stats, error);
}

static void
format_row (const GafJoint *joint, const guint16 *seq, char **out)
{
  g_autoptr(GString) s = g_string_new (NULL);

  gaf_joint_format_sequence (joint, seq, s);
  *out = g_strdup (s->str);
}

/* A payload with the file's most frequent lines; with a round, its first sequences and the share. */
static GafPayload *
text_payload_new (Text *self, GafRound *round, const guint16 *labels, guint64 count)
{
  GafExperiment *e = &self->parent.parent;
  const GafJoint *joint = self->parent.joint;
  GafPayload *payload = gaf_payload_new (&gaf_text_payload_type, e->klass->id, e->n, e->c, e->q);
  GafTextPayload *t = (GafTextPayload *) payload;
  g_autofree guint *order = g_new (guint, joint->n_atoms);
  guint hits = 0;

  t->source = g_strdup (self->source);
  t->length = e->n;
  t->lines = self->stats.lines;
  t->kept = self->stats.kept;
  t->share = NAN;
  /* The atoms by falling probability (selection of the first few: n_atoms may be large). */
  for (guint a = 0; a < joint->n_atoms; a++)
    order[a] = a;
  for (guint i = 0; i < MIN (GAF_TEXT_SHOWN, joint->n_atoms); i++)
    {
      for (guint a = i + 1; a < joint->n_atoms; a++)
        if (joint->p[order[a]] > joint->p[order[i]])
          {
            guint swap = order[i];
            order[i] = order[a];
            order[a] = swap;
          }
      format_row (joint, joint->atoms + (gsize) order[i] * e->n, &t->frequent[i]);
      t->frequent_p[i] = joint->p[order[i]];
      t->n_frequent++;
    }
  if (round != NULL)
    {
      for (guint64 s = 0; s < count; s++)
        {
          gboolean known = gaf_joint_find (joint, labels + s * e->n) >= 0;
          hits += known;
          if (s < GAF_TEXT_SHOWN)
            {
              format_row (joint, labels + s * e->n, &t->generated[s]);
              t->generated_known[s] = known;
              t->n_generated++;
            }
        }
      t->share = (double) hits / count;
      t->samples = count;
      gaf_payload_set_round (payload, round);
    }
  return payload;
}

static gboolean
text_build (GafExperiment *e, GafNet *loaded, GError **error)
{
  Text *self = (Text *) e;
  GafJoint *target = load_target (self, e->p.text[GAF_PARAM_TEXT_DATA], error);

  if (target == NULL)
    {
      gaf_net_free (loaded);
      return FALSE;
    }
  gaf_joint_experiment_build_net (&self->parent, target, loaded);
  gaf_experiment_publish (e, text_payload_new (self, NULL, NULL, 0));
  return TRUE;
}

static gboolean
text_sample (GafExperiment *e, GafRng *rng, GCancellable *cancellable, GError **error)
{
  Text *self = (Text *) e;
  guint64 count = (guint64) e->p.value[GAF_PARAM_SAMPLES];
  g_autofree guint16 *labels = g_new (guint16, count * e->n);
  g_autoptr(GafRound) round = NULL;

  round = gaf_experiment_sample_net (e, rng, count, TRAJECTORY_SEQUENCES, labels, cancellable, error);
  if (round == NULL)
    return FALSE;
  gaf_round_set_histogram (round, labels, count, e->n, e->c, NULL);
  /* The characters' metric, finite whatever the samples hold: per position, KL(q_i || p_i) of the file's
   * character frequencies q_i against the samples' counts smoothed by one half each (the Krichevsky-Trofimov
   * estimate p_i), averaged over the positions; beside it a uniform sampler's KL(q_i || 1/c) and the
   * finite-sample floor (|S_i| - 1) / (2N) of a sampler that draws from q_i itself (S_i its support). */
  round->kl = round->kl_uniform = round->kl_floor = 0.0;
  for (int i = 0; i < e->n; i++)
    {
      const double *q = e->q + (gsize) i * e->c, *f = round->freq + (gsize) i * e->c;
      int support = 0;

      for (int k = 0; k < e->c; k++)
        if (q[k] > 0)
          {
            double p = (f[k] * count + 0.5) / (count + 0.5 * e->c);
            round->kl += q[k] * log (q[k] / p) / e->n;
            round->kl_uniform += q[k] * log (q[k] * e->c) / e->n;
            support++;
          }
      round->kl_floor += (support - 1) / (2.0 * count) / e->n;
    }
  gaf_experiment_publish (e, text_payload_new (self, round, labels, count));
  return TRUE;
}

static char *
text_summary (const GafPayload *payload)
{
  const GafTextPayload *t = gaf_text_payload (payload);

  if (t == NULL || payload->round == NULL)
    return NULL;
  /* Translators: the share of generated sequences that are lines of the text file, then a KL */
  return g_strdup_printf (_("%.0f %% of %u generated sequences are lines of %s · character KL %.3f (floor %.3f)"),
                          100 * t->share, (guint) t->samples, t->source, payload->round->kl, payload->round->kl_floor);
}

static void
text_finalize (GafExperiment *e)
{
  g_clear_pointer (&((Text *) e)->source, g_free);
  gaf_joint_experiment_finalize (e);
}

/* Any method: the jump flows learn the same lines on the same MLP (gaflow-cli's joint commands do too). */
static const GafParam text_params[] = {
  GAF_PARAM_METHOD, GAF_PARAM_TEXT_DATA, GAF_PARAM_WIDTH, GAF_PARAM_SEED, GAF_PARAM_LAMBDA, GAF_PARAM_TIME_RATE,
  GAF_PARAM_KAPPA, GAF_PARAM_LEARNING_RATE, GAF_PARAM_BATCH, GAF_PARAM_BUDGET, GAF_PARAM_T_END,
  GAF_PARAM_STEP_SIZE, GAF_PARAM_INTEGRATOR, GAF_PARAM_JUMP_STEPS, GAF_PARAM_SAMPLES, GAF_N_PARAMS
};

const GafExperimentClass gaf_text_experiment = {
  .id = "text",
  .label = N_("Text lines · learned"),
  .description = N_("The lines of a text file (all of one length) as sequences of characters, learned by the MLP"),
  .default_view = "text",
  .legacy_index = -1,
  .instance_size = sizeof (Text),
  .params = text_params,
  .batch_param = GAF_PARAM_BATCH,
  .reads_data = TRUE,
  .build = text_build,
  .sample = text_sample,
  .finalize = text_finalize,
  .summary = text_summary,
};
