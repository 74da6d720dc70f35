"""Timelines in fixed-length segments, and beat-synchronous pooling.

`num_segments` / `owners` say how a timeline is cut into overlapping segments and which
segment each step is taken from when the outputs are joined (NumPy, host side; inference
uses them). `beat_pool` is `jax.numpy` and runs inside the jitted forward pass; the beat
positions come from `track_beats` (librosa, host side).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def num_segments(length: int, segment_length: int, hop: int) -> int:
  """How many segments of `segment_length` every `hop` cover `length` steps."""
  if not 0 < hop <= segment_length:
    raise ValueError(f"hop {hop} must be in (0, segment_length={segment_length}]")
  if length <= segment_length:
    return 1
  return 1 + -(-(length - segment_length) // hop)


def owners(length: int, segment_length: int, hop: int) -> np.ndarray:
  """For each step, the segment it is taken from when segment outputs are joined.

  That is the segment in which the step lies furthest from an edge (the first such
  segment on a tie). Works in O(length x overlap), without a (segments x length) table,
  so hour-long inputs stay cheap.
  """
  t = np.arange(length)
  count = num_segments(length, segment_length, hop)
  first = np.maximum(0, -(-(t - segment_length + 1) // hop))  # first segment covering t
  best = first.copy()
  best_margin = np.full(length, -1)
  for j in range(-(-segment_length // hop) + 1):
    i = first + j
    offset = t - i * hop
    inside = (offset >= 0) & (offset < segment_length) & (i < count)
    margin = np.where(inside, np.minimum(offset, segment_length - 1 - offset), -1)
    better = margin > best_margin
    best = np.where(better, i, best)
    best_margin = np.maximum(margin, best_margin)
  return best


def track_beats(audio: np.ndarray, sample_rate: int, hop_length: int) -> np.ndarray:
  """Beat positions in frames (of `hop_length`) from librosa's beat tracker, host side."""
  import librosa

  _, beats = librosa.beat.beat_track(y=audio, sr=sample_rate, hop_length=hop_length, units="frames")
  return np.asarray(beats, np.int32)


def beat_boundaries(beats: np.ndarray, num_frames: int, max_beats: int) -> np.ndarray:
  """Segment ids per frame for beat-synchronous pooling, padded to `max_beats` intervals.

  Interval 0 runs from frame 0 to the first beat, interval i from beat i-1 to beat i,
  the last one to the end. Intervals beyond `max_beats` are merged into the last.

  Returns:
    int32 `(num_frames,)`: the interval each frame belongs to.
  """
  edges = np.unique(np.clip(np.asarray(beats, np.int64), 1, num_frames - 1)) if num_frames > 1 else []
  ids = np.searchsorted(np.asarray(edges), np.arange(num_frames), side="right")
  return np.minimum(ids, max_beats - 1).astype(np.int32)


def beat_pool(frames: jnp.ndarray, interval_ids: jnp.ndarray, max_beats: int) -> tuple[jnp.ndarray, jnp.ndarray]:
  """Averages frame features within beat intervals (jit-friendly, batched).

  Args:
    frames: `(batch, frames, bins)`.
    interval_ids: int `(batch, frames)` from `beat_boundaries`.
    max_beats: static number of output intervals.

  Returns:
    `(pooled, mask)`: `(batch, max_beats, bins)` means and a `(batch, max_beats)` mask of
    intervals that hold at least one frame.
  """
  one_hot = jnp.asarray(interval_ids[..., None] == jnp.arange(max_beats), frames.dtype)
  counts = one_hot.sum(axis=1)
  sums = jnp.einsum("btk,btf->bkf", one_hot, frames)
  return sums / jnp.maximum(counts, 1.0)[..., None], counts > 0


def beat_ids(audio: np.ndarray, sample_rate: int, hop_length: int, num_frames: int, max_beats: int) -> np.ndarray:
  """Host side: the beat interval of each of `num_frames` frames of `audio` (librosa's tracker)."""
  if not np.any(audio):
    return np.zeros(num_frames, np.int32)
  return beat_boundaries(track_beats(audio, sample_rate, hop_length), num_frames, max_beats)


def beat_broadcast(frames: jnp.ndarray, interval_ids: jnp.ndarray, max_beats: int) -> jnp.ndarray:
  """Per-beat framing at frame rate: each frame replaced by the mean of its beat interval.

  The network then sees one feature vector per beat (the signal cut per beat instead of per
  frame) while its outputs and targets stay on the frame grid.
  """
  pooled, _ = beat_pool(frames, interval_ids, max_beats)
  return jnp.take_along_axis(pooled, interval_ids[..., None].astype(jnp.int32), axis=1)
