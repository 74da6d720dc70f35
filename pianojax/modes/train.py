"""`--mode=train --workdir=DIR`: train (and periodically evaluate) in DIR, resuming from its latest checkpoint."""

from __future__ import annotations

from pianojax import trainer
from pianojax.errors import UserError


def run(config, args) -> int:
  if not args.workdir:
    raise UserError("--workdir is required for --mode=train")
  trainer.train_and_evaluate(config, args.workdir)
  return 0
