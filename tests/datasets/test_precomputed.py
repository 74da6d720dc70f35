"""Precomputed features: the stored dataset equals the jitted frontend on the audio, and trains."""

import jax
import numpy as np
import pytest

from pianojax import datasets, frontend, input_pipeline, trainer
from tests.conftest import tiny_config


@pytest.fixture(scope="module")
def config(tmp_path_factory):
  c = tiny_config(tmp_path_factory.mktemp("tfds"), **{"data.train": ("chords",), "data.train_weights": (1.0,)})
  c.data.precomputed = True
  datasets.build(c, ["chords"], log=lambda *_: None)  # builds the audio, then its features
  return c


def test_features_match_the_frontend(config):
  audio_src = datasets.data_source(config, "chords", "train")
  feat_src = datasets.data_source(config, "chords", "train", precomputed=True)
  assert len(feat_src) == len(audio_src)
  spec = frontend.FrontendSpec.from_config(config.frontend)
  for i in range(2):
    audio = audio_src[i]["audio"].astype(np.float32) / 32768.0
    expected = np.asarray(jax.jit(lambda a: frontend.features(a, spec))(audio[None]))[0]
    ex = feat_src[i]
    stored = ex["features"].reshape(1 + int(ex["num_samples"]) // spec.hop_length, -1).astype(np.float32)
    assert stored.shape == expected.shape
    np.testing.assert_allclose(stored, expected, atol=2e-2, rtol=2e-3)  # float16 storage
    np.testing.assert_array_equal(ex["notes"]["pitch"], audio_src[i]["notes"]["pitch"])


def test_feature_crops_carry_labels_and_train(config, tmp_path):
  sources, weights = trainer.training_sources(config)
  stream = input_pipeline.TrainSegments(sources, weights, input_pipeline.SegmentSpec.from_config(config), seed=0)
  item = stream[0]
  assert "audio" not in item and item["features"].shape == (config.data.segment_frames, config.frontend.n_mels)
  assert item["mask"].all() and item["frame"].shape == (config.data.segment_frames, 88)
  assert sum(stream[i]["onset"].sum() for i in range(8)) > 0  # chords: onsets inside crops
  config.train.steps = 3
  config.train.eval_datasets = ()
  result = trainer.train_and_evaluate(config, str(tmp_path / "run"), log=lambda *_: None)
  assert result["step"] == 3
