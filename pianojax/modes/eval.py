"""`--mode=eval --data=(FOLDER | NAME:SPLIT[,..]) --output=DIR [--checkpoint=RUN] [--offsets=pedal|key]
[--each_set [--against=OTHER_EVALS]]`.

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

`--each_set`: every set on its own, the model loaded and compiled once: each set named in `--data`, and each folder
of audio + MIDI inside a folder given there (`--data=outputs/heldout`: performances, ensembles, ensembles_piano,
...), into DIR/SET/ (DIR/ROOT/SET/ where `--data` names several such folders), with `sets.md`, one row per set.
`--against=OTHER_EVALS` (a folder another model's `--each_set` wrote) then compares the two, paired clip by clip
over the sets both hold (pianojax.paired): `paired.md` and `paired.json`.
"""

from __future__ import annotations

import json
import os
import sys

from pianojax import audio_io, figures, inference, metrics, paired, records, scoring
from pianojax.errors import UserError

SUMMARY = (("onset_f1", "onset F1"), ("onset_offset_f1", "onset+offset F1"), ("frame_f1", "frame F1"))
SUMMARY_PEDAL = (("pedal_onset_f1", "pedal onset F1"), ("pedal_frame_f1", "pedal frame F1"))


def run(config, args) -> int:
  del config  # the checkpoint's own config is used
  if not args.data or not args.output:
    raise UserError("--data=(FOLDER | NAME:SPLIT) and --output=DIR are required for --mode=eval")
  if args.against and not args.each_set:
    raise UserError("--against compares the sets of two --each_set evaluations: add --each_set")
  if args.against and not os.path.isdir(args.against):
    raise UserError(f"--against={args.against}: no such folder (another model's --mode=eval --each_set output)")
  sets = each_set(args.data) if args.each_set else [("", args.data)]
  predictor = inference.Predictor.from_checkpoint(args.checkpoint)
  problems = {}  # records that could not be read, audio without MIDI: reported, counted, never silently dropped
  reports = {}
  for name, data in sets:
    if name:
      print(f"== {name} ({data})", flush=True)
    reports[name] = evaluate(predictor, args, data, os.path.join(args.output, name), problems)
  if args.each_set:
    table = summary_table(reports)
    with open(os.path.join(args.output, "sets.md"), "w") as f:
      f.write(table + "\n")
    print(table)
  if args.against:
    common = [name for name, _ in sets if name in paired.sets_in(args.against)]
    if not common:
      raise UserError(f"--against={args.against} holds none of these sets (the evaluations are in {args.output})")
    compared = paired.compare(args.output, args.against, common)
    lines = paired.lines(compared)
    with open(os.path.join(args.output, "paired.md"), "w") as f:
      f.write(f"{args.output} against {args.against}: old -> new (new - old [95% interval])\n\n")
      f.write("\n".join(f"- {line}" for line in lines) + "\n")
    with open(os.path.join(args.output, "paired.json"), "w") as f:
      json.dump({"against": args.against, "sets": compared, "mean_difference": paired.mean_differences(compared)}, f)
    print(f"against {args.against} (old -> new, difference [95% interval], paired over clips):")
    print("\n".join(lines))
  for what, reason in problems.items():
    print(f"not scored: {what}: {reason}", file=sys.stderr)
  if problems:
    scored = sum(r["scored"] for r in reports.values())
    print(f"{scored} file(s) scored, {len(problems)} not (listed above; in eval.json)", file=sys.stderr)
  return 2 if problems else 0


def each_set(data: str) -> list[tuple[str, str]]:
  """(name, set) for each set in `data`, a folder of folders standing for each folder in it that holds audio."""
  roots = records.parse_sets(data)
  out = []
  for root, split in roots:
    prefix = os.path.basename(os.path.normpath(root)) + "/" if len(roots) > 1 and not split else ""
    if split == records.PACK:
      out.append((os.path.splitext(os.path.basename(root))[0], root))
    elif split:
      out.append((f"{root}-{split}", f"{root}:{split}"))
    elif _holds_audio_itself(root):
      out.append((os.path.basename(os.path.normpath(root)), root))
    else:
      subfolders = sorted(e.path for e in os.scandir(root) if e.is_dir())
      found = [(prefix + os.path.basename(sub), sub) for sub in subfolders if _pairs(sub)]
      if not found:
        raise UserError(f"--each_set: {root} holds no folder of audio files with MIDI files of the same name")
      out.extend(found)
  names = [name for name, _ in out]
  repeated = sorted({n for n in names if names.count(n) > 1})
  if repeated:
    raise UserError(f"--each_set: two sets would be written to {repeated[0]}: evaluate those folders apart")
  return out


def _holds_audio_itself(folder: str) -> bool:
  return any(e.is_file() and e.name.lower().endswith(audio_io.AUDIO_EXTENSIONS) for e in os.scandir(folder))


def _pairs(folder: str) -> bool:
  try:
    return bool(records.folder_pairs(folder)[0])
  except UserError:
    return False


def evaluate(predictor, args, data: str, output: str, problems: dict) -> dict:
  """Scores `data` into `output` (eval.json, eval.md, figures); the report written."""
  config = predictor.config
  decode = predictor.decode.replace(**args.decode)
  offsets = args.offsets or config.data.offset_mode
  found = {}
  items = records.read(config, data, offsets, problems=found)
  os.makedirs(output, exist_ok=True)

  def draw(record, est, num_frames):
    rolls = [metrics.roll(n, num_frames, predictor.frame_rate) for n in (record.notes, est)]
    figures.plot_comparison(*rolls, predictor.frame_rate, os.path.join(output, f"{record.name}.png"), record.name)

  masks = inference.Predictor.separator_of(args.checkpoint) if config.model.stages == 2 else None
  per_record = scoring.evaluate_records(predictor, items, decode, on_record=draw, masks=masks)
  report = {
    "checkpoint": args.checkpoint,
    "data": data,
    "offsets": offsets,
    "decode": decode.as_dict(),
    "per_file": per_record,
    "mean": metrics.average(list(per_record.values())),
    "scored": len(per_record),
    "not_scored": found,
  }
  with open(os.path.join(output, "eval.json"), "w") as f:
    json.dump(report, f, indent=1)
  table = metrics.markdown_table({**per_record, "**mean**": report["mean"]}, "file")
  with open(os.path.join(output, "eval.md"), "w") as f:
    f.write(table + "\n")
  if per_record:
    figures.plot_eval_summary(per_record, os.path.join(output, "eval_summary.png"), data)
  if not args.each_set:
    print(table)
  problems.update(found)
  return report


def summary_table(reports: dict) -> str:
  """One row per set: clips scored and the mean onset, onset+offset and frame F1 (%), the pedal's where scored."""
  pedal = [c for c in SUMMARY_PEDAL if any(c[0] in r["mean"] for r in reports.values())]
  columns = [*SUMMARY, *pedal]
  rows = ["| set | clips | " + " | ".join(label for _, label in columns) + " |"]
  rows.append("| --- | ---: |" + " ---: |" * len(columns))
  for name, report in reports.items():
    cells = [f"{100 * report['mean'][k]:.1f}" if k in report["mean"] else "-" for k, _ in columns]
    rows.append(f"| {name} | {report['scored']} | " + " | ".join(cells) + " |")
  return "\n".join(rows)
