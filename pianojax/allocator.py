"""The host memory allocator for CPU training: tcmalloc, where it is installed.

XLA's CPU client allocates every execution's temporary buffers afresh: 1.16 GB per train step of
configs/pretrained.py. glibc's malloc hands allocations that large out as new pages from `mmap` and
gives them back on `free`, so every step page-faults all of them again: 283,000 minor faults per step,
a fifth of the step's time on the 2-core machine (docs/BENCHMARKS.md). tcmalloc keeps the freed pages
for the next step (0 faults per step). glibc's own settings (`M_MMAP_MAX`, `M_ARENA_MAX`, trim
threshold) do not get there: allocations from XLA's worker threads fall back to `mmap` regardless,
or contend for one arena (measured: no gain, or slower).

The allocator is chosen when a process starts (`LD_PRELOAD`), so `use_tcmalloc` restarts the
process with it, before any work is done. `PIANOJAX_ALLOCATOR=system` keeps glibc's.
"""

from __future__ import annotations

import ctypes.util
import os
import sys

LIBRARIES = ("tcmalloc_minimal", "tcmalloc")  # Debian: libtcmalloc-minimal4 (scripts/setup.sh installs it)
ENV = "PIANOJAX_ALLOCATOR"


def tcmalloc_library() -> str | None:
  """The file name of an installed tcmalloc (found the way the dynamic loader finds libraries), or None."""
  for name in LIBRARIES:
    found = ctypes.util.find_library(name)
    if found:
      return found
  return None


def restart_command(environ: dict, argv: list[str]) -> tuple[list[str], dict] | None:
  """(argv, environment) to restart this process with tcmalloc preloaded, or None where that is not wanted, not
  possible, or already done."""
  if environ.get(ENV, "tcmalloc") == "system" or "tcmalloc" in environ.get("LD_PRELOAD", ""):
    return None
  if not sys.platform.startswith("linux") or not argv or not os.path.isfile(argv[0]):
    return None  # (`python -c`, or no script to run again)
  library = tcmalloc_library()
  if library is None:
    return None
  preload = " ".join(p for p in (library, environ.get("LD_PRELOAD", "")) if p)
  # ENV marks the restarted process, so a loader that ignores LD_PRELOAD cannot make it restart forever.
  return [sys.executable, *argv], {**environ, "LD_PRELOAD": preload, ENV: "system"}


def use_tcmalloc() -> None:
  """Restarts this process (same interpreter, arguments and environment) with tcmalloc preloaded, where one is
  installed and it is not loaded yet; otherwise returns. Call before any JAX computation."""
  if "IPython" in sys.modules or sys.flags.interactive:
    return  # a notebook or REPL running the command in-process: never replace the user's session
  command = restart_command(dict(os.environ), sys.argv)
  if command is None:
    return
  argv, environ = command
  sys.stdout.flush()
  sys.stderr.flush()
  os.execve(argv[0], argv, environ)


def active() -> str:
  """Which allocator this process runs on: `tcmalloc` where it is loaded, else `system` (benchmarks report it)."""
  try:
    with open("/proc/self/maps") as f:
      return "tcmalloc" if "tcmalloc" in f.read() else "system"
  except OSError:
    return "system"
