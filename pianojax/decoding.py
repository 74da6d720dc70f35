"""From frame outputs (probabilities, `(frames, 88)`) to notes (NumPy, host side).

- classification: a note starts where the onset probability crosses the threshold (the
  first frame of each run above it) and lasts while the frame probability stays above its
  threshold (or until an offset fires or the same key is struck again).
- regression: onsets are local maxima of the onset triangle above the threshold; the
  exact time comes from the triangle through the peak and its neighbours (sub-frame);
  offsets likewise from the offset triangle, else from the frame roll.
Notes shorter than `min_note_ms` are dropped.
"""

from __future__ import annotations

import numpy as np

from pianojax.notes import MIN_PITCH, NoteSequence


def _runs_start(x: np.ndarray) -> np.ndarray:
  """Indices where a boolean vector turns on."""
  x = x.astype(np.int8)
  return np.nonzero(np.diff(np.concatenate([[0], x])) == 1)[0]


def _peaks(y: np.ndarray, threshold: float) -> np.ndarray:
  """Local maxima of y above threshold (a plateau counts once, at its first frame)."""
  left = np.concatenate([[-np.inf], y[:-1]])
  right = np.concatenate([y[1:], [-np.inf]])
  return np.nonzero((y >= threshold) & (y > left) & (y >= right))[0]


def _subframe(y: np.ndarray, i: int) -> float:
  """Offset in frames of a triangle's apex from sample i, given its neighbours."""
  a = y[i - 1] if i > 0 else y[i]
  b = y[i]
  c = y[i + 1] if i + 1 < len(y) else y[i]
  if c >= a:
    denom = 2 * (b - a)
    return float(np.clip((c - a) / denom, 0.0, 0.5)) if denom > 1e-9 else 0.0
  denom = 2 * (b - c)
  return float(np.clip((c - a) / denom, -0.5, 0.0)) if denom > 1e-9 else 0.0


def decode(
  probs: dict[str, np.ndarray],
  frame_rate: float,
  *,
  objective: str = "classification",
  onset_threshold: float = 0.5,
  frame_threshold: float = 0.5,
  offset_threshold: float = 0.5,
  min_note_ms: float = 30.0,
) -> NoteSequence:
  """Notes from per-frame probabilities.

  Args:
    probs: "onset"/"offset" (classification) or "onset_reg"/"offset_reg" (regression),
      plus "frame" and "velocity", each `(frames, 88)` in [0, 1].
    frame_rate: frames per second.
    objective: which heads to read.

  Returns:
    The notes, times in seconds.
  """
  frame = probs["frame"]
  n_frames = frame.shape[0]
  regression = objective == "regression"
  onset = probs["onset_reg" if regression else "onset"]
  offset = probs["offset_reg" if regression else "offset"]
  velocity = probs["velocity"]
  pitch, on_t, off_t, vel = [], [], [], []
  for k in range(frame.shape[1]):
    starts = _peaks(onset[:, k], onset_threshold) if regression else _runs_start(onset[:, k] >= onset_threshold)
    if not len(starts):
      continue
    off_peaks = (
      _peaks(offset[:, k], offset_threshold) if regression else np.nonzero(offset[:, k] >= offset_threshold)[0]
    )
    for j, s in enumerate(starts):
      limit = starts[j + 1] if j + 1 < len(starts) else n_frames
      # The note lasts while the frame roll holds (allowing the onset frame itself).
      e = s + 1
      while e < limit and frame[e, k] >= frame_threshold:
        e += 1
      later = off_peaks[(off_peaks > s) & (off_peaks <= e)]
      # (a regression peak at frame 0 may point before it: clipped to the segment's start)
      start_time = max(0.0, s + (_subframe(onset[:, k], s) if regression else 0.0))
      if len(later):
        stop = later[0] + (_subframe(offset[:, k], later[0]) if regression else 0.0)
      else:
        stop = float(e)
      if (stop - start_time) * 1000.0 / frame_rate < min_note_ms:
        continue
      pitch.append(k + MIN_PITCH)
      on_t.append(start_time / frame_rate)
      off_t.append(stop / frame_rate)
      vel.append(int(np.clip(round(float(velocity[s, k]) * 127), 1, 127)))
  return NoteSequence(pitch, on_t, off_t, vel)
