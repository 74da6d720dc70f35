"""Curriculum: everything from scratch (base) vs pretraining on clean notes and chords, then fine-tuning.

Same total budget (1,200 steps): the curriculum spends half its steps on notes + chords, then starts the
full mixture from those weights (`init_from`).
"""

from configs.ablations import base

VARIANTS = (
  "scratch:",
  "pretrain_clean: data.train=notes,chords data.train_weights=1,2 train.steps=600 | train.steps=600",
)


def get_config():
  return base.get_config(VARIANTS)
