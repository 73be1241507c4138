"""The simulator over real loopback HTTP: golden cases, server lifecycle, faults and the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TEAM_ID, VIEW_IDS, make_small_fixture
from test_sim_http import GOLDEN, SQ, Req

from lineage.devdata import real_graphs_dir
from lineage.sim.faults import FaultConfig
from lineage.sim.server import ServerHandle, serve_in_thread

pytestmark = pytest.mark.loopback

ROOT = Path(__file__).resolve().parents[1]
GRAPHS = real_graphs_dir()


def http_req(client: httpx.Client) -> Req:
    def req(
        method: str,
        path: str,
        *,
        key: str | None = "phx_write",
        json_body: Any = None,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        kwargs: dict[str, Any] = {"params": params, "headers": sent}
        if json_body is not None:
            kwargs["json"] = json_body
        elif content is not None:
            kwargs["content"] = content
        return client.request(method, path, **kwargs)

    return req


@pytest.mark.parametrize("case", GOLDEN, ids=lambda f: f.__name__)
def test_golden_case_over_loopback(sim_server: ServerHandle, case: Callable[[Req], None]) -> None:
    with httpx.Client(base_url=sim_server.url, timeout=10) as client:
        case(http_req(client))


def test_server_handle_basics(sim_server: ServerHandle) -> None:
    assert sim_server.url.startswith("http://127.0.0.1:")
    with httpx.Client(base_url=sim_server.url, timeout=10) as client:
        r = client.get(f"{SQ}/", headers={"Authorization": "Bearer phx_read"})
        assert r.status_code == 200 and r.json()["count"] == len(VIEW_IDS)
        # absolute links name the real host and port
        assert client.get("/_sim/stats").json()["total"] == 1
    assert sim_server.stats()["by_route"] == {"GET /api/projects/{team_id}/warehouse_saved_queries/": 1}


def test_start_fast_stop_clean_no_leaked_threads() -> None:
    before = set(threading.enumerate())
    start = time.perf_counter()
    handle = serve_in_thread(make_small_fixture(), era="e2")
    started = time.perf_counter() - start
    port = handle.port
    with socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    stop_start = time.perf_counter()
    handle.stop()
    handle.stop()  # idempotent
    stopped = time.perf_counter() - stop_start
    assert started < 1.0, started
    assert stopped < 2.0, stopped
    assert set(threading.enumerate()) <= before
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_stop_while_a_request_stalls() -> None:
    faults = FaultConfig(stall_rate=1.0, stall_seconds=30)
    with (
        serve_in_thread(make_small_fixture(), era="e2", faults=faults) as server,
        httpx.Client(timeout=0.3) as client,
    ):
        with pytest.raises(httpx.TimeoutException):
            client.get(f"{server.url}{SQ}/", headers={"Authorization": "Bearer phx_read"})
        assert client.get(f"{server.url}/_sim/stats").json()["errors_injected"] == 1
        began = time.perf_counter()
    assert time.perf_counter() - began < 3.0


def test_truncated_body_and_5xx_over_the_wire() -> None:
    faults = FaultConfig(seed=5, truncate_rate=1.0)
    with (
        serve_in_thread(make_small_fixture(), era="e2", faults=faults) as server,
        httpx.Client(timeout=5) as client,
    ):
        r = client.get(f"{server.url}{SQ}/", headers={"Authorization": "Bearer phx_read"})
        assert r.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.content)
        client.post(f"{server.url}/_sim/faults", json={"truncate_rate": 0, "error_rate": 1})
        codes = {
            client.get(f"{server.url}{SQ}/", headers={"Authorization": "Bearer phx_read"}).status_code
            for _ in range(20)
        }
        assert codes == {500, 502, 503}


def test_two_servers_side_by_side() -> None:
    with (
        serve_in_thread(make_small_fixture(), era="e2") as a,
        serve_in_thread(make_small_fixture(), era="e3") as b,
    ):
        assert a.port != b.port
        headers = {"Authorization": "Bearer phx_read"}
        path = f"{SQ}/{VIEW_IDS['orders']}/ancestors/"
        assert httpx.post(a.url + path, headers=headers).status_code == 200
        assert httpx.post(b.url + path, headers=headers).status_code == 403  # E3 closes it to keys


def _write_fixture(tmp_path: Path) -> Path:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(make_small_fixture()), encoding="utf-8")
    return path


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lineage", *args]


def test_cli_serve_prints_one_line_and_answers_raw_http(tmp_path: Path) -> None:
    fixture = _write_fixture(tmp_path)
    proc = subprocess.Popen(
        _cli("sim", "serve", "--fixture", str(fixture), "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Listening on http://127.0.0.1:"), line
        port = int(line.strip().rsplit(":", 1)[1])
        assert port > 0
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            request = (
                f"GET /api/projects/{TEAM_ID}/warehouse_saved_queries/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nAuthorization: Bearer phx_read\r\nConnection: close\r\n\r\n"
            )
            sock.sendall(request.encode())
            raw = b""
            while chunk := sock.recv(65536):
                raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert b"content-type: application/json" in head.lower()
        assert json.loads(body)["count"] == len(VIEW_IDS)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out == ""  # exactly one line was printed
    assert "Traceback" not in err
    assert "phx_read" not in out + err


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "does not exist"), ("{not json", "not valid JSON"), ('{"format": "other"}', "fixture")],
)
def test_cli_serve_bad_fixture(tmp_path: Path, content: str | None, needle: str) -> None:
    path = tmp_path / "bad.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    done = subprocess.run(
        _cli("sim", "serve", "--fixture", str(path), "--port", "0"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr
    assert done.stdout == ""


def test_cli_fixture_from_graph_is_deterministic(tmp_path: Path) -> None:
    graph = GRAPHS / "dbt_jaffle_shop.json"
    out = tmp_path / "jaffle.json"
    first = subprocess.run(
        _cli("sim", "fixture", "--from-graph", str(graph), "--seed", "3", "--out", str(out)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert first.returncode == 0, first.stderr
    again = subprocess.run(
        _cli("sim", "fixture", "--from-graph", str(graph), "--seed", "3"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert again.returncode == 0
    assert json.loads(again.stdout) == json.loads(out.read_text(encoding="utf-8"))
    document = json.loads(again.stdout)
    assert document["format"] == "lineage-sim-fixture/1"
    with serve_in_thread(document, era="e2") as server:
        listing = httpx.get(
            f"{server.url}/api/projects/@current/warehouse_saved_queries/",
            headers={"Authorization": f"Bearer {document['api_keys'][0]['key']}"},
        )
        assert listing.status_code == 200
        assert listing.json()["count"] == 5  # jaffle_shop has five views
    missing = subprocess.run(
        _cli("sim", "fixture", "--from-graph", str(tmp_path / "nope.json")),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
