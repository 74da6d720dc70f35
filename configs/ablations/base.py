"""The common base of every ablation sweep: a small model the 2-core CPU trains in a few minutes.

Data: the synthetic datasets of configs/pretrained.py (same settings, so they are built once),
performances rendered from ../shared/midi when `data.synth.midi_dir` is given. Evaluation on
the held-out piano (test splits, MuseScore General) of chords, mixtures and performances.
Each sweep file adds `sweep.variants`; run one with

  python launch.py --mode=sweep --config=configs/ablations/representation.py \
    --config.data.synth.midi_dir=../shared/midi --workdir=outputs/sweeps/representation
"""

import ml_collections

from configs import pretrained


def get_config(variants=("baseline:",)) -> ml_collections.ConfigDict:
  config = pretrained.get_config()
  model = config.model
  model.stem_channels = 16
  model.block_layers = (2, 2)
  model.growth = 12
  model.bottleneck = 2
  model.context_width = 64
  model.context_dilations = (1, 2, 4)
  config.data.segment_frames = 128  # 2.56 s
  config.inference.segment_hop_frames = 64
  # The research questions' reference point, pinned here (the shipped model's config moves on with
  # their answers): classification, 128 log-mel bands, spectrogram masking on (as the first shipped model).
  config.objective = "classification"
  config.model.end_context = False  # (the sweeps were run without the note-end branch; their rows ask for it)
  config.frontend.representation = "mel"
  config.frontend.n_mels = 128
  config.frontend.bins_per_octave = 24  # used by the logfreq variants
  config.data.augment.spec_time_masks = 2
  config.data.augment.spec_freq_masks = 2
  config.optim.learning_rate = 3e-3
  config.optim.warmup_steps = 50
  train = config.train
  train.steps = 1200
  train.log_every = 100
  train.eval_every = 10**9  # the sweep evaluates once, at the end, on sweep.eval
  train.checkpoint_every = 400
  train.keep_checkpoints = 1
  train.batch_size = 4
  train.eval_datasets = ()  # no validation pass: the sweep evaluates on sweep.eval

  config.sweep = sweep = ml_collections.ConfigDict()
  sweep.variants = tuple(variants)
  sweep.eval = ("chords:test", "mixtures:test", "performances:test")
  sweep.eval_max_records = 8
  sweep.metric = "onset_f1"
  sweep.tune = True  # each variant decodes with its own best thresholds on the validation splits
  sweep.archive = ""  # a repository folder that keeps each finished row (pianojax/modes/sweep.py): set per sweep
  return config
