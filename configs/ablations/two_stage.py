"""The research notes' regression: one stage trained on mixtures vs two stages (a separator, then the transcriber
reading its output), each stage-2 training option, at about the same training compute, on held-out mixtures.

Every variant starts from the shipped model (models/default) and trains on the same device-synthesised audio
(configs/two_stage.py: most examples piano with other instruments and noise, the clean piano known):

- shipped: the shipped model as it is (no training), the reference;
- single: the shipped model fine-tuned on the mixtures (one stage), B steps;
- separator: stage 1 trained B steps against the clean piano; stage 2 the shipped transcriber, untouched;
- separated / clean / joint: stage 1 trained B/2 steps, then stage 2 B/2 steps on stage 1's output, on the clean
  piano's spectrogram, or end to end through stage 1 (the separation loss kept, weight 1).

Compute per step (forward GFLOP per audio second: the shipped transcriber 0.45 since session 16, session 10's
0.36; separator 0.29; backward = 2x forward): single 3 x 0.45; separator alone 3 x 0.29; transcriber on separated
or clean 0.29 + 3 x 0.45; joint 3 x 0.74; the tables in docs/ABLATIONS.md ("Two stages") give each row's total.
Evaluated on the test-split mixtures played by the held-out MuseScore grand, with and without their accompaniment
(the same pieces), and separation quality where the clean piano is known; decoding thresholds tuned per variant on
the validation mixtures played by a training piano:

  python launch.py --mode=build_data --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=render --config=configs/pretrained.py --config.data.synth.midi_dir=../shared/midi \\
    --data=mixtures --piano=musescore --output=outputs/heldout
  python launch.py --mode=render --config=configs/pretrained.py --config.data.synth.midi_dir=../shared/midi \\
    --data=mixtures:validation --piano=fluidr3 --output=outputs/heldout
  python launch.py --mode=sweep --config=configs/ablations/two_stage.py \\
    --config.data.synth.midi_dir=../shared/midi --workdir=outputs/sweeps/two_stage
"""

import ml_collections

from configs import two_stage

B = 400  # training steps of the one-stage variant (8 segments of 5.12 s each)
HALF = B // 2

VARIANTS = (
  "shipped: model.stages=1 init_from=models/default train.steps=0",
  f"single: model.stages=1 init_from=models/default train.steps={B}",
  f"separated: train.steps={HALF} | separation.train=transcriber train.steps={HALF}",
  f"joint: train.steps={HALF} | separation.train=joint train.steps={HALF}",
  f"clean: train.steps={HALF} | separation.train=transcriber separation.transcriber_input=clean train.steps={HALF}",
  f"separator: train.steps={B}",
)


def get_config():
  config = two_stage.get_config()
  config.train.checkpoint_every = 100
  config.train.keep_checkpoints = 1
  config.sweep = sweep = ml_collections.ConfigDict()
  sweep.variants = VARIANTS
  sweep.eval = ("outputs/heldout/mixtures", "outputs/heldout/mixtures_piano")
  sweep.tune_data = ("outputs/heldout/mixtures-validation",)
  sweep.eval_max_records = 16
  sweep.metric = "onset_f1"
  sweep.tune = True
  return config
