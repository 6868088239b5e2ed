"""Four-eyes approval: a second person puts a gated version into production, signed.

`approve` re-runs the organisation's policy (policy_store.py) on the version's sealed record at
that moment, refuses an approver who is the identity training sealed, refuses a key the
organisation does not trust for that approver, then writes a signed approval record on the
version (tag `approval`) and as an artifact of its run, and sets alias `production`. `revoke`
removes both. `verify` is what serving runs first: the alias points to a version whose gate passes
now, and for `production` whose approval verifies under the approver's trusted key and names this
version, these weights and this policy. An alias set by hand in the MLflow UI therefore deploys
nothing.

Trusted approvers are public keys in $STRONGROOM_APPROVERS (a directory the organisation controls:
`<approver id>.pub`, hex Ed25519); each approver holds the private half
(`strongroom approve ... --key FILE`, mode 0600, or $STRONGROOM_APPROVER_KEY).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from strongroom.errors import GateError, StrongroomError
from strongroom.keys import load_hex_key
from strongroom.run_record.seal import KEY_BYTES, SealError, seal, verified

APPROVERS_ENV = "STRONGROOM_APPROVERS"
APPROVER_KEY_ENV = "STRONGROOM_APPROVER_KEY"
APPROVAL_TAG = "approval"
PRODUCTION = "production"
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,127}")


@dataclass(frozen=True)
class Verification:
    model_name: str
    alias: str
    version: str
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def approve(
    tracking_uri: str,
    model_name: str,
    version: str,
    *,
    approver: str,
    approver_key_file: str | None,
    policy: str,
    seal_public_key_file: str,
    reason: str = "",
) -> dict[str, Any]:
    """Approve `version` into production; the signed approval record."""
    from strongroom.release import gate_version, withdraw_aliases
    from strongroom.tracking.registry import store_client

    _refuse_policy_file(policy)
    key = _approver_key(approver, approver_key_file)
    decision = gate_version(tracking_uri, model_name, version, policy, seal_public_key_file)
    if not decision["passed"]:
        withdraw_aliases(tracking_uri, model_name, version, decision)
        failed = [r["id"] for r in decision["rules"] if not r["passed"]]
        raise GateError(f"{model_name}/{version} fails policy {policy} now: {failed}; not approved")
    facts = decision["facts"]
    if approver == facts.get("train.trained_by"):
        raise GateError(f"{approver} trained {model_name}/{version}: a second person must approve")
    record = seal(
        {
            "model": model_name,
            "version": version,
            "model_sha256": facts["model.sha256"],
            "approver": approver,
            "trained_by": facts.get("train.trained_by", ""),
            "reason": reason[:500],
            "approved_at": datetime.now(UTC).isoformat(),
            "policy": decision["policy"],
            "policy_version": decision["policy_version"],
            "policy_sha256": decision["policy_sha256"],
        },
        key,
    )
    client = store_client(tracking_uri)
    client.set_model_version_tag(model_name, version, APPROVAL_TAG, json.dumps(record))
    run_id = client.get_model_version(model_name, version).run_id
    client.log_dict(run_id, record, f"approvals/{model_name}-v{version}.json")
    client.set_registered_model_alias(model_name, PRODUCTION, version)
    return record


def revoke(tracking_uri: str, model_name: str, version: str, *, by: str, reason: str = "") -> None:
    """Remove the version's approval and its `production` alias; who and why are tagged."""
    from strongroom.tracking.registry import store_client

    client = store_client(tracking_uri)
    if PRODUCTION in client.get_model_version(model_name, version).aliases:
        client.delete_registered_model_alias(model_name, PRODUCTION)
    client.delete_model_version_tag(model_name, version, APPROVAL_TAG)
    revoked = {"by": by, "at": datetime.now(UTC).isoformat(), "reason": reason[:500]}
    client.set_model_version_tag(model_name, version, "approval.revoked", json.dumps(revoked))


def split_alias_ref(ref: str) -> tuple[str, str]:
    """`MODEL@ALIAS` -> (model, alias)."""
    name, sep, alias = ref.rpartition("@")
    if not sep or not name or not alias:
        raise StrongroomError(f"expected MODEL@ALIAS, got {ref!r}")
    return name, alias


