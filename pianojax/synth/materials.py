"""Musical material for synthetic examples, as note lists (NumPy, seeded, no audio).

Each generator takes a `np.random.Generator` and returns a `Material`: the piano notes
(the labels), parts for other instruments (never labelled), and the clip duration.
The five kinds follow the research notes: single notes, chords, other instruments
alone, piano mixed with other instruments and noise, and performances.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pianojax.notes import MAX_PITCH, MIN_PITCH, NoteSequence

# General MIDI programs for the "other instruments" (0-based): guitars, basses, strings,
# ensembles, brass, reeds, pipes, organs, a few synth leads and pads.
OTHER_PROGRAMS = {
  "guitar": (24, 25, 26, 27, 29),
  "bass": (32, 33, 34, 35, 38),
  "strings": (40, 41, 42, 48, 49),
  "brass": (56, 57, 60, 61),
  "reed": (64, 65, 68, 71),
  "pipe": (73, 74),
  "organ": (16, 17, 19),
  "synth": (80, 81, 88),
}
INSTRUMENT_RANGES = {  # playable MIDI pitch range per family
  "guitar": (40, 84),
  "bass": (28, 55),
  "strings": (36, 96),
  "brass": (40, 82),
  "reed": (46, 89),
  "pipe": (60, 96),
  "organ": (36, 96),
  "synth": (36, 96),
}
PIANO_PROGRAMS = (0, 1)  # acoustic grand, bright acoustic

CHORD_SHAPES = {
  "major": (0, 4, 7),
  "minor": (0, 3, 7),
  "diminished": (0, 3, 6),
  "augmented": (0, 4, 8),
  "major7": (0, 4, 7, 11),
  "dominant7": (0, 4, 7, 10),
  "minor7": (0, 3, 7, 10),
  "half_diminished7": (0, 3, 6, 10),
  "sus4": (0, 5, 7),
}
SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10), "chromatic": tuple(range(12))}


@dataclasses.dataclass
class Material:
  """What to render for one example."""

  piano: NoteSequence
  others: list[tuple[NoteSequence, int]]  # (notes, GM program), not labelled
  duration: float
  piano_program: int = 0
  noise: tuple[str, float] | None = None  # (color, SNR dB against the piano)
  others_gain_db: float = 0.0  # level of the other instruments against the piano
  kind: str = ""


def _velocity(rng, n=None, low=20, high=120):
  return rng.integers(low, high + 1, size=n)


def single_note_grid(velocities=(30, 60, 90, 120), durations=(0.3, 1.0, 2.0)) -> list[tuple[int, int, float]]:
  """Every (pitch, velocity, duration) of the 88 keys: the "notes" material enumerates this."""
  return [(p, v, d) for p in range(MIN_PITCH, MAX_PITCH + 1) for v in velocities for d in durations]


def single_note(rng, index: int, release: float = 1.0) -> Material:
  """Note `index` of `single_note_grid()` (wrapping), starting 0.1-0.3 s into the clip."""
  grid = single_note_grid()
  pitch, velocity, duration = grid[index % len(grid)]
  onset = float(rng.uniform(0.1, 0.3))
  notes = NoteSequence([pitch], [onset], [onset + duration], [velocity])
  return Material(notes, [], onset + duration + release, int(rng.choice(PIANO_PROGRAMS)), kind="notes")


def random_chord(rng) -> np.ndarray:
  """Pitches of a chord: a shape in a random inversion/spread, a cluster, or a random voicing."""
  style = rng.choice(["shape", "shape", "cluster", "random"])
  if style == "shape":
    name = rng.choice(sorted(CHORD_SHAPES))
    root = rng.integers(MIN_PITCH + 3, MAX_PITCH - 24)
    pitches = [root + i for i in CHORD_SHAPES[name]]
    pitches = [p + 12 * rng.integers(0, 2) for p in pitches]  # open voicings
    if rng.random() < 0.5:
      pitches.append(pitches[0] + 12)
  elif style == "cluster":
    start = rng.integers(MIN_PITCH, MAX_PITCH - 6)
    pitches = list(range(start, start + rng.integers(3, 6)))
  else:
    low = rng.integers(MIN_PITCH, MAX_PITCH - 24)
    pitches = list(rng.choice(np.arange(low, min(low + 36, MAX_PITCH + 1)), size=rng.integers(3, 7), replace=False))
  return np.unique(np.clip(pitches, MIN_PITCH, MAX_PITCH))


def chords(rng, duration: float) -> Material:
  """A progression of block or arpeggiated chords across the keyboard."""
  pitch, onset, offset, velocity = [], [], [], []
  t = float(rng.uniform(0.05, 0.3))
  while t < duration - 0.5:
    chord = random_chord(rng)
    length = float(rng.uniform(0.3, 1.5))
    spread = float(rng.uniform(0.03, 0.15)) if rng.random() < 0.4 else 0.0  # arpeggiated
    order = chord if rng.random() < 0.7 else chord[::-1]
    base_velocity = int(_velocity(rng, low=30, high=110))
    for i, p in enumerate(order):
      start = t + i * spread
      pitch.append(p)
      onset.append(start)
      offset.append(min(t + length, duration))
      velocity.append(int(np.clip(base_velocity + rng.integers(-10, 11), 1, 127)))
    t += length + float(rng.uniform(0.0, 0.4))
  notes = NoteSequence(pitch, onset, np.maximum(offset, np.asarray(onset) + 0.05), velocity)
  return Material(notes, [], duration, int(rng.choice(PIANO_PROGRAMS)), kind="chords")


def melody_line(rng, duration: float, low: int, high: int, density=(1.0, 4.0)) -> NoteSequence:
  """A random scale-wise line in [low, high] (notes per second drawn from `density`)."""
  scale = SCALES[rng.choice(["major", "minor"])]
  tonic = int(rng.integers(0, 12))
  allowed = np.array([p for p in range(low, high + 1) if (p - tonic) % 12 in scale])
  rate = rng.uniform(*density)
  pitch, onset, offset, velocity = [], [], [], []
  t = float(rng.uniform(0.05, 0.3))
  idx = int(rng.integers(0, len(allowed)))
  while t < duration - 0.2:
    step = 1.0 / rate * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
    idx = int(np.clip(idx + rng.integers(-3, 4), 0, len(allowed) - 1))
    pitch.append(allowed[idx])
    onset.append(t)
    offset.append(min(t + step * rng.uniform(0.5, 1.0), duration))
    velocity.append(int(_velocity(rng, low=40, high=110)))
    t += step
  return NoteSequence(pitch, onset, offset, velocity)


def other_instruments(rng, duration: float, max_parts: int = 2) -> list[tuple[NoteSequence, int]]:
  """One or more non-piano parts (a few notes each) from random GM families."""
  parts = []
  for _ in range(int(rng.integers(1, max_parts + 1))):
    family = str(rng.choice(sorted(OTHER_PROGRAMS)))
    program = int(rng.choice(OTHER_PROGRAMS[family]))
    low, high = INSTRUMENT_RANGES[family]
    parts.append((melody_line(rng, duration, low, high, density=(0.7, 3.0)), program))
  return parts


def instruments_alone(rng, duration: float) -> Material:
  """A few notes of other instruments, no piano: the labels are empty."""
  return Material(NoteSequence.empty(), other_instruments(rng, duration), duration, kind="others")


def piano_sequence(rng, duration: float) -> NoteSequence:
  """Random musical piano material: scales, arpeggios, or a melody over chords, with pedal."""
  style = rng.choice(["scale", "arpeggio", "melody_chords"])
  if style == "scale":
    seq = melody_line(rng, duration, int(rng.integers(36, 60)), int(rng.integers(72, 100)), density=(3.0, 10.0))
  elif style == "arpeggio":
    pitch, onset, offset, velocity = [], [], [], []
    t, step = 0.1, float(rng.uniform(0.06, 0.25))
    while t < duration - 0.3:
      chord = random_chord(rng)
      pattern = np.concatenate([chord, chord + 12])
      pattern = pattern[pattern <= MAX_PITCH]
      for p in pattern:
        if t >= duration - 0.1:
          break
        pitch.append(p)
        onset.append(t)
        offset.append(min(t + step * rng.uniform(1.0, 3.0), duration))
        velocity.append(int(_velocity(rng, low=35, high=105)))
        t += step
    seq = NoteSequence(pitch, onset, offset, velocity)
  else:
    melody = melody_line(rng, duration, 60, 96, density=(1.5, 5.0))
    accomp = chords(rng, duration).piano.shifted(semitones=-int(rng.integers(0, 13)))
    seq = NoteSequence.concatenate([melody, accomp])
  if rng.random() < 0.6:  # sustain pedal, changed every 1-3 s
    times, values, t = [], [], float(rng.uniform(0.0, 0.5))
    while t < duration:
      times += [t, t + float(rng.uniform(0.8, 3.0))]
      values += [127, 0]
      t = times[-1] + float(rng.uniform(0.05, 0.2))
    seq = NoteSequence(seq.pitch, seq.onset, seq.offset, seq.velocity, times, values)
  return seq


def sequences(rng, duration: float) -> Material:
  return Material(piano_sequence(rng, duration), [], duration, int(rng.choice(PIANO_PROGRAMS)), kind="sequences")


def mixture(rng, duration: float, snr_db=(0.0, 30.0), others_db=(-12.0, 3.0)) -> Material:
  """Piano with other instruments and noise; only the piano is labelled."""
  piano = piano_sequence(rng, duration) if rng.random() < 0.7 else chords(rng, duration).piano
  noise = (str(rng.choice(["white", "pink"])), float(rng.uniform(*snr_db))) if rng.random() < 0.8 else None
  return Material(
    piano,
    other_instruments(rng, duration),
    duration,
    int(rng.choice(PIANO_PROGRAMS)),
    noise=noise,
    others_gain_db=float(rng.uniform(*others_db)),
    kind="mixtures",
  )


# What the held-out mixtures put beside a recorded grand: bass, strings or guitar (`ensemble`).
ENSEMBLE_FAMILIES = ("bass", "strings", "guitar")
_COUPLED = {  # family: (seconds between the part's notes, min-max; the register its chord tones are voiced in)
  "bass": ((0.3, 0.8), INSTRUMENT_RANGES["bass"]),
  "strings": ((0.8, 2.0), (55, 79)),
  "guitar": ((0.25, 0.6), (48, 72)),
}


def family_of(program: int) -> str:
  """The `OTHER_PROGRAMS` family of a GM program ("" for one outside them)."""
  return next((family for family, programs in OTHER_PROGRAMS.items() if program in programs), "")


def describe(material: Material) -> dict:
  """What a material's clip holds besides its piano notes, as JSON-able data (render writes it beside a folder)."""
  return {
    "kind": material.kind,
    "others": [[family_of(program), program, len(part)] for part, program in material.others],
    "others_gain_db": round(material.others_gain_db, 2) if material.others else None,
    "noise": [material.noise[0], round(material.noise[1], 2)] if material.noise else None,
  }


