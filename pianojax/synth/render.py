"""Rendering note sequences to audio with FluidSynth (pyfluidsynth), deterministic and fast.

A `Renderer` keeps one synthesizer per SoundFont (loading a large .sf3 takes seconds),
resets it between examples and flushes the reverb tail, so the same notes always give
the same samples, whatever was rendered before. FluidSynth applies events at the start of its 64-sample blocks, so we
snap every event to that grid ourselves and return the notes as rendered: labels are
exact, and the block phase is the same for every example (bitwise determinism). Samples
are read as float (no dither), and quantised to int16 only after level normalisation.
"""

from __future__ import annotations

import ctypes

import numpy as np

from pianojax.notes import NoteSequence
from pianojax.synth import sampler, soundfonts

DRUM_CHANNEL = 9
BLOCK = 64  # FluidSynth's internal block size (FLUID_BUFSIZE)


def _write_float(synth, n: int) -> np.ndarray:
  """`n` stereo frames as float32 `(n, 2)`, straight from fluid_synth_write_float (no dither)."""
  import fluidsynth

  lib = fluidsynth._fl
  fn = lib.fluid_synth_write_float
  fn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int] * 1 + [
    ctypes.c_void_p,
    ctypes.c_int,
    ctypes.c_int,
  ]
  buf = np.zeros(2 * n, np.float32)
  if n:
    fn(synth.synth, n, buf.ctypes.data, 0, 2, buf.ctypes.data, 1, 2)
  return buf.reshape(n, 2)


def snap(notes: NoteSequence, sample_rate: int) -> NoteSequence:
  """Event times moved to FluidSynth's 64-sample grid (the times at which it plays them)."""
  step = BLOCK / sample_rate

  def grid(t):
    return np.round(np.asarray(t) / step) * step

  onset = grid(notes.onset)
  offset = np.maximum(grid(notes.offset), onset + step)
  return NoteSequence(notes.pitch, onset, offset, notes.velocity, grid(notes.pedal_time), notes.pedal_value)


