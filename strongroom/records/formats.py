"""Named value formats for record validation: a regex, plus an optional closed set and checksum.

A regex catches the shape of a value (Great Expectations runs it column-wide, cheaply); the
value set and the check digits catch what a shape cannot: a typo in a card number or IBAN still
has the right shape, and "XYZ" looks like a currency code. Regexes are written without ``^``/``$``
because the caller anchors them (``^(?:regex)$``, or ``re.fullmatch``). Character classes use
``[0-9]`` rather than ``\\d``, which in Python also matches non-ASCII digits such as "٣".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ValueFormat:
    """One named format. ``checksum`` is only called on values that already match ``regex``."""

    name: str
    regex: str
    description: str
    allowed: frozenset[str] | None = None
    checksum: Callable[[str], bool] | None = None


def _ascii_digits(text: str) -> bool:
    # str.isdigit() alone accepts "²" and other Unicode digits, which int() then rejects.
    return text.isascii() and text.isdigit()


def luhn_valid(digits: str) -> bool:
    """Luhn mod-10 check over a string of ASCII digits (card PANs; NPIs with the 80840 prefix)."""
    if not _ascii_digits(digits):
        return False
    total = 0
    # Double every second digit counting from the right, i.e. from the check digit's neighbour.
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def npi_valid(npi: str) -> bool:
    """US National Provider Identifier: 10 digits whose Luhn check includes the prefix 80840.

    The prefix is the ISO 7812 issuer code for US health applications; CMS computes the check
    digit as if it were there, so a plain Luhn over the 10 digits would be wrong.
    """
    return len(npi) == 10 and _ascii_digits(npi) and luhn_valid("80840" + npi)


# Total IBAN length per country (ISO 13616 registry): the SEPA countries plus a few others we see
# in bank files. Crown dependencies (GG, JE, IM) and French overseas territories use GB/FR IBANs.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
    "AE": 23, "BR": 29, "IL": 23, "SA": 24, "TR": 26,
}  # fmt: skip


def iban_valid(iban: str) -> bool:
    """ISO 13616 IBAN check: mod-97 of the rearranged number is 1, and the length fits the country.

    Spaces are removed first (IBANs are printed in groups of four). A country missing from
    ``IBAN_LENGTHS`` is accepted on the mod-97 check alone rather than rejected: the table is
    not the full registry, and rejecting a real foreign IBAN is worse than a weaker check.
    """
    s = iban.replace(" ", "").upper()
    if not (5 <= len(s) <= 34 and s.isascii() and s.isalnum()):
        return False
    if not (s[:2].isalpha() and _ascii_digits(s[2:4])):
        return False
    expected = IBAN_LENGTHS.get(s[:2])
    if expected is not None and len(s) != expected:
        return False
    # Move country + check digits to the end, then letters become 10..35 (A=10, ..., Z=35).
    rearranged = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# Active ISO 4217 alphabetic codes (list one), including fund codes (BOV, CHE, CLF, ...), the
# precious metals (XAU, XAG, XPD, XPT) and supranational units (XDR, XSU, XUA, XB*), but not the
# test/no-currency codes XTS and XXX. Withdrawn codes (DEM, FRF, HRK, SLL, ZWL, ...) are left out
# so that legacy data is flagged. ANG stays alongside its successor XCG during the 2025 changeover.
ISO4217_CODES: frozenset[str] = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
    "CAD", "CDF", "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE",
    "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GHS", "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
    "IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD",
    "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK",
    "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO",
    "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON",
    "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD",
    "SSP", "STN", "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD",
    "TZS", "UAH", "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV",
    "WST", "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD",
    "XPF", "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
})  # fmt: skip

# Reusable DNS label: letters/digits, inner hyphens allowed, no leading or trailing hyphen.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

FORMATS: dict[str, ValueFormat] = {
    f.name: f
    for f in (
        ValueFormat(
            "icd10",
            # Category letter (U is reserved for special codes, e.g. U07.1, and excluded here),
            # two characters, then an optional dotted extension of up to four characters.
            r"[A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?",
            "ICD-10-CM diagnosis code, e.g. E11.9 or S72.001A",
        ),
        ValueFormat("iso4217", r"[A-Z]{3}", "ISO 4217 currency code", allowed=ISO4217_CODES),
        ValueFormat("mcc", r"[0-9]{4}", "ISO 18245 merchant category code"),
        ValueFormat(
            "iban",
            r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}",
            "ISO 13616 IBAN, stored without spaces",
            checksum=iban_valid,
        ),
        ValueFormat(
            "pan",
            r"[0-9]{12,19}",
            "Payment card number (ISO/IEC 7812), digits only",
            checksum=luhn_valid,
        ),
        ValueFormat(
            "email",
            # Pragmatic, not RFC 5322: dot-atom local part, dotted domain, alphabetic TLD.
            rf"[A-Za-z0-9._%+-]+@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}",
            "Email address (local@domain.tld)",
        ),
        ValueFormat(
            "npi",
            r"[0-9]{10}",
            "US National Provider Identifier (10 digits, Luhn with 80840 prefix)",
            checksum=npi_valid,
        ),
    )
}
