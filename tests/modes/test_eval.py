"""`--mode=eval` on a folder of audio + MIDI."""

import json
import subprocess
import sys

import numpy as np
import soundfile

from pianojax import notes
from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer
from tests.conftest import REPO


def test_eval_command_on_a_folder(run_dir, tmp_path):
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
    assert all(0.0 <= v <= 1.0 for k, v in m.items() if k != "velocity_mae")
    assert {"onset_f1", "onset_offset_f1", "key_onset_offset_f1", "key_frame_f1"} <= set(m)  # both protocols
    assert 0.0 <= m.get("velocity_mae", 0.0) <= 126.0  # (MIDI units)
  assert abs(report["mean"]["frame_f1"] - np.mean([m["frame_f1"] for m in report["per_file"].values()])) < 1e-9
  assert "| **mean** |" in (out / "eval.md").read_text()
  assert (out / "one.png").read_bytes()[:4] == b"\x89PNG"
  assert (out / "eval_summary.png").read_bytes()[:4] == b"\x89PNG"
