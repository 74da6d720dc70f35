"""What the train-step benchmarks (train.py, train_layers.py, profile_step.py) share (no flags, so each can import
it): a fixed random training batch, the compiled train step on it, and the f32 matmul rate XLA reaches here."""

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from pianojax import labels, models, trainer
from pianojax import mesh as mesh_lib
from pianojax import state as state_lib


def random_batch(config, batch_size: int, mesh) -> dict:
  """A training batch of `batch_size` random segments with sparse random targets, sharded over `mesh`."""
  samples = config.data.segment_frames * config.frontend.hop_length
  gen = np.random.default_rng(0)
  batch = {"audio": (0.1 * gen.standard_normal((batch_size, samples))).astype(np.float32)}
  keys = {k: 88 for k in labels.TARGET_KEYS}
  if config.model.pedal:
    keys.update({k: 88 for k in labels.RELEASE_KEYS} | {k: 1 for k in labels.PEDAL_KEYS})
  for k, width in keys.items():
    batch[k] = (gen.random((batch_size, config.data.segment_frames, width)) < 0.02).astype(np.float32)
  batch["mask"] = np.ones((batch_size, config.data.segment_frames), np.float32)
  return mesh_lib.to_global(batch, mesh)


def matmul_flops(repeats: int = 5) -> float:
  """FLOP/s of an f32 2048 x 2048 x 2048 matmul (best of `repeats`): a CPU's practical peak here (no published
  dense peak of a CPU is what XLA's kernels reach)."""
  a = jnp.ones((2048, 2048), jnp.float32)
  f = jax.jit(lambda x, y: x @ y)
  jax.block_until_ready(f(a, a))
  best = float("inf")
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(f(a, a))
    best = min(best, time.perf_counter() - start)
  return 2 * 2048**3 / best


class Step(NamedTuple):
  model: models.Transcriber
  state: object  # the initial TrainState (the compiled step donates it: pass each call the previous one's)
  batch: dict
  compiled: object  # the jitted train step, lowered and compiled for `batch`
  compile_s: float


def compiled_step(config) -> Step:
  """The train step of `config` (normalised) compiled for a random batch of `config.train.batch_size`."""
  mesh = mesh_lib.data_mesh()
  model = models.build(config)
  optimizer = state_lib.make_optimizer(config)
  rng = jax.random.key(0)
  state = state_lib.initial_state(model, optimizer, config, rng, out_shardings=mesh_lib.replicated(mesh))
  batch = random_batch(config, config.train.batch_size, mesh)
  start = time.perf_counter()
  compiled = trainer.jit_train_step(model, optimizer, config, mesh, rng).lower(state, batch).compile()
  return Step(model, state, batch, compiled, time.perf_counter() - start)
