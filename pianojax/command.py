"""The command line, shared by `python launch.py --mode=MODE ...` and the installed `pianojax MODE ...` command.

`launch` runs absl's app over the flags below. `pianojax` (the console script `pip install`
makes) takes the mode as its first word and also reads `pianojax transcribe song.wav -o midi/`:
positional words are `--input`, `-o` is `--output`. Configs are found relative to the current
folder first and then in the installed `configs` package, so `--config=configs/tiny.py` works
in the repository and after `pip install` alike.
"""

import logging
import os
import sys
import warnings

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

from pianojax.modes import MODES

USAGE = """pianojax: automatic piano transcription.

  python launch.py --mode=MODE --config=configs/x.py [--config.a.b=v] [--flags]
  pianojax MODE [INPUT] [-o OUTPUT] [--flags]   (the installed command: the same modes and flags)

Modes:
  demo        the main job on the embedded default (see README).
  features    draw waveform / spectrogram / mel / MFCC of --input to --output
              (--input=synthetic: a rendered note, chords and a mixture; no input: generated tones).
  build_data  build the TFDS datasets (--data=notes,chords,... default: the training mixture).
  train       train (and periodically evaluate) in --workdir, resuming from its latest checkpoint.
  transcribe  --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN_OR_STEP_DIR] [--formats=mid,csv,png]: a MIDI
              file per audio file (and a CSV of the notes, a piano-roll PNG where asked for);
              exit code 2 if any file failed (each is reported by name), 1 on a fatal error.
  separate    --input=AUDIO_OR_FOLDER --output=DIR --checkpoint=TWO_STAGE_RUN: the piano separated by stage 1 of a
              two-stage model (model.stages=2) as WAV, with a spectrogram figure (mixture, separated, clean).
  eval        --checkpoint=RUN --data=(FOLDER of audio+MIDI | NAME:SPLIT) --output=DIR [--offsets=pedal|key]:
              mir_eval note and frame metrics per file and mean (eval.json, eval.md, piano-roll PNGs).
  tune        --checkpoint=RUN --data=NAME:validation[,...] --output=DIR [--min_repeat_ms=..]: decoding thresholds
              on validation data, written to DIR/tune.json (export reads it with --tuned).
  export      --checkpoint=RUN --output=NEW_DIR [--tuned=DIR/tune.json] [--onset_threshold=.. --frame_threshold=..
              --min_repeat_ms=.. --segment_hop_frames=N]:
              the model alone (variables + config + decoding and inference settings, no optimizer state), for shipping
              (models/default was made this way).
  render      --output=DIR --data=performances,mixtures[:SPLIT] | --input=MIDI_OR_FOLDER [--piano=salamander]:
              audio + MIDI folders for eval/tune: synthetic test (or validation) material, or whole MIDI files,
              played by another piano (a SoundFont name or path, or a sample bank: scripts/fetch_salamander.sh
              fetches a recorded grand); a folder of mixtures (or ensembles: performances with bass, strings or
              guitar playing along at the piano's level) gets twins: FOLDER_piano (the piano alone) and
              FOLDER_no_noise (the mix without its noise).
  sweep       --config=configs/ablations/NAME.py --workdir=DIR [--variants=a,b]: train + evaluate every
              variant of the config's sweep section (resumable), writing DIR/results.md and results.png.

Multi-host: pass --coordinator=HOST:PORT --num_processes=N --process_id=I (or set the
usual JAX/cluster environment and --distributed) to call jax.distributed.initialize().
"""

# The configs folder: the repository's, or the installed `configs` package (the same files).
CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "configs")
DEFAULT_CONFIG = "configs/default.py" if os.path.isfile("configs/default.py") else os.path.join(CONFIGS, "default.py")


