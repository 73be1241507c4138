"""The notebooks run top to bottom from a fresh clone (no output/), and are committed without outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL = "lineage-test-python"

pytestmark = pytest.mark.loopback


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this very interpreter (the venv's), found first through JUPYTER_PATH."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "lineage tests",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return KERNEL


def _read(name: str) -> nbformat.NotebookNode:
    nb: nbformat.NotebookNode = nbformat.read(NOTEBOOKS / name, as_version=4)  # type: ignore[no-untyped-call]
    return nb


def _run(name: str, kernel: str, cwd: Path) -> nbformat.NotebookNode:
    nb = _read(name)
    client = NotebookClient(
        nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(cwd)}}, allow_errors=False
    )
    client.execute()
    return nb


def _outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    outs: list[dict[str, Any]] = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            outs.extend(cell.get("outputs", []))
    return outs


def _texts(nb: nbformat.NotebookNode) -> str:
    parts: list[str] = []
    for out in _outputs(nb):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        for mime in ("text/plain", "text/html"):
            value = out.get("data", {}).get(mime)
            if value:
                parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


def _mimes(nb: nbformat.NotebookNode) -> set[str]:
    return {mime for out in _outputs(nb) for mime in out.get("data", {})}


@pytest.mark.parametrize("name", ["explore.ipynb", "impact.ipynb"])
def test_committed_without_outputs(name: str) -> None:
    nb = _read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, f"{name}: strip outputs before committing"


def test_explore_runs_from_a_fresh_clone(kernel: str, tmp_path: Path) -> None:
    nb = _run("explore.ipynb", kernel, tmp_path)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            assert out.get("output_type") != "error"
    text = _texts(nb)
    assert "lineage-demo-" in text  # the first cell made the demo snapshot itself
    assert "revenue_reconciliation" in text  # the jobs frame and the findings name the failing view
    assert "campaign_spend" in text
    assert "ghost" in text
    mimes = _mimes(nb)
    assert "image/svg+xml" in mimes  # an inline diagram
    assert "image/png" in mimes  # the matplotlib plot
    assert "text/html" in mimes  # DataFrames


def test_impact_runs_from_a_fresh_clone(kernel: str, tmp_path: Path) -> None:
    nb = _run("impact.ipynb", kernel, tmp_path)
    text = _texts(nb)
    assert "lineage-demo-" in text
    assert "affected node(s)" in text
    assert "refresh order:" in text
    assert "views affected:" in text
    assert "who to tell:" in text  # the consumers cell runs with or without consumers in the snapshot
    # customer_mrr_by_month.mrr feeds mrr_by_month's mrr in the demo; found through the HogQL
    assert "mrr_by_month" in text and "derived" in text
    assert "image/svg+xml" in _mimes(nb)
