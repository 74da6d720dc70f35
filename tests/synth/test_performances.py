"""Packed performances (synth/performances.py): a MIDI folder's split as one table, windows cut on the device."""

import jax
import numpy as np
import pytest

from pianojax import notes
from pianojax.errors import UserError
from pianojax.synth import performances


@pytest.fixture(scope="module")
def packed(midi_folder, tmp_path_factory):
  path = str(tmp_path_factory.mktemp("packed") / "performances.npz")
  performances.save(performances.pack(str(midi_folder), "train"), path)
  return performances.load(path), performances.midi_files(str(midi_folder), "train")


def test_the_table_holds_every_note_of_every_piece_to_the_millisecond(packed):
  table, files = packed
  pieces = [notes.read_midi(f) for f in files]
  assert len(table.piece_seconds) == len(files) == 3
  assert len(table.pitch) == sum(len(p) for p in pieces)
  np.testing.assert_allclose(table.onset, np.concatenate([p.onset for p in pieces]), atol=6e-4)
  np.testing.assert_allclose(table.sounding, np.concatenate([p.pedal_offsets() for p in pieces]), atol=1.1e-3)
  assert (np.diff(table.note_key) >= 0).all() and (np.diff(table.pedal_key) >= 0).all()  # searchable


def test_a_window_holds_the_notes_of_that_stretch_of_that_piece(packed):
  table, files = packed
  pieces = [notes.read_midi(f) for f in files]
  device_table = performances.Table(*(jax.numpy.asarray(x) for x in table))
  cut = jax.jit(lambda k: performances.window(device_table, k, 4.0, 1.5, num_notes=64))
  seen = set()
  for i in range(12):
    w = jax.tree.map(np.asarray, cut(jax.random.key(i)))
    piece, start = pieces[int(w.piece)], float(w.start)
    seen.add(int(w.piece))
    assert 0.0 <= start <= max(piece.end_time - 4.0, 0.0)
    expect = (piece.onset >= start - 1.5) & (piece.onset < start + 4.0)
    e = w.events
    got = np.sort(e.onset[e.valid])
    np.testing.assert_allclose(got, np.sort(piece.onset[expect] - start), atol=1.1e-3)
    intervals = piece.pedal_intervals()
    overlapping = (intervals[:, 0] < start + 4.0) & (intervals[:, 1] > start)
    assert e.pedal_valid.sum() == overlapping.sum()
    assert float(w.complete_until) == 4.0  # 64 slots hold every window of these pieces
  assert seen == {0, 1, 2}
  tight = jax.jit(lambda k: performances.window(device_table, k, 4.0, 1.5, num_notes=4))(jax.random.key(0))
  assert float(tight.complete_until) < 4.0  # more notes than slots: the window says where it is incomplete


def test_unreadable_files_are_skipped_and_a_folder_of_none_is_an_error(midi_folder, tmp_path):
  (tmp_path / "piece0.mid").write_bytes(b"MThd broken")
  with pytest.raises(UserError, match="no readable MIDI"):
    performances.pack(str(tmp_path), "train")
  with pytest.raises(UserError, match="not found"):
    performances.pack(str(tmp_path / "missing"), "train")
  with pytest.raises(UserError, match="unreadable"):
    performances.load(str(tmp_path / "piece0.mid"))
