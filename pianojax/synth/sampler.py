"""A sample-playback piano: renders notes from a folder of recorded grand-piano notes.

FluidSynth plays SoundFonts; this plays a multisampled recording of a real instrument the
way a sampler does, for the one piano we hold out as the most realistic test (Salamander
Grand Piano V3, a Yamaha C5, fetched by scripts/fetch_salamander.sh). The folder holds
files named `<note><octave>v<layer>.<ext>` (e.g. `D#4v8.ogg`): a note every few semitones,
several velocity layers. Each played note

- takes the nearest sampled pitch (at most a semitone or two away) and shifts it by
  resampling, from the layer whose velocity is nearest, scaled for the rest;
- sounds from its onset while the key or the sustain pedal holds it (`pedal_offsets`: up
  to the pedal's release, cut when the same key is struck again), then its damper stops
  it with a short exponential release; the top keys (above MIDI 88) have no dampers and
  ring on, as on a real grand.

Samples are decoded once, mixed to mono, trimmed to their attack and resampled to the
output rate; rendering is then pure NumPy and deterministic.
"""

from __future__ import annotations

import os
import re

import numpy as np

from pianojax.errors import UserError
from pianojax.notes import NoteSequence

_NAME = re.compile(r"^([A-G])(#?)(-?\d)v(\d+)\.(ogg|wav|flac)$", re.IGNORECASE)
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
LAYERS_IN_BANK = 16  # Salamander's velocity layers: layer L is recorded near MIDI velocity 8 * L
UNDAMPED_FROM = 89  # keys above this have no dampers on a grand
RELEASE_SECONDS = 0.12  # damper decay time constant
MAX_SECONDS = 12.0  # longer sample tails are faded out


def scan(directory: str) -> dict[tuple[int, int], str]:
  """(MIDI pitch, layer) -> path of every sample file in `directory`."""
  if not os.path.isdir(directory):
    raise UserError(f"sample folder {directory} not found: run scripts/fetch_salamander.sh")
  bank = {}
  for name in os.listdir(directory):
    m = _NAME.match(name)
    if m:
      letter, sharp, octave, layer, _ = m.groups()
      pitch = 12 * (int(octave) + 1) + _PITCH_CLASS[letter.upper()] + (1 if sharp else 0)
      bank[(pitch, int(layer))] = os.path.join(directory, name)
  if not bank:
    raise UserError(f"no samples named like C4v8.ogg in {directory}: run scripts/fetch_salamander.sh")
  return bank


def layer_velocity(layer: int) -> float:
  return min(127.0, 8.0 * layer)


class Sampler:
  """Renders note sequences with the samples in `directory` at `sample_rate`."""

  def __init__(self, directory: str, sample_rate: int):
    self.directory = directory
    self.sample_rate = sample_rate
    self.bank = scan(directory)
    self.pitches = np.array(sorted({p for p, _ in self.bank}))
    self.layers = np.array(sorted({layer for _, layer in self.bank}))
    self._decoded: dict[tuple[int, int], np.ndarray] = {}  # at most the bank: 240 notes, ~200 MB at 16 kHz

  def _sample(self, pitch: int, layer: int) -> np.ndarray:
    """One recorded note as mono float32 at the output rate, from its attack, faded after MAX_SECONDS."""
    if (pitch, layer) not in self._decoded:
      self._decoded[(pitch, layer)] = self._decode(self.bank[(pitch, layer)])
    return self._decoded[(pitch, layer)]

  def _decode(self, path: str) -> np.ndarray:
    import scipy.signal
    import soundfile

    audio, rate = soundfile.read(path, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    level = np.abs(audio)
    start = max(0, int(np.argmax(level > 0.01 * level.max())) - rate // 1000)  # 1 ms before the attack
    audio = audio[start : start + int((MAX_SECONDS + 0.5) * rate)]
    g = np.gcd(rate, self.sample_rate)
    audio = scipy.signal.resample_poly(audio, self.sample_rate // g, rate // g).astype(np.float32)
    fade = min(len(audio), self.sample_rate // 2)
    audio[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return audio

  def _voice(self, pitch: int, velocity: int) -> np.ndarray:
    """The note `pitch` at `velocity`: nearest sample, pitch-shifted by resampling, nearest layer, scaled."""
    source = int(self.pitches[np.argmin(np.abs(self.pitches - pitch))])
    layer = int(self.layers[np.argmin(np.abs(np.array([layer_velocity(x) for x in self.layers]) - velocity))])
    sample = self._sample(source, layer)
    ratio = 2.0 ** ((pitch - source) / 12.0)
    if ratio != 1.0:
      positions = np.arange(0.0, len(sample) - 1, ratio)
      sample = np.interp(positions, np.arange(len(sample)), sample).astype(np.float32)
    return sample * np.float32(velocity / layer_velocity(layer))

  def render(self, notes: NoteSequence, duration: float) -> np.ndarray:
    """`duration` seconds of mono float32 audio of `notes` (labels are the notes as given)."""
    total = round(duration * self.sample_rate)
    out = np.zeros(total, np.float32)
    sounding_until = notes.pedal_offsets()
    for p, on, end, v in zip(notes.pitch, notes.onset, sounding_until, notes.velocity, strict=True):
      start = round(on * self.sample_rate)
      if start >= total:
        continue
      voice = self._voice(int(p), int(np.clip(v, 1, 127)))
      hold = max(1, round((end - on) * self.sample_rate))
      if p < UNDAMPED_FROM and hold < len(voice):
        tail = np.exp(-np.arange(len(voice) - hold) / (RELEASE_SECONDS * self.sample_rate)).astype(np.float32)
        voice = np.concatenate([voice[:hold], voice[hold:] * tail])
        voice = voice[: hold + int(6 * RELEASE_SECONDS * self.sample_rate)]
      n = min(len(voice), total - start)
      out[start : start + n] += voice[:n]
    return out
