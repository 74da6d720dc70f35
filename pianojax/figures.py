"""Figures: what the model sees (features), what it found (piano rolls), and how that compares with the truth.

matplotlib is imported inside each function, so nothing on the inference path pays for it unless a figure is drawn.
"""

from __future__ import annotations

import dataclasses
import os

import jax
import numpy as np

from pianojax import frontend, notes


def _views(spec: frontend.FrontendSpec) -> list[tuple[str, frontend.FrontendSpec]]:
  """The three representations to show, with the same STFT settings and band."""
  base = dataclasses.replace(spec, normalize="none", log="log" if spec.log == "none" else spec.log)
  return [
    ("linear spectrogram", dataclasses.replace(base, representation="linear")),
    ("mel spectrogram", dataclasses.replace(base, representation="mel")),
    ("MFCC (z-scored per coefficient)", dataclasses.replace(base, representation="mfcc", normalize="example_bin")),
  ]


def _pyplot():
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  return plt


def plot_features(signals: dict[str, np.ndarray], spec: frontend.FrontendSpec, path: str | os.PathLike) -> None:
  """Draws waveform, linear spectrogram, mel spectrogram and MFCC, one row per signal.

  Args:
    signals: name -> mono float audio at `spec.sample_rate`.
    spec: frontend settings (STFT, band, mel, log) shared by the three views.
    path: where to write the PNG.
  """
  plt = _pyplot()
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


def plot_examples(batch: dict[str, np.ndarray], titles: list[str], spec: frontend.FrontendSpec, path: str) -> None:
  """Training examples as the model gets them: features (left) and targets (right: frames grey, onsets red, the
  sustain pedal as a bar above the keys, masked frames shaded), one row per example of `batch`."""
  plt = _pyplot()
  audio = np.asarray(batch["audio"])
  feats = np.asarray(jax.jit(frontend.features, static_argnums=1)(audio, spec))
  n = len(titles)
  fig, axes = plt.subplots(n, 2, figsize=(15, 2.6 * n), squeeze=False)
  frame_rate = spec.sample_rate / spec.hop_length
  for i in range(n):
    frames = batch["frame"][i].shape[0]
    seconds = frames / frame_rate
    axes[i, 0].imshow(
      feats[i, :frames].T, origin="lower", aspect="auto", extent=(0, seconds, 0, feats.shape[2]), cmap="magma"
    )
    axes[i, 0].set(ylabel=f"{spec.representation} bin", title=titles[i])
    roll = np.where(batch["frame"][i] > 0, 0.35, 0.0)
    roll = np.maximum(roll, batch["onset"][i])
    ax = axes[i, 1]
    extent = (0, seconds, notes.MIN_PITCH - 0.5, notes.MAX_PITCH + 0.5)
    ax.imshow(roll.T, origin="lower", aspect="auto", extent=extent, cmap="Reds", vmin=0, vmax=1)
    if "pedal_frame" in batch:
      down = batch["pedal_frame"][i][:, 0] > 0
      t = np.arange(frames) / frame_rate
      ax.fill_between(t, notes.MAX_PITCH + 1, notes.MAX_PITCH + 3, where=down, color="tab:blue", step="mid")
    masked = np.asarray(batch["mask"][i]) == 0
    if masked.any():
      ax.axvspan(np.argmax(masked) / frame_rate, seconds, color="k", alpha=0.15)
    ax.set(ylim=(notes.MIN_PITCH - 1, notes.MAX_PITCH + 4), ylabel="MIDI pitch", title="targets")
  for ax in axes[-1]:
    ax.set_xlabel("time (s)")
  fig.tight_layout()
  fig.savefig(path, dpi=70)
  plt.close(fig)


