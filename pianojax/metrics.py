"""Transcription metrics with mir_eval: note-level (onset; onset+offset; +velocity) and frame-level."""

from __future__ import annotations

import numpy as np

from pianojax.notes import MIN_PITCH, NoteSequence


def _intervals(notes: NoteSequence):
  import mir_eval

  intervals = np.stack([notes.onset, np.maximum(notes.offset, notes.onset + 1e-3)], axis=1).reshape(-1, 2)
  pitches = mir_eval.util.midi_to_hz(notes.pitch.astype(np.float64))
  return intervals, pitches


def note_metrics(ref: NoteSequence, est: NoteSequence, onset_tolerance: float = 0.05) -> dict[str, float]:
  """mir_eval note P/R/F1: onset only; onset+offset (ratio 0.2, min 50 ms); onset+offset+velocity."""
  import mir_eval

  out = {}
  if len(ref) == 0 or len(est) == 0:
    empty_ok = float(len(ref) == 0 and len(est) == 0)
    for name in ("onset", "onset_offset", "onset_offset_velocity"):
      out.update({f"{name}_precision": empty_ok, f"{name}_recall": empty_ok, f"{name}_f1": empty_ok})
    return out
  ri, rp = _intervals(ref)
  ei, ep = _intervals(est)
  t = mir_eval.transcription
  p, r, f, _ = t.precision_recall_f1_overlap(ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
  out.update(onset_precision=p, onset_recall=r, onset_f1=f)
  p, r, f, _ = t.precision_recall_f1_overlap(
    ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=0.2, offset_min_tolerance=0.05
  )
  out.update(onset_offset_precision=p, onset_offset_recall=r, onset_offset_f1=f)
  p, r, f, _ = mir_eval.transcription_velocity.precision_recall_f1_overlap(
    ri,
    rp,
    ref.velocity.astype(float),
    ei,
    ep,
    est.velocity.astype(float),
    onset_tolerance=onset_tolerance,
    offset_ratio=0.2,
    offset_min_tolerance=0.05,
  )
  out.update(onset_offset_velocity_precision=p, onset_offset_velocity_recall=r, onset_offset_velocity_f1=f)
  return {k: float(v) for k, v in out.items()}


def roll(notes: NoteSequence, num_frames: int, frame_rate: float) -> np.ndarray:
  """Boolean piano roll `(num_frames, 88)` of the notes (frame i = time i / frame_rate)."""
  out = np.zeros((num_frames, 88), bool)
  for p, on, off in zip(notes.pitch, notes.onset, notes.offset, strict=True):
    a, b = round(on * frame_rate), round(off * frame_rate)
    out[max(a, 0) : min(max(b, a + 1), num_frames), p - MIN_PITCH] = True
  return out


def frame_metrics(ref_roll: np.ndarray, est_roll: np.ndarray) -> dict[str, float]:
  """Frame-level precision / recall / F1 over all (frame, key) cells."""
  tp = float(np.sum(ref_roll & est_roll))
  precision = tp / max(float(est_roll.sum()), 1.0) if est_roll.any() else float(not ref_roll.any())
  recall = tp / max(float(ref_roll.sum()), 1.0) if ref_roll.any() else 1.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
  return {"frame_precision": precision, "frame_recall": recall, "frame_f1": f1}


def average(per_file: list[dict[str, float]]) -> dict[str, float]:
  if not per_file:
    return {}
  return {k: float(np.mean([m[k] for m in per_file])) for k in per_file[0]}


TABLE_COLUMNS = (
  ("onset_precision", "onset P"),
  ("onset_recall", "onset R"),
  ("onset_f1", "onset F1"),
  ("onset_offset_f1", "onset+offset F1"),
  ("onset_offset_velocity_f1", "+velocity F1"),
  ("frame_f1", "frame F1"),
)


def markdown_table(rows: dict[str, dict[str, float]], first_column: str) -> str:
  """A Markdown table of metrics in percent, one row per name (missing values show as nan)."""
  lines = [
    f"| {first_column} | " + " | ".join(label for _, label in TABLE_COLUMNS) + " |",
    "|---" * (len(TABLE_COLUMNS) + 1) + "|",
  ]
  for name, m in rows.items():
    lines.append(f"| {name} | " + " | ".join(f"{100 * m.get(k, float('nan')):.1f}" for k, _ in TABLE_COLUMNS) + " |")
  return "\n".join(lines)
