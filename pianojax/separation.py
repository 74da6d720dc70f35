"""Stage 1 of the two-stage model: the mixture's spectrogram -> the clean piano's spectrogram (regression).

The research notes' "regression": a network whose output has the form of its input (a spectrogram), trained
against a clean target we make (the piano stem of a synthetic mixture), whose output a second network transcribes.
As in Open-Unmix and Spleeter, the network estimates a soft mask in [0, 1] over the mixture's spectrogram; here on
the frontend's own grid (the log-frequency or mel filterbank's power, `frontend.features` without compression), so
the transcriber reads the separated spectrogram exactly as it reads a recording. The mask is spread back onto the
STFT's bins (`linear_mask`) to write the separated piano as audio with the mixture's phase (`apply_mask`).

`Separator` is a U-Net of DenseNet blocks over (time x frequency): frequency is halved `levels` times on the way
down and restored on the way up, with skip connections at each scale; time keeps its frame rate throughout (the
mask is per frame).
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from pianojax import frontend
from pianojax.layers import BatchNormReLU, pointwise_conv, pool_freq

LOSSES = ("l1_log", "l2_log", "l1_mag", "l2_mag", "mask")


def grid_spec(spec: frontend.FrontendSpec) -> frontend.FrontendSpec:
  """`spec` giving the power on the frontend's grid: no compression, no normalisation."""
  if spec.representation == "mfcc":
    raise ValueError("a separator needs a spectrogram grid: frontend.representation mfcc has none (use logfreq/mel)")
  return dataclasses.replace(spec, log="none", normalize="none")


def grid_power(audio: jnp.ndarray, spec: frontend.FrontendSpec, num_frames: int) -> jnp.ndarray:
  """`(batch, samples)` -> the power (or magnitude, `spec.power`) on the frontend's grid `(batch, num_frames, bins)`."""
  return frontend.features(audio, grid_spec(spec))[:, :num_frames]


class DenseBlock(nn.Module):
  layers: int
  growth: int
  dtype: jnp.dtype

  @nn.compact
  def __call__(self, x, train: bool):
    for i in range(self.layers):
      y = BatchNormReLU(not train, dtype=self.dtype, name=f"BatchNorm_{i}")(x)
      y = nn.Conv(self.growth, (3, 3), use_bias=False, dtype=self.dtype, name=f"Conv_{i}")(y)
      x = jnp.concatenate([x, y], axis=-1)
    return x


