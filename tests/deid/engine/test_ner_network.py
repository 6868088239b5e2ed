"""The numpy token vectors of spaCy's NER against thinc's own forward pass (the reference)."""

from __future__ import annotations

import pytest

from strongroom.deid.engine import ner_network
from strongroom.deid.engine.ner_network import TokenVectors, UnsupportedNetwork
from strongroom.deid.engine.setup import DEFAULT_SPACY_MODEL
from tests.deid.deid_texts import comparison_texts

spacy = pytest.importorskip("spacy")
np = pytest.importorskip("numpy")


@pytest.fixture(scope="module")
def nlp():  # type: ignore[no-untyped-def]
    pytest.importorskip(DEFAULT_SPACY_MODEL)
    return spacy.load(DEFAULT_SPACY_MODEL, exclude=["tagger", "parser", "lemmatizer"])


@pytest.fixture(scope="module")
def docs(nlp):  # type: ignore[no-untyped-def]
    return [d for d in (nlp.make_doc(t) for t in comparison_texts()) if len(d)]


def _tok2vec(nlp):  # type: ignore[no-untyped-def]
    return nlp.get_pipe("ner").model.get_ref("tok2vec")


def _thinc(nlp, docs):  # type: ignore[no-untyped-def]
    return _tok2vec(nlp).predict(docs)  # (n_tokens, width): thinc's layers, spaCy's ops


@pytest.mark.parametrize("batch_size", [1, 5, 64])
def test_same_vectors_as_thinc(nlp, docs, batch_size: int) -> None:  # type: ignore[no-untyped-def]
    vectors = TokenVectors(_tok2vec(nlp))
    for i in range(0, len(docs), batch_size):
        batch = docs[i : i + batch_size]
        want, got = _thinc(nlp, batch), vectors(batch)
        assert got.shape == want.shape == (sum(map(len, batch)), 64)
        # float32 rounding only: another BLAS sums the same products in another order
        np.testing.assert_allclose(got, want, rtol=0, atol=5e-5)


def test_cached_embeddings_give_the_same_vectors(nlp, docs) -> None:  # type: ignore[no-untyped-def]
    vectors = TokenVectors(_tok2vec(nlp))
    first = vectors(docs[:40])
    cached = len(vectors._cache)
    assert 0 < cached < sum(len(d) for d in docs[:40])  # repeated words are embedded once
    again = vectors(docs[:40])
    assert len(vectors._cache) == cached
    np.testing.assert_array_equal(first, again)


def test_full_cache_starts_again(nlp, docs, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ner_network, "_CACHE_ROWS", 300)
    vectors = TokenVectors(_tok2vec(nlp))
    for i in range(0, 200, 20):
        np.testing.assert_allclose(
            vectors(docs[i : i + 20]), _thinc(nlp, docs[i : i + 20]), rtol=0, atol=5e-5
        )
        assert len(vectors._cache) <= 300


def test_refuses_another_architecture(nlp) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UnsupportedNetwork, match="unexpected tok2vec"):
        TokenVectors(nlp.get_pipe("ner").model.get_ref("lower"))
    with pytest.raises(UnsupportedNetwork, match="unexpected tok2vec"):
        TokenVectors(_tok2vec(nlp).layers[0])
