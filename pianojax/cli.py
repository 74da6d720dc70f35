"""`launch.py --mode=NAME`: maps a mode name to its module in pianojax.modes and runs it."""

from __future__ import annotations

import importlib

from pianojax import settings
from pianojax.errors import UserError
from pianojax.modes import MODES, Args


def run(mode: str, config, args: Args) -> int:
  """Runs one mode; returns its exit code (0 done, 2 some items failed). Raises UserError for bad input."""
  if mode not in MODES:
    raise UserError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
  module = importlib.import_module(f"pianojax.modes.{mode}")
  return module.run(settings.normalize(config), args)
