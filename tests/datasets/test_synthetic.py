"""The synthetic TFDS datasets, built for real with FluidSynth, read back without TensorFlow."""

import json
import os
import subprocess
import sys

import librosa
import numpy as np

from configs import tiny
from pianojax import datasets, notes
from pianojax.datasets import encoding
from tests.conftest import REPO, f0_of


def test_every_synthetic_config_builds_and_reads_back(synthetic_cfg):
  cfg = synthetic_cfg
  for name in datasets.SYNTHETIC:
    assert {split: len(datasets.data_source(cfg, name, split)) for split in ("train", "validation", "test")} == {
      "train": 6,
      "validation": 2,
      "test": 2,
    }
    for split in ("train", "test"):
      src = datasets.data_source(cfg, name, split)
      for i in range(len(src)):
        ex = src[i]
        assert ex["audio"].dtype == np.int16 and np.abs(ex["audio"]).max() > 1000, (name, split, i)
        n = encoding.decode_notes(ex)
        seconds = n.offset[0] + 1.0 if name == "notes" else 3.0  # a single note lasts its note plus 1 s of release
        assert abs(len(ex["audio"]) / 16000 - seconds) < 0.01, (name, len(ex["audio"]) / 16000, seconds)
        if name == "others":
          assert len(n) == 0
        else:
          assert len(n) > 0 and np.all(n.onset < len(ex["audio"]) / 16000)
        font = encoding.as_str(ex["soundfont"])
        assert (font == "musescore") == (split == "test")


def test_single_note_labels_line_up_with_audio_onsets(synthetic_cfg):
  cfg = synthetic_cfg
  src = datasets.data_source(cfg, "notes", "train")
  for i in range(len(src)):
    ex = src[i]
    audio = ex["audio"].astype(np.float32) / 32768
    env = librosa.onset.onset_strength(y=audio, sr=16000, hop_length=160)
    (onset,) = ex["notes"]["onset"]
    peak = np.argmax(env) * 160 / 16000
    assert abs(peak - onset) <= 0.04, (i, peak, onset)
    pitch = int(ex["notes"]["pitch"][0])
    piece = audio[int((onset + 0.05) * 16000) : int((onset + 0.35) * 16000)]
    f0 = librosa.midi_to_hz(pitch)
    harmonics = f0 * np.arange(1, 9)
    # The strongest partial is one of the labelled note's first harmonics.
    assert np.min(np.abs(np.log2(f0_of(piece, 16000) / harmonics))) < 0.03, (i, pitch, f0_of(piece, 16000))


def test_reading_needs_no_tensorflow(synthetic_cfg):
  cfg = synthetic_cfg
  code = f"""
import sys

class HideTensorFlow:  # wraps each finder so TensorFlow looks not installed
  def __init__(self, finder):
    self.finder = finder

  def find_spec(self, name, path=None, target=None):
    if name == "tensorflow" or name.startswith("tensorflow."):
      return None
    return self.finder.find_spec(name, path, target)

  def __getattr__(self, attr):
    return getattr(self.finder, attr)

sys.meta_path[:] = [HideTensorFlow(f) if hasattr(f, "find_spec") else f for f in sys.meta_path]
from configs import tiny
from pianojax import datasets
c = tiny.get_config()
c.data.tfds_dir = {cfg.data.tfds_dir!r}
c.data.synth.sizes = {{"train": 6, "validation": 2, "test": 2}}
c.data.synth.example_seconds = 3.0
ex = datasets.data_source(c, "chords", "train")[1]
assert "tensorflow" not in sys.modules
print(len(ex["audio"]), len(ex["notes"]["pitch"]))
"""
  done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
  assert done.returncode == 0, done.stderr[-2000:]
  n_samples, n_notes = map(int, done.stdout.split())
  assert n_samples == 48000 and n_notes > 0


def test_bad_midi_in_folder_is_skipped_and_counted(tmp_path):
  folder = tmp_path / "midi"
  folder.mkdir()
  good = notes.NoteSequence([60, 64, 67], [0.0, 0.5, 1.0], [0.4, 0.9, 2.5], [80, 80, 80])
  names = [f"piece{i:02d}.mid" for i in range(40)]
  for name in names:
    notes.write_midi(good, folder / name)
  from pianojax.datasets.synthetic import split_of

  bad_name = next(n for n in names if split_of(n) == "train")
  (folder / bad_name).write_bytes(b"MThd garbage")
  c = tiny.get_config()
  c.data.tfds_dir = str(tmp_path / "tfds")
  c.data.synth.midi_dir = str(folder)
  c.data.synth.sizes = {"train": 12, "validation": 0, "test": 0}
  c.data.synth.example_seconds = 2.0
  c.data.synth.train_soundfonts = ("timgm6mb",)
  summary = datasets.build(c, ["performances"], log=lambda *_: None)["performances"]
  assert summary["splits"] == {"train": 12}
  assert len(summary["skipped"]) == 1 and bad_name in summary["skipped"][0]
  on_disk = json.loads(open(os.path.join(summary["path"], "build_summary.json")).read())
  assert on_disk["skipped"] == summary["skipped"]
