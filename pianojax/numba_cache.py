"""librosa's compiled kernels, written to numba's on-disk cache by one process before two can race for it.

librosa compiles its beat tracker, peak pickers and a few ufuncs with numba (`cache=True`), most of them as soon as
their module is imported: the first process writes the machine code beside librosa's sources and later ones load it.
Two processes compiling the same `guvectorize` kernel at once can leave a cache whose two halves disagree (numba issue
10128, open); from then on every process that loads it segfaults. Two pytest workers on a fresh install did exactly
that in CI (both at their first beat-framed test), and two runs started together on a fresh install could too.
`scripts/setup.sh` runs `python -m pianojax.numba_cache` once the packages are in, so every kernel pianojax reaches is
compiled there, by one process; afterwards processes only read the cache (tests/conftest.py fails a test session
that writes to it).
"""

from __future__ import annotations

import glob
import os
import sys


def compile_kernels() -> None:
  """Runs, on small inputs and in the dtypes pianojax uses, each librosa path that numba compiles and that pianojax
  (beat framing, time stretching) or its tests (onset strength, peak picking) take."""
  import librosa
  import numpy as np

  from pianojax import augment, framing

  rng = np.random.default_rng(0)
  for dtype in (np.float32, np.float64):  # training segments are float32; audio that librosa reads is float64
    audio = (0.1 * rng.standard_normal(16000 * 4)).astype(dtype)
    framing.track_beats(audio, 16000, 256)
    augment.time_stretch(audio[:16000], 1.1)
    librosa.onset.onset_strength(y=audio, sr=16000)
    librosa.util.peak_pick(audio[:2000], pre_max=3, post_max=3, pre_avg=3, post_avg=3, delta=0.0, wait=1)


def cache_files() -> dict[str, int]:
  """numba's cache files for librosa (inside its package, or under NUMBA_CACHE_DIR where set) -> modification time."""
  import importlib.util

  root = os.environ.get("NUMBA_CACHE_DIR")
  if not root:
    root = os.path.join(os.path.dirname(importlib.util.find_spec("librosa").origin), "**", "__pycache__")
  paths = glob.glob(os.path.join(root, "**", "*.nb[ic]"), recursive=True)
  return {path: os.stat(path).st_mtime_ns for path in sorted(paths)}


def main() -> int:
  before = len(cache_files())
  compile_kernels()
  print(f"numba_cache: librosa's compiled kernels cached ({len(cache_files()) - before} files new)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
