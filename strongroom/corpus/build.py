"""Build the training corpus: all of a person's records serialised to text, one example each.

The privacy unit is the person, so each person contributes exactly one example: one sequence, or
with `sequences_per_person` above 1 up to that many, split at record boundaries
(corpus/sequences.py); DP-SGD then samples per person and clips the sum of a person's sequences'
losses. Pseudonymous keys are left out of the text: they carry no meaning for the model and would
only invite memorisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from strongroom.corpus.canaries import make_canaries
from strongroom.corpus.sequences import PersonSequences, pack_person, stack_persons
from strongroom.errors import StrongroomError
from strongroom.records.contract import Contract, Treatment
from strongroom.records.io import read_strings, write_json
from strongroom.records.unit_ids import HELD_OUT_COLUMN
from strongroom.run_record.reports import CorpusReport

TRAIN_FILE = "train.npy"
EVAL_FILE = "eval.npy"
REPORT_JSON = CorpusReport.FILE  # the typed report owns its name


@dataclass(frozen=True)
class CorpusResult:
    units_train: int
    units_eval: int
    truncated: int  # persons whose history did not fit in sequences_per_person sequences
    max_seq_len: int
    canaries: int = 0  # planted (about half of them are among units_train)
    sequences_per_person: int = 1  # the cap: train.npy is [units, cap, T] when above 1
    records_cut: int = 0  # records of which some bytes were left out


def text_columns(contract: Contract) -> list[str]:
    """Columns that go into the text: everything kept or generalised, no keys, no dropped ones."""
    skip = (Treatment.DROP, Treatment.PSEUDONYMIZE)
    return [n for n, s in contract.columns.items() if s.treatment not in skip]


def record_lines(rows: pd.DataFrame, columns: list[str]) -> list[str]:
    """One line per record, `column: value` pairs separated by `; `."""
    lines = []
    for _, row in rows.iterrows():
        lines.append("; ".join(f"{c}: {row[c]}" for c in columns if row[c] is not None))
    return lines


def serialize_unit(rows: pd.DataFrame, columns: list[str]) -> str:
    """A person's records as one text, a line each."""
    return "\n".join(record_lines(rows, columns))


def tokens_per_person(persons: list[PersonSequences]) -> dict[str, float]:
    """Mean, median and max tokens a person holds in the corpus (counts, no one's value)."""
    counts = np.asarray([p.tokens for p in persons] or [0], dtype=np.float64)
    return {
        "mean": round(float(counts.mean()), 1),
        "median": float(np.median(counts)),
        "max": float(counts.max()),
    }


def _is_held_out(rows: pd.DataFrame, records_path: str | Path) -> bool:
    """De-identification decided the split per person (records/unit_ids.is_held_out), from the
    person and a split seed, not from the pseudonym: the same seed gives the same split under
    any key."""
    if HELD_OUT_COLUMN not in rows:
        raise StrongroomError(
            f"{Path(records_path).name}: no {HELD_OUT_COLUMN} column; de-identify the records "
            "again with this version"
        )
    return bool((rows[HELD_OUT_COLUMN] == "true").any())


def build_corpus(
    records_path: str | Path,
    contract: Contract,
    output_dir: str | Path,
    *,
    max_seq_len: int,
    canaries: int = 0,
    canary_rng: random.Random | None = None,
    sequences_per_person: int = 1,
) -> CorpusResult:
    """Write train.npy / eval.npy (int16 tokens, PAD-padded: [units, max_seq_len], or [units,
    sequences_per_person, max_seq_len] above 1) and a report.

    With `canaries`, that many fabricated persons are drawn (canaries.py); the included ones are
    appended to train.npy as persons like any other (one sequence each, the rest PAD), the draw
    is kept in canaries.npz."""
    cap = sequences_per_person
    frame = read_strings(records_path)
    columns = text_columns(contract)
    train: list[PersonSequences] = []
    held_out: list[PersonSequences] = []
    for _, rows in frame.groupby(contract.privacy_unit, sort=True):
        person = pack_person(record_lines(rows, columns), max_seq_len, cap)
        (held_out if _is_held_out(rows, records_path) else train).append(person)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    planted = make_canaries(
        contract, columns, count=canaries, max_seq_len=max_seq_len, rng=canary_rng
    )
    included = [[ids] for ids in planted.tokens[planted.included]]
    train_tokens = stack_persons([p.sequences for p in train] + included, max_seq_len, cap)
    np.save(output_dir / TRAIN_FILE, train_tokens)
    np.save(
        output_dir / EVAL_FILE, stack_persons([p.sequences for p in held_out], max_seq_len, cap)
    )
    if canaries:
        planted.save(output_dir)
    people = train + held_out
    result = CorpusResult(
        units_train=len(train_tokens),
        units_eval=len(held_out),
        truncated=sum(p.truncated for p in people),
        max_seq_len=max_seq_len,
        canaries=canaries,
        sequences_per_person=cap,
        records_cut=sum(p.records_cut for p in people),
    )
    write_json(output_dir / REPORT_JSON, _report(result, contract, columns, people, len(frame)))
    return result


def _report(
    result: CorpusResult,
    contract: Contract,
    columns: list[str],
    people: list[PersonSequences],
    records: int,
) -> dict[str, object]:
    """The corpus report: counts over real persons (train and held out, no canary)."""
    return {
        "privacy_unit": contract.privacy_unit,
        "units_train": result.units_train,
        "units_eval": result.units_eval,
        "truncated": result.truncated,
        "max_seq_len": result.max_seq_len,
        "canaries": result.canaries,
        "sequences_per_person": result.sequences_per_person,
        "records": records,
        "records_cut": result.records_cut,
        "sequences_used": sum(len(p.sequences) for p in people),
        "tokens_per_person": tokens_per_person(people),
        "text_columns": columns,
        "tokenizer": "bytes+pad/bos/eos (259)",
    }
