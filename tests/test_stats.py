"""Bootstrap intervals of sweep rows: checked against cases whose answer is known exactly."""

import numpy as np
import pytest

from pianojax import stats

STRATA = ("chords",) * 4 + ("mixtures",) * 4


def test_a_constant_row_has_a_zero_width_interval():
  iv = stats.interval(stats.Scores(np.full((1, 8), 0.6), STRATA), resamples=500)
  assert iv.estimate == pytest.approx(0.6) and iv.low == pytest.approx(0.6) and iv.high == pytest.approx(0.6)


def test_interval_covers_the_mean_and_shrinks_with_more_clips():
  rng = np.random.default_rng(0)
  few = stats.Scores(rng.uniform(0, 1, (1, 8)), STRATA)
  many = stats.Scores(rng.uniform(0, 1, (1, 80)), tuple(s for s in STRATA for _ in range(10)))
  a, b = stats.interval(few, resamples=2000), stats.interval(many, resamples=2000)
  assert a.low < a.estimate < a.high and b.low < b.estimate < b.high
  assert (b.high - b.low) < 0.5 * (a.high - a.low)  # ~ 1/sqrt(10) as wide
  # The bootstrap standard error of a mean over n clips is close to the textbook one.
  se = many.values.std() / np.sqrt(many.values.size)
  assert (b.high - b.low) / (2 * 1.96) == pytest.approx(se, rel=0.2)


def test_resampling_keeps_each_set_its_size():
  # One set all ones, the other all zeros: every resample keeps 4 of each, so the mean cannot move.
  values = np.array([[1.0] * 4 + [0.0] * 4])
  iv = stats.interval(stats.Scores(values, STRATA), resamples=500)
  assert iv.low == pytest.approx(0.5) and iv.high == pytest.approx(0.5)


def test_a_paired_shift_is_real_however_noisy_the_clips():
  rng = np.random.default_rng(1)
  base = rng.uniform(0, 1, (1, 8))
  # Every clip 2 points better: clip-to-clip noise is large, but pairing cancels it.
  diff = stats.difference(stats.Scores(base + 0.02, STRATA), stats.Scores(base, STRATA), resamples=1000)
  assert diff.estimate == pytest.approx(0.02) and diff.low == pytest.approx(0.02) and diff.high == pytest.approx(0.02)
  assert diff.excludes_zero
  # Unpaired, the same 2 points are far inside the rows' own intervals.
  a = stats.interval(stats.Scores(base + 0.02, STRATA), resamples=1000)
  assert a.low < base.mean() < a.high


def test_seeds_widen_the_interval_and_give_the_spread():
  clips = np.linspace(0.4, 0.6, 8)
  one = stats.Scores(clips[None], STRATA)
  three = stats.Scores(np.stack([clips - 0.05, clips, clips + 0.05]), STRATA)
  assert stats.seed_spread(one) is None
  assert stats.seed_spread(three) == pytest.approx(0.05)
  a, b = stats.interval(one, resamples=2000), stats.interval(three, resamples=2000)
  assert (b.high - b.low) > (a.high - a.low)
  # A seed-to-seed difference of the same size as the spread is not real with these seeds...
  noisy = stats.difference(three, stats.Scores(np.stack([clips - 0.03, clips + 0.02, clips + 0.04]), STRATA))
  assert not noisy.excludes_zero
  # ...but a shift well beyond the seeds' spread is.
  assert stats.difference(stats.Scores(three.values + 0.2, STRATA), three, resamples=2000).excludes_zero


def test_rows_on_different_clips_cannot_be_paired():
  with pytest.raises(ValueError, match="different clips"):
    stats.difference(stats.Scores(np.zeros((1, 8)), STRATA), stats.Scores(np.zeros((1, 8)), ("a",) * 8))
  with pytest.raises(ValueError, match="seeds, clips"):
    stats.Scores(np.zeros(8), STRATA)
