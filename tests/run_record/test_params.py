"""The run's parameters refuse what would make the guarantee untrue, with every problem at once."""

import pytest

from strongroom.errors import ConfigError
from strongroom.run_record.params import RunParams, load_params


def test_several_sequences_a_person_need_book_keeping_clipping(tmp_path):
    """Opacus' ghost clipping would clip each sequence alone: k C per person, not C."""
    path = tmp_path / "run.yaml"
    path.write_text(
        "records: {path: r.csv, sequences_per_person: 4}\ntraining: {clipping: ghost}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_params(path)
    assert caught.value.problems == [
        "(top level): sequences_per_person > 1 needs clipping book_keeping"
    ]
    path.write_text("records: {path: r.csv, sequences_per_person: 4}\n")
    assert load_params(path).records.sequences_per_person == 4
    one = RunParams.model_validate(
        {"records": {"path": "r.csv"}, "training": {"clipping": "ghost"}}
    )
    assert one.records.sequences_per_person == 1  # the default: one sequence, as before
