"""Scoring a model on evaluation records: the one function behind train-time evaluation, sweeps, tune and
the eval command, so all four report the same numbers for the same model and set.

Metrics are mir_eval's note metrics (onset, onset+offset; 50 ms onset tolerance) and frame
metrics on the model's frame grid (`metrics`).
"""

from __future__ import annotations

import itertools

from pianojax import decoding, framing, inference, metrics, records, separation

# Decoding thresholds tune searches (the other decoding settings hold during the search).
ONSET_GRID = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
FRAME_GRID = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def score(ref, est, num_frames: int, frame_rate: float) -> dict[str, float]:
  """Note and frame metrics of `est` against `ref`."""
  m = metrics.note_metrics(ref, est)
  m.update(metrics.frame_metrics(metrics.roll(ref, num_frames, frame_rate), metrics.roll(est, num_frames, frame_rate)))
  return m


def score_record(
  record: records.Record, found: decoding.Transcription, num_frames: int, frame_rate: float, beats=None
) -> dict:
  """Every metric of one record: notes and frames under the record's protocol (its `notes`' offsets: the sounding
  notes against pedal-extended references), under the key-release protocol (`key_*`: key releases against key
  releases), the sustain pedal (`pedal_*`) and velocity error; with `beats` (seconds), onsets at beat resolution
  (`beat_onset_*`, metrics.beat_metrics)."""
  est = found.released if record.offsets == "key" else found.sounding
  m = score(record.notes, est, num_frames, frame_rate)
  if beats is not None:
    m.update(metrics.beat_metrics(record.notes, est, beats))
  if record.released is not None:
    key = score(record.released, found.released, num_frames, frame_rate)
    m.update(key_onset_offset_f1=key["onset_offset_f1"], key_frame_f1=key["frame_f1"])
    m.update(metrics.pedal_metrics(record.released, found.released, num_frames / frame_rate, frame_rate))
  m.update(metrics.velocity_error(record.notes, est))
  return m


def evaluate_records(
  predictor: inference.Predictor,
  items,
  decode=None,
  on_record=None,
  masks: inference.Predictor | None = None,
  *,
  beats: bool = False,
) -> dict[str, dict]:
  """{record name: metrics} for `records.Record`s; `on_record(record, sounding notes, num_frames)` sees each.
  `beats`: also score onsets at beat resolution, on beats tracked in each record's audio (librosa).

  `masks`: a two-stage model's stage 1 (`Predictor.separator_of`): records with a clean stem (`Record.clean`) are
  also scored on separation (`separation.separation_metrics`: SDR, SI-SDR, spectral L1 of the separated piano and
  of the mixture)."""
  per_record = {}
  for record in items:
    probs = inference.frame_outputs(predictor, record.audio)
    found = inference.transcription(predictor, probs, decode)
    num_frames = probs["frame"].shape[0]
    beat_times = None
    if beats:
      spec = predictor.config.frontend
      beat_times = framing.track_beats(record.audio, spec.sample_rate, spec.hop_length) / predictor.frame_rate
    per_record[record.name] = score_record(record, found, num_frames, predictor.frame_rate, beat_times)
    if masks is not None and record.clean is not None:
      separated, _ = inference.separate(masks, record.audio)
      per_record[record.name].update(
        separation.separation_metrics(record.clean, record.audio, separated, masks.spec, masks.config.separation.floor)
      )
    if on_record is not None:
      on_record(record, found.sounding, num_frames)
  return per_record


def score_sets(
  predictor: inference.Predictor, data, max_records: int | None = None, decode=None, masks=None, *, beats: bool = False
) -> dict:
  """{set name: {record name: metrics}} for each set of `data` (records.parse_sets), at most `max_records` records
  each, in the order the set is read (`masks`, `beats`: as `evaluate_records`)."""
  out = {}
  for name, split in records.parse_sets(data):
    spec = f"{name}:{split}" if split else name
    items = records.read(predictor.config, spec, max_records=max_records)
    out[name] = evaluate_records(predictor, items, decode, masks=masks, beats=beats)
  return out


