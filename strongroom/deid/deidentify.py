"""De-identify: drop, pseudonymise or generalise contract columns; redact free text.

After this step no direct identifier remains. A residual check looks for each row's own
identifier values in what is written; the count goes to the report (and the gate), the values never.
The privacy-unit column is brought to one canonical form before it is pseudonymised (unit_ids.py),
so one person is one unit however their identifier was typed.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from strongroom.deid.engine import DEFAULT_ENGINE, Engine
from strongroom.deid.near_miss import is_name_word, scrub_near_misses
from strongroom.deid.record_values import (
    clear_caches,
    english_words,
    fold,
    might_occur,
    scrub_known_values,
    value_spans,
)
from strongroom.deid.redact import redact_texts
from strongroom.deid.very_old import (
    aggregate_years,
    birth_years,
    birth_years_left,
    very_old_rows,
)
from strongroom.errors import StrongroomError
from strongroom.keys import load_hex_key
from strongroom.records.contract import ColumnSpec, Contract, Treatment
from strongroom.records.io import read_strings, write_strings
from strongroom.records.unit_ids import (
    HELD_OUT_COLUMN,
    is_held_out,
    merged_unit_values,
    normalize_unit_id,
)
from strongroom.run_record.reports import DeidReport

DEIDENTIFIED_FILE = "deidentified.parquet"
REPORT_JSON = DeidReport.FILE  # the typed report owns its name
KEY_ENV = "STRONGROOM_PSEUDONYM_KEY"  # hex key; on Kubeflow, from a Kubernetes Secret

# HIPAA Safe Harbor: 3-digit ZIP areas with 20,000 people or fewer become "000" (2000 census).
_RESTRICTED_ZIP3 = {
    "036", "059", "063", "102", "203", "556", "692", "790", "821",
    "823", "830", "831", "878", "879", "884", "890", "893",
}  # fmt: skip
_MIN_KNOWN_LENGTH = 3  # shorter values (initials) would redact ordinary words


@dataclass(frozen=True)
class DeidentifyResult:
    rows: int
    identifiers_removed: int  # identifier cells dropped or pseudonymised + text entities redacted
    residual_identifiers: int
    report: dict[str, Any]


def load_key(key_file: str | Path | None, *, create: bool = False) -> bytes:
    """The pseudonymisation key: $STRONGROOM_PSEUDONYM_KEY, else a key file (made if asked)."""
    return load_hex_key(key_file, env=KEY_ENV, what="pseudonymisation key", create=create)


def pseudonym(key: bytes, column: str, value: str) -> str:
    """Keyed HMAC-SHA256: stable within a key, not reversible or guessable without it."""
    digest = hmac.new(key, f"{column}\x1f{value}".encode(), hashlib.sha256).hexdigest()
    return digest[:24]


def generalize(treatment: Treatment, value: str | None) -> str | None:
    if value is None:
        return None
    if treatment == Treatment.YEAR:
        return value[:4]
    if treatment == Treatment.AGE_90:
        return "90+" if int(value) > 89 else str(int(value))
    if treatment == Treatment.ZIP3:
        return "000" if value[:3] in _RESTRICTED_ZIP3 else value[:3]
    raise ValueError(f"not a generalising treatment: {treatment}")


def _known_values(row: pd.Series, contract: Contract, *, very_old: bool = False) -> dict[str, str]:
    """This row's identifying strings (and the words of names), each mapped to a tag; for a
    person over 89, their birth year too (``very_old``)."""
    known: dict[str, str] = {}
    if very_old:
        known.update(dict.fromkeys(birth_years(row, contract), "<DATE_TIME>"))
    for name, spec in contract.columns.items():
        value = row[name]
        if spec.free_text or spec.treatment == Treatment.KEEP or not value:
            continue
        tag = f"<{spec.entity or name.upper()}>"  # typed: <PERSON>, <MEDICAL_RECORD_NUMBER>
        if len(value) >= _MIN_KNOWN_LENGTH:
            known[value] = tag
        for word in value.split():
            parts = [word, *word.split("-")] if "-" in word else [word]  # Mary-Jane: Mary, Jane
            for part in parts:
                if is_name_word(part) and len(part) >= _MIN_KNOWN_LENGTH:
                    known.setdefault(part, tag)
    return known


def scrub_record_values(text: str, known: dict[str, str]) -> tuple[str, int, int]:
    """A row's own identifier values replaced in its text: exact (however spaced), then
    misspelt. Returns the text and the two counts."""
    text, exact = scrub_known_values(text, known)
    text, misspelt = scrub_near_misses(text, known, english_words())
    return text, exact, misspelt


def _residuals(text: str | None, known: dict[str, str]) -> Counter[str]:
    """This row's identifier values still standing as whole words in `text`, counted by type."""
    if not isinstance(text, str) or not text:  # None, or NaN where pandas filled a gap
        return Counter()
    folded = fold(text)
    return Counter(
        tag.strip("<>")
        for value, tag in known.items()
        if len(value) >= 4 and might_occur(value, folded) and value_spans(value, text, folded)
    )


