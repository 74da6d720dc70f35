"""Input representation: log-mel (base) vs log linear spectrogram vs MFCC."""

from configs.ablations import base

VARIANTS = (
  "mel:",
  "linear: frontend.representation=linear",
  "mfcc: frontend.representation=mfcc frontend.n_mfcc=40",
)


def get_config():
  return base.get_config(VARIANTS)
