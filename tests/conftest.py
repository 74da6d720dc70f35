"""Test set-up: 8 forced CPU devices (before jax starts), and what several test modules share.

Fixtures build real things once per session (TFDS datasets rendered with FluidSynth, a
trained tiny run with orbax checkpoints, a sample bank of recorded tones); helpers make
the tiny config and hand-built notes.
"""

import os
import pathlib

import numpy as np
import pytest

# XLA's CPU backend without LLVM's optimisations or its fusion emitters: the suite's tiny programs spend more time
# compiling than running. The tiny train step's first call (2 devices) 10.9 -> 6.6 s, its steps 0.52 -> 0.67 s; every
# test and every command a test runs gets it (jax is pinned: XLA refuses flags it does not know).
FAST_COMPILE = "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"
os.environ["XLA_FLAGS"] = " ".join(
  [os.environ.get("XLA_FLAGS", ""), FAST_COMPILE, "--xla_force_host_platform_device_count=8"]
).strip()
os.environ.setdefault("JAX_PLATFORMS", "cpu")

REPO = pathlib.Path(__file__).resolve().parents[1]


def readme_example_onset_f1() -> str:
  """The shipped model's onset F1 on the example as the README quotes the demo's line ("94.1"): the tests that run
  the model hold it to that, so a new model changes the README and the tests together."""
  import re

  quoted = re.search(r"shipped model on the example: onset F1 ([0-9.]+)%", (REPO / "README.md").read_text())
  assert quoted, "README.md no longer quotes the demo's line for the shipped model on the example"
  return quoted.group(1)


SHARED = pathlib.Path(os.environ.get("PIANOJAX_SHARED", REPO.parent / "shared"))
MAESTRO_MINI = SHARED / "fixtures" / "maestro_mini"
BANK_RATE = 48000


@pytest.fixture(scope="session", autouse=True)
def compilation_cache(tmp_path_factory):
  """One JAX compilation cache (and inference cache) for the session, not the user's ~/.cache: the commands tests
  run read it through JAX_COMPILATION_CACHE_DIR, and this process too, so the many tests that compile the same tiny
  train step pay for one compile (programs taking over a second to compile, JAX's default)."""
  import jax

  path = tmp_path_factory.mktemp("jax-cache")
  os.environ["JAX_COMPILATION_CACHE_DIR"] = str(path)
  jax.config.update("jax_compilation_cache_dir", str(path))
  return path


def require(ready: bool, reason: str) -> None:
  """Skips the test where `ready` is false, except in CI (CI=true), where ../shared and every SoundFont
  scripts/setup.sh installs must be there: a missing one fails, so CI cannot pass by skipping."""
  if not ready:
    if os.environ.get("CI", "").lower() == "true":
      pytest.fail(f"{reason} (CI=true: CI must have it)")
    pytest.skip(reason)


def tiny_config(tfds_dir, **overrides):
  """configs/tiny.py made smaller still: 3 s examples, 6 train / 2 validation / 2 test, chords and mixtures, no
  key-release and pedal heads, and no evaluation after training (a forward pass to compile and two clips to score
  in every run: tests of evaluation set `train.eval_datasets`, 2 records each)."""
  from configs import tiny
  from pianojax import settings

  c = tiny.get_config()
  c.data.tfds_dir = str(tfds_dir)
  c.data.synth.sizes = {"train": 6, "validation": 2, "test": 2}
  c.data.synth.example_seconds = 3.0
  c.data.train = ("chords", "mixtures")
  c.data.train_weights = (1.0, 1.0)
  c.train.eval_datasets = ()
  c.train.eval_max_records = 2
  c.data.augment.spec_time_masks = 0
  c.data.augment.spec_freq_masks = 0
  c.frontend.normalize = "none"  # per-example statistics would make segmented != whole-file outputs
  c.model.pedal = False  # (the key-release and pedal heads: tests that train them ask for them)
  return settings.apply_overrides(c, overrides.items())


# tiny_config (without its tfds_dir) as launch.py flags, for tests that run the command line.
TINY_FLAGS = (
  "--config=configs/tiny.py",
  "--config.data.synth.sizes.train=6",
  "--config.data.synth.sizes.validation=2",
  "--config.data.synth.sizes.test=2",
  "--config.data.synth.example_seconds=3.0",
  "--config.data.train=chords,mixtures",
  "--config.data.train_weights=1,1",
  "--config.train.eval_datasets=",
  "--config.train.eval_max_records=2",
  "--config.frontend.normalize=none",
  "--config.data.augment.spec_time_masks=0",
  "--config.data.augment.spec_freq_masks=0",
  "--config.model.pedal=False",
)


def note_seq(*rows, pedal=((), ())):
  """A NoteSequence from (pitch, onset, offset, velocity) rows and (pedal times, pedal values)."""
  from pianojax import notes

  p, on, off, v = zip(*rows, strict=True) if rows else ((), (), (), ())
  return notes.NoteSequence(p, on, off, v, *pedal)


