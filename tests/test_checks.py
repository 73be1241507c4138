"""check(): every rule fires on a crafted graph and none on a clean one; ordering; --fail-on parsing."""

from __future__ import annotations

import json
import re
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.analysis import RULES, check, parse_rules
from lineage.analysis.health import node_health, parse_time
from lineage.cli import main
from lineage.errors import InputError
from lineage.graph import LineageGraph

NOW = "2026-11-26T00:00:00Z"


def _tables(sql: str) -> list[str]:
    """A stand-in extractor (FROM/JOIN targets) so these tests exercise the rule, not the parser."""
    if "((" in sql:
        from lineage.errors import HogQLError

        raise HogQLError("unbalanced parenthesis at 1:20")
    return re.findall(r"(?:FROM|JOIN)\s+([A-Za-z_][\w.]*)", sql)


def _mat(freq: str, success: str = "2026-11-25T23:50:00Z", **extra: object) -> dict[str, object]:
    return {
        "kind": "matview",
        "is_materialized": True,
        "sync_frequency": freq,
        "status": "Completed",
        "jobs": {"last_status": "Completed", "last_success_at": success, "runs": 5, "failures": 0},
        **extra,
    }


def clean() -> nx.DiGraph:
    g = nx.DiGraph(crawled_at=NOW)
    g.add_node("events", name="events", kind="table")
    g.add_node("a", name="hourly", sql="SELECT event FROM events", **_mat("1hour"))
    g.add_node("b", name="daily", sql="SELECT event FROM hourly", **_mat("24hour"))
    g.add_node("c", name="report", kind="view", sql="SELECT * FROM daily JOIN hourly ON 1 = 1")
    g.add_edges_from([("events", "a"), ("a", "b"), ("a", "c"), ("b", "c")])
    return g


