"""Value formats: regex shape, closed value sets and check digits."""

from __future__ import annotations

import re

import pytest

from strongroom.records.formats import (
    FORMATS,
    IBAN_LENGTHS,
    ISO4217_CODES,
    ValueFormat,
    iban_valid,
    luhn_valid,
    npi_valid,
)


def conforms(fmt: ValueFormat, value: str) -> bool:
    """How a caller applies a format: full match, then the value set, then the checksum."""
    if re.fullmatch(fmt.regex, value) is None:
        return False
    if fmt.allowed is not None and value not in fmt.allowed:
        return False
    return fmt.checksum is None or fmt.checksum(value)


def test_format_keys() -> None:
    assert set(FORMATS) == {"icd10", "iso4217", "mcc", "iban", "pan", "email", "npi"}
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert fmt.description and "\n" not in fmt.description
        assert not fmt.regex.startswith("^") and not fmt.regex.endswith("$")
        re.compile(fmt.regex)


def test_value_format_is_frozen() -> None:
    with pytest.raises(AttributeError):
        FORMATS["pan"].regex = ".*"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("icd10", "E11.9"),
        ("icd10", "S72.001A"),
        ("icd10", "I10"),
        ("icd10", "J45.909"),
        ("icd10", "O9A.1"),
        ("iso4217", "USD"),
        ("iso4217", "EUR"),
        ("iso4217", "XAU"),
        ("mcc", "5411"),
        ("mcc", "0742"),
        ("iban", "GB82WEST12345698765432"),
        ("iban", "DE89370400440532013000"),
        ("iban", "FR1420041010050500013M02606"),
        ("pan", "4111111111111111"),
        ("pan", "5500005555555559"),
        ("pan", "378282246310005"),
        ("email", "jane.doe@example.com"),
        ("email", "j+tag@mail.example.co.uk"),
        ("npi", "1234567893"),
    ],
)
def test_valid(name: str, value: str) -> None:
    assert conforms(FORMATS[name], value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("icd10", "U07.1"),  # U is reserved and excluded by the regex
        ("icd10", "E1"),
        ("icd10", "e11.9"),
        ("icd10", "E11."),
        ("icd10", "S72.001AB"),
        ("iso4217", "usd"),
        ("iso4217", "XYZ"),
        ("iso4217", "DEM"),
        ("iso4217", "XXX"),
        ("iso4217", "XTS"),
        ("iso4217", "US"),
        ("mcc", "541"),
        ("mcc", "54111"),
        ("mcc", "54a1"),
        ("iban", "GB82WEST12345698765433"),  # digit changed
        ("iban", "DE89370400440532013001"),
        ("iban", "FR1420041010050500013M02607"),
        ("iban", "GB82 WEST 1234 5698 7654 32"),  # stored form has no spaces
        ("pan", "4111111111111112"),  # digit changed
        ("pan", "5500005555555558"),
        ("pan", "378282246310006"),
        ("pan", "4111 1111 1111 1111"),
        ("pan", "4111-1111-1111-1111"),
        ("pan", "41111111111"),  # 11 digits: too short
        ("email", "jane.doe@example"),
        ("email", "jane doe@example.com"),
        ("email", "@example.com"),
        ("email", "jane@-example.com"),
        ("npi", "1234567890"),
        ("npi", "123456789"),
    ],
)
def test_invalid(name: str, value: str) -> None:
    assert not conforms(FORMATS[name], value)


def test_regex_is_full_match_not_search() -> None:
    # Callers use re.fullmatch (or anchor the regex): a valid value embedded in junk must fail.
    for name, value in [("iso4217", "USDX"), ("mcc", "x5411"), ("icd10", "E11.9 ")]:
        fmt = FORMATS[name]
        assert re.search(fmt.regex, value) is not None
        assert re.fullmatch(fmt.regex, value) is None
        assert re.match(f"^(?:{fmt.regex})$", value) is None


def test_luhn() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("")
    assert not luhn_valid("4111 1111 1111 1111")
    assert not luhn_valid("²")  # a Unicode digit, not an ASCII one


def test_npi_uses_80840_prefix() -> None:
    assert npi_valid("1234567893")
    assert not luhn_valid("1234567893")  # plain Luhn on the 10 digits is not the NPI rule
    assert not npi_valid("1234567890")
    assert not npi_valid("12345678930")


def test_iban_spaces_and_case() -> None:
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert iban_valid("gb82west12345698765432")


def test_iban_wrong_country_length() -> None:
    # The DE IBAN with a 0 appended has its check digits recomputed so only the length is wrong.
    body = "3704004405320130000"
    check = 98 - int("".join(str(int(c, 36)) for c in body + "DE00")) % 97
    iban = f"DE{check:02d}{body}"
    assert len(iban) == 23 != IBAN_LENGTHS["DE"]
    assert not iban_valid(iban)
    # The same number under a country missing from the table passes on mod-97 alone.
    check_xx = 98 - int("".join(str(int(c, 36)) for c in body + "QQ00")) % 97
    assert "QQ" not in IBAN_LENGTHS
    assert iban_valid(f"QQ{check_xx:02d}{body}")


def test_iban_garbage() -> None:
    for bad in ["", "GB", "GB82", "GB82WEST1234569876543!", "1282WEST12345698765432"]:
        assert not iban_valid(bad)


def test_currency_list() -> None:
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "AED", "SAR", "XDR"} <= ISO4217_CODES
    assert not {"DEM", "FRF", "XXX", "XTS"} & ISO4217_CODES
    assert 170 <= len(ISO4217_CODES) <= 190
    assert all(re.fullmatch(FORMATS["iso4217"].regex, c) for c in ISO4217_CODES)
