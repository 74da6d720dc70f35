"""Domain randomisation on the device: per-example draws of how a piano, its room and its microphone sound.

`draw` maps a key to one example's `Variety` (every range a field of the `data.device.variety` config section; with
`data.device.variety_on=False` all of them collapse to a plain recording: one piano, no tuning change, a linear
velocity curve, the reference damper, no EQ, room, microphone noise, hum or level changes). `finish` applies the
signal side to the rendered mix: EQ and room in one FFT (random impulse response: decaying noise), the material's
noise at its SNR, microphone noise and mains hum, a slow level drift, and a random peak level.
The note side (tuning, velocity curve, release, mixing two pianos' notes) is applied by synth/device.py when it sets
up the voices.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Variety(NamedTuple):
  bank_a: jax.Array  # int32: the example's piano
  bank_b: jax.Array  # int32: a second piano ...
  mix_b: jax.Array  # ... that plays this share of the notes
  detune_cents: jax.Array  # the whole piano
  stretch_cents: jax.Array  # octave stretch: cents at the top key (minus at the bottom), cubic in between
  jitter_cents: jax.Array  # per-note random tuning, up to this
  velocity_curve: jax.Array  # gain = (velocity / layer velocity) ** curve
  release_seconds: jax.Array  # damper time constant
  tilt_db: jax.Array  # spectral tilt per octave around 1 kHz
  eq_freq: jax.Array  # (2,) Hz: two peaking bands ...
  eq_db: jax.Array  # (2,) ... their gains ...
  eq_octaves: jax.Array  # (2,) ... and widths
  reverb: jax.Array  # bool
  rt60: jax.Array  # s
  wet: jax.Array
  mic_noise: jax.Array  # bool
  mic_snr_db: jax.Array
  mic_pink: jax.Array  # share of pink in the microphone noise
  hum_db: jax.Array  # mains hum level against the signal (-inf: none)
  hum_hz: jax.Array  # 50 or 60
  drift_depth: jax.Array  # slow level drift: gain 1 + depth * sin(2 pi rate t + phase)
  drift_hz: jax.Array
  drift_phase: jax.Array
  peak_db: jax.Array  # final peak level, dBFS


# The peaking bands' centres (log-uniform) and widths, for the piano's EQ and the other instruments' own.
EQ_HZ = (200.0, 6000.0)
EQ_OCTAVES = (0.3, 1.5)


class _Uniforms:
  """Slices of one uniform draw, handed out in order (one random kernel per example instead of one per field)."""

  def __init__(self, key, count: int = 40):
    self.u, self.i = jax.random.uniform(key, (count,)), 0

  def __call__(self, lo_hi=(0.0, 1.0), n: int | None = None):
    lo, hi = lo_hi
    x = self.u[self.i : self.i + (n or 1)]
    self.i += n or 1
    x = lo + x * (hi - lo)
    return x if n else x[0]

  def index(self, count: int):
    return jnp.minimum(jnp.floor(self() * count).astype(jnp.int32), count - 1)


def draw(key, cfg, num_banks: int, on) -> Variety:
  """One example's draw (`cfg`: the `data.device.variety` section; `on` false: the plain recording; a Python bool or
  a traced one)."""
  u = _Uniforms(key)
  bank_a, bank_b = u.index(num_banks), u.index(num_banks)
  peak_db = u((-12.0, -1.0))  # as the rendered datasets
  zero, no = jnp.float32(0.0), jnp.bool_(False)
  plain = Variety(
    bank_a, bank_a, zero, zero, zero, zero, jnp.float32(1.0), jnp.float32(cfg.plain_release_seconds), zero,
    jnp.full(2, 1000.0), jnp.zeros(2), jnp.ones(2), no, jnp.float32(0.5), zero, no, jnp.float32(60.0), zero,
    jnp.float32(-jnp.inf), jnp.float32(50.0), zero, jnp.float32(0.1), zero, peak_db,
  )  # fmt: skip
  if on is False:
    return plain
  log = lambda lo_hi: (jnp.log(lo_hi[0]), jnp.log(lo_hi[1]))  # noqa: E731
  varied = Variety(
    bank_a=bank_a,
    bank_b=bank_b,
    mix_b=jnp.where(u() < cfg.two_pianos_prob, u((0.2, 0.5)), 0.0),
    detune_cents=u((-cfg.detune_cents, cfg.detune_cents)),
    stretch_cents=u((0.0, cfg.stretch_cents)),
    jitter_cents=u((0.0, cfg.jitter_cents)),
    velocity_curve=jnp.exp(u(log(cfg.velocity_curve))),
    release_seconds=jnp.exp(u(log(cfg.release_seconds))),
    tilt_db=u((-cfg.tilt_db, cfg.tilt_db)),
    eq_freq=jnp.exp(u(log(EQ_HZ), 2)),
    eq_db=u((-cfg.eq_db, cfg.eq_db), 2),
    eq_octaves=u(EQ_OCTAVES, 2),
    reverb=u() < cfg.reverb_prob,
    rt60=u(tuple(cfg.rt60)),
    wet=u(tuple(cfg.wet)),
    mic_noise=u() < cfg.mic_noise_prob,
    mic_snr_db=u(tuple(cfg.mic_snr_db)),
    mic_pink=u(),
    hum_db=jnp.where(u() < cfg.hum_prob, u(tuple(cfg.hum_db)), -jnp.inf),
    hum_hz=jnp.where(u() < 0.5, 50.0, 60.0),
    drift_depth=u((0.0, cfg.drift_depth)),
    drift_hz=u((0.05, 0.5)),
    drift_phase=u((0.0, 2 * jnp.pi)),
    peak_db=peak_db,
  )
  if on is True:
    return varied
  return jax.tree.map(lambda p, r: jnp.where(on, r, p), plain, varied)  # `on` traced: both drawn, one kept


def cents_of(v: Variety, pitch, key) -> jax.Array:
  """Per-note tuning offset: the piano's detune, its octave stretch, and per-note jitter."""
  x = jnp.clip((pitch.astype(jnp.float32) - 69.0) / 39.0, -1.0, 1.0)  # -1 at A0 (clipped from -1.2), 1 at C8
  jitter = jax.random.uniform(key, pitch.shape, minval=-1.0, maxval=1.0) * v.jitter_cents
  return v.detune_cents + v.stretch_cents * x**3 + jitter


