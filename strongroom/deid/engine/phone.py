"""Presidio's PhoneRecognizer with libphonenumber's parse-and-verify remembered.

Presidio runs libphonenumber's matcher once per region (eight of them) on every note, and the
matcher parses and validates every digit run (dates, record numbers, phone numbers) for each
region: a third of the analysis time. Parsing depends only on the candidate string and the
region, and the same candidates come back note after note (a patient's phone number and record
number are in every one of their notes), so the verified parse is cached. The checks that look
at the characters around a candidate still run on each note, so the matches are exactly those
of Presidio's recognizer (``tests/records/test_phone.py`` compares them).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from phonenumbers import (
    CountryCodeSource,
    Leniency,
    NumberParseException,
    PhoneNumber,
    PhoneNumberMatch,
    PhoneNumberMatcher,
    is_valid_number,
    parse,
    region_code_for_number,
)
from phonenumbers.phonenumbermatcher import (
    _INNER_MATCHES,
    _LEAD_PATTERN,
    _MATCHING_BRACKETS,
    _PATTERN,
    _PUB_PAGES,
    _SECOND_NUMBER_START_PATTERN,
    _SLASH_SEPARATED_DATES,
    _TIME_STAMPS,
    _TIME_STAMPS_SUFFIX,
    _UNWANTED_END_CHAR_PATTERN,
    _contains_only_valid_x_chars,
    _is_national_prefix_present_if_required,
    _verify,
    fullmatch,
)
from presidio_analyzer import EntityRecognizer
from presidio_analyzer.predefined_recognizers import PhoneRecognizer

_CACHE_SIZE = 200_000  # verified parses kept (a few hundred bytes each)
_PLUS_SIGNS = ("+", "\uff0b")  # libphonenumber's PLUS_CHARS


@lru_cache(maxsize=_CACHE_SIZE)
def _verified(candidate: str, region: str | None, leniency: int) -> Any:
    """The parsed number if `candidate` is a valid number for `region` at `leniency`, else None
    (`region` None: a number with its country code, which needs no default region)."""
    try:
        number = parse(candidate, region, keep_raw_input=True)
    except NumberParseException:
        return None
    if not _verifies(leniency, number, candidate):
        return None
    number.country_code_source = CountryCodeSource.UNSPECIFIED
    number.raw_input = None
    number.preferred_domestic_carrier_code = None
    return number


def _verifies(leniency: int, number: Any, candidate: str) -> bool:
    """libphonenumber's ``_verify``; at leniency VALID with ``is_valid_number`` remembered: the
    regions sharing a country code (US and CA) parse a candidate to the same number, and
    validating a +1 number tries the 25 regions of the code one by one."""
    if leniency != Leniency.VALID:
        return bool(_verify(leniency, number, candidate, None))
    return (
        _is_valid(
            number.country_code,
            number.national_number,
            bool(number.italian_leading_zero),
            number.number_of_leading_zeros,
        )
        and _contains_only_valid_x_chars(number, candidate)
        and _is_national_prefix_present_if_required(number)
    )


@lru_cache(maxsize=_CACHE_SIZE)
def _is_valid(country_code: int, national_number: int, leading_zero: bool, zeros: Any) -> bool:
    """``is_valid_number``, which reads only these fields of a number."""
    number = PhoneNumber(
        country_code=country_code,
        national_number=national_number,
        italian_leading_zero=leading_zero or None,
        number_of_leading_zeros=zeros,
    )
    return bool(is_valid_number(number))


@lru_cache(maxsize=_CACHE_SIZE)
def _region_of(number_text: str) -> str | None:
    """Presidio's explanation region for a match (parsed without a default region)."""
    try:
        return region_code_for_number(parse(number_text))
    except NumberParseException:
        return None


def _trim(candidate: str) -> str:
    """``PhoneNumberMatcher._trim_after_first_match`` with the unwanted-end-character pattern."""
    trailing = _UNWANTED_END_CHAR_PATTERN.search(candidate)
    return candidate[: trailing.start()] if trailing else candidate


