"""Hardening: bad input ends in one clean line and the right exit code, the key never leaks, untrusted
text cannot inject into any output format, and outputs are byte-for-byte deterministic.

Every case drives the real command line (``lineage.cli.main``) through click's CliRunner.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import stat
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import click
import httpx
import pytest
from click.testing import CliRunner, Result

from lineage.cli import main
from lineage.cli.common import clean_errors
from lineage.config import Settings, is_loopback
from lineage.errors import ConfigError, InputError
from lineage.graph import LineageGraph
from lineage.io import visible, write_atomic

V = [f"00000000-0000-4000-8000-{i:012d}" for i in range(40)]

# Text a hostile (or careless) PostHog user can put in names, folders, errors, owners and columns.
EVIL = [
    "<script>alert(1)</script>",
    "]]>",
    "\"dq\" 'sq'",
    "`tick` ${x}",
    "a|b|c",
    "line1\nline2\r\nline3",
    "{brace}} [sq] (p)",
    '=HYPERLINK("http://evil","x")',
    "rtl\u202egnp.exe\u2066",
    "-->",
    "&amp; &lt;",
    "*bold* _it_ #h",
    "back\\slash\\",
    "esc\x1b[31mred",
    "nul\x00x",
    "</td></tr></table><img src=x onerror=alert(1)>",
    'x"];evil[label="x',
    "@SUM(A1)",
    "+cmd",
    "-2+3",
    "x" * 10_000,
]


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=True)


def assert_clean_failure(result: Result, code: int, *needles: str) -> str:
    """Exit ``code``, no traceback or escaped exception, a ``lineage:`` or click message naming the input."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    first = result.stderr.strip().splitlines()[0] if result.stderr.strip() else ""
    assert first.startswith(("lineage: ", "Error: ", "Usage: ")), result.stderr
    message = result.stderr.strip().splitlines()[-1] if first.startswith("Usage") else first
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)
    return message


def small_graph() -> LineageGraph:
    g = LineageGraph(host="https://us.posthog.com", project="1", crawled_at="2026-11-26T00:00:00Z")
    g.add_node("events", name="events", kind="table", table_kind="posthog")
    g.add_node(
        V[0], name="orders", kind="matview", is_materialized=True, folder="Revenue", status="Completed"
    )
    g.add_node(V[1], name="orders_daily", kind="view", folder="Revenue", columns=["day", "amount"])
    g.add_node(V[2], name="report", kind="view", sql="SELECT day, amount FROM orders_daily")
    g.add_edge("events", V[0])
    g.add_edge(V[0], V[1])
    g.add_edge(V[1], V[2])
    return g


def hostile_graph() -> LineageGraph:
    """A chain events -> v0 -> v1 ... whose every API-supplied string is one of EVIL."""
    g = LineageGraph(
        host="http://127.0.0.1:1", project="1", crawled_at="2026-11-26T00:00:00Z", strategy="all"
    )
    g.add_node("events", name="events", kind="table", table_kind="posthog")
    prev = "events"
    for i, evil in enumerate(EVIL):
        g.add_node(
            V[i],
            name=evil if i % 2 else f"v{i}{evil}",
            kind="matview" if i % 2 else "view",
            status="Failed" if i % 3 == 0 else evil,
            is_materialized=bool(i % 2),
            sync_frequency="24hour" if i % 2 else evil,
            last_run_at="2026-11-20T00:00:00Z",
            latest_error=evil,
            folder=f"F{i % 4}{evil}",
            created_by=evil,
            columns=[f"c{evil}", "id"],
            description=evil,
            sql="SELECT id FROM events" if i == 0 else "SELECT id, x FROM `" + evil + "`",  # noqa: S608 - hostile on purpose
            jobs={
                "runs": 3,
                "failures": 1,
                "last_status": evil if i % 5 else "Failed",
                "last_success_at": "2026-11-19T00:00:00Z",
                "median_duration_s": 1.5,
                "rows_last": 10,
                "failure_streak": 1,
                "history": [{"status": "Failed", "error": evil, "created_at": "2026-11-20T00:00:00Z"}],
            },
        )
        g.add_edge(prev, V[i])
        prev = V[i]
    return g


@pytest.fixture
def snap(tmp_path: Path) -> Path:
    path = tmp_path / "snap.json"
    small_graph().save(path)
    return path


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / "hostile.json"
    hostile_graph().save(path)
    return path


