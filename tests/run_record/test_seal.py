"""Seals: Ed25519 over canonical JSON; whoever holds only the public key cannot make one."""

import pytest

from strongroom.run_record.seal import (
    SealError,
    load_signing_key,
    load_verify_key,
    public_key_path,
    seal,
    verified,
)

RECORD = {"mechanism": {"noise_multiplier": 0.8, "steps": 87}, "secure_rng": True}


@pytest.fixture
def keys(tmp_path):
    signing = load_signing_key(tmp_path / "seal.key", create=True)
    return signing, load_verify_key(public_key_path(tmp_path / "seal.key"))


def test_a_sealed_record_verifies_with_the_public_key_and_comes_back_without_its_seal(keys):
    signing, public = keys
    sealed = seal(RECORD, signing)
    assert verified(sealed, public, what="record") == RECORD
    assert verified(dict(reversed(list(sealed.items()))), public, what="record") == RECORD


@pytest.mark.parametrize(
    "edit",
    [
        lambda r: r["mechanism"].update(noise_multiplier=8.0),
        lambda r: r.update(secure_rng=False),
        lambda r: r.update(extra=1),
        lambda r: r.pop("seal"),
        lambda r: r["seal"].update(signature="00" * 64),
    ],
)
def test_any_edit_breaks_the_seal(keys, edit):
    import copy

    signing, public = keys
    sealed = copy.deepcopy(seal(RECORD, signing))
    edit(sealed)
    with pytest.raises(SealError, match="record: seal does not verify"):
        verified(sealed, public, what="record")


def test_a_record_sealed_by_another_key_does_not_verify(keys, tmp_path):
    _, public = keys
    other = load_signing_key(tmp_path / "other.key", create=True)
    with pytest.raises(SealError):
        verified(seal(RECORD, other), public, what="record")


def test_the_key_file_is_private_and_the_public_key_is_written_beside_it(tmp_path):
    load_signing_key(tmp_path / "seal.key", create=True)
    assert oct((tmp_path / "seal.key").stat().st_mode & 0o777) == "0o600"
    assert len(bytes.fromhex(public_key_path(tmp_path / "seal.key").read_text())) == 32
