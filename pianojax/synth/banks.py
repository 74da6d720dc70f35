"""Sample banks: an instrument's notes, recorded once, stored compactly, played back anywhere (NumPy here, JAX in
synth/playback.py).

A bank holds one instrument as int16 samples at the model's rate: a note every few semitones at a few velocities,
each from its attack for a few seconds, the key held down all along (the release is the player's business: a damper
that stops the note when its key and the pedal let it go). Banks come from the SoundFonts we install (FluidSynth
renders each note once) or from a folder of recorded notes (the Salamander layout synth/sampler.py reads). They are
small enough to travel with the code to an accelerator (`scripts/setup.sh` does not need to run there): the default
recipe's banks are listed by `default_banks`, and `build` writes them as compressed .npz files.

`render` is the NumPy reference player: nearest sampled pitch shifted by resampling (linear interpolation), nearest
velocity layer scaled by (velocity / layer velocity) ** curve, a damper with an exponential release once a note stops
sounding (its pedal-extended offset), none above `UNDAMPED_FROM`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os

import numpy as np

from pianojax.errors import UserError
from pianojax.notes import MAX_PITCH, MIN_PITCH, NoteSequence
from pianojax.synth.materials import INSTRUMENT_RANGES

UNDAMPED_FROM = 89  # keys above this have no dampers on a grand (as synth/sampler.py)
FADE_SECONDS = 0.25  # the end of every stored note fades to silence: no click where a sample runs out
FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class BankSpec:
  """What to record of one instrument."""

  source: str  # a SoundFont name (synth/soundfonts.py) or a folder of recorded notes
  program: int = 0  # General MIDI program (SoundFonts)
  pitch_step: int = 3  # a sampled note every this many semitones
  low: int = MIN_PITCH
  high: int = MAX_PITCH
  velocities: tuple[int, ...] = (40, 80, 115)
  seconds: float = 4.0  # stored length of each note from its attack
  treble_seconds: float = 2.0  # ... tapering linearly to this at the top key (treble notes die sooner)

  @property
  def name(self) -> str:
    source = os.path.basename(os.path.normpath(self.source))
    return f"{source}-{self.program}"

  def pitches(self) -> np.ndarray:
    grid = np.arange(self.low, self.high + 1, self.pitch_step)
    if grid[-1] != self.high:
      grid = np.append(grid, self.high)
    return grid

  def length(self, pitch: int, sample_rate: int) -> int:
    frac = (pitch - self.low) / max(self.high - self.low, 1)
    return round((self.seconds + frac * (self.treble_seconds - self.seconds)) * sample_rate)

  def digest(self, sample_rate: int) -> str:
    settings = {**dataclasses.asdict(self), "sample_rate": sample_rate, "format": FORMAT_VERSION}
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]


@dataclasses.dataclass
class Bank:
  """One instrument's stored notes.

  Attributes:
    samples: int16 `(pitches, layers, length)`: note `i` at velocity layer `j` from its attack, zero-padded.
    pitches: MIDI pitch of each row, ascending.
    velocities: MIDI velocity each layer was recorded at, ascending.
    sample_rate: Hz.
    name: e.g. "fluidr3-0".
  """

  samples: np.ndarray
  pitches: np.ndarray
  velocities: np.ndarray
  sample_rate: int
  name: str

  @property
  def nbytes(self) -> int:
    return int(self.samples.nbytes)

  def float_samples(self) -> np.ndarray:
    return self.samples.astype(np.float32) / 32768.0

  def save(self, path: str, digest: str = "") -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp.npz"
    np.savez_compressed(
      tmp,
      samples=self.samples,
      pitches=self.pitches,
      velocities=self.velocities,
      sample_rate=self.sample_rate,
      name=self.name,
      digest=digest,
    )
    os.replace(tmp, path)  # never a half-written bank under the real name

  @classmethod
  def load(cls, path: str) -> Bank:
    try:
      with np.load(path) as z:
        return cls(z["samples"], z["pitches"], z["velocities"], int(z["sample_rate"]), str(z["name"]))
    except (OSError, KeyError, ValueError) as e:
      raise UserError(f"sample bank {path} is unreadable ({e}): rebuild it with --mode=build_data") from None


def _finish(note: np.ndarray, length: int, sample_rate: int) -> np.ndarray:
  """`note` cut or zero-padded to `length` samples, its end faded out."""
  out = np.zeros(length, np.float32)
  n = min(len(note), length)
  out[:n] = note[:n]
  fade = min(n, int(FADE_SECONDS * sample_rate))
  out[n - fade : n] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
  return out


def record_soundfont(spec: BankSpec, sample_rate: int) -> Bank:
  """Renders every note of `spec` with FluidSynth (key held for the whole stored length)."""
  from pianojax.synth.render import Renderer

  pitches = spec.pitches()
  longest = max(spec.length(int(p), sample_rate) for p in pitches)
  samples = np.zeros((len(pitches), len(spec.velocities), longest), np.float32)
  renderer = Renderer(sample_rate)
  try:
    for i, p in enumerate(pitches):
      length = spec.length(int(p), sample_rate)
      for j, v in enumerate(spec.velocities):
        seconds = length / sample_rate
        audio, _ = renderer.render(
          [(NoteSequence([p], [0.0], [seconds + 1.0], [v]), spec.program)], spec.source, seconds
        )
        samples[i, j, :length] = _finish(audio, length, sample_rate)
  finally:
    renderer.close()
  return _quantize(samples, pitches, spec, sample_rate)


def record_folder(spec: BankSpec, sample_rate: int) -> Bank:
  """The notes of a folder of recordings (synth/sampler.py's layout), the layers nearest `spec.velocities`."""
  from pianojax.synth import sampler

  player = sampler.Sampler(spec.source, sample_rate)
  have = np.array([sampler.layer_velocity(x) for x in player.layers])
  layers = [int(player.layers[np.argmin(np.abs(have - v))]) for v in spec.velocities]
  pitches = player.pitches[(player.pitches >= spec.low) & (player.pitches <= spec.high)]
  longest = max(spec.length(int(p), sample_rate) for p in pitches)
  samples = np.zeros((len(pitches), len(layers), longest), np.float32)
  for i, p in enumerate(pitches):
    for j, layer in enumerate(layers):
      length = spec.length(int(p), sample_rate)
      samples[i, j, :length] = _finish(player._sample(int(p), layer), length, sample_rate)
  spec = dataclasses.replace(spec, velocities=tuple(int(sampler.layer_velocity(x)) for x in layers))
  return _quantize(samples, pitches, spec, sample_rate)


def _quantize(samples: np.ndarray, pitches: np.ndarray, spec: BankSpec, sample_rate: int) -> Bank:
  """int16 with one scale for the whole bank (the layers keep their relative levels); peak at -1 dBFS."""
  peak = float(np.abs(samples).max())
  if peak == 0.0:
    raise UserError(f"{spec.source} (program {spec.program}) rendered silence: not a usable instrument")
  scaled = np.round(samples * (0.89 * 32767 / peak)).astype(np.int16)
  return Bank(scaled, np.asarray(pitches, np.int32), np.asarray(spec.velocities, np.int32), sample_rate, spec.name)


def record(spec: BankSpec, sample_rate: int) -> Bank:
  from pianojax.synth import soundfonts

  return (
    record_folder(spec, sample_rate) if soundfonts.sample_bank(spec.source) else record_soundfont(spec, sample_rate)
  )


def path_for(directory: str, spec: BankSpec, sample_rate: int) -> str:
  return os.path.join(directory, f"{spec.name}-{spec.digest(sample_rate)}.npz")


def build(directory: str, specs: list[BankSpec], sample_rate: int, log=print) -> list[str]:
  """Records every bank of `specs` not already in `directory`; returns their paths (in `specs` order)."""
  paths = []
  for spec in specs:
    path = path_for(directory, spec, sample_rate)
    if not os.path.isfile(path):
      bank = record(spec, sample_rate)
      bank.save(path, spec.digest(sample_rate))
      log(
        f"bank {spec.name}: {bank.samples.shape[0]} notes x {bank.samples.shape[1]} layers, "
        f"{os.path.getsize(path) / 2**20:.1f} MiB -> {path}"
      )
    paths.append(path)
  return paths


def load_all(directory: str, specs: list[BankSpec], sample_rate: int) -> list[Bank]:
  """The banks of `specs` from `directory` (built by `build`); a missing one is a one-line error."""
  out = []
  for spec in specs:
    path = path_for(directory, spec, sample_rate)
    if not os.path.isfile(path):
      raise UserError(f"sample bank {spec.name} is not built in {directory}: run --mode=build_data with this config")
    out.append(Bank.load(path))
  return out


def piano_specs(device_cfg) -> list[BankSpec]:
  """The piano banks a `data.device` config section names."""
  return [
    BankSpec(
      source,
      program=0,
      pitch_step=device_cfg.pitch_step,
      velocities=tuple(device_cfg.velocities),
      seconds=device_cfg.piano_seconds,
      treble_seconds=device_cfg.treble_seconds,
    )
    for source in device_cfg.pianos
  ]


def other_specs(device_cfg) -> list[BankSpec]:
  """The accompaniment banks of a `data.device` section: for each of `others_sources` in turn, one bank per family
  (its GM program, in the family's range)."""
  out = []
  for source, (family, program) in itertools.product(device_cfg.others_sources, device_cfg.others):
    low, high = INSTRUMENT_RANGES[family]
    out.append(
      BankSpec(
        source,
        program=int(program),
        pitch_step=device_cfg.others_pitch_step,
        low=low,
        high=high,
        velocities=(100,),
        seconds=device_cfg.others_seconds,
        treble_seconds=device_cfg.others_seconds,
      )
    )
  return out


def stack(banks: list[Bank]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Banks of one kind as arrays for the device player: float32 samples `(banks, pitches, layers, length)` and
  pitches `(banks, pitches)` / velocities `(banks, layers)`, shorter banks padded (a padded pitch repeats the top
  one, so nearest-pitch search never picks it; padded layers repeat the loudest)."""
  n_p = max(b.samples.shape[0] for b in banks)
  n_v = max(b.samples.shape[1] for b in banks)
  n_l = max(b.samples.shape[2] for b in banks)
  samples = np.zeros((len(banks), n_p, n_v, n_l), np.float32)
  pitches = np.zeros((len(banks), n_p), np.float32)
  velocities = np.zeros((len(banks), n_v), np.float32)
  for i, b in enumerate(banks):
    p, v, length = b.samples.shape
    s = b.float_samples()
    samples[i, :p, :v, :length] = s
    samples[i, p:, :v, :length] = s[-1:]
    samples[i, :, v:] = samples[i, :, v - 1 : v]
    pitches[i, :p], pitches[i, p:] = b.pitches, b.pitches[-1] + 1000.0
    velocities[i, :v], velocities[i, v:] = b.velocities, b.velocities[-1] + 1000.0
  return samples, pitches, velocities


def voice_choice(bank: Bank, pitch: int, velocity: float) -> tuple[int, int]:
  """(row, layer) that plays `pitch` at `velocity`: the nearest sampled pitch (the lower on a tie), nearest layer."""
  return int(np.argmin(np.abs(bank.pitches - pitch))), int(np.argmin(np.abs(bank.velocities - velocity)))


def render(
  bank: Bank,
  notes: NoteSequence,
  num_samples: int,
  *,
  release_seconds: float = 0.12,
  velocity_curve: float = 1.0,
  cents: np.ndarray | None = None,
) -> np.ndarray:
  """`num_samples` of mono float32 audio of `notes` played from `bank` (the reference for synth/playback.py).

  Args:
    bank: the instrument.
    notes: onsets may be negative (a note struck before the window); `pedal_offsets()` is where each note stops
      sounding.
    num_samples: output length.
    release_seconds: the damper's decay time constant (it cuts the note 6 of them after it starts).
    velocity_curve: gain = (velocity / layer velocity) ** velocity_curve.
    cents: per-note tuning offset (default 0).
  """
  rate = bank.sample_rate
  samples = bank.float_samples()
  out = np.zeros(num_samples, np.float64)
  sounding = notes.pedal_offsets()
  cents = np.zeros(len(notes)) if cents is None else np.asarray(cents, np.float64)
  t = np.arange(num_samples)
  for p, on, end, v, c in zip(notes.pitch, notes.onset, sounding, notes.velocity, cents, strict=True):
    row, layer = voice_choice(bank, int(p), float(v))
    sample = samples[row, layer]
    ratio = 2.0 ** ((p - bank.pitches[row]) / 12.0 + c / 1200.0)
    j = t - round(on * rate)
    pos = j * ratio
    ok = (j >= 0) & (pos < len(sample) - 1)
    voice = np.interp(np.where(ok, pos, 0.0), np.arange(len(sample)), sample) * ok
    gain = (np.clip(v, 1, 127) / bank.velocities[layer]) ** velocity_curve
    if p < UNDAMPED_FROM:
      hold = max(1, round((end - on) * rate))
      tail = j - hold
      damper = np.where(tail < 0, 1.0, np.exp(-np.maximum(tail, 0) / (release_seconds * rate)))
      voice = voice * damper * (tail < 6 * release_seconds * rate)
    out += gain * voice
  return out.astype(np.float32)
