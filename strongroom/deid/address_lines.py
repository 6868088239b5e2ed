"""The rest of an address: the town, region, country and postcode after the street.

Recognizers find the street line ("8618 Norderhovgata 153", "Apt. 744"); the lines under it in a
letter or a signature block, and the comma-separated parts after it on one line (or the rest of its line, when all of it reads as a place), name the town
("OSLO"), the region and the country with a postcode ("Norway 53482"). Safe Harbor counts towns
and postcodes as identifiers. After a STREET_ADDRESS finding, the parts that follow are added to it
while each looks like a place: at most six words, each capitalised, upper case, a number of up to
ten characters or a short particle; with a postcode, a word in capitals, or a word that is no
English word ("Marketing Research Analyst" is not a place, "Norway 53482" is); no colon, '@' or
digit run longer than a postcode (a "Phone: ..." line ends the block).
"""

from __future__ import annotations

import re

from strongroom.deid.engine import Finding
from strongroom.deid.spacy_model import english_words

MAX_LINES = 4  # lines under a street line: town, region, country and postcode at most
_PARTICLES = frozenset(
    {"de", "la", "le", "del", "di", "da", "van", "von", "am", "an", "der", "sur"}
)
_POSTCODE = re.compile(r"[0-9A-Z]{1,4}(?:[0-9A-Z -]{0,6})")
_SAME_LINE = re.compile(r"[ \t]*,[ \t]*([^,\n]{1,60})")
_REST_OF_LINE = re.compile(r"[ \t]+([^,\n]{1,60}?)[ \t]*(?=\n|\Z)")  # "Apt. 449 WIEN Austria"
_NUMBER_BEFORE = re.compile(r"(?<![\w.,/-])[0-9]{1,6}[A-Za-z]?[ \t]+$")
_NEXT_LINE = re.compile(r"[ \t]*,?[ \t]*\r?\n[ \t}]*([^\n]{1,60})")


def _place_word(word: str) -> bool:
    if word.lower() in _PARTICLES:
        return True
    if any(c.isdigit() for c in word):
        return len(word) <= 10 and _POSTCODE.fullmatch(word) is not None
    return word[:1].isupper() and word.replace("-", "").replace("'", "").isalpha()


def is_place(part: str) -> bool:
    """Whether one line or comma-separated part reads as a town, region, country or postcode."""
    if ":" in part or "@" in part:
        return False
    words = part.replace(",", " ").replace(".", " ").split()
    if not 1 <= len(words) <= 6 or not all(_place_word(w) for w in words):
        return False
    if any(c.isdigit() for c in part) or any(len(w) > 1 and w.isupper() for w in words):
        return True  # a postcode, or a town in capitals as postal addresses write it
    english = english_words()
    return not all(w.lower() in english for w in words if w.lower() not in _PARTICLES)


def extend_addresses(text: str, findings: list[Finding]) -> list[Finding]:
    """Each STREET_ADDRESS finding extended over a number just before it and the place parts
    that follow it."""
    out = []
    for entity, start, end, score in findings:
        if entity == "STREET_ADDRESS":
            start, end = _number_before(text, start), _place_end(text, end)
        out.append((entity, start, end, score))
    return out


def _number_before(text: str, start: int) -> int:
    """A building or house number just before the street ("360 55 Rue Wanes") belongs to it."""
    before = _NUMBER_BEFORE.search(text, 0, start)
    return before.start() if before else start


def _place_end(text: str, end: int) -> int:
    for pattern, limit in ((_REST_OF_LINE, 1), (_SAME_LINE, 3), (_NEXT_LINE, MAX_LINES)):
        for _ in range(limit):
            match = pattern.match(text, end)
            if match is None or not is_place(match.group(1).strip()):
                break
            end = match.start(1) + len(match.group(1).rstrip())
    return end
