"""Configs as data: list fields normalised once, overrides by dotted key, and the one place where a config
saved by an older version is brought up to date.

Every config a command uses passes through `normalize` (a config file with flag overrides) or `upgrade` (a
config read from a checkpoint), so the rest of the code reads typed values: list fields are tuples, every field
exists, no `.get(key, default)`.
"""

from __future__ import annotations

import ast
import copy
import json
import os

import ml_collections

from pianojax import decoding, heads
from pianojax.errors import UserError

# Fields that hold a list. Flags may give them as `a,b,c` (ml_collections parses that as one string item).
LIST_FIELDS = {
  "data.train": str,
  "data.train_weights": float,
  "train.eval_datasets": str,
  "sweep.eval": str,
  "data.device.pianos": str,
  "data.device.others_sources": str,
  "data.device.materials": str,
  "data.device.material_weights": float,
  "model.harmonics": float,
}
# Renamed or moved fields: old dotted key -> new dotted key.
MOVED = {
  "data.segment_hop_frames": "inference.segment_hop_frames",
  "data.input_peak_db": "inference.input_peak_db",
  "loss.onset_pos_weight": "loss.event_pos_weight",
  "data.device.others_source": "data.device.others_sources",
}
# Fields no code reads any more.
REMOVED = ("data.stitch",)
# Fields added after checkpoints were written, with the value the older code implied.
ADDED = {
  "frontend.bins_per_octave": 24,
  "frontend.denoise": 0.0,
  "frontend.denoise_quantile": 0.1,
  "inference.input_peak_db": -6.0,
  "decode.min_repeat_ms": 0.0,
  "data.precomputed": False,
  "train.divergence_factor": 0.0,
  "model.pedal": False,
  "model.velocity_level": False,
  "loss.release_weight": 0.0,
  "loss.pedal_weight": 0.0,
  "loss.pedalled_releases": True,
  "decode.release_threshold": 0.5,
  "decode.pedal_threshold": 0.5,
  "decode.end_confirm_threshold": 0.0,
  "decode.end_events": "rise",
  "decode.sounding_ends": "frames",
  "data.source": "tfds",
  "train.time_limit_s": 0.0,
  "model.end_context": False,
  "model.end_dilations": (1, 2, 4, 8, 16, 32),
  "train.freeze": "none",
  "model.pedal_context": False,
  "model.others_head": False,
  "model.short_window": 0,
  "model.harmonics": (),
  "model.pcen": 0.0,
  "loss.others_weight": 0.0,
  "loss.others_negative_weight": 0.0,
  "loss.clean_teacher": 0.0,
  "data.device.others_eq": 0.0,
  "data.device.others_coupled": 0.0,
  "data.device.others_following": 0.0,
  "data.device.others_db": (-12.0, 3.0),
  "data.device.tfds_every": 0,
  "model.stages": 1,
  "model.separator": {"channels": 16, "levels": 2, "layers": 2, "growth": 8},
  "separation": {
    "train": "joint",
    "transcriber_input": "separated",
    "loss": "l1_log",
    "weight": 1.0,
    "floor": 1e-4,
    "separator_from": "",
    "transcriber_from": "",
  },
}


def as_dict(config) -> dict:
  """A plain JSON-able dict of a ConfigDict (what checkpoints store)."""
  return json.loads(config.to_json_best_effort())


def _split(value, kind) -> tuple:
  if value is None or value == "":
    return ()
  items = value if isinstance(value, tuple | list) else (value,)
  out = []
  for item in items:
    parts = str(item).split(",") if isinstance(item, str) else [item]
    out += [kind(p.strip()) if isinstance(p, str) else kind(p) for p in parts if str(p).strip()]
  return tuple(out)


def lookup(tree, dotted: str, create: bool = False):
  """(the section holding `dotted`, its leaf name) in a dict or ConfigDict; (None, leaf) if a section is missing.

  create: make missing sections (dicts only).
  """
  *path, leaf = dotted.split(".")
  node = tree
  for part in path:
    if create:
      node = node.setdefault(part, {})
    else:
      node = node[part] if hasattr(node, "keys") and part in node else None
  return (node if hasattr(node, "keys") else None), leaf


def normalize(config):
  """`config` (a dict or ConfigDict, changed in place) with list fields as tuples; `a,b` strings are split."""
  for field, kind in LIST_FIELDS.items():
    node, leaf = lookup(config, field)
    if node is not None and leaf in node:
      try:
        node[leaf] = _split(node[leaf], kind)
      except ValueError:
        raise UserError(f"config field {field}: {node[leaf]!r} is not a list of {kind.__name__}") from None
  return config


