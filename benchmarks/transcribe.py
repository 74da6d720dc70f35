"""Transcription speed on this machine: load + compile time, real-time factor for 60 s and 10 min, peak RSS.

  python benchmarks/transcribe.py [--checkpoint=RUN] [--config=configs/tiny.py]

With --checkpoint the model (and its config) come from the checkpoint, as in
`launch.py --mode=transcribe`; without, the config's model with fresh weights (speed does
not depend on the weights). Audio: rendered piano sequences, looped to length, written
to WAV and read back through the same loader. Prints one JSON line last.
"""

import json
import os
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from pianojax import audio_io, inference, models, settings, state

_CONFIG = config_flags.DEFINE_config_file("config", "configs/tiny.py", "Config (without --checkpoint).")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A trained run to load instead of fresh weights.")
_LENGTHS = flags.DEFINE_list("seconds", ["60", "600"], "Audio lengths to time.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed runs per length; the median is reported (this CPU varies ~10%).")
_BATCH = flags.DEFINE_integer("batch_size", None, "Segments per forward call (default: what transcribe uses).")


def piano_audio(seconds: float, rate: int) -> np.ndarray:
  from pianojax.synth import materials
  from pianojax.synth.examples import make_example
  from pianojax.synth.render import Renderer

  rng = np.random.default_rng(0)
  piece, _ = make_example(materials.sequences(rng, 30.0), Renderer(rate), "timgm6mb", rng)
  reps = int(np.ceil(seconds * rate / len(piece)))
  return (np.tile(piece, reps)[: int(seconds * rate)].astype(np.float32)) / 32768.0


def main(argv):
  del argv
  start = time.perf_counter()
  if _CHECKPOINT.value:
    predictor = inference.Predictor.from_checkpoint(_CHECKPOINT.value, batch_size=_BATCH.value)
  else:
    config = settings.normalize(_CONFIG.value)
    model = models.build(config)
    variables = jax.jit(lambda r: state.init_variables(model, config, r))(jax.random.key(0))
    predictor = inference.Predictor(config, model, variables, batch_size=_BATCH.value)
  config = predictor.config
  rate = config.frontend.sample_rate
  warm = np.zeros(config.data.segment_frames * config.frontend.hop_length, np.float32)
  inference.transcribe_audio(predictor, warm)  # compiles the forward pass
  load_compile_s = time.perf_counter() - start
  samples = config.data.segment_frames * config.frontend.hop_length
  fwd = models.count_flops(predictor.model, predictor.variables, (1, samples))
  result = {
    "benchmark": "transcribe",
    "device": f"{jax.devices()[0].platform}:{jax.devices()[0].device_kind}",
    "model": _CHECKPOINT.value or "fresh weights",
    "load_compile_s": round(load_compile_s, 2),
    "forward_gflop_per_audio_s": round(fwd["total"] / (samples / rate) / 1e9, 3),
  }
  with tempfile.TemporaryDirectory() as tmp:
    for seconds in [float(s) for s in _LENGTHS.value]:
      path = os.path.join(tmp, "x.wav")
      audio_io.write_wav(path, piano_audio(seconds, rate), rate)
      times = []
      for _ in range(_REPEATS.value):
        t0 = time.perf_counter()
        audio = audio_io.load_audio(path, rate)
        found, _ = inference.transcribe_audio(predictor, audio)
        times.append(time.perf_counter() - t0)
      elapsed = float(np.median(times))
      result[f"x_realtime_{int(seconds)}s"] = round(seconds / elapsed, 1)
      runs = ", ".join(f"{seconds / t:.1f}x" for t in times)
      speed = f"median {elapsed:.2f} s -> {seconds / elapsed:,.1f}x real time ({runs})"
      print(f"{seconds:.0f} s of audio: {speed}, {len(found)} notes")
  result["peak_rss_gb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 3)
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
