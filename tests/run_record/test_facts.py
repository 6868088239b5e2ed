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


def test_the_reference_is_published_rounded_with_the_ratio_of_the_exact_losses():
    from strongroom.run_record.facts import ReferenceFacts, reference_facts
    from strongroom.run_record.reports import ReferenceReport

    report = ReferenceReport(trained=True, loss=1.05321, token_loss=1.04871, perplexity=2.854,
                             units=200, steps=87, batch_size=62)  # fmt: skip
    facts = reference_facts(report, dp_loss=2.33456)
    assert facts == ReferenceFacts(
        loss=1.05, perplexity=2.86, loss_ratio=2.22, steps=87, batch_size=62
    )  # perplexity: exp(1.05) = 2.8577, of the rounded loss; 2.33456 / 1.05321 = 2.2166
    assert reference_facts(ReferenceReport(trained=False), dp_loss=2.3) == ReferenceFacts()
    assert reference_facts(None, dp_loss=2.3).loss_ratio is None
