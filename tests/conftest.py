"""Test set-up: 8 forced CPU devices (before jax starts), and shared fixtures."""

import os

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=8").strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED = pathlib.Path(os.environ.get("PIANOJAX_SHARED", REPO.parent / "shared"))
MAESTRO_MINI = SHARED / "fixtures" / "maestro_mini"


@pytest.fixture(scope="session")
def maestro_mini() -> pathlib.Path:
  """The real 2 s MAESTRO-layout fixture in ../shared (skips where it is absent)."""
  if not (MAESTRO_MINI / "2018").is_dir():
    pytest.skip(f"shared fixture not found at {MAESTRO_MINI}")
  return MAESTRO_MINI


@pytest.fixture(scope="session")
def maestro_wav(maestro_mini) -> pathlib.Path:
  return next((maestro_mini / "2018").glob("*.wav"))


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
  """The tiny chords + mixtures datasets (tests.test_train.tiny_config), built once per test module."""
  from pianojax import datasets
  from tests.test_train import tiny_config

  d = tmp_path_factory.mktemp("tfds")
  datasets.build(tiny_config(d), ["chords", "mixtures"], log=lambda *_: None)
  return d