def _into_range(pitch: int, low: int, high: int) -> int | None:
  """`pitch` moved by whole octaves into [low, high] (None where no octave of it falls there)."""
  while pitch > high:
    pitch -= 12
  while pitch < low:
    pitch += 12
  return pitch if pitch <= high else None


def coupled_part(rng, piano: NoteSequence, duration: float, family: str) -> NoteSequence:
  """A part for `family` (one of `ENSEMBLE_FAMILIES`) that plays with the piano, as an ensemble does: at some of
  the piano's onset clusters (a random 0.3-0.8 s apart for the bass, 0.8-2 s for strings, 0.25-0.6 s for guitar) it
  takes what the piano sounds then and plays it in its own register: the bass the lowest note, strings two or three
  of its pitch classes held to the next change, the guitar up to four strummed. So its notes share the piano's
  pitch classes (often its very keys, an octave away) and start within ~10 ms of the piano's; `other_instruments`'
  lines share neither."""
  spacing, (low, high) = _COUPLED[family]
  struck = np.sort(piano.onset[(piano.onset >= 0) & (piano.onset < duration - 0.1)])
  clusters = struck[np.concatenate([[True], np.diff(struck) > 0.05])] if struck.size else struck
  times, ready = [], -np.inf
  for t in clusters:
    if t >= ready:
      times.append(float(t))
      ready = t + float(rng.uniform(*spacing))
  ends = piano.pedal_offsets() if len(piano) else piano.offset
  pitch, onset, offset, velocity = [], [], [], []
  for i, t in enumerate(times):
    following = times[i + 1] if i + 1 < len(times) else duration
    held = piano.pitch[(piano.onset <= t + 0.05) & (ends > t)]
    if held.size == 0:
      continue
    if family == "bass":
      chosen = [_into_range(int(held.min()), low, high)]
    else:
      classes = rng.permutation(np.unique(held % 12))[: int(rng.integers(2, 4 if family == "strings" else 5))]
      chosen = sorted(_into_range(60 + int(c), low, high) for c in classes)
    start = max(t + float(rng.normal(0.0, 0.01)), 0.0)
    strum = float(rng.uniform(0.01, 0.03)) if family == "guitar" else 0.0
    length = float(rng.uniform(0.3, 1.0)) if family == "guitar" else 2.0
    level = int(_velocity(rng, low=50, high=100))
    for j, p in enumerate(chosen):
      pitch.append(p)
      onset.append(start + j * strum)
      offset.append(min(max(following - 0.03, start + j * strum + 0.1), start + length, duration))
      velocity.append(level)
  return NoteSequence(pitch, onset, offset, velocity)


