"""Training: a pure jitted `train_step` on the `data` mesh (pianojax.mesh), and the loop around it.

Parameters and optimizer state are replicated; the global batch is sharded over `data`;
`jax.jit` inserts the gradient all-reduce. The loop resumes from the latest checkpoint,
evaluates on validation splits (pianojax.scoring, as the eval command does) and writes
metrics as JSON lines and TensorBoard events.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from pianojax import checkpoints, inference, input_pipeline, models, objectives, scoring, settings
from pianojax import mesh as mesh_lib
from pianojax.errors import UserError
from pianojax.state import TrainState, initial_state, make_optimizer


def train_step(state: TrainState, batch: dict, *, model, optimizer, config, base_rng) -> tuple[TrainState, dict]:
  """One optimizer step. A non-finite loss, gradient or updated state leaves the state unchanged, and the
  `finite` metric says so (the loop then stops before saving)."""
  rng = jax.random.fold_in(base_rng, state.step)
  dropout_rng, augment_rng = jax.random.split(rng)
  two_stage = config.model.stages == 2
  teacher_weight = config.loss.get("clean_teacher", 0.0)
  teacher = None
  if teacher_weight:  # the network as it is now, on the piano alone: targets, not trained through
    teacher = model.apply(state.variables, batch["clean"], train=False, beat_ids=batch.get("beat_ids"))
    teacher = jax.lax.stop_gradient(teacher)

  def loss_fn(params):
    outputs, updates = model.apply(
      {"params": params, "batch_stats": state.batch_stats},
      batch["features"] if "features" in batch else batch["audio"],
      train=True,
      beat_ids=batch.get("beat_ids"),
      rngs={"dropout": dropout_rng, "augment": augment_rng},
      mutable=["batch_stats"],
      **({"clean": batch["clean"]} if two_stage and "clean" in batch else {}),
    )
    terms = objectives.model_losses(outputs, batch, config)
    if teacher is not None:
      terms["teacher"] = objectives.teacher_loss(outputs, teacher, batch["mask"], config.objective)
      terms["total"] = terms["total"] + teacher_weight * terms["teacher"]
    return terms["total"], (terms, updates["batch_stats"])

  (loss, (terms, batch_stats)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  grad_norm = optax.global_norm(grads)
  new = TrainState(state.step + 1, params, batch_stats, opt_state)
  floats = [x for x in jax.tree.leaves((params, batch_stats, opt_state)) if jnp.issubdtype(x.dtype, jnp.floating)]
  ok = jnp.isfinite(loss) & jnp.isfinite(grad_norm) & jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in floats]))
  # (A conditional, not a select on every array: XLA compiles the select over the whole state about 3x slower.)
  keep = jax.lax.cond(ok, lambda: new, lambda: state.replace(step=state.step + 1))
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


def training_batches(config, mesh, start: int, log=print):
  """Global training batches from step `start + 1` on, from the source `data.source` names:

  - "tfds": the rendered datasets through the host pipeline (input_pipeline), made global on the mesh;
  - "device": synthesised in a jitted function of (seed, step) on the devices themselves (synth/device.py), already
    sharded on `data`; with `data.device.tfds_every=n`, every n-th step's batch comes from the host pipeline instead.
  Either way batch `s` is a function of the seed and `s`, so a resumed run continues exactly.
  """
  if config.data.source == "device":
    from pianojax.synth import device

    if config.data.precomputed:
      raise UserError("data.source=device renders waveforms: it cannot train on precomputed features")
    synth = device.from_config(config)
    make = synth.batch_fn(config.train.batch_size, mesh, with_clean=settings.needs_clean_stem(config))
    key = jax.random.fold_in(jax.random.key(config.seed), 0x5EED)
    log(
      f"training audio synthesised on the device: {synth.num_pianos} pianos, {synth.num_others} other instruments "
      f"({len(config.data.device.others_sources)} SoundFonts), {synth.num_performances or 'no'} performances, "
      f"variety {'on' if config.data.device.variety_on else 'off'}"
    )
    steps = range(start + 1, config.train.steps + 1)
    every = int(config.data.device.get("tfds_every", 0))
    if not every:
      return (make(jax.random.fold_in(key, step)) for step in steps)
    log(f"one step in {every} trains on a batch of the rendered datasets {', '.join(config.data.train)} instead")
    host = _host_batches(config, mesh, start // every, config.train.steps // every)
    return _interleaved(lambda step: make(jax.random.fold_in(key, step)), host, every, steps)
  if config.data.source != "tfds":
    raise UserError(f"data.source={config.data.source!r}: choose tfds or device")
  return _host_batches(config, mesh, start, config.train.steps)


def _host_batches(config, mesh, start: int, stop: int):
  """The host pipeline's global batches of the rendered datasets in `data.train`, from batch `start` to `stop - 1`."""
  sources, weights = training_sources(config)
  spec = input_pipeline.SegmentSpec.from_config(config)
  stream = input_pipeline.TrainSegments(sources, weights, spec, config.data.augment, seed=config.seed)
  host = input_pipeline.batches(
    stream, config.train.batch_size, start_step=start, num_steps=stop - start, threads=config.train.data_threads
  )
  return _on_mesh(host, mesh)


