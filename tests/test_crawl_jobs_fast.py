"""The job listing's rows are compacted straight from the row (lineage.crawl.jobs): the result must be
exactly ``compact_job(Job.from_api(row))``, timestamps in any form included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lineage.api import Job
from lineage.api.models import parse_datetime
from lineage.crawl.jobs import _iso_of, _moment, compact_job, compact_row, group_jobs, job_summary
from lineage.crawl.state import iso

STAMPS: list[Any] = [
    "2026-11-25T03:35:34Z",
    "2026-11-25T03:35:34.123456Z",
    "2026-11-25T03:35:34.000000Z",  # a zero fraction: iso writes none
    "2026-11-25T03:35:34.1234567Z",  # seven digits
    "2026-11-25T03:35:34+02:00",
    "2026-11-25 03:35:34",
    "2026-02-30T03:35:34Z",  # no such day
    "2026-11-25T24:00:00Z",
    "0000-01-01T00:00:00Z",
    "2026-11-25T03:35:34z",
    " 2026-11-25T03:35:34Z",
    "\u0662026-11-25T03:35:34Z",  # a non-ASCII digit
    "",
    None,
    5,
    "garbage",
]


@pytest.mark.parametrize("stamp", STAMPS)
def test_iso_of_and_moment_match_the_round_trip(stamp: Any) -> None:
    assert _iso_of(stamp) == iso(parse_datetime(stamp))
    assert _moment(stamp) == parse_datetime(stamp)
    if _moment(stamp) is not None:
        assert _moment(stamp).utcoffset() == timedelta(0)  # type: ignore[union-attr]


def _rows() -> list[Any]:
    rows: list[Any] = []
    for i, stamp in enumerate(STAMPS):
        for status in ("Completed", "Running", "Failed", None, 3):
            rows.append(
                {
                    "id": f"job-{i}",
                    "saved_query_id": "v1" if i % 3 else None,
                    "data_modeling_view_id": "v2",
                    "status": status,
                    "rows_materialized": ["12", 12, 12.0, True, None][i % 5],
                    "error": [None, "boom", 7][i % 3],
                    "created_at": stamp,
                    "last_run_at": STAMPS[-1 - i],
                    "updated_at": stamp,
                    "run_mode": ["incremental", None, ""][i % 3],
                    "full_refresh_reason": [None, "schema changed"][i % 2],
                }
            )
        for status in ("Completed", "Running"):  # updated_at the same as last_run_at (most jobs)
            rows.append({"id": f"same-{i}", "status": status, "last_run_at": stamp, "updated_at": stamp})
    rows.append({"id": 42, "saved_query_id": "v1", "status": "Completed"})  # an integer id
    return rows


def test_compact_row_is_compact_job_of_from_api() -> None:
    for row in _rows():
        record = Job.from_api(row)
        view, job = compact_row(row)
        assert view == record.saved_query_id
        assert job == compact_job(record)
        assert list(job) == list(compact_job(record)) == sorted(job)  # the snapshot's key order


def test_compact_row_refuses_what_from_api_refuses() -> None:
    from lineage.errors import ProtocolError

    for bad in ({"status": "Completed"}, {"id": ""}, ["not", "an", "object"]):
        with pytest.raises(ProtocolError):
            compact_row(bad)


def test_group_jobs_and_summary_unchanged() -> None:
    rows = _rows()
    since = datetime(2000, 1, 1, tzinfo=UTC)
    grouped = group_jobs(rows, [], wanted={"v1", "v2"}, since=since)
    expected: dict[str, dict[str, Any]] = {}
    for row in rows:
        record = Job.from_api(row)
        if record.saved_query_id in {"v1", "v2"}:
            expected.setdefault(record.saved_query_id, {})[record.id] = compact_job(record)
    assert grouped == {k: list(v.values()) for k, v in expected.items()}


def test_summary_durations_from_canonical_and_other_stamps() -> None:
    jobs = [
        {
            "id": "a",
            "status": "Completed",
            "created_at": "2026-11-25T03:00:00Z",
            "finished_at": "2026-11-25T03:00:10.500000Z",
        },
        {
            "id": "b",
            "status": "Failed",
            "created_at": "2026-11-24T03:00:00+01:00",
            "last_run_at": "2026-11-24T02:00:20Z",
        },
        {
            "id": "c",
            "status": "Completed",
            "created_at": "2026-02-30T03:00:00Z",
            "finished_at": "2026-03-01T03:00:00Z",
        },
    ]
    summary = job_summary(jobs)
    assert summary["median_duration_s"] == 15.25  # 10.5 s and 20 s; the impossible day is skipped
