"""The standing GPU job (scripts/gpu_job.sh) run on the CPU at a tiny budget: it trains from device synthesis,
exports, evaluates on a carried pack and returns what it promises, so it cannot rot between GPU leases."""

import json
import os
import subprocess
import tarfile

import numpy as np

from pianojax import records
from tests.conftest import FAST_COMPILE, REPO, TINY_FLAGS, tiny_config


def _device_flags(config) -> list[str]:
  """`device_config`'s device settings as launch.py flags (the banks are found by these settings)."""
  dev = config.data.device
  return [
    f"--config.data.device.pianos={','.join(dev.pianos)}",
    f"--config.data.device.pitch_step={dev.pitch_step}",
    f"--config.data.device.velocities={tuple(dev.velocities)}",
    f"--config.data.device.piano_seconds={dev.piano_seconds}",
    f"--config.data.device.treble_seconds={dev.treble_seconds}",
    f"--config.data.device.others={tuple(tuple(o) for o in dev.others)}".replace(" ", ""),
    f"--config.data.device.others_pitch_step={dev.others_pitch_step}",
    f"--config.data.device.others_seconds={dev.others_seconds}",
    f"--config.data.device.max_notes={dev.max_notes}",
    f"--config.data.device.max_pairs={dev.max_pairs}",
  ]


def test_an_evaluation_pack_holds_the_set_as_stored(tfds_dir, tmp_path):
  config = tiny_config(tfds_dir)
  path = str(tmp_path / "chords.npz")
  assert records.write_pack(config, "chords:validation", path) == 2
  packed = list(records.read(config, path))
  stored = list(records.read(config, "chords:validation"))
  assert [len(r.audio) for r in packed] == [len(r.audio) for r in stored]
  for a, b in zip(packed, stored, strict=True):
    np.testing.assert_allclose(a.audio, b.audio, atol=1.5 / 32768)
    np.testing.assert_allclose(a.notes.onset, b.notes.onset, atol=1e-6)
    np.testing.assert_array_equal(a.notes.pitch, b.notes.pitch)


# What the GPU image lacks (mir_eval and ml_collections travel as wheels): the job runs as if they were not installed.
NOT_ON_THE_GPU = (
  "tensorflow",
  "tensorflow_datasets",
  "grain",
  "librosa",
  "pretty_midi",
  "soundfile",
  "fluidsynth",
  "soxr",
)
SITECUSTOMIZE = f"""
import sys
BLOCKED = {NOT_ON_THE_GPU!r}
class NotInstalled:  # every finder finds nothing for the blocked packages
  def __init__(self, finder):
    self.finder = finder
  def find_spec(self, name, path=None, target=None):
    if name.split(".")[0] in BLOCKED:
      return None
    return self.finder.find_spec(name, path, target)
sys.meta_path[:] = [NotInstalled(f) for f in sys.meta_path]
"""


def test_the_gpu_job_trains_exports_evaluates_and_returns_its_files(device_assets, tfds_dir, tmp_path):
  """The whole job, in processes that cannot import TFDS, grain, TensorFlow, librosa, pretty_midi, soundfile or
  FluidSynth (the GPU image has none of them)."""
  pack = str(tmp_path / "packs" / "chords.npz")
  records.write_pack(tiny_config(tfds_dir), "chords:validation", pack)
  out = tmp_path / "out"
  env = {
    **os.environ,
    "PYTHON": os.path.join(REPO, ".venv", "bin", "python"),
    "PIANOJAX_JOB_CONFIG": "configs/tiny.py",
    "PIANOJAX_JOB_ASSETS": device_assets.data.device.assets_dir,
    "PIANOJAX_JOB_PACKS": pack,
    "PIANOJAX_JOB_SECONDS": "600",
  }
  env["XLA_FLAGS"] = FAST_COMPILE  # (one CPU device, as the job has)
  site = tmp_path / "site"
  site.mkdir()
  (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
  env["PYTHONPATH"] = f"{site}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(site)
  tiny = [f for f in TINY_FLAGS if not f.startswith(("--config=", "--config.train.eval_datasets"))]
  flags = [*tiny, *_device_flags(device_assets), "--config.train.steps=3", "--config.train.log_every=1"]
  job = subprocess.run(
    ["bash", "scripts/gpu_job.sh", str(out), *flags],
    cwd=REPO,
    env=env,
    capture_output=True,
    text=True,
    timeout=900,
    check=False,
  )
  assert job.returncode == 0, job.stdout[-3000:] + job.stderr[-3000:]
  returned = sorted(os.listdir(out))
  assert {"model.tar", "train.log", "metrics.jsonl", "eval.json", "summary.json"} <= set(returned)
  assert len(returned) <= 8 and all(os.path.getsize(out / f) < 16 * 2**20 for f in returned)
  summary = json.loads((out / "summary.json").read_text().strip().splitlines()[-1])
  assert summary["step"] == 3 and summary["data_source"] == "device" and summary["audio_s_per_s"] > 0
  assert summary["fwd_gflop_per_example"] > 0 and summary["first_step_s"] > 0
  assert 0 <= summary["eval"]["chords"]["onset_f1"] <= 1
  with tarfile.open(out / "model.tar") as tar:
    assert any(name.endswith("_CHECKPOINT_METADATA") for name in tar.getnames())
  assert json.loads((out / "eval.json").read_text())["sets"]["chords"]["scored"] == 2
  log = (out / "train.log").read_text()
  assert "synthesised on the device" in log and "first step in" in log
