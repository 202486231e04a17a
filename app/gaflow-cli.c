/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-cli"
#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "gaflow-cli-commands.h"
#include "gaflow-cli-common.h"
#include "gaflow-cli-mpi.h"

/* gaflow-cli COMMAND [OPTIONS]: looks the command up in the table (gaflow-cli-commands.h, which says how to
 * add one) and hands it the rest of the command line. */

#define GAF_CLI_ROW(name, mpi, summary) { #name, mpi, summary, gaf_cli_cmd_##name },
static const GafCliCommand commands[] = {
  GAF_CLI_COMMANDS (GAF_CLI_ROW)
};
#undef GAF_CLI_ROW

const GafCliCommand *
gaf_cli_commands (guint *n_commands)
{
  *n_commands = G_N_ELEMENTS (commands);
  return commands;
}

const GafCliCommand *
gaf_cli_command_find (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_strcmp0 (commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

/* "sweep, plot, ..., likelihood" */
static char *
command_names (void)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (s, "%s%s", i ? ", " : "", commands[i].name);
  return g_string_free (s, FALSE);
}

static void
usage (void)
{
  int width = 0;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    width = MAX (width, (int) strlen (commands[i].name));
  printf ("Usage: gaflow-cli COMMAND [OPTIONS]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    printf ("  %-*s  %s\n", width, commands[i].name, commands[i].summary);
  printf ("\nRun 'gaflow-cli COMMAND --help' (or 'gaflow-cli help COMMAND') for the options of a command.\n");
  printf ("Every command also takes --max-memory SIZE (for example 4G, 512M or 25%%): the most one dataset or\n"
          "model may take; default half of the physical memory (or the variable GAF_MAX_MEMORY).\n");
}

static int
unknown_command (const char *name)
{
  g_autofree char *names = command_names ();

  return gaf_cli_fail ("unknown command '%s' (commands: %s; see 'gaflow-cli --help')", name, names);
}

static int
run (int argc, char **argv)
{
  const GafCliCommand *cmd;
  g_autoptr(GError) error = NULL;

  if (!gaf_cli_mpi_check_launch (&error) || !gaf_cli_take_max_memory (&argc, argv, &error))
    return gaf_cli_fail ("%s", error->message);
  if (argc < 2)
    {
      g_autofree char *names = command_names ();
      return gaf_cli_fail ("no command given (commands: %s; see 'gaflow-cli --help')", names);
    }
  if (g_str_equal (argv[1], "--help") || g_str_equal (argv[1], "-h") || (g_str_equal (argv[1], "help") && argc == 2))
    {
      usage ();
      return 0;
    }
  if (g_str_equal (argv[1], "--version"))
    {
      printf ("gaflow-cli %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (g_str_equal (argv[1], "help"))
    {
      /* help COMMAND = COMMAND --help */
      char *help_argv[] = { argv[2], (char *) "--help", NULL };

      if (argc > 3)
        return gaf_cli_fail ("help: unexpected argument '%s' (usage: gaflow-cli help [COMMAND])", argv[3]);
      cmd = gaf_cli_command_find (argv[2]);
      if (cmd == NULL)
        return unknown_command (argv[2]);
      return cmd->run (2, help_argv);
    }
  if (argv[1][0] == '-')
    return gaf_cli_fail ("'%s': the command comes first (usage: gaflow-cli COMMAND [OPTIONS]; see 'gaflow-cli --help')",
                         argv[1]);
  cmd = gaf_cli_command_find (argv[1]);
  if (cmd == NULL)
    return unknown_command (argv[1]);
  if (gaf_cli_mpi_size () > 1 && !cmd->mpi)
    return gaf_cli_fail ("%s runs as one process, not under MPI (%d processes here): run it without mpirun "
                         "(train and sweep are the commands that split their work over processes)",
                         cmd->name, gaf_cli_mpi_size ());
  return cmd->run (argc - 1, argv + 1);
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  /* Under mpirun every process runs this whole program; the commands split the work (gaflow-cli-mpi.h). */
  gaf_cli_mpi_init (&argc, &argv);
  return gaf_cli_mpi_finish (run (argc, argv));
}
