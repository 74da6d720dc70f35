"""Inference over audio of any length: segments joined exactly as one whole-file pass."""

import jax
import numpy as np
import pytest

from pianojax import checkpoints, decoding, framing, inference, models
from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer
from tests.conftest import tiny_config


def test_segmented_long_file_equals_whole_without_duplicates(run_dir):
  config = tiny_config(run_dir)
  variables = checkpoints.restore_variables(str(run_dir), config)
  rng = np.random.default_rng(5)
  renderer = Renderer(16000)
  pieces = [make_example(materials.sequences(rng, 20.0), renderer, "timgm6mb", rng)[0] for _ in range(9)]
  audio = np.concatenate(pieces).astype(np.float32) / 32768  # 3 minutes
  hop = config.frontend.hop_length
  segmented = inference.frame_probabilities(
    inference.Predictor(config, models.build(config), variables, 8),
    audio,
    hop,
    config.data.segment_frames,
    config.inference.segment_hop_frames,
  )
  n_frames = 1 + len(audio) // hop
  whole_config = tiny_config(run_dir)
  whole_config.data.segment_frames = n_frames
  whole_model = models.build(whole_config)
  logits = jax.jit(lambda v, a: whole_model.apply(v, a, train=False))(variables, audio[None, : n_frames * hop])
  # Every join is inside; only the last few frames differ (there the whole-file network
  # sees its own zero padding, the last segment sees padded audio).
  inner = n_frames - 16
  for k, v in logits.items():
    whole = np.asarray(jax.nn.sigmoid(v[0]))[:inner]
    np.testing.assert_allclose(segmented[k][:inner].astype(np.float32), whole, atol=2e-3, err_msg=k)
  # Decoding both gives the same notes, each once (no doubles at segment joins).
  levels = decoding.DecodeSettings.from_config(config.decode).replace(
    onset_threshold=0.1, frame_threshold=0.1, min_note_ms=0.0
  )
  a = decoding.decode({k: v[:inner].astype(np.float32) for k, v in segmented.items()}, 50.0, config.objective, levels)
  b = decoding.decode(
    {k: np.asarray(jax.nn.sigmoid(v[0]))[:inner] for k, v in logits.items()}, 50.0, config.objective, levels
  )
  assert len(a) > 0
  pairs = set(zip(a.pitch.tolist(), np.round(a.onset, 3).tolist(), strict=True))
  agree = len(pairs & set(zip(b.pitch.tolist(), np.round(b.onset, 3).tolist(), strict=True)))
  assert agree >= 0.98 * max(len(a), len(b))  # the same notes, none doubled at a join


def test_each_frame_comes_from_its_segment_with_the_shipped_models_normalisation():
  """models/default normalises each segment by its own statistics (`example`), so segmented output cannot equal a
  whole-file pass; what must hold is that every frame is exactly its owning segment's output."""
  predictor = inference.Predictor.from_checkpoint()
  config = predictor.config
  assert config.frontend.normalize == "example"
  rng = np.random.default_rng(3)
  renderer = Renderer(config.frontend.sample_rate)
  audio = make_example(materials.sequences(rng, 14.0), renderer, "timgm6mb", rng)[0].astype(np.float32) / 32768
  hop, seg, seg_hop = config.frontend.hop_length, config.data.segment_frames, config.inference.segment_hop_frames
  joined = inference.frame_probabilities(predictor, audio, hop, seg, seg_hop)
  n_frames = 1 + len(audio) // hop
  owner = framing.owners(n_frames, seg, seg_hop)
  assert len(set(owner.tolist())) >= 3  # several segments and joins
  for s in sorted(set(owner.tolist())):
    piece = np.zeros(seg * hop, np.float32)
    chunk = audio[s * seg_hop * hop : s * seg_hop * hop + seg * hop]
    piece[: len(chunk)] = chunk
    alone = predictor(piece[None])
    frames = np.nonzero(owner == s)[0]
    for k in joined:
      np.testing.assert_array_equal(joined[k][frames], alone[k][0, frames - s * seg_hop], err_msg=f"{k} segment {s}")


def test_input_level_is_set_before_the_model_sees_the_audio():
  quiet = np.full(1000, 0.001, np.float32)
  quiet[10] = -0.01
  loud = inference.set_peak(quiet, -6.0)
  assert np.max(np.abs(loud)) == pytest.approx(10 ** (-6 / 20), rel=1e-6)
  np.testing.assert_allclose(loud / quiet, loud[0] / quiet[0], rtol=1e-6)  # one gain for the whole file
  assert inference.set_peak(quiet, None) is quiet
  assert not inference.set_peak(np.zeros(10, np.float32), -6.0).any()
