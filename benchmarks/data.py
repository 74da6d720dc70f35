"""Data throughput: FluidSynth rendering speed per SoundFont, input-pipeline segments per second, and the device
synthesiser's audio seconds per second.

  python benchmarks/data.py [--config=configs/default.py] [--seconds_per_font=60] [--steps=20]
      [--parts=render,pipeline,device]

device: batches of `--batch` segments synthesised by pianojax/synth/device.py on this machine's first device (its
assets under --config.data.device.assets_dir, built first where missing; performances from
--config.data.synth.midi_dir when set), timed after compilation; the compile time is reported apart.

Builds a small synthetic dataset (mixtures + performances, in a temp dir unless
--config.data.tfds_dir is set), then times the training pipeline (random crops,
augmentation, frame targets, batching with grain threads) for the config's segment
length, both ways the research notes weigh:
  on-the-fly   waveform crops + waveform augmentation; the frontend runs in the jitted step
               (its cost on this machine's devices is timed separately: frontend_segments_per_s);
  precomputed  crops of stored features (datasets.precomputed; no waveform augmentation).
Also the bytes stored per audio second of each. Prints one JSON line last.
"""

import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from pianojax import datasets, frontend, input_pipeline
from pianojax.synth import materials, soundfonts
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Config file.", lock_config=False)
_SECONDS = flags.DEFINE_float("seconds_per_font", 60.0, "Audio seconds rendered per SoundFont.")
_STEPS = flags.DEFINE_integer("steps", 20, "Pipeline batches to time.")
_BATCH = flags.DEFINE_integer("batch", 32, "Global batch (segments per step).")
_THREADS = flags.DEFINE_integer("threads", 2, "grain reader threads.")
_PARTS = flags.DEFINE_list("parts", ["render", "pipeline", "device"], "What to time.")


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
  result["device"] = str(jax.devices()[0].platform)
  if "render" in _PARTS.value:
    result["render_audio_s_per_cpu_s"] = render_speed(config.frontend.sample_rate)
  if "device" in _PARTS.value:
    result.update(device_speed(config))
  if "pipeline" in _PARTS.value:
    pipeline_speed(config, result)
  print(json.dumps(result))


def device_speed(config) -> dict:
  """Audio seconds per second of the device synthesiser (after compiling), and its compile time."""
  from pianojax.synth import device

  device.build_assets(config)
  synth = device.from_config(config)
  make = synth.batch_fn(_BATCH.value)
  start = time.perf_counter()
  jax.block_until_ready(make(jax.random.key(0)))
  compile_s = time.perf_counter() - start
  start = time.perf_counter()
  for i in range(_STEPS.value):
    jax.block_until_ready(make(jax.random.key(i + 1)))
  elapsed = time.perf_counter() - start
  seconds = _STEPS.value * _BATCH.value * synth.num_samples / synth.rate
  out = {
    "device_synth_audio_s_per_s": round(seconds / elapsed, 1),
    "device_synth_compile_s": round(compile_s, 1),
    "device_synth_variety": bool(config.data.device.variety_on),
    "device_synth_performances": synth.num_performances,
  }
  print(
    f"device synthesis on {jax.devices()[0].platform}: {out['device_synth_audio_s_per_s']:,} audio s/s "
    f"(compiled in {compile_s:.1f} s)"
  )
  return out


def pipeline_speed(config, result: dict) -> None:
  """The host pipeline over a small rendered dataset, on-the-fly and precomputed; the frontend alone."""

  with tempfile.TemporaryDirectory() as tmp:
    if config.data.tfds_dir == "outputs/tfds":
      config.data.tfds_dir = tmp
    config.data.synth.sizes = {"train": 32, "validation": 0, "test": 0}
    names = ["mixtures", "performances"]
    datasets.build(config, names)
    spec = input_pipeline.SegmentSpec.from_config(config)
    segments = _STEPS.value * _BATCH.value
    seconds = segments * spec.segment_samples / spec.sample_rate
    for way in ("onthefly", "precomputed"):
      precomputed = way == "precomputed"
      if precomputed:
        t0 = time.perf_counter()
        datasets.build_features(config, names)
        result["precompute_audio_s_per_s"] = round(_stored_seconds(config, names) / (time.perf_counter() - t0), 1)
      sources = [datasets.data_source(config, n, "train", precomputed=precomputed) for n in names]
      stream = input_pipeline.TrainSegments(sources, [1, 1], spec, config.data.augment, seed=0)
      elapsed = _time_batches(stream)
      result[f"{way}_segments_per_s"] = round(segments / elapsed, 1)
      result[f"{way}_audio_s_per_s"] = round(seconds / elapsed, 1)
      result[f"{way}_bytes_per_audio_s"] = _bytes_per_second(config, names, precomputed)
      rate, audio_rate = result[f"{way}_segments_per_s"], result[f"{way}_audio_s_per_s"]
      print(f"pipeline {way}: {rate} segments/s ({audio_rate} audio s/s)")
  result["frontend_segments_per_s"] = _frontend_rate(config, spec)
  print(f"frontend on {result['device']}: {result['frontend_segments_per_s']} segments/s")


def _time_batches(stream) -> float:
  it = input_pipeline.batches(stream, _BATCH.value, threads=_THREADS.value)
  next(it)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    next(it)
  return time.perf_counter() - start


def _stored_seconds(config, names) -> float:
  total = 0
  for n in names:
    src = datasets.data_source(config, n, "train")
    total += sum(len(src[i]["audio"]) for i in range(len(src)))
  return total / config.frontend.sample_rate


def _bytes_per_second(config, names, precomputed: bool) -> int:
  size = 0
  for n in names:
    b = datasets.features_builder(config, n) if precomputed else datasets.builder(config, n)
    size += sum(os.path.getsize(os.path.join(b.data_path, f)) for f in os.listdir(b.data_path) if "train" in f)
  return int(size / _stored_seconds(config, names))


def _frontend_rate(config, spec) -> float:
  """Segments per second through the jitted frontend alone, on this machine's first device."""
  fe = frontend.FrontendSpec.from_config(config.frontend)
  compute = jax.jit(lambda a: frontend.features(a, fe))
  batch = np.random.default_rng(0).standard_normal((_BATCH.value, spec.segment_samples)).astype(np.float32) * 0.1
  jax.block_until_ready(compute(batch))
  start = time.perf_counter()
  for _ in range(5):
    jax.block_until_ready(compute(batch))
  return round(5 * _BATCH.value / (time.perf_counter() - start), 1)


if __name__ == "__main__":
  app.run(main)
