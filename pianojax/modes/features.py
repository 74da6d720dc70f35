"""`--mode=features --output=FIGURE.png [--input=AUDIO | --input=synthetic | --input=device]`: what the model sees.

Waveform, linear spectrogram, mel spectrogram and MFCC of the input, with the config's
frontend settings. `--input=synthetic` renders a single note, chords and a mixture with a
training SoundFont; `--input=device` draws six training examples of the device synthesiser (synth/device.py, its
assets built by --mode=build_data) with their targets; no input draws generated tones (no SoundFont needed).
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
  if args.input == "device":
    _device_examples(config, spec, args.output)
    print(f"wrote {args.output}")
    return 0
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


def _device_examples(config, spec, path: str, count: int = 6) -> None:
  import jax
  import numpy as np

  from pianojax.synth import device

  synth = device.from_config(config)
  batch = jax.tree.map(np.asarray, synth.batch_fn(count, with_kind=True)(jax.random.key(config.seed)))
  titles = [
    f"{device.MATERIALS[k]}{' (other instruments alone)' if alone else ''}"
    for k, alone in zip(batch["kind"], batch["alone"], strict=True)
  ]
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  figures.plot_examples(batch, titles, spec, path)
