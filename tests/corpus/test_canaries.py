"""Canaries: fabricated persons in the contract's format, half trained on, kept out of reports."""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from strongroom.corpus.build import text_columns
from strongroom.corpus.canaries import (
    CANARY_FILE,
    SECRET_LENGTH,
    Canaries,
    canary_line,
    make_canaries,
)
from strongroom.corpus.tokenizer import BOS, PAD, decode
from strongroom.errors import ConfigError
from strongroom.records.contract import load_contract
from tests.conftest import CANARIES


def _secret_of(canaries: Canaries, row: int) -> str:
    start = int(canaries.secret_start[row])
    return decode(canaries.tokens[row, start : start + canaries.secret_length])


def test_a_canary_is_a_record_line_of_the_contract_with_its_secret_in_the_free_text(contract):
    columns = text_columns(contract)
    line, offset = canary_line(contract, columns, "0123456789", random.Random(1))
    assert line[offset : offset + 10] == "0123456789"
    fields = dict(part.split(": ", 1) for part in line.split("; "))
    assert list(fields) == [c for c in columns if c in fields]  # the contract's column order
    assert fields["sex"] in contract.columns["sex"].allowed
    assert 0 <= int(fields["length_of_stay"]) <= 365 and len(fields["zip"]) == 3
    assert "0123456789" in fields["note"]


@pytest.mark.parametrize("name", ["hospital_encounters", "bank_transactions"])
def test_the_token_position_of_each_secret_is_recorded(name):
    contract = load_contract(name)
    canaries = make_canaries(
        contract, text_columns(contract), count=20, max_seq_len=256, rng=random.Random(2)
    )
    assert canaries.tokens.shape == (20, 256) and (canaries.tokens[:, 0] == BOS).all()
    for row in range(20):
        secret = _secret_of(canaries, row)
        assert len(secret) == SECRET_LENGTH and secret.isdigit()
        assert f"reference no. {secret} confirmed" in decode(canaries.tokens[row])


def test_inclusion_is_a_fair_coin_per_canary(contract):
    canaries = make_canaries(contract, text_columns(contract), count=2000, max_seq_len=256)
    assert 900 < canaries.included.sum() < 1100  # 1000 +- 4.5 standard deviations
    secrets = {_secret_of(canaries, row) for row in range(200)}
    assert len(secrets) == 200  # 1e10 possible: a repeat would mean a broken generator


def test_short_examples_keep_only_the_secrets_column_and_too_short_ones_are_refused(contract):
    columns = text_columns(contract)
    short = make_canaries(contract, columns, count=3, max_seq_len=64, rng=random.Random(3))
    assert decode(short.tokens[0]).startswith("note: reference no. ")
    with pytest.raises(ConfigError, match="cannot hold a canary"):
        make_canaries(contract, columns, count=1, max_seq_len=24)


def test_included_canaries_are_training_persons_and_the_draw_stays_private(stage_dirs):
    corpus = Path(stage_dirs["corpus"])
    canaries = Canaries.load(corpus)
    assert canaries is not None and canaries.count == CANARIES
    train = np.load(corpus / "train.npy")
    planted = canaries.tokens[canaries.included]
    assert (train[len(train) - len(planted) :] == planted).all()
    report = json.loads((corpus / "corpus_report.json").read_text())
    assert report["canaries"] == CANARIES and report["units_train"] == len(train)
    for row in range(canaries.count):  # no secret in the report: only the count
        assert _secret_of(canaries, row) not in json.dumps(report)


def test_no_canaries_no_file(tmp_path, contract):
    canaries = make_canaries(contract, text_columns(contract), count=0, max_seq_len=64)
    assert canaries.tokens.shape == (0, 64) and (canaries.tokens == PAD).all()
    assert Canaries.load(tmp_path) is None and not (tmp_path / CANARY_FILE).exists()
