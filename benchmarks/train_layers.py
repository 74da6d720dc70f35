"""Where a train step's time goes on this machine: every conv and dense layer of the model timed alone.

  python benchmarks/train_layers.py [--config=configs/ensembles.py] [--batch=8] [--repeats=5]

Each conv / dense call of the model (shapes as one training step at `--batch` sees them) is
rebuilt as its own jitted function and timed forward, and forward + backward (the gradient with
respect to its input and its kernel, what training computes), with its FLOPs counted by hand
(2 x output positions x Cin x Cout x kernel area; backward = 2 x forward). The frontend and the
whole train step are timed too, so the table says which operations XLA's backend runs far below
the machine's matmul rate (also measured here: an f32 2048 x 2048 x 2048 matmul). Prints one JSON
line last.
"""

import collections
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import train_common
from absl import app, flags
from ml_collections import config_flags

from pianojax import frontend, models, settings
from pianojax import state as state_lib

_CONFIG = config_flags.DEFINE_config_file("config", "configs/ensembles.py", "Config file.", lock_config=False)
_BATCH = flags.DEFINE_integer("batch", None, "Examples per step (default: the config's train.batch_size).")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls per layer (the best is kept).")


def best_time(fn, *args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return min(times)


def layer_calls(model, variables, batch_shape):
  """(name, module, input shape) of every Conv / Dense call in one forward pass."""
  calls = []

  def interceptor(next_fun, args, kwargs, context):
    mod = context.module
    if context.method_name == "__call__" and isinstance(mod, nn.Conv | nn.Dense):
      calls.append(("/".join(mod.path), mod.clone(parent=None), args[0].shape, args[0].dtype))
    return next_fun(*args, **kwargs)

  with nn.intercept_methods(interceptor):
    jax.eval_shape(
      lambda v, x: model.apply(v, x, train=False, beat_ids=models.dummy_beat_ids(batch_shape[0], model.num_frames)),
      variables,
      jax.ShapeDtypeStruct(batch_shape, jnp.float32),
    )
  return calls


def describe(mod, shape) -> str:
  if isinstance(mod, nn.Dense):
    return f"dense {shape[-1]}->{mod.features}"
  k = "x".join(map(str, mod.kernel_size))
  strides = mod.strides if isinstance(mod.strides, tuple | list) else (mod.strides or 1,)
  dil = mod.kernel_dilation if isinstance(mod.kernel_dilation, tuple | list) else (mod.kernel_dilation or 1,)
  extra = (f" stride {tuple(strides)}" if any(s != 1 for s in strides) else "") + (
    f" dilation {tuple(dil)}" if any(d != 1 for d in dil) else ""
  )
  return f"conv {k} {shape[-1]}->{mod.features}{extra} on {tuple(shape[1:-1])}"


def time_layer(mod, shape, dtype, repeats: int) -> dict:
  rng = jax.random.key(0)
  x = jax.random.normal(rng, shape, dtype)
  params = mod.init(rng, x)
  y = mod.apply(params, x)
  positions = y.size // y.shape[-1]
  kernel = int(np.prod(mod.kernel_size)) if isinstance(mod, nn.Conv) else 1
  flops = 2.0 * positions * shape[-1] * y.shape[-1] * kernel
  fwd = jax.jit(mod.apply)

  def loss(p, x):
    return jnp.sum(mod.apply(p, x).astype(jnp.float32))

  grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
  t_fwd = best_time(fwd, params, x, repeats=repeats)
  t_all = best_time(grad, params, x, repeats=repeats)
  return {"flops": flops, "fwd_s": t_fwd, "fwd_bwd_s": t_all}


def main(argv):
  del argv
  config = settings.normalize(_CONFIG.value)
  batch = _BATCH.value or config.train.batch_size
  config.train.batch_size = batch
  repeats = _REPEATS.value
  model = models.build(config)
  samples = config.data.segment_frames * config.frontend.hop_length
  variables = state_lib.initial_variables(model, config, jax.random.key(0))
  peak = train_common.matmul_flops(repeats) / 1e9
  print(f"{jax.devices()[0].device_kind} x {len(jax.devices())}: f32 2048^3 matmul {peak:.1f} GFLOP/s")

  # The whole step, as benchmarks/train.py times it.
  _, state, data, step, _ = train_common.compiled_step(config)
  state, metrics = step(state, data)  # (the step donates its state: each call takes the previous one's)
  jax.block_until_ready(metrics)
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    state, metrics = step(state, data)
    jax.block_until_ready(metrics)
    times.append(time.perf_counter() - start)
  step_s = min(times)
  spec = frontend.FrontendSpec.from_config(config.frontend)
  frontend_s = best_time(jax.jit(lambda a: frontend.features(a, spec)), data["audio"], repeats=repeats)

  rows = collections.OrderedDict()
  for name, mod, shape, dtype in layer_calls(model, variables, (batch, samples)):
    key = describe(mod, shape)
    if key not in rows:
      rows[key] = {"count": 0, **time_layer(mod, shape, dtype, repeats)}
    rows[key]["count"] += 1
    rows[key].setdefault("first", name)
  total_fwd_bwd = sum(r["count"] * r["fwd_bwd_s"] for r in rows.values())
  total_flops = sum(r["count"] * r["flops"] for r in rows.values())
  print(
    f"train step (batch {batch}): {1000 * step_s:.0f} ms, {3 * total_flops / step_s / 1e9:.1f} GFLOP/s model FLOPs"
    f" ({3 * total_flops / step_s / 1e9 / peak:.0%} of the matmul rate); frontend forward {1000 * frontend_s:.0f} ms;"
    f" the layers alone, forward + backward: {1000 * total_fwd_bwd:.0f} ms"
  )
  print("| layer (count) | fwd GFLOP | fwd ms | fwd GFLOP/s | fwd+bwd ms | fwd+bwd GFLOP/s | share of layer time |")
  print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
  for key, r in sorted(rows.items(), key=lambda kv: -kv[1]["count"] * kv[1]["fwd_bwd_s"]):
    print(
      f"| {key} ({r['count']}) | {r['flops'] / 1e9:.2f} | {1000 * r['fwd_s']:.1f} | {r['flops'] / r['fwd_s'] / 1e9:.1f}"
      f" | {1000 * r['fwd_bwd_s']:.1f} | {3 * r['flops'] / r['fwd_bwd_s'] / 1e9:.1f}"
      f" | {r['count'] * r['fwd_bwd_s'] / total_fwd_bwd:.0%} |"
    )
  result = {
    "benchmark": "train_layers",
    "device": jax.devices()[0].device_kind,
    "batch": batch,
    "matmul_gflops": round(peak, 1),
    "step_ms": round(1000 * step_s, 1),
    "step_gflops": round(3 * total_flops / step_s / 1e9, 1),
    "frontend_ms": round(1000 * frontend_s, 1),
    "layers_fwd_bwd_ms": round(1000 * total_fwd_bwd, 1),
    "layers": {k: {kk: round(v, 6) if isinstance(v, float) else v for kk, v in r.items()} for k, r in rows.items()},
  }
  print(json.dumps(result))


if __name__ == "__main__":
  app.run(main)
