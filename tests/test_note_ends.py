"""The note-end branch (model.end_context) and training it alone (train.freeze=notes): a model grown from a
checkpoint without the branch computes what that checkpoint did, and training the branch leaves the onset branch
(and so the onsets) bit-identical while the note-end heads move. Real orbax checkpoints of a trained tiny run."""

import jax
import numpy as np
import pytest

from pianojax import checkpoints, models, settings, state, trainer
from pianojax.errors import UserError
from tests.conftest import tiny_config

END = {"model.pedal": True, "model.end_context": True, "model.end_dilations": (1, 2, 4)}


def test_a_grown_note_end_branch_starts_as_the_shared_context(run_dir):
  _, old_model, old_variables = checkpoints.load_model(str(run_dir))
  config = tiny_config(run_dir, **END)
  model = models.build(config)
  grown = state.initial_variables(model, config, jax.random.key(1))
  merged, fresh = checkpoints.restore_into(str(run_dir), config, jax.device_get(grown))
  assert "end_context (from TemporalContext_0)" in fresh
  assert not any("['end_context']" in name for name in fresh)
  ctx = merged["params"]["end_context"]
  assert set(ctx) == {"Dense_0", *(f"Conv_{i}" for i in range(3)), *(f"LayerNorm_{i}" for i in range(4))}
  assert not np.asarray(ctx["Conv_2"]["kernel"]).any()  # the layer the shared context lacks starts closed
  np.testing.assert_array_equal(  # the final norm is the shared context's final norm
    ctx["LayerNorm_3"]["scale"], old_variables["params"]["TemporalContext_0"]["LayerNorm_2"]["scale"]
  )
  audio = np.random.default_rng(0).standard_normal((2, config.data.segment_frames * config.frontend.hop_length))
  audio = (0.1 * audio).astype(np.float32)
  before, after = old_model.apply(old_variables, audio), model.apply(merged, audio)
  assert {"end_context"} <= set(merged["params"]) and "pedal_frame" in after
  for head, value in before.items():
    np.testing.assert_allclose(after[head], value, rtol=0, atol=1e-5, err_msg=head)


def test_freezing_the_notes_trains_only_the_note_end_branch(tfds_dir, run_dir, tmp_path):
  config = tiny_config(tfds_dir, **END, **{"train.freeze": "notes", "init_from": str(run_dir), "train.steps": 3})
  config.train.eval_every = 1000
  config.optim.warmup_steps = 0
  settings.validate(config)
  trainer.train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
  _, _, start = checkpoints.load_model(str(tmp_path / "checkpoints" / "0"))
  _, _, end = checkpoints.load_model(str(tmp_path))

  def same(name, collection="params"):
    a, b = (jax.tree.leaves(v[collection].get(name, {})) for v in (start, end))
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))

  for name in models.NOTE_MODULES:
    if name in start["params"]:
      assert same(name), name
  assert same("DenseNet_0", "batch_stats")  # the frozen trunk ran as at inference: its statistics stay
  for name in ("end_context", "head_frame", "head_offset", "head_key_frame", "head_pedal_frame", "head_velocity"):
    assert not same(name), name


def test_freezing_the_notes_needs_a_note_end_branch(run_dir):
  config = tiny_config(run_dir, **{"train.freeze": "notes"})
  with pytest.raises(UserError, match=r"train\.freeze.*model\.end_context=True"):
    settings.validate(config)


def test_the_pedal_branch_grows_from_the_note_ends_and_trains_alone(tfds_dir, run_dir, tmp_path):
  """A pedal context of its own (model.pedal_context) starts as the note-end context, so the grown model computes
  what its checkpoint did; trained with train.freeze=all_but_pedal, only it and the pedal heads move."""
  ends = tiny_config(tfds_dir, **END, **{"train.freeze": "notes", "init_from": str(run_dir), "train.steps": 2})
  ends.train.eval_every = 1000
  trainer.train_and_evaluate(ends, str(tmp_path / "ends"), log=lambda *_: None)
  _, ends_model, ends_variables = checkpoints.load_model(str(tmp_path / "ends"))

  over = {**END, "model.pedal_context": True, "init_from": str(tmp_path / "ends"), "train.steps": 3}
  config = tiny_config(tfds_dir, **over, **{"train.freeze": "all_but_pedal"})
  config.train.eval_every = 1000
  config.optim.warmup_steps = 0
  settings.validate(config)
  model = models.build(config)
  grown = state.initial_variables(model, config, jax.random.key(1))
  merged, fresh = checkpoints.restore_into(str(tmp_path / "ends"), config, jax.device_get(grown))
  assert fresh == ["pedal_context (from end_context)"]  # the pedal heads are the note-end branch's
  audio = np.random.default_rng(0).standard_normal((2, config.data.segment_frames * config.frontend.hop_length))
  audio = (0.1 * audio).astype(np.float32)
  before, after = ends_model.apply(ends_variables, audio), model.apply(merged, audio)
  for head, value in before.items():
    np.testing.assert_allclose(after[head], value, rtol=0, atol=1e-5, err_msg=head)

  trainer.train_and_evaluate(config, str(tmp_path / "pedal"), log=lambda *_: None)
  _, _, start = checkpoints.load_model(str(tmp_path / "pedal" / "checkpoints" / "0"))
  _, _, end = checkpoints.load_model(str(tmp_path / "pedal"))
  trained = models.pedal_modules(config.objective)
  for collection in ("params", "batch_stats"):
    for name in start[collection]:
      a, b = (jax.tree.leaves(v[collection][name]) for v in (start, end))
      moved = not all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
      assert moved == (collection == "params" and name in trained), (collection, name)

  with pytest.raises(UserError, match=r"train\.freeze.*model\.pedal_context=True"):
    settings.validate(tiny_config(tfds_dir, **END, **{"train.freeze": "all_but_pedal"}))