# ------------------------------------------------------------------ bad snapshot files


def _bad_snapshots(tmp: Path, good: Path) -> dict[str, tuple[Path, str]]:
    data = json.loads(good.read_text())
    cases: dict[str, tuple[Path, str]] = {}

    def put(name: str, content: str | bytes, needle: str) -> None:
        path = tmp / f"{name}.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        cases[name] = (path, needle)

    cases["missing"] = (tmp / "nope.json", "does not exist")
    put("empty", "", "not valid JSON")
    put("truncated", good.read_text()[:200], "not valid JSON")
    put("not_json", "hello, world", "not valid JSON")
    put("latin1", b"\xff\xfe\x00", "not UTF-8")
    put("a_list", "[1, 2]", "not a lineage snapshot")
    put("too_deep", "[" * 100_000 + "]" * 100_000, "nested too deeply")
    newer = json.loads(json.dumps(data))
    newer["graph"]["format"] = "lineage-snapshot/2"
    put("newer", json.dumps(newer), "newer than this lineage reads")
    other = json.loads(json.dumps(data))
    other["graph"]["format"] = "lineage-sim-fixture/1"
    put("other_format", json.dumps(other), "not 'lineage-snapshot/1'")
    badkind = json.loads(json.dumps(data))
    badkind["nodes"][0]["kind"] = "spaceship"
    put("bad_kind", json.dumps(badkind), "'spaceship'")
    dangling = json.loads(json.dumps(data))
    dangling["edges"].append({"source": "events", "target": "ghost-node"})
    put("dangling_edge", json.dumps(dangling), "not in the file")
    (tmp / "a_dir").mkdir()
    cases["directory"] = (tmp / "a_dir", "is a directory")
    return cases


BAD_SNAPSHOT_NAMES = [
    "missing",
    "empty",
    "truncated",
    "not_json",
    "latin1",
    "a_list",
    "too_deep",
    "newer",
    "other_format",
    "bad_kind",
    "dangling_edge",
    "directory",
]
COMMANDS_ON_SNAPSHOT = ["ls", "impact", "render", "check", "diff-old", "diff-new", "crawl-refresh"]


def _argv(command: str, path: str, good: str) -> list[str]:
    return {
        "ls": ["ls", "--select", "*", "--snapshot", path],
        "impact": ["impact", "orders", "--snapshot", path],
        "render": ["render", "--format", "dot", "--snapshot", path],
        "check": ["check", "--snapshot", path],
        "diff-old": ["diff", path, good],
        "diff-new": ["diff", good, path],
        # --refresh is read before any request: no server is needed to see it refused
        "crawl-refresh": [
            "crawl",
            "--all",
            "--refresh",
            path,
            "--host",
            "http://127.0.0.1:9",
            "--project",
            "1",
            "--api-key",
            "phx_unused",
            "--out",
            str(Path(good).parent / "crawl-out.json"),
        ],
    }[command]


@pytest.mark.parametrize("command", COMMANDS_ON_SNAPSHOT)
def test_every_command_refuses_every_bad_snapshot_in_one_line(
    snap: Path, tmp_path: Path, command: str
) -> None:
    cases = _bad_snapshots(tmp_path, snap)
    for name in BAD_SNAPSHOT_NAMES:
        path, needle = cases[name]
        result = run(*_argv(command, str(path), str(snap)))
        message = assert_clean_failure(result, 2, needle)
        assert str(path) in message, (name, message)
        assert len(result.stderr.strip().splitlines()) == 1, (name, result.stderr)


# ------------------------------------------------------------------ selectors, views, formats, numbers


@pytest.mark.parametrize(
    "selector",
    [
        "",
        " ",
        "+",
        "++orders",
        "3+",
        "nosuch",
        "+nosuch+",
        "folder:",
        "kind:bogus",
        "materialized:maybe",
        "bogus:x",
        "1+2+orders",
        "-1+orders",
        "@",
        "@@orders",
        ",",
        "orders,",
        '"',
        "rev\nenue",
        "ördérs",
    ],
)
def test_bad_selectors_quote_the_input(snap: Path, selector: str) -> None:
    for argv in (
        ["ls", "--select", selector, "--snapshot", str(snap)],
        ["render", "--select", selector, "--format", "dot", "--snapshot", str(snap)],
        ["ls", "--select", "*", "--exclude", selector, "--snapshot", str(snap)],
    ):
        message = assert_clean_failure(run(*argv), 2)
        assert "selector" in message, message
        assert repr(selector) in message or repr(selector.strip()) in message or "empty" in message, message


