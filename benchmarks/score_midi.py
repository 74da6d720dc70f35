"""Scores a folder of MIDI transcriptions (from any system) against an eval folder, as `--mode=eval` scores ours.

The eval folder holds audio + MIDI pairs (`--mode=render` writes them); the estimates folder holds one
`<name>.mid` per audio file, named as `launch.py --mode=transcribe` names its outputs. References are
clipped to the audio and pedal-extended (`--offsets`), mir_eval with a 50 ms onset tolerance. Prints the
mean over files, one JSON line last.

  python benchmarks/score_midi.py --reference=outputs/salamander/performances --estimates=bp/performances
"""

import json
import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_REFERENCE = flags.DEFINE_string("reference", None, "Eval folder: audio files with MIDI files of the same name.")
_ESTIMATES = flags.DEFINE_string("estimates", None, "Folder of <name>.mid transcriptions.")
_OFFSETS = flags.DEFINE_enum("offsets", "pedal", ["pedal", "key"], "Reference offsets.")
_RATE = 16000  # only used to read each file's duration (references are clipped to it)


def main(argv):
  del argv
  import ml_collections

  from pianojax import metrics, notes, records
  from pianojax.errors import UserError

  for flag in (_REFERENCE, _ESTIMATES):
    if not os.path.isdir(flag.value):
      sys.exit(f"error: --{flag.name}={flag.value}: no such folder")
  config = ml_collections.ConfigDict({"frontend": {"sample_rate": _RATE}, "data": {"offset_mode": "pedal"}})
  rows, missing = [], []
  try:
    for record in records.read(config, _REFERENCE.value, _OFFSETS.value):
      path = os.path.join(_ESTIMATES.value, record.name + ".mid")
      if not os.path.exists(path):
        missing.append(record.name)
        continue
      rows.append(metrics.note_metrics(record.notes, notes.read_midi(path, piano_only=False)))
  except UserError as e:
    sys.exit(f"error: {e}")
  if missing:
    sys.exit(f"error: {len(missing)} transcription(s) missing in {_ESTIMATES.value}, e.g. {missing[0]}.mid")
  mean = metrics.average(rows)
  keys = ("onset_precision", "onset_recall", "onset_f1", "onset_offset_f1")
  print(" ".join(f"{k} {100 * mean[k]:.1f}" for k in keys))
  print(
    json.dumps(
      {
        "reference": _REFERENCE.value,
        "estimates": _ESTIMATES.value,
        "files": len(rows),
        **{k: round(100 * mean[k], 1) for k in keys},
      }
    )
  )


if __name__ == "__main__":
  flags.mark_flags_as_required(["reference", "estimates"])
  app.run(main)
