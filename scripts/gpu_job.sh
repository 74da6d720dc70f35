#!/usr/bin/env bash
# The standing GPU job: one device call that trains the large recipe from device synthesis for a fixed wall-clock
# budget, evaluates it on the carried validation packs, exports it, and leaves in OUT (at most 8 files, each
# under 16 MiB, so they all come back from a lent GPU):
#   model.tar      the exported model (orbax folder, tarred); over 15 MiB, in parts model.tar.00, .01, ... to join
#                  with `cat model.tar.* > model.tar` (configs/large.py's 8.5 M parameters make 32 MB: three parts)
#   train.log      the training log                   metrics.jsonl  training metrics
#   eval.json      each validation pack's mean scores summary.json   the benchmark line
#   jax_cache.tar  the compilation cache (if small)
#
# Usage (repo root):  bash scripts/gpu_job.sh OUT [extra launch.py flags...]
# Settings (environment):
#   PIANOJAX_JOB_CONFIG   config file (configs/large.py)
#   PIANOJAX_JOB_SECONDS  training wall-clock budget in seconds (420)
#   PIANOJAX_JOB_ASSETS   folder of sample banks + packed performances (outputs/gpu/device; gpu_prepare.sh writes it)
#   PIANOJAX_JOB_PACKS    comma-separated evaluation packs (outputs/gpu/*.npz; scripts/gpu_prepare.sh writes them)
#   PIANOJAX_JOB_INIT     a previous run's exported model to start from: successive leases add up
#   PIANOJAX_JOB_CACHE    a jax_cache.tar from a previous run (skips most of the compile)
# Before a lease, on the CPU: bash scripts/gpu_prepare.sh (assets, packs, wheels). The same script runs on the CPU
# at a tiny budget in tests/test_gpu_job.py, so it cannot rot between leases.
set -uo pipefail
out=${1:?usage: bash scripts/gpu_job.sh OUT [flags]}
shift
config=${PIANOJAX_JOB_CONFIG:-configs/large.py}
seconds=${PIANOJAX_JOB_SECONDS:-420}
assets=${PIANOJAX_JOB_ASSETS:-outputs/gpu/device}
packs=${PIANOJAX_JOB_PACKS:-$(ls outputs/gpu/*.npz 2>/dev/null | paste -sd, -)}
init=${PIANOJAX_JOB_INIT:-}
cache_tar=${PIANOJAX_JOB_CACHE:-}
python=${PYTHON:-python3}
mkdir -p "$out"
out=$(cd "$out" && pwd)
export PYTHONUNBUFFERED=1

# Carried wheels (ml_collections, mir_eval, decorator) where the host lacks them.
if ! "$python" -c "import ml_collections, mir_eval" 2>/dev/null && ls .whl/*.whl >/dev/null 2>&1; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/pianojax_site .whl/*.whl \
    || exit 1
  export PYTHONPATH=/tmp/pianojax_site${PYTHONPATH:+:$PYTHONPATH}
fi

# A persistent compilation cache: restored from the previous run's tar, returned in this one's.
cache=$(mktemp -d)/jax_cache
mkdir -p "$cache"
if [[ -n "$cache_tar" && -f "$cache_tar" ]]; then
  tar -xf "$cache_tar" -C "$cache" || echo "gpu_job: could not read $cache_tar; compiling afresh"
fi
export JAX_COMPILATION_CACHE_DIR=$cache

performances=$(ls "$assets"/performances-train-*.npz 2>/dev/null | head -1)
flags=(--config="$config" --config.data.source=device --config.data.device.assets_dir="$assets"
  --config.data.device.performances="$performances" --config.data.synth.midi_dir= --config.train.eval_datasets=
  --config.train.time_limit_s="$seconds")
[[ -n "$init" ]] && flags+=(--config.init_from="$init")

start=$(date +%s)
"$python" launch.py --mode=train "${flags[@]}" "$@" --workdir="$out/run" 2>&1 | tee "$out/train.log"
status=${PIPESTATUS[0]}
train_seconds=$(($(date +%s) - start))
[[ $status -eq 0 ]] || { echo "gpu_job: training failed ($status); see $out/train.log"; exit "$status"; }
cp "$out/run/metrics.jsonl" "$out/metrics.jsonl"

"$python" launch.py --mode=export --checkpoint="$out/run" --output="$out/model" >> "$out/train.log" 2>&1 \
  || { echo "gpu_job: export failed; see $out/train.log"; exit 1; }
tar -cf "$out/model.tar" -C "$out" model
if [[ $(stat -c %s "$out/model.tar") -gt $((15 * 1048576)) ]]; then  # (a file comes back from a lease under 16 MiB)
  split -b 15M -d "$out/model.tar" "$out/model.tar." && rm "$out/model.tar"
fi

gather='import json, os, sys
folder, target = sys.argv[1:]
reports = {n: json.load(open(os.path.join(folder, n, "eval.json"))) for n in sorted(os.listdir(folder))
           if os.path.isfile(os.path.join(folder, n, "eval.json"))}
json.dump({"sets": {n: {"scored": r["scored"], "mean": r["mean"]} for n, r in reports.items()}}, open(target, "w"))'
if [[ -n "$packs" ]]; then  # each pack on its own (OUT/eval/PACK/), their mean scores gathered in eval.json
  "$python" launch.py --mode=eval --checkpoint="$out/model" --data="$packs" --each_set --output="$out/eval" \
    >> "$out/train.log" 2>&1 && "$python" -c "$gather" "$out/eval" "$out/eval.json" \
    || echo "gpu_job: evaluation failed; see $out/train.log"
fi

"$python" benchmarks/job_summary.py --workdir="$out/run" --train_seconds="$train_seconds" \
  ${packs:+--eval="$out/eval.json"} | tee "$out/summary.json"

tar -cf "$out/jax_cache.tar" -C "$cache" . 2>/dev/null
if [[ $(stat -c %s "$out/jax_cache.tar") -gt 16000000 ]]; then
  rm -f "$out/jax_cache.tar"
  echo "gpu_job: the compilation cache is over 16 MB; not returned"
fi
rm -rf "$out/run" "$out/model" "$out/eval"  # what comes back: the files listed above
ls -la "$out"
