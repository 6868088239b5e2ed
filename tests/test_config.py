"""load_yaml_model: a config file is read with bounds, and no problem quotes the file's content."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, field_validator

from strongroom.config import MAX_YAML_BYTES, load_yaml_model
from strongroom.errors import MESSAGE_LIMIT, ConfigError

MARKER = "zq-4410@marker.example"


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    size: int = 1


def _problems(path: Path | str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_yaml_model(path, Settings)
    assert MARKER not in str(caught.value)
    return caught.value.problems


def test_a_valid_file_is_loaded(tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("name: demo\nsize: 3\n")
    assert load_yaml_model(path, Settings) == Settings(name="demo", size=3)


def test_a_missing_file_is_named_as_not_found(tmp_path):
    assert _problems(tmp_path / "nowhere.yaml") == ["file not found"]


def test_a_folder_is_not_a_config_file(tmp_path):
    assert _problems(tmp_path)[0].startswith("not a regular file")


def test_a_device_is_refused_before_it_is_read():
    assert _problems("/dev/zero") == ["not a regular file (a device, pipe or folder?)"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path):
    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    assert _problems(fifo) == ["not a regular file (a device, pipe or folder?)"]


def test_a_file_over_the_size_cap_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + f"# {MARKER}\n" * (MAX_YAML_BYTES // 10))
    assert _problems(path) == [f"larger than {MAX_YAML_BYTES} bytes: not a config file"]


def test_a_yaml_syntax_error_keeps_only_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: '{MARKER}\n")
    assert _problems(path) == ["not valid YAML at line 2, column 1"]


def test_text_that_is_not_utf8_is_refused_by_position(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(f"name: {MARKER}\xe9\n".encode("latin-1"))
    assert _problems(path) == [f"not UTF-8 text (byte {len('name: ' + MARKER)})"]


def test_a_top_level_that_is_not_a_mapping_gives_only_its_type(tmp_path):
    path = tmp_path / "records.csv"
    path.write_text(f"a,b\n{MARKER},1\n")
    assert _problems(path) == ["expected a mapping at the top level, got str"]
    path.write_text(f"- {MARKER}\n")
    assert _problems(path) == ["expected a mapping at the top level, got list"]


def test_unknown_keys_are_named_only_when_they_look_like_identifiers(tmp_path):
    path = tmp_path / "keys.yaml"
    path.write_text(f"name: x\nextra_key: 1\n'{MARKER}': 2\n")
    problems = _problems(path)
    assert "extra_key: Extra inputs are not permitted" in problems
    assert any(p.startswith("<key sha256:") for p in problems)


class Talkative(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def _refuse(cls, value: str) -> str:
        raise ValueError("too long a story " * 100)


def test_every_problem_line_is_capped(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: x\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml_model(path, Talkative)
    (problem,) = caught.value.problems
    assert problem.startswith("name: too long a story") and len(problem) == MESSAGE_LIMIT