def f0_of(audio, rate):
  """The frequency of the strongest spectral peak above 25 Hz."""
  spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio)), n=8 * len(audio)))
  freqs = np.fft.rfftfreq(8 * len(audio), 1 / rate)
  spectrum[freqs < 25] = 0
  return freqs[np.argmax(spectrum)]


def hz(pitch):
  return 440.0 * 2 ** ((pitch - 69) / 12)


def tone(pitch, seconds=4.0, amplitude=0.5):
  """A decaying harmonic tone at BANK_RATE with 10 ms of silence before the attack, as in recordings."""
  t = np.arange(int(seconds * BANK_RATE)) / BANK_RATE
  partials = sum(np.sin(2 * np.pi * k * hz(pitch) * t) / k for k in (1, 2, 3))
  lead = np.zeros(BANK_RATE // 100)
  return np.concatenate([lead, amplitude * partials * np.exp(-t / 1.5) / 1.8])


@pytest.fixture(scope="session")
def maestro_mini() -> pathlib.Path:
  """The real 2 s MAESTRO-layout fixture in ../shared (skips where it is absent)."""
  require((MAESTRO_MINI / "2018").is_dir(), f"shared fixture not found at {MAESTRO_MINI}")
  return MAESTRO_MINI


@pytest.fixture(scope="session")
def maestro_wav(maestro_mini) -> pathlib.Path:
  return next((maestro_mini / "2018").glob("*.wav"))


@pytest.fixture(scope="session")
def tfds_dir(tmp_path_factory):
  """The tiny chords + mixtures datasets of `tiny_config`, built once."""
  from pianojax import datasets

  d = tmp_path_factory.mktemp("tfds")
  datasets.build(tiny_config(d), ["chords", "mixtures"], log=lambda *_: None)
  return d


@pytest.fixture(scope="session")
def synthetic_cfg(tfds_dir):
  """configs/tiny.py with every synthetic dataset built (6 / 2 / 2 examples of 3 s), in `tfds_dir`: its chords and
  mixtures have the same settings (so the same names) and are not built twice."""
  from configs import tiny
  from pianojax import datasets

  c = tiny.get_config()
  c.data.tfds_dir = str(tfds_dir)
  c.data.synth.sizes = {"train": 6, "validation": 2, "test": 2}
  c.data.synth.example_seconds = 3.0
  datasets.build(c, list(datasets.SYNTHETIC), log=lambda *_: None)
  return c


@pytest.fixture(scope="session")
def run_dir(tfds_dir, tmp_path_factory):
  """A tiny run trained 3 steps (orbax checkpoints at steps 0 and 3) on `tfds_dir`."""
  from pianojax import trainer

  config = tiny_config(tfds_dir)
  config.train.steps = 3
  config.train.eval_every = 1000
  workdir = tmp_path_factory.mktemp("run")
  trainer.train_and_evaluate(config, str(workdir), log=lambda *_: None)
  return workdir


@pytest.fixture(scope="session")
def bank(tmp_path_factory):
  """A sample bank named like the Salamander files: three pitches, two velocity layers, 48 kHz stereo."""
  import soundfile

  d = tmp_path_factory.mktemp("bank")
  for name, pitch in (("C4", 60), ("D#4", 63), ("C7", 96)):
    for layer, amplitude in ((4, 0.2), (12, 0.6)):
      stereo = np.stack([tone(pitch, amplitude=amplitude)] * 2, axis=1)
      soundfile.write(os.path.join(d, f"{name}v{layer}.wav"), stereo, BANK_RATE)
  (d / "README.txt").write_text("not a sample")
  return str(d)


@pytest.fixture(scope="session")
def piano_wav(tmp_path_factory):
  """6 s of random piano sequences (TimGM6mb) at 44.1 kHz, with the notes as rendered in `piece.truth.mid`."""
  import soundfile

  from pianojax import notes
  from pianojax.synth import materials
  from pianojax.synth.examples import make_example
  from pianojax.synth.render import Renderer

  folder = tmp_path_factory.mktemp("audio")
  rng = np.random.default_rng(0)
  audio, played = make_example(materials.sequences(rng, 6.0), Renderer(44100), "timgm6mb", rng)
  path = folder / "piece.wav"
  soundfile.write(path, audio.astype(np.float32) / 32768, 44100)
  notes.write_midi(played, folder / "piece.truth.mid")
  return path


def device_config(assets_dir, midi_dir="", **overrides):
  """`tiny_config` training from device synthesis with small banks: two SoundFont pianos (a note every octave, two
  layers, 1.5 s) and two accompaniment instruments, each from both SoundFonts; performances from `midi_dir` where
  given."""
  c = tiny_config("unused-tfds", **overrides)
  dev = c.data.device
  c.data.source = "device"
  dev.assets_dir = str(assets_dir)
  dev.pianos = ("fluidr3", "timgm6mb")
  dev.pitch_step = 12
  dev.velocities = (60, 110)
  dev.piano_seconds = 1.5
  dev.treble_seconds = 1.0
  dev.others = (("strings", 48), ("bass", 33))
  dev.others_sources = ("fluidr3", "timgm6mb")
  dev.others_pitch_step = 12
  dev.others_seconds = 1.0
  dev.max_notes = 64
  dev.max_pairs = 256
  c.data.synth.midi_dir = str(midi_dir)
  c.train.eval_datasets = ()
  return c


@pytest.fixture(scope="session")
def midi_folder(tmp_path_factory):
  """Three short performances as MIDI files (random piano sequences with pedal), all in the train split."""
  from pianojax import notes
  from pianojax.datasets.synthetic import split_of
  from pianojax.synth import materials

  folder = tmp_path_factory.mktemp("midi")
  rng = np.random.default_rng(1)
  made, i = 0, 0
  while made < 3:
    name = f"piece{i}.mid"
    i += 1
    if split_of(name) != "train":
      continue
    notes.write_midi(materials.piano_sequence(rng, 12.0), folder / name)
    made += 1
  return folder


@pytest.fixture(scope="session")
def device_assets(tmp_path_factory, midi_folder):
  """`device_config`'s banks and packed performances, built once (FluidSynth records the banks)."""
  from pianojax.synth import device, soundfonts

  require({"fluidr3", "timgm6mb"} <= set(soundfonts.available()), "SoundFonts fluidr3/timgm6mb not installed")
  d = tmp_path_factory.mktemp("device")
  config = device_config(d, midi_folder)
  device.build_assets(config, log=lambda *_: None)
  return config


# device_config overrides for a tiny two-stage model trained on its separator alone (tests of model.stages=2).
TWO_STAGE = {
  "model.stages": 2,
  "model.separator.channels": 4,
  "model.separator.levels": 1,
  "model.separator.layers": 1,
  "model.separator.growth": 4,
  "separation.train": "separator",
}


def stage_leaves(variables, stage):
  """The arrays of one stage's parameters, in order."""
  import jax

  return [np.asarray(x) for x in jax.tree.leaves(variables["params"][stage])]


# The slowest test files (one to four minutes each on the 2-core CPU) go first: pytest-xdist hands whole files to
# its two workers in collection order, and a slow file collected last (alphabetical order puts the trainer's
# there) leaves one worker idle while the other finishes it.
SLOW_FIRST = (
  "test_trainer.py",
  "test_faults.py",
  "test_notebook.py",
  "test_two_stage.py",
  "test_transcribe.py",
  "test_separate.py",
  "test_sweep.py",
)


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(SLOW_FIRST)}
  items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # (stable: the rest keep their order)


