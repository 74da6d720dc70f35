"""Training a two-stage model one part at a time (models.TwoStage, state.make_optimizer's freeze): each part moves
its stages and leaves the other bit-identical."""

import jax
import numpy as np
import pytest

from pianojax import checkpoints, settings, trainer
from tests.conftest import REPO, TWO_STAGE, stage_leaves


def test_the_joint_part_moves_both_stages_through_the_separated_input(device_assets, tmp_path):
  """Trained end to end (`separation.train=joint` on the separated piano): the transcriber's loss reaches the
  separator through its output, so both stages move."""
  config = settings.apply_overrides(
    device_assets,
    [
      *TWO_STAGE.items(),
      ("separation.train", "joint"),
      ("separation.transcriber_input", "separated"),
      ("train.steps", 2),
    ],
  )
  settings.validate(config)
  trainer.train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
  _, _, start = checkpoints.load_model(str(tmp_path / "checkpoints" / "0"))
  _, _, end = checkpoints.load_model(str(tmp_path))
  for stage in ("separator", "transcriber"):
    assert any(
      not np.array_equal(a, b) for a, b in zip(stage_leaves(start, stage), stage_leaves(end, stage), strict=True)
    ), stage


@pytest.mark.parametrize(
  ("part", "moved"),
  [("separator", ("separator",)), ("transcriber", ("transcriber",)), ("joint", ("separator", "transcriber"))],
)
def test_each_training_part_updates_its_stages_only(device_assets, part, moved):
  """The optimizer of each `separation.train` part, given a gradient on every parameter, updates that part's
  stages and leaves the other's at exactly zero, weight decay included (tests/modes/test_separate.py trains the
  separator part end to end, the test above the joint one)."""
  from pianojax import models, state

  config = settings.apply_overrides(device_assets, [*TWO_STAGE.items(), ("separation.train", part)])
  settings.validate(config)
  shapes = state.abstract_variables(models.build(config), config)["params"]
  params = jax.tree.map(lambda x: np.ones(x.shape, x.dtype), shapes)
  optimizer = state.make_optimizer(config)
  opt_state = optimizer.init(params)
  for _ in range(2):  # (a gradient of ones everywhere; the second step is past the warm-up's learning rate of 0)
    updates, opt_state = jax.jit(optimizer.update)(params, opt_state, params)
  for stage in ("separator", "transcriber"):
    changed = [bool(np.any(np.asarray(u) != 0)) for u in jax.tree.leaves(updates[stage])]
    assert changed and all(changed) if stage in moved else not any(changed), stage


def test_the_two_stage_config_takes_its_transcriber_from_the_shipped_model():
  """configs/two_stage.py names models/default as stage 2's start: the shipped checkpoint fits it (frontend,
  objective, heads, shapes), so the recipe its docstring gives runs as written, and the config decodes as the
  shipped model does (a new shipped model changes both together)."""
  from configs import two_stage
  from pianojax import models, state

  config = two_stage.get_config()
  settings.validate(config)
  start = REPO / config.separation.transcriber_from  # (launch.py runs from the repository's root)
  assert start.samefile(checkpoints.DEFAULT_MODEL)
  assert config.decode.to_dict() == checkpoints.model_config().decode.to_dict()
  abstract = state.abstract_variables(models.build(config), config)
  merged = checkpoints.restore_stage(str(start), "transcriber", config, abstract)
  _, _, shipped = checkpoints.load_model(checkpoints.DEFAULT_MODEL)
  for a, b in zip(jax.tree.leaves(shipped["params"]), stage_leaves(merged, "transcriber"), strict=True):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
