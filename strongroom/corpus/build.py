"""Build the training corpus: all of a person's records serialised to one text, one example each.

The privacy unit is the person, so each person contributes exactly one example; DP-SGD then clips
and samples per person. Pseudonymous keys are left out of the text: they carry no meaning for the
model and would only invite memorisation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from strongroom.corpus.canaries import make_canaries
from strongroom.corpus.tokenizer import encode, pad_batch
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
    truncated: int  # examples cut at max_seq_len
    max_seq_len: int
    canaries: int = 0  # planted (about half of them are among units_train)


def text_columns(contract: Contract) -> list[str]:
    """Columns that go into the text: everything kept or generalised, no keys, no dropped ones."""
    skip = (Treatment.DROP, Treatment.PSEUDONYMIZE)
    return [n for n, s in contract.columns.items() if s.treatment not in skip]


def serialize_unit(rows: pd.DataFrame, columns: list[str]) -> str:
    """One line per record, `column: value` pairs separated by `; `."""
    lines = []
    for _, row in rows.iterrows():
        lines.append("; ".join(f"{c}: {row[c]}" for c in columns if row[c] is not None))
    return "\n".join(lines)


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
) -> CorpusResult:
    """Write train.npy / eval.npy ([units, max_seq_len] int16 tokens, PAD-padded) and a report.

    With `canaries`, that many fabricated persons are drawn (canaries.py); the included ones are
    appended to train.npy as persons like any other, the draw is kept in canaries.npz."""
    frame = read_strings(records_path)
    columns = text_columns(contract)
    unit_col = contract.privacy_unit
    train, held_out, truncated = [], [], 0
    for _, rows in frame.groupby(unit_col, sort=True):
        ids, cut = encode(serialize_unit(rows, columns), max_seq_len)
        truncated += cut
        (held_out if _is_held_out(rows, records_path) else train).append(ids)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    planted = make_canaries(
        contract, columns, count=canaries, max_seq_len=max_seq_len, rng=canary_rng
    )
    train_tokens = np.concatenate([pad_batch(train, max_seq_len), planted.tokens[planted.included]])
    np.save(output_dir / TRAIN_FILE, train_tokens)
    np.save(output_dir / EVAL_FILE, pad_batch(held_out, max_seq_len))
    if canaries:
        planted.save(output_dir)
    result = CorpusResult(len(train_tokens), len(held_out), truncated, max_seq_len, canaries)
    write_json(
        output_dir / REPORT_JSON,
        {
            "privacy_unit": unit_col,
            "units_train": result.units_train,
            "units_eval": result.units_eval,
            "truncated": truncated,
            "max_seq_len": max_seq_len,
            "canaries": canaries,
            "text_columns": columns,
            "tokenizer": "bytes+pad/bos/eos (259)",
        },
    )
    return result
