"""Where a model's note ends go wrong: key release or sustain pedal.

A pedal-extended note end is the key release, carried on by the pedal when the key is let go under it. Scoring the
same decoded notes with one part replaced by the truth says how much each part costs: the decoded key releases
with the true pedal, the true key releases (of onset-matched notes) with the decoded pedal, and both true (what
the onsets alone allow). The true key releases also go in by halves: those made while the true pedal is up (the
damper falls and the sound stops: audible) and those made under it (inaudible until the pedal lifts). `variants`
builds those note sets; scripts/end_errors.py scores them on a folder.
"""

from __future__ import annotations

import numpy as np

from pianojax import metrics
from pianojax.notes import NoteSequence

# name -> (key releases from, pedal from); "none": the releases as they are, not extended. Releases "true, pedal up"
# / "true, pedal down": the truth's only for the notes let go while the true pedal is up / down, else decoded.
# (The `pedal` argument of `true_releases` for each kind of true releases.)
_TRUE = {"true": "any", "true, pedal up": "up", "true, pedal down": "down"}
VARIANTS = {
  "decoded releases + decoded pedal": ("decoded", "decoded"),
  "decoded releases, no pedal": ("decoded", "none"),
  "decoded releases + true pedal": ("decoded", "true"),
  "true releases + decoded pedal": ("true", "decoded"),
  "true releases made with the pedal up + decoded pedal": ("true, pedal up", "decoded"),
  "true releases made under the pedal + decoded pedal": ("true, pedal down", "decoded"),
  "true releases + true pedal": ("true", "true"),
}


def true_releases(
  truth: NoteSequence, found: NoteSequence, onset_tolerance: float = 0.05, pedal: str = "any"
) -> np.ndarray:
  """`found`'s key releases, each onset-matched note's replaced by its truth's (mir_eval's onset matching); with
  `pedal="up"` / `"down"` only where the truth let the key go while its pedal was up / down."""
  import mir_eval

  offsets = found.offset.copy()
  if len(truth) and len(found):
    pairs = mir_eval.transcription.match_notes(
      *metrics.intervals(truth), *metrics.intervals(found), onset_tolerance=onset_tolerance, offset_ratio=None
    )
    down = truth.pedal_intervals()
    for i, j in pairs:
      under = bool(np.any((down[:, 0] <= truth.offset[i]) & (truth.offset[i] < down[:, 1]))) if len(down) else False
      if pedal == "any" or under == (pedal == "down"):
        offsets[j] = truth.offset[i]
  return np.maximum(offsets, found.onset + 1e-3)


def variants(truth: NoteSequence, found: NoteSequence) -> dict[str, NoteSequence]:
  """{name: sounding notes} for `VARIANTS`. `truth` and `found`: key releases with the sustain pedal (a record's
  `released`, a Transcription's `released`)."""
  out = {}
  for name, (releases, pedal) in VARIANTS.items():
    offsets = found.offset if releases == "decoded" else true_releases(truth, found, pedal=_TRUE[releases])
    source = found if pedal != "true" else truth
    notes = NoteSequence(found.pitch, found.onset, offsets, found.velocity, source.pedal_time, source.pedal_value)
    ends = notes.offset if pedal == "none" else notes.pedal_offsets()
    out[name] = NoteSequence(found.pitch, found.onset, ends, found.velocity)
  return out
