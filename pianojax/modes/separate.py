"""`--mode=separate --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN]`: the piano, separated by stage 1 of a
two-stage model (model.stages=2), as audio a person can listen to.

For each audio file: `DIR/NAME.wav`, the separated piano (stage 1's mask spread onto the mixture's STFT, its own
phase kept, inverse STFT), and `DIR/NAME.png`, the spectrograms on the model's frontend grid: the mixture, the
separated piano and, where the clean piano is known (a `FOLDER_piano` twin of the input folder, as `--mode=render`
writes for mixtures), the true clean piano; a line per file with the separated piano's SDR against it. Bad files
are named and skipped (exit code 2); the rest are still separated.
"""

from __future__ import annotations

import os
import sys

import jax.numpy as jnp
import numpy as np

from pianojax import audio_io, figures, inference, outputs, separation, testsets
from pianojax.errors import UserError


def run(config, args) -> int:
  del config  # the checkpoint's own config is used
  if not args.input or not args.output:
    raise UserError("--input=AUDIO_OR_FOLDER and --output=DIR are required for --mode=separate")
  if not os.path.exists(args.input):
    raise UserError(f"{args.input}: no such file or folder")
  files = audio_io.find_audio_files(args.input)
  if not files:
    raise UserError(f"{args.input}: no audio files found")
  masks = inference.Predictor.separator_of(args.checkpoint)
  spec, rate = masks.spec, masks.spec.sample_rate
  floor = masks.config.separation.floor
  root = args.input if os.path.isdir(args.input) else os.path.dirname(args.input)
  stems = testsets.stem_folder(root)
  os.makedirs(args.output, exist_ok=True)
  failed = 0
  for path, name in outputs.output_names(files, args.input).items():
    try:
      audio = audio_io.load_audio(path, rate)
    except audio_io.AudioError as e:
      print(f"skipping {e}", file=sys.stderr)
      failed += 1
      continue
    separated, mask = inference.separate(masks, audio)
    base = os.path.join(args.output, name)
    audio_io.write_wav(base + ".wav", separated, rate)
    power = np.asarray(separation.grid_power(jnp.asarray(audio[None]), spec, mask.shape[0]))[0]
    spectra = {"mixture": power, "separated (stage 1's mask x mixture)": mask * power}
    clean_path = os.path.join(stems, os.path.relpath(path, root))
    line = f"{path} -> {base}.wav"
    if os.path.isfile(clean_path):
      clean = audio_io.load_audio(clean_path, rate)
      spectra["clean piano (truth)"] = np.asarray(separation.grid_power(jnp.asarray(clean[None]), spec, len(mask)))[0]
      m = separation.separation_metrics(clean, audio, separated, spec, floor)
      line += f"  SDR {m['sep_sdr']:.1f} dB (mixture {m['mix_sdr']:.1f} dB) against {clean_path}"
    figures.plot_separation(spectra, masks.frame_rate, base + ".png", os.path.basename(path), spec.representation)
    print(line)
  if failed:
    print(f"{len(files) - failed} file(s) separated, {failed} not (named above)", file=sys.stderr)
  return 2 if failed else 0
