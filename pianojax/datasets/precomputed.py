"""Precomputed features: a TFDS dataset of frontend outputs, made from one of our audio datasets.

The research notes weigh two ways to feed the network: raw waveforms with the frontend
inside the jitted step (the default: any frontend flag works without rebuilding data, and
waveform augmentation is possible), or features computed once and stored. This builder
makes the second: for dataset `chords` it stores, per example, the `(frames, bins)`
features of the whole clip (float16) with the same labels. Its config name carries a digest
of the source dataset and every frontend setting, so a changed flag never reads stale
features. Train with `--config.data.precomputed=True`; `benchmarks/data.py` compares the two.

What you give up: waveform augmentation (gain, noise, pitch shift, detune, time stretch,
mixup) cannot run on stored features; spectrogram masking still runs on the device.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np
import tensorflow_datasets as tfds

from pianojax.datasets import encoding


@dataclasses.dataclass(eq=False)
class FeaturesConfig(tfds.core.BuilderConfig):
  source_name: str = ""  # our dataset name, e.g. "chords"
  source_path: str = ""  # the built source dataset (its data_path)
  frontend: str = "{}"  # FrontendSpec as JSON
  num_bins: int = 0
  frame_rate: float = 0.0


def make_config(name: str, source_builder, spec) -> FeaturesConfig:
  from pianojax import frontend

  settings = dataclasses.asdict(spec)
  bins = int(frontend.features(np.zeros((1, spec.n_fft), np.float32), spec).shape[-1])
  key = json.dumps({"source": source_builder.builder_config.name, "frontend": settings}, sort_keys=True)
  digest = hashlib.sha1(key.encode()).hexdigest()[:8]
  return FeaturesConfig(
    name=f"{name}_{digest}",
    description=key,
    source_name=name,
    source_path=str(source_builder.data_path),
    frontend=json.dumps(settings, sort_keys=True),
    num_bins=bins,
    frame_rate=spec.sample_rate / spec.hop_length,
  )


def feature_spec(num_bins: int):
  def vec(dtype):
    return tfds.features.Tensor(shape=(None,), dtype=dtype)

  return tfds.features.FeaturesDict(
    {
      # (frames * bins,) float16, row-major; num_bins is in the metadata.
      "features": tfds.features.Tensor(shape=(None,), dtype=np.float16, encoding=tfds.features.Encoding.BYTES),
      "num_samples": tfds.features.Tensor(shape=(), dtype=np.int64),
      "notes": {
        "pitch": vec(np.int32),
        "onset": vec(np.float32),
        "offset": vec(np.float32),
        "offset_pedal": vec(np.float32),
        "velocity": vec(np.int32),
      },
      "pedal": {"time": vec(np.float32), "value": vec(np.int32)},
      "soundfont": tfds.features.Tensor(shape=(), dtype=np.str_),
      "kind": tfds.features.Tensor(shape=(), dtype=np.str_),
      "id": tfds.features.Tensor(shape=(), dtype=np.str_),
    }
  )


class PianojaxFeatures(tfds.core.GeneratorBasedBuilder):
  """Frontend features (float16) of one of our audio datasets, with its labels."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}  # noqa: RUF012  (TFDS convention)
  BUILDER_CONFIGS = []  # noqa: RUF012  (always built from make_config)

  def _info(self) -> tfds.core.DatasetInfo:
    cfg = self.builder_config
    return self.dataset_info_from_configs(
      features=feature_spec(cfg.num_bins),
      description=f"Precomputed frontend features of {cfg.source_name}: {cfg.frontend}",
      metadata=tfds.core.MetadataDict(num_bins=cfg.num_bins, frame_rate=cfg.frame_rate, frontend=cfg.frontend),
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    source = tfds.builder_from_directory(self.builder_config.source_path)
    return {split: self._generate_examples(source, split) for split in source.info.splits}

  def _generate_examples(self, source_builder, split: str):
    import jax

    from pianojax import frontend

    spec = frontend.FrontendSpec(**json.loads(self.builder_config.frontend))
    compute = jax.jit(lambda audio: frontend.features(audio, spec))
    source = source_builder.as_data_source(split)
    second = spec.sample_rate
    for i in range(len(source)):
      ex = source[i]
      audio = ex["audio"].astype(np.float32) / 32768.0
      frames = 1 + len(audio) // spec.hop_length
      padded = np.zeros(-(-max(len(audio), 1) // second) * second, np.float32)  # whole seconds: few compiles
      padded[: len(audio)] = audio
      feats = np.asarray(compute(padded[None]))[0, :frames].astype(np.float16)
      yield (
        encoding.as_str(ex["id"]),  # the source's key: the same shuffled order as the audio dataset
        {
          "features": feats.reshape(-1),
          "num_samples": np.int64(len(audio)),
          "notes": ex["notes"],
          "pedal": ex["pedal"],
          "soundfont": ex["soundfont"],
          "kind": ex["kind"],
          "id": ex["id"],
        },
      )
