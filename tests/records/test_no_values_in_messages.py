"""Bad input and faults never put a record's value in a message: every case plants a unique
marker in the input, runs the real command in a subprocess (so log lines are seen too) and
checks that it fails with one clear `strongroom: ` line that does not hold the marker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from strongroom.errors import MESSAGE_LIMIT

# Looks like a header name on purpose: values that pass the name rule must not be echoed either.
NAME_LIKE_MARKER = "Zqxmarker Vantablack"
# Not name-like: the kind of field that is only ever located by position and hash.
MARKER = "zq-7731@marker.example"
_LOG_PREFIXES = ("INFO ", "WARNING ", "DEBUG ")


def _strongroom(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-c",
        "import sys; from strongroom.cli import main; sys.exit(main())",
    ]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def _error_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    """stderr without log lines: what the command says about the failure."""
    return [line for line in result.stderr.splitlines() if not line.startswith(_LOG_PREFIXES)]


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *markers: str) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = _error_lines(result)
    assert len(lines) == 1 and lines[0].startswith("strongroom: "), result.stderr[:2000]
    for marker in markers:
        assert marker not in result.stdout and marker not in result.stderr
    return lines[0]


def _assert_config_refused(result: subprocess.CompletedProcess[str], *markers: str) -> list[str]:
    """A ConfigError: one `strongroom: FILE: N problem(s)` line, then one line per problem."""
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    first, *problems = _error_lines(result)
    assert first.startswith("strongroom: ") and "problem(s)" in first
    assert problems and all(p.startswith("  - ") for p in problems)
    for marker in markers:
        assert marker not in result.stdout and marker not in result.stderr
    return problems


def _ingest(source: Path | str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return _strongroom("ingest", str(source), "--out", str(tmp_path / "out"), *extra)


def test_a_csv_without_its_header_row_is_refused_without_echoing_the_first_patient(
    demo_frame, tmp_path
):
    first = demo_frame.iloc[0].copy()
    first["name"] = NAME_LIKE_MARKER
    headerless = tmp_path / "headerless.csv"
    demo_frame.assign(name=[NAME_LIKE_MARKER, *demo_frame["name"][1:]]).to_csv(
        headerless, index=False, header=False
    )
    result = _ingest(headerless, tmp_path)
    line = _assert_one_clear_line(result, NAME_LIKE_MARKER, first["ssn"], first["email"])
    assert "missing column(s)" in line and "header row missing" in line


def test_validate_on_a_headerless_csv_does_not_echo_values_either(demo_frame, tmp_path):
    headerless = tmp_path / "headerless.csv"
    demo_frame.assign(name=NAME_LIKE_MARKER).to_csv(headerless, index=False, header=False)
    result = _strongroom("validate", str(headerless), "--out", str(tmp_path / "out"))
    _assert_one_clear_line(result, NAME_LIKE_MARKER)


def test_a_huge_single_line_file_is_never_echoed_and_the_message_is_capped(tmp_path):
    # 50 MB on one line: a real header name first, so unknown fields are listed by position.
    huge = tmp_path / "huge.csv"
    field = MARKER + "x" * 1000
    with huge.open("w") as out:
        out.write("patient_id")
        for _ in range(50_000):
            out.write("," + field)
        out.write("\n")
    result = _ingest(huge, tmp_path)
    line = _assert_one_clear_line(result, MARKER)
    assert len(line) <= len("strongroom: ") + len(str(huge)) + 2 + MESSAGE_LIMIT
    assert "#2 sha256:" in line


def test_a_name_like_unknown_column_is_named_when_the_header_is_real(demo_frame, tmp_path):
    source = tmp_path / "extra.csv"
    demo_frame.assign(**{"secret col": "x", MARKER: "y"}).to_csv(source, index=False)
    line = _assert_one_clear_line(_ingest(source, tmp_path), MARKER)
    assert "'secret col'" in line and "#19 sha256:" in line


def test_a_symlink_to_a_secret_file_is_resolved_reported_and_its_first_line_not_echoed(
    tmp_path,
):
    secret = tmp_path / "shadow"
    secret.write_text(f"{NAME_LIKE_MARKER}\n{MARKER}:x:0:0\n")
    link = tmp_path / "records.csv"
    link.symlink_to(secret)
    result = _ingest(link, tmp_path)
    _assert_one_clear_line(result, NAME_LIKE_MARKER, MARKER)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING ")]
    assert any("symlink" in w and str(secret) in w for w in warnings)


def test_a_symlinked_part_in_a_folder_is_resolved_reported_and_not_echoed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text(f"{NAME_LIKE_MARKER}\n")
    folder = tmp_path / "parts"
    folder.mkdir()
    (folder / "part-0.csv").symlink_to(secret)
    result = _ingest(folder, tmp_path)
    line = _assert_one_clear_line(result, NAME_LIKE_MARKER)
    assert "part-0.csv" in line
    assert any("symlink" in w and str(secret) in w for w in result.stderr.splitlines())


def test_dev_zero_as_records_is_a_clear_error_naming_the_path(tmp_path):
    line = _assert_one_clear_line(_ingest("/dev/zero", tmp_path, "--format", "csv"))
    assert line.startswith("strongroom: /dev/zero: not a records file")


def test_a_proc_path_as_records_is_refused(tmp_path):
    line = _assert_one_clear_line(_ingest("/proc/self/environ", tmp_path, "--format", "csv"))
    assert "not a records file" in line and "/proc/" in line


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_as_records_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "records.csv"
    os.mkfifo(fifo)
    line = _assert_one_clear_line(_ingest(fifo, tmp_path))
    assert "named pipe" in line


def test_a_records_file_given_as_the_contract_is_not_echoed(demo_frame, tmp_path):
    records = tmp_path / "records.csv"
    demo_frame.assign(name=MARKER, note=NAME_LIKE_MARKER).to_csv(records, index=False)
    result = _ingest(records, tmp_path, "--contract", str(records))
    _assert_config_refused(result, MARKER, NAME_LIKE_MARKER)


def test_a_passwd_like_file_given_as_the_contract_is_not_echoed(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text("".join(f"{MARKER}{i}:x:{i}:{i}:{MARKER}:/home:/bin/sh\n" for i in range(50)))
    result = _ingest(passwd, tmp_path, "--contract", str(passwd))
    problems = _assert_config_refused(result, MARKER)
    assert len(problems) == 1


def test_a_contract_mapping_full_of_markers_names_no_marker(tmp_path):
    contract = tmp_path / "contract.yaml"
    contract.write_text("".join(f"{MARKER} {i}: {MARKER}\n" for i in range(20)))
    problems = _assert_config_refused(_ingest(contract, tmp_path, "--contract", str(contract)))
    assert all(MARKER not in p and len(p) <= MESSAGE_LIMIT + 4 for p in problems)
    assert any("<key sha256:" in p for p in problems)


def test_a_yaml_syntax_error_gives_only_line_and_column(tmp_path):
    contract = tmp_path / "contract.yaml"
    contract.write_text(f"name: [{MARKER}\nkey: {MARKER}: {MARKER}\n")
    problems = _assert_config_refused(_ingest(contract, tmp_path, "--contract", str(contract)))
    assert problems == ["  - not valid YAML at line 2, column 4"]


def test_dev_zero_as_the_contract_is_refused_at_once(tmp_path):
    result = _ingest(tmp_path, tmp_path, "--contract", "/dev/zero")
    assert _assert_config_refused(result) == ["  - not a regular file (a device, pipe or folder?)"]


def test_an_oversized_contract_is_refused_with_its_limit(tmp_path):
    contract = tmp_path / "contract.yaml"
    contract.write_text(f"# {MARKER}\n" * 100_000)
    problems = _assert_config_refused(_ingest(contract, tmp_path, "--contract", str(contract)))
    assert problems == ["  - larger than 1048576 bytes: not a config file"]
