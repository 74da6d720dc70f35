#!/usr/bin/env bash
# Fetches the Salamander Grand Piano V3 samples (a real Yamaha C5 grand, recorded by Alexander Holm,
# CC BY 3.0) from the npm registry (@audio-samples/piano-velocity<N>, OGG, 48 kHz stereo, a sample every
# minor third from A0 to C8) into DIR (default ~/.cache/pianojax/salamander). Eight of its sixteen velocity
# layers (2, 4, ..., 16), 39 MB. Needs npm (installed here when run as root). Safe to re-run.
#
#   bash scripts/fetch_salamander.sh [DIR]
#
# pianojax renders with it under the name "salamander" (pianojax/synth/sampler.py): the held-out test piano.
set -euo pipefail
dest=${1:-${HOME}/.cache/pianojax/salamander}
mkdir -p "$dest"
if ! command -v npm >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "fetch_salamander: installing npm"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null
  else
    echo "fetch_salamander: npm not found (apt-get install -y npm)" >&2
    exit 1
  fi
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for layer in 2 4 6 8 10 12 14 16; do
  if [ -f "$dest/C4v${layer}.ogg" ]; then continue; fi
  (cd "$tmp" && npm pack --silent "@audio-samples/piano-velocity${layer}@1.0.5" >/dev/null)
  tar xzf "$tmp"/audio-samples-piano-velocity"${layer}"-*.tgz -C "$tmp"
  cp "$tmp"/package/audio/*.ogg "$dest"/
  rm -rf "$tmp"/package "$tmp"/*.tgz
done
echo "fetch_salamander: $(ls "$dest"/*.ogg | wc -l) samples in $dest"
