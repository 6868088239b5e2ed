#!/usr/bin/env bash
# DP training on the GPU, in one short run: the correctness tests on CUDA, then DP (Opacus ghost
# clipping and book-keeping clipping) against non-private training of the `small` and `base`
# presets at seq 1024 (tokens/s, DP / non-DP ratios, MFU).
#
# Run it from the repository root of a machine with an NVIDIA H100 or H200 (a few minutes; the
# time limits below keep the whole run under 10 minutes on one H100; not yet run on a GPU):
#
#     bash benchmarks/gpu_check.sh
#
# It needs nvidia-smi and a CUDA build of torch in .venv (or set PYTHON=/path/to/python).
# It prints, in order:
#   1. the GPU, its driver and memory (nvidia-smi) and the torch / CUDA versions;
#   2. pytest's summary of tests/training and tests/privacy run on CUDA
#      (STRONGROOM_TEST_DEVICE=cuda; stops at the first failure);
#   3. benchmarks/dp_overhead.py's table for small, then base, at seq 1024, logical batch 64 in
#      physical batches of 16, 5 measured steps, non-DP / DP ghost / DP book-keeping each in a
#      fresh process (book-keeping under bf16 autocast like non-DP; ghost in float32);
#   4. a summary per preset: tokens/s, DP / non-DP time per token, per step and memory of each
#      DP mode, MFU (bf16 dense peak from the GPU name: H100 SXM and H200 989 TFLOPS, H100 NVL
#      835, H100 PCIe 756; any other GPU: set PEAK_TFLOPS, else MFU is not computed);
#   and, as the last line, `tests=pass|fail` followed by base's name=value pairs (`_ghost` and
#   `_bk` suffixes: dp_overhead.py).
#
# Exit status: 0 when the tests passed and the benchmark ran, 1 when the tests failed (the
# benchmark runs all the same), 3 when the benchmark failed or ran out of time, 2 (one line on
# stderr) when there is no usable GPU: no nvidia-smi, no GPU listed, or torch without CUDA.
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
TESTS_LIMIT_S="${TESTS_LIMIT_S:-200}"
BENCH_LIMIT_S="${BENCH_LIMIT_S:-180}" # each preset

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

# --- 3. DP against non-DP, small and base at seq 1024 --------------------------------------------
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
value() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
tests="pass"
[[ $tests_rc -eq 0 ]] || tests="fail"
summaries=()
last=""
for preset in small base; do
    bench_args=(--preset "$preset" --seq 1024 --device cuda --batch 64 --physical 16 --steps 5)
    [[ -z "$peak" ]] || bench_args+=(--peak-tflops "$peak")
    echo "== benchmarks/dp_overhead.py ${bench_args[*]} (limit ${BENCH_LIMIT_S} s)"
    bench_rc=0
    timeout "$BENCH_LIMIT_S" "$PY" benchmarks/dp_overhead.py "${bench_args[@]}" | tee "$out" \
        || bench_rc=$?
    last="$(tail -n 1 "$out")"
    if [[ $bench_rc -ne 0 || "$last" != preset=* ]]; then
        echo "gpu_check: dp_overhead.py failed for $preset (exit $bench_rc; 124 = over ${BENCH_LIMIT_S} s)" >&2
        exit 3
    fi
    line="$preset: non-DP $(value "$last" base_tokens_per_s) tokens/s"
    for mode in ghost bk; do
        line+="; $mode $(value "$last" dp_tokens_per_s_$mode) tokens/s, time per token"
        line+=" $(value "$last" token_time_ratio_$mode)x, per step $(value "$last" time_ratio_$mode)x,"
        line+=" memory $(value "$last" mem_ratio_$mode)x"
        [[ -z "$peak" ]] || line+=", MFU $(value "$last" mfu_dp_$mode)"
    done
    [[ -z "$peak" ]] || line+="; non-DP MFU $(value "$last" mfu_base)"
    summaries+=("$line")
done

# --- 4. summary ----------------------------------------------------------------------------------
echo "== summary"
echo "GPU: $gpu_name"
echo "tests on CUDA: $tests (pytest exit $tests_rc)"
for line in "${summaries[@]}"; do echo "$line"; done
[[ -n "$peak" ]] || echo "MFU: not computed (unknown GPU: set PEAK_TFLOPS to its bf16 dense peak)"
echo "tests=$tests $last"
[[ $tests_rc -eq 0 ]] || exit 1
