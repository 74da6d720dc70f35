"""Stage 1 of the two-stage model (pianojax/separation.py): the grid's mask, the audio round trip, the metrics, and
a separator that learns to take an added tone and noise out of real piano audio."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from pianojax import frontend, separation
from pianojax.synth import materials, soundfonts
from pianojax.synth.render import Renderer
from tests.conftest import require

RATE = 16000
STEPS = 120
SPEC = frontend.FrontendSpec(
  sample_rate=RATE,
  n_fft=1024,
  win_length=1024,
  hop_length=320,
  representation="logfreq",
  bins_per_octave=24,
  band="piano",
  log="log",
  normalize="example",
)


def test_a_mask_of_ones_gives_back_the_audio_and_zeros_silence():
  rng = np.random.default_rng(0)
  audio = (0.1 * rng.standard_normal(RATE)).astype(np.float32)
  frames = SPEC.num_frames(len(audio))
  ones = np.ones((frames, SPEC.n_bins), np.float32)
  # the STFT round trip (overlap-add) is exact; inside the band a mask of ones changes nothing
  z = separation.stft(audio, SPEC)
  np.testing.assert_allclose(separation.istft(z, SPEC, len(audio)), audio, atol=1e-5)
  inside = separation.linear_mask(ones, SPEC)
  lo, hi = np.nonzero(inside[0])[0][[0, -1]]
  assert lo * RATE / SPEC.n_fft < 2 * SPEC.fmin and hi * RATE / SPEC.n_fft > 7800  # from below A1 to ~8 kHz
  assert not inside[:, :lo].any()
  np.testing.assert_allclose(inside[:, lo : hi + 1], 1.0, atol=1e-6)
  assert np.abs(separation.apply_mask(audio, np.zeros_like(ones), SPEC)).max() == 0.0


def test_what_the_separator_sees_does_not_depend_on_padding():
  """The last segment of a file is padded with zeros at inference: the frames with sound are normalised the same
  as in a segment full of sound (a mask trained on full segments then holds on the last one too)."""
  rng = np.random.default_rng(2)
  audio = (0.1 * rng.standard_normal(100 * 320)).astype(np.float32)
  full = separation.grid_power(jnp.asarray(audio[None]), SPEC, 100)
  padded = separation.grid_power(jnp.asarray(np.concatenate([audio[: 60 * 320], np.zeros(40 * 320)])[None]), SPEC, 100)
  sounding = np.asarray(padded.max(axis=-1) > 0)[0]
  assert 60 <= sounding.sum() < 100  # (frames overlapping the end hold a little sound)
  a = np.asarray(separation.features_of(full[:, :55], SPEC))
  b = np.asarray(separation.features_of(padded[:, :55], SPEC))
  np.testing.assert_allclose(a, b, atol=1e-5)  # the same sound: the same features
  c = np.asarray(separation.features_of(padded, SPEC))[:, :55]
  d = np.asarray(separation.features_of(padded[:, : sounding.sum()], SPEC))[:, :55]
  np.testing.assert_allclose(c, d, atol=1e-4)  # the zero frames count for nothing


def test_sdr_by_hand():
  s = np.array([1.0, -1.0, 1.0, -1.0])
  assert separation.sdr(s, s + 0.1) == pytest.approx(10 * np.log10(4 / 0.04))
  assert separation.si_sdr(s, 3 * s) > 100  # a louder copy is perfect up to its scale ...
  assert separation.sdr(s, 3 * s) == pytest.approx(10 * np.log10(4 / 16))  # ... which SDR counts


@pytest.mark.parametrize("kind", separation.LOSSES)
def test_every_loss_is_least_at_the_ideal_mask(kind):
  rng = np.random.default_rng(1)
  clean = jnp.asarray(rng.uniform(0, 1, (2, 8, 12)), jnp.float32)
  mix = clean + jnp.asarray(rng.uniform(0, 1, (2, 8, 12)), jnp.float32)
  ideal = jnp.log(clean / mix) - jnp.log1p(-clean / mix)  # logits of the ideal ratio mask
  frames = jnp.ones((2, 8))
  at_ideal = separation.loss(kind, ideal, mix, clean, frames, floor=1e-6)
  for off in (-1.0, 1.0):
    assert separation.loss(kind, ideal + off, mix, clean, frames, floor=1e-6) > at_ideal


def test_separator_learns_to_take_a_tone_and_noise_out_of_real_piano():
  """Real piano (FluidSynth playing random sequences, no room) plus a steady 1234.5 Hz tone (0 dB) and white noise
  (-20 dB): trained on 4 examples for 80 steps, the separator's loss falls, the separated audio's SDR against the
  piano rises well above the mixture's, and the tone is what it took out."""
  require("fluidr3" in soundfonts.available(), "SoundFont fluidr3 not installed")
  renderer = Renderer(RATE)
  rng = np.random.default_rng(0)
  seconds = 64 * 320 / RATE  # 64 frames
  piano = np.stack(
    [renderer.render([(materials.piano_sequence(rng, seconds), 0)], "fluidr3", seconds)[0] for _ in range(4)]
  )
  renderer.close()
  piano = (0.3 * piano / np.abs(piano).max(axis=1, keepdims=True)).astype(np.float32)
  t = np.arange(piano.shape[1]) / RATE
  tone = np.sin(2 * np.pi * 1234.5 * t)[None] * np.sqrt(2)
  noise = rng.standard_normal(piano.shape)
  level = np.sqrt(np.mean(piano**2, axis=1, keepdims=True))
  mix = (piano + level * (tone + 0.1 * noise)).astype(np.float32)  # the tone at 0 dB, noise at -20 dB

  spec = dataclasses.replace(SPEC, n_fft=2048, win_length=2048, bins_per_octave=36)
  model = separation.Separator(channels=8, levels=2, layers=1, growth=8)
  power = separation.grid_power(jnp.asarray(mix), spec, 64)
  clean = separation.grid_power(jnp.asarray(piano), spec, 64)
  x = separation.features_of(power, spec)
  variables = model.init(jax.random.key(0), x, train=False)
  opt = optax.adam(1e-2)
  state = (variables["params"], variables["batch_stats"], opt.init(variables["params"]))

  @jax.jit
  def step(state):
    params, stats, opt_state = state

    def loss_fn(p):
      logits, upd = model.apply({"params": p, "batch_stats": stats}, x, train=True, mutable=["batch_stats"])
      return separation.loss("l1_log", logits, power, clean, jnp.ones(power.shape[:2]), floor=1e-4), upd["batch_stats"]

    (value, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
    updates, opt_state = opt.update(grads, opt_state)
    return (optax.apply_updates(params, updates), stats, opt_state), value

  losses = []
  for _ in range(STEPS):
    state, value = step(state)
    losses.append(float(value))
  mask = jax.nn.sigmoid(model.apply({"params": state[0], "batch_stats": state[1]}, x, train=False))
  sdr_mix = [separation.sdr(p, m) for p, m in zip(piano, mix, strict=True)]
  sdr_sep = [
    separation.sdr(p, separation.apply_mask(m, np.asarray(k), spec)) for p, m, k in zip(piano, mix, mask, strict=True)
  ]
  assert np.mean(losses[-10:]) < 0.5 * np.mean(losses[:3])
  # (measured: about 0 dB -> 21-23 dB; at 80 steps 6-20 dB, by the initial draw and XLA's optimisation level)
  assert min(sdr_sep) > max(sdr_mix) + 8.0, (sdr_mix, sdr_sep)

  # the tone is what it learned to take out: at 1234.5 Hz the separated audio is near the piano, the mix is not
  def at_tone(x):
    return np.abs(np.exp(-2j * np.pi * 1234.5 * t) @ np.asarray(x).T) / len(t)

  separated = np.stack([separation.apply_mask(m, np.asarray(k), spec) for m, k in zip(mix, mask, strict=True)])
  off_sep, off_mix = np.abs(at_tone(separated) - at_tone(piano)), np.abs(at_tone(mix) - at_tone(piano))
  assert (off_sep < 0.3 * off_mix).all(), (off_sep, off_mix)
