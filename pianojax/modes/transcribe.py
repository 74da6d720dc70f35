"""`--mode=transcribe --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN]`: audio -> MIDI, CSV and a piano roll.

The model and its config come from the checkpoint (default: the shipped model), so a
checkpoint is all a user needs. Bad files are reported by name with the reason and skipped;
the rest are still transcribed; the exit code says whether anything failed.
"""

from __future__ import annotations

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
  root = args.input if os.path.isdir(args.input) else os.path.dirname(args.input)
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
    n_seg = 1 + len(audio) // (config.frontend.hop_length * config.inference.segment_hop_frames)
    with tqdm(total=n_seg, desc=os.path.basename(path), unit="seg", leave=False, disable=n_seg < 64) as bar:
      found, _ = inference.transcribe_audio(predictor, audio, decode, progress=bar.update)
    base = os.path.join(args.output, name)
    notes.write_midi(found, base + ".mid")
    write_csv(found, base + ".csv")
    figures.plot_roll(audio, found, frontend.FrontendSpec.from_config(config.frontend), base + ".png")
    print(f"{path}: {len(found)} notes -> {base}.mid")
  print(
    f"transcribed {len(files) - failures} of {len(files)} file(s) into {args.output}"
    + (f"; {failures} failed" if failures else "")
  )
  return 2 if failures else 0
