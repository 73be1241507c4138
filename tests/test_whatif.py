"""What-if impact (`lineage impact VIEW --sql NEW.sql`, interfaces.md section 9).

The demo warehouse is crawled from the simulator (era e2, sql edges) once per module; consumer nodes
are added by hand where a test needs them, since the demo may carry none on this branch.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import networkx as nx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lineage.analysis.checks import check
from lineage.analysis.whatif import OutputColumn, diff_columns, output_columns, whatif
from lineage.cli import main as cli
from lineage.config import Settings
from lineage.crawl import CrawlOptions, crawl_async
from lineage.graph import LineageGraph
from lineage.sim.app import create_app
from lineage.sim.demo import load_demo_fixture
from lineage.sim.state import Warehouse
from lineage.whatif_report import render_whatif

MRR_BREAK_VIEWS = {
    "mrr_by_month",
    "mrr_movements",
    "arpu_monthly",
    "ltv_monthly",
    "finance_kpis",
    "board_report",
}
# The demo's consumers downstream of those views (dashboards follow their insights; the endpoint and the
# notebook read finance_kpis and ltv_monthly); the "Churn rate" insight reads churn_monthly only.
MRR_BREAK_CONSUMERS = {
    "MRR by month",
    "MRR movements",
    "Board KPIs",
    "Finance",
    "mrr_api",
    "Why did churn jump in March?",
}
MRR_BREAKS = MRR_BREAK_VIEWS | MRR_BREAK_CONSUMERS


def _crawl(fixture: dict[str, Any], key: str) -> LineageGraph:
    app = create_app(Warehouse(fixture, era="e2"), rate_limit=False)
    settings_ = Settings.resolve(host="http://127.0.0.1:1", project="1", api_key=key, env={})
    options = CrawlOptions(strategy="all", edges="sql")
    result = asyncio.run(crawl_async(settings_, options, transport=httpx.ASGITransport(app=app)))
    return result.graph


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "snapshot.json"
    _crawl(load_demo_fixture(), "phx_demo_read").save(path)
    return path


@pytest.fixture
def demo(demo_path: Path) -> LineageGraph:
    return LineageGraph.load(demo_path)


def _id(g: LineageGraph, name: str) -> str:
    return next(n for n, a in g.nx.nodes(data=True) if a.get("name") == name)


def _sql(g: LineageGraph, name: str) -> str:
    sql = g.nx.nodes[_id(g, name)]["sql"]
    assert isinstance(sql, str)
    return sql


def _without_mrr(g: LineageGraph) -> str:
    old = _sql(g, "customer_mrr_by_month")
    new = old.replace(",\n    sum(items.amount) AS mrr", "")
    assert new != old
    return new


def _verdicts(report: Any) -> dict[str, str]:
    return {report.name_of(k): v.verdict for k, v in report.verdicts.items()}


# ---------------------------------------------------------------------------------------- demo


def test_dropping_mrr_names_exactly_the_views_that_break(demo: LineageGraph) -> None:
    report = whatif(demo, "customer_mrr_by_month", _without_mrr(demo))
    assert report.columns.removed == ("mrr",)
    assert report.columns.added == report.columns.changed == report.columns.renamed == ()
    assert report.tables_added == report.tables_removed == ()
    verdicts = _verdicts(report)
    assert {n for n, v in verdicts.items() if v == "breaks"} == MRR_BREAKS
    assert verdicts["churn_monthly"] == "unaffected"  # reads customer_id and month only
    assert verdicts["Churn rate"] == "unaffected"  # an insight on churn_monthly
    direct = report.verdicts[_id(demo, "mrr_by_month")]
    assert direct.columns == ("customer_mrr_by_month.mrr",)
    assert "removed" in direct.reason
    assert "depends on" in report.verdicts[_id(demo, "ltv_monthly")].reason
    frame = report.to_frame()
    assert set(frame.loc[frame.verdict == "breaks", "name"]) == MRR_BREAKS


def test_demo_json_follows_section_9(demo: LineageGraph) -> None:
    data = json.loads(render_whatif(whatif(demo, "customer_mrr_by_month", _without_mrr(demo)), "json"))
    assert data["target"]["name"] == "customer_mrr_by_month"
    assert data["columns"] == {
        "removed": ["mrr"],
        "added": [],
        "renamed": [],
        "changed": [],
        "type_changes": [],
        "rows_change": False,
    }
    assert data["tables"] == {"added": [], "removed": []}
    by_name = {a["name"]: a for a in data["affected"]}
    assert {n for n, a in by_name.items() if a["verdict"] == "breaks"} == MRR_BREAKS
    for entry in data["affected"]:
        assert {"id", "name", "kind", "depth", "path", "verdict", "verdict_columns"} <= set(entry)
    assert by_name["mrr_movements"]["verdict_columns"] == ["customer_mrr_by_month.mrr"]
    assert data["verdicts"]["breaks"] == len(MRR_BREAKS)


def test_renaming_a_column_is_a_rename_and_breaks_its_readers(demo: LineageGraph) -> None:
    new = _sql(demo, "customer_mrr_by_month").replace("AS mrr", "AS monthly_revenue")
    report = whatif(demo, "customer_mrr_by_month", new)
    assert report.columns.renamed == (("mrr", "monthly_revenue"),)
    assert report.columns.removed == report.columns.added == ()
    assert {n for n, v in _verdicts(report).items() if v == "breaks"} == MRR_BREAKS


def test_changing_an_expression_changes_only_its_readers(demo: LineageGraph) -> None:
    new = _sql(demo, "customer_mrr_by_month").replace("sum(items.amount) AS mrr", "max(items.amount) AS mrr")
    report = whatif(demo, "customer_mrr_by_month", new)
    assert report.columns.changed == ("mrr",)
    verdicts = _verdicts(report)
    assert {n for n, v in verdicts.items() if v == "changes"} == MRR_BREAKS
    assert verdicts["churn_monthly"] == "unaffected"


def test_a_new_filter_changes_every_reader_and_a_new_table_is_an_edge(demo: LineageGraph) -> None:
    new = _sql(demo, "customer_mrr_by_month").replace(
        "GROUP BY customer_id, month",
        "WHERE items.customer_id IN (SELECT id FROM persons)\nGROUP BY customer_id, month",
    )
    report = whatif(demo, "customer_mrr_by_month", new)
    assert report.columns.rows_change
    assert report.columns.changed == ("customer_id", "month", "mrr")
    assert report.tables_added == ("persons",)
    assert set(_verdicts(report).values()) == {"changes"}
    # "Churn rate" is a trends insight with no HogQL to read: its rows change whatever it selects.
    churn = report.verdicts[_id(demo, "Churn rate")]
    assert churn.verdict == "changes" and "whose rows all change" in churn.reason


def test_type_change_is_told_where_the_syntax_says(demo: LineageGraph) -> None:
    old = [OutputColumn("n", "x", "UInt64"), OutputColumn("s", "y", None)]
    new = [OutputColumn("n", "toString(x)", "String"), OutputColumn("s", "y", None)]
    changes = diff_columns(old, new)
    assert changes.type_changes == (("n", "UInt64", "String"),)
    assert changes.changed == ("n",)
    cols, _ = output_columns("SELECT toString(a) AS a, count() AS n, CAST(b AS Float64) AS b FROM t")
    assert cols is not None
    assert [(c.name, c.type) for c in cols] == [("a", "String"), ("n", "UInt64"), ("b", "Float64")]


def test_proposing_another_views_sql(demo: LineageGraph) -> None:
    report = whatif(demo, "mrr_by_month", _sql(demo, "mrr_current"))
    assert "paying_customers" in report.columns.removed
    assert report.tables_removed == ("customer_mrr_by_month",)
    assert "arpu_monthly" in report.breaks


# ---------------------------------------------------------------------------------------- consumers


def _with_consumers(g: LineageGraph) -> nx.DiGraph:
    nx_ = g.nx.copy()
    mrr, cmrr, churn = _id(g, "mrr_by_month"), _id(g, "customer_mrr_by_month"), _id(g, "churn_monthly")
    nodes: dict[str, dict[str, Any]] = {
        "insight:reads_broken": {
            "kind": "insight",
            "name": "MRR trend",
            "hogql": ["SELECT month FROM mrr_by_month"],
        },
        "insight:uses_mrr": {
            "kind": "insight",
            "name": "Top customers",
            "hogql": ["SELECT customer_id, mrr FROM customer_mrr_by_month ORDER BY mrr DESC"],
        },
        "insight:safe": {
            "kind": "insight",
            "name": "Customers per month",
            "hogql": ["SELECT month, uniq(customer_id) AS n FROM customer_mrr_by_month GROUP BY month"],
        },
        "insight:filters_mrr": {
            "kind": "insight",
            "name": "Big accounts",
            "hogql": ["SELECT customer_id FROM customer_mrr_by_month WHERE mrr > 1000"],
        },
        "insight:unread": {"kind": "insight", "name": "Saved trends"},
        "insight:garbled": {"kind": "insight", "name": "Odd", "hogql": ["SELECT * FROM <ActorsQuery />"]},
        "insight:churn": {
            "kind": "insight",
            "name": "Churn",
            "hogql": ["SELECT churn_rate FROM churn_monthly"],
        },
        "dashboard:1": {"kind": "dashboard", "name": "Finance board"},
        "dashboard:2": {"kind": "dashboard", "name": "Safe board"},
        "alert:a": {"kind": "alert", "name": "MRR drop"},
        "notebook:n": {"kind": "notebook", "name": "Dig", "hogql": ["SELECT mrr FROM customer_mrr_by_month"]},
    }
    for n, attrs in nodes.items():
        nx_.add_node(n, **attrs)
    edges = [
        (mrr, "insight:reads_broken"),
        (cmrr, "insight:uses_mrr"),
        (cmrr, "insight:safe"),
        (cmrr, "insight:filters_mrr"),
        (cmrr, "insight:unread"),
        (cmrr, "insight:garbled"),
        (churn, "insight:churn"),
        ("insight:reads_broken", "dashboard:1"),
        ("insight:safe", "dashboard:1"),
        ("insight:safe", "dashboard:2"),
        ("insight:churn", "dashboard:2"),
        ("insight:unread", "alert:a"),
        (cmrr, "notebook:n"),
    ]
    nx_.add_edges_from(edges)
    return nx_


def test_consumers_get_verdicts_and_boards_inherit(demo: LineageGraph) -> None:
    g = _with_consumers(demo)
    report = whatif(g, "customer_mrr_by_month", _without_mrr(demo))
    v = {k: x.verdict for k, x in report.verdicts.items()}
    assert v["insight:reads_broken"] == "breaks"  # its view breaks
    assert v["insight:uses_mrr"] == "breaks"
    assert v["insight:filters_mrr"] == "breaks"
    assert v["insight:safe"] == "unaffected"
    assert v["insight:unread"] == "unknown"  # no query in the snapshot: never called safe
    assert v["insight:garbled"] == "unknown"
    assert v["insight:churn"] == "unaffected"
    assert v["dashboard:1"] == "breaks"
    assert v["dashboard:2"] == "unaffected"
    assert v["alert:a"] == "unknown"
    assert v["notebook:n"] == "breaks"
    assert report.verdicts["insight:uses_mrr"].columns == ("customer_mrr_by_month.mrr",)
    assert "MRR trend" in report.verdicts["dashboard:1"].reason


# ---------------------------------------------------------------------------------------- small graphs


def _graph(views: dict[str, tuple[str | None, list[str]]], columns: dict[str, list[str]]) -> nx.DiGraph:
    g = nx.DiGraph(crawled_at="2026-11-26T00:00:00Z")
    for name, (sql, parents) in views.items():
        attrs: dict[str, Any] = {"name": name, "kind": "view" if sql is not None or parents else "table"}
        if sql is not None:
            attrs["sql"] = sql
        if name in columns:
            attrs["columns"] = columns[name]
        g.add_node(name, **attrs)
        for p in parents:
            g.add_edge(p, name)
    return g


def test_unreadable_readers_are_unknown_never_safe() -> None:
    g = _graph(
        {
            "src": (None, []),
            "t": ("SELECT a, b FROM src", ["src"]),
            "nosql": (None, ["t"]),
            "tag": ("SELECT a FROM <ActorsQuery />", ["t"]),
            "below_tag": ("SELECT a FROM tag", ["tag"]),
            "fine": ("SELECT a FROM t", ["t"]),
        },
        {"src": ["a", "b"], "t": ["a", "b"]},
    )
    g.nodes["nosql"]["kind"] = "view"
    report = whatif(g, "t", "SELECT a FROM src")
    v = _verdicts(report)
    assert v == {"nosql": "unknown", "tag": "unknown", "below_tag": "unknown", "fine": "unaffected"}


def test_star_readers_pass_changes_on() -> None:
    g = _graph(
        {
            "src": (None, []),
            "t": ("SELECT a, b, c FROM src", ["src"]),
            "star": ("SELECT * FROM t", ["t"]),
            "uses_b": ("SELECT b FROM star", ["star"]),
            "uses_a": ("SELECT a FROM star", ["star"]),
        },
        {"src": ["a", "b", "c"], "t": ["a", "b", "c"], "star": ["a", "b", "c"]},
    )
    report = whatif(g, "t", "SELECT a, c FROM src")
    assert _verdicts(report) == {"star": "changes", "uses_b": "breaks", "uses_a": "unaffected"}


def test_a_new_column_changes_only_star_readers() -> None:
    g = _graph(
        {
            "src": (None, []),
            "t": ("SELECT a FROM src", ["src"]),
            "star": ("SELECT * FROM t", ["t"]),
            "below_star": ("SELECT * FROM star", ["star"]),
            "named": ("SELECT a FROM t", ["t"]),
        },
        {"src": ["a", "b"], "t": ["a"], "star": ["a"]},
    )
    report = whatif(g, "t", "SELECT a, b FROM src")
    assert report.columns.added == ("b",)
    assert _verdicts(report) == {"star": "changes", "below_star": "changes", "named": "unaffected"}
    assert report.verdicts["star"].columns == ("t.b",)


def test_order_by_own_alias_is_not_the_parents_column() -> None:
    g = _graph(
        {
            "src": (None, []),
            "t": ("SELECT a, b FROM src", ["src"]),
            "r": ("SELECT a AS b FROM t ORDER BY b", ["t"]),
            "r2": ("SELECT sum(b) AS b FROM t", ["t"]),
        },
        {"t": ["a", "b"]},
    )
    v = _verdicts(whatif(g, "t", "SELECT a FROM src"))
    assert v == {"r": "unaffected", "r2": "breaks"}


def test_new_view_name_clashes_from_the_snapshot(demo: LineageGraph) -> None:
    report = whatif(demo, "Customer_MRR_By_Month", "SELECT event FROM events")
    assert report.impact is None and report.verdicts == {}
    assert report.columns.added == ("event",)
    assert report.tables_added == ("events",)
    assert any("clashes with the existing" in w for w in report.warnings)
    assert whatif(demo, "brand_new_view", "SELECT 1 AS x").warnings == ()
    assert any(
        "clashes with the existing table" in w for w in whatif(demo, "persons", "SELECT 1 AS x").warnings
    )
    assert any("PostHog's own tables" in w for w in whatif(demo, "cohort_people", "SELECT 1 AS x").warnings)
    asked: list[str] = []

    def remote(name: str) -> bool:
        asked.append(name)
        return False

    report = whatif(demo, "fresh-name", "SELECT 1 AS x", check_remote=remote)
    assert asked == ["fresh-name"]
    assert any("check-database-name says" in w for w in report.warnings)


def test_crawl_marks_unparseable_sql_and_check_says_so() -> None:
    from conftest import make_small_fixture

    fixture = make_small_fixture()
    view = next(v for v in fixture["views"] if v["name"] == "event_counts")
    view["query"] = "SELECT * FROM <ActorsQuery />"
    graph = _crawl(fixture, "phx_read")
    node = graph.nx.nodes[view["id"]]
    assert node["sql_state"] == "unparseable"
    assert "ActorsQuery" in node["sql_error"]
    others = [a for n, a in graph.nx.nodes(data=True) if a.get("sql") and n != view["id"]]
    assert others and all(a["sql_state"] == "parsed" for a in others)
    findings = check(graph, rules=["sql-mismatch"]).findings
    assert any(f.node == "event_counts" and "does not parse" in f.message for f in findings)


# ---------------------------------------------------------------------------------------- CLI


def test_cli_what_if(demo_path: Path, demo: LineageGraph, tmp_path: Path) -> None:
    runner = CliRunner()
    new = tmp_path / "new.sql"
    new.write_text(_without_mrr(demo), encoding="utf-8")
    base = ["impact", "customer_mrr_by_month", "--snapshot", str(demo_path)]
    res = runner.invoke(cli, [*base, "--sql", str(new), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert {a["name"] for a in json.loads(res.stdout)["affected"] if a["verdict"] == "breaks"} == MRR_BREAKS
    res = runner.invoke(cli, [*base, "--sql", str(new), "--fail-on", "breaks", "--format", "md"])
    assert res.exit_code == 1
    assert "12 breaks" in res.output and "mrr\\_movements" in res.output
    res = runner.invoke(
        cli, [*base, "--sql", "-", "--format", "json"], input=_sql(demo, "customer_mrr_by_month")
    )
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["verdicts"]["breaks"] == 0
    res = runner.invoke(cli, [*base, "--sql-from-view", "customer_mrr_by_month", "--fail-on", "breaks"])
    assert res.exit_code == 0, res.output
    html_out = tmp_path / "w.html"
    res = runner.invoke(cli, [*base, "--sql", str(new), "--out", str(html_out)])
    assert res.exit_code == 0
    assert "<table>" in html_out.read_text() and "<script" not in html_out.read_text()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--sql", "/nonexistent/new.sql"], "no such file"),
        (["--sql", "-", "--sql-from-view", "mrr_by_month"], "not both"),
        (["--fail-on", "breaks"], "needs --sql"),
        (["--sql", "-", "--fail-on", "explodes"], "--fail-on"),
        (["--sql", "-", "--column", "mrr"], "do not combine"),
        (["--sql", "-", "--max-depth", "1"], "do not combine"),
        (["--sql-from-view", "no_such_view"], "no_such_view"),
    ],
)
def test_cli_what_if_input_errors(demo_path: Path, args: list[str], fragment: str) -> None:
    res = CliRunner().invoke(
        cli, ["impact", "customer_mrr_by_month", "--snapshot", str(demo_path), *args], input="SELECT 1 AS x"
    )
    assert res.exit_code == 2
    assert fragment in res.output
    assert "Traceback" not in res.output


def test_cli_unparseable_proposal_is_an_input_error(demo_path: Path) -> None:
    res = CliRunner().invoke(
        cli,
        ["impact", "customer_mrr_by_month", "--snapshot", str(demo_path), "--sql", "-"],
        input="SELECT FROM WHERE",
    )
    assert res.exit_code == 2 and "does not parse" in res.output


def test_cli_new_view_asks_check_database_name(demo_path: Path, sim_server: Any) -> None:
    """PostHog's endpoint takes no personal-key scope, so a key gets 403 (posthog-api.md): the name is
    then checked against the snapshot, and the report says so."""
    res = CliRunner().invoke(
        cli,
        [
            "impact",
            "CUSTOMER_MRR_BY_MONTH",
            "--snapshot",
            str(demo_path),
            "--sql",
            "-",
            "--host",
            sim_server.url,
            "--project",
            "1",
            "--api-key",
            "phx_read",
            "--format",
            "json",
        ],
        input="SELECT 1 AS x",
    )
    assert res.exit_code == 0, res.output
    warnings = json.loads(res.stdout)["warnings"]
    assert any("clashes with the existing" in w for w in warnings)
    assert any("check-database-name could not answer" in w for w in warnings)
    assert "phx_read" not in res.output


# ---------------------------------------------------------------------------------------- property


@st.composite
def edited_dags(draw: st.DrawFn) -> tuple[nx.DiGraph, str, str, dict[str, str]]:
    """A random DAG of views over one table, one random column edit of one view, and the truth."""
    n = draw(st.integers(min_value=2, max_value=9))
    cols: dict[str, list[str]] = {"src": ["k0", "k1", "k2", "k3"]}
    g = nx.DiGraph()
    g.add_node("src", name="src", kind="table", columns=cols["src"])
    refs: dict[str, list[tuple[str, str]]] = {}  # view -> [(parent, column)] it references
    join_refs: dict[str, list[tuple[str, str]]] = {}  # view -> [(parent, column)] its JOIN ON reads
    star_of: dict[str, str] = {}
    sqls: dict[str, str] = {}
    outputs: dict[str, list[tuple[str, str, str]]] = {}  # view -> [(out name, parent, column)]
    for i in range(n):
        name = f"v{i}"
        earlier = ["src", *[f"v{j}" for j in range(i)]]
        if i > 0 and draw(st.booleans()) and draw(st.booleans()):
            parent = draw(st.sampled_from(earlier[1:]))
            star_of[name] = parent
            sqls[name] = f"SELECT * FROM {parent}"  # noqa: S608 (generated test HogQL)
            cols[name] = list(cols[parent])
            outputs[name] = [(c, parent, c) for c in cols[parent]]
            refs[name] = []
            join_refs[name] = []
        else:
            parents = draw(st.lists(st.sampled_from(earlier), min_size=1, max_size=2, unique=True))
            items = []
            for k in range(draw(st.integers(min_value=1, max_value=4))):
                p = draw(st.sampled_from(parents))
                c = draw(st.sampled_from(cols[p]))
                items.append((f"c{k}", p, c))
            aliases = {p: f"t{j}" for j, p in enumerate(parents)}
            select = ", ".join(f"{aliases[p]}.{c} AS {o}" for o, p, c in items)
            frm = f"{parents[0]} AS {aliases[parents[0]]}"
            if len(parents) > 1:
                j = draw(st.sampled_from(cols[parents[1]]))
                frm += f" JOIN {parents[1]} AS t1 ON t1.{j} = t0.{cols[parents[0]][0]}"
                items_refs = [(parents[1], j), (parents[0], cols[parents[0]][0])]
            else:
                items_refs = []
            sqls[name] = f"SELECT {select} FROM {frm}"  # noqa: S608 (generated test HogQL)
            cols[name] = [o for o, _, _ in items]
            outputs[name] = items
            refs[name] = [(p, c) for _, p, c in items] + items_refs
            join_refs[name] = items_refs
        g.add_node(name, name=name, kind="view", sql=sqls[name], columns=cols[name])
        for p in {p for p, _ in refs[name]} | ({star_of[name]} if name in star_of else set()):
            g.add_edge(p, name)
    target = draw(st.sampled_from([v for v in sqls if v not in star_of]))
    edit = draw(st.sampled_from(["drop", "rename", "change"]))
    victim_index = draw(st.integers(min_value=0, max_value=len(outputs[target]) - 1))
    victim = outputs[target][victim_index]
    items = list(outputs[target])
    if edit == "drop" and len(items) > 1:
        items.pop(victim_index)
    elif edit == "rename" or (edit == "drop" and len(items) == 1):
        edit = "rename"
        items[victim_index] = (victim[0] + "_new", victim[1], victim[2])
    else:
        items[victim_index] = (victim[0], victim[1], victim[2])
    new_sql = sqls[target]
    if edit == "change":
        new_sql = new_sql.replace(f".{victim[2]} AS {victim[0]}", f".{victim[2]} + 1 AS {victim[0]}", 1)
    else:
        parts = sqls[target].split(" FROM ", 1)
        aliases = {}
        for seg in parts[1].replace(" JOIN ", ", ").split(", "):
            words = seg.split()
            aliases[words[0]] = words[2]
        new_sql = "SELECT " + ", ".join(f"{aliases[p]}.{c} AS {o}" for o, p, c in items) + " FROM " + parts[1]  # noqa: S608
    # truth: removed/changed output columns flow down; a reference to a removed column breaks
    removed = {target: set() if edit == "change" else {victim[0]}}
    changed = {target: {victim[0]} if edit == "change" else set()}
    truth: dict[str, str] = {}
    for v in nx.topological_sort(g):
        if v in ("src", target) or v not in nx.descendants(g, target):
            continue
        parents = list(g.predecessors(v))
        if any(truth.get(p) == "breaks" for p in parents):
            truth[v] = "breaks"
            continue
        if any(c in removed.get(p, set()) for p, c in refs[v]):
            truth[v] = "breaks"
            continue
        if v in star_of:
            p = star_of[v]
            removed[v], changed[v] = set(removed.get(p, set())), set(changed.get(p, set()))
            truth[v] = "changes" if removed[v] or changed[v] else "unaffected"
            continue
        removed[v] = set()
        changed[v] = {o for o, p, c in outputs[v] if c in changed.get(p, set())}
        if any(c in changed.get(p, set()) for p, c in join_refs[v]):
            changed[v] = {o for o, _, _ in outputs[v]}  # a changed join key changes every row
        used_changed = any(c in changed.get(p, set()) for p, c in refs[v])
        truth[v] = "changes" if used_changed else "unaffected"
    return g, target, new_sql, truth


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edited_dags())
def test_random_dags_against_the_generators_truth(case: tuple[nx.DiGraph, str, str, dict[str, str]]) -> None:
    g, target, new_sql, truth = case
    report = whatif(g, target, new_sql)
    got = {k: v.verdict for k, v in report.verdicts.items()}
    assert got == truth
    assert "unknown" not in got.values()  # everything here is readable


def test_untrusted_names_are_escaped_in_every_format() -> None:
    evil = "<script>alert(1)</script>|`x`"
    g = _graph(
        {"src": (None, []), "t": ("SELECT a, b FROM src", ["src"]), evil: ("SELECT b FROM t", ["t"])},
        {"t": ["a", "b"]},
    )
    report = whatif(g, "t", "SELECT a FROM src")
    assert report.breaks == (evil,)
    page = render_whatif(report, "html")
    assert "<script>" not in page and "&lt;script&gt;" in page
    md = render_whatif(report, "md")
    assert "<script>" not in md and "\\|" in md
    csv_text = render_whatif(report, "csv")
    assert csv_text.splitlines()[0].startswith("verdict,name")
    assert json.loads(render_whatif(report, "json"))["affected"][0]["name"] == evil
