"""What a model's gap between mixtures and the same pieces alone follows, clip by clip.

Reads two `--mode=eval` outputs (the mixtures folder and its `_piano` twin, which `--mode=render --data=mixtures`
writes beside it) and the two folders' audio. For each clip: onset F1 mixed and alone, the piano's energy against
everything else in the mix (mix - piano: the other instruments and the noise) in dB, and the share of that rest's
energy above a quarter of the sample rate (white noise puts half of its energy there, instruments and pink noise
little). Prints one line per clip (largest gap last), the correlations, one JSON line last.

  python launch.py --mode=eval --data=outputs/heldout/mixtures --output=outputs/gap/mixtures
  python launch.py --mode=eval --data=outputs/heldout/mixtures_piano --output=outputs/gap/mixtures_piano
  python scripts/mixture_gap.py outputs/heldout/mixtures outputs/gap/mixtures outputs/gap/mixtures_piano
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RATE = 16000  # the rendered folders' rate (the fs/4 share is of this)


def main(folder: str, mixed_eval: str, alone_eval: str) -> None:
  from pianojax import audio_io

  mixed = json.load(open(os.path.join(mixed_eval, "eval.json")))["per_file"]
  alone = json.load(open(os.path.join(alone_eval, "eval.json")))["per_file"]
  rows = []
  for name in sorted(set(mixed) & set(alone)):
    mix = audio_io.load_audio(os.path.join(folder, name + ".wav"), RATE)
    piano = audio_io.load_audio(os.path.join(folder.rstrip("/") + "_piano", name + ".wav"), RATE)
    rest = mix - piano
    spectrum = np.abs(np.fft.rfft(rest)) ** 2
    high = float(spectrum[len(spectrum) // 2 :].sum() / max(spectrum.sum(), 1e-20))
    ratio = float(10 * np.log10(np.sum(piano**2) / max(np.sum(rest**2), 1e-20)))
    rows.append((name, 100 * mixed[name]["onset_f1"], 100 * alone[name]["onset_f1"], ratio, high))
  rows.sort(key=lambda r: r[2] - r[1])
  for name, m, a, ratio, high in rows:
    print(
      f"{name}: mixed {m:.1f} alone {a:.1f} gap {a - m:.1f} | piano/rest {ratio:+.1f} dB | rest above fs/4 {high:.2f}"
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
  print(json.dumps(out))


if __name__ == "__main__":
  if len(sys.argv) != 4:
    sys.exit("usage: python scripts/mixture_gap.py MIXTURES_FOLDER MIXTURES_EVAL_DIR PIANO_ALONE_EVAL_DIR")
  main(*sys.argv[1:])
