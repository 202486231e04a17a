/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-run-history"
#include "config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gaf-run-history.h"

#define MAX_GROUPS 64

struct _GafRunHistory {
  GPtrArray      *runs;            /* GafRun *, oldest first; the last is the current one */
  guint64         next_id;
  guint64         serial;
  GafRunnerParams last_params;     /* of the current run as last seen (changes are diffs against it) */
  guint64         last_eval_step;
  double          last_eval_kl;
  gboolean        have_eval;
};

static GafRun *
run_new (guint64 id)
{
  GafRun *run = g_new0 (GafRun, 1);

  run->id = id;
  run->started = g_get_real_time ();
  run->loss = g_array_new (FALSE, FALSE, sizeof (GafRunPoint));
  run->kl = g_array_new (FALSE, FALSE, sizeof (GafRunPoint));
  run->changes = g_array_new (FALSE, FALSE, sizeof (GafRunChange));
  run->kl_uniform = run->kl_floor = NAN;
  run->final_loss = run->final_kl = NAN;
  run->loss_stride = 1;
  return run;
}

static void
run_free (gpointer data)
{
  GafRun *run = data;

  g_array_unref (run->loss);
  g_array_unref (run->kl);
  g_array_unref (run->changes);
  g_free (run);
}

GafRunHistory *
gaf_run_history_new (void)
{
  GafRunHistory *self = g_new0 (GafRunHistory, 1);

  self->runs = g_ptr_array_new_with_free_func (run_free);
  self->next_id = 1;
  return self;
}

void
gaf_run_history_free (GafRunHistory *self)
{
  if (self == NULL)
    return;
  g_ptr_array_unref (self->runs);
  g_free (self);
}

guint
gaf_run_history_get_n_runs (GafRunHistory *self)
{
  return self->runs->len;
}

const GafRun *
gaf_run_history_get_run (GafRunHistory *self, guint index)
{
  g_return_val_if_fail (index < self->runs->len, NULL);
  return g_ptr_array_index (self->runs, index);
}

const GafRun *
gaf_run_history_find (GafRunHistory *self, guint64 id)
{
  for (guint i = 0; i < self->runs->len; i++)
    if (((GafRun *) g_ptr_array_index (self->runs, i))->id == id)
      return g_ptr_array_index (self->runs, i);
  return NULL;
}

guint64
gaf_run_history_get_serial (GafRunHistory *self)
{
  return self->serial;
}

/* A run worth keeping trained or sampled at least once. */
static gboolean
run_has_data (const GafRun *run)
{
  return run->steps > 0 || run->kl->len > 0;
}

static void
start_run (GafRunHistory *self, const GafSnapshot *s)
{
  GafRun *current = self->runs->len ? g_ptr_array_index (self->runs, self->runs->len - 1) : NULL;
  GafRun *run;

  if (current != NULL && !run_has_data (current))
    g_ptr_array_remove_index (self->runs, self->runs->len - 1);
  while (self->runs->len > GAF_RUN_HISTORY_KEEP)
    g_ptr_array_remove_index (self->runs, 0);
  run = run_new (self->next_id++);
  run->params = s->params;
  run->model_serial = s->model_serial;
  g_ptr_array_add (self->runs, run);
  self->last_params = s->params;
  self->have_eval = FALSE;
}

/* Keeps at most GAF_RUN_MAX_POINTS loss points: when full, every other one goes and the stride doubles. */
static void
add_loss (GafRun *run, const GafSnapshot *s)
{
  GafRunPoint p = { (double) s->step, s->elapsed, s->loss_smooth };

  if (run->loss->len > 0)
    {
      const GafRunPoint *last = &g_array_index (run->loss, GafRunPoint, run->loss->len - 1);
      if (p.step < last->step + run->loss_stride)
        return;
    }
  g_array_append_val (run->loss, p);
  if (run->loss->len >= GAF_RUN_MAX_POINTS)
    {
      guint n = 0;
      for (guint i = 0; i < run->loss->len; i += 2)
        g_array_index (run->loss, GafRunPoint, n++) = g_array_index (run->loss, GafRunPoint, i);
      g_array_set_size (run->loss, n);
      run->loss_stride *= 2;
    }
}

