"""The whole-workspace HTML explorer on the real dbt_gitlab graph (4,099 nodes) in headless Chromium.

Each browser run opens the page from file:// with a URL hash (the explorer's shareable state) and
reads back the DOM: every drawn node is an element with ``data-node-id``, and the page's test hook
(``<pre id="lineage-test">``) reports what it did. ``do=`` in the hash clicks buttons in turn (an id,
``~u<id>``/``~d<id>`` for a node's "+k more" stub, ``+<id>`` for one neighbour in the list a stub
opened), so expanding is tested through the same handlers a user's click runs.
"""

from __future__ import annotations

import html
import json
import random
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import quote

import networkx as nx
import pytest
from click.testing import CliRunner
from test_render_html import assert_no_injection, chromium_run, hook_state, payload

from lineage.cli import main
from lineage.devdata import real_lineage_graph
from lineage.errors import SelectorError
from lineage.graph import LineageGraph
from lineage.render import to_html
from lineage.select import select

MAX_BYTES = 12_000_000


@pytest.fixture(scope="module")
def gitlab() -> LineageGraph:
    return real_lineage_graph("dbt_gitlab")


@pytest.fixture(scope="module")
def page(gitlab: LineageGraph, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("explorer") / "gitlab.html"
    path.write_text(to_html(gitlab), encoding="utf-8")
    return path


_NODE_ID = re.compile(r'data-node-id="([^"]*)"')


def open_at(page: Path, fragment: str, tmp_path: Path) -> tuple[set[str], Any, str]:
    dom, log = chromium_run(page, fragment, tmp_path / "profile")
    state = hook_state(dom)
    assert state["ready"] is True
    # no console output at all: no uncaught error, no CSP refusal, no stray logging
    assert state["errors"] == [], state["errors"]
    assert ":CONSOLE" not in log, [line for line in log.splitlines() if ":CONSOLE" in line]
    # what is on screen: the explorer's canvas, or the pre-drawn picture (hidden otherwise)
    where = "picture" if state["mode"] == "picture" else "canvas"
    found = re.search(f'<(?:div|svg) id="{where}".*?</(?:div|svg)>', dom, re.S)
    drawn = {html.unescape(m) for m in _NODE_ID.findall(found.group(0) if found else "")}
    assert sorted(drawn) == state["drawn"]
    return drawn, state, dom


def test_whole_workspace_is_one_small_self_contained_file(gitlab: LineageGraph, page: Path) -> None:
    size = page.stat().st_size
    assert size < MAX_BYTES, size
    text = page.read_text(encoding="utf-8")
    assert_no_injection(text)
    _, data = payload(text)
    assert "picture" not in data  # far over the picture's limit, and yet nothing is refused
    assert [n["i"] for n in data["nodes"]] == gitlab.nodes()
    assert len(data["edges"]) == gitlab.nx.number_of_edges() > 5000


@pytest.mark.chromium
def test_focus_from_the_url_draws_exactly_the_neighbourhood(
    gitlab: LineageGraph, page: Path, tmp_path: Path
) -> None:
    g = gitlab.nx
    node = gitlab.resolve("dim_crm_account")
    parents, children = set(g.predecessors(node)), set(g.successors(node))
    assert parents and len(children) > 20
    drawn, state, dom = open_at(page, "focus=dim_crm_account&up=1&down=1", tmp_path)
    assert drawn == {node} | parents | children
    assert state["mode"] == "focus" and state["hash"] == "#focus=dim_crm_account&up=1&down=1"
    focus_class = re.search(r'<g class="([^"]*)"[^>]*data-node-id="' + node + '"', dom)
    assert focus_class is not None and "focus" in focus_class.group(1).split()
    # "+k more" stubs say how many neighbours each frontier node still hides, away from the focus
    stubs = {(s["of"], s["direction"]): s["count"] for s in state["stubs"]}
    for p in parents:
        hidden = len(set(g.predecessors(p)) - drawn)
        assert stubs.get((p, "upstream"), 0) == hidden
    for c in children:
        hidden = len(set(g.successors(c)) - drawn)
        assert stubs.get((c, "downstream"), 0) == hidden
    assert not [k for k in stubs if k[0] in children and k[1] == "upstream"]


@pytest.mark.chromium
def test_expanding_adds_exactly_the_next_hop(gitlab: LineageGraph, page: Path, tmp_path: Path) -> None:
    g = gitlab.nx
    node = gitlab.resolve("dim_crm_account")
    up = gitlab.upstream(node, 2)
    down = gitlab.downstream(node, 1)
    drawn, state, _ = open_at(page, f"focus={node}&up=1&down=1&do=expand-up", tmp_path)
    assert drawn == {node} | set(up) | set(down)
    assert state["hash"] == "#focus=dim_crm_account&up=2&down=1"
    assert {n for n, hops in up.items() if hops == 2}  # the new hop is not empty
    # then one neighbour at a time: open a parent's "+k more" stub and add one of its parents
    parent = min(g.predecessors(node))
    hidden = sorted(set(g.predecessors(parent)))
    assert hidden
    pick = hidden[0]
    drawn, _, _ = open_at(page, f"focus={node}&up=1&down=1&do=~u{quote(parent)},+{quote(pick)}", tmp_path)
    assert drawn == {node} | set(g.predecessors(node)) | set(g.successors(node)) | {pick}


def random_selectors(gitlab: LineageGraph, count: int, seed: int = 7) -> list[str]:
    """Selectors of every shape the grammar has, built from the graph's own names and folders."""
    rng = random.Random(seed)
    names = sorted(gitlab.names())
    folders = sorted({f for _, f in gitlab.nx.nodes(data="folder") if isinstance(f, str)})
    ids = [n for n in gitlab.nodes() if "-" in n]

    def term() -> str:
        shape = rng.randrange(12)
        name = rng.choice(names)
        if shape == 0:
            return name
        if shape == 1:
            return f"{rng.choice(['', '1', '2'])}+{name}"
        if shape == 2:
            return f"{name}+{rng.choice(['', '1', '3'])}"
        if shape == 3:
            return f"{rng.randint(1, 2)}+{name}+{rng.randint(1, 2)}"
        if shape == 4:
            return f"@{name}"
        if shape == 5:
            return f"{name[:4]}*" if rng.random() < 0.5 else f"*{name[-3:]}"
        if shape == 6:
            return f"folder:{rng.choice(folders)}" if rng.random() < 0.7 else "folder:COMMON_MART*"
        if shape == 7:
            return f"kind:{rng.choice(['view', 'matview', 'table', 'unknown'])}"
        if shape == 8:
            return f"status:{rng.choice(['Failed', 'running', 'Completed', 'Comp*'])}"
        if shape == 9:
            return f"materialized:{rng.choice(['true', 'false', 'TRUE'])}"
        if shape == 10:
            return rng.choice(ids).upper()  # UUIDs name their node in any case
        return f"name:{name[:3]}?{name[4:6]}*"

    out = []
    for _ in range(count):
        parts = []
        for _ in range(rng.choice([1, 1, 2, 3])):
            parts.append(",".join(term() for _ in range(rng.choice([1, 1, 2]))))
        out.append(" ".join(parts))
    # and the mistakes lineage ls refuses
    out += ["no_such_view_xyz", "folder:Nowhere", "kind:cube", "materialized:maybe", "+", "a,,b", "bogus:x"]
    return out


@pytest.mark.chromium
def test_selector_box_agrees_with_lineage_ls(gitlab: LineageGraph, page: Path, tmp_path: Path) -> None:
    selectors = random_selectors(gitlab, 40)
    _, state, _ = open_at(page, "overview&selftest=" + quote(json.dumps(selectors), safe=""), tmp_path)
    results = state["selftest"]
    assert [r["selector"] for r in results] == selectors
    errors = 0
    for r in results:
        try:
            want = select(gitlab, r["selector"])
        except SelectorError:
            assert "error" in r, r["selector"]
            errors += 1
            continue
        assert r.get("ids") == want, r["selector"]
    assert 7 <= errors < len(selectors) // 2
    # select() is what `lineage ls` runs; check that once through the command itself
    snapshot = tmp_path / "snapshot.json"
    gitlab.save(snapshot)
    sel = next(s for s in selectors if "," in s and not s.startswith(("no_", "a,,")))
    argv = ["ls", "--snapshot", str(snapshot), "--select", sel, "--format", "json"]
    result = CliRunner().invoke(main, argv)
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 0:
        listed = sorted(row["id"] for row in json.loads(result.stdout))
        assert listed == next(r["ids"] for r in results if r["selector"] == sel)


@pytest.mark.chromium
def test_select_from_the_url_draws_the_selection(gitlab: LineageGraph, page: Path, tmp_path: Path) -> None:
    sel = "+dim_crm_account+1,kind:matview folder:common_mart_finance"
    drawn, state, _ = open_at(page, "select=" + quote(sel, safe=""), tmp_path)
    assert drawn == set(select(gitlab, sel)) and drawn
    assert state["mode"] == "select" and state["selectError"] is None
    bad, state, _ = open_at(page, "select=" + quote("kind:cube", safe=""), tmp_path)
    assert not bad and state["selectError"] == state["notice"] and '"cube"' in state["notice"]


@pytest.mark.chromium
def test_overview_path_and_broken(gitlab: LineageGraph, page: Path, tmp_path: Path) -> None:
    g = gitlab.nx
    drawn, state, dom = open_at(page, "", tmp_path)
    folders = sorted({f for _, f in g.nodes(data="folder") if isinstance(f, str)})
    assert state["mode"] == "overview" and not drawn
    assert state["folders"] == [None, *folders]
    assert dom.count('class="folder ') == len(folders) + 1

    # a folder opens drawn when it is small, and as a list with a selector to refine when it is not
    small = {n for n, f in g.nodes(data="folder") if f == "common_mart_finance"}
    drawn, state, _ = open_at(page, "folder=common_mart_finance", tmp_path)
    assert drawn == small and state["mode"] == "folder"
    drawn, state, dom = open_at(page, "folder=sources", tmp_path)
    big = sum(1 for _, f in g.nodes(data="folder") if f == "sources")
    assert not drawn and f"{big} nodes, more than the 400 drawn at once" in state["notice"]
    assert dom.count('class="link"') == min(big, 500)

    a, b = gitlab.resolve("prep_crm_account"), gitlab.resolve("mart_arr")
    want = nx.descendants(g, a) & nx.ancestors(g, b) | {a, b}
    drawn, state, _ = open_at(page, "path=prep_crm_account&to=mart_arr", tmp_path)
    assert drawn == want and state["mode"] == "path"

    bad = {n for n, attrs in g.nodes(data=True) if attrs.get("status") == "Failed" or attrs.get("stale")}
    radius = set(bad)
    for n in bad:
        radius |= nx.descendants(g, n)
    drawn, state, _ = open_at(page, "broken=1", tmp_path)
    assert set(state["broken"]) == radius
    # too many to draw at once: the failing and stale views themselves, their blast radius as stubs
    assert drawn == bad if len(radius) > 400 else drawn == radius


@pytest.mark.chromium
def test_hostile_names_stay_text_in_the_explorer(tmp_path: Path) -> None:
    g = nx.DiGraph(host="https://us.posthog.com", project=1)
    evil = '<img src=x onerror="alert(1)"></script><script>alert(2)</script>\u2028\u2029'
    g.add_node("t", name=evil, kind="table", folder="<b>folder</b>")
    g.add_node("v", name="v & <i>", kind="view", folder="<b>f</b>", status="Failed", sql="SELECT '</script>'")
    g.add_edge("t", "v")
    page = tmp_path / "hostile.html"
    text = to_html(g, max_nodes=1)  # no picture: the explorer draws everything itself
    raw, data = payload(text)
    assert not set(raw) & {"<", ">", "&", "\u2028", "\u2029"}
    assert data["nodes"][0]["n"] == evil
    assert_no_injection(text)
    page.write_text(text, encoding="utf-8")
    drawn, _state, dom = open_at(page, "focus=v&up=1&down=1", tmp_path)
    assert drawn == {"t", "v"}
    assert "<img" not in dom and "<i>" not in dom and "<b>" not in dom
    assert "&lt;img src=x" in dom


def consumer_graph() -> nx.DiGraph:
    """A view read by an insight on a dashboard, another by an insight and a notebook (section 6)."""
    g = nx.DiGraph(host="https://us.posthog.com", project=1)
    g.add_node("events", name="events", kind="table")
    g.add_node("v1", name="orders", kind="view", sql="SELECT * FROM events")
    g.add_node("v2", name="revenue", kind="matview", is_materialized=True)
    url = "https://us.posthog.com/project/1/insights/aB3"
    g.add_node("insight:aB3", name="MRR", kind="insight", url=url)
    g.add_node("insight:cD4", name="Churn", kind="insight", url=url)
    g.add_node("dashboard:10", name="Finance", kind="dashboard", url=url)
    g.add_node("notebook:nB1", name="Churn dig", kind="notebook", url="https://phish.example/project/1/")
    g.add_edges_from(
        [
            ("events", "v1"),
            ("v1", "v2"),
            ("v1", "insight:aB3"),
            ("insight:aB3", "dashboard:10"),
            ("v2", "insight:cD4"),
            ("v2", "notebook:nB1"),
        ]
    )
    return g


@pytest.mark.chromium
def test_consumers_are_folded_per_view_and_unfold(tmp_path: Path) -> None:
    g = consumer_graph()
    page = tmp_path / "consumers.html"
    text = to_html(g)
    # consumers link to their PostHog page, and only on the snapshot's own PostHog host
    links = {n["i"]: n.get("u") for n in payload(text)[1]["nodes"]}
    assert links["insight:aB3"] == "https://us.posthog.com/project/1/insights/aB3"
    assert links["notebook:nB1"] is None and "phish" not in text
    page.write_text(text, encoding="utf-8")
    drawn, state, _ = open_at(page, "focus=orders&up=1&down=3", tmp_path)
    assert drawn == {"events", "v1", "v2"}
    folded = {(s["of"], s["direction"]): s["count"] for s in state["stubs"]}
    assert folded == {("v1", "consumers"): 1, ("v2", "consumers"): 2}
    drawn, state, _ = open_at(page, "focus=orders&up=1&down=3&do=~cv1", tmp_path)
    assert drawn == {"events", "v1", "v2", "insight:aB3"}
    drawn, _, _ = open_at(page, "focus=orders&up=1&down=3&do=~cv1,~cinsight:aB3", tmp_path)
    assert drawn == {"events", "v1", "v2", "insight:aB3", "dashboard:10"}
    # the selector knows consumer kinds when there are consumers, and consumers:false hides them
    checks = ["kind:insight", "consumers:false", "consumers:true,+revenue+", "kind:dashboard v1"]
    _, state, _ = open_at(page, "overview&selftest=" + quote(json.dumps(checks), safe=""), tmp_path)
    got = {r["selector"]: r.get("ids") for r in state["selftest"]}
    assert got["kind:insight"] == ["insight:aB3", "insight:cD4"]
    assert got["consumers:false"] == ["events", "v1", "v2"]
    assert got["consumers:true,+revenue+"] == ["insight:cD4", "notebook:nB1"]
    assert got["kind:dashboard v1"] == ["dashboard:10", "v1"]
    # a selection that names consumers draws them
    drawn, _, _ = open_at(page, "select=kind%3Ainsight", tmp_path)
    assert drawn == {"insight:aB3", "insight:cD4"}


@pytest.mark.chromium
def test_search_keyboard_and_details(gitlab: LineageGraph, page: Path, tmp_path: Path) -> None:
    g = gitlab.nx
    node = gitlab.resolve("dim_crm_account")
    # search: a glob over names, and folder names by substring
    _, state, _ = open_at(page, "search=" + quote("dim_crm_acc*", safe=""), tmp_path)
    want = sorted(n for n in g if fnmatchcase(g.nodes[n]["name"].lower(), "dim_crm_acc*"))
    assert sorted(state["search"]["matches"]) == want and node in want
    _, state, _ = open_at(page, "search=common_mart_fin", tmp_path)
    assert state["search"]["matches"] == ["folder:common_mart_finance"]
    # keyboard: u adds a hop upstream, the left arrow walks from the focus node to a parent
    drawn, state, dom = open_at(page, f"focus={node}&up=1&down=0&keys=u,ArrowLeft", tmp_path)
    assert drawn == {node} | set(gitlab.upstream(node, 2))
    assert state["selectedNode"] in set(g.predecessors(node))
    # the details panel of the focus node: its fields and the PostHog link, as text
    assert "Open in PostHog" in dom and f"open_view={node}" in dom
    assert ">dim_crm_account<" in dom


def test_cli_html_has_no_limit_and_static_formats_point_at_the_overview(
    gitlab: LineageGraph, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snapshot.json"
    gitlab.save(snapshot)
    runner = CliRunner()
    out = tmp_path / "all.html"
    result = runner.invoke(main, ["render", "--snapshot", str(snapshot), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size < MAX_BYTES
    _, data = payload(out.read_text(encoding="utf-8"))
    assert len(data["nodes"]) == len(gitlab) and "start" not in data
    # svg over the limit: one clean line that names the ways out
    result = runner.invoke(main, ["render", "--snapshot", str(snapshot), "--format", "svg"])
    assert result.exit_code == 2 and result.stdout == ""
    message = result.stderr.strip()
    assert "\n" not in message and "4099 nodes" in message
    assert "--collapse-folders" in message and "--select '2+NAME+2'" in message and "--format html" in message
    # --collapse-folders: one box per folder, and one for the nodes in no folder
    folders = {f for _, f in gitlab.nx.nodes(data="folder") if isinstance(f, str)}
    result = runner.invoke(
        main, ["render", "--snapshot", str(snapshot), "--collapse-folders", "--format", "svg"]
    )
    assert result.exit_code == 0, result.output
    boxes = re.findall(r'<g id="(f\d+)" class="node">', result.stdout)  # legend entries aside
    assert len(boxes) == len(folders) + 1, boxes[:5]
    assert "(no folder)" in result.stdout and "(1104 nodes)" in result.stdout
    result = runner.invoke(
        main, ["render", "--snapshot", str(snapshot), "--collapse-folders", "--format", "mermaid"]
    )
    assert result.exit_code == 0 and "(no folder)" in result.stdout
    # html with --collapse-folders opens on the overview
    result = runner.invoke(
        main,
        [
            "render",
            "--snapshot",
            str(snapshot),
            "--collapse-folders",
            "--format",
            "html",
            "--select",
            "dim_*",
        ],
    )
    assert result.exit_code == 0, result.output
    _, data = payload(result.stdout)
    assert data["start"] == {"overview": True} and len(data["nodes"]) == len(select(gitlab, "dim_*"))


@pytest.mark.chromium
@pytest.mark.parametrize("size", [0, 1])
def test_tiny_graphs_open_without_errors(tmp_path: Path, size: int) -> None:
    g = nx.DiGraph()
    if size:
        g.add_node("only", name="only", kind="view")
    page = tmp_path / "tiny.html"
    page.write_text(to_html(g), encoding="utf-8")
    drawn, state, _ = open_at(page, "", tmp_path)
    assert drawn == set(g.nodes)
    assert state["mode"] == ("picture" if size else "overview")
    drawn, state, _ = open_at(page, "broken=1&do=show-overview", tmp_path)
    assert state["mode"] == "overview" and not drawn
