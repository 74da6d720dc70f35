"""`--mode=features --output=FIGURE.png [--input=AUDIO | --input=synthetic]`: what the model sees.

Waveform, linear spectrogram, mel spectrogram and MFCC of the input, with the config's
frontend settings. `--input=synthetic` renders a single note, chords and a mixture with a
training SoundFont; no input draws generated tones (no SoundFont needed).
"""

from __future__ import annotations

import os

from pianojax import audio_io, figures, frontend
from pianojax.errors import UserError
from pianojax.synth import examples


def run(config, args) -> int:
  if not args.output:
    raise UserError("--output=FIGURE.png is required for --mode=features")
  spec = frontend.FrontendSpec.from_config(config.frontend)
  if args.input == "synthetic":
    signals = examples.showcase(spec.sample_rate, config.data.synth.train_soundfonts, config.seed)
  elif args.input:
    signals = {os.path.basename(args.input): audio_io.load_audio(args.input, spec.sample_rate)}
  else:
    signals = examples.reference_tones(spec.sample_rate)
  os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
  figures.plot_features(signals, spec, args.output)
  print(f"wrote {args.output}")
  return 0
