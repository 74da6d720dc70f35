"""The inference cache as a user meets it: the second run of a command reads the model's program and weights from the
cache, a changed checkpoint is read afresh, and a broken entry is made again."""

import os
import pathlib
import pickle
import shutil
import subprocess
import sys

import numpy as np

from pianojax import checkpoints, notes
from tests.conftest import REPO


def transcribe(wav, out, checkpoint, cache):
  env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(cache)}
  cmd = [sys.executable, "launch.py", "--mode=transcribe", f"--input={wav}", f"--output={out}"]
  done = subprocess.run(
    [*cmd, f"--checkpoint={checkpoint}"], check=False, cwd=REPO, capture_output=True, text=True, env=env
  )
  assert done.returncode == 0, done.stderr[-2000:]
  return notes.read_midi(pathlib.Path(out) / "piece.mid")


def entries(cache, kind):
  return sorted((cache / "pianojax").glob(f"{kind}-*"))


def test_second_run_reads_the_cache_and_a_changed_checkpoint_is_read_afresh(piano_wav, tmp_path):
  model = tmp_path / "model"
  shutil.copytree(checkpoints.DEFAULT_MODEL, model)
  cache = tmp_path / "cache"
  first = transcribe(piano_wav, tmp_path / "1", model, cache)
  assert len(first) > 10
  (program,), (weights,) = entries(cache, "program"), entries(cache, "weights")
  again = transcribe(piano_wav, tmp_path / "2", model, cache)
  np.testing.assert_array_equal(again.pitch, first.pitch)
  np.testing.assert_array_equal(again.onset, first.onset)

  # The weights really come from the cache: zeroed there, the same command finds other notes.
  stored = pickle.loads(weights.read_bytes())
  weights.write_bytes(pickle.dumps([np.zeros_like(x) for x in stored]))
  zeroed = transcribe(piano_wav, tmp_path / "3", model, cache)
  assert len(zeroed) != len(first) or not np.array_equal(zeroed.onset, first.onset)

  # A checkpoint written again (new modification times) is read from disk, not from the stale entry.
  root, step = checkpoints.resolve(str(model))
  for path in (pathlib.Path(root) / str(step)).rglob("*"):
    if path.is_file():
      os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
  fresh = transcribe(piano_wav, tmp_path / "4", model, cache)
  np.testing.assert_array_equal(fresh.pitch, first.pitch)
  np.testing.assert_array_equal(fresh.onset, first.onset)
  assert len(entries(cache, "weights")) == 2

  # A broken program entry is traced and stored again, with the same result.
  program.write_bytes(b"not a program")
  broken = transcribe(piano_wav, tmp_path / "5", model, cache)
  np.testing.assert_array_equal(broken.onset, first.onset)
  assert program.read_bytes() != b"not a program"
