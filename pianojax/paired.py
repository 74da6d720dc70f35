"""Two models' evaluations of the same sets, compared clip by clip: which is better, and how sure.

An evaluation folder holds `SET/eval.json` as `--mode=eval` writes it (`--each_set` writes one per set, SET possibly
`ROOT/NAME`). Per set: both models' mean onset / onset+offset / frame F1 (%), and pedal onset and frame F1 over the
clips both scored the pedal on, each with NEW - OLD and its 95% bootstrap interval, paired over the clips
(`stats.difference`: the same resampled clips for both, so the clip-to-clip variation they share cancels). A
difference is real where its interval excludes zero.
"""

from __future__ import annotations

import json
import os

import numpy as np

from pianojax import stats
from pianojax.errors import UserError

METRICS = ("onset_f1", "onset_offset_f1", "frame_f1")
PEDAL = ("pedal_onset_f1", "pedal_frame_f1")  # compared over the clips both evals scored them on


def per_file(root: str, name: str) -> dict:
  path = os.path.join(root, name, "eval.json")
  try:
    with open(path) as f:
      return json.load(f)["per_file"]
  except (OSError, ValueError, KeyError) as e:
    raise UserError(f"{path} is not an eval.json written by --mode=eval ({e})") from None


def sets_in(root: str) -> set[str]:
  """The sets an evaluation folder holds: every folder under it with an eval.json, as a path relative to it."""
  return {
    os.path.relpath(folder, root).replace(os.sep, "/")
    for folder, _, names in os.walk(root)
    if "eval.json" in names and os.path.abspath(folder) != os.path.abspath(root)
  }


def common_sets(new_dir: str, old_dir: str) -> list[str]:
  for root in (new_dir, old_dir):
    if not os.path.isdir(root):
      raise UserError(f"no such directory: {root}")
  names = sorted(sets_in(new_dir) & sets_in(old_dir))
  if not names:
    raise UserError(f"{new_dir} and {old_dir} hold no SET/eval.json in common")
  return names


def compare(new_dir: str, old_dir: str, names: list[str]) -> dict:
  """{set: {metric: {"new", "old", "difference", "low", "high"}}} in percent, paired over each set's clips."""
  out = {}
  for name in names:
    new, old = per_file(new_dir, name), per_file(old_dir, name)
    if sorted(new) != sorted(old):
      raise UserError(f"{name}: the two evaluations scored different clips: they cannot be paired")
    clips = sorted(new)
    row = {}
    for metric in (*METRICS, *PEDAL):
      scored = [clip for clip in clips if metric in new[clip] and metric in old[clip]]
      if metric in PEDAL and not scored:
        continue
      values = [[100 * scores[clip][metric] for clip in scored] for scores in (new, old)]
      a, b = (stats.Scores(np.array([v]), (name,) * len(scored)) for v in values)
      d = stats.difference(a, b)
      row[metric] = {"new": a.mean, "old": b.mean, "difference": d.estimate, "low": d.low, "high": d.high}
    out[name] = row
  return out


def mean_differences(out: dict) -> dict[str, float]:
  """Each metric's NEW - OLD averaged over the sets that have it."""
  means = {}
  for metric in (*METRICS, *PEDAL):
    diffs = [row[metric]["difference"] for row in out.values() if metric in row]
    if diffs:
      means[metric] = float(np.mean(diffs))
  return means


def lines(out: dict) -> list[str]:
  """One line per set ("old -> new (difference [low, high])" for onset / onset+offset / frame F1), then the means."""
  text = []
  for name, row in out.items():
    cells = [f"{row[m]['old']:.1f} -> {row[m]['new']:.1f} ({_signed(row[m])})" for m in METRICS]
    pedal = [f"{row[m]['old']:.1f} -> {row[m]['new']:.1f}" for m in PEDAL if m in row]
    text.append(f"{name}: " + " / ".join(cells) + (f"; pedal onset / frame {' / '.join(pedal)}" if pedal else ""))
  means = mean_differences(out)
  text.append(f"mean difference over {len(out)} sets: " + ", ".join(f"{m} {v:+.2f}" for m, v in means.items()))
  return text


def _signed(d: dict) -> str:
  return f"{d['difference']:+.1f} [{d['low']:+.1f}, {d['high']:+.1f}]"