def evaluate_sets(
  predictor: inference.Predictor, data, max_records: int | None = None, decode=None, masks=None
) -> dict:
  """{set name: mean metrics} of `score_sets`."""
  per_set = score_sets(predictor, data, max_records, decode, masks)
  return {name: metrics.average(list(per_record.values())) for name, per_record in per_set.items()}


def tuning_score(row: dict) -> float:
  """What tuning maximises: the mean of onset F1 and onset+offset F1."""
  return (row["onset_f1"] + row["onset_offset_f1"]) / 2


def threshold_grid(
  predictor: inference.Predictor, items, base: decoding.DecodeSettings | None = None, *, cached=None
) -> list[dict]:
  """Mean note metrics for every (onset, frame) threshold pair over `items`; the model runs once per record.

  `base`: the decoding settings that hold during the search (default: the model's); `cached`: `outputs` of the
  records, where the caller has them already (then `items` is not read).
  """
  base = base or predictor.decode
  cached = [(record.notes, probs) for record, probs in (outputs(predictor, items) if cached is None else cached)]
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


def outputs(predictor: inference.Predictor, items) -> list[tuple[records.Record, dict]]:
  """(record, frame outputs) for each record: the model's work, done once for a whole search."""
  return [(record, inference.frame_outputs(predictor, record.audio)) for record in items]


def _pedal_score(row: dict) -> float:
  return (row["onset_offset_f1"] + row.get("pedal_onset_offset_f1", 0.0)) / 2


# Decoding settings chosen after the (onset, frame) pair, one at a time, each by the score it moves: the frame and
# offset thresholds by the tuning score, the pedal threshold by the sounding notes' and the pedal's onset+offset F1,
# the key-release threshold by the key-release onset+offset F1 (the last two only for models with pedal heads).
# Note ends hang on the frame and offset thresholds together (a lower frame threshold holds notes longer, a higher
# offset threshold lets them run on, and so does asking the frame probability to confirm the offset events), so the
# pass repeats until nothing changes.
REFINED = (
  ("frame_threshold", FRAME_GRID, tuning_score, False),
  ("offset_threshold", (0.3, 0.5, 0.7, 0.8, 0.9, 0.95), tuning_score, False),
  ("end_confirm_threshold", (0.0, 0.3, 0.5, 0.7, 0.9), tuning_score, False),
  ("end_events", decoding.END_EVENTS, tuning_score, False),
  ("pedal_threshold", (0.3, 0.4, 0.5, 0.6, 0.7), _pedal_score, True),
  ("release_threshold", (0.05, 0.1, 0.15, 0.2, 0.3, 0.5), lambda row: row.get("key_onset_offset_f1", 0.0), True),
  ("sounding_ends", decoding.SOUNDING_ENDS, tuning_score, True),
)
MAX_PASSES = 4


def refine(
  predictor: inference.Predictor, cached, base: decoding.DecodeSettings
) -> tuple[decoding.DecodeSettings, list]:
  """`base` with each `REFINED` setting in turn set to its best value on `cached` (`outputs`), pass after pass
  until a whole pass changes nothing (at most `MAX_PASSES`); (settings, rows: every setting tried, with its pass)."""
  pedal = predictor.config.model.pedal
  rows, scored = [], {}

  def mean_metrics(settings):
    if settings not in scored:  # (a pass revisits the settings the one before ended on)
      scored[settings] = metrics.average(
        [
          score_record(
            record, inference.transcription(predictor, probs, settings), probs["frame"].shape[0], predictor.frame_rate
          )
          for record, probs in cached
        ]
      )
    return scored[settings]

  for pass_ in range(MAX_PASSES):
    start = base
    for field, grid, score_of, needs_pedal in REFINED:
      if needs_pedal and not pedal:
        continue
      tried = []
      for value in grid:
        mean = mean_metrics(base.replace(**{field: value}))
        tried.append({"field": field, "value": value, "pass": pass_, "score": score_of(mean), **mean})
      best = max(tried, key=lambda r: r["score"])
      base = base.replace(**{field: best["value"]})
      rows += tried
    if base == start:
      break
  return base, rows
