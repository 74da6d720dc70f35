#!/usr/bin/env bash
# Basic Pitch against the shipped model on eval folders (audio + MIDI pairs, e.g. from --mode=render),
# both scored the same way (benchmarks/score_midi.py: mir_eval, 50 ms onsets, references clipped to the audio).
#
#   bash scripts/compare_basic_pitch.sh OUT_DIR EVAL_FOLDER [EVAL_FOLDER ...]
#
# Basic Pitch goes into its own venv (.venv-basic-pitch): its wheel pins TensorFlow on Python 3.11, so it is
# installed without dependencies and runs the ONNX model the wheel ships on onnxruntime (PyPI only, no
# downloads at run time). Needs the project's .venv (scripts/setup.sh). Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/compare_basic_pitch.sh OUT_DIR EVAL_FOLDER [EVAL_FOLDER ...]" >&2
  exit 1
fi
out=$1
shift
bp=.venv-basic-pitch
if [ ! -x "$bp/bin/python" ] || ! "$bp/bin/python" -c "import basic_pitch, onnxruntime" 2>/dev/null; then
  python3 -m venv "$bp"
  "$bp/bin/pip" install -q --no-deps "basic-pitch==0.4.0"
  "$bp/bin/pip" install -q onnxruntime librosa pretty_midi "resampy<0.4.3" scikit-learn mir_eval scipy soundfile \
    typing-extensions
fi
for folder in "$@"; do
  name=$(basename "$folder")
  "$bp/bin/python" benchmarks/basic_pitch_transcribe.py "$folder" "$out/basic_pitch/$name" 2>&1 | grep -v "^WARNING:root\|^Predicting"
  .venv/bin/python launch.py --mode=transcribe --input="$folder" --output="$out/pianojax/$name" 2>&1 | tail -n 1
  for system in basic_pitch pianojax; do
    echo "$name $system: $(.venv/bin/python benchmarks/score_midi.py --reference="$folder" --estimates="$out/$system/$name" | tail -n 2 | head -n 1)"
  done
done
