"""Augmentation: host-side waveform + label transforms (NumPy), and on-device spectrogram masking (jax).

Host side, each function maps (audio, notes) to (audio, notes) so labels always follow
the audio: a pitch shift moves the notes, a stretch rescales their times.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pianojax.notes import NoteSequence
from pianojax.synth import effects


def resample_factor(audio: np.ndarray, factor: float) -> np.ndarray:
  """Plays `audio` `factor` times faster (pitch up by `factor`, duration / `factor`)."""
  if factor == 1.0:
    return audio
  import soxr

  return soxr.resample(audio, in_rate=1000.0 * factor, out_rate=1000.0, quality="HQ").astype(np.float32)


def speed_for(semitones: float = 0.0, cents: float = 0.0) -> float:
  return float(2.0 ** ((semitones + cents / 100.0) / 12.0))


def time_stretch(audio: np.ndarray, rate: float) -> np.ndarray:
  """Phase-vocoder time stretch (pitch kept): duration / `rate`."""
  if rate == 1.0:
    return audio
  import librosa

  return librosa.effects.time_stretch(audio, rate=rate).astype(np.float32)


def gain(audio: np.ndarray, db: float) -> np.ndarray:
  return (audio * 10 ** (db / 20)).astype(np.float32)


def noise(audio: np.ndarray, rng: np.random.Generator, snr_db: float) -> np.ndarray:
  color = "pink" if rng.random() < 0.5 else "white"
  return effects.add_at_snr(audio, effects.colored_noise(len(audio), rng, color), snr_db)


def mix(
  audio: np.ndarray, notes: NoteSequence, other_audio: np.ndarray, other_notes: NoteSequence, other_gain_db: float
) -> tuple[np.ndarray, NoteSequence]:
  """Adds another example of the same length (mixup for transcription: both sets of notes are labels)."""
  if len(other_audio) != len(audio):
    raise ValueError("mix needs two examples of the same length")
  return (audio + gain(other_audio, other_gain_db)).astype(np.float32), NoteSequence.concatenate([notes, other_notes])


def spec_mask(
  features: jnp.ndarray, rng: jax.Array, *, time_masks: int, time_width: int, freq_masks: int, freq_width: int
) -> jnp.ndarray:
  """SpecAugment-style masking of `(batch, frames, bins)` features, on device, per example.

  Masked regions are set to the example's mean value, so log features are not pushed to an
  extreme.
  """
  batch, frames, bins = features.shape
  fill = jnp.mean(features, axis=(1, 2), keepdims=True)

  def masks(key, count, width, size):
    k1, k2 = jax.random.split(key)
    widths = jax.random.randint(k1, (batch, count), 0, width + 1)
    starts = jax.random.randint(k2, (batch, count), 0, jnp.maximum(size - widths, 1))
    pos = jnp.arange(size)
    hit = (pos[None, None] >= starts[..., None]) & (pos[None, None] < (starts + widths)[..., None])
    return jnp.any(hit, axis=1)  # (batch, size)

  kt, kf = jax.random.split(rng)
  masked = jnp.zeros((batch, frames, bins), bool)
  if time_masks:
    masked |= masks(kt, time_masks, time_width, frames)[:, :, None]
  if freq_masks:
    masked |= masks(kf, freq_masks, freq_width, bins)[:, None, :]
  return jnp.where(masked, fill, features)
