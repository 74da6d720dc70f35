"""benchmarks/score_midi.py scores any system's MIDI files as --mode=eval scores ours."""

import json
import subprocess
import sys

import numpy as np
import soundfile

from pianojax import notes
from tests.conftest import REPO

REF = notes.NoteSequence([60, 64, 67, 72], [0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 2.5, 3.0], [80, 90, 100, 70])


def shifted(dt):
  return notes.NoteSequence(REF.pitch, REF.onset + dt, REF.offset + dt, REF.velocity)


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
