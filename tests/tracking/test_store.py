"""Several runs starting together on one fresh SQLite store: the schema and the experiments are
made once, and every run goes on."""

import subprocess
import sys
from pathlib import Path

from strongroom.tracking.ledger import LEDGER_EXPERIMENT
from strongroom.tracking.registry import EXPERIMENT, store_client

PREPARE = (
    "import sys; from strongroom.tracking.registry import prepare_store; prepare_store(sys.argv[1])"
)


def test_four_processes_prepare_one_fresh_store_together(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    root = Path(__file__).resolve().parents[2]
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", PREPARE, uri],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [(run.wait(timeout=300), run.stderr.read()) for run in runs]
    assert [code for code, _ in results] == [0, 0, 0, 0], [err[-1500:] for _, err in results]
    names = [e.name for e in store_client(uri).search_experiments()]
    assert names.count(EXPERIMENT) == 1 and names.count(LEDGER_EXPERIMENT) == 1