def _rms(x):
  return jnp.sqrt(jnp.mean(jnp.square(x)) + 1e-20)


def fft_size(n: int) -> int:
  """The smallest 2^a 3^b 5^c >= n (sizes the FFT handles fast)."""
  best = 1 << (n - 1).bit_length()
  p3 = 1
  while p3 < best:
    p5 = p3
    while p5 < best:
      m = p5
      while m < n:
        m *= 2
      best = min(best, m)
      p5 *= 5
    p3 *= 3
  return best


NOISE_TABLE_SECONDS = 16.0


def noise_tables(sample_rate: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """Unit-RMS white and pink (1/f power) noise, `NOISE_TABLE_SECONDS` long, made once on the host: examples take
  random slices of them (drawing fresh Gaussian noise per example costs more than the rest of the signal chain)."""
  n = int(NOISE_TABLE_SECONDS * sample_rate)
  rng = np.random.default_rng(seed)
  white = rng.standard_normal(n)
  pink = rng.standard_normal(n)
  spectrum = np.fft.rfft(pink)
  spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1.0))
  pink = np.fft.irfft(spectrum, n)
  unit = lambda x: (x / np.sqrt(np.mean(x**2))).astype(np.float32)  # noqa: E731
  return unit(white), unit(pink)


def noise(key, tables, n: int, pink) -> jax.Array:
  """`n` samples of unit-RMS noise, white mixed with pink in proportion `pink`, from random slices of `tables`."""
  white, pinked = tables
  kw, kp = jax.random.split(key)
  a = jax.lax.dynamic_slice(white, (jax.random.randint(kw, (), 0, white.shape[0] - n),), (n,))
  b = jax.lax.dynamic_slice(pinked, (jax.random.randint(kp, (), 0, pinked.shape[0] - n),), (n,))
  mixed = (1 - pink) * a + pink * b
  return mixed / _rms(mixed)  # (a slice of pink noise is not unit-RMS: its low frequencies wander)


def room_response(key, tables, v: Variety, *, nfft: int, sample_rate: int, max_rt60: float) -> jax.Array:
  """The rfft of EQ (tilt + two peaking bands) and room (an impulse response of exponentially decaying noise after a
  5 ms pre-delay, unit energy, mixed `wet`) together."""
  ir_len = int(max_rt60 * sample_rate)
  t = jnp.arange(ir_len) / sample_rate
  ir = noise(key, tables, ir_len, 0.0) * jnp.exp(-6.9 * t / v.rt60) * (t >= 0.005)
  ir = ir / jnp.sqrt(jnp.sum(ir**2) + 1e-12)
  f = jnp.fft.rfftfreq(nfft, 1.0 / sample_rate)
  gain = eq_gain(Eq(v.tilt_db, v.eq_freq, v.eq_db, v.eq_octaves), f)
  wet = jnp.where(v.reverb, v.wet, 0.0)
  return gain * ((1 - wet) + wet * jnp.fft.rfft(ir, nfft))