class _TextScan:
    """What the eight regional matchers of one text share: candidate searches, neighbour checks."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._candidates: dict[int, tuple[int, str] | None] = {}
        self._neighbours: dict[tuple[int, int], bool] = {}
        self._plans: dict[tuple[int, str], list[list[tuple[str, int]]] | None] = {}
        self._well_formed: dict[str, bool] = {}

    def candidate_at(self, index: int) -> tuple[int, str] | None:
        """libphonenumber's next candidate on or after `index`: (offset, text)."""
        if index not in self._candidates:
            match = _PATTERN.search(self.text, index)
            found = None
            if match is not None:
                candidate = self.text[match.start() : match.end()]
                trailing = _SECOND_NUMBER_START_PATTERN.search(candidate)
                found = (match.start(), candidate[: trailing.start()] if trailing else candidate)
            self._candidates[index] = found
        return self._candidates[index]

    def plan(self, offset: int, candidate: str) -> list[list[tuple[str, int]]] | None:
        """The inner groups ``_extract_match`` tries after the whole candidate, as the steps of
        its loop (one or two (group, offset) each), or None where it skips the candidate (a
        slash-separated date, a time stamp)."""
        key = (offset, candidate)
        if key not in self._plans:
            self._plans[key] = self._make_plan(offset, candidate)
        return self._plans[key]

    def _make_plan(self, offset: int, candidate: str) -> list[list[tuple[str, int]]] | None:
        if _SLASH_SEPARATED_DATES.search(candidate):
            return None
        end = offset + len(candidate)
        if _TIME_STAMPS.search(candidate) and _TIME_STAMPS_SUFFIX.match(self.text[end:]):
            return None
        steps = []
        for inner in _INNER_MATCHES:  # PhoneNumberMatcher._extract_inner_match, untried
            group_match, first = inner.search(candidate), True
            while group_match:
                step = []
                if first:  # the part before the first group
                    step.append((_trim(candidate[: group_match.start()]), offset))
                    first = False
                step.append((_trim(group_match.group(1)), offset + group_match.start(1)))
                steps.append(step)
                group_match = inner.search(candidate, group_match.start() + 1)
        return steps

    def well_formed(self, candidate: str) -> bool:
        """Brackets match and it is no page reference (the first checks of parse-and-verify)."""
        if candidate not in self._well_formed:
            self._well_formed[candidate] = bool(
                fullmatch(_MATCHING_BRACKETS, candidate) and not _PUB_PAGES.search(candidate)
            )
        return self._well_formed[candidate]

    def neighbours_reject(self, offset: int, candidate: str) -> bool:
        """The leniency-VALID check on the characters just before and after a candidate."""
        key = (offset, len(candidate))
        if key not in self._neighbours:
            text, rejects = self.text, _CachingMatcher.rejects_neighbour
            before = offset > 0 and not _LEAD_PATTERN.match(candidate) and rejects(text[offset - 1])
            end = offset + len(candidate)
            after = end < len(text) and rejects(text[end])
            self._neighbours[key] = before or after
        return self._neighbours[key]


class _CachingMatcher(PhoneNumberMatcher):
    """libphonenumber's matcher; the context-free parse-and-verify step is cached across notes,
    the region-free searches and checks are shared by the regions of one note."""

    def __init__(
        self, scan: _TextScan, region: str, *, leniency: int, max_tries: int = 65535
    ) -> None:
        super().__init__(scan.text, region, leniency=leniency, max_tries=max_tries)
        self._scan = scan

    def _find(self, index: int) -> PhoneNumberMatch | None:
        found = self._scan.candidate_at(index)
        while self._max_tries > 0 and found is not None:
            start, candidate = found
            if len(candidate) >= self._min_candidate_length:
                match = self._extract_match(candidate, start)
                if match is not None:
                    return match
                self._max_tries -= 1
            found = self._scan.candidate_at(start + len(candidate))
        return None

    def _extract_match(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        """``PhoneNumberMatcher._extract_match`` on the shared plan of the candidate."""
        if self.leniency > Leniency.VALID:
            return super()._extract_match(candidate, offset)
        steps = self._scan.plan(offset, candidate)
        if steps is None:
            return None
        match = self._parse_and_verify(candidate, offset)
        if match is not None:
            return match
        for step in steps:
            if self._max_tries <= 0:  # the loop's own stop: no inner step runs after it
                return None
            for group, group_offset in step:
                match = self._parse_and_verify(group, group_offset)
                if match is not None:
                    return match
                self._max_tries -= 1
        return None

    def _parse_and_verify(self, candidate: str, offset: int) -> PhoneNumberMatch | None:
        if self.leniency > Leniency.VALID:  # stricter checks read the matcher: no cache
            return super()._parse_and_verify(candidate, offset)
        if not self._scan.well_formed(candidate):
            return None
        if self.leniency >= Leniency.VALID and self._scan.neighbours_reject(offset, candidate):
            return None
        # With a leading plus the number carries its country code: the default region is not
        # used, so the eight regions share one parse.
        region = None if candidate[:1] in _PLUS_SIGNS else self.preferred_region
        number = _verified(candidate, region, self.leniency)
        return None if number is None else PhoneNumberMatch(offset, candidate, number)

    @classmethod
    def rejects_neighbour(cls, char: str) -> bool:
        return cls._is_invalid_punctuation_symbol(char) or cls._is_latin_letter(char)


class CachedPhoneRecognizer(PhoneRecognizer):
    """Drop-in for Presidio's ``PhoneRecognizer`` (same name, context, regions and results)."""

    @classmethod
    def replacing(cls, stock: PhoneRecognizer) -> CachedPhoneRecognizer:
        return cls(
            context=stock.context,
            supported_language=stock.supported_language,
            supported_entity=stock.supported_entities[0],
            supported_regions=stock.supported_regions,
            leniency=stock.leniency,
            name=stock.name,
        )

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        results = []
        scan = _TextScan(text)
        for default_region in self.supported_regions:
            for match in _CachingMatcher(scan, default_region, leniency=self.leniency):
                region = _region_of(text[match.start : match.end]) or default_region
                results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        return EntityRecognizer.remove_duplicates(results)
