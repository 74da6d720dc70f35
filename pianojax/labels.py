"""Frame targets from note lists (NumPy, host side).

Frame i of a segment is centred at `i * hop / sr` seconds (centre-padded STFT). Targets are
`(frames, 88)` float32 rolls:

- `onset`, `offset`: 1 on the frame nearest the event (classification);
- `frame`: 1 while the note sounds (key release, or pedal-extended, per `offset_mode`);
- `velocity`: velocity / 127 on onset frames;
- `onset_reg`, `offset_reg`: a triangle 1 - |t_frame - t_event| / (J frames), as in Kong et al.'s
  high-resolution transcription, from which decoding recovers sub-frame event times.
"""

from __future__ import annotations

import numpy as np

from pianojax.notes import MIN_PITCH, NUM_KEYS, NoteSequence

TARGET_KEYS = ("onset", "frame", "offset", "velocity", "onset_reg", "offset_reg")


def with_offsets(notes: NoteSequence, offset_mode: str) -> NoteSequence:
  """The notes with the offsets that training uses: "pedal" (sustain-extended) or "key" (release).

  Apply this to a whole piece before cutting windows from it, so a note held by the pedal
  into a window is still there.
  """
  if offset_mode not in ("pedal", "key"):
    raise ValueError(f"unknown offset_mode {offset_mode!r}")
  offsets = notes.pedal_offsets() if offset_mode == "pedal" else notes.offset
  return NoteSequence(notes.pitch, notes.onset, offsets, notes.velocity, notes.pedal_time, notes.pedal_value)


def frame_targets(
  notes: NoteSequence, num_frames: int, frame_rate: float, *, regression_frames: int = 5
) -> dict[str, np.ndarray]:
  """Rolls `(num_frames, 88)` for the notes of one segment (times relative to its start).

  Args:
    notes: the segment's notes, offsets as training wants them (see `with_offsets`);
      onsets before 0 mark notes that began before the segment (no onset target).
    num_frames: frames in the segment.
    frame_rate: frames per second (sample_rate / hop).
    regression_frames: half-width J of the regression triangles, in frames.

  Returns:
    float32 arrays keyed by `TARGET_KEYS`.
  """
  out = {k: np.zeros((num_frames, NUM_KEYS), np.float32) for k in TARGET_KEYS}
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
    if 0 <= ai < num_frames and a >= -0.5:
      out["onset"][ai, k] = 1.0
      out["velocity"][ai, k] = v / 127.0
    if 0 <= bi < num_frames and bi > ai:
      out["offset"][bi, k] = 1.0
    for name, t in (("onset_reg", a), ("offset_reg", b)):
      tri = 1.0 - np.abs(frame_idx - t) / regression_frames
      np.maximum(out[name][:, k], np.clip(tri, 0.0, 1.0), out=out[name][:, k])
  return out
