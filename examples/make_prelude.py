"""Writes examples/prelude_c.mid: J. S. Bach, Prelude in C major, BWV 846, bars 1-8 (public domain).

Played with a slightly human touch: velocities and timing drawn from a fixed seed.
Run from the repository root: `python examples/make_prelude.py`.
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pianojax.notes import NoteSequence, write_midi

BARS = (
  (60, 64, 67, 72, 76),
  (60, 62, 69, 74, 77),
  (59, 62, 67, 74, 77),
  (60, 64, 67, 72, 76),
  (60, 64, 69, 76, 81),
  (60, 62, 66, 69, 74),
  (59, 62, 67, 74, 79),
  (59, 60, 64, 67, 72),
)


def main():
  sixteenth = 60.0 / 72 / 4  # quarter = 72
  rng = np.random.default_rng(846)
  pitch, onset, offset, velocity = [], [], [], []
  for b, (n1, n2, n3, n4, n5) in enumerate(BARS):
    for half in range(2):
      t0 = (b * 16 + half * 8) * sixteenth
      for i, p in enumerate((n1, n2, n3, n4, n5, n3, n4, n5)):
        start = t0 + i * sixteenth + rng.normal(0, 0.006) + 0.3
        end = t0 + 8 * sixteenth + 0.3 - 0.02 if i < 2 else start + sixteenth * 0.95  # the lower two are held
        pitch.append(p)
        onset.append(start)
        offset.append(end)
        velocity.append(int(np.clip(rng.normal(62 if i else 70, 6), 30, 100)))
  path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prelude_c.mid")
  write_midi(NoteSequence(pitch, onset, offset, velocity), path)
  print(f"{len(pitch)} notes, {max(offset):.1f} s -> {path}")


if __name__ == "__main__":
  main()
