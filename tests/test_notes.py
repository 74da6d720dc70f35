"""Note sequences: sustain pedal, clipping, MIDI I/O."""

import numpy as np
import pytest

from pianojax import notes
from tests.conftest import note_seq as seq


def test_pedal_extends_offsets_until_release_or_restrike():
  s = seq((60, 0.0, 0.5, 80), (64, 0.2, 0.4, 80), (60, 1.5, 1.8, 80), (67, 3.0, 3.2, 80), pedal=((0.3, 2.0), (127, 0)))
  np.testing.assert_allclose(s.pedal_offsets(), [1.5, 2.0, 2.0, 3.2])  # C4 cut by its restrike
  np.testing.assert_allclose(s.offset, [0.5, 0.4, 1.8, 3.2])


def test_clip_keeps_pedal_state_and_marks_earlier_onsets():
  s = seq((60, 0.0, 3.0, 80), (62, 1.2, 1.5, 70), pedal=((0.5,), (127,)))
  c = s.clip(1.0, 2.0, clamp=False)
  np.testing.assert_allclose(c.onset, [-1.0, 0.2])
  np.testing.assert_allclose(c.pedal_time, [-0.5])  # pressed before the window: not a pedal onset inside it
  assert c.pedal_value[0] == 127
  np.testing.assert_allclose(s.clip(1.0, 2.0).offset, [1.0, 0.5])
  np.testing.assert_allclose(s.clip(1.0, 2.0).pedal_time, [0.0])


def test_midi_round_trip(tmp_path):
  s = seq((21, 0.1, 0.6, 30), (108, 0.25, 1.0, 127), (60, 0.5, 0.75, 64), pedal=((0.2, 0.9), (100, 0)))
  path = tmp_path / "x.mid"
  notes.write_midi(s, path)
  back = notes.read_midi(path)
  np.testing.assert_array_equal(back.pitch, s.pitch)
  np.testing.assert_allclose(back.onset, s.onset, atol=2e-3)
  np.testing.assert_allclose(back.offset, s.offset, atol=2e-3)
  np.testing.assert_array_equal(back.velocity, s.velocity)
  np.testing.assert_allclose(back.pedal_time, s.pedal_time, atol=2e-3)


@pytest.mark.parametrize("content", [b"", b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0garbage", b"not midi at all"])
def test_malformed_midi_raises_midi_error(tmp_path, content):
  path = tmp_path / "bad.mid"
  path.write_bytes(content)
  with pytest.raises(notes.MidiError, match="malformed MIDI") as info:
    notes.read_midi(path)
  assert str(path) in str(info.value)
