"""TFDS builder for synthetic piano data rendered with FluidSynth.

One builder config per material (notes, chords, others, mixtures, performances, ensembles); sizes,
clip length, SoundFonts and the MIDI folder come from `config.data.synth`. The config's
name carries a digest of those settings, so different settings never share a folder.
Train and validation splits use the training SoundFonts; the test split uses held-out
pianos (by default MuseScore General's grand), so a test score says how the model does
on a piano it never heard.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import zlib

import numpy as np
import tensorflow_datasets as tfds

from pianojax import notes as notes_lib
from pianojax.datasets import encoding
from pianojax.errors import UserError
from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer

MATERIALS = ("notes", "chords", "others", "mixtures", "performances", "ensembles")
WITH_MIDI = ("performances", "ensembles")  # the materials that play windows of data.synth.midi_dir
SPLITS = ("train", "validation", "test")


@dataclasses.dataclass(eq=False)
class SynthConfig(tfds.core.BuilderConfig):
  """Settings of one synthetic dataset (see `configs/default.py`, section data.synth)."""

  material: str = "notes"
  sizes: tuple[tuple[str, int], ...] = (("train", 64), ("validation", 8), ("test", 8))
  example_seconds: float = 8.0
  sample_rate: int = 16000
  train_soundfonts: tuple[str, ...] = ("fluidr3", "timgm6mb", "csound", "fluidr3mono")
  test_soundfonts: tuple[str, ...] = ("musescore",)
  midi_dir: str = ""
  reverb: bool = True
  seed: int = 0


def make_config(material: str, synth_cfg, sample_rate: int) -> SynthConfig:
  """A SynthConfig from the `data.synth` config section; the name encodes every setting."""
  if material not in MATERIALS:
    raise ValueError(f"unknown material {material!r}; choose from {MATERIALS}")
  settings = {
    "material": material,
    "sizes": tuple((s, int(synth_cfg.sizes[s])) for s in SPLITS),
    "example_seconds": float(synth_cfg.example_seconds),
    "sample_rate": int(sample_rate),
    "train_soundfonts": tuple(synth_cfg.train_soundfonts),
    "test_soundfonts": tuple(synth_cfg.test_soundfonts),
    "midi_dir": os.path.abspath(synth_cfg.midi_dir) if synth_cfg.midi_dir and material in WITH_MIDI else "",
    "reverb": bool(synth_cfg.reverb),
    "seed": int(synth_cfg.seed),
  }
  digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
  return SynthConfig(name=f"{material}_{digest}", description=json.dumps(settings), **settings)


def split_of(path: str) -> str:
  """Stable split for a MIDI file by its name: 5% test, 5% validation, the rest train."""
  bucket = zlib.crc32(os.path.basename(path).encode()) % 20
  return "test" if bucket == 0 else "validation" if bucket == 1 else "train"


class PianojaxSynth(tfds.core.GeneratorBasedBuilder):
  """Synthetic piano audio with note labels, rendered with FluidSynth."""

  VERSION = tfds.core.Version("1.0.0")
  RELEASE_NOTES = {"1.0.0": "First release."}  # noqa: RUF012  (TFDS convention)
  BUILDER_CONFIGS = [SynthConfig(name=m, material=m) for m in MATERIALS]  # noqa: RUF012

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    self.skipped: list[str] = []  # MIDI files that could not be read, with the reason

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
      features=encoding.feature_spec(),
      description=f"Synthetic piano ({self.builder_config.material}), int16 audio at "
      f"{self.builder_config.sample_rate} Hz.",
      metadata=tfds.core.MetadataDict(sample_rate=self.builder_config.sample_rate),
    )

  def _split_generators(self, dl_manager):
    del dl_manager
    return {split: self._generate_examples(split) for split, n in self.builder_config.sizes if n > 0}

  def _generate_examples(self, split: str):
    for key, audio, piano, soundfont, material, _ in generate(self.builder_config, split, self.skipped):
      yield (
        key,
        encoding.encode(audio, piano, soundfont=soundfont, program=material.piano_program, kind=material.kind, id=key),
      )


def performances(cfg: SynthConfig, split: str, skipped: list[str]) -> list[tuple[str, notes_lib.NoteSequence]]:
  """Reads every MIDI file of this split once; bad ones are skipped, logged and added to `skipped`."""
  root = cfg.midi_dir
  if not root:
    return []
  if not os.path.isdir(root):
    raise UserError(f"--config.data.synth.midi_dir={root}: no such folder")
  found = []
  for folder, _, names in os.walk(root):
    found += [os.path.join(folder, n) for n in names if n.lower().endswith((".mid", ".midi"))]
  out = []
  split_files = sorted(p for p in found if split_of(p) == split)
  for path in split_files:
    try:
      performance = notes_lib.read_midi(path)
    except notes_lib.MidiError as e:
      logging.warning("skipping %s", e)
      skipped.append(str(e))
      continue
    if len(performance) == 0:
      logging.warning("skipping %s: no piano notes", path)
      skipped.append(f"{path}: no piano notes")
      continue
    out.append((os.path.relpath(path, root), performance))
  if split_files and not out:
    raise UserError(
      f"none of the {len(split_files)} MIDI files of the {split} split in {root} is readable ({skipped[-1]})"
    )
  return out


def material(cfg: SynthConfig, rng, index: int, split: str, performances) -> materials.Material:
  """The `index`-th example's material of a split (seeded by the caller's `rng`)."""
  seconds = cfg.example_seconds
  if cfg.material == "notes":  # a seeded walk over the whole 88-key grid, different per split
    grid_size = len(materials.single_note_grid())
    order = np.random.default_rng([cfg.seed, SPLITS.index(split)]).permutation(grid_size)
    return materials.single_note(rng, int(order[index % grid_size]))
  if cfg.material == "chords":
    return materials.chords(rng, seconds)
  if cfg.material == "others":
    return materials.instruments_alone(rng, seconds)
  if cfg.material == "mixtures":
    return materials.mixture(rng, seconds)
  if cfg.material == "ensembles":  # a window of a real performance (else a random sequence) and parts that follow it
    if performances:
      name, performance = performances[int(rng.integers(len(performances)))]
      piano = materials.performance_excerpt(rng, performance, seconds, name).piano
    else:
      piano = materials.piano_sequence(rng, seconds)
    return materials.ensemble(rng, piano, seconds)
  # performances: real MIDI (3 of 4 examples, where a folder is given), else random sequences
  if performances and index % 4 != 3:
    name, performance = performances[int(rng.integers(len(performances)))]
    return materials.performance_excerpt(rng, performance, seconds, name)
  return materials.sequences(rng, seconds)


def generate(cfg: SynthConfig, split: str, skipped: list[str] | None = None, stems: bool = False):
  """Yields (key, int16 audio, piano notes as rendered, piano name, material, parts) for every example of a split;
  where `stems`, `parts` is `(piano alone, mix without its noise)` as they sound in the audio (int16), else None.

  Test splits play the held-out pianos (`test_soundfonts`), the others the training ones.
  """
  n = dict(cfg.sizes)[split]
  fonts = cfg.test_soundfonts if split == "test" else cfg.train_soundfonts
  renderer = Renderer(cfg.sample_rate)
  split_performances = performances(cfg, split, skipped if skipped is not None else [])
  split_seed = SPLITS.index(split)
  try:
    for i in range(n):
      rng = np.random.default_rng([cfg.seed, split_seed, i])
      item = material(cfg, rng, i, split, split_performances)
      soundfont = fonts[i % len(fonts)]
      audio, piano, *parts = make_example(item, renderer, soundfont, rng, reverb=cfg.reverb, stem=stems)
      yield f"{split}-{i:06d}", audio, piano, soundfont, item, tuple(parts) if parts else None
  finally:
    renderer.close()
