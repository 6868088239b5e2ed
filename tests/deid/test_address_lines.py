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


def _grown(text: str, street: str, others: tuple[tuple[str, str], ...] = ()) -> set[str]:
    start = text.index(street)
    findings = [("STREET_ADDRESS", start, start + len(street), 0.6)]
    findings += [(kind, text.index(w), text.index(w) + len(w), 0.8) for kind, w in others]
    return {
        text[s:e] for kind, s, e, _ in extend_addresses(text, findings) if kind == "STREET_ADDRESS"
    }


def test_a_town_line_goes_with_the_country_under_it_and_prose_after_the_country_stays() -> None:
    text = "Return to 5785 Ilichova 7\n Suite 897\n Ljubljana\n Slovenia in case of an issue."
    assert _grown(text, "5785 Ilichova 7") == {"5785 Ilichova 7\n Suite 897\n Ljubljana\n Slovenia"}


def test_blank_lines_export_marks_and_empty_regions_stay_inside_the_block() -> None:
    text = "Serendip Co.\n??? 176 Akti Pagalou\n??? Apt. 5\n\n??? Sovodenj\n, nan\n 34096"
    assert _grown(text, "176 Akti Pagalou") == {
        "176 Akti Pagalou\n??? Apt. 5\n\n??? Sovodenj\n, nan\n 34096"
    }


def test_place_words_after_a_unit_go_with_it_even_when_the_sentence_goes_on() -> None:
    text = "billing address 956 Σκαφίδια 148 Apt. 423 ΠΑΡΕΚΚΛΗΣΙΑ Λεμεσός for this card"
    assert _grown(text, "956 Σκαφίδια 148 Apt. 423") == {
        "956 Σκαφίδια 148 Apt. 423 ΠΑΡΕΚΚΛΗΣΙΑ Λεμεσός"
    }


def test_a_number_and_name_before_a_numbered_street_belong_to_it() -> None:
    text = "the following? 267 Steinfelden 23 Apt. 841"
    assert _grown(text, "23 Apt. 841") == {"267 Steinfelden 23 Apt. 841"}


def test_the_two_sides_of_a_corner_become_one_address_only_when_both_were_found() -> None:
    text = "office is at Catalina and 4010 Rockford Road"
    found = _grown(text, "4010 Rockford Road", (("LOCATION", "Catalina"),))
    assert "Catalina and 4010 Rockford Road" in found
    assert _grown(text, "4010 Rockford Road") == {"4010 Rockford Road"}  # Catalina: not found
    text = "I once lived at the corner of Hraunás 21 and Gladys Circle"
    found = _grown(text, "Hraunás 21", (("PERSON", "Gladys Circle"),))
    assert "the corner of Hraunás 21 and Gladys Circle" in found


def test_particles_before_a_numbered_street_and_comma_parts_of_a_last_line() -> None:
    text = "it is 8969 Unter den Linden 13 Apt. 504"
    assert _grown(text, "13 Apt. 504") == {"8969 Unter den Linden 13 Apt. 504"}
    text = "a taxi to 63294 Magasinsgatan 7\nKustja, HA 64801. Please call me"
    assert _grown(text, "63294 Magasinsgatan 7") == {"63294 Magasinsgatan 7\nKustja, HA 64801"}
