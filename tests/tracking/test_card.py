"""The card's reference section: shown with its figures when a reference was trained, absent
otherwise, so that versions registered before it existed still match their card."""

from strongroom.run_record.facts import Facts, ReferenceFacts
from strongroom.tracking.card import render_card
from tests.governance.test_gate import GOOD

REFERENCE = ReferenceFacts(loss=1.05, perplexity=2.86, loss_ratio=2.22, steps=87, batch_size=62)


def test_a_record_without_reference_facts_renders_the_card_it_was_registered_with():
    older = {k: v for k, v in GOOD.flat().items() if not k.startswith("reference.")}
    card = render_card("m", Facts.from_flat(older))
    assert card == render_card("m", GOOD)
    assert "reference" not in card.lower() and "What privacy cost" not in card


def test_the_reference_section_gives_both_losses_perplexities_the_ratio_and_its_caveat():
    card = render_card("m", GOOD.model_copy(update={"reference": REFERENCE}))
    section = card[card.index("## What privacy cost (outside the guarantee, not DP)") :]
    assert f"| loss (nats per byte, per patient) | {GOOD.eval.loss:.2f} | 1.05 |" in section
    assert f"| perplexity | {GOOD.eval.perplexity:.2f} | 2.86 |" in section
    assert "held-out loss ratio: **2.22**" in section and "87 steps of 62 patients" in section
    assert "NOT covered by the guarantee" in section and "rounded to 2 decimals" in section
    assert "The non-private reference's figures are statistics" in card  # outside the guarantee
    assert section.index("What privacy cost") < section.index("## Privacy audit")


def test_one_sequence_a_person_renders_the_card_as_before_several_state_the_cap():
    older = {k: v for k, v in GOOD.flat().items() if k != "corpus.sequences_per_person"}
    card = render_card("m", Facts.from_flat(older))
    assert card == render_card("m", GOOD)  # a record from before the cap: the same card
    line = f"examples truncated at {GOOD.corpus.max_seq_len:,} tokens"
    assert line in card and "held-out loss (per patient)" in card
    corpus = GOOD.corpus.model_copy(update={"sequences_per_person": 4})
    several = render_card("m", GOOD.model_copy(update={"corpus": corpus}))
    assert "sequences per patient: up to 4 of" in several and line not in several
    assert "one clip of norm C" in several
    assert "per token over all of a patient's sequences, mean over patients" in several


def test_the_reference_rate_is_named_and_a_record_without_it_keeps_its_old_words():
    older = render_card("m", GOOD.model_copy(update={"reference": REFERENCE}))
    assert "same model, initialisation, optimizer and learning rate, same training" in older
    own = REFERENCE.model_copy(update={"learning_rate": 0.006})
    card = render_card("m", GOOD.model_copy(update={"reference": own}))
    assert f"Adam at 0.006 where DP-SGD used {GOOD.train.learning_rate:g}" in card
    same = REFERENCE.model_copy(update={"learning_rate": GOOD.train.learning_rate})
    card = render_card("m", GOOD.model_copy(update={"reference": same}))
    assert f"same learning rate ({GOOD.train.learning_rate:g})" in card