def _interleaved(synthesised, host, every: int, steps: range):
  """Step `s`'s batch: the host's next where `s` is a multiple of `every`, else `synthesised(s)`. A run resumed after
  step `start` gets the same batches as one never stopped where the host stream starts at batch `start // every`."""
  try:
    for step in steps:
      yield synthesised(step) if step % every else next(host)
  finally:
    host.close()


def _on_mesh(host, mesh):
  """The host pipeline's batches made global on `mesh`; closing this generator closes the pipeline's threads."""
  try:
    for batch in host:
      yield mesh_lib.to_global(batch, mesh)
  finally:
    host.close()


def _init_stages(config, state: TrainState, replicated, log) -> TrainState:
  """A two-stage model's stages from `separation.separator_from` / `transcriber_from` where set."""
  for stage in checkpoints.STAGES:
    path = config.separation[f"{stage}_from"]
    if path:
      variables = checkpoints.restore_stage(path, stage, config, jax.device_get(state.variables))
      state = jax.device_put(state.replace(**variables), replicated)
      log(f"initialised the {stage} from {path}")
  return state


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

  def close(self) -> None:
    """Ends TensorBoard's writer threads (the JSON lines need no closing)."""
    if self.tb is not None:
      self.tb.close()
      self.tb = None


def evaluate(config, model, variables, mesh) -> dict[str, float]:
  """`eval/<set>/<metric>` on the validation splits named in `train.eval_datasets` (scoring.evaluate_sets)."""
  if not config.train.eval_datasets:
    return {}
  predictor = inference.Predictor(config, model, variables, config.train.batch_size, mesh)
  sets = [f"{name}:validation" for name in config.train.eval_datasets]
  result = scoring.evaluate_sets(predictor, sets, config.train.eval_max_records)
  return {f"eval/{name}/{k}": v for name, avg in result.items() for k, v in avg.items()}


def settle_lazy_imports() -> None:
  """Loads the data libraries now, in this thread, before any checkpoint is saved.

  tensorflow_datasets (and the grain modules it loads) import some modules under etils' `lazy_imports`, which swaps
  `builtins.__import__` for the whole process while they load: an import in orbax's asynchronous save thread
  during that window gets a placeholder, and the save fails with "'LazyModule' object is not callable" (twice in
  17 fresh sweep processes, each time when the datasets were first opened during step 0's save). Absent libraries
  are skipped (the GPU image has neither: device synthesis needs neither).
  """
  try:
    tfds = importlib.import_module("tensorflow_datasets")
    for name in ("core", "features", "data_source", "builder", "download", "decode"):
      getattr(tfds, name)  # (each public name is resolved, with the modules behind it, on first access)
    # ... and what opening a built dataset loads (its metadata, and the grain data sources tfds reads through)
    importlib.import_module("tensorflow_datasets.core.dataset_metadata")
    importlib.import_module("grain")
  except ImportError:
    return


