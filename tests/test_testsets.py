"""Evaluation folders: the rendered test material is the TFDS test split when the piano is the same."""

import json

import numpy as np
import pytest
import soundfile

from pianojax import datasets, notes, records, testsets
from pianojax.datasets import encoding
from pianojax.errors import UserError
from tests.conftest import tiny_config


def test_rendered_test_folder_is_the_tfds_test_split_when_the_piano_is_the_same(tfds_dir, bank, tmp_path):
  """--mode=render --data=NAME replays the test split's material: same piano -> the same samples and notes."""
  config = tiny_config(tfds_dir)
  (folder,) = testsets.render_tests(config, "chords", config.data.synth.test_soundfonts[0], str(tmp_path))
  source = datasets.data_source(config, "chords", "test")
  found, _ = records.folder_pairs(folder)
  assert len(found) == len(source) == 2
  for i, (_, wav, midi) in enumerate(found):
    stored = source[i]
    written, rate = soundfile.read(wav, dtype="int16")
    assert rate == config.frontend.sample_rate
    np.testing.assert_array_equal(written, stored["audio"])
    ref, played = encoding.decode_notes(stored), notes.read_midi(midi)
    np.testing.assert_array_equal(played.pitch, ref.pitch)
    np.testing.assert_allclose(played.onset, ref.onset, atol=2e-3)
  # a validation split (here played by the sample bank) goes to its own folder; an unknown split is one clear error
  (val,) = testsets.render_tests(config, "chords:validation", bank, str(tmp_path / "v"))
  assert val.endswith("chords-validation") and len(records.folder_pairs(val)[0]) == 2
  with pytest.raises(UserError, match="split must be"):
    testsets.render_tests(config, "chords:dev", "musescore", str(tmp_path))


def test_ensembles_play_windows_of_the_midi_folder_with_their_twins(tfds_dir, midi_folder, tmp_path):
  """--data=ensembles: windows of the MIDI folder's pieces (here all in the train split) with parts that follow
  them, written beside the piano alone and the mix without noise, on the same notes."""
  config = tiny_config(tfds_dir, **{"data.synth.midi_dir": str(midi_folder)})
  (folder,) = testsets.render_tests(config, "ensembles:train", "timgm6mb", str(tmp_path))
  pieces = [notes.read_midi(str(p)) for p in sorted(midi_folder.iterdir())]
  twins = [testsets.stem_folder(folder), testsets.noiseless_folder(folder)]
  found, _ = records.folder_pairs(folder)
  assert len(found) == 6
  for name, wav, midi in found:
    played = notes.read_midi(midi)
    assert len(played) > 0
    assert max(_share_in_a_window(played, p) for p in pieces) > 0.95, name  # a window of one of the pieces
    mix = soundfile.read(wav, dtype="int16")[0]
    alone, noiseless = (soundfile.read(f"{t}/{name}.wav", dtype="int16")[0] for t in twins)
    assert mix.shape == alone.shape == noiseless.shape and not np.array_equal(noiseless, alone)
    np.testing.assert_array_equal(notes.read_midi(f"{twins[0]}/{name}.mid").pitch, played.pitch)
  with open(f"{folder}/{testsets.MATERIALS_FILE}") as f:
    held = json.load(f)
  assert sorted(held) == [name for name, *_ in found]
  for clip in held.values():
    assert clip["kind"] == "ensembles" and 1 <= len(clip["others"]) <= 2 and -3 <= clip["others_gain_db"] <= 3
    assert {family for family, *_ in clip["others"]} <= {"bass", "strings", "guitar"}


def _share_in_a_window(played, piece) -> float:
  """The largest share of `played`'s notes struck inside the clip that `piece` holds (same key, onset within 5 ms)
  at one shift in time: 1 where `played` is a window of `piece`."""
  inside = played.onset > 0.05
  best = 0.0
  for shift in piece.onset - played.onset[inside][0]:
    found = [
      np.any((piece.pitch == p) & (np.abs(piece.onset - shift - t) < 5e-3))
      for p, t in zip(played.pitch[inside], played.onset[inside], strict=True)
    ]
    best = max(best, float(np.mean(found)))
  return best
