"""Format-guided sampling: whatever the model, a finished person's text parses and every value
has its column's shape; free sampling from the same model is not held to anything."""

from __future__ import annotations

import torch

from strongroom.corpus.build import text_columns
from strongroom.model.config import PRESETS
from strongroom.model.gemma import GemmaDecoder
from strongroom.synthesis.decoding import Counts, Settings, generate
from strongroom.synthesis.grammar import Grammar
from strongroom.synthesis.record_text import RecordParser
from strongroom.synthesis.released import compile_shape, released_contract, value_shape


def test_guided_texts_of_an_untrained_model_parse_and_hold_every_shape(contract) -> None:
    torch.manual_seed(0)
    model = GemmaDecoder(PRESETS["tiny"]).eval()
    released, columns = released_contract(contract), text_columns(contract)
    counts = Counts()
    out = generate(
        model, 48, settings=Settings(batch_size=16), generator=torch.Generator().manual_seed(1),
        grammar=Grammar(released, columns), counts=counts,
    )  # fmt: skip
    parser = RecordParser(columns)
    records = 0
    for g in out:
        parsed = parser.parse(g.text, complete=g.complete)
        cut = 0 if g.complete else 1
        assert len(parsed.failures) == cut  # only a record cut by the context fails
        for record in parsed.records:
            records += 1
            for name in columns:
                spec = released.columns[name]
                value = record[name]
                if value is None:
                    assert spec.nullable, name
                    continue
                assert compile_shape(value_shape(spec)).fullmatch(value), name
    assert records > 0
    assert counts.forced > 0 and counts.refused > 0  # an untrained model is refused often


def test_free_sampling_is_not_guided(contract) -> None:
    torch.manual_seed(0)
    model = GemmaDecoder(PRESETS["tiny"]).eval()
    counts = Counts()
    out = generate(
        model, 16, settings=Settings(batch_size=16), generator=torch.Generator().manual_seed(1),
        counts=counts,
    )  # fmt: skip
    parsed = [RecordParser(text_columns(contract)).parse(g.text, complete=g.complete) for g in out]
    assert counts == Counts()
    assert sum(len(p.records) for p in parsed) == 0  # random bytes are not records
