"""`--mode=sweep`: variants parsed and applied, two tiny variants end to end, resume, beat framing."""

import json
import os

import ml_collections
import numpy as np
import pytest

from configs.ablations import all as all_sweeps
from configs.ablations import working
from pianojax import framing, frontend, settings
from pianojax.errors import UserError
from pianojax.modes import sweep
from tests.conftest import tiny_config


def sweep_config(tfds_dir, variants):
  c = tiny_config(tfds_dir)
  c.train.steps = 4
  c.train.checkpoint_every = 4
  c.train.eval_datasets = ()
  c.train.data_threads = 1
  c.sweep = ml_collections.ConfigDict(
    {"variants": tuple(variants), "eval": ("chords:test",), "eval_max_records": 2, "metric": "onset_f1", "tune": True}
  )
  return c


def test_parse_and_apply_variants():
  v = sweep.parse_variant("short: train.steps=7 model.block_layers=(1,1) frontend.band=full | optim.learning_rate=1")
  assert v.name == "short" and len(v.stages) == 2
  c = settings.apply_overrides(tiny_config("/tmp/x"), v.stages[0])
  assert c.train.steps == 7 and tuple(c.model.block_layers) == (1, 1) and c.frontend.band == "full"
  lists = settings.apply_overrides(
    c, sweep.parse_variant("w: data.train=notes,chords data.train_weights=1,2").stages[0]
  )
  assert lists.data.train == ("notes", "chords") and lists.data.train_weights == (1.0, 2.0)
  c2 = settings.apply_overrides(c, v.stages[1])
  assert c2.optim.learning_rate == 1.0 and isinstance(c2.optim.learning_rate, float)
  with pytest.raises(UserError, match="unknown config field"):
    settings.apply_overrides(c, [("model.no_such_field", 1)])
  with pytest.raises(UserError, match="key=value"):
    sweep.parse_variant("bad: train.steps")
  cmd = sweep.command("configs/ablations/all.py", v, "out")
  assert "--config.model.block_layers=(1,1)" in cmd and "--config.init_from=out/short/stage0/checkpoints" in cmd


@pytest.mark.parametrize("module", [all_sweeps, working])
def test_every_shipped_ablation_variant_applies(module):
  config = module.get_config()
  names = set()
  for spec in config.sweep.variants:
    v = sweep.parse_variant(spec)
    names.add(v.name)
    for stage in v.stages:
      frontend.FrontendSpec.from_config(settings.apply_overrides(config, stage).frontend)  # (builds, or fails here)
  assert len(names) == len(config.sweep.variants) >= 20


