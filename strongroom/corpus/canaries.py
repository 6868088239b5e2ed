"""Canaries: fabricated persons planted in the corpus so that the audit can see a leak.

Each canary is one extra privacy unit whose example is a record line in the contract's format
(`column: value; ...`, values drawn at random within each column's declared format) with a
random secret (a reference number, like a fabricated MRN or account number) in the first free-text column. Every canary is included
in training independently with probability 1/2, drawn from the OS CSPRNG, and an included canary
is trained exactly like a real person (one row of train.npy: Poisson sampling, per-person
clipping, noise). The plan's N counts the included ones.

The audit compares included with excluded canaries (Steinke, Nasr & Jagielski 2023: one-run
lower bound) and ranks each secret among random ones (Carlini et al. 2019: exposure). The draw and
the secrets are private to the pipeline: they live in `canaries.npz` beside train.npy and never
reach a report, a log, a param or the card (only their number does).
Tests: tests/corpus/test_canaries.py.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from strongroom.corpus.tokenizer import encode, pad_batch
from strongroom.errors import ConfigError
from strongroom.records.contract import ColumnSpec, Contract, Treatment

CANARY_FILE = "canaries.npz"  # private: secrets and the inclusion draw
SECRET_ALPHABET = "0123456789"
SECRET_LENGTH = 10  # 10 digits: 33.2 bits, the exposure's ceiling
_SECRET_SENTENCE = "reference no. {secret} confirmed, follow-up booked."
_YEARS = (1930, 2024)
_CURRENCIES = ("USD", "EUR", "GBP", "CHF", "JPY")


@dataclass(frozen=True)
class Canaries:
    """m canaries: their examples, the inclusion draw, where each secret sits."""

    tokens: np.ndarray  # [m, T] int16, PAD-padded like train.npy
    included: np.ndarray  # [m] bool: trained on
    secret_start: np.ndarray  # [m] int: token position of the secret's first digit
    secret_length: int
    alphabet: str

    @property
    def count(self) -> int:
        return len(self.tokens)

    def save(self, directory: str | Path) -> Path:
        path = Path(directory) / CANARY_FILE
        np.savez(
            path,
            tokens=self.tokens,
            included=self.included,
            secret_start=self.secret_start,
            secret_length=np.int64(self.secret_length),
            alphabet=np.array(self.alphabet),
        )
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Canaries | None:
        """The corpus' canaries, or None when it planted none."""
        path = Path(directory) / CANARY_FILE
        if not path.exists():
            return None
        with np.load(path) as data:
            return cls(
                tokens=data["tokens"],
                included=data["included"].astype(bool),
                secret_start=data["secret_start"].astype(np.int64),
                secret_length=int(data["secret_length"]),
                alphabet=str(data["alphabet"]),
            )


def random_secret(rng: random.Random, *, length: int = SECRET_LENGTH) -> str:
    return "".join(rng.choice(SECRET_ALPHABET) for _ in range(length))


def _column_value(spec: ColumnSpec, rng: random.Random) -> str | None:
    """A random value in the column's declared format as de-identification leaves it; None for
    columns with no format to follow (left out of the line, as an empty cell would be)."""
    if spec.allowed:
        return rng.choice(spec.allowed)
    if spec.treatment == Treatment.YEAR:
        return str(rng.randint(*_YEARS))
    if spec.treatment == Treatment.ZIP3:
        return f"{rng.randint(0, 999):03d}"
    if spec.treatment == Treatment.AGE_90:
        return str(rng.randint(0, 89))
    if spec.type in ("int", "float") and spec.min is not None and spec.max is not None:
        low, high = int(spec.min), int(min(spec.max, spec.min + 1000))
        number = rng.randint(low, high)
        return str(number) if spec.type == "int" else f"{number}.{rng.randint(0, 99):02d}"
    if spec.format == "icd10":
        return f"{rng.choice('ABCDEFGHIJKLMNOPQRSTVWXYZ')}{rng.randint(0, 99):02d}"
    if spec.format == "iso4217":
        return rng.choice(_CURRENCIES)
    if spec.format == "mcc":
        return f"{rng.randint(0, 9999):04d}"
    return None


def _secret_column(contract: Contract, columns: list[str]) -> str:
    free = [c for c in columns if contract.columns[c].free_text]
    return free[0] if free else columns[-1]


def canary_line(
    contract: Contract, columns: list[str], secret: str, rng: random.Random, *, full: bool = True
) -> tuple[str, int]:
    """(one record line, the character offset of the secret in it). `full=False` keeps only the
    secret's column, for examples too short to hold a whole line."""
    target = _secret_column(contract, columns)
    parts: list[str] = []
    offset = -1
    for name in columns:
        if name == target:
            sentence = _SECRET_SENTENCE.format(secret=secret)
            prefix = "; ".join([*parts, f"{name}: "]) if parts else f"{name}: "
            offset = len(prefix) + sentence.index(secret)
            parts.append(f"{name}: {sentence}")
        elif full and (value := _column_value(contract.columns[name], rng)) is not None:
            parts.append(f"{name}: {value}")
    return "; ".join(parts), offset


def make_canaries(
    contract: Contract,
    columns: list[str],
    *,
    count: int,
    max_seq_len: int,
    rng: random.Random | None = None,
) -> Canaries:
    """`count` canaries, each included with probability 1/2. `rng` defaults to the OS CSPRNG
    (a seeded one is for tests: whoever knows the seed knows the draw)."""
    rng = rng or secrets.SystemRandom()
    rows, starts = [], []
    for _ in range(count):
        secret = random_secret(rng)
        text, offset = canary_line(contract, columns, secret, rng)
        if len(text.encode()) + 2 > max_seq_len:  # BOS + text + EOS must hold the secret
            text, offset = canary_line(contract, columns, secret, rng, full=False)
        ids, cut = encode(text, max_seq_len)
        if cut:
            raise ConfigError(
                "records",
                [
                    f"max_seq_len {max_seq_len} cannot hold a canary ({len(text) + 2} tokens): "
                    "raise max_seq_len or set canaries to 0"
                ],
            )
        rows.append(ids)
        starts.append(1 + len(text[:offset].encode()))  # after BOS; ASCII text: bytes = chars
    included = np.array([rng.random() < 0.5 for _ in range(count)], dtype=bool)
    return Canaries(
        tokens=pad_batch(rows, max_seq_len),
        included=included,
        secret_start=np.asarray(starts, dtype=np.int64),
        secret_length=SECRET_LENGTH,
        alphabet=SECRET_ALPHABET,
    )
