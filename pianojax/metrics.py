"""Transcription metrics with mir_eval: note-level (onset; onset+offset; +velocity), frame-level, the sustain
pedal (Kong et al. 2021's pedal F1) and velocity error in MIDI units."""

from __future__ import annotations

import numpy as np

from pianojax.notes import MIN_PITCH, NoteSequence


def intervals(notes: NoteSequence):
  """mir_eval's `(intervals, pitches in Hz)` of `notes` (zero-length notes given a millisecond)."""
  import mir_eval

  spans = np.stack([notes.onset, np.maximum(notes.offset, notes.onset + 1e-3)], axis=1).reshape(-1, 2)
  return spans, mir_eval.util.midi_to_hz(notes.pitch.astype(np.float64))


def note_metrics(ref: NoteSequence, est: NoteSequence, onset_tolerance: float = 0.05) -> dict[str, float]:
  """mir_eval note P/R/F1: onset only; onset+offset (ratio 0.2, min 50 ms); onset+offset+velocity."""
  import mir_eval

  out = {}
  if len(ref) == 0 or len(est) == 0:
    empty_ok = float(len(ref) == 0 and len(est) == 0)
    for name in ("onset", "onset_offset", "onset_offset_velocity"):
      out.update({f"{name}_precision": empty_ok, f"{name}_recall": empty_ok, f"{name}_f1": empty_ok})
    return out
  ri, rp = intervals(ref)
  ei, ep = intervals(est)
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


def beat_metrics(ref: NoteSequence, est: NoteSequence, beats: np.ndarray, tolerance: float = 0.05) -> dict[str, float]:
  """Onset P/R/F1 at beat resolution: what a per-beat transcription can be asked to get right.

  A note counts as (pitch, the beat interval its onset falls in), the intervals running from `tolerance` seconds
  before one beat (times in seconds, e.g. tracked on the reference audio) to the same point before the next (and
  before the first, after the last), so an onset a few ms early still lands on its beat; the two lists are matched
  one to one (each (pitch, interval) pair counted as often as it occurs)."""
  import collections

  edges = np.sort(np.asarray(beats, np.float64)) - tolerance

  def counts(notes):
    beat = np.searchsorted(edges, notes.onset, side="right")
    return collections.Counter(zip(notes.pitch.tolist(), beat.tolist(), strict=True))

  r, e = counts(ref), counts(est)
  n_ref, n_est = sum(r.values()), sum(e.values())
  if n_ref == 0 or n_est == 0:
    empty_ok = float(n_ref == 0 and n_est == 0)
    return {"beat_onset_precision": empty_ok, "beat_onset_recall": empty_ok, "beat_onset_f1": empty_ok}
  hits = sum((r & e).values())
  p, rc = hits / n_est, hits / n_ref
  return {"beat_onset_precision": p, "beat_onset_recall": rc, "beat_onset_f1": 2 * p * rc / (p + rc) if hits else 0.0}


def pedal_metrics(ref: NoteSequence, est: NoteSequence, duration: float, frame_rate: float) -> dict[str, float]:
  """Sustain-pedal F1 (mir_eval note matching of the pedal's down intervals: onset; onset+offset, as Kong et al.
  2021 report it) and frame F1 of the pedal's down/up per frame. None where the reference has no pedal (a clip
  played without it says nothing about pedal detection; `average` counts the files that have each metric)."""
  import mir_eval

  ref_iv, est_iv = (np.minimum(n.pedal_intervals(), duration) for n in (ref, est))
  ref_iv, est_iv = (iv[iv[:, 1] > iv[:, 0]] for iv in (ref_iv, est_iv))
  if not len(ref_iv):
    return {}
  n = round(duration * frame_rate) + 1
  ref_roll, est_roll = (_interval_roll(iv, n, frame_rate) for iv in (ref_iv, est_iv))
  out = {"pedal_frame_f1": frame_metrics(ref_roll, est_roll)["frame_f1"]}
  if not len(est_iv):
    return {**out, "pedal_onset_f1": 0.0, "pedal_onset_offset_f1": 0.0}
  t = mir_eval.transcription
  ones = lambda iv: np.full(len(iv), 440.0)  # noqa: E731  (one "pitch": the pedal)
  args = (ref_iv, ones(ref_iv), est_iv, ones(est_iv))
  out["pedal_onset_f1"] = float(t.precision_recall_f1_overlap(*args, onset_tolerance=0.05, offset_ratio=None)[2])
  out["pedal_onset_offset_f1"] = float(
    t.precision_recall_f1_overlap(*args, onset_tolerance=0.05, offset_ratio=0.2, offset_min_tolerance=0.05)[2]
  )
  return out


