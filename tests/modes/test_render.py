"""`--mode=render`: MIDI files played by a sample bank, into pairs that eval reads."""

import subprocess
import sys

import numpy as np
import pytest

from pianojax import audio_io, notes
from tests.conftest import REPO

RATE = 16000


def test_render_mode_writes_pairs_that_eval_reads(bank, tmp_path):
  out = tmp_path / "played"
  cmd = [sys.executable, "launch.py", "--mode=render", "--config=configs/tiny.py", f"--piano={bank}"]
  r = subprocess.run(
    [*cmd, "--input=examples/prelude_c.mid", f"--output={out}"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 0, r.stderr
  audio = audio_io.load_audio(str(out / "prelude_c.wav"), RATE)
  score, played = notes.read_midi(REPO / "examples/prelude_c.mid"), notes.read_midi(out / "prelude_c.mid")
  np.testing.assert_array_equal(played.pitch, score.pitch)
  np.testing.assert_allclose(played.onset, score.onset, atol=1e-3)
  assert len(audio) / RATE == pytest.approx(score.end_time + 1.0, abs=0.01)
  assert np.abs(audio).max() == pytest.approx(10 ** (-3 / 20), abs=0.01)
  # a folder with a malformed MIDI file: the good one is rendered, the bad one named, exit code 2
  folder = tmp_path / "midis"
  folder.mkdir()
  (folder / "good.mid").write_bytes((REPO / "examples/prelude_c.mid").read_bytes())
  (folder / "bad.mid").write_bytes(b"not midi at all")
  r = subprocess.run(
    [*cmd, f"--input={folder}", f"--output={tmp_path / 'out2'}"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 2 and "bad.mid" in r.stderr and "malformed MIDI" in r.stderr
  assert (tmp_path / "out2" / "good.wav").is_file() and not (tmp_path / "out2" / "bad.wav").exists()
  # refusing to overwrite the source MIDI, in one line
  r = subprocess.run(
    [*cmd, "--input=examples/prelude_c.mid", "--output=examples"], cwd=REPO, capture_output=True, text=True, check=False
  )
  assert r.returncode == 1 and r.stderr.strip().startswith("error:") and "overwrite" in r.stderr
  assert len(r.stderr.strip().splitlines()) == 1
