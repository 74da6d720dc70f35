"""`--mode=features`: the figure, and bad input in one line."""

import subprocess
import sys

from tests.conftest import REPO


def test_launch_features_writes_png_and_reports_bad_input_in_one_line(tmp_path, maestro_wav):
  out = tmp_path / "fig.png"
  cmd = [sys.executable, "launch.py", "--config=configs/tiny.py", "--mode=features", f"--output={out}"]
  done = subprocess.run([*cmd, f"--input={maestro_wav}"], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr
  assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 20000

  bad = tmp_path / "bad.wav"
  bad.write_text("not audio")
  done = subprocess.run([*cmd, f"--input={bad}"], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 1
  assert "Traceback" not in done.stderr
  errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
  assert len(errors) == 1 and str(bad) in errors[0]
