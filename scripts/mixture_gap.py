"""What a model's gap between mixtures and the same pieces alone follows, clip by clip.

Reads two `--mode=eval` outputs (the mixtures folder and its `_piano` twin, which `--mode=render --data=mixtures`
writes beside it) and the two folders' audio. For each clip: onset F1 mixed and alone, the piano's energy against
everything else in the mix (mix - piano: the other instruments and the noise) in dB, and the share of that rest's
energy above a quarter of the sample rate (white noise puts half of its energy there, instruments and pink noise
little). Given a third eval, of the `_no_noise` twin (the same mixes without their noise), the gap splits into
what the other instruments cost (alone - without noise) and what the noise adds (without noise - mixed). Prints one
line per clip (largest gap last), the correlations, the gap by the clips' other instruments where the folder has
the `materials.json` render writes, one JSON line last.

  python launch.py --mode=eval --data=outputs/heldout/mixtures --output=outputs/gap/mixtures
  python launch.py --mode=eval --data=outputs/heldout/mixtures_piano --output=outputs/gap/mixtures_piano
  python launch.py --mode=eval --data=outputs/heldout/mixtures_no_noise --output=outputs/gap/mixtures_no_noise
  python scripts/mixture_gap.py outputs/heldout/mixtures outputs/gap/mixtures outputs/gap/mixtures_piano \
    [outputs/gap/mixtures_no_noise]
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATE = 16000  # the rendered folders' rate (the fs/4 share is of this)


def _per_file(eval_dir: str) -> dict:
  with open(os.path.join(eval_dir, "eval.json")) as f:
    return json.load(f)["per_file"]


def main(folder: str, mixed_eval: str, alone_eval: str, noiseless_eval: str | None = None) -> None:
  from pianojax import audio_io

  mixed, alone = _per_file(mixed_eval), _per_file(alone_eval)
  noiseless = _per_file(noiseless_eval) if noiseless_eval else None
  rows = []
  for name in sorted(set(mixed) & set(alone) & (set(noiseless) if noiseless else set(mixed))):
    mix = audio_io.load_audio(os.path.join(folder, name + ".wav"), RATE)
    piano = audio_io.load_audio(os.path.join(folder.rstrip("/") + "_piano", name + ".wav"), RATE)
    rest = mix - piano
    spectrum = np.abs(np.fft.rfft(rest)) ** 2
    high = float(spectrum[len(spectrum) // 2 :].sum() / max(spectrum.sum(), 1e-20))
    ratio = float(10 * np.log10(np.sum(piano**2) / max(np.sum(rest**2), 1e-20)))
    quiet = 100 * noiseless[name]["onset_f1"] if noiseless else float("nan")
    rows.append((name, 100 * mixed[name]["onset_f1"], 100 * alone[name]["onset_f1"], ratio, high, quiet))
  rows.sort(key=lambda r: r[2] - r[1])
  for name, m, a, ratio, high, quiet in rows:
    split = f" (no noise {quiet:.1f})" if noiseless else ""
    print(
      f"{name}: mixed {m:.1f} alone {a:.1f} gap {a - m:.1f}{split} | piano/rest {ratio:+.1f} dB | "
      f"rest above fs/4 {high:.2f}"
    )
  gap, ratio, high = (
    np.array([r[2] - r[1] for r in rows]),
    np.array([r[3] for r in rows]),
    np.array([r[4] for r in rows]),
  )
  out = {
    "clips": len(rows),
    "gap": float(gap.mean()),
    "corr_gap_piano_to_rest_db": float(np.corrcoef(gap, ratio)[0, 1]),
    "corr_gap_high_share": float(np.corrcoef(gap, high)[0, 1]),
  }
  print(
    f"gap {out['gap']:.1f} over {len(rows)} clips; r(gap, piano/rest dB) = {out['corr_gap_piano_to_rest_db']:+.2f}, "
    f"r(gap, rest above fs/4) = {out['corr_gap_high_share']:+.2f}"
  )
  if noiseless:
    quiet = np.array([r[5] for r in rows])
    out["gap_instruments"] = float(np.mean([r[2] for r in rows] - quiet))
    out["gap_noise"] = float(np.mean(quiet - [r[1] for r in rows]))
    print(f"of which the other instruments {out['gap_instruments']:.1f}, the noise {out['gap_noise']:.1f}")
  described = os.path.join(folder, "materials.json")  # testsets.MATERIALS_FILE, written by --mode=render
  if os.path.isfile(described):
    with open(described) as f:
      held = json.load(f)
    groups: dict[str, list[float]] = {}
    for name, m, a, *_ in rows:
      families = sorted({family for family, *_ in held.get(name, {}).get("others", [])}) or ["none"]
      groups.setdefault("+".join(families), []).append(a - m)
    out["gap_by_accompaniment"] = {k: [len(v), float(np.mean(v))] for k, v in sorted(groups.items())}
    print("gap by accompaniment: " + ", ".join(f"{k} {np.mean(v):.1f} ({len(v)})" for k, v in sorted(groups.items())))
  print(json.dumps(out))


if __name__ == "__main__":
  if len(sys.argv) not in (4, 5):
    sys.exit(
      "usage: python scripts/mixture_gap.py MIXTURES_FOLDER MIXTURES_EVAL_DIR PIANO_ALONE_EVAL_DIR [NO_NOISE_EVAL_DIR]"
    )
  main(*sys.argv[1:])
