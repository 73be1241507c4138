"""Issue 16 made the snapshot commands fast; this test holds their outputs to what they were before.

``tests/golden/scale/`` was first written by the code of commit daeba48 (before any of issue 16's
changes), and proved equal to the fast code's output; it was written again when consumers, the newest
PostHog's fields and the new check rules changed what the commands print on purpose. It holds a
synthetic warehouse of 300 views (``lineage.sim.synthetic``), crawled over the system tables, and
the output of every snapshot command on that snapshot. Each must come out byte for byte the same
now. Regenerate (only when an output is meant to change) with::

    .venv/bin/python tests/test_scale_outputs.py tests/golden/scale
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from lineage.cli import main
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async
from lineage.graph import LineageGraph
from lineage.sim.app import create_app
from lineage.sim.generate import fixture_from_graph
from lineage.sim.state import Warehouse
from lineage.sim.synthetic import warehouse

GOLDEN = Path(__file__).parent / "golden" / "scale"
VIEWS, TABLES = 300, 12
# Graph attributes of a crawl that depend on the machine, not on the warehouse.
VOLATILE = ("seconds",)


def crawl_snapshot() -> str:
    """The snapshot text of a system-tables crawl of the synthetic warehouse (era e2, in process)."""
    fixture = fixture_from_graph(warehouse(VIEWS, TABLES), seed=1)
    app = create_app(Warehouse(fixture, era="e2"), rate_limit=False)
    settings = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_demo_read", env={})
    options = CrawlOptions(strategy="all", edges="system")
    result = asyncio.run(crawl_async(settings, options, transport=httpx.ASGITransport(app=app)))
    for key in VOLATILE:
        result.graph.nx.graph.pop(key, None)
    return result.graph.to_json()


def commands(snapshot: Path, tmp: Path) -> dict[str, list[str]]:
    """Output name -> command line; every snapshot command in its main formats."""
    g = LineageGraph.load(snapshot)
    views = sorted(n for n in g.nodes() if g.node(n)["kind"] != "table")
    root = max(g.roots(), key=lambda n: (len(g.downstream(n)), n))
    middle = g.name_of(views[len(views) // 2])
    other = tmp / "other.json"
    changed = LineageGraph.load(snapshot)
    changed.nx.remove_node(views[3])
    changed.nx.nodes[views[7]]["sql"] = "SELECT 1"
    changed.nx.nodes[views[9]]["status"] = "Failed"
    changed.save(other)
    s = ["--snapshot", str(snapshot)]
    out: dict[str, list[str]] = {}
    for fmt in ("json", "md", "csv", "html"):
        out[f"impact.{fmt}"] = ["impact", g.name_of(root), *s, "--format", fmt]
    out["impact-depth2.json"] = ["impact", g.name_of(root), *s, "--format", "json", "--max-depth", "2"]
    out["impact-middle.json"] = ["impact", middle, *s, "--format", "json"]
    out["check.json"] = ["check", *s, "--format", "json"]
    out["check.txt"] = ["check", *s, "--format", "text"]
    out["ls.txt"] = ["ls", *s, "--select", f"+{middle}+"]
    out["ls.json"] = ["ls", *s, "--select", f"+{middle}+", "--format", "json"]
    out["render.dot"] = ["render", *s, "--select", f"2+{middle}+2", "--format", "dot"]
    out["render.mermaid"] = ["render", *s, "--select", f"2+{middle}+2", "--format", "mermaid"]
    out["export.json"] = ["export", *s, "--format", "json", "--out", "-"]
    out["diff-same.md"] = ["diff", str(snapshot), str(snapshot)]
    out["diff.md"] = ["diff", str(snapshot), str(other)]
    out["diff.json"] = ["diff", str(snapshot), str(other), "--format", "json"]
    return out


def run_all(snapshot: Path, tmp: Path) -> dict[str, str]:
    runner = CliRunner()
    outputs = {}
    for name, args in commands(snapshot, tmp).items():
        result = runner.invoke(main, args, catch_exceptions=False)
        assert result.exit_code in (0, 1), (name, result.output)
        outputs[name] = result.stdout
    return outputs


def _without_clock(text: str) -> str:
    # The simulator's clock runs on from the fixture's time, so crawled_at moves by milliseconds.
    return re.sub(r'\n  "crawled_at": "[^"]*",\n', "\n", text, count=1)


def test_a_fresh_crawl_writes_the_same_snapshot() -> None:
    want = (GOLDEN / "snapshot.json").read_text(encoding="utf-8")
    got = crawl_snapshot()
    assert '"crawled_at": "2026-11-26T' in got
    assert _without_clock(got) == _without_clock(want)


def test_the_snapshot_survives_load_and_save_byte_for_byte() -> None:
    text = (GOLDEN / "snapshot.json").read_text(encoding="utf-8")
    assert LineageGraph.from_json_data(json.loads(text)).to_json() == text


@pytest.mark.parametrize("name", sorted(json.loads((GOLDEN / "index.json").read_text())))
def test_every_command_prints_what_it_printed_before(
    name: str, tmp_path: Path, outputs: dict[str, str]
) -> None:
    assert outputs[name] == (GOLDEN / name).read_text(encoding="utf-8"), name


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return run_all(GOLDEN / "snapshot.json", tmp_path_factory.mktemp("scale"))


def _write_golden(where: Path) -> None:
    import tempfile

    where.mkdir(parents=True, exist_ok=True)
    (where / "snapshot.json").write_text(crawl_snapshot(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        outputs = run_all(where / "snapshot.json", Path(tmp))
    for name, text in outputs.items():
        (where / name).write_text(text, encoding="utf-8")
    # the CSV export writes files, not standard output (tests/test_export.py reads them)
    LineageGraph.load(where / "snapshot.json").to_csv(where / "export.nodes.csv", where / "export.edges.csv")
    (where / "index.json").write_text(json.dumps(sorted(outputs), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    _write_golden(Path(sys.argv[1]))
