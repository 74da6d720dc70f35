"""scripts/paired_evals.py: two models' evals of the same folders, paired clip by clip."""

import json
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import REPO


def _eval(root, name, scores):
  """An eval.json as --mode=eval writes it (the fields the script reads): per-clip F1 for each metric."""
  (root / name).mkdir(parents=True)
  per_file = {clip: {"onset_f1": on, "onset_offset_f1": off, "frame_f1": fr} for clip, (on, off, fr) in scores.items()}
  (root / name / "eval.json").write_text(json.dumps({"per_file": per_file}))


def _run(*args):
  return subprocess.run(
    [sys.executable, "scripts/paired_evals.py", *map(str, args)], cwd=REPO, capture_output=True, text=True, check=False
  )


def test_a_shift_on_every_clip_is_a_sure_difference_and_noise_is_not(tmp_path):
  rng = np.random.default_rng(0)
  base = rng.uniform(0.3, 0.9, (12, 3))
  noise = rng.normal(0, 0.05, (12, 3))
  clips = [f"test-{i:06d}" for i in range(12)]
  shifted = base + np.array([0.02, 0.0, -0.01])
  _eval(tmp_path / "old", "performances", dict(zip(clips, base.tolist(), strict=True)))
  _eval(tmp_path / "new", "performances", dict(zip(clips, shifted.tolist(), strict=True)))
  _eval(tmp_path / "old", "mixtures", dict(zip(clips, base.tolist(), strict=True)))
  _eval(tmp_path / "new", "mixtures", dict(zip(clips, (base + noise).tolist(), strict=True)))
  for root, value in ((tmp_path / "old", 0.4), (tmp_path / "new", 0.7)):  # the pedal scored on two clips only
    path = root / "mixtures" / "eval.json"
    d = json.loads(path.read_text())
    for clip in clips[:2]:
      d["per_file"][clip]["pedal_onset_f1"] = value
    path.write_text(json.dumps(d))
  (tmp_path / "new" / "only_here").mkdir()  # a set only one side holds is not compared
  r = _run(tmp_path / "new", tmp_path / "old")
  assert r.returncode == 0, r.stderr[-2000:]
  result = json.loads(r.stdout.strip().splitlines()[-1])
  out = result["sets"]
  assert sorted(out) == ["mixtures", "performances"]
  assert result["mean_difference"]["onset_f1"] == pytest.approx((2.0 + 100 * noise[:, 0].mean()) / 2)
  assert "pedal_onset_f1" not in out["performances"]  # not scored on these clips
  assert out["mixtures"]["pedal_onset_f1"]["difference"] == pytest.approx(30.0)
  assert out["mixtures"]["pedal_onset_f1"]["old"] == pytest.approx(40.0)
  shift = out["performances"]
  for i, (metric, d) in enumerate(zip(("onset_f1", "onset_offset_f1", "frame_f1"), (2.0, 0.0, -1.0), strict=True)):
    assert shift[metric]["difference"] == pytest.approx(d)
    assert shift[metric]["low"] == pytest.approx(d) and shift[metric]["high"] == pytest.approx(d)
    assert shift[metric]["old"] == pytest.approx(100 * base[:, i].mean())
  noisy = out["mixtures"]["onset_f1"]
  assert noisy["difference"] == pytest.approx(100 * noise[:, 0].mean())
  assert noisy["low"] < noisy["difference"] < noisy["high"] and noisy["low"] < 0 < noisy["high"]
  assert "performances: " in r.stdout and "+2.0 [+2.0, +2.0]" in r.stdout


def test_unpaired_or_missing_evals_are_one_line(tmp_path):
  _eval(tmp_path / "old", "chords", {"a": (0.5, 0.5, 0.5), "b": (0.5, 0.5, 0.5)})
  _eval(tmp_path / "new", "chords", {"a": (0.5, 0.5, 0.5), "c": (0.5, 0.5, 0.5)})
  for args, message in [
    ((tmp_path / "new", tmp_path / "old", "chords"), "scored different clips"),
    ((tmp_path / "new", tmp_path / "old", "notes"), "is not an eval.json"),
    ((tmp_path / "new", tmp_path / "absent"), "no such directory"),
  ]:
    r = _run(*args)
    assert r.returncode != 0 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
