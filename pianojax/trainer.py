"""Training: a pure jitted `train_step` on a 1-D `data` mesh, and the loop around it.

Parameters and optimizer state are replicated; the global batch is sharded over `data`;
`jax.jit` inserts the gradient all-reduce (no pmap, no pmean). The same code runs on one
CPU, 8 forced CPU devices, a GPU, or several hosts (after `jax.distributed.initialize()`).
"""

from __future__ import annotations

import functools
import json
import os
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from pianojax import checkpoints, input_pipeline, models, objectives
from pianojax.errors import UserError


@flax.struct.dataclass
class TrainState:
  step: jax.Array
  params: Any
  batch_stats: Any
  opt_state: Any


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
    raise UserError(f"unknown schedule {o.schedule!r}")
  if o.optimizer == "adamw":
    opt = optax.adamw(lr, weight_decay=o.weight_decay)
  elif o.optimizer == "adam":
    opt = optax.adam(lr)
  elif o.optimizer == "sgd":
    opt = optax.sgd(lr, momentum=0.9, nesterov=True)
  else:
    raise UserError(f"unknown optimizer {o.optimizer!r}")
  return optax.chain(optax.clip_by_global_norm(o.grad_clip), opt) if o.grad_clip else opt


def init_variables(model: models.Transcriber, config, rng) -> dict:
  samples = config.data.segment_frames * config.frontend.hop_length
  beat_ids = models.dummy_beat_ids(1, config.data.segment_frames)
  return model.init({"params": rng}, jnp.zeros((1, samples), jnp.float32), train=False, beat_ids=beat_ids)


def create_state(model, optimizer, config, rng) -> TrainState:
  """The initial state (call under `jax.jit` with replicated out_shardings)."""
  variables = init_variables(model, config, rng)
  params = variables["params"]
  return TrainState(jnp.zeros((), jnp.int32), params, variables.get("batch_stats", {}), optimizer.init(params))


def train_step(state: TrainState, batch: dict, *, model, optimizer, config, base_rng) -> tuple[TrainState, dict]:
  """One optimizer step; a non-finite loss or gradient leaves the state unchanged (and says so)."""
  rng = jax.random.fold_in(base_rng, state.step)
  dropout_rng, augment_rng = jax.random.split(rng)

  def loss_fn(params):
    outputs, updates = model.apply(
      {"params": params, "batch_stats": state.batch_stats},
      batch["features"] if "features" in batch else batch["audio"],
      train=True,
      beat_ids=batch.get("beat_ids"),
      rngs={"dropout": dropout_rng, "augment": augment_rng},
      mutable=["batch_stats"],
    )
    terms = objectives.losses(outputs, batch, config.objective, config.loss)
    return terms["total"], (terms, updates["batch_stats"])

  (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  grad_norm = optax.global_norm(grads)
  ok = jnp.isfinite(loss) & jnp.isfinite(grad_norm)
  new = TrainState(state.step + 1, params, batch_stats, opt_state)
  keep = jax.tree.map(lambda n, o: jnp.where(ok, n, o), new, state)
  keep = keep.replace(step=state.step + 1)
  metrics = {f"loss/{k}": v for k, v in terms.items()}
  metrics.update(grad_norm=grad_norm, finite=ok.astype(jnp.float32))
  return keep, metrics


def jit_train_step(model, optimizer, config, mesh, base_rng):
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  data = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))
  step = functools.partial(train_step, model=model, optimizer=optimizer, config=config, base_rng=base_rng)
  return jax.jit(step, in_shardings=(replicated, data), out_shardings=(replicated, replicated), donate_argnums=0)


def training_sources(config, split: str = "train"):
  from pianojax import datasets

  names = [n.strip() for n in config.data.train.split(",") if n.strip()]
  weights = (
    [float(w) for w in str(config.data.train_weights).split(",")] if config.data.train_weights else [1.0] * len(names)
  )
  if len(weights) != len(names):
    raise UserError(f"data.train names {len(names)} datasets but data.train_weights gives {len(weights)} weights")
  precomputed = bool(config.data.get("precomputed"))
  if precomputed and config.frontend.framing == "beat":
    raise UserError("frontend.framing=beat needs the waveform: it cannot train on precomputed features")
  return [datasets.data_source(config, n, split, precomputed=precomputed) for n in names], weights


class MetricWriter:
  """Metrics as JSON lines (always) and TensorBoard events (where tensorboardX is installed)."""

  def __init__(self, workdir: str, enabled: bool = True):
    self.enabled = enabled
    self.path = os.path.join(workdir, "metrics.jsonl")
    self.tb = None
    if enabled:
      try:
        from tensorboardX import SummaryWriter

        self.tb = SummaryWriter(os.path.join(workdir, "tensorboard"))
      except ImportError:
        pass

  def write(self, step: int, values: dict) -> None:
    if not self.enabled:
      return
    with open(self.path, "a") as f:
      f.write(json.dumps({"step": step, **{k: float(v) for k, v in values.items()}}) + "\n")
    if self.tb is not None:
      for k, v in values.items():
        self.tb.add_scalar(k, float(v), step)
      self.tb.flush()