def ensemble(rng, piano: NoteSequence, duration: float, snr_db=(0.0, 30.0), others_db=(-3.0, 3.0)) -> Material:
  """`piano` (e.g. a window of a real performance) with one or two `coupled_part`s from `ENSEMBLE_FAMILIES` at
  about its level (`others_db` around 0: as loud as the piano) and, four times in five, white or pink noise:
  the accompanied condition the issue's held-out mixtures describe, where `mixture`'s parts play apart from the
  piano and mostly quieter."""
  families = rng.choice(ENSEMBLE_FAMILIES, size=int(rng.integers(1, 3)), replace=False)
  parts = [(coupled_part(rng, piano, duration, str(f)), int(rng.choice(OTHER_PROGRAMS[str(f)]))) for f in families]
  noise = (str(rng.choice(["white", "pink"])), float(rng.uniform(*snr_db))) if rng.random() < 0.8 else None
  return Material(
    piano,
    [(part, program) for part, program in parts if len(part)],
    duration,
    int(rng.choice(PIANO_PROGRAMS)),
    noise=noise,
    others_gain_db=float(rng.uniform(*others_db)),
    kind="ensembles",
  )


def performance_excerpt(rng, performance: NoteSequence, duration: float, name: str) -> Material:
  """A random `duration`-second window of a real performance (labels clipped to the window)."""
  end = max(performance.end_time - duration, 0.0)
  start = float(rng.uniform(0.0, end)) if end > 0 else 0.0
  notes = performance.clip(start, start + duration, clamp=True)
  notes = notes.select(notes.onset < duration - 1e-3)
  return Material(notes, [], duration, int(rng.choice(PIANO_PROGRAMS)), kind=f"performance:{name}@{start:.2f}")
