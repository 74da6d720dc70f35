"""Running a trained model over audio of any length: segment -> batched forward -> stitch -> decode.

Audio is cut into overlapping segments of the training length and run through the one jitted
forward pass in fixed-size batches (one compilation); segments of consecutive files share
batches and several calls run at once (`stream_probabilities`). Each frame is taken from the
segment where it lies furthest from an edge (`framing.owners`), written straight into the
output: memory is the audio plus the output rolls, whatever the length.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import os
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pianojax import decoding, framing, frontend
from pianojax import mesh as mesh_lib
from pianojax.errors import UserError
from pianojax.notes import NoteSequence


def default_batch_size() -> int:
  """Segments per forward call: 1 on a CPU (with `default_workers` calls at once), 8 per accelerator (rounded up
  to the device count by Predictor).

  On the 2-core development CPU, the shipped model over a 3-minute file (batch x calls in flight): 1 x 3 -> 249x
  real time, 1 x 2 -> 238x, 2 x 2 -> 222x, 2 x 1 -> 147x, 4 x 2 -> 193x (docs/BENCHMARKS.md).
  """
  return 1 if jax.default_backend() == "cpu" else 8 * jax.device_count()


def default_workers() -> int:
  """Forward calls in flight at once. On a CPU one more than its cores: XLA runs the shipped model's small
  convolutions on one core at a time better than across two (measured above: 3 on the 2-core machine). On an
  accelerator 2, so the next batch is cut while one runs."""
  return (os.cpu_count() or 1) + 1 if jax.default_backend() == "cpu" else 2


class Predictor:
  """A model ready to run: batched, sharded forward pass `(n, samples)` -> sigmoid probabilities per head.

  Carries the model's config (framing, decoding, inference settings) so one object is all
  the inference functions below need. Built from a Flax model, or (`from_checkpoint`, from the
  second time on a machine) from its exported forward pass in `inference_cache`, without Flax.
  """

  def __init__(  # noqa: PLR0917
    self, config, model, variables, batch_size: int | None = None, mesh=None, exported=None, outputs: str = "heads"
  ):
    self.config = config
    self.decode = decoding.DecodeSettings.from_config(config.decode)  # the model's own decoding settings
    self.model = model
    self.spec = frontend.FrontendSpec.from_config(config.frontend)
    self.num_frames = config.data.segment_frames
    self.mesh = mesh or mesh_lib.data_mesh()
    self.batch_size = round_batch(batch_size or default_batch_size(), self.mesh)
    replicated = mesh_lib.replicated(self.mesh)
    self.batch_sharding = mesh_lib.batch_sharded(self.mesh)
    self.variables = jax.device_put(variables, replicated)
    self._compiled = None
    if exported is not None:  # (a stored forward pass: no model needed)
      self._forward = jax.jit(exported.call)
    elif outputs == "mask":  # stage 1 of a two-stage model: its mask on the frontend's grid

      def forward(variables, audio, beat_ids):
        del beat_ids
        return {k: v.astype(jnp.float16) for k, v in model.apply(variables, audio, method=type(model).mask).items()}

      self._forward = jax.jit(forward, out_shardings=replicated)
    else:

      def forward(variables, audio, beat_ids):
        logits = model.apply(variables, audio, train=False, beat_ids=beat_ids)
        return {k: jax.nn.sigmoid(v).astype(jnp.float16) for k, v in logits.items()}

      self._forward = jax.jit(forward, out_shardings=replicated)

  def _arg_shapes(self):
    audio = (self.batch_size, self.num_frames * self.spec.hop_length)
    return (
      jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), self.variables),
      jax.ShapeDtypeStruct(audio, jnp.float32, sharding=self.batch_sharding),
      jax.ShapeDtypeStruct((self.batch_size, self.num_frames), jnp.int32, sharding=self.batch_sharding),
    )

  def export(self):
    """The forward pass as a `jax.export.Exported` (what `inference_cache` stores)."""
    import jax.export

    return jax.export.export(self._forward)(*self._arg_shapes())

  def compile(self) -> Predictor:
    """Compiles the forward pass now (from JAX's persistent cache where enabled) instead of at the first batch."""
    if self._compiled is None:
      self._compiled = self._forward.lower(*self._arg_shapes()).compile()
    return self

  @classmethod
  def from_checkpoint(cls, path: str | None = None, batch_size: int | None = None) -> Predictor:
    """The model of a checkpoint folder (default: the one shipped in models/default), compiled. Its program and
    weights come from `inference_cache` where a run on this machine stored them, else from the checkpoint
    (and are stored for the next run)."""
    from pianojax import checkpoints, inference_cache

    path = path or checkpoints.DEFAULT_MODEL
    config = checkpoints.model_config(path)
    mesh = mesh_lib.data_mesh()
    size = round_batch(batch_size or default_batch_size(), mesh)
    program_key = inference_cache.program_key(config, size, mesh.devices.flatten().tolist())
    weights_key = inference_cache.weights_key(os.path.join(*map(str, checkpoints.resolve(path))))
    program = inference_cache.load_program(program_key)
    if program is not None:
      exported, shapes = program
      variables = inference_cache.load_weights(weights_key, shapes)
      if variables is None:
        variables = checkpoints.load_variables(path, config, shapes)
        inference_cache.save_weights(weights_key, variables)
      return cls(config, None, variables, size, mesh, exported).compile()
    config, model, variables = checkpoints.load_model(path)
    predictor = cls(config, model, variables, size, mesh)
    if inference_cache.enabled():
      inference_cache.save_program(program_key, predictor.export())
    inference_cache.save_weights(weights_key, variables)
    return predictor.compile()

  @classmethod
  def separator_of(cls, path: str | None = None, batch_size: int | None = None) -> Predictor:
    """Stage 1 of a two-stage checkpoint: segments `(n, samples)` -> `{"mask": (n, frames, bins)}` in [0, 1] on the
    frontend's grid (`separation.apply_mask` turns it into audio).

    Raises:
      UserError: the checkpoint is a one-stage model (it has no separator).
    """
    from pianojax import checkpoints

    path = path or checkpoints.DEFAULT_MODEL
    if checkpoints.model_config(path).model.stages != 2:
      raise UserError(f"{path} is a one-stage model: it has no separator (train one with --config.model.stages=2)")
    config, model, variables = checkpoints.load_model(path)
    return cls(config, model, variables, batch_size, outputs="mask").compile()

  @property
  def frame_rate(self) -> float:
    return self.config.frontend.sample_rate / self.config.frontend.hop_length

  def __call__(self, segments: np.ndarray) -> dict[str, np.ndarray]:
    n = len(segments)
    padded = np.zeros((self.batch_size, segments.shape[1]), np.float32)
    padded[:n] = segments
    beat_ids = np.zeros((self.batch_size, self.num_frames), np.int32)
    if self.config.frontend.framing == "beat":
      spec, max_beats = self.spec, self.config.frontend.max_beats
      for i in range(n):
        beat_ids[i] = framing.beat_ids(segments[i], spec.sample_rate, spec.hop_length, self.num_frames, max_beats)
    out = (self._compiled or self._forward)(
      self.variables,
      jax.device_put(padded, self.batch_sharding),
      jax.device_put(beat_ids, self.batch_sharding),
    )
    return {k: np.asarray(v)[:n] for k, v in out.items()}


def round_batch(batch_size: int, mesh) -> int:
  """`batch_size` rounded up to a multiple of the mesh's devices."""
  n_dev = mesh.devices.size
  return max(n_dev, -(-batch_size // n_dev) * n_dev)


@dataclasses.dataclass
class _Track:
  """One signal being transcribed: where its segments start, which segment owns each frame, and the frame outputs,
  filled in as batches come back."""

  key: Any
  audio: np.ndarray | None  # (dropped once its last segment is cut)
  gain: float | None  # the input level (`peak_gain`), applied as segments are cut: no scaled copy of the audio
  n_frames: int
  n_seg: int
  owner: np.ndarray
  pending: int
  out: dict = dataclasses.field(default_factory=dict)

  def fill(self, seg: int, probs: dict[str, np.ndarray], hop_frames: int) -> None:
    """Writes the frames that segment `seg` owns from its outputs `probs[k]` `(segment_frames, 88)`."""
    if not self.out:
      self.out = {k: np.zeros((self.n_frames, v.shape[-1]), np.float16) for k, v in probs.items()}
    lo, hi = np.searchsorted(self.owner, seg, side="left"), np.searchsorted(self.owner, seg, side="right")
    for k, v in probs.items():
      self.out[k][lo:hi] = v[lo - seg * hop_frames : hi - seg * hop_frames]
    self.pending -= 1


class _Failed(NamedTuple):
  key: Any
  error: Exception


def stream_probabilities(  # noqa: PLR0917
  predictor: Predictor,
  signals: Iterable[tuple[Any, np.ndarray | Exception]],
  hop_length: int,
  segment_frames: int,
  hop_frames: int,
  workers: int | None = None,
  progress=None,
  peak_db: float | None = None,
) -> Iterator[tuple[Any, dict[str, np.ndarray] | Exception]]:
  """(key, per-frame probabilities `(frames, 88)` float16) for each (key, mono audio) of `signals`, in order.

  Segments of consecutive signals share batches (a folder of short files wastes no padded batch slots), and up
  to `workers` forward calls run at once while this thread cuts the next batch and the caller decodes the signal
  before. An `Exception` in place of audio (a file that failed to load) is passed through in its place in the
  order. Each frame is taken from the segment in which it lies furthest from an edge (`framing.owners`).
  `peak_db`: each signal's input level (as `set_peak`, without a scaled copy of the audio).
  """
  workers = workers or default_workers()
  seg_samples = segment_frames * hop_length
  order: collections.deque = collections.deque()  # tracks (and failures) in input order
  jobs: list[tuple[_Track, int]] = []
  inflight: collections.deque = collections.deque()  # (future, jobs)

  def submit(pool):
    batch = np.zeros((len(jobs), seg_samples), np.float32)
    for j, (track, seg) in enumerate(jobs):
      piece = track.audio[seg * hop_frames * hop_length : seg * hop_frames * hop_length + seg_samples]
      batch[j, : len(piece)] = piece if track.gain is None else piece * track.gain
    inflight.append((pool.submit(predictor, batch), list(jobs)))
    for track, seg in jobs:
      if seg == track.n_seg - 1:
        track.audio = None  # all cut: only the outputs are still needed
    jobs.clear()

  def collect():
    future, done = inflight.popleft()
    probs = future.result()
    for j, (track, seg) in enumerate(done):
      track.fill(seg, {k: v[j] for k, v in probs.items()}, hop_frames)
    if progress is not None:
      progress(len(done))

  def finished():
    while order and (isinstance(order[0], _Failed) or order[0].pending == 0):
      item = order.popleft()
      if isinstance(item, _Failed):
        yield item.key, item.error
      else:
        yield item.key, item.out

  with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="forward") as pool:
    for key, audio in signals:
      if isinstance(audio, Exception):
        order.append(_Failed(key, audio))
      else:
        n_frames = 1 + len(audio) // hop_length
        n_seg = framing.num_segments(n_frames, segment_frames, hop_frames)
        owner = framing.owners(n_frames, segment_frames, hop_frames)
        track = _Track(key, audio, peak_gain(audio, peak_db), n_frames, n_seg, owner, n_seg)
        order.append(track)
        for seg in range(n_seg):
          jobs.append((track, seg))
          if len(jobs) == predictor.batch_size:
            submit(pool)
            while len(inflight) > workers:
              collect()
        del audio
      yield from finished()
    if jobs:
      submit(pool)
    while inflight:
      collect()
      yield from finished()
    yield from finished()


def frame_probabilities(  # noqa: PLR0917
  predictor: Predictor, audio: np.ndarray, hop_length: int, segment_frames: int, hop_frames: int, progress=None
) -> dict[str, np.ndarray]:
  """Per-frame probabilities `(frames, 88)` for a whole signal (float16), stitched from segments."""
  ((_, out),) = stream_probabilities(
    predictor, [(None, audio)], hop_length, segment_frames, hop_frames, progress=progress
  )
  return out


def peak_gain(audio: np.ndarray, peak_db: float | None) -> float | None:
  """The gain that puts the largest sample of `audio` at `peak_db` dBFS (None if `peak_db` is None or silent)."""
  peak = max(float(audio.max()), -float(audio.min())) if len(audio) else 0.0  # (no |audio| copy)
  if peak_db is None or peak == 0.0:
    return None
  return 10.0 ** (peak_db / 20.0) / peak


def set_peak(audio: np.ndarray, peak_db: float | None) -> np.ndarray:
  """`audio` scaled so its largest sample is at `peak_db` dBFS (unchanged if None or silent)."""
  gain = peak_gain(audio, peak_db)
  return audio if gain is None else (audio * gain).astype(np.float32)


def stream_outputs(
  predictor: Predictor, signals: Iterable[tuple[Any, np.ndarray | Exception]], progress=None
) -> Iterator[tuple[Any, dict[str, np.ndarray] | Exception]]:
  """`stream_probabilities` with the model's own segmenting, each signal's input level set first
  (`inference.input_peak_db`)."""
  config = predictor.config
  hop_length, segment, hop = config.frontend.hop_length, config.data.segment_frames, config.inference.segment_hop_frames
  return stream_probabilities(
    predictor, signals, hop_length, segment, hop, progress=progress, peak_db=config.inference.input_peak_db
  )


def separate(masks: Predictor, audio: np.ndarray, progress=None) -> tuple[np.ndarray, np.ndarray]:
  """(the piano separated from mono `audio` by a two-stage model's stage 1 (`Predictor.separator_of`), with the
  mixture's phase; the mask `(frames, bins)` on the frontend's grid)."""
  from pianojax import separation

  mask = frame_outputs(masks, audio, progress)["mask"].astype(np.float32)
  return separation.apply_mask(audio, mask, masks.spec), mask


def frame_outputs(predictor: Predictor, audio: np.ndarray, progress=None) -> dict[str, np.ndarray]:
  """Per-frame probabilities `(frames, 88)` (float16) of mono audio at the model's rate, input level set first
  (`inference.input_peak_db`)."""
  ((_, out),) = stream_outputs(predictor, [(None, audio)], progress)
  return out


def transcribe_audio(
  predictor: Predictor, audio: np.ndarray, decode: decoding.DecodeSettings | None = None, progress=None
) -> tuple[NoteSequence, dict[str, np.ndarray]]:
  """(notes, frame probabilities) of mono audio at the model's sample rate; `decode` defaults to the model's."""
  probs = frame_outputs(predictor, audio, progress)
  return decode_probs(predictor, probs, decode), probs


def decode_probs(predictor: Predictor, probs: dict[str, np.ndarray], decode: decoding.DecodeSettings | None = None):
  """The sounding notes (pedal-extended offsets) from `frame_outputs` (decoding settings: `decode`, else the
  model's)."""
  return transcription(predictor, probs, decode).sounding


def transcription(
  predictor: Predictor, probs: dict[str, np.ndarray], decode: decoding.DecodeSettings | None = None
) -> decoding.Transcription:
  """Both forms of the notes (key releases + CC64; sounding) from `frame_outputs`."""
  return decoding.decode_all(probs, predictor.frame_rate, predictor.config.objective, decode or predictor.decode)