gboolean
gaf_run_history_feed (GafRunHistory *self, const GafSnapshot *s)
{
  GafRun *run;
  const GafRound *last;
  gboolean changed = FALSE;

  g_return_val_if_fail (self != NULL && s != NULL, FALSE);
  if (s->model_kind == NULL && s->state != GAF_RUNNER_EXACT)
    return FALSE;   /* no model yet (the data are being read) */
  run = self->runs->len ? g_ptr_array_index (self->runs, self->runs->len - 1) : NULL;
  if (run == NULL || run->model_serial != s->model_serial)
    {
      start_run (self, s);
      run = g_ptr_array_index (self->runs, self->runs->len - 1);
      changed = TRUE;
    }
  /* Parameters changed while the run goes on (training and sampler ones: a model one is a new run). */
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    if (s->params.value[p] != self->last_params.value[p] && run->changes->len < GAF_RUN_MAX_CHANGES)
      {
        GafRunChange ch = { (double) s->step, s->elapsed, p, s->params.value[p] };
        g_array_append_val (run->changes, ch);
        changed = TRUE;
      }
  self->last_params = s->params;
  if (isfinite (s->loss_smooth) && (double) s->step > run->steps)
    {
      guint before = run->loss->len;
      add_loss (run, s);
      changed |= run->loss->len != before;
      run->final_loss = s->loss_smooth;
    }
  /* The experiment's metric of its last sampling round (the common part of every payload). */
  last = s->payload != NULL ? s->payload->round : NULL;
  if (last != NULL && last->samples > 0 && isfinite (last->kl) &&
      (!self->have_eval || last->step != self->last_eval_step || last->kl != self->last_eval_kl) &&
      run->kl->len < GAF_RUN_MAX_KL)
    {
      GafRunPoint p = { (double) last->step, s->elapsed, last->kl };
      g_array_append_val (run->kl, p);
      self->have_eval = TRUE;
      self->last_eval_step = last->step;
      self->last_eval_kl = last->kl;
      run->final_kl = last->kl;
      run->kl_uniform = last->kl_uniform;
      run->kl_floor = last->kl_floor;
      changed = TRUE;
    }
  run->steps = MAX (run->steps, (double) s->step);
  run->seconds = MAX (run->seconds, s->elapsed);
  if (changed)
    self->serial++;
  return changed;
}

void
gaf_run_history_differing (GafRunHistory *self, const guint64 *ids, guint n_ids, gboolean diff[GAF_N_PARAMS])
{
  const GafRun *first = NULL;

  for (guint p = 0; p < GAF_N_PARAMS; p++)
    diff[p] = FALSE;
  for (guint i = 0; i < n_ids; i++)
    {
      const GafRun *run = gaf_run_history_find (self, ids[i]);
      if (run == NULL)
        continue;
      if (first == NULL)
        first = run;
      for (guint p = 0; p < GAF_N_PARAMS; p++)
        if (run->params.value[p] != first->params.value[p] || g_strcmp0 (run->params.text[p], first->params.text[p]) != 0)
          diff[p] = TRUE;
    }
}

char *
gaf_run_history_to_csv (GafRunHistory *self)
{
  GString *out = g_string_new ("run,started,experiment");

  for (guint p = 0; p < GAF_N_PARAMS; p++)
    g_string_append_printf (out, ",%s", gaf_param_info (p)->key);
  g_string_append (out, ",steps,seconds,final_loss,final_kl,kl_uniform,kl_floor,changes\n");
  for (guint i = 0; i < self->runs->len; i++)
    {
      const GafRun *run = g_ptr_array_index (self->runs, i);
      g_autoptr(GDateTime) t = g_date_time_new_from_unix_utc (run->started / G_USEC_PER_SEC);
      g_autofree char *when = t ? g_date_time_format_iso8601 (t) : g_strdup ("");
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_string_append_printf (out, "%" G_GUINT64_FORMAT ",%s,%s", run->id, when,
                              run->params.experiment->id);
      for (guint p = 0; p < GAF_N_PARAMS; p++)
        if (gaf_param_info (p)->type == GAF_PARAM_TEXT)
          {
            /* A path or a data spec, quoted (a quote inside doubled). */
            g_autoptr(GString) q = g_string_new (run->params.text[p]);
            g_string_replace (q, "\"", "\"\"", 0);
            g_string_append_printf (out, ",\"%s\"", q->str);
          }
        else
          g_string_append_printf (out, ",%s", g_ascii_dtostr (buf, sizeof buf, run->params.value[p]));
      g_string_append_printf (out, ",%.0f", run->steps);
      g_string_append_printf (out, ",%s", g_ascii_formatd (buf, sizeof buf, "%.2f", run->seconds));
      g_string_append_printf (out, ",%s", isfinite (run->final_loss) ? g_ascii_formatd (buf, sizeof buf, "%.6g", run->final_loss) : "");
      g_string_append_printf (out, ",%s", isfinite (run->final_kl) ? g_ascii_formatd (buf, sizeof buf, "%.6g", run->final_kl) : "");
      g_string_append_printf (out, ",%s", isfinite (run->kl_uniform) ? g_ascii_formatd (buf, sizeof buf, "%.6g", run->kl_uniform) : "");
      g_string_append_printf (out, ",%s", isfinite (run->kl_floor) ? g_ascii_formatd (buf, sizeof buf, "%.6g", run->kl_floor) : "");
      g_string_append_printf (out, ",%u\n", run->changes->len);
    }
  return g_string_free (out, FALSE);
}

