"""Accompaniment that plays with the piano (materials.coupled_part, materials.ensemble), rendered for real."""

import numpy as np
import pytest

from pianojax.synth import effects, materials
from pianojax.synth import soundfonts as fonts
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer


def _share_on_the_pianos_harmony(part, piano, window=0.05):
  """The share of `part`'s notes whose pitch class the piano sounds, struck within `window` s of one of its onsets."""
  ends = piano.pedal_offsets()
  hits = 0
  for p, t in zip(part.pitch, part.onset, strict=True):
    near = np.abs(piano.onset - t).min() <= window
    sounding = piano.pitch[(piano.onset <= t + window) & (ends > t - window)] % 12
    hits += bool(near and (p % 12) in sounding)
  return hits / len(part)


@pytest.mark.parametrize("family", materials.ENSEMBLE_FAMILIES)
def test_a_coupled_part_plays_the_pianos_harmony_at_its_onsets_in_its_own_range(family):
  rng = np.random.default_rng(4)
  window = 0.12 if family == "guitar" else 0.05  # a strum spreads a chord over up to 90 ms
  shares, lines = [], []
  for _ in range(5):
    piano = materials.piano_sequence(rng, 8.0)
    part = materials.coupled_part(rng, piano, 8.0, family)
    low, high = materials.INSTRUMENT_RANGES[family]
    assert len(part) >= 3
    assert part.pitch.min() >= low and part.pitch.max() <= high
    assert (part.onset >= 0).all() and (part.offset <= 8.0).all() and (part.offset > part.onset).all()
    shares.append(_share_on_the_pianos_harmony(part, piano, window))
    line = materials.melody_line(rng, 8.0, low, high, density=(0.7, 3.0))  # what `mixture` plays beside a piano
    lines.append(_share_on_the_pianos_harmony(line, piano, window))
  assert min(shares) == 1.0  # every note: the piano's pitch class, at one of its onsets
  assert max(lines) < 0.7


def test_the_bass_doubles_the_lowest_note():
  rng = np.random.default_rng(0)
  piano = materials.chords(rng, 6.0).piano
  bass = materials.coupled_part(rng, piano, 6.0, "bass")
  ends = piano.pedal_offsets()
  for p, t in zip(bass.pitch, bass.onset, strict=True):
    lowest = piano.pitch[(piano.onset <= t + 0.05) & (ends > t)].min()
    assert p % 12 == lowest % 12 and p <= lowest


def test_a_silent_piano_gets_no_accompaniment():
  rng = np.random.default_rng(1)
  empty = materials.NoteSequence.empty()
  assert all(len(materials.coupled_part(rng, empty, 4.0, f)) == 0 for f in materials.ENSEMBLE_FAMILIES)
  assert materials.ensemble(rng, empty, 4.0).others == []


def test_an_ensemble_renders_its_parts_about_as_loud_as_the_piano():
  if "timgm6mb" not in fonts.available():
    pytest.skip("SoundFont timgm6mb not installed")
  renderer = Renderer(16000)
  try:
    rng = np.random.default_rng(2)
    for _ in range(3):
      item = materials.ensemble(rng, materials.piano_sequence(rng, 5.0), 5.0)
      assert 1 <= len(item.others) <= 2 and -3.0 <= item.others_gain_db <= 3.0
      families = {f for f, programs in materials.OTHER_PROGRAMS.items() for _, p in item.others if p in programs}
      assert families <= set(materials.ENSEMBLE_FAMILIES)
      mix, _, alone, noiseless = make_example(item, renderer, "timgm6mb", rng, stem=True)
      others = noiseless.astype(np.float64) - alone
      level = 20 * np.log10(effects.rms(others) / effects.rms(alone.astype(np.float64)))
      assert abs(level - item.others_gain_db) < 3.0  # set before the room, measured after it
      assert (item.noise is None) == np.array_equal(mix, noiseless)
  finally:
    renderer.close()
