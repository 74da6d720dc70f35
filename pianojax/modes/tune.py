"""`--mode=tune --data=NAME:validation[,..] --output=DIR [--checkpoint=RUN] [--min_repeat_ms=..]`.

Chooses decoding thresholds on validation data (never a test split): the model runs once per
record, then the stored probabilities are decoded over a grid of onset x frame thresholds
(scoring.threshold_grid) and the pair with the best mean of onset F1 and onset+offset F1 wins; then the
frame, offset, sustain-pedal and key-release thresholds, one at a time, pass after pass until none moves
(scoring.refine).
`DIR/tune.json` holds the grid and, under "decode", the full decoding settings chosen: pass it
to `--mode=export --tuned=DIR/tune.json` to ship them with the model.
"""

from __future__ import annotations

import json
import os

from pianojax import inference, records, scoring
from pianojax.errors import UserError

SEARCHED = ("onset_threshold", "frame_threshold", "offset_threshold")


def run(config, args) -> int:
  del config  # the checkpoint's own config is used
  if not args.data or not args.output:
    raise UserError("--data=(FOLDER | NAME:validation[,NAME:validation]) and --output=DIR are required for --mode=tune")
  if any(split == "test" for _, split in records.parse_sets(args.data)):
    raise UserError(f"tune on validation data (NAME:validation), not a test split: got --data={args.data}")
  searched = [k for k in SEARCHED if args.decode.get(k) is not None]
  if searched:
    raise UserError(f"--{searched[0]} is what tune searches: leave it out")
  predictor = inference.Predictor.from_checkpoint(args.checkpoint)
  own = predictor.decode
  base = own.replace(**args.decode)
  cached = scoring.outputs(predictor, records.read(predictor.config, args.data, args.offsets))
  rows = scoring.threshold_grid(predictor, None, base, cached=cached)
  best = scoring.best_thresholds(rows)
  print(f"{'onset':>6} {'frame':>6} {'onset F1':>9} {'on+off F1':>10}")
  for r in rows:
    mark = "  <- best" if r is best else ""
    line = f"{r['onset_threshold']:6.2f} {r['frame_threshold']:6.2f} {100 * r['onset_f1']:9.1f}"
    print(f"{line} {100 * r['onset_offset_f1']:10.1f}{mark}")
  chosen = base.replace(onset_threshold=best["onset_threshold"], frame_threshold=best["frame_threshold"])
  chosen, refined = scoring.refine(predictor, cached, chosen)
  last = max((r["pass"] for r in refined), default=0)
  for field, *_ in scoring.REFINED:
    tried = [r for r in refined if r["field"] == field and r["pass"] == last]
    if tried:
      print(
        f"{field}: "
        + ", ".join(f"{r['value']}: {100 * r['score']:.1f}" for r in tried)
        + f" -> {chosen.as_dict()[field]}"
      )
  os.makedirs(args.output, exist_ok=True)
  path = os.path.join(args.output, "tune.json")
  report = {
    "checkpoint": args.checkpoint,
    "data": args.data,
    "decode": chosen.as_dict(),
    "best": best,
    "grid": rows,
    "refined": refined,
  }
  with open(path, "w") as f:
    json.dump(report, f, indent=1)
  print(
    f"best on {args.data} ({best['records']} records, {last + 1} pass(es)): onset {chosen.onset_threshold}, frame "
    f"{chosen.frame_threshold} (the model's own: {own.onset_threshold}, {own.frame_threshold}) -> {path}\n"
    f"ship it: --mode=export --checkpoint=RUN --tuned={path} --output=NEW_DIR"
  )
  return 0
