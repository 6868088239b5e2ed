"""`strongroom synthesize`: synthetic records from a gated, approved model version.

Order of trust: `verify` first (the alias, the approval, the organisation's policy now); then
the version's sealed facts (release.checked_facts: epsilon recomputed from the sealed mechanism,
never the editable tags); then the weights, whose sha256 must be the sealed one. Sampling is
post-processing of the DP model, so the records carry its (epsilon, delta) per privacy unit,
which the output's metadata states. Records are sampled person by person until `n` of them
parse and pass the released contract; every generated record is counted, refused ones too.
Tests: tests/synthesis/test_run.py.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from strongroom.corpus.build import text_columns
from strongroom.errors import GateError, StrongroomError
from strongroom.model.artifact import load_decoder
from strongroom.records.contract import Contract, load_contract
from strongroom.records.io import read_strings
from strongroom.records.unit_ids import HELD_OUT_COLUMN
from strongroom.run_record.facts import Facts
from strongroom.run_record.seal import file_sha256
from strongroom.synthesis.checks import check_records
from strongroom.synthesis.decoding import Counts, Settings, generate
from strongroom.synthesis.fidelity import fidelity
from strongroom.synthesis.grammar import ROOM_FACTOR, Grammar
from strongroom.synthesis.record_text import RecordParser
from strongroom.synthesis.released import not_checked, released_contract

log = logging.getLogger(__name__)
METADATA_KEY = b"strongroom.synthesis"
CONSTRAINED = (
    "column names, order and separators forced; each value's bytes held to its released "
    "column's shape (allowed set, pattern, named format, type with the contract's numeric range "
    "or calendar dates); text-ordered pair checks held against the record's earlier value; "
    "every record ends within the model's context (a free-text value is closed where the "
    "context left holds only the rest of the record); a new record only while the context left "
    f"holds {ROOM_FACTOR}x the person's longest record. Not constrained: which values, check "
    "digits, user expectations, numeric pairs, age checks, the words of free text"
)
MAX_ROUNDS = 20


@dataclass(frozen=True)
class Request:
    tracking_uri: str
    ref: str  # MODEL@ALIAS
    n: int
    out: str
    reference: str | None = None
    seed: int | None = None
    policy: str = "hipaa"
    seal_public_key_file: str = ""
    guided: bool = True
    settings: Settings = field(default_factory=Settings)


@dataclass
class Tally:
    persons: int = 0
    persons_complete: int = 0
    records_generated: int = 0
    records_parsed: int = 0
    records_valid: int = 0
    parse_failures: dict[str, int] = field(default_factory=dict)
    unexpected: dict[str, int] = field(default_factory=dict)


def _approved_version(req: Request) -> tuple[str, str, Facts]:
    """(model, version, sealed facts), or GateError saying why synthesis is refused."""
    from strongroom.governance.approval import split_alias_ref, verify
    from strongroom.release import checked_facts
    from strongroom.run_record.seal import load_verify_key

    name, alias = split_alias_ref(req.ref)
    result = verify(
        req.tracking_uri,
        name,
        alias,
        policy=req.policy,
        seal_public_key_file=req.seal_public_key_file,
    )
    if not result.ok:
        raise GateError(f"{req.ref} does not verify, no synthesis: " + "; ".join(result.problems))
    key = load_verify_key(req.seal_public_key_file)
    facts, problems = checked_facts(req.tracking_uri, name, result.version, key)
    if facts is None or problems:
        raise GateError(f"{name}/{result.version}: sealed record not trusted: {problems}")
    return name, result.version, facts


def _load_weights(tracking_uri: str, name: str, version: str, facts: Facts, scratch: str) -> Any:
    """The version's decoder; its weights file must hash to the sealed `model.sha256`."""
    import mlflow

    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    local = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=client.get_model_version_download_uri(name, version),
            dst_path=scratch,
            tracking_uri=client.tracking_uri,  # not the process-wide one (mlflow-artifacts:/)
        )
    )
    for path in sorted(local.rglob("*.pt")):
        if file_sha256(path) == facts.model.sha256:
            return load_decoder(path), client.get_model_version(name, version).run_id
    raise GateError(f"{name}/{version}: no weights file matches the sealed model.sha256")


def _metadata(name: str, version: str, req: Request, facts: Facts) -> dict[str, Any]:
    from strongroom.governance.approval import split_alias_ref

    p = facts.privacy
    return {
        "model": name,
        "version": version,
        "alias": split_alias_ref(req.ref)[1],
        "epsilon": p.epsilon,
        "delta": p.delta,
        "privacy_unit": p.unit_kind,
        "unit_name": p.unit_name,
        "secure_rng": p.secure_rng,
        "contract": facts.data.contract,
        "guarantee": (
            f"({p.epsilon:.4g}, {p.delta:g})-DP per {p.unit_name} ({p.unit_kind}): sampling from "
            "the DP-trained model is post-processing; read from the version's sealed record"
        ),
        "generated_at": datetime.now(UTC).isoformat(),
        "format_guided": req.guided,
    }


