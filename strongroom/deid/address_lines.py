"""The rest of an address: the town, region, country and postcode after the street, the building
number and name before it, and the other street of a corner.

Recognizers find the street line ("8618 Norderhovgata 153", "Apt. 744"); the lines under it in a
letter or a signature block, and the comma-separated parts after it on one line (or the rest of its line, when all of it reads as a place), name the town
("OSLO"), the region and the country with a postcode ("Norway 53482"). Safe Harbor counts towns
and postcodes as identifiers. After a STREET_ADDRESS finding, the parts that follow are added to it
while each looks like a place: at most six words, each capitalised, upper case, a number of up to
ten characters or a short particle; with a postcode, a word in capitals, or a word that is no
English word ("Marketing Research Analyst" is not a place, "Norway 53482" is); no colon, '@' or
digit run longer than a postcode (a "Phone: ..." line ends the block). Blank lines inside the
block are skipped, and so are the marks an export leaves at a line's start ("}}", "???"). When
the street ends in a number ("Apt. 423"), the place words that follow it on its line go with it
even if the sentence goes on ("... Apt. 423 ΠΑΡΕΚΚΛΗΣΙΑ Λεμεσός for this card").

Before the street: a building number ("360 55 Rue Wanes"), or a number and a name when the
street found starts with a number ("587 Canelones 2266"). A corner ("the corner of Aðalstræti 49
and Mauer Parkways", "Catalina and 4010 Rockford Road") is one place: an address, a person or a
place found on each side of "and" become one address, with "the corner of" before them.
"""

from __future__ import annotations

from functools import lru_cache

import regex as re

from strongroom.deid.engine import Finding
from strongroom.deid.spacy_model import english_words

MAX_LINES = 4  # lines under a street line: town, region, country and postcode at most
_PARTICLES = frozenset(
    {"de", "la", "le", "del", "di", "da", "van", "von", "am", "an", "der", "sur", "pri"}
)
# A region or postcode left empty by an export ("Warszawa nan"): part of a place, never one alone
_EMPTY = frozenset({"nan", "none", "null", "n/a"})
_POSTCODE = re.compile(r"[0-9A-Z]{1,4}(?:[0-9A-Z -]{0,6})")
_SAME_LINE = re.compile(r"[ \t]*,[ \t]*([^,\n]{1,60})")
_REST_OF_LINE = re.compile(r"[ \t]+([^,\n]{1,60}?)[ \t]*(?=\n|\Z)")  # "Apt. 449 WIEN Austria"
_NUMBER_BEFORE = re.compile(r"(?<![\w.,/-])[0-9]{1,6}[A-Za-z]?[ \t]+$")
_NAME_BEFORE = re.compile(
    r"(?<![\w.,/-])[0-9]{1,6}[ \t]+\p{Lu}[\p{L}\p{M}'’.-]*[ \t]+"
    r"(?:(?:\p{Lu}[\p{L}\p{M}'’.-]*|d[aeiou]s?|de[nrl]?|degli|della|van|von|y)[ \t]+){0,3}$"
)  # "Unter den Linden 13", "Via degli Aldobrandeschi 3"
_LINE_MARKS = r"[ \t}?\ufffd]*"  # what exports leave at a line's start: "}}", "???"
_NEXT_LINE = re.compile(rf"[ \t]*,?[ \t]*(?:\r?\n{_LINE_MARKS})+([^\n]{{1,60}})")
# The words after a street that ends in a number, up to the first that is no place word
_WORDS = r"((?:[\p{L}\p{M}0-9'’()/-]+,?[ \t]*){1,6})"  # "Kustja, HA 64801. Please ..."
_PLACE_WORDS_AFTER = re.compile(rf"[ \t]+{_WORDS}")  # after the street, on its line
_PLACE_WORDS_AT = re.compile(_WORDS)  # at the start of a line
_PLACE_TOKEN = re.compile(r"[\p{L}\p{M}0-9'’()/-]+")
_CORNER_BEFORE = re.compile(r"(?i:(?:the[ \t]+)?corner[ \t]+of)[ \t]+$")
# One to four capitalised words or numbers on the other side of "and" ("Catalina and ...")
_SIDE = (
    r"(?:\p{Lu}[\p{L}\p{M}'’.-]*|[0-9]{1,5})(?:[ \t]+(?:\p{Lu}[\p{L}\p{M}'’.-]*|[0-9]{1,5})){0,3}"
)
_SIDE_BEFORE = re.compile(rf"(?<![\w'’-])({_SIDE})[ \t]+and[ \t]+$")
_SIDE_AFTER = re.compile(rf"[ \t]+and[ \t]+({_SIDE})(?![\w'’-])")


def _place_word(word: str) -> bool:
    word = word.strip("()")
    if word.lower() in _PARTICLES or word.lower() in _EMPTY:
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
    words = [w.strip("()") for w in words if w.lower() not in _EMPTY]
    if not words:
        return True  # ", nan": a region an export left empty, inside the block
    if any(c.isdigit() for c in part) or any(len(w) > 1 and w.isupper() for w in words):
        return True  # a postcode, or a town in capitals as postal addresses write it
    if " ".join(words).lower() in country_names():
        return True  # "Slovenia", "United Kingdom": English words to the lemma tables
    english = english_words()
    return not all(w.lower() in english for w in words if w.lower() not in _PARTICLES)


