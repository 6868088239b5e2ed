"""Who is acting: the identity training seals and approval compares against.

On a cluster the pipeline sets STRONGROOM_IDENTITY (its ServiceAccount, or the KFP run's owner);
on a laptop it is the operating-system user. Approval is refused when the approver is the
identity sealed by training (four eyes): the sealed value, not an editable tag, is compared.
"""

from __future__ import annotations

import getpass
import os

IDENTITY_ENV = "STRONGROOM_IDENTITY"


def current_identity() -> str:
    """$STRONGROOM_IDENTITY, else the operating-system user ('unknown' if there is none)."""
    named = os.environ.get(IDENTITY_ENV, "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"
