"""Two lineage runs on one --out or one journal: the second is refused (exit 2) naming the first
process; a lock left by a killed run blocks nobody."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from lineage.cli import main
from lineage.crawl import default_journal
from lineage.io import FileLock
from lineage.sim.faults import FaultConfig
from lineage.sim.server import serve_in_thread

KEY = "phx_read"


def env_for(url: str) -> dict[str, str]:
    return {**os.environ, "POSTHOG_HOST": url, "POSTHOG_PROJECT_ID": "1", "POSTHOG_PERSONAL_API_KEY": KEY}


def crawl_args(out: Path, *extra: str) -> list[str]:
    return ["crawl", "--edges", "api", "--no-progress", "--out", str(out), *extra]


def wait_for(path: Path, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_second_crawl_on_one_out_is_refused_naming_the_first(
    small_fixture: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "snap.json"
    slow = FaultConfig(latency_ms=1500)  # the first crawl is slow until the second one has run
    with serve_in_thread(small_fixture, era="e2", faults=slow, rate_limit=False) as sim:
        first = subprocess.Popen(
            [sys.executable, "-m", "lineage", *crawl_args(out, "--concurrency", "1")],
            env=env_for(sim.url),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(tmp_path / ".snap.json.lock")
            second = subprocess.run(
                [sys.executable, "-m", "lineage", *crawl_args(out)],
                env=env_for(sim.url),
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert first.poll() is None, "the first crawl ended before the second began"
            sim.sim.faults.reconfigure({"latency_ms": 0})
            out_first, err_first = first.communicate(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
    assert second.returncode == 2, second.stderr
    assert f"in use by process {first.pid}" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    assert first.returncode == 0, err_first
    assert out.exists() and f"wrote {out}" in out_first
    assert not (tmp_path / ".snap.json.lock").exists()


def test_second_resume_of_one_journal_is_refused(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    # the other run holds the journal (another --out, same --journal path: its lock file is beside it)
    out = tmp_path / "snap.json"
    journal = default_journal(out)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from lineage.io import FileLock; "
            "FileLock(sys.argv[1], what='j').acquire(); print('held', flush=True); time.sleep(30)",
            str(journal),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with serve_in_thread(small_fixture, era="e2", rate_limit=False) as sim:
            result = CliRunner().invoke(main, crawl_args(out, "--resume"), env=env_for(sim.url))
            requests = sim.stats()
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"the crawl journal {journal} is in use by process {holder.pid}" in result.output
    assert requests["total"] == 0  # refused before any request was spent
    assert not out.exists()


def test_lock_of_a_killed_run_blocks_nobody(small_fixture: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "snap.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from lineage.io import FileLock; "
            "FileLock(sys.argv[1], what='--out').acquire(); print('held', flush=True); time.sleep(30)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert (tmp_path / ".snap.json.lock").exists()  # left behind by the kill, but not held
    with serve_in_thread(small_fixture, era="e2", rate_limit=False) as sim:
        result = CliRunner().invoke(main, crawl_args(out), env=env_for(sim.url))
    assert result.exit_code == 0, result.output
    assert out.exists() and not (tmp_path / ".snap.json.lock").exists()


def test_lock_in_one_process_refuses_a_second_holder(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    with FileLock(target, what="--out"):
        second = FileLock(target, what="--out")
        try:
            second.acquire()
            raise AssertionError("a second holder got the lock")
        except Exception as exc:  # InputError
            assert f"in use by process {os.getpid()}" in str(exc)
    with FileLock(target, what="--out"):
        pass
