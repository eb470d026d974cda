#!/usr/bin/env bash
# One run on a machine with an NVIDIA GPU: everything about the CUDA target
# that CPU-only CI cannot check (docs/engine.md, "CUDA target").
#
#   bash bench/gpu_check.sh [OUT_DIR]      (from the repository root)
#
# 1. the device is there (nvidia-smi, check_device);
# 2. tests on the GPU: the engine and EventProp gradient tests with every
#    model on backend "cuda" (GENN_ENGINE_BACKEND=cuda), and the GPU-vs-CPU
#    comparisons of tests/test_cuda_target.py;
# 3. bench/shd.py on backend cuda: dt 1, 2, 5 ms at 256 and 1024 hidden,
#    s/epoch (s_per_shd_epoch: 8156 samples at the measured rate) and GPU
#    memory (the JSON's gpu_mem_used_mb at the end; the peak from
#    nvidia-smi sampling, gpu_peak_mb.txt).
# Results go to OUT_DIR (default: gpu_check_out/); copy the shd JSON lines
# into BENCHMARKS.md with the GPU's name. Time: about 10 minutes on an H200
# with N_TRAIN=1024 (the default here; set N_TRAIN=8156 for a full epoch).
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-gpu_check_out}
mkdir -p "$OUT"
N_TRAIN=${N_TRAIN:-1024}
export GENN_ENGINE_CACHE=${GENN_ENGINE_CACHE:-$PWD/$OUT/cache}
rc=0

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python -c "import genn_engine.targets.cuda_runtime as c; c.check_device(); print(c.gpu_description())"
} 2>&1 | tee "$OUT/device.txt" || rc=1

# peak GPU memory while the rest runs
nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 \
    > "$OUT/gpu_mem_samples.txt" 2>/dev/null &
SMI=$!

echo "== tests on the GPU" | tee "$OUT/tests.txt"
GENN_ENGINE_BACKEND=cuda timeout 900 python -m pytest -q -x \
    tests/test_engine_dynamics.py tests/test_eventprop_gradients.py \
    2>&1 | tail -30 | tee -a "$OUT/tests.txt" || rc=1
timeout 600 python -m pytest -q -rs tests/test_cuda_target.py -k "gpu" \
    2>&1 | tail -15 | tee -a "$OUT/tests.txt" || rc=1

echo "== bench/shd.py on the GPU (N_TRAIN=$N_TRAIN)" | tee "$OUT/shd.jsonl.log"
for h in 256 1024; do
    timeout 1500 python bench/shd.py --threads 1 --hidden "$h" --dt 1.0,2.0,5.0 \
        --n-train "$N_TRAIN" BACKEND=cuda 2>&1 | tee -a "$OUT/shd.jsonl" || rc=1
done

kill "$SMI" 2>/dev/null
sort -n "$OUT/gpu_mem_samples.txt" | tail -1 > "$OUT/gpu_peak_mb.txt"
echo "peak GPU memory (MB, all processes): $(cat "$OUT/gpu_peak_mb.txt")"
echo "gpu_check: exit $rc (results in $OUT/)"
exit $rc