def _define_config():
  """The --config flag. Defining it loads the default config and applies the command line's `--config.X` overrides
  to it there and then, so without --config= an unknown field fails here, at import: one line, as parse_flags."""
  try:
    return config_flags.DEFINE_config_file("config", DEFAULT_CONFIG, "Config file.", lock_config=True)
  except (AttributeError, KeyError):
    from pianojax import cli

    sys.exit(f"error: {cli.unknown_override(sys.argv, DEFAULT_CONFIG)}")


_CONFIG = _define_config()
_MODE = flags.DEFINE_enum("mode", "features", list(MODES), "What to run.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and outputs (train, sweep, demo).")
_INPUT = flags.DEFINE_string(
  "input", None, "Audio or MIDI: a file or a folder (transcribe, separate, features, render)."
)
_OUTPUT = flags.DEFINE_string("output", None, "Where to write: a folder (a figure for features).")
_DATA = flags.DEFINE_string(
  "data", None, "Datasets or evaluation sets: NAME[:SPLIT] or a folder of audio + MIDI, comma-separated."
)
_CHECKPOINT = flags.DEFINE_string(
  "checkpoint", None, "A run's folder or checkpoint step folder (default: models/default)."
)
_ONSET = flags.DEFINE_float("onset_threshold", None, "Decoding: onset probability threshold (default: the model's).")
_FRAME = flags.DEFINE_float("frame_threshold", None, "Decoding: frame probability threshold (default: the model's).")
_OFFSET = flags.DEFINE_float(
  "offset_threshold", None, "Decoding: offset (note-end event) probability threshold (default: the model's)."
)
_MIN_NOTE = flags.DEFINE_float("min_note_ms", None, "Decoding: shortest note kept, in ms (default: the model's).")
_MIN_REPEAT = flags.DEFINE_float(
  "min_repeat_ms", None, "Decoding: shortest gap between two onsets of one key, in ms (default: the model's)."
)
_RELEASE = flags.DEFINE_float(
  "release_threshold", None, "Decoding: key-release probability below which a key is up (default: the model's)."
)
_PEDAL_THRESHOLD = flags.DEFINE_float(
  "pedal_threshold", None, "Decoding: sustain-pedal probability above which the pedal is down (default: the model's)."
)
_CONFIRM = flags.DEFINE_float(
  "end_confirm_threshold",
  None,
  "Decoding: an offset or key-release event ends a note only where its frame probability falls below this within "
  "100 ms (0: every event does; default: the model's).",
)
_END_EVENTS = flags.DEFINE_enum(
  "end_events",
  None,
  ["rise", "peak"],
  "Decoding: where a classification end event (offset, key release) falls in its run of frames above the offset "
  "threshold: rise = the first frame, peak = the highest (default: the model's).",
)
_SOUNDING_ENDS = flags.DEFINE_enum(
  "sounding_ends",
  None,
  ["frames", "keys"],
  "Decoding (models with pedal heads): what ends a sounding note: frames = the later of the frame heads' end and "
  "the key release carried to the pedal's lift; keys = the key release carried to the pedal's lift alone "
  "(default: the model's).",
)
_PEDAL = flags.DEFINE_enum(
  "pedal",
  "cc64",
  ["cc64", "extend"],
  "transcribe: cc64 = notes end at the key release and the sustain pedal is written as CC64 events (plays back "
  "like the performance); extend = notes last while they sound (pedal-extended), no controllers, for tools that "
  "ignore CC64.",
)
_FORMATS = flags.DEFINE_list(
  "formats", ["mid"], "transcribe: what to write per file, any of mid, csv (the notes), png (a piano roll)."
)
_HOP = flags.DEFINE_integer("segment_hop_frames", None, "export: inference hop between segments, in frames.")
_TUNED = flags.DEFINE_string("tuned", None, "export: a tune.json written by --mode=tune (its decoding settings).")
_OFFSETS = flags.DEFINE_enum(
  "offsets", None, ["pedal", "key"], "eval, tune: reference offsets (default: the model's data.offset_mode)."
)
_EACH_SET = flags.DEFINE_bool(
  "each_set",
  False,
  "eval: score each set on its own (each folder of audio + MIDI inside a folder --data names), into OUTPUT/SET/,"
  " with a table of them all; the model compiles once.",
)
_AGAINST = flags.DEFINE_string(
  "against", None, "eval --each_set: another model's evaluations (its OUTPUT) to compare with, paired clip by clip."
)
_PIANO = flags.DEFINE_string("piano", None, "render: the piano (SoundFont or sample bank; default: the held-out one).")
_VARIANTS = flags.DEFINE_string("variants", None, "sweep: run only these variants (comma-separated names).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (cluster auto-detect).")
_COORDINATOR = flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")


