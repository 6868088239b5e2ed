"""Public initialisation: `pretrain` registers a model of public text with its provenance; DP
training (and its non-private reference) start from exactly its weights; a model that is not
public, not the run's architecture, or unreadable is refused; the card and the sealed record say
where the weights came from."""

from pathlib import Path

import pytest
import torch

from strongroom.corpus.public import load_public_corpus, public_tokens
from strongroom.errors import StrongroomError
from strongroom.model.config import preset
from strongroom.pretrain import PretrainResult, pretrain, trained_tokens
from strongroom.privacy.plan import PrivacyParams
from strongroom.run_record.reports import TrainReport
from strongroom.tracking.public_model import TAG_PREFIX, starting_weights
from strongroom.tracking.registry import store_client
from strongroom.training.settings import TrainSettings

PRIVACY = PrivacyParams(target_epsilon=4.0, delta=1e-5, batch_size=4, epochs=1.0)


@pytest.fixture(scope="module")
def public(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, PretrainResult, Path]:
    """A tiny model of the MCC descriptions registered in a fresh SQLite store."""
    root = tmp_path_factory.mktemp("public")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    result = pretrain(
        corpus="mcc", model_preset="tiny", steps=3, batch_size=4, max_seq_len=64,
        learning_rate=1e-3, tracking_uri=uri, model_name="pub", device="cpu", progress=False,
    )  # fmt: skip
    return uri, result, root


def _registered_weights(uri: str, version: str, into: Path) -> dict[str, torch.Tensor]:
    return starting_weights(
        tracking_uri=uri, ref=f"pub/{version}", config=preset("tiny"), preset="tiny", into=into
    ).state_dict


def test_pretrain_registers_a_public_version_with_its_provenance(public):
    uri, result, _ = public
    mv = store_client(uri).get_model_version("pub", result.registered.version)
    corpus = load_public_corpus("mcc")
    tags = {k.removeprefix(TAG_PREFIX): v for k, v in mv.tags.items()}
    assert tags["only"] == "true" and tags["corpus"] == "mcc"
    assert (tags["package"], tags["package_version"]) == ("iso18245", corpus.package_version)
    assert tags["corpus_sha256"] == corpus.sha256 and tags["preset"] == "tiny"
    tokens = public_tokens(corpus, max_seq_len=64)
    assert int(tags["steps"]) == 3 and int(tags["examples"]) == len(tokens)
    assert int(tags["tokens"]) == trained_tokens(tokens, steps=3, batch_size=4) > 0
    assert "no private data" in mv.description and "carries" in mv.description


def test_dp_training_and_its_reference_start_from_exactly_the_public_weights(
    public, stage_dirs, tmp_path, monkeypatch
):
    from strongroom import stages
    from strongroom.training import dp_sgd, reference

    uri, result, _ = public
    expected = _registered_weights(uri, result.registered.version, tmp_path / "expected.pt")
    seen: dict[str, dict[str, torch.Tensor]] = {}

    def capture(name, original):
        def wrapped(*args, **kwargs):
            model = original(*args, **kwargs)  # the model before its first step
            seen[name] = {k: v.detach().clone() for k, v in model.state_dict().items()}
            return model

        return wrapped

    monkeypatch.setattr(dp_sgd, "initial_model", capture("dp", dp_sgd.initial_model))
    monkeypatch.setattr(reference, "initial_model", capture("reference", reference.initial_model))
    training = TrainSettings(
        model_preset="tiny", seed=3, init_from=result.registered.model_uri, reference=True
    )
    model_dir = str(tmp_path / "model")
    stages.train_stage(
        stage_dirs["corpus"], model_dir, contract="hospital_encounters", privacy=PRIVACY,
        training=training, seal_key_file=str(tmp_path / "seal.key"), tracking_uri=uri,
    )  # fmt: skip
    stages.reference_stage(
        model_dir, stage_dirs["corpus"], str(tmp_path / "ref"), training=training, batch_size=4
    )
    for name in ("dp", "reference"):
        assert seen[name].keys() == expected.keys()
        for key, tensor in expected.items():
            assert torch.equal(seen[name][key], tensor), (name, key)
    init = TrainReport.load(model_dir).evidence["init"]
    assert init["model"] == "pub" and init["version"] == result.registered.version
    assert init["corpus_sha256"] == result.facts.corpus_sha256
    assert init["weights_sha256"] == result.facts.weights_sha256


def _refused(uri: str, ref: str, tmp_path: Path, *, name: str = "tiny") -> str:
    with pytest.raises(StrongroomError) as error:
        starting_weights(
            tracking_uri=uri, ref=ref, config=preset(name), preset=name, into=tmp_path / "w.pt"
        )
    return str(error.value)


def test_a_model_not_marked_public_or_unreadable_or_of_another_preset_is_refused(public, tmp_path):
    uri, result, _ = public
    version = result.registered.version
    client = store_client(uri)
    mv = client.get_model_version("pub", version)
    client.create_registered_model("private")
    plain = client.create_model_version("private", mv.source, run_id=mv.run_id)
    assert "not marked public" in _refused(uri, f"models:/private/{plain.version}", tmp_path)
    assert "cannot read the model's record" in _refused(uri, "models:/pub/99", tmp_path)
    assert "cannot read the model's record" in _refused(uri, "pub@nowhere", tmp_path)
    assert "expected models:/NAME/VERSION" in _refused(uri, "pub", tmp_path)
    assert "preset tiny, this run is preset demo" in _refused(
        uri, f"pub/{version}", tmp_path, name="demo"
    )


