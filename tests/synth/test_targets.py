"""Device events and targets (synth/events.py, synth/targets.py) against the host's NoteSequence and labels."""

import jax
import numpy as np
import pytest

from pianojax import labels
from pianojax.notes import NoteSequence
from pianojax.synth import events, targets

FRAMES, FRAME_RATE = 128, 50.0  # 2.56 s segments of 20 ms frames


def _piece(seed: int) -> NoteSequence:
  """Random notes (repeated keys included) with the sustain pedal, over 8 s."""
  rng = np.random.default_rng(seed)
  n = 40
  onset = np.sort(rng.uniform(0, 7.5, n))
  pitch = rng.choice(np.arange(40, 50), n)  # few keys: many repeats
  down = np.sort(rng.uniform(0, 8, 6))
  times = np.ravel(np.stack([down[0::2], down[1::2]], 1))
  return NoteSequence(
    pitch, onset, onset + rng.uniform(0.03, 1.5, n), rng.integers(1, 128, n), times, np.tile([127, 0], 3)
  )


@pytest.mark.parametrize("seed", range(4))
def test_sounding_offsets_are_the_pedal_extended_offsets(seed):
  piece = _piece(seed)
  e = events.from_notes(piece, 48, 8)
  got = np.asarray(events.sounding(e))[: len(piece)]
  np.testing.assert_allclose(got, piece.pedal_offsets(), atol=1e-5)


@pytest.mark.parametrize("seed", range(4))
def test_device_targets_equal_the_host_labels_of_the_same_window(seed):
  piece = _piece(seed)
  start, seconds = 2.0 + 0.37 * seed, FRAMES / FRAME_RATE
  want = labels.frame_targets(
    labels.with_offsets(piece, "pedal").clip(start, start + seconds, clamp=False),
    FRAMES,
    FRAME_RATE,
    key_notes=piece.clip(start, start + seconds, clamp=False),
    pedalled=labels.pedalled_releases(piece).clip(start, start + seconds, clamp=False),
  )
  # the device sees the whole piece shifted to the window (notes outside it included: targets must ignore them)
  shifted = piece.shifted(time_offset=-start)
  e = events.from_notes(shifted, 48, 8)
  e = e._replace(pedal_up=np.where(e.pedal_up >= seconds, np.inf, e.pedal_up))  # lifted after: unknown in-window
  ring = events.sounding(events.from_notes(piece, 48, 8)) - start
  got = jax.jit(lambda e, r: targets.frame_targets(e, r, FRAMES, FRAME_RATE, release_and_pedal=True, sounding=r))(
    e, ring
  )
  assert set(got) == set(want)
  for name, roll in want.items():
    np.testing.assert_allclose(np.asarray(got[name]), roll, atol=1e-5, err_msg=name)
  assert want["onset"].sum() > 5 and want["pedal_frame"].sum() > 0 and not want["key_audible"].all()


def test_to_notes_round_trips():
  piece = _piece(0)
  back = events.to_notes(events.from_notes(piece, 48, 8))
  np.testing.assert_array_equal(back.pitch, piece.pitch)
  np.testing.assert_allclose(back.onset, piece.onset, atol=1e-6)
  np.testing.assert_allclose(back.pedal_intervals(), piece.pedal_intervals(), atol=1e-6)
  with pytest.raises(ValueError, match="do not fit"):
    events.from_notes(piece, 10, 8)
