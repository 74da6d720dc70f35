"""The CPU-friendly layers compute what their Flax / lax namesakes compute: forward, gradients, variables."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pianojax import layers


def assert_trees_close(a, b, tol):
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    np.testing.assert_allclose(x, y, rtol=tol, atol=tol)


def test_pointwise_conv_is_a_1x1_convolution():
  """The matmul form of the DenseNet's 1x1 convolutions equals XLA's convolution, forward and backward, and refuses
  kernels it does not cover."""
  x = jax.random.normal(jax.random.key(0), (2, 16, 9, 12))
  fast = nn.Conv(8, (1, 1), use_bias=False, conv_general_dilated=layers.pointwise_conv)
  plain = nn.Conv(8, (1, 1), use_bias=False)
  params = plain.init(jax.random.key(1), x)
  assert jax.tree.structure(fast.init(jax.random.key(1), x)) == jax.tree.structure(params)
  np.testing.assert_allclose(fast.apply(params, x), plain.apply(params, x), rtol=1e-5, atol=1e-5)

  def grads(module):
    return jax.grad(lambda p, x: jnp.sum(module.apply(p, x) ** 2), argnums=(0, 1))(params, x)

  assert_trees_close(grads(fast), grads(plain), 1e-4)
  with pytest.raises(ValueError, match="1x1 kernels at stride 1"):
    nn.Conv(8, (3, 3), conv_general_dilated=layers.pointwise_conv).init(jax.random.key(1), x)


@pytest.mark.parametrize(("kind", "size"), [("max", 2), ("max", 3), ("mean", 2)])
def test_pool_freq_is_flax_pooling_along_frequency(kind, size):
  x = jax.random.normal(jax.random.key(0), (2, 5, 13, 3))  # 13 bins: a remainder to drop, as 203 bins have
  pool = nn.max_pool if kind == "max" else nn.avg_pool

  def plain(x):
    return pool(x, (1, size), strides=(1, size))

  def fast(x):
    return layers.pool_freq(x, size, kind)

  assert fast(x).shape == plain(x).shape == (2, 5, 13 // size, 3)
  np.testing.assert_allclose(fast(x), plain(x), rtol=1e-6)
  g = jax.random.normal(jax.random.key(1), plain(x).shape)
  np.testing.assert_allclose(*(jax.vjp(f, x)[1](g)[0] for f in (fast, plain)), rtol=1e-6)
  with pytest.raises(ValueError, match="unknown pooling"):
    layers.pool_freq(x, 2, "median")


class Norm(nn.Module):
  """A layer normalising its input as the network did (`fast=False`) or does now."""

  train: bool
  fast: bool

  @nn.compact
  def __call__(self, x):
    if self.fast:
      return layers.BatchNormReLU(not self.train, name="BatchNorm_0")(x)
    return nn.relu(nn.BatchNorm(use_running_average=not self.train, momentum=0.9)(x))


@pytest.mark.parametrize("train", [True, False])
def test_batch_norm_relu_is_flax_batch_norm_then_relu(train):
  """Same variables under the same names, same outputs, same gradients (for input, scale and bias), same running
  averages after a step: the shipped checkpoints restore into it unchanged."""
  x = 1.5 + 2.0 * jax.random.normal(jax.random.key(0), (4, 6, 7, 5))
  plain, fast = Norm(train, fast=False), Norm(train, fast=True)
  variables = plain.init(jax.random.key(1), x)
  assert jax.tree.structure(fast.init(jax.random.key(1), x)) == jax.tree.structure(variables)
  # non-trivial parameters and running statistics, so every term of the gradient counts
  gen = np.random.default_rng(2)
  variables = jax.tree.map(lambda v: v + 0.3 * gen.standard_normal(v.shape).astype(np.float32), variables)
  variables["batch_stats"]["BatchNorm_0"]["var"] = jnp.abs(variables["batch_stats"]["BatchNorm_0"]["var"])

  def run(module, params, x):
    return module.apply({**variables, "params": params}, x, mutable=["batch_stats"])

  (y_fast, stats_fast), (y_plain, stats_plain) = (run(m, variables["params"], x) for m in (fast, plain))
  np.testing.assert_allclose(y_fast, y_plain, rtol=1e-5, atol=1e-5)
  assert_trees_close(stats_fast, stats_plain, 1e-5)
  if train:
    np.testing.assert_allclose(
      stats_fast["batch_stats"]["BatchNorm_0"]["mean"],
      0.9 * variables["batch_stats"]["BatchNorm_0"]["mean"] + 0.1 * x.mean((0, 1, 2)),
      rtol=1e-5,
      atol=1e-6,
    )
  g = jax.random.normal(jax.random.key(3), x.shape)

  def grads(module):
    return jax.grad(lambda p, x: jnp.sum(run(module, p, x)[0] * g), argnums=(0, 1))(variables["params"], x)

  assert_trees_close(grads(fast), grads(plain), 1e-4)
