"""Files under stress: temp files of killed writes, read-only targets, full disks, unwritable --out
before any request; odd but valid JSON in snapshots and from the server; key fragments."""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from hostile import hostile_server

from lineage.cli import main
from lineage.config import Settings, redact, register_secret
from lineage.crawl import CrawlOptions, crawl
from lineage.errors import InputError, SnapshotError
from lineage.graph import LineageGraph
from lineage.io import write_atomic
from lineage.sim.app import create_app
from lineage.sim.server import serve_in_thread
from lineage.sim.state import Warehouse

# -- key fragments ----------------------------------------------------------------------------


def test_any_eight_character_piece_of_the_key_is_redacted() -> None:
    key = "phx_Fr4gmentKeyQRSTUVWXYZ"
    register_secret(key)
    body = key.removeprefix("phx_")
    for start in range(len(body) - 8):
        for end in range(start + 8, len(body) + 1):
            shown = redact(f"detail: token {body[start:end]} rejected")
            assert body[start:end] not in shown and "[redacted]" in shown
    assert redact(f"a {body[:7]} b") == f"a {body[:7]} b"  # seven characters prove nothing
    assert redact("two pieces: Fr4gment and KeyQRSTU.") == "two pieces: [redacted] and [redacted]."


# -- temporary files, read-only and full targets -----------------------------------------------

KILLED_WRITE = r"""
import os, signal, sys
from lineage import io
def die(*_):
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die  # killed between writing the temporary file and renaming it
io.write_atomic(sys.argv[1], "new")
"""


def test_temp_file_of_a_killed_write_is_cleaned_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)], check=False)
    assert done.returncode == -signal.SIGKILL
    left = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(left) == 1 and target.read_text() == "old"
    # a live writer's temp file (pid 1 is alive) is not touched
    live = tmp_path / ".report.md.1.abcd.tmp"
    live.write_text("in flight")
    write_atomic(target, "newer")
    assert target.read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".report.md.1.abcd.tmp", "report.md"]


def test_read_only_file_is_refused_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "graph.svg"
    target.write_text("keep me")
    target.chmod(0o444)
    with pytest.raises(InputError, match=r"read-only; make it writable \(chmod u\+w\)"):
        write_atomic(target, "<svg/>")
    assert target.read_text() == "keep me" and not stat.S_IMODE(target.stat().st_mode) & 0o222


def test_read_only_output_of_render_check_export_exits_2(tmp_path: Path) -> None:
    snapshot = tmp_path / "snap.json"
    graph = LineageGraph.from_json_data(
        {
            "directed": True,
            "multigraph": False,
            "graph": {"format": "lineage-snapshot/1"},
            "nodes": [{"id": "a", "kind": "view"}],
            "edges": [],
        }
    )
    graph.save(snapshot)
    for command, out in [
        (["render", "--format", "dot"], "g.dot"),
        (["check", "--format", "json"], "c.json"),
        (["export", "--format", "graphml"], "e.graphml"),
    ]:
        target = tmp_path / out
        target.write_text("keep")
        target.chmod(0o444)
        result = CliRunner().invoke(main, [*command, "--snapshot", str(snapshot), "--out", str(target)])
        assert "read-only" in result.output, (command, result.output)
        assert result.exit_code == 2, result.output
        assert target.read_text() == "keep"


def test_full_disk_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def full(_fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    target = tmp_path / "snap.json"
    with pytest.raises(InputError) as info:
        write_atomic(target, "x" * 1000)
    assert str(target) in str(info.value) and "No space left on device" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone too


@pytest.mark.parametrize("kind", ["read-only file", "file as directory"])
def test_unwritable_out_is_refused_before_any_request(
    small_fixture: dict[str, Any], tmp_path: Path, kind: str
) -> None:
    if kind == "read-only file":
        out = tmp_path / "snap.json"
        out.write_text("{}")
        out.chmod(0o444)
    else:
        (tmp_path / "blocker").write_text("")
        out = tmp_path / "blocker" / "snap.json"
    settings = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key="phx_read", env={})
    app = create_app(Warehouse(small_fixture, era="e2"))
    with pytest.raises(InputError):
        crawl(settings, CrawlOptions(out=out), transport=httpx.ASGITransport(app=app))
    assert app.state.sim.stats.snapshot()["total"] == 0


