"""Running a trained model over audio of any length: segment -> batched forward -> stitch -> decode.

The audio is cut into overlapping segments of the training length, run through the one
jitted forward pass in fixed-size batches (one compilation), and each frame is taken from
the segment where it lies furthest from an edge (`framing.owners`), written straight into
the output: memory is the audio plus the output rolls, whatever the length.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from pianojax import decoding, framing, models
from pianojax.notes import NoteSequence


def default_batch_size() -> int:
  """Segments per forward call: 2 on a CPU, 8 per accelerator (rounded up to the device count by Predictor).

  On the 2-core development CPU, in the same minutes: 2 -> 113-128x real time, 8 -> 95-105x
  (`benchmarks/transcribe.py --batch_size=N`, docs/BENCHMARKS.md).
  """
  return 2 if jax.default_backend() == "cpu" else 8 * jax.device_count()


class Predictor:
  """Batched, sharded forward pass: segments `(n, samples)` -> sigmoid probabilities per head."""

  def __init__(self, model: models.Transcriber, variables, batch_size: int, mesh=None):
    from pianojax import input_pipeline

    self.model = model
    self.mesh = mesh or input_pipeline.data_mesh()
    n_dev = self.mesh.devices.size
    self.batch_size = max(n_dev, -(-batch_size // n_dev) * n_dev)
    replicated = jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec())
    self.batch_sharding = jax.sharding.NamedSharding(self.mesh, jax.sharding.PartitionSpec("data"))
    self.variables = jax.device_put(variables, replicated)

    def forward(variables, audio, beat_ids):
      logits = model.apply(variables, audio, train=False, beat_ids=beat_ids)
      return {k: jax.nn.sigmoid(v).astype(jnp.float16) for k, v in logits.items()}

    self._forward = jax.jit(forward, out_shardings=replicated)

  def __call__(self, segments: np.ndarray) -> dict[str, np.ndarray]:
    n = len(segments)
    padded = np.zeros((self.batch_size, segments.shape[1]), np.float32)
    padded[:n] = segments
    beat_ids = np.zeros((self.batch_size, self.model.num_frames), np.int32)
    if self.model.framing == "beat":
      spec = self.model.spec
      for i in range(n):
        beat_ids[i] = framing.beat_ids(
          segments[i], spec.sample_rate, spec.hop_length, self.model.num_frames, self.model.max_beats
        )
    out = self._forward(
      self.variables,
      jax.device_put(padded, self.batch_sharding),
      jax.device_put(beat_ids, self.batch_sharding),
    )
    return {k: np.asarray(v)[:n] for k, v in out.items()}


def frame_probabilities(  # noqa: PLR0917
  predictor: Predictor, audio: np.ndarray, hop_length: int, segment_frames: int, hop_frames: int, progress=None
) -> dict[str, np.ndarray]:
  """Per-frame probabilities `(frames, 88)` for a whole signal (float16), stitched from segments."""
  n_frames = 1 + len(audio) // hop_length
  n_seg = framing.num_segments(n_frames, segment_frames, hop_frames)
  owner = framing.owners(n_frames, segment_frames, hop_frames)
  seg_samples = segment_frames * hop_length
  out: dict[str, np.ndarray] = {}
  for first in range(0, n_seg, predictor.batch_size):
    ids = np.arange(first, min(first + predictor.batch_size, n_seg))
    batch = np.zeros((len(ids), seg_samples), np.float32)
    for j, s in enumerate(ids):
      piece = audio[s * hop_frames * hop_length : s * hop_frames * hop_length + seg_samples]
      batch[j, : len(piece)] = piece
    probs = predictor(batch)
    if not out:
      out = {k: np.zeros((n_frames, v.shape[-1]), np.float16) for k, v in probs.items()}
    lo = np.searchsorted(owner, ids[0], side="left")
    hi = np.searchsorted(owner, ids[-1], side="right")
    t = np.arange(lo, hi)
    local = t - owner[t] * hop_frames
    for k, v in probs.items():
      out[k][t] = v[owner[t] - ids[0], local]
    if progress is not None:
      progress(len(ids))
  return out


def set_peak(audio: np.ndarray, peak_db: float | None) -> np.ndarray:
  """`audio` scaled so its largest sample is at `peak_db` dBFS (unchanged if None or silent)."""
  peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
  if peak_db is None or peak == 0.0:
    return audio
  return (audio * (10.0 ** (peak_db / 20.0) / peak)).astype(np.float32)


def transcribe_audio(predictor: Predictor, audio: np.ndarray, config, progress=None, **decode_overrides):
  """Notes and frame probabilities for mono audio at the config's sample rate.

  The input level is set first (`data.input_peak_db`; configs saved before that field
  existed get its default, -6 dBFS).
  """
  audio = set_peak(audio, config.data.get("input_peak_db", -6.0))
  probs = frame_probabilities(
    predictor,
    audio,
    config.frontend.hop_length,
    config.data.segment_frames,
    config.data.segment_hop_frames,
    progress=progress,
  )
  settings = dict(config.decode)
  settings.update(decode_overrides)
  frame_rate = config.frontend.sample_rate / config.frontend.hop_length
  notes = decoding.decode(
    {k: v.astype(np.float32) for k, v in probs.items()}, frame_rate, objective=config.objective, **settings
  )
  return notes, probs


def evaluate_records(predictor, records, config, max_records: int | None = None) -> list[dict]:
  """Note and frame metrics for (audio, reference notes) records."""
  from pianojax import metrics

  frame_rate = config.frontend.sample_rate / config.frontend.hop_length
  results = []
  for i, (audio, ref) in enumerate(records):
    if max_records is not None and i >= max_records:
      break
    est, probs = transcribe_audio(predictor, audio, config)
    n_frames = probs["frame"].shape[0]
    m = metrics.note_metrics(ref, est)
    m.update(metrics.frame_metrics(metrics.roll(ref, n_frames, frame_rate), metrics.roll(est, n_frames, frame_rate)))
    results.append(m)
  return results


def source_records(source, offset_mode: str = "pedal"):
  """(audio float32, reference notes) for each example of a TFDS data source."""
  from pianojax import labels
  from pianojax.datasets import features

  for i in range(len(source)):
    ex = source[i]
    notes: NoteSequence = labels.with_offsets(features.decode_notes(ex), offset_mode)
    yield ex["audio"].astype(np.float32) / 32768.0, notes
