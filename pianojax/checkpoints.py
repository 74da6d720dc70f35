"""Checkpoints: training state saved and restored with orbax, models loaded for inference, models exported.

Each checkpoint holds the train state (or, exported, the model variables alone) and the
resolved config (JSON). A saved config is read through `settings.upgrade`, so checkpoints
written by older versions load with today's field names. Restoring checks that the parts of
the config that shape the model (frontend, model, objective, segment length) match, and says
which fields differ when they do not.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil

import jax
import numpy as np

from pianojax import paths, settings
from pianojax.errors import UserError

# Config fields that must match between a checkpoint and the code that restores it.
MODEL_FIELDS = ("frontend", "model", "objective", "data.segment_frames")
# The model shipped with the repository (docs/MODEL.md): what commands use without --checkpoint.
DEFAULT_MODEL = paths.shipped("models", "default")


class CheckpointError(UserError):
  """A checkpoint is missing, unreadable, or does not match the config."""


def _flatten(prefix: str, value, out: dict) -> dict:
  if isinstance(value, dict):
    for k, v in value.items():
      _flatten(f"{prefix}.{k}" if prefix else k, v, out)
  else:
    out[prefix] = value
  return out


def _model_fields(config) -> dict:
  tree = config if isinstance(config, dict) else settings.as_dict(config)
  out = {}
  for field in MODEL_FIELDS:
    node, leaf = settings.lookup(tree, field)
    _flatten(field, node[leaf] if node is not None and leaf in node else "(missing)", out)
  return out


def check_compatible(saved, config, where: str) -> None:
  """Raises CheckpointError naming each model-shaping field that differs."""
  a, b = _model_fields(saved), _model_fields(config)
  diffs = [
    f"{k}: checkpoint {a.get(k)!r} vs config {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
  ]
  if diffs:
    shown = "; ".join(diffs[:6]) + (f"; and {len(diffs) - 6} more" if len(diffs) > 6 else "")
    raise CheckpointError(f"checkpoint {where} does not match the config: {shown}")


def _one_replica(tree):
  """In a single process, `tree`'s arrays copied to one device: orbax (0.12) splits an array replicated over several
  CPU devices into per-replica slices, each an eager slice it compiles (about 5 s a save for the tiny model on 8
  forced devices); restoring places the arrays where the abstract state says, as before."""
  devices = {d for x in jax.tree.leaves(tree) if isinstance(x, jax.Array) for d in x.sharding.device_set}
  if jax.process_count() > 1 or len(devices) < 2:
    return tree
  first = min(devices, key=lambda d: d.id)
  return jax.device_put(tree, first)


class Checkpoints:
  """Saves every `every` steps (and on demand), keeps the last `keep`, restores the latest."""

  def __init__(self, directory: str, every: int = 1000, keep: int = 3):
    import orbax.checkpoint as ocp

    self._ocp = ocp
    self.directory = os.path.abspath(directory)
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, save_interval_steps=every, create=True)
    self.manager = ocp.CheckpointManager(self.directory, options=options)

  def latest_step(self) -> int | None:
    return self.manager.latest_step()

  def save(self, step: int, train_state, config, force: bool = False) -> bool:
    """Starts an asynchronous save; a write error (this one's or the previous one's) is a CheckpointError.

    A save that would not fit on the disk is refused before anything is written: TensorStore's failed writes
    otherwise print a traceback per array from orbax's threads.
    """
    ocp = self._ocp
    needed = 1.2 * sum(x.nbytes for x in jax.tree.leaves(train_state)) + 2**20
    free = shutil.disk_usage(self.directory).free
    if free < needed:
      self.manager.wait_until_finished()
      raise CheckpointError(
        f"cannot write step {step} in {self.directory}: {os.strerror(errno.ENOSPC)} ({free / 2**20:.1f} MB free,"
        f" {needed / 2**20:.1f} MB needed). The last complete checkpoint (step {self.latest_step()}) is intact:"
        " free space and run the same command to resume"
      )
    args = ocp.args.Composite(
      state=ocp.args.StandardSave(_one_replica(train_state)), config=ocp.args.JsonSave(settings.as_dict(config))
    )
    with self._storage_errors():
      return self.manager.save(step, args=args, force=force)

  @contextlib.contextmanager
  def _storage_errors(self):
    """A failed write (reported by orbax at the next save or wait) as one CheckpointError naming the last good step."""
    try:
      yield
    except Exception as e:  # noqa: BLE001  (orbax raises ValueError for TensorStore's ENOSPC)
      complete = [int(d) for d in os.listdir(self.directory) if d.isdigit()]
      last = f"step {max(complete)}" if complete else "none"
      raise CheckpointError(
        f"cannot write checkpoints in {self.directory}: {_first_line(e)}. The last complete one ({last}) is intact:"
        " free space (or fix the folder) and run the same command to resume"
      ) from None

  def restore(self, step: int, abstract_state, config):
    """Restores the state saved at `step` after checking its config against `config`."""
    ocp = self._ocp
    where = f"{self.directory} step {step}"
    try:
      saved = self.manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))["config"]
      check_compatible(settings.upgrade(saved), config, where)
      return self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))[
        "state"
      ]
    except CheckpointError:
      raise
    except Exception as e:  # noqa: BLE001  (orbax and TensorStore raise many types for unreadable files)
      raise CheckpointError(
        f"checkpoint {where} is corrupt ({_first_line(e)}): move it away to resume from an earlier one"
      ) from None

  def wait(self) -> None:
    with self._storage_errors():
      self.manager.wait_until_finished()

  def close(self) -> None:
    with self._storage_errors():
      self.manager.wait_until_finished()
      self.manager.close()


def _first_line(error: Exception) -> str:
  """What went wrong, short: the OS's words where a storage error carries an errno (disk full), else the first line."""
  text = str(error).strip()
  code = re.search(r"os_error_code='?(\d+)", text)
  if isinstance(error, OSError) and error.errno:
    return os.strerror(error.errno)
  if code:
    return os.strerror(int(code.group(1)))
  return text.splitlines()[0][:300] if text else type(error).__name__


