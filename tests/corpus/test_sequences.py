import random
from pathlib import Path

import numpy as np
import pytest

from strongroom.corpus.build import build_corpus
from strongroom.corpus.canaries import Canaries
from strongroom.corpus.sequences import as_persons, pack_person, stack_persons
from strongroom.corpus.tokenizer import BOS, EOS, PAD, decode, encode
from strongroom.deid.deidentify import DEIDENTIFIED_FILE
from strongroom.records.io import read_json

LINES = ["a" * 10, "b" * 10, "c" * 10, "d" * 10]  # 2 + 10 + 1 + 10 = 23 tokens hold two


@pytest.mark.parametrize("lines", [LINES, ["x" * 100], [""], ["é" * 30, "y"]])
def test_one_sequence_is_the_whole_text_cut_as_before(lines):
    packed = pack_person(lines, 24, cap=1)
    ids, cut = encode("\n".join(lines), 24)
    assert len(packed.sequences) == 1 and np.array_equal(packed.sequences[0], ids)
    assert packed.truncated == cut


def test_records_are_split_at_their_boundaries():
    packed = pack_person(LINES, 24, cap=4)
    texts = [decode(s) for s in packed.sequences]
    assert texts == ["a" * 10 + "\n" + "b" * 10, "c" * 10 + "\n" + "d" * 10]
    assert all(s[0] == BOS and s[-1] == EOS for s in packed.sequences)
    assert not packed.truncated and packed.records_cut == 0 and packed.tokens == 46


def test_the_last_sequence_takes_what_is_left_and_is_cut():
    packed = pack_person([*LINES, "e" * 10], 24, cap=2)
    assert decode(packed.sequences[1]) == "c" * 10 + "\n" + "d" * 10 + "\n" + "e"  # 24 tokens
    assert packed.truncated and packed.records_cut == 1  # the e record lost its bytes


def test_a_record_longer_than_a_sequence_is_cut_and_counted_alone():
    packed = pack_person(["a" * 5, "z" * 40, "b" * 5], 24, cap=3)
    assert [decode(s) for s in packed.sequences] == ["a" * 5, "z" * 23, "b" * 5]
    assert packed.records_cut == 1 and not packed.truncated
    last_long = pack_person(["a" * 5, "z" * 40], 24, cap=3)
    assert len(last_long.sequences) == 2 and not last_long.truncated  # no empty third one


def test_layouts_one_cap_is_two_dimensional_more_is_three():
    persons = [[np.array([BOS, 1, EOS], np.int16)], [np.array([BOS, EOS], np.int16)] * 2]
    flat = stack_persons(persons[:1], 8, cap=1)
    assert flat.shape == (1, 8) and as_persons(flat).shape == (1, 1, 8)
    deep = stack_persons(persons, 8, cap=3)
    assert deep.shape == (2, 3, 8) and (deep[0, 1:] == PAD).all() and (deep[1, 2] == PAD).all()
    assert as_persons(deep).shape == (2, 3, 8)


def test_several_sequences_per_person_hold_more_history(stage_dirs, contract, tmp_path):
    """Cap 3 on the demo records: the same persons, fewer truncated, canaries one sequence
    each (PAD after), and the report counts tokens per person."""
    records = Path(stage_dirs["deid"]) / DEIDENTIFIED_FILE
    one = read_json(Path(stage_dirs["corpus"]) / "corpus_report.json")
    three = build_corpus(
        records, contract, tmp_path, max_seq_len=256, canaries=4,
        canary_rng=random.Random(1), sequences_per_person=3,
    )  # fmt: skip
    report = read_json(tmp_path / "corpus_report.json")
    train = np.load(tmp_path / "train.npy")
    assert train.shape[1:] == (3, 256) and report["sequences_per_person"] == 3
    assert three.units_eval == one["units_eval"] and report["truncated"] <= one["truncated"]
    stats = report["tokens_per_person"]
    assert stats["max"] <= 3 * 256 and stats["median"] <= stats["max"]
    assert stats["mean"] > one["tokens_per_person"]["mean"]
    planted = Canaries.load(tmp_path)
    assert planted is not None
    tail = train[len(train) - int(planted.included.sum()) :]
    assert np.array_equal(tail[:, 0], planted.tokens[planted.included])
    assert (tail[:, 1:] == PAD).all()
    assert (train[:, 0, 0] == BOS).all()  # every person has a first sequence


def test_one_sequence_a_person_is_the_corpus_before_byte_for_byte(stage_dirs, contract, tmp_path):
    """Cap 1: every person's row is their whole text encoded and cut, as before the cap."""
    from strongroom.corpus.build import serialize_unit, text_columns
    from strongroom.corpus.tokenizer import pad_batch
    from strongroom.records.io import read_strings
    from strongroom.records.unit_ids import HELD_OUT_COLUMN

    frame = read_strings(Path(stage_dirs["deid"]) / DEIDENTIFIED_FILE)
    columns = text_columns(contract)
    sides: dict[bool, list[np.ndarray]] = {False: [], True: []}
    for _, rows in frame.groupby(contract.privacy_unit, sort=True):
        held_out = bool((rows[HELD_OUT_COLUMN] == "true").any())
        sides[held_out].append(encode(serialize_unit(rows, columns), 256)[0])
    build_corpus(Path(stage_dirs["deid"]) / DEIDENTIFIED_FILE, contract, tmp_path, max_seq_len=256)
    train, held = np.load(tmp_path / "train.npy"), np.load(tmp_path / "eval.npy")
    assert train.dtype == np.int16 and train.shape == (len(sides[False]), 256)
    assert np.array_equal(train, pad_batch(sides[False], 256))
    assert np.array_equal(held, pad_batch(sides[True], 256))
