"""Facts: one definition, read by dotted name, flat for tags and back."""

import pytest

from strongroom.run_record.facts import Facts, fact_names
from tests.governance.test_gate import GOOD


def test_every_fact_reads_by_its_dotted_name_and_round_trips_through_the_flat_form():
    flat = GOOD.flat()
    assert list(flat) == fact_names()
    assert GOOD.get("privacy.epsilon") == GOOD.privacy.epsilon
    assert Facts.from_flat(flat) == GOOD


def test_a_name_that_is_not_a_fact_is_a_key_error():
    with pytest.raises(KeyError):
        GOOD.get("privacy.epsilom")
    with pytest.raises(KeyError):
        GOOD.get("privacy")
