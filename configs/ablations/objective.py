"""Objective: classification of onset/offset/frame per frame (base) vs regression of onset/offset triangles."""

from configs.ablations import base

VARIANTS = (
  "classification:",
  "regression: objective=regression",
)


def get_config():
  return base.get_config(VARIANTS)
