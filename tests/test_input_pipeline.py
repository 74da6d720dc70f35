"""The training stream (deterministic, augmented, resumable) and its sharded batches, on built datasets (the shared
tiny chords and mixtures: building every synthetic dataset is test_synthetic.py's)."""

import jax
import numpy as np

from pianojax import datasets, input_pipeline
from pianojax import mesh as mesh_lib
from tests.conftest import tiny_config


def test_train_segments_deterministic_augmented_and_shifted(tfds_dir):
  cfg = tiny_config(tfds_dir)
  spec = input_pipeline.SegmentSpec.from_config(cfg)
  src = datasets.data_source(cfg, "chords", "train")
  plain = input_pipeline.TrainSegments([src], [1.0], spec, None, seed=1)
  aug_cfg = cfg.data.augment.to_dict()
  aug_cfg.update(pitch_shift=4, detune_cents=0.0, mixup_prob=0.0, noise_prob=0.0, gain_db=0.0)
  aug = input_pipeline.TrainSegments([src], [1.0], spec, _Cfg(aug_cfg), seed=1)
  a, b = plain[5], plain[5]
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])
  assert a["audio"].shape == (spec.segment_samples,) and a["frame"].shape == (spec.segment_frames, 88)
  assert not np.array_equal(plain[5]["audio"], plain[6]["audio"])
  moved = 0
  for i in range(12):
    p, q = plain[i], aug[i]
    if p["frame"].any() and q["frame"].any():
      pk = np.nonzero(p["frame"].any(0))[0]
      qk = np.nonzero(q["frame"].any(0))[0]
      shift = int(qk[0]) - int(pk[0])
      assert abs(shift) <= 4
      moved += shift != 0
  assert moved > 0


class _Cfg(dict):
  __getattr__ = dict.__getitem__


def test_batches_shard_over_8_devices(tfds_dir):
  cfg = tiny_config(tfds_dir)
  assert jax.device_count() == 8
  spec = input_pipeline.SegmentSpec.from_config(cfg)
  src = datasets.data_source(cfg, "mixtures", "train")
  stream = input_pipeline.TrainSegments([src], [1.0], spec, cfg.data.augment, seed=0)
  mesh = mesh_lib.data_mesh()
  it = input_pipeline.batches(stream, 16, start_step=3, num_steps=2)
  batch = mesh_lib.to_global(next(it), mesh)
  assert batch["audio"].shape == (16, spec.segment_samples)
  assert len(batch["audio"].sharding.device_set) == 8
  assert batch["audio"].addressable_shards[0].data.shape == (2, spec.segment_samples)
  # Step 3 of a fresh iterator equals step 3 reached by resuming there: resumable position.
  again = next(input_pipeline.batches(stream, 16, start_step=3, num_steps=1))
  np.testing.assert_array_equal(np.asarray(batch["audio"]), again["audio"])
  np.testing.assert_array_equal(again["audio"][0], stream[48]["audio"])
