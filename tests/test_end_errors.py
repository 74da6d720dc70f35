"""Taking note ends apart (pianojax.end_errors): each variant takes the key releases and the pedal from where its
name says, on hand-built notes whose right answers are counted by hand."""

import numpy as np

from pianojax import end_errors
from tests.conftest import note_seq as seq

TRUTH = seq(
  (60, 0.20, 0.60, 90),  # let go at 0.6 s under the pedal (down 0.4-1.6 s): sounds until 1.6 s
  (64, 2.00, 2.40, 70),  # no pedal: sounds until its key release
  pedal=((0.4, 1.6), (127, 0)),
)
FOUND = seq(
  (60, 0.21, 0.30, 90),  # found, let go too early (0.3 s: before the found pedal goes down at 0.5 s)
  (64, 2.01, 2.80, 70),  # found, let go too late, under the found second press (2.5-3.0 s)
  (67, 3.00, 3.20, 60),  # no such note in the truth
  pedal=((0.5, 1.2, 2.5, 3.0), (127, 0, 127, 0)),
)


def _ends(name):
  notes = end_errors.variants(TRUTH, FOUND)[name]
  assert notes.pitch.tolist() == [60, 64, 67] and np.allclose(notes.onset, FOUND.onset)  # the found notes, in order
  return notes.offset.round(3).tolist()


def test_each_variant_takes_releases_and_pedal_from_where_it_says():
  assert _ends("decoded releases, no pedal") == [0.3, 2.8, 3.2]
  assert _ends("decoded releases + decoded pedal") == [0.3, 3.0, 3.2]  # 0.3 s is before the found press
  assert _ends("decoded releases + true pedal") == [0.3, 2.8, 3.2]  # (no true pedal after 1.6 s)
  assert _ends("true releases + decoded pedal") == [1.2, 2.4, 3.2]  # 0.6 s under the found press (0.5-1.2 s)
  # by halves: 60 was let go under the true pedal (0.6 s in 0.4-1.6 s), 64 with it up
  assert _ends("true releases made under the pedal + decoded pedal") == [1.2, 3.0, 3.2]
  assert _ends("true releases made with the pedal up + decoded pedal") == [0.3, 2.4, 3.2]
  # both true: the truth's sounding ends for matched notes (the unmatched one keeps its own)
  assert _ends("true releases + true pedal") == [*TRUTH.pedal_offsets().round(3).tolist(), 3.2]


def test_true_releases_go_only_to_onset_matched_notes():
  late = seq((60, 0.30, 0.40, 90))  # 100 ms after the truth's onset: no match (50 ms tolerance)
  assert end_errors.true_releases(TRUTH, late).tolist() == [0.4]
  near = seq((60, 0.24, 0.40, 90))
  assert end_errors.true_releases(TRUTH, near).tolist() == [0.6]
