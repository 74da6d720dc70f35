"""`launch.py --mode=tune`: choose decoding thresholds on validation data (never the test splits).

Runs the model once per record, then decodes the stored probabilities over a grid of onset
and frame thresholds and reports mir_eval's onset F1 and onset+offset F1 for each pair. The
best pair (by the mean of the two) is printed and written to `tune.json`; pass it on to
`--mode=export --onset_threshold=.. --frame_threshold=..` to ship it with a model.
"""

from __future__ import annotations

import itertools
import json
import os

import numpy as np

from pianojax.errors import UserError

ONSET_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FRAME_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
SEARCHED = ("onset_threshold", "frame_threshold")  # the other decoding settings hold during the search


def score(row: dict) -> float:
  """What tuning maximises: the mean of onset F1 and onset+offset F1."""
  return (row["onset_f1"] + row["onset_offset_f1"]) / 2


def grid(predictor, config, records, max_records: int | None = None) -> tuple[list[dict], list]:
  """Mean note metrics for every (onset, frame) threshold pair; the model runs once per record."""
  from pianojax import decoding, inference, metrics

  frame_rate = config.frontend.sample_rate / config.frontend.hop_length
  cached = []
  for i, (_, audio, ref) in enumerate(records):
    if max_records is not None and i >= max_records:
      break
    _, probs = inference.transcribe_audio(predictor, audio, config)
    cached.append((ref, {k: v.astype(np.float32) for k, v in probs.items()}))
  rows = []
  for onset, frame in itertools.product(ONSET_GRID, FRAME_GRID):
    settings = dict(config.decode, onset_threshold=onset, frame_threshold=frame)
    scores = [
      metrics.note_metrics(ref, decoding.decode(probs, frame_rate, objective=config.objective, **settings))
      for ref, probs in cached
    ]
    mean = metrics.average(scores)
    rows.append({"onset_threshold": onset, "frame_threshold": frame, **{k: mean[k] for k in _KEYS}})
  return rows, cached


def run(checkpoint: str | None, data: str, output: str | None, offsets: str = "pedal", **fixed) -> dict:
  """Searches onset x frame thresholds; `fixed` decoding settings (e.g. min_repeat_ms) hold for every pair."""
  from pianojax import evaluate, transcribe

  if not data:
    raise UserError("--data=(FOLDER | NAME:validation[,NAME:validation]) is required for --mode=tune")
  if not os.path.isdir(data) and any(s.strip().partition(":")[2] in ("", "test") for s in data.split(",")):
    raise UserError(f"tune on validation data (NAME:validation), not a test split: got {data!r}")
  config, predictor = transcribe.load_model(checkpoint)
  config.decode.update(fixed)
  rows, cached = grid(predictor, config, evaluate.records(config, data, offsets))
  best = max(rows, key=score)
  print(f"{'onset':>6} {'frame':>6} {'onset F1':>9} {'on+off F1':>10}")
  for r in rows:
    mark = "  <- best" if r is best else ""
    line = f"{r['onset_threshold']:6.2f} {r['frame_threshold']:6.2f} {100 * r['onset_f1']:9.1f}"
    print(f"{line} {100 * r['onset_offset_f1']:10.1f}{mark}")
  current = (config.decode.onset_threshold, config.decode.frame_threshold)
  print(
    f"best on {data} ({len(cached)} records): --onset_threshold={best['onset_threshold']} "
    f"--frame_threshold={best['frame_threshold']} (the model's own: {current[0]}, {current[1]})"
  )
  report = {
    "checkpoint": checkpoint,
    "data": data,
    "records": len(cached),
    "decode": config.decode.to_dict(),
    "best": best,
    "grid": rows,
  }
  if output:
    os.makedirs(output, exist_ok=True)
    with open(os.path.join(output, "tune.json"), "w") as f:
      json.dump(report, f, indent=1)
  return report


_KEYS = ("onset_f1", "onset_offset_f1", "onset_precision", "onset_recall")
