"""How sure a sweep row is: bootstrap intervals over test clips and seeds (NumPy).

A row's score is a mean over test clips of a per-clip metric (onset F1 of each clip), from one or more training
seeds. Two sources of noise: which clips the test sets hold, and which seed trained the model. `Scores` holds the
per-clip values of every seed of one row, `(seeds, clips)`, clips in the same order in every row (the sweep reads
the test sets the same way for all of them), with each clip's test set (`strata`) so resampling keeps the sets'
sizes.

- `interval`: the row's mean with a percentile bootstrap interval, resampling clips within each set and, where
  there are several seeds, seeds too (a two-level bootstrap).
- `difference`: a row minus the baseline, paired over clips (the same resampled clips for both: the clip-to-clip
  variation both rows share cancels) and with each row's seeds resampled on their own. A difference is **real**
  when its interval excludes zero.
- `seed_spread`: the standard deviation of the per-seed means (what retraining with another seed moves the score by).
"""

from __future__ import annotations

import dataclasses

import numpy as np

RESAMPLES = 10_000
LEVEL = 0.95


@dataclasses.dataclass(frozen=True)
class Scores:
  """One row's per-clip values: `values` `(seeds, clips)`; `strata` `(clips,)` the test set of each clip."""

  values: np.ndarray
  strata: tuple[str, ...]

  def __post_init__(self):
    values = np.asarray(self.values, np.float64)
    if values.ndim != 2 or values.shape[1] != len(self.strata) or values.size == 0:
      raise ValueError(f"values {values.shape} must be (seeds, clips) with {len(self.strata)} clips")
    object.__setattr__(self, "values", values)

  @property
  def mean(self) -> float:
    return float(self.values.mean())

  @property
  def seeds(self) -> int:
    return self.values.shape[0]


@dataclasses.dataclass(frozen=True)
class Interval:
  estimate: float
  low: float
  high: float

  @property
  def excludes_zero(self) -> bool:
    return self.low > 0 or self.high < 0


def _clip_draws(strata: tuple[str, ...], rng: np.random.Generator, resamples: int) -> np.ndarray:
  """`(resamples, clips)` clip indices, each set resampled within itself (same sizes as the original)."""
  strata_arr = np.asarray(strata)
  columns = []
  for name in dict.fromkeys(strata):
    members = np.flatnonzero(strata_arr == name)
    columns.append(members[rng.integers(0, len(members), (resamples, len(members)))])
  return np.concatenate(columns, axis=1)


def _resampled_means(scores: Scores, clips: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """`(resamples,)` means of `scores` over the drawn clips and a fresh draw of its seeds."""
  resamples = clips.shape[0]
  seeds = rng.integers(0, scores.seeds, (resamples, scores.seeds))
  per_seed_clip = scores.values[:, clips]  # (seeds, resamples, clips)
  per_seed = per_seed_clip.mean(axis=2).T  # (resamples, seeds)
  return np.take_along_axis(per_seed, seeds, axis=1).mean(axis=1)


def _interval(estimate: float, draws: np.ndarray, level: float) -> Interval:
  tail = 100 * (1 - level) / 2
  low, high = np.percentile(draws, [tail, 100 - tail])
  return Interval(estimate, float(low), float(high))


def interval(scores: Scores, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0) -> Interval:
  """The mean of `scores` with its bootstrap interval (clips within sets, and seeds)."""
  rng = np.random.default_rng(seed)
  clips = _clip_draws(scores.strata, rng, resamples)
  return _interval(scores.mean, _resampled_means(scores, clips, rng), level)


def difference(
  row: Scores, baseline: Scores, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = 0
) -> Interval:
  """`row` minus `baseline`, paired over clips, with its bootstrap interval."""
  if row.strata != baseline.strata:
    raise ValueError("the two rows were scored on different clips: they cannot be paired")
  rng = np.random.default_rng(seed)
  clips = _clip_draws(row.strata, rng, resamples)
  draws = _resampled_means(row, clips, rng) - _resampled_means(baseline, clips, rng)
  return _interval(row.mean - baseline.mean, draws, level)


def seed_spread(scores: Scores) -> float | None:
  """Standard deviation (ddof 1) of the per-seed means; None with fewer than two seeds."""
  if scores.seeds < 2:
    return None
  return float(scores.values.mean(axis=1).std(ddof=1))