# Modes that train on this host: restarted with tcmalloc (pianojax.allocator) where it is installed.
TRAIN_MODES = ("demo", "train", "sweep")


def main(argv):
  del argv
  if _MODE.value in TRAIN_MODES:
    from pianojax import allocator

    allocator.use_tcmalloc()
  logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)  # no "no TPU" chatter
  absl_logging.set_verbosity(absl_logging.WARNING)  # libraries' INFO lines (orbax, tfds) stay quiet
  # A failed asynchronous save is reported once, by pianojax.checkpoints, not by each of orbax's threads.
  logging.getLogger("asyncio").setLevel(logging.CRITICAL)
  logging.getLogger("absl").addFilter(lambda record: "/orbax/" not in record.pathname)
  _drop_callbacks_to_closed_loops()
  sys.unraisablehook = _quiet_orbax_leftovers(sys.unraisablehook)
  warnings.filterwarnings("ignore", message="coroutine '_read_array_index_and_device_put' was never awaited")
  from pianojax import cli, compile_cache
  from pianojax.errors import UserError
  from pianojax.modes import Args

  if _DISTRIBUTED.value or _COORDINATOR.value:
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # used by CPU devices only
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  compile_cache.enable()
  decode = {
    f.name: f.value
    for f in (
      *(_ONSET, _FRAME, _OFFSET, _MIN_NOTE, _MIN_REPEAT, _RELEASE, _PEDAL_THRESHOLD),
      *(_CONFIRM, _END_EVENTS, _SOUNDING_ENDS),
    )
    if f.value is not None
  }
  args = Args(
    workdir=_WORKDIR.value,
    input=_INPUT.value,
    output=_OUTPUT.value,
    data=_DATA.value,
    checkpoint=_CHECKPOINT.value,
    decode=decode,
    segment_hop_frames=_HOP.value,
    formats=tuple(_FORMATS.value),
    pedal=_PEDAL.value,
    tuned=_TUNED.value,
    offsets=_OFFSETS.value,
    each_set=_EACH_SET.value,
    against=_AGAINST.value,
    piano=_PIANO.value,
    variants=_VARIANTS.value,
    config_path=config_flags.get_config_filename(flags.FLAGS["config"]),
    config_overrides=config_flags.get_override_values(flags.FLAGS["config"]),
  )
  try:
    code = cli.run(_MODE.value, _CONFIG.value, args)
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)
  except OSError as e:  # disk full, read-only or missing folder: what was finished is on disk
    where = f"{e.filename}: " if e.filename else ""
    lines = [line.strip() for line in str(e.strerror or e).splitlines() if line.strip()] or [type(e).__name__]
    if "earlier failure to load" in lines[0]:  # ml_collections could not load --config: say which file and why
      lines = [f"--config={args.config_path}: cannot load it ({lines[-1]})"]
    print(f"error: {where}{lines[0]}", file=sys.stderr)
    sys.exit(1)
  sys.exit(code)


