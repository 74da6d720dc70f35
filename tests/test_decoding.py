"""Decoding frame outputs into notes, on hand-built outputs; the typed decoding settings."""

import numpy as np
import pytest

from pianojax import decoding, labels, notes
from pianojax.errors import UserError
from tests.conftest import note_seq as seq

SETTINGS = decoding.DecodeSettings(
  onset_threshold=0.5, frame_threshold=0.5, offset_threshold=0.5, min_note_ms=30.0, min_repeat_ms=0.0
)


def test_regression_decoding_recovers_sub_frame_times_and_never_goes_below_zero():
  rate = 100.0
  s = seq((60, 0.104, 0.5, 100), (64, 0.0, 0.3, 100))  # the second starts at the segment's first instant
  t = labels.frame_targets(s, 80, rate, regression_frames=5)
  probs = {k: t[k] for k in ("onset_reg", "offset_reg", "frame", "velocity")}
  probs["onset_reg"][:2, 64 - notes.MIN_PITCH] = (1.0, 0.95)  # a peak at frame 0 whose fit points before it
  found = decoding.decode(probs, rate, "regression", SETTINGS)
  assert sorted(found.pitch.tolist()) == [60, 64]
  assert found.onset.min() >= 0.0
  np.testing.assert_allclose(found.onset[found.pitch == 60], 0.104, atol=1e-3)


def _regression_probs(s, n_frames, rate):
  t = labels.frame_targets(s, n_frames, rate, regression_frames=5)
  return {k: t[k].copy() for k in ("onset_reg", "offset_reg", "frame", "velocity")}


def test_an_offset_firing_at_the_attack_does_not_delete_the_note():
  # The shipped model's offset head fires at the attack of short notes in fast figures; the
  # decoder used to end the note there (shorter than min_note_ms) and drop it.
  rate = 50.0
  s = seq((72, 0.5, 0.9, 80))
  probs = _regression_probs(s, 80, rate)
  k = 72 - notes.MIN_PITCH
  probs["offset_reg"][25:28, k] = (0.6, 0.9, 0.6)  # an offset peak one frame after the onset (frame 25)
  found = decoding.decode(probs, rate, "regression", SETTINGS)
  assert found.pitch.tolist() == [72]
  np.testing.assert_allclose(found.onset, [0.5], atol=1e-3)
  np.testing.assert_allclose(found.offset, [0.9], atol=0.03)  # the real offset peak, not the early one


def test_end_confirm_threshold_ignores_end_events_inside_a_note_that_goes_on_sounding():
  # The event heads fire inside long notes as they decay (session 18): with end_confirm_threshold an event ends the
  # note only where the frame probability falls below it within 100 ms (5 frames at 50 frames per second).
  rate = 50.0
  k = 60 - notes.MIN_PITCH
  probs = _regression_probs(seq((60, 0.2, 1.6, 80)), 100, rate)  # sounds from frame 10 to frame 80
  probs["offset_reg"][29:32, k] = (0.6, 0.9, 0.6)  # a stray end event at frame 30 (0.6 s), frame head still 1
  probs["frame"][30:80, k] = 0.7  # (the note decays: lower, but above the frame threshold)

  def ends(confirm):
    found = decoding.decode(probs, rate, "regression", SETTINGS.replace(end_confirm_threshold=confirm))
    assert found.pitch.tolist() == [60]
    return round(float(found.offset[0]) * rate)

  assert ends(0.0) == 30  # every event ends the note: cut at the stray one
  assert ends(0.6) == 80  # frames 30-34 stay at 0.7: not confirmed; the real end (frame 80) is
  assert ends(0.8) == 30  # 0.7 is below 0.8 right away: confirmed
  probs["frame"][33:80, k] = 0.1  # the note does stop 3 frames after the event (within 100 ms): confirmed
  assert ends(0.6) == 30


def test_min_repeat_ms_keeps_one_of_two_close_onset_peaks_and_not_two_far_ones():
  rate = 50.0  # 20 ms frames
  k = 60 - notes.MIN_PITCH
  probs = _regression_probs(seq((60, 0.2, 1.4, 80)), 80, rate)
  probs["onset_reg"][:, k] = 0.0
  probs["onset_reg"][[20, 23, 40, 45], k] = (0.8, 0.95, 0.9, 0.85)  # 60 ms apart, then 100 ms apart
  probs["frame"][10:70, k] = 1.0

  def onsets(ms):
    d = decoding.decode(probs, rate, "regression", SETTINGS.replace(min_repeat_ms=ms))
    return np.round(d.onset * rate).astype(int).tolist()

  assert onsets(0.0) == [20, 23, 40, 45]
  assert onsets(70.0) == [23, 40, 45]  # of the close pair the higher stays; the far pair are two strikes
  assert onsets(120.0) == [23, 40]  # 40 (0.9) outranks 45 (0.85)


def test_classification_decoding_on_hand_built_outputs():
  rate = 50.0
  s = seq((60, 0.2, 0.6, 100), (64, 0.4, 1.0, 64))
  t = labels.frame_targets(s, 80, rate)
  probs = {k: t[k].astype(np.float32) for k in ("onset", "offset", "frame", "velocity")}
  probs["onset"][11, 60 - notes.MIN_PITCH] = 1.0  # a two-frame onset run is one note, not two
  found = decoding.decode(probs, rate, "classification", SETTINGS)
  assert found.pitch.tolist() == [60, 64]
  np.testing.assert_allclose(found.onset, [0.2, 0.4])
  np.testing.assert_allclose(found.offset, [0.6, 1.0])
  np.testing.assert_array_equal(found.velocity, [100, 64])
  # a note shorter than min_note_ms is dropped
  assert decoding.decode(probs, rate, "classification", SETTINGS.replace(min_note_ms=500.0)).pitch.tolist() == [64]


