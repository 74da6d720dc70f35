"""Training-step throughput: compile time, step time, audio seconds per second, FLOPs and MFU.

  python benchmarks/train.py [--config=configs/default.py] [--config.train.batch_size=32] [--steps=20]

Without --config: configs/default.py (the GPU model) on an accelerator, configs/ensembles.py (the recipe that
trained the shipped CPU model, its network) on a CPU, where the GPU model's batch would need ~98 GB.

Times the jitted train step alone on a fixed random batch already on the device (the
input pipeline is measured by benchmarks/data.py). FLOPs are counted by hand from every
conv and dense layer's shapes (XLA's GPU cost analysis leaves out cuDNN convolutions):
forward x 3 for forward + backward. MFU is against the card's dense bf16 peak; on a CPU the reference is
the f32 matmul rate XLA reaches on this machine (measured here, `train_common.matmul_flops`).
Prints one JSON line last.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np
import train_common
from absl import app, flags
from ml_collections import config_flags

from pianojax import allocator, models, settings

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Config file.", lock_config=False)
_STEPS = flags.DEFINE_integer("steps", 20, "Timed steps.")
_WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed steps after compilation.")
_LABEL = flags.DEFINE_string("label", "", "A name for this row.")

# Dense bf16 tensor-core peak (FLOP/s), by device kind substring.
PEAK_BF16 = {"H200": 989.4e12, "H100": 989.4e12, "A100": 312e12, "L4": 121e12}


def peak_flops(device) -> float | None:
  for name, peak in PEAK_BF16.items():
    if name in device.device_kind:
      return peak
  return None


def main(argv):
  del argv
  allocator.use_tcmalloc()  # as launch.py's training modes do (PIANOJAX_ALLOCATOR=system: glibc's malloc)
  config = _CONFIG.value
  if not flags.FLAGS["config"].present and jax.default_backend() == "cpu":
    from configs import ensembles

    config = ensembles.get_config()
    config.update_from_flattened_dict(config_flags.get_override_values(flags.FLAGS["config"]))
    print("no --config on a CPU: configs/ensembles.py (the shipped CPU model) with the --config.* overrides")
  config = settings.normalize(config)
  model, state, batch, compiled, compile_s = train_common.compiled_step(config)
  samples = config.data.segment_frames * config.frontend.hop_length
  batch_size = config.train.batch_size
  for _ in range(_WARMUP.value):
    state, metrics = compiled(state, batch)
  jax.block_until_ready(metrics)
  start = time.perf_counter()
  for _ in range(_STEPS.value):
    state, metrics = compiled(state, batch)
  jax.block_until_ready(metrics)
  step_s = (time.perf_counter() - start) / _STEPS.value

  fwd = models.count_flops(model, state.variables, (1, samples))
  flops_per_step = 3.0 * fwd["total"] * batch_size
  audio_s = batch_size * samples / config.frontend.sample_rate
  device = jax.devices()[0]
  result = {
    "benchmark": "train",
    "label": _LABEL.value,
    "device": f"{device.platform}:{device.device_kind}",
    "devices": len(jax.devices()),
    "dtype": config.model.dtype,
    "allocator": allocator.active(),
    "batch": batch_size,
    "segment_frames": config.data.segment_frames,
    "params": int(sum(np.prod(x.shape) for x in jax.tree.leaves(state.params))),
    "compile_s": round(compile_s, 2),
    "step_s": round(step_s, 5),
    "audio_s_per_s": round(audio_s / step_s, 1),
    "model_flops_per_step": flops_per_step,
    "forward_gflop_per_audio_s": round(fwd["total"] * batch_size / audio_s / 1e9, 3),
    "achieved_tflops": round(flops_per_step / step_s / 1e12, 2),
    "loss": float(metrics["loss/total"]),
  }
  peak = peak_flops(device)
  if peak:
    result["mfu"] = round(flops_per_step / step_s / peak, 4)
  achieved = f"{result['achieved_tflops']} TFLOP/s" + (f", MFU {result['mfu']:.1%}" if peak else "")
  if device.platform == "cpu":
    matmul = train_common.matmul_flops()
    result["achieved_gflops"] = round(flops_per_step / step_s / 1e9, 1)
    result["matmul_gflops"] = round(matmul / 1e9, 1)
    result["share_of_matmul"] = round(flops_per_step / step_s / matmul, 3)
    achieved = (
      f"{result['achieved_gflops']} GFLOP/s = {result['share_of_matmul']:.0%} of this machine's f32 matmul rate"
      f" ({result['matmul_gflops']} GFLOP/s)"
    )
  print(
    f"{result['label'] or 'train'}: compile {compile_s:.1f} s, {step_s * 1000:.1f} ms/step, "
    f"{result['audio_s_per_s']:,.0f} audio s/s, {achieved}"
  )
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
