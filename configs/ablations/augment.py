"""Augmentation: all on (base), each one off in turn, and none at all."""

from configs.ablations import base

VARIANTS = (
  "all_on:",
  "no_gain: data.augment.gain_db=0.0",
  "no_noise: data.augment.noise_prob=0.0",
  "no_pitch_shift: data.augment.pitch_shift=0",
  "no_detune: data.augment.detune_cents=0.0",
  "no_mixup: data.augment.mixup_prob=0.0",
  "no_spec_mask: data.augment.spec_time_masks=0 data.augment.spec_freq_masks=0",
  "with_time_stretch: data.augment.time_stretch_prob=0.3",
  "none: data.augment.gain_db=0.0 data.augment.noise_prob=0.0 data.augment.pitch_shift=0 "
  "data.augment.detune_cents=0.0 data.augment.mixup_prob=0.0 data.augment.spec_time_masks=0 "
  "data.augment.spec_freq_masks=0",
)


def get_config():
  return base.get_config(VARIANTS)
