"""`launch.py --mode=eval`: note and frame metrics of a checkpoint on a TFDS split or a folder of audio + MIDI.

Writes `eval.json` (per file and mean), `eval.md` (a Markdown table) and, per file, a piano
roll of the prediction over the ground truth (hits green, false positives red, misses blue).
Ground-truth offsets are extended by the sustain pedal by default (as MAESTRO's evaluation
does); `--offsets=key` uses key releases.
"""

from __future__ import annotations

import json
import os

import numpy as np

from pianojax import audio_io, labels, metrics, notes
from pianojax.errors import UserError


def folder_records(folder: str):
  """(name, audio path, MIDI path) for each audio file with a .mid/.midi of the same stem."""
  out = []
  for path in audio_io.find_audio_files(folder):
    stem = os.path.splitext(path)[0]
    midi = next((stem + ext for ext in (".mid", ".midi", ".MID") if os.path.isfile(stem + ext)), None)
    if midi:
      out.append((os.path.relpath(stem, folder).replace(os.sep, "__"), path, midi))
  if not out:
    raise UserError(f"{folder}: no audio file with a MIDI file of the same name")
  return out


def records(config, data: str, offsets: str = "pedal"):
  """(name, audio at the config's rate, reference notes) for a folder or one or more NAME:SPLIT.

  References are clipped to the audio (a MIDI file may run past it); offsets pedal-extended
  or key releases.
  """
  rate = config.frontend.sample_rate
  if os.path.isdir(data):
    items = [
      (name, lambda a=audio_path, m=midi: (audio_io.load_audio(a, rate), notes.read_midi(m)))
      for name, audio_path, midi in folder_records(data)
    ]
  else:
    from pianojax import datasets
    from pianojax.datasets import features

    items = []
    for spec in data.split(","):
      name, _, split = spec.strip().partition(":")
      source = datasets.data_source(config, name, split or "test")

      def load(src=source, i=0):
        ex = src[i]
        return ex["audio"].astype(np.float32) / 32768.0, features.decode_notes(ex)

      items += [(f"{name}-{split or 'test'}-{i:04d}", lambda s=source, i=i: load(s, i)) for i in range(len(source))]
  for name, load_item in items:
    audio, ref = load_item()
    duration = len(audio) / rate
    ref = labels.with_offsets(ref, offsets).clip(0.0, duration, clamp=True)
    yield name, audio, ref.select(ref.onset < duration - 1e-3)


def plot_comparison(ref_roll: np.ndarray, est_roll: np.ndarray, frame_rate: float, path: str, title: str) -> None:
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  image = np.ones((*ref_roll.T.shape, 3))
  image[(ref_roll & est_roll).T] = (0.1, 0.6, 0.1)  # hit
  image[(~ref_roll & est_roll).T] = (0.85, 0.1, 0.1)  # false positive
  image[(ref_roll & ~est_roll).T] = (0.1, 0.3, 0.9)  # miss
  fig, ax = plt.subplots(figsize=(14, 5))
  seconds = ref_roll.shape[0] / frame_rate
  ax.imshow(image, origin="lower", aspect="auto", extent=(0, seconds, notes.MIN_PITCH - 0.5, notes.MAX_PITCH + 0.5))
  ax.set(xlabel="time (s)", ylabel="MIDI pitch", title=f"{title}: green hit, red false positive, blue miss")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def run(checkpoint: str | None, data: str, output: str, offsets: str = "pedal", figures: bool = True) -> dict:
  """Evaluates and writes the report; returns {"per_file": ..., "mean": ...}."""
  from pianojax import inference, transcribe

  if not data or not output:
    raise UserError("--data=(FOLDER | NAME:SPLIT) and --output=DIR are required for --mode=eval")
  if offsets not in ("pedal", "key"):
    raise UserError(f"--offsets must be pedal or key, not {offsets!r}")
  config, predictor = transcribe.load_model(checkpoint)
  rate = config.frontend.sample_rate
  frame_rate = rate / config.frontend.hop_length
  os.makedirs(output, exist_ok=True)
  per_file = {}
  for name, audio, ref in records(config, data, offsets):
    est, probs = inference.transcribe_audio(predictor, audio, config)
    n_frames = probs["frame"].shape[0]
    ref_roll, est_roll = metrics.roll(ref, n_frames, frame_rate), metrics.roll(est, n_frames, frame_rate)
    m = metrics.note_metrics(ref, est)
    m.update(metrics.frame_metrics(ref_roll, est_roll))
    per_file[name] = m
    if figures:
      plot_comparison(ref_roll, est_roll, frame_rate, os.path.join(output, f"{name}.png"), name)
  report = {
    "checkpoint": checkpoint,
    "data": data,
    "offsets": offsets,
    "per_file": per_file,
    "mean": metrics.average(list(per_file.values())),
  }
  with open(os.path.join(output, "eval.json"), "w") as f:
    json.dump(report, f, indent=1)
  table = markdown_table(report)
  with open(os.path.join(output, "eval.md"), "w") as f:
    f.write(table + "\n")
  print(table)
  return report


def markdown_table(report: dict) -> str:
  return metrics.markdown_table({**report["per_file"], "**mean**": report["mean"]}, "file")
