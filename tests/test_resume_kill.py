"""kill -9 at every journal boundary, with a skewed local clock, then --resume: the snapshot equals
an uninterrupted crawl's. And a journal holding another crawl's records is refused, line by line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from lineage.crawl.journal import Journal, crawl_id
from lineage.errors import InputError

HERE = Path(__file__).parent


@pytest.mark.parametrize("edges", ["api", "system"])
def test_kill_at_every_journal_boundary_then_resume_equals_uninterrupted(edges: str, tmp_path: Path) -> None:
    # the local clock runs 20 days ahead of the simulator's: the interrupted crawl used to measure
    # the jobs window and crawled_at (so health and staleness) on it after a resume
    done = subprocess.run(
        [sys.executable, str(HERE / "crash_resume.py"), str(tmp_path), edges, "20"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["boundaries"] >= (8 if edges == "api" else 4)
    for result in report["results"]:
        assert result["sigkill"] and result["journal_left"] and result["resumed_ok"], result
        assert result["differences"] == [], result
        # the resumed crawl removed its journal and released (removed) its locks
        assert result["leftovers"] == [], result


IDENTITY_A = {"host": "http://a", "project": "1", "strategy": "all"}
IDENTITY_B = {"host": "http://b", "project": "1", "strategy": "all"}


def test_records_of_another_crawl_anywhere_in_the_journal_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    first = Journal(path, resume=False, identity=IDENTITY_B)
    first.put("views", [{"id": "b1"}])
    first.close(remove=False)
    # crawl A's records slipped in after B's identity line (two crawls on one journal before locks)
    with path.open("a") as fh:
        fh.write(json.dumps({"c": crawl_id(IDENTITY_A), "k": "anc1:x", "v": ["a-only"]}) + "\n")
    with pytest.raises(InputError, match="holds records of another crawl"):
        Journal(path, resume=True, identity=IDENTITY_B)


def test_an_older_identity_line_is_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    lines = [
        {"k": "__crawl__", "v": IDENTITY_A},
        {"k": "views", "v": []},
        {"k": "__crawl__", "v": IDENTITY_B},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(InputError, match=r"another crawl .*host differ"):
        Journal(path, resume=True, identity=IDENTITY_B)


def test_nul_bytes_and_a_torn_line_are_skipped_and_the_clock_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    me = crawl_id(IDENTITY_A)
    good = {"c": me, "k": "views", "v": [1], "t": "2026-11-26T00:00:05+00:00"}
    later = {"c": me, "k": "tables", "v": [], "t": "2026-11-26T00:00:09+00:00"}
    path.write_bytes(
        b"\x00" * 64 + json.dumps(good).encode() + b"\n" + json.dumps(later).encode() + b"\n" + b'{"c": "'
    )
    journal = Journal(path, resume=True, identity=IDENTITY_A)
    try:
        assert journal.get("views") == (True, [1]) and journal.get("tables") == (True, [])
        assert journal.resumed == 2
        assert journal.server_time is not None and journal.server_time.isoformat() == later["t"]
    finally:
        journal.close(remove=False)
    # the torn line was ended, so the identity line appended after it reads whole
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and json.loads(lines[-1])["k"] == "__crawl__"


def test_a_journal_that_cannot_be_written_names_itself(tmp_path: Path) -> None:
    import errno

    path = tmp_path / "j.jsonl"
    journal = Journal(path, resume=False, identity=IDENTITY_A)

    def full(*_: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    journal._fh.flush = full
    try:
        with pytest.raises(InputError) as info:
            journal.put("views", [])
    finally:
        journal._fh = None
        journal.close(remove=True)
    assert str(path) in str(info.value) and "No space left on device" in str(info.value)
