"""Key files: the mistakes a user makes get a message naming the file, never a traceback."""

import logging

import pytest

from strongroom.errors import StrongroomError
from strongroom.keys import KEY_BYTES, load_hex_key

ENV = "STRONGROOM_TEST_KEY"


def _load(path, **kwargs):
    return load_hex_key(path, env=ENV, what="test key", **kwargs)


def test_a_missing_key_is_made_private_and_then_read_back(tmp_path):
    path = tmp_path / "keys" / "k"
    key = _load(path, create=True)
    assert len(key) == KEY_BYTES and oct(path.stat().st_mode & 0o777) == "0o600"
    assert _load(path) == key


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "has 0 bytes"), ("ab", "has 1 bytes"), ("zz" * 32, "not hexadecimal")],
)
def test_an_empty_short_or_non_hex_key_is_refused(tmp_path, content, message):
    path = tmp_path / "k"
    path.write_text(content)
    path.chmod(0o600)
    with pytest.raises(StrongroomError, match=message) as error:
        _load(path)
    assert str(path) in str(error.value) and "zz" not in str(error.value)


def test_a_folder_or_a_missing_file_is_a_message(tmp_path):
    with pytest.raises(StrongroomError, match="is a folder"):
        _load(tmp_path)
    with pytest.raises(StrongroomError, match="file not found"):
        _load(tmp_path / "nothing")


def test_a_key_file_others_can_read_is_refused_unless_allowed(tmp_path, caplog, monkeypatch):
    path = tmp_path / "k"
    path.write_text("ab" * KEY_BYTES)
    path.chmod(0o644)
    with pytest.raises(StrongroomError, match="readable by others: chmod 600 it"):
        _load(path)
    monkeypatch.setenv("STRONGROOM_ALLOW_SHARED_KEY_FILES", "1")
    with caplog.at_level(logging.WARNING, logger="strongroom.keys"):
        assert _load(path) == bytes.fromhex("ab" * KEY_BYTES)
    assert "readable by others" in caplog.text


def test_the_environment_wins_and_is_checked_too(tmp_path, monkeypatch):
    monkeypatch.setenv(ENV, "cd" * KEY_BYTES)
    assert _load(None) == bytes.fromhex("cd" * KEY_BYTES)
    monkeypatch.setenv(ENV, "cd")
    with pytest.raises(StrongroomError, match=f"\\${ENV}: test key has 1 bytes"):
        _load(None)


def test_no_key_is_ever_made_where_keys_come_from_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("STRONGROOM_NEVER_MAKE_KEYS", "1")  # every pod of the compiled pipeline
    missing = tmp_path / "secrets" / "pseudonym.key"
    with pytest.raises(StrongroomError, match="never made here") as error:
        _load(missing, create=True)
    assert "pseudonym.key" in str(error.value) and "Secret" in str(error.value)
    assert not missing.exists() and not missing.parent.exists()
    monkeypatch.setenv(ENV, "ab" * KEY_BYTES)  # the environment still supplies it
    assert _load(missing, create=True) == bytes.fromhex("ab" * KEY_BYTES)
