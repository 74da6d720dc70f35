"""Synthetic rendering, TFDS datasets (built for real) and the input pipeline."""

import json
import os
import subprocess
import sys

import jax
import librosa
import numpy as np
import pytest

from configs import tiny
from pianojax import augment, datasets, input_pipeline, labels, notes
from pianojax.datasets import features
from pianojax.synth import materials
from pianojax.synth.examples import make_example
from pianojax.synth.render import Renderer
from tests.conftest import REPO, SHARED

MIDI_DIR = SHARED / "midi" / "vienna4x22"


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
  c = tiny.get_config()
  c.data.tfds_dir = str(tmp_path_factory.mktemp("tfds"))
  c.data.synth.sizes = {"train": 6, "validation": 2, "test": 2}
  c.data.synth.example_seconds = 3.0
  return c


@pytest.fixture(scope="module")
def built(cfg):
  return datasets.build(cfg, list(datasets.SYNTHETIC), log=lambda *_: None)


def f0_of(audio, rate):
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n=8 * len(audio)))
  freqs = np.fft.rfftfreq(8 * len(audio), 1 / rate)
  spectrum[freqs < 25] = 0
  return freqs[np.argmax(spectrum)]


def test_every_synthetic_config_builds_and_reads_back(cfg, built):
  for name in datasets.SYNTHETIC:
    assert built[name]["splits"] == {"train": 6, "validation": 2, "test": 2}
    for split in ("train", "test"):
      src = datasets.data_source(cfg, name, split)
      for i in range(len(src)):
        ex = src[i]
        assert ex["audio"].dtype == np.int16 and np.abs(ex["audio"]).max() > 1000, (name, split, i)
        assert abs(len(ex["audio"]) / 16000 - (3.0 if name != "notes" else len(ex["audio"]) / 16000)) < 1e-3
        n = features.decode_notes(ex)
        if name == "others":
          assert len(n) == 0
        else:
          assert len(n) > 0 and np.all(n.onset < len(ex["audio"]) / 16000)
        font = features.as_str(ex["soundfont"])
        assert (font == "musescore") == (split == "test")


def test_single_note_labels_line_up_with_audio_onsets(cfg, built):
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


def test_reading_needs_no_tensorflow(cfg, built):
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


def test_rendering_is_deterministic_and_labels_are_as_rendered():
  r1, r2 = Renderer(16000), Renderer(16000)
  mat = materials.chords(np.random.default_rng(3), 3.0)
  a, notes_a = make_example(mat, r1, "timgm6mb", np.random.default_rng(7))
  make_example(materials.mixture(np.random.default_rng(1), 2.0), r1, "timgm6mb", np.random.default_rng(1))
  b, _ = make_example(mat, r1, "timgm6mb", np.random.default_rng(7))
  c, _ = make_example(mat, r2, "timgm6mb", np.random.default_rng(7))
  assert np.abs(a.astype(int) - b).max() <= 1 and np.abs(a.astype(int) - c).max() <= 1
  step = 64 / 16000
  np.testing.assert_allclose(notes_a.onset / step, np.round(notes_a.onset / step), atol=1e-6)


def test_pitch_shift_moves_audio_and_labels():
  r = Renderer(16000)
  s = notes.NoteSequence([57], [0.1], [1.2], [100])  # A3, 220 Hz
  audio, _ = r.render([(s, 0)], "fluidr3", 1.5)
  for k in (-2, 3):
    shifted = augment.resample_factor(audio, augment.speed_for(k))
    moved = s.shifted(semitones=k, time_scale=1 / augment.speed_for(k))
    assert moved.pitch[0] == 57 + k
    start = int((moved.onset[0] + 0.05) * 16000)
    f0 = f0_of(shifted[start : start + 6000], 16000)
    assert abs(12 * np.log2(f0 / 220.0) - k) < 0.3, (k, f0)


