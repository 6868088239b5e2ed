import re
from datetime import datetime

import pandas as pd
import pytest

from strongroom.demo.bank import (
    BANK_COLUMNS,
    generate_transactions,
    write_bank_records,
)

MCC_BY_CHANNEL = {
    "card_present": {"5411", "5541", "5812", "4111"},
    "online": {"5411", "5812", "4111", "5999"},
    "atm": {"6011"},
    "direct_debit": {"4900"},
    "transfer": {"4829"},
}


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_transactions(50, seed=7)


def iban_ok(iban: str) -> bool:
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def luhn_ok(pan: str) -> bool:
    total = sum(sum(divmod(int(d) * (1 + i % 2), 10)) for i, d in enumerate(reversed(pan)))
    return total % 10 == 0


def test_known_check_digit_examples():
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB83WEST12345698765432")
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")


def test_same_seed_same_frame_and_different_seed_differs():
    pd.testing.assert_frame_equal(
        generate_transactions(8, seed=3), generate_transactions(8, seed=3)
    )
    assert not generate_transactions(8, seed=3).equals(generate_transactions(8, seed=4))


def test_columns_and_counts(frame):
    assert list(frame.columns) == BANK_COLUMNS
    per_customer = frame.groupby("customer_id").size()
    assert len(per_customer) == 50 and per_customer.between(1, 6).all()
    assert frame["txn_id"].is_unique
    assert frame.drop(columns="complaint_narrative").map(lambda v: isinstance(v, str)).all().all()


def test_every_row_follows_the_value_rules(frame):
    for row in frame.itertuples(index=False):
        assert re.fullmatch(r"C\d{8}", row.customer_id)
        assert re.fullmatch(r"\d{10}", row.account_number)
        assert re.fullmatch(r"GB\d{2}[A-Z]{4}\d{14}", row.iban) and iban_ok(row.iban)
        assert row.iban.endswith(row.account_number[-8:])
        assert re.fullmatch(r"(4\d|5[1-5])\d{14}", row.card_number) and luhn_ok(row.card_number)
        assert len(row.customer_name.split()) >= 2
        assert re.fullmatch(r"T\d{10}", row.txn_id)
        when = datetime.fromisoformat(row.txn_timestamp)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", row.txn_timestamp)
        assert datetime(2019, 1, 1) <= when < datetime(2026, 1, 1) <= datetime.now()
        assert re.fullmatch(r"-?\d+\.\d{2}", row.amount) and 0.5 <= abs(float(row.amount)) <= 5000
        assert row.currency in {"GBP", "EUR", "USD"}
        assert 0 < len(row.merchant) <= 200
        assert row.mcc in MCC_BY_CHANNEL[row.channel]
        assert re.fullmatch(r"-?\d+\.\d{2}", row.balance) and abs(float(row.balance)) < 1e6
        assert 0 < len(row.memo) <= 500
        narrative = row.complaint_narrative  # pandas 3 str dtype: a null reads back as NaN
        assert pd.isna(narrative) or 0 < len(narrative) <= 2000
    assert (frame["currency"] == "GBP").mean() > 0.5
    assert (frame["amount"].str.startswith("-")).any() and (
        ~frame["amount"].str.startswith("-")
    ).any()


def test_balance_runs_with_the_amounts(frame):
    for _, rows in frame.groupby("customer_id"):
        pence = [round(float(v) * 100) for v in rows["balance"]]
        amounts = [round(float(v) * 100) for v in rows["amount"]]
        assert all(b - a == p for p, a, b in zip(pence, amounts[1:], pence[1:], strict=False))
        assert list(rows["txn_timestamp"]) == sorted(rows["txn_timestamp"])


def test_customer_identity_is_constant_across_their_rows(frame):
    identity = ["account_number", "iban", "card_number", "customer_name"]
    assert (frame.groupby("customer_id")[identity].nunique() == 1).all().all()


def test_free_text_carries_the_customers_own_identifiers(frame):
    narratives = frame["complaint_narrative"]
    assert narratives.isna().any() and narratives.notna().any()
    assert 0.02 < narratives.notna().mean() < 0.5

    def leaks(row) -> bool:
        text = (
            row.memo
            if pd.isna(row.complaint_narrative)
            else f"{row.memo} {row.complaint_narrative}"
        )
        return row.customer_name in text or row.card_number[-4:] in text or row.iban in text

    leaking = [leaks(row) for row in frame.itertuples(index=False)]
    assert 0 < sum(leaking) < len(leaking)  # some rows leak, not all: real memos are mixed
    complained = frame[narratives.notna()]
    assert any(
        row.customer_name in row.complaint_narrative or row.card_number in row.complaint_narrative
        for row in complained.itertuples(index=False)
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_write_bank_records(tmp_path, suffix):
    path = write_bank_records(tmp_path / "out" / f"bank{suffix}", 4, seed=1)
    read = pd.read_parquet(path) if suffix == ".parquet" else pd.read_csv(path, dtype=str)
    assert list(read.columns) == BANK_COLUMNS
    assert (
        read["account_number"].tolist()
        == generate_transactions(4, seed=1)["account_number"].tolist()
    )
