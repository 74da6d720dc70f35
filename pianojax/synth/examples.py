"""From material to a finished, labelled example: render, mix, add room and noise, set the level."""

from __future__ import annotations

import numpy as np

from pianojax.notes import NoteSequence
from pianojax.synth import effects
from pianojax.synth.materials import Material
from pianojax.synth.render import Renderer


def make_example(
  material: Material, renderer: Renderer, soundfont: str, rng: np.random.Generator, reverb: bool = True
) -> tuple[np.ndarray, NoteSequence]:
  """Renders `material` with `soundfont`.

  The piano and the other instruments are rendered apart so their levels can be set
  (`others_gain_db`); noise is added at the SNR against the piano; a seeded room reverb
  goes over the mix; the peak is set to a random level between -12 and -1 dBFS.

  Returns:
    (int16 mono audio at the renderer's rate, the piano notes as rendered = the labels).
  """
  audio, (piano,) = renderer.render([(material.piano, material.piano_program)], soundfont, material.duration)
  if material.others:
    others, _ = renderer.render(material.others, soundfont, material.duration)
    if effects.rms(audio) > 0:
      audio = effects.add_at_snr(audio, others, -material.others_gain_db)
    else:
      audio = others
  if reverb:
    audio = effects.room_reverb(audio, rng, renderer.sample_rate)
  if material.noise is not None:
    color, snr_db = material.noise
    noise = effects.colored_noise(len(audio), rng, color)
    if effects.rms(audio) == 0:
      noise *= 0.01
    audio = effects.add_at_snr(audio, noise, snr_db)
  audio = effects.normalize_peak(audio, 10 ** (rng.uniform(-12, -1) / 20))
  return effects.to_int16(audio), piano