/* ---- the key file ----------------------------------------------------------------------------------- */

static void
set_points (GKeyFile *kf, const char *group, const char *name, GArray *points)
{
  g_autofree double *x = g_new (double, MAX (points->len, 1));
  g_autofree double *t = g_new (double, MAX (points->len, 1));
  g_autofree double *v = g_new (double, MAX (points->len, 1));
  g_autofree char *kx = g_strdup_printf ("%s-step", name);
  g_autofree char *kt = g_strdup_printf ("%s-seconds", name);
  g_autofree char *kv = g_strdup_printf ("%s-value", name);

  for (guint i = 0; i < points->len; i++)
    {
      const GafRunPoint *p = &g_array_index (points, GafRunPoint, i);
      x[i] = p->step;
      t[i] = p->seconds;
      v[i] = p->value;
    }
  g_key_file_set_double_list (kf, group, kx, x, points->len);
  g_key_file_set_double_list (kf, group, kt, t, points->len);
  g_key_file_set_double_list (kf, group, kv, v, points->len);
}

gboolean
gaf_run_history_save (GafRunHistory *self, const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *data = NULL, *dir = g_path_get_dirname (path);
  gsize length;

  g_key_file_set_integer (kf, "history", "version", 1);
  g_key_file_set_uint64 (kf, "history", "next-id", self->next_id);
  for (guint i = 0; i < self->runs->len; i++)
    {
      const GafRun *run = g_ptr_array_index (self->runs, i);
      g_autofree char *group = g_strdup_printf ("run %" G_GUINT64_FORMAT, run->id);
      g_autofree double *cs = g_new (double, MAX (run->changes->len, 1));
      g_autofree double *ct = g_new (double, MAX (run->changes->len, 1));
      g_autofree double *cv = g_new (double, MAX (run->changes->len, 1));
      g_autofree const char **cp = g_new0 (const char *, run->changes->len + 1);

      if (!run_has_data (run))
        continue;
      g_key_file_set_int64 (kf, group, "started", run->started);
      g_key_file_set_string (kf, group, "experiment", run->params.experiment->id);
      /* Every parameter of the table by its key: numbers (a choice by its index), texts as they are. */
      for (guint p = 0; p < GAF_N_PARAMS; p++)
        {
          g_autofree char *key = g_strdup_printf ("param-%s", gaf_param_info (p)->key);
          if (gaf_param_info (p)->type == GAF_PARAM_TEXT)
            g_key_file_set_string (kf, group, key, run->params.text[p]);
          else
            g_key_file_set_double (kf, group, key, run->params.value[p]);
        }
      set_points (kf, group, "loss", run->loss);
      set_points (kf, group, "kl", run->kl);
      for (guint c = 0; c < run->changes->len; c++)
        {
          const GafRunChange *ch = &g_array_index (run->changes, GafRunChange, c);
          cs[c] = ch->step;
          ct[c] = ch->seconds;
          cv[c] = ch->value;
          cp[c] = gaf_param_info (ch->param)->key;
        }
      g_key_file_set_double_list (kf, group, "change-step", cs, run->changes->len);
      g_key_file_set_double_list (kf, group, "change-seconds", ct, run->changes->len);
      g_key_file_set_double_list (kf, group, "change-value", cv, run->changes->len);
      g_key_file_set_string_list (kf, group, "change-param", cp, run->changes->len);
      g_key_file_set_double (kf, group, "steps", run->steps);
      g_key_file_set_double (kf, group, "seconds", run->seconds);
      g_key_file_set_double (kf, group, "final-loss", run->final_loss);
      g_key_file_set_double (kf, group, "final-kl", run->final_kl);
      g_key_file_set_double (kf, group, "kl-uniform", run->kl_uniform);
      g_key_file_set_double (kf, group, "kl-floor", run->kl_floor);
    }
  data = g_key_file_to_data (kf, &length, NULL);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), _("Cannot make the folder “%s”: %s"),
                   dir, g_strerror (saved));
      return FALSE;
    }
  return g_file_set_contents (path, data, length, error);
}

