"""The jit-compiled audio frontend: waveform -> (linear | mel | MFCC) features.

Everything here is pure `jax.numpy` and works on a leading batch axis, so it can
run inside a jitted train step: the model takes raw audio and the frontend is part
of its forward pass. Constant matrices (window, mel filterbank, DCT) are computed
once on the host with NumPy and baked into the compiled program; nothing here needs
librosa, so a training host can run without it.

Shapes: audio is `(batch, samples)`; every feature is time-major,
`(batch, frames, bins)`, which is what the network wants.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np

A0_HZ = 27.5
C8_HZ = 4186.01

Representation = Literal["linear", "mel", "mfcc", "logfreq"]


@dataclasses.dataclass(frozen=True)
class FrontendSpec:
  """Everything the frontend computes, as hashable data (usable as a jit static).

  Attributes:
    sample_rate: rate of the incoming audio in Hz.
    n_fft: FFT size.
    win_length: analysis window length in samples (<= n_fft, centred in it;
      None means n_fft).
    hop_length: frame hop in samples.
    window: scipy window name ("hann", "hamming", "blackman", ...).
    center: pad `n_fft // 2` on both sides so frame t is centred at t * hop.
    pad_mode: "constant" (zeros, librosa's default) or "reflect".
    power: 1.0 for a magnitude spectrogram, 2.0 for power.
    representation: "linear" (STFT bins), "mel", "mfcc", or "logfreq" (triangular filters
      at `bins_per_octave` log-spaced centres, one per STFT bin where those are closer
      than the bins: semitone resolution wherever the STFT has it, see `logfreq_filterbank`).
    band: "full" (0 .. sr/2) or "piano" (A0 .. C8 times `harmonic_headroom`).
    harmonic_headroom: in the piano band, fmax = C8 * headroom (capped at sr/2),
      leaving room for the upper harmonics of the top notes.
    n_mels: mel bands.
    mel_scale: "slaney" (librosa's default) or "htk".
    n_mfcc: cepstral coefficients kept (representation "mfcc").
    bins_per_octave: centres per octave of the "logfreq" filterbank (24: two per semitone).
    log: "none", "log" (natural log of max(x, floor)) or "db" (10 log10).
    log_floor: the floor below which values are clamped before the log.
    top_db: for "db", clamp to at most this far below the example's peak.
    normalize: "none", "example" (zero mean, unit variance over each example),
      "example_bin" (the same, per frequency bin) or "floor" (each bin's noise floor, its `FLOOR_QUANTILE` over
      the example's frames, subtracted first, then "example": stationary noise and hum flatten to zero).
    denoise: spectral subtraction before compression (0: off): each band's noise level, its `denoise_quantile`
      over the example's frames, times `denoise` is taken off its power, leaving at least `DENOISE_FLOOR` of that
      level. Stationary noise (white, pink, hum) drops toward silence while a clean recording, whose quiet frames
      are near silence already, keeps its features (unlike "floor", which moves every input).
    denoise_quantile: the share of an example's frames a band's noise level lies under (frames of the zeros that
      pad a file's last segment are not counted).
  """

  sample_rate: int = 16000
  n_fft: int = 2048
  win_length: int | None = None
  hop_length: int = 160
  window: str = "hann"
  center: bool = True
  pad_mode: str = "constant"
  power: float = 2.0
  representation: Representation = "mel"
  band: Literal["full", "piano"] = "full"
  harmonic_headroom: float = 2.0
  n_mels: int = 229
  mel_scale: Literal["slaney", "htk"] = "slaney"
  n_mfcc: int = 40
  bins_per_octave: int = 24
  log: Literal["none", "log", "db"] = "log"
  log_floor: float = 1e-5
  top_db: float | None = None
  normalize: Literal["none", "example", "example_bin", "floor"] = "none"
  denoise: float = 0.0
  denoise_quantile: float = 0.1

  def __post_init__(self):
    if self.win_length is None:
      object.__setattr__(self, "win_length", self.n_fft)
    if not 0 < self.win_length <= self.n_fft:
      raise ValueError(f"win_length {self.win_length} must be in (0, n_fft={self.n_fft}]")
    if self.hop_length <= 0:
      raise ValueError(f"hop_length must be positive, got {self.hop_length}")
    if self.representation not in ("linear", "mel", "mfcc", "logfreq"):
      raise ValueError(f"unknown representation {self.representation!r}")
    if self.band not in ("full", "piano"):
      raise ValueError(f"unknown band {self.band!r}")
    if self.pad_mode not in ("constant", "reflect"):
      raise ValueError(f"unknown pad_mode {self.pad_mode!r}")
    if self.log not in ("none", "log", "db"):
      raise ValueError(f"unknown log {self.log!r}")
    if self.normalize not in ("none", "example", "example_bin", "floor"):
      raise ValueError(f"unknown normalize {self.normalize!r}")
    if self.denoise < 0:
      raise ValueError(f"denoise must be >= 0 (0: off), got {self.denoise}")
    if not 0 < self.denoise_quantile < 1:
      raise ValueError(f"denoise_quantile must be in (0, 1), got {self.denoise_quantile}")
    if self.representation == "mfcc" and self.log == "none":
      raise ValueError("mfcc needs a log compression ('log' or 'db')")

  @classmethod
  def from_config(cls, cfg) -> FrontendSpec:
    """Builds a spec from a config section (ml_collections or dict) holding every field (extra keys ignored:
    `framing`, `max_beats`). A config saved before a field existed goes through `settings.upgrade` first."""
    return cls(**{f.name: cfg[f.name] for f in dataclasses.fields(cls)})

  @property
  def frame_rate(self) -> float:
    return self.sample_rate / self.hop_length

  @property
  def fmin(self) -> float:
    return A0_HZ if self.band == "piano" else 0.0

  @property
  def fmax(self) -> float:
    nyquist = self.sample_rate / 2
    return min(C8_HZ * self.harmonic_headroom, nyquist) if self.band == "piano" else nyquist

  @property
  def linear_bins(self) -> tuple[int, int]:
    """[start, stop) of the STFT bins kept by the band, for the linear representation."""
    freqs = np.fft.rfftfreq(self.n_fft, 1.0 / self.sample_rate)
    inside = np.nonzero((freqs >= self.fmin) & (freqs <= self.fmax))[0]
    return int(inside[0]), int(inside[-1]) + 1

  @property
  def n_bins(self) -> int:
    """Width of the feature axis."""
    if self.representation == "linear":
      start, stop = self.linear_bins
      return stop - start
    if self.representation == "logfreq":
      return logfreq_filterbank(self).shape[1]
    return self.n_mels if self.representation == "mel" else self.n_mfcc

  def num_frames(self, num_samples: int) -> int:
    """Frames produced for a signal of `num_samples` samples."""
    if self.center:
      return 1 + num_samples // self.hop_length
    if num_samples < self.n_fft:
      raise ValueError(f"signal of {num_samples} samples is shorter than n_fft={self.n_fft}")
    return 1 + (num_samples - self.n_fft) // self.hop_length


# Periodic windows NumPy computes (the first N of a symmetric N + 1), the same numbers as scipy.signal.get_window's:
# scipy.signal takes over a second to import, which every command that opens a model would pay.
_NUMPY_WINDOWS = {"hann": np.hanning, "hamming": np.hamming, "blackman": np.blackman}


def _periodic_window(name: str, length: int) -> np.ndarray:
  if name in _NUMPY_WINDOWS:
    return _NUMPY_WINDOWS[name](length + 1)[:-1]
  import scipy.signal

  return scipy.signal.get_window(name, length, fftbins=True)


@functools.lru_cache(maxsize=32)
def analysis_window(spec: FrontendSpec) -> np.ndarray:
  """The periodic window of `win_length`, zero-padded to `n_fft` around the centre (as librosa)."""
  win = _periodic_window(spec.window, spec.win_length)
  left = (spec.n_fft - spec.win_length) // 2
  out = np.zeros(spec.n_fft, np.float64)
  out[left : left + spec.win_length] = win
  return out.astype(np.float32)


def hz_to_mel(hz: np.ndarray, htk: bool = False) -> np.ndarray:
  """Hz to mels: HTK's formula, or Slaney's (linear below 1 kHz, logarithmic above)."""
  hz = np.asarray(hz, np.float64)
  if htk:
    return 2595.0 * np.log10(1.0 + hz / 700.0)
  linear = hz / (200.0 / 3)
  log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
  return np.where(hz >= 1000.0, log_part, linear)


def mel_to_hz(mels: np.ndarray, htk: bool = False) -> np.ndarray:
  """Inverse of `hz_to_mel`."""
  mels = np.asarray(mels, np.float64)
  if htk:
    return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
  return np.where(mels >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mels - 15.0)), mels * (200.0 / 3))


@functools.lru_cache(maxsize=32)
def mel_filterbank(spec: FrontendSpec) -> np.ndarray:
  """Slaney-normalised triangular mel filterbank `(n_fft // 2 + 1, n_mels)`, host side.

  The same construction as `librosa.filters.mel` (tests check they agree), written
  here so training hosts need no librosa.
  """
  htk = spec.mel_scale == "htk"
  fft_freqs = np.linspace(0.0, spec.sample_rate / 2, 1 + spec.n_fft // 2)
  edges = mel_to_hz(np.linspace(hz_to_mel(spec.fmin, htk), hz_to_mel(spec.fmax, htk), spec.n_mels + 2), htk)
  widths = np.diff(edges)
  ramps = edges[:, None] - fft_freqs[None, :]
  rising = -ramps[:-2] / widths[:-1, None]
  falling = ramps[2:] / widths[1:, None]
  weights = np.maximum(0.0, np.minimum(rising, falling))
  weights *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
  return np.ascontiguousarray(weights.T).astype(np.float32)


@functools.lru_cache(maxsize=32)
def logfreq_filterbank(spec: FrontendSpec) -> np.ndarray:
  """Log-frequency triangular filterbank `(n_fft // 2 + 1, n_bins)`, host side.

  Centres at `bins_per_octave` steps from the band's lowest frequency (A0 in the piano
  band, else 27.5 Hz) to its highest, each moved to its nearest STFT bin and duplicates
  dropped: below the frequency where the log steps get narrower than the STFT's bin
  spacing (~270 Hz at 24 per octave, n_fft 2048, 16 kHz) every bin is its own feature,
  above it the filters are log-spaced. Each filter rises from its left neighbour's centre
  bin and falls to its right neighbour's, normalised to unit sum. The mel scale, by
  contrast, is linear below 1 kHz with bands several semitones wide in the bass.
  """
  n_freqs = 1 + spec.n_fft // 2
  bin_hz = spec.sample_rate / spec.n_fft
  fmin = max(spec.fmin, A0_HZ)
  n_centres = int(np.floor(spec.bins_per_octave * np.log2(spec.fmax / fmin))) + 1
  centres = fmin * 2.0 ** (np.arange(n_centres) / spec.bins_per_octave)
  bins = np.unique(np.clip(np.round(centres / bin_hz).astype(int), 1, n_freqs - 1))
  edges = np.concatenate([[max(bins[0] - 1, 0)], bins, [min(bins[-1] + 1, n_freqs - 1)]])
  weights = np.zeros((n_freqs, len(bins)), np.float64)
  for i, (left, centre, right) in enumerate(zip(edges[:-2], edges[1:-1], edges[2:], strict=True)):
    rise = np.arange(left + 1, centre + 1)  # zero at the neighbours' centres: adjacent bins stay single bins
    weights[rise, i] = (rise - left) / (centre - left)
    fall = np.arange(centre, right)
    weights[fall, i] = (right - fall) / (right - centre)
    weights[:, i] /= weights[:, i].sum()
  return weights.astype(np.float32)


def filterbank(spec: FrontendSpec) -> np.ndarray:
  """The filterbank of a "mel", "mfcc" or "logfreq" spec."""
  return logfreq_filterbank(spec) if spec.representation == "logfreq" else mel_filterbank(spec)


def bin_frequencies(spec: FrontendSpec) -> np.ndarray:
  """The centre frequency (Hz) of each feature bin of a "linear", "mel" or "logfreq" spec (cepstra have none)."""
  if spec.representation == "linear":
    start, stop = spec.linear_bins
    return np.fft.rfftfreq(spec.n_fft, 1.0 / spec.sample_rate)[start:stop]
  if spec.representation == "logfreq":
    return np.argmax(logfreq_filterbank(spec), axis=0) * (spec.sample_rate / spec.n_fft)
  if spec.representation == "mel":
    htk = spec.mel_scale == "htk"
    return mel_to_hz(np.linspace(hz_to_mel(spec.fmin, htk), hz_to_mel(spec.fmax, htk), spec.n_mels + 2), htk)[1:-1]
  raise ValueError(f"representation {spec.representation!r} has no frequency axis")


@functools.lru_cache(maxsize=32)
def harmonic_taps(spec: FrontendSpec, harmonics: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Where each bin's `h`-th harmonic lies on the feature axis: `(lower bin, upper bin, upper weight)`, each
  `(len(harmonics), n_bins)`, for linear interpolation in log frequency between the two bins whose centres enclose
  h x the bin's centre. Weight -1 marks a harmonic outside the band (read as zero)."""
  centres = bin_frequencies(spec)
  position = np.interp(np.log(np.outer(harmonics, centres)), np.log(centres), np.arange(len(centres)))
  outside = (np.outer(harmonics, centres) < centres[0] * (1 - 1e-6)) | (
    np.outer(harmonics, centres) > centres[-1] * (1 + 1e-6)
  )
  lower = np.clip(np.floor(position).astype(np.int32), 0, len(centres) - 1)
  upper = np.minimum(lower + 1, len(centres) - 1)
  weight = np.where(outside, -1.0, position - lower).astype(np.float32)
  return lower, upper, weight


def harmonic_stack(x: jnp.ndarray, spec: FrontendSpec, harmonics: tuple[float, ...]) -> jnp.ndarray:
  """Features `(..., n_bins)` -> `(..., n_bins, len(harmonics))`: channel j at bin k holds the features at
  `harmonics[j]` x bin k's centre frequency (zero outside the band), so a small convolution at a pitch's bin sees its
  partials together (the harmonic CQT of Bittner et al. 2017 and Basic Pitch, on this frontend's own bins)."""
  lower, upper, weight = harmonic_taps(spec, tuple(float(h) for h in harmonics))
  inside = weight >= 0
  w = np.where(inside, weight, 0.0).astype(np.float32)
  views = [
    jnp.where(inside[j], x[..., lower[j]] * (1.0 - w[j]) + x[..., upper[j]] * w[j], 0.0) for j in range(len(harmonics))
  ]
  return jnp.stack(views, axis=-1)


def pcen(
  log_power: jnp.ndarray,
  frame_rate: float,
  time_constant: float,
  *,
  alpha: float = 0.98,
  delta: float = 2.0,
  root: float = 0.5,
  eps: float = 1e-6,
) -> jnp.ndarray:
  """Per-channel energy normalisation (Wang et al. 2017) of natural-log power features `(batch, frames, bins)`:
  each bin's power E over its running mean M (a first-order smoother with a `time_constant` in seconds, started at
  the first frame) to the power `alpha`, root-compressed: `(E / (eps + M)^alpha + delta)^root - delta^root`. What
  holds steady in a bin for longer than the time constant (a held string or organ note, a drone, noise) falls
  towards 0; what starts (a hammer's strike) stands out, whatever the level around it."""
  power = jnp.exp(log_power)
  s = 1.0 - np.exp(-1.0 / (time_constant * frame_rate))

  def smooth(m, e):
    m = (1.0 - s) * m + s * e
    return m, m

  _, mean = jax.lax.scan(smooth, power[:, 0], jnp.swapaxes(power, 0, 1))
  mean = jnp.swapaxes(mean, 0, 1)
  return (power / (eps + mean) ** alpha + delta) ** root - delta**root


@functools.lru_cache(maxsize=32)
def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
  """Orthonormal DCT-II as a `(n_in, n_out)` matrix (the same as scipy's `dct(norm='ortho')`)."""
  k = np.arange(n_out)[None, :]
  n = np.arange(n_in)[:, None]
  basis = np.cos(np.pi * k * (2 * n + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
  basis[:, 0] /= np.sqrt(2.0)
  return basis.astype(np.float32)


def _pad(audio: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  if not spec.center:
    return audio
  pad = spec.n_fft // 2
  return jnp.pad(audio, ((0, 0), (pad, pad)), mode=spec.pad_mode)


def _frame_index(n_frames: int, spec: FrontendSpec) -> np.ndarray:
  return np.arange(n_frames)[:, None] * spec.hop_length + np.arange(spec.n_fft)[None, :]


def frame_signal(audio: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """Cuts `(batch, samples)` into overlapping frames `(batch, frames, n_fft)`."""
  n_frames = spec.num_frames(audio.shape[-1])
  return _pad(audio, spec)[:, _frame_index(n_frames, spec)]


def _power(frames: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  z = jnp.fft.rfft(frames.astype(jnp.float32) * analysis_window(spec), axis=-1)
  power = jnp.real(z) ** 2 + jnp.imag(z) ** 2
  return power if spec.power == 2.0 else power ** (spec.power / 2.0)


def spectrogram(audio: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """Magnitude (power=1) or power (power=2) spectrogram `(batch, frames, n_fft // 2 + 1)`."""
  return _power(frame_signal(audio, spec), spec)


@functools.lru_cache(maxsize=32)
def _filter_bands(spec: FrontendSpec, group: int = 16) -> tuple[tuple[int, int, int, int], ...]:
  """Splits the filterbank into groups of `group` filters with the bin range each group touches.

  A mel or log-frequency filter is non-zero on a few bins only, so multiplying each group of filters
  by its own bin range does the same sums as the dense matmul at ~7% of the FLOPs.
  """
  basis = filterbank(spec)
  bands = []
  for start in range(0, basis.shape[1], group):
    stop = min(start + group, basis.shape[1])
    nonzero = np.nonzero(basis[:, start:stop].any(axis=1))[0]
    lo, hi = (int(nonzero[0]), int(nonzero[-1]) + 1) if nonzero.size else (0, 1)
    bands.append((start, stop, lo, hi))
  return tuple(bands)


def apply_filterbank(spectrum: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """Applies the (banded) mel or log-frequency filterbank to a `(..., n_fft // 2 + 1)` spectrum."""
  basis = filterbank(spec)
  parts = [spectrum[..., lo:hi] @ basis[lo:hi, start:stop] for start, stop, lo, hi in _filter_bands(spec)]
  return jnp.concatenate(parts, axis=-1)


def compress(x: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """Log compression: natural log or decibels of `max(x, log_floor)`; optional `top_db` clamp."""
  if spec.log == "none":
    return x
  clamped = jnp.maximum(x, spec.log_floor)
  if spec.log == "log":
    return jnp.log(clamped)
  db = (10.0 if spec.power == 2.0 else 20.0) * jnp.log10(clamped)
  if spec.top_db is not None:
    peak = jnp.max(db, axis=tuple(range(1, db.ndim)), keepdims=True)
    db = jnp.maximum(db, peak - spec.top_db)
  return db


def mfcc(log_mel: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """MFCC `(batch, frames, n_mfcc)`: orthonormal DCT-II of a log-mel spectrogram."""
  return log_mel @ dct_matrix(spec.n_mels, spec.n_mfcc)


# The share of an example's frames a bin's noise floor lies under (normalize="floor"): a note rarely sounds in one
# bin for 80% of a segment, stationary noise does in every frame.
FLOOR_QUANTILE = 0.2


def normalize(x: jnp.ndarray, mode: str, eps: float = 1e-5) -> jnp.ndarray:
  """Per-example standardisation over (time, bins), or per bin over time; "floor": each bin's noise floor removed
  first."""
  if mode == "none":
    return x
  if mode == "floor":
    x = x - jnp.quantile(x, FLOOR_QUANTILE, axis=1, keepdims=True)
    mode = "example"
  axes = (1, 2) if mode == "example" else (1,)
  mean = jnp.mean(x, axis=axes, keepdims=True)
  var = jnp.var(x, axis=axes, keepdims=True)
  return (x - mean) * jnp.reciprocal(jnp.sqrt(var + eps))


def _frames_to_bands(frames: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """Frames `(batch, n, n_fft)` -> the band's power (STFT bins or filterbank bands) `(batch, n, bands)`."""
  power = _power(frames, spec)
  if spec.representation == "linear":
    start, stop = spec.linear_bins
    return power[..., start:stop]
  return apply_filterbank(power, spec)


def _bands_to_features(bands: jnp.ndarray, spec: FrontendSpec) -> jnp.ndarray:
  """The band's power -> compressed features (cepstra for "mfcc"), before normalisation."""
  x = compress(bands, spec)
  return mfcc(x, spec) if spec.representation == "mfcc" else x


# What spectral subtraction leaves of a band's noise level (-20 dB in power): a floor, not zero, so a band that was
# all noise reads as quiet rather than as the log of nothing.
DENOISE_FLOOR = 0.01


def denoise(bands: jnp.ndarray, strength: float, quantile: float) -> jnp.ndarray:
  """Spectral subtraction on `(batch, frames, bands)` power: `strength` x each band's noise level (its `quantile`
  over the example's frames) taken off, at least `DENOISE_FLOOR` x that level left. Frames with no energy at all
  (the zeros that pad a file's last segment) neither count toward the level nor change."""
  if strength == 0:
    return bands
  empty = jnp.sum(bands, axis=-1, keepdims=True) <= 0
  level = jnp.nanquantile(jnp.where(empty, jnp.nan, bands), quantile, axis=1, keepdims=True)
  level = jnp.nan_to_num(level, nan=0.0)
  cleaned = jnp.maximum(bands - strength * level, DENOISE_FLOOR * level)
  return jnp.where(empty, bands, cleaned)


def _blocked(audio: jnp.ndarray, spec: FrontendSpec, block: int, per_block) -> jnp.ndarray:
  """`per_block(frames, spec)` over the signal's frames, `block` frames at a time, so each block's frames stay in
  cache."""
  padded = _pad(audio, spec)
  n_frames = spec.num_frames(audio.shape[-1])
  n_blocks = -(-n_frames // block)
  span = (block - 1) * spec.hop_length + spec.n_fft
  need = (n_blocks - 1) * block * spec.hop_length + span
  padded = jnp.pad(padded, ((0, 0), (0, max(0, need - padded.shape[-1]))))
  index = _frame_index(block, spec)

  def one_block(j):
    chunk = jax.lax.dynamic_slice_in_dim(padded, j * block * spec.hop_length, span, axis=1)
    return per_block(chunk[:, index], spec)

  out = jax.lax.map(one_block, jnp.arange(n_blocks))  # (blocks, batch, block, bins)
  out = jnp.moveaxis(out, 0, 1).reshape(audio.shape[0], n_blocks * block, -1)
  return out[:, :n_frames]


def features(audio: jnp.ndarray, spec: FrontendSpec, frame_block: int | None = None) -> jnp.ndarray:
  """The configured representation of `(batch, samples)` audio: `(batch, frames, spec.n_bins)`.

  Args:
    audio: float waveform(s) at `spec.sample_rate`, shape `(batch, samples)`.
    spec: what to compute.
    frame_block: if set, compute `frame_block` frames at a time in a loop (`lax.map`).
      On a CPU with long audio this keeps the frames in cache and runs ~2x faster
      (128 is a good value); on an accelerator leave it unset.

  Returns:
    float32 features, time-major.
  """
  audio = audio.astype(jnp.float32)
  if spec.denoise == 0:  # (compressed block by block: the log of a block still in cache costs next to nothing)
    per_frames = lambda frames, s: _bands_to_features(_frames_to_bands(frames, s), s)  # noqa: E731
    if frame_block is None:
      return normalize(per_frames(frame_signal(audio, spec), spec), spec.normalize)
    return normalize(_blocked(audio, spec, frame_block, per_frames), spec.normalize)
  if frame_block is None:
    bands = _frames_to_bands(frame_signal(audio, spec), spec)
  else:
    bands = _blocked(audio, spec, frame_block, _frames_to_bands)
  bands = denoise(bands, spec.denoise, spec.denoise_quantile)  # (needs every frame's band power: after the blocks)
  return normalize(_bands_to_features(bands, spec), spec.normalize)
