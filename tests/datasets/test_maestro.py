"""The MAESTRO-layout builder on the real 2 s fixture in ../shared."""

import numpy as np

from configs import tiny
from pianojax import datasets


def test_maestro_fixture_builds_with_labels_clipped(maestro_mini, tmp_path):
  c = tiny.get_config()
  c.data.tfds_dir = str(tmp_path)
  c.data.maestro_dir = str(maestro_mini)
  summary = datasets.build(c, ["maestro"], log=lambda *_: None)
  assert summary["maestro"]["splits"] == {"train": 1}
  ex = datasets.data_source(c, "maestro", "train")[0]
  assert len(ex["audio"]) == 32000 and np.abs(ex["audio"]).max() > 1000
  assert np.all(ex["notes"]["offset"] <= 2.0) and np.all(ex["notes"]["onset"] < 2.0) and len(ex["notes"]["pitch"]) > 0
  assert np.all(ex["notes"]["offset_pedal"] <= 2.0)
