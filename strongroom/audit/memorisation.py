"""Memorisation: given the start of a training person's example, does the model complete it with
the person's own next tokens, exactly or nearly (Carlini et al. 2021, "Extracting Training Data
from Large Language Models")? The same test on held-out persons is the baseline: what the record
format alone lets anyone guess. Tests: tests/audit/test_memorisation.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

NEAR = 0.1  # a completion within 10% edit distance of the truth counts as near-exact


@dataclass(frozen=True)
class MatchRates:
    exact: float  # share of completions equal to the true suffix
    near: float  # share within NEAR normalised edit distance (exact ones included)
    count: int


def edit_distance(a: Sequence[int], b: Sequence[int]) -> int:
    """Levenshtein distance: insertions, deletions and substitutions, each costing 1."""
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, start=1):
        current = [i]
        for j, right in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (left != right))
            )
        previous = current
    return previous[-1]


def match_rates(
    completions: Sequence[Sequence[int]], truths: Sequence[Sequence[int]], *, near: float = NEAR
) -> MatchRates:
    """How many completions reproduce their true suffix exactly, and within `near`."""
    if len(completions) != len(truths):
        raise ValueError("one completion per true suffix")
    if not truths:
        return MatchRates(0.0, 0.0, 0)
    exact = sum(list(c) == list(t) for c, t in zip(completions, truths, strict=True))
    close = sum(
        edit_distance(c, t) <= near * max(len(t), 1)
        for c, t in zip(completions, truths, strict=True)
    )
    return MatchRates(exact / len(truths), close / len(truths), len(truths))
