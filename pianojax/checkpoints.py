"""Checkpoints: one small wrapper around orbax's CheckpointManager.

Each checkpoint holds the train state and the resolved config (JSON). Restoring checks
that the parts of the config that shape the model (frontend, model, objective, segment
length) match the code's config, and says which fields differ when they do not.
"""

from __future__ import annotations

import json
import os

import jax

from pianojax.errors import UserError

# Config fields that must match between a checkpoint and the code that restores it.
MODEL_FIELDS = ("frontend", "model", "objective", "data.segment_frames")
# Model-shaping fields added after checkpoints were written, with the value older code implied.
ADDED_FIELDS = {"frontend.bins_per_octave": 24}


class CheckpointError(UserError):
  """A checkpoint is missing, unreadable, or does not match the config."""


def _get(d: dict, dotted: str):
  for part in dotted.split("."):
    d = d[part]
  return d


def config_dict(config) -> dict:
  return json.loads(config.to_json_best_effort())


def _flatten(prefix: str, value, out: dict):
  if isinstance(value, dict):
    for k, v in value.items():
      _flatten(f"{prefix}.{k}" if prefix else k, v, out)
  else:
    out[prefix] = value


def check_compatible(saved: dict, config, where: str) -> None:
  """Raises CheckpointError naming each model-shaping field that differs."""
  current = config_dict(config)
  diffs = []
  for field in MODEL_FIELDS:
    a, b = {}, {}
    try:
      _flatten(field, _get(saved, field), a)
    except KeyError:
      diffs.append(f"{field} (missing in checkpoint)")
      continue
    _flatten(field, _get(current, field), b)
    for key, implied in ADDED_FIELDS.items():
      if key in b and key not in a:
        a[key] = implied
    for key in sorted(set(a) | set(b)):
      if a.get(key) != b.get(key):
        diffs.append(f"{key}: checkpoint {a.get(key)!r} vs config {b.get(key)!r}")
  if diffs:
    shown = "; ".join(diffs[:6]) + (f"; and {len(diffs) - 6} more" if len(diffs) > 6 else "")
    raise CheckpointError(f"checkpoint {where} does not match the config: {shown}")


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

  def save(self, step: int, state, config, force: bool = False) -> bool:
    ocp = self._ocp
    args = ocp.args.Composite(state=ocp.args.StandardSave(state), config=ocp.args.JsonSave(config_dict(config)))
    return self.manager.save(step, args=args, force=force)

  def restore(self, step: int, abstract_state, config):
    """Restores the state saved at `step` after checking its config against `config`."""
    ocp = self._ocp
    saved = self.manager.restore(step, args=ocp.args.Composite(config=ocp.args.JsonRestore()))["config"]
    check_compatible(saved, config, f"{self.directory} step {step}")
    args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state))
    return self.manager.restore(step, args=args)["state"]

  def wait(self) -> None:
    self.manager.wait_until_finished()

  def close(self) -> None:
    self.manager.wait_until_finished()
    self.manager.close()


def resolve(path: str) -> tuple[str, int]:
  """(checkpoint root, step) for a run's checkpoint folder (latest step) or a step folder."""
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


def load_saved_config(path: str) -> tuple[dict, str, int]:
  """The config JSON stored with a checkpoint, and where it is."""
  root, step = resolve(path)
  config_path = os.path.join(root, str(step), "config", "metadata")
  if not os.path.isfile(config_path):
    raise CheckpointError(f"checkpoint {root} step {step} has no saved config")
  with open(config_path) as f:
    return json.load(f), root, step


def restore_variables(path: str, config):
  """Model variables (params, batch_stats) from a checkpoint, for inference or init_from.

  The arrays land on this process's first device, whatever topology saved them (a GPU
  run's checkpoint opens on a laptop CPU). Orbax restores the whole train state; the
  optimizer state is dropped.

  Raises:
    CheckpointError: missing checkpoint or a config that does not match.
  """
  import orbax.checkpoint as ocp

  from pianojax import models, train

  saved, root, step = load_saved_config(path)
  check_compatible(saved, config, f"{root} step {step}")
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  model, optimizer = models.build(config), train.make_optimizer(config)
  if os.path.isdir(os.path.join(root, str(step), "variables")):  # an exported model (export_variables)
    abstract = jax.eval_shape(lambda r: train.init_variables(model, config, r), jax.random.key(0))
    target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), abstract)
    with ocp.CheckpointManager(root) as manager:
      restored = manager.restore(step, args=ocp.args.Composite(variables=ocp.args.StandardRestore(target)))
    return dict(restored["variables"])
  abstract_state = jax.eval_shape(lambda r: train.create_state(model, optimizer, config, r), jax.random.key(0))
  target = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=device), abstract_state)
  with ocp.CheckpointManager(root) as manager:
    restored = manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(target)))["state"]
  return {"params": restored.params, "batch_stats": restored.batch_stats}


def export_variables(path: str, output: str, decode: dict | None = None, segment_hop_frames: int | None = None) -> str:
  """Writes the model of checkpoint `path` (variables + config, no optimizer state) to `output`.

  `decode`: decoding settings to store with it (e.g. thresholds chosen by --mode=tune).
  `segment_hop_frames`: the inference hop between segments to store (speed vs overlap at the joins).

  The result is a checkpoint folder like any other (step kept) that `restore_variables`,
  the transcribe and eval commands and `init_from` read; a third of a training
  checkpoint's size, for shipping a model.
  """
  import ml_collections
  import orbax.checkpoint as ocp

  saved, _, step = load_saved_config(path)
  config = ml_collections.ConfigDict(saved)
  variables = restore_variables(path, config)
  saved["decode"] = {**saved.get("decode", {}), **(decode or {})}
  if segment_hop_frames is not None:
    if not 0 < segment_hop_frames <= saved["data"]["segment_frames"]:
      raise UserError(f"--segment_hop_frames must be in 1..{saved['data']['segment_frames']} (the segment length)")
    saved["data"]["segment_hop_frames"] = int(segment_hop_frames)
  output = os.path.abspath(output)
  if os.path.exists(output) and os.listdir(output):
    raise UserError(f"{output} exists and is not empty: choose a new folder")
  with ocp.CheckpointManager(output, options=ocp.CheckpointManagerOptions(create=True)) as manager:
    args = ocp.args.Composite(variables=ocp.args.StandardSave(variables), config=ocp.args.JsonSave(saved))
    manager.save(step, args=args, force=True)
    manager.wait_until_finished()
  return os.path.join(output, str(step))
