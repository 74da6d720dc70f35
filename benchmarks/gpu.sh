#!/usr/bin/env bash
# All GPU measurements in one call (the device slot is short): frontend and train-step benchmarks.
# Usage on the GPU host, from the repo root: bash benchmarks/gpu.sh OUTDIR
# Needs jax (CUDA), flax, optax, orbax, absl, scipy and ml_collections (carried as a wheel in .whl/ if missing).
set -uo pipefail
out=${1:-/tmp/gpu_bench}
mkdir -p "$out"
if ! python3 -c "import ml_collections" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 -c "import jax, flax; print('jax', jax.__version__, 'flax', flax.__version__, jax.devices())" | tee -a "$out/gpu.txt"
python3 benchmarks/frontend.py --skip_librosa --repeats=10 2>&1 | grep -v "^I1\|^W1" | tee "$out/frontend.txt"
run() {
  local label=$1; shift
  python3 benchmarks/train.py --label="$label" --steps=30 "$@" 2>&1 | grep -v "^I1\|^W1" | tail -2 | tee -a "$out/train.txt"
}
run default-b32 --config=configs/default.py
run default-b64 --config=configs/default.py --config.train.batch_size=64
run wide-g64-b64 --config=configs/default.py --config.train.batch_size=64 --config.model.growth=64 --config.model.stem_channels=64