def upgrade(saved: dict) -> ml_collections.ConfigDict:
  """A config saved by any earlier version, in today's shape (moved, removed and added fields; lists)."""
  tree = copy.deepcopy(saved)
  for old, new in MOVED.items():
    node, leaf = lookup(tree, old)
    if node is not None and leaf in node:
      target, new_leaf = lookup(tree, new, create=True)
      target.setdefault(new_leaf, node.pop(leaf))
  for field in REMOVED:
    node, leaf = lookup(tree, field)
    if node is not None:
      node.pop(leaf, None)
  for field, implied in ADDED.items():
    target, leaf = lookup(tree, field, create=True)
    target.setdefault(leaf, implied)
  return ml_collections.ConfigDict(normalize(tree))


def check_field(config, key: str):
  """(section, leaf) of dotted `key`; a UserError naming the known fields where the config has no such field."""
  node, leaf = lookup(config, key)
  if node is None or leaf not in node:
    section = key.rpartition(".")[0]
    known = f"; {section or 'the config'} has {', '.join(node)}" if node is not None else ""
    raise UserError(f"unknown config field {key!r}{known}")
  return node, leaf


def parse_value(text: str):
  """A Python literal where `text` parses as one (`(1,2)`, `0.5`, `True`), the string otherwise."""
  try:
    return ast.literal_eval(text)
  except (ValueError, SyntaxError):
    return text


def apply_overrides(config, pairs) -> ml_collections.ConfigDict:
  """A copy of `config` with (dotted key, value) overrides applied; unknown keys are errors."""
  config = copy.deepcopy(config)
  for key, given in pairs:
    value = given
    node, leaf = check_field(config, key)
    current = node[leaf]
    if key in LIST_FIELDS:
      value = _split(value, LIST_FIELDS[key])
    elif isinstance(current, float) and isinstance(value, int):
      value = float(value)
    elif isinstance(current, str) and not isinstance(value, str):
      value = str(value)
    elif isinstance(current, tuple | list) and not isinstance(value, tuple | list):
      value = (value,)
    try:
      node[leaf] = value
    except TypeError as e:
      raise UserError(f"config field {key!r}: {e}") from None
  return config


# Fields with a fixed set of values (frontend.FrontendSpec checks the rest of its section).
CHOICES = {
  "frontend.representation": ("linear", "mel", "mfcc", "logfreq"),
  "frontend.band": ("full", "piano"),
  "frontend.log": ("none", "log", "db"),
  "frontend.normalize": ("none", "example", "example_bin", "floor"),
  "objective": heads.OBJECTIVES,
  "model.dtype": ("float32", "bfloat16"),
  "model.context": ("none", "conv", "bigru"),
  "optim.optimizer": ("adamw", "adam", "sgd"),
  "optim.schedule": ("cosine", "constant"),
  "data.offset_mode": ("pedal", "key"),
  "frontend.framing": ("frame", "beat"),
  "data.source": ("tfds", "device"),
  "model.stages": (1, 2),
  "train.freeze": ("none", "notes", "all_but_pedal"),
  "decode.end_events": decoding.END_EVENTS,
  "decode.sounding_ends": decoding.SOUNDING_ENDS,
  "separation.train": ("separator", "transcriber", "joint"),
  "separation.transcriber_input": ("separated", "clean"),
  "separation.loss": ("l1_log", "l2_log", "l1_mag", "l2_mag", "mask"),
}
# Integer fields and their least value.
AT_LEAST = {
  "train.steps": 0,
  "train.batch_size": 1,
  "train.log_every": 1,
  "train.eval_every": 1,
  "train.checkpoint_every": 1,
  "train.keep_checkpoints": 1,
  "train.eval_max_records": 0,
  "train.data_threads": 1,
  "data.segment_frames": 1,
  "inference.segment_hop_frames": 1,
  "data.synth.example_seconds": 0.1,
  "train.divergence_factor": 0,
  "model.separator.levels": 0,
  "model.separator.channels": 1,
  "model.separator.layers": 0,
  "model.separator.growth": 1,
  "separation.weight": 0,
}


