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
  assert config.decode.end_events == "peak" and config.decode.end_confirm_threshold == 0.7  # (exported with them)
  assert config.decode.sounding_ends == "keys" and config.loss.pedalled_releases is False  # (session 21's)
  assert config.model.pedal_context and "pedal_context" in variables["params"]  # (session 22's pedal branch)
  assert model.num_frames == config.data.segment_frames and jax.tree.leaves(variables)


def _pre_pedal_checkpoint(tfds_dir, root):
  """A real orbax checkpoint as the code before the pedal heads wrote it: no pedal heads, and a saved config
  without the fields added with them."""
  import json

  from pianojax import models, state

  config = tiny_config(tfds_dir, **{"model.pedal": False})
  model = models.build(config)
  train_state = state.initial_state(model, state.make_optimizer(config), config, jax.random.key(0))
  ckpt = checkpoints.Checkpoints(str(root), every=1, keep=1)
  ckpt.save(0, train_state, config, force=True)
  ckpt.close()
  metadata = root / "0" / "config" / "metadata"
  saved = json.loads(metadata.read_text())
  removed = (("model", "pedal"), ("loss", "release_weight"), ("loss", "pedal_weight"))
  removed += (("model", "end_context"), ("model", "end_dilations"), ("train", "freeze"))  # (added in session 11)
  for section, field in removed:
    del saved[section][field]
  for field in ("release_threshold", "pedal_threshold", "end_confirm_threshold", "end_events", "sounding_ends"):
    del saved["decode"][field]  # (+ sessions 18, 20, 21)
  del saved["loss"]["pedalled_releases"]  # (session 21)
  del saved["model"]["pedal_context"]  # (session 22)
  metadata.write_text(json.dumps(saved))
  return config, train_state


def test_a_checkpoint_from_before_the_pedal_heads_restores_grows_or_fails_clearly(tfds_dir, tmp_path):
  _, old_state = _pre_pedal_checkpoint(tfds_dir, tmp_path / "old")
  config, _, variables = checkpoints.load_model(str(tmp_path / "old"))
  assert config.model.pedal is False and config.decode.pedal_threshold == 0.5
  # decoding as the code that wrote it did: every end event counts, at the first frame of its run
  assert config.decode.end_confirm_threshold == 0.0 and config.decode.end_events == "rise"
  assert config.decode.sounding_ends == "frames" and config.loss.pedalled_releases is True
  assert config.model.end_context is False and config.train.freeze == "none" and config.model.pedal_context is False
  assert "head_pedal_frame" not in variables["params"]
  # today's config (pedal heads) against it: one line naming what changed
  pedal_config = tiny_config(tfds_dir, **{"model.pedal": True})
  with pytest.raises(checkpoints.CheckpointError, match=r"model\.pedal: checkpoint False vs config True"):
    checkpoints.restore_variables(str(tmp_path / "old"), pedal_config)
  # ... and as init_from, it starts the grown model: every old array kept, only the new heads fresh
  from pianojax import models, state

  # (and a velocity head that now also hears the level: its old rows kept, the new inputs weighted zero)
  pedal_config.model.velocity_level = True
  grown = state.initial_variables(models.build(pedal_config), pedal_config, jax.random.key(1))
  merged, fresh = checkpoints.restore_into(str(tmp_path / "old"), pedal_config, grown)
  assert fresh and all("head_key_" in name or "head_pedal_" in name or "(widened)" in name for name in fresh)
  assert "['params']['head_velocity']['kernel'] (widened)" in fresh
  old_params = jax.tree_util.tree_leaves_with_path(old_state.params)
  new_params = dict(jax.tree_util.tree_leaves_with_path(merged["params"]))
  for path, value in old_params:
    kept = np.asarray(new_params[path])[tuple(slice(0, n) for n in value.shape)]
    np.testing.assert_array_equal(kept, np.asarray(value))
  velocity = np.asarray(merged["params"]["head_velocity"]["kernel"])
  old_rows = old_state.params["head_velocity"]["kernel"].shape[0]
  assert velocity.shape[0] > old_rows and not velocity[old_rows:].any()
  # another objective: the heads both objectives have (offset events, frame, velocity) carry over, the onset
  # triangles start fresh
  hybrid = tiny_config(tfds_dir, **{"objective": "hybrid", "model.pedal": False})
  fresh_model = state.initial_variables(models.build(hybrid), hybrid, jax.random.key(2))
  merged, fresh = checkpoints.restore_into(str(tmp_path / "old"), hybrid, fresh_model)
  assert fresh and all("['head_onset_reg']" in name for name in fresh)
  for head in ("head_offset", "head_frame", "DenseNet_0"):
    for (_, a), (_, b) in zip(
      jax.tree_util.tree_leaves_with_path(merged["params"][head]),
      jax.tree_util.tree_leaves_with_path(old_state.params[head]),
      strict=True,
    ):
      np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
  # ... and into the same features scaled another way (the same bins: fine-tuning adapts) ...
  floor = tiny_config(tfds_dir, **{"model.pedal": False, "frontend.normalize": "floor"})
  assert config.frontend.normalize != "floor"
  floor_model = state.initial_variables(models.build(floor), floor, jax.random.key(3))
  merged, fresh = checkpoints.restore_into(str(tmp_path / "old"), floor, floor_model)
  assert not fresh
  np.testing.assert_array_equal(merged["params"]["head_frame"]["kernel"], old_state.params["head_frame"]["kernel"])
  # ... or cleaned of stationary noise first (frontend.denoise: the same bins again) ...
  denoised = tiny_config(tfds_dir, **{"model.pedal": False, "frontend.denoise": 2.0})
  merged, fresh = checkpoints.restore_into(
    str(tmp_path / "old"), denoised, state.initial_variables(models.build(denoised), denoised, jax.random.key(4))
  )
  assert not fresh
  # ... but not another frontend: its weights would read other features
  other = tiny_config(tfds_dir, **{"frontend.n_mels": 64})
  with pytest.raises(checkpoints.CheckpointError, match="frontend differs"):
    checkpoints.restore_into(str(tmp_path / "old"), other, grown)