def test_end_events_put_a_classification_end_at_its_runs_rise_or_its_peak():
  # The offset and key-release targets mark one frame; a model's probabilities rise a frame or two before it and
  # peak on it. "rise" ends the note at the run's first frame, "peak" at its highest; both for the sounding end
  # (offset head) and the key release (key-offset head) of the hybrid objective.
  rate = 50.0
  k = 60 - notes.MIN_PITCH
  n = 100
  probs = {name: np.zeros((n, 88), np.float32) for name in ("onset_reg", "offset", "frame", "velocity", "key_frame")}
  probs["key_offset"] = np.zeros((n, 88), np.float32)
  probs.update({name: np.zeros((n, 1), np.float32) for name in ("pedal_frame", "pedal_onset_reg", "pedal_offset")})
  probs["onset_reg"][10, k] = 1.0  # a note from frame 10
  probs["frame"][10:90, k] = 0.9
  probs["key_frame"][10:90, k] = 0.9
  probs["offset"][58:64, k] = (0.55, 0.7, 0.9, 0.95, 0.8, 0.3)  # sounding end: rises at 58, peaks at 61
  probs["key_offset"][38:42, k] = (0.6, 0.8, 0.7, 0.2)  # key release: rises at 38, peaks at 39
  probs["velocity"][10, k] = 0.5

  def ends(at):
    t = decoding.decode_all(probs, rate, "hybrid", SETTINGS.replace(end_events=at))
    assert t.sounding.pitch.tolist() == t.released.pitch.tolist() == [60]
    return round(float(t.sounding.offset[0]) * rate), round(float(t.released.offset[0]) * rate)

  assert ends("rise") == (58, 38)
  assert ends("peak") == (61, 39)
  # a run that peaks inside the shortest note is skipped whole by "peak"; "rise" takes its first frame past it
  probs["offset"][:, k] = 0.0
  probs["offset"][10:14, k] = (0.6, 0.95, 0.7, 0.6)  # peaks at the attack (frame 11), still high at 12-13
  long = SETTINGS.replace(min_note_ms=50.0, end_events="peak")
  assert round(float(decoding.decode_all(probs, rate, "hybrid", long).sounding.offset[0]) * rate) == 90
  rise = long.replace(end_events="rise")
  assert round(float(decoding.decode_all(probs, rate, "hybrid", rise).sounding.offset[0]) * rate) == 13


def test_sounding_ends_from_the_frame_heads_or_from_the_key_release_and_pedal_alone():
  # The key is let go at frame 40 with the pedal up, and the frame heads hold the note to frame 70 (a release tail):
  # "frames" ends the sounding note at 70, "keys" at the key release. Under a pedal that lifts at frame 80, both
  # carry it there.
  rate, k, n = 50.0, 60 - notes.MIN_PITCH, 100
  probs = {name: np.zeros((n, 88), np.float32) for name in ("onset_reg", "offset", "frame", "velocity", "key_frame")}
  probs["key_offset"] = np.zeros((n, 88), np.float32)
  probs.update({name: np.zeros((n, 1), np.float32) for name in ("pedal_frame", "pedal_onset_reg", "pedal_offset")})
  probs["onset_reg"][10, k] = 1.0
  probs["frame"][10:70, k] = 0.9
  probs["key_frame"][10:40, k] = 0.9
  probs["velocity"][10, k] = 0.5

  def ends(how):
    t = decoding.decode_all(probs, rate, "hybrid", SETTINGS.replace(sounding_ends=how))
    return round(float(t.sounding.offset[0]) * rate), round(float(t.released.offset[0]) * rate)

  assert ends("frames") == (70, 40) and ends("keys") == (40, 40)
  probs["pedal_frame"][20:80, 0] = 0.9
  assert ends("frames") == (80, 40) and ends("keys") == (80, 40)
  with pytest.raises(UserError, match="--sounding_ends=both: choose from frames, keys"):
    SETTINGS.replace(sounding_ends="both")
  assert SETTINGS.sounding_ends == "frames"  # what every model decoded with before the setting (old checkpoints)


def test_end_events_is_checked_and_kept_a_string():
  with pytest.raises(UserError, match="--end_events=top: choose from rise, peak"):
    SETTINGS.replace(end_events="top")
  assert SETTINGS.end_events == "rise"  # what every model decoded with before the setting (old checkpoints)
  assert SETTINGS.replace(end_events="peak").as_dict()["end_events"] == "peak"


@pytest.mark.parametrize(
  "field,value", [("onset_threshold", 1.5), ("frame_threshold", float("nan")), ("min_note_ms", -1.0)]
)
def test_settings_reject_values_outside_their_range(field, value):
  with pytest.raises(UserError, match=f"--{field}="):
    SETTINGS.replace(**{field: value})


def test_settings_come_from_the_config_section_and_overrides_that_are_set():
  from configs import default

  config = default.get_config()
  settings = decoding.DecodeSettings.from_config(config.decode)
  assert settings.as_dict() == config.decode.to_dict()
  assert settings.replace(onset_threshold=0.3, frame_threshold=None).onset_threshold == 0.3
  assert settings.replace(frame_threshold=None).frame_threshold == config.decode.frame_threshold
