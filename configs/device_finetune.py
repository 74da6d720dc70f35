"""Session 10's shipped model's recipe (since session 11 the note-end branch of configs/note_ends.py is trained on top
of it): models/default's weights as they were then (session 4) fine-tuned on audio synthesised
on the device (data.source=device: the four training SoundFont pianos' sample banks, varied per example, the real
performances of data.synth.midi_dir, other instruments and noise in half of the examples), same network.

  python launch.py --mode=build_data --config=configs/device_finetune.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/device_finetune.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/device_finetune

docs/MODEL.md records the run, its decoding thresholds and the held-out numbers against the model it started from.
To start from the same weights now, take session 4's model out of git:
`mkdir -p /tmp/s4 && git archive 24932b2 models/default | tar -x -C /tmp/s4` and pass
`--config.init_from=/tmp/s4/models/default`.
"""

from configs import pretrained


def get_config():
  config = pretrained.get_config()
  model = config.model
  model.pedal = False  # models/default's network: no key-release or pedal heads, context dilations up to 8
  model.velocity_level = False
  model.context_dilations = (1, 2, 4, 8)
  model.end_context = False
  config.objective = "regression"
  config.init_from = "models/default"

  config.data.source = "device"
  config.data.device.others_prob = 0.5  # piano with other instruments and noise in half of the examples

  config.decode.onset_threshold = 0.8  # models/default's decoding until tuned again (docs/MODEL.md)
  config.decode.frame_threshold = 0.1
  config.inference.segment_hop_frames = 192

  config.optim.learning_rate = 1e-3
  config.optim.warmup_steps = 50
  train = config.train
  train.steps = 1500
  train.log_every = 100
  train.eval_every = 10**9  # evaluated on the held-out folders afterwards (docs/MODEL.md)
  train.eval_datasets = ()
  train.checkpoint_every = 250
  return config
