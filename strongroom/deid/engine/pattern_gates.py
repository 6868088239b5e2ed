"""Gates for regex patterns: a cheap search that must succeed wherever the pattern can match.

Presidio runs each of its ~75 patterns over every note. Most patterns need a character run that
most notes do not have: a URL needs a dot followed by the first letter of a top-level domain,
an e-mail an '@', a slash-separated date a '/'. Finding that run is one fast search; where it
is absent the pattern cannot match and is skipped, so the findings are the same.

The gate is derived from the pattern itself: Python's regex parser gives the syntax tree, and a
run is a stretch of a sequence that every match contains whose items each match exactly one
character (a literal, a class, a group of one such item), plus the start of the next item when
every way of matching it starts the same way (for a branch: any of its branches' starts). Runs
are collected from the top level and from every part a match always goes through (groups,
repeats taken at least once, positive look-arounds, whose characters are in the text too); a
branch gives the alternation of the rarest run of each of its branches. Zero-width items (\\b,
look-arounds) do not break a run: the characters on both sides are still adjacent in the text.
Every class keeps the case rule of its place in the pattern. The gate requires the two runs that
match least often in a sample of clinical and bank text; a pattern whose syntax is not fully
understood (Presidio uses the ``regex`` module, whose syntax is larger than ``re``'s) or without
a selective run gets none. ``tests/records/test_pattern_gates.py`` checks on every pattern of
the pipeline that the gate passes wherever the pattern matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

import regex

# Text like the notes a gate is meant for: a gate that matches it often saves nothing.
_SAMPLE = (
    "Pt seen 2023-04-05 (MRN 12345678) for chest pain; BP 120/80, HR 72. Dr. Smith, NPI "
    "1234567893. Discharged home on aspirin 81 mg, follow-up in 2 weeks. Lives in Springfield "
    "with daughter Mary-Jane O'Neil, reached at (555) 123-4567 x12. Wire of $1,250.00 to "
    "account ending 4321, card exp 04/27; balance checked on 03.04.2022 at 14:30. "
)
_MAX_SAMPLE_HITS = 2  # a gate must be rarer than this in the sample to be worth a search
_MAX_RUNS = 2  # runs a gate requires together (each one is necessary)
_MAX_ALTERNATIVES = 16  # a branch with more distinct leads is summarised by their first chars
_KNOWN_FLAGS = re.IGNORECASE | re.MULTILINE | re.DOTALL
_REGEX_ONLY = re.compile(r"\[:\^?[A-Za-z]+:\]|\\[pPXmMGKLN]")  # [:alpha:], \p{L}, \X, \m ...
_CATEGORIES = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}
_ZERO_WIDTH = {sre.AT, sre.ASSERT, sre.ASSERT_NOT}


class _Unknown(Exception):
    """A construct this module does not reason about: no gate."""


@dataclass(frozen=True)
class Gate:
    """Runs of characters every match of a pattern contains (the shorter search first): where
    one is missing from a text, the pattern cannot match there."""

    runs: tuple[Any, ...]  # compiled ``regex`` searches

    def search(self, text: str) -> bool:
        return all(run.search(text) is not None for run in self.runs)


def gate(pattern: str, flags: int) -> Gate | None:
    """A gate that passes every text where `pattern` (compiled with `flags` by the ``regex``
    module) has a match, or None where no useful one exists."""
    if flags & ~_KNOWN_FLAGS or _REGEX_ONLY.search(pattern):
        return None  # regex-module syntax (POSIX and Unicode property classes, other modes)
    try:
        tree = sre_parse.parse(pattern, flags)
        runs = [r for r in _runs(tree.data, bool(tree.state.flags & re.IGNORECASE)) if r]
    except (_Unknown, re.error, RecursionError):
        return None
    compiled = {regex.compile("".join(run), regex.DOTALL) for run in runs}
    scored = sorted((len(g.findall(_SAMPLE)), len(g.pattern), g.pattern) for g in compiled)
    chosen = [p for hits, _, p in scored[:_MAX_RUNS] if hits < _MAX_SAMPLE_HITS]
    if not chosen:
        return None
    chosen.sort(key=len)  # the shorter search first: usually the cheaper one
    return Gate(tuple(regex.compile(p, regex.DOTALL) for p in chosen))


def _runs(items: list[Any], ignorecase: bool) -> Iterator[list[str]]:
    """Runs of adjacent one-character classes that every match of the sequence contains."""
    run: list[str] = []
    for op, av in items:
        if op in _ZERO_WIDTH:
            yield from _inner_runs(op, av, ignorecase)
            continue  # nothing consumed: the neighbours stay adjacent
        single = _single(op, av, ignorecase)
        if single is not None:
            run.append(single)
            continue
        first = _first(op, av, ignorecase)
        if first is not None:
            run.append(first)
        yield run
        run = []
        yield from _inner_runs(op, av, ignorecase)
    yield run


def _inner_runs(op: Any, av: Any, ignorecase: bool) -> Iterator[list[str]]:
    """Runs inside an item that always takes part in a match (a group, a repeat at least once,
    a positive look-around: its characters are in the text too)."""
    if op is sre.ASSERT:
        yield from _runs(av[1].data, ignorecase)
    elif op is sre.SUBPATTERN:
        _, add, remove, body = av
        yield from _runs(body.data, _case(ignorecase, add, remove))
    elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
        yield from _runs(av[2].data, ignorecase)
    elif op is sre.BRANCH:  # a match takes one branch: the rarest run of each, any of them
        rarest = [_rarest(_runs(branch.data, ignorecase)) for branch in av[1]]
        if all(rarest):
            yield ["(?:" + "|".join(sorted(set(rarest))) + ")"]  # type: ignore[arg-type]


def _rarest(runs: Iterator[list[str]]) -> str | None:
    """The run with the fewest hits in the sample text, as one pattern string."""
    patterns = {"".join(run) for run in runs if run}
    return min(patterns, key=lambda p: (len(regex.findall(p, _SAMPLE)), len(p)), default=None)


def _case(ignorecase: bool, add: int, remove: int) -> bool:
    return bool((ignorecase or add & re.IGNORECASE) and not remove & re.IGNORECASE)


def _single(op: Any, av: Any, ignorecase: bool) -> str | None:
    """The class of an item that matches exactly one character, else None."""
    if op is sre.LITERAL:
        return _scoped(f"[{_char(av)}]", ignorecase)
    if op is sre.IN:
        return _scoped(_class(av), ignorecase)
    if op is sre.SUBPATTERN:
        _, add, remove, body = av
        if len(body.data) == 1:
            return _single(*body.data[0], _case(ignorecase, add, remove))
    return None


def _first(op: Any, av: Any, ignorecase: bool, limit: int = 0) -> str | None:
    """What every match of an item starts with (a run of classes, or an alternation of runs
    for a branch; at most `limit` classes long if set), else None."""
    if op is sre.SUBPATTERN:
        _, add, remove, body = av
        return _lead(body.data, _case(ignorecase, add, remove), limit)
    if op is sre.BRANCH:
        leads = {_lead(branch.data, ignorecase, limit) for branch in av[1]}
        if len(leads) > _MAX_ALTERNATIVES and limit != 1:  # a long list (TLDs) is slow to
            leads = {_lead(branch.data, ignorecase, 1) for branch in av[1]}  # search: 1st chars
        if None in leads:
            return None
        return "(?:" + "|".join(sorted(leads)) + ")"  # type: ignore[arg-type]
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] >= 1:
        return _lead(av[2].data, ignorecase, limit)
    return None


def _lead(items: list[Any], ignorecase: bool, limit: int = 0) -> str | None:
    """The run a sequence always starts with (at most `limit` classes if set), else None."""
    parts: list[str] = []
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        if limit and len(parts) == limit:
            break
        single = _single(op, av, ignorecase)
        if single is None:
            first = _first(op, av, ignorecase, limit - len(parts) if limit else 0)
            if first is not None:
                parts.append(first)
            break
        parts.append(single)
    return "".join(parts) or None


def _scoped(char_class: str, ignorecase: bool) -> str:
    return f"(?{'i' if ignorecase else '-i'}:{char_class})"


def _char(code: int) -> str:
    return f"\\U{code:08x}"


def _class(items: list[Any]) -> str:
    parts = []
    for op, av in items:
        if op is sre.NEGATE:
            parts.append("^")
        elif op is sre.LITERAL:
            parts.append(_char(av))
        elif op is sre.RANGE:
            parts.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is sre.CATEGORY and av in _CATEGORIES:
            parts.append(_CATEGORIES[av])
        else:
            raise _Unknown(op)
    return "[" + "".join(parts) + "]"
