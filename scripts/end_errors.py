"""Where a model's note ends go wrong on eval folders: key release or sustain pedal (pianojax.end_errors).

Decodes every record once, then scores the pedal-extended notes (onset+offset F1, frame F1, as `--mode=eval`
scores them) with the key releases and the pedal each taken from the decoding or from the truth. The gap between
"decoded releases + decoded pedal" and "decoded releases + true pedal" is what the pedal costs; to "true releases +
decoded pedal", what the key releases cost (then by halves: the releases made with the true pedal up, which the
damper makes audible, and those made under it); "true releases + true pedal" is what the onsets allow. The first row,
"shipped sounding notes", is the eval command's own number (ends from the frame/offset heads where they sound
longer). Prints a Markdown table per folder, one JSON line last.

  python scripts/end_errors.py --data=outputs/heldout/performances,outputs/val/performances-validation
"""

import json
import os
import sys

from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_DATA = flags.DEFINE_list("data", None, "Eval folders (audio + MIDI with the sustain pedal).", required=True)
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A run or model folder (default: the shipped model).")

SHIPPED = "shipped sounding notes"


def _score(predictor, folder: str) -> dict[str, dict[str, float]]:
  from pianojax import end_errors, inference, metrics, records, scoring

  rows: dict[str, list] = {}
  for record in records.read(predictor.config, folder, "pedal"):
    if record.released is None:
      continue
    probs = inference.frame_outputs(predictor, record.audio)
    found = inference.transcription(predictor, probs)
    n = probs["frame"].shape[0]
    duration = n / predictor.frame_rate
    candidates = {SHIPPED: found.sounding, **end_errors.variants(record.released, found.released)}
    for name, est in candidates.items():
      rows.setdefault(name, []).append(scoring.score(record.notes, est.clip(0.0, duration), n, predictor.frame_rate))
  return {name: metrics.average(r) for name, r in rows.items()}


def main(argv):
  del argv
  from absl import logging

  logging.set_verbosity(logging.WARNING)  # (orbax's INFO lines)
  from pianojax import inference
  from pianojax.errors import UserError

  summary = {}
  try:
    predictor = inference.Predictor.from_checkpoint(_CHECKPOINT.value)
    if not predictor.config.model.pedal:
      sys.exit("error: the model has no key-release and pedal heads: nothing to take apart")
    for folder in _DATA.value:
      if not os.path.isdir(folder):
        sys.exit(f"error: --data={folder}: no such folder")
      means = _score(predictor, folder)
      if not means:
        sys.exit(f"error: {folder}: no record with key releases and the pedal")
      print(f"\n{folder}\n\n| notes | onset F1 | onset+offset F1 | frame F1 |\n| --- | --- | --- | --- |")
      for name, m in means.items():
        print(f"| {name} | {100 * m['onset_f1']:.1f} | {100 * m['onset_offset_f1']:.1f} | {100 * m['frame_f1']:.1f} |")
      summary[folder] = {
        name: {k: round(100 * m[k], 1) for k in ("onset_f1", "onset_offset_f1", "frame_f1")}
        for name, m in means.items()
      }
  except UserError as e:
    sys.exit(f"error: {e}")
  print(json.dumps({"checkpoint": _CHECKPOINT.value or "models/default", "folders": summary}))


if __name__ == "__main__":
  app.run(main)