def test_huge_depths_and_globs_that_match_nothing_are_not_errors(snap: Path) -> None:
    result = run("ls", "--select", "99999999999999999999+report", "--snapshot", str(snap), "--format", "json")
    assert result.exit_code == 0
    assert {r["name"] for r in json.loads(result.stdout)} == {"events", "orders", "orders_daily", "report"}
    result = run("ls", "--select", "zz*[", "--snapshot", str(snap))
    assert result.exit_code == 0 and "no nodes match" in result.stderr
    result = run(
        "impact", "orders", "--max-depth", "99999999999999999999", "--snapshot", str(snap), "--format", "json"
    )
    assert result.exit_code == 0 and len(json.loads(result.stdout)["affected"]) == 2


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["ls", "--select", "*", "--format", "xml"], "'xml' is not one of"),
        (["render", "--format", "gif"], "'gif' is not one of"),
        (["impact", "orders", "--format", "pdf"], "'pdf' is not one of"),
        (["check", "--format", "md"], "'md' is not one of"),
        (["impact", "orders", "--max-depth", "0"], "--max-depth"),
        (["impact", "orders", "--max-depth", "-1"], "--max-depth"),
        (["render", "--max-nodes", "0"], "--max-nodes"),
        (["render", "--max-nodes", "-3"], "--max-nodes"),
        (["render", "--max-nodes", "2", "--format", "dot"], "more than the drawing limit of 2"),
        (["render", "--focus", "nosuch", "--format", "dot"], "'nosuch'"),
        (["render", "--collapse-folder", "No<such>", "--format", "dot"], "'No<such>'"),
        (["render", "--exclude", "*", "--format", "dot"], "nothing to draw"),
        (["impact", "nosuch"], "unknown view or table 'nosuch'"),
        (["impact", ""], "unknown view or table ''"),
        (["impact", "orders_daily", "--column", "nosuch"], "no column 'nosuch'"),
        (["check", "--fail-on", "bogus"], "'bogus'"),
        (["check", "--fail-on", ","], "names no rule"),
        (["check", "--now", "garbage"], "--now 'garbage'"),
        (["check", "--now", "2026-13-45"], "--now '2026-13-45'"),
    ],
)
def test_bad_options_and_names_end_in_one_clean_line(snap: Path, argv: list[str], needle: str) -> None:
    assert_clean_failure(run(*argv, "--snapshot", str(snap)), 2, needle)


def test_check_fail_on_exits_1_not_2(snap: Path, tmp_path: Path) -> None:
    g = small_graph()
    g.add_edge(V[2], V[0])  # a cycle: an error finding
    path = tmp_path / "cycle.json"
    g.save(path)
    result = run("check", "--snapshot", str(path), "--fail-on", "cycle")
    assert_clean_failure(result, 1, "--fail-on rules (cycle)")
    assert "cycle" in result.stdout


# ------------------------------------------------------------------ output paths


def _out_commands(snap: Path) -> dict[str, list[str]]:
    s = str(snap)
    return {
        "render-svg": ["render", "--snapshot", s, "--format", "svg"],
        "render-png": ["render", "--snapshot", s, "--format", "png"],
        "render-html": ["render", "--snapshot", s, "--format", "html"],
        "render-dot": ["render", "--snapshot", s, "--format", "dot"],
        "impact-md": ["impact", "orders", "--snapshot", s],
        "impact-csv": ["impact", "orders", "--snapshot", s, "--format", "csv"],
        "check": ["check", "--snapshot", s],
        "diff": ["diff", s, s],
    }


@pytest.mark.parametrize(
    "which",
    ["render-svg", "render-png", "render-html", "render-dot", "impact-md", "impact-csv", "check", "diff"],
)
def test_out_into_bad_places_is_one_clean_line(snap: Path, tmp_path: Path, which: str) -> None:
    argv = _out_commands(snap)[which]
    a_file = tmp_path / "a_file"
    a_file.write_text("keep me")
    a_dir = tmp_path / "a_dir"
    a_dir.mkdir()
    for out, needle in (
        (str(a_file / "x.out"), "is a file, not a directory"),
        (str(a_dir), "is a directory"),
        ("", "output path is empty"),
    ):
        message = assert_clean_failure(run(*argv, "--out", out), 2, needle)
        assert repr(out) in message or not out
    assert a_file.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_dir", "a_file", "snap.json"]


