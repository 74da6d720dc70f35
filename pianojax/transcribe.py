"""`launch.py --mode=transcribe`: audio files or folders -> MIDI (+ CSV and a piano-roll PNG).

The model and its config come from the checkpoint (the config saved beside it), so a
checkpoint is all a user needs. Bad files are reported by name with the reason and
skipped; the rest are still transcribed; the exit code says whether anything failed.
"""

from __future__ import annotations

import csv
import os
import sys

import numpy as np

from pianojax import audio_io, checkpoints, notes
from pianojax.errors import UserError

DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "default")


def load_model(checkpoint: str | None, batch_size: int | None = None):
  """(config, Predictor) from a checkpoint folder (default: the model shipped in models/default)."""
  import jax
  import ml_collections

  from pianojax import inference, models, train

  path = checkpoint or DEFAULT_CHECKPOINT
  if not os.path.exists(path):
    if checkpoint is None:
      raise checkpoints.CheckpointError(f"no default model shipped at {path}; pass --checkpoint=DIR of a trained run")
    raise checkpoints.CheckpointError(f"no checkpoint at {path}")
  saved, _, _ = checkpoints.load_saved_config(path)
  try:
    config = ml_collections.ConfigDict(saved)
    model = models.build(config)
    jax.eval_shape(lambda r: train.init_variables(model, config, r), jax.random.key(0))  # the code can build it
  except (KeyError, AttributeError, TypeError, ValueError) as e:
    raise checkpoints.CheckpointError(f"checkpoint {path} was saved by an incompatible version: {e}") from None
  try:
    variables = checkpoints.restore_variables(path, config)
  except checkpoints.CheckpointError:
    raise
  except Exception as e:  # noqa: BLE001  (orbax raises many types for a tree that does not fit)
    raise checkpoints.CheckpointError(f"checkpoint {path} does not fit the model its config describes: {e}") from None
  return config, inference.Predictor(model, variables, batch_size=batch_size or inference.default_batch_size())


def write_csv(found: notes.NoteSequence, path: str) -> None:
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["onset", "offset", "pitch", "velocity"])
    for p, on, off, v in zip(found.pitch, found.onset, found.offset, found.velocity, strict=True):
      w.writerow([f"{on:.4f}", f"{off:.4f}", int(p), int(v)])


def plot_roll(audio: np.ndarray, found: notes.NoteSequence, config, path: str, max_seconds: float = 60.0) -> None:
  """Piano roll of the notes over the mel spectrogram (first `max_seconds`)."""
  import jax
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  from pianojax import frontend

  rate = config.frontend.sample_rate
  clip = audio[: int(max_seconds * rate)]
  spec = frontend.FrontendSpec.from_config(config.frontend)
  feats = np.asarray(jax.jit(frontend.features, static_argnums=1)(clip[None], spec))[0]
  seconds = len(clip) / rate
  fig, (a1, a2) = plt.subplots(2, 1, figsize=(14, 7), sharex=True)
  a1.imshow(feats.T, origin="lower", aspect="auto", extent=(0, seconds, 0, feats.shape[1]), cmap="magma")
  a1.set(ylabel=f"{spec.representation} bin", title=os.path.basename(path))
  for p, on, off, v in zip(found.pitch, found.onset, found.offset, found.velocity, strict=True):
    if on < seconds:
      a2.add_patch(plt.Rectangle((on, p - 0.4), off - on, 0.8, color=plt.cm.viridis(v / 127)))
  a2.set(xlim=(0, seconds), ylim=(notes.MIN_PITCH - 1, notes.MAX_PITCH + 1), xlabel="time (s)", ylabel="MIDI pitch")
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)


def run(
  input_path: str, output_dir: str, checkpoint: str | None, *, write_csv_file=True, write_png=True, **decode
) -> int:
  """Transcribes a file or every audio file under a folder; returns the number of failures."""
  from tqdm import tqdm

  from pianojax import inference

  if not input_path or not output_dir:
    raise UserError("--input=AUDIO_OR_FOLDER and --output=DIR are required for --mode=transcribe")
  if not os.path.exists(input_path):
    raise UserError(f"{input_path}: no such file or folder")
  files = audio_io.find_audio_files(input_path)
  if not files:
    raise UserError(f"{input_path}: no audio files found")
  config, predictor = load_model(checkpoint)
  decode = {k: v for k, v in decode.items() if v is not None}
  os.makedirs(output_dir, exist_ok=True)
  root = input_path if os.path.isdir(input_path) else os.path.dirname(input_path)
  failures = 0
  for path in tqdm(files, desc="transcribing", unit="file", disable=len(files) == 1):
    try:
      audio = audio_io.load_audio(path, config.frontend.sample_rate)
      if audio_io.is_silent(audio):
        raise audio_io.AudioError(path, "audio is silent")
    except audio_io.AudioError as e:
      print(f"skipped {e}", file=sys.stderr)
      failures += 1
      continue
    name = os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, "__")
    n_seg = 1 + len(audio) // (config.frontend.hop_length * config.data.segment_hop_frames)
    with tqdm(total=n_seg, desc=os.path.basename(path), unit="seg", leave=False, disable=n_seg < 64) as bar:
      found, _ = inference.transcribe_audio(predictor, audio, config, progress=bar.update, **decode)
    base = os.path.join(output_dir, name)
    notes.write_midi(found, base + ".mid")
    if write_csv_file:
      write_csv(found, base + ".csv")
    if write_png:
      plot_roll(audio, found, config, base + ".png")
    print(f"{path}: {len(found)} notes -> {base}.mid")
  print(
    f"transcribed {len(files) - failures} of {len(files)} file(s) into {output_dir}"
    + (f"; {failures} failed" if failures else "")
  )
  return failures
