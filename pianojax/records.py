"""Evaluation sets, read one way for everyone: (name, audio, reference notes) records.

An evaluation set is a folder of audio files each with a MIDI file of the same name
(`--mode=render` writes them), a built TFDS split named `NAME:SPLIT` (split defaults to
`test`), or a pack: one `.npz` file holding a set's audio and notes as stored (`write_pack`,
`--mode=render --output=SET.npz`; it reads with NumPy alone, e.g. on a GPU host without TFDS);
several are joined with commas. Every reader (train-time evaluation, sweeps, tune,
the eval command, benchmarks/score_midi.py) gets the same references: offsets pedal-extended
or key releases, clipped to the audio (a MIDI file may run past it).
"""

from __future__ import annotations

import dataclasses
import functools
import os

import numpy as np

from pianojax import audio_io, labels, notes, testsets
from pianojax.errors import UserError


@dataclasses.dataclass(frozen=True)
class Record:
  name: str
  audio: np.ndarray  # mono float32 at the config's sample rate
  notes: notes.NoteSequence  # the reference, clipped to the audio (offsets as `read` was asked)
  released: notes.NoteSequence | None = None  # the same notes ending at their key release, with the sustain pedal
  offsets: str = "pedal"  # what `notes`' offsets are: "pedal" (extended) or "key" (releases)
  clean: np.ndarray | None = None  # the piano alone in `audio` (a mixture's stem, testsets.stem_folder) where known


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


PACK = "pack"  # the "split" of a set given as one .npz file
_PACK_NOTES = ("pitch", "onset", "offset", "velocity")


def write_pack(config, data, path: str, max_records: int | None = None) -> int:
  """Writes the sets of `data` (their audio and notes as stored, not clipped) into one `.npz` pack; the count."""
  names, audio, notes_cols, pedal = [], [], {k: [] for k in _PACK_NOTES}, {"time": [], "value": []}
  counts = {"audio": [0], "notes": [0], "pedal": [0]}
  for set_name, split in parse_sets(data):
    for i, (record, load) in enumerate(_items(config, set_name, split, None)):
      if max_records is not None and i >= max_records:
        break
      wave, seq, *_ = load()  # (a stem, where a folder has one, is not packed)
      names.append(record)
      audio.append(np.round(np.clip(wave, -1.0, 1.0) * 32767).astype(np.int16))
      for k in _PACK_NOTES:
        notes_cols[k].append(getattr(seq, k))
      pedal["time"].append(seq.pedal_time)
      pedal["value"].append(seq.pedal_value)
      counts["audio"].append(counts["audio"][-1] + len(wave))
      counts["notes"].append(counts["notes"][-1] + len(seq))
      counts["pedal"].append(counts["pedal"][-1] + len(seq.pedal_time))
  if not names:
    raise UserError(f"{data}: no records to pack")
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  np.savez_compressed(
    path,
    names=np.array(names),
    sample_rate=config.frontend.sample_rate,
    audio=np.concatenate(audio),
    **{k: np.concatenate(v) for k, v in notes_cols.items()},
    pedal_time=np.concatenate(pedal["time"]),
    pedal_value=np.concatenate(pedal["value"]),
    **{f"{k}_offsets": np.asarray(v, np.int64) for k, v in counts.items()},
  )
  return len(names)


def _pack_items(path: str, rate: int):
  if not os.path.isfile(path):
    raise UserError(f"evaluation pack {path} not found")
  try:
    with np.load(path) as z:
      pack = {k: z[k] for k in z.files}
  except (OSError, ValueError) as e:
    raise UserError(f"evaluation pack {path} is unreadable ({e})") from None
  if int(pack["sample_rate"]) != rate:
    raise UserError(f"evaluation pack {path} is at {int(pack['sample_rate'])} Hz, the model at {rate} Hz")
  a, n, p = pack["audio_offsets"], pack["notes_offsets"], pack["pedal_offsets"]
  for i, name in enumerate(pack["names"]):

    def load(i=i):
      seq = notes.NoteSequence(
        *(pack[k][n[i] : n[i + 1]] for k in _PACK_NOTES),
        pack["pedal_time"][p[i] : p[i + 1]],
        pack["pedal_value"][p[i] : p[i + 1]],
      )
      return pack["audio"][a[i] : a[i + 1]].astype(np.float32) / 32768.0, seq

    yield str(name), load


def parse_sets(data) -> list[tuple[str, str]]:
  """`"a:validation,b"` (or a tuple of such) -> [("a", "validation"), ("b", "test")]; folders keep split ""."""
  items = data.split(",") if isinstance(data, str) else list(data)
  out = []
  for item in (i.strip() for i in items if i.strip()):
    if os.path.isdir(item):
      out.append((item, ""))
    elif item.endswith(".npz"):
      out.append((item, PACK))
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
        audio, midi_notes, *clean = load()
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
        clean[0] if clean else None,
      )


def _load_pair(audio_path: str, midi: str, rate: int):
  return audio_io.load_audio(audio_path, rate), notes.read_midi(midi)


def _items(config, name: str, split: str, problems: dict | None):
  """(record name, a function that loads (audio, notes)) for one set."""
  rate = config.frontend.sample_rate
  if split == PACK:
    yield from _pack_items(name, rate)
    return
  if not split:  # a folder
    pairs, unpaired = folder_pairs(name)
    for path in unpaired if problems is not None else ():
      problems[path] = "no MIDI file of the same name"
    stems = testsets.stem_folder(name)
    for record, audio_path, midi in pairs:
      stem = os.path.join(stems, os.path.relpath(audio_path, name))
      if os.path.isfile(stem):  # (a mixture whose piano alone is known: three items, the third the stem)
        yield record, lambda a=audio_path, m=midi, s=stem: (*_load_pair(a, m, rate), audio_io.load_audio(s, rate))
      else:
        yield record, lambda a=audio_path, m=midi: _load_pair(a, m, rate)
    return
  from pianojax import datasets
  from pianojax.datasets import encoding

  source = datasets.data_source(config, name, split)

  def load(i):
    example = source[i]
    return example["audio"].astype(np.float32) / 32768.0, encoding.decode_notes(example)

  for i in range(len(source)):
    yield f"{name}-{split}-{i:04d}", functools.partial(load, i)
