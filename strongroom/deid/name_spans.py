"""The rest of a name: the words next to a PERSON finding, speakers of a chat, a list of people.

NER and the lexicon often find one word of a name and stop: "Toby West" (West is an English word),
"Ana Perić" (spaCy found Ana), "Kauan S Cunha"; or find some names of a list and not the others
("Gabriele, Joseph, Mikayla and Jessica"); and a chat's speakers stand alone at the start of
their lines ("Hugo: What a wife."). After the engine's findings:

- a PERSON finding (or a one-word place or organisation: spaCy's small model often takes a
  foreign name for one) grows over the capitalised words and initials next to it on its line
  (at most three on each side): to the right over any that is no English word or is a census
  name ("West", "Young"), with name particles between ("Frits van den Heuvel"); to the left
  over initials and any word that is no English word or is a census first name ("Danial S.
  Eklund" from Eklund). Titles and credentials ("Dr.", "MD") identify no one and stay:
  "Seen by Dr. <PERSON>" keeps the note readable;
- in a list of single capitalised words ("A, B, C and D") holding at least two PERSON findings,
  every item is a PERSON too (the English words hold many names: Polycarp, Hugo); with one
  PERSON among them ("Urbina and Todd"), the items that are census names;
- with two or more lines starting "Word:" (a transcript), each such word that is a first name
  or no English word (and no clinical header) is a PERSON.

English words are the spaCy model's (``spacy_model.english_words``), census names the lexicon's
(``recognizers.name_lexicon``). The precision this costs is measured by benchmarks/deid_recall.py.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from strongroom.deid.engine import Finding
from strongroom.deid.spacy_model import english_words

SCORE = 0.5
MAX_GROWTH = 3  # words added on each side of a finding
_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ"
_LOWER = "a-zß-öø-ÿā-ž"
_CAPITALISED = rf"[{_UPPER}][{_LOWER}]+(?:[-'’][{_UPPER}]?[{_LOWER}]+)*"
_WORD = rf"(?:{_CAPITALISED}|[{_UPPER}]\.?)"  # a name word or an initial
_PARTICLES = r"(?:van|von|der|den|de|del|della|di|da|du|dos|ten|ter|la|le|bin|ibn|al|el)"
_RIGHT = re.compile(rf"[ \t]+(?:{_PARTICLES}[ \t]+)*({_WORD})(?![\w'’-])")
_LEFT = re.compile(rf"(?<![\w'’-])({_WORD})[ \t]+$")
_LIST = re.compile(
    rf"(?<![\w'’-]){_CAPITALISED}(?:[ \t]*,[ \t]*{_CAPITALISED})*,?[ \t]+(?:and|or|&)[ \t]+"
    rf"{_CAPITALISED}(?![\w'’-])"
)
_ITEM = re.compile(_CAPITALISED)
_SPEAKER = re.compile(rf"^[ \t]*({_CAPITALISED})[ \t]*:", re.MULTILINE)
# Headers of clinical notes that read like a speaker's name; English words are excluded anyway.
_HEADERS = frozenset({"dx", "rx", "hx", "tx", "sx", "fx", "px", "pmh", "hpi", "ros", "cc", "pt"})
_TITLES = frozenset({"mr", "mrs", "ms", "mx", "miss", "dr", "prof", "sir", "dame", "rev"})
# Findings of these types (spaCy's) grow like names when they are one word
_GROWN_TOO = frozenset({"LOCATION", "ORGANIZATION", "NRP"})


def _census() -> tuple[frozenset[str], frozenset[str]]:
    """(census names, census first names); imported here, not at the top: the recognizers'
    package imports Presidio (~2 s), which the tasks importing ``stages`` do not need."""
    from strongroom.deid.recognizers.name_lexicon import census_first_names, census_names

    return census_names(), census_first_names()


def _first_name_or_not_english(word: str) -> bool:
    lower = word.lower()
    return lower not in english_words() or lower in _census()[1]


def _grow(text: str, start: int, end: int) -> tuple[int, int]:
    for _ in range(MAX_GROWTH):
        after = _RIGHT.match(text, end)
        if after is None:
            break
        word = after.group(1).lower()
        if len(word) > 2 and word in english_words() and word not in _census()[0]:
            break
        end = after.end()
    for _ in range(MAX_GROWTH):
        before = _LEFT.search(text, 0, start)
        if before is None or before.group(1).lower().rstrip(".") in _TITLES:
            break
        word = before.group(1)
        if len(word.rstrip(".")) > 1 and not _first_name_or_not_english(word):  # not an initial
            break
        start = before.start()
    return start, end


def _listed(text: str, people: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    found = []
    for match in _LIST.finditer(text):
        # capitalised words only: never the "and" / "or" between them
        items = [m.span() for m in _ITEM.finditer(text, match.start(), match.end())]
        is_named = [any(s <= a and b <= e for s, e in people) for a, b in items]
        if sum(is_named) >= 2:
            found += items
        elif any(is_named):  # "Urbina and Todd": the others count where the census names them
            found += [(a, b) for a, b in items if text[a:b].lower() in _census()[0]]
    return found


def _speakers(text: str) -> list[tuple[int, int]]:
    labels = list(_SPEAKER.finditer(text))
    if len(labels) < 2:
        return []
    return [
        m.span(1)
        for m in labels
        if _first_name_or_not_english(m.group(1)) and m.group(1).lower() not in _HEADERS
    ]


def extend_names(text: str, findings: Sequence[Finding]) -> list[Finding]:
    """`findings` with every PERSON grown over the rest of its name, plus the people of lists
    and the speakers of a transcript."""
    out: list[Finding] = []
    for entity, start, end, score in findings:
        one_word = entity in _GROWN_TOO and re.fullmatch(_CAPITALISED, text[start:end])
        if entity == "PERSON" or one_word:
            start, end = _grow(text, start, end)
        out.append((entity, start, end, score))
    people = [(s, e) for entity, s, e, _ in out if entity == "PERSON"]
    added = _listed(text, people) + _speakers(text)
    out += [
        ("PERSON", s, e, SCORE) for s, e in added if not any(a <= s and e <= b for a, b in people)
    ]
    return out
