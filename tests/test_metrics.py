"""Note and frame metrics against mir_eval, on hand-built notes."""

import numpy as np
import pytest

from pianojax import metrics, notes

REF = notes.NoteSequence([60, 64, 67, 72], [0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 2.5, 3.0], [80, 90, 100, 70])


def shifted(dt):
  return notes.NoteSequence(REF.pitch, REF.onset + dt, REF.offset + dt, REF.velocity)


def late_offsets(dt):
  return notes.NoteSequence(REF.pitch, REF.onset, REF.offset + dt, REF.velocity)


@pytest.mark.parametrize(
  "est,onset_f1,onset_offset_f1",
  [
    (REF, 1.0, 1.0),
    (shifted(0.03), 1.0, 1.0),  # inside the 50 ms onset tolerance (and the offsets' 50 ms / 20% of the duration)
    (shifted(0.08), 0.0, 0.0),  # outside it
    (late_offsets(0.08), 1.0, 1.0),  # offsets within 20% of each note's duration (0.5-1.0 s)
    (late_offsets(0.15), 1.0, 0.5),  # within 20% of the duration only for the two 1 s notes
    (late_offsets(0.3), 1.0, 0.0),  # outside for all
    (REF.select(np.array([True, True, False, False])), 2 * 1.0 * 0.5 / 1.5, 2 * 1.0 * 0.5 / 1.5),  # two missing
    (notes.NoteSequence.concatenate([REF, notes.NoteSequence([50], [0.2], [0.4], [60])]), 2 * 0.8 / 1.8, 2 * 0.8 / 1.8),
  ],
)
def test_note_metrics_on_hand_built_notes(est, onset_f1, onset_offset_f1):
  got = metrics.note_metrics(REF, est)
  np.testing.assert_allclose(got["onset_f1"], onset_f1, atol=1e-9)
  np.testing.assert_allclose(got["onset_offset_f1"], onset_offset_f1, atol=1e-9)


def test_frame_metrics_on_rolls():
  ref = metrics.roll(REF, 400, 100.0)
  assert metrics.frame_metrics(ref, ref)["frame_f1"] == 1.0
  half = ref.copy()
  half[:, :] = False
  half[: ref.shape[0] // 2] = ref[: ref.shape[0] // 2]
  m = metrics.frame_metrics(ref, half)
  assert m["frame_precision"] == 1.0 and 0 < m["frame_recall"] < 1


BEATS = np.array([0.5, 1.0, 1.5, 2.0, 2.5])  # REF's onsets fall on beats


@pytest.mark.parametrize(
  "est,f1",
  [
    (REF, 1.0),
    (shifted(-0.04), 1.0),  # a little early: still its beat (the interval opens 50 ms before it)
    (shifted(0.3), 1.0),  # 300 ms late: a miss for mir_eval, the same beat here
    (shifted(0.5), 0.0),  # a beat late: every note in the wrong interval
    (notes.NoteSequence([60, 64, 67, 72], [0.7, 1.0, 1.5, 2.6], [1.0] * 4, [80] * 4), 0.75),  # 72 lands a beat late
    (notes.NoteSequence([60, 60, 64], [0.5, 0.6, 1.0], [1.0] * 3, [80] * 3), 2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4)),
  ],
)
def test_beat_metrics_count_pitch_and_beat_pairs_one_to_one(est, f1):
  got = metrics.beat_metrics(REF, est, BEATS)
  np.testing.assert_allclose(got["beat_onset_f1"], f1, atol=1e-9)
  assert metrics.note_metrics(REF, shifted(0.3))["onset_f1"] == 0.0


def test_beat_metrics_of_nothing():
  empty = REF.select(np.zeros(4, bool))
  assert metrics.beat_metrics(empty, empty, BEATS)["beat_onset_f1"] == 1.0
  assert metrics.beat_metrics(REF, empty, BEATS)["beat_onset_f1"] == 0.0
