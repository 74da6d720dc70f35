"""`--mode=build_data [--data=NAME[,NAME]]`: render and encode the TFDS datasets (default: the training mixture,
plus `maestro` when `data.maestro_dir` is set). With `data.source=device`, first the sample banks and packed
performances the device synthesiser plays (pianojax/synth/device.py), then the validation datasets training uses."""

from __future__ import annotations

from pianojax import datasets


def run(config, args) -> int:
  if config.data.source == "device" and not args.data:
    from pianojax.synth import device

    device.build_assets(config)
  names = [n.strip() for n in args.data.split(",") if n.strip()] if args.data else datasets.default_names(config)
  if names:
    datasets.build(config, names)
  return 0
