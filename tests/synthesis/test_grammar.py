"""Format-guided sampling: whatever the model, every person ends within the context, its text
parses, every value has its column's shape and range and the pair check holds; free sampling
from the same model is not held to anything."""

from __future__ import annotations

import torch

from strongroom.corpus.build import text_columns
from strongroom.corpus.tokenizer import EOS, decode
from strongroom.model.config import PRESETS
from strongroom.model.gemma import GemmaDecoder
from strongroom.records.contract import ColumnSpec, Contract, PairCheck, Treatment
from strongroom.synthesis.decoding import Counts, Settings, generate
from strongroom.synthesis.grammar import Grammar, RowGrammar, utf8_missing, utf8_prefix
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
    assert all(g.complete for g in out)  # random bytes, yet every person ends in the context
    for g in out:
        parsed = parser.parse(g.text, complete=g.complete)
        assert not parsed.failures
        for record in parsed.records:
            records += 1
            assert 0 <= int(record["length_of_stay"]) <= 365
            assert record["discharge_date"] >= record["admit_date"]
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


# -- the rules one by one, on a small contract and a scripted "model" that insists on its bytes

SMALL = Contract(
    name="small",
    privacy_unit="pid",
    unit_kind="person",
    primary_key="key",
    columns={
        "pid": ColumnSpec(nullable=False, treatment=Treatment.PSEUDONYMIZE),
        "key": ColumnSpec(nullable=False, treatment=Treatment.PSEUDONYMIZE),
        "admit": ColumnSpec(nullable=False, pattern=r"\d{4}"),
        "discharge": ColumnSpec(nullable=False, pattern=r"\d{4}"),
        "stay": ColumnSpec(type="int", nullable=False, min=0, max=365),
        "note": ColumnSpec(free_text=True, max_length=20000),
    },
    pair_checks=[PairCheck(greater="discharge", lesser="admit")],
)
COLUMNS = ["admit", "discharge", "stay", "note"]
SEMICOLON = ord(";")


def _drive(row: RowGrammar, prefer: dict[str, bytes], limit: int) -> list[int]:
    """Each value's bytes as `prefer` has them (cycled; a note: `x` forever), never EOS or a
    newline of its own; where a byte is refused, the next column (`;`) if legal, else the
    lowest legal token."""
    out: list[int] = []
    names = [c.name for c in row.g.columns]
    typed: dict[str, int] = {}
    while not row.done and len(out) < limit:
        token = row.forced()
        if token is None and row.column is not None:
            name = names[row.column]
            wanted = prefer.get(name, b"x")
            token = wanted[typed.get(name, 0) % len(wanted)]
            typed[name] = typed.get(name, 0) + 1
        if token is None or not row.accepts(token):
            token = SEMICOLON if row.accepts(SEMICOLON) else int(row.allowed().nonzero()[0])
        row.advance(token)
        out.append(token)
    return out


def _records(tokens: list[int]) -> list[dict[str, str | None]]:
    parsed = RecordParser(COLUMNS).parse(decode(tokens))
    assert not parsed.failures
    return parsed.records


def test_a_note_that_would_run_into_the_context_is_closed_and_the_person_ends() -> None:
    row = RowGrammar(Grammar(SMALL, COLUMNS), max_len=96)
    tokens = _drive(row, {"admit": b"2020", "discharge": b"2021", "stay": b"3"}, limit=200)
    assert row.done and tokens[-1] == EOS and row.closed == 1
    assert 1 + len(tokens) <= 96  # BOS + text + EOS within the context
    (record,) = _records(tokens)
    assert record["note"] and set(record["note"]) == {"x"}


def test_a_new_record_starts_only_with_room_for_one() -> None:
    row = RowGrammar(Grammar(SMALL, COLUMNS), max_len=400)
    prefer = {"admit": b"2020", "discharge": b"2021", "stay": b"3", "note": b"ok\n"}
    tokens = _drive(row, prefer, limit=800)
    assert row.done and 1 + len(tokens) <= 400
    assert len(_records(tokens)) > 1


def test_an_integer_stays_in_the_contracts_range() -> None:
    row = RowGrammar(Grammar(SMALL, COLUMNS), max_len=96)
    tokens = _drive(row, {"admit": b"2020", "discharge": b"2021", "stay": b"9"}, limit=200)
    (record,) = _records(tokens)
    assert record["stay"] == "99"  # 999 is beyond max 365: the third 9 is refused


def test_the_later_of_a_pair_is_held_to_the_rule() -> None:
    row = RowGrammar(Grammar(SMALL, COLUMNS), max_len=96)
    tokens = _drive(row, {"admit": b"2020", "discharge": b"2019", "stay": b"1"}, limit=200)
    (record,) = _records(tokens)
    assert record["admit"] == "2020" and record["discharge"] == "2029"  # 201x refused


def test_a_context_too_short_for_a_record_cuts_it_without_an_error() -> None:
    row = RowGrammar(Grammar(SMALL, COLUMNS), max_len=12)
    tokens = _drive(row, {}, limit=11)
    assert not row.done and len(tokens) == 11


def test_free_text_bytes_stay_well_formed_utf8() -> None:
    assert utf8_prefix(b"caf", 0xC3) and utf8_prefix(b"caf\xc3", 0xA9)
    assert not utf8_prefix(b"caf\xc3", ord("e"))  # a character left unfinished
    assert not utf8_prefix(b"", 0xA9) and not utf8_prefix(b"", 0xC0)  # stray, overlong
    assert not utf8_prefix(b"\xed", 0xA0)  # a surrogate (U+D800)
    assert utf8_missing(b"\xf0\x9f\x98") == 1 and utf8_missing(b"\xf0\x9f\x98\x80") == 0


def test_non_ascii_characters_count_against_a_columns_max_length() -> None:
    capped = SMALL.model_copy(
        update={"columns": {**SMALL.columns, "note": ColumnSpec(free_text=True, max_length=5)}}
    )
    row = RowGrammar(Grammar(capped, COLUMNS), max_len=200)
    prefer = {"admit": b"2020", "discharge": b"2021", "stay": b"3;", "note": "é".encode()}
    tokens = _drive(row, prefer, limit=400)
    records = _records(tokens)
    assert row.done and row.relaxed == 0 and records
    assert records[0]["note"] == "ééééé"  # 10 bytes, 5 characters: closed at the cap
    assert all(0 < len(r["note"]) <= 5 for r in records)
