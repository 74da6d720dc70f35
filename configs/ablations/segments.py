"""Frames per example and overlap: 64 / 128 (base) / 256 frames; inference hop of a half (base), a quarter, none."""

from configs.ablations import base

VARIANTS = (
  "seg128_hop_half:",
  "seg64: data.segment_frames=64 inference.segment_hop_frames=32 train.batch_size=8",
  "seg256: data.segment_frames=256 inference.segment_hop_frames=128 train.batch_size=2",
  "hop_quarter: inference.segment_hop_frames=32",
  "hop_none: inference.segment_hop_frames=128",
)


def get_config():
  return base.get_config(VARIANTS)
