#!/usr/bin/env bash
# One run on a machine with an NVIDIA GPU: everything about the CUDA target
# that CPU-only CI cannot check (docs/engine.md, "CUDA target").
#
#   bash bench/gpu_check.sh [OUT_DIR] [all|tests|shd]   (from the repo root)
#
# "tests" and "shd" run parts 1-3 or parts 1 and 4 alone (for a machine that
# limits one command to 10 minutes: two calls). At most six files land in
# OUT_DIR; the build cache is GENN_ENGINE_CACHE (default /tmp/genn_gpu_cache).
#
# Needs python3 with numpy/scipy/h5py/pandas/tqdm/pytest, g++, and
# cuda-bindings with NVRTC (12 or 13; the project's [cuda] extra, or the
# device image's own). Steps, each with its own time limit, results under
# OUT_DIR (default gpu_check_out/):
# 1. device: nvidia-smi and check_device();
# 2. smoke: one small model on backend "cuda" against the CPU target (catches
#    a driver/managed-memory problem in seconds, before the long steps);
# 3. tests on the GPU: the engine and EventProp gradient tests with every
#    model on backend "cuda" (GENN_ENGINE_BACKEND=cuda), and the GPU-vs-CPU
#    comparisons of tests/test_cuda_target.py;
# 4. bench/shd.py on backend cuda: dt 1, 2, 5 ms at 256 and 1024 hidden:
#    s/epoch (s_per_shd_epoch: 8156 samples at the measured rate), GPU
#    memory in use at the end (gpu_mem_used_mb) and the peak from nvidia-smi
#    sampling (gpu_peak_mb.txt).
# Copy shd.jsonl into BENCHMARKS.md with the GPU's name. Expected: about
# 4 minutes for "tests" and 4 for "shd" with N_TRAIN=1024 (the default;
# N_TRAIN=8156 for a full epoch); each step has its own time limit.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu_check_out}
WHAT=${2:-all}
mkdir -p "$OUT"
PY=${PYTHON:-python3}
N_TRAIN=${N_TRAIN:-1024}
export GENN_ENGINE_CACHE=${GENN_ENGINE_CACHE:-/tmp/genn_gpu_cache}
export PYTHONUNBUFFERED=1
rc=0
step() { echo; echo "== $*"; }

step "device" | tee "$OUT/device.txt"
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  timeout 60 "$PY" -c "import cuda.bindings as cb; print('cuda-bindings', cb.__version__)
import genn_engine.targets.cuda_runtime as c; c.check_device(); print(c.gpu_description())"
} 2>&1 | tee -a "$OUT/device.txt"
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "no usable GPU: stopping" | tee -a "$OUT/device.txt"; exit 1
fi

nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 \
    > "$OUT/gpu_mem_samples.txt" 2>/dev/null &
SMI=$!

if [ "$WHAT" != shd ]; then
step "smoke: one model on the GPU against the CPU" | tee "$OUT/tests.txt"
timeout 90 "$PY" -m pytest -q -x tests/test_cuda_target.py \
    -k "every_kind_of_kernel_on_the_gpu" 2>&1 | tail -20 | tee -a "$OUT/tests.txt"
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "smoke test failed: stopping" | tee -a "$OUT/tests.txt"
    kill "$SMI" 2>/dev/null; exit 1
fi

step "tests on the GPU" | tee -a "$OUT/tests.txt"
GENN_ENGINE_BACKEND=cuda timeout 200 "$PY" -m pytest -q \
    tests/test_engine_dynamics.py tests/test_eventprop_gradients.py \
    2>&1 | tail -30 | tee -a "$OUT/tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
timeout 120 "$PY" -m pytest -q -rs tests/test_cuda_target.py -k "gpu" \
    2>&1 | tail -15 | tee -a "$OUT/tests.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
fi

if [ "$WHAT" != tests ]; then
step "bench/shd.py on the GPU (N_TRAIN=$N_TRAIN)" | tee "$OUT/shd.log"
for h in 256 1024; do
    timeout 150 "$PY" bench/shd.py --threads 1 --hidden "$h" --dt 1.0,2.0,5.0 \
        --n-train "$N_TRAIN" BACKEND=cuda 2>>"$OUT/shd.log" | tee -a "$OUT/shd.jsonl"
    [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
done
fi

kill "$SMI" 2>/dev/null
sort -n "$OUT/gpu_mem_samples.txt" | tail -1 > "$OUT/gpu_peak_mb.txt"
echo "peak GPU memory (MiB, all processes): $(cat "$OUT/gpu_peak_mb.txt")"
echo "gpu_check: exit $rc (results in $OUT/)"
exit $rc
