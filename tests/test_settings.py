"""Configs as data: list fields from flags, dotted overrides, and configs saved by older versions brought up to date."""

import importlib
import os

import pytest

from configs import default, tiny
from pianojax import settings
from pianojax.errors import UserError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The config a checkpoint of the previous layout stored (models/default's shape, abridged): comma strings,
# inference settings under `data`, the old loss name, a field nothing reads, no bins_per_octave.
OLD = {
  "seed": 0,
  "frontend": {"sample_rate": 16000, "representation": "mel"},
  "objective": "regression",
  "loss": {"onset_pos_weight": 8.0, "frame_pos_weight": 2.0},
  "decode": {"onset_threshold": 0.8, "frame_threshold": 0.1, "offset_threshold": 0.5, "min_note_ms": 30.0},
  "train": {"eval_datasets": "chords,performances"},
  "data": {
    "segment_frames": 256,
    "segment_hop_frames": 192,
    "stitch": "center",
    "train": "notes,chords,others",
    "train_weights": "1,2,1",
    "device": {"others_source": "fluidr3"},
  },
}


def test_an_old_config_reads_in_todays_shape():
  c = settings.upgrade(OLD)
  assert c.inference.segment_hop_frames == 192 and c.inference.input_peak_db == -6.0
  assert "segment_hop_frames" not in c.data and "stitch" not in c.data
  assert c.loss.event_pos_weight == 8.0 and "onset_pos_weight" not in c.loss
  assert c.frontend.bins_per_octave == 24  # what the code implied before the field existed
  assert c.decode.min_repeat_ms == 0.0
  assert c.data.train == ("notes", "chords", "others") and c.data.train_weights == (1.0, 2.0, 1.0)
  assert c.train.eval_datasets == ("chords", "performances")
  assert c.data.device.others_sources == ("fluidr3",) and "others_source" not in c.data.device
  assert OLD["data"]["segment_hop_frames"] == 192  # the input is not changed


def test_todays_configs_pass_through_unchanged():
  for module in (default, tiny):
    c = module.get_config()
    assert settings.as_dict(settings.upgrade(settings.as_dict(c))) == settings.as_dict(c)


@pytest.mark.parametrize(
  "name", sorted(n[:-3] for n in os.listdir(os.path.join(REPO, "configs")) if n.endswith(".py") and n[0] != "_")
)
def test_every_shipped_config_is_valid(name):
  """Each recipe in configs/ (the ones docs cite by command) normalises and validates as it stands."""
  config = importlib.import_module(f"configs.{name}").get_config()
  settings.validate(settings.normalize(config))


def test_list_fields_from_flags_become_tuples():
  c = tiny.get_config()
  c.data.train = ("notes,chords",)  # what ml_collections makes of --config.data.train=notes,chords
  c.data.train_weights = (1, 2)
  c.train.eval_datasets = ()
  settings.normalize(c)
  assert c.data.train == ("notes", "chords") and c.data.train_weights == (1.0, 2.0) and c.train.eval_datasets == ()
  c.data.train_weights = ("1,x",)
  with pytest.raises(UserError, match=r"data\.train_weights"):
    settings.normalize(c)


def test_overrides_by_dotted_key():
  c = tiny.get_config()
  o = settings.apply_overrides(c, [("train.steps", 7), ("optim.learning_rate", 1), ("data.train", "notes,chords")])
  assert o.train.steps == 7 and o.optim.learning_rate == 1.0 and isinstance(o.optim.learning_rate, float)
  assert o.data.train == ("notes", "chords") and c.train.steps != 7  # a copy
  with pytest.raises(UserError, match=r"unknown config field .model\.nope.; model has"):
    settings.apply_overrides(c, [("model.nope", 1)])
  assert settings.parse_value("(1,2)") == (1, 2) and settings.parse_value("full") == "full"


@pytest.mark.parametrize(
  ("overrides", "why"),
  [
    ({"data.device.tfds_every": -1}, "a whole number of steps"),
    ({"data.device.tfds_every": 2, "model.others_head": True}, "do not label the other instruments"),
    ({"data.device.tfds_every": 2, "loss.others_negative_weight": 5.0}, "do not label the other instruments"),
  ],
)
def test_rendered_batches_beside_device_synthesis_need_what_the_datasets_hold(overrides, why):
  """data.device.tfds_every: a step count, and only for what the rendered datasets label."""
  config = settings.apply_overrides(importlib.import_module("configs.ensembles").get_config(), overrides.items())
  with pytest.raises(UserError, match=rf"data\.device\.tfds_every=.*{why}"):
    settings.validate(settings.normalize(config))
  settings.validate(settings.normalize(settings.apply_overrides(config, [("data.device.tfds_every", 0)])))


@pytest.mark.parametrize(
  ("base", "overrides", "why"),
  [
    ("pretrained", {"model.short_window": 4096}, "1 to frontend.n_fft"),
    ("pretrained", {"model.short_window": -512}, "1 to frontend.n_fft"),
    ("pretrained", {"model.short_window": 512, "data.precomputed": True, "model.velocity_level": False}, "waveform"),
    ("two_stage", {"model.short_window": 512}, "one-stage models"),
    ("pretrained", {"model.short_window": 512, "frontend.framing": "beat"}, "framing='frame'"),
  ],
)
def test_a_short_window_channel_needs_a_window_and_the_waveform(base, overrides, why):
  config = settings.apply_overrides(importlib.import_module(f"configs.{base}").get_config(), overrides.items())
  with pytest.raises(UserError, match=rf"model\.short_window=.*{why}"):
    settings.validate(settings.normalize(config))
  settings.validate(settings.normalize(settings.apply_overrides(config, [("model.short_window", 0)])))


@pytest.mark.parametrize(
  ("overrides", "why"),
  [
    ({"model.pcen": -0.4}, "time constant"),
    ({"model.pcen": 0.4, "frontend.log": "db"}, "natural-log power"),
    ({"model.pcen": 0.4, "frontend.framing": "beat"}, "framing='frame'"),
  ],
)
def test_a_pcen_channel_needs_a_time_constant_and_log_power(overrides, why):
  config = settings.apply_overrides(importlib.import_module("configs.pretrained").get_config(), overrides.items())
  with pytest.raises(UserError, match=rf"model\.pcen=.*{why}"):
    settings.validate(settings.normalize(config))
  settings.validate(settings.normalize(settings.apply_overrides(config, [("model.pcen", 0.0)])))


@pytest.mark.parametrize(
  ("overrides", "why"),
  [
    ({"model.harmonics": (1.0, 2.0)}, "other than 1"),
    ({"model.harmonics": (0.0, 2.0)}, "> 0"),
    ({"model.harmonics": (2.0, 2.0)}, "distinct"),
    ({"model.harmonics": (2.0,), "frontend.representation": "mfcc"}, "frequency axis"),
  ],
)
def test_harmonic_channels_need_distinct_numbers_and_a_frequency_axis(overrides, why):
  config = settings.apply_overrides(importlib.import_module("configs.pretrained").get_config(), overrides.items())
  with pytest.raises(UserError, match=rf"model\.harmonics=.*{why}"):
    settings.validate(settings.normalize(config))
  settings.validate(settings.normalize(settings.apply_overrides(config, [("model.harmonics", ())])))


def test_build_data_builds_what_the_source_trains_and_evaluates_on():
  """Without --data: the training mixture (tfds); device synthesis builds only its validation sets, and the training
  mixture too where one step in n reads it (data.device.tfds_every)."""
  from pianojax import datasets

  c = tiny.get_config()
  c.data.train, c.train.eval_datasets = ("ensembles", "performances"), ("chords", "ensembles")
  assert datasets.default_names(c) == ["ensembles", "performances"]
  c.data.source = "device"
  assert datasets.default_names(c) == ["chords", "ensembles"]
  c.data.device.tfds_every = 2
  assert datasets.default_names(c) == ["ensembles", "performances", "chords"]
