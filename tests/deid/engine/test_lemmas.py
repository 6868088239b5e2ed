"""LemmaOracle against the full spaCy pipeline's lemmas."""

from __future__ import annotations

import pytest

from strongroom.deid.engine.lemmas import LemmaOracle, pos_tables, rule_lemma
from strongroom.deid.engine.setup import DEFAULT_SPACY_MODEL
from tests.deid.deid_texts import comparison_texts

spacy = pytest.importorskip("spacy")

WORDS = ["phone", "call", "cities", "does", "reached", "address", "transfer"]


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    pytest.importorskip(DEFAULT_SPACY_MODEL)
    return spacy.load(DEFAULT_SPACY_MODEL)


@pytest.fixture(scope="module")
def oracle(nlp) -> LemmaOracle:  # type: ignore[no-untyped-def]
    return LemmaOracle(nlp, WORDS)


def test_the_pipelines_lemma_is_always_a_candidate(nlp, oracle: LemmaOracle) -> None:  # type: ignore[no-untyped-def]
    texts = [*comparison_texts(), "I'd say y'all gonna go; he was seen, she does, cities"]
    tokens = [t for doc in nlp.pipe(texts) for t in doc]
    assert len(tokens) > 5000
    for token in tokens:
        assert token.lemma_ in oracle.candidates(token.text), (token.text, token.pos_)


def test_a_decided_lemma_has_the_real_lemmas_signature(nlp, oracle: LemmaOracle) -> None:  # type: ignore[no-untyped-def]
    decided = 0
    for doc in nlp.pipe(comparison_texts()):
        for token in doc:
            stand_in = oracle.lemma(token.text)
            if stand_in is not None:
                decided += 1
                assert oracle._signature(stand_in) == oracle._signature(token.lemma_), token.text
    assert decided > 5000


def test_undecided_words(oracle: LemmaOracle) -> None:
    assert oracle.lemma("phones") is not None  # "phone" / "phones": both contain "phone"
    assert oracle.lemma("does") is None  # "do" is a stop word, "doe" is not
    assert oracle.lemma("cities") is None  # "cities" contains the context word "cities", "city" not
    assert oracle.lemma("Call") is not None


def test_rule_lemma_matches_spacys_rule_lemmatizer(nlp) -> None:  # type: ignore[no-untyped-def]
    lemmatizer = nlp.get_pipe("lemmatizer")
    by_pos = pos_tables(lemmatizer)
    assert {"noun", "verb", "adj"} <= set(by_pos)
    doc = nlp.make_doc("running cities was better geese taxes studied")
    for pos, tables in by_pos.items():
        for token in doc:
            token.pos_ = str(pos).upper()
            lemmatizer.cache.clear()
            assert lemmatizer.rule_lemmatize(token)[0] in {
                rule_lemma(tables, token.text),
                token.text.lower(),  # a base form
            }, (pos, token.text)


def test_keywords_are_presidios(nlp, oracle: LemmaOracle) -> None:  # type: ignore[no-untyped-def]
    from presidio_analyzer.nlp_engine import NlpArtifacts

    from strongroom.deid.engine import setup

    engine = setup.analyzer_engine().nlp_engine
    lemmas = [t.lemma_ for doc in nlp.pipe(comparison_texts()) for t in doc]
    lemmas += ["be", "-PRON-", "a:b", "Tel:", "The", "..."]
    ours = [k for lemma in lemmas for k in oracle.keywords(lemma)]
    assert ours == NlpArtifacts.set_keywords(engine, lemmas, "en")
    assert len(ours) > 1000
