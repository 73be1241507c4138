"""Consumers (insights, dashboards, notebooks, endpoints, alerts) everywhere downstream of the snapshot.

Snapshots are built by hand (tests/consumers_helper.py) in the shape interfaces.md section 6 fixes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from click.testing import CliRunner
from consumers_helper import add_alert, add_dashboard, add_endpoint, add_insight, add_notebook, small_graph
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage.analysis import check, column_impact, diff, impact
from lineage.cli import main
from lineage.consumer_nodes import anchors, consumer_url, consumers_not_read, not_read_lines
from lineage.errors import SelectorError
from lineage.graph import LineageGraph
from lineage.render import to_dot, to_html, to_mermaid
from lineage.render.common import FOLD_CONSUMERS_ABOVE, build_scene
from lineage.render.svg import to_svg_python
from lineage.report import check_json, check_text, diff_markdown, render_column_impact, render_impact
from lineage.select import select
from lineage.tables import CONSUMER_COLUMNS, consumers_frame

HOSTILE = '<script>alert(1)</script>"]; x | `y` [z](javascript:alert(2)) =HYPERLINK("http://evil")'


def _save(g: LineageGraph, tmp_path: Path, name: str = "snap.json") -> str:
    path = tmp_path / name
    g.save(path)
    return str(path)


def _run(*args: str) -> Any:
    return CliRunner().invoke(main, list(args))


# ---------------------------------------------------------------- the graph model


def test_consumer_kinds_load_and_round_trip(tmp_path: Path) -> None:
    g = small_graph(not_read=["dashboard", "alert"])
    loaded = LineageGraph.load(_save(g, tmp_path))
    assert loaded.node("insight:aB3dE9xQ")["kind"] == "insight"
    assert loaded.node("dashboard:10")["kind"] == "dashboard"
    assert loaded.consumers_not_read == ["alert", "dashboard"]
    assert loaded.is_consumer("notebook:nB1") and not loaded.is_consumer("u-daily")
    # the snapshot stays loadable by networkx as interfaces.md section 3 promises
    data = json.loads((tmp_path / "snap.json").read_text())
    assert nx.node_link_graph(data, edges="edges").has_edge("insight:aB3dE9xQ", "dashboard:10")


def test_old_snapshot_without_consumers_still_loads(tmp_path: Path) -> None:
    g = LineageGraph(host="https://us.posthog.com", project="1")
    g.add_node("u1", name="v", kind="view")
    loaded = LineageGraph.load(_save(g, tmp_path))
    assert loaded.consumers_not_read is None
    assert not_read_lines(None) == [
        "consumers (insights, dashboards, notebooks, endpoints, alerts): not crawled in this snapshot"
    ]
    assert loaded.consumers_of("v") == {}
    assert consumers_not_read(LineageGraph(consumers_not_read=[]).nx) == []


def test_consumers_of_reaches_through_views_and_insights() -> None:
    g = small_graph()
    assert g.consumers_of("orders") == {
        "notebook:nB1": 2,
        "endpoint:mrr_api": 2,
        "insight:aB3dE9xQ": 3,
        "dashboard:10": 4,
        "alert:a-1": 4,
    }
    assert g.consumers_of("event_counts") == {"insight:evT1": 1}
    assert anchors(g.nx, "dashboard:10") == {"u-report"}
    assert anchors(g.nx, "notebook:nB1") == {"u-report", "u-daily"}


def test_a_view_name_shared_with_an_insight_names_the_view() -> None:
    g = small_graph()
    add_insight(g, "dup1", "orders_daily", ["orders_daily"])
    assert g.resolve("orders_daily") == "u-daily"
    assert impact(g, "orders_daily").target.id == "u-daily"
    assert impact(g.nx, "orders_daily").target.id == "u-daily"  # a bare DiGraph too


def test_consumer_url_must_be_plain_http_under_the_host() -> None:
    assert consumer_url({"url": "https://h/project/1/insights/x"}, "https://h/project/1") is not None
    assert consumer_url({"url": "javascript:alert(1)"}) is None
    assert consumer_url({"url": 'https://h/project/1/x" onclick="y'}) is None
    assert consumer_url({"url": "https://evil/project/1/insights/x"}, "https://h/project/1") is None


# ---------------------------------------------------------------- impact


def test_impact_counts_consumers_with_kind_depth_and_path() -> None:
    report = impact(small_graph(not_read=[]), "orders")
    by_id = {a.id: a for a in report.affected}
    dash = by_id["dashboard:10"]
    assert dash.kind == "dashboard" and dash.depth == 4
    assert dash.path == ("orders", "orders_daily", "revenue_report", "MRR", "Finance")
    assert dash.url == "https://us.posthog.com/project/1/dashboard/10"
    assert dash.owner == "bob@example.com"
    assert {k: [n.name for n in v] for k, v in report.consumers.items()} == {
        "dashboard": ["Finance"],
        "insight": ["MRR"],
        "alert": ["MRR drop"],
        "notebook": ["Churn dig"],
        "endpoint": ["mrr_api"],
    }
    assert [(c.owner, c.items) for c in report.who_to_tell] == [
        ("ada@example.com", ("insight MRR",)),
        ("bob@example.com", ("dashboard Finance",)),
    ]
    data = report.to_dict()
    assert data["consumers_not_read"] == []
    assert data["summary"]["by_kind"]["insight"] == 1
    assert "Events" not in {a["name"] for a in data["affected"]}  # reads another branch


def test_every_impact_report_says_which_kinds_the_key_could_not_read() -> None:
    report = impact(small_graph(not_read=["dashboard", "notebook"]), "orders")
    for fmt in ("md", "html", "table"):
        text = render_impact(report, fmt)
        assert "dashboards: not visible to this key" in text, fmt
        assert "notebooks: not visible to this key" in text, fmt
    assert json.loads(render_impact(report, "json"))["consumers_not_read"] == ["dashboard", "notebook"]
    md = render_impact(report, "md")
    assert "- dashboards (1): [Finance](<https://us.posthog.com/project/1/dashboard/10>)" in md
    assert "## Who to tell" in md and "bob@example.com: dashboard Finance" in md
    html = render_impact(report, "html")
    assert '<a href="https://us.posthog.com/project/1/insights/aB3dE9xQ"' in html
    table = render_impact(report, "table")
    assert "dashboards (1): Finance <https://us.posthog.com/project/1/dashboard/10>" in table


def test_impact_on_an_old_snapshot_says_consumers_were_not_crawled() -> None:
    g = small_graph()
    for n in [n for n in g.nodes() if g.is_consumer(n)]:
        g.nx.remove_node(n)
    md = render_impact(impact(g, "orders"), "md")
    assert "not crawled in this snapshot" in md
    assert "not visible" not in md
    assert json.loads(render_impact(impact(g, "orders"), "json"))["consumers_not_read"] is None


def test_impact_cli_json_carries_consumers(tmp_path: Path) -> None:
    snap = _save(small_graph(not_read=["alert"]), tmp_path)
    result = _run("impact", "revenue_report", "--snapshot", snap, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [a["id"] for a in data["affected"]] == [
        "insight:aB3dE9xQ",
        "notebook:nB1",
        "dashboard:10",
        "alert:a-1",
    ]
    assert data["consumers_not_read"] == ["alert"]
    assert data["who_to_tell"][0] == {"owner": "ada@example.com", "items": ["insight MRR"]}


def test_hostile_consumer_names_and_urls_stay_escaped() -> None:
    g = small_graph(not_read=[])
    add_insight(g, "evil", HOSTILE, ["orders"], owner=HOSTILE)
    g.node("insight:evil")["url"] = "javascript:alert(3)"
    report = impact(g, "orders")
    html = render_impact(report, "html")
    assert "<script>" not in html and "javascript:alert(3)" not in html
    assert "&lt;script&gt;" in html
    md = render_impact(report, "md")
    assert "<script>" not in md and "[z](" not in md and "\\[z\\](javascript" in md
    assert "javascript:alert(3)" not in md
    csv_text = render_impact(report, "csv")
    assert "\n=HYPERLINK" not in csv_text and ",=HYPERLINK" not in csv_text


# ---------------------------------------------------------------- column impact


def _column_graph() -> LineageGraph:
    g = small_graph(not_read=[])
    add_insight(
        g, "uses", "Uses total", ["revenue_report"], hogql=["SELECT created, total FROM revenue_report"]
    )
    add_insight(
        g,
        "filters",
        "Filters total",
        ["revenue_report"],
        hogql=["SELECT created FROM revenue_report WHERE total > 0"],
    )
    add_insight(g, "other", "Only created", ["revenue_report"], hogql=["SELECT created FROM revenue_report"])
    add_insight(g, "elsewhere", "Names no view", ["revenue_report"], hogql=["SELECT 1 FROM events"])
    add_dashboard(g, 11, "Totals", ["insight:uses"])
    add_dashboard(g, 12, "Dates", ["insight:other"])
    return g


def test_column_impact_reaches_insights_that_use_the_column() -> None:
    ci = column_impact(_column_graph(), "orders", "amount")
    verdicts = {c.name: c.verdict for c in ci.consumers}
    assert verdicts["Uses total"] == "uses"
    assert verdicts["Filters total"] == "uses"
    assert verdicts["Totals"] == "uses"  # the dashboard showing it
    assert verdicts["MRR"] == "unknown"  # no HogQL stored: never "safe"
    assert verdicts["Finance"] == "unknown"
    assert verdicts["Names no view"] == "unknown"  # its HogQL does not read what lineage says it reads
    assert "Only created" not in verdicts and "Only created" in ci.unaffected
    assert "Dates" in ci.unaffected
    data = json.loads(render_column_impact(ci, "json"))
    uses = next(c for c in data["consumers"] if c["id"] == "insight:uses")
    assert (
        uses["verdict"] == "uses" and uses["kind"] == "insight" and "revenue_report.total" in uses["detail"]
    )
    assert data["consumers_not_read"] == []
    md = render_column_impact(ci, "md")
    assert "| insight uses | Uses total |" in md and "| insight unknown | MRR |" in md


def test_column_impact_reads_insight_hogql_with_placeholders() -> None:
    # PostHog fills {filters} and {variables.name} in at run time (HogQLQueryRunner, replace_filters)
    g = small_graph()
    add_insight(
        g,
        "ph",
        "With filters",
        ["revenue_report"],
        hogql=["SELECT created FROM revenue_report WHERE {filters} AND total > {variables.min_total}"],
    )
    add_insight(
        g,
        "ph2",
        "Dates only",
        ["revenue_report"],
        hogql=["SELECT created FROM revenue_report WHERE {filters}"],
    )
    ci = column_impact(g, "revenue_report", "total")  # the insights read the target directly
    assert {c.id: c.verdict for c in ci.consumers}["insight:ph"] == "uses"
    assert "Dates only" in ci.unaffected


def test_column_impact_unparsable_insight_hogql_is_unknown() -> None:
    g = small_graph()
    add_insight(g, "bad", "Broken SQL", ["revenue_report"], hogql=["SELECT (( FROM revenue_report"])
    ci = column_impact(g, "orders", "amount")
    bad = next(c for c in ci.consumers if c.id == "insight:bad")
    assert bad.verdict == "unknown" and "does not parse" in bad.detail


# ---------------------------------------------------------------- the property test


@st.composite
def workspaces(draw: st.DrawFn) -> tuple[nx.DiGraph, list[tuple[str, str, list[str]]], str]:
    """Random views DAG plus random consumers; returns the generator's truth (an nx graph built
    from the reads lists alone), the consumers as (kind, key, reads), and a target view."""
    n = draw(st.integers(min_value=1, max_value=12))
    views = [f"v{i}" for i in range(n)]
    truth = nx.DiGraph()
    truth.add_nodes_from(views)
    pairs = [(views[i], views[j]) for i in range(n) for j in range(i + 1, n)]
    if pairs:
        truth.add_edges_from(draw(st.lists(st.sampled_from(pairs), max_size=2 * n, unique=True)))
    consumers: list[tuple[str, str, list[str]]] = []
    insights: list[str] = []
    for i in range(draw(st.integers(min_value=0, max_value=8))):
        key = f"insight:i{i}"
        reads = draw(st.lists(st.sampled_from(views), max_size=3, unique=True))
        consumers.append(("insight", key, reads))
        insights.append(key)
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        kind = draw(st.sampled_from(["dashboard", "alert", "notebook", "endpoint"]))
        if kind in ("dashboard", "alert") and not insights:
            continue
        if kind == "dashboard":
            reads = draw(st.lists(st.sampled_from(insights), max_size=3, unique=True))
        elif kind == "alert":
            reads = [draw(st.sampled_from(insights))]
        elif kind == "notebook":
            reads = draw(st.lists(st.sampled_from(views + insights), max_size=3, unique=True))
        else:
            reads = draw(st.lists(st.sampled_from(views), max_size=2, unique=True))
        consumers.append((kind, f"{kind}:{i}", reads))
    for _kind, key, reads in consumers:
        truth.add_node(key)
        truth.add_edges_from((r, key) for r in reads)
    return truth, consumers, draw(st.sampled_from(views))


@settings(max_examples=120, deadline=None)
@given(workspaces(), st.text(min_size=1, max_size=12))
def test_impact_reaches_exactly_the_consumers_networkx_reaches(
    case: tuple[nx.DiGraph, list[tuple[str, str, list[str]]], str], hostile: str
) -> None:
    truth, consumers, target = case
    g = LineageGraph(host="https://us.posthog.com", project="1", consumers_not_read=[])
    for v in sorted(n for n in truth if not str(n).count(":")):
        g.add_node(f"id-{v}", name=v, kind="view")
    for u, v in truth.edges:
        if ":" not in u and ":" not in v:
            g.add_edge(f"id-{u}", f"id-{v}")
    for kind, key, reads in consumers:
        name = f"{hostile}<{key}>"
        ups = [r if ":" in r else f"id-{r}" for r in reads]
        if kind == "insight":
            add_insight(g, key.split(":")[1], name, ups)
        elif kind == "dashboard":
            add_dashboard(g, int(key.split(":")[1]), name, ups)
        elif kind == "alert":
            add_alert(g, key.split(":")[1], name, ups[0])
        elif kind == "notebook":
            add_notebook(g, key.split(":")[1], name, ups)
        else:
            add_endpoint(g, key.split(":")[1], ups)
    report = impact(g, target)
    expected = {n for n in nx.descendants(truth, target) if ":" in n}
    got = {
        a.id for a in report.affected if a.kind in ("insight", "dashboard", "alert", "notebook", "endpoint")
    }
    assert got == expected
    assert g.consumers_of(target).keys() == expected
    html = render_impact(report, "html")
    # every consumer name carries "<kind:key>": escaped, no tag but the report's own survives
    assert not re.search(
        r"<(?!/?(?:h1|h2|ul|li|a|table|tr|th|td|html|head|body|meta|title|style)\b|!DOCTYPE)", html
    )


# ---------------------------------------------------------------- check


def test_check_flags_broken_dashboards_alerts_and_ghost_insights() -> None:
    g = small_graph(not_read=[])
    g.add_node("gh", name="POSTHOG_DELETED_old", kind="unknown", ghost=True)
    add_insight(g, "gho", "Ghost chart", ["gh"])
    add_dashboard(g, 20, "Ghost board", ["insight:gho"])
    report = check(g)
    got = {(f.rule, f.node) for f in report.findings}
    assert ("broken-dashboard", "Finance") in got
    assert ("broken-alert", "MRR drop") in got
    assert ("ghost-insight", "Ghost chart") in got
    assert ("broken-dashboard", "Ghost board") in got
    # dashboards and alerts get their own rules, not downstream-of-broken
    assert ("downstream-of-broken", "Finance") not in got
    fin = next(f for f in report.findings if f.node == "Finance")
    assert "MRR, which reads orders (failing)" in fin.message
    # "unused" only when nothing at all reads it: lonely is read by an insight alone
    unused = {f.node for f in report.findings if f.rule == "unused-matview"}
    assert unused == {"unused"}


def test_check_notes_unread_kinds_and_doubts_unused() -> None:
    report = check(small_graph(not_read=["insight", "dashboard"]))
    unused = next(f for f in report.findings if f.rule == "unused-matview")
    assert "insights are not visible to this key" in unused.message
    assert "consider reverting" not in unused.message
    text = check_text(report)
    assert "note: dashboards: not visible to this key" in text
    assert json.loads(check_json(report))["consumers_not_read"] == ["dashboard", "insight"]
    # dashboards alone cannot read a view: "unused" stays certain
    sure = check(small_graph(not_read=["dashboard"]))
    assert "consider reverting" in next(f for f in sure.findings if f.rule == "unused-matview").message


def test_check_cli_fails_on_broken_dashboard(tmp_path: Path) -> None:
    snap = _save(small_graph(not_read=[]), tmp_path)
    result = _run("check", "--snapshot", snap, "--fail-on", "broken-dashboard")
    assert result.exit_code == 1
    assert "broken-dashboard     Finance" in result.output


# ---------------------------------------------------------------- selectors and ls


def test_selectors_by_consumer_kind() -> None:
    g = small_graph()
    assert select(g, "kind:insight") == ["insight:aB3dE9xQ", "insight:evT1", "insight:lon1"]
    assert select(g, "kind:dashboard kind:alert") == ["alert:a-1", "dashboard:10"]
    assert select(g, "kind:notebook") == ["notebook:nB1"]
    assert select(g, "kind:endpoint") == ["endpoint:mrr_api"]
    assert select(g, "revenue_report+,consumers:false") == ["u-report"]
    assert select(g, "revenue_report+,consumers:true") == [
        "alert:a-1",
        "dashboard:10",
        "insight:aB3dE9xQ",
        "notebook:nB1",
    ]
    assert select(g, "+Finance,kind:matview") == ["u-daily", "u-orders"]
    assert select(g, "orders") == ["u-orders"]  # existing selectors keep working
    with pytest.raises(SelectorError, match="consumers:maybe must be consumers:true or consumers:false"):
        select(g, "consumers:maybe")


def test_ls_lists_consumers(tmp_path: Path) -> None:
    snap = _save(small_graph(), tmp_path)
    result = _run("ls", "--select", "orders_daily+,kind:dashboard", "--snapshot", snap, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {
            "id": "dashboard:10",
            "name": "Finance",
            "kind": "dashboard",
            "is_materialized": None,
            "status": None,
            "folder": None,
        }
    ]
    hidden = _run("ls", "--select", "*,consumers:false", "--snapshot", snap, "--format", "csv")
    assert "insight" not in hidden.output and "orders_daily" in hidden.output


# ---------------------------------------------------------------- render


def test_render_gives_each_consumer_kind_its_shape() -> None:
    dot = to_dot(small_graph(), fold_consumers=False)
    shapes = dict(re.findall(r'label="([^"]+)", shape="(\w+)"', dot))
    assert shapes["MRR"] == "ellipse"
    assert shapes["Finance"] == "tab"
    assert shapes["Churn dig"] == "component"
    assert shapes["mrr_api"] == "cds"
    assert shapes["MRR drop"] == "octagon"
    assert 'URL="https://us.posthog.com/project/1/dashboard/10"' in dot
    mermaid = to_mermaid(small_graph(), fold_consumers=False)
    assert '[/"Finance"\\]' in mermaid and '{"MRR drop"}' in mermaid and '>"mrr_api"]' in mermaid
    svg = to_svg_python(small_graph(), fold_consumers=False)
    assert svg.count("<ellipse") >= 3  # MRR, Events, Lonely


def _big_graph() -> LineageGraph:
    g = LineageGraph(host="https://us.posthog.com", project="1")
    for i in range(FOLD_CONSUMERS_ABOVE):
        g.add_node(f"u{i}", name=f"view_{i}", kind="view")
        if i:
            g.add_edge(f"u{i - 1}", f"u{i}")
    for i in range(5):
        add_insight(g, f"s{i}", f"chart {i}", ["view_3"])
    add_dashboard(g, 1, "Board", ["insight:s0", "insight:s1"])
    return g


def test_render_folds_consumers_per_view_on_big_graphs() -> None:
    g = _big_graph()
    scene = build_scene(g)
    folds = [sn for sn in scene.nodes if sn.role == "consumers"]
    assert [sn.label for sn in folds] == ["+1 dashboard, 5 insights"]
    assert len(folds[0].members) == 6
    assert not any(sn.kind == "insight" for sn in scene.nodes)
    unfolded = build_scene(g, fold_consumers=False)
    assert sum(sn.kind == "insight" for sn in unfolded.nodes) == 5
    small = build_scene(small_graph())  # small drawings show every consumer
    assert not any(sn.role == "consumers" for sn in small.nodes)
    assert any(sn.role == "consumers" for sn in build_scene(small_graph(), fold_consumers=True).nodes)


def test_render_cli_unfold_flag(tmp_path: Path) -> None:
    snap = _save(_big_graph(), tmp_path)
    folded = _run("render", "--snapshot", snap, "--format", "dot")
    assert folded.exit_code == 0, folded.output
    assert (
        "+1 dashboard, 5 insights" in folded.output and "chart 3" not in folded.output.split("label=")[1:][0]
    )
    unfolded = _run("render", "--snapshot", snap, "--format", "dot", "--consumers", "unfold")
    assert unfolded.exit_code == 0 and 'label="chart 3"' in unfolded.output
    hidden = _run("render", "--snapshot", snap, "--format", "dot", "--exclude", "consumers:true")
    assert hidden.exit_code == 0 and "insight" not in hidden.output


def test_render_escapes_hostile_consumer_names() -> None:
    g = small_graph()
    add_insight(g, "evil", HOSTILE, ["orders"])
    g.node("insight:evil")["url"] = 'https://us.posthog.com/project/1/x"><script>alert(4)</script>'
    for fold in (False, True):
        svg = to_svg_python(g, fold_consumers=fold)
        assert "<script>" not in svg and "&lt;script&gt;" in svg
        dot = to_dot(g, fold_consumers=fold)
        assert "alert(4)" not in dot
        assert "<script>" not in to_mermaid(g, fold_consumers=fold)
        page = to_html(g, engine="python", fold_consumers=fold)
        assert "<script>alert" not in page and "alert(4)" not in page


def test_html_explorer_carries_consumers_with_safe_links() -> None:
    # The explorer (tests/test_render_html_explorer.py drives its folding in Chromium) gets every
    # consumer as data, linked to its PostHog page only when that is a plain URL on the snapshot's host.
    g = _big_graph()
    add_insight(g, "evil", HOSTILE, ["view_3"])
    g.node("insight:evil")["url"] = "javascript:alert(5)"
    page = to_html(g, engine="python")
    data = json.loads(re.search(r'id="lineage-data">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    by_id = {n["i"]: n for n in data["nodes"]}
    assert by_id["insight:s4"]["k"] == "insight" and by_id["insight:s4"]["n"] == "chart 4"
    assert by_id["insight:s4"]["u"] == "https://us.posthog.com/project/1/insights/s4"
    assert by_id["dashboard:1"]["u"] == "https://us.posthog.com/project/1/dashboard/1"
    assert "u" not in by_id["insight:evil"] and "javascript:alert(5)" not in page
    assert sorted(data["consumer_kinds"]) == sorted(["alert", "dashboard", "endpoint", "insight", "notebook"])


# ---------------------------------------------------------------- diff


def test_diff_reports_added_removed_and_repointed_consumers() -> None:
    old = small_graph()
    new = small_graph()
    new.nx.remove_edge("u-report", "insight:aB3dE9xQ")
    new.add_edge("u-daily", "insight:aB3dE9xQ")
    new.nx.remove_node("insight:evT1")
    add_insight(new, "n1", "New chart", ["orders"])
    new.node("u-daily")["name"] = "orders_by_day"  # a rename is not a re-pointing of the endpoint
    d = diff(old, new)
    assert [n.name for n in d.consumers_added] == ["New chart"]
    assert [n.name for n in d.consumers_removed] == ["Events"]
    assert [(r.name, r.old, r.new) for r in d.repointed] == [("MRR", ("revenue_report",), ("orders_by_day",))]
    data = d.to_dict()
    assert data["consumers_repointed"][0]["id"] == "insight:aB3dE9xQ"
    md = diff_markdown(d)
    assert (
        "## Consumers re-pointed (1)" in md
        and "| MRR | insight | revenue\\_report | orders\\_by\\_day |" in md
    )
    assert "## Nodes added" not in md  # the new insight is listed under consumers only
    assert diff(old, small_graph()).is_empty


# ---------------------------------------------------------------- tables and export


def test_consumers_frame_per_view() -> None:
    frame = consumers_frame(small_graph())
    assert tuple(frame.columns) == CONSUMER_COLUMNS
    rows = {(r.view, r.name, r.via) for r in frame.itertuples()}
    assert ("revenue_report", "MRR", None) in rows
    assert ("revenue_report", "Finance", "MRR") in rows
    assert ("orders_daily", "Churn dig", None) in rows and ("revenue_report", "Churn dig", "MRR") in rows
    assert consumers_frame(LineageGraph()).empty


def test_export_csv_keeps_consumers(tmp_path: Path) -> None:
    g = small_graph()
    add_insight(g, "q1", "With SQL", ["orders"], hogql=["SELECT 1 FROM orders"])
    snap = _save(g, tmp_path)
    out = tmp_path / "x"
    result = _run("export", "--snapshot", snap, "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    nodes = (tmp_path / "x.nodes.csv").read_text()
    assert "insight:q1" in nodes and "dashboard:10" in nodes


# ---------------------------------------------------------------- deleted consumers


def test_deleted_consumers_read_nothing() -> None:
    g = small_graph(not_read=[])
    g.node("insight:lon1")["deleted"] = True  # the only reader of the matview "lonely"
    g.node("dashboard:10")["deleted"] = True
    report = impact(g, "orders")
    ids = {a.id for a in report.affected}
    assert "dashboard:10" not in ids and "insight:aB3dE9xQ" in ids
    assert "dashboard:10" not in g.consumers_of("orders")
    assert impact(g, "lonely").affected == ()
    found = check(g)
    assert {f.node for f in found.findings if f.rule == "unused-matview"} == {"lonely", "unused"}
    assert not [f for f in found.findings if f.rule == "broken-dashboard"]
    assert "Lonely" not in set(consumers_frame(g)["name"])
    assert "Finance" not in {c.name for c in column_impact(g, "orders", "amount").consumers}


def test_consumer_rules_agree_with_and_without_downstream_of_broken() -> None:
    g = small_graph()
    g.add_node("u-mid", name="mid", kind="view")
    g.add_edge("u-report", "u-mid")
    add_insight(g, "deep", "Deep", ["mid"])
    add_dashboard(g, 30, "Deep board", ["insight:deep"])
    rules = ["broken-dashboard", "broken-alert", "ghost-insight"]
    alone = check(g, rules=rules).findings
    together = check(g, rules=[*rules, "downstream-of-broken"]).findings
    assert alone == tuple(f for f in together if f.rule in rules)
    assert ("broken-dashboard", "Deep board") in {(f.rule, f.node) for f in alone}


@pytest.mark.chromium
def test_diff_does_not_call_hidden_consumers_removed() -> None:
    old = small_graph(not_read=[])
    new = small_graph(not_read=["dashboard"])
    new.nx.remove_node("dashboard:10")  # the new key cannot read dashboards
    new.nx.remove_node("insight:evT1")  # really deleted
    d = diff(old, new)
    assert d.consumers_hidden == ("dashboard",)
    assert [n.name for n in d.consumers_removed] == ["Events"]
    assert [n.name for n in d.consumers_unseen] == ["Finance"]
    md = diff_markdown(d)
    assert (
        "dashboards: not visible to the new snapshot's key; its 1 dashboard are not counted as removed." in md
    )
    assert "| Finance |" not in md
    assert d.to_dict()["consumers_hidden"] == ["dashboard"]
