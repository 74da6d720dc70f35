"""Metrics against mir_eval on hand-built notes, and the eval command end to end."""

import json
import subprocess
import sys

import mir_eval
import numpy as np
import pytest
import soundfile

from pianojax import metrics, notes
from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer
from tests.conftest import REPO
from tests.test_transcribe import run_dir  # noqa: F401  (fixture)

REF = notes.NoteSequence([60, 64, 67, 72], [0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 2.5, 3.0], [80, 90, 100, 70])


def shifted(dt):
  return notes.NoteSequence(REF.pitch, REF.onset + dt, REF.offset + dt, REF.velocity)


@pytest.mark.parametrize(
  "est,onset_f1",
  [
    (REF, 1.0),
    (shifted(0.03), 1.0),  # inside the 50 ms onset tolerance
    (shifted(0.08), 0.0),  # outside it
    (REF.select(np.array([True, True, False, False])), 2 * 1.0 * 0.5 / 1.5),  # two missing
    (notes.NoteSequence.concatenate([REF, notes.NoteSequence([50], [0.2], [0.4], [60])]), 2 * 0.8 / 1.8),  # extra
  ],
)
def test_note_metrics_match_mir_eval(est, onset_f1):
  got = metrics.note_metrics(REF, est)
  np.testing.assert_allclose(got["onset_f1"], onset_f1, atol=1e-9)
  ri = np.stack([REF.onset, REF.offset], 1)
  ei = np.stack([est.onset, est.offset], 1)
  p, r, f, _ = mir_eval.transcription.precision_recall_f1_overlap(
    ri, mir_eval.util.midi_to_hz(REF.pitch), ei, mir_eval.util.midi_to_hz(est.pitch), offset_ratio=0.2
  )
  np.testing.assert_allclose(
    [got["onset_offset_precision"], got["onset_offset_recall"], got["onset_offset_f1"]], [p, r, f]
  )


def test_frame_metrics_on_rolls():
  ref = metrics.roll(REF, 400, 100.0)
  assert metrics.frame_metrics(ref, ref)["frame_f1"] == 1.0
  half = ref.copy()
  half[:, :] = False
  half[: ref.shape[0] // 2] = ref[: ref.shape[0] // 2]
  m = metrics.frame_metrics(ref, half)
  assert m["frame_precision"] == 1.0 and 0 < m["frame_recall"] < 1


def test_eval_command_on_a_folder(run_dir, tmp_path):  # noqa: F811
  rng = np.random.default_rng(2)
  renderer = Renderer(16000)
  for name in ("one", "two"):
    audio, played = make_example(materials.chords(rng, 3.0), renderer, "timgm6mb", rng)
    soundfile.write(tmp_path / f"{name}.wav", audio.astype(np.float32) / 32768, 16000)
    notes.write_midi(played, tmp_path / f"{name}.mid")
  out = tmp_path / "report"
  cmd = [sys.executable, "launch.py", "--mode=eval", f"--checkpoint={run_dir}", f"--data={tmp_path}", f"--output={out}"]
  done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  report = json.loads((out / "eval.json").read_text())
  assert set(report["per_file"]) == {"one", "two"}
  for m in report["per_file"].values():
    assert all(0.0 <= v <= 1.0 for v in m.values())
  assert abs(report["mean"]["frame_f1"] - np.mean([m["frame_f1"] for m in report["per_file"].values()])) < 1e-9
  assert "| **mean** |" in (out / "eval.md").read_text()
  assert (out / "one.png").read_bytes()[:4] == b"\x89PNG"


def test_score_midi_scores_any_systems_transcriptions_like_eval(tmp_path):
  ref_dir, est_dir = tmp_path / "ref", tmp_path / "est"
  (ref_dir / "sub").mkdir(parents=True)
  est_dir.mkdir()
  tone = (0.1 * np.sin(2 * np.pi * 440 * np.arange(3 * 16000) / 16000)).astype(np.float32)
  for name in ("a", "sub/b"):
    soundfile.write(ref_dir / f"{name}.wav", tone, 16000)
    notes.write_midi(REF, ref_dir / f"{name}.mid")
  notes.write_midi(REF, est_dir / "a.mid")  # exact
  notes.write_midi(shifted(0.08), est_dir / "sub__b.mid")  # named as --mode=transcribe names it; all onsets late

  def score(est, ref=ref_dir):
    cmd = [sys.executable, "benchmarks/score_midi.py", f"--reference={ref}", f"--estimates={est}"]
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False)

  done = score(est_dir)
  assert done.returncode == 0, done.stderr[-2000:]
  result = json.loads(done.stdout.strip().splitlines()[-1])
  assert result["files"] == 2 and result["onset_f1"] == 50.0  # mean of 100 and 0
  (est_dir / "a.mid").unlink()
  done = score(est_dir)
  assert done.returncode != 0 and done.stderr.strip().splitlines()[-1].startswith("error: 1 transcription(s) missing")
  done = score(est_dir, ref=tmp_path / "nowhere")
  assert done.returncode != 0 and done.stderr.strip().splitlines() == [
    f"error: --reference={tmp_path / 'nowhere'}: no such folder"
  ]
