"""The initial train state, compiled for its one run: the same values as the optimised program's, placed as asked."""

import jax
import numpy as np

from pianojax import mesh as mesh_lib
from pianojax import models, state
from tests.conftest import tiny_config


def test_the_initial_state_compiled_once_equals_the_optimised_programs(tfds_dir):
  config = tiny_config(tfds_dir, **{"model.pedal": True})
  model, opt = models.build(config), state.make_optimizer(config)
  mesh = mesh_lib.data_mesh()
  key = jax.random.key(4)
  fast = state.initial_state(model, opt, config, key, out_shardings=mesh_lib.replicated(mesh))
  usual = jax.jit(lambda r: state.create_state(model, opt, config, r))(key)
  assert jax.tree.structure(fast) == jax.tree.structure(usual)
  for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(usual), strict=True):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.sharding.is_fully_replicated and len(a.sharding.device_set) == mesh.devices.size
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7)  # (an ulp: erf's polynomial)
  kernels = [np.asarray(x) for x in jax.tree.leaves(fast.params) if x.ndim > 1]
  assert kernels and all(k.std() > 0 for k in kernels)  # drawn, not zeros
  other = [np.asarray(x) for x in jax.tree.leaves(state.initial_variables(model, config, jax.random.key(5))["params"])]
  assert not any(np.array_equal(k, o) for k, o in zip(kernels, [o for o in other if o.ndim > 1], strict=True))
