"""A system crawl works while the server does: the views' SQL is parsed while the job listing is on
its way, not after it (at 20,000 views that listing is the slowest query and the parsing the crawl's
largest piece of work)."""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import pickle
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lineage.aio import sliced
from lineage.api import SavedQuery
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async, crawler
from lineage.crawl.system import system_view_record, view_sql
from lineage.hogql import cache
from lineage.sim.app import create_app
from lineage.sim.state import Warehouse


def test_sliced_lets_other_tasks_run_during_cpu_work() -> None:
    turns = 0

    async def ticker(stop: asyncio.Event) -> None:
        nonlocal turns
        while not stop.is_set():
            turns += 1
            await asyncio.sleep(0)

    async def work(slice_s: float | None) -> list[int]:
        stop = asyncio.Event()
        task = asyncio.ensure_future(ticker(stop))
        await asyncio.sleep(0)
        seen, out = turns, []
        items = range(400)
        source = items if slice_s is None else sliced(items, slice_s)
        if slice_s is None:
            for i in source:  # type: ignore[union-attr]
                _busy(0.0002)
                out.append(i)
        else:
            async for i in source:  # type: ignore[union-attr]
                _busy(0.0002)
                out.append(i)
        during = turns - seen
        stop.set()
        await task
        out.append(during)
        return out

    plain = asyncio.run(work(None))
    assert plain[:-1] == list(range(400)) and plain[-1] == 0  # a plain loop starves the others
    shared = asyncio.run(work(0.002))
    assert shared[:-1] == list(range(400))  # every item, in order
    assert shared[-1] >= 10  # ~80 ms of work in 2 ms slices: the other task ran all along


def _busy(seconds: float) -> None:
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


@pytest.mark.parametrize(
    "query",
    [
        json.dumps({"kind": "HogQLQuery", "query": "SELECT 1 FROM events"}),
        {"kind": "HogQLQuery", "query": "SELECT a FROM b"},
        "SELECT plain FROM text",
        "{not json",
        json.dumps({"kind": "HogQLQuery"}),
        json.dumps({"query": 12}),
        json.dumps("SELECT quoted"),
        json.dumps(json.dumps({"query": "SELECT twice"})),  # a JSON string holding JSON: read once
        "",
        None,
        7,
        json.dumps([1, 2]),
    ],
)
def test_view_sql_reads_what_saved_query_reads(query: Any) -> None:
    row = {"id": "0b7a4f8e-0000-4000-8000-000000000001", "name": "v", "query": query, "deleted": False}
    fresh = dict(row)
    assert view_sql(row) == SavedQuery.from_api(system_view_record(fresh, {})).sql
    # the query column may be left parsed: the record made of the row afterwards is the same
    assert system_view_record(row, {}) == system_view_record(fresh, {})


class _Log(httpx.AsyncBaseTransport):
    """Records when each query goes out and comes back; holds the job listing's answer a little."""

    def __init__(self, inner: httpx.AsyncBaseTransport, events: list[str]) -> None:
        self.inner, self.events = inner, events

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        what = next((w for w in ("jobs", "views") if f"data_modeling_{w}" in body), "other")
        self.events.append(f"send {what}")
        if what == "jobs":
            await asyncio.sleep(0.05)
        response = await self.inner.handle_async_request(request)
        self.events.append(f"got {what}")
        return response


