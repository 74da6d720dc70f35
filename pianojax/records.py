"""Evaluation sets, read one way for everyone: (name, audio, reference notes) records.

An evaluation set is a folder of audio files each with a MIDI file of the same name
(`--mode=render` writes them) or a built TFDS split named `NAME:SPLIT` (split defaults to
`test`); several are joined with commas. Every reader (train-time evaluation, sweeps, tune,
the eval command, benchmarks/score_midi.py) gets the same references: offsets pedal-extended
or key releases, clipped to the audio (a MIDI file may run past it).
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from pianojax import audio_io, labels, notes
from pianojax.errors import UserError


@dataclasses.dataclass(frozen=True)
class Record:
  name: str
  audio: np.ndarray  # mono float32 at the config's sample rate
  notes: notes.NoteSequence  # the reference, clipped to the audio (offsets as `read` was asked)
  released: notes.NoteSequence | None = None  # the same notes ending at their key release, with the sustain pedal
  offsets: str = "pedal"  # what `notes`' offsets are: "pedal" (extended) or "key" (releases)


def folder_pairs(folder: str) -> tuple[list[tuple[str, str, str]], list[str]]:
  """([(name, audio path, MIDI path)] for each audio file with a .mid/.midi of the same stem, [unpaired audio])."""
  pairs, unpaired = [], []
  for path in audio_io.find_audio_files(folder):
    stem = os.path.splitext(path)[0]
    midi = next((stem + ext for ext in (".mid", ".midi", ".MID") if os.path.isfile(stem + ext)), None)
    if midi:
      pairs.append((os.path.relpath(stem, folder).replace(os.sep, "__"), path, midi))
    else:
      unpaired.append(path)
  if not pairs:
    raise UserError(f"{folder}: no audio file with a MIDI file of the same name")
  return pairs, unpaired


def parse_sets(data) -> list[tuple[str, str]]:
  """`"a:validation,b"` (or a tuple of such) -> [("a", "validation"), ("b", "test")]; folders keep split ""."""
  items = data.split(",") if isinstance(data, str) else list(data)
  out = []
  for item in (i.strip() for i in items if i.strip()):
    if os.path.isdir(item):
      out.append((item, ""))
    else:
      name, _, split = item.partition(":")
      out.append((name, split or "test"))
  if not out:
    raise UserError("no evaluation set given: --data=FOLDER or NAME:SPLIT[,NAME:SPLIT]")
  return out


def read(config, data, offsets: str | None = None, max_records: int | None = None, problems: dict | None = None):
  """Records of every set in `data` (see the module docstring), at most `max_records` per set.

  offsets: "pedal" or "key" (default: the model's `data.offset_mode`).
  problems: if given, a record that cannot be read (bad audio or MIDI) and an audio file without a MIDI file are
    entered here (name or path -> reason) and skipped; otherwise the first bad record raises its UserError.
  """
  offsets = offsets or config.data.offset_mode
  if offsets not in ("pedal", "key"):
    raise UserError(f"--offsets must be pedal or key, not {offsets!r}")
  rate = config.frontend.sample_rate
  for name, split in parse_sets(data):
    for i, (record, load) in enumerate(_items(config, name, split, problems)):
      if max_records is not None and i >= max_records:
        break
      try:
        audio, midi_notes = load()
      except UserError as e:
        if problems is None:
          raise
        problems[record] = str(e)
        continue
      duration = len(audio) / rate
      ref, released = (
        labels.with_offsets(midi_notes, mode).clip(0.0, duration, clamp=True) for mode in (offsets, "key")
      )
      yield Record(
        record,
        audio,
        ref.select(ref.onset < duration - 1e-3),
        released.select(released.onset < duration - 1e-3),
        offsets,
      )


def _items(config, name: str, split: str, problems: dict | None):
  """(record name, a function that loads (audio, notes)) for one set."""
  rate = config.frontend.sample_rate
  if not split:  # a folder
    pairs, unpaired = folder_pairs(name)
    for path in unpaired if problems is not None else ():
      problems[path] = "no MIDI file of the same name"
    for record, audio_path, midi in pairs:
      yield record, lambda a=audio_path, m=midi: (audio_io.load_audio(a, rate), notes.read_midi(m))
    return
  from pianojax import datasets
  from pianojax.datasets import encoding

  source = datasets.data_source(config, name, split)

  def load(i):
    example = source[i]
    return example["audio"].astype(np.float32) / 32768.0, encoding.decode_notes(example)

  for i in range(len(source)):
    yield f"{name}-{split}-{i:04d}", functools.partial(load, i)
