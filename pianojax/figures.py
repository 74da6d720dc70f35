"""Figures for looking at what the model sees (matplotlib, host side, lazy imports)."""

from __future__ import annotations

import dataclasses
import os

import jax
import numpy as np

from pianojax import frontend


def _views(spec: frontend.FrontendSpec) -> list[tuple[str, frontend.FrontendSpec]]:
  """The three representations to show, with the same STFT settings and band."""
  base = dataclasses.replace(spec, normalize="none", log="log" if spec.log == "none" else spec.log)
  return [
    ("linear spectrogram", dataclasses.replace(base, representation="linear")),
    ("mel spectrogram", dataclasses.replace(base, representation="mel")),
    ("MFCC (z-scored per coefficient)", dataclasses.replace(base, representation="mfcc", normalize="example_bin")),
  ]


def plot_features(signals: dict[str, np.ndarray], spec: frontend.FrontendSpec, path: str | os.PathLike) -> None:
  """Draws waveform, linear spectrogram, mel spectrogram and MFCC, one row per signal.

  Args:
    signals: name -> mono float audio at `spec.sample_rate`.
    spec: frontend settings (STFT, band, mel, log) shared by the three views.
    path: where to write the PNG.
  """
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  views = _views(spec)
  fig, axes = plt.subplots(len(signals), 4, figsize=(18, 3.2 * len(signals)), squeeze=False)
  for row, (name, audio) in enumerate(signals.items()):
    seconds = len(audio) / spec.sample_rate
    ax = axes[row, 0]
    ax.plot(np.arange(len(audio)) / spec.sample_rate, audio, lw=0.4, color="k")
    ax.set(xlabel="time (s)", xlim=(0, seconds))
    ax.set_ylabel(name, fontsize=11, fontweight="bold")
    if row == 0:
      ax.set_title("waveform")
    for col, (label, view) in enumerate(views, start=1):
      feats = np.asarray(jax.jit(frontend.features, static_argnums=1)(audio[None], view))[0]
      ax = axes[row, col]
      if view.representation == "linear":
        start, stop = view.linear_bins
        extent = (0, seconds, start * spec.sample_rate / spec.n_fft, stop * spec.sample_rate / spec.n_fft)
        ylabel = "Hz"
      else:
        extent = (0, seconds, 0, feats.shape[1])
        ylabel = "mel band" if view.representation == "mel" else "coefficient"
      ax.imshow(feats.T, origin="lower", aspect="auto", extent=extent, cmap="magma")
      ax.set(xlabel="time (s)", ylabel=ylabel)
      if row == 0:
        ax.set_title(label)
  fig.suptitle(
    f"{spec.band} band ({spec.fmin:.1f}-{spec.fmax:.0f} Hz), n_fft {spec.n_fft}, "
    f"window {spec.win_length}, hop {spec.hop_length}, log={views[0][1].log}"
  )
  fig.tight_layout()
  fig.savefig(os.fspath(path), dpi=80)
  plt.close(fig)