def resolve(path: str) -> tuple[str, int]:
  """(checkpoint root, step) for a run's folder, its checkpoint folder (latest step) or a step folder."""
  path = os.path.abspath(path)
  if not os.path.isdir(path):
    raise CheckpointError(f"no checkpoint at {path}")
  base = os.path.basename(path.rstrip("/"))
  if base.isdigit() and any(os.path.isdir(os.path.join(path, item)) for item in ("state", "variables")):
    return os.path.dirname(path), int(base)
  for root in (path, os.path.join(path, "checkpoints")):
    steps = [int(d) for d in os.listdir(root) if d.isdigit()] if os.path.isdir(root) else []
    if steps:
      return root, max(steps)
  raise CheckpointError(f"no checkpoint steps under {path}")


def read_config(path: str):
  """(config stored with a checkpoint, upgraded to today's fields; root; step)."""
  root, step = resolve(path)
  config_path = os.path.join(root, str(step), "config", "metadata")
  if not os.path.isfile(config_path):
    raise CheckpointError(f"checkpoint {root} step {step} has no saved config")
  try:
    with open(config_path) as f:
      saved = json.load(f)
  except (OSError, ValueError) as e:
    raise CheckpointError(f"checkpoint {root} step {step}: its config is unreadable ({e})") from None
  return settings.upgrade(saved), root, step


