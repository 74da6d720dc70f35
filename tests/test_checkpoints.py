"""Checkpoints: config checks, loading and exporting models (real orbax checkpoints of a trained tiny run)."""

import jax
import numpy as np
import pytest

from pianojax import checkpoints, decoding, settings, trainer
from pianojax.errors import UserError
from tests.conftest import tiny_config


def test_checkpoint_config_mismatch_is_a_clear_error(tfds_dir, tmp_path):
  config = tiny_config(tfds_dir)
  config.train.steps = 2
  config.train.eval_every = 1000
  trainer.train_and_evaluate(config, str(tmp_path / "run"), log=lambda *_: None)
  other = tiny_config(tfds_dir)
  other.train.steps = 4
  other.model.growth = 16
  with pytest.raises(checkpoints.CheckpointError, match=r"model\.growth: checkpoint 12 vs config 16"):
    trainer.train_and_evaluate(other, str(tmp_path / "run"), log=lambda *_: None)
  with pytest.raises(checkpoints.CheckpointError, match="no checkpoint"):
    checkpoints.resolve(str(tmp_path / "missing"))
  # a checkpoint written before a model field existed matches the value older code implied, and only that
  saved = settings.as_dict(config)
  del saved["frontend"]["bins_per_octave"]
  checkpoints.check_compatible(settings.upgrade(saved), config, "old")
  config.frontend.bins_per_octave = 36
  with pytest.raises(checkpoints.CheckpointError, match=r"frontend\.bins_per_octave: checkpoint 24 vs config 36"):
    checkpoints.check_compatible(settings.upgrade(saved), config, "old")


def test_exported_model_is_smaller_and_gives_the_same_outputs(run_dir, tmp_path):
  tuned = decoding.DecodeSettings.from_config(tiny_config(run_dir).decode).replace(onset_threshold=0.05)
  exported = checkpoints.export_model(str(run_dir), str(tmp_path / "model"), tuned, segment_hop_frames=24)
  full = sum(f.stat().st_size for f in (run_dir / "checkpoints").rglob("*") if f.is_file())
  slim = sum(f.stat().st_size for f in (tmp_path / "model").rglob("*") if f.is_file())
  assert slim < full / 2
  config, _, _ = checkpoints.read_config(exported)
  assert config.decode.onset_threshold == 0.05 and config.inference.segment_hop_frames == 24
  a, b = (checkpoints.load_model(path)[2] for path in (str(run_dir), exported))
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  with pytest.raises(UserError, match="not an empty folder"):
    checkpoints.export_model(str(run_dir), str(tmp_path / "model"))
  with pytest.raises(UserError, match="segment_hop_frames"):
    checkpoints.export_model(str(run_dir), str(tmp_path / "m2"), segment_hop_frames=10**6)


def test_load_model_names_the_checkpoint_in_every_error(run_dir, tmp_path):
  with pytest.raises(checkpoints.CheckpointError, match="no checkpoint at"):
    checkpoints.load_model(str(tmp_path / "nothing"))
  config = tiny_config(run_dir)
  config.model.growth = 20
  with pytest.raises(checkpoints.CheckpointError, match="growth"):
    checkpoints.restore_variables(str(run_dir), config)


def test_the_shipped_model_loads_with_todays_fields():
  """models/default was saved before the config's inference section existed: read through settings.upgrade."""
  config, model, variables = checkpoints.load_model()
  assert config.inference.segment_hop_frames == 192 and config.inference.input_peak_db == -6.0
  assert config.loss.event_pos_weight == 8.0 and "stitch" not in config.data
  assert config.data.train == ("notes", "chords", "others", "mixtures", "performances")
  assert model.num_frames == config.data.segment_frames and jax.tree.leaves(variables)
