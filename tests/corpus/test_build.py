from pathlib import Path

import numpy as np

from strongroom.corpus.build import is_eval_unit, text_columns
from strongroom.corpus.canaries import Canaries
from strongroom.corpus.tokenizer import BOS, PAD, decode, encode
from strongroom.records.io import read_json


def test_one_example_per_person_split_by_person(stage_dirs, demo_frame):
    train = np.load(Path(stage_dirs["corpus"]) / "train.npy")
    held_out = np.load(Path(stage_dirs["corpus"]) / "eval.npy")
    report = read_json(Path(stage_dirs["corpus"]) / "corpus_report.json")
    planted = Canaries.load(stage_dirs["corpus"])
    assert planted is not None and report["canaries"] == planted.count
    persons = len(train) - int(planted.included.sum())  # included canaries are persons too
    assert persons + len(held_out) == demo_frame["patient_id"].nunique()
    assert (train[:, 0] == BOS).all() and train.shape[1] == 256
    assert report["units_train"] == len(train) and report["units_eval"] == len(held_out)


def test_keys_and_dropped_columns_stay_out_of_the_text(contract):
    columns = text_columns(contract)
    assert "patient_id" not in columns and "encounter_id" not in columns and "name" not in columns
    assert "note" in columns and "diagnosis_code" in columns


def test_split_is_stable_per_unit():
    units = [f"u{i}" for i in range(1000)]
    first = [is_eval_unit(u, 0.1) for u in units]
    assert first == [is_eval_unit(u, 0.1) for u in units]
    assert 50 < sum(first) < 150


def test_tokenizer_round_trip_and_truncation():
    ids, cut = encode("héllo", 100)
    assert not cut and decode(ids) == "héllo"
    ids, cut = encode("x" * 50, 10)
    assert cut and len(ids) == 10
    assert decode([*ids.tolist(), PAD]) == "x" * 9
