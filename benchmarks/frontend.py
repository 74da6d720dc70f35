"""Frontend throughput: librosa vs the jitted pianojax frontend (log-mel).

8 x 60 s of 16 kHz audio, n_fft 2048, hop 160, 229 mels (full band), natural log.
Prints human-readable lines, then one JSON line last.

  python benchmarks/frontend.py [--seconds=60 --batch=8 --repeats=3 --skip_librosa]
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np
from absl import app, flags

from pianojax import frontend

_SECONDS = flags.DEFINE_float("seconds", 60.0, "Length of each signal.")
_BATCH = flags.DEFINE_integer("batch", 8, "Number of signals.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed repeats (best is reported).")
_SKIP_LIBROSA = flags.DEFINE_bool("skip_librosa", False, "Skip the librosa baseline (e.g. where it is not installed).")


def test_signals(batch, seconds, sample_rate):
  """Piano-like decaying harmonic tones over noise; FFT cost does not depend on content."""
  rng = np.random.default_rng(0)
  t = np.arange(int(seconds * sample_rate)) / sample_rate
  out = 0.01 * rng.standard_normal((batch, t.size))
  for i in range(batch):
    for onset in np.arange(0, seconds, 0.5):
      f0 = 27.5 * 2 ** (rng.integers(0, 88) / 12)
      env = np.where(t >= onset, np.exp(-3 * (t - onset)), 0)
      out[i] += 0.2 * env * np.sin(2 * np.pi * f0 * t)
  return out.astype(np.float32)


def best_time(fn, repeats):
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return min(times)


def main(argv):
  del argv
  spec = frontend.FrontendSpec(sample_rate=16000, n_fft=2048, hop_length=160, n_mels=229, band="full", log="log")
  audio = test_signals(_BATCH.value, _SECONDS.value, spec.sample_rate)
  total_seconds = _BATCH.value * _SECONDS.value
  device = jax.devices()[0]
  result = {
    "benchmark": "frontend",
    "device": f"{device.platform}:{device.device_kind}",
    "audio_seconds": total_seconds,
    "config": "n_fft=2048 hop=160 n_mels=229 log-mel",
  }

  variants = {"frame_block_128": 128} if device.platform == "cpu" else {}  # cache-friendly on a CPU
  variants["batched"] = None
  best = 0.0
  for name, block in variants.items():
    fn = jax.jit(lambda a, b=block: frontend.features(a, spec, frame_block=b))
    x = jax.device_put(audio)
    start = time.perf_counter()
    fn(x).block_until_ready()
    compile_s = time.perf_counter() - start
    run_s = best_time(lambda f=fn, x=x: f(x).block_until_ready(), _REPEATS.value)
    speed = total_seconds / run_s
    print(f"jax {name}: compile+first run {compile_s:.2f} s, {run_s:.3f} s per batch, {speed:,.0f}x real time")
    result[f"jax_{name}_compile_s"] = round(compile_s, 3)
    result[f"jax_{name}_x_realtime"] = round(speed, 1)
    best = max(best, speed)
  result["jax_x_realtime"] = round(best, 1)

  if not _SKIP_LIBROSA.value:
    import librosa

    def run_librosa():
      for y in audio:
        mel = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=2048, hop_length=160, n_mels=229)
        np.log(np.maximum(mel, 1e-5))

    start = time.perf_counter()
    librosa.feature.melspectrogram(y=audio[0, :16000], sr=16000, n_fft=2048, hop_length=160, n_mels=229)
    result["librosa_warmup_s"] = round(time.perf_counter() - start, 3)
    run_s = best_time(run_librosa, _REPEATS.value)
    result["librosa_x_realtime"] = round(total_seconds / run_s, 1)
    result["jax_over_librosa"] = round(best / result["librosa_x_realtime"], 2)
    print(f"librosa: {run_s:.3f} s per batch, {result['librosa_x_realtime']:,.0f}x real time")
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