static gboolean
bad (GError **error, const char *path, const char *group, const char *what)
{
  g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
               _("The run history “%s” is damaged (%s: %s); it was left as it is"), path, group, what);
  return FALSE;
}

/* A finite, non-negative double (NAN allowed with allow_nan). */
static gboolean
read_double (GKeyFile *kf, const char *group, const char *key, gboolean allow_nan, double *out)
{
  g_autoptr(GError) local = NULL;
  double v = g_key_file_get_double (kf, group, key, &local);

  if (local != NULL || (isnan (v) && !allow_nan) || isinf (v) || v < 0)
    return FALSE;
  *out = v;
  return TRUE;
}

static gboolean
read_points (GKeyFile *kf, const char *group, const char *name, guint max, GArray *out)
{
  g_autofree char *kx = g_strdup_printf ("%s-step", name);
  g_autofree char *kt = g_strdup_printf ("%s-seconds", name);
  g_autofree char *kv = g_strdup_printf ("%s-value", name);
  gsize nx = 0, nt = 0, nv = 0;
  g_autofree double *x = g_key_file_get_double_list (kf, group, kx, &nx, NULL);
  g_autofree double *t = g_key_file_get_double_list (kf, group, kt, &nt, NULL);
  g_autofree double *v = g_key_file_get_double_list (kf, group, kv, &nv, NULL);

  /* An empty list reads as missing: both mean no points. */
  if (nx != nt || nx != nv || nx > max)
    return FALSE;
  for (gsize i = 0; i < nx; i++)
    {
      GafRunPoint p = { x[i], t[i], v[i] };
      if (!(isfinite (p.step) && p.step >= 0 && isfinite (p.seconds) && p.seconds >= 0 && isfinite (p.value) && p.value >= 0))
        return FALSE;
      g_array_append_val (out, p);
    }
  return TRUE;
}

static gboolean
read_run (GKeyFile *kf, const char *group, const char *path, GafRun *run, GError **error)
{
  g_autofree char *experiment = g_key_file_get_string (kf, group, "experiment", NULL);
  g_autoptr(GError) local = NULL;
  gsize ns = 0, nt = 0, nv = 0, np = 0;
  g_autofree double *cs = NULL, *ct = NULL, *cv = NULL;
  g_auto(GStrv) cp = NULL;

  gaf_runner_params_init (&run->params);
  run->started = g_key_file_get_int64 (kf, group, "started", &local);
  if (local != NULL || run->started < 0)
    return bad (error, path, group, "started");
  /* An id of the registry, or a name of earlier versions ("images"). */
  run->params.experiment = experiment != NULL ? gaf_experiment_lookup_legacy (experiment) : NULL;
  if (run->params.experiment == NULL)
    return bad (error, path, group, "experiment");
  /* Every parameter of the table; one the file does not have (a parameter newer than the file) keeps its
   * default, one it has must be in range. */
  for (guint p = 0; p < GAF_N_PARAMS; p++)
    {
      const GafParamInfo *info = gaf_param_info (p);
      g_autofree char *param_key = g_strdup_printf ("param-%s", info->key);
      const char *key = param_key;
      double v;

      /* Files of the first version kept the label maps' data under "image-data". */
      if (p == GAF_PARAM_IMAGE_DATA && !g_key_file_has_key (kf, group, key, NULL))
        key = "image-data";
      if (!g_key_file_has_key (kf, group, key, NULL))
        continue;
      if (info->type == GAF_PARAM_TEXT)
        {
          g_autofree char *text = g_key_file_get_string (kf, group, key, NULL);
          if (text == NULL || strlen (text) >= GAF_PARAM_TEXT_MAX)
            return bad (error, path, group, key);
          gaf_runner_params_set_text (&run->params, p, text);
          continue;
        }
      if (!read_double (kf, group, key, FALSE, &v) || v < info->min || v > info->max ||
          (info->type != GAF_PARAM_DOUBLE && v != round (v)))
        return bad (error, path, group, key);
      run->params.value[p] = v;
    }
  if (!read_points (kf, group, "loss", GAF_RUN_MAX_POINTS, run->loss))
    return bad (error, path, group, "loss");
  if (!read_points (kf, group, "kl", GAF_RUN_MAX_KL, run->kl))
    return bad (error, path, group, "kl");
  cs = g_key_file_get_double_list (kf, group, "change-step", &ns, NULL);
  ct = g_key_file_get_double_list (kf, group, "change-seconds", &nt, NULL);
  cv = g_key_file_get_double_list (kf, group, "change-value", &nv, NULL);
  cp = g_key_file_get_string_list (kf, group, "change-param", &np, NULL);
  if (ns != nt || ns != nv || ns != np || ns > GAF_RUN_MAX_CHANGES)
    return bad (error, path, group, "changes");
  for (gsize c = 0; c < ns; c++)
    {
      int param = gaf_param_from_key (cp[c]);
      GafRunChange ch = { cs[c], ct[c], param < 0 ? GAF_N_PARAMS : (GafParam) param, cv[c] };

      if (ch.param == GAF_N_PARAMS || gaf_param_info (ch.param)->type == GAF_PARAM_TEXT || !(isfinite (ch.step) && ch.step >= 0 && isfinite (ch.seconds) && ch.seconds >= 0) ||
          !(ch.value >= gaf_param_info (ch.param)->min && ch.value <= gaf_param_info (ch.param)->max))
        return bad (error, path, group, "changes");
      g_array_append_val (run->changes, ch);
    }
  if (!read_double (kf, group, "steps", FALSE, &run->steps) || !read_double (kf, group, "seconds", FALSE, &run->seconds) ||
      !read_double (kf, group, "final-loss", TRUE, &run->final_loss) ||
      !read_double (kf, group, "final-kl", TRUE, &run->final_kl) ||
      !read_double (kf, group, "kl-uniform", TRUE, &run->kl_uniform) ||
      !read_double (kf, group, "kl-floor", TRUE, &run->kl_floor))
    return bad (error, path, group, "final metrics");
  return TRUE;
}

