#!/usr/bin/env bash
# The audit benchmark at the issue's size on one GPU: 20,000 generated patients, DP runs at
# epsilon 1, 2 and 8 with the privacy audit, and the non-private reference of the same plan.
#
# Run it from the repository root of a machine with an NVIDIA GPU and a CUDA build of torch in
# .venv (or set PYTHON=/path/to/python):
#
#     bash benchmarks/audit_gpu.sh
#
# Data preparation (generation, ingest, validation, de-identification of ~60,000 rows) runs on the
# CPU with all cores; training, evaluation and the audit on the GPU. Extra arguments go to
# benchmarks/audit.py (e.g. `--epochs 6 --batch-size 1024`, `--learning-rate 0.006` for DP-SGD,
# `--init-from models:/NAME/1 --tracking-uri URI` for a public start); the reference is compared
# at the best of three Adam rates (docs/audit.md: a reference at a rate that suits it less makes
# privacy look cheaper). The last line is audit.py's
# name=value pairs; its exit status is audit.py's (1: a lower bound above its claimed epsilon).
set -euo pipefail

cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if ! command -v nvidia-smi >/dev/null || ! "$PY" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
    echo "audit_gpu.sh: no usable GPU (nvidia-smi, torch with CUDA)" >&2
    exit 2
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
exec "$PY" benchmarks/audit.py --units 20000 --epsilons 1,2,8 --canaries 1000 --preset small \
    --max-seq-len 1024 --batch-size 1024 --physical-batch 256 --epochs 3 --device cuda \
    --reference-learning-rate 0.001,0.002,0.006 --processes "$(nproc)" "$@"
