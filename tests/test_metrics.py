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
