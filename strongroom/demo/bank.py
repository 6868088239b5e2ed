"""Seeded synthetic bank transactions for the demo and the tests (Faker, no real person)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
from faker import Faker

from strongroom.records.io import write_table_file

BANK_COLUMNS = [
    "customer_id", "account_number", "iban", "card_number", "customer_name", "txn_id",
    "txn_timestamp", "amount", "currency", "merchant", "mcc", "channel", "balance", "memo",
    "complaint_narrative",
]  # fmt: skip

# kind -> (MCC, merchants, channels, largest amount in pence). Merchants are businesses or payment
# schemes: a transfer's counterparty (a person) is named in the memo, which is free text and
# redacted, never in the kept merchant column.
_CARD = ["card_present", "online"]
_KINDS: dict[str, tuple[str, list[str], list[str], int]] = {
    "grocery": ("5411", ["Tesco", "Sainsbury's", "Asda", "Aldi"], _CARD, 25_000),
    "fuel": ("5541", ["Shell", "BP", "Esso"], ["card_present"], 12_000),
    "restaurant": ("5812", ["Pret A Manger", "Nando's", "Wagamama"], _CARD, 15_000),
    "transit": ("4111", ["Transport for London", "Trainline"], _CARD, 30_000),
    "cash": ("6011", ["LINK ATM"], ["atm"], 50_000),
    "utilities": ("4900", ["British Gas", "Thames Water", "EDF Energy"], ["direct_debit"], 40_000),
    "shopping": ("5999", ["Amazon UK", "ASOS", "eBay", "Argos", "John Lewis"], ["online"], 100_000),
    "transfer": ("4829", ["Faster Payment", "Standing Order", "BACS"], ["transfer"], 500_000),
}
_BANK_CODES = ["NWBK", "BARC", "HBUK", "LOYD", "MIDL"]
_START = datetime(2019, 1, 1)
_SPAN_SECONDS = int((datetime(2026, 1, 1) - _START).total_seconds())  # last: 2025-12-31 23:59:59
_BALANCE_LIMIT = 1_000_000_00  # pence; |balance| stays strictly below it

# Real memos leak identifiers some of the time, and not always the same ones.
_MEMOS = {
    "card": ["Card ending {last4} at {merchant}", "{merchant} {date}", "{merchant} GB"],
    "atm": ["Cash withdrawal card ending {last4}", "ATM {city}"],
    "direct_debit": ["DD {merchant} ref {ref}", "Direct debit {merchant} for {name}"],
    "transfer": [
        "Transfer to {other} ref {account}",
        "Rent for flat {flat}, {street}",
        "Repayment from {name}",
        "Gift from {other}",
        "Invoice {ref}",
    ],
}
_COMPLAINTS = [
    "My name is {name} and my card {card} was charged twice by {merchant} on {date}. "
    "Please call me on {phone} or email {email}.",
    "I am writing about a payment of {amount} {currency} to {merchant} that I never made. "
    "My account is {iban} and I live at {address}. I would like a refund as soon as possible.",
    "{merchant} took {amount} {currency} from card {card} on {date} without my permission. "
    "I have tried to contact them. You can reach me, {name}, on {phone}.",
    "I moved to {address} but my statements still go to the old address. "
    "This is {name}, account {iban}. Email {email} if you need anything. I have asked twice already.",
]


def _luhn_digit(payload: str) -> str:
    """Check digit for a PAN: the digit appended must make the Luhn sum a multiple of 10."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)  # the check digit will shift these to odd places
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _gb_iban(bank: str, sort_code: str, account8: str) -> str:
    """ISO 13616: move "GB00" to the end, letters to 10..35, check digits 98 - (n mod 97)."""
    bban = bank + sort_code + account8
    number = int("".join(str(int(ch, 36)) for ch in bban + "GB00"))
    return f"GB{98 - number % 97:02d}{bban}"


def _street(fake: Faker) -> str:
    # en_GB addresses may span lines ("Flat 24\nLloyd Port"); one-line text is what records hold.
    return fake.street_address().replace("\n", ", ")


