"""The stage commands a data steward uses to debug a contract on a file."""

import json

import pytest

from strongroom.cli import main
from strongroom.errors import StrongroomError


@pytest.fixture
def handed(monkeypatch) -> list:
    """The RunParams that `demo` and `run` hand the pipeline, one per call. The pipeline itself
    is stopped there (it is not what these tests are about), so every such call exits 2."""
    seen: list = []

    def stop(params, run_dir):
        seen.append(params)
        raise StrongroomError("stopped")

    monkeypatch.setattr("strongroom.local_run.run_local", stop)
    return seen


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


def test_plan_with_epsilon_1000_exits_2_with_a_clear_message(capsys):
    assert main(["plan", "--epsilon", "1000", "--delta", "1e-5", "--units", "2000"]) == 2
    error = capsys.readouterr().err
    assert "target_epsilon" in error and "100" in error and "Traceback" not in error


def test_plan_answers_at_the_largest_accepted_epsilon(capsys):
    assert main(["plan", "--epsilon", "100", "--delta", "1e-5", "--units", "2000"]) == 0
    assert json.loads(capsys.readouterr().out)["planned_epsilon"] <= 100


def test_demo_with_5_units_exits_2_before_creating_the_workdir(tmp_path, capsys):
    for plan, batch in (("fixed", "--batch-size 64"), ("auto", "the planned batch of")):
        argv = ["demo", "--units", "5", "--plan", plan, "--workdir", str(tmp_path / "runs")]
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "--units 5" in error and batch in error
        assert not (tmp_path / "runs").exists()


def test_demo_batch_size_reaches_the_privacy_group(tmp_path, handed):
    argv = ["demo", "--units", "50", "--batch-size", "8", "--workdir", str(tmp_path / "runs")]
    assert main(argv) == 2 and [p.privacy.batch_size for p in handed] == [8]
    assert main([*argv[:3], "--batch-size", "46", *argv[-2:]]) == 2  # 45 training people
    assert len(handed) == 1  # refused before the pipeline
    assert main(["demo", "--batch-size", "0", "--workdir", str(tmp_path / "r")]) == 2


