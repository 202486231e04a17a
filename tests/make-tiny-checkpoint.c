/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gaflow-test"
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "gaf-engine.h"

/* Writes a small trained checkpoint for the command-line tests: a toy CNN (the H x W pixels of a label
 * map as a sequence) trained for a few steps on a dataset spec, saved as a training run would save it
 * ([model], [train], [data] with the spec and c, H, W, [sample] t_end), with EMA weights.
 *
 *   make-tiny-checkpoint OUT SPEC STEPS HIDDEN */
int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GafDataset) ds = NULL;
  g_autoptr(GafNet) net = NULL;
  g_autoptr(GafTrainer) tr = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GafModelConfig mcfg;
  GafTrainerConfig tcfg;
  int steps, hidden;

  if (argc != 5)
    {
      fprintf (stderr, "usage: %s OUT SPEC STEPS HIDDEN\n", argv[0]);
      return 2;
    }
  steps = atoi (argv[3]);
  hidden = atoi (argv[4]);
  gaf_blas_set_threads (1);
  ds = gaf_dataset_new_from_spec (argv[2], &error);
  if (ds == NULL)
    goto fail;

  gaf_model_config_init (&mcfg, GAF_MODEL_TOY_CNN, (int) gaf_dataset_pixels (ds), ds->c, 1);
  mcfg.toy_cnn.hidden = hidden;
  mcfg.toy_cnn.fourier_half = hidden / 2;
  mcfg.toy_cnn.time_scale = 0.1;
  mcfg.toy_cnn.position_bias = TRUE;
  net = gaf_model_new (&mcfg, &error);
  if (net == NULL)
    goto fail;

  gaf_trainer_config_init (&tcfg);
  tcfg.batch = 16;
  tcfg.adam.lr = 2e-3;
  tcfg.ema_decay = 0.9;
  tcfg.path.time_rate = 0.5;
  tcfg.seed = 1;
  tr = gaf_trainer_new (net, gaf_dataset_sample, ds, &tcfg);
  for (int s = 0; s < steps; s++)
    {
      double loss;
      if (!gaf_trainer_step (tr, &loss, &error))
        goto fail;
    }

  gaf_model_config_to_keyfile (&mcfg, kf);
  g_key_file_set_string (kf, "data", "spec", ds->name);
  g_key_file_set_integer (kf, "data", "classes", ds->c);
  g_key_file_set_integer (kf, "data", "height", ds->height);
  g_key_file_set_integer (kf, "data", "width", ds->width);
  g_key_file_set_double (kf, "sample", "t_end", 10.0);
  if (!gaf_trainer_save_checkpoint (tr, argv[1], kf, &error))
    goto fail;
  return 0;

fail:
  fprintf (stderr, "%s: %s\n", argv[0], error->message);
  return 1;
}
