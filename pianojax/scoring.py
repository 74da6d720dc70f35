"""Scoring a model on evaluation records: the one function behind train-time evaluation, sweeps, tune and
the eval command, so all four report the same numbers for the same model and set.

Metrics are mir_eval's note metrics (onset, onset+offset; 50 ms onset tolerance) and frame
metrics on the model's frame grid (`metrics`).
"""

from __future__ import annotations

import itertools

from pianojax import decoding, inference, metrics, records

# Decoding thresholds tune searches (the other decoding settings hold during the search).
ONSET_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FRAME_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def score(ref, est, num_frames: int, frame_rate: float) -> dict[str, float]:
  """Note and frame metrics of `est` against `ref`."""
  m = metrics.note_metrics(ref, est)
  m.update(metrics.frame_metrics(metrics.roll(ref, num_frames, frame_rate), metrics.roll(est, num_frames, frame_rate)))
  return m


def evaluate_records(predictor: inference.Predictor, items, decode=None, on_record=None) -> dict[str, dict]:
  """{record name: metrics} for `records.Record`s; `on_record(record, est, num_frames)` sees each result."""
  per_record = {}
  for record in items:
    est, probs = inference.transcribe_audio(predictor, record.audio, decode)
    num_frames = probs["frame"].shape[0]
    per_record[record.name] = score(record.notes, est, num_frames, predictor.frame_rate)
    if on_record is not None:
      on_record(record, est, num_frames)
  return per_record


def evaluate_sets(predictor: inference.Predictor, data, max_records: int | None = None, decode=None) -> dict:
  """{set name: mean metrics} for each set of `data` (records.parse_sets), at most `max_records` records each."""
  out = {}
  for name, split in records.parse_sets(data):
    spec = f"{name}:{split}" if split else name
    items = records.read(predictor.config, spec, max_records=max_records)
    out[name] = metrics.average(list(evaluate_records(predictor, items, decode).values()))
  return out


def tuning_score(row: dict) -> float:
  """What tuning maximises: the mean of onset F1 and onset+offset F1."""
  return (row["onset_f1"] + row["onset_offset_f1"]) / 2


def threshold_grid(predictor: inference.Predictor, items, base: decoding.DecodeSettings | None = None) -> list[dict]:
  """Mean note metrics for every (onset, frame) threshold pair over `items`; the model runs once per record.

  `base`: the decoding settings that hold during the search (default: the model's).
  """
  base = base or predictor.decode
  cached = [(record.notes, inference.frame_outputs(predictor, record.audio)) for record in items]
  rows = []
  for onset, frame in itertools.product(ONSET_GRID, FRAME_GRID):
    settings = base.replace(onset_threshold=onset, frame_threshold=frame)
    mean = metrics.average(
      [metrics.note_metrics(ref, inference.decode_probs(predictor, p, settings)) for ref, p in cached]
    )
    rows.append({"onset_threshold": onset, "frame_threshold": frame, "records": len(cached), **mean})
  return rows


def best_thresholds(rows: list[dict]) -> dict:
  return max(rows, key=tuning_score)