class Eq(NamedTuple):
  """A tilt and two peaking bands (the EQ of `Variety`, or one of the other instruments' own)."""

  tilt_db: jax.Array  # per octave around 1 kHz
  freq: jax.Array  # (2,) Hz
  db: jax.Array  # (2,)
  octaves: jax.Array  # (2,) widths


def draw_eq(key, cfg, on) -> Eq:
  """An EQ from the ranges of `cfg` (the `data.device.variety` section) where `on` (traced), else a flat one."""
  u = _Uniforms(key)
  drawn = Eq(
    tilt_db=u((-cfg.tilt_db, cfg.tilt_db)),
    freq=jnp.exp(u((jnp.log(EQ_HZ[0]), jnp.log(EQ_HZ[1])), 2)),
    db=u((-cfg.eq_db, cfg.eq_db), 2),
    octaves=u(EQ_OCTAVES, 2),
  )
  flat = Eq(jnp.float32(0.0), jnp.full(2, 1000.0), jnp.zeros(2), jnp.ones(2))
  return jax.tree.map(lambda d, f: jnp.where(on, d, f), drawn, flat)


def eq_gain(eq: Eq, f) -> jax.Array:
  """The EQ's gain at frequencies `f` (Hz)."""
  octaves = jnp.log2(jnp.maximum(f, 20.0) / 1000.0)
  bands = jnp.sum(
    eq.db[:, None] * jnp.exp(-0.5 * ((octaves - jnp.log2(eq.freq / 1000.0)[:, None]) / eq.octaves[:, None]) ** 2),
    axis=0,
  )
  return 10 ** ((eq.tilt_db * octaves + bands) / 20)


def equalize(audio, eq: Eq, sample_rate: int) -> jax.Array:
  """`audio (samples,)` through `eq` (zero phase, one FFT padded by a quarter second so its ringing does not wrap)."""
  n = audio.shape[0]
  nfft = fft_size(n + sample_rate // 4)
  f = jnp.fft.rfftfreq(nfft, 1.0 / sample_rate)
  return jnp.fft.irfft(jnp.fft.rfft(audio, nfft) * eq_gain(eq, f), nfft)[:n]


def _level(snr_db):
  """10 ** (-snr / 20), and 0 for an infinite SNR (no noise)."""
  return jnp.where(jnp.isfinite(snr_db), 10 ** (-jnp.where(jnp.isfinite(snr_db), snr_db, 0.0) / 20), 0.0)


def finish(audio, key, tables, v: Variety, *, sample_rate: int, max_rt60: float, noise_snr_db, noise_pink, stem=None):
  """The signal side of an example, after the instruments are mixed: room and EQ (one FFT), the material's noise at
  its SNR (+inf: none; `noise_pink` its colour), microphone noise and hum against the signal after the room, a slow
  level drift, and the peak level.

  `stem`: one part of the mix (the piano alone) to return as well, `(audio, stem)`: through the same room, EQ,
  drift and gain as the mix, without the noises (the clean target of a separator)."""
  kr, kn, km = jax.random.split(key, 3)
  n = audio.shape[0]
  nfft = fft_size(n + int(max_rt60 * sample_rate))
  response = room_response(kr, tables, v, nfft=nfft, sample_rate=sample_rate, max_rt60=max_rt60)
  audio = jnp.fft.irfft(jnp.fft.rfft(audio, nfft) * response, nfft)[:n]
  signal = _rms(audio)
  silent = signal < 1e-8
  scene = jnp.where(silent, 0.01 * jnp.isfinite(noise_snr_db), signal * _level(noise_snr_db))
  mic = jnp.where(v.mic_noise & ~silent, signal * _level(v.mic_snr_db), 0.0)
  t = jnp.arange(n) / sample_rate
  hum = sum(jnp.sin(2 * jnp.pi * h * v.hum_hz * t) / h for h in (1, 2, 3))
  audio = (
    audio
    + scene * noise(kn, tables, n, noise_pink)
    + mic * noise(km, tables, n, v.mic_pink)
    + signal * _level(-v.hum_db) * hum / _rms(hum)
  )
  drift = 1.0 + v.drift_depth * jnp.sin(2 * jnp.pi * v.drift_hz * t + v.drift_phase)
  audio = audio * drift
  peak = jnp.max(jnp.abs(audio))
  gain = jnp.where(peak > 0, 10 ** (v.peak_db / 20) / jnp.maximum(peak, 1e-12), 1.0)
  if stem is None:
    return audio * gain
  stem = jnp.fft.irfft(jnp.fft.rfft(stem, nfft) * response, nfft)[:n]
  return audio * gain, stem * drift * gain