def restore_variables(path: str, config, abstract: dict | None = None) -> dict:
  """Model variables (params, batch_stats) from a checkpoint, for inference or init_from.

  The arrays land on this process's first device, whatever topology saved them (a GPU
  run's checkpoint opens on a laptop CPU). From a training checkpoint only the variables are read (a partial
  restore): the optimizer state is not, so its structure (what was frozen, say) does not matter.

  `abstract`: the variables' shapes (`state.abstract_variables`) where the caller has them already.

  Raises:
    CheckpointError: missing checkpoint or a config that does not match.
  """
  import orbax.checkpoint as ocp

  saved, root, step = read_config(path)
  check_compatible(saved, config, f"{root} step {step}")
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  from pianojax import models, state  # (Flax and optax: imported only where a model is built or trained)

  if abstract is None:
    abstract = state.abstract_variables(models.build(config), config)
  exported = os.path.isdir(os.path.join(root, str(step), "variables"))
  target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), dict(abstract))
  if exported:
    args = ocp.args.StandardRestore(target)
  else:  # a training checkpoint: its params and batch_stats out of the whole train state
    restore_args = ocp.checkpoint_utils.construct_restore_args(target)
    args = ocp.args.PyTreeRestore(item=target, restore_args=restore_args, partial_restore=True)
  item = "variables" if exported else "state"
  with ocp.CheckpointManager(root) as manager:
    restored = manager.restore(step, args=ocp.args.Composite(**{item: args}))[item]
  return {k: restored[k] for k in abstract}


def _field(config, name: str):
  """A config's value at dotted `name` (a section comes back as a dict)."""
  parent, key = settings.lookup(settings.as_dict(config), name)
  return parent[key]


# Frontend fields that change how the features are scaled or cleaned, not which bins at which frames they are.
_NOT_GRID = ("normalize", "denoise", "denoise_quantile")


def _grid(frontend: dict) -> dict:
  """What a frontend's features are, less how they are scaled (`normalize`) or cleaned (`denoise`): the weights a
  checkpoint holds read the same bins at the same frames under either, so fine-tuning may change them (the network
  adapts)."""
  return {k: v for k, v in frontend.items() if k not in _NOT_GRID}


def restore_into(path: str, config, variables: dict) -> tuple[dict, list[str]]:
  """`variables` (a new model's, initialised) with every array that `path`'s checkpoint has at the same place and
  shape, for `init_from` into a model that grew (new heads, more context layers) or changed objective; (merged,
  names of the arrays kept new). A kernel that sees appended inputs (a head given more features) keeps its old
  rows, the new ones zero. A checkpoint of the same model restores whole. Heads are named after what they predict
  (`heads.of`: "offset" is an event, "offset_reg" a triangle), so across objectives the heads both have carry
  over and the others start fresh: a regression model started as a hybrid one keeps its onset triangles, frame and
  velocity heads and learns end events.

  Raises:
    CheckpointError: the checkpoint's frontend differs other than in its scaling (its weights would read other
      features), or nothing in it fits.
  """
  saved, root, step = read_config(path)
  try:
    check_compatible(saved, config, f"{root} step {step}")
    return restore_variables(path, config), []
  except CheckpointError:
    pass
  if _grid(_field(saved, "frontend")) != _grid(_field(config, "frontend")):
    raise CheckpointError(f"init_from {root} step {step}: its frontend differs from the config's; cannot start from it")
  old = restore_variables(path, saved)
  old_leaves = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(old)}
  fresh = []

  def pick(key, new):
    name = jax.tree_util.keystr(key)
    old_value = old_leaves.get(name)
    if old_value is not None and old_value.shape == new.shape:
      return old_value
    if old_value is not None and _widened(old_value.shape, new.shape):
      # A kernel that now sees more inputs (appended features): the old rows, zeros for the new ones, so the grown
      # model starts out computing what the old one did.
      fresh.append(f"{name} (widened)")
      extra = np.zeros((*new.shape[:-2], new.shape[-2] - old_value.shape[-2], new.shape[-1]), new.dtype)
      return np.concatenate([np.asarray(old_value), extra], axis=-2)
    fresh.append(name)
    return new

  merged = jax.tree_util.tree_map_with_path(pick, variables)
  if len(fresh) == len(jax.tree.leaves(variables)):
    raise CheckpointError(f"init_from {root} step {step}: no array of it fits the config's model")
  from pianojax.models import END_CONTEXT, PEDAL_CONTEXT  # (Flax: imported only where a model is built)

  old_params = old.get("params", {})
  for name, sources in ((END_CONTEXT, (SHARED_CONTEXT,)), (PEDAL_CONTEXT, (END_CONTEXT, SHARED_CONTEXT))):
    params = merged.get("params", {})
    source = next((s for s in sources if s in old_params), None)
    if name not in params or name in old_params or source is None:
      continue
    try:
      grown = graft_context(old_params[source], params[name])
    except CheckpointError as e:
      raise CheckpointError(f"init_from {root} step {step}: the {name} from the {source}: {e}") from None
    merged = {**merged, "params": {**params, name: grown}}
    fresh = [f for f in fresh if f"['{name}']" not in f] + [f"{name} (from {source})"]
  return merged, fresh


