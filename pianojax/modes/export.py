"""`--mode=export --checkpoint=RUN --output=NEW_DIR [--tuned=tune.json] [--onset_threshold=..] [--segment_hop_frames=N]`

The model alone (variables + config with its decoding and inference settings, no optimizer
state), for shipping: models/default was made this way. Decoding settings come from the
checkpoint, then a tune report (`--tuned`), then decoding flags, each overriding the last.
"""

from __future__ import annotations

import json

from pianojax import checkpoints, decoding
from pianojax.errors import UserError


def run(config, args) -> int:
  del config  # the checkpoint's own config is used
  if not args.checkpoint or not args.output:
    raise UserError("--checkpoint=RUN_OR_STEP_DIR and --output=NEW_DIR are required for --mode=export")
  saved, _, _ = checkpoints.read_config(args.checkpoint)
  decode = decoding.DecodeSettings.from_config(saved.decode)
  if args.tuned:
    try:
      with open(args.tuned) as f:
        decode = decode.replace(**json.load(f)["decode"])
    except (OSError, ValueError, KeyError, TypeError) as e:
      raise UserError(f"--tuned={args.tuned}: not a tune.json written by --mode=tune ({e})") from None
  decode = decode.replace(**args.decode)
  written = checkpoints.export_model(args.checkpoint, args.output, decode, args.segment_hop_frames)
  print(f"exported {written} (decoding: {decode.as_dict()})")
  return 0
