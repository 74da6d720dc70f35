"""What a transcription is written as: MIDI (always asked for by default), a CSV of notes, a piano-roll figure.

Each file is written under a temporary name and renamed only when all the asked-for files of a transcription are
complete, so a full disk or a crash leaves no half-written output. Matplotlib is imported only to draw a figure.
"""

from __future__ import annotations

import collections
import csv
import os

from pianojax import notes
from pianojax.errors import UserError

# The files a transcription can be written as, by extension; `--formats` chooses among them.
FORMATS = ("mid", "csv", "png")
DEFAULT_FORMATS = ("mid",)


def check_formats(formats) -> tuple[str, ...]:
  """The formats as a tuple, or a UserError naming the unknown one."""
  formats = tuple(f.strip().lstrip(".").lower() for f in formats if f.strip())
  for f in formats:
    if f not in FORMATS:
      raise UserError(f"--formats: unknown format {f!r}; choose from {', '.join(FORMATS)}")
  if not formats:
    raise UserError(f"--formats: give at least one of {', '.join(FORMATS)}")
  return formats


def write_csv(found: notes.NoteSequence, path: str) -> None:
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["onset", "offset", "pitch", "velocity"])
    for p, on, off, v in zip(found.pitch, found.onset, found.offset, found.velocity, strict=True):
      w.writerow([f"{on:.4f}", f"{off:.4f}", int(p), int(v)])


def write_transcription(found: notes.NoteSequence, base: str, formats=DEFAULT_FORMATS, audio=None, spec=None) -> None:
  """BASE.mid / BASE.csv / BASE.png (those in `formats`), all or none. The figure needs the `audio` and the
  frontend `spec` it is drawn with."""

  def draw(path):
    from pianojax import figures

    figures.plot_roll(audio, found, spec, path, title=os.path.basename(f"{base}.png"))

  writers = {"mid": lambda p: notes.write_midi(found, p), "csv": lambda p: write_csv(found, p), "png": draw}
  partial = {ext: f"{base}.partial.{ext}" for ext in formats}
  try:
    for ext in formats:
      writers[ext](partial[ext])
    for ext in formats:
      os.replace(partial[ext], f"{base}.{ext}")
  finally:
    for path in partial.values():
      if os.path.exists(path):
        os.remove(path)


def output_names(files: list[str], root: str) -> dict[str, str]:
  """Output stem per input: the path under `root` with `__` for `/`, its extension kept where two inputs would
  otherwise share a name (song.wav and song.flac -> song.wav.mid and song.flac.mid)."""
  root = root if os.path.isdir(root) else os.path.dirname(root)
  stems = {path: os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, "__") for path in files}
  counts = collections.Counter(stems.values())
  return {
    path: stem if counts[stem] == 1 else os.path.relpath(path, root).replace(os.sep, "__")
    for path, stem in stems.items()
  }
