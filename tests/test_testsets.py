"""Evaluation folders: the rendered test material is the TFDS test split when the piano is the same."""

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
