"""Training a two-stage model one part at a time (models.TwoStage, state.make_optimizer's freeze): each part moves
its stages and leaves the other bit-identical."""

import numpy as np
import pytest

from pianojax import checkpoints, settings, trainer
from tests.conftest import TWO_STAGE, stage_leaves


@pytest.mark.parametrize(
  ("part", "stage_input", "moved"),
  [("transcriber", "clean", ("transcriber",)), ("joint", "separated", ("separator", "transcriber"))],
)
def test_each_training_part_moves_its_stages_and_freezes_the_other(device_assets, tmp_path, part, stage_input, moved):
  config = settings.apply_overrides(
    device_assets,
    [*TWO_STAGE.items(), ("separation.train", part), ("separation.transcriber_input", stage_input), ("train.steps", 2)],
  )
  settings.validate(config)
  trainer.train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
  _, _, start = checkpoints.load_model(str(tmp_path / "checkpoints" / "0"))
  _, _, end = checkpoints.load_model(str(tmp_path))
  for stage in ("separator", "transcriber"):
    changed = any(
      not np.array_equal(a, b) for a, b in zip(stage_leaves(start, stage), stage_leaves(end, stage), strict=True)
    )
    assert changed == (stage in moved), stage
