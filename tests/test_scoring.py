"""One way to score: train-time evaluation, the eval command and tune's grid agree on the same model and split."""

import json
import subprocess
import sys

import pytest

from pianojax import checkpoints, inference, mesh, records, scoring, trainer
from tests.conftest import REPO, tiny_config


def test_train_time_evaluation_equals_the_eval_command(run_dir, tfds_dir, tmp_path):
  config = tiny_config(tfds_dir, **{"train.eval_datasets": ("chords",)})
  _, model, variables = checkpoints.load_model(str(run_dir))
  during_training = trainer.evaluate(config, model, variables, mesh.data_mesh())
  assert during_training  # eval/chords/<metric>
  out = tmp_path / "eval"
  cmd = [sys.executable, "launch.py", "--mode=eval", f"--checkpoint={run_dir}", "--data=chords:validation"]
  done = subprocess.run([*cmd, f"--output={out}"], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  report = json.loads((out / "eval.json").read_text())
  assert len(report["per_file"]) == config.train.eval_max_records == 2
  for metric, value in report["mean"].items():
    assert during_training[f"eval/chords/{metric}"] == pytest.approx(value, abs=1e-12), metric


def test_the_grid_at_the_models_thresholds_equals_plain_evaluation(run_dir):
  predictor = inference.Predictor.from_checkpoint(str(run_dir))
  items = list(records.read(predictor.config, "chords:validation"))
  rows = scoring.threshold_grid(predictor, items)
  assert len(rows) == len(scoring.ONSET_GRID) * len(scoring.FRAME_GRID)
  own = predictor.decode
  row = next(r for r in rows if (r["onset_threshold"], r["frame_threshold"]) == (0.5, 0.5))
  assert (own.onset_threshold, own.frame_threshold) == (0.5, 0.5)
  plain = scoring.evaluate_sets(predictor, "chords:validation")["chords"]
  for metric in ("onset_f1", "onset_offset_f1", "onset_precision", "onset_recall"):
    assert row[metric] == pytest.approx(plain[metric], abs=1e-12), metric
  assert scoring.best_thresholds(rows) is max(rows, key=scoring.tuning_score)
