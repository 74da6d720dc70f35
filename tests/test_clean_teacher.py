"""`loss.clean_teacher`: the network's own outputs on the piano alone (device synthesis's clean stem) as soft targets
for its outputs on the mixture. The term is a KL divergence (0 where the two agree, its gradient the difference of
the probabilities), training adds it and pulls the mixture's outputs towards the clean ones, and it is refused where
no clean piano exists."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pianojax import models, objectives, settings, state, trainer
from pianojax.errors import UserError
from pianojax.synth import device

HEADS = ("onset_reg", "offset", "frame")  # the hybrid objective's onset, offset and frame heads


def _config(device_assets, **overrides):
  config = settings.apply_overrides(
    device_assets,
    [
      ("objective", "hybrid"),
      ("loss.clean_teacher", 1.0),
      ("data.device.alone_prob", 0.0),
      ("data.device.others_prob", 1.0),
      *overrides.items(),
    ],
  )
  settings.validate(config)
  return config


def _batch(config, seed=0, batch=4):
  synth = device.DeviceSynth(config, device.load_assets(config))
  make = synth.batch_fn(batch, with_clean=settings.needs_clean_stem(config))
  return jax.tree.map(np.asarray, make(jax.random.key(seed)))


def test_the_term_is_a_kl_divergence_of_the_three_note_heads():
  rng = np.random.default_rng(0)
  shape = (2, 30, 88)
  teacher = {name: rng.normal(size=shape).astype(np.float32) for name in (*HEADS, "velocity")}
  mask = np.ones(shape[:2], np.float32)
  mask[1, 20:] = 0.0
  assert abs(float(objectives.teacher_loss(teacher, teacher, mask, "hybrid"))) < 1e-5  # agreeing: nothing to learn
  student = {name: x + rng.normal(size=shape).astype(np.float32) for name, x in teacher.items()}
  assert float(objectives.teacher_loss(student, teacher, mask, "hybrid")) > 0.05
  # d/d(student logit) = (p_student - p_teacher) / the valid positions, on the three heads; velocity is not read
  grads = jax.grad(lambda s: objectives.teacher_loss(s, teacher, mask, "hybrid"))(student)
  valid = mask.sum() * 88
  for name in HEADS:
    expected = (jax.nn.sigmoid(student[name]) - jax.nn.sigmoid(teacher[name])) * mask[..., None] / valid
    np.testing.assert_allclose(grads[name], expected, atol=1e-7, err_msg=name)
  assert not np.any(grads["velocity"])


def test_the_clean_stem_is_the_mix_where_the_piano_plays_alone(device_assets):
  """(With `variety_on` the stem also leaves out the microphone noise and hum the variety adds to every example.)"""
  plain = {"data.device.variety_on": False}
  solo = _batch(_config(device_assets, **plain, **{"data.device.others_prob": 0.0}), seed=1)
  assert np.abs(solo["audio"]).max() > 0.05
  np.testing.assert_allclose(solo["clean"], solo["audio"], atol=1e-5)
  mixed = _batch(_config(device_assets, **plain), seed=1)
  assert np.abs(mixed["clean"] - mixed["audio"]).max() > 0.05  # the accompaniment (and noise) are not in it


def test_training_pulls_the_mixtures_outputs_towards_the_clean_ones(device_assets):
  """With every other loss weight at 0, steps on one accompanied batch lower the teacher term, and the note heads'
  probabilities on the mixture move towards those on the clean piano; with the weight at 0 too there is no term
  and the parameters stay where they were."""
  zero = {f"loss.{k}": 0.0 for k in ("onset_weight", "offset_weight", "frame_weight", "velocity_weight")}
  zero.update({"loss.release_weight": 0.0, "loss.pedal_weight": 0.0})
  zero.update({"optim.learning_rate": 3e-3, "optim.warmup_steps": 0, "optim.weight_decay": 0.0})
  config = _config(device_assets, **zero)
  batch = _batch(config, seed=2)
  model = models.build(config)
  optimizer = state.make_optimizer(config)
  start = state.initial_state(model, optimizer, config, jax.random.key(0))

  def run(cfg, steps):
    step = jax.jit(
      lambda s, b: trainer.train_step(s, b, model=model, optimizer=optimizer, config=cfg, base_rng=jax.random.key(1))
    )
    s, terms = jax.tree.map(jnp.copy, start), []
    for _ in range(steps):
      s, metrics = step(s, batch)
      terms.append(float(metrics.get("loss/teacher", np.nan)))
    return s, terms

  def gap(variables):
    mix = model.apply(variables, batch["audio"], train=False)
    clean = model.apply(variables, batch["clean"], train=False)
    return float(objectives.teacher_loss(mix, clean, batch["mask"], config.objective))

  trained, terms = run(config, 8)
  assert terms[-1] < 0.7 * terms[0], terms
  assert gap(trained.variables) < 0.7 * gap(start.variables)
  off = settings.apply_overrides(config, [("loss.clean_teacher", 0.0)])
  untouched, terms = run(off, 2)
  assert np.isnan(terms).all()  # no term
  for a, b in zip(jax.tree.leaves(untouched.params), jax.tree.leaves(start.params), strict=True):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
  "overrides, message",
  [
    ({"loss.clean_teacher": -1.0}, "weight >= 0"),
    ({"data.source": "tfds"}, "data.source=device"),
    ({"data.device.tfds_every": 2}, "no clean piano stem"),
  ],
)
def test_bad_settings_are_one_line_errors(device_assets, overrides, message):
  config = settings.apply_overrides(device_assets, [("loss.clean_teacher", 1.0), *overrides.items()])
  with pytest.raises(UserError, match=message):
    settings.validate(config)
