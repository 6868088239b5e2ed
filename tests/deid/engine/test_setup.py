"""The fast engine's set-up: every private API it reads still exists in the pinned libraries."""

from __future__ import annotations

import ast
from pathlib import Path

from strongroom.deid.engine import setup

ENGINE_DIR = Path(setup.__file__).parent


def test_every_private_api_the_fast_engine_reads_exists() -> None:
    assert setup.missing_private_apis() == []


def test_a_removed_private_api_is_reported(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(setup.PRIVATE_APIS, "re", ("_parser", "_no_such_module"))
    assert setup.missing_private_apis() == ["re._no_such_module"]


def _private_imports(source: str) -> set[str]:
    """Private names imported from other packages (``from x import _y``)."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("strongroom"):
            names.update(a.name for a in node.names if a.name.startswith("_"))
    return names


def test_every_private_name_imported_by_the_engine_is_listed() -> None:
    listed = {name for names in setup.PRIVATE_APIS.values() for name in names}
    imported = set().union(*(_private_imports(f.read_text()) for f in ENGINE_DIR.glob("*.py")))
    assert imported, "the engine imports private names: this test must see them"
    assert imported <= listed
