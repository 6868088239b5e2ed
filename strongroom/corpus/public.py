"""Public text for a non-private starting model: descriptions shipped inside installed packages,
or a text file the user declares public. Never a record.

Nothing is fetched at run time (air-gapped sites, strongroom/offline.py): ICD-10-CM code
descriptions come from the `simple-icd-10-cm` package's bundled CMS tables, ISO 18245 merchant
category descriptions from `iso18245`'s bundled list; both are project dependencies. Each
description is rendered as one record line in the corpus layout (`column: value; ...`,
build.serialize_unit) under the contract's own column names, so that the starting model has
learnt the record format from public text before DP training sees one private record. Lines are
packed in order into examples of at most max_seq_len tokens, like a person's records.

Tests: tests/corpus/test_public.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from strongroom.corpus.build import serialize_unit
from strongroom.corpus.tokenizer import encode, pad_batch
from strongroom.errors import StrongroomError

USER_FILE = "file"  # PublicCorpus.name prefix of a user-declared file ("file:NAME")
MAX_USER_BYTES = 256 << 20  # a public text file, not a data lake: refuse anything larger


@dataclass(frozen=True, kw_only=True)
class PublicCorpus:
    """Public text and where it came from (what the starting model's registration records)."""

    name: str  # a packaged source's name (icd10cm, mcc) or "file:<file name>"
    package: str  # the distribution that shipped the text; "" for a user's file
    package_version: str  # its installed version; "" for a user's file
    lines: tuple[str, ...]  # one record line (or a user's line) each

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def sha256(self) -> str:
        """Fingerprint of exactly the text trained on (the card and the run record carry it)."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class _Source:
    package: str  # distribution name, for its version
    columns: tuple[str, str]  # (code column, description column) of the domain's contract
    pairs: Callable[[], Iterator[tuple[str, str]]]  # (code, description), in a fixed order


def _icd10cm_pairs() -> Iterator[tuple[str, str]]:
    import simple_icd_10_cm as icd  # parses its bundled XML (about 2 s): on use only

    for code in icd.get_all_codes(True):  # with dots, as the records write them (E11.9)
        if icd.is_category_or_subcategory(code):  # chapters and blocks are ranges, not codes
            yield code, icd.get_description(code)


def _mcc_pairs() -> Iterator[tuple[str, str]]:
    import iso18245

    for mcc in iso18245.get_all_mccs():
        yield mcc.mcc, mcc.iso_description or mcc.usda_description or mcc.stripe_description


# Column names are those of the built-in contracts (governance/contracts/), so the public lines
# read like the records: `diagnosis_code: E11.9; note: Type 2 diabetes mellitus without ...`.
SOURCES: dict[str, _Source] = {
    "icd10cm": _Source(
        package="simple-icd-10-cm", columns=("diagnosis_code", "note"), pairs=_icd10cm_pairs
    ),
    "mcc": _Source(package="iso18245", columns=("mcc", "memo"), pairs=_mcc_pairs),
}


def load_public_corpus(source: str) -> PublicCorpus:
    """A packaged source by name (SOURCES), or the path of a UTF-8 text file declared public."""
    if source in SOURCES:
        return _packaged(source)
    return _user_file(Path(source))


def _packaged(name: str) -> PublicCorpus:
    source = SOURCES[name]
    frame = pd.DataFrame([p for p in source.pairs() if p[1]], columns=list(source.columns))
    return PublicCorpus(
        name=name,
        package=source.package,
        package_version=version(source.package),
        lines=tuple(serialize_unit(frame, list(source.columns)).split("\n")),
    )


def _user_file(path: Path) -> PublicCorpus:
    """Non-empty lines of the file. Its name (not its path) is recorded: a path may name a
    person's folder."""
    if not path.is_file():
        raise StrongroomError(
            f"public corpus {path.name!r}: neither a packaged source ({', '.join(SOURCES)}) "
            "nor a readable file"
        )
    if path.stat().st_size > MAX_USER_BYTES:
        raise StrongroomError(f"public corpus {path.name}: larger than {MAX_USER_BYTES} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise StrongroomError(
            f"public corpus {path.name}: not UTF-8 (byte {error.start})"
        ) from None
    lines = tuple(line for line in (raw.strip() for raw in text.splitlines()) if line)
    if not lines:
        raise StrongroomError(f"public corpus {path.name}: no text")
    return PublicCorpus(
        name=f"{USER_FILE}:{path.name}", package="", package_version="", lines=lines
    )


def public_tokens(corpus: PublicCorpus, *, max_seq_len: int) -> np.ndarray:
    """[examples, max_seq_len] int16: consecutive lines packed greedily into examples that fit
    (BOS and EOS included); a line longer than one example is cut, as a person's records are."""
    budget = max_seq_len - 2  # BOS, EOS
    examples, current, used = [], [], 0
    for line in corpus.lines:
        size = len(line.encode("utf-8")) + (1 if current else 0)  # "\n" between lines
        if current and used + size > budget:
            examples.append(encode("\n".join(current), max_seq_len)[0])
            current, used = [], 0
            size -= 1
        current.append(line)
        used += size
    if current:
        examples.append(encode("\n".join(current), max_seq_len)[0])
    return pad_batch(examples, max_seq_len)
