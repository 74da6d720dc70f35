"""pianojax entry point: `python launch.py --mode=MODE --config=configs/x.py [--config.a.b=v]`.

Modes:
  demo        the main job on the embedded default (see README).
  features    draw waveform / spectrogram / mel / MFCC of --input to --output
              (--input=synthetic: a rendered note, chords and a mixture; no input: generated tones).
  build_data  build the TFDS datasets (--datasets=notes,chords,... default: the training mixture).
  train       train (and periodically evaluate) in --workdir, resuming from its latest checkpoint.
  transcribe  --input=AUDIO_OR_FOLDER --output=DIR [--checkpoint=RUN_OR_STEP_DIR]: MIDI + CSV + PNG per file;
              exit code 2 if any file failed (each is reported by name), 1 on a fatal error.
  eval        --checkpoint=RUN --data=(FOLDER of audio+MIDI | NAME:SPLIT) --output=DIR [--offsets=pedal|key]:
              mir_eval note and frame metrics per file and mean (eval.json, eval.md, piano-roll PNGs).
  tune        --checkpoint=RUN --data=NAME:validation[,...] [--output=DIR] [--min_repeat_ms=..]: decoding thresholds
              on validation data.
  export      --checkpoint=RUN --output=NEW_DIR [--onset_threshold=.. --frame_threshold=.. --min_repeat_ms=..
              --segment_hop_frames=N]:
              the model alone (variables + config + decoding and inference settings, no optimizer state), for shipping
              (models/default was made this way).
  render      --output=DIR --data=performances,mixtures[:SPLIT] | --input=MIDI_OR_FOLDER [--piano=salamander]:
              audio + MIDI folders for eval/tune: synthetic test (or validation) material, or whole MIDI files,
              played by another piano (a SoundFont name or path, or a sample bank: scripts/fetch_salamander.sh
              fetches a recorded grand).
  sweep       --config=configs/ablations/NAME.py --workdir=DIR [--variants=a,b]: train + evaluate every
              variant of the config's sweep section (resumable), writing DIR/results.md and results.png.

Multi-host: pass --coordinator=HOST:PORT --num_processes=N --process_id=I (or set the
usual JAX/cluster environment and --distributed) to call jax.distributed.initialize().
"""

import logging
import sys

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Config file.", lock_config=True)
MODES = ["demo", "features", "build_data", "train", "transcribe", "eval", "tune", "export", "render", "sweep"]
_MODE = flags.DEFINE_enum("mode", "features", MODES, "What to run.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and outputs.")
_INPUT = flags.DEFINE_string("input", None, "Input audio file or folder.")
_OUTPUT = flags.DEFINE_string("output", None, "Output file or folder.")
_DATASETS = flags.DEFINE_string("datasets", None, "Comma-separated dataset names for --mode=build_data.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A run's folder or checkpoint step folder (transcribe).")
_ONSET = flags.DEFINE_float("onset_threshold", None, "Decoding: onset probability threshold (default: the model's).")
_FRAME = flags.DEFINE_float("frame_threshold", None, "Decoding: frame probability threshold (default: the model's).")
_MIN_NOTE = flags.DEFINE_float("min_note_ms", None, "Decoding: shortest note kept, in ms (default: the model's).")
_MIN_REPEAT = flags.DEFINE_float(
  "min_repeat_ms", None, "Decoding: shortest gap between two onsets of one key, in ms (default: the model's)."
)
_HOP = flags.DEFINE_integer("segment_hop_frames", None, "export: inference hop between segments, in frames.")
_DATA = flags.DEFINE_string("data", None, "eval: a folder of audio + MIDI pairs, or a TFDS dataset as NAME:SPLIT.")
_OFFSETS = flags.DEFINE_enum(
  "offsets", "pedal", ["pedal", "key"], "eval: ground-truth offsets (pedal-extended or key)."
)
_PIANO = flags.DEFINE_string("piano", None, "render: the piano (SoundFont or sample bank; default: the held-out one).")
_VARIANTS = flags.DEFINE_string("variants", None, "sweep: run only these variants (comma-separated names).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() (cluster auto-detect).")
_COORDINATOR = flags.DEFINE_string("coordinator", None, "HOST:PORT of process 0, for multi-process runs.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Number of processes in a multi-process run.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")


def main(argv):
  del argv
  logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)  # no "no TPU" chatter
  absl_logging.set_verbosity(absl_logging.WARNING)  # libraries' INFO lines (orbax, tfds) stay quiet
  from pianojax import cli
  from pianojax.errors import UserError

  if _DISTRIBUTED.value or _COORDINATOR.value:
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")  # used by CPU devices only
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  try:
    cli.run(
      _MODE.value,
      _CONFIG.value,
      workdir=_WORKDIR.value,
      input=_INPUT.value,
      output=_OUTPUT.value,
      datasets=_DATASETS.value,
      checkpoint=_CHECKPOINT.value,
      onset_threshold=_ONSET.value,
      frame_threshold=_FRAME.value,
      min_note_ms=_MIN_NOTE.value,
      min_repeat_ms=_MIN_REPEAT.value,
      segment_hop_frames=_HOP.value,
      data=_DATA.value,
      offsets=_OFFSETS.value,
      variants=_VARIANTS.value,
      piano=_PIANO.value,
      config_path=config_flags.get_config_filename(flags.FLAGS["config"]),
      config_overrides=config_flags.get_override_values(flags.FLAGS["config"]),
    )
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
