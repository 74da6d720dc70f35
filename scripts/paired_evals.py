"""Two models on the same held-out folders, compared clip by clip: which is better, and how sure.

Reads `--mode=eval` outputs, NEW_DIR/SET/eval.json and OLD_DIR/SET/eval.json, for each SET named (default: every
SET both directories hold). Per set: both models' mean onset / onset+offset / frame F1 (%), and pedal onset and
frame F1 over the clips both scored the pedal on, each with NEW - OLD and its 95% bootstrap interval, paired over
the clips (`pianojax.stats.difference`: the same resampled clips for both, so the clip-to-clip variation they share
cancels). A difference is real where its interval excludes zero. Then each metric's difference averaged over the
sets; one JSON line last.

  python launch.py --mode=eval --checkpoint=NEW --data=outputs/heldout/performances --output=outputs/new/performances
  python launch.py --mode=eval --checkpoint=OLD --data=outputs/heldout/performances --output=outputs/old/performances
  python scripts/paired_evals.py outputs/new outputs/old [performances ...]
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METRICS = ("onset_f1", "onset_offset_f1", "frame_f1")
PEDAL = ("pedal_onset_f1", "pedal_frame_f1")  # compared over the clips both evals scored them on


def _per_file(root: str, name: str) -> dict:
  path = os.path.join(root, name, "eval.json")
  try:
    with open(path) as f:
      return json.load(f)["per_file"]
  except (OSError, ValueError, KeyError) as e:
    raise SystemExit(f"paired_evals: {path} is not an eval.json written by --mode=eval ({e})") from None


def compare(new_dir: str, old_dir: str, names: list[str]) -> dict:
  """{set: {metric: {"new", "old", "difference", "low", "high"}}} in percent, paired over each set's clips."""
  from pianojax import stats

  out = {}
  for name in names:
    new, old = _per_file(new_dir, name), _per_file(old_dir, name)
    if sorted(new) != sorted(old):
      raise SystemExit(f"paired_evals: {name}: the two evals scored different clips: they cannot be paired")
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


def main(new_dir: str, old_dir: str, *names: str) -> None:
  for root in (new_dir, old_dir):
    if not os.path.isdir(root):
      raise SystemExit(f"paired_evals: no such directory: {root}")
  if not names:
    held = lambda root: {n for n in os.listdir(root) if os.path.isfile(os.path.join(root, n, "eval.json"))}  # noqa: E731
    names = tuple(sorted(held(new_dir) & held(old_dir)))
    if not names:
      raise SystemExit(f"paired_evals: {new_dir} and {old_dir} hold no SET/eval.json in common")
  out = compare(new_dir, old_dir, list(names))
  for name, row in out.items():
    cells = [f"{row[m]['old']:.1f} -> {row[m]['new']:.1f} ({_signed(row[m])})" for m in METRICS]
    pedal = [f"{row[m]['old']:.1f} -> {row[m]['new']:.1f}" for m in PEDAL if m in row]
    print(f"{name}: " + " / ".join(cells) + (f"; pedal onset / frame {' / '.join(pedal)}" if pedal else ""))
  means = {}
  for metric in (*METRICS, *PEDAL):
    diffs = [row[metric]["difference"] for row in out.values() if metric in row]
    if diffs:
      means[metric] = float(np.mean(diffs))
  print(f"mean difference over {len(out)} sets: " + ", ".join(f"{m} {v:+.2f}" for m, v in means.items()))
  print(json.dumps({"sets": out, "mean_difference": means}))


def _signed(d: dict) -> str:
  return f"{d['difference']:+.1f} [{d['low']:+.1f}, {d['high']:+.1f}]"


if __name__ == "__main__":
  if len(sys.argv) < 3:
    sys.exit("usage: python scripts/paired_evals.py NEW_EVAL_DIR OLD_EVAL_DIR [SET ...]")
  try:
    main(*sys.argv[1:])
  except BrokenPipeError:  # the reader stopped early (`| head`): nothing more to say
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