def crafted() -> nx.DiGraph:
    g = clean()
    # failing: a streak of 2, read by 'fanout' (downstream-of-broken)
    g.add_node(
        "f", name="failing_one", sql="SELECT 1 FROM events", latest_error="Code: 62 syntax", **_mat("24hour")
    )
    g.nodes["f"]["jobs"] = {
        "last_status": "Failed",
        "failure_streak": 2,
        "last_success_at": "2026-11-25T20:00:00Z",
    }
    g.add_edge("events", "f")
    g.add_node("fan", name="fanout", kind="view", sql="SELECT * FROM failing_one")
    g.add_edge("f", "fan")
    g.add_edge("fan", "c")  # report now reads fanout too
    g.nodes["c"]["sql"] = "SELECT * FROM daily JOIN hourly ON 1 = 1 JOIN fanout ON 1 = 1"
    # stale: hourly job whose last success was a day ago
    g.add_node("s", name="stale_one", sql="SELECT 1 FROM events", **_mat("1hour", "2026-11-24T00:00:00Z"))
    g.add_edge("events", "s")
    g.add_edge("s", "c")
    g.nodes["c"]["sql"] += " JOIN stale_one ON 1 = 1"
    # cadence inversion: refreshed every 5 min, reads a daily view through a plain view
    g.add_node("pv", name="passthrough", kind="view", sql="SELECT * FROM daily")
    g.add_node("fast", name="too_fast", sql="SELECT * FROM passthrough", **_mat("5min"))
    g.add_edges_from([("b", "pv"), ("pv", "fast"), ("fast", "c")])
    g.nodes["c"]["sql"] += " JOIN too_fast ON 1 = 1"
    # unused matview
    g.add_node("u", name="nobody_reads_me", sql="SELECT event FROM events", **_mat("24hour"))
    g.add_edge("events", "u")
    # ghost: lineage names a deleted view
    g.add_node("gh", name="POSTHOG_DELETED_old_view", kind="unknown", ghost=True)
    g.add_node("r", name="reads_ghost", kind="view", sql="SELECT 1 FROM events")
    g.add_edges_from([("gh", "r"), ("events", "r")])
    # sql-mismatch: SQL reads 'persons' without an edge; another view's SQL does not parse
    g.add_node("m", name="mismatched", kind="view", sql="SELECT * FROM events JOIN persons ON 1 = 1")
    g.add_edge("events", "m")
    g.add_node("bad", name="unparsable", kind="view", sql="SELECT ((")
    g.add_edge("events", "bad")
    # failure-streak: three failures in a row
    g.add_node("st", name="streaky", sql="SELECT 1 FROM events", **_mat("24hour"))
    g.nodes["st"]["jobs"] = {"last_status": "Failed", "failure_streak": 3, "last_success_at": None}
    g.add_edges_from([("events", "st"), ("st", "c")])
    g.nodes["c"]["sql"] += " JOIN streaky ON 1 = 1"
    # rows-anomaly and duration-anomaly: the newest run is far off the four before it
    history = [
        {
            "id": f"j{i}",
            "status": "Completed",
            "rows": rows,
            "created_at": f"2026-11-2{i}T00:00:00Z",
            "last_run_at": f"2026-11-2{i}T00:{minutes:02d}:00Z",
        }
        for i, (rows, minutes) in enumerate([(1000, 2), (1100, 2), (900, 3), (1000, 2), (10, 30)])
    ]
    g.add_node("an", name="odd_run", sql="SELECT 1 FROM events", **_mat("24hour", "2026-11-25T23:00:00Z"))
    g.nodes["an"]["jobs"]["history"] = history
    g.add_edges_from([("events", "an"), ("an", "c")])
    g.nodes["c"]["sql"] += " JOIN odd_run ON 1 = 1"
    # consumers: a dashboard and an alert on an insight reading fanout (downstream of failing_one),
    # and an insight reading the deleted view
    g.add_node("insight:i1", name="Fan chart", kind="insight")
    g.add_node("dashboard:1", name="Ops board", kind="dashboard")
    g.add_node("alert:1", name="Fan alert", kind="alert")
    g.add_node("insight:i2", name="Old chart", kind="insight")
    g.add_edges_from([("fan", "insight:i1"), ("insight:i1", "dashboard:1"), ("insight:i1", "alert:1")])
    g.add_edge("gh", "insight:i2")
    # suspended (newest PostHog): read by 'after_suspended', which is then downstream of broken
    g.add_node("sp", name="suspended_one", sql="SELECT 1 FROM events", suspended=True, **_mat("24hour"))
    g.add_node("as", name="after_suspended", kind="view", sql="SELECT * FROM suspended_one")
    g.add_edges_from([("events", "sp"), ("sp", "as")])
    # skipped: a DAG run skipped it
    g.add_node("sk", name="skipped_one", sql="SELECT 1 FROM events", **_mat("24hour"))
    g.nodes["sk"]["jobs"] = {"last_status": "Skipped", "last_success_at": "2026-11-25T23:00:00Z"}
    g.add_edge("events", "sk")
    # cycle
    g.add_node("x", name="loop_x", kind="view")
    g.add_node("y", name="loop_y", kind="view")
    g.add_edges_from([("x", "y"), ("y", "x")])
    return g


def test_clean_graph_has_no_findings() -> None:
    report = check(clean(), extract_tables=_tables)
    assert report.findings == ()
    assert all(n == 0 for n in report.counts().values())


def test_every_rule_fires_on_crafted_graph() -> None:
    report = check(crafted(), extract_tables=_tables)
    got = {(f.rule, f.node) for f in report.findings}
    assert set(report.counts()) == set(RULES)
    assert all(report.counts()[rule] > 0 for rule in RULES), report.counts()
    assert ("failing", "failing_one") in got
    assert ("stale", "stale_one") in got
    assert ("downstream-of-broken", "fanout") in got
    assert ("downstream-of-broken", "report") in got
    assert ("cadence-inversion", "too_fast") in got
    assert ("unused-matview", "nobody_reads_me") in got
    assert ("ghost", "POSTHOG_DELETED_old_view") in got
    assert ("sql-mismatch", "mismatched") in got
    assert ("sql-mismatch", "unparsable") in got
    assert ("sql-mismatch", "reads_ghost") in got  # edge from the ghost that its SQL does not read
    assert ("cycle", "loop_x") in got
    assert ("failure-streak", "streaky") in got
    assert ("rows-anomaly", "odd_run") in got
    assert ("duration-anomaly", "odd_run") in got
    assert ("suspended", "suspended_one") in got and ("skipped", "skipped_one") in got
    assert ("downstream-of-broken", "after_suspended") in got
    assert not {n for rule, n in got if rule in ("failing", "stale")} & {"suspended_one", "skipped_one"}
    # nothing fires on the healthy part
    assert not {node for _rule, node in got} & {"hourly", "daily", "events"}
    report_msg = next(f for f in report.findings if f.rule == "downstream-of-broken" and f.node == "report")
    assert "failing_one" in report_msg.message and "stale_one" in report_msg.message
    failing = next(f for f in report.findings if f.rule == "failing")
    assert failing.severity == "error" and "2 failed" in failing.message and "Code: 62" in failing.message
    mismatch = next(f for f in report.findings if f.node == "mismatched")
    assert "persons" in mismatch.message