class Separator(nn.Module):
  """Normalised log features `(batch, frames, bins)` -> mask logits `(batch, frames, bins)`.

  Attributes:
    channels: width of each scale's projection (what is pooled down, and the skip connection to the way up).
    levels: how many times frequency is halved.
    layers: dense layers per block (one block per scale on the way down, one at the bottom, one per scale up).
    growth: channels each dense layer adds.
    mask_bias: the last layer's initial bias: sigmoid(3) = 0.95, so an untrained separator passes the mixture
      nearly unchanged (the transcriber behind it starts from what it knows).
  """

  channels: int = 16
  levels: int = 2
  layers: int = 2
  growth: int = 8
  mask_bias: float = 3.0
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x, train: bool):
    bins = x.shape[-1]
    scale = 2**self.levels
    padded = -(-bins // scale) * scale
    h = jnp.pad(x, ((0, 0), (0, 0), (0, padded - bins)))[..., None].astype(self.dtype)
    h = nn.Conv(self.channels, (3, 3), use_bias=False, dtype=self.dtype, name="stem")(h)

    def block(y, name):
      return DenseBlock(self.layers, self.growth, self.dtype, name=name)(y, train)

    def project(y, name):
      y = BatchNormReLU(not train, dtype=self.dtype, name=f"{name}_norm")(y)
      return nn.Conv(
        self.channels, (1, 1), use_bias=False, dtype=self.dtype, conv_general_dilated=pointwise_conv, name=name
      )(y)

    skips = []
    for level in range(self.levels):
      h = project(block(h, f"down_{level}"), f"down_proj_{level}")
      skips.append(h)
      h = pool_freq(h, 2, "mean")
    h = block(h, "bottom")
    for level in reversed(range(self.levels)):
      h = jnp.repeat(project(h, f"up_proj_{level}"), 2, axis=2)
      h = block(jnp.concatenate([h, skips[level]], axis=-1), f"up_{level}")
    h = BatchNormReLU(not train, dtype=self.dtype, name="out_norm")(h)
    out = nn.Conv(1, (1, 1), dtype=self.dtype, bias_init=nn.initializers.constant(self.mask_bias), name="mask")(h)
    return out[..., :bins, 0].astype(jnp.float32)


def features_of(power: jnp.ndarray, spec: frontend.FrontendSpec, eps: float = 1e-5) -> jnp.ndarray:
  """What a separator sees: the log power on the grid, normalised per example (so the mask does not depend on the
  level) over the frames that hold any signal: the zeros that pad the last segment of a file at inference (or any
  digital silence) do not shift the statistics, so a segment's mask is the same however much of it is padding."""
  x = jnp.log(jnp.maximum(power, spec.log_floor))
  sounding = (jnp.max(power, axis=-1, keepdims=True) > 0).astype(x.dtype)
  count = jnp.maximum(jnp.sum(sounding, axis=(1, 2), keepdims=True) * x.shape[-1], 1.0)
  mean = jnp.sum(x * sounding, axis=(1, 2), keepdims=True) / count
  var = jnp.sum(((x - mean) * sounding) ** 2, axis=(1, 2), keepdims=True) / count
  return (x - mean) * jax.lax.rsqrt(var + eps)


def loss(
  kind: str, logits: jnp.ndarray, mix: jnp.ndarray, clean: jnp.ndarray, mask: jnp.ndarray, *, floor: float
) -> jnp.ndarray:
  """A separation loss over valid frames (`mask` `(batch, frames)`), on the grid's power.

  kind: `l1_log` / `l2_log` (log power of the separated against the clean spectrogram, `floor` added),
    `l1_mag` / `l2_mag` (magnitudes, each example scaled by its mixture's mean magnitude: level-free), `mask`
    (binary cross-entropy of the mask against the ideal ratio mask clean / mix, clipped to [0, 1]).
  """
  separated = jax.nn.sigmoid(logits) * mix
  if kind in ("l1_log", "l2_log"):
    d = jnp.log(separated + floor) - jnp.log(clean + floor)
  elif kind in ("l1_mag", "l2_mag"):
    scale = jnp.mean(jnp.sqrt(mix), axis=(1, 2), keepdims=True) + 1e-8
    d = (jnp.sqrt(separated) - jnp.sqrt(clean)) / scale
  elif kind == "mask":
    target = jnp.clip(clean / (mix + floor), 0.0, 1.0)
    d = -(target * jax.nn.log_sigmoid(logits) + (1 - target) * jax.nn.log_sigmoid(-logits))
  else:
    raise ValueError(f"unknown separation loss {kind!r}; choose from {', '.join(LOSSES)}")
  values = jnp.abs(d) if kind.startswith("l1") or kind == "mask" else d**2
  weights = mask[..., None] * jnp.ones_like(values)
  return jnp.sum(values * weights) / jnp.maximum(jnp.sum(weights), 1.0)


# -- audio side (NumPy): the grid's mask on the STFT, inverse STFT with the mixture's phase --------------------------


def linear_mask(mask: np.ndarray, spec: frontend.FrontendSpec) -> np.ndarray:
  """A mask on the frontend's grid `(frames, bins)` -> on the STFT's bins `(frames, n_fft // 2 + 1)`: each STFT bin
  takes the filter-weighted mean of the masks of the filters covering it (0 outside the band)."""
  mask = np.asarray(mask, np.float32)
  if spec.representation == "linear":
    start, stop = spec.linear_bins
    out = np.zeros((mask.shape[0], spec.n_fft // 2 + 1), np.float32)
    out[:, start:stop] = mask
    return out
  basis = frontend.filterbank(spec)  # (stft bins, grid bins)
  weight = basis.sum(axis=1)
  spread = mask @ basis.T
  return np.where(weight > 0, spread / np.maximum(weight, 1e-12), 0.0).astype(np.float32)


def stft(audio: np.ndarray, spec: frontend.FrontendSpec) -> np.ndarray:
  """Complex STFT `(frames, n_fft // 2 + 1)` of mono audio, framed as the frontend frames it (centred)."""
  frames = np.asarray(frontend.frame_signal(jnp.asarray(audio[None], jnp.float32), spec))[0]
  return np.fft.rfft(frames * frontend.analysis_window(spec), axis=-1)


def istft(z: np.ndarray, spec: frontend.FrontendSpec, length: int) -> np.ndarray:
  """Weighted overlap-add inverse of `stft` (the analysis window again as synthesis window), `length` samples."""
  window = frontend.analysis_window(spec)
  frames = np.fft.irfft(z, spec.n_fft, axis=-1) * window
  n = (len(frames) - 1) * spec.hop_length + spec.n_fft
  out, norm = np.zeros(n), np.zeros(n)
  for i, frame in enumerate(frames):
    at = i * spec.hop_length
    out[at : at + spec.n_fft] += frame
    norm[at : at + spec.n_fft] += window**2
  out = out / np.maximum(norm, 1e-8 * norm.max())
  pad = spec.n_fft // 2 if spec.center else 0
  return out[pad : pad + length].astype(np.float32)


def apply_mask(audio: np.ndarray, mask: np.ndarray, spec: frontend.FrontendSpec) -> np.ndarray:
  """The mixture `audio` with a grid mask `(frames, bins)` applied to its STFT (its own phase), as audio."""
  z = stft(audio, spec)
  m = linear_mask(mask, spec)
  n = min(len(z), len(m))
  z = z[:n] * (np.sqrt(m[:n]) if spec.power == 2.0 else m[:n])  # a mask on power scales magnitudes by its root
  return istft(z, spec, len(audio))


def sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
  """Signal-to-distortion ratio in dB, 10 log10(|s|^2 / |s - s_hat|^2) (no projection, as the SiSEC "SDR" of
  recent MUSDB reports without BSS-eval's allowed distortion filter)."""
  s, e = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
  n = min(len(s), len(e))
  s, e = s[:n], e[:n]
  return float(10 * np.log10((np.sum(s**2) + 1e-12) / (np.sum((s - e) ** 2) + 1e-12)))


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
  """Scale-invariant SDR in dB (Le Roux et al. 2019): the estimate's projection on the reference against the rest."""
  s, e = np.asarray(reference, np.float64), np.asarray(estimate, np.float64)
  n = min(len(s), len(e))
  s, e = s[:n] - s[:n].mean(), e[:n] - e[:n].mean()
  target = (np.dot(e, s) / (np.dot(s, s) + 1e-12)) * s
  return float(10 * np.log10((np.sum(target**2) + 1e-12) / (np.sum((e - target) ** 2) + 1e-12)))


def spectral_l1(reference: np.ndarray, estimate: np.ndarray, spec: frontend.FrontendSpec, floor: float) -> float:
  """Mean absolute difference of the log power on the frontend's grid (natural log, `floor` added)."""
  ref, est = (
    np.asarray(frontend.features(jnp.asarray(x[None], jnp.float32), grid_spec(spec)))[0] for x in (reference, estimate)
  )
  n = min(len(ref), len(est))
  return float(np.mean(np.abs(np.log(ref[:n] + floor) - np.log(est[:n] + floor))))


def separation_metrics(
  clean: np.ndarray, mixture: np.ndarray, separated: np.ndarray, spec: frontend.FrontendSpec, floor: float
) -> dict[str, float]:
  """How well `separated` recovers `clean` from `mixture`: SDR, SI-SDR and spectral L1 of the separated piano, and
  the same of the mixture itself (what doing nothing scores), so the gain is plain."""
  return {
    "sep_sdr": sdr(clean, separated),
    "sep_si_sdr": si_sdr(clean, separated),
    "sep_spectral_l1": spectral_l1(clean, separated, spec, floor),
    "mix_sdr": sdr(clean, mixture),
    "mix_si_sdr": si_sdr(clean, mixture),
    "mix_spectral_l1": spectral_l1(clean, mixture, spec, floor),
  }
