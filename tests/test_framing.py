"""Segmenting and stitching timelines, and beat-synchronous pooling."""

import jax
import numpy as np
import pytest

from pianojax import frontend
from pianojax.framing import beat_boundaries, beat_pool, num_segments, segment, stitch, track_beats


@pytest.mark.parametrize(
  "length,seg,hop", [(1000, 128, 64), (128, 128, 64), (50, 128, 32), (1001, 100, 100), (777, 64, 1)]
)
@pytest.mark.parametrize("mode", ["center", "mean"])
def test_segment_stitch_round_trip_is_exact(length, seg, hop, mode):
  x = np.random.default_rng(length).standard_normal((length, 3)).astype(np.float32)
  segs, mask = segment(x, seg, hop)
  assert segs.shape == (num_segments(length, seg, hop), seg, 3)
  assert mask.sum() == sum(min(seg, length - s) for s in range(0, segs.shape[0] * hop, hop))
  assert np.all(segs[~mask] == 0)
  back = stitch(segs, hop, length, mode=mode)
  if mode == "center":
    np.testing.assert_array_equal(back, x)
  else:
    np.testing.assert_allclose(back, x, rtol=1e-6, atol=1e-6)


def test_stitch_center_takes_frames_away_from_segment_edges():
  # Each segment marks frames with its own index: with half overlap, a frame must come
  # from the segment where it is furthest from an edge.
  seg, hop, length = 8, 4, 20
  n = num_segments(length, seg, hop)
  marks = np.repeat(np.arange(n)[:, None], seg, axis=1).astype(float)
  chosen = stitch(marks, hop, length)
  for t in range(length):
    margins = [min(t - i * hop, i * hop + seg - 1 - t) for i in range(n) if 0 <= t - i * hop < seg]
    owners = [i for i in range(n) if 0 <= t - i * hop < seg]
    assert int(chosen[t]) in owners
    assert margins[owners.index(int(chosen[t]))] == max(margins)


def test_segment_rejects_bad_hop():
  with pytest.raises(ValueError):
    segment(np.zeros(10), 4, 5)


def test_beat_pool_shapes_and_means(maestro_wav):
  from pianojax import audio_io

  spec = frontend.FrontendSpec(n_mels=64)
  audio = audio_io.load_audio(maestro_wav, spec.sample_rate)
  frames = np.asarray(frontend.features(audio[None], spec))
  beats = track_beats(audio, spec.sample_rate, spec.hop_length)
  ids = beat_boundaries(beats, frames.shape[1], max_beats=16)
  pooled, mask = jax.jit(beat_pool, static_argnums=2)(frames, ids[None], 16)
  assert pooled.shape == (1, 16, 64) and mask.shape == (1, 16)
  n_intervals = len(np.unique(ids))
  assert int(mask.sum()) == n_intervals
  for k in range(n_intervals):
    np.testing.assert_allclose(np.asarray(pooled)[0, k], frames[0, ids == k].mean(axis=0), rtol=1e-4, atol=1e-4)


def test_beat_boundaries_from_known_beats():
  ids = beat_boundaries(np.array([3, 7]), 10, max_beats=8)
  np.testing.assert_array_equal(ids, [0, 0, 0, 1, 1, 1, 1, 2, 2, 2])
  assert beat_boundaries(np.array([1, 2, 3, 4]), 6, max_beats=3).max() == 2
