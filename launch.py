"""pianojax entry point: `python launch.py --mode=MODE --config=configs/x.py [--config.a.b=v]`.

Modes:
  demo        the main job on the embedded default (see README).
  features    draw waveform / spectrogram / mel / MFCC of --input to --output
              (--input=synthetic: a rendered note, chords and a mixture; no input: generated tones).
  build_data  build the TFDS datasets (--datasets=notes,chords,... default: the training mixture).
"""

import logging
import sys

from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", "configs/default.py", "Config file.", lock_config=True)
_MODE = flags.DEFINE_enum("mode", "features", ["demo", "features", "build_data"], "What to run.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, logs and outputs.")
_INPUT = flags.DEFINE_string("input", None, "Input audio file or folder.")
_OUTPUT = flags.DEFINE_string("output", None, "Output file or folder.")
_DATASETS = flags.DEFINE_string("datasets", None, "Comma-separated dataset names for --mode=build_data.")


def main(argv):
  del argv
  logging.getLogger("jax._src.xla_bridge").setLevel(logging.WARNING)  # no "no TPU" chatter
  from pianojax import cli
  from pianojax.errors import UserError

  try:
    cli.run(
      _MODE.value,
      _CONFIG.value,
      workdir=_WORKDIR.value,
      input=_INPUT.value,
      output=_OUTPUT.value,
      datasets=_DATASETS.value,
    )
  except UserError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(main)
