"""Training with vs without mixtures (piano + other instruments + noise) and the noise augmentation."""

from configs.ablations import base

VARIANTS = (
  "with_mixtures:",
  "no_mixtures: data.train=notes,chords,others,performances data.train_weights=1,2,1,4 data.augment.noise_prob=0.0",
)


def get_config():
  return base.get_config(VARIANTS)
