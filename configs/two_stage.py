"""The two-stage model (docs/ABLATIONS.md, "Two stages"): a separator maps the mixture's spectrogram to the clean
piano's (the research notes' "regression", Spleeter / Open-Unmix style masking), then the shipped model's
transcriber reads the separated spectrogram.

The transcriber here is the shipped CPU model's network (configs/note_ends.py as models/default was trained since
session 16: hybrid objective, key-release and pedal heads on a note-end branch, level-aware velocity; the pedal
heads on a context of their own since session 22), so it can start from models/default
(`separation.transcriber_from`); training audio is synthesised on the device (the clean piano stem of every mixture
is known there), with other instruments in most examples. The curriculum of the notes, one stage at a time:

  python launch.py --mode=build_data --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi
  # stage 1 alone, against the clean piano (the transcriber is the shipped one, untouched)
  python launch.py --mode=train --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi \\
    --config.separation.train=separator --workdir=runs/sep
  # stage 2 on stage 1's output (or: --config.separation.transcriber_input=clean, or separation.train=joint)
  python launch.py --mode=train --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi \\
    --config.separation.train=transcriber --config.init_from=runs/sep/checkpoints --workdir=runs/two

Sessions 10-16 described session 10's network here (regression, no pedal heads); since session 11 models/default
has not matched that, and `separation.transcriber_from` refused it with a one-line error. Session 10's rows in
docs/ABLATIONS.md were made with that network: `git archive 38f1ad1 models/default` gives its transcriber.
"""

from configs import note_ends


def get_config():
  config = note_ends.get_config()
  config.objective = "hybrid"  # models/default's network and heads (docs/MODEL.md, "Session 16")
  config.model.velocity_level = True
  config.model.pedal_context = True  # the pedal heads' own context (docs/MODEL.md, "Session 22")
  config.model.stages = 2
  config.train.freeze = "none"  # a two-stage model freezes by stage (separation.train)
  config.init_from = ""  # each stage has its own starting point below

  config.data.source = "device"
  dev = config.data.device
  dev.others_prob = 0.8  # most examples are piano with other instruments (and noise): what stage 1 learns on
  dev.alone_prob = 0.05

  st = config.separation
  st.train = "separator"
  st.transcriber_from = "models/default"
  st.loss = "l1_log"

  # models/default's decoding (docs/MODEL.md, "Session 16"; end events confirmed since session 18, at their peaks since
  # session 20, sounding ends from the keys and the pedal since session 21)
  dec = config.decode
  dec.onset_threshold = 0.7
  dec.frame_threshold = 0.2
  dec.offset_threshold = 0.5
  dec.pedal_threshold = 0.6
  dec.release_threshold = 0.2
  dec.end_confirm_threshold = 0.7
  dec.sounding_ends = "keys"
  config.inference.segment_hop_frames = 192

  config.optim.learning_rate = 1e-3  # fine-tuning from the shipped weights
  config.optim.warmup_steps = 50
  train = config.train
  train.steps = 600
  train.eval_every = 10**9
  train.eval_datasets = ()
  train.checkpoint_every = 200
  return config
