"""The shipped model's recipe since session 11 (docs/MODEL.md, "Session 11: a note-end branch"): models/default of
session 10 with a second temporal context of its own (dilations up to 32, +-1.3 s) feeding the frame, offset,
key-release and sustain-pedal heads, trained from device synthesis with the onset branch frozen
(`train.freeze=notes`: the DenseNet, the shared context and the onset head keep their weights and the first two
run as at inference), so the onsets are the starting model's while the note ends learn from the pedal.

  python launch.py --mode=build_data --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi
  python launch.py --mode=train --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/note_ends
  python launch.py --mode=train --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi \\
    --workdir=outputs/note_ends2 --config.init_from=outputs/note_ends --config.model.velocity_level=True \\
    --config.train.steps=3000 --config.optim.learning_rate=5e-4 --config.seed=3

The first run starts from session 10's model, which was models/default until this recipe replaced it; to run it
again, take that model out of git and start from it:

  mkdir -p /tmp/s10 && git archive 38f1ad1 models/default | tar -x -C /tmp/s10
  ... --config.init_from=/tmp/s10/models/default

Then tune and export as docs/MODEL.md says.

Session 16 (docs/MODEL.md, "Session 16") moved that model to the hybrid objective in two more stages of this
recipe: end events on the branch with the trunk still frozen, then the whole network:

  python launch.py --mode=train --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi \
    --config.objective=hybrid --config.model.velocity_level=True --config.init_from=SESSION11_MODEL \
    --workdir=outputs/note_ends_hybrid
  python launch.py --mode=train --config=configs/note_ends.py --config.data.synth.midi_dir=../shared/midi \
    --config.objective=hybrid --config.model.velocity_level=True --config.init_from=outputs/note_ends_hybrid \
    --config.train.freeze=none --config.train.steps=1500 --config.optim.learning_rate=3e-4 --config.seed=5 \
    --workdir=outputs/note_ends_hybrid_full

Sessions 20 and 21 trained the note-end branch 3,000 steps more each with the onsets frozen; session 22 gave the
pedal heads a context of their own and trained it alone (`--config.model.pedal_context=True
--config.train.freeze=all_but_pedal`): docs/MODEL.md has each command.
"""

from configs import device_finetune


def get_config():
  config = device_finetune.get_config()
  model = config.model
  model.pedal = True  # key-release and sustain-pedal heads
  model.end_context = True  # ... reading a context of their own, started from the shared one (init_from)
  model.end_dilations = (1, 2, 4, 8, 16, 32)
  config.train.freeze = "notes"
  # As run: the pedal loss at its weight then (configs/default.py has since divided it by 88). With the trunk frozen
  # the pedal heads read the note-end branch alone, so their weight cannot take the onsets over here.
  config.loss.pedal_weight = 0.5
  config.init_from = "models/default"  # session 10's model when the first stage ran (see above)

  config.optim.learning_rate = 1e-3
  config.optim.warmup_steps = 50
  config.train.steps = 6000
  config.train.checkpoint_every = 500
  return config
