"""Two models on the same held-out folders, compared clip by clip: which is better, and how sure.

Reads `--mode=eval` outputs, NEW_DIR/SET/eval.json and OLD_DIR/SET/eval.json, for each SET named (default: every
SET both directories hold, at any depth: `--mode=eval --each_set` writes ROOT/NAME for several roots). Per set: both
models' mean onset / onset+offset / frame F1 (%), and pedal onset and frame F1 over the clips both scored the pedal
on, each with NEW - OLD and its 95% bootstrap interval, paired over the clips (`pianojax.stats.difference`: the same
resampled clips for both, so the clip-to-clip variation they share cancels). A difference is real where its
interval excludes zero. Then each metric's difference averaged over the sets; one JSON line last.

  python launch.py --mode=eval --checkpoint=NEW --data=outputs/heldout/performances --output=outputs/new/performances
  python launch.py --mode=eval --checkpoint=OLD --data=outputs/heldout/performances --output=outputs/old/performances
  python scripts/paired_evals.py outputs/new outputs/old [performances ...]

(`--mode=eval --data=ROOT --each_set --against=OLD_EVALS` does all of it in one command: pianojax/paired.py.)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(new_dir: str, old_dir: str, *names: str) -> None:
  from pianojax import paired

  out = paired.compare(new_dir, old_dir, list(names) or paired.common_sets(new_dir, old_dir))
  print("\n".join(paired.lines(out)))
  print(json.dumps({"sets": out, "mean_difference": paired.mean_differences(out)}))


if __name__ == "__main__":
  if len(sys.argv) < 3:
    sys.exit("usage: python scripts/paired_evals.py NEW_EVAL_DIR OLD_EVAL_DIR [SET ...]")
  from pianojax.errors import UserError

  try:
    main(*sys.argv[1:])
  except UserError as e:
    sys.exit(f"paired_evals: {e}")
  except BrokenPipeError:  # the reader stopped early (`| head`): nothing more to say
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
