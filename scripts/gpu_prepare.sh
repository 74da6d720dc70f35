#!/usr/bin/env bash
# Prepares what the standing GPU job (scripts/gpu_job.sh) needs, on the CPU, before a lease:
#   outputs/gpu/device/  configs/large.py's sample banks and packed performances (--mode=build_data), its own folder
#                        so that it travels alone (the other recipes' 93 accompaniment banks stay in outputs/device)
#   outputs/gpu/*.npz    validation sets as evaluation packs, read without TFDS: chords and performances (a training
#                        piano), and an ensembles set (performances with parts that play along) and its piano alone
#   .whl/                wheels the GPU image lacks (ml_collections, mir_eval, decorator; pure Python)
# The working tree and what a device call carries travel together under 64 MiB: the packed performances hold every
# EVERY-th MIDI file (4: 236 of the 941 training performances, 4.5 MiB instead of 17.5), and the script ends by
# adding the sizes up and failing where they do not fit. Then one device call carries outputs/gpu and .whl and runs
#   bash scripts/gpu_job.sh "$OUT"
# Usage: bash scripts/gpu_prepare.sh [MIDI_DIR [EVERY]]   (defaults ../shared/midi, 4)
set -euo pipefail
cd "$(dirname "$0")/.."
midi=${1:-../shared/midi}
every=${2:-4}
py=.venv/bin/python
assets=outputs/gpu/device
[[ -d "$midi" ]] || { echo "gpu_prepare: no MIDI folder $midi" >&2; exit 1; }

# Every EVERY-th MIDI file, linked under its own name (the split is a hash of the name, so it stays the same).
subset=$(mktemp -d)/midi
i=0
while IFS= read -r f; do
  if ((i % every == 0)); then
    mkdir -p "$subset/$(dirname "$f")"
    ln -s "$(realpath "$midi/$f")" "$subset/$f"
  fi
  i=$((i + 1))
done < <(cd "$midi" && find . -type f \( -iname '*.mid' -o -iname '*.midi' \) | sort)
rm -f "$assets"/performances-train-*.npz  # (named by the MIDI folder's path: one per run of this script)
$py launch.py --mode=build_data --config=configs/large.py --config.data.synth.midi_dir="$subset" \
  --config.data.device.assets_dir="$assets"
rm -rf "$(dirname "$subset")"

$py launch.py --mode=build_data --config=configs/pretrained.py --config.data.synth.midi_dir="$midi" \
  --data=chords,performances
for set in chords performances; do
  $py launch.py --mode=render --config=configs/pretrained.py --config.data.synth.midi_dir="$midi" \
    --data="$set:validation" --output="outputs/gpu/$set-validation.npz"
done
rendered=$(mktemp -d)
$py launch.py --mode=render --config=configs/pretrained.py --config.data.synth.midi_dir="$midi" \
  --config.data.synth.sizes.validation=8 --data=ensembles:validation --piano=fluidr3 --output="$rendered"
for set in ensembles-validation ensembles-validation_piano; do
  $py launch.py --mode=render --config=configs/pretrained.py --data="$rendered/$set" --output="outputs/gpu/$set.npz"
done
rm -rf "$rendered"

mkdir -p .whl
$py -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux2014_x86_64 -d .whl ml_collections==1.1.0 mir_eval==0.8.2 decorator==5.2.1

tracked=$(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1)
carried=$(du -cb outputs/gpu .whl | tail -1 | cut -f1)
total=$((tracked + carried))
du -sh "$assets" outputs/gpu .whl
echo "gpu_prepare: the working tree $((tracked / 1048576)) MiB + outputs/gpu and .whl $((carried / 1048576)) MiB" \
  "= $((total / 1048576)) MiB of the 64 a device call carries"
if ((total > 64 * 1048576)); then
  echo "gpu_prepare: over 64 MiB: rerun with a larger EVERY (fewer performances)" >&2
  exit 1
fi
echo "gpu_prepare: ready; the device call: carry outputs/gpu and .whl, run: bash scripts/gpu_job.sh \$OUT"
