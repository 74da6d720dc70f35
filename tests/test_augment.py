"""Waveform augmentation with labels following."""

import numpy as np

from pianojax import augment, notes
from pianojax.synth.render import Renderer
from tests.conftest import f0_of


def test_pitch_shift_moves_audio_and_labels():
  r = Renderer(16000)
  s = notes.NoteSequence([57], [0.1], [1.2], [100])  # A3, 220 Hz
  audio, _ = r.render([(s, 0)], "fluidr3", 1.5)
  for k in (-2, 3):
    shifted = augment.resample_factor(audio, augment.speed_for(k))
    moved = s.shifted(semitones=k, time_scale=1 / augment.speed_for(k))
    assert moved.pitch[0] == 57 + k
    start = int((moved.onset[0] + 0.05) * 16000)
    f0 = f0_of(shifted[start : start + 6000], 16000)
    assert abs(12 * np.log2(f0 / 220.0) - k) < 0.3, (k, f0)
