"""Every research question in one sweep, sharing one baseline row (the CPU run in docs/ABLATIONS.md)."""

from configs.ablations import augment, band, base, curriculum, framing, mixtures, objective, representation, segments

SWEEPS = (representation, band, framing, segments, objective, curriculum, mixtures, augment)
# The baseline again from two more seeds: the spread says which differences are noise.
SEEDS = ("baseline_seed1: seed=1", "baseline_seed2: seed=2")
VARIANTS = ("baseline:", *SEEDS, *(v for module in SWEEPS for v in module.VARIANTS[1:]))


def get_config():
  return base.get_config(VARIANTS)
