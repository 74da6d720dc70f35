"""From material to a finished, labelled example: render, mix, add room and noise, set the level."""

from __future__ import annotations

import copy

import numpy as np

from pianojax.synth import effects
from pianojax.synth.materials import Material
from pianojax.synth.render import Renderer


def make_example(
  material: Material,
  renderer: Renderer,
  soundfont: str,
  rng: np.random.Generator,
  reverb: bool = True,
  *,
  stem: bool = False,
):
  """Renders `material` with `soundfont`.

  The piano and the other instruments are rendered apart so their levels can be set
  (`others_gain_db`); noise is added at the SNR against the piano; a seeded room reverb
  goes over the mix; the peak is set to a random level between -12 and -1 dBFS.

  Returns:
    (int16 mono audio at the renderer's rate, the piano notes as rendered = the labels); with `stem`, also the
    piano alone as it sounds in that audio (int16: the same room and level, no other instruments, no noise), the
    clean target of a separator, and the mix without its noise (the piano and the other instruments, same room and
    level; the mix itself where the material has no noise). The mix is the same with or without `stem`.
  """
  audio, (piano,) = renderer.render([(material.piano, material.piano_program)], soundfont, material.duration)
  alone = audio
  if material.others:
    others, _ = renderer.render(material.others, soundfont, material.duration)
    if effects.rms(audio) > 0:
      audio = effects.add_at_snr(audio, others, -material.others_gain_db)
    else:
      audio = others
  if reverb:
    twin = copy.deepcopy(rng)  # the same room for the piano alone, without moving the mix's random stream
    audio = effects.room_reverb(audio, rng, renderer.sample_rate)
    alone = effects.room_reverb(alone, twin, renderer.sample_rate) if stem else alone
  noiseless = audio
  if material.noise is not None:
    color, snr_db = material.noise
    noise = effects.colored_noise(len(audio), rng, color)
    if effects.rms(audio) == 0:
      noise *= 0.01
    audio = effects.add_at_snr(audio, noise, snr_db)
  peak = float(np.max(np.abs(audio))) if audio.size else 0.0
  target = 10 ** (rng.uniform(-12, -1) / 20)
  gain = target / peak if peak > 0 else 1.0
  mixed = effects.to_int16(audio * gain)
  if not stem:
    return mixed, piano
  return mixed, piano, effects.to_int16(alone * gain), effects.to_int16(noiseless * gain)


def showcase(sample_rate: int, soundfonts: tuple[str, ...], seed: int = 0) -> dict[str, np.ndarray]:
  """A single note (C4), chords, and piano mixed with other instruments and noise (float audio), rendered
  with the first of `soundfonts` that is installed."""
  from pianojax.errors import UserError
  from pianojax.synth import materials
  from pianojax.synth import soundfonts as fonts

  font = next((f for f in soundfonts if f in fonts.available()), None)
  if font is None:
    raise UserError(f"none of the SoundFonts {', '.join(soundfonts)} is installed: run scripts/setup.sh")
  rng = np.random.default_rng(seed)
  grid = materials.single_note_grid()
  items = {
    "single note (C4)": materials.single_note(rng, grid.index((60, 90, 1.0))),
    "chords": materials.chords(rng, 4.0),
    "piano + instruments + noise": materials.mixture(rng, 4.0),
  }
  renderer = Renderer(sample_rate)
  try:
    return {
      f"{name} [{font}]": make_example(material, renderer, font, rng)[0].astype(np.float32) / 32768.0
      for name, material in items.items()
    }
  finally:
    renderer.close()


def reference_tones(sample_rate: int, seconds: float = 2.0) -> dict[str, np.ndarray]:
  """Generated signals, no SoundFont needed: a harmonic tone (A4), a C major triad, and the triad in noise."""
  t = np.arange(int(seconds * sample_rate)) / sample_rate
  envelope = np.exp(-2.5 * t) * np.minimum(1.0, t / 0.005)

  def tone(f0):
    harmonics = [(k, 0.6**k) for k in range(1, 12) if k * f0 < sample_rate / 2]
    return envelope * sum(a * np.sin(2 * np.pi * k * f0 * t) for k, a in harmonics)

  note = 0.3 * tone(440.0)
  chord = 0.15 * (tone(261.63) + tone(329.63) + tone(392.0))
  noise = np.random.default_rng(0).standard_normal(t.size) * 0.03
  return {
    k: v.astype(np.float32) for k, v in {"tone A4": note, "triad C-E-G": chord, "triad + noise": chord + noise}.items()
  }