def test_findings_sorted_and_deterministic() -> None:
    a = check(crafted(), extract_tables=_tables)
    g = crafted()
    shuffled = nx.DiGraph()
    shuffled.graph.update(g.graph)
    shuffled.add_nodes_from(sorted(g.nodes(data=True), key=lambda kv: str(kv[0]), reverse=True))
    shuffled.add_edges_from(sorted(g.edges, reverse=True))
    b = check(shuffled, extract_tables=_tables)
    assert a == b
    rank = {"error": 0, "warning": 1, "info": 2}
    order = list(RULES)
    keys = [(rank[f.severity], order.index(f.rule), f.node, f.node_id) for f in a.findings]
    assert keys == sorted(keys)
    assert a.to_dict()["counts"] == a.counts()


def test_now_moves_staleness() -> None:
    g = clean()
    later = check(g, now="2026-11-27T00:00:00Z", extract_tables=_tables)
    assert {f.node for f in later.findings if f.rule == "stale"} == {"hourly"}
    assert check(g, now="2026-11-29T00:00:00Z", extract_tables=_tables).counts()["stale"] == 2
    with pytest.raises(InputError, match="now='yesterday' is not an ISO 8601 time"):
        check(g, now="yesterday")


def test_health_derivation() -> None:
    now = parse_time(NOW)
    assert now is not None
    h = node_health(
        {
            "sync_frequency": "1hour",
            "is_materialized": True,
            "status": "Completed",
            "last_run_at": "2026-11-25T22:30:00Z",
        },
        now=now,
    )
    assert not h.stale and h.label == "ok"  # 1.5 h < 2 x 1 h
    h = node_health(
        {
            "sync_frequency": "1hour",
            "is_materialized": True,
            "last_run_at": "2026-11-25T21:00:00Z",
            "status": "Completed",
        },
        now=now,
    )
    assert h.stale and h.label == "stale"
    h = node_health({"sync_frequency": None, "is_materialized": True}, now=now)
    assert not h.stale and h.label == "unknown"  # unscheduled: never stale
    assert node_health({"kind": "view", "is_materialized": False}, now=now).label == "n/a"  # nothing to run
    h = node_health({"status": "Failed", "jobs": {"last_status": "Failed"}}, now=now)
    assert h.failing and h.failure_streak == 1
    h = node_health(
        {"sync_frequency": "24hour", "is_materialized": True, "created_at": "2026-11-25T12:00:00Z"}, now=now
    )
    assert not h.stale  # new view, not yet due


def test_parse_rules() -> None:
    assert parse_rules("any") == frozenset(RULES)
    assert parse_rules("stale, failing") == {"stale", "failing"}
    with pytest.raises(InputError, match="'bogus'"):
        parse_rules("stale,bogus")
    with pytest.raises(InputError):
        parse_rules(" , ")