def plot_roll(  # noqa: PLR0917
  audio: np.ndarray, found: notes.NoteSequence, spec: frontend.FrontendSpec, path: str, max_seconds=60.0, title=None
):
  """Piano roll of the notes as they sound (held by their sustain pedal, if any; colour: velocity) under the model's
  features (first `max_seconds`); `title`: default the file's name."""
  plt = _pyplot()
  clip = audio[: int(max_seconds * spec.sample_rate)]
  feats = np.asarray(jax.jit(frontend.features, static_argnums=1)(clip[None], spec))[0]
  seconds = len(clip) / spec.sample_rate
  fig, (a1, a2) = plt.subplots(2, 1, figsize=(14, 7), sharex=True)
  a1.imshow(feats.T, origin="lower", aspect="auto", extent=(0, seconds, 0, feats.shape[1]), cmap="magma")
  a1.set(ylabel=f"{spec.representation} bin", title=title or os.path.basename(path))
  ends = found.pedal_offsets() if len(found.pedal_time) else found.offset
  for p, on, off, v in zip(found.pitch, found.onset, ends, found.velocity, strict=True):
    if on < seconds:
      a2.add_patch(plt.Rectangle((on, p - 0.4), off - on, 0.8, color=plt.cm.viridis(v / 127)))
  a2.set(xlim=(0, seconds), ylim=(notes.MIN_PITCH - 1, notes.MAX_PITCH + 1), xlabel="time (s)", ylabel="MIDI pitch")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def plot_comparison(ref_roll: np.ndarray, est_roll: np.ndarray, frame_rate: float, path: str, title: str) -> None:
  """The prediction over the ground truth, frame by frame: hits green, false positives red, misses blue."""
  plt = _pyplot()
  image = np.ones((*ref_roll.T.shape, 3))
  image[(ref_roll & est_roll).T] = (0.1, 0.6, 0.1)  # hit
  image[(~ref_roll & est_roll).T] = (0.85, 0.1, 0.1)  # false positive
  image[(ref_roll & ~est_roll).T] = (0.1, 0.3, 0.9)  # miss
  fig, ax = plt.subplots(figsize=(14, 5))
  seconds = ref_roll.shape[0] / frame_rate
  ax.imshow(image, origin="lower", aspect="auto", extent=(0, seconds, notes.MIN_PITCH - 0.5, notes.MAX_PITCH + 0.5))
  ax.set(xlabel="time (s)", ylabel="MIDI pitch", title=f"{title}: green hit, red false positive, blue miss")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def plot_eval_summary(per_file: dict[str, dict[str, float]], path: str, title: str = "") -> None:
  """Per-file onset F1 (and onset+offset F1) as bars, worst first, beside onset precision against recall."""
  plt = _pyplot()
  names = sorted(per_file, key=lambda n: per_file[n]["onset_f1"])
  f1 = np.array([per_file[n]["onset_f1"] for n in names])
  f1_off = np.array([per_file[n]["onset_offset_f1"] for n in names])
  precision = np.array([per_file[n]["onset_precision"] for n in names])
  recall = np.array([per_file[n]["onset_recall"] for n in names])
  fig, (bars, scatter) = plt.subplots(
    1, 2, figsize=(14, max(3.0, 0.25 * len(names) + 1.5)), gridspec_kw={"width_ratios": [2, 1]}
  )
  y = np.arange(len(names))
  bars.barh(y, 100 * f1, color="#3465a4", label="onset F1")
  bars.barh(y, 100 * f1_off, color="#f57900", height=0.4, label="onset+offset F1")
  bars.set_yticks(y, names, fontsize=7)
  bars.set(xlim=(0, 100), xlabel="F1 (%)", title=f"{title} per file (mean onset F1 {100 * f1.mean():.1f})".strip())
  bars.legend(loc="lower right")
  scatter.scatter(100 * recall, 100 * precision, color="#3465a4")
  scatter.plot([0, 100], [0, 100], color="0.7", lw=0.8)
  scatter.set(xlim=(0, 102), ylim=(0, 102), xlabel="onset recall (%)", ylabel="onset precision (%)", aspect="equal")
  scatter.set_title("each file: precision vs recall")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def plot_separation(
  spectra: dict[str, np.ndarray], frame_rate: float, path: str, title: str = "", bin_label: str = "bin"
) -> None:
  """Spectrograms on one grid, one panel each (e.g. mixture, separated, clean piano), as dB of their power, all
  on the colour scale of the first (60 dB deep), so what the separator removed shows as darkness."""
  plt = _pyplot()
  db = {name: 10 * np.log10(np.maximum(np.asarray(p, np.float64), 1e-12)) for name, p in spectra.items()}
  top = float(np.max(next(iter(db.values()))))
  fig, axes = plt.subplots(len(db), 1, figsize=(12, 2.6 * len(db)), sharex=True, squeeze=False)
  for ax, (name, values) in zip(axes[:, 0], db.items(), strict=True):
    seconds = values.shape[0] / frame_rate
    ax.imshow(
      values.T,
      origin="lower",
      aspect="auto",
      extent=(0, seconds, 0, values.shape[1]),
      cmap="magma",
      vmin=top - 60,
      vmax=top,
    )
    ax.set(ylabel=bin_label, title=name)
  axes[-1, 0].set(xlabel="time (s)")
  if title:
    fig.suptitle(title)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
