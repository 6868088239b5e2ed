"""The stage commands a data steward uses to debug a contract on a file."""

import json

from strongroom.cli import main


def test_validate_command_prints_counts_and_writes_reports(demo_csv, tmp_path, capsys):
    assert main(["validate", str(demo_csv), "--out", str(tmp_path)]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts["rows_quarantined"] == 0 and counts["success"] is True
    assert (tmp_path / "validate" / "validation_report.html").exists()


def test_bad_input_is_one_clear_line_and_exit_code_2(demo_frame, tmp_path, capsys):
    source = tmp_path / "export.csv"
    demo_frame.to_csv(source, index=False, sep=";")
    assert main(["ingest", str(source), "--out", str(tmp_path / "o")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("strongroom: ") and "export.csv: missing column(s)" in error
    assert "Traceback" not in error
    assert main(["ingest", str(source), "--delimiter", ";", "--out", str(tmp_path / "o")]) == 0


def test_demo_options_are_checked_at_once_before_anything_is_written(tmp_path, capsys):
    argv = ["demo", "--epsilon", "nan", "--preset", "huge", "--workdir", str(tmp_path / "runs")]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "privacy.target_epsilon" in error and "training.model_preset" in error
    assert "Traceback" not in error and not (tmp_path / "runs").exists()
