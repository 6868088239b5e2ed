"""Presidio's pattern matching for one recognizer, with gates and without per-pattern overhead.

``PatternRecognizer.analyze`` runs every pattern on every note, and around each one it reads the
clock twice, logs a debug line and, at the end, sorts the (usually empty) result list. Here a
pattern whose gate (``pattern_gates``) finds nothing in the note is skipped, since it cannot
match, and the loop that follows is Presidio's ``__analyze_patterns`` step for step: the same
compiled regexes (shared with the recognizer), the same timeout, scores, validation,
invalidation, explanation and duplicate removal. ``tests/records/test_pattern_runner.py``
compares the results with the recognizer's own ``analyze`` on every pattern recognizer.
"""

from __future__ import annotations

import logging
from typing import Any

import regex
from presidio_analyzer import EntityRecognizer, PatternRecognizer, RecognizerResult
from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS

from strongroom.deid.engine.pattern_gates import gate

logger = logging.getLogger("presidio-analyzer")  # where Presidio reports a regex timeout


def _compile(pattern: Any, flags: int) -> None:
    """Presidio's lazy compilation of a ``Pattern`` (kept on the pattern, shared)."""
    if not pattern.compiled_regex or pattern.compiled_with_flags != flags:
        pattern.compiled_with_flags = flags
        pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)


class PatternRunner:
    """``recognizer.analyze`` for a plain ``PatternRecognizer``: the same results, less work."""

    def __init__(self, recognizer: Any) -> None:
        self._recognizer = recognizer
        flags = recognizer.global_regex_flags
        self._gates = [gate(p.regex, flags) for p in recognizer.patterns]
        for pattern in recognizer.patterns:  # now, as Presidio would on its first note: a gate
            _compile(pattern, flags)  # may keep a pattern from running for many notes

    @classmethod
    def wrap(cls, recognizer: Any) -> Any:
        """A runner for a plain pattern recognizer; any other recognizer is returned as it is."""
        if not isinstance(recognizer, PatternRecognizer):
            return recognizer
        if type(recognizer).analyze is not PatternRecognizer.analyze:
            return recognizer  # its own matching logic (Presidio's IBAN): nothing to assume
        return cls(recognizer)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        recognizer = self._recognizer
        flags = recognizer.global_regex_flags  # analyze(regex_flags=None) uses these
        results: list[Any] = []
        for pattern, pattern_gate in zip(recognizer.patterns, self._gates, strict=True):
            if pattern_gate is not None and not pattern_gate.search(text):
                continue  # the pattern cannot match this text
            _compile(pattern, flags)
            try:
                for match in pattern.compiled_regex.finditer(text, timeout=REGEX_TIMEOUT_SECONDS):
                    self._add(results, pattern, text, *match.span())
            except TimeoutError:
                logger.warning(
                    "Regex pattern '%s' timed out after %s seconds, skipping.",
                    pattern.name,
                    REGEX_TIMEOUT_SECONDS,
                    exc_info=True,
                )
        if len(results) < 2:  # nothing to remove: every result kept has a score above zero
            return results
        return EntityRecognizer.remove_duplicates(results)

    def _add(self, results: list[Any], pattern: Any, text: str, start: int, end: int) -> None:
        """One match, scored as ``PatternRecognizer.__analyze_patterns`` scores it."""
        if start == end:
            return
        recognizer = self._recognizer
        matched = text[start:end]
        validation = recognizer.validate_result(matched)
        explanation = recognizer.build_regex_explanation(
            recognizer.name,
            pattern.name,
            pattern.regex,
            pattern.score,
            validation,
            recognizer.global_regex_flags,
        )
        result = RecognizerResult(
            entity_type=recognizer.supported_entities[0],
            start=start,
            end=end,
            score=pattern.score,
            analysis_explanation=explanation,
            recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: recognizer.id,
            },
        )
        if validation is not None:
            result.score = EntityRecognizer.MAX_SCORE if validation else EntityRecognizer.MIN_SCORE
        if recognizer.invalidate_result(matched):
            result.score = EntityRecognizer.MIN_SCORE
        if result.score > EntityRecognizer.MIN_SCORE:
            results.append(result)
        explanation.score = result.score