gboolean
gaf_run_history_load (GafRunHistory *self, const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func (run_free);
  g_autofree char *data = NULL;
  g_auto(GStrv) groups = NULL;
  GStatBuf st;
  gsize length, n_groups;
  guint64 next_id;
  g_autoptr(GError) local = NULL;

  if (g_stat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return TRUE;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno), _("Cannot read “%s”: %s"), path,
                   g_strerror (errno));
      return FALSE;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, _("“%s” is not a regular file"), path);
      return FALSE;
    }
  if (st.st_size > GAF_RUN_FILE_MAX_BYTES)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC, _("The run history “%s” is larger than %d MiB"), path,
                   GAF_RUN_FILE_MAX_BYTES / (1024 * 1024));
      return FALSE;
    }
  if (!g_file_get_contents (path, &data, &length, error))
    return FALSE;
  if (length > GAF_RUN_FILE_MAX_BYTES)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOSPC, _("The run history “%s” is larger than %d MiB"), path,
                   GAF_RUN_FILE_MAX_BYTES / (1024 * 1024));
      return FALSE;
    }
  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_NONE, error))
    return FALSE;
  if (g_key_file_get_integer (kf, "history", "version", NULL) != 1)
    return bad (error, path, "history", "version");
  next_id = g_key_file_get_uint64 (kf, "history", "next-id", &local);
  if (local != NULL || next_id == 0 || next_id > G_MAXINT64)
    return bad (error, path, "history", "next-id");
  groups = g_key_file_get_groups (kf, &n_groups);
  if (n_groups > MAX_GROUPS)
    return bad (error, path, "history", "too many runs");
  for (gsize g = 0; g < n_groups; g++)
    {
      guint64 id;
      GafRun *run;
      if (g_strcmp0 (groups[g], "history") == 0)
        continue;
      if (!g_str_has_prefix (groups[g], "run ") || !g_ascii_string_to_unsigned (groups[g] + 4, 10, 1, next_id - 1, &id, NULL))
        return bad (error, path, groups[g], "group name");
      run = run_new (id);
      g_ptr_array_add (runs, run);
      if (!read_run (kf, groups[g], path, run, error))
        return FALSE;
      run->model_serial = G_MAXUINT64;   /* never the current model's */
    }
  while (runs->len > GAF_RUN_HISTORY_KEEP)
    g_ptr_array_remove_index (runs, 0);
  g_ptr_array_unref (self->runs);
  self->runs = g_steal_pointer (&runs);
  self->next_id = next_id;
  self->serial++;
  return TRUE;
}

char *
gaf_run_history_default_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "gaflow", "runs.ini", NULL);
}
