"""Public text: packaged descriptions in the records' layout, or a file declared public; built
with no network, packed into examples that fit."""

import socket
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pytest

from strongroom.corpus.public import load_public_corpus, public_tokens
from strongroom.corpus.tokenizer import BOS, EOS, PAD, decode
from strongroom.errors import StrongroomError


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the public corpus tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_icd10cm_descriptions_come_from_the_installed_package_in_the_records_layout(no_network):
    corpus = load_public_corpus("icd10cm")
    assert (corpus.package, corpus.package_version) == (
        "simple-icd-10-cm",
        version("simple-icd-10-cm"),
    )
    assert len(corpus.lines) > 70_000  # every category and subcategory of ICD-10-CM
    assert "diagnosis_code: E11.9; note: Type 2 diabetes mellitus without complications" in (
        corpus.lines
    )
    assert not any(line.startswith("diagnosis_code: A00-") for line in corpus.lines)  # no blocks


def test_mcc_descriptions_come_from_the_installed_package(no_network):
    corpus = load_public_corpus("mcc")
    assert (corpus.name, corpus.package) == ("mcc", "iso18245")
    assert "mcc: 5411; memo: Groceries and supermarkets" in corpus.lines
    assert corpus.sha256 == load_public_corpus("mcc").sha256  # the same text, the same sha256


def test_a_declared_public_file_is_its_non_empty_lines_named_by_file_name(tmp_path: Path):
    path = tmp_path / "glossary.txt"
    path.write_text("first line\n\n  second line  \n", encoding="utf-8")
    corpus = load_public_corpus(str(path))
    assert corpus.lines == ("first line", "second line")
    assert (corpus.name, corpus.package, corpus.package_version) == ("file:glossary.txt", "", "")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "neither a packaged source"), (b"", "no text"), (b"\xff\xfe", "not UTF-8")],
)
def test_a_missing_empty_or_binary_file_is_refused(tmp_path: Path, content, message):
    path = tmp_path / "public.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StrongroomError, match=message):
        load_public_corpus(str(path))


def test_lines_are_packed_in_order_into_examples_that_fit(tmp_path: Path):
    lines = [f"code: {i}; memo: {'x' * (1 + i % 17)}" for i in range(200)]
    path = tmp_path / "public.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    tokens = public_tokens(load_public_corpus(str(path)), max_seq_len=64)
    assert tokens.shape[1] == 64 and tokens.dtype == np.int16
    assert (tokens[:, 0] == BOS).all()
    assert all(EOS in row for row in tokens)  # none was cut: every line fits in one example
    assert (tokens[:, -1] == PAD).sum() > 0
    texts = [decode(row) for row in tokens]
    assert "\n".join(texts).split("\n") == lines
