/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow"
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "gaf-application.h"
#include "gaf-settings.h"

int
main (int argc, char **argv)
{
  g_autoptr(GafApplication) app = NULL;
  int status;

  setlocale (LC_ALL, "");
  /* From the build tree, the translations are the ones just built. */
  bindtextdomain (GETTEXT_PACKAGE, gaf_running_uninstalled () ? GAF_BUILD_ROOT "/po" : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_application_name (_("Gaflow"));

  app = gaf_application_new ();
  status = g_application_run (G_APPLICATION (app), argc, argv);
  return status != 0 ? status : gaf_application_get_exit_status (app);
}
