"""Data throughput: FluidSynth rendering speed per SoundFont, and input-pipeline segments per second.

  python benchmarks/data.py [--config=configs/default.py] [--seconds_per_font=60] [--steps=20]

Builds a small synthetic dataset (mixtures + performances, in a temp dir unless
--config.data.tfds_dir is set), then times the training pipeline (random crops,
augmentation, frame targets, batching with grain threads) for the config's segment
length. Prints one JSON line last.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np
from absl import app, flags
from ml_collections import config_flags

from pianojax import datasets, input_pipeline
from pianojax.synth import materials, soundfonts
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Config file.", lock_config=False)
_SECONDS = flags.DEFINE_float("seconds_per_font", 60.0, "Audio seconds rendered per SoundFont.")
_STEPS = flags.DEFINE_integer("steps", 20, "Pipeline batches to time.")
_BATCH = flags.DEFINE_integer("batch", 32, "Global batch (segments per step).")
_THREADS = flags.DEFINE_integer("threads", 2, "grain reader threads.")


def render_speed(sample_rate: int) -> dict[str, float]:
  """Audio seconds rendered per CPU second, per installed SoundFont (mixtures: piano + others)."""
  out = {}
  renderer = Renderer(sample_rate)
  for font in soundfonts.available():
    rng = np.random.default_rng(0)
    make_example(materials.mixture(rng, 2.0), renderer, font, rng)  # load + warm the synth
    done, cpu = 0.0, time.process_time()
    while done < _SECONDS.value:
      make_example(materials.sequences(rng, 10.0), renderer, font, rng, reverb=False)
      done += 10.0
    out[font] = round(done / (time.process_time() - cpu), 1)
    print(f"render {font}: {out[font]:,.0f} audio s per CPU s")
  renderer.close()
  return out


def main(argv):
  del argv
  config = _CONFIG.value
  result = {"benchmark": "data", "segment_frames": config.data.segment_frames, "batch": _BATCH.value}
  result["render_audio_s_per_cpu_s"] = render_speed(config.frontend.sample_rate)

  with tempfile.TemporaryDirectory() as tmp:
    if config.data.tfds_dir == "outputs/tfds":
      config.data.tfds_dir = tmp
    config.data.synth.sizes = {"train": 32, "validation": 0, "test": 0}
    names = ["mixtures", "performances"]
    datasets.build(config, names)
    sources = [datasets.data_source(config, n, "train") for n in names]
    spec = input_pipeline.SegmentSpec.from_config(config)
    stream = input_pipeline.TrainSegments(sources, [1, 1], spec, config.data.augment, seed=0)
    it = input_pipeline.batches(stream, _BATCH.value, threads=_THREADS.value)
    next(it)
    start = time.perf_counter()
    for _ in range(_STEPS.value):
      next(it)
    elapsed = time.perf_counter() - start
  segments = _STEPS.value * _BATCH.value
  result["pipeline_segments_per_s"] = round(segments / elapsed, 1)
  result["pipeline_audio_s_per_s"] = round(segments * spec.segment_samples / spec.sample_rate / elapsed, 1)
  print(f"pipeline: {result['pipeline_segments_per_s']} segments/s ({result['pipeline_audio_s_per_s']} audio s/s)")
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
