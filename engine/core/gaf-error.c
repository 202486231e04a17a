/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-engine"
#include "config.h"

#include "gaf-error.h"

G_DEFINE_QUARK (gaf-error-quark, gaf_error)
