"""Evaluation sets read one way: folders and TFDS splits, references clipped to the audio."""

import numpy as np
import pytest
import soundfile

from pianojax import notes, records
from pianojax.errors import UserError
from tests.conftest import note_seq, tiny_config


def test_folder_records_clip_references_to_the_audio_and_choose_offsets(tmp_path):
  rate = 16000
  soundfile.write(tmp_path / "a.wav", np.zeros(2 * rate, np.float32) + 0.01, rate)  # 2 s
  # sustained past the audio, a note that starts after it, and a note held by the pedal
  midi = note_seq((60, 0.5, 3.0, 80), (62, 2.5, 2.8, 80), (64, 0.2, 0.4, 80), pedal=((0.1, 1.0), (127, 0)))
  notes.write_midi(midi, tmp_path / "a.mid")
  soundfile.write(tmp_path / "lonely.wav", np.zeros(rate, np.float32), rate)  # no MIDI of its name
  pairs, unpaired = records.folder_pairs(str(tmp_path))
  assert [p[0] for p in pairs] == ["a"] and unpaired == [str(tmp_path / "lonely.wav")]
  config = tiny_config(tmp_path)
  (pedal,) = records.read(config, str(tmp_path))
  (key,) = records.read(config, str(tmp_path), offsets="key")
  assert pedal.name == "a" and len(pedal.audio) == 2 * rate
  assert pedal.notes.pitch.tolist() == [64, 60] == key.notes.pitch.tolist()  # by onset; the late note is gone
  np.testing.assert_allclose(pedal.notes.offset, [1.0, 2.0], atol=2e-3)  # pedal-extended to its release; clipped
  np.testing.assert_allclose(key.notes.offset, [0.4, 2.0], atol=2e-3)  # key release
  with pytest.raises(UserError, match="offsets must be"):
    next(records.read(config, str(tmp_path), offsets="loud"))


def test_tfds_splits_and_limits(tfds_dir):
  config = tiny_config(tfds_dir)
  names = [r.name for r in records.read(config, "chords:validation,mixtures", max_records=1)]
  assert names == ["chords-validation-0000", "mixtures-test-0000"]
  assert records.parse_sets(("chords:validation", "mixtures")) == [("chords", "validation"), ("mixtures", "test")]
  with pytest.raises(UserError, match="no evaluation set"):
    records.parse_sets(" , ")