@lru_cache(maxsize=1)
def country_names() -> frozenset[str]:
    """Lower-case names of the countries and territories, in the languages libphonenumber's
    geocoder knows ("slovenia", "deutschland"); 0.4 s to load, once."""
    from phonenumbers.geodata.locale import LOCALE_DATA

    return frozenset(
        name.lower()
        for names in LOCALE_DATA.values()
        for name in names.values()
        if not name.startswith("*")  # "*aa": the same name as language "aa"
    )


def extend_addresses(text: str, findings: list[Finding]) -> list[Finding]:
    """Each STREET_ADDRESS finding extended over the number or name just before it and the
    place parts that follow it; the two sides of a corner joined."""
    out = []
    for entity, start, end, score in findings:
        if entity == "STREET_ADDRESS":
            start, end = _start_before(text, start), _place_end(text, end)
        out.append((entity, start, end, score))
    return _corners(text, out)


def _start_before(text: str, start: int) -> int:
    """A building or house number just before the street ("360 55 Rue Wanes", two at most)
    belongs to it; so do a number and a name before a street that starts with a number."""
    for _ in range(2):
        before = _NUMBER_BEFORE.search(text, max(0, start - 10), start)
        if before is None:
            break
        start = before.start()
    if text[start : start + 1].isdigit():
        named = _NAME_BEFORE.search(text, max(0, start - 80), start)
        start = named.start() if named else start
    return start


def _place_end(text: str, end: int) -> int:
    if text[end - 1 : end].isdigit():
        end = _place_words_end(text, end)
    for pattern, limit in ((_REST_OF_LINE, 1), (_SAME_LINE, 3), (_NEXT_LINE, MAX_LINES)):
        for _ in range(limit):
            match = pattern.match(text, end)
            if match is None or not _continues(text, match, pattern):
                break
            end = match.start(1) + len(match.group(1).rstrip())
    below = _NEXT_LINE.match(text, end)  # the last line may go on in prose: "Slovenia in case"
    if below is None:
        return end
    return (
        _place_words_end(text, below.start(1), _PLACE_WORDS_AT)
        if _starts_place(text, below.start(1))
        else end
    )


def _starts_place(text: str, line_start: int) -> bool:
    return _place_words_end(text, line_start, _PLACE_WORDS_AT) > line_start


def _continues(text: str, match: re.Match[str], pattern: re.Pattern[str]) -> bool:
    """Whether the part matched reads as a place; a line of capitalised words does too when
    the line under it does ("Ljubljana" above "Slovenia": both English words to the tables)."""
    part = match.group(1).strip()
    if is_place(part):
        return True
    if pattern is not _NEXT_LINE or not all(w[:1].isupper() for w in part.split()):
        return False
    below = _NEXT_LINE.match(text, match.end())
    if below is None or not _town(part):
        return False
    return is_place(below.group(1).strip()) or _starts_place(text, below.start(1))


def _town(part: str) -> bool:
    words = part.replace(",", " ").split()
    return 1 <= len(words) <= 4 and all(_place_word(w) for w in words)


def _place_words_end(text: str, end: int, words_at: re.Pattern[str] = _PLACE_WORDS_AFTER) -> int:
    """The end of the place words that `words_at` finds at `end` (the longest run that reads
    as a place), or `end`."""
    match = words_at.match(text, end)
    if match is None:
        return end
    words = list(_PLACE_TOKEN.finditer(text, match.start(1), match.end(1)))
    for count in range(len(words), 0, -1):
        last = words[count - 1].end()
        if all(_place_word(w.group()) for w in words[:count]) and is_place(
            text[words[0].start() : last]
        ):
            return last
    return end


def _corners(text: str, findings: list[Finding]) -> list[Finding]:
    """A street address and a finding on the other side of "and" become one address too; "the
    corner of" before an address goes with it."""
    out = [_with_corner_words(text, f) for f in findings]
    for entity, start, end, score in list(out):
        if entity != "STREET_ADDRESS":
            continue
        before = _SIDE_BEFORE.search(text, max(0, start - 80), start)
        if before and _covered(out, before.start(1), before.end(1)):
            out.append(_with_corner_words(text, (entity, before.start(1), end, score)))
        after = _SIDE_AFTER.match(text, end)
        if after and _covered(out, after.start(1), after.end(1)):
            out.append((entity, start, after.end(1), score))
    return out


def _covered(findings: list[Finding], start: int, end: int) -> bool:
    return any(s <= start and end <= e for _, s, e, _ in findings)


def _with_corner_words(text: str, finding: Finding) -> Finding:
    entity, start, end, score = finding
    if entity == "STREET_ADDRESS":
        corner = _CORNER_BEFORE.search(text, max(0, start - 20), start)
        start = corner.start() if corner else start
    return (entity, start, end, score)
