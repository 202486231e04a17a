/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "gaf-experiment.h"

G_BEGIN_DECLS

/* Text: the lines of a text file (GAF_PARAM_TEXT_DATA: a path, whose lines of the most common length N are
 * taken; or "text:FILE,length=N" as gaflow-cli reads it; "" for a built-in list of words) as sequences of N
 * characters, learned by the MLP. A round shows its generated sequences beside
 * the file's most frequent lines, and the share of generated sequences that are lines of the file. */

extern const GafExperimentClass gaf_text_experiment;

#define GAF_TEXT_SHOWN      12          /* generated sequences and frequent lines a payload carries */
#define GAF_TEXT_MAX_BYTES  (16 << 20)  /* largest text file read */
#define GAF_TEXT_MAX_LENGTH 32          /* longest line length learned */

typedef struct {
  GafPayload  parent;
  char       *source;                    /* the file's name, or "built-in words" */
  int         length;                    /* characters per sequence */
  guint       lines, kept;               /* lines of the file, lines of that length with known characters */
  guint       n_frequent;
  char       *frequent[GAF_TEXT_SHOWN];  /* the most frequent lines, most frequent first */
  double      frequent_p[GAF_TEXT_SHOWN];
  guint       n_generated;               /* 0 before the first round */
  char       *generated[GAF_TEXT_SHOWN];
  gboolean    generated_known[GAF_TEXT_SHOWN];   /* the sequence is a line of the file */
  double      share;                     /* of the round's sequences that are lines of the file (NAN before) */
  guint64     samples;
} GafTextPayload;

extern const GafPayloadType gaf_text_payload_type;

static inline const GafTextPayload *
gaf_text_payload (const GafPayload *payload)
{
  return gaf_payload_cast (payload, &gaf_text_payload_type);
}

G_END_DECLS
