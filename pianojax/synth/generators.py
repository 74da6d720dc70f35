"""Musical material generated on the device from a key: the seed's single notes, chords and random piano sequences
(synth/materials.py's kinds, in JAX with fixed shapes), and melody lines for other instruments.

Each generator maps (key, seconds) to `events.Events` padded to its own note count; all are pure and vmap-able.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.notes import MAX_PITCH, MIN_PITCH
from pianojax.synth.events import Events
from pianojax.synth.materials import CHORD_SHAPES, SCALES

# chord shapes as rows of 4 intervals (triads repeat their root an octave up)
_SHAPES = np.array([list(s) + [12] * (4 - len(s)) for s in CHORD_SHAPES.values()], np.int32)
_MAJOR, _MINOR = np.array(SCALES["major"], np.int32), np.array(SCALES["minor"], np.int32)
CHORD_NOTES = 6
PEDAL_INTERVALS = 8


def _no_pedal(num: int = PEDAL_INTERVALS) -> tuple[jax.Array, jax.Array, jax.Array]:
  return jnp.zeros(num), jnp.zeros(num), jnp.zeros(num, bool)


def _events(pitch, onset, offset, velocity, valid, *, pedal=None) -> Events:
  down, up, ok = _no_pedal() if pedal is None else pedal
  valid = valid & (pitch >= MIN_PITCH) & (pitch <= MAX_PITCH)
  return Events(
    jnp.clip(pitch, MIN_PITCH, MAX_PITCH).astype(jnp.int32),
    onset.astype(jnp.float32),
    jnp.maximum(offset, onset + 0.02).astype(jnp.float32),
    jnp.clip(velocity, 1, 127).astype(jnp.float32),
    valid,
    down.astype(jnp.float32),
    up.astype(jnp.float32),
    ok,
  )


def single_notes(key, seconds: float, count: int = 4) -> Events:
  """Isolated notes (the seed's 88 single notes): `count` slots, one after another, each decaying before the next."""
  kp, kv, kd, kg = jax.random.split(key, 4)
  pitch = jax.random.randint(kp, (count,), MIN_PITCH, MAX_PITCH + 1)
  velocity = jax.random.randint(kv, (count,), 20, 121)
  duration = jax.random.uniform(kd, (count,), minval=0.2, maxval=2.0)
  gap = jax.random.uniform(kg, (count,), minval=0.3, maxval=1.0)
  onset = 0.1 + jnp.cumsum(duration + gap) - duration - gap
  valid = onset + 0.2 < seconds
  return _events(pitch, onset, onset + duration, velocity, valid)


def chord_pitches(key) -> tuple[jax.Array, jax.Array]:
  """One chord: `(CHORD_NOTES,)` pitches and which are used (a shape in an open voicing, a cluster, or a random
  voicing within three octaves; no pitch twice). One uniform draw, sliced: each random call is its own kernel."""
  u = jax.random.uniform(key, (18,))

  def pick(x, lo, hi):  # an integer in [lo, hi) from a uniform x
    return lo + jnp.floor(x * (hi - lo)).astype(jnp.int32)

  style = pick(u[0], 0, 4)  # shape, shape, cluster, random
  root = pick(u[1], MIN_PITCH + 3, MAX_PITCH - 24)
  shape = jnp.asarray(_SHAPES)[pick(u[2], 0, len(_SHAPES))]
  shaped = root + shape + 12 * (u[3:7] < 0.5)
  shaped = jnp.concatenate([shaped, shaped[:1] + 12, shaped[:1]])
  shaped_ok = jnp.array([1, 1, 1, 1, 0, 0], bool).at[4].set(u[7] < 0.5)
  cluster = pick(u[8], MIN_PITCH, MAX_PITCH - 6) + jnp.arange(CHORD_NOTES)
  cluster_ok = jnp.arange(CHORD_NOTES) < pick(u[9], 3, 6)
  voicing = pick(u[10], MIN_PITCH, MAX_PITCH - 24) + jnp.cumsum(pick(u[11:17], 1, 7)) - 1
  voicing_ok = jnp.arange(CHORD_NOTES) < pick(u[17], 3, 7)
  pitch = jnp.select([style < 2, style == 2], [shaped, cluster], voicing)
  ok = jnp.select([style < 2, style == 2], [shaped_ok, cluster_ok], voicing_ok)
  pitch = jnp.clip(pitch, MIN_PITCH, MAX_PITCH)
  earlier_same = jnp.tril(pitch[:, None] == pitch[None, :], -1) & ok[None, :]
  return pitch, ok & ~earlier_same.any(axis=1)


CHORDS = 10  # chords per example


def chord_sets(key, count: int = CHORDS) -> tuple[jax.Array, jax.Array]:
  """`count` chords' pitches `(count, CHORD_NOTES)` and which are used (`chord_pitches` each). The materials of one
  example can share them (one is chosen per example), which keeps the compiled program small."""
  return jax.vmap(chord_pitches)(jax.random.split(key, count))


def chords(key, seconds: float, sets=None) -> Events:
  """A progression of block or arpeggiated chords across the keyboard (materials.chords), of `sets` (`chord_sets`;
  drawn from `key` if not given)."""
  kc, kl, kg, ka, ks, ko, kv, kj, k0 = jax.random.split(key, 9)
  pitch, ok = chord_sets(kc) if sets is None else sets  # (count, 6)
  count = pitch.shape[0]
  length = jax.random.uniform(kl, (count,), minval=0.3, maxval=1.5)
  gap = jax.random.uniform(kg, (count,), minval=0.0, maxval=0.4)
  t = jax.random.uniform(k0, (), minval=0.05, maxval=0.3) + jnp.cumsum(length + gap) - length - gap
  spread = jnp.where(
    jax.random.bernoulli(ka, 0.4, (count,)), jax.random.uniform(ks, (count,), minval=0.03, maxval=0.15), 0.0
  )
  rank = jnp.cumsum(ok, axis=1) - 1  # position among the chord's notes, for arpeggios
  descending = jax.random.bernoulli(ko, 0.3, (count,))
  rank = jnp.where(descending[:, None], ok.sum(1, keepdims=True) - 1 - rank, rank)
  onset = t[:, None] + rank * spread[:, None]
  offset = jnp.minimum(t + length, seconds)[:, None] + 0.0 * onset
  base = jax.random.randint(kv, (count, 1), 30, 111)
  velocity = base + jax.random.randint(kj, (count, CHORD_NOTES), -10, 11)
  valid = ok & (t < seconds - 0.5)[:, None]
  return _events(*(x.reshape(-1) for x in (pitch, onset, jnp.maximum(offset, onset + 0.05), velocity, valid)))


def melody(key, seconds: float, low, high, density, *, count: int) -> Events:
  """A random scale-wise line in [low, high] at `density` = (min, max) notes per second (materials.melody_line)."""
  u = jax.random.uniform(key, (5, count))  # one draw: rows for the step, walk, hold, velocity; row 4 the scalars
  tonic = jnp.floor(u[4, 0] * 12).astype(jnp.int32)
  scale = jnp.where(u[4, 1] < 0.5, jnp.asarray(_MAJOR), jnp.asarray(_MINOR))
  keys = jnp.arange(MIN_PITCH, MAX_PITCH + 1)
  allowed = jnp.isin((keys - tonic) % 12, scale) & (keys >= low) & (keys <= high)
  ladder = jnp.sort(jnp.where(allowed, keys, MAX_PITCH + 1))  # the allowed pitches first, ascending
  top = jnp.maximum(allowed.sum() - 1, 0)
  rate = density[0] + u[4, 2] * (density[1] - density[0])
  step = jnp.array([0.5, 1.0, 1.0, 2.0])[jnp.floor(u[0] * 4).astype(jnp.int32)] / rate
  start = jnp.minimum(jnp.floor(u[4, 3] * (top + 1)).astype(jnp.int32), top)

  def walk(i, move):
    i = jnp.clip(i + move, 0, top)
    return i, i

  _, idx = jax.lax.scan(walk, start, jnp.floor(u[1] * 7).astype(jnp.int32) - 3)  # moves of -3..3 degrees
  pitch = ladder[idx]
  onset = 0.05 + 0.25 * u[4, 4] + jnp.cumsum(step) - step
  hold = step * (0.5 + 0.5 * u[2])
  velocity = 40 + jnp.floor(u[3] * 71).astype(jnp.int32)
  valid = (onset < seconds - 0.2) & (pitch <= high) & (top > 0)
  return _events(pitch, onset, jnp.minimum(onset + hold, seconds), velocity, valid)


def doubling(key, piano: Events, ends, low, high, *, seconds: float, count: int) -> Events:
  """Another instrument playing along with the piano (materials.coupled_part's idea, in fixed shapes): each of the
  piano's notes, with a probability drawn per part (0.2-0.6), moved by whole octaves to the nearest place in
  [low, high] (dropped where none is), and struck either with it or, half the time, at another of the piano's
  onsets while it still sounds (`ends`), as an ensemble enters on a chord tone the piano holds; ~10 ms off
  the piano's time, held while the piano's note sounds (at most 2 s); the first `count` inside the segment. Its
  notes share the piano's keys or their octaves and its onsets: the overlap `melody` lines never have."""
  kq, ks, kj, kl, kr = jax.random.split(key, 5)
  n = piano.num_notes
  q = jax.random.uniform(kq, minval=0.2, maxval=0.6)
  pitch = piano.pitch
  moved = _octaves_into(pitch, low, high)
  # for each note, one of the piano's onsets while it sounds (after its own), drawn at random (Gumbel-max)
  inside = piano.valid[None, :] & (piano.onset[None, :] > piano.onset[:, None] + 0.05)
  inside = inside & (piano.onset[None, :] < ends[:, None] - 0.1)
  later = jnp.argmax(jnp.where(inside, jax.random.gumbel(kl, (n, n)), -jnp.inf), axis=1)
  held = inside.any(axis=1) & (jax.random.uniform(kr, (n,)) < 0.5)
  start = jnp.where(held, piano.onset[later], piano.onset)
  take = piano.valid & (start >= 0) & (start < seconds - 0.1) & (moved >= low) & (moved <= high)
  take = take & (jax.random.uniform(ks, pitch.shape) < q)
  onset = jnp.maximum(start + 0.01 * jax.random.normal(kj, pitch.shape), 0.0)
  offset = jnp.minimum(jnp.minimum(ends, onset + 2.0), seconds)
  first = jnp.argsort(~take, stable=True)[:count]  # the taken notes first, in the piano's (onset) order
  return _events(moved[first], onset[first], offset[first], piano.velocity[first], take[first])


def _octaves_into(pitch, low, high):
  """`pitch` moved by whole octaves to the nearest place in [low, high] (outside it where the range is narrower than
  an octave and holds no octave of it: callers drop those)."""
  return pitch + 12 * (jnp.maximum(-((pitch - low) // 12), 0) - jnp.maximum(-((high - pitch) // 12), 0))


# (seconds between a following part's entries, min-max) for its three roles, as materials.coupled_part's families
_FOLLOW_SPACING = np.array([(0.3, 0.8), (0.8, 2.0), (0.25, 0.6)], np.float32)  # bass, held chord, strummed chord
FOLLOW_VOICES = 4  # chord tones per entry at most


def following(key, piano: Events, ends, low, high, *, seconds: float, count: int) -> Events:
  """An accompaniment part that follows the piano as materials.coupled_part does, in fixed shapes: at some of the
  piano's onset clusters (entries a random spacing apart) it plays what the piano sounds then, in its own range
  [low, high]: a bank whose range tops out below middle C as a bass (the lowest sounding note), any other either
  holding two or three of the sounding pitch classes to its next entry or strumming up to four (10-30 ms apart,
  0.3-1 s long), ~10 ms off the piano's time. The first `count` notes, by onset."""
  n = piano.num_notes
  kr, ks, kc, kj, kv, kk, kt, kl = jax.random.split(key, 8)
  role = jnp.where(high < 60, 0, 1 + jax.random.bernoulli(kr).astype(jnp.int32))
  t = jnp.where(piano.valid & (piano.onset >= 0) & (piano.onset < seconds - 0.1), piano.onset, jnp.inf)
  t = jnp.sort(t)
  cluster = jnp.isfinite(t) & (t - jnp.concatenate([jnp.array([-jnp.inf]), t[:-1]]) > 0.05)
  lo, hi = jnp.asarray(_FOLLOW_SPACING)[role]
  spacing = jax.random.uniform(ks, (n,), minval=lo, maxval=hi)

  def enter(ready, x):
    time, first, gap = x
    go = first & (time >= ready)
    return jnp.where(go, time + gap, ready), go

  _, entry = jax.lax.scan(enter, -jnp.inf, (t, cluster, spacing))
  at = jnp.where(entry, t, jnp.inf)
  following_entry = jnp.concatenate([jax.lax.cummin(at[::-1])[::-1][1:], jnp.array([jnp.inf])])
  # what sounds at each entry: (entries, piano notes)
  sounding = entry[:, None] & piano.valid[None, :] & (piano.onset[None, :] <= at[:, None] + 0.05)
  sounding = sounding & (ends[None, :] > at[:, None])
  lowest = jnp.min(jnp.where(sounding, piano.pitch[None, :], 999), axis=1)
  classes = (sounding[:, :, None] & (piano.pitch[None, :, None] % 12 == jnp.arange(12))).any(axis=1)  # (n, 12)
  ranked = jnp.argsort(jnp.where(classes, jax.random.gumbel(kc, (n, 12)), -jnp.inf), axis=1)[:, ::-1]
  tones = ranked[:, :FOLLOW_VOICES]  # random sounding pitch classes first
  wanted = jnp.where(role == 1, jax.random.randint(kk, (n, 1), 2, 4), jax.random.randint(kk, (n, 1), 1, 5))
  voice = jnp.arange(FOLLOW_VOICES)[None, :]
  chord_ok = (voice < wanted) & jnp.take_along_axis(classes, tones, axis=1)
  pitch = jnp.where(role == 0, jnp.broadcast_to(lowest[:, None], tones.shape), 60 + tones)
  ok = jnp.where(role == 0, voice == 0, chord_ok) & entry[:, None] & sounding.any(axis=1)[:, None]
  pitch = _octaves_into(pitch, low, high)
  ok = ok & (pitch >= low) & (pitch <= high)
  begin = jnp.maximum(at[:, None] + 0.01 * jax.random.normal(kj, (n, 1)), 0.0)
  strum = jnp.where(role == 2, jax.random.uniform(kt, (n, 1), minval=0.01, maxval=0.03), 0.0)
  onset = begin + voice * strum
  length = jnp.where(role == 2, jax.random.uniform(kl, (n, 1), minval=0.3, maxval=1.0), 2.0)
  offset = jnp.minimum(jnp.maximum(following_entry[:, None] - 0.03, onset + 0.1), jnp.minimum(begin + length, seconds))
  velocity = jnp.broadcast_to(50 + jnp.floor(jax.random.uniform(kv, (n, 1)) * 51), tones.shape)
  flat = lambda x: x.reshape(-1)  # noqa: E731
  first = jnp.argsort(jnp.where(flat(ok), flat(onset), jnp.inf))[:count]
  return _events(*(flat(x)[first] for x in (pitch, onset, offset, velocity, ok)))


def pedal(key, seconds: float, prob: float = 0.6, num: int = PEDAL_INTERVALS):
  """Sustain pedal changed every 0.8-3 s (with probability `prob`), as (down, up, valid) intervals."""
  kp, k0, kh, kg = jax.random.split(key, 4)
  hold = jax.random.uniform(kh, (num,), minval=0.8, maxval=3.0)
  gap = jax.random.uniform(kg, (num,), minval=0.05, maxval=0.2)
  down = jax.random.uniform(k0, (), minval=0.0, maxval=0.5) + jnp.cumsum(hold + gap) - hold - gap
  on = jax.random.bernoulli(kp, prob)
  return down, down + hold, (down < seconds) & on


def arpeggios(key, seconds: float, count: int = 64, sets=None) -> Events:
  """Broken chords: each chord of `sets` and its octave, note after note (materials.piano_sequence's "arpeggio")."""
  kc, ks, kh, kv = jax.random.split(key, 4)
  pitch, ok = chord_sets(kc) if sets is None else sets
  pattern = jnp.concatenate([pitch, pitch + 12], axis=1)  # (chords, 12)
  pattern_ok = jnp.concatenate([ok, ok], axis=1) & (pattern <= MAX_PITCH)
  order = jnp.argsort(~pattern_ok, axis=1, stable=True)  # used notes first, in order
  pattern = jnp.take_along_axis(pattern, order, 1).reshape(-1)
  pattern_ok = jnp.take_along_axis(pattern_ok, order, 1).reshape(-1)
  slot = jnp.cumsum(pattern_ok) - 1  # position of each used note in the line
  step = jax.random.uniform(ks, (), minval=0.06, maxval=0.25)
  onset = 0.1 + slot * step
  hold = step * jax.random.uniform(kh, (pattern.shape[0],), minval=1.0, maxval=3.0)
  velocity = jax.random.randint(kv, (pattern.shape[0],), 35, 106)
  valid = pattern_ok & (onset < seconds - 0.1)
  e = _events(pattern, onset, jnp.minimum(onset + hold, seconds), velocity, valid)
  keep = jnp.argsort(~e.valid, stable=True)[:count]  # the first `count` used notes
  return e._replace(**{f: getattr(e, f)[keep] for f in ("pitch", "onset", "offset", "velocity", "valid")})


def sequences(key, seconds: float, count: int = 112, sets=None) -> Events:
  """Random musical piano material (materials.piano_sequence): a fast scale-wise line, arpeggios, or a melody over
  chords, with the sustain pedal 60% of the time."""
  ks, k1, k2, k3, k4, kp, kl, kh = jax.random.split(key, 8)
  n_mel = count - CHORD_NOTES * CHORDS
  low = jax.random.randint(kl, (), 36, 60)
  high = jax.random.randint(kh, (), 72, 100)
  scale = melody(k1, seconds, low, high, (3.0, 10.0), count=count)
  sets = chord_sets(jax.random.fold_in(key, 11)) if sets is None else sets
  arp = arpeggios(k2, seconds, count, sets)
  tune = melody(k3, seconds, 60, 96, (1.5, 5.0), count=n_mel)
  accomp = chords(k4, seconds, sets)
  shift = jax.random.randint(kp, (), 0, 13)
  accomp = accomp._replace(pitch=accomp.pitch - shift, valid=accomp.valid & (accomp.pitch - shift >= MIN_PITCH))
  both = tune._replace(
    **{
      f: jnp.concatenate([getattr(tune, f), getattr(accomp, f)])
      for f in ("pitch", "onset", "offset", "velocity", "valid")
    }
  )
  style = jax.random.randint(ks, (), 0, 3)
  notes = jax.tree.map(lambda a, b, c: jnp.select([style == 0, style == 1], [a, b], c), scale, arp, both)
  down, up, ok = pedal(jax.random.fold_in(key, 7), seconds)
  return notes._replace(pedal_down=down, pedal_up=up, pedal_valid=ok)
