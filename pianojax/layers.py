"""Layers the network is built from, written in the forms XLA's CPU backend runs well.

Each one computes what its Flax / lax namesake computes, with the same parameter names and values, so every
checkpoint restores and the forward outputs match to float rounding (tests/test_layers.py). Measured on the
2-core CPU (`benchmarks/train_layers.py`, docs/BENCHMARKS.md), the standard forms spent most of a train step
outside the matrix products: 1x1 convolutions at 14-22 GFLOP/s, max pooling's backward pass through
`select_and_scatter` with four index tensors, and batch-norm backward passes that transpose every activation.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

EPSILON = 1e-5  # nn.BatchNorm's default


def pointwise_conv(lhs, rhs, window_strides, padding, *args, precision=None, **kwargs):
  """`lax.conv_general_dilated` for a 1x1 kernel at stride 1, as one matmul over the channels (NHWC x HWIO).

  Given to `nn.Conv` (`conv_general_dilated=`), so parameters, names and initial values stay nn.Conv's.
  """
  del padding, args, kwargs  # (a 1x1 kernel needs no padding; dilations do nothing to it)
  if rhs.shape[:-2] != (1,) * (rhs.ndim - 2) or any(s != 1 for s in window_strides):
    raise ValueError(f"pointwise_conv is for 1x1 kernels at stride 1, got {rhs.shape} at {window_strides}")
  kernel = rhs.reshape(rhs.shape[-2:])
  # As a 2-D product: with the positions in one axis the kernel gradient is one matmul over them; contracting
  # batch, time and frequency as three axes made XLA write a transposed copy of every bottleneck's gradient.
  out = jnp.matmul(lhs.reshape(-1, lhs.shape[-1]), kernel, precision=precision)
  return out.reshape(*lhs.shape[:-1], kernel.shape[-1])


def pool_freq(x, size: int, kind: str):
  """Max or mean over non-overlapping windows of `size` along axis -2 (frequency of NHWC), dropping a remainder:
  `nn.max_pool` / `nn.avg_pool` with window (1, size), stride (1, size), VALID padding, as a reshape and a
  reduction (whose gradient is elementwise; the windowed form's is a scatter)."""
  b, t, f, c = x.shape
  windows = x[:, :, : f - f % size].reshape(b, t, f // size, size, c)
  if kind == "max":
    return windows.max(axis=3)
  if kind == "mean":
    return windows.mean(axis=3)
  raise ValueError(f"unknown pooling {kind!r}")


def _moments(x):
  """Batch mean and (biased) variance per channel in float32, as nn.BatchNorm's fast variance computes them."""
  axes = tuple(range(x.ndim - 1))
  x = x.astype(jnp.float32)
  mean = x.mean(axes)
  return mean, jnp.maximum(0.0, (x * x).mean(axes) - mean * mean)


@jax.custom_vjp
def batch_norm_relu(x, scale, bias):
  """ReLU of batch normalisation with the batch's own statistics; returns (output, mean, variance).

  The gradient is written out (two per-channel sums and one elementwise pass; the ReLU's mask recomputed from
  `x`) instead of differentiated through the statistics, which XLA's CPU backend turned into transposed copies of
  every activation. The mean and variance outputs are for the running averages: no gradient flows through them.
  """
  return _batch_norm_relu_fwd(x, scale, bias)[0]


def _batch_norm_relu_fwd(x, scale, bias):
  mean, var = _moments(x)
  rstd = jax.lax.rsqrt(var + EPSILON)
  y = jax.nn.relu((x.astype(jnp.float32) - mean) * (scale * rstd) + bias)
  return (y.astype(x.dtype), mean, var), (x, mean, rstd, scale, bias)


def _batch_norm_relu_bwd(residuals, cotangents):
  x, mean, rstd, scale, bias = residuals
  axes = tuple(range(x.ndim - 1))
  n = x.size // x.shape[-1]
  xhat = (x.astype(jnp.float32) - mean) * rstd
  dy = jnp.where(xhat * scale + bias > 0, cotangents[0].astype(jnp.float32), 0.0)
  dbias = dy.sum(axes)
  dscale = (dy * xhat).sum(axes)
  dx = (scale * rstd) * (dy - dbias / n - xhat * (dscale / n))
  return dx.astype(x.dtype), dscale, dbias


batch_norm_relu.defvjp(_batch_norm_relu_fwd, _batch_norm_relu_bwd)


class BatchNormReLU(nn.Module):
  """`relu(nn.BatchNorm(momentum=momentum)(x))` over the last axis, with nn.BatchNorm's variables (params `scale`,
  `bias`; batch_stats `mean`, `var`) under its name: name it "BatchNorm_<i>" where one stood (Flax numbers
  modules by class name, so this class keeps the old one's)."""

  use_running_average: bool
  momentum: float = 0.9
  dtype: jnp.dtype = jnp.float32

  @nn.compact
  def __call__(self, x):
    features = x.shape[-1]
    scale = self.param("scale", nn.initializers.ones, (features,), jnp.float32)
    bias = self.param("bias", nn.initializers.zeros, (features,), jnp.float32)
    ra_mean = self.variable("batch_stats", "mean", lambda: jnp.zeros((features,), jnp.float32))
    ra_var = self.variable("batch_stats", "var", lambda: jnp.ones((features,), jnp.float32))
    if self.use_running_average:
      mul = jax.lax.rsqrt(ra_var.value + EPSILON) * scale
      return jax.nn.relu((x.astype(jnp.float32) - ra_mean.value) * mul + bias).astype(self.dtype)
    y, mean, var = batch_norm_relu(x, scale, bias)
    if not self.is_initializing():
      m = self.momentum
      ra_mean.value = m * ra_mean.value + (1 - m) * jax.lax.stop_gradient(mean)
      ra_var.value = m * ra_var.value + (1 - m) * jax.lax.stop_gradient(var)
    return y.astype(self.dtype)