def test_the_default_contract_of_the_stage_commands_is_shown_in_help(capsys):
    for command in ("ingest", "validate", "deidentify"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "(default: hospital_encounters)" in " ".join(capsys.readouterr().out.split())


def test_plan_with_a_compute_budget_prints_a_table_and_writes_a_run_config(tmp_path, capsys):
    from strongroom.run_record.params import load_params

    out = tmp_path / "plan.yaml"
    argv = ["plan", "--epsilon", "4", "--delta", "1e-5", "--units", "1864", "--compute", "3e12"]
    assert main([*argv, "--out", str(out), "--records", "/data/x.csv"]) == 0
    printed = capsys.readouterr().out
    assert "pred.loss" in printed and "epsilon 4" in printed and f"wrote {out}" in printed
    assert load_params(out).records.path == "/data/x.csv"


def test_plan_with_compute_answers_at_epsilon_1000_and_refuses_to_write_a_config(tmp_path, capsys):
    argv = ["plan", "--epsilon", "1000", "--delta", "1e-5", "--units", "2000"]
    assert main([*argv, "--gpu-hours", "1", "--gpu", "cpu"]) == 0
    assert "not a meaningful guarantee" in capsys.readouterr().err
    assert main([*argv, "--gpu-hours", "1", "--gpu", "cpu", "--out", str(tmp_path / "p")]) == 2
    assert "no config written" in capsys.readouterr().err and not (tmp_path / "p").exists()


def test_plan_with_compute_refuses_a_batch_size_it_would_choose(capsys):
    argv = ["plan", "--units", "2000", "--compute", "1e12", "--batch-size", "64"]
    assert main(argv) == 2 and "chooses" in capsys.readouterr().err


def test_demo_plan_auto_reaches_the_privacy_and_training_groups(tmp_path, handed):
    from strongroom.planning.demo_plan import demo_plan

    argv = ["demo", "--plan", "auto", "--units", "300", "--workdir", str(tmp_path / "runs")]
    assert main(argv) == 2
    chosen = demo_plan(300, epsilon=4.0, eval_fraction=0.1, canaries=128).chosen
    (params,) = handed
    assert (params.training.model_preset, params.privacy.batch_size) == (chosen.preset,
                                                                        chosen.batch_size)  # fmt: skip


def test_demo_plan_auto_refuses_a_batch_size_before_anything_is_written(tmp_path, capsys):
    argv = ["demo", "--plan", "auto", "--batch-size", "8", "--workdir", str(tmp_path / "runs")]
    assert main(argv) == 2 and "leave out --batch-size" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_reference_flags_reach_the_training_group_of_demo_and_run(tmp_path, handed, capsys):
    demo = ["demo", "--units", "50", "--batch-size", "8", "--workdir", str(tmp_path / "d")]
    assert main(demo) == 2 and main([*demo, "--no-reference"]) == 2  # the demo's default: on
    config = tmp_path / "run.yaml"
    config.write_text("records: {path: x.csv}\ntraining: {reference: true}\n")
    run = ["run", str(config), "--workdir", str(tmp_path / "r")]
    assert main(run) == 2 and main([*run, "--no-reference"]) == 2
    assert [params.training.reference for params in handed] == [True, False, True, False]
    assert main(["run", "--resume", str(tmp_path), "--reference"]) == 2
    assert "leave out --reference" in capsys.readouterr().err


def test_demo_sequences_per_person_reaches_the_records_group(tmp_path, handed, capsys):
    argv = ["demo", "--units", "50", "--batch-size", "8", "--workdir", str(tmp_path / "runs")]
    assert main([*argv, "--sequences-per-person", "4"]) == 2
    assert [params.records.sequences_per_person for params in handed] == [4]
    bad = ["demo", "--sequences-per-person", "0", "--workdir", str(tmp_path / "r")]
    assert main(bad) == 2 and len(handed) == 1
    assert "records.sequences_per_person" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_the_demo_plans_by_default_and_a_given_plan_is_the_fixed_one(tmp_path, handed):
    """By default the demo runs the planner's plan (model, batch, passes, DP rate) at the fixed
    plan's compute, with the reference rate tuned for it; --plan fixed, --preset / --epochs /
    --batch-size or --init-from give the fixed plan (planning/demo_plan.py: bytes, passes and
    both Adam rates, lower ones from a public model)."""
    from strongroom.planning import demo_plan as plan

    for n, extra in enumerate([[], ["--plan", "fixed"], ["--learning-rate", "0.01"],
                               ["--init-from", "models:/pub/1"], ["--epochs", "1"]]):  # fmt: skip
        assert main(["demo", "--units", "300", *extra, "--workdir", str(tmp_path / str(n))]) == 2
    seen = [(p.training.model_preset, p.privacy.batch_size, p.records.max_seq_len,
             p.privacy.epochs, p.training.learning_rate, p.training.reference_rate)
            for p in handed]  # fmt: skip
    planned = plan.demo_plan(300, epsilon=4.0, eval_fraction=0.1, canaries=128).chosen
    assert planned.learning_rate is not None  # the packaged law has a rate rule
    assert seen[0] == (planned.preset, planned.batch_size, plan.DEMO_SEQ_LEN,
                       round(planned.epochs, 6), planned.learning_rate,
                       plan.DEMO_PLANNED_REFERENCE_LEARNING_RATE)  # fmt: skip
    fixed = ("demo", 64, plan.DEMO_SEQ_LEN, plan.DEMO_EPOCHS)
    assert seen[1] == (*fixed, plan.DEMO_LEARNING_RATE, plan.DEMO_REFERENCE_LEARNING_RATE)
    assert seen[2][:2] == seen[0][:2]
    assert seen[2][4:] == (0.01, plan.DEMO_PLANNED_REFERENCE_LEARNING_RATE)
    assert seen[3] == (*fixed, plan.DEMO_INIT_LEARNING_RATE, plan.DEMO_INIT_REFERENCE_LEARNING_RATE)
    assert seen[4][:4] == ("demo", 64, plan.DEMO_SEQ_LEN, 1.0)
