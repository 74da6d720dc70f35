"""Note sequences, MIDI I/O and frame targets on hand-built notes."""

import numpy as np
import pytest

from pianojax import labels, notes


def seq(*rows, pedal=((), ())):
  p, on, off, v = zip(*rows, strict=True) if rows else ((), (), (), ())
  return notes.NoteSequence(p, on, off, v, *pedal)


def test_pedal_extends_offsets_until_release_or_restrike():
  s = seq((60, 0.0, 0.5, 80), (64, 0.2, 0.4, 80), (60, 1.5, 1.8, 80), (67, 3.0, 3.2, 80), pedal=((0.3, 2.0), (127, 0)))
  np.testing.assert_allclose(s.pedal_offsets(), [1.5, 2.0, 2.0, 3.2])  # C4 cut by its restrike
  np.testing.assert_allclose(s.offset, [0.5, 0.4, 1.8, 3.2])


def test_clip_keeps_pedal_state_and_marks_earlier_onsets():
  s = seq((60, 0.0, 3.0, 80), (62, 1.2, 1.5, 70), pedal=((0.5,), (127,)))
  c = s.clip(1.0, 2.0, clamp=False)
  np.testing.assert_allclose(c.onset, [-1.0, 0.2])
  np.testing.assert_allclose(c.pedal_time, [0.0])
  assert c.pedal_value[0] == 127
  np.testing.assert_allclose(s.clip(1.0, 2.0).offset, [1.0, 0.5])


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


def test_frame_targets_on_hand_built_notes():
  rate = 100.0
  s = seq((60, 0.104, 0.5, 127), (61, -0.2, 0.3, 50))  # 61 began before the segment
  t = labels.frame_targets(s, 80, rate, regression_frames=5)
  k = 60 - notes.MIN_PITCH
  assert t["onset"][10, k] == 1 and t["onset"][:, k].sum() == 1
  assert t["velocity"][10, k] == 1.0
  assert t["frame"][10:50, k].all() and t["frame"][:, k].sum() == 40
  assert t["offset"][50, k] == 1
  np.testing.assert_allclose(t["onset_reg"][10, k], 1 - 0.4 / 5, atol=1e-5)  # sub-frame distance
  np.testing.assert_allclose(t["onset_reg"][15, k], 1 - 4.6 / 5, atol=1e-5)
  assert t["onset_reg"][16, k] == 0.0 and t["onset_reg"][4, k] == 0.0
  assert t["onset"][:, k + 1].sum() == 0 and t["frame"][:30, k + 1].all()  # no false onset at the edge
  assert t["frame"].shape == (80, 88)


def test_regression_decoding_recovers_sub_frame_times_and_never_goes_below_zero():
  from pianojax import decoding

  rate = 100.0
  s = seq((60, 0.104, 0.5, 100), (64, 0.0, 0.3, 100))  # the second starts at the segment's first instant
  t = labels.frame_targets(s, 80, rate, regression_frames=5)
  probs = {k: t[k] for k in ("onset_reg", "offset_reg", "frame", "velocity")}
  probs["onset_reg"][:2, 64 - notes.MIN_PITCH] = (1.0, 0.95)  # a peak at frame 0 whose fit points before it
  found = decoding.decode(probs, rate, objective="regression", onset_threshold=0.5, frame_threshold=0.5)
  assert sorted(found.pitch.tolist()) == [60, 64]
  assert found.onset.min() >= 0.0
  np.testing.assert_allclose(found.onset[found.pitch == 60], 0.104, atol=1e-3)


def _regression_probs(s, n_frames, rate):
  t = labels.frame_targets(s, n_frames, rate, regression_frames=5)
  return {k: t[k].copy() for k in ("onset_reg", "offset_reg", "frame", "velocity")}


def test_an_offset_firing_at_the_attack_does_not_delete_the_note():
  # The shipped model's offset head fires at the attack of short notes in fast figures; the
  # decoder used to end the note there (shorter than min_note_ms) and drop it.
  from pianojax import decoding

  rate = 50.0
  s = seq((72, 0.5, 0.9, 80))
  probs = _regression_probs(s, 80, rate)
  k = 72 - notes.MIN_PITCH
  probs["offset_reg"][25:28, k] = (0.6, 0.9, 0.6)  # an offset peak one frame after the onset (frame 25)
  found = decoding.decode(probs, rate, objective="regression", onset_threshold=0.5, frame_threshold=0.5)
  assert found.pitch.tolist() == [72]
  np.testing.assert_allclose(found.onset, [0.5], atol=1e-3)
  np.testing.assert_allclose(found.offset, [0.9], atol=0.03)  # the real offset peak, not the early one


def test_min_repeat_ms_keeps_one_of_two_close_onset_peaks_and_not_two_far_ones():
  from pianojax import decoding

  rate = 50.0  # 20 ms frames
  k = 60 - notes.MIN_PITCH
  probs = _regression_probs(seq((60, 0.2, 1.4, 80)), 80, rate)
  probs["onset_reg"][:, k] = 0.0
  probs["onset_reg"][[20, 23, 40, 45], k] = (0.8, 0.95, 0.9, 0.85)  # 60 ms apart, then 100 ms apart
  probs["frame"][10:70, k] = 1.0

  def onsets(ms):
    d = decoding.decode(probs, rate, objective="regression", onset_threshold=0.5, min_repeat_ms=ms)
    return np.round(d.onset * rate).astype(int).tolist()

  assert onsets(0.0) == [20, 23, 40, 45]
  assert onsets(70.0) == [23, 40, 45]  # of the close pair the higher stays; the far pair are two strikes
  assert onsets(120.0) == [23, 40]  # 40 (0.9) outranks 45 (0.85)
