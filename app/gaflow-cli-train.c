/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <stdio.h>

#include "gaf-engine.h"
#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-image.h"
#include "gaflow-cli-joint.h"

/* gaflow-cli train | sample: one command each over two families of data, joint distributions
 * (gaflow-cli-joint.c) and image label maps (gaflow-cli-image.c). The data decide which: the spec of
 * --data, or, without --data, the spec the --checkpoint file records (image runs save theirs in
 * [data] spec, so `train --resume --checkpoint F` and `sample --checkpoint F` need no --data). The data
 * layer says what a spec is (gaf_data_spec_kind); no other option is looked at. */

typedef struct {
  const char        *command;
  GafCliCommandFunc  joint;
  GafCliCommandFunc  images;
  const char        *joint_example;    /* a --data value of each family, for the help text */
  const char        *images_example;
  gboolean           images_from_checkpoint;   /* an image model's data are its checkpoint's: no --data */
} Family;

/* --data, --checkpoint and --help of argv, leaving everything else to the family's own parser. */
static gboolean
peek_options (int argc, char **argv, char **data, char **checkpoint, gboolean *help, GError **error)
{
  GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_STRING, data, NULL, NULL },
    { "checkpoint", 0, 0, G_OPTION_ARG_FILENAME, checkpoint, NULL, NULL },
    { "help", 'h', 0, G_OPTION_ARG_NONE, help, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new (NULL);
  g_auto(GStrv) args = g_new0 (char *, argc + 1);

  for (int i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  g_option_context_set_help_enabled (ctx, FALSE);
  g_option_context_set_ignore_unknown_options (ctx, TRUE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  return g_option_context_parse_strv (ctx, &args, error);
}

/* The [data] spec a checkpoint records, NULL with an error when it cannot be read or records none. */
static char *
checkpoint_data_spec (const char *path, GError **error)
{
  g_autoptr(GafCheckpoint) ck = gaf_checkpoint_load (path, error);
  char *spec;

  if (ck == NULL)
    return NULL;
  spec = g_key_file_get_string (gaf_checkpoint_get_config (ck), "data", "spec", NULL);
  if (spec == NULL)
    g_set_error (error, GAF_ERROR, GAF_ERROR_INVALID_ARGUMENT,
                 "%s records no data ([data] spec): it was not written by 'gaflow-cli train'", path);
  return spec;
}

static int
general_help (const Family *f)
{
  printf ("Usage:\n  gaflow-cli %s --data SPEC [OPTION...]\n\n"
          "The options depend on the kind of data --data names (without --data, the data the --checkpoint\n"
          "file records):\n"
          "  joint distributions: %s\n"
          "    options: gaflow-cli %s --data %s --help\n"
          "  image label maps: %s\n"
          "    options: gaflow-cli %s --data %s --help\n",
          f->command, GAF_JOINT_SPEC_HELP, f->command, f->joint_example, GAF_DATASET_SPEC_HELP, f->command,
          f->images_example);
  return 0;
}

static int
dispatch (const Family *f, int argc, char **argv)
{
  g_autofree char *data = NULL, *checkpoint = NULL, *saved = NULL;
  gboolean help = FALSE;
  g_autoptr(GError) error = NULL;
  const char *spec;

  if (!peek_options (argc, argv, &data, &checkpoint, &help, &error))
    return gaf_cli_fail ("%s", error->message);
  if (data != NULL)
    spec = data;
  else if (checkpoint != NULL)
    {
      saved = checkpoint_data_spec (checkpoint, &error);
      if (saved == NULL && help)
        return general_help (f);
      if (saved == NULL)
        return gaf_cli_fail ("%s: no --data, and the data of --checkpoint cannot be read: %s", f->command,
                             error->message);
      spec = saved;
    }
  else if (help)
    return general_help (f);
  else
    return gaf_cli_fail ("%s: --data SPEC is required (" GAF_DATA_SPEC_HELP ")", f->command);

  switch (gaf_data_spec_kind (spec))
    {
    case GAF_DATA_KIND_JOINT:
      return f->joint (argc, argv);
    case GAF_DATA_KIND_IMAGES:
      if (f->images_from_checkpoint && data != NULL && !help)
        return gaf_cli_fail ("%s: an image model samples from --checkpoint FILE and its data come from there "
                             "(leave out --data '%s')", f->command, data);
      return f->images (argc, argv);
    case GAF_DATA_KIND_UNKNOWN:
    default:
      if (saved != NULL)
        return gaf_cli_fail ("--checkpoint %s: unknown data '%s' (" GAF_DATA_SPEC_HELP ")", checkpoint, spec);
      return gaf_cli_fail ("--data: unknown data '%s' (" GAF_DATA_SPEC_HELP ")", spec);
    }
}

int
gaf_cli_cmd_train (int argc, char **argv)
{
  static const Family f = { "train", gaf_cli_joint_train, gaf_cli_image_train, "pinwheel", "scenes", FALSE };

  return dispatch (&f, argc, argv);
}

int
gaf_cli_cmd_sample (int argc, char **argv)
{
  static const Family f = { "sample", gaf_cli_joint_sample, gaf_cli_image_sample, "pinwheel", "scenes", TRUE };

  return dispatch (&f, argc, argv);
}