def _records(
    texts: list[Any], parser: RecordParser, tally: Tally, unit: str, key: str
) -> list[dict[str, Any]]:
    out = []
    for g in texts:
        person = tally.persons
        tally.persons += 1
        tally.persons_complete += g.complete
        parsed = parser.parse(g.text, complete=g.complete)
        tally.records_generated += parsed.lines
        for reason in parsed.failures:
            tally.parse_failures[reason] = tally.parse_failures.get(reason, 0) + 1
        for k, record in enumerate(parsed.records):
            out.append({unit: f"syn-{person:07d}", key: f"syn-{person:07d}-{k:03d}", **record})
    tally.records_parsed += len(out)
    return out


def records_frame(
    texts: list[Any], parser: RecordParser, tally: Tally, released: Contract
) -> pd.DataFrame:
    """The records of persons' texts as the released contract's columns (None for missing),
    counted in `tally`."""
    rows = _records(texts, parser, tally, released.privacy_unit, released.primary_key)
    frame = pd.DataFrame(rows, columns=list(released.columns))
    return frame.astype(object).where(frame.notna(), None)


def sample_valid(
    model: Any, contract: Contract, req: Request, workdir: Path, generator: torch.Generator
) -> tuple[pd.DataFrame, Tally, Counts]:
    """Persons sampled, parsed and validated in rounds until `req.n` records pass."""
    released = released_contract(contract)
    columns = text_columns(contract)
    parser = RecordParser(columns)
    grammar = Grammar(released, columns) if req.guided else None
    tally, counts, kept = Tally(), Counts(), []
    per_person = 1.0  # valid records per person, re-estimated after each round
    for round_ in range(MAX_ROUNDS):
        missing = req.n - sum(len(k) for k in kept)
        persons = max(8, math.ceil(1.2 * missing / max(per_person, 0.05)))
        persons = min(persons, 20 * req.n)
        texts = generate(
            model,
            persons,
            settings=req.settings,
            generator=generator,
            grammar=grammar,
            counts=counts,
        )
        frame = records_frame(texts, parser, tally, released)
        checked = check_records(frame, released, workdir / f"round-{round_}")
        for label, count in checked.unexpected.items():
            tally.unexpected[label] = tally.unexpected.get(label, 0) + count
        valid = frame[checked.passed.to_numpy(bool)] if len(frame) else frame
        tally.records_valid += len(valid)
        kept.append(valid)
        per_person = tally.records_valid / max(tally.persons, 1)
        log.info(
            "synthesis: %d of %d valid records after %d persons",
            tally.records_valid,
            req.n,
            tally.persons,
        )
        if tally.records_valid >= req.n:
            break
    records = pd.concat(kept, ignore_index=True).head(req.n)
    return records, tally, counts


def _write_records(records: pd.DataFrame, out: Path, metadata: dict[str, Any]) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".parquet":
        table = pa.Table.from_pandas(
            records,
            schema=pa.schema([(c, pa.string()) for c in records.columns]),
            preserve_index=False,
        )
        table = table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata).encode()})
        pq.write_table(table, out)
    elif out.suffix == ".csv":
        records.to_csv(out, index=False)
    else:
        raise StrongroomError(f"{out.name}: write .parquet or .csv")
    # beside the file too: CSV has no place for it, and a reader sees it without pyarrow
    Path(f"{out}.metadata.json").write_text(json.dumps(metadata, indent=2))


def read_reference(path: str, contract: Contract) -> tuple[pd.DataFrame, str]:
    """Held-out de-identified records: refused if a column de-identification drops is there."""
    frame = (
        read_strings(path)
        if path.endswith(".parquet")
        else pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)
    )
    raw = [
        c
        for c in contract.identifier_columns()
        if c in frame.columns and c not in (contract.privacy_unit, contract.primary_key)
    ]
    if raw:
        raise StrongroomError(
            f"reference holds column(s) {raw} that de-identification drops: pass de-identified records"
        )
    if HELD_OUT_COLUMN in frame.columns:
        return frame[frame[HELD_OUT_COLUMN] == "true"], "held-out rows (_held_out == true)"
    return frame, f"all rows (no {HELD_OUT_COLUMN} column: the caller vouches they were held out)"


