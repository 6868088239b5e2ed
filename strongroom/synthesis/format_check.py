"""Field-level checks of what a trained model writes: does it write records of the contract?

A few persons are sampled freely (the model's own distribution, no format guidance: this measures
what training taught, where `strongroom synthesize` guides the format to get valid records), each
text is parsed back into the contract's columns (record_text.py) and the records that parse go
through the released contract's own expectations (checks.py: ranges, calendar dates, allowed
codes such as ICD-10 shapes, patterns, pair and age checks). Reported: the share of the records
written that parse, and the share that also pass, with the counts behind them. The evaluation
runs it on the DP model, the reference run on the non-private one, with the same seed, so the
card can put the two side by side. Counts only: never a generated value. Tests:
tests/synthesis/test_format_check.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from strongroom.corpus.build import text_columns
from strongroom.model.gemma import GemmaDecoder
from strongroom.records.contract import Contract
from strongroom.synthesis.checks import check_records
from strongroom.synthesis.decoding import Generated, Settings, generate
from strongroom.synthesis.record_text import RecordParser
from strongroom.synthesis.released import released_contract
from strongroom.synthesis.run import Tally, records_frame

PERSONS = 32  # sampled per model: a few seconds on a CPU for the demo's model
SEED = 0  # the same draws for the DP model and its reference: a fair comparison


@dataclass(frozen=True)
class FormatShares:
    persons: int  # persons sampled
    records: int  # records (lines) written
    parsed: int  # records that parse into the contract's columns
    valid: int  # of those, records that pass the released contract's expectations

    @property
    def parsed_share(self) -> float:
        return self.parsed / self.records if self.records else 0.0

    @property
    def valid_share(self) -> float:
        return self.valid / self.records if self.records else 0.0


def check_texts(texts: list[Generated], contract: Contract, workdir: str | Path) -> FormatShares:
    """Parse persons' texts into `contract`'s columns and validate the records that parse (a
    text cut at the context length: its last record counts as written and not parsed)."""
    released = released_contract(contract)
    tally = Tally()
    frame = records_frame(texts, RecordParser(text_columns(contract)), tally, released)
    passed = check_records(frame, released, workdir).passed
    return FormatShares(
        tally.persons, tally.records_generated, tally.records_parsed, int(passed.sum())
    )


def sample_and_check(
    model: GemmaDecoder,
    contract: Contract,
    workdir: str | Path,
    *,
    persons: int = PERSONS,
    seed: int = SEED,
) -> FormatShares:
    """`persons` texts sampled from `model` (no guidance), then `check_texts`."""
    generator = torch.Generator().manual_seed(seed)
    texts = generate(model, persons, settings=Settings(batch_size=persons), generator=generator)
    return check_texts(texts, contract, workdir)
