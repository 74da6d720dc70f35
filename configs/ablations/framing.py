"""Cutting the signal: per frame (20 ms hop, base; and 32 ms) vs per beat (frames pooled within beats)."""

from configs.ablations import base

VARIANTS = (
  "frame_20ms:",
  "frame_32ms: frontend.hop_length=512 data.segment_frames=80 inference.segment_hop_frames=40",
  "beat: frontend.framing=beat",
)


def get_config():
  return base.get_config(VARIANTS)