# A model given a note-end context of its own (model.end_context) starts it from the shared one it grew out of
# (the shared context's module name); a pedal context of its own (model.pedal_context) from the note-end one where
# the checkpoint has it, so the pedal heads start out computing what they did.
SHARED_CONTEXT = "TemporalContext_0"


def graft_context(old: dict, new: dict) -> dict:
  """A temporal context (`models.TemporalContext` parameters `new`, initialised) started from another one `old`
  with fewer or as many dilated layers: the input projection, the layers they share and the final norm are
  `old`'s; the layers `old` lacks add nothing yet (zero convolution kernels: a residual branch that starts closed),
  so the grown context computes what `old` did until training opens them."""
  count = lambda tree: sum(1 for k in tree if k.startswith("Conv_"))  # noqa: E731
  m, n = count(old), count(new)
  out = {"Dense_0": old["Dense_0"], f"LayerNorm_{n}": old[f"LayerNorm_{m}"]}
  for i in range(n):
    if i < m:
      out[f"LayerNorm_{i}"], out[f"Conv_{i}"] = old[f"LayerNorm_{i}"], old[f"Conv_{i}"]
    else:
      out[f"LayerNorm_{i}"] = new[f"LayerNorm_{i}"]
      out[f"Conv_{i}"] = jax.tree.map(np.zeros_like, new[f"Conv_{i}"])
  if jax.tree.structure(out) != jax.tree.structure(new) or any(
    np.shape(a) != np.shape(b) for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(new), strict=True)
  ):
    raise CheckpointError("their widths differ")
  return jax.tree.map(np.array, out)  # copies: the two contexts must not share buffers (a train step donates them)


STAGES = ("separator", "transcriber")


def restore_stage(path: str, stage: str, config, variables: dict) -> dict:
  """`variables` (a two-stage model's) with one stage's arrays taken from checkpoint `path`: that stage of a
  two-stage checkpoint, or (for the transcriber) a one-stage model with the same frontend, heads and network.

  Raises:
    CheckpointError: the checkpoint has no such stage, or its arrays do not fit (named).
  """
  if stage not in STAGES:
    raise ValueError(f"unknown stage {stage!r}")
  saved, root, step = read_config(path)
  where = f"separation.{stage}_from={path} ({root} step {step})"
  two_stage = saved.model.get("stages", 1) == 2
  if not two_stage and stage == "separator":
    raise CheckpointError(f"{where}: a one-stage model has no separator")
  for field in ("frontend", "objective", "data.segment_frames"):
    if _field(saved, field) != _field(config, field):
      raise CheckpointError(f"{where}: its {field} differs from the config's; its weights would mean something else")
  old = restore_variables(path, saved)
  merged = {collection: dict(tree) for collection, tree in variables.items()}
  for collection, tree in variables.items():
    if stage not in tree:
      continue
    source = old.get(collection, {})
    source = source.get(stage, {}) if two_stage else source
    if jax.tree.structure(source) != jax.tree.structure(tree[stage]) or any(
      a.shape != b.shape for a, b in zip(jax.tree.leaves(source), jax.tree.leaves(tree[stage]), strict=True)
    ):
      raise CheckpointError(f"{where}: its {stage} ({collection}) has another shape than the config's")
    merged[collection][stage] = source
  return merged