# -- odd but valid JSON ------------------------------------------------------------------------


def snapshot_text(
    tmp_path: Path, node_extra: dict[str, Any] | None = None, raw_value: str | None = None
) -> Path:
    nodes: list[dict[str, Any]] = [
        {"id": "t", "kind": "table", "name": "raw"},
        {"id": "v", "kind": "view", "name": "orders", **(node_extra or {})},
    ]
    doc = {
        "directed": True,
        "multigraph": False,
        "graph": {"format": "lineage-snapshot/1"},
        "nodes": nodes,
        "edges": [{"source": "t", "target": "v"}],
    }
    text = json.dumps(doc)
    if raw_value is not None:
        text = text.replace('"PLACEHOLDER"', raw_value)
    path = tmp_path / "odd.json"
    path.write_text(text)
    return path


COMMANDS = [
    ["check"],
    ["render", "--format", "dot"],
    ["export", "--format", "csv", "--out", "OUT"],
    ["impact", "orders"],
]


def run_all(path: Path, tmp_path: Path) -> list[Any]:
    results = []
    for command in COMMANDS:
        args = [str(tmp_path / "out.csv") if a == "OUT" else a for a in command]
        results.append(CliRunner().invoke(main, [*args, "--snapshot", str(path)]))
    return results


def test_five_thousand_digit_integer_is_a_one_line_exit_2(tmp_path: Path) -> None:
    path = snapshot_text(tmp_path, {"rows": "PLACEHOLDER"}, raw_value="9" * 5000)
    with pytest.raises(SnapshotError, match="cannot be read"):
        LineageGraph.load(path)
    for result in run_all(path, tmp_path):
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1, result.output
        assert "internal error" not in result.output


def test_attribute_nested_900_deep_is_a_one_line_exit_2(tmp_path: Path) -> None:
    deep: Any = 1
    for _ in range(900):
        deep = {"a": deep}
    path = snapshot_text(tmp_path, {"extra": deep})
    for result in run_all(path, tmp_path):
        assert result.exit_code == 2, result.output
        assert "nests values more than 64 levels deep" in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_lone_surrogate_in_a_snapshot_name_is_read_and_written(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(
        '{"directed": true, "multigraph": false, "graph": {"format": "lineage-snapshot/1"}, "edges": [], '
        '"nodes": [{"id": "v", "kind": "view", "name": "ord\\ud800ers"}]}'
    )
    graph = LineageGraph.load(path)
    assert graph.nx.nodes["v"]["name"] == "ord\ufffders"
    for result in run_all(path, tmp_path)[1:3]:
        assert result.exit_code == 0, result.output
    graph.save(tmp_path / "again.json")  # writable as UTF-8


def test_lone_surrogate_from_the_server_is_scrubbed_at_the_edge(
    small_fixture: dict[str, Any], tmp_path: Path
) -> None:
    # the server spells a view name with a lone surrogate; the crawl used to fail at the save
    app = create_app(Warehouse(small_fixture, era="e2"), rate_limit=False)
    out = tmp_path / "snap.json"
    with hostile_server(app, "surrogate") as server:
        settings = Settings.resolve(host=server.url, project="1", api_key="phx_read", env={})
        result = crawl(settings, CrawlOptions(out=out, edges="api"))
    names = {d.get("name") for _, d in result.graph.nx.nodes(data=True)}
    assert "ord\ufffders" in names
    assert "ord\ufffders" in out.read_text(encoding="utf-8")


def test_crawled_snapshot_reads_back_in_every_command(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    # the whole path over loopback: crawl then check, render and export the snapshot it wrote
    with serve_in_thread(small_fixture, era="e2", rate_limit=False) as sim:
        env = {"POSTHOG_HOST": sim.url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": "phx_read"}
        out = tmp_path / "snap.json"
        result = CliRunner().invoke(
            main, ["crawl", "--edges", "api", "--no-progress", "--out", str(out)], env=env
        )
    assert result.exit_code == 0, result.output
    for r in run_all(out, tmp_path):
        assert r.exit_code in (0, 1), r.output
