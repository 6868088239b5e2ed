"""The batched NER decoder against spaCy's own NER component (the reference implementation)."""

from __future__ import annotations

import pytest

from strongroom.deid.engine.ner_decode import EntityDecoder
from strongroom.deid.engine.setup import DEFAULT_SPACY_MODEL
from tests.deid.deid_texts import comparison_texts

spacy = pytest.importorskip("spacy")

_NOT_NER = ["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer"]


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    pytest.importorskip(DEFAULT_SPACY_MODEL)
    return spacy.load(DEFAULT_SPACY_MODEL, exclude=_NOT_NER)


def _ents(docs) -> list[list[tuple[int, int, str]]]:  # type: ignore[no-untyped-def]
    return [[(e.start, e.end, e.label_) for e in doc.ents] for doc in docs]


@pytest.mark.parametrize("batch_size", [1, 7, 512])
def test_same_entities_as_spacy(nlp, batch_size: int) -> None:  # type: ignore[no-untyped-def]
    texts = list(comparison_texts())
    expected = _ents(nlp.pipe(texts, batch_size=64))
    decoder = EntityDecoder(nlp.get_pipe("ner"))
    got = []
    for i in range(0, len(texts), batch_size):
        got += _ents(decoder([nlp.make_doc(t) for t in texts[i : i + batch_size]]))
    assert sum(map(len, expected)) > 500  # the comparison has entities to compare
    for text, want, have in zip(texts, expected, got, strict=True):
        assert have == want, text


def test_empty_batch_and_empty_docs(nlp) -> None:  # type: ignore[no-untyped-def]
    decoder = EntityDecoder(nlp.get_pipe("ner"))
    assert decoder([]) == []
    docs = decoder([nlp.make_doc(""), nlp.make_doc("  ")])
    assert [list(d.ents) for d in docs] == [[], []]


def test_refuses_a_model_with_unseen_classes(nlp) -> None:  # type: ignore[no-untyped-def]
    ner = nlp.get_pipe("ner")
    ner.model.attrs["unseen_classes"] = {3}
    try:
        with pytest.raises(ValueError, match="unseen classes"):
            EntityDecoder(ner)
    finally:
        ner.model.attrs["unseen_classes"] = set()


def test_validity_follows_spacy_biluo_rules(nlp) -> None:  # type: ignore[no-untyped-def]
    import numpy as np

    decoder = EntityDecoder(nlp.get_pipe("ner"))
    names = [nlp.get_pipe("ner").moves.get_class_name(i) for i in range(len(decoder._moves.kind))]
    person = decoder._moves.names.index("PERSON")

    def allowed(is_open: bool, label: int, remaining: int, space: bool) -> set[str]:
        valid = decoder._valid(
            np.array([is_open]), np.array([label]), np.array([remaining]), np.array([space])
        )[0]
        return {n for n, ok in zip(names, valid, strict=True) if ok}

    closed = allowed(False, 0, 5, False)
    assert "O" in closed and "B-PERSON" in closed and "U-GPE" in closed
    assert not any(n[0] in "IL" for n in closed)
    assert allowed(False, 0, 5, True) == {"O"}  # no entity starts on whitespace
    units = {n for n in names if n.startswith("U-") and n != "U-"}  # "U-": blocked spans only
    assert allowed(False, 0, 1, False) == {"O"} | units
    assert allowed(True, person, 5, True) == {"I-PERSON", "L-PERSON"}  # may run over a space
    assert allowed(True, person, 1, False) == {"L-PERSON"}  # the last token closes it


def test_a_network_of_another_shape_is_run_by_thinc(nlp, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from strongroom.deid.engine import ner_decode
    from strongroom.deid.engine.ner_network import UnsupportedNetwork

    def refuse(tok2vec: object) -> None:
        raise UnsupportedNetwork("another architecture")

    monkeypatch.setattr(ner_decode, "TokenVectors", refuse)
    texts = list(comparison_texts())[:60]
    decoder = EntityDecoder(nlp.get_pipe("ner"))
    got = _ents(decoder([nlp.make_doc(t) for t in texts]))
    assert got == _ents(nlp.pipe(texts)) and sum(map(len, got)) > 20
