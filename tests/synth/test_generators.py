"""Device-side accompaniment that plays along with the piano (generators.following, generators.doubling)."""

import jax
import numpy as np
import pytest

from pianojax.synth import events, generators, materials

SECONDS = 6.0


@pytest.fixture(scope="module")
def piano():
  """A piano part (a random sequence with pedal), as device Events with where each note stops sounding."""
  seq = materials.piano_sequence(np.random.default_rng(5), SECONDS)
  e = events.from_notes(seq, 192, 16)
  return seq, e, events.sounding(e)


def _parts(piano, low, high, seeds=range(8)):
  _, e, ends = piano
  make = jax.jit(lambda k: generators.following(k, e, ends, low, high, seconds=SECONDS, count=48))
  for seed in seeds:
    part = jax.tree.map(np.asarray, make(jax.random.key(seed)))
    yield events.to_notes(part)


def _sounding_classes(seq, t, window=0.05):
  ends = seq.pedal_offsets()
  return seq.pitch[(seq.onset <= t + window) & (ends > t - window)]


def test_a_bass_range_plays_the_lowest_sounding_note_at_the_pianos_onsets(piano):
  seq = piano[0]
  for part in _parts(piano, 28, 55):
    assert len(part) >= 4 and part.pitch.min() >= 28 and part.pitch.max() <= 55
    assert np.all(np.diff(part.onset) > 0.25)  # one note per entry, entries 0.3-0.8 s apart (less the jitter)
    for p, t in zip(part.pitch, part.onset, strict=True):
      assert np.abs(seq.onset - t).min() < 0.04  # at a piano onset (10 ms jitter)
      assert p % 12 == _sounding_classes(seq, t).min() % 12


def test_other_ranges_hold_or_strum_the_sounding_pitch_classes(piano):
  seq = piano[0]
  strummed = held = 0
  for part in _parts(piano, 40, 84):
    assert len(part) >= 4 and part.pitch.min() >= 40 and part.pitch.max() <= 84
    entries = np.split(np.arange(len(part)), np.nonzero(np.diff(part.onset) > 0.1)[0] + 1)
    for entry in entries:
      t = part.onset[entry[0]]
      assert np.abs(seq.onset - t).min() < 0.04 and len(entry) <= generators.FOLLOW_VOICES
      assert set(part.pitch[entry] % 12) <= set(_sounding_classes(seq, t) % 12)
      assert len(set(part.pitch[entry] % 12)) == len(entry)  # distinct pitch classes
      gaps = np.diff(part.onset[entry])
      strummed += len(entry) > 1 and bool(np.all((gaps > 0.005) & (gaps < 0.035)))
      held += len(entry) > 1 and bool(np.all(gaps < 1e-6))
  assert strummed >= 3 and held >= 3  # both roles drawn


def test_nothing_sounding_nothing_played(piano):
  _, e, ends = piano
  silent = e._replace(valid=np.zeros_like(e.valid))
  part = generators.following(jax.random.key(0), silent, ends, 40, 84, seconds=SECONDS, count=48)
  assert not np.asarray(part.valid).any()
