"""The rest of a name after the engine found part of it; lists of people; a chat's speakers."""

from __future__ import annotations

from strongroom.deid.name_spans import extend_names


def _persons(text: str, findings: list[tuple[str, int, int, float]]) -> set[str]:
    return {text[s:e] for entity, s, e, _ in extend_names(text, findings) if entity == "PERSON"}


def _at(text: str, word: str, entity: str = "PERSON") -> tuple[str, int, int, float]:
    start = text.index(word)
    return (entity, start, start + len(word), 0.85)


def test_a_name_grows_over_its_other_words_even_english_ones_that_are_surnames() -> None:
    text = "Please correct it to Mr. Toby West?"
    assert _persons(text, [_at(text, "Toby")]) == {"Toby West"}  # the title stays


def test_a_one_word_place_that_is_a_foreign_name_grows_too() -> None:
    text = "as commenter Ana Perić points out"
    found = extend_names(text, [_at(text, "Perić", "LOCATION")])
    assert [text[s:e] for _, s, e, _ in found] == ["Ana Perić"]


def test_particles_and_initials_belong_to_the_name() -> None:
    text = "arranged and sung by Frits L van den Heuvel in 1987"
    assert _persons(text, [_at(text, "Frits")]) == {"Frits L van den Heuvel"}


def test_initials_and_first_names_before_a_surname_join_it() -> None:
    text = "Danial S. Eklund agreed."
    assert _persons(text, [_at(text, "Eklund")]) == {"Danial S. Eklund"}
    assert _persons(text, [_at(text, "Danial")]) == {"Danial S. Eklund"}


def test_growth_stops_at_english_words_and_line_ends() -> None:
    text = "Seen by Dr. Faulkner Today\nMonday Clinic"
    assert _persons(text, [_at(text, "Faulkner")]) == {"Faulkner"}


def test_a_list_with_two_people_names_every_item() -> None:
    text = "They had 3: Polycarp, Emily and Jessica."
    found = [_at(text, "Emily"), _at(text, "Jessica")]
    assert _persons(text, found) == {"Polycarp", "Emily", "Jessica"}


def test_a_pair_with_one_person_names_the_other_when_the_census_does() -> None:
    text = "Urbina and Todd were precision engineers."
    assert _persons(text, [_at(text, "Urbina")]) == {"Urbina", "Todd"}
    text = "Seen by Emily and Pharmacy"  # "Pharmacy" is no census name
    assert _persons(text, [_at(text, "Emily")]) == {"Emily"}


def test_a_list_with_one_person_is_left_alone() -> None:
    text = "Allergies: Penicillin, Sulfa and Latex; seen by Emily."
    assert _persons(text, [_at(text, "Emily")]) == {"Emily"}


def test_the_speakers_of_a_transcript_are_people_but_headers_are_not() -> None:
    chat = "Hugo: What a wife.\nKimberly: Really?"
    assert _persons(chat, []) == {"Hugo", "Kimberly"}
    note = "Dx: I10\nPlan: rest\nNote: fine"
    assert _persons(note, []) == set()
    assert _persons("Hugo: hello there", []) == set()  # one line is no transcript
