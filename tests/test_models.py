"""The transcriber: beat framing changes what the network sees (and frame framing ignores beats); FLOP counts; the
short-window channel."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pianojax import models, state
from tests.conftest import tiny_config


def outputs(framing: str, beat_ids, **overrides):
  config = tiny_config("/tmp", **{"frontend.framing": framing, **overrides})
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  samples = config.data.segment_frames * config.frontend.hop_length
  audio = 0.1 * np.random.default_rng(0).standard_normal((1, samples)).astype(np.float32)
  out = model.apply(variables, audio, train=False, beat_ids=beat_ids)
  return np.asarray(out["frame"][0]), config, {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.parametrize("framing", ["frame", "beat"])
def test_beat_framing_pools_features_between_beats(framing):
  frames = tiny_config("/tmp").data.segment_frames
  one_interval = np.zeros((1, frames), np.int32)
  sixteen = (np.arange(frames) // (frames // 16))[None].astype(np.int32)
  a, *_ = outputs(framing, one_interval)
  b, *_ = outputs(framing, sixteen)
  if framing == "frame":
    np.testing.assert_array_equal(a, b)  # beats are ignored
    return
  assert np.abs(a - b).max() > 1e-3  # where the beats fall changes the output
  # one interval: every frame sees the segment's mean, so away from the edges the output is the same everywhere
  inner = a[16:-16]
  assert np.abs(inner - inner[0]).max() < 1e-5 < np.abs(b[16:-16] - b[16]).max()


def test_beat_framing_with_a_beat_on_every_frame_is_frame_framing():
  # The beat path has no bug that moves features against their frames: with every frame its own beat, pooling and
  # broadcasting give back the frames, and the same weights give the same outputs, every head.
  frames = tiny_config("/tmp").data.segment_frames
  every_frame = np.arange(frames, dtype=np.int32)[None]
  *_, beat = outputs("beat", every_frame, **{"frontend.max_beats": frames})
  *_, frame = outputs("frame", every_frame, **{"frontend.max_beats": frames})
  assert beat.keys() == frame.keys()
  for k in beat:
    np.testing.assert_allclose(beat[k], frame[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_flops_grow_with_the_segment():
  config = tiny_config("/tmp")
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  samples = config.data.segment_frames * config.frontend.hop_length
  one, two = (models.count_flops(model, variables, (n, samples))["total"] for n in (1, 2))
  assert one > 0 and two == pytest.approx(2 * one)


def test_only_a_velocity_head_with_the_level_hears_how_loud_the_input_is():
  """Per-example normalisation makes every head deaf to the input's gain; `model.velocity_level` gives the velocity
  head the level back (and only it)."""
  config = tiny_config("/tmp", **{"frontend.normalize": "example", "model.velocity_level": True})
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  samples = config.data.segment_frames * config.frontend.hop_length
  audio = 0.05 * np.random.default_rng(0).standard_normal((1, samples)).astype(np.float32)
  soft, loud = (model.apply(variables, a, train=False) for a in (audio, 8 * audio))
  for head in soft:
    change = float(jnp.abs(soft[head] - loud[head]).max())
    assert (change > 1e-2) if head == "velocity" else (change < 1e-3), head


def test_the_short_window_channel_is_sharper_in_time():
  """`model.short_window`: a tone's start rises over fewer frames in the second channel than in the features, on the
  same bins (the channel is the frontend through a 256-sample window, against tiny's 1,024)."""
  config = tiny_config("/tmp", **{"model.short_window": 256})
  model = models.build(config)
  variables = state.initial_variables(model, config, jax.random.key(0))
  samples = config.data.segment_frames * config.frontend.hop_length
  rate, start = config.frontend.sample_rate, samples // 2 + 100  # between two frames' centres
  t = np.arange(samples) / rate
  audio = np.where(np.arange(samples) >= start, 0.3 * np.sin(2 * np.pi * 440.0 * t), 0.0).astype(np.float32)[None]
  long, _ = model.apply(variables, audio, method=model.features)
  short = model.apply(variables, audio, method=model.short_features)
  assert long.shape == short.shape == (1, config.data.segment_frames, config.frontend.n_mels)
  band = int(np.argmax(long[0, -10]))
  assert int(np.argmax(short[0, -10])) == band  # the same bins

  def rising_frames(x):
    v = np.asarray(x[0, :, band])
    lo, hi = v[: start // config.frontend.hop_length - 8].mean(), v[-8:].mean()
    return int(np.sum((v > lo + 0.1 * (hi - lo)) & (v < lo + 0.9 * (hi - lo))))

  assert rising_frames(short) < rising_frames(long)
  assert rising_frames(short) <= 1 < rising_frames(long)
