/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define GAF_ERROR (gaf_error_quark ())

/* Errors a user can cause: bad options, bad files, a diverging run. */
typedef enum {
  GAF_ERROR_INVALID_ARGUMENT,
  GAF_ERROR_IO,
  GAF_ERROR_FORMAT,
  GAF_ERROR_DIVERGED,
} GafError;

GQuark gaf_error_quark (void);

G_END_DECLS
