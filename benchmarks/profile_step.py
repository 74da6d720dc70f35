"""Where a train step's time goes, op by op: a `jax.profiler` trace of a few steps, summed per XLA op.

  python benchmarks/profile_step.py [--config=configs/ensembles.py] [--steps=3] [--top=25]

Runs the jitted train step on a fixed random batch (as benchmarks/train.py does), traces `--steps`
(the step is slower while traced: time it with benchmarks/train.py)
steps, and sums the trace's events per XLA op (every thread), then per op kind (`transpose_copy_fusion`,
`ynn_fusion`, ...) and per model layer and pass (from each op's `op_name`: forward, or `transpose(...)`
= backward). Also reports the step's temporary buffer size and its minor page faults, the two numbers
that showed the CPU step was spending a fifth of its time re-faulting memory (pianojax/allocator.py).
Reading the trace needs TensorFlow's copy of the XPlane protobuf (the dataset-building install has it).
Prints one JSON line last.
"""

import collections
import glob
import json
import os
import re
import resource
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import jax
import train_common
from absl import app, flags
from ml_collections import config_flags

from pianojax import allocator, settings

_CONFIG = config_flags.DEFINE_config_file("config", "configs/ensembles.py", "Config file.", lock_config=False)
_STEPS = flags.DEFINE_integer("steps", 3, "Traced steps.")
_TOP = flags.DEFINE_integer("top", 25, "Rows per table.")


def op_events(trace_dir: str) -> collections.Counter:
  """Milliseconds per XLA op name in the trace under `trace_dir` (all threads)."""
  from tensorflow.tsl.profiler.protobuf import xplane_pb2

  space = xplane_pb2.XSpace()
  with open(glob.glob(os.path.join(trace_dir, "**", "*.xplane.pb"), recursive=True)[0], "rb") as f:
    space.ParseFromString(f.read())
  totals = collections.Counter()
  for plane in space.planes:
    names = {k: v.name for k, v in plane.event_metadata.items()}
    for line in plane.lines:
      if "Eigen" not in line.name and "PjRtCpuClient" not in line.name and "/device:" not in plane.name:
        continue
      for event in line.events:
        name = names.get(event.metadata_id, "")
        if name and not name.startswith("ThunkExecutor"):
          totals[name] += event.duration_ps / 1e9
  return totals


def op_names(hlo_text: str) -> dict[str, str]:
  """XLA op -> the JAX op_name it came from (layer path; `transpose(` marks the backward pass)."""
  out = {}
  for line in hlo_text.splitlines():
    m = re.match(r"\s*(?:ROOT )?%?([\w.\-]+) = .*?op_name=\"([^\"]*)\"", line)
    if m and m.group(1) not in out:
      out[m.group(1)] = m.group(2)
  return out


def layer_of(op_name: str) -> str:
  """'fwd|bwd Module/Path' with repeated layers merged (DenseLayer_3 -> DenseLayer_*)."""
  direction = "bwd" if "transpose(jvp" in op_name else "fwd"
  parts = [p for p in re.sub(r"^jit\(\w+\)/", "", op_name).split("/") if p[:1].isupper() or "(" in p]
  path = "/".join(re.sub(r"^(transpose\()?(jvp\()?|\)+$", "", p) for p in parts[:4])
  return f"{direction} {re.sub(r'Layer_[0-9]+', 'Layer_*', path)}"


def table(counter: collections.Counter, steps: int, top: int) -> list[tuple[str, float]]:
  return [(k, round(v / steps, 1)) for k, v in counter.most_common(top)]


def main(argv):
  del argv
  allocator.use_tcmalloc()
  config = settings.normalize(_CONFIG.value)
  _, state, batch, compiled, _ = train_common.compiled_step(config)
  for _ in range(2):
    state, metrics = compiled(state, batch)
  jax.block_until_ready(metrics)
  faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  start = time.perf_counter()
  with tempfile.TemporaryDirectory() as trace_dir:
    with jax.profiler.trace(trace_dir):
      for _ in range(_STEPS.value):
        state, metrics = compiled(state, batch)
      jax.block_until_ready(metrics)
    step_ms = (time.perf_counter() - start) / _STEPS.value * 1000
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults) / _STEPS.value
    ops = op_events(trace_dir)
  names = op_names(compiled.as_text())
  kinds, layers = collections.Counter(), collections.Counter()
  for op, ms in ops.items():
    kinds[re.sub(r"\.\d+$", "", op)] += ms
    layers[layer_of(names[op]) if op in names else "(no op_name) " + re.sub(r"\.\d+$", "", op)] += ms
  steps, top = _STEPS.value, _TOP.value
  for title, rows in (("op kind", table(kinds, steps, top)), ("layer", table(layers, steps, top))):
    print(f"\nms per step by {title}:")
    for name, ms in rows:
      print(f"  {ms:8.1f}  {name}")
  result = {
    "benchmark": "profile_step",
    "allocator": allocator.active(),
    "step_ms_traced": round(step_ms, 1),
    "op_ms_per_step": round(sum(ops.values()) / steps, 1),
    "temp_mb": round(compiled.memory_analysis().temp_size_in_bytes / 1e6, 1),
    "minor_faults_per_step": round(faults),
    "top_kinds": table(kinds, steps, 8),
    "top_layers": table(layers, steps, 8),
  }
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
