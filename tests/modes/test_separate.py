"""The two-stage model end to end: trained one stage at a time from device synthesis (the transcriber taken from a
one-stage run), exported, restored; `--mode=transcribe`, `--mode=eval` (with separation metrics where a folder of
mixtures has its piano alone beside it) and `--mode=separate` (audio + figure) on it."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from pianojax import audio_io, checkpoints, cli, notes, settings, testsets, trainer
from pianojax.errors import UserError
from pianojax.modes import Args
from tests.conftest import REPO, TINY_FLAGS, TWO_STAGE, require, stage_leaves


@pytest.fixture(scope="module")
def mixtures_folder(tmp_path_factory):
  """`--mode=render --data=mixtures` with the tiny config: 2 test mixtures and, beside them, their piano alone."""
  from pianojax.synth import soundfonts

  require("fluidr3" in soundfonts.available(), "SoundFont fluidr3 not installed")
  out = tmp_path_factory.mktemp("rendered")
  r = subprocess.run(
    [
      sys.executable,
      "launch.py",
      "--mode=render",
      *TINY_FLAGS,
      "--data=mixtures",
      "--piano=fluidr3",
      f"--output={out}",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=False,
  )
  assert r.returncode == 0, r.stderr[-2000:]
  return out / "mixtures"


def test_render_writes_each_mixture_with_its_piano_alone(mixtures_folder):
  stems = testsets.stem_folder(str(mixtures_folder))
  names = sorted(n for n in os.listdir(mixtures_folder) if n != testsets.MATERIALS_FILE)
  assert names == sorted(os.listdir(stems)) and len(names) == 4  # 2 x (.wav, .mid), and beside them what each holds
  for name in (n for n in names if n.endswith(".mid")):
    a, b = notes.read_midi(mixtures_folder / name), notes.read_midi(os.path.join(stems, name))
    np.testing.assert_array_equal(a.pitch, b.pitch)
  for name in (n for n in names if n.endswith(".wav")):
    mix, alone = (audio_io.load_audio(os.path.join(d, name), 16000) for d in (mixtures_folder, stems))
    assert mix.shape == alone.shape and np.abs(alone).max() > 0.01
    residual = mix - alone  # the other instruments and the noise, not the piano
    assert 0.05 < np.sqrt(np.mean(residual**2)) / np.sqrt(np.mean(mix**2)) < 0.99
    assert abs(np.corrcoef(mix, alone)[0, 1]) > 0.1


def _rms(x):
  return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))


def test_render_writes_each_mixture_without_its_noise(mixtures_folder):
  """The `_no_noise` twin: the same piano and instruments at the same level, the noise (where the mix has any) gone:
  the mix minus it is noise alone, flat across the spectrum or falling (white or pink), none of the piano."""
  quiet = testsets.noiseless_folder(str(mixtures_folder))
  assert sorted([*os.listdir(quiet), testsets.MATERIALS_FILE]) == sorted(os.listdir(mixtures_folder))
  for name in (n for n in os.listdir(mixtures_folder) if n.endswith(".wav")):
    mix, alone, noiseless = (
      audio_io.load_audio(os.path.join(d, name), 16000)
      for d in (mixtures_folder, testsets.stem_folder(str(mixtures_folder)), quiet)
    )
    assert _rms(noiseless - alone) > 0.05 * _rms(mix)  # the other instruments are in it
    noise = mix - noiseless
    if _rms(noise) < 1e-3 * _rms(mix):
      continue  # a mix without noise (a fifth of them)
    assert abs(np.corrcoef(noise, alone)[0, 1]) < 0.05  # no piano in what the twin leaves out
    assert _rms(noise) < _rms(mix - alone)


def test_mixture_gap_splits_the_gap_into_instruments_and_noise(mixtures_folder, tmp_path):
  """scripts/mixture_gap.py on a rendered folder and three evals' per-file scores (as `--mode=eval` writes them):
  per clip gap = alone - mixed = (alone - no noise) + (no noise - mixed), means in the JSON line."""
  names = sorted(n[:-4] for n in os.listdir(mixtures_folder) if n.endswith(".wav"))
  scores = {"mixed": (0.5, 0.7), "alone": (0.9, 0.8), "quiet": (0.6, 0.75)}
  for which, values in scores.items():
    (tmp_path / which).mkdir()
    per_file = {n: {"onset_f1": v} for n, v in zip(names, values, strict=True)}
    (tmp_path / which / "eval.json").write_text(json.dumps({"per_file": per_file}))
  r = subprocess.run(
    [sys.executable, "scripts/mixture_gap.py", str(mixtures_folder), *(str(tmp_path / w) for w in scores)],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=False,
  )
  assert r.returncode == 0, r.stderr[-2000:]
  out = json.loads(r.stdout.strip().splitlines()[-1])
  assert out["clips"] == 2
  np.testing.assert_allclose([out["gap"], out["gap_instruments"], out["gap_noise"]], [25.0, 17.5, 7.5])
  # grouped by the clips' other instruments, as render's materials.json names them
  with open(os.path.join(mixtures_folder, "materials.json")) as f:
    held = json.load(f)
  groups = out["gap_by_accompaniment"]
  assert sum(n for n, _ in groups.values()) == 2
  np.testing.assert_allclose(sum(n * g for n, g in groups.values()) / 2, 25.0)
  for name in names:
    assert "+".join(sorted({family for family, *_ in held[name]["others"]})) in groups


def test_two_stage_trains_exports_transcribes_evaluates_and_separates(
  device_assets, run_dir, mixtures_folder, piano_wav, tmp_path
):
  config = settings.apply_overrides(
    device_assets, [*TWO_STAGE.items(), ("train.steps", 2), ("separation.transcriber_from", str(run_dir))]
  )
  settings.validate(config)
  work = tmp_path / "two"
  trainer.train_and_evaluate(config, str(work), log=lambda *_: None)
  # stage 2 is the one-stage run's network, untouched by training stage 1 alone; stage 1 moved
  _, _, one = checkpoints.load_model(str(run_dir))
  _, _, start = checkpoints.load_model(str(work / "checkpoints" / "0"))
  _, _, two = checkpoints.load_model(str(work))
  for a, b in zip(
    stage_leaves({"params": {"transcriber": one["params"]}}, "transcriber"),
    stage_leaves(two, "transcriber"),
    strict=True,
  ):
    np.testing.assert_array_equal(a, b)
  assert any(
    not np.array_equal(a, b)
    for a, b in zip(stage_leaves(start, "separator"), stage_leaves(two, "separator"), strict=True)
  )
  model = str(tmp_path / "model")
  checkpoints.export_model(str(work), model)

  # transcribe: audio -> MIDI through both stages
  out = tmp_path / "midi"
  assert cli.run("transcribe", None, Args(input=str(piano_wav), output=str(out), checkpoint=model)) == 0
  assert (out / "piece.mid").is_file()
  # eval: note metrics, and separation metrics from the folder's piano alone
  report = tmp_path / "report"
  assert cli.run("eval", None, Args(data=str(mixtures_folder), output=str(report), checkpoint=model)) == 0
  per_file = json.loads((report / "eval.json").read_text())["per_file"]
  assert len(per_file) == 2
  for m in per_file.values():
    assert {"onset_f1", "sep_sdr", "sep_si_sdr", "sep_spectral_l1", "mix_sdr"} <= set(m)
    assert np.isfinite(m["sep_sdr"]) and m["sep_spectral_l1"] >= 0
  # separate: the separated piano as audio, and the figure
  sep = tmp_path / "separated"
  r = subprocess.run(
    [
      sys.executable,
      "launch.py",
      "--mode=separate",
      f"--checkpoint={model}",
      f"--input={mixtures_folder}",
      f"--output={sep}",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=False,
  )
  assert r.returncode == 0, r.stderr[-2000:]
  assert r.stdout.count("SDR") == 2
  for name in ("test-000000", "test-000001"):
    separated = audio_io.load_audio(str(sep / f"{name}.wav"), 16000)
    mix = audio_io.load_audio(str(mixtures_folder / f"{name}.wav"), 16000)
    assert separated.shape == mix.shape and 0 < np.abs(separated).max()
    assert (sep / f"{name}.png").stat().st_size > 10_000
  # a one-stage model has no separator: one line, exit 1, nothing written
  r = subprocess.run(
    [
      sys.executable,
      "launch.py",
      "--mode=separate",
      f"--checkpoint={run_dir}",
      f"--input={mixtures_folder}",
      f"--output={tmp_path / 'none'}",
    ],
    cwd=REPO,
    capture_output=True,
    text=True,
    check=False,
  )
  assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "one-stage" in r.stderr
  assert not (tmp_path / "none").exists()


@pytest.mark.parametrize(
  ("overrides", "named"),
  [
    ({"data.source": "tfds"}, "data.source"),
    ({"frontend.representation": "mfcc"}, "frontend.representation"),
    ({"separation.train": "both"}, "separation.train"),
    ({"separation.loss": "l3"}, "separation.loss"),
  ],
)
def test_a_two_stage_config_that_cannot_work_is_named(device_assets, overrides, named):
  config = settings.apply_overrides(device_assets, [*TWO_STAGE.items(), *overrides.items()])
  with pytest.raises(UserError, match=named.replace(".", r"\.")):
    settings.validate(config)


def test_a_stage_from_a_checkpoint_that_does_not_fit_is_named(device_assets, run_dir, tmp_path):
  config = settings.apply_overrides(device_assets, [*TWO_STAGE.items(), ("separation.separator_from", str(run_dir))])
  with pytest.raises(UserError, match="one-stage model has no separator"):
    trainer.train_and_evaluate(config, str(tmp_path / "w"), log=lambda *_: None)
