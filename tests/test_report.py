"""Report writers: hostile API names cannot break Markdown tables, run CSV formulas or inject HTML."""

from __future__ import annotations

import csv
import io
import json
import re

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from lineage import report as rp
from lineage.analysis import check, column_impact, diff, impact

HOSTILE = '=HYPERLINK("http://evil")|`x`<script>alert(1)</script>\n| injected | row |&amp;"\'_*[a](b)'


def hostile_graph() -> nx.DiGraph:
    g = nx.DiGraph(host="https://us.posthog.com", project=7, crawled_at="2026-11-26T00:00:00Z")
    g.add_node("t", name="events", kind="table")
    g.add_node(
        "v1",
        name=HOSTILE,
        kind="matview",
        is_materialized=True,
        sync_frequency="1hour",
        folder="<b>f|o</b>",
        created_by={"email": "-2+3@evil"},
        status="Failed",
        latest_error="<img src=x onerror=alert(1)>",
        sql="SELECT a FROM events",
        jobs={"last_status": "Failed", "failure_streak": 1, "median_duration_s": 12},
    )
    g.add_node("v2", name="+cmd|'/c calc'!A0", kind="view", sql="SELECT a FROM `" + HOSTILE + "`")  # noqa: S608
    g.add_edges_from([("t", "v1"), ("v1", "v2")])
    return g


def _md_table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_markdown_cells_stay_in_their_table() -> None:
    md = rp.impact_markdown(impact(hostile_graph(), "events"))
    for table in re.split(r"\n\n", md):
        rows = _md_table_rows(table)
        if rows:
            widths = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
            assert len(widths) == 1, rows  # every row has the same number of unescaped pipes
    assert "<script>" not in md and "<img" not in md and "<b>" not in md
    assert "| injected | row |" not in md
    assert "&lt;script&gt;" in md


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_md_cell_never_leaks_structure(text: str) -> None:
    cell = rp.md_cell(text)
    assert "\n" not in cell and "\r" not in cell
    assert "<" not in cell and ">" not in cell
    assert not re.search(r"(?<!\\)[|`]", cell)


def test_csv_cells_cannot_start_formulas() -> None:
    text = rp.impact_csv(impact(hostile_graph(), "events"))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == ["id", "name", "kind", "depth", "path"]
    assert len(rows) == 3 and all(len(r) == len(rows[0]) for r in rows)
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "-", "@")), cell
    names = {r[1] for r in rows[1:]}
    assert "'" + HOSTILE in names and "'+cmd|'/c calc'!A0" in names  # value kept, only neutralised


def test_html_is_escaped_and_self_contained() -> None:
    page = rp.impact_html(impact(hostile_graph(), "events"))
    assert "<script" not in page.lower().replace("&lt;script", "")
    assert "<img" not in page and "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "http://evil" not in re.findall(r'href="([^"]*)"', page)
    assert not re.search(r'(src|href)="(?!https://us\.posthog\.com/)', page)  # no external resources
    assert 'href="https://us.posthog.com/project/7/sql?open_view=v1"' in page


def test_json_is_sorted_and_roundtrips() -> None:
    report = impact(hostile_graph(), "events")
    text = rp.impact_json(report)
    data = json.loads(text)
    assert data["affected"][0]["name"] == HOSTILE
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_check_and_diff_writers_escape() -> None:
    g = hostile_graph()
    text = rp.check_text(check(g, extract_tables=lambda sql: []))
    assert "\n| injected" not in text  # control characters flattened: one line per finding
    assert all(line.split()[0] in ("error", "warning", "info") for line in text.splitlines()[:-1])
    data = json.loads(rp.check_json(check(g, extract_tables=lambda sql: [])))
    assert {f["rule"] for f in data["findings"]} >= {"failing"}
    other = g.copy()
    other.nodes["v2"]["sql"] = "SELECT b\n```\n<script>x</script>"
    other.nodes["v1"]["name"] = "renamed|`"
    md = rp.diff_markdown(diff(g, other))
    assert "renamed\\|\\`" in md
    fence = re.search(r"^(`{4,})diff$", md, re.M)
    assert fence is not None  # the SQL's own ``` cannot close the block
    assert json.loads(rp.diff_json(diff(g, other)))["renamed"][0]["new"] == "renamed|`"


def test_column_impact_writers() -> None:
    ci = column_impact(hostile_graph(), "events", "a")
    assert {(d.view, d.column) for d in ci.derived} == {(HOSTILE, "a"), ("+cmd|'/c calc'!A0", "a")}
    for fmt in ("md", "html"):
        assert "<script>" not in rp.render_column_impact(ci, fmt)
    rows = list(csv.reader(io.StringIO(rp.render_column_impact(ci, "csv"))))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert json.loads(rp.render_column_impact(ci, "json"))["derived"][0]["view"] == HOSTILE
    assert len(rp.render_column_impact(ci, "table").splitlines()) == 2 + 1 + 2
