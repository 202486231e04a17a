/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-baselines.h"
#include "gaf-beta.h"
#include "gaf-blas.h"
#include "gaf-error.h"
#include "gaf-layers.h"
#include "gaf-net.h"
#include "gaf-params.h"
#include "gaf-path.h"
#include "gaf-progress.h"
#include "gaf-rng.h"
#include "gaf-sampler.h"
#include "gaf-simplex.h"
#include "gaf-sweep.h"
#include "gaf-target.h"
#include "gaf-toy-cnn.h"
#include "gaf-trainer.h"
