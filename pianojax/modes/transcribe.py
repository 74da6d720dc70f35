"""`--mode=transcribe --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN]`: audio -> MIDI, CSV and a piano roll.

The model and its config come from the checkpoint (default: the shipped model), so a
checkpoint is all a user needs. Bad files are reported by name with the reason and skipped;
the rest are still transcribed; the exit code says whether anything failed.
"""

from __future__ import annotations

import collections
import csv
import os
import sys

from pianojax import audio_io, figures, frontend, inference, notes
from pianojax.errors import UserError


def write_csv(found: notes.NoteSequence, path: str) -> None:
  with open(path, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["onset", "offset", "pitch", "velocity"])
    for p, on, off, v in zip(found.pitch, found.onset, found.offset, found.velocity, strict=True):
      w.writerow([f"{on:.4f}", f"{off:.4f}", int(p), int(v)])


def run(config, args) -> int:
  """Transcribes a file or every audio file under a folder; returns 2 if any file failed."""
  del config  # the checkpoint's own config is used
  from tqdm import tqdm

  if not args.input or not args.output:
    raise UserError("--input=AUDIO_OR_FOLDER and --output=DIR are required for --mode=transcribe")
  if not os.path.exists(args.input):
    raise UserError(f"{args.input}: no such file or folder")
  files = audio_io.find_audio_files(args.input)
  if not files:
    raise UserError(f"{args.input}: no audio files found")
  predictor = inference.Predictor.from_checkpoint(args.checkpoint)
  config = predictor.config
  decode = predictor.decode.replace(**args.decode)
  os.makedirs(args.output, exist_ok=True)
  names = output_names(files, args.input)
  failed = []
  for path in tqdm(files, desc="transcribing", unit="file", disable=len(files) == 1):
    try:
      audio = audio_io.load_audio(path, config.frontend.sample_rate)
      if audio_io.is_silent(audio):
        raise audio_io.AudioError(path, "audio is silent")
    except audio_io.AudioError as e:
      print(f"skipped {e}", file=sys.stderr)
      failed.append(path)
      continue
    missing = audio_io.missing_fraction(path)
    if missing > 0.001:
      print(f"warning: {path}: the file ends before its header says ({100 * missing:.0f}% missing)", file=sys.stderr)
    n_seg = 1 + len(audio) // (config.frontend.hop_length * config.inference.segment_hop_frames)
    with tqdm(total=n_seg, desc=os.path.basename(path), unit="seg", leave=False, disable=n_seg < 64) as bar:
      found, _ = inference.transcribe_audio(predictor, audio, decode, progress=bar.update)
    base = os.path.join(args.output, names[path])
    try:
      write_outputs(found, audio, frontend.FrontendSpec.from_config(config.frontend), base)
    except OSError as e:  # disk full, read-only: named; the files done so far stay, no half-written one does
      print(f"skipped {path}: cannot write {e.filename or base}: {e.strerror or e}", file=sys.stderr)
      failed.append(path)
      continue
    print(f"{path}: {len(found)} notes -> {base}.mid")
  done = len(files) - len(failed)
  print(
    f"transcribed {done} of {len(files)} file(s) into {args.output}" + (f"; {len(failed)} failed:" if failed else "")
  )
  for path in failed:
    print(f"  failed: {path}", file=sys.stderr)
  return 2 if failed else 0


def write_outputs(found: notes.NoteSequence, audio, spec: frontend.FrontendSpec, base: str) -> None:
  """BASE.mid, BASE.csv and BASE.png, all or none: each is written under a temporary name, then renamed."""
  writers = {
    ".mid": lambda p: notes.write_midi(found, p),
    ".csv": lambda p: write_csv(found, p),
    ".png": lambda p: figures.plot_roll(audio, found, spec, p),
  }
  partial = {ext: f"{base}.partial{ext}" for ext in writers}
  try:
    for ext, write in writers.items():
      write(partial[ext])
    for ext in writers:
      os.replace(partial[ext], base + ext)
  finally:
    for path in partial.values():
      if os.path.exists(path):
        os.remove(path)


def output_names(files: list[str], root: str) -> dict[str, str]:
  """Output stem per input: the path under `root` with `__` for `/`, its extension kept where two inputs would
  otherwise share a name (song.wav and song.flac -> song.wav.mid and song.flac.mid)."""
  root = root if os.path.isdir(root) else os.path.dirname(root)
  stems = {path: os.path.splitext(os.path.relpath(path, root))[0].replace(os.sep, "__") for path in files}
  counts = collections.Counter(stems.values())
  return {
    path: stem if counts[stem] == 1 else os.path.relpath(path, root).replace(os.sep, "__")
    for path, stem in stems.items()
  }
