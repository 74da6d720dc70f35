"""Note ends and the sustain pedal on top of the shipped model (docs/MODEL.md, "Session 11: a note-end branch"):
models/default's network with a second temporal context of its own (dilations up to 32, +-1.3 s) feeding the frame,
offset, key-release and sustain-pedal heads; trained from device synthesis with the onset branch frozen
(`train.freeze=notes`: the DenseNet, the shared context and the onset and velocity heads keep models/default's
weights), so onsets come out exactly as the shipped model's while the note ends learn from the pedal.

  python launch.py --mode=build_data --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/note_ends
"""

from configs import device_finetune


def get_config():
  config = device_finetune.get_config()
  model = config.model
  model.pedal = True  # key-release and sustain-pedal heads
  model.end_context = True  # ... reading a context of their own, started from the shared one (init_from)
  model.end_dilations = (1, 2, 4, 8, 16, 32)
  config.train.freeze = "notes"

  config.optim.learning_rate = 1e-3
  config.optim.warmup_steps = 50
  config.train.steps = 6000
  config.train.checkpoint_every = 500
  return config