def _drop_callbacks_to_closed_loops():
  """When orbax gives up on a checkpoint (corrupt files, a failed write), TensorStore's other reads and writes still
  finish and call back into orbax's event loop, which has closed by then; each prints a traceback from a C++
  thread. Those callbacks have nowhere to go: drop them, so the failure is reported once, by pianojax.checkpoints."""
  import asyncio

  original = asyncio.BaseEventLoop.call_soon_threadsafe

  def call_soon_threadsafe(loop, *args, **kwargs):
    if loop.is_closed():
      return None
    return original(loop, *args, **kwargs)

  asyncio.BaseEventLoop.call_soon_threadsafe = call_soon_threadsafe


def _quiet_orbax_leftovers(hook):
  """After orbax gave up on a checkpoint, its other array reads are still pending coroutines; collected at exit,
  each prints "Exception ignored in" with the array's whole TensorStore spec. The failure was reported once."""
  import traceback

  def unraisablehook(unraisable):
    frames = traceback.extract_tb(unraisable.exc_traceback) if unraisable.exc_traceback else []
    if not any("/orbax/" in frame.filename for frame in frames):
      hook(unraisable)

  return unraisablehook


def parse_flags(argv):
  """absl's flag parsing, with every error on one line (exit code 1) instead of a traceback."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:  # (ml_collections' message for a missing config file spans lines: joined into one)
    sys.exit("error: " + " ".join(line.strip() for line in str(e).splitlines() if line.strip()))
  except (AttributeError, KeyError):  # ml_collections: an override names a field the config does not have
    from pianojax import cli

    sys.exit(f"error: {cli.unknown_override(argv, DEFAULT_CONFIG)}")


def launch(argv: list[str] | None = None) -> None:
  """`python launch.py --mode=MODE ...`: runs the mode and exits with its code."""
  argv = find_configs(list(sys.argv if argv is None else argv))
  sys.modules["__main__"].__doc__ = USAGE  # what --help prints
  app.run(main, argv=argv, flags_parser=parse_flags)


def pianojax(argv: list[str] | None = None) -> None:
  """The installed command: `pianojax MODE [INPUT] [-o OUTPUT] [--flag=value ...]`."""
  argv = list(sys.argv if argv is None else argv)
  if len(argv) < 2 or argv[1].startswith("-"):
    if any(a in ("-h", "--help", "--helpfull") for a in argv[1:]) or len(argv) < 2:
      print(USAGE)
      sys.exit(0 if len(argv) >= 2 else 1)
    sys.exit(f"error: the first word is the mode, one of {', '.join(MODES)} (pianojax MODE [INPUT] [-o OUTPUT])")
  mode, rest = argv[1], argv[2:]
  if mode not in MODES:
    sys.exit(f"error: unknown mode {mode!r}; choose from {', '.join(MODES)}")
  launch([argv[0], f"--mode={mode}", *command_words(rest)])


def command_words(words: list[str]) -> list[str]:
  """`pianojax` words as launch.py flags: `-o X` / `--output X` -> `--output=X`, a positional word -> `--input=`."""
  out, inputs, i = [], [], 0
  while i < len(words):
    word = words[i]
    if word in ("-o", "--output") and i + 1 < len(words):
      out.append(f"--output={words[i + 1]}")
      i += 2
      continue
    if word.startswith("-"):
      out.append(word)
    else:
      inputs.append(word)
    i += 1
  if len(inputs) > 1:
    sys.exit(f"error: one input (a file or a folder), got {len(inputs)}: {' '.join(inputs)}")
  return out + [f"--input={p}" for p in inputs]


def find_configs(argv: list[str]) -> list[str]:
  """`--config=configs/NAME.py` read from the installed configs where the current folder has no such file."""
  out = []
  for arg in argv:
    path = arg[len("--config=") :] if arg.startswith("--config=") else None
    parts = path.replace(os.sep, "/").split("/") if path else []
    installed = os.path.join(CONFIGS, *parts[1:]) if parts and parts[0] == "configs" else None
    if installed and not os.path.exists(path) and os.path.isfile(installed):
      out.append(f"--config={installed}")
    else:
      out.append(arg)
  return out
