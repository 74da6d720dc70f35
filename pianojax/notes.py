"""Note sequences (pitch, onset, offset, velocity, sustain pedal) and MIDI I/O, pure NumPy.

Offsets come in two flavours: `offset` is the key release; `pedal_offsets()` extends each
note while the sustain pedal is down (until the pedal is lifted or the same key is struck
again), as MAESTRO's evaluation does. Frame targets use the pedal-extended offsets by
default (`data.offset_mode`), because that is when the string stops sounding.
"""

from __future__ import annotations

import dataclasses
import itertools
import os

import numpy as np

from pianojax.errors import UserError

MIN_PITCH = 21  # A0
MAX_PITCH = 108  # C8
NUM_KEYS = MAX_PITCH - MIN_PITCH + 1
PEDAL_THRESHOLD = 64


class MidiError(UserError):
  """A MIDI file could not be read; the message names the path and the reason."""

  def __init__(self, path: str, reason: str):
    super().__init__(f"{path}: {reason}")
    self.path = path
    self.reason = reason


@dataclasses.dataclass
class NoteSequence:
  """Notes as parallel arrays, sorted by onset, plus sustain-pedal (CC64) events."""

  pitch: np.ndarray
  onset: np.ndarray
  offset: np.ndarray
  velocity: np.ndarray
  pedal_time: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.float64))
  pedal_value: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int32))

  def __post_init__(self):
    self.pitch = np.asarray(self.pitch, np.int32).reshape(-1)
    self.onset = np.asarray(self.onset, np.float64).reshape(-1)
    self.offset = np.asarray(self.offset, np.float64).reshape(-1)
    self.velocity = np.asarray(self.velocity, np.int32).reshape(-1)
    self.pedal_time = np.asarray(self.pedal_time, np.float64).reshape(-1)
    self.pedal_value = np.asarray(self.pedal_value, np.int32).reshape(-1)
    n = len(self.pitch)
    if not len(self.onset) == len(self.offset) == len(self.velocity) == n:
      raise ValueError("pitch, onset, offset and velocity must have the same length")
    order = np.lexsort((self.pitch, self.onset))
    for name in ("pitch", "onset", "offset", "velocity"):
      setattr(self, name, getattr(self, name)[order])
    order = np.argsort(self.pedal_time, kind="stable")
    self.pedal_time, self.pedal_value = self.pedal_time[order], self.pedal_value[order]

  @classmethod
  def empty(cls) -> NoteSequence:
    return cls(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0))

  def __len__(self) -> int:
    return len(self.pitch)

  @property
  def end_time(self) -> float:
    ends = [self.offset.max() if len(self) else 0.0, self.pedal_time.max() if self.pedal_time.size else 0.0]
    return float(max(ends))

  def pedal_intervals(self, threshold: int = PEDAL_THRESHOLD) -> np.ndarray:
    """`(n, 2)` [down, up) times of the sustain pedal (the last one closed at infinity)."""
    intervals, down_at = [], None
    for t, v in zip(self.pedal_time, self.pedal_value, strict=True):
      if v >= threshold and down_at is None:
        down_at = t
      elif v < threshold and down_at is not None:
        intervals.append((down_at, t))
        down_at = None
    if down_at is not None:
      intervals.append((down_at, np.inf))
    return np.asarray(intervals, np.float64).reshape(-1, 2)

  def pedal_offsets(self, threshold: int = PEDAL_THRESHOLD) -> np.ndarray:
    """Offsets extended while the sustain pedal is held, cut at the next onset of the same key."""
    offsets = self.offset.copy()
    intervals = self.pedal_intervals(threshold)
    for down, up in intervals:
      held = (self.offset >= down) & (self.offset < up)
      offsets[held] = np.maximum(offsets[held], up)
    for p in np.unique(self.pitch):
      idx = np.nonzero(self.pitch == p)[0]
      for a, b in itertools.pairwise(idx):
        offsets[a] = min(offsets[a], max(self.onset[b], self.offset[a]))
    finite_end = max(self.end_time, float(self.offset.max()) if len(self) else 0.0)
    return np.minimum(offsets, finite_end)

  def select(self, mask: np.ndarray) -> NoteSequence:
    return NoteSequence(
      self.pitch[mask], self.onset[mask], self.offset[mask], self.velocity[mask], self.pedal_time, self.pedal_value
    )

  def clip(self, start: float, end: float, clamp: bool = True) -> NoteSequence:
    """Notes sounding in [start, end) with times shifted by -start.

    With `clamp`, times are clipped to [0, end - start] (labels for audio that ends at
    `end`); without, a note that began before the window keeps its negative onset, so
    frame targets do not mistake the window's edge for an onset (and the sustain pedal's state
    at the window's start keeps the negative time it was set at, for the same reason).
    """
    keep = (self.onset < end) & (self.offset > start)
    out = self.select(keep)
    out.onset = out.onset - start
    out.offset = out.offset - start
    if clamp:
      out.onset = np.clip(out.onset, 0.0, end - start)
      out.offset = np.clip(out.offset, 0.0, end - start)
    before = self.pedal_time < start
    inside = (self.pedal_time >= start) & (self.pedal_time < end)
    times, values = list(self.pedal_time[inside] - start), list(self.pedal_value[inside])
    if before.any():  # carry the pedal state into the window: at 0 (clamped), or when it was set (negative)
      times.insert(0, 0.0 if clamp else float(self.pedal_time[before][-1] - start))
      values.insert(0, int(self.pedal_value[before][-1]))
    out.pedal_time, out.pedal_value = np.asarray(times, np.float64), np.asarray(values, np.int32)
    return out

  def shifted(self, semitones: int = 0, time_scale: float = 1.0, time_offset: float = 0.0) -> NoteSequence:
    """Transposed and/or time-scaled copy; notes pushed off the keyboard are dropped."""
    out = NoteSequence(
      self.pitch + semitones,
      self.onset * time_scale + time_offset,
      self.offset * time_scale + time_offset,
      self.velocity,
      self.pedal_time * time_scale + time_offset,
      self.pedal_value,
    )
    return out.select((out.pitch >= MIN_PITCH) & (out.pitch <= MAX_PITCH))

  @staticmethod
  def concatenate(seqs: list[NoteSequence]) -> NoteSequence:
    if not seqs:
      return NoteSequence.empty()
    return NoteSequence(*(np.concatenate([getattr(s, f.name) for s in seqs]) for f in dataclasses.fields(NoteSequence)))

  def to_dict(self, threshold: int = PEDAL_THRESHOLD) -> dict[str, np.ndarray]:
    """Arrays for storage (TFDS), with the pedal-extended offsets alongside."""
    return {
      "pitch": self.pitch,
      "onset": self.onset.astype(np.float32),
      "offset": self.offset.astype(np.float32),
      "offset_pedal": self.pedal_offsets(threshold).astype(np.float32),
      "velocity": self.velocity,
      "pedal_time": self.pedal_time.astype(np.float32),
      "pedal_value": self.pedal_value,
    }


