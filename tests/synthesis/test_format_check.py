"""What a model writes, checked against the contract: real records pass, damaged ones are counted
where they fail, and the evaluation carries the shares to the card."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from strongroom.corpus.build import serialize_unit, text_columns
from strongroom.model.config import preset
from strongroom.model.gemma import GemmaDecoder
from strongroom.records.io import read_strings
from strongroom.run_record.reports import EvalReport
from strongroom.synthesis.decoding import Generated
from strongroom.synthesis.format_check import check_texts, sample_and_check


def _texts(stage_dirs, contract, persons: int = 12) -> list[str]:
    frame = read_strings(Path(stage_dirs["deid"]) / "deidentified.parquet")
    columns = text_columns(contract)
    groups = list(frame.groupby(contract.privacy_unit, sort=False))[:persons]
    return [serialize_unit(rows, columns) for _, rows in groups]


def test_serialised_de_identified_records_all_parse_and_pass(stage_dirs, contract, tmp_path):
    texts = _texts(stage_dirs, contract)
    shares = check_texts([Generated(t, True) for t in texts], contract, tmp_path)
    assert shares.persons == 12
    assert shares.records == sum(t.count("\n") + 1 for t in texts)
    assert shares.parsed == shares.valid == shares.records
    assert shares.parsed_share == shares.valid_share == 1.0


def test_damaged_records_and_cut_texts_are_counted_where_they_fail(stage_dirs, contract, tmp_path):
    first, second, third = _texts(stage_dirs, contract, persons=3)
    garbled = "diagnosis was fine\n" + first  # a line that names no column
    bad_sex = second.replace("sex: F", "sex: Q").replace("sex: M", "sex: Q")  # out of the set
    texts = [Generated(garbled, True), Generated(bad_sex, True), Generated(third, False)]
    shares = check_texts(texts, contract, tmp_path)
    records = [first.count("\n") + 1, second.count("\n") + 1, third.count("\n") + 1]
    assert shares.records == sum(records) + 1  # the garbled line is a record written
    assert shares.parsed == sum(records) - 1  # it fails, and so does the cut text's last one
    assert shares.valid == records[0] + records[2] - 1  # every record of bad_sex fails the set


def test_an_untrained_model_writes_no_record_of_the_contract(contract, tmp_path):
    torch.manual_seed(0)
    model = GemmaDecoder(preset("tiny")).eval()
    shares = sample_and_check(model, contract, tmp_path, persons=4)
    assert shares.persons == 4 and shares.records >= 4
    assert shares.parsed == shares.valid == 0


def test_the_evaluation_reports_what_the_model_writes_and_the_card_shows_it(store, stage_dirs):
    from strongroom.tracking.registry import store_client

    uri, _, versions, root = store
    report = EvalReport.load(str(root / "secure-eval"))
    assert report.records_written is not None and report.records_written >= 1
    assert report.records_valid is not None and report.records_parsed is not None
    assert 0 <= report.records_valid <= report.records_parsed <= report.records_written
    contract = json.loads((Path(stage_dirs["corpus"]) / "contract.json").read_text())
    assert contract["name"] == "hospital_encounters"
    card = store_client(uri).get_model_version("m", versions["secure"]).description
    assert "records it writes, sampled without format guidance" in card
