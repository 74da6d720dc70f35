"""Where a model's extra notes sit when other instruments play along: which of its false onsets fall on another
instrument's onset, on a related key, inside another instrument's note, inside a piano note, or elsewhere.

Device synthesis knows every note of the accompaniment, so it draws batches twice from the same keys: the piano with
other instruments (and noise, as training draws it) and the same piano notes alone. The model transcribes both with
its own decoding settings; a transcribed onset is a true positive when the piano starts that key within 50 ms (the
metric's tolerance), else it is a false positive, put in the first category that holds:
  other_onset    another instrument starts a note on the same key within 50 ms
  related_key    ... an octave, a fifth, a twelfth or a semitone away (its partials, or a near miss)
  other_note     another instrument's note sounds on the same key
  piano_note     a piano note sounds on the key (a re-struck or doubled onset)
  elsewhere      none of these (noise, or nothing)
Prints one line per condition and one JSON line last. Needs the config's device assets (`--mode=build_data`).

  python scripts/onset_false_positives.py --model=models/default --config=configs/accompaniment.py \\
    --midi_dir=../shared/midi [--set data.device.others_db="(-3.0,3.0)" ...]
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CATEGORIES = ("other_onset", "related_key", "other_note", "piano_note", "elsewhere")
RELATED = (12, 7, 19, 1)  # semitones
TOLERANCE_S = 0.05


def _near(roll: np.ndarray, frame: int, key: int, tol: int) -> bool:
  """Whether `roll (frames, keys)` is on at `key` within `tol` frames of `frame`."""
  if not 0 <= key < roll.shape[1]:
    return False
  return bool(roll[max(0, frame - tol) : frame + tol + 1, key].any())


def classify(pitches, frames, rolls: dict, tol: int, min_pitch: int = 21) -> dict:
  """Counts of one example's transcribed onsets (`pitches`, `frames`) as true positives or a false-positive
  category, and of its piano onsets found. `rolls`: one example's device targets, every roll `(frames, 88)` > 0
  where on ("onset", "frame", "other_onset", "other_frame") and "mask" `(frames,)`, its labelled frames (onsets
  outside them are not counted)."""
  piano_onset, piano_frame, mask = rolls["onset"], rolls["frame"], rolls["mask"]
  other_onset, other_frame = rolls["other_onset"], rolls["other_frame"]
  counts = dict.fromkeys(("found", "true", *CATEGORIES), 0)
  counts["piano_onsets"] = int((piano_onset[mask > 0] > 0).sum())
  hits = np.zeros_like(piano_onset, bool)
  for pitch, f in zip(pitches, frames, strict=True):
    k = int(pitch) - min_pitch
    if not 0 <= f < len(mask) or mask[f] <= 0:
      continue
    if _near(piano_onset > 0, f, k, tol):
      counts["true"] += 1
      hits[max(0, f - tol) : f + tol + 1, k] = True
      continue
    if _near(other_onset > 0, f, k, tol):
      counts["other_onset"] += 1
    elif any(_near(other_onset > 0, f, k + s * d, tol) for d in RELATED for s in (1, -1)):
      counts["related_key"] += 1
    elif other_frame[f, k] > 0:
      counts["other_note"] += 1
    elif piano_frame[f, k] > 0:
      counts["piano_note"] += 1
    else:
      counts["elsewhere"] += 1
  counts["found"] = int((hits & (piano_onset > 0) & (mask[:, None] > 0)).sum())
  return counts


def run(model_path, config, batches: int, batch_size: int, seed: int) -> dict:
  """{"accompanied": counts, "alone": counts} summed over `batches` device batches."""
  import jax

  from pianojax import checkpoints, decoding, settings
  from pianojax.synth import device

  model_config, model, variables = checkpoints.load_model(model_path)
  decode = decoding.DecodeSettings.from_config(model_config.decode)
  apply = jax.jit(lambda audio: {k: jax.nn.sigmoid(v) for k, v in model.apply(variables, audio, train=False).items()})
  tol = round(TOLERANCE_S * config.frontend.sample_rate / config.frontend.hop_length)
  out = {}
  for name, others_prob in (("accompanied", 1.0), ("alone", 0.0)):
    c = settings.apply_overrides(
      config,
      [
        ("loss.others_negative_weight", 1.0),  # (the device labels the other instruments' notes)
        ("data.device.alone_prob", 0.0),
        ("data.device.others_prob", others_prob),
      ],
    )
    synth = device.DeviceSynth(c, device.load_assets(c))
    make = synth.batch_fn(batch_size)
    total = {}
    for i in range(batches):
      b = jax.tree.map(np.asarray, make(jax.random.key(seed + i)))
      probs = jax.tree.map(lambda x: np.asarray(x, np.float32), apply(b["audio"]))
      for j in range(batch_size):
        notes = decoding.decode({k: v[j] for k, v in probs.items()}, synth.frame_rate, model_config.objective, decode)
        rolls = {k: b[k][j] for k in ("onset", "frame", "other_onset", "other_frame", "mask")}
        counts = classify(notes.pitch, np.round(notes.onset * synth.frame_rate).astype(int), rolls, tol)
        total = {k: total.get(k, 0) + v for k, v in counts.items()}
    out[name] = total
  return out


def summary(counts: dict) -> dict:
  """Precision, recall and each false-positive category's share of the transcribed onsets."""
  transcribed = counts["true"] + sum(counts[c] for c in CATEGORIES)
  row = {
    "precision": counts["true"] / max(transcribed, 1),
    "recall": counts["found"] / max(counts["piano_onsets"], 1),
    "transcribed": transcribed,
  }
  row.update({c: counts[c] for c in CATEGORIES})
  return row


def _config(path: str):
  """The ConfigDict of a config file (its `get_config()`), or a one-line error where there is none."""
  from pianojax import cli
  from pianojax.errors import UserError

  if not os.path.isfile(path):
    raise UserError(f"--config {path}: no such file")
  return cli.config_file(path)


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--model", default=None, help="checkpoint or exported model (default: models/default)")
  parser.add_argument("--config", default="configs/accompaniment.py", help="config whose device synthesis to draw")
  parser.add_argument("--midi_dir", default="", help="data.synth.midi_dir (performances; empty: random sequences)")
  parser.add_argument("--batches", type=int, default=6)
  parser.add_argument("--batch_size", type=int, default=8)
  parser.add_argument("--seed", type=int, default=100)
  parser.add_argument(
    "--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeatable), as --config.KEY"
  )
  args = parser.parse_args(argv)
  from pianojax import settings
  from pianojax.errors import UserError

  try:
    config = _config(args.config)
    pairs = [("data.synth.midi_dir", args.midi_dir)] if args.midi_dir else []
    for item in args.set:
      key, sep, text = item.partition("=")
      if not sep:
        raise UserError(f"--set {item}: expected KEY=VALUE")
      pairs.append((key, settings.parse_value(text)))
    config = settings.apply_overrides(config, pairs)
    settings.validate(config)
    result = run(args.model, config, args.batches, args.batch_size, args.seed)
  except UserError as e:
    sys.exit(f"error: {e}")
  rows = {name: summary(counts) for name, counts in result.items()}
  for name, row in rows.items():
    fps = ", ".join(f"{c} {row[c]}" for c in CATEGORIES)
    print(f"{name:12s} precision {100 * row['precision']:.1f}  recall {100 * row['recall']:.1f}  false: {fps}")
  print(json.dumps(rows))


if __name__ == "__main__":
  main()