def test_cli_check_exit_codes(tmp_path: Path) -> None:
    snap = str(LineageGraph(crafted()).save(tmp_path / "snap.json"))
    healthy = str(LineageGraph(clean()).save(tmp_path / "clean.json"))
    runner = CliRunner()
    result = runner.invoke(main, ["check", "--snapshot", snap])
    assert result.exit_code == 0, result.output
    assert "failing_one" in result.output and "finding(s)" in result.output
    result = runner.invoke(main, ["check", "--snapshot", snap, "--format", "json"])
    data = json.loads(result.output)
    assert data["counts"]["failing"] == 2 and data["findings"][0]["rule"] == "cycle"  # failing_one, streaky
    result = runner.invoke(main, ["check", "--snapshot", snap, "--fail-on", "failing"])
    assert result.exit_code == 1 and "fail-on" in result.output
    result = runner.invoke(main, ["check", "--snapshot", healthy, "--fail-on", "any"])
    assert result.exit_code == 0 and "0 finding(s)" in result.output
    result = runner.invoke(
        main, ["check", "--snapshot", healthy, "--fail-on", "any", "--now", "2026-12-30T00:00:00Z"]
    )
    assert result.exit_code == 1  # everything is stale a month later
    for args in (["--fail-on", "nonsense"], ["--now", "soon"], ["--snapshot", str(tmp_path / "none.json")]):
        result = runner.invoke(
            main, ["check", "--snapshot", snap, *args] if "--snapshot" not in args else ["check", *args]
        )
        assert result.exit_code == 2, (args, result.output)
        assert result.output.startswith("lineage: ") and "Traceback" not in result.output
    assert "Example" in runner.invoke(main, ["check", "--help"]).output


def test_sql_mismatch_with_the_real_hogql_extractor() -> None:
    g = clean()
    assert check(g, rules=["sql-mismatch"]).findings == ()
    g.nodes["c"]["sql"] = (
        "SELECT * FROM daily JOIN `stripe.invoice` AS s ON 1 = 1 WHERE x IN (SELECT y FROM hourly)"
    )
    g.add_node("ok", name="dollar", kind="view", sql="SELECT $session_id FROM events")
    g.add_edge("events", "ok")
    g.add_node("bad", name="bad", kind="view", sql="SELECT FROM WHERE (")
    found = {f.node: f.message for f in check(g, rules=["sql-mismatch"]).findings}
    assert set(found) == {"report", "bad"}
    assert "stripe.invoice" in found["report"] and "does not parse" in found["bad"]


def test_cadence_inversion_names_the_first_slower_inputs_and_counts_the_rest() -> None:
    """A fast view reading many slower ones (through a plain view too) names the first five by name
    and counts the rest, as downstream-of-broken does: at 100,000 views a message listed 2,000."""
    g = nx.DiGraph(crawled_at=NOW)
    g.add_node("fast", name="fast", sql="SELECT 1", **_mat("1hour"))
    g.add_node("plain", name="plain", kind="view", sql="SELECT 1")
    g.add_edge("plain", "fast")
    names = ["s7", "s3", "s1", "s6", "s2", "s5", "s4"]
    for i, name in enumerate(names):
        g.add_node(f"id{i}", name=name, sql="SELECT 1", **_mat("24hour" if i % 2 else "12hour"))
        g.add_edge(f"id{i}", "plain" if i % 2 else "fast")
    g.add_node("quick", name="s0", sql="SELECT 1", **_mat("1hour"))  # as fast: not an inversion
    g.add_edge("quick", "fast")
    found = [f for f in check(g, rules=["cadence-inversion"], extract_tables=_tables).findings]
    assert [(f.node, f.message) for f in found] == [
        (
            "fast",
            "refreshes every 1hour but reads s1 (12hour), s2 (12hour), s3 (24hour), s4 (12hour), s5 (24hour)"
            " and 2 more, refreshed less often; slow it down or speed them up",
        )
    ]
    g.remove_nodes_from(["id0", "id6"])  # five left: all named
    found = [f for f in check(g, rules=["cadence-inversion"], extract_tables=_tables).findings]
    assert (
        "reads s1 (12hour), s2 (12hour), s3 (24hour), s5 (24hour), s6 (24hour), refreshed" in found[0].message
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7)), max_size=20), st.integers(1, 8))
def test_the_checkers_topological_order_is_networkxs_verdict(
    edges: list[tuple[int, int]], nodes: int
) -> None:
    from lineage.analysis.checks import _Checker

    g = nx.DiGraph()
    g.add_nodes_from(range(nodes))
    g.add_edges_from(edges)  # self-loops and cycles included
    checker = _Checker(g, {})
    order = checker.order
    assert checker.is_dag() == nx.is_directed_acyclic_graph(g) == (order is not None)
    if order is not None:
        at = {n: i for i, n in enumerate(order)}
        assert sorted(order, key=str) == sorted(g.nodes, key=str)
        assert all(at[u] < at[v] for u, v in g.edges)
