"""Typed stage reports: each owns its file name, its load and its write (counts, never values).

The library stages write them; `facts.py` reads them into the one `Facts` a card, a tag, a
policy and the summary read. Fields a report does not declare are kept (extra="allow") so that
detailed sections (per-expectation results, per-step logs) travel with it untyped.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

from strongroom.errors import StrongroomError


class Report(BaseModel):
    model_config = ConfigDict(extra="allow")

    FILE: ClassVar[str]

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """The report in `directory`; StrongroomError naming the file when it is missing or not
        a report of this kind (never its content)."""
        path = Path(directory) / cls.FILE
        try:
            return cls.model_validate(json.loads(path.read_text()))
        except FileNotFoundError:
            raise StrongroomError(f"{path}: not found (is it a stage's output folder?)") from None
        except (OSError, ValueError) as error:  # pydantic's ValidationError is a ValueError
            kind = type(error).__name__
            raise StrongroomError(f"{path}: not a valid {cls.__name__} ({kind})") from None

    def write(self, directory: str | Path) -> Path:
        path = Path(directory) / self.FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True))
        return path


class ValidationReport(Report):
    FILE: ClassVar[str] = "validation_report.json"

    contract: str
    success: bool
    rows_in: int
    rows_ok: int
    rows_quarantined: int
    source_rows_in: int  # rows read by ingest
    ingest_rows_quarantined: int  # rows ingest could not parse
    source_sha256: str  # fingerprint of the records: the ledger's data key
    sources: list[Any] = []


class DeidReport(Report):
    FILE: ClassVar[str] = "deidentify_report.json"

    contract: str
    rows: int
    identifier_cells_removed: int
    known_values_scrubbed_from_text: int
    misspelt_values_scrubbed_from_text: int = 0
    text_entities_redacted: dict[str, int] = {}
    residual_identifiers: int
    residual_identifiers_by_type: dict[str, int] = {}
    unit_values_merged: int = 0  # raw unit ids that normalised onto another: one person
    source_sha256: str = ""  # the records' fingerprint (validation's), carried to training

    @classmethod
    def merged(cls, shards: list[DeidReport]) -> DeidReport:
        """The shards' reports added up (unit_values_merged: spellings of one person that fell
        into different shards are not counted; their pseudonyms are the same all the same)."""
        first = shards[0]
        summed = {
            name: sum(getattr(r, name) for r in shards)
            for name in (
                "rows", "identifier_cells_removed", "known_values_scrubbed_from_text",
                "misspelt_values_scrubbed_from_text", "residual_identifiers", "unit_values_merged",
            )
        }  # fmt: skip
        counted = {
            name: dict(sorted(sum((Counter(getattr(r, name)) for r in shards), Counter()).items()))
            for name in ("text_entities_redacted", "residual_identifiers_by_type")
        }
        return first.model_copy(update={**summed, **counted, "shards": len(shards)})

    @property
    def identifiers_removed(self) -> int:
        return (
            self.identifier_cells_removed
            + self.known_values_scrubbed_from_text
            + self.misspelt_values_scrubbed_from_text
            + sum(self.text_entities_redacted.values())
        )


class CorpusReport(Report):
    FILE: ClassVar[str] = "corpus_report.json"

    privacy_unit: str
    units_train: int
    units_eval: int
    truncated: int  # persons whose history did not fit in sequences_per_person sequences
    max_seq_len: int
    canaries: int = 0  # fabricated persons planted for the audit (units_train holds the included)
    sequences_per_person: int = 1  # the cap on a person's sequences (reports before it: 1)
    records: int | None = None  # records serialised (None: a report written before the count)
    records_cut: int | None = None  # records of which some bytes were left out
    tokens_per_person: dict[str, float] = {}  # mean / median / max tokens a person holds
    source_sha256: str = ""  # the records' fingerprint, carried from validation to training


class TrainReport(Report):
    """What training did; `evidence` is the sealed part the gate trusts (run_record/evidence.py)."""

    FILE: ClassVar[str] = "train_report.json"

    evidence: dict[str, Any]  # sealed: mechanism, epsilons, secure_rng, fingerprints
    model_preset: str
    parameters: int
    learning_rate: float
    reference_learning_rate: float | None = None  # the reference's rate (None: learning_rate)
    clipping: str = "ghost"  # TrainSettings.clipping (reports written before it: ghost)
    mixed_precision: str = "off"  # bf16 autocast of the forward and backward (clipping float32)
    seconds: float
    steps: dict[str, Any]  # per-step log: stays in the pipeline's artifacts, not in MLflow


class EvalReport(Report):
    FILE: ClassVar[str] = "eval_report.json"

    loss: float  # mean over held-out persons of each one's loss per token (nats per byte)
    token_loss: float  # over all of a person's sequences, however many (training/evaluate.py)
    perplexity: float
    units: int
    # records the model writes, sampled freely (synthesis/format_check.py); None: not checked
    records_written: int | None = None
    records_parsed: int | None = None  # parse into the contract's columns
    records_valid: int | None = None  # and pass the released contract's expectations
    sequences_per_person: int = 1  # the corpus' cap: held-out persons scored on up to this many


class AuditReport(Report):
    """What the audit measured; `evidence` is sealed by the audit step (run_record/evidence.py):
    its facts, the delta it tested and the fingerprints of the weights and corpus it audited."""

    FILE: ClassVar[str] = "audit_report.json"

    evidence: dict[str, Any]
    seconds: float


class ReferenceReport(Report):
    """The non-private reference run (training/reference.py): trained or not, and its held-out
    figures. Exact statistics of the private people, without DP: they stay among the pipeline's
    artifacts; registration publishes them rounded (facts.reference_facts)."""

    FILE: ClassVar[str] = "reference_report.json"

    trained: bool  # false: the run did not ask for a reference (training.reference)
    loss: float | None = None  # mean per-person held-out loss (nats per byte), as EvalReport
    token_loss: float | None = None
    perplexity: float | None = None
    units: int | None = None  # held-out people scored
    steps: int | None = None  # the DP run's steps, as sealed
    batch_size: int | None = None  # the DP plan's expected batch, as a fixed batch
    learning_rate: float | None = None
    model_preset: str | None = None
    corpus_sha256: str | None = None  # the token tensor trained on: the DP run's
    records_written: int | None = None  # as EvalReport, same persons and seed
    records_parsed: int | None = None
    records_valid: int | None = None
    seconds: float | None = None
    init_weights_sha256: str | None = (
        None  # the public starting weights (the DP run's); None: random
    )
