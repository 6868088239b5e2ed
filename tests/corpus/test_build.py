from pathlib import Path

import numpy as np

from strongroom.corpus.build import text_columns
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


def test_the_split_follows_the_person_and_the_seed_not_the_key(stage_dirs, tmp_path):
    """Two de-identifications under different keys hold out the same people; another split
    seed holds out others; each person's rows are on one side."""
    from strongroom import stages
    from strongroom.deid.deidentify import DEIDENTIFIED_FILE, HeldOutSplit
    from strongroom.records.io import read_strings
    from strongroom.records.unit_ids import HELD_OUT_COLUMN

    def held_out(name: str, seed: int) -> list[str]:
        out = tmp_path / name
        split = HeldOutSplit(eval_fraction=0.3, split_seed=seed)
        stages.deidentify_stage(
            stage_dirs["validate"], "hospital_encounters", str(tmp_path / f"{name}.key"),
            str(out), split=split,
        )  # fmt: skip
        frame = read_strings(out / DEIDENTIFIED_FILE)
        assert frame.groupby("patient_id")[HELD_OUT_COLUMN].nunique().max() == 1
        return frame[HELD_OUT_COLUMN].tolist()  # row order is the validated records' order

    first, second = held_out("a", seed=0), held_out("b", seed=0)
    assert first == second and 0 < first.count("true") < len(first)
    assert held_out("c", seed=1) != first


def test_tokenizer_round_trip_and_truncation():
    ids, cut = encode("héllo", 100)
    assert not cut and decode(ids) == "héllo"
    ids, cut = encode("x" * 50, 10)
    assert cut and len(ids) == 10
    assert decode([*ids.tolist(), PAD]) == "x" * 9