def verify(
    tracking_uri: str, model_name: str, alias: str, *, policy: str, seal_public_key_file: str
) -> Verification:
    """Whether `alias` may be served: its version passes the organisation's policy now and, for
    `production`, carries an approval that verifies and matches it."""
    from mlflow.exceptions import MlflowException

    from strongroom.release import gate_version
    from strongroom.tracking.registry import store_client

    _refuse_policy_file(policy)
    client = store_client(tracking_uri)
    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException:  # no such alias (or model)
        return Verification(model_name, alias, "", [f"no alias {alias!r} on {model_name}"])
    number = str(version.version)  # MLflow's client may give it as an int
    decision = gate_version(tracking_uri, model_name, number, policy, seal_public_key_file)
    problems = [
        f"policy {decision['policy']} fails now: {r['id']}: {r['reason']}"
        for r in decision["rules"]
        if not r["passed"]
    ]
    if alias == PRODUCTION:
        problems += _approval_problems(version.tags.get(APPROVAL_TAG), decision, number)
    return Verification(model_name, alias, number, problems)


def _refuse_policy_file(policy: str) -> None:
    """Approval and verification use the organisation's policy, named: never a file."""
    if Path(policy).suffix in (".yaml", ".yml") or "/" in policy:
        raise StrongroomError(
            "approve and verify take the organisation's policy by name (shipped or in "
            "$STRONGROOM_POLICY_DIR), not a file"
        )


def _approval_problems(tag: str | None, decision: dict[str, Any], version: str) -> list[str]:
    if not tag:
        return ["no approval: production needs `strongroom approve` by a second person"]
    try:
        record = json.loads(tag)
        approver = str(record["approver"])
        body = verified(record, trusted_approver_key(approver), what="approval")
    except (ValueError, KeyError, TypeError, SealError, StrongroomError) as error:
        return [f"approval does not verify: {error}"]
    facts = decision["facts"] or {}
    expected = {
        "model": decision["model_name"],
        "version": version,
        "model_sha256": facts.get("model.sha256"),
        "policy": decision["policy"],
    }
    problems = [f"approval names another {k}" for k, v in expected.items() if body.get(k) != v]
    if body.get("approver") == facts.get("train.trained_by"):
        problems.append("approval by the identity that trained the model")
    return problems


def trusted_approver_key(approver: str) -> Ed25519PublicKey:
    """The organisation's public key for `approver` ($STRONGROOM_APPROVERS/<approver>.pub)."""
    if not _ID.fullmatch(approver):
        raise StrongroomError("approver ids are letters, digits and . _ @ - (128 at most)")
    directory = os.environ.get(APPROVERS_ENV, "")
    if not directory:
        raise StrongroomError(f"no trusted approvers: set {APPROVERS_ENV} to their keys' folder")
    path = Path(directory) / f"{approver}.pub"
    raw = load_hex_key(path, env="", what=f"public key of approver {approver}", secret=False)
    if len(raw) != KEY_BYTES:
        raise StrongroomError(f"{path}: an Ed25519 public key has exactly {KEY_BYTES} bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def _approver_key(approver: str, key_file: str | None) -> Ed25519PrivateKey:
    """The approver's private key, checked against the organisation's trusted public key."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = load_hex_key(key_file, env=APPROVER_KEY_ENV, what="approver key")
    if len(raw) != KEY_BYTES:
        raise StrongroomError(f"approver key: an Ed25519 key has exactly {KEY_BYTES} bytes")
    key = Ed25519PrivateKey.from_private_bytes(raw)
    trusted = trusted_approver_key(approver).public_bytes(Encoding.Raw, PublicFormat.Raw)
    if key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != trusted:
        raise GateError(f"this key is not the organisation's key for approver {approver}")
    return key


def make_approver_key(key_file: str | Path) -> Path:
    """A new approver key pair: the private key (hex, mode 0600) for the approver, the public
    key beside it (`.pub`) for the organisation's $STRONGROOM_APPROVERS folder."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    if Path(key_file).exists():
        raise StrongroomError(f"{key_file}: exists; a key is never overwritten")
    raw = load_hex_key(key_file, env="", what="approver key", create=True)
    public = Ed25519PrivateKey.from_private_bytes(raw[:KEY_BYTES]).public_key()
    path = Path(f"{key_file}.pub")
    path.write_text(public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex())
    return path
