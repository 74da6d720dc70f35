"""`pip install .` gives a working `pianojax` command that finds the shipped model outside the repository.

The fresh venv sees the test environment's packages through a .pth file (so nothing is downloaded:
`--no-index`), which also makes pip check that every dependency pyproject.toml declares is
installed at a version it accepts; pianojax itself is built and installed from the repository.
"""

import os
import subprocess
import sys
import sysconfig

from pianojax import metrics, notes
from tests.conftest import REPO


def test_pip_install_then_pianojax_transcribe_writes_midi(piano_wav, tmp_path):
  venv = tmp_path / "venv"
  subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
  site = next((venv / "lib").glob("python3*/site-packages"))
  (site / "test_environment.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
  pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index", "--no-build-isolation"]
  env = {**os.environ, "PIP_NO_CACHE_DIR": "1", "TMPDIR": str(tmp_path)}  # (setuptools leaves build/ in the repo)
  done = subprocess.run([*pip, str(REPO)], capture_output=True, text=True, env=env, check=False, cwd=tmp_path)
  assert done.returncode == 0, done.stderr[-3000:]
  work = tmp_path / "elsewhere"  # not the repository: the installed package, configs and model are used
  work.mkdir()
  command = venv / "bin" / "pianojax"
  done = subprocess.run(
    [str(command), "transcribe", str(piano_wav), "-o", "midi"], cwd=work, capture_output=True, text=True, check=False
  )
  assert done.returncode == 0, done.stderr[-3000:]
  found = notes.read_midi(work / "midi" / "piece.mid")
  assert metrics.note_metrics(notes.read_midi(piano_wav.parent / "piece.truth.mid"), found)["onset_f1"] > 0.5
  where = subprocess.run(
    [str(venv / "bin" / "python"), "-c", "import pianojax.checkpoints as c; print(c.__file__, c.DEFAULT_MODEL)"],
    cwd=work,
    capture_output=True,
    text=True,
    check=True,
  ).stdout.split()
  assert where[0].startswith(str(venv)) and where[1].startswith(str(venv / "share" / "pianojax")), where
  usage = subprocess.run([str(command), "nosuchmode"], cwd=work, capture_output=True, text=True, check=False)
  assert usage.returncode != 0 and "unknown mode 'nosuchmode'" in usage.stderr and "Traceback" not in usage.stderr