def test_sweep_runs_two_variants_then_resumes(tfds_dir, tmp_path):
  config = sweep_config(
    tfds_dir,
    [
      "base:",
      "two_stage: data.train=chords data.train_weights=1 train.steps=2 | ",
      "hop: inference.segment_hop_frames=32",
    ],
  )
  work = str(tmp_path / "sweep")
  lines = []
  rows = sweep.sweep(config, "configs/ablations/x.py", work, log=lines.append)
  assert [r["variant"] for r in rows] == ["base", "two_stage", "hop"]
  for r in rows:
    assert 0.0 <= r["chords/onset_f1"] <= 1.0 and 0.0 <= r["chords/frame_f1"] <= 1.0
    assert 0.0 < r["onset_threshold"] < 1.0  # chosen on the validation split
  # base, two_stage's two stages; "hop" changes inference only and reuses base's run
  assert len(os.listdir(os.path.join(work, "runs"))) == 3
  hop = next(i for i, line in enumerate(lines) if line.startswith("[hop] stage 1/1"))
  assert any("already trained" in line for line in lines[hop:])
  table = open(os.path.join(work, "results.md")).read()
  assert "| base |" in table and "| two_stage |" in table and "--mode=train" in table
  assert os.path.getsize(os.path.join(work, "results.png")) > 1000

  # An interrupted sweep: the second row's result is lost; a rerun redoes only that row.
  os.remove(os.path.join(work, "two_stage", "result.json"))
  before = json.load(open(os.path.join(work, "base", "result.json")))
  lines.clear()
  rows = sweep.sweep(config, "configs/ablations/x.py", work, log=lines.append)
  assert any("[base] done earlier" in line for line in lines)
  assert not any(line.startswith("[base] stage") for line in lines)
  assert any(line.startswith("[two_stage] stage") for line in lines)
  assert json.load(open(os.path.join(work, "base", "result.json"))) == before
  assert len(rows) == 3
  # Each row keeps its per-clip scores (what the intervals resample) and its training compute.
  assert before["clips"]["chords"]["names"] and len(before["clips"]["chords"]["onset_f1"]) == 2
  assert np.mean(before["clips"]["chords"]["onset_f1"]) == pytest.approx(before["chords/onset_f1"], abs=1e-3)
  assert before["train_gflop"] > 0 and before["machine"] and before["train_minutes"] > 0
  # "hop" reused base's run: it states the training that run cost, not the seconds its own row took
  hop_row = json.load(open(os.path.join(work, "hop", "result.json")))
  assert hop_row["train_minutes"] == before["train_minutes"] and hop_row["minutes"] < before["minutes"]

  # Seeds: the baseline gets a second seed, then every variant within reseed_within spreads of it (all of them
  # here: the window is huge) except those left out by --variants.
  config.sweep.seeds = 2
  config.sweep.reseed_within = 1e9
  config.sweep.archive = str(tmp_path / "kept")  # (a repository folder in a real sweep): earlier rows go in too
  config.sweep.pairs = ("hop - base: the inference hop", "nope - base: a row never run")
  lines.clear()
  sweep.sweep(config, "configs/ablations/x.py", work, only="base,hop", log=lines.append)
  second = json.load(open(os.path.join(work, "base", "seed1", "result.json")))
  assert second["seed"] == before["seed"] + 1 and "--config.seed=" in second["command"]
  assert "base/seed1/stage0" in second["command"]
  assert os.path.exists(os.path.join(work, "hop", "seed1", "result.json"))
  assert not os.path.exists(os.path.join(work, "two_stage", "seed1"))
  assert len(os.listdir(os.path.join(work, "runs"))) == 4  # one new run: hop shares base's seed-1 run
  report = open(os.path.join(work, "results.md")).read()
  summary, table = report.split("Every set, every metric")  # a short table first, then the full one
  # rows against each other (here: the same trained weights at another inference hop), paired over the same clips
  pair = next(line for line in summary.splitlines() if line.startswith("| hop - base |"))
  cells = [c.strip() for c in pair.split("|")]
  assert cells[2] == "the inference hop" and cells[-2] == "2 / 2" and "[" in cells[3] and "[" in cells[4]
  assert "nope" not in report
  assert "mean onset F1 [95%]" in summary and summary.count("| base |") == 1 and "| hop |" in summary
  base_line = next(line for line in table.splitlines() if line.startswith("| base |"))
  two_stage_line = next(line for line in table.splitlines() if line.startswith("| two_stage |"))
  base_cells, two_stage_cells = ([c.strip() for c in line.split("|")] for line in (base_line, two_stage_line))
  # (from the end: command, minutes, steps, GFLOP, seeds, difference from the baseline, interval)
  assert base_cells[-6] == "2" and base_cells[-7] == "-" and base_cells[-8].endswith("]")
  assert two_stage_cells[-6] == "1" and two_stage_cells[-7].startswith(("+", "-")) and "[" in two_stage_cells[-7]

  # The archive kept every finished row; a fresh machine (an empty workdir) resumes from it without training and
  # rebuilds the same report.
  for name, k in (("base", 0), ("base", 1), ("two_stage", 0), ("hop", 0), ("hop", 1)):
    assert json.load(open(sweep.result_path(config.sweep.archive, name, k))) == json.load(
      open(sweep.result_path(work, name, k))
    )
  fresh = str(tmp_path / "fresh")
  lines.clear()
  sweep.sweep(config, "configs/ablations/x.py", fresh, only="base,hop", log=lines.append)
  assert not any(" stage " in line for line in lines) and not os.path.exists(os.path.join(fresh, "runs"))
  assert sum("kept in the archive" in line for line in lines) == 5
  assert open(os.path.join(fresh, "results.md")).read().split("Every set")[0] == summary


def test_beat_framing_trains_and_pools(tfds_dir, tmp_path):
  config = sweep_config(tfds_dir, ["beat: frontend.framing=beat"])
  config.sweep.beat_metrics = True
  rows = sweep.sweep(config, "x.py", str(tmp_path / "beat"), log=lambda *_: None)
  assert rows[0]["variant"] == "beat"
  # Scored at beat resolution too (beats tracked in each clip), per clip and in the table.
  assert 0.0 <= rows[0]["chords/beat_onset_f1"] <= 1.0 and len(rows[0]["clips"]["chords"]["beat_onset_f1"]) == 2
  assert "beat onset F1" in open(tmp_path / "beat" / "results.md").read()
  # Broadcasting: every frame of an interval holds that interval's mean.
  x = np.random.default_rng(0).standard_normal((1, 10, 3)).astype(np.float32)
  ids = framing.beat_boundaries(np.array([4, 7]), 10, max_beats=8)[None]
  out = np.asarray(framing.beat_broadcast(x, ids, 8))
  np.testing.assert_allclose(out[0, 0], x[0, :4].mean(0), rtol=1e-5)
  np.testing.assert_allclose(out[0, 5], x[0, 4:7].mean(0), rtol=1e-5)
  np.testing.assert_allclose(out[0, 9], x[0, 7:].mean(0), rtol=1e-5)
