"""Memorisation: edit distance and match rates against hand-computed values."""

import pytest

from strongroom.audit.memorisation import edit_distance, match_rates


def test_edit_distance_known_pairs():
    assert edit_distance(b"kitten", b"sitting") == 3
    assert edit_distance([], [1, 2]) == 2 and edit_distance([1, 2, 3], [1, 2, 3]) == 0


def test_exact_and_near_rates():
    truths = [list(range(20))] * 4
    completions = [
        list(range(20)),  # exact
        [*range(19), 99],  # one substitution in 20: 5%, near
        [*range(17), 97, 98, 99],  # three in 20: 15%, not near
        [],  # nothing
    ]
    rates = match_rates(completions, truths)
    assert (rates.exact, rates.near, rates.count) == (0.25, 0.5, 4)
    with pytest.raises(ValueError):
        match_rates([[1]], [])
