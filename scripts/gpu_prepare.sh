#!/usr/bin/env bash
# Prepares what the standing GPU job (scripts/gpu_job.sh) needs, on the CPU, before a lease:
#   outputs/device/  the sample banks and packed performances of configs/large.py (--mode=build_data)
#   outputs/gpu/     the validation sets as evaluation packs (one .npz each; read without TFDS)
#   .whl/            wheels the GPU image lacks (ml_collections, mir_eval, decorator; pure Python)
# Then a device call carries outputs/device, outputs/gpu and .whl and runs: bash scripts/gpu_job.sh "$OUT"
# Usage: bash scripts/gpu_prepare.sh [MIDI_DIR]   (default ../shared/midi)
set -euo pipefail
cd "$(dirname "$0")/.."
midi=${1:-../shared/midi}
py=.venv/bin/python
$py launch.py --mode=build_data --config=configs/large.py --config.data.synth.midi_dir="$midi"
$py launch.py --mode=build_data --config=configs/pretrained.py --config.data.synth.midi_dir="$midi" \
  --data=chords,performances
for set in chords performances; do
  $py launch.py --mode=render --config=configs/pretrained.py --config.data.synth.midi_dir="$midi" \
    --data="$set:validation" --output="outputs/gpu/$set-validation.npz"
done
mkdir -p .whl
$py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 -d .whl ml_collections==1.1.0 mir_eval==0.8.2 decorator==5.2.1
du -sh outputs/device outputs/gpu .whl
