"""Deterministic signal effects for synthetic data: room reverb, noise at an SNR, level."""

from __future__ import annotations

import numpy as np


def room_reverb(audio: np.ndarray, rng: np.random.Generator, sample_rate: int, rt60=(0.2, 1.2), wet=(0.05, 0.4)):
  """Convolves with a synthetic room (exponentially decaying noise, random RT60 and wet level)."""
  import scipy.signal

  t60 = rng.uniform(*rt60)
  length = int(t60 * sample_rate)
  t = np.arange(length) / sample_rate
  ir = rng.standard_normal(length) * np.exp(-6.9 * t / t60)  # -60 dB at t60
  ir[: int(0.005 * sample_rate)] = 0.0  # pre-delay: direct sound first
  ir /= np.sqrt(np.sum(ir**2)) + 1e-12
  mix = rng.uniform(*wet)
  tail = scipy.signal.fftconvolve(audio, ir)[: len(audio)]
  return ((1 - mix) * audio + mix * tail).astype(np.float32)


def colored_noise(n: int, rng: np.random.Generator, color: str = "white") -> np.ndarray:
  """Unit-RMS white or pink (1/f power) noise."""
  white = rng.standard_normal(n)
  if color == "pink":
    spectrum = np.fft.rfft(white)
    f = np.arange(len(spectrum), dtype=np.float64)
    f[0] = 1.0
    white = np.fft.irfft(spectrum / np.sqrt(f), n)
  elif color != "white":
    raise ValueError(f"unknown noise color {color!r}")
  return (white / (np.sqrt(np.mean(white**2)) + 1e-12)).astype(np.float32)


def rms(x: np.ndarray) -> float:
  return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def add_at_snr(signal: np.ndarray, other: np.ndarray, snr_db: float) -> np.ndarray:
  """`signal + other` scaled so that signal / other power is `snr_db` (other as is if signal is silent)."""
  s, o = rms(signal), rms(other)
  if o == 0.0:
    return signal
  scale = (s / o) * 10 ** (-snr_db / 20) if s > 0 else 1.0
  return (signal + scale * other).astype(np.float32)


def normalize_peak(audio: np.ndarray, peak: float) -> np.ndarray:
  """Scales to the given peak (silence stays silence)."""
  m = float(np.max(np.abs(audio))) if audio.size else 0.0
  return (audio * (peak / m)).astype(np.float32) if m > 0 else audio.astype(np.float32)


def to_int16(audio: np.ndarray) -> np.ndarray:
  return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
