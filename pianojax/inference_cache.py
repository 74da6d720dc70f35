"""Opening a model for inference, paid once per machine: its compiled forward pass and its weights, kept on disk.

Opening a checkpoint otherwise imports Flax, traces the network twice (for the shapes of its
variables and to lower the forward pass), imports orbax, restores the weights through it and
compiles: about 1.5 s on the 2-core CPU before any audio is heard, 0.7 s even with JAX's
compilation cache. The second time a machine opens a model, this cache has:

- the **program**: the forward pass exported (`jax.export`, serialized StableHLO), which also
  carries the tree of variable shapes it takes, named by a digest of everything it depends on:
  the config fields that shape the model, batch size and devices, jax/jaxlib versions, and the
  source of the modules that define the forward pass (a code change makes a new entry); JAX's
  persistent cache then serves its compiled form;
- the **weights**: the checkpoint's variables as one .npz, named by the checkpoint folder and the
  size and modification time of each of its files (a rewritten checkpoint makes a new entry).

It lives in `pianojax/` inside JAX's compilation cache folder (`compile_cache`); with that cache
off, nothing is stored or read. Any unreadable entry counts as absent (and is rewritten).
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle

import numpy as np

# The code a compiled forward pass was traced from: a change to any of these makes a new entry.
SOURCES = ("models.py", "frontend.py", "framing.py", "augment.py", "inference.py")
# The config fields the program depends on.
FIELDS = ("frontend", "model", "objective", "data.segment_frames")


def _folder() -> str | None:
  import jax

  directory = jax.config.jax_compilation_cache_dir
  return os.path.join(directory, "pianojax") if directory else None


def enabled() -> bool:
  """Whether there is a cache folder (JAX's compilation cache is on)."""
  return _folder() is not None


def program_key(config, batch_size: int, devices) -> str:
  """The digest naming the compiled forward pass of `config` at `batch_size` over `devices`."""
  import jax
  import jaxlib

  from pianojax import settings

  tree = settings.as_dict(config)
  fields = {}
  for name in FIELDS:
    node, leaf = settings.lookup(tree, name)
    fields[name] = node.get(leaf) if node is not None else None
  here = os.path.dirname(os.path.abspath(__file__))
  digest = hashlib.sha256()
  digest.update(json.dumps(fields, sort_keys=True, default=str).encode())
  digest.update(f"{batch_size}|{len(devices)}|{devices[0].platform}|{devices[0].device_kind}".encode())
  digest.update(f"{jax.__version__}|{jaxlib.__version__}".encode())
  for name in SOURCES:
    with open(os.path.join(here, name), "rb") as f:
      digest.update(f.read())
  return "program-" + digest.hexdigest()[:32]


def weights_key(step_dir: str) -> str:
  """The digest naming a checkpoint step folder's weights: its path and every file's size and modification time."""
  digest = hashlib.sha256(os.path.abspath(step_dir).encode())
  for root, _, files in sorted(os.walk(step_dir)):
    for name in sorted(files):
      stat = os.stat(os.path.join(root, name))
      digest.update(f"{os.path.relpath(os.path.join(root, name), step_dir)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
  return "weights-" + digest.hexdigest()[:32]


def _read(name: str):
  folder = _folder()
  path = os.path.join(folder, name) if folder else None
  if path is None or not os.path.isfile(path):
    return None
  try:
    with open(path, "rb") as f:
      return pickle.load(f)
  except Exception:  # noqa: BLE001  (a truncated or foreign file: made afresh and overwritten)
    return None


def _write(name: str, value) -> None:
  """Writes whole, then renames (a reader never sees half a file); a failure to write is no error."""
  folder = _folder()
  if folder is None:
    return
  path = os.path.join(folder, name)
  partial = f"{path}.{os.getpid()}.partial"
  try:
    os.makedirs(folder, exist_ok=True)
    with open(partial, "wb") as f:
      pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(partial, path)
  except OSError:
    if os.path.exists(partial):
      os.remove(partial)


def save_program(name: str, exported) -> None:
  """Stores an exported forward pass (`jax.export.Exported`, serialized StableHLO); without `flatbuffers`
  (which JAX's serialization needs) nothing is stored."""
  try:
    blob = bytes(exported.serialize())
  except ImportError:
    return
  _write(name, blob)


def load_program(name: str):
  """(exported forward pass, the shapes of the variables it takes) stored under `name`, or None."""
  import jax
  import jax.export

  blob = _read(name)
  if not isinstance(blob, bytes):
    return None
  try:
    exported = jax.export.deserialize(bytearray(blob))
  except Exception:  # noqa: BLE001  (a foreign or older file: exported afresh)
    return None
  (variables, _, _), _ = jax.tree.unflatten(exported.in_tree, list(exported.in_avals))
  return exported, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype), variables)


def save_weights(name: str, variables) -> None:
  import jax

  _write(name, [np.asarray(x) for x in jax.tree.leaves(variables)])


def load_weights(name: str, shapes):
  """The variables stored under `name` in the tree of `shapes`, or None (absent, or not of those shapes)."""
  import jax

  leaves = _read(name)
  want = jax.tree.leaves(shapes)
  if not isinstance(leaves, list) or len(leaves) != len(want):
    return None
  if any(a.shape != b.shape or a.dtype != b.dtype for a, b in zip(leaves, want, strict=True)):
    return None
  return jax.tree.unflatten(jax.tree.structure(shapes), leaves)
