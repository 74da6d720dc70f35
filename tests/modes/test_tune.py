"""`--mode=tune` then `--mode=export --tuned`: thresholds chosen on validation data travel with the model."""

import json
import subprocess
import sys

from pianojax import checkpoints, scoring
from tests.conftest import REPO


def launch(*args):
  return subprocess.run([sys.executable, "launch.py", *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_tune_on_validation_then_ship_the_choice(run_dir, tmp_path):
  done = launch("--mode=tune", f"--checkpoint={run_dir}", "--data=chords:validation", f"--output={tmp_path / 't'}")
  assert done.returncode == 0, done.stderr[-2000:]
  report = json.loads((tmp_path / "t" / "tune.json").read_text())
  assert len(report["grid"]) == len(scoring.ONSET_GRID) * len(scoring.FRAME_GRID)
  best = max(report["grid"], key=scoring.tuning_score)
  assert report["best"] == best and best["records"] == 2
  chosen = report["decode"]
  assert chosen["onset_threshold"] == best["onset_threshold"]
  # Then the frame and offset thresholds one at a time, pass after pass: the last pass moved nothing, so each is
  # the best of its own row of tries around the others' final values.
  last = max(r["pass"] for r in report["refined"])
  for field in ("frame_threshold", "offset_threshold"):
    tried = [r for r in report["refined"] if r["field"] == field and r["pass"] == last]
    assert len(tried) > 3 and chosen[field] == max(tried, key=lambda r: r["score"])["value"]
  tried = [r for r in report["refined"] if r["field"] == "end_events" and r["pass"] == last]
  assert sorted(r["value"] for r in tried) == ["peak", "rise"]  # where an end event falls: a choice of two
  assert chosen["end_events"] == max(tried, key=lambda r: r["score"])["value"]
  assert not any(r["field"] == "sounding_ends" for r in report["refined"])  # (no pedal heads: nothing to choose)
  if last == 0:  # one pass: the grid's frame threshold was already the best around the refined offset threshold
    assert chosen["frame_threshold"] == best["frame_threshold"]

  done = launch("--mode=export", f"--checkpoint={run_dir}", f"--tuned={tmp_path / 't' / 'tune.json'}",
                "--min_note_ms=45", f"--output={tmp_path / 'model'}")  # fmt: skip
  assert done.returncode == 0, done.stderr[-2000:]
  config, _, _ = checkpoints.read_config(str(tmp_path / "model"))
  assert config.decode.to_dict() == {**chosen, "min_note_ms": 45.0}  # a flag overrides the tune report


def test_tune_refuses_test_splits_and_searched_flags(run_dir, tmp_path):
  for args, message in (
    (["--data=chords:test"], "not a test split"),
    (["--data=chords"], "not a test split"),
    (["--data=chords:validation", "--onset_threshold=0.3"], "--onset_threshold is what tune searches"),
  ):
    done = launch("--mode=tune", f"--checkpoint={run_dir}", f"--output={tmp_path}", *args)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
  done = launch(
    "--mode=export", f"--checkpoint={run_dir}", f"--tuned={tmp_path / 'no.json'}", f"--output={tmp_path / 'm'}"
  )
  assert done.returncode == 1 and "--tuned=" in done.stderr and "Traceback" not in done.stderr