# A worker that crashes (a segfault, an abort) prints Python's fault dump to stderr, where CI keeps only the tail
# (the loaded extension modules), not the crashing thread's stack at its head. Where scripts/test.sh names a folder
# (PIANOJAX_CRASH_DIR), each process writes its dump to a file there instead, and test.sh prints the crashing thread's
# stack from it last.
_CRASH_FILE = pytest.StashKey[object]()


@pytest.hookimpl(trylast=True)  # after pytest's own faulthandler plugin, which points it at stderr
def pytest_configure(config):
  folder = os.environ.get("PIANOJAX_CRASH_DIR")
  if folder:
    import faulthandler

    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    config.stash[_CRASH_FILE] = open(os.path.join(folder, f"{worker}.txt"), "w")  # (open until the process exits)
    faulthandler.enable(config.stash[_CRASH_FILE], all_threads=True)


# librosa's numba kernels are compiled once, by scripts/setup.sh (pianojax/numba_cache.py): two test workers compiling
# one at once can leave a cache that segfaults every later process. The session (in the process that starts the
# workers) fails where the tests wrote to that cache: some kernel pianojax or a test reaches is not compiled there.
_NUMBA_CACHE = pytest.StashKey[dict]()


def pytest_sessionstart(session):
  if not hasattr(session.config, "workerinput"):
    from pianojax import numba_cache

    session.config.stash[_NUMBA_CACHE] = numba_cache.cache_files()


def pytest_sessionfinish(session, exitstatus):
  if hasattr(session.config, "workerinput") or _NUMBA_CACHE not in session.config.stash:
    return
  from pianojax import numba_cache

  before, after = session.config.stash[_NUMBA_CACHE], numba_cache.cache_files()
  written = [path for path, mtime in after.items() if before.get(path) != mtime]
  if written:
    print(
      f"\nFAILED: the tests wrote {len(written)} of librosa's numba cache files (first: {written[0]}); test workers "
      "compiling a kernel together can break the cache for every later process. Run scripts/setup.sh first (it "
      "compiles them), or add the librosa call that compiled it to pianojax/numba_cache.compile_kernels"
    )
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
