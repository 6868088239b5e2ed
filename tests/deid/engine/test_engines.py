"""The two engines behind ``find_entities``: fast and stock Presidio give the same findings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from strongroom.deid.engine import find_entities, setup
from strongroom.deid.redact import SCORE_THRESHOLD
from tests.deid.deid_texts import comparison_texts


def _sorted(found: list[tuple[str, int, int, float]]) -> list[tuple[str, int, int, float]]:
    return sorted((e, s, t, round(c, 6)) for e, s, t, c in found)


def test_fast_and_presidio_engines_give_the_same_findings() -> None:
    pytest.importorskip(setup.DEFAULT_SPACY_MODEL)
    texts = list(comparison_texts())[:120]
    fast = [_sorted(f) for f in find_entities(texts, score_threshold=SCORE_THRESHOLD)]
    stock = [
        _sorted(f) for f in find_entities(texts, score_threshold=SCORE_THRESHOLD, engine="presidio")
    ]
    assert sum(map(len, stock)) > 300
    for text, want, have in zip(texts, stock, fast, strict=True):
        assert have == want, text


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        list(find_entities(["x"], score_threshold=0.5, engine="spacy"))  # type: ignore[arg-type]


def test_the_presidio_engine_de_identifies_the_demo_records_as_the_fast_one(
    stage_dirs: dict[str, str], tmp_path: Path
) -> None:
    # the session's stage_dirs ran the fast engine; the de-identification tests read its output
    from strongroom import stages
    from strongroom.deid.deidentify import HeldOutSplit

    key_file = str(Path(stage_dirs["deid"]).parent / "key")
    out = tmp_path / "deid"
    stages.deidentify_stage(
        stage_dirs["validate"], "hospital_encounters", key_file, str(out), engine="presidio",
        split=HeldOutSplit(eval_fraction=0.2),  # as conftest's stage_dirs
    )  # fmt: skip
    fast = pd.read_parquet(Path(stage_dirs["deid"]) / "deidentified.parquet")
    stock = pd.read_parquet(out / "deidentified.parquet")
    pd.testing.assert_frame_equal(stock, fast)


@pytest.mark.parametrize("engine", ["fast", "presidio"])
def test_a_contracts_phone_regions_add_their_national_formats(engine: str) -> None:
    texts = ["Wiadomość od 512 345 678 wczoraj", "Meld deg på 41 23 45 67 i dag"]

    def phones(regions: tuple[str, ...]) -> list[list[str]]:
        found = find_entities(
            texts, score_threshold=SCORE_THRESHOLD, engine=engine, phone_regions=regions
        )
        return [
            [t[s:e] for kind, s, e, _ in f if kind == "PHONE_NUMBER"]
            for t, f in zip(texts, found, strict=True)
        ]

    assert "512 345 678" not in phones(())[0]
    with_regions = phones(("PL", "NO"))
    assert "512 345 678" in with_regions[0] and "41 23 45 67" in with_regions[1]