def _interval_roll(intervals: np.ndarray, num_frames: int, frame_rate: float) -> np.ndarray:
  out = np.zeros((num_frames, 1), bool)
  for a, b in intervals:
    out[round(a * frame_rate) : max(round(b * frame_rate), round(a * frame_rate) + 1), 0] = True
  return out


def velocity_error(ref: NoteSequence, est: NoteSequence, onset_tolerance: float = 0.05) -> dict[str, float]:
  """Mean absolute velocity error in MIDI units over notes whose onsets match (mir_eval, offsets ignored), as
  written (no rescaling: a model that plays everything mezzo-forte scores badly here, unlike in mir_eval's
  velocity F1, which first fits a line from the estimated to the reference velocities). None with nothing matched."""
  import mir_eval

  if not len(ref) or not len(est):
    return {}
  (ri, rp), (ei, ep) = intervals(ref), intervals(est)
  pairs = mir_eval.transcription.match_notes(ri, rp, ei, ep, onset_tolerance=onset_tolerance, offset_ratio=None)
  if not pairs:
    return {}
  r, e = np.asarray(pairs).T
  return {"velocity_mae": float(np.mean(np.abs(ref.velocity[r].astype(float) - est.velocity[e].astype(float))))}


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
  """Mean of each metric over the files that have it (pedal metrics exist only for files played with the pedal)."""
  keys = list(dict.fromkeys(k for m in per_file for k in m))
  return {k: float(np.mean([m[k] for m in per_file if k in m])) for k in keys}


# (metric, column label, scale: 100 for fractions shown in %, 1 for units)
TABLE_COLUMNS = (
  ("onset_precision", "onset P", 100),
  ("onset_recall", "onset R", 100),
  ("onset_f1", "onset F1", 100),
  ("onset_offset_f1", "onset+offset F1", 100),
  ("onset_offset_velocity_f1", "+velocity F1", 100),
  ("frame_f1", "frame F1", 100),
  ("key_onset_offset_f1", "key-release on+off F1", 100),
  ("key_frame_f1", "key-release frame F1", 100),
  ("pedal_onset_f1", "pedal onset F1", 100),
  ("pedal_onset_offset_f1", "pedal on+off F1", 100),
  ("velocity_mae", "velocity error (MIDI)", 1),
  ("sep_sdr", "separated SDR (dB)", 1),
  ("mix_sdr", "mixture SDR (dB)", 1),
  ("sep_si_sdr", "separated SI-SDR (dB)", 1),
)


def markdown_table(rows: dict[str, dict[str, float]], first_column: str) -> str:
  """A Markdown table of metrics in percent, one row per name (missing values show as nan)."""
  columns = [c for c in TABLE_COLUMNS if any(c[0] in m for m in rows.values())]  # (only what was measured)
  lines = [
    f"| {first_column} | " + " | ".join(label for _, label, _ in columns) + " |",
    "|---" * (len(columns) + 1) + "|",
  ]
  for name, m in rows.items():
    cells = [_cell(m.get(k, float("nan")), scale) for k, _, scale in columns]
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  return "\n".join(lines)


def _cell(value: float, scale: float) -> str:
  return "-" if np.isnan(value) else f"{scale * value:.1f}"
