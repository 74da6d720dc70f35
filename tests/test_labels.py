"""Frame targets on hand-built notes."""

import numpy as np

from pianojax import labels, notes
from tests.conftest import note_seq as seq


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
