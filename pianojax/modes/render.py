"""`--mode=render --output=DIR --data=MATERIAL[:SPLIT][,..] | --input=MIDI_OR_FOLDER [--piano=NAME]`.

Audio + MIDI folders for eval and tune (pianojax.testsets): the synthetic test (or validation)
material, or whole MIDI files, played by another piano (a SoundFont name or path, or a sample
bank such as the Salamander grand of scripts/fetch_salamander.sh).

`--output=SET.npz --data=SETS` (no --piano) packs evaluation sets as they are (a folder, `NAME:SPLIT`) into one
file that `--mode=eval --data=SET.npz` reads with NumPy alone (records.write_pack): for hosts without TFDS.
"""

from __future__ import annotations

from pianojax import testsets
from pianojax.errors import UserError


def run(config, args) -> int:
  if not args.output or not (args.data or args.input):
    raise UserError("--mode=render needs --output=DIR and --data=MATERIAL[,..] (test splits) or --input=MIDI")
  if args.output.endswith(".npz") and args.data and not args.piano:
    from pianojax import records

    count = records.write_pack(config, args.data, args.output)
    print(f"packed {count} records of {args.data} -> {args.output}")
    return 0
  piano = args.piano or config.data.synth.test_soundfonts[0]
  if args.data:
    testsets.render_tests(config, args.data, piano, args.output)
  if args.input:
    _, failed = testsets.render_midi(args.input, piano, args.output, config.frontend.sample_rate)
    if failed:
      return 2
  return 0
