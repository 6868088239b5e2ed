"""The town, country and postcode after a street address go with it; other lines do not."""

from __future__ import annotations

import pytest

from strongroom.deid.address_lines import extend_addresses, is_place


@pytest.mark.parametrize("part", ["Nürnberg", "OSLO", "Norway 53482", "SW1A 1AA", "Sidi Bou Said"])
def test_places(part: str) -> None:
    assert is_place(part)


@pytest.mark.parametrize(
    "part",
    ["Phone: 555 1234", "Marketing Research Analyst", "and she lives nearby", "ann@x.org",
     "seen 2024 in clinic", "Account 12345678901234"],
)  # fmt: skip
def test_not_places(part: str) -> None:
    assert not is_place(part)


def test_a_street_finding_grows_over_the_lines_under_it_and_stops_at_a_phone_line() -> None:
    text = "12 Kantstrasse 40\n Nürnberg\n Germany 26899\nPhone: 555 1234"
    (finding,) = extend_addresses(text, [("STREET_ADDRESS", 0, 17, 0.6)])
    assert text[finding[1] : finding[2]] == "12 Kantstrasse 40\n Nürnberg\n Germany 26899"


def test_comma_parts_on_the_same_line_go_with_it_and_prose_stops_it() -> None:
    text = "Via Roma 98, Hernani, Spain 31826, and more"
    (finding,) = extend_addresses(text, [("STREET_ADDRESS", 0, 11, 0.6)])
    assert text[finding[1] : finding[2]] == "Via Roma 98, Hernani, Spain 31826"


def test_other_findings_are_left_as_they_are() -> None:
    text = "Ann Lee\nOSLO"
    assert extend_addresses(text, [("PERSON", 0, 7, 0.8)]) == [("PERSON", 0, 7, 0.8)]


def test_a_number_just_before_the_street_belongs_to_it_but_not_one_after_a_comma() -> None:
    text = "send to 360 55 Rue Wanes"
    (finding,) = extend_addresses(text, [("STREET_ADDRESS", 12, 24, 0.6)])
    assert text[finding[1] : finding[2]] == "360 55 Rue Wanes"
    text = "doses 3, 55 Rue Wanes"
    (finding,) = extend_addresses(text, [("STREET_ADDRESS", 9, 21, 0.6)])
    assert text[finding[1] : finding[2]] == "55 Rue Wanes"
