#!/usr/bin/env bash
# Installs what pianojax needs on a Debian machine (safe to re-run; skips what is already there):
# system packages (python3-venv, FluidSynth and SoundFonts) when run as root, then .venv from requirements.txt.
#   bash scripts/setup.sh            # the project's .venv (README's commands use it)
#   bash scripts/setup.sh --system   # into the running python3 instead (a Colab or Jupyter kernel: the notebook)
set -euo pipefail
cd "$(dirname "$0")/.."
system=0
[ "${1:-}" = "--system" ] && system=1

APT_PACKAGES=(python3 python3-venv python3-dev fluidsynth fluid-soundfont-gm timgm6mb-soundfont
  musescore-general-soundfont fluidr3mono-gm-soundfont csound-soundfont
  libtcmalloc-minimal4)  # tcmalloc: CPU training without re-faulting its buffers every step (pianojax/allocator.py)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: not root, skipping apt packages: ${missing[*]} (install them yourself if something fails)" >&2
  fi
fi

if [ "$system" = 1 ]; then
  python3 -m pip install -q -r requirements.txt
  python3 -m pip install -q --no-deps -e .
  python3 -c 'import sys; from pianojax.synth import soundfonts; sys.exit(soundfonts.check_installed())'
  python3 -m pianojax.numba_cache
  exit 0
fi

stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv (first run takes a minute or two)"
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt
  echo "$want" > "$stamp"
fi
# Every SoundFont the configs name must be there (one line per missing one, naming its package).
.venv/bin/python -c 'import sys; from pianojax.synth import soundfonts; sys.exit(soundfonts.check_installed())'
# librosa's numba kernels, compiled by this one process before anything runs two at once: two processes compiling
# them together can leave a cache that segfaults every later process (pianojax/numba_cache.py).
.venv/bin/python -m pianojax.numba_cache || {
  echo "setup: librosa's compiled kernels failed; remove their cache (find .venv -name '*.nb[ic]' -delete) and rerun" >&2
  exit 1
}
