"""Input representation: log-mel (base) vs log linear spectrogram vs MFCC vs log-frequency filterbank."""

from configs.ablations import base

VARIANTS = (
  "mel:",
  "linear: frontend.representation=linear",
  "mfcc: frontend.representation=mfcc frontend.n_mfcc=40",
  "logfreq: frontend.representation=logfreq",
  "logfreq_36: frontend.representation=logfreq frontend.bins_per_octave=36",
  "mel_256: frontend.n_mels=256",
)


def get_config():
  return base.get_config(VARIANTS)
