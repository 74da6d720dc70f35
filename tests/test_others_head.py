"""The other instruments' onsets in training: device synthesis labels the accompaniment's onsets (the rest of a batch is
what it was without them), the onset head for them (`model.others_head`) predicts them beside the piano's and trains
on them, and `loss.others_negative_weight` weighs the piano onset head's negatives there."""

import jax
import numpy as np
import pytest

from pianojax import checkpoints, models, objectives, settings, state, trainer
from pianojax.errors import UserError
from pianojax.synth import device

HEAD = {"model.others_head": True}
PLAIN = {"data.device.variety_on": False, "data.device.material_weights": (0.0, 0.0, 1.0, 0.0)}  # sequences


def _batch(config, seed=0, batch=4, **overrides):
  config = settings.apply_overrides(config, overrides.items())
  synth = device.DeviceSynth(config, device.load_assets(config))
  return jax.tree.map(np.asarray, synth.batch_fn(batch, with_kind=True)(jax.random.key(seed)))


def test_the_accompaniments_onsets_are_labelled_and_nothing_else_moves(device_assets):
  alone = {**PLAIN, "data.device.alone_prob": 1.0, "data.device.others_prob": 1.0}  # the only sound: theirs
  b = _batch(device_assets, **alone, **HEAD)
  assert b["alone"].all() and b["other_onset"].shape == b["onset"].shape and not b["onset"].any()
  hop = device_assets.frontend.hop_length
  labelled = 0
  for audio, onsets in zip(b["audio"], b["other_onset"], strict=True):
    frames = np.nonzero(onsets.max(axis=1))[0]
    if not len(frames):  # every note dropped by the batch's playback budget: silence, and no label either
      assert np.abs(audio).max() < 1e-4
      continue
    labelled += 1
    first_sound = int(np.argmax(np.abs(audio) > 1e-4))
    assert abs(first_sound / hop - frames[0]) <= 0.5 + 0.01 * 16000 / hop  # the first onset is the first sound
  assert labelled >= 3
  # with no accompaniment there is nothing to label; the head adds a key and moves no other array
  solo = {**PLAIN, "data.device.alone_prob": 0.0, "data.device.others_prob": 0.0}
  with_head, without = _batch(device_assets, seed=1, **solo, **HEAD), _batch(device_assets, seed=1, **solo)
  assert not with_head["other_onset"].any() and with_head["onset"].any()
  assert set(with_head) - set(without) == {"other_onset", "other_onset_reg", "other_frame"}
  for k in without:  # (the same numbers up to float rounding: the two programs compile apart)
    np.testing.assert_allclose(with_head[k], without[k], atol=1e-5, err_msg=k)
  # accompanied piano: both labelled, on different notes (the melody lines are drawn apart from the piano's)
  mixed = _batch(
    device_assets, seed=2, **{**PLAIN, "data.device.alone_prob": 0.0, "data.device.others_prob": 1.0}, **HEAD
  )
  assert mixed["other_onset"].sum() > 0 and mixed["onset"].sum() > 0


def test_the_head_trains_and_adds_its_term_to_the_loss(device_assets, tmp_path):
  config = settings.apply_overrides(
    device_assets, [*HEAD.items(), ("data.device.others_prob", 1.0), ("train.steps", 3)]
  )
  settings.validate(config)
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  assert variables["params"][f"head_{models.OTHERS_HEAD}"]["kernel"].shape[-1] == 88
  batch = _batch(config, seed=3)
  outputs = model.apply(variables, batch["audio"], train=False)
  terms = objectives.losses(outputs, batch, config.objective, config.loss)
  without = objectives.losses(
    {k: v for k, v in outputs.items() if k != models.OTHERS_HEAD}, batch, config.objective, config.loss
  )
  assert float(terms["others"]) > 0
  np.testing.assert_allclose(terms["total"], without["total"] + config.loss.others_weight * terms["others"], rtol=1e-5)
  trainer.train_and_evaluate(config, str(tmp_path), log=lambda *_: None)
  _, _, start = checkpoints.load_model(str(tmp_path / "checkpoints" / "0"))
  _, _, end = checkpoints.load_model(str(tmp_path))
  head = f"head_{models.OTHERS_HEAD}"
  assert not np.array_equal(start["params"][head]["kernel"], end["params"][head]["kernel"])


def test_a_model_without_the_head_starts_one_with_it(device_assets, tmp_path):
  """init_from: every array of a checkpoint without the head restores; the head alone starts fresh."""
  plain = settings.apply_overrides(device_assets, [("train.steps", 1)])
  trainer.train_and_evaluate(plain, str(tmp_path), log=lambda *_: None)
  config = settings.apply_overrides(device_assets, HEAD.items())
  fresh_model = state.initial_variables(models.build(config), config, jax.random.key(1))
  _, fresh = checkpoints.restore_into(str(tmp_path), config, fresh_model)
  assert fresh and all(models.OTHERS_HEAD in name for name in fresh)


def test_the_head_needs_device_synthesis(device_assets):
  config = settings.apply_overrides(device_assets, [*HEAD.items(), ("data.source", "tfds")])
  with pytest.raises(UserError, match=r"model\.others_head"):
    settings.validate(config)


def test_the_accompaniments_onsets_weigh_the_piano_heads_negatives(device_assets):
  """loss.others_negative_weight w: at another instrument's onset on a key with no piano onset the onset head's
  gradient is (1 + w x the onset's triangle) times its plain one; elsewhere it is unchanged."""
  w = 4.0
  config = settings.apply_overrides(
    device_assets, [("loss.others_negative_weight", w), ("objective", "hybrid"), ("data.device.others_prob", 1.0)]
  )
  settings.validate(config)
  batch = _batch(config, seed=5, **{**PLAIN, "data.device.alone_prob": 0.0, "data.device.others_prob": 1.0})
  assert "other_onset_reg" in batch
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  outputs = model.apply(variables, batch["audio"], train=False)

  def onset_grad(loss_config):
    def total(logits):
      return objectives.losses({**outputs, "onset_reg": logits}, batch, config.objective, loss_config)["total"]

    return np.asarray(jax.grad(total)(outputs["onset_reg"]))

  plain = onset_grad(settings.apply_overrides(config, [("loss.others_negative_weight", 0.0)]).loss)
  weighted = onset_grad(config.loss)
  near, piano = batch["other_onset_reg"], batch["onset_reg"]
  valid = batch["mask"][..., None] > 0
  assert ((near > 0.9) & (piano == 0) & valid).sum() >= 10  # the accompaniment's onsets, on keys the piano is not
  covered = (near > 0) & (piano == 0) & valid
  np.testing.assert_allclose(weighted[covered], (1 + w * near[covered]) * plain[covered], rtol=1e-4)
  far = (near == 0) & valid
  np.testing.assert_allclose(weighted[far], plain[far], rtol=1e-5, atol=1e-12)


def test_the_negative_weight_needs_device_synthesis_and_a_sign(device_assets):
  for value, source in ((1.0, "tfds"), (-1.0, "device")):
    config = settings.apply_overrides(device_assets, [("loss.others_negative_weight", value), ("data.source", source)])
    with pytest.raises(UserError, match=r"loss\.others_negative_weight"):
      settings.validate(config)
