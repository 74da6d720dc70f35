"""The 1-D `data` mesh every step and forward pass runs on, and its two shardings.

Parameters are replicated; batches are split over `data` on their leading axis; `jax.jit`
inserts the collectives (no pmap, no pmean). The same code runs on one CPU, 8 forced CPU
devices, a GPU, or several hosts (after `jax.distributed.initialize()`).
"""

from __future__ import annotations

import jax
import numpy as np


def data_mesh(devices=None) -> jax.sharding.Mesh:
  """The 1-D `data` mesh over all devices (Auto axes: jit inserts the collectives)."""
  devices = devices if devices is not None else jax.devices()
  return jax.make_mesh((len(devices),), ("data",), axis_types=(jax.sharding.AxisType.Auto,), devices=devices)


def replicated(mesh: jax.sharding.Mesh) -> jax.sharding.NamedSharding:
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())


def batch_sharded(mesh: jax.sharding.Mesh) -> jax.sharding.NamedSharding:
  return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))


def to_global(batch: dict[str, np.ndarray], mesh: jax.sharding.Mesh) -> dict[str, jax.Array]:
  """Process-local numpy batch -> global arrays sharded over `data` on the leading axis."""
  sharding = batch_sharded(mesh)
  return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in batch.items()}