class Renderer:
  """Renders parts (note sequences with a GM program) through FluidSynth at one sample rate."""

  def __init__(self, sample_rate: int, gain: float = 0.4):
    self.sample_rate = sample_rate
    self.gain = gain
    self._synths: dict[str, tuple[object, int]] = {}
    self._warmed: set[tuple[str, int]] = set()
    self._samplers: dict[str, sampler.Sampler] = {}

  def _synth(self, soundfont: str):
    if soundfont not in self._synths:
      import fluidsynth

      # FluidSynth's reverb keeps modulated state across system_reset (history-dependent
      # output), so it is off; `synth.effects.room_reverb` adds a seeded room instead.
      synth = fluidsynth.Synth(
        gain=self.gain,
        samplerate=float(self.sample_rate),
        **{"synth.reverb.active": 0, "synth.chorus.active": 1, "synth.polyphony": 1024},
      )
      sfid = synth.sfload(soundfonts.find(soundfont))
      if sfid < 0:
        raise RuntimeError(f"FluidSynth could not load SoundFont {soundfont!r}")
      self._synths[soundfont] = (synth, sfid)
    return self._synths[soundfont]

  def _warm(self, synth, sfid: int, program: int, soundfont: str) -> None:
    """Starts every sample of a program once.

    FluidSynth measures a sample's peak lazily, the first time a voice plays it, and
    the voice that triggers the measurement sounds slightly different from later ones.
    Touching every key at every velocity first makes the output independent of history.
    """
    if (soundfont, program) in self._warmed:
      return
    synth.program_select(0, sfid, 0, int(program))
    for velocity in range(1, 128, 2):
      for key in range(128):
        synth.noteon(0, key, velocity)
      _write_float(synth, BLOCK)
      synth.all_sounds_off(0)
    _write_float(synth, BLOCK)
    self._warmed.add((soundfont, program))

  def render(
    self, parts: list[tuple[NoteSequence, int]], soundfont: str, duration: float
  ) -> tuple[np.ndarray, list[NoteSequence]]:
    """Renders `parts` together.

    Args:
      parts: (notes, GM program) pairs; each part gets its own MIDI channel; sustain
        pedal events of a part go to its channel.
      soundfont: a `soundfonts.KNOWN` name or a path.
      duration: seconds of audio to return (notes beyond are cut).

    Returns:
      `duration` seconds of float32 mono audio, and each part's notes as rendered
      (times snapped to the synthesizer's 64-sample grid).
    """
    bank = soundfonts.sample_bank(soundfont)
    if bank is not None:
      return self._render_with_samples(parts, bank, duration)
    synth, sfid = self._synth(soundfont)
    for _, program in parts:
      self._warm(synth, sfid, program, soundfont)
    for channel in range(16):
      synth.all_sounds_off(channel)  # kill voices at once (a reset alone lets them ring out)
    synth.system_reset()
    _write_float(synth, BLOCK * (self.sample_rate // BLOCK))  # flush voices and reverb tails
    events = []  # (time, order, kind, channel, a, b): note-offs before note-ons at the same instant
    channels = [c for c in range(16) if c != DRUM_CHANNEL]
    if len(parts) > len(channels):
      raise ValueError(f"at most {len(channels)} parts")
    parts = [(snap(notes, self.sample_rate), program) for notes, program in parts]
    for channel, (notes, program) in zip(channels, parts, strict=False):
      synth.program_select(channel, sfid, 0, int(program))
      for p, on, off, v in zip(notes.pitch, notes.onset, notes.offset, notes.velocity, strict=True):
        events.append((on, 2, "on", channel, int(p), int(np.clip(v, 1, 127))))
        events.append((max(off, on + 0.01), 0, "off", channel, int(p), 0))
      for t, v in zip(notes.pedal_time, notes.pedal_value, strict=True):
        events.append((t, 1, "cc", channel, 64, int(v)))
    events.sort(key=lambda e: (e[0], e[1]))
    total = round(duration * self.sample_rate)
    padded_total = -(-total // BLOCK) * BLOCK  # end on a block boundary: same phase next time
    chunks, done = [], 0
    for t, _, kind, channel, a, b in events:
      at = min(round(t * self.sample_rate / BLOCK) * BLOCK, padded_total)
      if at > done:
        chunks.append(_write_float(synth, at - done))
        done = at
      if at >= padded_total:
        break
      if kind == "on":
        synth.noteon(channel, a, b)
      elif kind == "off":
        synth.noteoff(channel, a)
      else:
        synth.cc(channel, a, b)
    if padded_total > done:
      chunks.append(_write_float(synth, padded_total - done))
    stereo = np.concatenate(chunks)[:total]
    return stereo.mean(axis=1), [notes for notes, _ in parts]

  def _render_with_samples(self, parts, bank: str, duration: float) -> tuple[np.ndarray, list[NoteSequence]]:
    """Piano parts (GM programs 0-7) from the sample bank, the others from the fallback GM SoundFont."""
    if bank not in self._samplers:
      self._samplers[bank] = sampler.Sampler(bank, self.sample_rate)
    piano = [(n, p) for n, p in parts if p < 8]
    others = [(n, p) for n, p in parts if p >= 8]
    total = round(duration * self.sample_rate)
    audio = np.zeros(total, np.float32)
    for notes, _ in piano:
      audio += self._samplers[bank].render(notes, duration)
    if others:
      other_audio, _ = self.render(others, soundfonts.SAMPLE_BANK_GM_FALLBACK, duration)
      audio += other_audio
    return audio, [notes for notes, _ in parts]

  def close(self) -> None:
    for synth, _ in self._synths.values():
      synth.delete()
    self._synths.clear()
    self._warmed.clear()
    self._samplers.clear()
