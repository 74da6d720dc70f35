"""From TFDS splits to device batches of fixed-length segments with frame targets.

- `TrainSegments`: a random-access source; example `i` is a seeded random crop of a random
  record from a weighted mixture of datasets, augmented, with its targets. Being a pure
  function of (seed, i), the stream is deterministic and resumes from any step.
- `batches`: grain MapDataset -> per-process slices -> batches -> prefetching iterator.
(`mesh.to_global` makes the process-local batches one global `jax.Array` sharded on `data`.)
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import numpy as np

from pianojax import augment, framing, labels
from pianojax.datasets import encoding
from pianojax.notes import NoteSequence


@dataclasses.dataclass(frozen=True)
class SegmentSpec:
  """How examples are cut and labelled."""

  segment_frames: int
  hop_length: int
  sample_rate: int
  offset_mode: str = "pedal"
  regression_frames: int = 5
  framing: str = "frame"  # "beat": items also carry `beat_ids` (framing.beat_ids)
  max_beats: int = 64
  release_and_pedal: bool = False  # also the key-release and sustain-pedal targets (model.pedal)

  @property
  def segment_samples(self) -> int:
    return self.segment_frames * self.hop_length

  @property
  def frame_rate(self) -> float:
    return self.sample_rate / self.hop_length

  @classmethod
  def from_config(cls, config) -> SegmentSpec:
    return cls(
      segment_frames=config.data.segment_frames,
      hop_length=config.frontend.hop_length,
      sample_rate=config.frontend.sample_rate,
      offset_mode=config.data.offset_mode,
      regression_frames=config.data.regression_frames,
      framing=config.frontend.framing,
      max_beats=config.frontend.max_beats,
      release_and_pedal=config.model.pedal,
    )


def _as_float(audio: np.ndarray) -> np.ndarray:
  return np.asarray(audio, np.float32) / 32768.0


def _crop(audio: np.ndarray, start: int, length: int) -> np.ndarray:
  out = np.zeros(length, np.float32)
  piece = audio[max(start, 0) : max(start + length, 0)]
  offset = max(-start, 0)
  out[offset : offset + len(piece)] = piece[: length - offset]
  return out


class Labels(NamedTuple):
  """A segment's notes as training labels them (`offset_mode`), and with key releases and the pedal where the
  release and pedal targets are wanted: cropped, shifted and mixed together."""

  notes: NoteSequence
  keys: NoteSequence | None = None
  pedalled: NoteSequence | None = None  # `labels.pedalled_releases` of the piece, with `keys`

  @classmethod
  def of(cls, notes: NoteSequence, spec: SegmentSpec) -> Labels:
    if not spec.release_and_pedal:
      return cls(labels.with_offsets(notes, spec.offset_mode))
    return cls(labels.with_offsets(notes, spec.offset_mode), notes, labels.pedalled_releases(notes))

  def map(self, fn) -> Labels:
    return Labels(*(None if n is None else fn(n) for n in self))

  @staticmethod
  def concatenate(a: Labels, b: Labels, notes: NoteSequence) -> Labels:
    """`notes` (a and b's notes mixed) with a and b's key notes together."""
    if a.keys is None:
      return Labels(notes)
    both = lambda x, y: NoteSequence.concatenate([x, y])  # noqa: E731
    return Labels(notes, both(a.keys, b.keys), both(a.pedalled, b.pedalled))


def targets_for(notes: Labels, spec: SegmentSpec) -> dict[str, np.ndarray]:
  return labels.frame_targets(
    notes.notes,
    spec.segment_frames,
    spec.frame_rate,
    regression_frames=spec.regression_frames,
    key_notes=notes.keys,
    pedalled=notes.pedalled,
  )


class TrainSegments:
  """Random-access training examples: index -> {"audio": (samples,), targets: (frames, 88)}.

  Args:
    sources: TFDS data sources (random access), e.g. from `datasets.data_source`.
    weights: sampling weight of each source.
    spec: segment length and label settings.
    augment_cfg: the `data.augment` config section (or None for no augmentation).
    seed: the stream's seed.
  """

  def __init__(self, sources, weights, spec: SegmentSpec, augment_cfg=None, seed: int = 0):
    if not sources or len(sources) != len(weights):
      raise ValueError("need one weight per source, and at least one source")
    self.sources = list(sources)
    self.probs = np.asarray(weights, np.float64) / np.sum(weights)
    self.spec = spec
    self.aug = augment_cfg
    self.seed = seed
    self.precomputed = "features" in self.sources[0][0]  # stored features (datasets.precomputed), not audio

  def __len__(self) -> int:
    return 2**40  # an endless stream, indexed by global example number

  def _record(self, rng) -> tuple[np.ndarray, Labels]:
    source = self.sources[int(rng.choice(len(self.sources), p=self.probs))]
    ex = source[int(rng.integers(len(source)))]
    return _as_float(ex["audio"]), Labels.of(encoding.decode_notes(ex), self.spec)

  def _random_crop(self, rng, audio, notes: Labels, length: int) -> tuple[np.ndarray, Labels]:
    start = int(rng.integers(0, max(len(audio) - length, 0) + 1))
    rate = self.spec.sample_rate
    return _crop(audio, start, length), notes.map(lambda n: n.clip(start / rate, (start + length) / rate, clamp=False))

  def _example(self, rng) -> tuple[np.ndarray, Labels]:
    """A crop of `segment_samples`, augmented in the waveform with labels following."""
    aug, n = self.aug, self.spec.segment_samples
    audio, notes = self._record(rng)
    semitones = int(rng.integers(-aug.pitch_shift, aug.pitch_shift + 1)) if aug and aug.pitch_shift else 0
    cents = float(rng.uniform(-aug.detune_cents, aug.detune_cents)) if aug and aug.detune_cents else 0.0
    stretch = float(rng.uniform(*aug.time_stretch)) if aug and aug.time_stretch_prob > rng.random() else 1.0
    speed = augment.speed_for(semitones, cents)
    # Crop enough source audio that after speed change / stretch we have exactly n samples.
    need = int(np.ceil(n * speed * stretch)) + 8
    audio, notes = self._random_crop(rng, audio, notes, need)
    if speed != 1.0:
      audio = augment.resample_factor(audio, speed)
      notes = notes.map(lambda n: n.shifted(semitones=semitones, time_scale=1.0 / speed))
    if stretch != 1.0:
      audio = augment.time_stretch(audio, stretch)
      notes = notes.map(lambda n: n.shifted(time_scale=1.0 / stretch))
    return _crop(audio, 0, n), notes

  def _features_item(self, rng) -> dict[str, np.ndarray]:
    """A random crop of stored features (datasets.precomputed): `features` `(frames, bins)` and targets."""
    spec, n = self.spec, self.spec.segment_frames
    source = self.sources[int(rng.choice(len(self.sources), p=self.probs))]
    ex = source[int(rng.integers(len(source)))]
    frames = 1 + int(ex["num_samples"]) // spec.hop_length
    feats = ex["features"].reshape(frames, -1)
    start = int(rng.integers(0, max(frames - n, 0) + 1))
    out = {"features": np.zeros((n, feats.shape[1]), np.float32), "mask": np.zeros(n, np.float32)}
    piece = feats[start : start + n]
    out["features"][: len(piece)] = piece
    out["mask"][: len(piece)] = 1.0
    notes = Labels.of(encoding.decode_notes(ex), spec)
    notes = notes.map(lambda s: s.clip(start / spec.frame_rate, (start + n) / spec.frame_rate, clamp=False))
    out.update(targets_for(notes, spec))
    return out

  def __getitem__(self, index: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([self.seed, int(index)])
    if self.precomputed:
      return self._features_item(rng)
    aug = self.aug
    audio, notes = self._example(rng)
    if aug and aug.mixup_prob > rng.random():
      other_audio, other = self._example(rng)
      audio, mixed = augment.mix(audio, notes.notes, other_audio, other.notes, float(rng.uniform(-6.0, 0.0)))
      notes = Labels.concatenate(notes, other, mixed)
    if aug and aug.gain_db:
      audio = augment.gain(audio, float(rng.uniform(-aug.gain_db, aug.gain_db)))
    if aug and aug.noise_prob > rng.random():
      audio = augment.noise(audio, rng, float(rng.uniform(*aug.noise_snr_db)))
    out = {"audio": np.clip(audio, -1.0, 1.0).astype(np.float32)}
    out.update(targets_for(notes, self.spec))
    out["mask"] = np.ones(self.spec.segment_frames, np.float32)
    if self.spec.framing == "beat":
      s = self.spec
      out["beat_ids"] = framing.beat_ids(out["audio"], s.sample_rate, s.hop_length, s.segment_frames, s.max_beats)
    return out


def batches(source, global_batch: int, *, start_step: int = 0, num_steps: int | None = None, threads: int = 2):
  """Process-local batches of `source` (random access) from `start_step`, prefetched by grain.

  Global batch `b` holds items `[b * global_batch, (b + 1) * global_batch)`; process `p`
  of `P` gets items `p, p + P, ...` of it, so the global batch is the same on any number
  of processes and a restart at `start_step` continues exactly.
  """
  import grain

  count, index = jax.process_count(), jax.process_index()
  if global_batch % count:
    raise ValueError(f"global batch {global_batch} is not divisible by {count} processes")
  ds = grain.MapDataset.source(source)[index::count].batch(global_batch // count, drop_remainder=True)
  stop = None if num_steps is None else start_step + num_steps
  ds = ds[start_step:stop]
  return iter(ds.to_iter_dataset(grain.ReadOptions(num_threads=threads, prefetch_buffer_size=2 * threads)))
