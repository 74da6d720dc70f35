"""Sample banks (synth/banks.py): recorded from a SoundFont and from a folder of recordings, stored and reloaded,
played by the NumPy reference player."""

import numpy as np
import pytest

from pianojax.errors import UserError
from pianojax.synth import banks, soundfonts
from tests.conftest import f0_of, hz, note_seq, require

RATE = 16000


def test_a_soundfont_bank_holds_each_note_from_its_attack_at_its_pitch(tmp_path):
  require("fluidr3" in soundfonts.available(), "SoundFont fluidr3 not installed")
  spec = banks.BankSpec(
    "fluidr3", pitch_step=24, low=36, high=84, velocities=(50, 110), seconds=1.0, treble_seconds=0.5
  )
  (path,) = banks.build(str(tmp_path), [spec], RATE, log=lambda *_: None)
  bank = banks.Bank.load(path)
  assert list(bank.pitches) == [36, 60, 84] and list(bank.velocities) == [50, 110]
  assert bank.samples.dtype == np.int16 and bank.samples.shape == (3, 2, RATE)
  audio = bank.float_samples()
  for i, pitch in enumerate(bank.pitches):
    loud, soft = audio[i, 1], audio[i, 0]
    assert np.argmax(np.abs(loud) > 0.01 * np.abs(loud).max()) < 0.01 * RATE  # the attack starts the sample
    assert np.abs(loud).max() > 1.5 * np.abs(soft).max()  # layers keep their levels
    length = spec.length(int(pitch), RATE)
    assert not loud[length:].any() and abs(loud[length - 1]) < 1e-3  # padded after its length, faded before
    if pitch >= 60:  # (the strongest partial of a low piano note is not its fundamental)
      assert abs(1200 * np.log2(f0_of(loud[: RATE // 2], RATE) / hz(pitch))) < 30
  assert banks.build(str(tmp_path), [spec], RATE, log=pytest.fail) == [path]  # built once


def test_a_folder_bank_takes_the_recorded_layers_nearest_the_velocities(bank, tmp_path):
  spec = banks.BankSpec(bank, velocities=(30, 100), seconds=1.0, treble_seconds=1.0)
  b = banks.record(spec, RATE)
  assert list(b.pitches) == [60, 63, 96] and list(b.velocities) == [32, 96]  # layers 4 and 12
  assert np.abs(b.samples[:, 1]).max() > 2.5 * np.abs(b.samples[:, 0]).max()


def test_an_unreadable_bank_is_a_one_line_error(tmp_path):
  path = tmp_path / "broken.npz"
  path.write_bytes(b"not a bank")
  with pytest.raises(UserError, match="unreadable"):
    banks.Bank.load(str(path))
  with pytest.raises(UserError, match="not built"):
    banks.load_all(str(tmp_path), [banks.BankSpec("fluidr3")], RATE)


def _toy_bank() -> banks.Bank:
  """Decaying harmonic tones every 4 semitones, two layers."""
  t = np.arange(RATE) / RATE
  pitches = np.arange(57, 82, 4)
  samples = np.stack(
    [np.stack([a * np.sin(2 * np.pi * hz(p) * t) * np.exp(-2 * t) for a in (0.3, 0.8)]) for p in pitches]
  )
  return banks.Bank(np.round(samples * 32767).astype(np.int16), pitches, np.array([50, 100]), RATE, "toy")


def test_the_reference_player_shifts_pitch_scales_velocity_and_damps():
  bank = _toy_bank()
  one = banks.render(bank, note_seq((58, 0.25, 0.75, 100)), RATE)  # a semitone above the sample at 57
  start = int(np.argmax(np.abs(one) > 0))
  assert start == round(0.25 * RATE) + 1  # (sample 0 of a sine is 0)
  assert abs(1200 * np.log2(f0_of(one[start : start + 4000], RATE) / hz(58))) < 5
  level = lambda x, t: np.sqrt(np.mean(x[int(t * RATE) : int((t + 0.05) * RATE)] ** 2))  # noqa: E731
  assert level(one, 0.9) < 0.3 * level(one, 0.6)  # the damper falls at the key release
  half = banks.render(bank, note_seq((57, 0.0, 1.0, 50)), RATE)
  curved = banks.render(bank, note_seq((57, 0.0, 1.0, 25)), RATE, velocity_curve=2.0)
  np.testing.assert_allclose(curved, half / 4, atol=1e-6)  # (25 / 50) ** 2
  pedalled = banks.render(bank, note_seq((57, 0.0, 0.3, 50), pedal=((0.1, 0.9), (127, 0))), RATE)
  assert level(pedalled, 0.6) > 0.5 * level(half, 0.6)  # the pedal holds it
