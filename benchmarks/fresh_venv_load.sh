#!/bin/sh
# A registered model loads and generates in a fresh virtual environment where strongroom is not
# installed: only its pinned requirements (requirements.txt of the MLflow model) and the code it
# carries. Takes a few minutes (mlflow and torch are installed into the new venv).
#
#   benchmarks/fresh_venv_load.sh MODEL_DIR        (a downloaded model: mlflow artifacts download
#                                                   -u models:/NAME/VERSION -d MODEL_DIR)
# Prints the install time, whether strongroom is importable outside the model's code (must be
# no), and one generation.
set -eu
model=$(cd "$1" && pwd)
venv=$(mktemp -d /tmp/strongroom-fresh-venv.XXXXXX)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
start=$(date +%s)
"$venv/bin/python" -m pip install -q -r "$model/requirements.txt"
echo "installed the model's requirements in $(( $(date +%s) - start )) s:"
sed 's/^/  /' "$model/requirements.txt"
cd "$venv"
MLFLOW_DISABLE_TELEMETRY=true "$venv/bin/python" - "$model" <<'PY'
import importlib.util, sys
print("strongroom installed in the fresh venv:", importlib.util.find_spec("strongroom") is not None)
import mlflow.pyfunc
model = mlflow.pyfunc.load_model(sys.argv[1])
out = model.predict(["age: 5"], params={"max_new_tokens": 8, "seed": 1})
import strongroom
print("served by the model's own code:", strongroom.__file__.startswith(sys.argv[1]))
print("generated", len(out[0]), "characters")
PY
