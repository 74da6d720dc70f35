"""What training carries from step to step: parameters, batch statistics, optimizer state.

Shared by the trainer (which updates it) and checkpoints (which save and restore it), so
neither imports the other.
"""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from pianojax import models
from pianojax.errors import UserError


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any

  @property
  def variables(self) -> dict:
    """The model's variables (what inference needs)."""
    return {"params": self.params, "batch_stats": self.batch_stats}


def make_optimizer(config) -> optax.GradientTransformation:
  o = config.optim
  steps = max(config.train.steps, o.warmup_steps + 1)
  if o.schedule == "cosine":
    lr = optax.warmup_cosine_decay_schedule(0.0, o.learning_rate, o.warmup_steps, steps, o.learning_rate * 0.01)
  elif o.schedule == "constant":
    lr = optax.join_schedules(
      [optax.linear_schedule(0.0, o.learning_rate, o.warmup_steps), optax.constant_schedule(o.learning_rate)],
      [o.warmup_steps],
    )
  else:
    raise UserError(f"unknown optim.schedule {o.schedule!r}; choose cosine or constant")
  if o.optimizer == "adamw":
    opt = optax.adamw(lr, weight_decay=o.weight_decay)
  elif o.optimizer == "adam":
    opt = optax.adam(lr)
  elif o.optimizer == "sgd":
    opt = optax.sgd(lr, momentum=0.9, nesterov=True)
  else:
    raise UserError(f"unknown optim.optimizer {o.optimizer!r}; choose adamw, adam or sgd")
  opt = optax.chain(optax.clip_by_global_norm(o.grad_clip), opt) if o.grad_clip else opt
  return _freeze(config, _freeze_untrained_stage(config, opt))


def _freeze(config, opt: optax.GradientTransformation) -> optax.GradientTransformation:
  """`opt` on what `train.freeze` trains and no update at all (weight decay included) on the rest: "notes" keeps the
  network up to the shared context and the onset head (`models.NOTE_MODULES`); "all_but_pedal" everything but the
  pedal context and heads (`models.pedal_modules`)."""
  if config.train.freeze == "none":
    return opt
  if config.train.freeze == "notes":
    frozen = lambda name: name in models.NOTE_MODULES  # noqa: E731
  else:
    trained = models.pedal_modules(config.objective)
    frozen = lambda name: name not in trained  # noqa: E731
  labels = lambda params: {k: "frozen" if frozen(k) else "trained" for k in params}  # noqa: E731
  return optax.multi_transform({"trained": opt, "frozen": optax.set_to_zero()}, labels)


def _freeze_untrained_stage(config, opt: optax.GradientTransformation) -> optax.GradientTransformation:
  """For a two-stage model trained one stage at a time (`separation.train` separator or transcriber), `opt` on
  that stage's parameters and no update at all on the other's (weight decay included)."""
  if config.model.get("stages", 1) != 2 or config.separation.train == "joint":
    return opt
  frozen = "transcriber" if config.separation.train == "separator" else "separator"
  labels = lambda params: {k: "frozen" if k == frozen else "trained" for k in params}  # noqa: E731
  return optax.multi_transform({"trained": opt, "frozen": optax.set_to_zero()}, labels)


def init_variables(model: models.Transcriber | models.TwoStage, config, rng) -> dict:
  samples = config.data.segment_frames * config.frontend.hop_length
  beat_ids = models.dummy_beat_ids(1, config.data.segment_frames)
  return model.init({"params": rng}, jnp.zeros((1, samples), jnp.float32), train=False, beat_ids=beat_ids)


def abstract_variables(model: models.Transcriber | models.TwoStage, config) -> dict:
  """The shapes and dtypes of the model's variables (one trace of `init`, no computation)."""
  return jax.eval_shape(lambda r: init_variables(model, config, r), jax.random.key(0))


def abstract_state(variables: dict, optimizer: optax.GradientTransformation) -> TrainState:
  """The shapes of a train state holding `variables` (abstract or real), without tracing the model again."""
  params = variables["params"]
  step = jax.ShapeDtypeStruct((), jnp.int32)
  return TrainState(step, params, variables.get("batch_stats", {}), jax.eval_shape(optimizer.init, params))


def create_state(model, optimizer, config, rng) -> TrainState:
  """The initial state (traced: `initial_state` compiles it for its one run)."""
  variables = init_variables(model, config, rng)
  params = variables["params"]
  return TrainState(jnp.zeros((), jnp.int32), params, variables.get("batch_stats", {}), optimizer.init(params))


# A program that runs once (the initial state: a few hundred small random-number kernels, milliseconds to run) is
# compiled without LLVM's optimisations on the CPU: 2.4-3.5x sooner there (tiny model 11.4 -> 3.2 s, the shipped
# one 10.3 -> 4.3 s; docs/BENCHMARKS.md). Values may differ from the optimised program's in a float's last bit
# (erf's polynomial). Elsewhere the backend's default stays: the GPU's code generation at -O0 is untested here.
RUN_ONCE_OPTIONS = {"xla_backend_optimization_level": 0}


def run_once(fn, *args, out_shardings=None):
  """`jax.jit(fn, out_shardings=...)(*args)`, compiled for a single run (`RUN_ONCE_OPTIONS` on the CPU)."""
  lowered = jax.jit(fn, out_shardings=out_shardings).lower(*args)
  options = RUN_ONCE_OPTIONS if jax.default_backend() == "cpu" else {}
  return lowered.compile(compiler_options=options)(*args)


def initial_state(model, optimizer, config, rng, out_shardings=None) -> TrainState:
  """`create_state`, jitted and compiled for its one run, placed by `out_shardings` (e.g. replicated)."""
  return run_once(lambda r: create_state(model, optimizer, config, r), rng, out_shardings=out_shardings)


def initial_variables(model: models.Transcriber | models.TwoStage, config, rng) -> dict:
  """`init_variables`, jitted and compiled for its one run."""
  return run_once(lambda r: init_variables(model, config, r), rng)
