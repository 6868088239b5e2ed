#!/usr/bin/env bash
# DP training on the GPU, in one short run: the correctness tests on CUDA, then DP against
# non-private training of the `base` preset at seq 1024 (tokens/s, DP / non-DP ratios, MFU).
#
# Run it from the repository root of a machine with an NVIDIA H100 or H200 (a few minutes; the
# time limits below keep the whole run under 10 minutes on one H100):
#
#     bash benchmarks/gpu_check.sh
#
# It needs nvidia-smi and a CUDA build of torch in .venv (or set PYTHON=/path/to/python).
# It prints, in order:
#   1. the GPU, its driver and memory (nvidia-smi) and the torch / CUDA versions;
#   2. pytest's summary of tests/training and tests/privacy run on CUDA
#      (STRONGROOM_TEST_DEVICE=cuda; stops at the first failure);
#   3. benchmarks/dp_overhead.py's table for base at seq 1024, logical batch 64 in physical
#      batches of 16, 5 measured steps, each mode in a fresh process (see that script);
#   4. a summary: tokens/s for DP and non-DP, DP / non-DP time per token, per step and memory,
#      MFU of each (bf16 dense peak from the GPU name: H100 SXM and H200 989 TFLOPS, H100 NVL
#      835, H100 PCIe 756; any other GPU: set PEAK_TFLOPS, else MFU is not computed);
#   and, as the last line, `tests=pass|fail` followed by dp_overhead.py's name=value pairs.
#
# Exit status: 0 when the tests passed and the benchmark ran, 1 when the tests failed (the
# benchmark runs all the same), 3 when the benchmark failed or ran out of time, 2 (one line on
# stderr) when there is no usable GPU: no nvidia-smi, no GPU listed, or torch without CUDA.
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
TESTS_LIMIT_S="${TESTS_LIMIT_S:-240}"
BENCH_LIMIT_S="${BENCH_LIMIT_S:-300}"

no_gpu() {
    echo "gpu_check: $1" >&2
    exit 2
}

# --- 1. the GPU ---------------------------------------------------------------------------------
command -v nvidia-smi >/dev/null 2>&1 || no_gpu "no nvidia-smi: this machine has no NVIDIA GPU"
gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader \
    2>/dev/null | head -n 1 || true)"
[[ -n "$gpu" ]] || no_gpu "nvidia-smi lists no GPU"
[[ -x "$PY" ]] || no_gpu "no python at $PY (make venv, or set PYTHON)"
"$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1 \
    || no_gpu "torch in $PY cannot use CUDA (a CPU-only build?) although nvidia-smi lists $gpu"

IFS=',' read -r gpu_name driver memory <<<"$gpu"
gpu_name="$(echo "$gpu_name" | xargs)"
echo "== GPU: $gpu_name, driver$driver, memory$memory"
"$PY" -c 'import torch; print(f"== torch {torch.__version__}, CUDA {torch.version.cuda}")'

case "$gpu_name" in
    *H100*PCIe*) peak=756 ;;
    *H100*NVL*) peak=835 ;;
    *H100* | *H200*) peak=989 ;;
    *) peak="" ;;
esac
peak="${PEAK_TFLOPS:-$peak}"

# --- 2. correctness tests on CUDA ---------------------------------------------------------------
echo "== correctness tests on CUDA: tests/training tests/privacy (limit ${TESTS_LIMIT_S} s)"
tests_rc=0
STRONGROOM_TEST_DEVICE=cuda timeout "$TESTS_LIMIT_S" \
    "$PY" -m pytest -q tests/training tests/privacy -x || tests_rc=$?

# --- 3. DP against non-DP, base at seq 1024 -----------------------------------------------------
bench_args=(--preset base --seq 1024 --device cuda --batch 64 --physical 16 --steps 5)
[[ -z "$peak" ]] || bench_args+=(--peak-tflops "$peak")
echo "== benchmarks/dp_overhead.py ${bench_args[*]} (limit ${BENCH_LIMIT_S} s)"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
bench_rc=0
timeout "$BENCH_LIMIT_S" "$PY" benchmarks/dp_overhead.py "${bench_args[@]}" | tee "$out" \
    || bench_rc=$?
last="$(tail -n 1 "$out")"
if [[ $bench_rc -ne 0 || "$last" != preset=* ]]; then
    echo "gpu_check: dp_overhead.py failed (exit $bench_rc; 124 = over ${BENCH_LIMIT_S} s)" >&2
    exit 3
fi

# --- 4. summary ----------------------------------------------------------------------------------
value() { tr ' ' '\n' <<<"$last" | sed -n "s/^$1=//p"; }
tests="pass"
[[ $tests_rc -eq 0 ]] || tests="fail"
echo "== summary"
echo "GPU: $gpu_name"
echo "tests on CUDA: $tests (pytest exit $tests_rc)"
echo "tokens/s: DP $(value dp_tokens_per_s), non-DP $(value base_tokens_per_s)"
echo "DP / non-DP: time per token $(value token_time_ratio)x, per step $(value time_ratio)x," \
    "peak memory $(value mem_ratio)x"
if [[ -n "$peak" ]]; then
    echo "MFU (bf16 dense peak $peak TFLOPS): DP $(value mfu_dp), non-DP $(value mfu_base)"
else
    echo "MFU: not computed (unknown GPU: set PEAK_TFLOPS to its bf16 dense peak)"
fi
echo "tests=$tests $last"
[[ $tests_rc -eq 0 ]] || exit 1
