"""Our TFDS datasets: building them (host with TensorFlow) and reading them (no TensorFlow needed).

Names: the synthetic materials (`notes`, `chords`, `others`, `mixtures`, `performances`, `ensembles`) and
`maestro` (a MAESTRO-layout folder given by `config.data.maestro_dir`).
"""

from __future__ import annotations

import json
import os
import time

from pianojax.errors import UserError

_CHATTER = ("Using custom data configuration", "has no dataset_info.json")


def _quiet_tfds() -> None:
  """Drops TFDS's per-call warnings about our (intended) custom builder configs."""
  import logging

  absl_logger = logging.getLogger("absl")
  if not any(getattr(f, "_pianojax", False) for f in absl_logger.filters):
    chatter = logging.Filter()
    chatter.filter = lambda record: not any(c in record.getMessage() for c in _CHATTER)
    chatter._pianojax = True
    absl_logger.addFilter(chatter)


SYNTHETIC = ("notes", "chords", "others", "mixtures", "performances", "ensembles")
NAMES = (*SYNTHETIC, "maestro")


def default_names(config) -> list[str]:
  """What `--mode=build_data` builds without --data: the training mixture (with `data.source=device`, only the
  datasets whose validation splits training evaluates, and the mixture where `data.device.tfds_every` trains on it
  too), and maestro when configured."""
  names = list(config.data.train)
  if config.data.source == "device":
    trained = names if config.data.device.get("tfds_every", 0) else []
    names = [*trained, *(n for n in config.train.eval_datasets if n not in trained)]
  return [*names, *(["maestro"] if config.data.maestro_dir else [])]


def builder(config, name: str):
  """The TFDS builder of dataset `name` under `config.data.tfds_dir` (array_record files)."""
  _quiet_tfds()
  data_dir = os.path.abspath(config.data.tfds_dir)
  rate = config.frontend.sample_rate
  if name in SYNTHETIC:
    from pianojax.datasets import synthetic

    cfg = synthetic.make_config(name, config.data.synth, rate)
    return synthetic.PianojaxSynth(config=cfg, data_dir=data_dir, file_format="array_record")
  if name == "maestro":
    from pianojax.datasets import maestro

    cfg = maestro.MaestroConfig(name=f"sr{rate}", sample_rate=rate)
    return maestro.PianojaxMaestro(config=cfg, data_dir=data_dir, file_format="array_record")
  raise UserError(f"unknown dataset {name!r}; choose from {', '.join(NAMES)}")


def features_builder(config, name: str):
  """The precomputed-features dataset of `name` for the config's frontend (see datasets.precomputed)."""
  from pianojax import frontend
  from pianojax.datasets import precomputed

  source = builder(config, name)
  spec = frontend.FrontendSpec.from_config(config.frontend)
  cfg = precomputed.make_config(name, source, spec)
  data_dir = os.path.abspath(config.data.tfds_dir)
  return precomputed.PianojaxFeatures(config=cfg, data_dir=data_dir, file_format="array_record")


def build_features(config, names: list[str], log=print) -> None:
  """Computes and stores the frontend features of each (already built) dataset."""
  for name in names:
    if not builder(config, name).is_prepared():
      raise UserError(f"dataset {name!r} must be built before its features")
    b = features_builder(config, name)
    start, existed = time.time(), b.is_prepared()
    b.download_and_prepare()
    splits = {s: b.info.splits[s].num_examples for s in b.info.splits}
    state = "found" if existed else f"built in {time.time() - start:.1f} s"
    log(f"features of {name}: {splits} {state} -> {b.data_path}")


def build(config, names: list[str], log=print) -> dict:
  """Builds (or finds already built) each dataset; returns and prints a summary.

  TFDS writes into a temporary folder and renames it at the end, so an interrupted
  build never leaves a half-written dataset behind.
  """
  import tensorflow_datasets as tfds

  summary = {}
  for name in names:
    b = builder(config, name)
    kwargs = {}
    if name == "maestro":
      if not config.data.maestro_dir or not os.path.isdir(config.data.maestro_dir):
        raise UserError(
          f"--config.data.maestro_dir must name a MAESTRO-layout folder (got {config.data.maestro_dir!r})"
        )
      kwargs["download_config"] = tfds.download.DownloadConfig(manual_dir=os.path.abspath(config.data.maestro_dir))
    start = time.time()
    existed = b.is_prepared()
    b.download_and_prepare(**kwargs)
    info = {
      "path": os.fspath(b.data_path),
      "splits": {s: b.info.splits[s].num_examples for s in b.info.splits},
      "skipped": list(getattr(b, "skipped", [])),
      "seconds": round(time.time() - start, 1),
      "reused": existed,
    }
    if not existed:
      with open(os.path.join(info["path"], "build_summary.json"), "w") as f:
        json.dump(info, f, indent=1)
    summary[name] = info
    skipped = f", skipped {len(info['skipped'])} bad files" if info["skipped"] else ""
    state = "found" if existed else f"built in {info['seconds']} s"
    log(f"dataset {name}: {info['splits']} {state}{skipped} -> {info['path']}")
    for reason in info["skipped"]:
      log(f"  skipped: {reason}")
  if config.data.precomputed:
    build_features(config, names, log=log)
  return summary


def data_source(config, name: str, split: str, *, precomputed: bool = False):
  """Random-access reader of a built split (tfds.data_source semantics; NumPy only).

  precomputed: read the dataset's stored frontend features instead of its audio.
  """
  b = features_builder(config, name) if precomputed else builder(config, name)
  if not b.is_prepared():
    what = f"the precomputed features of {name!r} are" if precomputed else f"dataset {name!r} is"
    raise UserError(f"{what} not built under {config.data.tfds_dir}: run launch.py --mode=build_data")
  if split not in b.info.splits:
    raise UserError(f"dataset {name!r} has no split {split!r} (it has {', '.join(b.info.splits)})")
  return b.as_data_source(split)