def validate(config, render: bool = False) -> None:
  """Raises a UserError naming the first `--config.FIELD` whose value cannot work, before any work is done.

  render: also check that the SoundFonts the config names are installed.
  """
  from pianojax import datasets, frontend
  from pianojax.synth import soundfonts

  def bad(field, why):
    node, leaf = lookup(config, field)
    return UserError(f"--config.{field}={node[leaf]!r}: {why}")

  for field, allowed in CHOICES.items():
    node, leaf = lookup(config, field)
    if node[leaf] not in allowed:
      raise bad(field, f"choose from {', '.join(allowed)}")
  for field, least in AT_LEAST.items():
    node, leaf = lookup(config, field)
    if not isinstance(node[leaf], int | float) or not node[leaf] >= least:
      raise bad(field, f"must be a number >= {least}")
  if not 0 < config.optim.learning_rate < float("inf"):
    raise bad("optim.learning_rate", "must be a finite number > 0")
  if config.model.velocity_level and config.data.precomputed:
    raise bad(
      "model.velocity_level", "needs the waveform in (data.precomputed=False): it reads the level before normalisation"
    )
  if config.model.stages == 2:
    _validate_two_stage(config, bad)
  if config.train.freeze == "notes" and not config.model.end_context:
    raise bad("train.freeze", "freezing the onset branch needs a note-end branch to train: set model.end_context=True")
  if config.train.freeze != "none" and config.model.stages == 2:
    raise bad("train.freeze", "a two-stage model freezes by stage (separation.train)")
  if config.model.short_window:
    _validate_short_window(config, bad)
  if config.model.harmonics:
    _validate_harmonics(config, bad)
  if config.model.get("pcen", 0.0):
    _validate_pcen(config, bad)
  if config.model.pedal_context and not config.model.pedal:
    raise bad("model.pedal_context", "a context for the pedal heads needs them: set model.pedal=True")
  if config.train.freeze == "all_but_pedal" and not config.model.pedal_context:
    raise bad("train.freeze", "training the pedal branch alone needs one: set model.pedal_context=True")
  if config.inference.segment_hop_frames > config.data.segment_frames:
    raise bad("inference.segment_hop_frames", f"must be at most data.segment_frames ({config.data.segment_frames})")
  try:
    frontend.FrontendSpec.from_config(config.frontend)
  except ValueError as e:
    raise UserError(f"--config.frontend: {e}") from None
  for field in ("data.train", "train.eval_datasets"):
    unknown = [n for n in lookup(config, field)[0][field.rpartition(".")[2]] if n not in datasets.NAMES]
    if unknown:
      raise bad(field, f"unknown dataset {unknown[0]!r}; choose from {', '.join(datasets.NAMES)}")
  if config.data.source == "device":
    from pianojax.synth import device

    dev = config.data.device
    unknown = [m for m in dev.materials if m not in device.MATERIALS]
    if unknown:
      raise bad("data.device.materials", f"unknown material {unknown[0]!r}; choose from {', '.join(device.MATERIALS)}")
    if len(dev.material_weights) != len(dev.materials) or min(dev.material_weights, default=0) < 0:
      raise bad("data.device.material_weights", f"give one weight >= 0 for each of {len(dev.materials)} materials")
    for field in ("others_eq", "others_coupled", "others_following"):
      if not 0.0 <= dev[field] <= 1.0:
        raise bad(f"data.device.{field}", "give a share between 0 and 1")
    if len(dev.others_db) != 2 or not dev.others_db[0] <= dev.others_db[1]:
      raise bad("data.device.others_db", "give (lowest, highest) in dB against the piano")
    for field in ("pianos", "others", "others_sources"):
      if not dev[field]:
        raise bad(f"data.device.{field}", "name at least one (the device synthesiser plays from these banks)")
    if config.data.precomputed:
      raise bad("data.precomputed", "data.source=device renders waveforms; it cannot train on stored features")
    if config.frontend.framing == "beat":
      raise bad("frontend.framing", "data.source=device frames by frames (beat framing needs the host pipeline)")
    if not isinstance(dev.tfds_every, int) or dev.tfds_every < 0:
      raise bad("data.device.tfds_every", "give a whole number of steps >= 0 (0: every batch synthesised)")
    if dev.tfds_every and needs_clean_stem(config):
      raise bad("data.device.tfds_every", "the rendered datasets have no clean piano stem (separation, clean_teacher)")
    if dev.tfds_every and (config.model.others_head or config.loss.get("others_negative_weight", 0.0) > 0):
      raise bad("data.device.tfds_every", "the rendered datasets do not label the other instruments' notes")
  if config.model.others_head and config.data.source != "device":
    raise bad("model.others_head", "the other instruments' notes are known only to data.source=device")
  if config.loss.get("others_negative_weight", 0.0) < 0:
    raise bad("loss.others_negative_weight", "give a weight >= 0 (0: off)")
  if config.loss.get("others_negative_weight", 0.0) > 0 and config.data.source != "device":
    raise bad("loss.others_negative_weight", "the other instruments' notes are known only to data.source=device")
  teacher = config.loss.get("clean_teacher", 0.0)
  if not isinstance(teacher, (int, float)) or teacher < 0:
    raise bad("loss.clean_teacher", "give a weight >= 0 (0: off)")
  if teacher and config.data.source != "device":
    raise bad("loss.clean_teacher", "the piano alone of each training mixture is known only to data.source=device")
  if teacher and config.model.stages == 2:
    raise bad("loss.clean_teacher", "a one-stage transcriber's option (a two-stage model reads the clean piano itself)")
  weights = config.data.train_weights
  if weights and (len(weights) != len(config.data.train) or min(weights) <= 0):
    raise bad("data.train_weights", f"give one weight > 0 for each of data.train's {len(config.data.train)} datasets")
  for field in ("data.synth.midi_dir", "data.maestro_dir"):
    node, leaf = lookup(config, field)
    if node[leaf] and not os.path.isdir(node[leaf]):
      raise bad(field, "no such folder")
  if render:
    for font in (*config.data.synth.train_soundfonts, *config.data.synth.test_soundfonts):
      if soundfonts.sample_bank(font) is None:
        soundfonts.find(font)