def train_and_evaluate(config, workdir: str, log=print) -> dict:
  """Trains `config.train.steps` steps in `workdir`, resuming from its latest checkpoint.

  Returns:
    The last evaluation metrics (and "step").
  """
  os.makedirs(workdir, exist_ok=True)
  settle_lazy_imports()
  mesh = mesh_lib.data_mesh()
  n_dev = mesh.devices.size
  if config.train.batch_size % n_dev:
    raise UserError(f"train.batch_size {config.train.batch_size} must be a multiple of the {n_dev} devices")
  model = models.build(config)
  optimizer = make_optimizer(config)
  rng = jax.random.key(config.seed)
  init_rng, step_rng = jax.random.split(rng)
  replicated = mesh_lib.replicated(mesh)
  state = initial_state(model, optimizer, config, init_rng, out_shardings=replicated)
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
      variables, fresh = checkpoints.restore_into(config.init_from, config, jax.device_get(state.variables))
      state = jax.device_put(state.replace(**variables), replicated)
      grown = f" ({len(fresh)} new arrays: {', '.join(fresh[:4])}{', ...' if len(fresh) > 4 else ''})" if fresh else ""
      log(f"initialised parameters from {config.init_from}{grown}")
    if config.model.stages == 2:
      state = _init_stages(config, state, replicated, log)
    ckpt.save(0, state, config, force=True)

  samples = config.data.segment_frames * config.frontend.hop_length
  flops = models.count_flops(model, state.variables, (1, samples))
  n_params = sum(int(np.prod(x.shape)) for x in jax.tree.leaves(state.params))
  seconds = samples / config.frontend.sample_rate
  log(
    f"model: {n_params:,} parameters, {flops['total'] / seconds / 1e9:.2f} GFLOP per audio second (forward); "
    f"{n_dev} device(s) [{jax.devices()[0].platform}], global batch {config.train.batch_size}"
  )

  if start >= config.train.steps:
    ckpt.close()  # (step 0's save is asynchronous: done before returning, or a caller may not find it)
    log(f"already trained {start} steps")
    return {"step": start, **evaluate(config, model, state.variables, mesh)}

  # The input threads and the TensorBoard writer end with the loop, whatever ends it (an error included): a caller
  # that goes on (a sweep, a test session) keeps no threads of a finished run.
  with (
    contextlib.closing(MetricWriter(workdir, enabled=jax.process_index() == 0)) as writer,
    contextlib.closing(training_batches(config, mesh, start, log)) as batches,
  ):
    step_fn = jit_train_step(model, optimizer, config, mesh, step_rng)
    guard = Guard(config.train.divergence_factor, ckpt)
    t0 = t_last = time.time()
    step_last, history, result = start, [], {}
    # The state after a save step is held (a copy: the next step donates its input) and saved only once the next
    # step's loss, which is computed from it, has been checked: a checkpoint on disk is never non-finite or diverged.
    held = None
    for step in range(start + 1, config.train.steps + 1):
      batch = next(batches)
      state, metrics = step_fn(state, batch)
      history.append(metrics)
      if step == start + 1:  # the first step pays for compilation (or a cache read)
        jax.block_until_ready(metrics)
        first = time.time() - t0
        writer.write(step, {"first_step_seconds": first})
        log(f"first step in {first:.1f} s (compilation included)")
      out_of_time = bool(config.train.time_limit_s) and time.time() - t0 > config.train.time_limit_s
      final = step == config.train.steps or out_of_time
      if step % config.train.log_every == 0 or held is not None or final:
        values = guard.check(history, step)
        history = []
        if held is not None:
          ckpt.save(*held, config, force=True)
          held = None
        now = time.time()
        rate = (step - step_last) / (now - t_last)
        values["steps_per_second"] = rate
        values["audio_seconds_per_second"] = rate * config.train.batch_size * seconds
        writer.write(step, values)
        if step % config.train.log_every == 0 or final:
          eta = (config.train.steps - step) / max(rate, 1e-9)
          log(
            f"step {step}/{config.train.steps}  loss {values['loss/total']:.4f}  {rate:.2f} steps/s  "
            f"{values['audio_seconds_per_second']:.0f} audio s/s  ETA {eta / 60:.1f} min"
          )
        t_last, step_last = now, step
      if step % config.train.eval_every == 0 or final:
        try:
          result = evaluate(config, model, state.variables, mesh)
        except BaseException:  # an evaluation that fails costs no training: this step is checked, saved, then raised
          _, metrics = step_fn(jax.tree.map(jnp.copy, state), batch)
          guard.check([metrics], step + 1)
          ckpt.save(step, state, config, force=True)
          ckpt.close()
          log(f"evaluation at step {step} failed; the step is saved in {ckpt.directory}")
          raise
        writer.write(step, result)
        log("eval " + "  ".join(f"{k.split('/', 1)[1]}={v:.3f}" for k, v in result.items() if k.endswith("_f1")))
      if step % config.train.checkpoint_every == 0 or final:
        held = (step, jax.tree.map(jnp.copy, state))
      if final:
        break
    if held is not None:  # the last state's own loss: one more step on a copy of it, then discarded
      _, metrics = step_fn(jax.tree.map(jnp.copy, held[1]), batch)
      guard.check([metrics], held[0] + 1)
      ckpt.save(*held, config, force=True)
  ckpt.close()
  stopped = "" if step == config.train.steps else f" (train.time_limit_s={config.train.time_limit_s:g} reached)"
  log(f"trained {step - start} steps in {(time.time() - t0) / 60:.1f} min{stopped} -> {workdir}")
  return {"step": step, **result}


class Guard:
  """Stops training at a non-finite step or a diverged loss, naming the last checkpoint written (always a good one)."""

  def __init__(self, divergence_factor: float, ckpt: checkpoints.Checkpoints):
    self.factor, self.ckpt, self.lowest = divergence_factor, ckpt, float("inf")

  def check(self, history: list[dict], step: int) -> dict[str, float]:
    """The mean of the steps' metrics; raises UserError if any step was non-finite or their loss diverged."""
    values = jax.tree.map(lambda *xs: float(np.mean([float(x) for x in xs])), *history)
    loss = values["loss/total"]
    if values["finite"] < 1.0 or (self.factor and loss > self.factor * self.lowest):
      self.ckpt.wait()
      what = "a non-finite loss, gradient or update" if values["finite"] < 1.0 else f"the loss diverged ({loss:.3g})"
      raise UserError(
        f"{what} at step <= {step}; stopped. The last good checkpoint is step {self.ckpt.latest_step()} in "
        f"{self.ckpt.directory} (nothing later was saved): lower optim.learning_rate and resume."
      )
    self.lowest = min(self.lowest, loss)
    return values
