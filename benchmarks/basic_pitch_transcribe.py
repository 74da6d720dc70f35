"""Basic Pitch (Spotify, ICASSP 2022 model, as its PyPI wheel ships it) over every WAV under folders -> MIDI.

Runs in its own venv (scripts/compare_basic_pitch.sh makes it: basic-pitch pins TensorFlow on Python 3.11,
so it is installed without dependencies and runs its ONNX model on onnxruntime). Each output is named as
`launch.py --mode=transcribe` names its own (relative path, separators as "__"), so `benchmarks/score_midi.py`
scores either the same way. Default decoding settings (onset 0.5, frame 0.3, minimum note 127.7 ms).

  python benchmarks/basic_pitch_transcribe.py IN_FOLDER OUT_FOLDER
"""

import os
import sys
import time


def main(src: str, dst: str) -> None:
  from basic_pitch import ICASSP_2022_MODEL_PATH
  from basic_pitch.inference import Model, predict

  model = Model(ICASSP_2022_MODEL_PATH)
  wavs = sorted(
    os.path.join(root, f) for root, _, files in os.walk(src) for f in files if f.lower().endswith((".wav", ".flac"))
  )
  if not wavs:
    sys.exit(f"error: {src}: no .wav or .flac files")
  os.makedirs(dst, exist_ok=True)
  start = time.perf_counter()
  for path in wavs:
    _, midi, _ = predict(path, model)
    name = os.path.relpath(os.path.splitext(path)[0], src).replace(os.sep, "__")
    midi.write(os.path.join(dst, name + ".mid"))
  print(f"basic-pitch: {len(wavs)} file(s) from {src} -> {dst} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  if len(sys.argv) != 3:
    sys.exit(__doc__.strip().splitlines()[-1].strip())
  main(sys.argv[1], sys.argv[2])
