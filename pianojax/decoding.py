"""From frame outputs (probabilities, `(frames, 88)`) to notes (NumPy, host side).

- classification: a note starts where the onset probability crosses the threshold (the
  first frame of each run above it) and lasts while the frame probability stays above its
  threshold (or until an offset fires or the same key is struck again).
- regression: onsets are local maxima of the onset triangle above the threshold, one per
  `min_repeat_ms` (the higher wins); the exact time comes from the triangle through the
  peak and its neighbours (sub-frame); offsets likewise from the offset triangle (its
  first peak at least `min_note_ms` after the onset), else from the frame roll.
Notes shorter than `min_note_ms` are dropped.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from pianojax.errors import UserError
from pianojax.notes import MIN_PITCH, NoteSequence


@dataclasses.dataclass(frozen=True)
class DecodeSettings:
  """How frame outputs become notes: the `decode` config section, flags, export and tune all speak this."""

  onset_threshold: float
  frame_threshold: float
  offset_threshold: float
  min_note_ms: float  # shortest note kept
  min_repeat_ms: float  # two onset peaks of one key closer than this are one attack (regression)

  def __post_init__(self):
    for field in dataclasses.fields(self):
      self.check(field.name, getattr(self, field.name))

  @staticmethod
  def check(name: str, value) -> None:
    """Raises a UserError naming `--name` unless `value` is in its range."""
    unit = name.endswith("_threshold")
    if not isinstance(value, int | float) or not math.isfinite(value) or value < 0 or (unit and value > 1):
      allowed = "a probability in [0, 1]" if unit else "a number of milliseconds >= 0"
      raise UserError(f"--{name}={value}: must be {allowed}")

  @classmethod
  def from_config(cls, section) -> DecodeSettings:
    return cls(**{f.name: float(section[f.name]) for f in dataclasses.fields(cls)})

  def replace(self, **overrides) -> DecodeSettings:
    """A copy with the overrides that are not None."""
    return dataclasses.replace(self, **{k: float(v) for k, v in overrides.items() if v is not None})

  def as_dict(self) -> dict[str, float]:
    return dataclasses.asdict(self)


def _runs_start(x: np.ndarray) -> np.ndarray:
  """Indices where a boolean vector turns on."""
  x = x.astype(np.int8)
  return np.nonzero(np.diff(np.concatenate([[0], x])) == 1)[0]


def _peaks(y: np.ndarray, threshold: float, min_gap: float = 0.0) -> np.ndarray:
  """Local maxima of y above threshold (a plateau counts once, at its first frame).

  Peaks closer than `min_gap` frames to a higher one are dropped (one attack, two bumps):
  validation data preferred keeping the higher to keeping the earlier.
  """
  left = np.concatenate([[-np.inf], y[:-1]])
  right = np.concatenate([y[1:], [-np.inf]])
  peaks = np.nonzero((y >= threshold) & (y > left) & (y >= right))[0]
  if min_gap <= 0 or len(peaks) < 2:
    return peaks
  reach = int(np.ceil(min_gap))
  kept = np.zeros(len(y), bool)
  for i in peaks[np.argsort(-y[peaks], kind="stable")]:
    near = np.nonzero(kept[max(0, i - reach) : i + reach + 1])[0] + max(0, i - reach)
    if not np.any(np.abs(near - i) < min_gap):
      kept[i] = True
  return np.nonzero(kept)[0]


def _subframe(y: np.ndarray, i: int) -> float:
  """Offset in frames of a triangle's apex from sample i, given its neighbours."""
  a = y[i - 1] if i > 0 else y[i]
  b = y[i]
  c = y[i + 1] if i + 1 < len(y) else y[i]
  if c >= a:
    denom = 2 * (b - a)
    return float(min(max((c - a) / denom, 0.0), 0.5)) if denom > 1e-9 else 0.0  # (min/max: np.clip is slow
  denom = 2 * (b - c)
  return float(min(max((c - a) / denom, -0.5), 0.0)) if denom > 1e-9 else 0.0


def decode(probs: dict[str, np.ndarray], frame_rate: float, objective: str, settings: DecodeSettings) -> NoteSequence:
  """Notes from per-frame probabilities.

  Args:
    probs: "onset"/"offset" (classification) or "onset_reg"/"offset_reg" (regression),
      plus "frame" and "velocity", each `(frames, 88)` in [0, 1].
    frame_rate: frames per second.
    objective: which heads to read ("classification" or "regression").
    settings: thresholds and durations.

  Returns:
    The notes, times in seconds.
  """
  frame = probs["frame"]
  n_frames = frame.shape[0]
  regression = objective == "regression"
  onsets = probs["onset_reg" if regression else "onset"]
  offsets = probs["offset_reg" if regression else "offset"]
  velocity = probs["velocity"]
  onset_threshold, frame_threshold, offset_threshold = (
    settings.onset_threshold,
    settings.frame_threshold,
    settings.offset_threshold,
  )
  min_frames = settings.min_note_ms * frame_rate / 1000.0
  min_gap = settings.min_repeat_ms * frame_rate / 1000.0
  pitch, on_t, off_t, vel = [], [], [], []
  for k in range(frame.shape[1]):
    # One key at a time in float32 (outputs may arrive as float16: an hour's worth of all of them in float32
    # would double the memory transcription needs).
    onset = np.asarray(onsets[:, k], np.float32)
    if regression:
      starts = _peaks(onset, onset_threshold, min_gap)
    else:
      starts = _runs_start(onset >= onset_threshold)
    if not len(starts):
      continue
    held = np.asarray(frame[:, k], np.float32) >= frame_threshold
    offset = np.asarray(offsets[:, k], np.float32)
    off_peaks = _peaks(offset, offset_threshold) if regression else np.nonzero(offset >= offset_threshold)[0]
    for j, s in enumerate(starts):
      limit = starts[j + 1] if j + 1 < len(starts) else n_frames
      # The note lasts while the frame roll holds (allowing the onset frame itself).
      e = s + 1
      while e < limit and held[e]:
        e += 1
      # (a regression peak at frame 0 may point before it: clipped to the segment's start)
      start_time = max(0.0, s + (_subframe(onset, s) if regression else 0.0))
      # The first offset no sooner than the shortest note: an offset head that also fires at
      # the note's own attack (it does on fast repeated figures) must not delete the note.
      stop = float(e)
      for o in off_peaks[(off_peaks > s) & (off_peaks <= e)]:
        t = o + (_subframe(offset, o) if regression else 0.0)
        if t - start_time >= min_frames:
          stop = t
          break
      if stop - start_time < min_frames:
        continue
      pitch.append(k + MIN_PITCH)
      on_t.append(start_time / frame_rate)
      off_t.append(stop / frame_rate)
      vel.append(min(max(round(float(np.float32(velocity[s, k])) * 127), 1), 127))
  return NoteSequence(pitch, on_t, off_t, vel)
