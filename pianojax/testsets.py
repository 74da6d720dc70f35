"""Evaluation folders (audio + MIDI of the same name) played by a chosen piano.

`--mode=render` writes what `--mode=eval --data=FOLDER` and `--mode=transcribe` read:

- the test material of synthetic datasets (`--data=performances,mixtures`: the same held-out
  MIDI excerpts, instruments and noise as `NAME:test`), played by `--piano` instead of the
  held-out SoundFont, so one model can be scored on several pianos on identical notes
  (`NAME:validation` renders the validation material, e.g. to tune thresholds on a piano
  held out of training);
- whole MIDI files (`--input=FILE_OR_FOLDER`), e.g. the example or any performance.

The MIDI written next to each WAV holds the notes as played (with the sustain pedal), the
reference for eval.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import numpy as np

from pianojax import audio_io, notes
from pianojax.errors import UserError
from pianojax.synth import effects

PEAK_DBFS = -3.0


def render_tests(config, materials: str, piano: str, output: str) -> list[str]:
  """Renders a split (default test) of each synthetic material with `piano`; returns the folders written.

  `materials` is a comma list of NAME or NAME:SPLIT; the folder of NAME:SPLIT is
  `output/NAME` for the test split and `output/NAME-SPLIT` otherwise.
  """
  from pianojax.datasets import synthetic
  from pianojax.synth import materials as materials_lib

  folders = []
  for spec in [m.strip() for m in materials.split(",") if m.strip()]:
    material, _, split = spec.partition(":")
    split = split or "test"
    if split not in synthetic.SPLITS:
      raise UserError(f"--data={spec}: split must be one of {synthetic.SPLITS}")
    cfg = synthetic.make_config(material, config.data.synth, config.frontend.sample_rate)
    cfg = dataclasses.replace(cfg, test_soundfonts=(piano,), train_soundfonts=(piano,))
    folder = os.path.join(output, material if split == "test" else f"{material}-{split}")
    stems = material in STEM_MATERIALS
    described = {}
    for key, audio, piano_notes, _, item, parts in synthetic.generate(cfg, split, [], stems=stems):
      described[key] = materials_lib.describe(item)
      alone, noiseless = parts or (None, None)
      for where, wave in ((folder, audio), (stem_folder(folder), alone), (noiseless_folder(folder), noiseless)):
        if wave is None:
          continue
        os.makedirs(where, exist_ok=True)
        audio_io.write_wav(os.path.join(where, key + ".wav"), wave.astype(np.float32) / 32768.0, cfg.sample_rate)
        notes.write_midi(piano_notes, os.path.join(where, key + ".mid"))
    if stems:  # what each mix holds besides the piano (scripts/mixture_gap.py groups the gap by it)
      with open(os.path.join(folder, MATERIALS_FILE), "w") as f:
        json.dump(described, f, indent=1)
    also = f" (and the piano alone -> {stem_folder(folder)}, without noise -> {noiseless_folder(folder)})"
    also = also if stems else ""
    print(f"{material}: {dict(cfg.sizes)[split]} {split} examples played by {piano} -> {folder}{also}")
    folders.append(folder)
  return folders


# Materials with other instruments: their folders get twins holding the piano alone (`stem_folder`) and the mix
# without its noise (`noiseless_folder`).
STEM_MATERIALS = ("mixtures", "ensembles")
STEM_SUFFIX = "_piano"
MATERIALS_FILE = "materials.json"  # in a folder of mixtures: each clip's other instruments, their level, its noise
NOISELESS_SUFFIX = "_no_noise"


def stem_folder(folder: str) -> str:
  """Where the piano alone of a folder of mixtures is: `FOLDER_piano` beside it, the same file names (audio: the
  piano as it sounds in each mix, same room and level, without the other instruments and noise; MIDI: the same
  notes). It is an evaluation folder itself: the same pieces without accompaniment. Records read from `folder`
  carry it as their clean stem (records.Record.clean), which eval scores a two-stage model's separation on."""
  return os.path.normpath(folder) + STEM_SUFFIX


def noiseless_folder(folder: str) -> str:
  """Where a folder of mixtures is without its noise: `FOLDER_no_noise` beside it, the same file names (audio: the
  piano and the other instruments as they sound in each mix, same room and level; the mix itself where it has no
  noise; MIDI: the same notes). With `stem_folder`, the gap between the mixtures and the piano alone splits into
  what the other instruments cost and what the noise adds (scripts/mixture_gap.py)."""
  return os.path.normpath(folder) + NOISELESS_SUFFIX


def render_midi(path: str, piano: str, output: str, sample_rate: int) -> tuple[list[str], list[str]]:
  """Renders a MIDI file (or every one under a folder) whole with `piano`: (WAVs written, MIDI files skipped)."""
  from pianojax.synth.render import Renderer

  if os.path.isfile(path):
    found = [path]
  elif os.path.isdir(path):
    found = sorted(
      os.path.join(d, n) for d, _, names in os.walk(path) for n in names if n.lower().endswith((".mid", ".midi"))
    )
  else:
    raise UserError(f"{path}: no such MIDI file or folder")
  if not found:
    raise UserError(f"{path}: no .mid/.midi files")
  os.makedirs(output, exist_ok=True)
  renderer = Renderer(sample_rate)
  written, failed = [], []
  try:
    for midi in found:
      try:
        score = notes.read_midi(midi)
      except notes.MidiError as e:  # reported by name; the other files are still rendered
        print(f"skipping {e}", file=sys.stderr)
        failed.append(midi)
        continue
      if len(score) == 0:
        print(f"skipping {midi}: no piano notes", file=sys.stderr)
        failed.append(midi)
        continue
      audio, (played,) = renderer.render([(score, 0)], piano, score.end_time + 1.0)
      root = path if os.path.isdir(path) else os.path.dirname(path)
      base = os.path.join(output, os.path.splitext(os.path.relpath(midi, root))[0].replace(os.sep, "__"))
      if os.path.abspath(base + ".mid") == os.path.abspath(midi):
        raise UserError(f"--output={output} would overwrite {midi}: choose another folder")
      try:
        audio_io.write_wav(base + ".wav", effects.normalize_peak(audio, 10 ** (PEAK_DBFS / 20)), sample_rate)
        notes.write_midi(played, base + ".mid")
      except OSError as e:  # disk full, read-only: named; what was written stays
        print(f"skipping {midi}: cannot write {e.filename or base}: {e.strerror or e}", file=sys.stderr)
        failed.append(midi)
        continue
      written.append(base + ".wav")
  finally:
    renderer.close()
  print(f"{len(written)} of {len(found)} MIDI file(s) played by {piano} -> {output}")
  return written, failed