def synthesize(req: Request) -> dict[str, Any]:
    """Verify, sample, validate, write the records and the report; log the report to MLflow."""
    if req.n < 1:
        raise StrongroomError("--n must be 1 or more")
    name, version, facts = _approved_version(req)
    contract = load_contract(facts.data.contract)
    seed = req.seed if req.seed is not None else secrets.randbits(63)
    generator = torch.Generator().manual_seed(seed)
    out = Path(req.out)
    with tempfile.TemporaryDirectory() as scratch:
        model, run_id = _load_weights(req.tracking_uri, name, version, facts, scratch)
        records, tally, counts = sample_valid(model, contract, req, Path(scratch), generator)
    metadata = _metadata(name, version, req, facts)
    _write_records(records, out, metadata)
    report = _report(req, metadata, tally, counts, contract, model.cfg.max_seq_len, len(records))
    if req.reference:
        real, which = read_reference(req.reference, contract)
        report["fidelity"] = fidelity(records, real, released_contract(contract), contract)
        report["fidelity"]["reference"] = which
    paths = _write_report(report, out)
    from strongroom.tracking.registry import store_client

    client = store_client(req.tracking_uri)
    for path in paths:
        client.log_artifact(run_id, str(path), "synthesis")
    return report


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _report(
    req: Request,
    metadata: dict[str, Any],
    tally: Tally,
    counts: Counts,
    contract: Contract,
    max_len: int,
    written: int,
) -> dict[str, Any]:
    return {
        "metadata": metadata,
        "requested": req.n,
        "written": written,
        "persons_sampled": tally.persons,
        # with EOS: the model's or, guided, one the context forced (values_closed_at_context)
        "persons_ended": tally.persons_complete,
        "records_generated": tally.records_generated,
        "records_parsed": tally.records_parsed,
        "records_valid": tally.records_valid,
        "parse_share": _share(tally.records_parsed, tally.records_generated),
        "valid_share": _share(tally.records_valid, tally.records_generated),
        "valid_share_of_parsed": _share(tally.records_valid, tally.records_parsed),
        "rejected_records": tally.records_generated - tally.records_valid,
        "parse_failures": tally.parse_failures,
        "failed_expectations": tally.unexpected,
        "not_checked": not_checked(contract),
        "sampling": {
            **asdict(req.settings),
            "context_tokens": max_len,
            "seeded": req.seed is not None,
            "format_guided": req.guided,
            "constrained": CONSTRAINED if req.guided else "nothing: free sampling from BOS",
            "tokens_drawn": counts.drawn,
            "tokens_forced": counts.forced,
            "draws_refused_by_format": counts.refused,
            "values_closed_at_context": counts.closed,
            "values_relaxed_to_shape": counts.relaxed,
        },
    }


def summary(report: dict[str, Any]) -> str:
    m = report["metadata"]
    lines = [
        f"{m['model']}/{m['version']} (@{m['alias']}): {m['guarantee']}",
        f"records: {report['written']} written of {report['requested']} requested; "
        f"{report['records_generated']} generated by {report['persons_sampled']} sampled persons",
        f"parsed {report['parse_share']:.1%}, passed the contract {report['valid_share']:.1%} "
        f"of generated ({report['valid_share_of_parsed']:.1%} of parsed); "
        f"{report['rejected_records']} rejected",
        f"format: {report['sampling']['constrained']}",
        f"persons ended {report['persons_ended']} of {report['persons_sampled']}; free-text values "
        f"closed at the context {report['sampling']['values_closed_at_context']}, relaxed to "
        f"their shape {report['sampling']['values_relaxed_to_shape']}",
    ]
    if report["parse_failures"]:
        lines.append(f"parse failures: {report['parse_failures']}")
    if report["failed_expectations"]:
        lines.append(f"failed expectations (rows): {report['failed_expectations']}")
    fid = report.get("fidelity")
    if fid:
        for name, entry in fid["columns"].items():
            measure = {k: v for k, v in entry.items() if k in ("tvd", "ks", "length_ks")}
            lines.append(
                f"  {name:<16} {entry['kind']:<11} "
                + " ".join(
                    f"{k} {v:.3f}" if v is not None else f"{k} -" for k, v in measure.items()
                )
            )
        for pair in fid["pairs"]:
            syn, real = pair["cramers_v_synthetic"], pair["cramers_v_real"]
            if syn is not None and real is not None:
                lines.append(
                    f"  V({pair['columns'][0]}, {pair['columns'][1]}) synthetic {syn:.3f} real {real:.3f}"
                )
    return "\n".join(lines)


def _write_report(report: dict[str, Any], out: Path) -> list[Path]:
    json_path = out.with_name(f"{out.stem}.synthesis_report.json")
    json_path.write_text(json.dumps(report, indent=2))
    text_path = out.with_name(f"{out.stem}.synthesis_report.txt")
    text_path.write_text(summary(report) + "\n")
    return [json_path, text_path]
