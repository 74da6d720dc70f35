"""Training: a pure jitted `train_step` on the `data` mesh (pianojax.mesh), and the loop around it.

Parameters and optimizer state are replicated; the global batch is sharded over `data`;
`jax.jit` inserts the gradient all-reduce. The loop resumes from the latest checkpoint,
evaluates on validation splits (pianojax.scoring, as the eval command does) and writes
metrics as JSON lines and TensorBoard events.
"""

from __future__ import annotations

import functools
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pianojax import checkpoints, inference, input_pipeline, models, objectives, scoring
from pianojax import mesh as mesh_lib
from pianojax.errors import UserError
from pianojax.state import TrainState, create_state, make_optimizer


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
  replicated, data = mesh_lib.replicated(mesh), mesh_lib.batch_sharded(mesh)
  step = functools.partial(train_step, model=model, optimizer=optimizer, config=config, base_rng=base_rng)
  return jax.jit(step, in_shardings=(replicated, data), out_shardings=(replicated, replicated), donate_argnums=0)


def training_sources(config, split: str = "train"):
  from pianojax import datasets

  names = config.data.train
  weights = config.data.train_weights or (1.0,) * len(names)
  if len(weights) != len(names):
    raise UserError(f"data.train names {len(names)} datasets but data.train_weights gives {len(weights)} weights")
  precomputed = config.data.precomputed
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


def evaluate(config, model, variables, mesh) -> dict[str, float]:
  """`eval/<set>/<metric>` on the validation splits named in `train.eval_datasets` (scoring.evaluate_sets)."""
  if not config.train.eval_datasets:
    return {}
  predictor = inference.Predictor(config, model, variables, config.train.batch_size, mesh)
  sets = [f"{name}:validation" for name in config.train.eval_datasets]
  result = scoring.evaluate_sets(predictor, sets, config.train.eval_max_records)
  return {f"eval/{name}/{k}": v for name, avg in result.items() for k, v in avg.items()}


def train_and_evaluate(config, workdir: str, log=print) -> dict:
  """Trains `config.train.steps` steps in `workdir`, resuming from its latest checkpoint.

  Returns:
    The last evaluation metrics (and "step").
  """
  os.makedirs(workdir, exist_ok=True)
  mesh = mesh_lib.data_mesh()
  n_dev = mesh.devices.size
  if config.train.batch_size % n_dev:
    raise UserError(f"train.batch_size {config.train.batch_size} must be a multiple of the {n_dev} devices")
  model = models.build(config)
  optimizer = make_optimizer(config)
  rng = jax.random.key(config.seed)
  init_rng, step_rng = jax.random.split(rng)
  replicated = mesh_lib.replicated(mesh)
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
      variables = checkpoints.restore_variables(config.init_from, config)
      state = jax.device_put(state.replace(**variables), replicated)
      log(f"initialised parameters from {config.init_from}")
    ckpt.save(0, state, config, force=True)

  samples = config.data.segment_frames * config.frontend.hop_length
  flops = models.count_flops(model, state.variables, (1, samples))
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state.params))
  seconds = samples / config.frontend.sample_rate
  log(
    f"model: {n_params:,} parameters, {flops['total'] / seconds / 1e9:.2f} GFLOP per audio second (forward); "
    f"{n_dev} device(s) [{jax.devices()[0].platform}], global batch {config.train.batch_size}"
  )

  writer = MetricWriter(workdir, enabled=jax.process_index() == 0)
  if start >= config.train.steps:
    log(f"already trained {start} steps")
    return {"step": start, **evaluate(config, model, state.variables, mesh)}

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
    batch = mesh_lib.to_global(next(batches), mesh)
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
      result = evaluate(config, model, state.variables, mesh)
      writer.write(step, result)
      log("eval " + "  ".join(f"{k.split('/', 1)[1]}={v:.3f}" for k, v in result.items() if k.endswith("_f1")))
    ckpt.save(step, state, config, force=step == config.train.steps)
  ckpt.close()
  log(f"trained {config.train.steps - start} steps in {(time.time() - t0) / 60:.1f} min -> {workdir}")
  return {"step": config.train.steps, **result}