def test_train_segments_deterministic_augmented_and_shifted(cfg, built):
  spec = input_pipeline.SegmentSpec.from_config(cfg)
  src = datasets.data_source(cfg, "notes", "train")
  plain = input_pipeline.TrainSegments([src], [1.0], spec, None, seed=1)
  aug_cfg = cfg.data.augment.to_dict()
  aug_cfg.update(pitch_shift=4, detune_cents=0.0, mixup_prob=0.0, noise_prob=0.0, gain_db=0.0)
  aug = input_pipeline.TrainSegments([src], [1.0], spec, _Cfg(aug_cfg), seed=1)
  a, b = plain[5], plain[5]
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])
  assert a["audio"].shape == (spec.segment_samples,) and a["frame"].shape == (spec.segment_frames, 88)
  assert not np.array_equal(plain[5]["audio"], plain[6]["audio"])
  moved = 0
  for i in range(12):
    p, q = plain[i], aug[i]
    if p["frame"].any() and q["frame"].any():
      pk = np.nonzero(p["frame"].any(0))[0]
      qk = np.nonzero(q["frame"].any(0))[0]
      shift = int(qk[0]) - int(pk[0])
      assert abs(shift) <= 4
      moved += shift != 0
  assert moved > 0


class _Cfg(dict):
  __getattr__ = dict.__getitem__


def test_eval_segments_cover_every_frame_and_stitch_back(cfg, built):
  spec = input_pipeline.SegmentSpec.from_config(cfg)
  src = datasets.data_source(cfg, "chords", "validation")
  ev = input_pipeline.EvalSegments(src, spec, hop_frames=cfg.data.segment_hop_frames, batch_multiple=8)
  assert len(ev) % 8 == 0 and len(ev) >= ev.num_segments
  from pianojax.framing import stitch

  for r in range(len(src)):
    items = [ev[i] for i in range(ev.num_segments) if ev.index[i][0] == r]
    frames = np.stack([it["frame"] for it in items])
    whole = stitch(frames, cfg.data.segment_hop_frames, ev.lengths[r])
    notes_r = labels.with_offsets(features.decode_notes(src[r]), "pedal")
    expected = labels.frame_targets(notes_r, ev.lengths[r], spec.frame_rate)["frame"]
    np.testing.assert_array_equal(whole, expected)
    assert sum(it["mask"].sum() for it in items) >= ev.lengths[r]
  assert ev[len(ev) - 1]["mask"].sum() == 0 or len(ev) == ev.num_segments


def test_batches_shard_over_8_devices(cfg, built):
  assert jax.device_count() == 8
  spec = input_pipeline.SegmentSpec.from_config(cfg)
  src = datasets.data_source(cfg, "mixtures", "train")
  stream = input_pipeline.TrainSegments([src], [1.0], spec, cfg.data.augment, seed=0)
  mesh = input_pipeline.data_mesh()
  it = input_pipeline.batches(stream, 16, start_step=3, num_steps=2)
  batch = input_pipeline.to_global(next(it), mesh)
  assert batch["audio"].shape == (16, spec.segment_samples)
  assert len(batch["audio"].sharding.device_set) == 8
  assert batch["audio"].addressable_shards[0].data.shape == (2, spec.segment_samples)
  # Step 3 of a fresh iterator equals step 3 reached by resuming there: resumable position.
  again = next(input_pipeline.batches(stream, 16, start_step=3, num_steps=1))
  np.testing.assert_array_equal(np.asarray(batch["audio"]), again["audio"])
  np.testing.assert_array_equal(again["audio"][0], stream[48]["audio"])


def test_maestro_fixture_builds_with_labels_clipped(cfg, maestro_mini, tmp_path):
  c = tiny.get_config()
  c.data.tfds_dir = str(tmp_path)
  c.data.maestro_dir = str(maestro_mini)
  summary = datasets.build(c, ["maestro"], log=lambda *_: None)
  assert summary["maestro"]["splits"] == {"train": 1}
  ex = datasets.data_source(c, "maestro", "train")[0]
  assert len(ex["audio"]) == 32000 and np.abs(ex["audio"]).max() > 1000
  assert np.all(ex["notes"]["offset"] <= 2.0) and np.all(ex["notes"]["onset"] < 2.0) and len(ex["notes"]["pitch"]) > 0
  assert np.all(ex["notes"]["offset_pedal"] <= 2.0)


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
