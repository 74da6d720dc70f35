"""`--mode=eval --data=(FOLDER | NAME:SPLIT[,..]) --output=DIR [--checkpoint=RUN] [--offsets=pedal|key]`.

Note and frame metrics of a model on evaluation sets (pianojax.records; scored by
pianojax.scoring, as train-time evaluation and sweeps score): `eval.json` (per record and
mean), `eval.md` (a Markdown table), `eval_summary.png` (per-file onset F1 bars, precision against
recall) and, per record, the prediction over the ground truth (hits green, false positives red,
misses blue). Reference offsets are the model's
`data.offset_mode` (pedal-extended, as MAESTRO's evaluation) unless `--offsets` says otherwise; the `key_*` metrics
always score key releases against key releases, `pedal_*` the sustain pedal (files played with it), `velocity_mae`
the velocity error of onset-matched notes in MIDI units. A two-stage model (model.stages=2) is also scored on
separation where a folder of mixtures has the piano alone beside it (`FOLDER_piano`, as `--mode=render` writes for
mixtures): `sep_sdr`, `sep_si_sdr`, `sep_spectral_l1` of the separated piano against it, and `mix_*`, the same of
the mixture itself.
"""

from __future__ import annotations

import json
import os
import sys

from pianojax import figures, inference, metrics, records, scoring
from pianojax.errors import UserError


def run(config, args) -> int:
  del config  # the checkpoint's own config is used
  if not args.data or not args.output:
    raise UserError("--data=(FOLDER | NAME:SPLIT) and --output=DIR are required for --mode=eval")
  predictor = inference.Predictor.from_checkpoint(args.checkpoint)
  config = predictor.config
  decode = predictor.decode.replace(**args.decode)
  offsets = args.offsets or config.data.offset_mode
  problems = {}  # records that could not be read, audio without MIDI: reported, counted, never silently dropped
  items = records.read(config, args.data, offsets, problems=problems)
  os.makedirs(args.output, exist_ok=True)

  def draw(record, est, num_frames):
    rolls = [metrics.roll(n, num_frames, predictor.frame_rate) for n in (record.notes, est)]
    figures.plot_comparison(*rolls, predictor.frame_rate, os.path.join(args.output, f"{record.name}.png"), record.name)

  masks = inference.Predictor.separator_of(args.checkpoint) if config.model.stages == 2 else None
  per_record = scoring.evaluate_records(predictor, items, decode, on_record=draw, masks=masks)
  report = {
    "checkpoint": args.checkpoint,
    "data": args.data,
    "offsets": offsets,
    "decode": decode.as_dict(),
    "per_file": per_record,
    "mean": metrics.average(list(per_record.values())),
    "scored": len(per_record),
    "not_scored": problems,
  }
  with open(os.path.join(args.output, "eval.json"), "w") as f:
    json.dump(report, f, indent=1)
  table = metrics.markdown_table({**per_record, "**mean**": report["mean"]}, "file")
  with open(os.path.join(args.output, "eval.md"), "w") as f:
    f.write(table + "\n")
  if per_record:
    figures.plot_eval_summary(per_record, os.path.join(args.output, "eval_summary.png"), args.data)
  print(table)
  for what, reason in problems.items():
    print(f"not scored: {what}: {reason}", file=sys.stderr)
  if problems:
    print(f"{len(per_record)} file(s) scored, {len(problems)} not (listed above; in eval.json)", file=sys.stderr)
  return 2 if problems else 0
