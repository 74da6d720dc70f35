"""Frame targets on the device: `labels.frame_targets` in JAX, for fixed-size note events (synth/events.py).

Same definitions, frame for frame (tests/synth/test_targets.py holds them equal on random notes): frame `i` is centred
at `i / frame_rate` seconds; onsets/offsets mark the nearest frame; regression triangles 1 - |frame - t| / J; the
frame roll runs from the onset's frame to the offset's (at least one frame). Per-key rolls are maxima over the notes
of each key (`segment_max`), so the work is `notes x frames`, not `notes x frames x keys`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from pianojax import labels
from pianojax.notes import MIN_PITCH, NUM_KEYS


def _per_key(values: jax.Array, key: jax.Array) -> jax.Array:
  """`(notes, frames)` -> `(frames, 88)`: the maximum over each key's notes (0 where a key has none)."""
  rolls = jax.ops.segment_max(values, key, num_segments=NUM_KEYS + 1)[:NUM_KEYS]
  return jnp.maximum(rolls, 0.0).T


def _triangle(frames, t, half_width):
  return jnp.clip(1.0 - jnp.abs(frames[None, :] - t[:, None]) / half_width, 0.0, 1.0)


def note_rolls(
  pitch,
  onset,
  offset,
  velocity,
  valid,
  *,
  num_frames: int,
  frame_rate: float,
  regression_frames: int,
  with_onsets: bool = True,
) -> dict[str, jax.Array]:
  """`labels._note_rolls` for `(notes,)` events (times in seconds from the segment's start)."""
  f = jnp.arange(num_frames, dtype=jnp.float32)
  a, b = onset * frame_rate, offset * frame_rate
  ai, bi = jnp.round(a), jnp.round(b)
  key = jnp.where(valid, pitch - MIN_PITCH, NUM_KEYS)
  lo, hi = jnp.maximum(ai, 0), jnp.minimum(jnp.maximum(bi, ai + 1), num_frames)
  out = {
    "frame": _per_key(((f >= lo[:, None]) & (f < hi[:, None])).astype(jnp.float32), key),
    "offset": _per_key(((f == bi[:, None]) & (bi > ai)[:, None]).astype(jnp.float32), key),
    "offset_reg": _per_key(_triangle(f, b, regression_frames), key),
  }
  if with_onsets:
    hit = ((f == ai[:, None]) & (a >= -0.5)[:, None]).astype(jnp.float32)
    out["onset"] = _per_key(hit, key)
    out["velocity"] = _per_key(hit * (velocity / 127.0)[:, None], key)
    out["onset_reg"] = _per_key(_triangle(f, a, regression_frames), key)
  return out


def pedal_rolls(down, up, valid, *, num_frames: int, frame_rate: float, regression_frames: int) -> dict[str, jax.Array]:
  """`labels.pedal_targets` for `(intervals,)` [down, up) times (up may be +inf: held past the segment)."""
  f = jnp.arange(num_frames, dtype=jnp.float32)
  a, b = down * frame_rate, up * frame_rate
  lo = jnp.maximum(jnp.round(a), 0)
  hi = jnp.where(jnp.isfinite(b), jnp.minimum(jnp.round(jnp.where(jnp.isfinite(b), b, 0.0)), num_frames), num_frames)
  key = jnp.where(valid, 0, 1)

  def rolls(values):
    return jnp.maximum(jax.ops.segment_max(values, key, num_segments=2)[:1], 0.0).T

  out = {"pedal_frame": rolls(((f >= lo[:, None]) & (f < hi[:, None])).astype(jnp.float32))}
  for name, event in (("pedal_onset", a), ("pedal_offset", b)):
    marked = jnp.isfinite(event) & (event >= -0.5)
    t = jnp.where(jnp.isfinite(event), event, -1e9)
    out[name] = rolls(((f == jnp.round(t)[:, None]) & marked[:, None]).astype(jnp.float32))
    out[name + "_reg"] = rolls(_triangle(f, t, regression_frames) * marked[:, None])
  return out


def frame_targets(
  events,
  train_offset,
  num_frames: int,
  frame_rate: float,
  *,
  regression_frames: int = 5,
  release_and_pedal: bool = False,
  sounding=None,
) -> dict[str, jax.Array]:
  """The targets of one segment, keyed as `labels.frame_targets` returns them.

  Args:
    events: `events.Events` of the segment (times from its start).
    train_offset: `(notes,)` the offsets the note heads learn (`data.offset_mode`: sounding or key release).
    release_and_pedal: also the key-release and pedal targets (from `events.offset` and the pedal intervals).
    sounding: `(notes,)` where each note stops sounding (`events.sounding`), for `key_audible`; with
      `release_and_pedal` only.
  """
  e = events
  inside = e.valid & (e.onset < num_frames / frame_rate)  # as NoteSequence.clip keeps notes of the segment
  frames = {"num_frames": num_frames, "frame_rate": frame_rate, "regression_frames": regression_frames}
  out = note_rolls(e.pitch, e.onset, train_offset, e.velocity, inside & (train_offset > 0), **frames)
  if release_and_pedal:
    if sounding is None:
      raise ValueError("frame_targets: release_and_pedal needs `sounding` (events.sounding) for key_audible")
    key = note_rolls(
      e.pitch,
      e.onset,
      e.offset,
      e.velocity,
      inside & (e.offset > 0),
      **frames,
      with_onsets=False,
    )
    out.update({"key_frame": key["frame"], "key_offset": key["offset"], "key_offset_reg": key["offset_reg"]})
    # (as the host clips `labels.pedalled_releases`: from the key release to the end of the sound, in the segment)
    pedalled = e.valid & (sounding > e.offset) & (e.offset < num_frames / frame_rate) & (sounding > 0)
    out["key_audible"] = _audible(e.pitch, e.offset, sounding, pedalled, num_frames=num_frames, frame_rate=frame_rate)
    out.update(pedal_rolls(e.pedal_down, e.pedal_up, e.pedal_valid, **frames))
  return out


def _audible(pitch, release, sounding, valid, *, num_frames: int, frame_rate: float) -> jax.Array:
  """`labels._audible` of the `valid` notes (keys let go under the pedal): 0 from `PEDALLED_MARGIN` frames before
  the key release to where the note stops sounding."""
  f = jnp.arange(num_frames, dtype=jnp.float32)
  a, b = jnp.round(release * frame_rate), jnp.round(sounding * frame_rate)
  key = jnp.where(valid & (b > a), pitch - MIN_PITCH, NUM_KEYS)
  silent = ((f >= a[:, None] - labels.PEDALLED_MARGIN) & (f < b[:, None])).astype(jnp.float32)
  return 1.0 - _per_key(silent, key)
