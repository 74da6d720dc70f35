"""Frame targets from note lists (NumPy, host side).

Frame i of a segment is centred at `i * hop / sr` seconds (centre-padded STFT). Targets are
`(frames, 88)` float32 rolls:

- `onset`, `offset`: 1 on the frame nearest the event (classification);
- `frame`: 1 while the note sounds (key release, or pedal-extended, per `offset_mode`);
- `velocity`: velocity / 127 on onset frames;
- `onset_reg`, `offset_reg`: a triangle 1 - |t_frame - t_event| / (J frames), as in Kong et al.'s
  high-resolution transcription, from which decoding recovers sub-frame event times.

With the key-release and pedal targets (`release_and_pedal=True`, for `model.pedal`), also:

- `key_frame`, `key_offset`, `key_offset_reg` `(frames, 88)`: as `frame` / `offset` / `offset_reg`, ending at the
  key release whatever the pedal does;
- `key_audible` `(frames, 88)`: 0 where a key was let go under the sustain pedal, from `PEDALLED_MARGIN` frames
  before its release to where the note stops sounding (the pedal lifts, or the key is struck again), 1 elsewhere:
  there the key's release makes no sound, and `loss.pedalled_releases=False` leaves those frames out of the
  key-release loss. Which keys those are is a question for the whole piece (a pedal lift or the key's next strike
  may lie past the segment): `pedalled_releases` answers it before the piece is cut, as `with_offsets` does;
- `pedal_frame` `(frames, 1)`: 1 while the sustain pedal is down (CC64 >= 64);
- `pedal_onset`, `pedal_offset` and their triangles `pedal_onset_reg`, `pedal_offset_reg` `(frames, 1)`: where it
  goes down and up (Kong et al. 2021's pedal targets).
"""

from __future__ import annotations

import numpy as np

from pianojax.notes import MIN_PITCH, NUM_KEYS, NoteSequence

TARGET_KEYS = ("onset", "frame", "offset", "velocity", "onset_reg", "offset_reg")
RELEASE_KEYS = ("key_frame", "key_offset", "key_offset_reg", "key_audible")
PEDALLED_MARGIN = 2  # frames before a key release under the pedal that `key_audible` also leaves out
PEDAL_KEYS = ("pedal_frame", "pedal_onset", "pedal_offset", "pedal_onset_reg", "pedal_offset_reg")


def with_offsets(notes: NoteSequence, offset_mode: str) -> NoteSequence:
  """The notes with the offsets that training uses: "pedal" (sustain-extended) or "key" (release).

  Apply this to a whole piece before cutting windows from it, so a note held by the pedal
  into a window is still there.
  """
  if offset_mode not in ("pedal", "key"):
    raise ValueError(f"unknown offset_mode {offset_mode!r}")
  offsets = notes.pedal_offsets() if offset_mode == "pedal" else notes.offset
  return NoteSequence(notes.pitch, notes.onset, offsets, notes.velocity, notes.pedal_time, notes.pedal_value)


def pedalled_releases(notes: NoteSequence) -> NoteSequence:
  """The keys of `notes` let go under the sustain pedal, each as a note from its key release to where it stops
  sounding (`NoteSequence.pedal_offsets`). Apply to a whole piece, then cut windows from it."""
  ends = notes.pedal_offsets()
  under = ends > notes.offset
  return NoteSequence(notes.pitch[under], notes.offset[under], ends[under], notes.velocity[under])