def evaluate(model, variables, config, mesh, log=print) -> dict[str, float]:
  """Note and frame metrics on the validation splits named in `train.eval_datasets`."""
  from pianojax import datasets, inference, metrics

  predictor = inference.Predictor(model, variables, config.train.batch_size, mesh)
  out = {}
  for name in [n.strip() for n in config.train.eval_datasets.split(",") if n.strip()]:
    source = datasets.data_source(config, name, "validation")
    records = inference.source_records(source, config.data.offset_mode)
    avg = metrics.average(inference.evaluate_records(predictor, records, config, config.train.eval_max_records))
    out.update({f"eval/{name}/{k}": v for k, v in avg.items()})
  return out


def _init_from(config, state: TrainState) -> TrainState:
  variables = checkpoints.restore_variables(config.init_from, config)
  return state.replace(params=variables["params"], batch_stats=variables["batch_stats"])


def train_and_evaluate(config, workdir: str, log=print) -> dict:
  """Trains `config.train.steps` steps in `workdir`, resuming from its latest checkpoint.

  Returns:
    The last evaluation metrics (and "step").
  """
  os.makedirs(workdir, exist_ok=True)
  mesh = input_pipeline.data_mesh()
  n_dev = mesh.devices.size
  if config.train.batch_size % n_dev:
    raise UserError(f"train.batch_size {config.train.batch_size} must be a multiple of the {n_dev} devices")
  model = models.build(config)
  optimizer = make_optimizer(config)
  rng = jax.random.key(config.seed)
  init_rng, step_rng = jax.random.split(rng)
  replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
  state = jax.jit(functools.partial(create_state, model, optimizer, config), out_shardings=replicated)(init_rng)
  ckpt = checkpoints.Checkpoints(
    os.path.join(workdir, "checkpoints"), config.train.checkpoint_every, config.train.keep_checkpoints
  )
  start = ckpt.latest_step()
  if start is not None:
    abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=replicated), state)
    state = ckpt.restore(start, abstract, config)
    log(f"resumed from {ckpt.directory} at step {start}")
  else:
    start = 0
    if config.init_from:
      state = jax.device_put(_init_from(config, state), replicated)
      log(f"initialised parameters from {config.init_from}")
    ckpt.save(0, state, config, force=True)

  samples = config.data.segment_frames * config.frontend.hop_length
  flops = models.count_flops(model, {"params": state.params, "batch_stats": state.batch_stats}, (1, samples))
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state.params))
  seconds = samples / config.frontend.sample_rate
  log(
    f"model: {n_params:,} parameters, {flops['total'] / seconds / 1e9:.2f} GFLOP per audio second (forward); "
    f"{n_dev} device(s) [{jax.devices()[0].platform}], global batch {config.train.batch_size}"
  )

  writer = MetricWriter(workdir, enabled=jax.process_index() == 0)
  if start >= config.train.steps:
    log(f"already trained {start} steps")
    result = evaluate(model, {"params": state.params, "batch_stats": state.batch_stats}, config, mesh, log)
    return {"step": start, **result}

  sources, weights = training_sources(config)
  spec = input_pipeline.SegmentSpec.from_config(config)
  stream = input_pipeline.TrainSegments(sources, weights, spec, config.data.augment, seed=config.seed)
  batches = input_pipeline.batches(
    stream,
    config.train.batch_size,
    start_step=start,
    num_steps=config.train.steps - start,
    threads=config.train.data_threads,
  )
  step_fn = jit_train_step(model, optimizer, config, mesh, step_rng)
  t0, t_last, step_last = time.time(), time.time(), start
  history, result = [], {}
  for step in range(start + 1, config.train.steps + 1):
    batch = input_pipeline.to_global(next(batches), mesh)
    state, metrics = step_fn(state, batch)
    history.append(metrics)
    if step % config.train.log_every == 0 or step == config.train.steps:
      values = jax.tree.map(lambda *xs: float(np.mean([float(x) for x in xs])), *history)
      history = []
      if values["finite"] < 1.0:
        ckpt.wait()
        raise UserError(
          f"non-finite loss or gradient at step <= {step}; stopped. The last good checkpoint "
          f"(step {ckpt.latest_step()}) in {ckpt.directory} is intact: lower optim.learning_rate and resume."
        )
      now = time.time()
      rate = (step - step_last) / (now - t_last)
      eta = (config.train.steps - step) / max(rate, 1e-9)
      values["steps_per_second"] = rate
      values["audio_seconds_per_second"] = rate * config.train.batch_size * seconds
      writer.write(step, values)
      log(
        f"step {step}/{config.train.steps}  loss {values['loss/total']:.4f}  {rate:.2f} steps/s  "
        f"{values['audio_seconds_per_second']:.0f} audio s/s  ETA {eta / 60:.1f} min"
      )
      t_last, step_last = now, step
    if step % config.train.eval_every == 0 or step == config.train.steps:
      result = evaluate(model, {"params": state.params, "batch_stats": state.batch_stats}, config, mesh, log)
      writer.write(step, result)
      log("eval " + "  ".join(f"{k.split('/', 1)[1]}={v:.3f}" for k, v in result.items() if k.endswith("_f1")))
    ckpt.save(step, state, config, force=step == config.train.steps)
  ckpt.close()
  log(f"trained {config.train.steps - start} steps in {(time.time() - t0) / 60:.1f} min -> {workdir}")
  return {"step": config.train.steps, **result}