def test_sql_is_parsed_while_the_job_listing_is_on_its_way(
    small_fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    class Recording(cache.TableCache):
        def __call__(self, sql: str) -> list[str]:
            events.append("parse")
            return super().__call__(sql)

    recording = Recording(None)
    monkeypatch.setattr(cache, "shared", lambda: recording)
    wh = Warehouse(small_fixture)
    transport = _Log(httpx.ASGITransport(app=create_app(wh, rate_limit=False)), events)
    settings = Settings.resolve(host="http://127.0.0.1:1", project=str(wh.team_id), api_key="phx_all", env={})
    options = CrawlOptions(strategy="all", edges="system", consumers=False)
    result = asyncio.run(crawl_async(settings, options, transport=transport))
    assert result.graph.nx.number_of_edges() > 0
    first_parse = events.index("parse")
    assert events.index("got views") < events.index("send jobs") < first_parse < events.index("got jobs")


def test_attributes_made_while_the_jobs_come_equal_those_made_after(
    small_fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineage.crawl.sources.system as system_source

    made: list[int] = []
    prepare = system_source.SystemSource._prepare_attrs

    async def counting(self: system_source.SystemSource) -> None:
        await prepare(self)
        made.append(len(self.session.state.ready_attrs))

    monkeypatch.setattr(system_source.SystemSource, "_prepare_attrs", counting)
    graphs = []
    for delay in (True, False):
        wh = Warehouse(small_fixture)
        inner = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
        transport: httpx.AsyncBaseTransport = _Log(inner, []) if delay else inner
        project = str(wh.team_id)
        settings = Settings.resolve(host="http://127.0.0.1:1", project=project, api_key="phx_all", env={})
        options = CrawlOptions(strategy="all", edges="system", consumers=False)
        graph = asyncio.run(crawl_async(settings, options, transport=transport)).graph
        graphs.append((sorted(graph.nx.nodes(data=True)), sorted(graph.nx.edges)))
    assert made and made[0] > 0  # with the jobs held back, the attributes were made ahead
    assert graphs[0] == graphs[1]


def _system_crawl_nodes(fixture: dict[str, Any]) -> list[Any]:
    """A system crawl of ``fixture`` through the in-process simulator: its nodes, sorted."""
    wh = Warehouse(fixture)
    inner = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
    project = str(wh.team_id)
    settings = Settings.resolve(host="http://127.0.0.1:1", project=project, api_key="phx_all", env={})
    options = CrawlOptions(strategy="all", edges="system", consumers=False)
    graph = asyncio.run(crawl_async(settings, options, transport=inner)).graph
    return sorted(graph.nx.nodes(data=True))


def test_job_rows_made_into_records_as_they_come_give_the_same_jobs(
    small_fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import lineage.crawl.sources.system as system_source

    def crawl() -> list[Any]:
        return _system_crawl_nodes(small_fixture)

    calls: list[str] = []
    real = system_source.compact_row

    def counted(row: Any) -> Any:
        calls.append(row["id"])
        return real(row)

    monkeypatch.setattr(system_source, "compact_row", counted)
    as_they_come = crawl()
    assert len(calls) == len(set(calls)) > 0  # each listing row once, as it came
    monkeypatch.setattr(system_source, "compact_row", real)

    async def from_rest(self: system_source.SystemSource) -> None:
        # the jobs as the REST listing gives them, its rows kept and compacted when grouped
        await self.session.fetch_jobs()
        assert self.session.state.job_listing and self.session.state.job_compacted is None

    monkeypatch.setattr(system_source.SystemSource, "_job_listing", from_rest)
    assert crawl() == as_they_come
    assert any(attrs.get("jobs", {}).get("runs") for _, attrs in as_they_come)


def test_a_resumed_system_crawl_takes_the_journaled_job_records(
    small_fixture: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal holds the job listing as its records ([view, record] pairs once read back): a
    resumed crawl asks for it no more, and makes the same snapshot."""
    wh = Warehouse(small_fixture)
    project = str(wh.team_id)
    settings = Settings.resolve(host="http://127.0.0.1:1", project=project, api_key="phx_all", env={})
    journal = tmp_path / "crawl.journal.jsonl"
    options = CrawlOptions(strategy="all", edges="system", consumers=False, journal=journal)
    inner = httpx.ASGITransport(app=create_app(wh, rate_limit=False))
    first = asyncio.run(crawl_async(settings, options, transport=inner))
    assert not journal.exists()  # a finished crawl removes its journal; one cut short keeps it
    queries: list[str] = []

    class Cut(BaseException):
        """Stands for a kill once every answer is in: not an Exception, so nothing retries it."""

    class Recording(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.ASGITransport(app=create_app(wh, rate_limit=False))

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            queries.append(request.content.decode())
            return await self.inner.handle_async_request(request)

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise Cut

    with monkeypatch.context() as patch:
        patch.setattr(crawler, "build_graph", killed)
        with pytest.raises(Cut):
            asyncio.run(crawl_async(settings, options, transport=Recording()))
    assert any("data_modeling_jobs" in q for q in queries)
    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    records = [line["v"] for line in lines if line.get("k") == "sys:jobs-compact"]
    assert len(records) == 1 and records[0] and all(len(pair) == 2 for pair in records[0])
    assert not any(line.get("k") == "sys:jobs" for line in lines)  # no raw rows journaled
    queries.clear()
    resumed = asyncio.run(crawl_async(settings, replace(options, resume=True), transport=Recording()))
    assert not any("data_modeling_jobs" in q for q in queries)
    assert sorted(resumed.graph.nx.nodes(data=True)) == sorted(first.graph.nx.nodes(data=True))


def test_jobs_summarised_while_the_sql_is_parsed_give_the_same_graph(
    small_fixture: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With SQL still to parse once the jobs are in (a first crawl's worker at work), the jobs are
    grouped and summarised first; the snapshot is the one a crawl summarising them later makes."""
    import lineage.crawl.sources.system as system_source
    from lineage.hogql import workers

    def crawl() -> list[Any]:
        return _system_crawl_nodes(small_fixture)

    monkeypatch.setattr(cache, "shared", lambda: cache.TableCache(None))
    later = crawl()
    summarised: list[int] = []
    real = system_source.SystemSource._summarise_jobs

    async def counting(self: system_source.SystemSource) -> None:
        await real(self)
        summarised.append(len(self.session.state.job_summaries))

    async def wait_for_the_jobs(self: workers.Parsing, until: Any) -> None:
        while not until():  # parse nothing until the jobs are in: SQL is left, as with a busy worker
            await asyncio.sleep(0.001)

    monkeypatch.setattr(system_source.SystemSource, "_summarise_jobs", counting)
    monkeypatch.setattr(workers.Parsing, "parse_some", wait_for_the_jobs)
    early = crawl()
    assert summarised and summarised[0] > 0
    assert early == later
    assert any(attrs.get("jobs", {}).get("runs") for _, attrs in early)


def test_a_view_read_without_its_record_has_the_same_fields() -> None:
    record = {
        "id": "0b7a4f8e-0000-4000-8000-000000000001",
        "name": "v",
        "query": {"kind": "HogQLQuery", "query": "SELECT a FROM b"},
        "columns": [{"name": "a", "type": "String", "key": "a"}, "b", {"no": "name"}],
        "is_materialized": True,
        "created_by": {"id": 1, "first_name": "Ada"},
    }
    kept, bare = SavedQuery.from_api(record), SavedQuery.from_api(record, keep_raw=False)
    assert kept.raw == record and [c.raw for c in kept.columns] == [record["columns"][0], {"name": "b"}]
    assert bare.raw == {} and all(c.raw == {} for c in bare.columns)
    fields = [f.name for f in dataclasses.fields(SavedQuery) if f.name not in ("raw", "columns")]
    assert [getattr(bare, f) for f in fields] == [getattr(kept, f) for f in fields]
    assert [(c.name, c.type, c.key) for c in bare.columns] == [(c.name, c.type, c.key) for c in kept.columns]
    # an empty raw that copies, pickles and compares as {} (a mappingproxy would not pickle)
    assert copy.deepcopy(bare) == bare == pickle.loads(pickle.dumps(bare))  # noqa: S301 (our own bytes)
    assert dataclasses.asdict(bare)["raw"] == {} and bare.columns[0].raw == {}


_FIELD = st.one_of(st.none(), st.booleans(), st.integers(0, 2), st.sampled_from(["", "a", "1", "True", "id"]))


@given(
    st.lists(
        st.one_of(st.dictionaries(st.sampled_from(["name", "type", "key", "schema_valid"]), _FIELD), _FIELD)
    )
)
def test_columns_read_without_their_records_are_the_columns_read_one_by_one(columns: list[Any]) -> None:
    # the shared instances (one per set of field values) never stand for another column: 1 and
    # True, "1" and 1 are told apart
    from lineage.api.models import Column, _columns

    for _ in range(2):  # the second time from the shared instances
        bare = _columns(columns, keep_raw=False)
        one_by_one = [Column.from_api(c, keep_raw=False) for c in columns]

        def typed(cs: Any) -> list[Any]:  # == alone would take True for 1
            return [[(type(v), v) for v in (c.name, c.type, c.key, c.schema_valid)] for c in cs]

        assert typed(bare) == typed(c for c in one_by_one if c is not None)
