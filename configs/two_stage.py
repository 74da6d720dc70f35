"""The two-stage model (docs/ABLATIONS.md, "Two stages"): a separator maps the mixture's spectrogram to the clean
piano's (the research notes' "regression", Spleeter / Open-Unmix style masking), then the shipped model's
transcriber reads the separated spectrogram.

The transcriber here is the shipped CPU model's network (configs/pretrained.py as models/default was trained: no
key-release or pedal heads, context dilations up to 8), so it can start from models/default
(`separation.transcriber_from`); training audio is synthesised on the device (the clean piano stem of every mixture
is known there), with other instruments in most examples. The curriculum of the notes, one stage at a time:

  python launch.py --mode=build_data --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi
  # stage 1 alone, against the clean piano (the transcriber is the shipped one, untouched)
  python launch.py --mode=train --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi \\
    --config.separation.train=separator --workdir=runs/sep
  # stage 2 on stage 1's output (or: --config.separation.transcriber_input=clean, or separation.train=joint)
  python launch.py --mode=train --config=configs/two_stage.py --config.data.synth.midi_dir=../shared/midi \\
    --config.separation.train=transcriber --config.init_from=runs/sep/checkpoints --workdir=runs/two
"""

from configs import pretrained


def get_config():
  config = pretrained.get_config()
  model = config.model
  model.stages = 2
  model.pedal = False  # models/default's heads and context, so its transcriber can be stage 2
  model.velocity_level = False
  model.context_dilations = (1, 2, 4, 8)
  model.end_context = False
  config.objective = "regression"

  config.data.source = "device"
  dev = config.data.device
  dev.others_prob = 0.8  # most examples are piano with other instruments (and noise): what stage 1 learns on
  dev.alone_prob = 0.05

  st = config.separation
  st.train = "separator"
  st.transcriber_from = "models/default"
  st.loss = "l1_log"

  config.decode.onset_threshold = 0.8  # models/default's decoding (docs/MODEL.md)
  config.decode.frame_threshold = 0.1
  config.inference.segment_hop_frames = 192

  config.optim.learning_rate = 1e-3  # fine-tuning from the shipped weights
  config.optim.warmup_steps = 50
  train = config.train
  train.steps = 600
  train.eval_every = 10**9
  train.eval_datasets = ()
  train.checkpoint_every = 200
  return config