@pytest.mark.parametrize(
  ("field", "value", "channels"),
  [("model.short_window", 256, 2), ("model.harmonics", (0.5, 2.0), 3), ("model.pcen", 0.4, 2)],
)
def test_a_model_given_more_input_channels_starts_as_the_one_without_them(run_dir, field, value, channels):
  """init_from into `model.short_window`, `model.harmonics` or `model.pcen`: the stem's kernel widened with zeros
  for the new channels, so the grown model's outputs are the trained one's exactly, and training reaches the new
  weights."""
  from pianojax import models, state

  config, model, variables = checkpoints.load_model(str(run_dir))
  grown_config = settings.apply_overrides(config, [(field, value)])
  grown_model = models.build(grown_config)
  fresh_variables = state.initial_variables(grown_model, grown_config, jax.random.key(1))
  merged, fresh = checkpoints.restore_into(str(run_dir), grown_config, fresh_variables)
  assert fresh == ["['params']['DenseNet_0']['Conv_0']['kernel'] (widened)"]
  stem = np.asarray(merged["params"]["DenseNet_0"]["Conv_0"]["kernel"])
  assert stem.shape[-2] == channels and not stem[..., 1:, :].any()
  samples = config.data.segment_frames * config.frontend.hop_length
  audio = 0.1 * np.random.default_rng(0).standard_normal((2, samples)).astype(np.float32)
  old, new = model.apply(variables, audio), grown_model.apply(merged, audio)
  assert old.keys() == new.keys()
  for k in old:
    np.testing.assert_array_equal(np.asarray(new[k]), np.asarray(old[k]), err_msg=k)

  def loss(params):
    out = grown_model.apply({**merged, "params": params}, audio)
    return sum(jax.numpy.mean(jax.nn.sigmoid(v)) for v in out.values())

  grad = jax.grad(loss)(merged["params"])["DenseNet_0"]["Conv_0"]["kernel"]
  assert all(np.abs(np.asarray(grad[..., c, :])).max() > 0 for c in range(1, channels))
