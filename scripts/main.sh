#!/usr/bin/env bash
# Sets up (scripts/setup.sh) and runs the main job on the embedded default: see README.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python launch.py --mode=demo --config=configs/tiny.py --workdir=outputs/demo "$@"
