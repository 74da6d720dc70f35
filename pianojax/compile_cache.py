"""JAX's persistent compilation cache, so a compiled step or forward pass is paid once per machine.

`launch.py` turns it on for every mode: the transcribe command's forward pass then loads in a
fraction of its compile time on the second run, and a GPU train step's 80-130 s compile is paid
once. The folder is `$JAX_COMPILATION_CACHE_DIR` where set (empty: off), else
`~/.cache/pianojax/jax` (`$XDG_CACHE_HOME` respected). JAX keys entries by the program, the
backend and its own version, so one folder serves every model and version.
"""

from __future__ import annotations

import os


def default_dir() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "pianojax", "jax")


def enable(directory: str | None = None) -> str | None:
  """Turns the cache on in `directory` (default: see module doc); returns the folder used, or None if off."""
  import jax

  if directory is None:
    directory = os.environ.get("JAX_COMPILATION_CACHE_DIR", default_dir())
  if not directory:
    return None
  try:
    os.makedirs(directory, exist_ok=True)
  except OSError:
    return None  # an unwritable home: compile as before rather than fail
  jax.config.update("jax_compilation_cache_dir", directory)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # the CPU forward compiles in ~1 s
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
  return directory
