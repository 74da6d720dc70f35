"""`launch.py --mode=NAME`: checks the flags and the config, then runs pianojax.modes.NAME."""

from __future__ import annotations

import importlib
import importlib.util
import os

from pianojax import settings
from pianojax.errors import UserError
from pianojax.modes import MODES, Args

# Modes that read the config given with --config (the others read the checkpoint's own).
CONFIG_MODES = {"demo", "features", "build_data", "train", "render", "sweep"}
# Modes that render audio with the config's SoundFonts.
RENDER_MODES = {"demo", "build_data", "render"}


def run(mode: str, config, args: Args) -> int:
  """Runs one mode; returns its exit code (0 done, 2 some items failed). Raises UserError for bad input,
  before any work is done or any folder is made."""
  if mode not in MODES:
    raise UserError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
  config = settings.normalize(config)
  check_args(mode, args)
  if mode in CONFIG_MODES:
    settings.validate(config, render=mode in RENDER_MODES)
  module = importlib.import_module(f"pianojax.modes.{mode}")
  return module.run(config, args)


def check_args(mode: str, args: Args) -> None:
  from pianojax import decoding, outputs

  outputs.check_formats(args.formats)
  for name, value in args.decode.items():
    decoding.DecodeSettings.check(name, value)
  if args.segment_hop_frames is not None and args.segment_hop_frames < 1:
    raise UserError(f"--segment_hop_frames={args.segment_hop_frames}: must be >= 1")
  for flag in ("checkpoint", "tuned"):
    path = getattr(args, flag)
    if path and not os.path.exists(path):
      raise UserError(f"--{flag}={path}: no such file or folder")
  if args.output and os.path.exists(args.output):
    if mode != "features" and not os.path.isdir(args.output):
      raise UserError(f"--output={args.output} is a file: give a folder")
    if not os.access(args.output, os.W_OK):
      raise UserError(f"--output={args.output} is not writable")


def config_file(path: str):
  """The ConfigDict a config file's `get_config()` returns."""
  spec = importlib.util.spec_from_file_location("_pianojax_config", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def unknown_override(argv: list[str], default_config: str = "configs/default.py") -> str:
  """The first `--config.KEY=...` in argv whose KEY the config file lacks, as a one-line message."""
  path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), default_config)
  config = config_file(path)
  for arg in argv:
    if arg.startswith("--config."):
      try:
        settings.check_field(config, arg[len("--config.") :].split("=", 1)[0])
      except UserError as e:
        return f"{arg.split('=', 1)[0]}: {e}"
  return "a --config override names a field the config does not have"
