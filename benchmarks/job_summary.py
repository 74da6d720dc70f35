"""The benchmark line of a training run (scripts/gpu_job.sh): audio seconds per second, MFU from hand-counted FLOPs,
compile time, and each evaluated set's mean F1 scores.

  python benchmarks/job_summary.py --workdir=RUN [--train_seconds=S] [--eval=EVAL.json]

FLOPs per step = 3 x the forward FLOPs (models.count_flops: every conv and dense layer counted from its shapes;
XLA's GPU cost analysis leaves out cuDNN convolutions) x the global batch. MFU = achieved FLOP/s over the chip's
dense bf16 peak (PEAK_FLOPS, the vendor's number; none for CPUs). Steady-state speed is the median of the logged
rates after the first two logs (those include compilation). Prints one JSON line.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import numpy as np
from absl import app, flags

from pianojax import checkpoints, models

_WORKDIR = flags.DEFINE_string("workdir", None, "Training run folder (checkpoints/, metrics.jsonl).", required=True)
_TRAIN_SECONDS = flags.DEFINE_float("train_seconds", 0.0, "Wall-clock seconds of the training command.")
_EVAL = flags.DEFINE_string("eval", "", "gpu_job.sh's eval.json (each set's mean scores) to summarise.")

PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}  # dense bf16 (NVIDIA data sheets)


def peak_for(device_kind: str) -> float | None:
  return next((v for k, v in PEAK_FLOPS.items() if k in device_kind), None)


def main(argv):
  del argv
  config, _, step = checkpoints.read_config(os.path.join(_WORKDIR.value, "checkpoints"))
  rows = [json.loads(line) for line in open(os.path.join(_WORKDIR.value, "metrics.jsonl"))]
  rates = [r["steps_per_second"] for r in rows if "steps_per_second" in r]
  first = next((r["first_step_seconds"] for r in rows if "first_step_seconds" in r), None)
  steady = float(np.median(rates[2:] if len(rates) > 2 else rates)) if rates else 0.0
  model = models.build(config)
  samples = config.data.segment_frames * config.frontend.hop_length
  variables = jax.eval_shape(lambda: model.init(jax.random.key(0), np.zeros((1, samples), np.float32)))
  forward = models.count_flops(model, variables, (1, samples))["total"]
  batch = config.train.batch_size
  achieved = 3 * forward * batch * steady
  device = jax.devices()[0]
  peak = peak_for(device.device_kind)
  out = {
    "benchmark": "training_job",
    "device": device.device_kind,
    "devices": jax.device_count(),
    "step": step,
    "batch": batch,
    "steps_per_s": round(steady, 3),
    "audio_s_per_s": round(steady * batch * samples / config.frontend.sample_rate, 1),
    "fwd_gflop_per_example": round(forward / 1e9, 3),
    "tflop_per_s": round(achieved / 1e12, 2),
    "mfu": round(achieved / peak / jax.device_count(), 4) if peak else None,
    "first_step_s": round(first, 1) if first is not None else None,
    "train_seconds": _TRAIN_SECONDS.value,
    "data_source": config.data.source,
  }
  if _EVAL.value and os.path.isfile(_EVAL.value):
    sets = json.load(open(_EVAL.value)).get("sets", {})  # (gpu_job.sh's: each pack's mean scores)
    out["eval"] = {
      name: {k: round(v, 4) for k, v in report["mean"].items() if k.endswith("_f1")} for name, report in sets.items()
    }
  print(json.dumps(out))


if __name__ == "__main__":
  app.run(main)
