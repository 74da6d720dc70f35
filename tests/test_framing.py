"""Which segment each frame is taken from, and beat-synchronous pooling."""

import jax
import numpy as np
import pytest

from pianojax import frontend
from pianojax.framing import beat_boundaries, beat_pool, num_segments, owners, track_beats


@pytest.mark.parametrize("length,seg,hop", [(20, 8, 4), (1000, 128, 64), (50, 128, 32), (1001, 100, 100), (77, 6, 1)])
def test_each_frame_comes_from_the_segment_where_it_is_furthest_from_an_edge(length, seg, hop):
  n = num_segments(length, seg, hop)
  assert (n - 1) * hop + seg >= length > (n - 2) * hop + seg or n == 1  # covered, with no spare segment
  chosen = owners(length, seg, hop)
  for t in range(length):
    covering = [i for i in range(n) if 0 <= t - i * hop < seg]
    margins = [min(t - i * hop, i * hop + seg - 1 - t) for i in covering]
    assert int(chosen[t]) in covering
    assert margins[covering.index(int(chosen[t]))] == max(margins)


def test_segments_reject_a_hop_longer_than_a_segment():
  with pytest.raises(ValueError):
    num_segments(10, 4, 5)


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
