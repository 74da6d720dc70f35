"""Note events as fixed-size JAX arrays, and the sustain pedal's effect on them.

An `Events` holds up to `notes` notes (sorted by onset, padding at the end with `valid` false) and up to `intervals`
sustain-pedal intervals, times in seconds from the segment's start. `sounding` is `NoteSequence.pedal_offsets` on
the device: where each note stops sounding (extended while the pedal holds it, cut where its key is struck again).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.notes import NoteSequence


class Events(NamedTuple):
  pitch: jax.Array  # int32 (notes,)
  onset: jax.Array  # float32 (notes,) seconds; negative: struck before the segment
  offset: jax.Array  # float32 (notes,) key release
  velocity: jax.Array  # float32 (notes,) MIDI velocity
  valid: jax.Array  # bool (notes,)
  pedal_down: jax.Array  # float32 (intervals,)
  pedal_up: jax.Array  # float32 (intervals,), +inf: not lifted
  pedal_valid: jax.Array  # bool (intervals,)

  @property
  def num_notes(self) -> int:
    return self.pitch.shape[-1]


def sounding(e: Events) -> jax.Array:
  """`(notes,)` where each note stops sounding: `NoteSequence.pedal_offsets` for these events."""
  held = (e.offset[:, None] >= e.pedal_down[None, :]) & (e.offset[:, None] < e.pedal_up[None, :]) & e.pedal_valid
  ext = jnp.max(jnp.where(held, e.pedal_up[None, :], -jnp.inf), axis=1)
  out = jnp.maximum(e.offset, ext)
  n = e.num_notes
  order = jnp.arange(n)
  later = (order[None, :] > order[:, None]) & (e.pitch[None, :] == e.pitch[:, None]) & e.valid[None, :]
  next_onset = jnp.min(jnp.where(later, e.onset[None, :], jnp.inf), axis=1)
  out = jnp.minimum(out, jnp.maximum(next_onset, e.offset))
  times = jnp.concatenate(
    [
      jnp.where(e.valid, e.offset, -jnp.inf),
      jnp.where(e.pedal_valid, e.pedal_down, -jnp.inf),
      jnp.where(e.pedal_valid & jnp.isfinite(e.pedal_up), e.pedal_up, -jnp.inf),
    ]
  )
  return jnp.minimum(out, jnp.max(times))


def onset_order(e: Events) -> jax.Array:
  """The order of the notes that puts valid ones first, by onset (then pitch, as NoteSequence orders them)."""
  return jnp.lexsort((e.pitch, jnp.where(e.valid, e.onset, jnp.inf)))


def take_notes(e: Events, order: jax.Array) -> Events:
  """The notes in `order` (the pedal intervals as they were)."""
  take = lambda x: x[order]  # noqa: E731
  return e._replace(
    pitch=take(e.pitch), onset=take(e.onset), offset=take(e.offset), velocity=take(e.velocity), valid=take(e.valid)
  )


def sort_by_onset(e: Events) -> Events:
  """Valid notes first, by onset (then pitch, as NoteSequence orders them)."""
  return take_notes(e, onset_order(e))


def concatenate(parts: list[Events]) -> Events:
  return Events(*(jnp.concatenate([getattr(p, f) for p in parts]) for f in Events._fields))


def from_notes(notes: NoteSequence, num_notes: int, num_intervals: int) -> Events:
  """Host NoteSequence -> padded Events (for tests and figures); raises if it does not fit."""
  if len(notes) > num_notes:
    raise ValueError(f"{len(notes)} notes do not fit in {num_notes}")
  intervals = notes.pedal_intervals()
  if len(intervals) > num_intervals:
    raise ValueError(f"{len(intervals)} pedal intervals do not fit in {num_intervals}")

  def pad(x, n, dtype, fill=0):
    out = np.full(n, fill, dtype)
    out[: len(x)] = x
    return jnp.asarray(out)

  n, m = len(notes), len(intervals)
  return Events(
    pad(notes.pitch, num_notes, np.int32, 21),
    pad(notes.onset, num_notes, np.float32),
    pad(notes.offset, num_notes, np.float32),
    pad(notes.velocity, num_notes, np.float32),
    pad(np.ones(n, bool), num_notes, bool),
    pad(intervals[:, 0], num_intervals, np.float32),
    pad(intervals[:, 1], num_intervals, np.float32),
    pad(np.ones(m, bool), num_intervals, bool),
  )


def to_notes(e: Events) -> NoteSequence:
  """Padded Events (one example, on the host) -> NoteSequence with its pedal as CC64 events."""
  e = jax.tree.map(np.asarray, e)
  v = e.valid
  times, values = [], []
  for down, up in zip(e.pedal_down[e.pedal_valid], e.pedal_up[e.pedal_valid], strict=True):
    times.append(float(down))
    values.append(127)
    if np.isfinite(up):
      times.append(float(up))
      values.append(0)
  return NoteSequence(e.pitch[v], e.onset[v], e.offset[v], np.round(e.velocity[v]), times, values)
