"""`--mode=build_data [--data=NAME[,NAME]]`: render and encode the TFDS datasets (default: the training mixture,
plus `maestro` when `data.maestro_dir` is set)."""

from __future__ import annotations

from pianojax import datasets


def run(config, args) -> int:
  names = [n.strip() for n in args.data.split(",") if n.strip()] if args.data else datasets.default_names(config)
  datasets.build(config, names)
  return 0
