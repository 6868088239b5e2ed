"""What a registered version carries (the `store` fixture in conftest.py registers two)."""

import json

import mlflow
import pandas as pd

from strongroom.run_record.facts import fact_names
from strongroom.tracking.card import without_banner
from strongroom.tracking.registry import store_client, use_store, version_facts


def test_version_carries_every_fact_as_a_tag_and_the_card(store):
    uri, _, versions, root = store
    facts = version_facts(uri, "m", versions["secure"])
    assert set(fact_names()) <= set(facts)
    mv = store_client(uri).get_model_version("m", versions["secure"])
    assert mv.tags["privacy.unit_name"] == "patient"  # strings stay readable in the MLflow UI
    # (the card, under a banner when another test's failing gate marked the version)
    assert without_banner(mv.description).startswith("# Model card: m")
    assert f"{facts['privacy.epsilon']:.6g}" in mv.description
    assert "Outside the guarantee" in mv.description and "treated as public" in mv.description
    assert (root / "mlartifacts").is_dir()  # artifacts beside the SQLite store, not in ./mlruns


def test_registered_pyfunc_generates_text(store):
    uri, _, versions, _ = store
    use_store(uri)  # tracking and registry (another test's may be set), no variable left behind
    model = mlflow.pyfunc.load_model(f"models:/m/{versions['secure']}")
    out = model.predict(pd.DataFrame({"prompt": ["sex: F; "]}), params={"max_new_tokens": 8})
    assert len(out) == 1 and isinstance(out[0], str)


def test_only_the_epsilon_series_is_published_per_step(store):
    """Per-step loss, clip fraction and batch size are exact statistics of private people."""
    uri, _, versions, root = store
    client = store_client(uri)
    run = client.get_run(client.get_model_version("m", versions["secure"]).run_id)
    assert set(run.data.metrics) == {
        "train.epsilon_prv", "privacy.epsilon", "privacy.epsilon_prv", "privacy.epsilon_pld",
        "eval.loss", "eval.perplexity", "eval.units",
        # what the DP model writes, checked against the contract: post-processing of the model
        "eval.records_parsed_share", "eval.records_valid_share",
    }  # fmt: skip
    assert not any(name.startswith("eval.") for name in run.data.params)
    steps = json.loads((root / "secure-model" / "train_report.json").read_text())["steps"]
    epsilons = client.get_metric_history(run.info.run_id, "train.epsilon_prv")
    assert [m.step for m in epsilons] == [s for s, _ in steps["epsilons"]]
    assert len(steps["losses"]) == len(steps["clip_fractions"]) > 0  # kept for the operator