def _row_residuals(
    out: pd.Series, raw: pd.Series, known: dict[str, str], contract: Contract
) -> Counter[str]:
    """Residual identifiers in one written row.

    Free text is searched for every known value and every word of a name. Short structured
    columns only for whole values: a word match there is mostly coincidence (the customer John
    and the merchant "John Lewis"), a whole value (the name, the IBAN) is a leak.
    """
    raw_values = set(raw[contract.identifier_columns()])
    whole = {v: t for v, t in known.items() if v in raw_values}
    free = set(contract.free_text_columns())
    found: Counter[str] = Counter()
    for column in out.index:
        found.update(_residuals(out[column], known if column in free else whole))
    return found


def _pseudonyms(
    values: pd.Series, name: str, key: bytes, *, unit: ColumnSpec | None
) -> list[str | None]:
    """Pseudonyms of a column's values. `unit` is the spec of the privacy-unit column: its values
    are normalised first, since each spelling of one identifier would otherwise be its own DP
    unit. Other columns keep their exact values (validation checked them as they are)."""

    def canonical(value: str) -> str:
        return (
            value if unit is None else normalize_unit_id(value, case_sensitive=unit.case_sensitive)
        )

    return [None if v is None else pseudonym(key, name, canonical(v)) for v in values]


def _transform_columns(frame: pd.DataFrame, contract: Contract, key: bytes) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    for name, spec in contract.columns.items():
        t = spec.treatment
        if t == Treatment.DROP:
            continue
        if t == Treatment.PSEUDONYMIZE:
            unit = spec if name == contract.privacy_unit else None
            out[name] = _pseudonyms(frame[name], name, key, unit=unit)
        elif t == Treatment.KEEP:
            out[name] = frame[name]
        else:
            out[name] = [generalize(t, v) for v in frame[name]]
    return out


@dataclass(frozen=True)
class HeldOutSplit:
    """Which people are held out of training for evaluation (see unit_ids.is_held_out)."""

    eval_fraction: float = 0.1  # share of people held out
    split_seed: int = 0  # public: the same seed gives the same split under any key


DEFAULT_SPLIT = HeldOutSplit()


def _held_out_column(frame: pd.DataFrame, contract: Contract, split: HeldOutSplit) -> list[str]:
    spec = contract.columns[contract.privacy_unit]
    return [
        "true"
        if value is not None
        and is_held_out(
            normalize_unit_id(value, case_sensitive=spec.case_sensitive),
            split_seed=split.split_seed,
            eval_fraction=split.eval_fraction,
        )
        else "false"
        for value in frame[contract.privacy_unit]
    ]