def _customer(fake: Faker, rng: random.Random, index: int) -> dict[str, str]:
    account = f"{rng.randrange(10**10):010d}"
    sort_code = f"{rng.randrange(10**6):06d}"
    prefix = rng.choice(["4", f"5{rng.randint(1, 5)}"])  # Visa, or Mastercard 51-55
    payload = prefix + "".join(str(rng.randrange(10)) for _ in range(15 - len(prefix)))
    return {
        "customer_id": f"C{index:08d}",
        "account_number": account,
        "iban": _gb_iban(rng.choice(_BANK_CODES), sort_code, account[-8:]),
        "card_number": payload + _luhn_digit(payload),
        "customer_name": f"{fake.first_name()} {fake.last_name()}",
        "phone": fake.phone_number(),
        "email": fake.email(),
        "address": f"{_street(fake)}, {fake.city()} {fake.postcode()}",
    }


def _pounds(pence: int) -> str:
    # Integer pence formatted by hand: no float rounding can produce "-0.00" or a third decimal.
    sign = "-" if pence < 0 else ""
    return f"{sign}{abs(pence) // 100}.{abs(pence) % 100:02d}"


def _fields(fake: Faker, person: dict[str, str], txn: dict[str, str]) -> dict[str, str]:
    """Everything a memo or complaint template may name; unused fields are simply ignored."""
    return {
        "name": person["customer_name"],
        "card": person["card_number"],
        "last4": person["card_number"][-4:],
        "account": person["account_number"],
        "iban": person["iban"],
        "phone": person["phone"],
        "email": person["email"],
        "address": person["address"],
        "merchant": txn["merchant"],
        "date": txn["txn_timestamp"][:10],
        "amount": txn["amount"].lstrip("-"),
        "currency": txn["currency"],
        "other": fake.name(),
        "street": _street(fake),
        "city": fake.city(),
        "ref": fake.bothify("??######").upper(),
        "flat": str(fake.random_int(1, 40)),
    }


def _transaction(
    fake: Faker, rng: random.Random, when: datetime, balance: int
) -> tuple[dict[str, str], int]:
    """One transaction and the balance after it (in pence)."""
    kind = rng.choice(list(_KINDS))
    mcc, merchants, channels, largest = _KINDS[kind]
    credit = kind == "transfer" and rng.random() < 0.5  # money only comes in by transfer
    pence = rng.randint(50, largest) * (1 if credit else -1)
    if abs(balance + pence) >= _BALANCE_LIMIT:
        pence = -pence  # turn back towards zero so the balance stays in range
    txn = {
        "txn_timestamp": when.isoformat(timespec="seconds"),
        "amount": _pounds(pence),
        "currency": rng.choices(["GBP", "EUR", "USD"], weights=[90, 6, 4])[0],
        "merchant": rng.choice(merchants),
        "mcc": mcc,
        "channel": rng.choice(channels),
        "balance": _pounds(balance + pence),
    }
    return txn, balance + pence


def generate_transactions(
    n_customers: int, *, seed: int = 0, max_transactions: int = 6
) -> pd.DataFrame:
    """One row per transaction; 1..max_transactions per customer, in time order per customer."""
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    for index in range(n_customers):
        person = _customer(fake, rng, index)
        balance = rng.randint(-50_000, 500_000)
        count = rng.randint(1, max_transactions)
        offsets = sorted(rng.randrange(_SPAN_SECONDS) for _ in range(count))
        for offset in offsets:
            txn, balance = _transaction(fake, rng, _START + timedelta(seconds=offset), balance)
            fields = _fields(fake, person, txn)
            memo = rng.choice(_MEMOS.get(txn["channel"], _MEMOS["card"])).format(**fields)
            complaint = rng.choice(_COMPLAINTS).format(**fields) if rng.random() < 0.15 else None
            rows.append(
                {
                    **{k: person[k] for k in BANK_COLUMNS[:5]},  # the identity columns
                    "txn_id": f"T{len(rows) + 1:010d}",
                    **txn,
                    "memo": memo[:500],
                    "complaint_narrative": complaint,
                }
            )
    return pd.DataFrame(rows, columns=BANK_COLUMNS)


def write_bank_records(path: str | Path, n_customers: int, *, seed: int = 0) -> Path:
    """Write demo transactions as CSV (or Parquet when the suffix says so)."""
    return write_table_file(generate_transactions(n_customers, seed=seed), path)
