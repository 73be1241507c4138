"""The import direction of docs/architecture.md, enforced: a module imports only from lower layers.

Every module of ``lineage`` is read with ``ast`` (no import runs). Imports inside ``if TYPE_CHECKING:``
are types only and do not count; imports inside functions (lazy ones) do count, since they run.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lineage"
DOC = ROOT / "docs" / "architecture.md"

#: The layer of every top-level unit (a module or a subpackage) of ``lineage``; lower numbers are lower
#: layers. Keep in step with the table in docs/architecture.md (a test compares them).
LAYER: dict[str, int] = {
    "errors": 0,
    "aio": 0,
    "durations": 0,
    "fastjson": 0,
    "posthog": 0,
    "config": 1,
    "consumer_nodes": 1,
    "io": 1,
    "graph": 2,
    "hogql": 2,
    "analysis": 3,
    "api": 3,
    "devdata": 3,
    "frames": 3,
    "select": 3,
    "consumers": 4,
    "operate": 4,
    "render": 4,
    "report": 4,
    "tables": 4,
    "crawl": 5,
    "ops": 5,
    "sim": 5,
    "whatif_report": 5,
    "demo": 6,
    "watch": 6,
    "cli": 7,
    "__init__": 7,
    "__main__": 8,
}

#: Upward imports allowed on purpose, each run lazily inside one function, with the reason.
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    ("graph", "render"): "LineageGraph._repr_svg_ draws itself in notebooks, importing render when called",
}

#: Third-party packages that only some units may import at run time (the rest may name them for types).
ONLY_IN: dict[str, set[str]] = {
    "click": {"cli"},
    "httpx": {"api", "watch"},  # watch posts to a webhook; PostHog is reached through api only
    "starlette": {"sim"},
    "uvicorn": {"sim"},
    "pandas": {"frames", "analysis", "report", "graph", "operate", "cli"},  # lazily, for to_frame() helpers
}


def _unit(path: Path, package: Path = PACKAGE) -> str:
    rel = path.relative_to(package)
    return rel.parts[0].removesuffix(".py")


def _runtime_imports(tree: ast.Module) -> list[tuple[int, str]]:
    """``(line, module)`` of every import that runs (not under ``if TYPE_CHECKING``)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                skipped.update(id(n) for n in ast.walk(inner))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            out.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lineage":
                out.extend((node.lineno, f"lineage.{alias.name}") for alias in node.names)
            else:
                out.append((node.lineno, node.module))
    return out


def _violations(package: Path = PACKAGE) -> list[str]:
    found: list[str] = []
    root = package.parent
    for path in sorted(package.rglob("*.py")):
        me = _unit(path, package)
        if me not in LAYER:
            found.append(f"{path.relative_to(root)}: unit {me!r} has no layer; add it to LAYER and the doc")
            continue
        for line, module in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            top = module.split(".")[0]
            if top == "lineage":
                parts = module.split(".")
                if len(parts) < 2:
                    continue
                other = parts[1]
                if other == me or other not in LAYER or (me, other) in ALLOWED_UPWARD:
                    continue
                if LAYER[other] >= LAYER[me]:
                    found.append(
                        f"{path.relative_to(root)}:{line}: {me} (layer {LAYER[me]}) imports {module} "
                        f"(layer {LAYER[other]}): imports must run downward"
                    )
            elif top in ONLY_IN and me not in ONLY_IN[top]:
                found.append(
                    f"{path.relative_to(root)}:{line}: {me} imports {top}, kept to {sorted(ONLY_IN[top])}"
                )
    return found


def test_imports_run_downward() -> None:
    assert _violations() == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    tree = ast.parse("from lineage.cli import main\nif TYPE_CHECKING:\n    import httpx\n")
    assert _runtime_imports(tree) == [(1, "lineage.cli")]  # a type-only import does not count
    fake = tmp_path / "lineage"
    (fake / "api").mkdir(parents=True)
    (fake / "api" / "client.py").write_text("from lineage.crawl import crawl\nimport click\n")
    (fake / "graph.py").write_text("from lineage.errors import InputError\n")
    (fake / "newthing.py").write_text("")
    found = _violations(fake)
    assert len(found) == 3, found
    assert "api (layer 3) imports lineage.crawl (layer 5)" in found[0]
    assert "imports click" in found[1] and "has no layer" in found[3 - 1]


def test_the_doc_lists_every_layer() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| ([^|]+)\|", text, flags=re.M))
    documented = {
        name.strip("` "): int(layer)
        for layer, names in rows.items()
        for name in names.split(",")
        if name.strip()
    }
    assert documented == LAYER