def deidentify(
    records_path: str | Path,
    contract: Contract,
    output_dir: str | Path,
    *,
    key: bytes,
    split: HeldOutSplit = DEFAULT_SPLIT,
    shard: int = 0,
    shards: int = 1,
    processes: int = 0,
    engine: Engine = DEFAULT_ENGINE,
    today: date | None = None,
) -> DeidentifyResult:
    """De-identify validated records (rows shard, shard + shards, ...) into `output_dir`.

    Rows are independent here (a note is redacted with its own record's values, pseudonyms
    depend only on the key), so shards can run in parallel and be concatenated afterwards.
    `processes` > 1 analyses the free text in that many worker processes (each loads the
    spaCy model: a few hundred MB and seconds each; worth it from about ten thousand notes); 0,
    the default, starts as many as the notes repay and the CPUs allow (``engine.pool``).
    `engine`: ``fast`` (strongroom's batched analyzer) or ``presidio`` (Presidio's own), the
    same findings (``deid.engine``). `today` decides who is over 89 by birth date (``very_old``).
    """
    if not 0 <= shard < shards:
        raise StrongroomError(f"shard {shard} is not in 0..{shards - 1}")
    if HELD_OUT_COLUMN in contract.columns:
        raise StrongroomError(
            f"contract {contract.name}: column name {HELD_OUT_COLUMN} is reserved"
        )
    output_dir = Path(output_dir)
    frame = read_strings(records_path).iloc[shard::shards].reset_index(drop=True)
    out = _transform_columns(frame, contract, key)
    out[HELD_OUT_COLUMN] = _held_out_column(frame, contract, split)
    old = very_old_rows(frame, contract, today=today or date.today())
    aggregate_years(out, old, contract)  # Safe Harbor: no year that gives an age over 89 away
    known_per_row = [
        _known_values(row, contract, very_old=bool(is_old))
        for (_, row), is_old in zip(frame.iterrows(), old, strict=True)
    ]
    entity_counts: Counter[str] = Counter()
    known_hits, misspelt_hits, residual = 0, 0, Counter[str]()
    for column in contract.free_text_columns():
        scrubbed = []
        for text, known in zip(frame[column], known_per_row, strict=True):
            text, hits, near = scrub_record_values(text or "", known)
            known_hits, misspelt_hits = known_hits + hits, misspelt_hits + near
            scrubbed.append(text)
        redacted, counts = redact_texts(
            scrubbed,
            engine=engine,
            processes=processes,
            phone_regions=tuple(contract.phone_regions),
        )
        entity_counts.update(counts)
        out[column] = [
            r if t is not None else None for r, t in zip(redacted, frame[column], strict=True)
        ]
    for i, known in enumerate(known_per_row):
        residual.update(_row_residuals(out.iloc[i], frame.iloc[i], known, contract))
        if old.iloc[i]:  # a birth year left in a structured column gives an age over 89 away
            left = birth_years_left(out.iloc[i], birth_years(frame.iloc[i], contract), contract)
            residual.update({"DATE_TIME": left} if left else {})
    identifier_cells = int(frame[contract.identifier_columns()].notna().sum().sum())
    unit = contract.columns[contract.privacy_unit]
    merged = merged_unit_values(frame[contract.privacy_unit], case_sensitive=unit.case_sensitive)
    write_strings(out, output_dir / DEIDENTIFIED_FILE)
    report = DeidReport(
        contract=contract.name,
        rows=len(frame),
        columns_dropped=[n for n, s in contract.columns.items() if s.treatment == "drop"],
        columns_pseudonymized=[
            n for n, s in contract.columns.items() if s.treatment == "pseudonymize"
        ],
        columns_generalized={
            n: s.treatment.value
            for n, s in contract.columns.items()
            if s.treatment in (Treatment.YEAR, Treatment.AGE_90, Treatment.ZIP3)
        },
        identifier_cells_removed=identifier_cells,
        # distinct raw spellings of the privacy unit that became one person with another: a
        # count, never the values (summed over shards: spellings in different shards not seen)
        unit_values_merged=merged,
        known_values_scrubbed_from_text=known_hits,
        misspelt_values_scrubbed_from_text=misspelt_hits,  # near_miss: "Jonh" for John
        text_entities_redacted=dict(sorted(entity_counts.items())),
        residual_identifiers=sum(residual.values()),
        residual_identifiers_by_type=dict(sorted(residual.items())),  # counts, never values
    )
    report.write(output_dir)
    clear_caches()  # the patterns hold this shard's identifier values
    return DeidentifyResult(
        len(frame), report.identifiers_removed, report.residual_identifiers, report.model_dump()
    )