def _widened(old: tuple, new: tuple) -> bool:
  """Whether a kernel of shape `new` is one of shape `old` with more inputs (axis -2), all else equal."""
  return len(old) == len(new) >= 2 and old[:-2] == new[:-2] and old[-1] == new[-1] and new[-2] > old[-2]


def model_config(path: str | None = None):
  """The config a checkpoint (default: the shipped model) was saved with, without loading its weights."""
  path = path or DEFAULT_MODEL
  if not os.path.exists(path):
    hint = "; pass --checkpoint=DIR of a trained run" if path == DEFAULT_MODEL else ""
    raise CheckpointError(f"no checkpoint at {path}{hint}")
  return read_config(path)[0]


def load_model(path: str | None = None):
  """(config, model, variables) of a checkpoint (default: the model shipped in models/default).

  Every way of opening a model for inference goes through here, so every error is a
  CheckpointError naming the checkpoint.
  """
  path = path or DEFAULT_MODEL
  config = model_config(path)
  from pianojax import models, state

  try:
    model = models.build(config)
    abstract = state.abstract_variables(model, config)  # the code can build it
  except (KeyError, AttributeError, TypeError, ValueError) as e:
    raise CheckpointError(f"checkpoint {path} was saved by an incompatible version: {e}") from None
  return config, model, load_variables(path, config, abstract)


def load_variables(path: str, config, abstract) -> dict:
  """The variables of checkpoint `path` restored into `abstract` (their shapes), checked to be finite."""
  try:
    variables = restore_variables(path, config, abstract)
  except CheckpointError:
    raise
  except Exception as e:  # noqa: BLE001  (orbax and TensorStore raise many types for unreadable files)
    raise CheckpointError(f"checkpoint {path} is corrupt or does not fit its config: {_first_line(e)}") from None
  bad = sum(not np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(variables))
  if bad:
    raise CheckpointError(
      f"checkpoint {path} has non-finite weights in {bad} arrays (training diverged): use an earlier step"
    )
  return variables


def export_model(path: str, output: str, decode=None, segment_hop_frames: int | None = None) -> str:
  """Writes the model of checkpoint `path` (variables + config, no optimizer state) to `output`.

  `decode`: a decoding.DecodeSettings to store with it (e.g. the one --mode=tune chose).
  `segment_hop_frames`: the inference hop between segments to store (speed vs overlap at the joins).

  The result is a checkpoint folder like any other (step kept) that `load_model`, every
  command and `init_from` read; a third of a training checkpoint's size, for shipping.
  """
  import orbax.checkpoint as ocp

  config, _, step = read_config(path)
  if segment_hop_frames is not None and not 0 < segment_hop_frames <= config.data.segment_frames:
    raise UserError(f"--segment_hop_frames must be in 1..{config.data.segment_frames} (the segment length)")
  output = os.path.abspath(output)
  if os.path.exists(output) and (not os.path.isdir(output) or os.listdir(output)):
    raise UserError(f"--output={output} exists and is not an empty folder: choose a new folder")
  variables = restore_variables(path, config)
  if decode is not None:
    config.decode.update(decode.as_dict())
  if segment_hop_frames is not None:
    config.inference.segment_hop_frames = int(segment_hop_frames)
  with ocp.CheckpointManager(output, options=ocp.CheckpointManagerOptions(create=True)) as manager:
    args = ocp.args.Composite(
      variables=ocp.args.StandardSave(variables), config=ocp.args.JsonSave(settings.as_dict(config))
    )
    manager.save(step, args=args, force=True)
    manager.wait_until_finished()
  return os.path.join(output, str(step))
