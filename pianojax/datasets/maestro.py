"""TFDS builder for real recordings in the MAESTRO layout: metadata (JSON or CSV) + audio + MIDI.

Point `manual_dir` at the folder (e.g. a MAESTRO download, or ../shared/fixtures/maestro_mini).
Audio is resampled to the configured rate and stored as int16; the MIDI labels are clipped
to the audio's duration. Unreadable audio or malformed MIDI is skipped with a warning and
listed in `builder.skipped`.

TFDS's own catalogue has `maestro` (TFRecord, `tfds.features.Audio`, needs TensorFlow to read);
where you have it, prefer building this layout builder from the same files, which reads
without TensorFlow.
"""

from __future__ import annotations

import csv
import dataclasses
import glob
import json
import logging
import os

import numpy as np
import tensorflow_datasets as tfds

from pianojax import audio_io
from pianojax import notes as notes_lib
from pianojax.datasets import encoding
from pianojax.synth import effects


@dataclasses.dataclass(eq=False)
class MaestroConfig(tfds.core.BuilderConfig):
  sample_rate: int = 16000


def read_metadata(root: str) -> list[dict]:
  """Rows with split, audio_filename, midi_filename from maestro-*.json (both layouts) or *.csv."""
  paths = sorted(glob.glob(os.path.join(root, "maestro-*.json"))) or sorted(glob.glob(os.path.join(root, "*.json")))
  if paths:
    with open(paths[-1]) as f:
      data = json.load(f)
    if isinstance(data, dict):  # v3 layout: column -> {row: value}
      columns = list(data)
      rows = sorted(data[columns[0]])
      return [{c: data[c][r] for c in columns} for r in rows]
    return list(data)
  paths = sorted(glob.glob(os.path.join(root, "*.csv")))
  if paths:
    with open(paths[-1], newline="") as f:
      return list(csv.DictReader(f))
  raise FileNotFoundError(f"no maestro-*.json or *.csv metadata in {root}")


class PianojaxMaestro(tfds.core.GeneratorBasedBuilder):
  """Real piano recordings with aligned MIDI, from a MAESTRO-layout folder."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}  # noqa: RUF012  (TFDS convention)
  MANUAL_DOWNLOAD_INSTRUCTIONS = "Pass a MAESTRO-layout folder (metadata + audio + MIDI) as manual_dir."
  # Real configs are made per sample rate (sr16000, ...) by pianojax.datasets.builder.
  BUILDER_CONFIGS = [MaestroConfig(name="default")]  # noqa: RUF012

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.skipped: list[str] = []

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=encoding.feature_spec(),
      description="Real piano recordings (MAESTRO layout) with aligned MIDI labels.",
      metadata=tfds.core.MetadataDict(sample_rate=self.builder_config.sample_rate),
    )

  def _split_generators(self, dl_manager):
    root = os.fspath(dl_manager.manual_dir)
    rows = read_metadata(root)
    splits = sorted({r["split"] for r in rows})
    return {s: self._generate_examples(root, [r for r in rows if r["split"] == s]) for s in splits}

  def _generate_examples(self, root: str, rows: list[dict]):
    rate = self.builder_config.sample_rate
    for row in rows:
      audio_path = os.path.join(root, row["audio_filename"])
      midi_path = os.path.join(root, row["midi_filename"])
      try:
        audio = audio_io.load_audio(audio_path, rate)
        notes = notes_lib.read_midi(midi_path)
      except (audio_io.AudioError, notes_lib.MidiError) as e:
        logging.warning("skipping %s", e)
        self.skipped.append(str(e))
        continue
      duration = len(audio) / rate
      notes = notes.clip(0.0, duration, clamp=True)
      notes = notes.select(notes.onset < duration - 1e-3)
      key = os.path.splitext(row["audio_filename"])[0]
      yield (
        key,
        encoding.encode(effects.to_int16(audio), notes, soundfont="", program=np.int32(0), kind="maestro", id=key),
      )
