"""Person names from a real names data set: the 1990 US census first and last names.

spaCy's small English model misses many lone names ("Christine said", "Grishin agreed"). A
capitalised word counts as a name when the census lists it (the ``names`` package on PyPI ships
the Census Bureau's files: 5,494 first names, 88,799 surnames with their frequencies) and it is
not an English word (the lemmatizer's dictionary and the stop words of the spaCy model: "Will",
"Rose", "Brown" and "Young" stay words). How rare a surname may be: ``MAX_SURNAME_RANK`` (the
census ranks its 88,799 surnames; past rank 40,000 each is a few hundred people and the list
holds spelling noise). The rest of a name ("Danial S. Eklund") is added to every PERSON finding
after the engine, by ``deid.name_spans``. Not a name: a month or a weekday, and an
eponym ("Parkinson's disease", "Bell palsy"). The precision this costs is measured by
``benchmarks/deid_recall.py`` (generated, independent and clinical sets).
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from presidio_analyzer import EntityRecognizer, RecognizerResult

from strongroom.deid.spacy_model import english_words

MAX_SURNAME_RANK = 40_000
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
_WORD = re.compile(
    r"(?<![\w'’-])[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿ]+(?:[-'’][A-ZÀ-ÖØ-Þ]?[a-zß-öø-ÿ]+)*(?![\w'’-])"
)
_EPONYM = re.compile(
    r"^(?:['’]s)?\s+(?i:disease|syndrome|palsy|sign|test|reflex|criteria|score|scale|fracture"
    r"|ulcer|procedure|operation|classification|phenomenon|law|node|tumou?r)\b"
)


@lru_cache(maxsize=1)
def census_names() -> frozenset[str]:
    """Lower-case first names and surnames (up to ``MAX_SURNAME_RANK``) of the 1990 census."""
    return census_first_names() | _census_file("dist.all.last", max_rank=MAX_SURNAME_RANK)


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


def _is_name(word: str) -> bool:
    lower, parts = word.lower(), re.split(r"[-'’]", word.lower())
    if lower in _CALENDAR or lower in english_words():
        return False
    return lower in census_names() or any(len(p) > 2 and p in census_names() for p in parts)


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
            for match in _WORD.finditer(text)
            if _is_name(match.group()) and not _EPONYM.match(text[match.end() :])
        ]
        return [
            RecognizerResult("PERSON", start, end, SCORE, recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
            })
            for start, end in spans
        ]  # fmt: skip
