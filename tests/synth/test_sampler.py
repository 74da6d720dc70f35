"""The sample-playback piano (synth/sampler.py) on a small bank of recorded tones (conftest's `bank`).

The real Salamander bank is tested where scripts/fetch_salamander.sh has put it.
"""

import os

import numpy as np
import pytest

from pianojax import notes
from pianojax.errors import UserError
from pianojax.synth import sampler, soundfonts
from pianojax.synth.render import Renderer
from tests.conftest import f0_of, hz

RATE = 16000


def test_scan_names_pitches_and_layers(bank, tmp_path):
  found = sampler.scan(bank)
  assert sorted(found) == [(60, 4), (60, 12), (63, 4), (63, 12), (96, 4), (96, 12)]
  with pytest.raises(UserError, match="fetch_salamander"):
    sampler.scan(str(tmp_path / "missing"))
  with pytest.raises(UserError, match="no samples"):
    sampler.scan(str(tmp_path))


def test_note_starts_at_its_onset_with_its_pitch_and_layer(bank):
  s = sampler.Sampler(bank, RATE)
  for pitch in (60, 61, 62, 63, 64):  # sampled, shifted up, shifted down from D#4
    audio = s.render(notes.NoteSequence([pitch], [0.5], [2.5], [96]), 3.0)
    start = int(np.argmax(np.abs(audio) > 1e-3))
    assert abs(start / RATE - 0.5) < 0.002, (pitch, start / RATE)
    f0 = f0_of(audio[start : start + RATE // 2], RATE)
    assert abs(1200 * np.log2(f0 / hz(pitch))) < 10, (pitch, f0)
  # velocity 96 is layer 12's own velocity: the note is that sample, unscaled
  loud = s.render(notes.NoteSequence([60], [0.0], [2.0], [96]), 1.0)
  np.testing.assert_allclose(loud, s._sample(60, 12)[:RATE], atol=1e-6)
  soft = s.render(notes.NoteSequence([60], [0.0], [2.0], [32]), 1.0)  # layer 4, scaled by 32/32
  np.testing.assert_allclose(soft, s._sample(60, 4)[:RATE], atol=1e-6)
  assert np.abs(loud).max() > 2.5 * np.abs(soft).max()


def test_dampers_stop_a_released_note_unless_the_pedal_holds_it(bank):
  s = sampler.Sampler(bank, RATE)

  def level(audio, t):
    return float(np.sqrt(np.mean(audio[int(t * RATE) : int((t + 0.1) * RATE)] ** 2)))

  released = s.render(notes.NoteSequence([60], [0.0], [0.5], [96]), 3.0)
  assert level(released, 1.5) < 1e-3 * level(released, 0.3)
  pedalled = s.render(notes.NoteSequence([60], [0.0], [0.5], [96], pedal_time=[0.2, 2.0], pedal_value=[127, 0]), 3.0)
  assert level(pedalled, 1.5) > 0.3 * level(pedalled, 0.3)  # still ringing with the pedal down
  assert level(pedalled, 2.8) < 1e-3 * level(pedalled, 0.3)  # stopped once it is lifted
  undamped = s.render(notes.NoteSequence([96], [0.0], [0.5], [96]), 3.0)  # C7: no damper
  assert level(undamped, 1.5) > 0.3 * level(undamped, 0.3)


def test_renderer_plays_piano_from_the_bank_and_others_from_a_soundfont(bank):
  renderer = Renderer(RATE)
  piano = notes.NoteSequence([60, 64], [0.1, 0.6], [0.5, 1.0], [80, 80])
  audio, (played,) = renderer.render([(piano, 0)], bank, 1.5)
  np.testing.assert_array_equal(played.onset, piano.onset)  # no synthesizer grid: labels as given
  np.testing.assert_allclose(audio, sampler.Sampler(bank, RATE).render(piano, 1.5))
  violin, _ = renderer.render([(notes.NoteSequence([67], [0.1], [1.0], [90]), 40)], bank, 1.5)
  assert np.abs(violin).max() > 0.01  # GM program 40 came from the fallback SoundFont
  renderer.close()


SALAMANDER = soundfonts.sample_bank("salamander")


@pytest.mark.skipif(
  not os.path.isdir(SALAMANDER), reason="Salamander samples not fetched (scripts/fetch_salamander.sh)"
)
def test_salamander_plays_every_key_at_its_pitch():
  s = sampler.Sampler(SALAMANDER, RATE)
  assert len(s.pitches) == 30 and len(s.layers) >= 8
  for pitch in range(21, 109, 4):  # shifted and unshifted notes, bottom to top
    audio = s.render(notes.NoteSequence([pitch], [0.0], [1.0], [80]), 1.0)
    peak = f0_of(audio[: RATE // 2], RATE)  # the strongest partial: a harmonic of the note
    harmonic = max(1, round(peak / hz(pitch)))
    # within a quarter tone: a real grand is stretch-tuned (its A7 sample is 38 cents sharp)
    assert abs(1200 * np.log2(peak / harmonic / hz(pitch))) < 50, (pitch, peak)