def read_midi(path: str | os.PathLike, piano_only: bool = True) -> NoteSequence:
  """Reads the notes and sustain pedal of a MIDI file.

  Args:
    path: a .mid/.midi file.
    piano_only: keep only piano programs (GM 0-7) when the file names any; drums never.

  Raises:
    MidiError: unreadable or malformed file.
  """
  import pretty_midi

  path = os.fspath(path)
  if not os.path.isfile(path):
    raise MidiError(path, "no such file")
  try:
    pm = pretty_midi.PrettyMIDI(path)
  except Exception as e:  # noqa: BLE001  (mido/pretty_midi raise many types for bad files)
    raise MidiError(path, f"malformed MIDI ({type(e).__name__}: {str(e).strip()[:120]})") from None
  instruments = [i for i in pm.instruments if not i.is_drum]
  if piano_only and any(i.program < 8 for i in instruments):
    instruments = [i for i in instruments if i.program < 8]
  notes = [n for i in instruments for n in i.notes if MIN_PITCH <= n.pitch <= MAX_PITCH and n.end > n.start]
  pedal = sorted((c.time, c.value) for i in instruments for c in i.control_changes if c.number == 64)
  return NoteSequence(
    [n.pitch for n in notes],
    [n.start for n in notes],
    [n.end for n in notes],
    [n.velocity for n in notes],
    [t for t, _ in pedal],
    [v for _, v in pedal],
  )


def write_midi(notes: NoteSequence, path: str | os.PathLike, program: int = 0) -> None:
  """Writes notes (and sustain pedal events) as a one-track piano MIDI file."""
  import pretty_midi

  pm = pretty_midi.PrettyMIDI()
  inst = pretty_midi.Instrument(program=program, name="piano")
  for p, on, off, v in zip(notes.pitch, notes.onset, notes.offset, notes.velocity, strict=True):
    inst.notes.append(pretty_midi.Note(int(np.clip(v, 1, 127)), int(p), float(on), float(max(off, on + 1e-3))))
  for t, v in zip(notes.pedal_time, notes.pedal_value, strict=True):
    inst.control_changes.append(pretty_midi.ControlChange(64, int(v), float(t)))
  pm.instruments.append(inst)
  pm.write(os.fspath(path))
