"""One person, one privacy unit: the canonical form of a privacy-unit identifier.

Differential privacy here is per person: DP-SGD samples and clips per value of the contract's
`privacy_unit` column, after the value is pseudonymised. If one person's identifier reaches the
pseudonym in several spellings (``P0000001``, ``P٠٠٠٠٠٠١`` in Arabic-Indic digits, full-width
``P０００００００１``, ``p0000001``, padded with spaces or carrying a zero-width character), that
person becomes several units, each with its own privacy budget, and the guarantee for that person
is weaker than the one the model card states. So the identifier is brought to one form first.

Merging is the safe direction: two people whose identifiers differ only in these ways become one
unit, which protects both. ``tests/records/test_unit_ids.py`` checks the variants above.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable

# The column de-identification adds: "true" for a person held out of training for evaluation.
HELD_OUT_COLUMN = "_held_out"


def _is_invisible(char: str) -> bool:
    """Whitespace anywhere, and format characters (Cf: U+200B-U+200D, U+2060, U+FEFF, ...):
    they change the text without changing what a person reads as the identifier."""
    return char.isspace() or unicodedata.category(char) == "Cf"


def _ascii_digit(char: str) -> str:
    """Any Unicode decimal digit as its ASCII digit. NFKC already maps full-width and
    mathematical digits, but not the digits of other scripts (Arabic-Indic, Devanagari ...)."""
    digit = unicodedata.decimal(char, None)
    return char if digit is None else str(digit)


def normalize_unit_id(value: str, *, case_sensitive: bool = False) -> str:
    """The canonical form of a privacy-unit identifier: NFKC, ASCII digits, no whitespace or
    format characters, case-folded unless the contract marks the column `case_sensitive`."""
    text = unicodedata.normalize("NFKC", value)
    text = "".join(_ascii_digit(char) for char in text if not _is_invisible(char))
    return text if case_sensitive else text.casefold()


def merged_unit_values(values: Iterable[str | None], *, case_sensitive: bool = False) -> int:
    """How many distinct raw values normalise onto a value another raw value also has: the
    spellings that would have been extra units. A count only; nulls are not values."""
    raw = {value for value in values if value is not None}
    canonical = {normalize_unit_id(value, case_sensitive=case_sensitive) for value in raw}
    return len(raw) - len(canonical)


def is_held_out(canonical_id: str, *, split_seed: int, eval_fraction: float) -> bool:
    """Whether a person is held out for evaluation: a function of the person's canonical
    identifier and a public split seed, so the same seed gives the same split whatever the
    pseudonymisation key. Only this one bit is written out, never the hash: a hash of a raw
    identifier would let anyone who knows an identifier find that person's rows."""
    digest = hashlib.sha256(f"{split_seed}\0{canonical_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < eval_fraction