def needs_clean_stem(config) -> bool:
  """Whether training reads the clean piano of each mixture (a two-stage model's separation loss or clean input, or
  `loss.clean_teacher`)."""
  st = config.separation
  if config.loss.get("clean_teacher", 0.0):
    return True
  return config.model.stages == 2 and (st.train != "transcriber" or st.transcriber_input == "clean")


def _validate_short_window(config, bad) -> None:
  """A second input channel read through a shorter window: a window length the FFT holds, from the waveform."""
  window = config.model.short_window
  if not isinstance(window, int) or not 0 < window <= config.frontend.n_fft:
    raise bad(
      "model.short_window", f"must be 0 or a window length in samples, 1 to frontend.n_fft ({config.frontend.n_fft})"
    )
  if config.data.precomputed:
    raise bad("model.short_window", "reads the waveform: set data.precomputed=False")
  if config.model.stages == 2:
    raise bad("model.short_window", "is for one-stage models (the separator's output is one spectrogram)")
  if config.frontend.framing != "frame":
    raise bad("model.short_window", "is for frontend.framing='frame'")


def _validate_harmonics(config, bad) -> None:
  """Harmonic channels: numbers > 0 other than 1 (the features themselves), each once, on a frequency axis."""
  harmonics = tuple(config.model.harmonics)
  if not all(isinstance(h, float | int) and h > 0 and h != 1 for h in harmonics) or len(set(harmonics)) < len(
    harmonics
  ):
    raise bad("model.harmonics", "must be distinct numbers > 0 other than 1, e.g. 0.5,2,3,4,5")
  if config.frontend.representation == "mfcc":
    raise bad("model.harmonics", "needs a frequency axis: frontend.representation linear, mel or logfreq, not mfcc")


def _validate_pcen(config, bad) -> None:
  """A PCEN channel: a time constant in seconds, over natural-log power features of a one-stage model's waveform."""
  seconds = config.model.pcen
  if not isinstance(seconds, float | int) or seconds < 0:
    raise bad("model.pcen", "give a time constant in seconds > 0 (0: off), e.g. 0.4")
  fe = config.frontend
  if fe.representation == "mfcc" or fe.log != "log":
    raise bad("model.pcen", "reads natural-log power: frontend.log=log and a linear, mel or logfreq representation")
  if config.data.precomputed or config.model.stages == 2 or fe.framing != "frame":
    raise bad("model.pcen", "is for one-stage models reading the waveform with frontend.framing='frame'")


def _validate_two_stage(config, bad) -> None:
  """What a two-stage model (model.stages=2) cannot work with."""
  if config.frontend.representation == "mfcc":
    raise bad("frontend.representation", "a two-stage model separates a spectrogram: use logfreq, mel or linear")
  if config.data.precomputed:
    raise bad("data.precomputed", "a two-stage model reads the waveform (stage 1 works on the mixture's spectrogram)")
  if config.frontend.framing == "beat":
    raise bad("frontend.framing", "a two-stage model frames by frames")
  st = config.separation
  if needs_clean_stem(config) and config.data.source != "device":
    raise bad(
      "data.source",
      f"separation.train={st.train} needs the clean piano of each training mixture: use data.source=device",
    )
