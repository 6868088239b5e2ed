"""Free-text redaction: every entity the engine finds becomes `<ENTITY_TYPE>`, counted by type."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from strongroom.deid.address_lines import extend_addresses
from strongroom.deid.clinical import drop_clinical_content
from strongroom.deid.engine import DEFAULT_ENGINE, Engine, Finding, find_entities
from strongroom.deid.name_spans import extend_names

SCORE_THRESHOLD = 0.3  # low on purpose: a missed identifier costs more than a redacted word
# A literal backslash-n (two characters, as exported notes and JSON dumps carry) glues the words
# on both sides into one token. The engines read it as a space and a line break, two characters
# for two, so every finding's offsets hold in the text as written.
_ESCAPED_BREAKS = re.compile(r"\\([ntr])")
_BREAK_OF = {"n": "\n", "t": "\t", "r": "\r"}
PROGRESS_FROM = 20_000  # notes: below this redaction takes seconds, no progress bar


def with_escapes_as_breaks(text: str) -> str:
    """`text` with each literal backslash-n, -t, -r as a space and that break (same length)."""
    return _ESCAPED_BREAKS.sub(lambda m: " " + _BREAK_OF[m.group(1)], text)


def detect(
    texts: list[str],
    *,
    engine: Engine = DEFAULT_ENGINE,
    processes: int = 1,
    phone_regions: tuple[str, ...] = (),
) -> Iterator[list[Finding]]:
    """The findings the pipeline redacts: the engine's at ``SCORE_THRESHOLD``, less clinical
    content that generic recognizers take for identifiers (``clinical.py``), street addresses
    extended over their town, country and postcode parts (``address_lines.py``), names over
    the rest of the name, lists of people and a chat's speakers (``name_spans.py``)."""
    readable = [with_escapes_as_breaks(t) for t in texts]
    found = find_entities(
        readable,
        score_threshold=SCORE_THRESHOLD,
        engine=engine,
        processes=processes,
        phone_regions=phone_regions,
    )
    for text, findings in zip(readable, found, strict=True):
        yield extend_names(text, extend_addresses(text, drop_clinical_content(text, findings)))


def redact_texts(
    texts: Iterable[str],
    *,
    engine: Engine = DEFAULT_ENGINE,
    processes: int = 1,
    phone_regions: tuple[str, ...] = (),
) -> tuple[list[str], Counter[str]]:
    """Replace every entity found with `<ENTITY_TYPE>`; count entities by type. Phone numbers
    in the national formats of `phone_regions` (a contract's) too."""
    from presidio_analyzer import RecognizerResult
    from presidio_anonymizer import AnonymizerEngine
    from tqdm import tqdm

    texts = list(texts)
    anonymizer = AnonymizerEngine()
    counts: Counter[str] = Counter()
    out = []
    found_per_text = detect(texts, engine=engine, processes=processes, phone_regions=phone_regions)
    # counts only on stderr, never text; silent for small inputs (tests, the demo's shards)
    bar = tqdm(
        texts, unit="note", desc="redact", mininterval=10, disable=len(texts) < PROGRESS_FROM
    )
    for text, found in zip(bar, found_per_text, strict=True):
        counts.update(entity for entity, *_ in found)
        results = [RecognizerResult(*f) for f in found]
        out.append(anonymizer.anonymize(text=text, analyzer_results=results).text)
    return out, counts
