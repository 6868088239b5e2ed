"""No import circles in the packages that were split by reason to change (records, deid, demo).

Every import counts, at module level or inside a function (a lazy import only hides a circle);
imports under ``if TYPE_CHECKING:`` do not run and do not count.
"""

from __future__ import annotations

import ast
from pathlib import Path

import strongroom

PACKAGE = Path(strongroom.__file__).parent
CHECKED = ("records", "deid", "demo", "synthesis")


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            node.body = [ast.Pass()]  # typing only: cleared before the walk reaches it
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def import_graph() -> dict[str, set[str]]:
    files = [f for package in CHECKED for f in (PACKAGE / package).rglob("*.py")]
    modules = {_module_name(f): f for f in files}
    return {
        name: {t for t in _imports(ast.parse(f.read_text())) if t in modules and t != name}
        for name, f in modules.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Modules that can reach themselves: one sorted list per circle found."""
    found = []
    for start in graph:
        seen, frontier = set(), list(graph[start])
        while frontier:
            node = frontier.pop()
            if node not in seen:
                seen.add(node)
                frontier.extend(graph[node])
        if start in seen:
            found.append(sorted(m for m in seen if start in _reach(graph, m)))
    return sorted({tuple(c): c for c in found}.values())


def _reach(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, frontier = {start}, list(graph[start])
    while frontier:
        node = frontier.pop()
        if node not in seen:
            seen.add(node)
            frontier.extend(graph[node])
    return seen


def test_records_deid_and_demo_have_no_import_circles() -> None:
    graph = import_graph()
    assert "strongroom.deid.engine.note_analyzer" in graph
    assert circles(graph) == []


def test_a_circle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]


def test_records_does_not_import_de_identification_or_demo() -> None:
    graph = import_graph()
    upward = {
        (m, t)
        for m, targets in graph.items()
        if m.startswith("strongroom.records")
        for t in targets
        if t.startswith(("strongroom.deid", "strongroom.demo"))
    }
    assert upward == set()


def test_synthesis_library_modules_import_no_stage_and_nothing_below_imports_synthesis() -> None:
    """synthesis/run.py is the stage (verify, sealed facts, MLflow); the rest is library."""
    stage_level = ("strongroom.release", "strongroom.governance", "strongroom.tracking",
                   "strongroom.stages", "strongroom.cli")  # fmt: skip
    library = [f for f in (PACKAGE / "synthesis").glob("*.py") if f.name != "run.py"]
    assert len(library) >= 5
    for path in library:
        upward = {t for t in _imports(ast.parse(path.read_text())) if t.startswith(stage_level)}
        assert upward == set(), path.name
    for package in ("records", "corpus", "model"):
        for path in (PACKAGE / package).rglob("*.py"):
            found = _imports(ast.parse(path.read_text()))
            assert not any(t.startswith("strongroom.synthesis") for t in found), path.name
