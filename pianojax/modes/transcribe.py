"""`--mode=transcribe --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN] [--formats=mid,csv,png]
[--pedal=cc64|extend]`: audio -> MIDI.

The model and its config come from the checkpoint (default: the shipped model), so a
checkpoint is all a user needs. Each file becomes BASE.mid: notes ending at their key release and the sustain
pedal as CC64 events (a model with pedal heads), or with `--pedal=extend` notes lasting while they sound and no
controllers; a CSV of the notes and a piano-roll
figure are written only when `--formats` asks for them. Files stream through one pipeline: the
next file is read while the network runs, segments of consecutive files share batches, and each
file is decoded and written as soon as its last segment is back. Bad files are reported by name
with the reason and skipped; the rest are still transcribed; the exit code says whether anything
failed.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
import time

from pianojax import audio_io, checkpoints, frontend, inference, outputs
from pianojax.errors import UserError


def run(config, args) -> int:
  """Transcribes a file or every audio file under a folder; returns 2 if any file failed."""
  del config  # the checkpoint's own config is used
  if not args.input or not args.output:
    raise UserError("--input=AUDIO_OR_FOLDER and --output=DIR are required for --mode=transcribe")
  if not os.path.exists(args.input):
    raise UserError(f"{args.input}: no such file or folder")
  formats = outputs.check_formats(args.formats)
  files = audio_io.find_audio_files(args.input)
  if not files:
    raise UserError(f"{args.input}: no audio files found")
  clock = Clock()
  rate = checkpoints.model_config(args.checkpoint).frontend.sample_rate

  def read(path):
    with clock.timing("audio"):
      audio = audio_io.load_audio(path, rate)
      if audio_io.is_silent(audio):
        raise audio_io.AudioError(path, "audio is silent")
      missing = audio_io.missing_fraction(path)
    if missing > 0.001:
      print(f"warning: {path}: the file ends before its header says ({100 * missing:.0f}% missing)", file=sys.stderr)
    return audio

  reading = audio_io.ReadAhead(files, read)  # the first file is read while the model loads
  try:
    predictor = inference.Predictor.from_checkpoint(args.checkpoint)  # loaded and compiled
  except BaseException:
    reading.close()
    raise
  clock.lap("model")
  spec = frontend.FrontendSpec.from_config(predictor.config.frontend)
  decode = predictor.decode.replace(**args.decode)
  os.makedirs(args.output, exist_ok=True)
  names = outputs.output_names(files, args.input)
  failed = []
  loaded = {}  # path -> audio, kept only for files whose figure is asked for, until it is drawn

  def signals():
    for path, audio in reading:
      if "png" in formats and not isinstance(audio, Exception):
        loaded[path] = audio
      yield path, audio

  with Progress(len(files)) as progress:
    for path, probs in inference.stream_outputs(predictor, signals()):
      progress.file_done()
      if isinstance(probs, Exception):
        print(f"skipped {probs}", file=sys.stderr)
        failed.append(path)
        continue
      with clock.timing("decoding"):
        found = inference.transcription(predictor, probs, decode).notes(args.pedal)
      base = os.path.join(args.output, names[path])
      try:
        with clock.timing("writing"):
          outputs.write_transcription(found, base, formats, loaded.pop(path, None), spec)
      except OSError as e:  # disk full, read-only: named; the files done so far stay, no half-written one does
        print(f"skipped {path}: cannot write {e.filename or base}: {e.strerror or e}", file=sys.stderr)
        failed.append(path)
        continue
      progress.write(f"{path}: {len(found)} notes -> {base}.{formats[0]}")
  clock.lap("files")
  done = len(files) - len(failed)
  print(
    f"transcribed {done} of {len(files)} file(s) into {args.output} ({clock.summary()})"
    + (f"; {len(failed)} failed:" if failed else "")
  )
  for path in failed:
    print(f"  failed: {path}", file=sys.stderr)
  return 2 if failed else 0


class Clock:
  """Where the command's time went: consecutive laps (model, files) and, within them, time spent in named kinds of
  work (audio is read in a background thread, so it overlaps the network)."""

  def __init__(self):
    self._last = time.perf_counter()
    self.laps: dict[str, float] = {}
    self.spent: collections.Counter = collections.Counter()

  def lap(self, name: str) -> None:
    now = time.perf_counter()
    self.laps[name] = now - self._last
    self._last = now

  @contextlib.contextmanager
  def timing(self, name: str):
    start = time.perf_counter()
    try:
      yield
    finally:
      self.spent[name] += time.perf_counter() - start

  def summary(self) -> str:
    inner = ", ".join(f"{k} {v:.2f}" for k, v in sorted(self.spent.items()))
    return f"model {self.laps['model']:.2f} s, files {self.laps['files']:.2f} s: {inner}"


class Progress:
  """A files bar on a terminal for folders (tqdm, imported only then); plain lines otherwise."""

  def __init__(self, total: int):
    self.bar = None
    if total > 1 and sys.stderr.isatty():
      from tqdm import tqdm

      self.bar = tqdm(total=total, desc="transcribing", unit="file")

  def __enter__(self):
    return self

  def __exit__(self, *exc):
    if self.bar is not None:
      self.bar.close()

  def file_done(self) -> None:
    if self.bar is not None:
      self.bar.update(1)

  def write(self, line: str) -> None:
    if self.bar is not None:
      self.bar.write(line)
    else:
      print(line)
