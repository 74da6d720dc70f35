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


def test_each_set_scores_every_folder_as_eval_does_and_compares_two_evaluations(run_dir, piano_wav, tmp_path):
  """`--mode=eval --each_set`: each folder of audio + MIDI inside --data scored on its own, as `--mode=eval` scores
  that folder alone, with a table of the sets; `--against` pairs two such evaluations (the same model: no
  difference, intervals at zero)."""
  import shutil

  import soundfile

  from pianojax import notes

  root = tmp_path / "heldout"
  audio, rate = soundfile.read(piano_wav)
  truth = notes.read_midi(piano_wav.parent / "piece.truth.mid")
  for name, clips in (("alone", 1), ("pair", 2)):
    (root / name).mkdir(parents=True)
    for i in range(clips):
      soundfile.write(root / name / f"clip{i}.wav", audio[: len(audio) // (i + 1)], rate)
      shutil.copy(piano_wav.parent / "piece.truth.mid", root / name / f"clip{i}.mid")
  (root / "figures").mkdir()  # no audio: not a set
  assert len(truth.pitch) > 5

  def launch(*args):
    return subprocess.run(
      [sys.executable, "launch.py", "--mode=eval", f"--checkpoint={run_dir}", *args],
      cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip

  done = launch(f"--data={root}", "--each_set", f"--output={tmp_path / 'new'}")
  assert done.returncode == 0, done.stderr[-2000:]
  assert sorted(p.parent.name for p in (tmp_path / "new").glob("*/eval.json")) == ["alone", "pair"]
  table = (tmp_path / "new" / "sets.md").read_text().splitlines()
  assert [row.split("|")[1:3] for row in table[2:]] == [[" alone ", " 1 "], [" pair ", " 2 "]]
  done = launch(f"--data={root / 'pair'}", f"--output={tmp_path / 'apart'}")
  assert done.returncode == 0, done.stderr[-2000:]
  together, apart = (json.loads((tmp_path / d / "eval.json").read_text()) for d in ("new/pair", "apart"))
  assert together["per_file"] == apart["per_file"] and together["scored"] == 2 and together["mean"]["onset_f1"] > 0
  mean = together["mean"]
  assert f"| pair | 2 | {100 * mean['onset_f1']:.1f} | {100 * mean['onset_offset_f1']:.1f} |" in table[3]

  done = launch(f"--data={root}", "--each_set", f"--against={tmp_path / 'new'}", f"--output={tmp_path / 'again'}")
  assert done.returncode == 0, done.stderr[-2000:]
  compared = json.loads((tmp_path / "again" / "paired.json").read_text())
  assert sorted(compared["sets"]) == ["alone", "pair"]
  for row in compared["sets"].values():
    for metric in ("onset_f1", "onset_offset_f1", "frame_f1"):
      assert row[metric]["difference"] == row[metric]["low"] == row[metric]["high"] == 0.0
  assert "pair: " in done.stdout and "mean difference over 2 sets" in done.stdout

  done = launch(f"--data={root}", f"--against={tmp_path / 'new'}", f"--output={tmp_path / 'x'}")
  assert done.returncode == 1 and done.stderr.strip().splitlines() == [
    "error: --against compares the sets of two --each_set evaluations: add --each_set"
  ]
  done = launch(f"--data={root / 'figures'}", "--each_set", f"--output={tmp_path / 'x'}")
  assert done.returncode == 1 and "holds no folder of audio files" in done.stderr.strip().splitlines()[-1]
