"""Starting weights trained on public text only: registered by `strongroom pretrain`, read back
by DP training (training.init_from) after checks.

A public model is a registered model version whose tags (`public.*`, PublicModelFacts) say what
it was trained on: the corpus, the package and version that shipped it, the text's sha256, the
preset, steps and tokens, and `public.only: true`. Its weights are a plain checkpoint
({"config", "state_dict"}) in the version's artifact, fingerprinted in the tags. Training refuses
a version without those tags (not marked public), whose weights differ from the fingerprint, or
whose architecture is not the run's preset. Starting from it costs no privacy: it never saw a
record, so DP-SGD's accounting is unchanged. Tests: tests/tracking/test_public_model.py.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, ValidationError

from strongroom.errors import StrongroomError
from strongroom.model.config import GemmaConfig
from strongroom.run_record.evidence import tag_value
from strongroom.run_record.seal import file_sha256
from strongroom.tracking.registry import Registered, store_client, use_store

TAG_PREFIX = "public."
ARTIFACT_DIR = "public_model"  # the version's artifact: the checkpoint below
WEIGHTS_FILE = "model.pt"
# Architecture only: a run's max_seq_len is its corpus's, and RoPE tables are not weights.
_NOT_ARCHITECTURE = ("max_seq_len",)


class PublicModelFacts(BaseModel):
    """What a public model version records (as `public.<name>` tags), and training checks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    only: bool  # trained on public text only: no record, no private data
    corpus: str  # corpus/public.py name: icd10cm, mcc, file:NAME
    package: str  # the distribution that shipped the text ("" for a user's file)
    package_version: str
    corpus_sha256: str  # of the text trained on (PublicCorpus.sha256)
    preset: str  # strongroom.model.config preset
    model_config_json: str  # GemmaConfig as JSON: what training compares its own with
    steps: int
    batch_size: int
    examples: int  # packed examples of max_seq_len tokens
    tokens: int  # non-padding target tokens trained on (all steps)
    learning_rate: float
    seconds: float  # wall time of the training steps
    weights_sha256: str  # of the checkpoint file in the version's artifact

    def tags(self) -> dict[str, str]:
        return {TAG_PREFIX + k: tag_value(v) for k, v in self.model_dump().items()}


@dataclass(frozen=True)
class StartingWeights:
    """A checked public model's weights and where they came from (sealed with the DP run)."""

    state_dict: dict[str, torch.Tensor]
    provenance: dict[str, str]  # model, version, corpus, package, package_version, sha256s
    file: Path  # the checkpoint as registered (its sha256 is provenance["weights_sha256"])


def public_description(model_name: str, facts: PublicModelFacts) -> str:
    package = f"{facts.package} {facts.package_version}" if facts.package else "a user's file"
    return (
        f"{model_name}: a non-private starting model trained on public text only "
        f"(`{facts.corpus}`, shipped in {package}, sha256 `{facts.corpus_sha256[:12]}`), "
        f"{facts.steps} steps, {facts.tokens} tokens, preset {facts.preset}. It has seen no "
        "record and carries no private data; DP runs may start from it (training.init_from) "
        "at no privacy cost. Not for serving."
    )


def register_public_model(
    *, tracking_uri: str, model_name: str, checkpoint: Path, facts: PublicModelFacts
) -> Registered:
    """Log the checkpoint to a run and register it as a new version tagged with `facts`."""
    import mlflow

    use_store(tracking_uri)
    client = mlflow.MlflowClient()
    _public_name(client, model_name)  # before anything is logged
    with mlflow.start_run(run_name=f"{model_name}-pretrain") as run:
        mlflow.set_tags(facts.tags())
        mlflow.log_params({k: v for k, v in facts.model_dump().items() if k != "model_config_json"})
        mlflow.log_artifact(str(checkpoint), artifact_path=ARTIFACT_DIR)
    source = f"{run.info.artifact_uri}/{ARTIFACT_DIR}"
    mv = client.create_model_version(model_name, source, run_id=run.info.run_id, tags=facts.tags())
    description = public_description(model_name, facts)
    client.update_model_version(model_name, mv.version, description=description)
    client.update_registered_model(model_name, description=description)
    return Registered(
        model_name, str(mv.version), run.info.run_id, f"models:/{model_name}/{mv.version}"
    )