def test_out_into_a_missing_directory_creates_it(snap: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "impact.md"
    assert run("impact", "orders", "--snapshot", str(snap), "--out", str(out)).exit_code == 0
    assert out.read_text().startswith("# Impact of orders")


def test_unwritable_out_is_one_clean_line(
    snap: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, where chmod cannot make a directory unwritable: fail the way the OS would.
    import tempfile

    def denied(*args: Any, **kwargs: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / ".x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    for argv in _out_commands(snap).values():
        result = run(*argv, "--out", str(tmp_path / "ro" / "x"))
        assert_clean_failure(result, 2, "cannot write", "Permission denied", "writable directory")
    result = run(
        "sim", "fixture", "--from-graph", str(_real_graph(tmp_path)), "--out", str(tmp_path / "ro" / "f")
    )
    assert_clean_failure(result, 2, "cannot write", "Permission denied")


def _real_graph(tmp_path: Path) -> Path:
    path = tmp_path / "graph.json"
    path.write_text(
        json.dumps(
            {
                "nodes": [{"name": "a", "kind": "table"}, {"name": "b", "kind": "view"}],
                "edges": [["a", "b"]],
            }
        )
    )
    return path


def test_out_through_a_symlink_keeps_the_link(snap: Path, tmp_path: Path) -> None:
    real = tmp_path / "real.md"
    real.write_text("old")
    link = tmp_path / "link.md"
    link.symlink_to(real)
    assert run("impact", "orders", "--snapshot", str(snap), "--out", str(link)).exit_code == 0
    assert link.is_symlink()
    assert real.read_text().startswith("# Impact of orders")


def test_out_to_a_pipe_is_written_in_place(snap: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    # daemon: if the pipe were wrongly replaced, the reader would block forever and hang the run
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    result = run("check", "--snapshot", str(snap), "--out", str(fifo))
    reader.join(timeout=5)
    assert result.exit_code == 0
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # not replaced by a regular file
    assert got and b"finding(s) in 4 nodes" in got[0]


def test_rewriting_a_file_keeps_its_permissions_and_new_files_follow_the_umask(tmp_path: Path) -> None:
    kept = tmp_path / "kept.json"
    kept.write_text("{}")
    kept.chmod(0o640)
    write_atomic(kept, "[]")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640 and kept.read_text() == "[]"
    old = os.umask(0o027)
    try:
        fresh = write_atomic(tmp_path / "fresh.json", "x")
    finally:
        os.umask(old)
    # the umask is read once per process: only group/other write may be masked, never 0600 by accident
    mode = stat.S_IMODE(fresh.stat().st_mode)
    assert mode & 0o644 == 0o644 & ~old


# ------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    "host", ["http://[::1", "http://127.0.0.1:99999", "http://127.0.0.1:abc", "http://127.0.0.1:0", "ftp://x"]
)
def test_bad_hosts_are_config_errors(host: str) -> None:
    with pytest.raises(ConfigError, match="host= / POSTHOG_HOST"):
        Settings.resolve(host=host, project="1", api_key="phx_x", env={})
    result = run(
        "crawl", "--all", "--host", host, "--project", "1", "--api-key", "phx_x", "--out", "/dev/null"
    )
    assert_clean_failure(result, 2, "--host / POSTHOG_HOST", host)


def test_plain_http_only_to_real_loopback_addresses() -> None:
    assert (
        is_loopback("http://127.0.0.1:8000")
        and is_loopback("http://[::1]:80")
        and is_loopback("http://localhost")
    )
    for host in ("http://127.evil.example", "http://127.0.0.1.nip.io", "http://localhost.evil.example"):
        assert not is_loopback(host)
        with pytest.raises(ConfigError, match="refusing to send the API key over plain http"):
            Settings.resolve(host=host, project="1", api_key="phx_x", env={}).require_api()


@pytest.mark.parametrize(
    "key", ["phx_a\nsecretTail", "phx_ü_secretTail", 'phx_"secretTail', "phx_a secretTail"]
)
def test_malformed_keys_are_refused_without_quoting_them(key: str) -> None:
    result = run(
        "crawl",
        "--all",
        "--host",
        "http://127.0.0.1:9",
        "--project",
        "1",
        "--api-key",
        key,
        "--out",
        "/dev/null",
    )
    assert_clean_failure(result, 2, "--api-key / POSTHOG_PERSONAL_API_KEY")
    assert "secretTail" not in result.stderr + result.stdout


# ------------------------------------------------------------------ crawl against a simulator

CANARY = "phx_CANARYk3y9Q7xWzLeak"
PLAIN_CANARY = "CanaryNoPrefix7781xyz"  # a key without the phx_ shape: only known-secret redaction hides it


@pytest.fixture
def keyed_server(small_fixture: dict[str, Any]) -> Iterator[Any]:
    from lineage.sim.server import serve_in_thread

    small_fixture["api_keys"] += [
        {"key": CANARY, "scopes": ["*"]},
        {"key": PLAIN_CANARY, "scopes": ["*"]},
    ]
    with serve_in_thread(small_fixture) as handle:
        yield handle


def _crawl(url: str, key: str, out: Path, *extra: str) -> Result:
    return run("crawl", "--all", "--host", url, "--project", "1", "--api-key", key, "--out", str(out), *extra)


def _all_text(result: Result, root: Path, caplog: pytest.LogCaptureFixture) -> str:
    files = [p.read_text("utf-8", "replace") for p in root.rglob("*") if p.is_file()]
    return "\n".join([result.stdout, result.stderr, caplog.text, *files])


@pytest.mark.parametrize("key", [CANARY, PLAIN_CANARY])
def test_key_never_leaks_from_a_crawl_or_a_failed_crawl(
    keyed_server: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lineage.api.retry import Backoff

    monkeypatch.setattr(Backoff, "delay", lambda self, attempt: 0.0)
    caplog.set_level("DEBUG")
    ok = tmp_path / "ok"
    result = _crawl(keyed_server.url, key, ok / "snap.json")
    assert result.exit_code == 0, result.stderr
    assert key not in _all_text(result, ok, caplog)

    wrong = tmp_path / "wrong"
    result = _crawl(keyed_server.url, key + "X", wrong / "snap.json")
    assert_clean_failure(result, 3, "rejected the personal API key")
    assert key not in _all_text(result, wrong, caplog)

    closed = tmp_path / "closed"
    result = _crawl("http://127.0.0.1:9", key, closed / "snap.json")
    assert_clean_failure(result, 3, "connection failed")
    assert key not in _all_text(result, closed, caplog)


def test_crawl_api_failures_exit_3_in_one_line(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lineage.api.retry import Backoff

    monkeypatch.setattr(Backoff, "delay", lambda self, attempt: 0.0)
    out = tmp_path / "snap.json"
    assert_clean_failure(_crawl(sim_server.url, "phx_wrong", out), 3, "POSTHOG_PERSONAL_API_KEY")
    assert_clean_failure(_crawl(sim_server.url, "phx_none", out), 3, "lacks the scope")
    assert_clean_failure(_crawl(sim_server.url, "phx_other", out), 3, "may not access project 1")
    result = run(
        "crawl",
        "--all",
        "--host",
        sim_server.url,
        "--project",
        "999",
        "--api-key",
        "phx_read",
        "--out",
        str(out),
    )
    assert_clean_failure(result, 3, "not found")
    assert not out.exists()


def test_crawl_into_bad_out_paths_is_one_clean_line(sim_server: Any, tmp_path: Path) -> None:
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    (tmp_path / "a_dir").mkdir()
    assert_clean_failure(_crawl(sim_server.url, "phx_read", a_file / "snap.json"), 2, str(a_file))
    assert_clean_failure(_crawl(sim_server.url, "phx_read", tmp_path / "a_dir"), 2, "is a directory")


def test_sim_serve_logs_never_show_keys(tmp_path: Path, small_fixture: dict[str, Any]) -> None:
    small_fixture["api_keys"].append({"key": PLAIN_CANARY, "scopes": ["*"]})
    fixture = tmp_path / "fixture.json"
    fixture.write_text(json.dumps(small_fixture))
    proc = subprocess.Popen(
        [sys.executable, "-m", "lineage", "sim", "serve", "--fixture", str(fixture), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"Listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        url = match.group(1)
        views = "/api/projects/1/warehouse_saved_queries/"
        with httpx.Client(base_url=url, timeout=10) as client:
            assert client.get(views, headers={"Authorization": f"Bearer {PLAIN_CANARY}"}).status_code == 200
            assert client.get(views, params={"personal_api_key": PLAIN_CANARY}).status_code == 200
            assert client.get(views, headers={"Authorization": f"Bearer {PLAIN_CANARY}x"}).status_code == 401
            assert client.get(views + "?personal_api_key=" + CANARY).status_code == 401
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert PLAIN_CANARY not in line + out + err
    assert CANARY not in line + out + err


# ------------------------------------------------------------------ the last line of defence


def test_unexpected_exceptions_are_one_redacted_line(monkeypatch: pytest.MonkeyPatch) -> None:
    Settings.resolve(api_key="Sup3rSecretKeyValue", env={})  # registers it as a known secret

    @click.command()
    @clean_errors
    def boom() -> None:
        raise ValueError("bad thing with Sup3rSecretKeyValue and phx_abc123\nsecond line")

    monkeypatch.delenv("LINEAGE_DEBUG", raising=False)
    result = CliRunner().invoke(boom, [])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "internal error (ValueError: bad thing with [redacted] and phx_[redacted])" in result.stderr
    assert "Sup3rSecretKeyValue" not in result.stderr and "phx_abc123" not in result.stderr
    monkeypatch.setenv("LINEAGE_DEBUG", "1")
    assert isinstance(CliRunner().invoke(boom, []).exception, ValueError)


def test_file_errors_name_the_file_and_network_errors_exit_3() -> None:
    @click.command()
    @click.argument("what")
    @clean_errors
    def fail(what: str) -> None:
        if what == "file":
            raise PermissionError(13, "Permission denied", "/somewhere/journal.jsonl")
        raise ConnectionRefusedError(111, "Connection refused")

    result = CliRunner().invoke(fail, ["file"])
    assert (
        result.exit_code == 2 and "cannot use '/somewhere/journal.jsonl': Permission denied" in result.stderr
    )
    result = CliRunner().invoke(fail, ["net"])
    assert result.exit_code == 3 and "network failure" in result.stderr


def test_error_messages_cannot_drive_the_terminal(snap: Path) -> None:
    result = run("impact", "evil\x1b[2J\u202ename", "--snapshot", str(snap))
    assert_clean_failure(result, 2)
    assert "\x1b" not in result.stderr and "\u202e" not in result.stderr


# ------------------------------------------------------------------ hostile text in every format


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.handlers += [name for name, _ in attrs if name.startswith("on")]


_TERMINAL_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _outputs(path: Path) -> dict[str, str]:
    s = str(path)
    runs = {
        "ls-text": ["ls", "--select", "*", "--snapshot", s],
        "ls-csv": ["ls", "--select", "*", "--snapshot", s, "--format", "csv"],
        "ls-json": ["ls", "--select", "*", "--snapshot", s, "--format", "json"],
        "check-text": ["check", "--snapshot", s],
        "check-json": ["check", "--snapshot", s, "--format", "json"],
        "render-svg": ["render", "--snapshot", s, "--format", "svg"],
        "render-dot": ["render", "--snapshot", s, "--format", "dot"],
        "render-mermaid": ["render", "--snapshot", s, "--format", "mermaid"],
        "render-html": ["render", "--snapshot", s, "--format", "html"],
        "render-collapsed": [
            "render",
            "--snapshot",
            s,
            "--format",
            "svg",
            "--collapse-folder",
            f"F1{EVIL[1]}",
        ],
    }
    for fmt in ("md", "csv", "json", "html", "table"):
        runs[f"impact-{fmt}"] = ["impact", "events", "--snapshot", s, "--format", fmt]
        runs[f"column-{fmt}"] = ["impact", V[0], "--column", "id", "--snapshot", s, "--format", fmt]
    texts = {}
    for name, argv in runs.items():
        result = run(*argv)
        assert result.exit_code == 0, (name, result.stderr)
        texts[name] = result.stdout
    return texts


def test_hostile_names_cannot_inject_into_any_format(hostile: Path, tmp_path: Path) -> None:
    texts = _outputs(hostile)
    empty = tmp_path / "empty.json"
    LineageGraph(crawled_at="2026-01-01T00:00:00Z").save(empty)
    for fmt in ("md", "json"):
        for old, new in ((empty, hostile), (hostile, empty)):
            result = run("diff", str(old), str(new), "--format", fmt)
            assert result.exit_code == 0
            texts[f"diff-{fmt}-{old.stem}"] = result.stdout

    for name, text in texts.items():
        if not name.endswith("json") and "json" not in name:
            assert not _TERMINAL_UNSAFE.search(text), (name, _TERMINAL_UNSAFE.search(text))
        else:
            json.loads(text)
        if name.startswith(("render-svg", "render-collapsed")):
            root = ET.fromstring(text.encode())  # noqa: S314 - our own output, parsed to inspect it
            tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
            assert not tags & {"script", "foreignObject", "iframe", "img"}, name
            assert not [a for el in root.iter() for a in el.attrib if a.lower().startswith("on")], name
        if name.endswith("html"):
            parser = _Tags()
            parser.feed(text)
            assert parser.tags["img"] == 0 and parser.handlers == [], name
            assert parser.tags["script"] == (2 if name == "render-html" else 0), name
            assert "<script>alert" not in text and "<img" not in text, name
        if name.endswith("csv"):
            rows = list(csv.reader(io.StringIO(text)))
            assert len({len(r) for r in rows}) == 1, name
            for cell in (c for r in rows for c in r):
                assert not (cell[:1] in ("=", "+", "@", "\t", "\r") and cell), (name, cell)
                assert not cell.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", cell), (name, cell)
        if name.endswith("md") or name.startswith("diff-md"):
            _assert_markdown_tables_hold(name, text)
    dot = subprocess.run(
        ["dot", "-Tsvg"], input=texts["render-dot"].encode(), capture_output=True, check=False
    )
    assert dot.returncode == 0, dot.stderr
    assert texts["render-dot"].count(" -> ") == len(EVIL) + 0  # every edge, none injected


def _assert_markdown_tables_hold(name: str, text: str) -> None:
    width = None
    for line in text.split("\n"):
        if line.startswith("|"):
            pipes = len(re.findall(r"(?<!\\)\|", line))
            width = width or pipes
            assert pipes == width, (name, line[:120])
        else:
            width = None
    assert "<script" not in text and "<img" not in text, name


def test_markdown_code_fences_cannot_be_closed_by_sql(tmp_path: Path) -> None:
    old, new = small_graph(), small_graph()
    new.node(V[2])["sql"] = "SELECT 1\n```\n# injected heading\n````\n\x1b[2J"
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    old.save(a)
    new.save(b)
    text = run("diff", str(a), str(b)).stdout
    fence = re.search(r"^(`{5,})diff$", text, re.M)
    assert fence, text
    assert "\x1b" not in text and "\\x1b[2J" in text


def test_visible_is_a_no_op_on_ordinary_text() -> None:
    text = "Ümlaut 日本 emoji 😀 tab\tnewline\n quotes \"'` <>&"
    assert visible(text) == text


# ------------------------------------------------------------------ determinism


def test_every_output_is_byte_identical_across_runs(hostile: Path, snap: Path, tmp_path: Path) -> None:
    first, second = _outputs(hostile), _outputs(hostile)
    assert first == second
    for fmt in ("png", "pdf"):
        outs = [tmp_path / f"{i}.{fmt}" for i in (1, 2)]
        for out in outs:
            assert run("render", "--snapshot", str(snap), "--format", fmt, "--out", str(out)).exit_code == 0
        assert outs[0].read_bytes() == outs[1].read_bytes(), fmt
    pdf = (tmp_path / "1.pdf").read_bytes()
    assert b"/CreationDate (D:20261126000000Z)" in pdf


def test_snapshot_save_load_save_is_identical(hostile: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.json"
    LineageGraph.load(hostile).save(again)
    assert again.read_bytes() == hostile.read_bytes()
    third = tmp_path / "third.json"
    LineageGraph.load(again).save(third)
    assert third.read_bytes() == again.read_bytes()


def test_refused_keys_raise_config_error_not_input_error() -> None:
    with pytest.raises(ConfigError) as info:
        Settings.resolve(api_key="phx_\x00nul", env={})
    assert not isinstance(info.value, InputError)
    assert "\x00" not in str(info.value)
