"""Frequency band: the piano's band (A0 .. C8 with harmonic headroom, base) vs the full band (0 .. Nyquist)."""

from configs.ablations import base

VARIANTS = (
  "piano_band:",
  "full_band: frontend.band=full",
)


def get_config():
  return base.get_config(VARIANTS)