def _public_name(client: Any, model_name: str) -> None:
    """`model_name` registered, holding public versions only: a DP model's name would mix
    versions the gate governs with ones it cannot read."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(model_name)
    except MlflowException:  # not registered yet
        client.create_registered_model(model_name)
        return
    versions = client.search_model_versions(f"name='{model_name}'")
    if any(TAG_PREFIX + "only" not in mv.tags for mv in versions):
        raise StrongroomError(
            f"{model_name} holds versions not trained on public text: choose another model name"
        )


def split_model_ref(ref: str) -> tuple[str, str, str]:
    """(name, version, alias) of models:/NAME/VERSION, models:/NAME@ALIAS, NAME/VERSION or
    NAME@ALIAS; exactly one of version and alias is set."""
    body = ref.removeprefix("models:/")
    name, sep, alias = body.rpartition("@")
    if sep and name and alias:
        return name, "", alias
    name, sep, version = body.rpartition("/")
    if sep and name and version:
        return name, version, ""
    raise StrongroomError(
        f"init_from {ref!r}: expected models:/NAME/VERSION, models:/NAME@ALIAS, NAME/VERSION "
        "or NAME@ALIAS"
    )


def starting_weights(
    *, tracking_uri: str, ref: str, config: GemmaConfig, preset: str, into: Path
) -> StartingWeights:
    """The weights of public model `ref`, copied to the file `into`; refused (StrongroomError,
    saying why) unless its record reads, it is marked public, its weights are the ones recorded
    and it is `preset` with `config`'s architecture."""
    from mlflow.exceptions import MlflowException

    name, version, alias = split_model_ref(ref)
    client = store_client(tracking_uri)
    try:
        mv = (
            client.get_model_version_by_alias(name, alias)
            if alias
            else client.get_model_version(name, version)
        )
        facts = _public_facts(ref, mv.tags)
        _download(client, name, str(mv.version), into)
    except MlflowException as error:
        raise StrongroomError(
            f"init_from {ref}: cannot read the model's record in the store ({error.error_code})"
        ) from None
    if file_sha256(into) != facts.weights_sha256:
        raise StrongroomError(f"init_from {ref}: its weights differ from its public record")
    data = torch.load(into, map_location="cpu", weights_only=True)
    _check_architecture(ref, facts, GemmaConfig.from_dict(data["config"]), config, preset)
    provenance = {
        "model": name,
        "version": str(mv.version),
        "corpus": facts.corpus,
        "package": facts.package,
        "package_version": facts.package_version,
        "corpus_sha256": facts.corpus_sha256,
        "weights_sha256": facts.weights_sha256,
    }
    return StartingWeights(state_dict=data["state_dict"], provenance=provenance, file=into)


def _public_facts(ref: str, tags: dict[str, str]) -> PublicModelFacts:
    raw = {k.removeprefix(TAG_PREFIX): v for k, v in tags.items() if k.startswith(TAG_PREFIX)}
    if not raw:
        raise StrongroomError(
            f"init_from {ref}: not marked public (no {TAG_PREFIX}* record): only a model made "
            "by `strongroom pretrain` on public text may start a DP run"
        )
    try:
        facts = PublicModelFacts.model_validate({k: _decoded(k, v) for k, v in raw.items()})
    except ValidationError:
        raise StrongroomError(
            f"init_from {ref}: its public record ({TAG_PREFIX}* tags) is not in the expected form"
        ) from None
    if facts.only is not True:
        raise StrongroomError(f"init_from {ref}: not marked public ({TAG_PREFIX}only is false)")
    return facts


def _decoded(name: str, value: str) -> Any:
    """A tag's value as tag_value wrote it: strings as they are, the rest as JSON."""
    info = PublicModelFacts.model_fields.get(name)
    if info is None or info.annotation is str:
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def _download(client: Any, name: str, version: str, into: Path) -> None:
    import mlflow

    with tempfile.TemporaryDirectory() as scratch:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=client.get_model_version_download_uri(name, version),
                dst_path=scratch,
                tracking_uri=client.tracking_uri,  # not the process-wide one
            )
        )
        weights = local / WEIGHTS_FILE if local.is_dir() else local
        if not weights.is_file():
            raise StrongroomError(f"{name}/{version}: no {WEIGHTS_FILE} in its artifact")
        into.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(weights, into)


def _check_architecture(
    ref: str, facts: PublicModelFacts, saved: GemmaConfig, config: GemmaConfig, preset: str
) -> None:
    if facts.preset != preset:
        raise StrongroomError(
            f"init_from {ref}: trained as preset {facts.preset}, this run is preset {preset}"
        )
    recorded = GemmaConfig.from_dict(json.loads(facts.model_config_json))
    if not _architecture(saved) == _architecture(recorded) == _architecture(config):
        raise StrongroomError(
            f"init_from {ref}: another architecture than this run's preset {preset}"
        )


def _architecture(config: GemmaConfig) -> dict[str, Any]:
    return {k: v for k, v in config.to_dict().items() if k not in _NOT_ARCHITECTURE}
