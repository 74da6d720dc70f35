"""Sample playback in JAX: note events + stacked sample banks -> audio for a whole batch, jit-able, any backend.

The same player as `synth.banks.render` (the NumPy reference): each note takes its bank's nearest sampled pitch,
shifted by resampling (linear interpolation), from the nearest velocity layer scaled by
(velocity / layer velocity) ** curve, and a damper that decays exponentially from where the note stops sounding
(its pedal-extended offset) and cuts it 6 time constants later; keys from `UNDAMPED_FROM` up have no dampers.

Only what sounds is computed. The window is cut into blocks of `block` samples; each note covers the blocks from its
onset to where its sound ends (damper cut, or the stored sample's end), and the (note, block) pairs of the whole
batch, up to `max_pairs` per example, are rendered as one flat gather and summed into their blocks. A note whose
blocks do not fit is dropped whole (with every later one): `play` returns, per example, the sample where the first
dropped note begins, so the caller can mask the targets from there (labels never describe audio that was not
rendered).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from pianojax.synth.banks import UNDAMPED_FROM

CUT_TAUS = 6.0  # the damper cuts a released note this many time constants after it falls


class Voices(NamedTuple):
  """Per-note playback settings `(..., notes)` (from `voices`)."""

  flat_index: jax.Array  # int32: start of the note's stored sample in the flattened banks
  ratio: jax.Array  # playback speed: 2 ** (semitones shifted / 12)
  start: jax.Array  # int32 sample of the onset (negative: before the window)
  hold: jax.Array  # int32 samples from onset until the damper falls (pedal-extended offset)
  damped: jax.Array  # bool
  gain: jax.Array  # linear; 0 for padding


def voices(
  pitches,
  velocities,
  length: int,
  *,
  bank,
  pitch,
  onset,
  sounding,
  velocity,
  valid,
  sample_rate: int,
  velocity_curve=1.0,
  cents=None,
) -> Voices:
  """How each note of one example plays.

  Args:
    pitches: `(banks, P)` sampled pitches of the stacked banks (synth.banks.stack).
    velocities: `(banks, V)` their layers' velocities.
    length: samples per stored note.
    bank: `(notes,)` int32: which bank plays each note.
    pitch, onset, sounding, velocity, valid: `(notes,)` events; times in seconds from the window's start.
    velocity_curve: gain exponent (scalar or per note).
    cents: per-note tuning offset (default 0).
  """
  pitch_f = pitch.astype(jnp.float32)
  grid, layers = pitches[bank], velocities[bank]  # (notes, P), (notes, V)
  row = jnp.argmin(jnp.abs(grid - pitch_f[:, None]), axis=1)
  layer = jnp.argmin(jnp.abs(layers - velocity[:, None]), axis=1)
  semitones = pitch_f - jnp.take_along_axis(grid, row[:, None], 1)[:, 0] + (0.0 if cents is None else cents / 100.0)
  layer_velocity = jnp.take_along_axis(layers, layer[:, None], 1)[:, 0]
  gain = (jnp.clip(velocity, 1.0, 127.0) / layer_velocity) ** velocity_curve
  n_p, n_v = pitches.shape[1], velocities.shape[1]
  return Voices(
    flat_index=(((bank * n_p + row) * n_v + layer) * length).astype(jnp.int32),
    ratio=jnp.exp2(semitones / 12.0),
    start=jnp.round(onset * sample_rate).astype(jnp.int32),
    hold=jnp.maximum(1, jnp.round((sounding - onset) * sample_rate).astype(jnp.int32)),
    damped=pitch < UNDAMPED_FROM,
    gain=jnp.where(valid, gain, 0.0),
  )


class Pairs(NamedTuple):
  note: jax.Array  # (pairs,) which note of the flattened batch
  block: jax.Array  # (pairs,) which output block of its example
  valid: jax.Array  # (pairs,)
  dropped_from: jax.Array  # (batch,) sample where each example's first note that did not fit begins (or num_samples)


def pairs(v: Voices, length: int, num_samples: int, tau, *, block: int, pool: int, budget=None) -> Pairs:
  """The (note, block) pairs of a batch that carry sound, `pool` slots (a shape) of which `budget` (a value, at most
  `pool`; default all) may be used, for the whole batch (notes in their given order within each example: sort them
  by onset; examples in batch order)."""
  batch, n = v.gain.shape
  num_blocks = -(-num_samples // block)
  stored_end = v.start + jnp.floor((length - 1) / v.ratio).astype(jnp.int32)
  damper_end = v.start + v.hold + jnp.ceil(CUT_TAUS * tau[:, None]).astype(jnp.int32)
  end = jnp.minimum(num_samples, jnp.where(v.damped, jnp.minimum(stored_end, damper_end), stored_end))
  first = jnp.clip(jnp.maximum(v.start, 0) // block, 0, num_blocks)
  last = jnp.clip(-(-end // block), 0, num_blocks)
  count = jnp.where((v.gain > 0) & (end > jnp.maximum(v.start, 0)), jnp.maximum(last - first, 0), 0).reshape(-1)
  fits = jnp.cumsum(count) <= (pool if budget is None else jnp.minimum(budget, pool))
  count = jnp.where(fits, count, 0)  # a note that does not fit whole is dropped (with all after it)
  cum = jnp.cumsum(count)
  p = jnp.arange(pool)
  note = jnp.minimum(jnp.searchsorted(cum, p, side="right"), batch * n - 1)
  blk = first.reshape(-1)[note] + p - (cum - count)[note]
  lost = ((~fits) & (v.gain.reshape(-1) > 0)).reshape(batch, n)
  start = v.start[jnp.arange(batch), jnp.argmax(lost, axis=1)]
  dropped_from = jnp.where(lost.any(axis=1), jnp.clip(start, 0, num_samples), num_samples)
  return Pairs(note, blk, p < cum[-1], dropped_from)


def play(
  flat_samples: jax.Array,
  length: int,
  v: Voices,
  num_samples: int,
  *,
  release_seconds,
  sample_rate: int,
  block: int = 1024,
  max_pairs: int = 1024,
  pair_budget=None,
) -> tuple[jax.Array, jax.Array]:
  """Renders a batch.

  Args:
    flat_samples: the stacked banks' samples, flattened (float32).
    length: samples per stored note.
    v: `Voices` of shape `(batch, notes)`.
    num_samples: output length.
    release_seconds: `(batch,)` damper time constants.
    sample_rate: Hz.
    block: samples per output block.
    max_pairs: (note, block) pairs rendered per example on average: the batch shares `batch * max_pairs` of them.
    pair_budget: the same as a value (at most max_pairs; default max_pairs): fewer pairs without recompiling.

  Returns:
    audio `(batch, num_samples)` float32, and `(batch,)` int32: where each example's first dropped note begins
    (`num_samples` if none was).
  """
  batch, n = v.gain.shape
  num_blocks = -(-num_samples // block)
  tau = jnp.asarray(release_seconds, jnp.float32) * sample_rate * jnp.ones(batch)
  budget = None if pair_budget is None else batch * pair_budget
  pr = pairs(v, length, num_samples, tau, block=block, pool=batch * max_pairs, budget=budget)
  nv = jax.tree.map(lambda x: x.reshape(-1)[pr.note], v)  # per pair
  example = pr.note // n
  tau_p = tau[example]
  blk = pr.block
  offset = jnp.arange(block, dtype=jnp.int32)
  j = (blk * block - nv.start)[:, None] + offset[None, :]  # samples since onset (pairs, block)
  pos = j.astype(jnp.float32) * nv.ratio[:, None]
  ok = (j >= 0) & (pos < length - 1) & pr.valid[:, None]
  pos = jnp.where(ok, pos, 0.0)
  i0 = jnp.floor(pos).astype(jnp.int32)
  frac = pos - i0
  base = nv.flat_index[:, None] + i0
  a = jnp.take(flat_samples, base, mode="clip")
  b = jnp.take(flat_samples, base + 1, mode="clip")
  # damper: min(1, exp((hold - j) / tau)), one exp per pair and one per in-block offset (exp(x + y) = e^x e^y)
  lead = (nv.hold - (blk * block - nv.start)).astype(jnp.float32) / tau_p  # (pairs,)
  damper = jnp.minimum(1.0, jnp.exp(jnp.minimum(lead, 60.0))[:, None] * jnp.exp(-offset / tau_p[:, None]))
  cut = (j - nv.hold[:, None]).astype(jnp.float32) < CUT_TAUS * tau_p[:, None]
  damper = jnp.where(nv.damped[:, None], damper * cut, 1.0)
  voice = (a + frac * (b - a)) * jnp.where(ok, damper, 0.0) * nv.gain[:, None]
  rows = jnp.where(pr.valid, example * num_blocks + jnp.clip(blk, 0, num_blocks - 1), batch * num_blocks)
  out = jax.ops.segment_sum(voice, rows, num_segments=batch * num_blocks + 1)[:-1]
  return out.reshape(batch, num_blocks * block)[:, :num_samples], pr.dropped_from
