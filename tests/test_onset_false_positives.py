"""scripts/onset_false_positives.py: each transcribed onset lands in exactly one place, and on device batches the
shipped model's false onsets with accompaniment are counted against the same piano notes alone."""

import importlib.util
import subprocess
import sys

import numpy as np

_spec = importlib.util.spec_from_file_location("onset_false_positives", "scripts/onset_false_positives.py")
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)


def _rolls(frames=100):
  z = lambda: np.zeros((frames, 88), np.float32)  # noqa: E731
  rolls = {"onset": z(), "frame": z(), "other_onset": z(), "other_frame": z(), "mask": np.ones(frames, np.float32)}
  rolls["onset"][10, 40] = 1  # the piano: key 40 at frame 10, sounding to 30
  rolls["frame"][10:30, 40] = 1
  rolls["other_onset"][50, 20] = 1  # another instrument: key 20 at frame 50, sounding to 80
  rolls["other_frame"][50:80, 20] = 1
  rolls["mask"][90:] = 0
  return rolls


def test_each_transcribed_onset_lands_in_one_category():
  rolls, tol, low = _rolls(), 5, 21
  at = [  # (key, frame, expected)
    (40, 13, "true"),  # the piano's onset, 30 ms late
    (20, 46, "other_onset"),
    (32, 50, "related_key"),  # an octave above the other instrument's onset
    (19, 52, "related_key"),  # a semitone below
    (20, 70, "other_note"),
    (40, 25, "piano_note"),
    (60, 60, "elsewhere"),
    (60, 95, None),  # past the labelled frames: not counted
  ]
  counts = fp.classify([k + low for k, _, _ in at], [f for _, f, _ in at], rolls, tol, low)
  expected = {c: sum(e == c for *_, e in at) for c in ("true", *fp.CATEGORIES)}
  assert {c: counts[c] for c in expected} == expected
  assert counts["piano_onsets"] == 1 and counts["found"] == 1
  missed = fp.classify([40 + low], [16], rolls, tol, low)  # 60 ms late: a false positive inside the piano's note
  assert missed["found"] == 0 and missed["true"] == 0 and missed["piano_note"] == 1
  row = fp.summary(counts)
  assert row["transcribed"] == 7 and np.isclose(row["precision"], 1 / 7) and row["recall"] == 1.0


def test_the_shipped_model_on_device_batches(device_assets):
  result = fp.run(None, device_assets, batches=1, batch_size=2, seed=0)
  alone, mixed = result["alone"], result["accompanied"]
  assert alone["piano_onsets"] == mixed["piano_onsets"] > 0  # the same piano notes in both
  assert all(alone[c] == 0 for c in ("other_onset", "related_key", "other_note"))  # nothing else plays
  for counts in (alone, mixed):
    assert 0 < counts["found"] <= counts["piano_onsets"] and counts["true"] > 0


def test_a_missing_config_is_one_line():
  run = subprocess.run(
    [sys.executable, "scripts/onset_false_positives.py", "--config=configs/nope.py"],
    capture_output=True,
    text=True,
    check=False,
  )
  assert run.returncode != 0 and run.stderr.strip() == "error: --config configs/nope.py: no such file"


def test_overrides_reach_the_config_and_bad_ones_are_one_line(device_assets, tmp_path):
  """`--set KEY=VALUE` overrides the config the batches are drawn from, as `--config.KEY=VALUE` would."""
  for args, message in [
    (["--set=data.device.nope=1"], "error: unknown config field 'data.device.nope'"),
    (["--set=data.device.others_db"], "error: --set data.device.others_db: expected KEY=VALUE"),
    (["--set=data.device.others_db=(3.0,-6.0)"], "error: "),  # validated as the launcher validates it
  ]:
    run = subprocess.run(
      [sys.executable, "scripts/onset_false_positives.py", "--config=configs/ensembles.py", *args],
      capture_output=True,
      text=True,
      check=False,
    )
    assert run.returncode != 0 and run.stderr.startswith(message) and len(run.stderr.strip().splitlines()) == 1, (
      run.stderr
    )
