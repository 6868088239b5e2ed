import mlflow
import pandas as pd
import pytest

from strongroom.model.config import preset
from strongroom.privacy.plan import make_plan
from strongroom.release import step_metrics
from strongroom.tracking.registry import register_model, version_facts
from strongroom.training.dp_sgd import TrainSettings, save_checkpoint, train_dp
from tests.training.test_dp_sgd import _tokens


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlflow")
    plan = make_plan(
        target_epsilon=4.0, delta=1e-3, units=20, batch_size=5, epochs=1.0, max_grad_norm=1.0
    )
    result = train_dp(_tokens(20), preset("tiny"), plan, TrainSettings(progress=False))
    save_checkpoint(str(root / "model.pt"), result, plan)
    facts = {
        "privacy.epsilon": result.epsilon,
        "privacy.delta": plan.delta,
        "privacy.unit": "patient_id",
        "privacy.noise_multiplier": plan.noise_multiplier,
        "data.contract": "hospital_encounters",
        "validation.success": True,
    }
    uri = f"sqlite:///{root / 'mlflow.db'}"
    reg = register_model(
        tracking_uri=uri, model_name="m", checkpoint=root / "model.pt", facts=facts,
        step_metrics=step_metrics(result.log.to_dict()), reports={},
    )  # fmt: skip
    return uri, reg, facts, root


def test_version_carries_privacy_tags_and_card(registered):
    uri, reg, facts, root = registered
    assert version_facts(uri, "m", reg.version) == facts
    mv = mlflow.MlflowClient().get_model_version("m", reg.version)
    assert mv.tags["privacy.unit"] == "patient_id"  # strings stay readable in the MLflow UI
    assert "privacy.epsilon" in mv.tags and "privacy.delta" in mv.tags
    assert mv.description.startswith("# Model card: m")
    assert f"{facts['privacy.epsilon']:.6g}" in mv.description
    assert (root / "mlartifacts").is_dir()  # artifacts beside the SQLite store, not in ./mlruns


def test_registered_pyfunc_generates_text(registered):
    uri, reg, _, _ = registered
    mlflow.set_tracking_uri(uri)
    model = mlflow.pyfunc.load_model(reg.model_uri)
    out = model.predict(pd.DataFrame({"prompt": ["sex: F; "]}), params={"max_new_tokens": 8})
    assert len(out) == 1 and isinstance(out[0], str)


def test_every_step_is_an_mlflow_metric(registered):
    uri, reg, _, _ = registered
    client = mlflow.MlflowClient(tracking_uri=uri)
    run_id = client.get_model_version("m", reg.version).run_id
    steps = len(client.get_metric_history(run_id, "train.batch_size"))
    assert steps == 4  # 20 people, q = 1/4, one epoch
    clip = client.get_metric_history(run_id, "train.clip_fraction")
    assert len(clip) == steps and all(0 <= m.value <= 1 for m in clip)
    epsilons = client.get_metric_history(run_id, "train.epsilon")
    assert epsilons[-1].step == steps and epsilons[-1].value > 0
