"""The commands of `launch.py --mode=NAME`, one module each, side by side.

A mode is `run(config, args) -> exit code` (0: all done; 2: some items failed, each named on
stderr). Modes build on the library (pianojax.*), never on each other; `pianojax.cli` maps a
mode name to its module.
"""

from __future__ import annotations

import dataclasses

# Each mode is the module of its name under pianojax.modes (the order `launch.py --help` lists them in).
MODES = (
  "demo",
  "features",
  "build_data",
  "train",
  "transcribe",
  "separate",
  "eval",
  "tune",
  "export",
  "render",
  "sweep",
)


@dataclasses.dataclass(frozen=True)
class Args:
  """The command-line flags (besides --config), with one meaning in every mode.

  input: audio or MIDI files (a file or a folder) a mode reads.
  output: where a mode writes (a folder, or a figure for `features`).
  data: datasets or evaluation sets: TFDS dataset names (`NAME` or `NAME:SPLIT`) or folders of audio + MIDI.
  checkpoint: a run folder, its checkpoint folder or one step folder (default: the shipped model).
  decode: decoding overrides from flags (None = the model's own), see decoding.DecodeSettings.
  formats: what a transcription is written as (outputs.FORMATS).
  pedal: how note ends and the sustain pedal are written (decoding.PEDAL_OUTPUTS).
  each_set, against: eval: each set on its own; another model's evaluations to compare with (pianojax.modes.eval).
  """

  workdir: str | None = None
  input: str | None = None
  output: str | None = None
  data: str | None = None
  checkpoint: str | None = None
  decode: dict = dataclasses.field(default_factory=dict)
  segment_hop_frames: int | None = None
  formats: tuple = ("mid",)
  pedal: str = "cc64"
  offsets: str | None = None
  each_set: bool = False
  against: str | None = None
  piano: str | None = None
  variants: str | None = None
  tuned: str | None = None
  config_path: str = "CONFIG"
  config_overrides: dict = dataclasses.field(default_factory=dict)
