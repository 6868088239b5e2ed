"""A run's parameters, defined once and grouped: records / privacy / training / release.

`strongroom run CONFIG.yaml` reads them, the pipeline takes each group as one KFP struct
parameter, every component validates its group with the same model, and the torchrun entry point
derives its options from the privacy and training groups. Adding an option means adding a field
here (or in the group's own model) and using it, nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from strongroom.config import load_yaml_model
from strongroom.privacy.plan import PrivacyParams
from strongroom.training.settings import TrainSettings


class RecordsParams(BaseModel):
    """The `records` group: where the records are, their contract, how they become examples."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="CSV / Parquet / JSONL file or folder of parts; s3://, gs://")
    contract: str = Field(default="hospital_encounters", description="built-in name or YAML")
    encoding: str = Field(default="utf-8", description="CSV and JSON Lines text encoding")
    csv_delimiter: str = Field(default="", description="default: comma, or tab for .tsv")
    key_file: str = Field(
        default="", description="pseudonymisation key; default <run dir>/pseudonym.key"
    )
    deid_shards: int = Field(default=1, ge=1, description="de-identification fan-out")
    max_seq_len: int = Field(default=512, ge=16, description="bytes per person's example")
    sequences_per_person: int = Field(
        default=1,
        ge=1,
        le=64,
        description="up to this many max_seq_len sequences a person, split at record boundaries "
        "(more of each history trained on); a person is still sampled once and clipped once, "
        "over the sum of their sequences' losses: the guarantee does not change",
    )
    eval_fraction: float = Field(default=0.1, gt=0, lt=1, description="people held out")
    deid_engine: Literal["fast", "presidio"] = Field(
        default="fast",
        description="free-text analyzer: strongroom's batched one, or stock Presidio",
    )
    split_seed: int = Field(
        default=0, ge=0, description="seed of the held-out split (public; independent of the key)"
    )
    canaries: int = Field(
        default=128,
        ge=0,
        le=100_000,
        description="fabricated persons planted for the privacy audit, each trained on with "
        "probability 1/2 (counted in N); 0: no audit of the guarantee",
    )


class ReleaseParams(BaseModel):
    """The `release` group: where the model is registered and which policy gates it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_name: str = Field(default="strongroom-hospital", description="registered model")
    policy: str = Field(default="hipaa", description="built-in name or YAML path")
    tracking_uri: str = Field(
        default="", description="default $MLFLOW_TRACKING_URI, else SQLite in the run directory"
    )
    seal_key_file: str = Field(
        default="",
        description="private key that signs what ran (training, registration); default "
        "<run dir>/seal.key",
    )
    seal_public_key_file: str = Field(
        default="", description="public key the gate verifies with; default <seal key file>.pub"
    )

    @property
    def verify_key_file(self) -> str:
        """The public key file the gate reads."""
        if self.seal_public_key_file or not self.seal_key_file:
            return self.seal_public_key_file
        return f"{self.seal_key_file}.pub"


class RunParams(BaseModel):
    """Everything `strongroom run CONFIG.yaml` takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    records: RecordsParams
    privacy: PrivacyParams = PrivacyParams()
    training: TrainSettings = TrainSettings()
    release: ReleaseParams = ReleaseParams()

    @model_validator(mode="after")
    def _several_sequences_need_book_keeping(self) -> RunParams:
        # Opacus' ghost clipping would clip each sequence alone (sensitivity k C, not C)
        if self.records.sequences_per_person > 1 and self.training.clipping != "book_keeping":
            raise ValueError("sequences_per_person > 1 needs clipping book_keeping")
        return self

    def groups(self) -> dict[str, dict[str, Any]]:
        """The four groups as plain dicts: the pipeline's struct parameters. KFP structs hold no
        null, so unset options (None, every such field's default) are left out."""
        return {
            name: getattr(self, name).model_dump(exclude_none=True)
            for name in type(self).model_fields
        }


def load_params(path: str | Path) -> RunParams:
    return load_yaml_model(path, RunParams)