def test_edited_public_tags_are_refused(public, tmp_path):
    uri, _, _ = public
    client = store_client(uri)
    again = pretrain(
        corpus="mcc", model_preset="tiny", steps=1, batch_size=2, max_seq_len=64,
        learning_rate=1e-3, tracking_uri=uri, model_name="pub", device="cpu", progress=False,
    ).registered.version  # fmt: skip
    client.set_model_version_tag("pub", again, f"{TAG_PREFIX}weights_sha256", "0" * 64)
    assert "weights differ from its public record" in _refused(uri, f"pub/{again}", tmp_path)
    client.set_model_version_tag("pub", again, f"{TAG_PREFIX}only", "false")
    assert "not marked public" in _refused(uri, f"pub/{again}", tmp_path)
    client.set_model_version_tag("pub", again, f"{TAG_PREFIX}steps", "many")
    assert "not in the expected form" in _refused(uri, f"pub/{again}", tmp_path)


def test_a_dp_model_name_is_not_reused_for_public_versions(public):
    uri, _, _ = public
    with pytest.raises(StrongroomError, match="not trained on public text"):
        pretrain(
            corpus="mcc", model_preset="tiny", steps=1, batch_size=2, max_seq_len=64,
            learning_rate=1e-3, tracking_uri=uri, model_name="private", device="cpu",
            progress=False,
        )  # fmt: skip


def test_the_card_and_the_sealed_record_name_the_starting_weights(public, stage_dirs, tmp_path):
    from strongroom import stages
    from strongroom.release import checked_facts, register_stage
    from strongroom.run_record.seal import load_verify_key

    uri, result, _ = public
    key_file = str(tmp_path / "seal.key")
    dirs = {n: str(tmp_path / n) for n in ("model", "eval", "audit")}
    training = TrainSettings(model_preset="tiny", seed=3, init_from=result.registered.model_uri)
    stages.train_stage(
        stage_dirs["corpus"], dirs["model"], contract="hospital_encounters", privacy=PRIVACY,
        training=training, seal_key_file=key_file, tracking_uri=uri,
    )  # fmt: skip
    stages.evaluate_stage(dirs["model"], stage_dirs["corpus"], dirs["eval"])
    stages.audit_stage(dirs["model"], stage_dirs["corpus"], dirs["audit"], seal_key_file=key_file)
    registered = register_stage(
        tracking_uri=uri, model_name="dp", contract="hospital_encounters",
        seal_key_file=key_file, validate_dir=stage_dirs["validate"], deid_dir=stage_dirs["deid"],
        corpus_dir=stage_dirs["corpus"], model_dir=dirs["model"], eval_dir=dirs["eval"],
        audit_dir=dirs["audit"],
    )  # fmt: skip
    facts, problems = checked_facts(
        uri, "dp", registered["version"], load_verify_key(f"{key_file}.pub")
    )
    assert problems == [] and facts is not None
    assert (facts.init.model, facts.init.version) == ("pub", result.registered.version)
    assert facts.init.corpus == "mcc" and facts.init.package == "iso18245"
    assert facts.init.corpus_sha256 == result.facts.corpus_sha256
    card = store_client(uri).get_model_version("dp", registered["version"]).description
    assert (
        f"Starting weights: `pub/{result.registered.version}` (weights sha256 "
        f"`{result.facts.weights_sha256}`), trained on public text only, no private data"
    ) in card
    assert "costs no privacy" in card


def test_a_random_start_says_so_and_a_record_older_than_init_facts_reads_as_one():
    from strongroom.run_record.facts import Facts
    from strongroom.tracking.card import render_card
    from tests.governance.test_gate import GOOD

    card = render_card("m", GOOD)
    assert "Starting weights: random initialisation" in card and "costs no privacy" not in card
    older = {k: v for k, v in GOOD.flat().items() if not k.startswith("init.")}
    assert render_card("m", Facts.from_flat(older)) == card


def test_the_run_stays_on_the_air_gap_guard(public, tmp_path):
    """The CLI in a child process with the air gap enforced: the corpus is read from the
    installed package and registration reaches only the local store."""
    import os
    import subprocess
    import sys

    uri, _, _ = public
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    done = subprocess.run(
        [sys.executable, "-m", "strongroom.cli", "pretrain", "--corpus", "mcc", "--preset",
         "tiny", "--steps", "1", "--batch-size", "2", "--max-seq-len", "64", "--device", "cpu",
         "--model-name", "pub"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "registered models:/pub/" in done.stdout and "iso18245" in done.stdout


def test_the_torchrun_entry_point_takes_init_from_and_the_store():
    from strongroom.config import given_options
    from strongroom.training.launch import build_parser

    args = build_parser().parse_args(
        ["--corpus", "c", "--out", "o", "--seal-key-file", "k", "--init-from", "pub/1",
         "--tracking-uri", "sqlite:///s.db"]
    )  # fmt: skip
    assert given_options(args, TrainSettings)["init_from"] == "pub/1"
    assert args.tracking_uri == "sqlite:///s.db"
