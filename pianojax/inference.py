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
from pianojax import mesh as mesh_lib
from pianojax.notes import NoteSequence


def default_batch_size() -> int:
  """Segments per forward call: 2 on a CPU, 8 per accelerator (rounded up to the device count by Predictor).

  On the 2-core development CPU, in the same minutes: 2 -> 113-128x real time, 8 -> 95-105x
  (`benchmarks/transcribe.py --batch_size=N`, docs/BENCHMARKS.md).
  """
  return 2 if jax.default_backend() == "cpu" else 8 * jax.device_count()


class Predictor:
  """A model ready to run: batched, sharded forward pass `(n, samples)` -> sigmoid probabilities per head.

  Carries the model's config (framing, decoding, inference settings) so one object is all
  the inference functions below need.
  """

  def __init__(self, config, model: models.Transcriber, variables, batch_size: int | None = None, mesh=None):
    self.config = config
    self.decode = decoding.DecodeSettings.from_config(config.decode)  # the model's own decoding settings
    self.model = model
    self.mesh = mesh or mesh_lib.data_mesh()
    n_dev = self.mesh.devices.size
    batch_size = batch_size or default_batch_size()
    self.batch_size = max(n_dev, -(-batch_size // n_dev) * n_dev)
    replicated = mesh_lib.replicated(self.mesh)
    self.batch_sharding = mesh_lib.batch_sharded(self.mesh)
    self.variables = jax.device_put(variables, replicated)

    def forward(variables, audio, beat_ids):
      logits = model.apply(variables, audio, train=False, beat_ids=beat_ids)
      return {k: jax.nn.sigmoid(v).astype(jnp.float16) for k, v in logits.items()}

    self._forward = jax.jit(forward, out_shardings=replicated)

  @classmethod
  def from_checkpoint(cls, path: str | None = None, batch_size: int | None = None) -> Predictor:
    """The model of a checkpoint folder (default: the one shipped in models/default)."""
    from pianojax import checkpoints

    config, model, variables = checkpoints.load_model(path)
    return cls(config, model, variables, batch_size)

  @property
  def frame_rate(self) -> float:
    return self.config.frontend.sample_rate / self.config.frontend.hop_length

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


def frame_outputs(predictor: Predictor, audio: np.ndarray, progress=None) -> dict[str, np.ndarray]:
  """Per-frame probabilities `(frames, 88)` (float16) of mono audio at the model's rate, input level set first
  (`inference.input_peak_db`)."""
  config = predictor.config
  audio = set_peak(audio, config.inference.input_peak_db)
  hop_length, segment, hop = config.frontend.hop_length, config.data.segment_frames, config.inference.segment_hop_frames
  return frame_probabilities(predictor, audio, hop_length, segment, hop, progress=progress)


def transcribe_audio(
  predictor: Predictor, audio: np.ndarray, decode: decoding.DecodeSettings | None = None, progress=None
) -> tuple[NoteSequence, dict[str, np.ndarray]]:
  """(notes, frame probabilities) of mono audio at the model's sample rate; `decode` defaults to the model's."""
  probs = frame_outputs(predictor, audio, progress)
  return decode_probs(predictor, probs, decode), probs


def decode_probs(predictor: Predictor, probs: dict[str, np.ndarray], decode: decoding.DecodeSettings | None = None):
  """Notes from `frame_outputs` (decoding settings: `decode`, else the model's)."""
  as_float = {k: v.astype(np.float32) for k, v in probs.items()}
  return decoding.decode(as_float, predictor.frame_rate, predictor.config.objective, decode or predictor.decode)