def frame_targets(
  notes: NoteSequence,
  num_frames: int,
  frame_rate: float,
  *,
  regression_frames: int = 5,
  key_notes: NoteSequence | None = None,
  pedalled: NoteSequence | None = None,
) -> dict[str, np.ndarray]:
  """Rolls `(num_frames, 88)` for the notes of one segment (times relative to its start).

  Args:
    notes: the segment's notes, offsets as training wants them (see `with_offsets`);
      onsets before 0 mark notes that began before the segment (no onset target).
    num_frames: frames in the segment.
    frame_rate: frames per second (sample_rate / hop).
    regression_frames: half-width J of the regression triangles, in frames.
    key_notes: the same notes with key-release offsets and the sustain pedal (clipped the same way): adds the
      `RELEASE_KEYS` and `PEDAL_KEYS` targets.
    pedalled: `pedalled_releases` of the whole piece, clipped the same way, for `key_audible`; None:
      `pedalled_releases(key_notes)` (exact where `key_notes` is the whole piece).

  Returns:
    float32 arrays keyed by `TARGET_KEYS` (and the release and pedal keys).
  """
  out = _note_rolls(notes, num_frames, frame_rate, regression_frames, with_onsets=True)
  if key_notes is not None:
    key = _note_rolls(key_notes, num_frames, frame_rate, regression_frames, with_onsets=False)
    out.update({"key_frame": key["frame"], "key_offset": key["offset"], "key_offset_reg": key["offset_reg"]})
    out["key_audible"] = _audible(
      pedalled_releases(key_notes) if pedalled is None else pedalled, num_frames, frame_rate
    )
    out.update(pedal_targets(key_notes, num_frames, frame_rate, regression_frames))
  return out


def _audible(pedalled: NoteSequence, num_frames: int, frame_rate: float) -> np.ndarray:
  """The `key_audible` roll of `pedalled_releases` notes (from a key release to the end of the sound)."""
  out = np.ones((num_frames, NUM_KEYS), np.float32)
  release = np.round(pedalled.onset * frame_rate).astype(np.int64)
  silent = np.round(pedalled.offset * frame_rate).astype(np.int64)
  for k, a, b in zip(pedalled.pitch - MIN_PITCH, release, silent, strict=True):
    if b > a:
      out[max(a - PEDALLED_MARGIN, 0) : min(b, num_frames), k] = 0.0
  return out


def _note_rolls(notes, num_frames, frame_rate, regression_frames, with_onsets):
  names = TARGET_KEYS if with_onsets else ("frame", "offset", "offset_reg")
  out = {k: np.zeros((num_frames, NUM_KEYS), np.float32) for k in names}
  if not len(notes):
    return out
  keys = notes.pitch - MIN_PITCH
  on_f = notes.onset * frame_rate
  off_f = notes.offset * frame_rate
  on_i = np.round(on_f).astype(np.int64)
  off_i = np.round(off_f).astype(np.int64)
  frame_idx = np.arange(num_frames)
  for k, a, b, ai, bi, v in zip(keys, on_f, off_f, on_i, off_i, notes.velocity, strict=True):
    lo, hi = max(ai, 0), min(max(bi, ai + 1), num_frames)
    if lo < hi:
      out["frame"][lo:hi, k] = 1.0
    if with_onsets and 0 <= ai < num_frames and a >= -0.5:
      out["onset"][ai, k] = 1.0
      out["velocity"][ai, k] = v / 127.0
    if 0 <= bi < num_frames and bi > ai:
      out["offset"][bi, k] = 1.0
    for name, t in (("onset_reg", a), ("offset_reg", b)):
      if name in out:
        _triangle(out[name][:, k], frame_idx, t, regression_frames)
  return out


def _triangle(column: np.ndarray, frame_idx: np.ndarray, t: float, half_width: int) -> None:
  """Raises `column` to the triangle 1 - |frame - t| / half_width (in place)."""
  np.maximum(column, np.clip(1.0 - np.abs(frame_idx - t) / half_width, 0.0, 1.0), out=column)


def pedal_targets(
  notes: NoteSequence, num_frames: int, frame_rate: float, regression_frames: int = 5
) -> dict[str, np.ndarray]:
  """`PEDAL_KEYS` rolls `(num_frames, 1)` of the segment's sustain pedal (times relative to its start; a pedal
  pressed before the segment has a negative time and no onset target)."""
  out = {k: np.zeros((num_frames, 1), np.float32) for k in PEDAL_KEYS}
  frame_idx = np.arange(num_frames)
  for down, up in notes.pedal_intervals():
    a, b = down * frame_rate, up * frame_rate
    lo, hi = max(round(a), 0), min(round(b), num_frames) if np.isfinite(b) else num_frames
    if lo < hi:
      out["pedal_frame"][lo:hi, 0] = 1.0
    for name, t in (("pedal_onset", a), ("pedal_offset", b)):
      if not np.isfinite(t) or t < -0.5:
        continue
      if round(t) < num_frames:
        out[name][round(t), 0] = 1.0
      _triangle(out[name + "_reg"][:, 0], frame_idx, t, regression_frames)
  return out
